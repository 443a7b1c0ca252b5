package sinktest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
)

// maxReported caps the problems one check lists, so a broken sink does not
// drown the log.
const maxReported = 12

// key identifies one Kafka record.
type key struct {
	tp  connector.TopicPartition
	off int64
}

func (k key) String() string { return fmt.Sprintf("%s@%d", k.tp, k.off) }

// env is the state of one subtest: what the "framework" sent and what must
// therefore be in the store.
type env struct {
	t      *testing.T
	ctx    context.Context
	h      *Harness
	prefix string
	topics map[string]bool
	// want holds the value of every good record the subtest wrote.
	want map[key][]byte
	// bad holds the records the sink was expected to reject.
	bad map[key]bool
	// high is the offset after the highest record written per partition.
	high   map[connector.TopicPartition]int64
	badSeq int
}

func newEnv(t *testing.T, h *Harness, prefix string) *env {
	return &env{
		t: t, ctx: t.Context(), h: h, prefix: prefix,
		topics: map[string]bool{},
		want:   map[key][]byte{},
		bad:    map[key]bool{},
		high:   map[connector.TopicPartition]int64{},
	}
}

// tp returns partition p of the subtest's n-th topic.
func (e *env) tp(n int, p int32) connector.TopicPartition {
	topic := fmt.Sprintf("%s-%d", e.prefix, n)
	e.topics[topic] = true
	return connector.TopicPartition{Topic: topic, Partition: p}
}

// records returns the good records [from, to) of tp.
func (e *env) records(tp connector.TopicPartition, from, to int64) []connector.Record {
	out := make([]connector.Record, 0, to-from)
	for off := from; off < to; off++ {
		out = append(out, e.record(tp, off))
	}
	return out
}

// record returns the good record at off of tp and expects it in the store.
func (e *env) record(tp connector.TopicPartition, off int64) connector.Record {
	v := e.h.Value(tp, off)
	e.want[key{tp, off}] = v
	return connector.Record{
		Topic: tp.Topic, Partition: tp.Partition, Offset: off,
		Key:       fmt.Appendf(nil, "user-%d", off%97),
		Value:     v,
		Timestamp: EventTime(tp, off),
	}
}

// badRecord returns the harness's next bad record placed at off of tp.
func (e *env) badRecord(tp connector.TopicPartition, off int64) connector.Record {
	r := e.h.BadRecord(e.badSeq)
	e.badSeq++
	r.Topic, r.Partition, r.Offset = tp.Topic, tp.Partition, off
	e.bad[key{tp, off}] = true
	return r
}

