package s3

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
)

var ctx = context.Background()

// localSink opens a sink on a new file:// store with extra keys on the
// given partitions at offset 0 and returns it with the store's directory.
func localSink(t *testing.T, keys map[string]string, tps ...connector.TopicPartition) (*Sink, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := New(decode(t, merge(map[string]string{"store.url": "file://" + dir}, keys)), connector.TaskInfo{Connector: "t"})
	if err != nil {
		t.Fatal(err)
	}
	assigned := map[connector.TopicPartition]int64{}
	for _, tp := range tps {
		assigned[tp] = 0
	}
	if _, err := s.Open(ctx, assigned); err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// dataKeys lists the data objects under dir (markers left out).
func dataKeys(t *testing.T, dir string) []string {
	t.Helper()
	keys, err := newLocalStore(dir).List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(keys, func(k string) bool { return strings.Contains(k, "/"+markerDir+"/") })
}

func rec(tp connector.TopicPartition, off int64, ts time.Time, value string) connector.Record {
	return connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off, Timestamp: ts, Value: []byte(value)}
}

var t0 = time.Date(2026, 3, 1, 22, 58, 0, 0, time.UTC)

// TestObjectKeys pins object names: Confluent's layout, the default
// partitioner's directory and the zero-padded start offset of each file.
func TestObjectKeys(t *testing.T) {
	tp := connector.TopicPartition{Topic: "clicks", Partition: 3}
	s, dir := localSink(t, map[string]string{"flush.size": "2"}, tp)
	var batch []connector.Record
	for off := int64(40); off < 45; off++ {
		batch = append(batch, rec(tp, off, t0, fmt.Sprintf(`{"n":%d}`, off)))
	}
	if err := s.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := s.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got[tp] != 44 {
		t.Errorf("Flush reported %v, want %s=44 (offset 44 is still in an open file)", got, tp)
	}
	want := []string{
		"topics/clicks/partition=3/clicks+3+0000000040.json",
		"topics/clicks/partition=3/clicks+3+0000000042.json",
	}
	if keys := dataKeys(t, dir); !slices.Equal(keys, want) {
		t.Errorf("objects %q, want %q", keys, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, want[1]))
	if err != nil || string(b) != "{\"n\":42}\n{\"n\":43}\n" {
		t.Errorf("%s holds %q (%v)", want[1], b, err)
	}
	markers, _ := newLocalStore(dir).List(ctx, "topics/"+markerDir+"/", "")
	wantMarkers := []string{
		"topics/_connectd/clicks/3/00000000000000000042-00000000000000000040",
		"topics/_connectd/clicks/3/00000000000000000044-00000000000000000042",
	}
	if !slices.Equal(markers, wantMarkers) {
		t.Errorf("markers %q, want %q", markers, wantMarkers)
	}
}

// TestTimePartitioner places records by record time rounded to
// partition.duration.ms in the configured zone, with path.format.
func TestTimePartitioner(t *testing.T) {
	tp := connector.TopicPartition{Topic: "clicks", Partition: 0}
	for _, tc := range []struct {
		name  string
		keys  map[string]string
		value string
		ts    time.Time
		want  string
	}{
		{"hourly Berlin from the record timestamp",
			map[string]string{"partitioner.class": "TimeBasedPartitioner", "path.format": "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", "partition.duration.ms": "3600000", "timezone": "Europe/Berlin"},
			`{}`, t0, "year=2026/month=03/day=01/hour=23"},
		{"daily Berlin crosses midnight",
			map[string]string{"partitioner.class": "DailyPartitioner", "timezone": "Europe/Berlin"},
			`{}`, t0.Add(5 * time.Minute), "year=2026/month=03/day=02"},
		{"15 minutes from a field, UTC",
			map[string]string{"partitioner.class": "time", "path.format": "YYYYMMdd/HHmm", "partition.duration.ms": "900000", "timestamp.extractor": "RecordField", "timestamp.field": "ts"},
			`{"ts":"2026-07-04T10:44:59.999Z"}`, time.Time{}, "20260704/1030"},
		{"unix millis field, hourly",
			map[string]string{"partitioner.class": "HourlyPartitioner", "timestamp.extractor": "RecordField"},
			`{"timestamp":1783161899999}`, time.Time{}, "year=2026/month=07/day=04/hour=10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := localSink(t, merge(tc.keys, map[string]string{"rotate.idle.ms": "0", "flush.size": "1"}), tp)
			if err := s.Write(ctx, []connector.Record{rec(tp, 7, tc.ts, tc.value)}); err != nil {
				t.Fatal(err)
			}
			want := "topics/clicks/" + tc.want + "/clicks+0+0000000007.json"
			if keys := dataKeys(t, dir); !slices.Equal(keys, []string{want}) {
				t.Errorf("objects %q, want %q", keys, want)
			}
		})
	}
}

