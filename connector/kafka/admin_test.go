package kafka

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/connectd/connectd/connector"
)

func TestAdminTopics(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	a := c.Admin()
	ctx := context.Background()

	if err := a.EnsureTopic(ctx, connector.TopicSpec{Name: "dflt", Partitions: -1, ReplicationFactor: -1}); err != nil {
		t.Fatalf("EnsureTopic with broker defaults: %v", err)
	}
	if err := a.EnsureTopic(ctx, connector.TopicSpec{Name: "two", Partitions: 2, ReplicationFactor: 1, Configs: map[string]string{"cleanup.policy": "compact"}}); err != nil {
		t.Fatal(err)
	}
	// Existing topic: success, left as it is.
	if err := a.EnsureTopic(ctx, connector.TopicSpec{Name: "two", Partitions: 5}); err != nil {
		t.Fatalf("EnsureTopic on an existing topic: %v", err)
	}
	if err := a.EnsureTopic(ctx, connector.TopicSpec{}); err == nil {
		t.Error("EnsureTopic without a name succeeded")
	}
	if err := a.EnsureTopic(ctx, connector.TopicSpec{Name: "rf3", ReplicationFactor: 3}); err == nil || !strings.Contains(err.Error(), "rf3") {
		t.Errorf("EnsureTopic with replication 3 on one broker: err = %v, want one naming the topic", err)
	}

	got, err := a.Partitions(ctx, []string{"two", "missing"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[two-0 two-1]" {
		t.Errorf("Partitions(two, missing) = %v", got)
	}
	got, err = a.Partitions(ctx, []string{"two"}, regexp.MustCompile(`^d|^tw`))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[dflt-0 dflt-1 dflt-2 two-0 two-1]" {
		t.Errorf("Partitions(two, ^d|^tw) = %v, want dflt with the broker's 3 partitions and two", got)
	}
	got, err = a.Partitions(ctx, nil, regexp.MustCompile(`.`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range got {
		if strings.HasPrefix(tp.Topic, "__") {
			t.Errorf("regex matched internal topic %s", tp)
		}
	}
}

func TestAdminOffsets(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	a := c.Admin()
	ctx := context.Background()
	createTopic(t, c, "ev", 2)

	// Partition 0: 10 records one minute apart from t0; partition 1 empty.
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := sarama.NewConfig()
	cfg.Version = protocolVersion()
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "ev", Partition: 0, Value: sarama.StringEncoder("x"), Timestamp: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	tps := []connector.TopicPartition{tp("ev", 0), tp("ev", 1)}

	end, err := a.EndOffsets(ctx, tps)
	if err != nil {
		t.Fatal(err)
	}
	if end[tp("ev", 0)] != 10 || end[tp("ev", 1)] != 0 {
		t.Errorf("EndOffsets = %v", end)
	}
	for _, tc := range []struct {
		at   time.Time
		want int64
	}{
		{t0.Add(-time.Hour), 0},
		{t0, 0},
		{t0.Add(90 * time.Second), 2},
		{t0.Add(9 * time.Minute), 9},
		{t0.Add(time.Hour), 10}, // no record that recent: the end offset
	} {
		got, err := a.OffsetsForTime(ctx, tps, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if got[tp("ev", 0)] != tc.want || got[tp("ev", 1)] != 0 {
			t.Errorf("OffsetsForTime(%v) = %v, want ev-0=%d ev-1=0", tc.at, got, tc.want)
		}
	}

	_, admin, err := c.conn()
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteRecords("ev", map[int32]int64{0: 4}); err != nil {
		t.Fatal(err)
	}
	start, err := a.StartOffsets(ctx, tps)
	if err != nil {
		t.Fatal(err)
	}
	if start[tp("ev", 0)] != 4 || start[tp("ev", 1)] != 0 {
		t.Errorf("StartOffsets after deleting records below 4 = %v", start)
	}
	if _, err := a.EndOffsets(ctx, []connector.TopicPartition{tp("nope", 0)}); err == nil || !strings.Contains(err.Error(), "nope-0") {
		t.Errorf("EndOffsets of a missing topic: err = %v, want one naming nope-0", err)
	}
}

func TestAdminGroupOffsets(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	a := c.Admin()
	ctx := context.Background()
	createTopic(t, c, "ev", 3)

	got, err := a.GroupOffsets(ctx, "connect-none")
	if err != nil || len(got) != 0 {
		t.Fatalf("GroupOffsets of an unknown group = %v, %v; want none", got, err)
	}
	want := map[connector.TopicPartition]int64{tp("ev", 0): 3, tp("ev", 1): 0, tp("ev", 2): 7}
	if err := a.AlterGroupOffsets(ctx, "connect-g", want); err != nil {
		t.Fatal(err)
	}
	got, err = a.GroupOffsets(ctx, "connect-g")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("GroupOffsets = %v, want %v", got, want)
	}
	if err := a.DeleteGroupOffsets(ctx, "connect-g", []connector.TopicPartition{tp("ev", 0), tp("ev", 2)}); err != nil {
		t.Fatal(err)
	}
	got, _ = a.GroupOffsets(ctx, "connect-g")
	if fmt.Sprint(got) != fmt.Sprint(map[connector.TopicPartition]int64{tp("ev", 1): 0}) {
		t.Errorf("after deleting ev-0 and ev-2: GroupOffsets = %v", got)
	}

	// With a live member, Kafka refuses outside commits.
	r := startConsumer(t, c, connector.ConsumerConfig{Group: "connect-g", Topics: []string{"ev"}})
	ev := r.nextKind(t, connector.EventAssigned, 15*time.Second)
	ev.Done(nil)
	if ev.Partitions[tp("ev", 1)] != 0 {
		t.Errorf("member starts ev-1 at %d, want the committed 0", ev.Partitions[tp("ev", 1)])
	}
	err = a.AlterGroupOffsets(ctx, "connect-g", want)
	if err == nil || !strings.Contains(err.Error(), "connect-g") {
		t.Errorf("AlterGroupOffsets on an active group: err = %v, want a refusal naming the group", err)
	}
}
