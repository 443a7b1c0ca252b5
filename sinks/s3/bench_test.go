package s3

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/sources/generator"
)

const benchBatch = 1000

// benchValues returns n realistic click events from the generator.
func benchValues(b *testing.B, n int) ([][]byte, int64) {
	e, err := generator.NewEngine(generator.Options{Seed: 1, Users: 10000, Start: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), EventsPerSecond: 2000})
	if err != nil {
		b.Fatal(err)
	}
	out := make([][]byte, n)
	var size int64
	for i := range out {
		out[i] = e.Next().Value
		size += int64(len(out[i]))
	}
	return out, size
}

// BenchmarkEncode measures the encoders alone: 100000 generator events
// (about 390 bytes each) into one file, per op. MB/s is of JSON input.
func BenchmarkEncode(b *testing.B) {
	values, size := benchValues(b, 100000)
	tp := connector.TopicPartition{Topic: "clickstream.enriched", Partition: 0}
	for _, bc := range []struct{ name, format, compression, codec string }{
		{"json", "json", "none", "snappy"},
		{"json_gzip", "json", "gzip", "snappy"},
		{"json_zstd", "json", "zstd", "snappy"},
		{"parquet_snappy", "parquet", "none", "snappy"},
		{"parquet_zstd", "parquet", "none", "zstd"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := decode(b, map[string]string{"store.url": "file:///unused", "format.class": bc.format, "s3.compression.type": bc.compression, "parquet.codec": bc.codec})
			fm, err := newFormat(cfg)
			if err != nil {
				b.Fatal(err)
			}
			enc := fm.newEncoder(tp.Topic, false)
			b.SetBytes(size)
			b.ReportAllocs()
			var out int
			for b.Loop() {
				for i, v := range values {
					r := connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: int64(i), Value: v}
					if err := enc.add(&r); err != nil {
						b.Fatal(err)
					}
				}
				body, err := enc.finish()
				if err != nil {
					b.Fatal(err)
				}
				out = len(body)
			}
			b.ReportMetric(float64(len(values)*b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(out)/float64(size), "out/in")
		})
	}
}

// BenchmarkWriteFlush measures the sink end to end against a local
// directory (file://, every object fsynced like a PUT is durable): Write
// of 1000-record batches of generator events over 4 partitions, Flush
// every 20 batches, files of flush.size=50000 per partition. MB/s is of
// JSON input.
func BenchmarkWriteFlush(b *testing.B) {
	values, size := benchValues(b, 100000)
	for _, bc := range []struct{ name, format, compression string }{
		{"json", "json", "none"},
		{"json_gzip", "json", "gzip"},
		{"parquet", "parquet", "none"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			cfg := decode(b, map[string]string{"store.url": "file://" + dir, "format.class": bc.format, "s3.compression.type": bc.compression, "flush.size": "50000", "rotate.idle.ms": "0"})
			s, err := New(cfg, connector.TaskInfo{Connector: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			assigned := map[connector.TopicPartition]int64{}
			for p := range int32(4) {
				assigned[connector.TopicPartition{Topic: "clickstream.enriched", Partition: p}] = 0
			}
			if _, err := s.Open(ctx, assigned); err != nil {
				b.Fatal(err)
			}
			batch := make([]connector.Record, benchBatch)
			offs := [4]int64{}
			n := 0
			b.SetBytes(size / int64(len(values)) * benchBatch)
			b.ReportAllocs()
			for b.Loop() {
				for i := range batch {
					p := (n + i) % 4
					batch[i] = connector.Record{Topic: "clickstream.enriched", Partition: int32(p), Offset: offs[p], Value: values[(n+i)%len(values)]}
					offs[p]++
				}
				n += benchBatch
				if err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
				if n%(20*benchBatch) == 0 {
					if _, err := s.Flush(ctx); err != nil {
						b.Fatal(err)
					}
				}
				if n%(1000*benchBatch) == 0 { // keep the disk use bounded
					b.StopTimer()
					if err := os.RemoveAll(filepath.Join(dir, "topics")); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
