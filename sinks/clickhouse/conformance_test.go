package clickhouse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/clickevent"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/internal/testservers"
	"github.com/connectd/connectd/sinks/clickhouse"
)

// decode fills a Config from raw keys as the framework does, defaults
// included.
func decode(t testing.TB, raw map[string]string) *clickhouse.Config {
	t.Helper()
	cfg := &clickhouse.Config{}
	if errs := connector.DecodeConfig(raw, cfg, ""); len(errs) > 0 {
		t.Fatalf("config %v: %v", raw, errs)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config %v: %v", raw, err)
	}
	return cfg
}

// serverKeys are the keys that point a sink at srv over protocol.
func serverKeys(srv *testservers.ClickHouse, protocol string) map[string]string {
	port := srv.NativePort
	if protocol == "http" {
		port = srv.HTTPPort
	}
	return map[string]string{"hostname": "127.0.0.1", "port": strconv.Itoa(port), "protocol": protocol}
}

// with returns a copy of base with more keys.
func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// newSink makes a sink that is stopped when the test ends.
func newSink(t testing.TB, cfg *clickhouse.Config, connectorName string) *clickhouse.Sink {
	t.Helper()
	s, err := clickhouse.New(cfg, connector.TaskInfo{Connector: connectorName, TasksMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

// query runs sql and fails t on error.
func query(t testing.TB, srv *testservers.ClickHouse, sql string) string {
	t.Helper()
	out, err := srv.Query(sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return strings.TrimSpace(out)
}

// storedEvent is one events-table row as JSONEachRow gives it.
type storedEvent map[string]any

// readEvents reads every row of an events table whose topic starts with
// prefix, turning each back into the click event JSON it came from: the
// known fields that are not NULL (and required ones that are not empty),
// then the fields of _extra.
func readEvents(t *testing.T, srv *testservers.ClickHouse, table, prefix string) []sinktest.Stored {
	t.Helper()
	out := query(t, srv, fmt.Sprintf("SELECT * FROM default.%s WHERE startsWith(_topic, '%s') FORMAT JSONEachRow SETTINGS output_format_json_quote_64bit_integers = 0", table, prefix))
	var stored []sinktest.Stored
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		var row storedEvent
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&row); err != nil {
			t.Fatalf("row %s: %v", line, err)
		}
		ev := map[string]any{}
		for _, f := range clickevent.Fields() {
			v := row[f.Name]
			switch {
			case v == nil:
			case f.Required && v == "":
			case f.Kind == clickevent.Timestamp:
				ts, err := time.Parse("2006-01-02 15:04:05.000", v.(string))
				if err != nil {
					t.Fatalf("timestamp %v: %v", v, err)
				}
				ev[f.Name] = ts.UTC().Format("2006-01-02T15:04:05.000Z07:00")
			default:
				ev[f.Name] = v
			}
		}
		if extra, _ := row["_extra"].(string); extra != "" {
			var m map[string]any
			dec := json.NewDecoder(strings.NewReader(extra))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("_extra %q: %v", extra, err)
			}
			for k, v := range m {
				ev[k] = v
			}
		}
		value, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		part, _ := row["_partition"].(json.Number).Int64()
		off, _ := row["_offset"].(json.Number).Int64()
		stored = append(stored, sinktest.Stored{Topic: row["_topic"].(string), Partition: int32(part), Offset: off, Value: value})
	}
	return stored
}

// badRecord returns values the events table cannot take: a duration that
// is not a number, a timestamp out of DateTime64's range, no timestamp,
// not JSON.
func badRecord(i int) connector.Record {
	values := []string{
		`{"event_id":"e1","timestamp":"2026-01-01T00:00:00Z","user_id":"u","duration_ms":"abc"}`,
		`{"event_id":"e2","timestamp":"2500-01-01T00:00:00Z","user_id":"u"}`,
		`{"event_id":"e3","user_id":"u"}`,
		`not json`,
	}
	return connector.Record{Value: []byte(values[i%len(values)])}
}

// TestConformance runs the sink conformance suite against a real
// ClickHouse, over the native protocol and over HTTP, with batches cut
// inside Write (small batch.size) and with partial batches kept across
// Flush calls (by age).
func TestConformance(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"native/cut_in_write", []string{"protocol", "native", "batch.size", "4", "flush.interval.ms", "0"}},
		{"native/buffered_by_age", []string{"protocol", "native", "batch.size", "5", "flush.interval.ms", "25"}},
		{"http/cut_in_write", []string{"protocol", "http", "batch.size", "4", "flush.interval.ms", "0"}},
		{"http/default_batch", []string{"protocol", "http", "flush.interval.ms", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := "conf_" + strings.NewReplacer("/", "_").Replace(tc.name)
			keys := with(serverKeys(srv, "native"), append(tc.keys, "table", table)...)
			keys["port"] = serverKeys(srv, keys["protocol"])["port"]
			cfg := decode(t, keys)
			prefix := "ch-" + strings.NewReplacer("/", "-", "_", "-").Replace(tc.name)
			sinktest.Run(t, sinktest.Harness{
				New: func(t *testing.T) connector.Sink {
					return newSink(t, cfg, "conformance")
				},
				Read:        func(t *testing.T) []sinktest.Stored { return readEvents(t, srv, table, prefix) },
				BadRecord:   badRecord,
				SameValue:   sinktest.SameJSON,
				TopicPrefix: prefix,
			})
		})
	}
}
