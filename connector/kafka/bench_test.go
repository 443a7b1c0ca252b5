package kafka

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/connectd/connectd/connector"
)

// benchRecords is how many records BenchmarkConsume drains per iteration;
// CONNECTD_BENCH_RECORDS overrides it.
func benchRecords() int {
	if s := os.Getenv("CONNECTD_BENCH_RECORDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 1_000_000
}

// clickJSON returns a ~400-byte click event.
func clickJSON(i int) []byte {
	return fmt.Appendf(nil, `{"event_id":"%08d-7c1e-4b7a-9d2f-3a6c5e8b1f04","type":"page_view","timestamp":"2025-03-01T12:%02d:%02d.%03dZ",`+
		`"user_id":"u-%06d","session_id":"s-%06d","page":"/products/category/item-%05d","referrer":"https://www.example.com/search?q=shoes",`+
		`"device":"mobile","browser":"Firefox","os":"Android","country":"DE","city":"Berlin","duration_ms":%d,"revenue":0,`+
		`"user_agent":"Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"}`,
		i, i/60%60, i%60, i%1000, i%50000, i%20000, i%30000, i%9000)
}

// preProduce writes n click events round-robin over the topic's 4
// partitions as fast as sarama allows.
func preProduce(b *testing.B, addr, topic string, n int) {
	b.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = protocolVersion()
	cfg.Producer.Partitioner = sarama.NewRoundRobinPartitioner
	cfg.Producer.RequiredAcks = sarama.WaitForLocal
	cfg.Producer.Return.Successes = false
	cfg.Producer.Flush.Bytes = 1 << 20
	cfg.Producer.Flush.Frequency = 10 * time.Millisecond
	cfg.Producer.MaxMessageBytes = 1 << 20
	cfg.ChannelBufferSize = 8192
	p, err := sarama.NewAsyncProducer([]string{addr}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	wg.Go(func() {
		for range p.Errors() {
			failed.Add(1)
		}
	})
	for i := range n {
		p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(strconv.Itoa(i % 50000)), Value: sarama.ByteEncoder(clickJSON(i))}
	}
	p.AsyncClose()
	wg.Wait()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d records failed to produce", f)
	}
}

// BenchmarkConsume drains a 4-partition topic of ~400-byte JSON records
// with a raw sarama consumer group and with the Consumer adapter (Poll),
// both with the adapter's sarama settings. events/s is measured from the
// first record to the last, so group joins do not count.
func BenchmarkConsume(b *testing.B) {
	addr := newCluster(b)
	c := newTestClient(b, addr)
	createTopic(b, c, "bench", 4)
	n := benchRecords()
	start := time.Now()
	preProduce(b, addr, "bench", n)
	b.Logf("produced %d records in %v", n, time.Since(start))
	// Warm up (the broker's first read of the log, heap growth) untimed.
	warm := connector.ConsumerConfig{Topics: []string{"bench"}, Overrides: testOverrides()}
	drainRaw(b, c, warm, "warm-up", n)
	ccfg := connector.ConsumerConfig{Group: "g", Topics: []string{"bench"}, Overrides: testOverrides()}
	group := 0

	b.Run("sarama", func(b *testing.B) {
		var busy time.Duration
		for b.Loop() {
			group++
			busy += drainRaw(b, c, ccfg, fmt.Sprint("raw-", group), n)
		}
		b.ReportMetric(float64(n)*float64(b.N)/busy.Seconds(), "events/s")
	})
	b.Run("adapter", func(b *testing.B) {
		var busy time.Duration
		for b.Loop() {
			group++
			busy += drainAdapter(b, c, ccfg, fmt.Sprint("adapter-", group), n)
		}
		b.ReportMetric(float64(n)*float64(b.N)/busy.Seconds(), "events/s")
	})
}

// rawHandler counts messages.
type rawHandler struct {
	n     int64
	count atomic.Int64
	first sync.Once
	start time.Time
	done  chan struct{}
}

func (h *rawHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *rawHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *rawHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			_ = m
			h.first.Do(func() { h.start = time.Now() })
			if h.count.Add(1) == h.n {
				close(h.done)
			}
		case <-sess.Context().Done():
			return nil
		}
	}
}

func drainRaw(b *testing.B, c *Client, ccfg connector.ConsumerConfig, group string, n int) time.Duration {
	ccfg.Group = group
	scfg, err := c.consumerConfig(ccfg, withDefaults(ccfg.Overrides))
	if err != nil {
		b.Fatal(err)
	}
	cg, err := sarama.NewConsumerGroup(c.brokers, group, scfg)
	if err != nil {
		b.Fatal(err)
	}
	defer cg.Close()
	h := &rawHandler{n: int64(n), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			_ = cg.Consume(ctx, ccfg.Topics, h)
		}
	}()
	select {
	case <-h.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("raw consumer drained %d of %d records", h.count.Load(), n)
	}
	return time.Since(h.start)
}

func drainAdapter(b *testing.B, c *Client, ccfg connector.ConsumerConfig, group string, n int) time.Duration {
	ccfg.Group = group
	cons, err := c.NewConsumer(ccfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	defer func() {
		cancel()
		for {
			select {
			case <-done:
				return
			default:
			}
			if ev, ok, err := cons.Poll(context.Background(), 10*time.Millisecond); err == nil && ok && ev.Done != nil {
				ev.Done(nil)
			}
		}
	}()
	var start time.Time
	got := 0
	deadline := time.Now().Add(5 * time.Minute)
	for got < n {
		ev, ok, err := cons.Poll(context.Background(), time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if time.Now().After(deadline) {
			b.Fatalf("adapter drained %d of %d records", got, n)
		}
		if !ok {
			continue
		}
		switch ev.Kind {
		case connector.EventAssigned, connector.EventRevoked:
			ev.Done(nil)
		case connector.EventRecords:
			if got == 0 {
				start = time.Now()
			}
			got += len(ev.Records)
		}
	}
	return time.Since(start)
}

// BenchmarkCommit commits transactions of 20,000 keyed ~400-byte records
// (a source task's default transaction.boundary.max.records) to a
// 4-partition topic.
func BenchmarkCommit(b *testing.B) {
	addr := newCluster(b)
	c := newTestClient(b, addr)
	createTopic(b, c, "bench-out", 4)
	cm, err := c.NewCommitter(connector.ProducerConfig{TransactionalID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer cm.Close()
	const n = 20_000
	recs := make([]connector.ProducerRecord, n)
	for i := range recs {
		recs[i] = connector.ProducerRecord{Topic: "bench-out", Partition: -1, Key: []byte(strconv.Itoa(i % 50000)), Value: clickJSON(i)}
	}
	ctx := context.Background()
	for b.Loop() {
		if err := cm.Commit(ctx, recs, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
