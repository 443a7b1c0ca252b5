package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/kafka"
	"github.com/connectd/connectd/sources/generator"
)

// The benchmarks measure the task loops end to end against the embedded
// Kafka: a sink task draining a pre-produced topic into a no-op sink, the
// file sink, and a no-op sink behind the validate transform, and a
// generator source task producing transactionally. Each reports events/s
// (for sinks from the moment the task opens its partitions, when fetching
// starts, to the last record the sink accepts: setup, pre-production and
// the group join do not count; ns/op is timed likewise) and allocs/event
// and B/event (the whole process's heap allocations over the run, divided
// by the events: the in-process broker's share and the join included).
//
// CONNECTD_BENCH_EVENTS sets how many events (default 1,000,000).

// benchEvents is how many events each benchmark moves.
func benchEvents() int {
	if s := os.Getenv("CONNECTD_BENCH_EVENTS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 1_000_000
}

const benchTopic = "bench.clicks"

// benchKafka is one broker for every benchmark of the run, with
// benchTopic pre-produced once: it lives until the process exits.
var benchKafka struct {
	once   sync.Once
	k      *kafkaClient
	n      int
	logger *slog.Logger
	err    error
}

func benchSetup(b *testing.B) (*kafkaClient, int) {
	b.Helper()
	e := &benchKafka
	e.once.Do(func() {
		e.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		broker, err := newBroker(e.logger) // lives until the process exits
		if err != nil {
			e.err = err
			return
		}
		c, err := kafka.NewClient([]string{broker.Addr()}, e.logger)
		if err != nil {
			e.err = err
			return
		}
		e.k, e.n = &kafkaClient{c}, benchEvents()
		start := time.Now()
		opts := generator.Options{Seed: 1, Users: 10_000, Start: genStart, EventsPerSecond: 1000}
		if _, e.err = produce(e.k, benchTopic, 4, opts, e.n, 20_000, false); e.err != nil {
			return
		}
		fmt.Fprintf(os.Stderr, "bench: produced %d generator events to %s (4 partitions) in %v\n", e.n, benchTopic, time.Since(start).Round(time.Millisecond))
	})
	if e.err != nil {
		b.Fatal(e.err)
	}
	return e.k, e.n
}

// memDelta is the process's heap allocations between two points.
type memDelta struct{ mallocs, bytes uint64 }

// newBenchSinkTask builds a sink task of connector name from kv, with its
// consumer and transactional committer (returned for closing).
func newBenchSinkTask(b *testing.B, k *kafkaClient, reg *connector.Registry, name string, kv map[string]string, m *connector.TaskMetrics) (*connector.SinkTask, connector.Committer) {
	b.Helper()
	cfg, err := reg.Parse(name, kv)
	if err != nil {
		b.Fatal(err)
	}
	cons, err := k.NewConsumer(connector.ConsumerConfig{Group: cfg.Group(), Topics: cfg.Sink.Topics, ClientID: name, InstanceID: name, Overrides: cfg.Consumer})
	if err != nil {
		b.Fatal(err)
	}
	cm, err := k.NewCommitter(connector.ProducerConfig{TransactionalID: name, ClientID: name, Overrides: cfg.Producer})
	if err != nil {
		b.Fatal(err)
	}
	task, err := connector.NewSinkTask(connector.SinkTaskParams{Config: cfg, Consumer: cons, Committer: cm, Admin: k.Admin(), Reader: k.Reader(), Logger: benchKafka.logger, Metrics: m})
	if err != nil {
		b.Fatal(err)
	}
	return task, cm
}

// report gives the figures of a benchmark that moved events in busy time.
func (m memDelta) report(b *testing.B, events float64, busy time.Duration) {
	b.ReportMetric(events/busy.Seconds(), "events/s")
	b.ReportMetric(float64(m.mallocs)/events, "allocs/event")
	b.ReportMetric(float64(m.bytes)/events, "B/event")
}

func readMem() memDelta {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memDelta{ms.Mallocs, ms.TotalAlloc}
}

// benchSinkTask drains benchTopic with a sink task, once per iteration
// under a new group, and reports events/s and allocations per event. sink
// returns, for each iteration, a registry, the connector's config and a
// progress function: how many records the sink accepted, when it opened
// its first partitions and when it accepted the last record.
func benchSinkTask(b *testing.B, sink func() (*connector.Registry, map[string]string, func() (int64, time.Time, time.Time))) {
	b.StopTimer()
	k, n := benchSetup(b)
	var busy time.Duration
	var mem memDelta
	for i := 0; i < b.N; i++ {
		reg, kv, progress := sink()
		name := fmt.Sprintf("bench-%s-%d-%d", kv["connector.class"], time.Now().UnixNano(), i)
		m := &connector.TaskMetrics{}
		task, cm := newBenchSinkTask(b, k, reg, name, kv, m)
		if before, _, _ := progress(); before != 0 {
			b.Fatal("the sink's counters are not fresh")
		}
		runtime.GC()
		m0 := readMem()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- task.Run(ctx) }()
		deadline := time.Now().Add(10 * time.Minute)
		started := false
		for {
			got, opened, _ := progress()
			if !started && !opened.IsZero() {
				b.StartTimer()
				started = true
			}
			if got >= int64(n) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the sink accepted %d of %d events in 10 minutes; metrics consumed %d written %d", got, n, m.Consumed.Load(), m.Written.Load())
			}
			select {
			case err := <-done:
				b.Fatalf("sink task ended after %d of %d events: %v", got, n, err)
			case <-time.After(time.Millisecond):
			}
		}
		b.StopTimer()
		m1 := readMem()
		_, first, last := progress()
		busy += last.Sub(first)
		mem.mallocs += m1.mallocs - m0.mallocs
		mem.bytes += m1.bytes - m0.bytes
		cancel()
		if err := <-done; err != nil {
			b.Fatalf("sink task: %v", err)
		}
		_ = cm.Close()
	}
	mem.report(b, float64(n)*float64(b.N), busy)
}

