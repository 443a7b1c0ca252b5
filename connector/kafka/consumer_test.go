package kafka

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
)

func TestConsumerDeliversAssignedThenRecords(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "clicks", 2)
	produce(t, addr, "clicks", 2, 20)

	r := startConsumer(t, c, connector.ConsumerConfig{Group: "connect-a", Topics: []string{"clicks"}})
	ev := r.nextKind(t, connector.EventAssigned, 15*time.Second)
	if ev.Generation.GroupID != "connect-a" || ev.Generation.MemberID == "" || ev.Generation.GenerationID < 1 {
		t.Errorf("assigned generation = %+v, want group connect-a, a member id and a generation ≥ 1", ev.Generation)
	}
	want := map[connector.TopicPartition]int64{tp("clicks", 0): 0, tp("clicks", 1): 0}
	if fmt.Sprint(ev.Partitions) != fmt.Sprint(want) {
		t.Errorf("assigned partitions = %v, want %v", ev.Partitions, want)
	}
	// Nothing is delivered before Done.
	if early, ok, _ := r.Poll(context.Background(), 300*time.Millisecond); ok {
		t.Fatalf("event %v before the assignment was acknowledged", early.Kind)
	}
	ev.Done(nil)
	ev.Done(nil) // a second call is harmless

	recs := r.records(t, 20, 10*time.Second)
	got := map[connector.TopicPartition][]string{}
	for _, rec := range recs {
		got[rec.TP()] = append(got[rec.TP()], string(rec.Value))
		if rec.Timestamp.IsZero() || rec.Key == nil {
			t.Errorf("record %s/%d lacks key or timestamp", rec.TP(), rec.Offset)
		}
	}
	if len(got[tp("clicks", 0)]) != 10 || got[tp("clicks", 0)][0] != "clicks-0" || got[tp("clicks", 1)][9] != "clicks-19" {
		t.Errorf("records by partition = %v", got)
	}
	if ev, ok, _ := r.Poll(context.Background(), 200*time.Millisecond); ok {
		t.Errorf("unexpected event %v after all records (%d records)", ev.Kind, len(ev.Records))
	}
}

func TestConsumerStartsAtCommittedOffsetAndSeeks(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "clicks", 1)
	produce(t, addr, "clicks", 1, 10)
	p0 := tp("clicks", 0)

	for _, tc := range []struct {
		name      string
		committed int64 // -1: none
		reset     string
		seek      map[connector.TopicPartition]int64
		assigned  int64
		first     int64
	}{
		{"committed", 5, "", nil, 5, 5},
		{"seek forward", 5, "", map[connector.TopicPartition]int64{p0: 8}, 5, 8},
		{"seek backward", 5, "", map[connector.TopicPartition]int64{p0: 2}, 5, 2},
		{"no commit earliest", -1, "earliest", nil, 0, 0},
		{"no commit latest then seek", -1, "latest", map[connector.TopicPartition]int64{p0: 9}, 10, 9},
		{"committed past the end resets", 50, "earliest", nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			group := "connect-" + regexp.MustCompile(`\W`).ReplaceAllString(tc.name, "-")
			if tc.committed >= 0 {
				if err := c.Admin().AlterGroupOffsets(context.Background(), group, map[connector.TopicPartition]int64{p0: tc.committed}); err != nil {
					t.Fatal(err)
				}
			}
			o := testOverrides()
			o.AutoOffsetReset = tc.reset
			r := startConsumer(t, c, connector.ConsumerConfig{Group: group, Topics: []string{"clicks"}, Overrides: o})
			ev := r.nextKind(t, connector.EventAssigned, 15*time.Second)
			if got := ev.Partitions[p0]; got != tc.assigned {
				t.Errorf("assigned offset = %d, want %d", got, tc.assigned)
			}
			ev.Done(tc.seek)
			recs := r.records(t, 1, 10*time.Second)
			if recs[0].Offset != tc.first {
				t.Errorf("first record offset = %d, want %d", recs[0].Offset, tc.first)
			}
		})
	}
}