// TestFieldPartitioner names directories after field values, escapes
// what is not a plain path segment, and refuses records without the field
// naming it.
func TestFieldPartitioner(t *testing.T) {
	tp := connector.TopicPartition{Topic: "clicks", Partition: 1}
	s, dir := localSink(t, map[string]string{"partitioner.class": "FieldPartitioner", "partition.field.name": "event_type,n", "flush.size": "3", "rotate.idle.ms": "0"}, tp)
	err := s.Write(ctx, []connector.Record{
		rec(tp, 0, t0, `{"event_type":"page_view","n":1}`),
		rec(tp, 1, t0, `{"event_type":"a/b c","n":true}`),
		rec(tp, 2, t0, `{"n":1}`),
		rec(tp, 3, t0, `{"event_type":"page_view","n":1}`),
	})
	var be *connector.BatchError
	if !errors.As(err, &be) || len(be.Records) != 1 || be.Records[0].Index != 2 ||
		!strings.Contains(be.Records[0].Err.Error(), `field "event_type" (partition.field.name): missing or null`) {
		t.Fatalf("Write: %v, want a BatchError naming record 2 and the field", err)
	}
	want := []string{
		"topics/clicks/event_type=a%2Fb%20c/n=true/clicks+1+0000000001.json",
		"topics/clicks/event_type=page_view/n=1/clicks+1+0000000000.json",
	}
	if keys := dataKeys(t, dir); !slices.Equal(keys, want) {
		t.Errorf("objects %q, want %q", keys, want)
	}
	b, _ := os.ReadFile(filepath.Join(dir, want[1]))
	if string(b) != "{\"event_type\":\"page_view\",\"n\":1}\n{\"event_type\":\"page_view\",\"n\":1}\n" {
		t.Errorf("%s holds %q: want records 0 and 3 in one file of the set", want[1], b)
	}
	if got, _ := s.Flush(ctx); got[tp] != 4 {
		t.Errorf("Flush reported %v, want %s=4", got, tp)
	}
}

