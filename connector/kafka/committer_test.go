package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/connectd/connectd/connector"
)

func newCommitter(t *testing.T, c *Client, txid string) *Committer {
	t.Helper()
	cm, err := c.NewCommitter(connector.ProducerConfig{TransactionalID: txid, Overrides: connector.ProducerOverrides{Linger: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cm.Close() })
	return cm.(*Committer)
}

func outRecords(topic string, from, n int) []connector.ProducerRecord {
	recs := make([]connector.ProducerRecord, n)
	for i := range recs {
		recs[i] = connector.ProducerRecord{
			Topic:     topic,
			Partition: -1,
			Key:       fmt.Appendf(nil, "user-%d", (from+i)%7),
			Value:     fmt.Appendf(nil, "v%d", from+i),
			Headers:   []connector.Header{{Key: "h", Value: []byte("x")}},
		}
	}
	return recs
}

func values(recs []connector.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

func TestCommitWritesRecordsAndOffsetsAtomically(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "in", 2)
	createTopic(t, c, "out", 3)
	produce(t, addr, "in", 2, 10)

	r := startConsumer(t, c, connector.ConsumerConfig{Group: "connect-tx", Topics: []string{"in"}})
	ev := r.nextKind(t, connector.EventAssigned, 15*time.Second)
	ev.Done(nil)
	gen := ev.Generation
	r.records(t, 10, 10*time.Second)

	cm := newCommitter(t, c, "connect-tx-0")
	recs := outRecords("out", 0, 300)
	recs = append(recs, connector.ProducerRecord{Topic: "out", Partition: 2, Value: []byte("pinned")})
	offsets := map[connector.TopicPartition]int64{tp("in", 0): 5, tp("in", 1): 5}
	if err := cm.Commit(context.Background(), recs, offsets, &gen); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	got, err := c.Reader().ReadAll(context.Background(), "out")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("read %d records, want %d", len(got), len(recs))
	}
	keyPart := map[string]int32{}
	for _, rec := range got {
		if string(rec.Value) == "pinned" {
			if rec.Partition != 2 {
				t.Errorf("record for partition 2 landed in %d", rec.Partition)
			}
			continue
		}
		if p, seen := keyPart[string(rec.Key)]; seen && p != rec.Partition {
			t.Errorf("key %s in partitions %d and %d", rec.Key, p, rec.Partition)
		}
		keyPart[string(rec.Key)] = rec.Partition
		if string(rec.Header("h")) != "x" {
			t.Errorf("header lost on %s", rec.Value)
		}
	}
	// murmur2 as the Java producer: "user-0" … spread over partitions.
	parts := map[int32]bool{}
	for _, p := range keyPart {
		parts[p] = true
	}
	if len(parts) < 2 {
		t.Errorf("7 keys all hashed to partitions %v", parts)
	}

	committed, err := c.Admin().GroupOffsets(context.Background(), "connect-tx")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(committed) != fmt.Sprint(offsets) {
		t.Errorf("group offsets = %v, want %v", committed, offsets)
	}

	// A commit without records moves only the offsets.
	offsets = map[connector.TopicPartition]int64{tp("in", 0): 10, tp("in", 1): 10}
	if err := cm.Commit(context.Background(), nil, offsets, &gen); err != nil {
		t.Fatalf("offsets-only Commit: %v", err)
	}
	committed, _ = c.Admin().GroupOffsets(context.Background(), "connect-tx")
	if fmt.Sprint(committed) != fmt.Sprint(offsets) {
		t.Errorf("group offsets = %v, want %v", committed, offsets)
	}
}

