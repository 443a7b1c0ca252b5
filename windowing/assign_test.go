package windowing

import (
	"testing"
	"time"
)

// TestRestoredPartitionsAreNotIdleOnAssign: a worker restarts long after
// its predecessor stopped. Its restored partitions must not count as idle
// at the first Tick: that would move the watermark to the newest
// partition's and turn the lagging partition's next events late.
func TestRestoredPartitionsAreNotIdleOnAssign(t *testing.T) {
	cfg := countCfg("tumbling", time.Minute, 0)
	cfg.IdleTimeout = time.Minute
	w := mustNew(t, cfg, aggDefaults("count", "count"))
	wall := ms(t, "2026-03-01T12:00:00Z")
	w.Assign([]int32{0, 1}, wall)
	// Partition 0 is far ahead in event time, partition 1 behind.
	w.Add(Input{TimeMs: ms(t, "2026-03-01T10:30:00Z"), Partition: 0, Offset: 0, Fields: mk()})
	w.Add(Input{TimeMs: ms(t, "2026-03-01T10:00:10Z"), Partition: 1, Offset: 0, Fields: mk()})
	w.Tick(wall + 1000)

	b := mustNew(t, cfg, aggDefaults("count", "count"))
	for _, rec := range w.Snapshot(nil) {
		if err := b.Load(rec); err != nil {
			t.Fatal(err)
		}
	}
	later := wall + int64(3*time.Hour/time.Millisecond) // the worker was down for hours
	b.Assign([]int32{0, 1}, later)
	b.Tick(later + 1000)
	out := b.Add(Input{TimeMs: ms(t, "2026-03-01T10:00:20Z"), Partition: 1, Offset: 1, Fields: mk()})
	if out.Verdict != Accepted {
		t.Fatalf("the lagging partition's next event after the restart: %+v, want accepted (watermark %s)", out, rfc(b.Watermark()))
	}
}

func TestBoundsHit(t *testing.T) {
	prev := Stats{KeyLimited: 2, WindowsEvicted: 1}
	cur := Stats{KeyLimited: 5, WindowsEvicted: 1, ValuesOverflowed: 4}
	if got, want := cur.BoundsHit(prev), "3 window×key additions refused by max.keys; 4 values counted as (other) by max.values"; got != want {
		t.Errorf("BoundsHit = %q, want %q", got, want)
	}
	if got := cur.BoundsHit(cur); got != "" {
		t.Errorf("no change: %q", got)
	}
}
