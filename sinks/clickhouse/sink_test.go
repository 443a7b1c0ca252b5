package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/internal/testservers"
	"github.com/connectd/connectd/sinks/clickhouse"
)

// records returns DefaultValue records [from, to) of tp.
func records(tp connector.TopicPartition, from, to int64) []connector.Record {
	var out []connector.Record
	for off := from; off < to; off++ {
		out = append(out, connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off,
			Value: sinktest.DefaultValue(tp, off), Timestamp: sinktest.EventTime(tp, off)})
	}
	return out
}

// TestBadValuesNameColumnAndValue writes values that do not fit the
// events table among good ones: Write returns a *connector.BatchError
// with exactly their indexes, each naming the column and the value, and
// only the good records are stored, unknown fields in _extra.
func TestBadValuesNameColumnAndValue(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	ctx := context.Background()
	s := newSink(t, decode(t, with(serverKeys(srv, "native"), "table", "bad_values", "flush.interval.ms", "0")), "bad")
	tp := connector.TopicPartition{Topic: "bad-values", Partition: 0}
	if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tp: 0}); err != nil {
		t.Fatal(err)
	}
	values := []struct {
		value string
		want  []string // in the error; nil: a good record
	}{
		{`{"event_id":"a","timestamp":"2026-03-01T10:00:00Z","user_id":"u1","event_type":"page_view","page_url":"/a","utm_term":"shoes","ab":{"v":2}}`, nil},
		{`{"event_id":"b","timestamp":"2026-03-01T10:00:01Z","user_id":"u1","duration_ms":"abc"}`, []string{`"duration_ms"`, `"abc"`, "int64"}},
		{`{"event_id":"c","timestamp":"2500-01-01T00:00:00Z","user_id":"u1"}`, []string{"column timestamp", "2500-01-01T00:00:00Z", "DateTime64"}},
		{`{"event_id":"d","user_id":"u1"}`, []string{"column timestamp", "missing"}},
		{`{"event_id":"e","timestamp":"2026-03-01T10:00:02Z","user_id":"u2","revenue":"12,50"}`, []string{`"revenue"`, `"12,50"`, "float64"}},
		{`[1,2]`, []string{"JSON object"}},
		{`{"event_id":"f","timestamp":"2026-03-01T10:00:03Z","user_id":"u2","revenue":12.5,"duration_ms":5120}`, nil},
	}
	var batch []connector.Record
	for i, v := range values {
		batch = append(batch, connector.Record{Topic: tp.Topic, Offset: int64(i), Value: []byte(v.value), Timestamp: time.Now()})
	}
	err := s.Write(ctx, batch)
	var be *connector.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write = %v, want a *connector.BatchError", err)
	}
	got := map[int]string{}
	for _, r := range be.Records {
		got[r.Index] = r.Err.Error()
	}
	for i, v := range values {
		msg, bad := got[i]
		switch {
		case v.want == nil && bad:
			t.Errorf("record %d was rejected: %s", i, msg)
		case v.want != nil && !bad:
			t.Errorf("record %d (%s) was accepted", i, v.value)
		}
		for _, w := range v.want {
			if !strings.Contains(msg, w) {
				t.Errorf("record %d: error %q does not name %q", i, msg, w)
			}
		}
	}
	if _, err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	out := query(t, srv, "SELECT event_id, _offset, _extra, ifNull(toString(revenue), 'NULL'), ifNull(toString(duration_ms), 'NULL') FROM default.bad_values ORDER BY _offset")
	want := "a\t0\t{\"utm_term\":\"shoes\",\"ab\":{\"v\":2}}\tNULL\tNULL\nf\t6\t\t12.5\t5120"
	if out != want {
		t.Errorf("stored rows:\n%s\nwant:\n%s", out, want)
	}
}

// TestTablesMustExistWithoutAutoCreate: with auto.create.tables=false a
// missing table fails Open with an error naming the table and the key,
// and is not retried; a table whose columns differ fails Open naming the
// column and both types.
func TestTablesMustExistWithoutAutoCreate(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	ctx := context.Background()
	tp := connector.TopicPartition{Topic: "clicks", Partition: 0}

	s := newSink(t, decode(t, with(serverKeys(srv, "native"), "table", "missing_table", "auto.create.tables", "false")), "strict")
	_, err := s.Open(ctx, map[connector.TopicPartition]int64{tp: 0})
	if err == nil || !strings.Contains(err.Error(), "default.missing_table") || !strings.Contains(err.Error(), "auto.create.tables") {
		t.Errorf("Open with a missing table = %v, want an error naming default.missing_table and auto.create.tables", err)
	}
	if _, retry := connector.IsRetryable(err); retry {
		t.Errorf("a missing table is retried: %v", err)
	}

	query(t, srv, "CREATE TABLE default.wrong_table (event_id String, timestamp String) ENGINE = MergeTree ORDER BY event_id")
	s = newSink(t, decode(t, with(serverKeys(srv, "native"), "table", "wrong_table")), "strict")
	_, err = s.Open(ctx, map[connector.TopicPartition]int64{tp: 0})
	for _, w := range []string{"default.wrong_table", "column timestamp is String, want DateTime64(3, 'UTC')", "column user_id is missing"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Open with a mismatched table = %v, want it to say %q", err, w)
		}
	}
}

