package sinktest

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/connectd/connectd/connector"
)

// testCase is one subtest of the suite.
type testCase struct {
	name string
	run  func(e *env)
}

// cases lists the subtests in the order Run runs them.
func cases() []testCase {
	return []testCase{
		{"basic", basic},
		{"open_contract", openContract},
		{"flush_reports_only_durable", flushReportsOnlyDurable},
		{"rewrite_after_retry", rewriteAfterRetry},
		{"idempotent_replay", idempotentReplay},
		{"crash_between_write_and_commit", crashBetweenWriteAndCommit},
		{"resume_inside_flushed_range", resumeInsideFlushedRange},
		{"reset_offsets", resetOffsets},
		{"revoke_and_reassign", revokeAndReassign},
		{"bad_records", badRecords},
		{"many_small_batches", manySmallBatches},
		{"close_then_stop", closeThenStop},
	}
}

type offsets = map[connector.TopicPartition]int64

// basic: one batch over two partitions, drained, is stored exactly once,
// and Flush reports the offset after each partition's last record.
func basic(e *env) {
	a0, a3 := e.tp(0, 0), e.tp(0, 3)
	a := e.newInst("A")
	r := a.openAt(offsets{a0: 0, a3: 0})
	a.write(interleave(e.records(a0, r[a0], 25), e.records(a3, r[a3], 18)))
	got := a.drain()
	if got[a0] != 25 || got[a3] != 18 {
		e.t.Errorf("after draining, Flush reported %s; want %s=25 and %s=18", formatOffsets(got), a0, a3)
	}
	e.checkExactlyOnce()
	a.shutdown()
	e.checkExactlyOnce()
}

// openContract: Open accepts an empty assignment, incremental assignments
// and partitions that come back; it returns nil or offsets of assigned
// partitions only; Flush before any Write reports no progress.
func openContract(e *env) {
	a0, a1, a2 := e.tp(0, 0), e.tp(0, 1), e.tp(0, 2)
	a := e.newInst("A")
	a.openAt(offsets{})
	if got := a.flush(); len(got) != 0 {
		e.t.Errorf("Flush with no partition open reported %s, want nothing", formatOffsets(got))
	}
	// a1 resumes at 5: offsets reset past records the store never saw.
	r := a.openAt(offsets{a0: 0, a1: 5})
	a.flush() // no Write yet: any report must equal the resume offset
	a.write(interleave(e.records(a0, r[a0], 10), e.records(a1, r[a1], 12)))
	a.drain()
	a.close(a1)
	r2 := a.openAt(offsets{a2: 0}) // incremental: a0 stays open
	a.write(interleave(e.records(a0, 10, 14), e.records(a2, r2[a2], 6)))
	a.drain()
	r3 := a.openAt(offsets{a1: 12}) // a1 comes back
	a.write(e.records(a1, r3[a1], 15))
	a.drain()
	a.shutdown()
	e.checkExactlyOnce()
}

// flushReportsOnlyDurable: each single Flush is checked against the store
// (the flush helper does that for every Flush of the suite); records
// written after the last Flush are not committed, and a new instance
// resuming at the committed offsets rewrites them exactly once.
func flushReportsOnlyDurable(e *env) {
	p0, p1 := e.tp(0, 0), e.tp(0, 1)
	a := e.newInst("A")
	r := a.openAt(offsets{p0: 0, p1: 0})
	next := maps.Clone(r)
	for range 3 {
		a.write(interleave(e.records(p0, next[p0], next[p0]+5), e.records(p1, next[p1], next[p1]+5)))
		next[p0] += 5
		next[p1] += 5
		a.flush()
	}
	committed := a.drain()
	// Written, never flushed; then the instance dies.
	a.write(e.records(p0, committed[p0], committed[p0]+7))
	e.checkAtMostOnce()

	b := e.newInst("B")
	r = b.openAt(committed)
	b.write(e.records(p0, r[p0], 30))
	b.write(e.records(p1, r[p1], 20))
	b.drain()
	b.shutdown()
	e.checkExactlyOnce()
}

