package clickhouse

import (
	"fmt"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
)

// TestBatchesPerDay feeds one partition's batches without a server:
// records go to the open batch of their day, a batch is cut at
// batch.size, a fifth day cuts the batch whose first row is the oldest,
// every batch holds one day, and the lowest first offset over the
// batches is what Flush would report.
func TestBatchesPerDay(t *testing.T) {
	cfg := &Config{}
	if errs := connector.DecodeConfig(map[string]string{"batch.size": "3"}, cfg, ""); len(errs) > 0 {
		t.Fatal(errs)
	}
	s, err := New(cfg, connector.TaskInfo{Connector: "perday"})
	if err != nil {
		t.Fatal(err)
	}
	tp := connector.TopicPartition{Topic: "perday", Partition: 0}
	p := &partition{tp: tp, tbl: &table{name: "perday", kind: kindEvents}}
	s.parts[tp] = p
	days := []int{1, 2, 1, 2, 1, 2, 1, 3, 4, 5, 2, 3, 3, 1}
	for off, day := range days {
		v := fmt.Sprintf(`{"event_id":"e%d","timestamp":"2026-03-0%dT12:00:00Z","user_id":"u"}`, off, day)
		rec := connector.Record{Topic: tp.Topic, Offset: int64(off), Value: []byte(v), Timestamp: time.Now()}
		if err := s.add(p, &rec); err != nil {
			t.Fatal(err)
		}
	}
	describe := func(bs []*batch) string {
		out := ""
		for _, b := range bs {
			out += fmt.Sprintf("[%d:%v]", b.day-20512, b.offsets)
		}
		return out
	}
	// 4: day 1's 0 2 4 are full (cut); 5: day 2's 1 3 5 too; 6-9 open
	// days 1 3 4 5; 10 (day 2) would open a fifth day: day 1's batch,
	// whose first row (6) is the oldest, is cut first; 12 fills day 3
	// (cut); 13 opens day 1 again.
	if got, want := describe(p.sent), "[1:[0 2 4]][2:[1 3 5]][1:[6]][3:[7 11 12]]"; got != want {
		t.Errorf("cut batches %s, want %s", got, want)
	}
	if got, want := describe(p.open), "[4:[8]][5:[9]][2:[10]][1:[13]]"; got != want {
		t.Errorf("open batches %s, want %s", got, want)
	}
	if s.Buffered() != len(days) {
		t.Errorf("Buffered = %d, want %d", s.Buffered(), len(days))
	}
	for _, bs := range [][]*batch{p.sent, p.open} {
		for _, b := range bs {
			if b.first != b.offsets[0] || b.last != b.offsets[b.n-1] {
				t.Errorf("batch of day %d: first %d, last %d, rows %v", b.day, b.first, b.last, b.offsets)
			}
		}
	}
	if low, ok := p.unacked(); !ok || low != 0 {
		t.Errorf("unacked = %d, %t; want 0", low, ok)
	}
	p.sent = p.sent[2:] // the first two stored
	if low, _ := p.unacked(); low != 6 {
		t.Errorf("unacked after the first two are stored = %d, want 6", low)
	}
	// Day 2 fills (10 14 15) while days 4 and 5 still grow from 8 and 9:
	// a queued batch whose first row is after an open one's.
	for off := 14; off < 16; off++ {
		v := fmt.Sprintf(`{"event_id":"e%d","timestamp":"2026-03-02T12:00:00Z","user_id":"u"}`, off)
		rec := connector.Record{Topic: tp.Topic, Offset: int64(off), Value: []byte(v), Timestamp: time.Now()}
		if err := s.add(p, &rec); err != nil {
			t.Fatal(err)
		}
	}
	p.sent = p.sent[2:] // 6 and 7 stored
	if got, want := describe(p.sent)+" "+describe(p.open), "[2:[10 14 15]] [4:[8]][5:[9]][1:[13]]"; got != want {
		t.Fatalf("batches %s, want %s", got, want)
	}
	if low, _ := p.unacked(); low != 8 {
		t.Errorf("unacked = %d, want 8: the first row of day 4's open batch", low)
	}
}

func TestOffsetSet(t *testing.T) {
	set := offsetSet{ranges: []offsetRange{{3, 5}, {8, 8}, {10, 12}}}
	var got []int64
	for off := int64(0); off < 15; off++ {
		if set.has(off) {
			got = append(got, off)
		}
	}
	if fmt.Sprint(got) != "[3 4 5 8 10 11 12]" {
		t.Errorf("has is true for %v, want [3 4 5 8 10 11 12]", got)
	}
	if set.ranges != nil {
		t.Errorf("ranges %v kept after every one was passed", set.ranges)
	}
}
