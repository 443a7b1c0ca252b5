package window

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
)

// newTestSink builds a sink from raw window keys, without Kafka.
func newTestSink(t *testing.T, kv map[string]string) *Sink {
	t.Helper()
	raw := map[string]string{"connector.class": "window", "topics": "in", "output.topic": "out", "window.size.ms": "60000"}
	for k, v := range kv {
		raw[k] = v
	}
	cc, err := registry(t).Parse("w", raw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cc.PluginConfig.(*Config), connector.TaskInfo{Connector: "w", TasksMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.UnixMilli(0) }
	return s
}

// TestWriteFlush: results of closed windows come out of Flush with the
// values, keyed by id and stamped with the window end; count_by values
// survive the reuse of the parse buffer; a record without a time is the
// record's fault; offsets cover every record given.
func TestWriteFlush(t *testing.T) {
	s := newTestSink(t, map[string]string{
		"aggregates":            "views,types",
		"aggregate.views.type":  "count",
		"aggregate.types.type":  "count_by",
		"aggregate.types.field": "event_type",
	})
	ctx := context.Background()
	tp := connector.TopicPartition{Topic: "in", Partition: 0}
	if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tp: 0}); err != nil {
		t.Fatal(err)
	}
	var batch []connector.Record
	types := []string{"page_view", "click", "page_view", "search", "page_view"}
	for i, typ := range types {
		v := fmt.Sprintf(`{"timestamp":"2026-01-01T00:00:%02dZ","event_type":%q,"user_id":"u%d"}`, i*10, typ, i)
		batch = append(batch, connector.Record{Topic: "in", Offset: int64(i), Value: []byte(v)})
	}
	batch = append(batch,
		connector.Record{Topic: "in", Offset: 5, Value: []byte(`{"event_type":"click"}`)},
		connector.Record{Topic: "in", Offset: 6, Value: []byte(`{"timestamp":"2026-01-01T00:01:30Z","event_type":"zzzzzzzzzzzzzzzzzzzz"}`)})
	err := s.Write(ctx, batch)
	var be *connector.BatchError
	if !errors.As(err, &be) || len(be.Records) != 1 || be.Records[0].Index != 5 {
		t.Fatalf("Write: %v, want a BatchError for record 5 (no timestamp)", err)
	}
	offs, err := s.Flush(ctx)
	if err != nil || offs[tp] != 7 {
		t.Fatalf("Flush: %v %v, want offset 7", offs, err)
	}
	recs := s.Emitted()
	var results []connector.ProducerRecord
	changelog := 0
	for _, r := range recs {
		switch r.Topic {
		case "out":
			results = append(results, r)
		case "w-changelog":
			changelog++
		default:
			t.Errorf("record for topic %s", r.Topic)
		}
	}
	if len(results) != 1 || changelog == 0 {
		t.Fatalf("emitted %d results and %d changelog records, want 1 and some", len(results), changelog)
	}
	var res struct {
		ID          string `json:"id"`
		Version     int    `json:"version"`
		WindowStart string `json:"window_start"`
		WindowEnd   string `json:"window_end"`
		Values      struct {
			Views int64            `json:"views"`
			Types map[string]int64 `json:"types"`
		} `json:"values"`
	}
	if err := json.Unmarshal(results[0].Value, &res); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"page_view": 3, "click": 1, "search": 1}
	if res.Values.Views != 5 || fmt.Sprint(res.Values.Types) != fmt.Sprint(want) || res.Version != 1 ||
		res.WindowStart != "2026-01-01T00:00:00Z" || res.WindowEnd != "2026-01-01T00:01:00Z" {
		t.Errorf("result %s", results[0].Value)
	}
	if string(results[0].Key) != res.ID || !results[0].Timestamp.Equal(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)) {
		t.Errorf("result record key %q timestamp %v", results[0].Key, results[0].Timestamp)
	}
	if s.Emitted() != nil {
		t.Error("a second Emitted returned records")
	}
}
