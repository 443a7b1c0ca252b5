package embedkafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Metadata.Retry.Backoff = 20 * time.Millisecond
	return cfg
}

func start(t *testing.T, cfg Config) *Broker {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// readAll reads every record of topic's partitions up to their high
// watermarks, as "partition/offset=value".
func readAll(t *testing.T, addr, topic string) []string {
	t.Helper()
	client, err := sarama.NewClient([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range parts {
		hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if hwm == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for m := range pc.Messages() {
			out = append(out, fmt.Sprintf("%d/%d=%s", m.Partition, m.Offset, m.Value))
			if m.Offset+1 >= hwm {
				break
			}
		}
		pc.Close()
	}
	return out
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b1 := start(t, Config{DataDir: dir, Addr: "127.0.0.1:0"})
	addr := b1.Addr()
	if addr == "" || addr == "127.0.0.1:0" {
		t.Fatalf("Addr() = %q, want the real listen address", addr)
	}

	admin, err := sarama.NewClusterAdmin([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateTopic("clicks", &sarama.TopicDetail{NumPartitions: -1, ReplicationFactor: -1}, false); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	meta, err := admin.DescribeTopics([]string{"clicks"})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(meta[0].Partitions); got != DefaultPartitions {
		t.Errorf("topic created with -1 partitions has %d partitions, want %d", got, DefaultPartitions)
	}
	admin.Close()

	producer, err := sarama.NewSyncProducer([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 10 {
		p := int32(i % 2)
		_, off, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "clicks", Partition: p, Value: sarama.StringEncoder(fmt.Sprint("v", i))})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%d/%d=v%d", p, off, i))
	}
	producer.Close()
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}

	// The same directory on a new port: everything is still there.
	b2 := start(t, Config{DataDir: dir, Addr: "127.0.0.1:0"})
	got := readAll(t, b2.Addr(), "clicks")
	if fmt.Sprint(sortedCopy(got)) != fmt.Sprint(sortedCopy(want)) {
		t.Errorf("after restart read %v, want %v", got, want)
	}
}

func TestTopicsAreNotAutoCreated(t *testing.T) {
	b := start(t, Config{Addr: "127.0.0.1:0"})
	cfg := saramaConfig()
	cfg.Metadata.Retry.Max = 1
	producer, err := sarama.NewSyncProducer([]string{b.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	_, _, err = producer.SendMessage(&sarama.ProducerMessage{Topic: "missing", Value: sarama.StringEncoder("x")})
	if !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		t.Fatalf("producing to a missing topic: err = %v, want UNKNOWN_TOPIC_OR_PARTITION (no auto-creation)", err)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	b, err := New(Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Addr() != "" {
		t.Fatalf("Addr() before Start = %q, want empty: New must not start anything", b.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for b.Addr() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	client, err := sarama.NewClient([]string{b.Addr()}, saramaConfig())
	if err != nil {
		t.Fatalf("connect to running broker: %v", err)
	}
	client.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if err := b.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Run returned: err = %v, want ErrClosed", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{{Addr: "no-port"}, {DefaultPartitions: -2}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error, want one", cfg)
		}
	}
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }
