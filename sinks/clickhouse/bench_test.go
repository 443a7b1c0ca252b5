package clickhouse_test

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/testservers"
)

// cpuTime returns the user+system CPU time of this process.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWriteEvents measures click events from records (as the task
// hands them to Write) to rows in ClickHouse over the native protocol,
// with the default batch.size of 100000, four partitions, 1000 records
// per Write and a Flush (that sends partial batches: flush.interval.ms=0)
// every 400 Writes, when each partition holds a full batch. It reports rows/s by wall clock
// and rows per CPU-second of the sink process (decoding, column building,
// the client's encoding; the server is another process).
func BenchmarkWriteEvents(b *testing.B) {
	srv := testservers.StartClickHouse(b)
	for _, protocol := range []string{"native", "http"} {
		b.Run(protocol, func(b *testing.B) {
			ctx := context.Background()
			table := "bench_" + protocol + "_" + strconv.FormatInt(time.Now().UnixNano(), 36)
			s := newSink(b, decode(b, with(serverKeys(srv, protocol), "table", table, "flush.interval.ms", "0")), "bench")
			var tps []connector.TopicPartition
			assigned := map[connector.TopicPartition]int64{}
			for p := range int32(4) {
				tp := connector.TopicPartition{Topic: "bench", Partition: p}
				tps = append(tps, tp)
				assigned[tp] = 0
			}
			if _, err := s.Open(ctx, assigned); err != nil {
				b.Fatal(err)
			}
			const per = 250
			var pool [][]connector.Record
			for i := range 40 {
				var batch []connector.Record
				for _, tp := range tps {
					batch = append(batch, records(tp, int64(i*per), int64(i*per+per))...)
				}
				pool = append(pool, batch)
			}
			next := map[connector.TopicPartition]int64{}
			b.ResetTimer()
			cpu0, t0 := cpuTime(b), time.Now()
			rows := 0
			for i := 0; i < b.N; i++ {
				batch := pool[i%len(pool)]
				for j := range batch { // fresh offsets, same values
					tp := batch[j].TP()
					batch[j].Offset = next[tp]
					next[tp]++
				}
				if err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
				rows += len(batch)
				if i%400 == 399 {
					if _, err := s.Flush(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			if _, err := s.Flush(ctx); err != nil { // sends what is still buffered
				b.Fatal(err)
			}
			wall, cpu := time.Since(t0), cpuTime(b)-cpu0
			b.ReportMetric(float64(rows)/wall.Seconds(), "rows/s")
			b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
		})
	}
}
