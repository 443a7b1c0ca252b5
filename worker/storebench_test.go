package worker_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/testservers"
	"github.com/connectd/connectd/sinks/clickhouse"
	"github.com/connectd/connectd/sinks/iceberg"
	"github.com/connectd/connectd/sinks/s3"
)

// The store benchmarks run a sink task from the embedded Kafka into a real
// store — ClickHouse (libchdb, on the same two cores), S3's layout as
// Parquet on a local directory, an Iceberg table on a file:// warehouse —
// and count a record only once the sink's Flush reported it durable, so
// their events/s are Kafka-to-store figures, with everything the loop
// does in between (consume, JSON check, decode, encode, write, commit).

// durableCount counts the records a sink reported durable.
type durableCount struct {
	mu       sync.Mutex
	durable  int64
	openedAt time.Time
	last     time.Time
}

// progress is a benchSinkTask progress function over durable records.
func (c *durableCount) progress() (int64, time.Time, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.durable, c.openedAt, c.last
}

// durablePlugin wraps p's sink so that c learns what each Flush made
// durable.
func durablePlugin(p connector.Plugin, c *durableCount) connector.Plugin {
	base := p.NewSink
	p.Class, p.Aliases = p.Class+".Durable", nil
	p.NewSink = func(cfg any, info connector.TaskInfo) (connector.Sink, error) {
		s, err := base(cfg, info)
		if err != nil {
			return nil, err
		}
		return &durableSink{Sink: s, c: c, at: map[connector.TopicPartition]int64{}}, nil
	}
	return p
}

// durableSink is a Sink whose Open and Flush report to a durableCount.
type durableSink struct {
	connector.Sink
	c  *durableCount
	at map[connector.TopicPartition]int64
}

func (s *durableSink) Open(ctx context.Context, assigned map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	resume, err := s.Sink.Open(ctx, assigned)
	if err != nil {
		return nil, err
	}
	for tp, off := range assigned {
		if r, ok := resume[tp]; ok {
			off = r
		}
		s.at[tp] = off
	}
	s.c.mu.Lock()
	if s.c.openedAt.IsZero() && len(assigned) > 0 {
		s.c.openedAt = time.Now()
	}
	s.c.mu.Unlock()
	return resume, nil
}

func (s *durableSink) Flush(ctx context.Context) (map[connector.TopicPartition]int64, error) {
	offs, err := s.Sink.Flush(ctx)
	if err != nil {
		return nil, err
	}
	var n int64
	for tp, off := range offs {
		n += off - s.at[tp]
		s.at[tp] = off
	}
	if n > 0 {
		s.c.mu.Lock()
		s.c.durable += n
		s.c.last = time.Now()
		s.c.mu.Unlock()
	}
	return offs, nil
}

// benchStore runs benchSinkTask with the sink of p wrapped by
// durablePlugin, kv(i) giving the connector config of iteration i (a new
// table or directory each time, so no iteration resumes after another).
func benchStore(b *testing.B, p connector.Plugin, kv func(i int) map[string]string) {
	i := 0
	benchSinkTask(b, func() (*connector.Registry, map[string]string, func() (int64, time.Time, time.Time)) {
		c := &durableCount{}
		dp := durablePlugin(p, c)
		cfg := kv(i)
		i++
		cfg["connector.class"] = dp.Class
		cfg["topics"] = benchTopic
		cfg["offset.flush.interval.ms"] = "100"
		return newRegistry(b, dp), cfg, c.progress
	})
}

// BenchmarkSinkTaskClickHouse measures Kafka to ClickHouse over the native
// protocol (batch.size 100000, the default; partial batches sent after
// 500 ms): events/s are rows durable in the events table.
func BenchmarkSinkTaskClickHouse(b *testing.B) {
	ch := testservers.StartClickHouse(b)
	benchStore(b, clickhouse.Plugin(), func(i int) map[string]string {
		return map[string]string{
			"hostname": "127.0.0.1",
			"port":     strconv.Itoa(ch.NativePort),
			"table":    fmt.Sprintf("bench_events_%d_%d", time.Now().UnixNano(), i),
			// The partitions' last partial batches go at the next flush
			// after this, not after the default 10 s.
			"flush.interval.ms": "500",
		}
	})
}

// BenchmarkSinkTaskS3Parquet measures Kafka to Parquet files in the S3
// sink's layout on a local directory (store.url file://, fsync per file),
// snappy, 100,000 records per file (partial files closed 500 ms after the
// last record, by the wall-clock idle rule).
func BenchmarkSinkTaskS3Parquet(b *testing.B) {
	benchStore(b, s3.Plugin(), func(i int) map[string]string {
		return map[string]string{
			"s3.bucket.name": "bench",
			"store.url":      "file://" + filepath.Join(b.TempDir(), "s3"),
			"format.class":   "parquet",
			"flush.size":     "100000",
			// The partitions' last partial files close 500 ms after the
			// last record, not after the default 60 s.
			"rotate.idle.ms": "500",
		}
	})
}

// BenchmarkSinkTaskIceberg measures Kafka to an Iceberg table on a
// file:// warehouse with a SQLite catalog, a commit per 200,000 records or
// 500 ms.
func BenchmarkSinkTaskIceberg(b *testing.B) {
	benchStore(b, iceberg.Plugin(), func(i int) map[string]string {
		dir := b.TempDir()
		return map[string]string{
			"iceberg.tables":                     "bench.events",
			"iceberg.tables.auto-create-enabled": "true",
			"iceberg.control.commit.records":     "200000",
			"iceberg.control.commit.interval-ms": "500",
			"iceberg.catalog.uri":                filepath.Join(dir, "catalog.db"),
			"iceberg.catalog.warehouse":          filepath.Join(dir, "warehouse"),
		}
	})
}
