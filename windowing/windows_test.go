package windowing

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func countCfg(typ string, size, adv time.Duration) Config {
	c := baseConfig()
	c.Type, c.Size, c.Advance = typ, size, adv
	return c
}

func TestTumbling(t *testing.T) {
	cfg := countCfg("tumbling", time.Minute, 0)
	cfg.GroupBy = []string{"page_url"}
	w := mustNew(t, cfg, aggDefaults("count", "count"))
	outs := feed(t, w, []in{
		{"2026-03-01T10:00:00Z", 0, mk("page_url=/a")},
		{"2026-03-01T10:00:59.999Z", 0, mk("page_url=/a")},
		{"2026-03-01T10:00:30Z", 0, mk("page_url=/b")},
		{"2026-03-01T10:01:00Z", 0, mk("page_url=/a")}, // closes 10:00
		{"2026-03-01T10:02:00Z", 0, mk("page_url=/a")}, // closes 10:01
	})
	for i, o := range outs {
		if o.Verdict != Accepted || o.Windows != 1 {
			t.Fatalf("event %d: %+v", i, o)
		}
	}
	got := brief(w.TakeResults(nil))
	want := []string{
		"2026-03-01T10:00:00Z..2026-03-01T10:01:00Z map[page_url:/a] v1 map[count:2]",
		"2026-03-01T10:00:00Z..2026-03-01T10:01:00Z map[page_url:/b] v1 map[count:1]",
		"2026-03-01T10:01:00Z..2026-03-01T10:02:00Z map[page_url:/a] v1 map[count:1]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTumblingOffset(t *testing.T) {
	cfg := countCfg("tumbling", time.Hour, 0)
	cfg.Offset = 30 * time.Minute
	w := mustNew(t, cfg, aggDefaults("count", "count"))
	feed(t, w, []in{
		{"2026-03-01T10:29:59Z", 0, mk()},
		{"2026-03-01T10:30:00Z", 0, mk()},
		{"2026-03-01T11:29:00Z", 0, mk()},
		{"2026-03-01T11:30:00Z", 0, mk()},
	})
	got := brief(w.TakeResults(nil))
	want := []string{
		"2026-03-01T09:30:00Z..2026-03-01T10:30:00Z map[] v1 map[count:1]",
		"2026-03-01T10:30:00Z..2026-03-01T11:30:00Z map[] v1 map[count:2]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestHopping(t *testing.T) {
	w := mustNew(t, countCfg("hopping", 10*time.Minute, 5*time.Minute), aggDefaults("count", "count"))
	outs := feed(t, w, []in{
		{"2026-03-01T10:01:00Z", 0, mk()}, // [09:55,10:05) [10:00,10:10)
		{"2026-03-01T10:06:00Z", 0, mk()}, // [10:00,10:10) [10:05,10:15)
		{"2026-03-01T10:20:00Z", 0, mk()}, // closes all three
	})
	if outs[0].Windows != 2 || outs[1].Windows != 2 {
		t.Fatalf("outcomes %+v", outs)
	}
	got := brief(w.TakeResults(nil))
	want := []string{
		"2026-03-01T09:55:00Z..2026-03-01T10:05:00Z map[] v1 map[count:1]",
		"2026-03-01T10:00:00Z..2026-03-01T10:10:00Z map[] v1 map[count:2]",
		"2026-03-01T10:05:00Z..2026-03-01T10:15:00Z map[] v1 map[count:1]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLateness walks one window through out-of-order tolerance, grace,
// allowed lateness (re-emission) and the late output.
func TestLateness(t *testing.T) {
	cfg := countCfg("tumbling", time.Minute, 0)
	cfg.MaxOutOfOrder = 10 * time.Second
	cfg.Grace = 5 * time.Second
	cfg.AllowedLateness = 30 * time.Second
	w := mustNew(t, cfg, aggDefaults("count", "count"))
	steps := []struct {
		at      string
		verdict Verdict
		reason  Reason
		results []string
	}{
		{"2026-03-01T10:00:10Z", Accepted, ReasonNone, nil},
		{"2026-03-01T10:01:10Z", Accepted, ReasonNone, nil}, // wm 10:01:00 < end+grace
		{"2026-03-01T10:00:50Z", Accepted, ReasonNone, nil}, // out of order, window open
		{"2026-03-01T10:01:15Z", Accepted, ReasonNone, []string{ // wm 10:01:05 closes
			"2026-03-01T10:00:00Z..2026-03-01T10:01:00Z map[] v1 map[count:2]"}},
		{"2026-03-01T10:00:20Z", Accepted, ReasonNone, []string{ // late, within lateness
			"2026-03-01T10:00:00Z..2026-03-01T10:01:00Z map[] v2 map[count:3]"}},
		{"2026-03-01T10:01:45Z", Accepted, ReasonNone, nil}, // wm 10:01:35 = purge time
		{"2026-03-01T10:00:30Z", Rejected, ReasonTooLate, nil},
	}
	for i, s := range steps {
		o := w.Add(Input{TimeMs: ms(t, s.at), Offset: int64(i), Fields: mk()})
		if o.Verdict != s.verdict || o.Reason != s.reason {
			t.Fatalf("step %d (%s): got %v/%v, want %v/%v", i, s.at, o.Verdict, o.Reason, s.verdict, s.reason)
		}
		if got := brief(w.TakeResults(nil)); !reflect.DeepEqual(got, s.results) {
			t.Fatalf("step %d: results\n%s\nwant\n%s", i, strings.Join(got, "\n"), strings.Join(s.results, "\n"))
		}
	}
	st := w.Stats()
	if st.Late != 1 || st.Reemitted != 1 || st.Results != 2 || st.Events != 6 {
		t.Fatalf("stats %+v", st)
	}
}

func TestHoppingPartlyLate(t *testing.T) {
	w := mustNew(t, countCfg("hopping", 2*time.Minute, time.Minute), aggDefaults("count", "count"))
	feed(t, w, []in{{"2026-03-01T10:02:00Z", 0, mk()}})
	// wm 10:02:00: [10:00,10:02) is closed and purged; [10:01,10:03) open.
	o := w.Add(Input{TimeMs: ms(t, "2026-03-01T10:01:30Z"), Offset: 5, Fields: mk()})
	if o.Verdict != Partial || o.Reason != ReasonTooLate || o.Windows != 1 || o.Refused != 1 {
		t.Fatalf("%+v", o)
	}
	if st := w.Stats(); st.PartlyLate != 1 {
		t.Fatalf("%+v", st)
	}
}

func TestIdleTimeout(t *testing.T) {
	cfg := countCfg("tumbling", time.Minute, 0)
	cfg.IdleTimeout = 30 * time.Second
	w := mustNew(t, cfg, aggDefaults("count", "count"))
	now := ms(t, "2026-03-01T12:00:00Z") // the caller's clock
	w.Assign([]int32{0, 1}, now)
	feed(t, w, []in{
		{"2026-03-01T10:00:10Z", 0, mk()},
		{"2026-03-01T10:00:20Z", 1, mk()},
		{"2026-03-01T10:05:00Z", 0, mk()}, // partition 1 holds the watermark at 10:00:20
	})
	if w.PendingResults() != 0 {
		t.Fatal("partition 1 should hold the window open")
	}
	w.Tick(now + 10_000) // both had events: active
	w.Tick(now + 20_000)
	feed(t, w, []in{{"2026-03-01T10:05:01Z", 0, mk()}})
	w.Tick(now + 45_000) // partition 1 quiet for 35s > 30s: idle
	if _, _, idle, _ := w.PartitionWatermark(1); !idle {
		t.Fatal("partition 1 should be idle")
	}
	got := brief(w.TakeResults(nil))
	want := []string{"2026-03-01T10:00:00Z..2026-03-01T10:01:00Z map[] v1 map[count:2]"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	if wm := w.Watermark(); wm != ms(t, "2026-03-01T10:05:01Z") {
		t.Fatalf("watermark %s", rfc(wm))
	}
}

func TestUnassignedPartitionHoldsUntilIdle(t *testing.T) {
	cfg := countCfg("tumbling", time.Minute, 0)
	cfg.IdleTimeout = 30 * time.Second
	w := mustNew(t, cfg, aggDefaults("count", "count"))
	w.Assign([]int32{0, 1}, 0)
	feed(t, w, []in{{"2026-03-01T10:00:10Z", 0, mk()}, {"2026-03-01T10:02:00Z", 0, mk()}})
	if w.PendingResults() != 0 {
		t.Fatal("empty partition 1 should hold the watermark")
	}
	w.Tick(31_000)
	if w.PendingResults() != 1 {
		t.Fatalf("pending %d", w.PendingResults())
	}
}

func TestDuplicateOffset(t *testing.T) {
	w := mustNew(t, countCfg("tumbling", time.Minute, 0), aggDefaults("count", "count"))
	e := mk()
	w.Add(Input{TimeMs: 1000, Partition: 3, Offset: 7, Fields: e})
	if o := w.Add(Input{TimeMs: 1000, Partition: 3, Offset: 7, Fields: e}); o.Verdict != Duplicate {
		t.Fatalf("%+v", o)
	}
	if o := w.Add(Input{TimeMs: 1000, Partition: 3, Offset: -1, Fields: e}); o.Verdict != Accepted {
		t.Fatalf("%+v", o)
	}
}

func TestBounds(t *testing.T) {
	cfg := countCfg("tumbling", time.Minute, 0)
	cfg.MaxWindows = 2
	cfg.MaxKeys = 2
	cfg.GroupBy = []string{"page_url"}
	w := mustNew(t, cfg, aggDefaults("count", "count"))
	cfg.MaxOutOfOrder = time.Hour
	w = mustNew(t, cfg, aggDefaults("count", "count"))
	outs := feed(t, w, []in{
		{"2026-03-01T10:00:00Z", 0, mk("page_url=/a")},
		{"2026-03-01T10:00:01Z", 0, mk("page_url=/b")},
		{"2026-03-01T10:00:02Z", 0, mk("page_url=/c")}, // third key: refused
		{"2026-03-01T10:01:00Z", 0, mk("page_url=/a")},
		{"2026-03-01T10:02:00Z", 0, mk("page_url=/a")}, // third window: 10:00 closed early
		{"2026-03-01T10:00:30Z", 0, mk("page_url=/a")}, // its window was evicted
	})
	if outs[2].Verdict != Rejected || outs[2].Reason != ReasonKeyLimit {
		t.Fatalf("%+v", outs[2])
	}
	if outs[5].Verdict != Rejected || outs[5].Reason != ReasonWindowLimit {
		t.Fatalf("%+v", outs[5])
	}
	got := brief(w.TakeResults(nil))
	want := []string{
		"2026-03-01T10:00:00Z..2026-03-01T10:01:00Z map[page_url:/a] v1 map[count:1] early",
		"2026-03-01T10:00:00Z..2026-03-01T10:01:00Z map[page_url:/b] v1 map[count:1] early",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	st := w.Stats()
	if st.KeyLimited != 1 || st.WindowsEvicted != 1 || st.WindowLimited != 1 {
		t.Fatalf("%+v", st)
	}
}

func TestSessionWindows(t *testing.T) {
	cfg := baseConfig()
	cfg.Type = "session"
	cfg.SessionGap = 30 * time.Minute
	cfg.AllowedLateness = 3 * time.Hour
	cfg.GroupBy = []string{"user_id"}
	w := mustNew(t, cfg, aggDefaults("count", "count"))
	u := mk("user_id=u1")
	feed(t, w, []in{
		{"2026-03-01T10:00:00Z", 0, u},
		{"2026-03-01T10:20:00Z", 0, u},
		{"2026-03-01T11:00:00Z", 0, u}, // 40 min gap: a second session
		{"2026-03-01T13:00:00Z", 0, mk("user_id=u2")},
	})
	got := brief(w.TakeResults(nil))
	want := []string{
		"2026-03-01T10:00:00Z..2026-03-01T10:50:00Z map[user_id:u1] v1 map[count:2]",
		"2026-03-01T11:00:00Z..2026-03-01T11:30:00Z map[user_id:u1] v1 map[count:1]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A late event at 10:40 bridges both: their results are retracted and
	// the merged session is emitted (it is already past its close time).
	feed(t, w, []in{{"2026-03-01T10:40:00Z", 1, u}})
	got = brief(w.TakeResults(nil))
	want = []string{
		"2026-03-01T10:00:00Z..2026-03-01T10:50:00Z map[user_id:u1] v2 retract",
		"2026-03-01T11:00:00Z..2026-03-01T11:30:00Z map[user_id:u1] v2 retract",
		"2026-03-01T10:00:00Z..2026-03-01T11:30:00Z map[user_id:u1] v3 map[count:4]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st := w.Stats(); st.Retracted != 2 || st.Sessions != 2 || st.SessionKeys != 2 {
		t.Fatalf("%+v", st)
	}
}

func TestSessionMergeWhileOpen(t *testing.T) {
	cfg := baseConfig()
	cfg.Type = "session"
	cfg.SessionGap = 10 * time.Minute
	cfg.MaxOutOfOrder = time.Hour
	cfg.GroupBy = []string{"user_id"}
	w := mustNew(t, cfg, aggDefaults("count", "count"))
	u := mk("user_id=u1")
	feed(t, w, []in{
		{"2026-03-01T10:00:00Z", 0, u},
		{"2026-03-01T10:30:00Z", 0, u},
		{"2026-03-01T10:15:00Z", 0, u}, // not yet a bridge: 15 min from each
		{"2026-03-01T10:08:00Z", 0, u}, // bridges 10:00 and 10:15
		{"2026-03-01T10:22:00Z", 0, u}, // bridges to 10:30
		{"2026-03-01T12:00:00Z", 0, mk("user_id=u9")},
	})
	got := brief(w.TakeResults(nil))
	want := []string{"2026-03-01T10:00:00Z..2026-03-01T10:40:00Z map[user_id:u1] v1 map[count:5]"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestResultIDAndJSON(t *testing.T) {
	id := resultID("c", "window", []byte("\x02/a"), 0, 60000)
	if id != resultID("c", "window", []byte("\x02/a"), 0, 60000) || len(id) != 32 {
		t.Fatal(id)
	}
	if id == resultID("c", "window", []byte("\x02/a"), 0, 60001) || id == resultID("d", "window", []byte("\x02/a"), 0, 60000) {
		t.Fatal("ids collide")
	}
	// Pinned: the id must never change across releases and platforms.
	if id != "5530fe837f4649d04db52a79ef7dca52" {
		t.Fatalf("result id changed: %s", id)
	}
	r := Result{ID: id, Version: 2, Aggregate: "window", WindowStart: msOf("2026-03-01T10:00:00Z"),
		WindowEnd: msOf("2026-03-01T10:01:00.5Z"), Key: map[string]string{"page_url": "/a"},
		Values: map[string]any{"count": int64(3), "top_pages": []TopEntry{{"/a", 3}}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"` + id + `","version":2,"aggregate":"window","window_start":"2026-03-01T10:00:00Z","window_end":"2026-03-01T10:01:00.5Z","key":{"page_url":"/a"},"values":{"count":3,"top_pages":[{"value":"/a","count":3}]}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		key  string
		msg  string
	}{
		{"tumbling needs size", func(c *Config) { c.Size = 0 }, "window.size.ms", "is required for tumbling"},
		{"tumbling with advance", func(c *Config) { c.Advance = time.Second }, "window.advance.ms", "set window.type=hopping"},
		{"hopping not multiple", func(c *Config) { c.Type, c.Advance = "hopping", 7*time.Second }, "window.advance.ms", "must be a multiple"},
		{"hopping advance > size", func(c *Config) { c.Type, c.Advance = "hopping", 2*time.Minute }, "window.advance.ms", "skip events"},
		{"hopping no advance", func(c *Config) { c.Type = "hopping" }, "window.advance.ms", "is required for hopping"},
		{"offset too big", func(c *Config) { c.Offset = time.Minute }, "window.offset.ms", "less than window.size.ms"},
		{"session with size", func(c *Config) { c.Type, c.GroupBy = "session", []string{"user_id"} }, "window.size.ms", "does not apply to session"},
		{"session without key", func(c *Config) { c.Type, c.Size = "session", 0 }, "group.by", "is required for session"},
		{"no aggregates", func(c *Config) { c.Aggregates = nil }, "aggregates", "is required"},
		{"dup aggregate", func(c *Config) { c.Aggregates = []string{"a", "a"} }, "aggregates", "twice"},
		{"bad type", func(c *Config) { c.Type = "sliding" }, "window.type", "not one of"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := countCfg("tumbling", time.Minute, 0)
			c.Aggregates = []string{"count"}
			tc.mod(&c)
			err := c.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key || !strings.Contains(ce.Message, tc.msg) {
				t.Fatalf("got %v, want key %s with %q", err, tc.key, tc.msg)
			}
		})
	}
	// Measure-level problems, found by New.
	c := countCfg("tumbling", time.Minute, 0)
	s := aggDefaults("s", "sessions")
	f := aggDefaults("f", "funnel")
	f.Steps = []string{"event_type=purchase"}
	d := aggDefaults("d", "distinct")
	c.Aggregates = []string{"s", "f", "d", "missing"}
	_, err := New("c", c, []AggregateConfig{s, f, d})
	for _, want := range []string{
		`"aggregate.s.type": sessions needs session windows`,
		`"aggregate.f.steps": a funnel needs at least two steps`,
		`"aggregate.d.field": is required for distinct`,
		`"aggregate.missing.type": is required`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
}
