package embedkafka

import (
	"context"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
)

// retentionLeft writes 10 records stamped 30 days ago and 10 stamped now
// to a broker with the given retention, waits for a few compaction passes
// and returns how many records the topic still holds.
func retentionLeft(t *testing.T, retention time.Duration) int {
	t.Helper()
	c := startBroker(t, Config{Addr: "127.0.0.1:0", CompactInterval: 50 * time.Millisecond, Retention: retention})
	ctx := context.Background()
	if err := c.Admin().EnsureTopic(ctx, connector.TopicSpec{Name: "events", Partitions: 1, ReplicationFactor: -1}); err != nil {
		t.Fatal(err)
	}
	com, err := c.NewCommitter(connector.ProducerConfig{TransactionalID: "retention-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer com.Close()
	for _, ts := range []time.Time{time.Now().Add(-30 * 24 * time.Hour), time.Now()} {
		var recs []connector.ProducerRecord
		for k := 0; k < 10; k++ {
			recs = append(recs, connector.ProducerRecord{Topic: "events", Partition: 0, Value: []byte("v"), Timestamp: ts})
		}
		if err := com.Commit(ctx, recs, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // ten compaction passes
	recs, err := c.Reader().ReadAll(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

// TestRetentionDefaultDeletesOldRecords: under Kafka's default 7-day
// retention, records stamped a month ago are deleted by the broker's
// periodic pass and recent ones stay; with a negative Retention all stay.
func TestRetentionDefaultDeletesOldRecords(t *testing.T) {
	if n := retentionLeft(t, 0); n != 10 {
		t.Errorf("default retention: %d records left, want the 10 recent ones", n)
	}
	if n := retentionLeft(t, -1); n != 20 {
		t.Errorf("retention forever: %d records left, want all 20", n)
	}
}
