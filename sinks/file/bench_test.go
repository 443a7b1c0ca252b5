package file_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/sinks/file"
)

const (
	benchValueSize = 400
	benchBatch     = 1000
)

// benchValue returns a click event padded to exactly benchValueSize bytes.
func benchValue(b *testing.B, tp connector.TopicPartition, off int64) []byte {
	v := sinktest.DefaultValue(tp, off)
	pad := benchValueSize - len(v) - len(`,"user_agent":""`)
	if pad < 0 {
		b.Fatalf("click event is %d bytes, more than %d", len(v), benchValueSize)
	}
	v = bytes.TrimSuffix(v, []byte("}"))
	v = append(v, `,"user_agent":"`+strings.Repeat("x", pad)+`"}`...)
	if len(v) != benchValueSize {
		b.Fatalf("value is %d bytes", len(v))
	}
	return v
}

// BenchmarkWriteFlush measures one Write of a 1000-record batch of
// 400-byte values followed by one Flush, as a task does per poll. With the
// default flush.interval.ms the sink writes a 10000-record file every tenth
// op; with 0 it writes a file at every Flush.
func BenchmarkWriteFlush(b *testing.B) {
	for _, bc := range []struct {
		name string
		keys map[string]string
	}{
		{"fsync/files_of_10000", map[string]string{"file.fsync": "true"}},
		{"fsync/file_per_flush", map[string]string{"file.fsync": "true", "flush.interval.ms": "0"}},
		{"nofsync/files_of_10000", map[string]string{"file.fsync": "false"}},
		{"nofsync/file_per_flush", map[string]string{"file.fsync": "false", "flush.interval.ms": "0"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			raw := map[string]string{"file.dir": dir}
			for k, v := range bc.keys {
				raw[k] = v
			}
			s, err := file.New(decode(b, raw), connector.TaskInfo{Connector: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			tp := connector.TopicPartition{Topic: "clickstream.enriched", Partition: 0}
			ctx := b.Context()
			if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tp: 0}); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Stop(context.Background()) })
			// Values repeat every 10000 offsets; the sink does not look.
			values := make([][]byte, 10000)
			for i := range values {
				values[i] = benchValue(b, tp, int64(i))
			}
			batch := make([]connector.Record, benchBatch)
			var off int64
			ops := 0
			b.SetBytes(benchBatch * benchValueSize)
			b.ReportAllocs()
			for b.Loop() {
				for i := range batch {
					batch[i] = connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off, Value: values[off%int64(len(values))]}
					off++
				}
				if err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				ops++
				if ops%100 == 0 { // keep the disk use bounded: about 40 MB
					b.StopTimer()
					removeData(b, filepath.Join(dir, tp.Topic))
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(ops*benchBatch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// removeData removes the files under dir, keeping dir and the partition
// lock files (the sink refuses to write once its lock file is gone).
func removeData(b *testing.B, dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".lock") {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			b.Fatal(err)
		}
	}
}
