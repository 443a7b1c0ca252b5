package iceberg_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/sinks/iceberg"
)

// BenchmarkWriteCommit measures the whole path of an event on one task:
// decode, Arrow columns, Parquet data files and the catalog commit with
// the offsets, on a file:// warehouse, committing every commit.records
// events (one sub-benchmark per commit size). It reports events/s per
// core (events/s divided by GOMAXPROCS: iceberg-go writes Parquet in
// worker goroutines), the bytes of data files per event and the data
// files per commit.
func BenchmarkWriteCommit(b *testing.B) {
	const batch = 1000
	for _, per := range []int{20_000, 200_000} {
		b.Run("commit="+strconv.Itoa(per), func(b *testing.B) {
			raw := fileWarehouse(b)
			raw["iceberg.tables"] = events
			raw["iceberg.tables.auto-create-enabled"] = "true"
			raw["iceberg.control.commit.interval-ms"] = "3600000"
			raw["iceberg.control.commit.records"] = strconv.Itoa(per)
			cfg := decode(b, raw)
			s, err := iceberg.New(cfg, connector.TaskInfo{Connector: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Stop(context.Background())
			ctx := context.Background()
			tps := []connector.TopicPartition{tp(0), tp(1), tp(2), tp(3)}
			assigned := map[connector.TopicPartition]int64{}
			for _, p := range tps {
				assigned[p] = 0
			}
			if _, err := s.Open(ctx, assigned); err != nil {
				b.Fatal(err)
			}
			// Values prepared up front: the benchmark measures the sink.
			const distinct = 50_000
			values := make([][]byte, distinct)
			var valueBytes int64
			for i := range values {
				values[i] = sinktest.DefaultValue(tps[i%4], int64(i))
				valueBytes += int64(len(values[i]))
			}
			recs := make([]connector.Record, batch)
			next := make([]int64, 4)
			b.SetBytes(valueBytes / distinct)
			b.ResetTimer()
			start := time.Now()
			for n := 0; n < b.N; n += batch {
				m := min(batch, b.N-n)
				for i := 0; i < m; i++ {
					k := (n + i) % 4
					recs[i] = connector.Record{Topic: tps[k].Topic, Partition: tps[k].Partition, Offset: next[k], Value: values[(n+i)%distinct]}
					next[k]++
				}
				if err := s.Write(ctx, recs[:m]); err != nil {
					b.Fatal(err)
				}
			}
			// The last partial commit counts: force it.
			cfg.CommitInterval = 0
			if _, err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			files := dataFiles(b, cfg.Warehouse)
			var size int64
			for _, f := range files {
				st, err := os.Stat(f)
				if err != nil {
					b.Fatal(err)
				}
				size += st.Size()
			}
			commits := (b.N + per - 1) / per
			b.ReportMetric(float64(b.N)/elapsed.Seconds()/float64(runtime.GOMAXPROCS(0)), "events/s/core")
			b.ReportMetric(float64(size)/float64(b.N), "file-bytes/event")
			b.ReportMetric(float64(len(files))/float64(commits), "files/commit")
		})
	}
}