// rewriteAfterRetry: after a RetryableError the framework writes the same
// batch again, and the sink cannot tell whether it had taken the batch
// before failing; the batch is stored once.
func rewriteAfterRetry(e *env) {
	p0, p1 := e.tp(0, 0), e.tp(0, 1)
	a := e.newInst("A")
	r := a.openAt(offsets{p0: 0, p1: 0})
	first := interleave(e.records(p0, r[p0], 8), e.records(p1, r[p1], 8))
	a.write(slices.Clone(first))
	a.write(slices.Clone(first))
	a.flush()
	second := interleave(e.records(p0, 8, 13), e.records(p1, 8, 11))
	a.write(slices.Clone(second))
	a.write(slices.Clone(second))
	a.drain()
	a.shutdown()
	e.checkExactlyOnce()
}

// idempotentReplay: a new instance opened at the original start offset
// (offsets never committed, or reset to earliest) writes and flushes the
// same batches again; each record is stored once.
func idempotentReplay(e *env) {
	p0, p1 := e.tp(0, 0), e.tp(0, 1)
	for _, name := range []string{"A", "B"} {
		x := e.newInst(name)
		r := x.openAt(offsets{p0: 0, p1: 0})
		for _, b := range cut(interleave(e.records(p0, r[p0], 20), e.records(p1, r[p1], 17)), 6) {
			x.write(b)
		}
		x.drain()
		x.shutdown()
		e.checkExactlyOnce()
	}
}

// crashBetweenWriteAndCommit: A flushes records whose offsets are never
// committed and dies without Close or Stop; B resumes at the last committed
// offsets and rewrites the range cut into different batches.
func crashBetweenWriteAndCommit(e *env) {
	p0, p1 := e.tp(0, 0), e.tp(0, 1)
	a := e.newInst("A")
	r := a.openAt(offsets{p0: 0, p1: 0})
	for _, b := range cut(interleave(e.records(p0, r[p0], 15), e.records(p1, r[p1], 11)), 5) {
		a.write(b)
	}
	committed := a.drain()
	for _, b := range cut(interleave(e.records(p0, committed[p0], 40), e.records(p1, committed[p1], 31)), 7) {
		a.write(b)
	}
	a.drain() // durable, but the commit never happens: A dies here
	e.checkExactlyOnce()

	b := e.newInst("B")
	r = b.openAt(committed)
	for n, batch := range cut(interleave(e.records(p0, r[p0], 40), e.records(p1, r[p1], 31)), 3, 1, 4) {
		b.write(batch)
		if n%4 == 3 {
			b.flush()
		}
	}
	b.drain()
	b.write(interleave(e.records(p0, 40, 47), e.records(p1, 31, 35)))
	b.drain()
	b.shutdown()
	e.checkExactlyOnce()
}

// resumeInsideFlushedRange: the resume offset need not be one Flush
// returned (an operator moved the offsets, say). Records below it are kept,
// records at and above it are rewritten, each stored once.
func resumeInsideFlushedRange(e *env) {
	p0 := e.tp(0, 0)
	a := e.newInst("A")
	r := a.openAt(offsets{p0: 0})
	a.write(e.records(p0, r[p0], 20))
	a.drain()
	a.shutdown()

	b := e.newInst("B")
	r = b.openAt(offsets{p0: 13})
	for _, batch := range cut(e.records(p0, r[p0], 30), 4) {
		b.write(batch)
	}
	b.drain()
	b.shutdown()
	e.checkExactlyOnce()
}