// BenchmarkConsumerBaseline drains benchTopic with the adapter's Consumer
// alone (Poll, no task): the ceiling the sink task loop is measured
// against, on the same events in the same process.
func BenchmarkConsumerBaseline(b *testing.B) {
	b.StopTimer()
	k, n := benchSetup(b)
	var busy time.Duration
	for i := 0; i < b.N; i++ {
		group := fmt.Sprintf("bench-baseline-%d-%d", time.Now().UnixNano(), i)
		cons, err := k.NewConsumer(connector.ConsumerConfig{Group: group, Topics: []string{benchTopic}, ClientID: group, InstanceID: group})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- cons.Run(ctx) }()
		var start time.Time
		got := 0
		deadline := time.Now().Add(10 * time.Minute)
		for got < n {
			ev, ok, err := cons.Poll(context.Background(), time.Second)
			if err != nil {
				b.Fatal(err)
			}
			if time.Now().After(deadline) {
				b.Fatalf("drained %d of %d records in 10 minutes", got, n)
			}
			if !ok {
				continue
			}
			switch ev.Kind {
			case connector.EventAssigned:
				start = time.Now()
				b.StartTimer()
				ev.Done(nil)
			case connector.EventRevoked:
				ev.Done(nil)
			case connector.EventRecords:
				got += len(ev.Records)
			}
		}
		b.StopTimer()
		busy += time.Since(start)
		cancel()
		for stopped := false; !stopped; {
			select {
			case <-done:
				stopped = true
			default:
				if ev, ok, err := cons.Poll(context.Background(), 10*time.Millisecond); err == nil && ok && ev.Done != nil {
					ev.Done(nil)
				}
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/busy.Seconds(), "events/s")
}

// BenchmarkSinkTaskNop measures the sink task loop alone: consume,
// JsonConverter check, Write to a sink that does nothing, periodic
// commits.
func BenchmarkSinkTaskNop(b *testing.B) {
	benchSinkTask(b, func() (*connector.Registry, map[string]string, func() (int64, time.Time, time.Time)) {
		c := &nopCount{}
		return newRegistry(b, nopPlugin(c)), map[string]string{"connector.class": "nop", "topics": benchTopic}, c.get
	})
}

// BenchmarkSinkTaskFile measures the loop with the file sink
// (flush.size 10000, file.fsync true).
func BenchmarkSinkTaskFile(b *testing.B) {
	benchSinkTask(b, func() (*connector.Registry, map[string]string, func() (int64, time.Time, time.Time)) {
		h := newHooks()
		return newRegistry(b, hookedPlugin(h)), map[string]string{
			"connector.class": "hooked",
			"topics":          benchTopic,
			"file.dir":        filepath.Join(b.TempDir(), "files"),
			"flush.size":      "10000",
		}, h.progress
	})
}

// BenchmarkSinkTaskValidate measures the loop with the validate
// transform in front of the no-op sink.
func BenchmarkSinkTaskValidate(b *testing.B) {
	benchSinkTask(b, func() (*connector.Registry, map[string]string, func() (int64, time.Time, time.Time)) {
		c := &nopCount{}
		return newRegistry(b, nopPlugin(c)), map[string]string{
			"connector.class":          "nop",
			"topics":                   benchTopic,
			"transforms":               "validate",
			"transforms.validate.type": "validate",
		}, c.get
	})
}

// BenchmarkSourceTaskGenerator measures a generator source task producing
// events as fast as it can, in transactions of 20,000, from Run to the
// last one committed.
func BenchmarkSourceTaskGenerator(b *testing.B) {
	b.StopTimer()
	k, _ := benchSetup(b)
	n := benchEvents()
	reg := newRegistry(b)
	var busy time.Duration
	var mem memDelta
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench-gen-%d-%d", time.Now().UnixNano(), i)
		cfg, err := reg.Parse(name, map[string]string{
			"connector.class":                   "generator",
			"topic":                             "bench.generated",
			"max.events":                        strconv.Itoa(n),
			"events.per.second":                 "0",
			"users":                             "10000",
			"start.time":                        genStart.Format(time.RFC3339),
			"topic.creation.default.partitions": "4",
		})
		if err != nil {
			b.Fatal(err)
		}
		cm, err := k.NewCommitter(connector.ProducerConfig{TransactionalID: name, ClientID: name, Overrides: cfg.Producer})
		if err != nil {
			b.Fatal(err)
		}
		m := &connector.TaskMetrics{}
		task, err := connector.NewSourceTask(connector.SourceTaskParams{Config: cfg, Committer: cm, Admin: k.Admin(), Reader: k.Reader(), Logger: benchKafka.logger, Metrics: m})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		m0 := readMem()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		b.StartTimer()
		go func() { done <- task.Run(ctx) }()
		for m.Produced.Load() < int64(n) {
			select {
			case err := <-done:
				b.Fatalf("source task ended after %d of %d events: %v", m.Produced.Load(), n, err)
			case <-time.After(time.Millisecond):
			}
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("the source produced %d of %d events in 10 minutes", m.Produced.Load(), n)
			}
		}
		b.StopTimer()
		busy += time.Since(start)
		m1 := readMem()
		mem.mallocs += m1.mallocs - m0.mallocs
		mem.bytes += m1.bytes - m0.bytes
		cancel()
		if err := <-done; err != nil {
			b.Fatalf("source task: %v", err)
		}
		_ = cm.Close()
	}
	mem.report(b, float64(n)*float64(b.N), busy)
}
