package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/connectd/connectd/connector"
)

// newCluster starts an in-process Kafka (kfake) on a free port and returns
// its bootstrap address.
func newCluster(t testing.TB, opts ...kfake.Opt) string {
	t.Helper()
	return newFakeCluster(t, opts...).ListenAddrs()[0]
}

// newFakeCluster is newCluster for tests that inject faults.
func newFakeCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.DefaultNumPartitions(3)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func newTestClient(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := NewClient([]string{addr}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func createTopic(t testing.TB, c *Client, name string, partitions int32) {
	t.Helper()
	if err := c.Admin().EnsureTopic(context.Background(), connector.TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: -1}); err != nil {
		t.Fatal(err)
	}
}

// produce writes n records "<topic>-<i>" round-robin over partitions with
// a plain (non-transactional) producer.
func produce(t testing.TB, addr, topic string, partitions int32, n int) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = protocolVersion()
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Partition: int32(i) % partitions, Key: sarama.StringEncoder(fmt.Sprint("k", i)), Value: sarama.StringEncoder(fmt.Sprintf("%s-%d", topic, i))}
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
}

// testOverrides are consumer settings for fast rebalances.
func testOverrides() connector.ConsumerOverrides {
	return connector.ConsumerOverrides{
		HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		MaxPollInterval:   10 * time.Second,
		FetchMaxWait:      50 * time.Millisecond,
	}
}

// running is a Consumer whose Run goroutine the test owns.
type running struct {
	*Consumer
	cancel context.CancelFunc
	done   chan error
}

func startConsumer(t testing.TB, c *Client, cfg connector.ConsumerConfig) *running {
	t.Helper()
	if cfg.Overrides == (connector.ConsumerOverrides{}) {
		cfg.Overrides = testOverrides()
	}
	cons, err := c.NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Consumer: cons.(*Consumer), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- r.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run, acknowledging events until it returns.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("consumer Run returned %v", err)
			}
			r.done <- nil // later stops return at once
			return
		case <-deadline:
			t.Fatal("consumer Run did not return within 20s of cancel")
		default:
		}
		ev, ok, err := r.Poll(context.Background(), 20*time.Millisecond)
		if err != nil && !errors.Is(err, connector.ErrConsumerClosed) {
			t.Errorf("Poll while stopping: %v", err)
		}
		if ok && ev.Done != nil {
			ev.Done(nil)
		}
	}
}

// next polls until an event arrives, failing the test after timeout.
func (r *running) next(t testing.TB, timeout time.Duration) connector.ConsumerEvent {
	t.Helper()
	ev, ok, err := r.Poll(context.Background(), timeout)
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	if !ok {
		t.Fatalf("no consumer event within %v", timeout)
	}
	return ev
}

// nextKind polls for an event of kind k, failing on any other kind.
func (r *running) nextKind(t testing.TB, k connector.EventKind, timeout time.Duration) connector.ConsumerEvent {
	t.Helper()
	ev := r.next(t, timeout)
	if ev.Kind != k {
		t.Fatalf("got event kind %v (%d records, partitions %v), want %v", ev.Kind, len(ev.Records), ev.Partitions, k)
	}
	return ev
}

// records polls record events until n records arrived, checking that each
// batch is one partition and offsets only grow (they skip transaction
// markers and aborted records).
func (r *running) records(t testing.TB, n int, timeout time.Duration) []connector.Record {
	t.Helper()
	var out []connector.Record
	next := map[connector.TopicPartition]int64{}
	deadline := time.Now().Add(timeout)
	for len(out) < n {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("got %d records within %v, want %d", len(out), timeout, n)
		}
		ev := r.nextKind(t, connector.EventRecords, left)
		if len(ev.Records) == 0 {
			t.Fatal("empty record batch")
		}
		tp := ev.Records[0].TP()
		for _, rec := range ev.Records {
			if rec.TP() != tp {
				t.Fatalf("batch mixes partitions %s and %s", tp, rec.TP())
			}
			if min, seen := next[tp]; seen && rec.Offset < min {
				t.Fatalf("%s: offset %d follows %d", tp, rec.Offset, min-1)
			}
			next[tp] = rec.Offset + 1
		}
		out = append(out, ev.Records...)
	}
	return out
}

func tp(topic string, p int32) connector.TopicPartition {
	return connector.TopicPartition{Topic: topic, Partition: p}
}