// interleave merges per-partition lists into one batch, round robin, which
// keeps each partition's offset order.
func interleave(lists ...[]connector.Record) []connector.Record {
	var out []connector.Record
	for i := 0; ; i++ {
		added := false
		for _, l := range lists {
			if i < len(l) {
				out = append(out, l[i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// cut splits recs into batches whose sizes cycle through sizes.
func cut(recs []connector.Record, sizes ...int) [][]connector.Record {
	var out [][]connector.Record
	for i := 0; len(recs) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(recs))
		out = append(out, recs[:n:n])
		recs = recs[n:]
	}
	return out
}

// read returns the subtest's stored records, grouped by key.
func (e *env) read() map[key][][]byte {
	e.t.Helper()
	got := map[key][][]byte{}
	for _, s := range e.h.Read(e.t) {
		if e.topics[s.Topic] {
			k := key{s.TP(), s.Offset}
			got[k] = append(got[k], s.Value)
		}
	}
	return got
}

// problems collects check failures and reports the first few at once.
type problems struct {
	list []string
	n    int
}

func (p *problems) add(format string, args ...any) {
	p.n++
	if len(p.list) < maxReported {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	}
}

func (p *problems) report(t *testing.T, what string) {
	t.Helper()
	if p.n == 0 {
		return
	}
	more := ""
	if p.n > len(p.list) {
		more = fmt.Sprintf("\n\t… and %d more", p.n-len(p.list))
	}
	t.Errorf("%s: %d problem(s):\n\t%s%s", what, p.n, strings.Join(p.list, "\n\t"), more)
}

// checkStored compares one key's stored copies with what was written.
func (e *env) checkStored(p *problems, k key, copies [][]byte, atMostOnce bool) {
	want, good := e.want[k]
	switch {
	case e.bad[k] && len(copies) > 0:
		p.add("%s was rejected by Write but is stored", k)
	case !good && len(copies) > 0 && !e.bad[k]:
		p.add("%s is stored but was never written", k)
	case good && len(copies) == 0 && !atMostOnce:
		p.add("%s is missing", k)
	case good && len(copies) > 1:
		p.add("%s is stored %d times", k, len(copies))
	}
	if good {
		for _, v := range copies {
			if !e.h.SameValue(want, v) {
				p.add("%s has value %s, want %s", k, short(v), short(want))
				break
			}
		}
	}
}

// checkDurable checks that every record of tp below upTo is stored exactly
// once, as Flush claimed when it reported upTo.
func (e *env) checkDurable(got map[key][][]byte, tp connector.TopicPartition, upTo int64, p *problems) {
	for _, k := range sortedKeys(e.want) {
		if k.tp == tp && k.off < upTo {
			e.checkStored(p, k, got[k], false)
		}
	}
	for _, k := range sortedKeys(got) {
		if _, good := e.want[k]; !good && k.tp == tp && k.off < upTo {
			e.checkStored(p, k, got[k], false)
		}
	}
}

// checkExactlyOnce is the end-of-subtest check: every good record written
// is stored exactly once with its value, and nothing else is.
func (e *env) checkExactlyOnce() {
	e.t.Helper()
	e.checkAll("exactly once", false)
}

// checkAtMostOnce checks that nothing is stored twice or wrongly, allowing
// records to be missing (leftovers of an abandoned instance, say).
func (e *env) checkAtMostOnce() {
	e.t.Helper()
	e.checkAll("at most once", true)
}

func (e *env) checkAll(what string, atMostOnce bool) {
	e.t.Helper()
	got := e.read()
	var p problems
	for _, k := range sortedKeys(e.want) {
		e.checkStored(&p, k, got[k], atMostOnce)
	}
	for _, k := range sortedKeys(got) {
		if _, good := e.want[k]; !good {
			e.checkStored(&p, k, got[k], atMostOnce)
		}
	}
	p.report(e.t, "store is not "+what)
}

func sortedKeys[V any](m map[key]V) []key {
	ks := slices.Collect(maps.Keys(m))
	slices.SortFunc(ks, func(a, b key) int {
		if c := strings.Compare(a.tp.Topic, b.tp.Topic); c != 0 {
			return c
		}
		if c := cmp.Compare(a.tp.Partition, b.tp.Partition); c != 0 {
			return c
		}
		return cmp.Compare(a.off, b.off)
	})
	return ks
}

func short(b []byte) string {
	if b == nil {
		return "nil"
	}
	if len(b) > 80 {
		return fmt.Sprintf("%q…(%d bytes)", b[:80], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// inst is one sink instance as the framework drives it, with the offsets it
// was told and the offsets it reported.
type inst struct {
	e    *env
	name string
	s    connector.Sink
	// open holds the partitions open on this instance.
	open map[connector.TopicPartition]bool
	// sent is the offset after the last record written to this instance,
	// starting at the resume offset.
	sent map[connector.TopicPartition]int64
	// durable is the last offset Flush reported, starting at the resume
	// offset; kept after Close, when it may no longer grow.
	durable map[connector.TopicPartition]int64
}

// newInst builds a new sink instance; name labels it in failures.
func (e *env) newInst(name string) *inst {
	e.t.Helper()
	s := e.h.New(e.t)
	if s == nil {
		e.t.Fatalf("Harness.New returned a nil sink for instance %s", name)
	}
	return &inst{
		e: e, name: name, s: s,
		open:    map[connector.TopicPartition]bool{},
		sent:    map[connector.TopicPartition]int64{},
		durable: map[connector.TopicPartition]int64{},
	}
}

// openAt opens assigned and returns the offsets to resume from: assigned,
// overridden by what Open returned. It checks Open's type contract.
func (i *inst) openAt(assigned map[connector.TopicPartition]int64) map[connector.TopicPartition]int64 {
	e := i.e
	e.t.Helper()
	over, err := i.s.Open(e.ctx, maps.Clone(assigned))
	if err != nil {
		e.t.Fatalf("%s.Open(%s): %v", i.name, formatOffsets(assigned), err)
	}
	resume := maps.Clone(assigned)
	for tp, off := range over {
		if _, ok := assigned[tp]; !ok {
			e.t.Errorf("%s.Open returned offset %d for %s, which was not assigned (assigned: %s)", i.name, off, tp, formatOffsets(assigned))
			continue
		}
		if off < 0 {
			e.t.Errorf("%s.Open returned negative offset %d for %s", i.name, off, tp)
			continue
		}
		if limit := max(e.high[tp], assigned[tp]); off > limit {
			e.t.Errorf("%s.Open returned offset %d for %s, past both the assigned offset and anything ever written to it (%d)", i.name, off, tp, limit)
			continue
		}
		resume[tp] = off
	}
	for tp, off := range resume {
		i.open[tp] = true
		i.sent[tp] = off
		i.durable[tp] = off
	}
	return resume
}

// write writes batch and expects it accepted. Afterwards it overwrites the
// batch's elements, as the framework reuses the slice.
func (i *inst) write(batch []connector.Record) {
	i.e.t.Helper()
	if err := i.writeErr(batch); err != nil {
		i.e.t.Fatalf("%s.Write of %d records (%s): %v", i.name, len(batch), describe(batch), err)
	}
}

// writeErr writes batch and returns Write's error.
func (i *inst) writeErr(batch []connector.Record) error {
	i.e.t.Helper()
	for _, r := range batch {
		tp := r.TP()
		if !i.open[tp] {
			i.e.t.Fatalf("suite bug: writing %s to %s, where it is not open", tp, i.name)
		}
		i.sent[tp] = max(i.sent[tp], r.Offset+1)
		i.e.high[tp] = max(i.e.high[tp], r.Offset+1)
	}
	err := i.s.Write(i.e.ctx, batch)
	for j := range batch {
		batch[j] = connector.Record{Topic: "overwritten-by-sinktest", Offset: -1, Value: []byte("reused batch slice")}
	}
	return err
}

// describe summarises a batch for failure messages.
func describe(batch []connector.Record) string {
	if len(batch) == 0 {
		return "empty"
	}
	first, last := batch[0], batch[len(batch)-1]
	return fmt.Sprintf("first %s@%d, last %s@%d", first.TP(), first.Offset, last.TP(), last.Offset)
}

// flush calls Flush once, checks what it reported against what was sent
// and against the store, and returns the report.
func (i *inst) flush() map[connector.TopicPartition]int64 {
	e := i.e
	e.t.Helper()
	got, err := i.s.Flush(e.ctx)
	if err != nil {
		e.t.Fatalf("%s.Flush: %v", i.name, err)
	}
	var p problems
	for _, tp := range slices.SortedFunc(maps.Keys(got), cmpTP) {
		off := got[tp]
		prev, known := i.durable[tp]
		switch {
		case !known:
			p.add("reported %s=%d, a partition never opened on %s", tp, off, i.name)
		case !i.open[tp] && off > prev:
			p.add("reported %s=%d after Close revoked it (last reported %d): progress for a partition it no longer owns", tp, off, prev)
		case off < prev:
			p.add("reported %s=%d, behind its earlier report or resume offset %d", tp, off, prev)
		case off > i.sent[tp]:
			p.add("reported %s=%d, past the last record written to it (next offset %d)", tp, off, i.sent[tp])
		}
	}
	p.report(e.t, i.name+".Flush broke its contract")
	if p.n > 0 {
		e.t.FailNow()
	}
	if len(got) == 0 {
		return got
	}
	stored := e.read()
	var d problems
	for _, tp := range slices.SortedFunc(maps.Keys(got), cmpTP) {
		e.checkDurable(stored, tp, got[tp], &d)
		if i.open[tp] {
			i.durable[tp] = got[tp]
		}
	}
	d.report(e.t, fmt.Sprintf("%s.Flush reported %s, but the store does not hold the records below exactly once", i.name, formatOffsets(got)))
	return got
}

// drain calls Flush until every open partition is durable up to what was
// sent to it, and returns the durable offsets of the open partitions.
func (i *inst) drain() map[connector.TopicPartition]int64 {
	e := i.e
	e.t.Helper()
	deadline := time.Now().Add(e.h.FlushTimeout)
	wait := 5 * time.Millisecond
	for {
		i.flush()
		var behind []string
		for tp := range i.open {
			if i.durable[tp] < i.sent[tp] {
				behind = append(behind, fmt.Sprintf("%s at %d of %d", tp, i.durable[tp], i.sent[tp]))
			}
		}
		if len(behind) == 0 {
			return i.committable()
		}
		if time.Now().After(deadline) {
			slices.Sort(behind)
			e.t.Fatalf("%s.Flush did not make written records durable within %v: %s", i.name, e.h.FlushTimeout, strings.Join(behind, ", "))
		}
		select {
		case <-time.After(wait):
		case <-e.ctx.Done():
			e.t.Fatalf("test context done while draining %s", i.name)
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// committable returns the durable offsets of the open partitions.
func (i *inst) committable() map[connector.TopicPartition]int64 {
	out := map[connector.TopicPartition]int64{}
	for tp := range i.open {
		out[tp] = i.durable[tp]
	}
	return out
}

// close revokes tps.
func (i *inst) close(tps ...connector.TopicPartition) {
	i.e.t.Helper()
	if err := i.s.Close(i.e.ctx, slices.Clone(tps)); err != nil {
		i.e.t.Fatalf("%s.Close(%v): %v", i.name, tps, err)
	}
	for _, tp := range tps {
		delete(i.open, tp)
	}
}

// shutdown does what the framework does on a clean stop: a final Flush,
// Close of every open partition, Stop.
func (i *inst) shutdown() {
	i.e.t.Helper()
	i.flush()
	i.close(slices.SortedFunc(maps.Keys(i.open), cmpTP)...)
	if err := i.s.Stop(i.e.ctx); err != nil {
		i.e.t.Fatalf("%s.Stop: %v", i.name, err)
	}
}

func cmpTP(a, b connector.TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// wantBatchError checks that err is a *connector.BatchError naming exactly
// the indexes in want.
func (e *env) wantBatchError(who string, err error, want []int) {
	e.t.Helper()
	var be *connector.BatchError
	if !errors.As(err, &be) {
		e.t.Fatalf("%s.Write of a batch with bad records at %v returned %v, want a *connector.BatchError", who, want, err)
	}
	if _, retry := connector.IsRetryable(err); retry {
		e.t.Errorf("%s.Write returned a BatchError that is also retryable: %v", who, err)
	}
	var got []int
	for _, re := range be.Records {
		got = append(got, re.Index)
		if re.Err == nil {
			e.t.Errorf("%s.Write: RecordError for index %d has no Err", who, re.Index)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		e.t.Errorf("%s.Write BatchError names indexes %v, want exactly %v", who, got, want)
	}
}