func TestFailedCommitLeavesNothingVisible(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "out", 2)
	cm := newCommitter(t, c, "src-0")
	ctx := context.Background()

	if err := cm.Commit(ctx, outRecords("out", 0, 50), nil, nil); err != nil {
		t.Fatal(err)
	}
	// Offsets for a generation the group never had: the records reach
	// the log, then TxnOffsetCommit fails and the transaction is aborted.
	ghost := &connector.Generation{GroupID: "connect-ghost", GenerationID: 3, MemberID: "m-1"}
	err := cm.Commit(ctx, outRecords("out", 50, 50), map[connector.TopicPartition]int64{tp("in", 0): 1}, ghost)
	if !errors.Is(err, connector.ErrGenerationStale) || errors.Is(err, connector.ErrFenced) {
		t.Fatalf("Commit with a generation the group does not have: err = %v, want ErrGenerationStale (not ErrFenced)", err)
	}
	// A record for a partition that does not exist is refused before the
	// transaction starts.
	bad := append(outRecords("out", 100, 10), connector.ProducerRecord{Topic: "out", Partition: 9, Value: []byte("nowhere")})
	err = cm.Commit(ctx, bad, nil, nil)
	if err == nil {
		t.Fatal("Commit with a record for partition 9 of a 2-partition topic succeeded")
	}
	if errors.Is(err, connector.ErrFenced) {
		t.Errorf("err = %v, must not be ErrFenced", err)
	}
	if _, retry := connector.IsRetryable(err); retry {
		t.Errorf("err = %v, must not be retryable", err)
	}
	if !strings.Contains(err.Error(), "partition 9") || !strings.Contains(err.Error(), "record 10") {
		t.Errorf("err = %v, want it to name record 10 and partition 9", err)
	}
	// So is a record larger than batch.size.
	big := []connector.ProducerRecord{{Topic: "out", Partition: 0, Value: make([]byte, 2<<20)}}
	if err := cm.Commit(ctx, append(outRecords("out", 110, 10), big...), nil, nil); err == nil || !strings.Contains(err.Error(), "batch.size") {
		t.Fatalf("Commit with a 2 MiB record: err = %v, want a refusal naming batch.size", err)
	}
	// And a missing topic, retryably (it may be created meanwhile).
	err = cm.Commit(ctx, []connector.ProducerRecord{{Topic: "later", Partition: -1, Value: []byte("x")}}, nil, nil)
	if _, retry := connector.IsRetryable(err); !retry || !strings.Contains(err.Error(), "later") {
		t.Errorf("Commit to a missing topic: err = %v, want a retryable error naming it", err)
	}
	// The committer recovers: the next transaction goes through.
	if err := cm.Commit(ctx, outRecords("out", 200, 50), nil, nil); err != nil {
		t.Fatalf("Commit after an aborted one: %v", err)
	}

	got, err := c.Reader().ReadAll(ctx, "out")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, v := range values(got) {
		seen[v] = true
	}
	if len(got) != 100 || !seen["v0"] || !seen["v49"] || !seen["v200"] || !seen["v249"] || seen["v50"] || seen["v99"] {
		t.Errorf("read %d records %v; want v0..v49 and v200..v249 only", len(got), values(got))
	}

	// A read_committed consumer sees the same.
	r := startConsumer(t, c, connector.ConsumerConfig{Group: "connect-check", Topics: []string{"out"}})
	r.nextKind(t, connector.EventAssigned, 15*time.Second).Done(nil)
	recs := r.records(t, 100, 10*time.Second)
	for _, v := range values(recs) {
		if !seen[v] {
			t.Errorf("consumer delivered %s from an aborted transaction", v)
		}
	}
	if ev, ok, _ := r.Poll(ctx, 300*time.Millisecond); ok {
		t.Errorf("consumer delivered more: %v with %d records", ev.Kind, len(ev.Records))
	}
}

func TestSecondCommitterFencesFirst(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "out", 1)
	ctx := context.Background()

	old := newCommitter(t, c, "task-0")
	if err := old.Commit(ctx, outRecords("out", 0, 5), nil, nil); err != nil {
		t.Fatal(err)
	}
	cur := newCommitter(t, c, "task-0")
	err := old.Commit(ctx, outRecords("out", 5, 5), nil, nil)
	if !errors.Is(err, connector.ErrFenced) {
		t.Fatalf("zombie Commit: err = %v, want ErrFenced", err)
	}
	if !strings.Contains(err.Error(), "task-0") {
		t.Errorf("err = %v, want it to name the transactional id", err)
	}
	if err := old.Commit(ctx, outRecords("out", 5, 5), nil, nil); !errors.Is(err, connector.ErrFenced) {
		t.Errorf("second zombie Commit: err = %v, want ErrFenced", err)
	}
	if err := cur.Commit(ctx, outRecords("out", 10, 5), nil, nil); err != nil {
		t.Fatalf("new instance's Commit: %v", err)
	}
	got, err := c.Reader().ReadAll(ctx, "out")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(values(got)) != "[v0 v1 v2 v3 v4 v10 v11 v12 v13 v14]" {
		t.Errorf("read %v", values(got))
	}
}

