package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/testservers"
	"github.com/connectd/connectd/sinks/clickhouse"
)

// dayEvent is a click event of offset off on 2026-03-0<day>, late in the
// evening; bad makes its duration_ms a string, which the events table
// rejects.
func dayEvent(tp connector.TopicPartition, off int64, day int, bad bool) connector.Record {
	dur := "5"
	if bad {
		dur = `"abc"`
	}
	v := fmt.Sprintf(`{"event_id":"e%d","timestamp":"2026-03-0%dT23:59:%02dZ","user_id":"u%d","event_type":"page_view","page_url":"/p","duration_ms":%s}`,
		off, day, off%60, off%7, dur)
	return connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off, Value: []byte(v), Timestamp: time.Now()}
}

// flushUntil calls Flush, again after a retryable error as the framework
// does, until done accepts what it reports for tp, and returns that; it
// fails t after a minute.
func flushUntil(t *testing.T, s *clickhouse.Sink, tp connector.TopicPartition, done func(reported int64) bool) int64 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := s.Flush(context.Background())
		if _, retry := connector.IsRetryable(err); err != nil && !retry {
			t.Fatal(err)
		}
		if err == nil && done(got[tp]) {
			return got[tp]
		}
		if time.Now().After(deadline) {
			t.Fatalf("Flush still reports %d for %s (%v)", got[tp], tp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAlternatingDaysMakeFewInserts writes 20,000 events of one
// partition whose day alternates every four records (late events of
// yesterday after midnight), with batch.size 5000 and merges stopped on
// the table: each day fills batches of its own, so the table gets four
// parts (one per INSERT), not one per change of day, and every row once.
func TestAlternatingDaysMakeFewInserts(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	ctx := context.Background()
	const total, size = 20000, 5000
	s := newSink(t, decode(t, with(serverKeys(srv, "native"), "table", "alternating", "batch.size", fmt.Sprint(size),
		"flush.interval.ms", "3600000")), "alternating")
	tp := connector.TopicPartition{Topic: "alternating", Partition: 0}
	if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tp: 0}); err != nil {
		t.Fatal(err)
	}
	// Every part that reaches the table stays one: a part per INSERT.
	query(t, srv, "SYSTEM STOP MERGES default.alternating")
	for off := int64(0); off < total; off += 500 {
		var batch []connector.Record
		for o := off; o < off+500; o++ {
			batch = append(batch, dayEvent(tp, o, 1+int(o/4%2), false))
		}
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	flushUntil(t, s, tp, func(r int64) bool { return r == total })
	if n := s.Buffered(); n != 0 {
		t.Errorf("Buffered = %d after everything was reported, want 0", n)
	}
	parts := query(t, srv, "SELECT count(), groupArray(rows) FROM system.parts WHERE database = 'default' AND table = 'alternating' AND active")
	t.Logf("parts (INSERTs), rows of each: %s", parts)
	if want := fmt.Sprintf("%d\t[%d,%d,%d,%d]", total/size, size, size, size, size); parts != want {
		t.Errorf("parts, rows of each = %s, want %s: one INSERT per full batch of a day", parts, want)
	}
	out := query(t, srv, "SELECT count(), uniqExact(_offset), uniqExact(toDate(timestamp)) FROM default.alternating")
	if want := fmt.Sprintf("%d\t%d\t2", total, total); out != want {
		t.Errorf("count, distinct offsets, days = %s, want %s", out, want)
	}
}

// TestResumeAfterOtherDayStored resumes a partition whose stored rows
// after the resume offset are not a prefix: with days alternating, the
// first batch of day 1 fills and is stored while day 2's batch is still
// growing, so Flush reports day 2's first offset. A new sink opened
// there gets the same records again: it stores each missing record once,
// skips each stored one, and rejects every invalid record of the replayed
// range again (for the dead-letter topic).
func TestResumeAfterOtherDayStored(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	ctx := context.Background()
	const total, size = 200, 100
	keys := with(serverKeys(srv, "native"), "table", "resume_days", "batch.size", fmt.Sprint(size), "flush.interval.ms", "3600000")
	tp := connector.TopicPartition{Topic: "resume-days", Partition: 0}
	var recs []connector.Record
	valid := 0
	for off := int64(0); off < total; off++ {
		day := 1
		if off%3 == 2 {
			day = 2
		}
		bad := off%10 == 7
		if !bad {
			valid++
		}
		recs = append(recs, dayEvent(tp, off, day, bad))
	}

	first := newSink(t, decode(t, keys), "resume-days")
	if _, err := first.Open(ctx, map[connector.TopicPartition]int64{tp: 0}); err != nil {
		t.Fatal(err)
	}
	var be *connector.BatchError
	if err := first.Write(ctx, recs); !errors.As(err, &be) {
		t.Fatalf("Write = %v, want a BatchError for the invalid records", err)
	}
	// Day 1's first batch is sent; day 2's and day 1's second still grow.
	resume := flushUntil(t, first, tp, func(int64) bool { return first.Buffered() == valid-size })
	if resume != 2 {
		t.Errorf("Flush reports %d, want 2: the first offset of day 2's unsent batch", resume)
	}
	stored := query(t, srv, "SELECT count(), uniqExact(toDate(timestamp)), max(_offset) > 150 FROM default.resume_days")
	if stored != fmt.Sprintf("%d\t1\t1", size) {
		t.Fatalf("stored before the restart (rows, days, reaches past 150) = %s, want one full batch of day 1", stored)
	}
	// A crash: the rows still buffered are lost.
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	second := newSink(t, decode(t, with(keys, "flush.interval.ms", "0")), "resume-days")
	if _, err := second.Open(ctx, map[connector.TopicPartition]int64{tp: resume}); err != nil {
		t.Fatal(err)
	}
	rejected := map[int64]bool{}
	for from := resume; from < total; from += 30 {
		batch := recs[from:min(from+30, total)]
		err := second.Write(ctx, batch)
		if err == nil {
			continue
		}
		if !errors.As(err, &be) {
			t.Fatalf("Write from %d = %v", from, err)
		}
		for _, re := range be.Records {
			rejected[batch[re.Index].Offset] = true
		}
	}
	for off := resume; off < total; off++ {
		if bad := off%10 == 7; bad != rejected[off] {
			t.Errorf("offset %d: rejected %t, want %t", off, rejected[off], bad)
		}
	}
	if got, err := second.Flush(ctx); err != nil || got[tp] != total {
		t.Fatalf("Flush = %v, %v; want %s=%d", got, err, tp, total)
	}
	out := query(t, srv, "SELECT count(), uniqExact(_offset), countIf(_offset % 10 = 7), uniqExact(toDate(timestamp)) FROM default.resume_days")
	if want := fmt.Sprintf("%d\t%d\t0\t2", valid, valid); out != want {
		t.Errorf("count, distinct offsets, invalid ones, days = %s, want %s", out, want)
	}
	// Every part is of one day, so every INSERT was one part.
	if mixed := query(t, srv, "SELECT count() FROM (SELECT _part FROM default.resume_days GROUP BY _part HAVING uniqExact(toDate(timestamp)) > 1)"); mixed != "0" {
		t.Errorf("%s parts hold rows of two days", strings.TrimSpace(mixed))
	}
}