// resetOffsets: a sink implementing connector.OffsetResetter is asked, on an
// instance that was never opened, where a backfill to given targets must
// start; it may move each target back, never forward; nothing below the
// returned offsets is lost; a replay from there is stored exactly once.
func resetOffsets(e *env) {
	rs := e.newInst("R")
	resetter, ok := rs.s.(connector.OffsetResetter)
	if !ok {
		e.t.Skip("the sink does not implement connector.OffsetResetter")
	}
	p0, p1 := e.tp(0, 0), e.tp(0, 1)
	a := e.newInst("A")
	r := a.openAt(offsets{p0: 0, p1: 0})
	for _, b := range cut(interleave(e.records(p0, r[p0], 21), e.records(p1, r[p1], 21)), 6) {
		a.write(b)
	}
	a.drain()
	a.shutdown()

	target := offsets{p0: 13, p1: 21}
	got, err := resetter.ResetOffsets(e.ctx, maps.Clone(target))
	if err != nil {
		e.t.Fatalf("R.ResetOffsets(%s): %v", formatOffsets(target), err)
	}
	resume := maps.Clone(target)
	for tp, off := range got {
		t, ok := target[tp]
		switch {
		case !ok:
			e.t.Errorf("ResetOffsets returned %s=%d, which was not a target", tp, off)
		case off < 0 || off > t:
			e.t.Errorf("ResetOffsets moved %s from %d to %d; it may only move a target back", tp, t, off)
		default:
			resume[tp] = off
		}
	}
	if err := rs.s.Stop(e.ctx); err != nil {
		e.t.Fatalf("R.Stop: %v", err)
	}
	stored := e.read()
	var p problems
	for _, tp := range []connector.TopicPartition{p0, p1} {
		e.checkDurable(stored, tp, resume[tp], &p)
	}
	p.report(e.t, "after ResetOffsets("+formatOffsets(target)+") returned "+formatOffsets(got)+", records below the new offsets are not stored exactly once")

	b := e.newInst("B")
	r = b.openAt(resume)
	for _, batch := range cut(interleave(e.records(p0, r[p0], 30), e.records(p1, r[p1], 30)), 5) {
		b.write(batch)
	}
	b.drain()
	b.shutdown()
	e.checkExactlyOnce()
}

// revokeAndReassign: p1 is revoked from A in the middle of a batch, before
// it was flushed; A reports no more progress for it; B takes p1 over from
// the committed offset while A goes on with p0; later p1 comes back to A,
// which must not resurrect what it dropped.
func revokeAndReassign(e *env) {
	p0, p1 := e.tp(0, 0), e.tp(0, 1)
	a := e.newInst("A")
	r := a.openAt(offsets{p0: 0, p1: 0})
	a.write(interleave(e.records(p0, r[p0], 10), e.records(p1, r[p1], 10)))
	committed := a.drain()
	a.write(interleave(e.records(p0, 10, 15), e.records(p1, committed[p1], committed[p1]+5)))
	a.close(p1)
	a.flush() // checked: nothing past committed[p1] for p1

	b := e.newInst("B")
	rb := b.openAt(offsets{p1: committed[p1]})
	for _, batch := range cut(e.records(p1, rb[p1], 20), 3) {
		b.write(batch)
		b.flush()
	}
	a.write(e.records(p0, 15, 20))
	b.drain()
	a.drain()
	e.checkExactlyOnce()

	b.shutdown() // p1 leaves B …
	r = a.openAt(offsets{p1: b.durable[p1]})
	a.write(e.records(p1, r[p1], 26)) // … and comes back to A
	a.drain()
	a.shutdown()
	e.checkExactlyOnce()
}