func TestConsumerRebalanceRevokesBeforeAssigning(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "clicks", 4)
	produce(t, addr, "clicks", 4, 40)
	cfg := connector.ConsumerConfig{Group: "connect-rb", Topics: []string{"clicks"}}

	a := startConsumer(t, c, cfg)
	first := a.nextKind(t, connector.EventAssigned, 15*time.Second)
	if len(first.Partitions) != 4 {
		t.Fatalf("lone member got %d partitions, want 4", len(first.Partitions))
	}
	first.Done(nil)
	a.records(t, 40, 10*time.Second)

	b := startConsumer(t, c, cfg)
	// a: everything revoked with the old generation, then a new assignment.
	rev := a.nextKind(t, connector.EventRevoked, 15*time.Second)
	if rev.Generation != first.Generation {
		t.Errorf("revoked generation = %+v, want the assigned one %+v", rev.Generation, first.Generation)
	}
	if len(rev.Partitions) != 4 {
		t.Errorf("revoked %d partitions, want 4", len(rev.Partitions))
	}
	rev.Done(nil)
	second := a.nextKind(t, connector.EventAssigned, 15*time.Second)
	if second.Generation.GenerationID <= first.Generation.GenerationID {
		t.Errorf("new generation %d is not after %d", second.Generation.GenerationID, first.Generation.GenerationID)
	}
	second.Done(nil)
	bAssigned := b.nextKind(t, connector.EventAssigned, 15*time.Second)
	bAssigned.Done(nil)
	if len(second.Partitions) != 2 || len(bAssigned.Partitions) != 2 {
		t.Fatalf("split %v / %v, want 2 partitions each", second.Partitions, bAssigned.Partitions)
	}
	for tp := range second.Partitions {
		if _, dup := bAssigned.Partitions[tp]; dup {
			t.Errorf("%s assigned to both members", tp)
		}
	}
	// Nothing was committed, so each member reads its partitions again.
	a.records(t, 20, 10*time.Second)
	b.records(t, 20, 10*time.Second)
}

func TestConsumerTopicRegexFollowsNewTopics(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	c.topicRefresh = 100 * time.Millisecond
	createTopic(t, c, "rx.a", 1)
	createTopic(t, c, "other", 1)
	r := startConsumer(t, c, connector.ConsumerConfig{Group: "connect-rx", TopicsRegex: regexp.MustCompile(`^rx\.`)})
	ev := r.nextKind(t, connector.EventAssigned, 15*time.Second)
	if fmt.Sprint(ev.Partitions) != fmt.Sprint(map[connector.TopicPartition]int64{tp("rx.a", 0): 0}) {
		t.Fatalf("assigned %v, want only rx.a-0", ev.Partitions)
	}
	ev.Done(nil)
	createTopic(t, c, "rx.b", 1)
	r.nextKind(t, connector.EventRevoked, 15*time.Second).Done(nil)
	ev = r.nextKind(t, connector.EventAssigned, 15*time.Second)
	ev.Done(nil)
	if len(ev.Partitions) != 2 {
		t.Fatalf("after rx.b appeared, assigned %v, want rx.a-0 and rx.b-0", ev.Partitions)
	}
}

func TestConsumerStopsWhileWaitingForDone(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "clicks", 1)
	cons, err := c.NewConsumer(connector.ConsumerConfig{Group: "connect-stop", Topics: []string{"clicks"}, Overrides: testOverrides()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	ev, ok, err := cons.Poll(context.Background(), 15*time.Second)
	if err != nil || !ok || ev.Kind != connector.EventAssigned {
		t.Fatalf("Poll = %v, %v, %v; want an assignment", ev.Kind, ok, err)
	}
	// Never acknowledge: cancelling Run must still end it.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run hangs in Setup after cancel")
	}
	ev.Done(nil) // late Done must neither block nor panic
	if _, _, err := cons.Poll(context.Background(), time.Second); !errors.Is(err, connector.ErrConsumerClosed) {
		t.Errorf("Poll after Run returned: err = %v, want ErrConsumerClosed", err)
	}
	if err := cons.Run(context.Background()); err == nil {
		t.Error("second Run returned nil, want an error")
	}
}

