package s3

import (
	"fmt"
	"testing"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/internal/testservers"
)

// harness runs the suite against sinks of cfg. Tails are cut by
// rotate.idle.ms=1, so a drain's repeated Flush makes them durable.
func harness(t *testing.T, cfg *Config, badRecord func(i int) connector.Record, same func(want, got []byte) bool) sinktest.Harness {
	return sinktest.Harness{
		New: func(t *testing.T) connector.Sink {
			s, err := New(cfg, connector.TaskInfo{Connector: "conformance", TasksMax: 1})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Read:      func(t *testing.T) []sinktest.Stored { return readStored(t, cfg) },
		BadRecord: badRecord,
		SameValue: same,
	}
}

// jsonBad are records a JSON lines file cannot hold.
func jsonBad(i int) connector.Record {
	if i%2 == 0 {
		return connector.Record{Value: fmt.Appendf(nil, "{\n  \"pretty\": %d\n}", i)}
	}
	return connector.Record{Value: nil} // a tombstone
}

// parquetBad are records that are not click events.
func parquetBad(i int) connector.Record {
	switch i % 3 {
	case 0:
		return connector.Record{Value: []byte(`{"event_id": 42}`)}
	case 1:
		return connector.Record{Value: []byte(`{"timestamp": "yesterday"}`)}
	}
	return connector.Record{Value: []byte(`[1, 2]`)}
}

// TestConformanceLocal runs the conformance suite against file:// stores:
// JSON lines cut inside Write, zstd JSON lines under a time partitioner
// (several files per file set, cut by record time), and Parquet.
func TestConformanceLocal(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys map[string]string
		bad  func(int) connector.Record
		same func(want, got []byte) bool
	}{
		{"json_cut_in_write", map[string]string{"flush.size": "4", "rotate.idle.ms": "1"}, jsonBad, nil},
		{"json_zstd_time_partitions", map[string]string{
			"flush.size": "50", "rotate.idle.ms": "1", "s3.compression.type": "zstd",
			"partitioner.class": "TimeBasedPartitioner", "path.format": "'dt'=YYYY-MM-dd/'t'=HHmmss",
			"partition.duration.ms": "5000", "timestamp.extractor": "RecordField", "rotate.interval.ms": "20000",
		}, jsonBad, nil},
		{"parquet", map[string]string{"flush.size": "7", "rotate.idle.ms": "1", "format.class": "parquet"}, parquetBad, sinktest.SameJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := decode(t, merge(map[string]string{"store.url": "file://" + t.TempDir()}, tc.keys))
			sinktest.Run(t, harness(t, cfg, tc.bad, tc.same))
		})
	}
}

// TestConformanceMinIO runs the conformance suite against a real S3
// server, MinIO, with conditional writes: gzip JSON lines under a field
// partitioner, and Parquet with a multipart-sized part limit.
func TestConformanceMinIO(t *testing.T) {
	m := testservers.StartMinIO(t)
	for _, tc := range []struct {
		name string
		keys map[string]string
		bad  func(int) connector.Record
		same func(want, got []byte) bool
	}{
		{"json_gzip_field_partitions", map[string]string{
			"flush.size": "10", "rotate.idle.ms": "1", "s3.compression.type": "gzip",
			"partitioner.class": "FieldPartitioner", "partition.field.name": "device",
		}, jsonBad, nil},
		{"parquet", map[string]string{"flush.size": "12", "rotate.idle.ms": "1", "format.class": "parquet", "topics.dir": "archive/raw"}, parquetBad, sinktest.SameJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := decode(t, merge(minioKeys(t, m, "conf-"+map[bool]string{true: "json", false: "parquet"}[tc.same == nil]), tc.keys))
			sinktest.Run(t, harness(t, cfg, tc.bad, tc.same))
		})
	}
}
