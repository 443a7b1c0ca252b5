package embedkafka

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/kafka"
)

// TestCompactsCompactedTopics: a topic with cleanup.policy=compact keeps
// only the latest record of each key once the broker has compacted it.
func TestCompactsCompactedTopics(t *testing.T) {
	c := startBroker(t, Config{Addr: "127.0.0.1:0", CompactInterval: 100 * time.Millisecond})
	ctx := context.Background()
	if err := c.Admin().EnsureTopic(ctx, connector.TopicSpec{Name: "state", Partitions: 1, ReplicationFactor: -1, Configs: map[string]string{"cleanup.policy": "compact"}}); err != nil {
		t.Fatal(err)
	}
	com, err := c.NewCommitter(connector.ProducerConfig{TransactionalID: "compact-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer com.Close()
	for round := 0; round < 5; round++ {
		var recs []connector.ProducerRecord
		for k := 0; k < 10; k++ {
			recs = append(recs, connector.ProducerRecord{Topic: "state", Partition: 0, Key: []byte(fmt.Sprint("k", k)), Value: []byte(fmt.Sprint(round))})
		}
		if err := com.Commit(ctx, recs, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, err := c.Reader().ReadAll(ctx, "state")
		if err != nil {
			t.Fatal(err)
		}
		latest := true
		for _, r := range recs {
			latest = latest && string(r.Value) == "4"
		}
		if len(recs) == 10 && latest {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s the compacted topic still holds %d records (want the 10 latest)", len(recs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startBroker starts a broker with cfg and returns a client of it; both
// are closed when the test ends.
func startBroker(t *testing.T, cfg Config) *kafka.Client {
	t.Helper()
	b := start(t, cfg)
	c, err := kafka.NewClient([]string{b.Addr()}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
