package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/connectd/connectd/connector"
)

func TestReadAllTransactionalTopic(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	createTopic(t, c, "offsets", 2)
	ctx := context.Background()
	rd := c.Reader()

	if got, err := rd.ReadAll(ctx, "missing"); err != nil || len(got) != 0 {
		t.Fatalf("ReadAll(missing) = %v, %v; want nothing, no error", got, err)
	}
	if got, err := rd.ReadAll(ctx, "offsets"); err != nil || len(got) != 0 {
		t.Fatalf("ReadAll(empty) = %v, %v; want nothing", got, err)
	}

	cm := newCommitter(t, c, "src-offsets")
	rec := func(p int32, v string) connector.ProducerRecord {
		return connector.ProducerRecord{Topic: "offsets", Partition: p, Key: []byte("k"), Value: []byte(v)}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cm.Commit(ctx, []connector.ProducerRecord{rec(0, "a"), rec(1, "b")}, nil, nil))
	ghost := &connector.Generation{GroupID: "connect-ghost", GenerationID: 3, MemberID: "m-1"}
	if err := cm.Commit(ctx, []connector.ProducerRecord{rec(0, "aborted"), rec(1, "aborted")}, map[connector.TopicPartition]int64{tp("in", 0): 1}, ghost); err == nil {
		t.Fatal("commit for a generation the group never had succeeded")
	}
	must(cm.Commit(ctx, []connector.ProducerRecord{rec(0, "c")}, nil, nil))

	// An open transaction of another producer at the time of the call.
	cfg := sarama.NewConfig()
	cfg.Version = protocolVersion()
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Transaction.ID = "open-txn"
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	open, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	must(open.BeginTxn())
	_, _, err = open.SendMessage(&sarama.ProducerMessage{Topic: "offsets", Partition: 0, Value: sarama.StringEncoder("pending")})
	must(err)
	must(cm.Commit(ctx, []connector.ProducerRecord{rec(1, "d")}, nil, nil))

	start := time.Now()
	got, err := rd.ReadAll(ctx, "offsets")
	must(err)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ReadAll took %v", d)
	}
	// Partition 0 stops at its last stable offset, before "pending" and
	// "c"? No: "c" was committed before "pending" began, so it is stable.
	if fmt.Sprint(values(got)) != "[a c b d]" {
		t.Errorf("ReadAll = %v, want [a c b d] (partition order, no aborted or open records)", values(got))
	}
	for _, r := range got {
		if r.Topic != "offsets" || string(r.Key) != "k" || r.Timestamp.IsZero() {
			t.Errorf("record %+v lacks topic, key or timestamp", r)
		}
	}
	if got[0].Offset != 0 || got[1].Offset <= got[0].Offset+1 {
		t.Errorf("partition 0 offsets %d, %d: want a gap for the marker and aborted record", got[0].Offset, got[1].Offset)
	}

	must(open.CommitTxn())
	got, err = rd.ReadAll(ctx, "offsets")
	must(err)
	if fmt.Sprint(values(got)) != "[a c pending b d]" {
		t.Errorf("after the open transaction committed: ReadAll = %v", values(got))
	}
}

