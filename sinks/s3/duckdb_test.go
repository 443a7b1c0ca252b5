package s3

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/testservers"
)

// TestDuckDBReadsParquet has an independent reader, DuckDB, read the
// Parquet files of raw events and of window results: the schema (DESCRIBE)
// and row counts and sums must be what was written.
func TestDuckDBReadsParquet(t *testing.T) {
	events := connector.TopicPartition{Topic: "clicks", Partition: 2}
	rollups := connector.TopicPartition{Topic: "rollups", Partition: 0}
	dir := t.TempDir()
	cfg := decode(t, map[string]string{"store.url": "file://" + dir, "format.class": "parquet", "flush.size": "400", "parquet.row.group.rows": "1024", "rotate.idle.ms": "0"})
	s, err := New(cfg, connector.TaskInfo{Connector: "duck", RollupTopic: "rollups"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, map[connector.TopicPartition]int64{events: 0, rollups: 0}); err != nil {
		t.Fatal(err)
	}
	var batch []connector.Record
	for off := range int64(1000) {
		v := fmt.Sprintf(`{"event_id":"e-%d","timestamp":"2026-11-22T10:%02d:%02d.250Z","user_id":"u%d","session_id":"s%d","event_type":"page_view","page_url":"/p/%d","device_type":"mobile","duration_ms":%d,"ab_test":"b"}`,
			off, off/60%60, off%60, off%7, off%11, off%13, off)
		if off%100 == 0 {
			v = fmt.Sprintf(`{"event_id":"e-%d","timestamp":"2026-11-22T11:00:00Z","user_id":"u","session_id":"s","event_type":"purchase","page_url":"/checkout","revenue":12.5,"currency":"EUR"}`, off)
		}
		batch = append(batch, connector.Record{Topic: events.Topic, Partition: events.Partition, Offset: off, Value: []byte(v)})
	}
	for off := range int64(10) {
		v := fmt.Sprintf(`{"id":"r%d","version":%d,"aggregate":"metrics_1m","window_start":"2026-11-22T10:%02d:00Z","window_end":"2026-11-22T10:%02d:00Z","key":{"page_url":"/p/%d"},"values":{"events":%d},"alerts":["hot"],"early":false}`,
			off, 1+off%2, off, off+1, off, off*10)
		batch = append(batch, connector.Record{Topic: rollups.Topic, Partition: 0, Offset: off, Timestamp: time.Date(2026, 11, 22, 10, int(off)+1, 0, 0, time.UTC), Value: []byte(v)})
	}
	if err := s.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	s.cfg.RotateIdle = time.Nanosecond // cut the tails now
	if got, err := s.Flush(ctx); err != nil || got[events] != 1000 || got[rollups] != 10 {
		t.Fatalf("Flush: %v %v", got, err)
	}

	glob := func(topic string) string { return filepath.Join(dir, "topics", topic, "*", "*.parquet") }
	schema := testservers.DuckDB(t, fmt.Sprintf("DESCRIBE SELECT * FROM read_parquet('%s')", glob("clicks")))
	want := []string{
		"event_id VARCHAR", "timestamp TIMESTAMP WITH TIME ZONE", "user_id VARCHAR", "session_id VARCHAR", "event_type VARCHAR",
		"page_url VARCHAR", "page_category VARCHAR", "referrer VARCHAR", "device_type VARCHAR", "country VARCHAR",
		"duration_ms BIGINT", "revenue DOUBLE", "currency VARCHAR", "utm_source VARCHAR", "utm_medium VARCHAR",
		"utm_campaign VARCHAR", "user_agent VARCHAR", "_extra VARCHAR", "_topic VARCHAR", "_partition INTEGER", "_offset BIGINT",
		"partition BIGINT", // DuckDB's hive partitioning reads the partition=N directory
	}
	checkSchema(t, schema, want)
	got := testservers.DuckDB(t, fmt.Sprintf(`SELECT count(*)::VARCHAR AS n, count(DISTINCT event_id)::VARCHAR AS ids,
		sum(revenue)::VARCHAR AS revenue, sum(duration_ms)::VARCHAR AS dur, count(_extra)::VARCHAR AS extra,
		min(_offset)::VARCHAR AS lo, max(_offset)::VARCHAR AS hi, count(DISTINCT _partition)::VARCHAR AS parts,
		strftime(min(timestamp) AT TIME ZONE 'UTC', '%%Y-%%m-%%dT%%H:%%M:%%S.%%g') AS first,
		max(json_extract_string(_extra, '$.ab_test')) AS ab
		FROM read_parquet('%s')`, glob("clicks")))
	// 1000 events, 10 purchases of 12.5; durations 0..999 without the
	// multiples of 100 (4500 of them); 990 with an _extra field.
	wantRow := map[string]any{"n": "1000", "ids": "1000", "revenue": "125.0", "dur": "495000", "extra": "990", "lo": "0", "hi": "999", "parts": "1", "first": "2026-11-22T10:00:01.250", "ab": "b"}
	if len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(wantRow) {
		t.Errorf("DuckDB read %v,\nwant %v", got, wantRow)
	}

	schema = testservers.DuckDB(t, fmt.Sprintf("DESCRIBE SELECT * FROM read_parquet('%s')", glob("rollups")))
	checkSchema(t, schema, []string{
		"id VARCHAR", "version BIGINT", "aggregate VARCHAR", "window_start TIMESTAMP WITH TIME ZONE", "window_end TIMESTAMP WITH TIME ZONE",
		"key VARCHAR", "values VARCHAR", "alerts VARCHAR", "early BOOLEAN", "retract BOOLEAN", "_topic VARCHAR", "_partition INTEGER", "_offset BIGINT", "partition BIGINT",
	})
	got = testservers.DuckDB(t, fmt.Sprintf(`SELECT count(*)::VARCHAR AS n, sum(version)::VARCHAR AS versions,
		sum(json_extract(values, '$.events')::INT)::VARCHAR AS events, max(key) AS maxkey, bool_or(early)::VARCHAR AS early,
		strftime(max(window_end) AT TIME ZONE 'UTC', '%%H:%%M') AS lastend FROM read_parquet('%s')`, glob("rollups")))
	wantRow = map[string]any{"n": "10", "versions": "15", "events": "450", "maxkey": `{"page_url":"/p/9"}`, "early": "false", "lastend": "10:10"}
	if len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(wantRow) {
		t.Errorf("DuckDB read results %v,\nwant %v", got, wantRow)
	}
}

func checkSchema(t *testing.T, rows []map[string]any, want []string) {
	t.Helper()
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v %v", r["column_name"], r["column_type"]))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("DuckDB schema\n%q,\nwant\n%q", got, want)
	}
}
