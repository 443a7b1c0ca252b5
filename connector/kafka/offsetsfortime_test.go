package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
)

// TestOffsetsForTimeSkipsTransactionMarkers: records carrying old event
// times written in several transactions leave commit markers stamped with
// the wall clock between them. A backfill to an event time must land on the
// first record at or after it, not on a marker.
func TestOffsetsForTimeSkipsTransactionMarkers(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "events", 1)
	com, err := c.NewCommitter(connector.ProducerConfig{TransactionalID: "oft-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer com.Close()
	base := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	// 5 transactions of 10 records, one second of event time apart each.
	for txn := 0; txn < 5; txn++ {
		var recs []connector.ProducerRecord
		for i := 0; i < 10; i++ {
			n := txn*10 + i
			recs = append(recs, connector.ProducerRecord{Topic: "events", Partition: 0, Value: []byte(fmt.Sprint(n)), Timestamp: base.Add(time.Duration(n) * time.Second)})
		}
		if err := com.Commit(context.Background(), recs, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Record n sits at offset n + (n/10): one marker after each 10 records.
	tps := []connector.TopicPartition{tp("events", 0)}
	for _, c0 := range []struct {
		at   time.Duration
		want int64
	}{
		{0, 0},
		{25 * time.Second, 25 + 2},
		{25*time.Second + time.Millisecond, 26 + 2},
		{40 * time.Second, 40 + 4},
		{49 * time.Second, 49 + 4},
		{time.Hour, 55}, // past the last record: the end offset
	} {
		got, err := c.Admin().OffsetsForTime(context.Background(), tps, base.Add(c0.at))
		if err != nil {
			t.Fatal(err)
		}
		if got[tps[0]] != c0.want {
			t.Errorf("OffsetsForTime(+%s) = %d, want %d", c0.at, got[tps[0]], c0.want)
		}
	}
}