// TestWindowResults writes window results of the task's rollup topic:
// they land in a ReplacingMergeTree results table where, read with FINAL,
// a higher version replaces a result and a retraction hides it; a result
// that does not fit is rejected naming the column.
func TestWindowResults(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	ctx := context.Background()
	cfg := decode(t, with(serverKeys(srv, "http"), "rollup.table", "rollups", "flush.interval.ms", "0"))
	s, err := clickhouse.New(cfg, connector.TaskInfo{Connector: "win", RollupTopic: "clickstream.agg.pageviews"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(ctx)
	tp := connector.TopicPartition{Topic: "clickstream.agg.pageviews", Partition: 0}
	if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tp: 0}); err != nil {
		t.Fatal(err)
	}
	result := func(id string, version int, views int, retract bool) string {
		return fmt.Sprintf(`{"id":%q,"version":%d,"aggregate":"pageviews_1m","window_start":"2026-03-01T10:00:00Z","window_end":"2026-03-01T10:01:00Z","key":{"page_url":"/p/%s"},"values":{"page_views":%d},"alerts":["high_traffic"],"retract":%t}`,
			id, version, id, views, retract)
	}
	vals := []string{
		result("a", 1, 10, false),
		result("b", 1, 3, false),
		result("a", 2, 12, false), // late data: a re-emission replaces
		`{"id":"c","version":-1,"window_start":"2026-03-01T10:00:00Z","window_end":"2026-03-01T10:01:00Z"}`,
		result("b", 2, 3, true), // merged away
	}
	var batch []connector.Record
	for i, v := range vals {
		batch = append(batch, connector.Record{Topic: tp.Topic, Offset: int64(i), Value: []byte(v), Timestamp: time.Now()})
	}
	err = s.Write(ctx, batch)
	var be *connector.BatchError
	if !errors.As(err, &be) || len(be.Records) != 1 || be.Records[0].Index != 3 || !strings.Contains(be.Records[0].Err.Error(), "column version") {
		t.Fatalf("Write = %v, want a BatchError for record 3 naming column version", err)
	}
	if got, err := s.Flush(ctx); err != nil || got[tp] != 5 {
		t.Fatalf("Flush = %v, %v; want %s=5", got, err, tp)
	}
	out := query(t, srv, "SELECT id, version, key['page_url'], JSONExtractInt(values, 'page_views'), alerts FROM default.rollups FINAL ORDER BY id")
	if want := "a\t2\t/p/a\t12\t['high_traffic']"; out != want {
		t.Errorf("results FINAL:\n%s\nwant:\n%s", out, want)
	}
}

