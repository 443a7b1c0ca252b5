package iceberg_test

import (
	"fmt"
	"maps"
	"path"
	"strings"
	"testing"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/sinks/iceberg"
)

// harness runs the suite against Iceberg sinks writing through one
// SQLite catalog and the warehouse keys give, one event table per subtest
// (so Read scans only what the subtest wrote).
func harness(t *testing.T, keys map[string]string) sinktest.Harness {
	cfgs := map[string]*iceberg.Config{}
	tableOf := func(t *testing.T) string {
		return "sinktest." + strings.ReplaceAll(path.Base(t.Name()), "-", "_")
	}
	cfgFor := func(t *testing.T) *iceberg.Config {
		name := tableOf(t)
		if c := cfgs[name]; c != nil {
			return c
		}
		raw := map[string]string{
			"iceberg.tables":                     name,
			"iceberg.tables.auto-create-enabled": "true",
			"iceberg.control.commit.interval-ms": "0",
		}
		maps.Copy(raw, keys)
		cfgs[name] = decode(t, raw)
		return cfgs[name]
	}
	return sinktest.Harness{
		New: func(t *testing.T) connector.Sink {
			s, err := iceberg.New(cfgFor(t), connector.TaskInfo{Connector: "conformance", TasksMax: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Stop(t.Context()) })
			return s
		},
		Read: func(t *testing.T) []sinktest.Stored {
			rows := readTable(t, cfgFor(t), tableOf(t))
			out := make([]sinktest.Stored, len(rows))
			for i, r := range rows {
				topic, part, off := coords(r)
				out[i] = sinktest.Stored{Topic: topic, Partition: part, Offset: off, Value: eventJSON(r)}
			}
			return out
		},
		BadRecord: func(i int) connector.Record {
			switch i % 3 {
			case 0:
				return connector.Record{Value: fmt.Appendf(nil, `{"event_id":"bad-%d","timestamp":"yesterday"}`, i)}
			case 1:
				return connector.Record{Value: fmt.Appendf(nil, `{"event_id":"bad-%d","duration_ms":"long"}`, i)}
			}
			return connector.Record{Value: nil} // a tombstone
		},
		SameValue: sinktest.SameJSON,
	}
}

// TestConformanceFile runs the sink conformance suite on a file://
// warehouse.
func TestConformanceFile(t *testing.T) {
	sinktest.Run(t, harness(t, fileWarehouse(t)))
}

// TestConformanceMinIO runs the suite on an s3:// warehouse in MinIO.
func TestConformanceMinIO(t *testing.T) {
	sinktest.Run(t, harness(t, minioWarehouse(t)))
}

// TestConformanceREST runs the suite through the REST catalog client
// against the stand-in REST server (restcatalog_test.go) on a file://
// warehouse, with an OAuth2 client credential, a path prefix and a named
// warehouse, as a hosted REST catalog would want them.
func TestConformanceREST(t *testing.T) {
	rc := startRESTCatalog(t, restOptions{WarehouseName: "lake", Prefix: "lake", ClientID: "connectd", Secret: "s3cret"})
	sinktest.Run(t, harness(t, rc.keys()))
	if rc.commits.Load() == 0 || rc.tokens.Load() == 0 {
		t.Errorf("the REST server saw %d commits and issued %d tokens: the suite did not go through it", rc.commits.Load(), rc.tokens.Load())
	}
}