func TestConsumerBoundedWhenNobodyPolls(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "clicks", 2)
	produce(t, addr, "clicks", 2, 2000)
	o := testOverrides()
	o.MaxPollRecords = 1
	r := startConsumer(t, c, connector.ConsumerConfig{Group: "connect-bp", Topics: []string{"clicks"}, Overrides: o})
	r.nextKind(t, connector.EventAssigned, 15*time.Second).Done(nil)
	deadline := time.Now().Add(10 * time.Second)
	for len(r.events) < cap(r.events) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if len(r.events) != cap(r.events) {
		t.Fatalf("%d events waiting, want the buffer (%d) full", len(r.events), cap(r.events))
	}
	// Polling again resumes delivery, in order, with nothing lost.
	recs := r.records(t, 2000, 20*time.Second)
	seen := map[string]bool{}
	for _, rec := range recs {
		seen[string(rec.Value)] = true
	}
	if len(seen) != 2000 {
		t.Errorf("%d distinct records, want 2000", len(seen))
	}
}

func TestNewConsumerValidates(t *testing.T) {
	c := newTestClient(t, "127.0.0.1:1")
	o := testOverrides()
	o.HeartbeatInterval = 10 * time.Second // not below the session timeout
	for _, tc := range []struct {
		cfg  connector.ConsumerConfig
		want string
	}{
		{connector.ConsumerConfig{Topics: []string{"a"}}, "no consumer group"},
		{connector.ConsumerConfig{Group: "g"}, "exactly one of topics and a topic regex"},
		{connector.ConsumerConfig{Group: "g", Topics: []string{"a"}, TopicsRegex: regexp.MustCompile("a")}, "exactly one"},
		{connector.ConsumerConfig{Group: "g", Topics: []string{"a"}, Overrides: o}, "Heartbeat.Interval"},
	} {
		_, err := c.NewConsumer(tc.cfg)
		if err == nil || !containsAll(err.Error(), tc.want) {
			t.Errorf("NewConsumer(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}

func TestWithDefaultsFillsZeroFields(t *testing.T) {
	o := withDefaults(connector.ConsumerOverrides{MaxPollRecords: 7})
	if o.MaxPollRecords != 7 {
		t.Errorf("withDefaults replaced a given value: max.poll.records = %d", o.MaxPollRecords)
	}
	if o.IsolationLevel != "read_committed" || o.AutoOffsetReset != "earliest" || o.SessionTimeout <= 0 || o.FetchMaxBytes <= 0 || o.HeartbeatInterval <= 0 {
		t.Errorf("withDefaults left defaults out: %+v", o)
	}
	p := withDefaults(connector.ProducerOverrides{})
	if p.CompressionType != "lz4" || p.TransactionTimeout <= 0 || p.BatchSize <= 0 {
		t.Errorf("withDefaults = %+v", p)
	}
}

func containsAll(s string, subs ...string) bool {
	return !slices.ContainsFunc(subs, func(sub string) bool { return !regexp.MustCompile(regexp.QuoteMeta(sub)).MatchString(s) })
}

func TestConsumerWaitsForMissingTopic(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	r := startConsumer(t, c, connector.ConsumerConfig{Group: "connect-later", Topics: []string{"later"}})
	if ev, ok, err := r.Poll(context.Background(), 500*time.Millisecond); ok || err != nil {
		t.Fatalf("Poll before the topic exists = %v, %v, %v; want nothing", ev.Kind, ok, err)
	}
	createTopic(t, c, "later", 1)
	produce(t, addr, "later", 1, 3)
	r.nextKind(t, connector.EventAssigned, 20*time.Second).Done(nil)
	if recs := r.records(t, 3, 10*time.Second); string(recs[2].Value) != "later-2" {
		t.Errorf("records %v", values(recs))
	}
}