func TestCommitWithStaleGenerationIsFenced(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "in", 2)
	createTopic(t, c, "out", 1)
	cfg := connector.ConsumerConfig{Group: "connect-stale", Topics: []string{"in"}}
	ctx := context.Background()

	a := startConsumer(t, c, cfg)
	ev := a.nextKind(t, connector.EventAssigned, 15*time.Second)
	ev.Done(nil)
	oldGen := ev.Generation
	cm := newCommitter(t, c, "connect-stale-0")

	b := startConsumer(t, c, cfg)
	a.nextKind(t, connector.EventRevoked, 15*time.Second).Done(nil)
	ev = a.nextKind(t, connector.EventAssigned, 15*time.Second)
	ev.Done(nil)
	newGen := ev.Generation
	b.nextKind(t, connector.EventAssigned, 15*time.Second).Done(nil)

	err := cm.Commit(ctx, outRecords("out", 0, 3), map[connector.TopicPartition]int64{tp("in", 0): 1}, &oldGen)
	if !errors.Is(err, connector.ErrGenerationStale) || errors.Is(err, connector.ErrFenced) {
		t.Fatalf("Commit with generation %d after the group moved to %d: err = %v, want ErrGenerationStale (not ErrFenced)", oldGen.GenerationID, newGen.GenerationID, err)
	}
	var owned connector.TopicPartition
	for tp := range ev.Partitions {
		owned = tp
	}
	if err := cm.Commit(ctx, outRecords("out", 3, 3), map[connector.TopicPartition]int64{owned: 1}, &newGen); err != nil {
		t.Fatalf("Commit with the current generation: %v", err)
	}
	got, _ := c.Reader().ReadAll(ctx, "out")
	if fmt.Sprint(values(got)) != "[v3 v4 v5]" {
		t.Errorf("read %v, want only the second commit's records", values(got))
	}
	committed, _ := c.Admin().GroupOffsets(ctx, "connect-stale")
	if fmt.Sprint(committed) != fmt.Sprint(map[connector.TopicPartition]int64{owned: 1}) {
		t.Errorf("group offsets %v, want only %s=1", committed, owned)
	}
}

func TestCommitRejectsBadArguments(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	if _, err := c.NewCommitter(connector.ProducerConfig{}); err == nil {
		t.Error("NewCommitter without transactional id succeeded")
	}
	if _, err := c.NewCommitter(connector.ProducerConfig{TransactionalID: "x", Overrides: connector.ProducerOverrides{CompressionType: "brotli"}}); err == nil || !strings.Contains(err.Error(), "brotli") {
		t.Errorf("NewCommitter with compression brotli: err = %v", err)
	}
	cm := newCommitter(t, c, "args")
	err := cm.Commit(context.Background(), nil, map[connector.TopicPartition]int64{tp("in", 0): 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "without a group generation") {
		t.Errorf("offsets without generation: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cm.Commit(ctx, outRecords("out", 0, 1), nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with a cancelled ctx: err = %v", err)
	}
	if err := cm.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cm.Commit(context.Background(), nil, nil, nil); err == nil {
		t.Error("Commit after Close succeeded")
	}
}

func TestPartitioner(t *testing.T) {
	p := newPartitioner("t")
	got, err := p.Partition(&sarama.ProducerMessage{Topic: "t", Partition: 3}, 4)
	if err != nil || got != 3 {
		t.Errorf("manual partition 3 of 4 = %d, %v", got, err)
	}
	if _, err := p.Partition(&sarama.ProducerMessage{Topic: "t", Partition: 4}, 4); err == nil {
		t.Error("partition 4 of 4 accepted")
	}
	// murmur2("user-1") as the Java client computes it.
	m := &sarama.ProducerMessage{Topic: "t", Partition: -1, Key: sarama.StringEncoder("user-1")}
	want, _ := sarama.NewMurmur2Partitioner("t").Partition(m, 10)
	if got, _ := p.Partition(m, 10); got != want {
		t.Errorf("keyed record went to %d, murmur2 says %d", got, want)
	}
	dp := p.(sarama.DynamicConsistencyPartitioner)
	if dp.MessageRequiresConsistency(&sarama.ProducerMessage{Partition: -1}) {
		t.Error("a record with neither key nor partition requires consistency")
	}
}

func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		err                           error
		fenced, generation, transient bool
	}{
		{sarama.ErrProducerFenced, true, false, false},
		{fmt.Errorf("x: %w", sarama.ErrInvalidProducerEpoch), true, false, false},
		{sarama.ErrIllegalGeneration, false, true, false},
		{sarama.ErrFencedInstancedId, false, true, false},
		{sarama.ErrUnknownMemberId, false, true, false},
		{sarama.ErrRequestTimedOut, false, false, true},
		{sarama.ErrNotCoordinatorForConsumer, false, false, true},
		{sarama.Wrap(sarama.ErrTxnOffsetCommit, sarama.ErrOffsetsLoadInProgress), false, false, true},
		{sarama.ErrOutOfBrokers, false, false, true},
		{sarama.ErrMessageSizeTooLarge, false, false, false},
	} {
		if got := isProducerFenced(tc.err); got != tc.fenced {
			t.Errorf("isProducerFenced(%v) = %v", tc.err, got)
		}
		if got := isGenerationFenced(tc.err); got != tc.generation {
			t.Errorf("isGenerationFenced(%v) = %v", tc.err, got)
		}
		if got := isTransient(tc.err); got != tc.transient {
			t.Errorf("isTransient(%v) = %v", tc.err, got)
		}
	}
}