func TestReadAllManyRecords(t *testing.T) {
	addr := newCluster(t, kfake.NumBrokers(3)) // partition leaders on different brokers
	c := newTestClient(t, addr)
	createTopic(t, c, "big", 3)
	cm := newCommitter(t, c, "big-src")
	ctx := context.Background()
	want := 0
	for i := range 5 {
		recs := make([]connector.ProducerRecord, 4000)
		for j := range recs {
			recs[j] = connector.ProducerRecord{Topic: "big", Partition: int32(want % 3), Value: fmt.Appendf(nil, "%05d-%s", want, make([]byte, 500))}
			want++
		}
		if err := cm.Commit(ctx, recs, nil, nil); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	got, err := c.Reader().ReadAll(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != want {
		t.Fatalf("read %d records, want %d", len(got), want)
	}
	// Partition order, then offset order: 0, 3, 6, … then 1, 4, … then 2, 5, ….
	i := 0
	for p := range 3 {
		for v := p; v < want; v += 3 {
			if r := got[i]; r.Partition != int32(p) || string(r.Value[:5]) != fmt.Sprintf("%05d", v) {
				t.Fatalf("record %d is %s in partition %d, want %05d in %d", i, r.Value[:5], r.Partition, v, p)
			}
			i++
		}
	}
}

func TestReadFromIsIncremental(t *testing.T) {
	addr := newCluster(t)
	c := newTestClient(t, addr)
	ctx := context.Background()
	rd := c.Reader().(*TopicReader)

	got, next, err := rd.ReadFrom(ctx, "results", nil, 0)
	if err != nil || len(got) != 0 || len(next) != 0 {
		t.Fatalf("ReadFrom(missing) = %v, %v, %v; want nothing, an empty next, no error", got, next, err)
	}
	createTopic(t, c, "results", 2)
	got, next, err = rd.ReadFrom(ctx, "results", next, 0)
	if err != nil || len(got) != 0 || fmt.Sprint(next) != "map[0:0 1:0]" {
		t.Fatalf("ReadFrom(empty) = %v, %v, %v; want no records, next map[0:0 1:0]", got, next, err)
	}

	cm := newCommitter(t, c, "results-src")
	rec := func(p int32, v string) connector.ProducerRecord {
		return connector.ProducerRecord{Topic: "results", Partition: p, Value: []byte(v)}
	}
	read := func(from map[int32]int64, limit int) ([]string, map[int32]int64) {
		t.Helper()
		got, next, err := rd.ReadFrom(ctx, "results", from, limit)
		if err != nil {
			t.Fatal(err)
		}
		return values(got), next
	}
	if err := cm.Commit(ctx, []connector.ProducerRecord{rec(0, "a"), rec(0, "b"), rec(1, "c")}, nil, nil); err != nil {
		t.Fatal(err)
	}
	vals, next := read(next, 0)
	// Each transaction ends with a commit marker, so the end offset is one
	// past the last record.
	if fmt.Sprint(vals) != "[a b c]" || fmt.Sprint(next) != "map[0:3 1:2]" {
		t.Fatalf("first read = %v, next %v; want [a b c], map[0:3 1:2]", vals, next)
	}
	if vals, again := read(next, 0); len(vals) != 0 || fmt.Sprint(again) != fmt.Sprint(next) {
		t.Fatalf("read with nothing new = %v, next %v; want nothing, next unchanged", vals, again)
	}

	if err := cm.Commit(ctx, []connector.ProducerRecord{rec(0, "d"), rec(1, "e"), rec(1, "f")}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if vals, _ := read(next, 0); fmt.Sprint(vals) != "[d e f]" {
		t.Fatalf("second read = %v, want only the new records [d e f]", vals)
	}

	// A limit stops part way through a partition; next resumes right there.
	vals, n1 := read(nil, 2)
	if fmt.Sprint(vals) != "[a b]" || fmt.Sprint(n1) != "map[0:2 1:0]" {
		t.Fatalf("read with limit 2 = %v, next %v; want [a b], map[0:2 1:0]", vals, n1)
	}
	vals, n2 := read(n1, 2)
	if fmt.Sprint(vals) != "[d c]" || fmt.Sprint(n2) != "map[0:5 1:1]" {
		t.Fatalf("read with limit 2 from %v = %v, next %v; want [d c], map[0:5 1:1]", n1, vals, n2)
	}
	if vals, n3 := read(n2, 10); fmt.Sprint(vals) != "[e f]" || fmt.Sprint(n3) != "map[0:5 1:5]" {
		t.Fatalf("last read = %v, next %v; want [e f], map[0:5 1:5]", vals, n3)
	}

	// A position past the end (a re-created topic) reads from the start.
	if vals, _ := read(map[int32]int64{0: 100, 1: 5}, 0); fmt.Sprint(vals) != "[a b d]" {
		t.Fatalf("read from past the end = %v, want partition 0 again from its start: [a b d]", vals)
	}
}