// badRecords: a batch mixing good records and records the sink must reject
// yields a *connector.BatchError naming exactly the bad indexes; the good
// records are stored once, the bad ones never, also on replay.
func badRecords(e *env) {
	if e.h.BadRecord == nil {
		e.t.Skip("Harness.BadRecord is nil: the sink accepts any value")
	}
	p0, p1 := e.tp(0, 0), e.tp(0, 1)
	mixed := func(r offsets) ([]connector.Record, []int) {
		var batch []connector.Record
		var bad []int
		for off := int64(0); off < 12; off++ {
			for _, tp := range []connector.TopicPartition{p0, p1} {
				switch {
				case off < r[tp]:
				case off%4 == 1 || (tp == p1 && off == 6):
					bad = append(bad, len(batch))
					batch = append(batch, e.badRecord(tp, off))
				default:
					batch = append(batch, e.record(tp, off))
				}
			}
		}
		return batch, bad
	}
	for _, name := range []string{"A", "B"} { // B replays what A wrote
		x := e.newInst(name)
		r := x.openAt(offsets{p0: 0, p1: 0})
		batch, bad := mixed(r)
		if len(bad) > 0 {
			e.wantBatchError(name, x.writeErr(batch), bad)
		} else if len(batch) > 0 {
			x.write(batch)
		}
		x.write(interleave(e.records(p0, max(12, r[p0]), 16), e.records(p1, max(12, r[p1]), 16)))
		x.drain()
		x.shutdown()
		e.checkExactlyOnce()
	}
}

// manySmallBatches: Write after Flush goes on correctly with many batches
// of one to four records spread over three partitions of two topics, with
// Flush calls in between.
func manySmallBatches(e *env) {
	var tps []connector.TopicPartition
	for topic := range 2 {
		for p := range int32(3) {
			tps = append(tps, e.tp(topic, p))
		}
	}
	a := e.newInst("A")
	assigned := offsets{}
	for _, tp := range tps {
		assigned[tp] = 0
	}
	next := a.openAt(assigned)
	rng := rand.New(rand.NewPCG(7, 11))
	writeUpTo := func(end int64) {
		for n := 1; ; n++ {
			var open []connector.TopicPartition
			for _, tp := range tps {
				if next[tp] < end {
					open = append(open, tp)
				}
			}
			if len(open) == 0 {
				return
			}
			var batch []connector.Record
			for range 1 + rng.IntN(4) {
				tp := open[rng.IntN(len(open))]
				if next[tp] < end {
					batch = append(batch, e.record(tp, next[tp]))
					next[tp]++
				}
			}
			a.write(batch)
			if n%5 == 0 {
				a.flush()
			}
		}
	}
	writeUpTo(30)
	a.drain()
	e.checkExactlyOnce()
	writeUpTo(55)
	a.drain()
	a.shutdown()
	e.checkExactlyOnce()
}

// closeThenStop: Close and Stop are clean after a drain, with partitions
// that never saw a record, and on an instance that was never opened.
func closeThenStop(e *env) {
	p0, p1 := e.tp(0, 0), e.tp(0, 1)
	a := e.newInst("A")
	r := a.openAt(offsets{p0: 0, p1: 0})
	a.write(interleave(e.records(p0, r[p0], 10), e.records(p1, r[p1], 10)))
	committed := a.drain()
	a.close(p0)
	a.close()
	a.close(p1)
	a.flush() // nothing is open: nothing may progress
	if err := a.s.Stop(e.ctx); err != nil {
		e.t.Fatalf("A.Stop after Close: %v", err)
	}

	b := e.newInst("B") // assigned and revoked without a record
	b.openAt(committed)
	b.flush()
	b.close(p0, p1)
	if err := b.s.Stop(e.ctx); err != nil {
		e.t.Fatalf("B.Stop after Close: %v", err)
	}

	c := e.newInst("C") // created, never assigned
	if err := c.s.Stop(e.ctx); err != nil {
		e.t.Fatalf("C.Stop without Open: %v", err)
	}
	e.checkExactlyOnce()
}

func formatOffsets(m offsets) string {
	if len(m) == 0 {
		return "{}"
	}
	s := "{"
	for _, tp := range slices.SortedFunc(maps.Keys(m), cmpTP) {
		if s != "{" {
			s += ", "
		}
		s += tp.String() + "=" + strconv.FormatInt(m[tp], 10)
	}
	return s + "}"
}