// TestRotationPoints: files are cut before a record rotate.interval.ms of
// record time past the set's first, after flush.size records and after
// flush.size.bytes value bytes; a quiet partition's set is cut at Flush
// once another partition's record time is that far ahead; nothing else
// cuts (rotate.idle.ms=0).
func TestRotationPoints(t *testing.T) {
	p0 := connector.TopicPartition{Topic: "clicks", Partition: 0}
	p1 := connector.TopicPartition{Topic: "clicks", Partition: 1}
	s, dir := localSink(t, map[string]string{"rotate.interval.ms": "60000", "flush.size": "4", "flush.size.bytes": "1024", "rotate.idle.ms": "0"}, p0, p1)
	big := `{"pad":"` + strings.Repeat("x", 600) + `"}`
	recs := []connector.Record{
		rec(p0, 0, t0, `{}`),
		rec(p0, 1, t0.Add(59*time.Second), `{}`),
		rec(p0, 2, t0.Add(60*time.Second), `{}`), // cut before: 60s past record 0
		rec(p0, 3, t0.Add(61*time.Second), `{}`),
		rec(p0, 4, t0.Add(62*time.Second), `{}`),
		rec(p0, 5, t0.Add(63*time.Second), `{}`), // 4 records: cut after
		rec(p0, 6, t0.Add(64*time.Second), big),
		rec(p0, 7, t0.Add(65*time.Second), big), // > 1024 value bytes: cut after
		rec(p0, 8, t0.Add(66*time.Second), `{}`),
	}
	if err := s.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Flush(ctx); got[p0] != 8 {
		t.Errorf("Flush reported %v, want %s=8", got, p0)
	}
	// p1 runs 60s of record time past p0's open set (first record at
	// +66s): p0's set is cut at the next Flush, p1's stays open.
	if err := s.Write(ctx, []connector.Record{rec(p1, 0, t0.Add(126*time.Second), `{}`)}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Flush(ctx)
	if got[p0] != 9 || got[p1] != 0 {
		t.Errorf("Flush reported %v, want %s=9 and nothing for %s", got, p0, p1)
	}
	var starts []string
	for _, k := range dataKeys(t, dir) {
		starts = append(starts, k[strings.LastIndex(k, "+")+1:])
	}
	want := []string{"0000000000.json", "0000000002.json", "0000000006.json", "0000000008.json"}
	if !slices.Equal(starts, want) {
		t.Errorf("files start at %q, want %q", starts, want)
	}
}

// TestIdleTimeout: with rotate.idle.ms, an open set that received nothing
// for that long (wall clock) is cut at Flush, and not before.
func TestIdleTimeout(t *testing.T) {
	tp := connector.TopicPartition{Topic: "clicks", Partition: 0}
	s, dir := localSink(t, map[string]string{"rotate.idle.ms": "30000"}, tp)
	clock := t0
	s.now = func() time.Time { return clock }
	if err := s.Write(ctx, []connector.Record{rec(tp, 0, t0, `{}`), rec(tp, 1, t0, `{}`)}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(29 * time.Second)
	if got, _ := s.Flush(ctx); len(got) != 0 || len(dataKeys(t, dir)) != 0 {
		t.Fatalf("after 29s idle Flush reported %v and wrote %q; want nothing", got, dataKeys(t, dir))
	}
	clock = clock.Add(time.Second)
	if got, _ := s.Flush(ctx); got[tp] != 2 || len(dataKeys(t, dir)) != 1 {
		t.Fatalf("after 30s idle Flush reported %v and wrote %q; want %s=2 in one file", got, dataKeys(t, dir), tp)
	}
}

// TestScheduleRotation: rotate.schedule.interval.ms cuts open sets at the
// first Flush after a multiple of the interval (wall clock).
func TestScheduleRotation(t *testing.T) {
	tp := connector.TopicPartition{Topic: "clicks", Partition: 0}
	s, _ := localSink(t, map[string]string{"rotate.idle.ms": "0", "rotate.schedule.interval.ms": "600000"}, tp)
	clock := time.Date(2026, 3, 1, 10, 9, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }
	if err := s.Write(ctx, []connector.Record{rec(tp, 0, t0, `{}`)}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(59 * time.Second)
	if got, _ := s.Flush(ctx); len(got) != 0 {
		t.Fatalf("before 10:10 Flush reported %v", got)
	}
	clock = clock.Add(time.Second)
	if got, _ := s.Flush(ctx); got[tp] != 1 {
		t.Fatalf("at 10:10 Flush reported %v, want %s=1", got, tp)
	}
}

// TestConditionalWrites: an object that is already there with the same
// bytes is accepted (a replay); one with other bytes (a zombie's) fails
// the task, not retryably, naming the object.
func TestConditionalWrites(t *testing.T) {
	tp := connector.TopicPartition{Topic: "clicks", Partition: 0}
	for _, tc := range []struct {
		name, existing string
		wantErr        bool
	}{{"same bytes", "{\"a\":1}\n", false}, {"other bytes", "{\"a\":2}\n", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := localSink(t, map[string]string{"flush.size": "1"}, tp)
			key := "topics/clicks/partition=0/clicks+0+0000000000.json"
			if err := newLocalStore(dir).Put(ctx, key, []byte(tc.existing), false); err != nil {
				t.Fatal(err)
			}
			err := s.Write(ctx, []connector.Record{rec(tp, 0, t0, `{"a":1}`)})
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Write: %v", err)
				}
				return
			}
			if _, retry := connector.IsRetryable(err); err == nil || retry || !strings.Contains(err.Error(), key+" exists with other content") {
				t.Fatalf("Write: %v; want a fatal error naming %s", err, key)
			}
			b, _ := os.ReadFile(filepath.Join(dir, key))
			if string(b) != tc.existing {
				t.Errorf("the existing object was overwritten: %q", b)
			}
		})
	}
}

// TestParquetBadRecords: for Parquet a value that is not a click event is
// refused with the field, the expected kind and the value; JSON lines
// take the same values.
func TestParquetBadRecords(t *testing.T) {
	tp := connector.TopicPartition{Topic: "clicks", Partition: 0}
	s, _ := localSink(t, map[string]string{"format.class": "parquet"}, tp)
	err := s.Write(ctx, []connector.Record{
		rec(tp, 0, t0, `{"event_id":"e1","duration_ms":"abc"}`),
		rec(tp, 1, t0, `{"event_id":"e2"}`),
		rec(tp, 2, t0, `not json`),
	})
	var be *connector.BatchError
	if !errors.As(err, &be) || len(be.Records) != 2 {
		t.Fatalf("Write: %v; want records 0 and 2 refused", err)
	}
	if be.Records[0].Index != 0 || be.Records[0].Err.Error() != `field "duration_ms": expected int64 (a JSON integer), got string "abc"` {
		t.Errorf("record 0: %v", be.Records[0].Err)
	}
	if be.Records[1].Index != 2 || !strings.Contains(be.Records[1].Err.Error(), "malformed JSON") {
		t.Errorf("record 2: %v", be.Records[1].Err)
	}
	js, _ := localSink(t, nil, tp)
	if err := js.Write(ctx, []connector.Record{rec(tp, 0, t0, `{"event_id":"e1","duration_ms":"abc"}`), rec(tp, 1, t0, `not json`)}); err != nil {
		t.Errorf("JSON lines refused a value: %v", err)
	}
}
