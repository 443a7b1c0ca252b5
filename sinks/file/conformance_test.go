package file_test

import (
	"fmt"
	"testing"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/sinks/file"
)

// decode fills a Config from raw keys as the framework does, defaults
// included.
func decode(t testing.TB, raw map[string]string) *file.Config {
	t.Helper()
	cfg := &file.Config{}
	if errs := connector.DecodeConfig(raw, cfg, ""); len(errs) > 0 {
		t.Fatalf("config %v: %v", raw, errs)
	}
	return cfg
}

// harness runs the suite against a file sink writing under a new
// directory, with extra config keys.
func harness(t *testing.T, keys map[string]string) sinktest.Harness {
	dir := t.TempDir()
	raw := map[string]string{"file.dir": dir}
	for k, v := range keys {
		raw[k] = v
	}
	cfg := decode(t, raw)
	return sinktest.Harness{
		New: func(t *testing.T) connector.Sink {
			s, err := file.New(cfg, connector.TaskInfo{Connector: "conformance", TasksMax: 1, Logger: nil})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Read: func(t *testing.T) []sinktest.Stored {
			entries, err := file.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]sinktest.Stored, len(entries))
			for i, e := range entries {
				out[i] = sinktest.Stored{Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Value: e.Value}
			}
			return out
		},
		BadRecord: func(i int) connector.Record {
			if i%2 == 0 {
				return connector.Record{Value: fmt.Appendf(nil, "{\n  \"pretty\": %d\n}", i)}
			}
			return connector.Record{Value: nil} // a tombstone
		},
	}
}

// TestConformance runs the sink conformance suite against the file sink
// under configs that cut files inside Write, keep tails buffered across
// Flush calls (by age), and use the default flush.size without fsync.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys map[string]string
	}{
		{"cut_in_write", map[string]string{"flush.size": "4", "flush.interval.ms": "0"}},
		{"buffered_by_age", map[string]string{"flush.size": "3", "flush.interval.ms": "25"}},
		{"one_file_per_flush_no_fsync", map[string]string{"flush.interval.ms": "0", "file.fsync": "false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sinktest.Run(t, harness(t, tc.keys))
		})
	}
}