func TestCommitTransientFailureIsRetryableAndAborted(t *testing.T) {
	kc := newFakeCluster(t)
	addr := kc.ListenAddrs()[0]
	c := newTestClient(t, addr)
	c.txnRetries = 3
	createTopic(t, c, "in", 1)
	createTopic(t, c, "out", 1)
	cm := newCommitter(t, c, "flaky")
	ctx := context.Background()

	// The group coordinator keeps answering NOT_COORDINATOR.
	var failing atomic.Bool
	failing.Store(true)
	kc.ControlKey(int16(kmsg.TxnOffsetCommit), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		if !failing.Load() {
			return nil, nil, false
		}
		kc.KeepControl()
		req := kreq.(*kmsg.TxnOffsetCommitRequest)
		resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewTxnOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.NotCoordinator.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	gen := &connector.Generation{GroupID: "connect-flaky", GenerationID: -1}
	err := cm.Commit(ctx, outRecords("out", 0, 10), map[connector.TopicPartition]int64{tp("in", 0): 1}, gen)
	if _, retry := connector.IsRetryable(err); !retry {
		t.Fatalf("Commit while the coordinator moves: err = %v, want a retryable error", err)
	}
	failing.Store(false)
	if err := cm.Commit(ctx, outRecords("out", 10, 10), map[connector.TopicPartition]int64{tp("in", 0): 1}, gen); err != nil {
		t.Fatalf("retried Commit: %v", err)
	}
	got, err := c.Reader().ReadAll(ctx, "out")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || string(got[0].Value) != "v10" {
		t.Errorf("read %v, want only the retried commit's v10..v19", values(got))
	}
	committed, _ := c.Admin().GroupOffsets(ctx, "connect-flaky")
	if committed[tp("in", 0)] != 1 {
		t.Errorf("group offsets %v, want in-0=1", committed)
	}
}

func TestCommitCancelledIsAllOrNothing(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "out", 3)
	cm := newCommitter(t, c, "cancel")
	recs := outRecords("out", 0, 50_000)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	err := cm.Commit(ctx, recs, nil, nil)
	got, rerr := c.Reader().ReadAll(context.Background(), "out")
	if rerr != nil {
		t.Fatal(rerr)
	}
	switch {
	case err == nil && len(got) != len(recs):
		t.Errorf("Commit succeeded but %d of %d records are visible", len(got), len(recs))
	case err != nil && !errors.Is(err, context.Canceled):
		t.Errorf("Commit = %v, want nil or context.Canceled", err)
	case err != nil && len(got) != 0:
		t.Errorf("cancelled Commit left %d records visible", len(got))
	}
	t.Logf("commit: %v (%d visible)", err, len(got))
	if err := cm.Commit(context.Background(), outRecords("out", 0, 5), nil, nil); err != nil {
		t.Fatalf("Commit after a cancelled one: %v", err)
	}
}