// TestServerDownMidRun stops ClickHouse in the middle of a run and starts
// it again, driving the sink as the framework does (a RetryableError
// makes it call the same method again after a pause). While the server is
// down, Write refuses more records once buffer.max.rows are held, so
// memory stays bounded; after the restart everything is stored exactly
// once.
func TestServerDownMidRun(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	ctx := context.Background()
	const bound, total = 300, 2000
	cfg := decode(t, with(serverKeys(srv, "native"), "table", "down", "batch.size", "100",
		"buffer.max.rows", fmt.Sprint(bound), "flush.interval.ms", "0", "insert.timeout.ms", "5000"))
	s := newSink(t, cfg, "down")
	tps := []connector.TopicPartition{{Topic: "down", Partition: 0}, {Topic: "down", Partition: 1}}
	if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tps[0]: 0, tps[1]: 0}); err != nil {
		t.Fatal(err)
	}
	retry := func(what string, op func() error) {
		t.Helper()
		for i := 0; ; i++ {
			err := op()
			if err == nil {
				return
			}
			if _, ok := connector.IsRetryable(err); !ok {
				t.Fatalf("%s: %v (not retryable)", what, err)
			}
			if i == 600 {
				t.Fatalf("%s: still failing: %v", what, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	refused, maxHeld := 0, 0
	stopped := false
	for off := int64(0); off < total; off += 50 {
		batch := append(records(tps[0], off, off+50), records(tps[1], off, off+50)...)
		if off == 600 {
			if err := srv.Stop(); err != nil {
				t.Fatal(err)
			}
			stopped = true
		}
		for attempt := 0; ; attempt++ {
			err := s.Write(ctx, batch)
			maxHeld = max(maxHeld, s.Buffered())
			if err == nil {
				break
			}
			if _, ok := connector.IsRetryable(err); !ok {
				t.Fatalf("Write at %d: %v", off, err)
			}
			refused++
			if !strings.Contains(err.Error(), "buffer.max.rows") {
				t.Errorf("the retryable error does not say why the task waits: %v", err)
			}
			if stopped && attempt == 3 {
				if err := srv.Start(); err != nil {
					t.Fatal(err)
				}
				stopped = false
			}
			time.Sleep(50 * time.Millisecond)
		}
		if off%200 == 0 && !stopped {
			retry("Flush", func() error { _, err := s.Flush(ctx); return err })
		}
	}
	var got map[connector.TopicPartition]int64
	retry("Flush", func() error { var err error; got, err = s.Flush(ctx); return err })
	if got[tps[0]] != total || got[tps[1]] != total {
		t.Errorf("final Flush = %v, want %d for both partitions", got, total)
	}
	if refused == 0 {
		t.Error("Write never refused records while ClickHouse was down: memory is not bounded")
	}
	if maxHeld > bound+100 {
		t.Errorf("the sink held %d rows, more than buffer.max.rows %d plus one Write of 100", maxHeld, bound)
	}
	out := query(t, srv, "SELECT count(), uniqExact(_partition, _offset), uniqExact(event_id) FROM default.down")
	if want := fmt.Sprintf("%d\t%d\t%d", 2*total, 2*total, 2*total); out != want {
		t.Errorf("count, distinct offsets, distinct ids = %s, want %s", out, want)
	}
	t.Logf("Write refused %d times while ClickHouse was down; at most %d rows held", refused, maxHeld)
}

// TestHungServerShowsInFlush freezes ClickHouse (SIGSTOP: connections are
// accepted, nothing answers) while batches are queued. Each INSERT then
// times out after insert.timeout.ms, and Flush must report the failure
// at every call until an INSERT succeeds — also while the next attempt is
// still waiting — so that the task stays in its retry loop and its status
// says why, instead of looking healthy between two timeouts. After the
// server goes on, every row is stored once, although the timed-out
// INSERTs may have been stored late by the resumed server.
func TestHungServerShowsInFlush(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	t.Cleanup(func() { _ = srv.Resume() })
	ctx := context.Background()
	cfg := decode(t, with(serverKeys(srv, "native"), "table", "hung", "batch.size", "100",
		"flush.interval.ms", "60000", "insert.timeout.ms", "1500"))
	s := newSink(t, cfg, "hung")
	tp := connector.TopicPartition{Topic: "hung", Partition: 0}
	if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tp: 0}); err != nil {
		t.Fatal(err)
	}
	flushUntil := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			got, err := s.Flush(ctx)
			if err == nil && got[tp] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Flush = %v, %v; want %s=%d", got, err, tp, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := s.Write(ctx, records(tp, 0, 200)); err != nil {
		t.Fatal(err)
	}
	flushUntil(200)

	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, records(tp, 200, 400)); err != nil {
		t.Fatal(err)
	}
	// Wait for the first timeout to show, then every Flush for 4 s (more
	// than two more timeouts, with attempts in progress in between) must
	// say the INSERTs are failing.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.Flush(ctx)
		if err != nil {
			if _, ok := connector.IsRetryable(err); !ok {
				t.Fatalf("Flush: %v (not retryable)", err)
			}
			if !strings.Contains(err.Error(), "failing and retried") || !strings.Contains(err.Error(), "rows buffered") {
				t.Errorf("Flush error does not say what is retried: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Flush reported no failure in 30 s while ClickHouse was frozen")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if got, err := s.Flush(ctx); err == nil {
			t.Fatalf("Flush = %v, nil while ClickHouse is still frozen: the task would look healthy", got)
		}
	}

	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	flushUntil(400)
	out := query(t, srv, "SELECT count(), uniqExact(_offset) FROM default.hung")
	if out != "400\t400" {
		t.Errorf("count, distinct offsets = %s, want 400 of each", out)
	}
}
