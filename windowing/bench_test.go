package windowing

import (
	"runtime"
	"testing"
	"time"
)

// fastEv is a caller-side event with pre-extracted fields, standing in for
// the connector's fastjson view.
type fastEv struct {
	user, sid, typ, page, dev, ref, country string
	dur, rev                                float64
	hasRev                                  bool
}

func (e *fastEv) Str(n string) (string, bool) {
	switch n {
	case "user_id":
		return e.user, true
	case "session_id":
		return e.sid, true
	case "event_type":
		return e.typ, true
	case "page_url":
		return e.page, true
	case "device_type":
		return e.dev, true
	case "referrer":
		return e.ref, true
	case "country":
		return e.country, true
	}
	return "", false
}

func (e *fastEv) Num(n string) (float64, bool) {
	switch n {
	case "duration_ms":
		return e.dur, true
	case "revenue":
		return e.rev, e.hasRev
	}
	return 0, false
}

// benchEvents makes n events of users users, mean stepMs apart.
func benchEvents(n, users int, stepMs int64) ([]fastEv, []int64) {
	s := newSynth(1, users, msOf("2026-03-01T00:00:00Z"))
	evs := make([]fastEv, n)
	ts := make([]int64, n)
	for i := range evs {
		e, t := s.next(stepMs)
		evs[i] = fastEv{user: e.s["user_id"], sid: e.s["session_id"], typ: e.s["event_type"], page: e.s["page_url"],
			dev: e.s["device_type"], ref: e.s["referrer"], country: e.s["country"], dur: e.n["duration_ms"]}
		evs[i].rev, evs[i].hasRev = e.n["revenue"]
		ts[i] = t
	}
	return evs, ts
}

func runBench(b *testing.B, ws []*Windower, users int, stepMs int64) {
	const n = 1 << 18
	evs, ts := benchEvents(n, users, stepMs)
	span := ts[n-1] - ts[0] + stepMs
	b.ReportAllocs()
	b.ResetTimer()
	var results []Result
	for i := 0; i < b.N; i++ {
		j := i % n
		t := ts[j] + int64(i/n)*span
		for _, w := range ws {
			w.Add(Input{TimeMs: t, Partition: 0, Offset: int64(i), Fields: &evs[j]})
		}
		if i%1024 == 0 {
			for _, w := range ws {
				results = w.TakeResults(results[:0])
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func metricSet(t testing.TB, size time.Duration) *Windower {
	cfg := baseConfig()
	cfg.Size = size
	cfg.MaxOutOfOrder = 5 * time.Second
	users := aggDefaults("unique_users", "distinct")
	users.Field = "user_id"
	sessions := aggDefaults("unique_sessions", "distinct")
	sessions.Field = "session_id"
	aggs := []AggregateConfig{aggDefaults("count", "count"), users, sessions}
	for _, f := range []struct{ name, field string }{{"by_event_type", "event_type"}, {"by_device", "device_type"},
		{"by_referrer", "referrer"}, {"by_page", "page_url"}} {
		a := aggDefaults(f.name, "count_by")
		a.Field = f.field
		aggs = append(aggs, a)
	}
	dur := aggDefaults("duration_ms", "stats")
	dur.Field = "duration_ms"
	return mustNew(t, cfg, append(aggs, dur)...)
}

func sessionSet(t testing.TB) *Windower {
	cfg := baseConfig()
	cfg.Type, cfg.GroupBy, cfg.SessionGap = "session", []string{"user_id"}, 30*time.Minute
	cfg.MaxOutOfOrder = 5 * time.Second
	return mustNew(t, cfg, aggDefaults("session", "sessions"))
}

// BenchmarkMetricSet5m: 5-minute tumbling windows with count, unique users,
// unique sessions, counts by event type, device, referrer and page, and
// duration stats; 2000 events/s of event time over 100k users.
func BenchmarkMetricSet5m(b *testing.B) {
	runBench(b, []*Windower{metricSet(b, 5*time.Minute)}, 100_000, 1)
}

// BenchmarkSessions30m: 30-minute-gap sessions per user.
func BenchmarkSessions30m(b *testing.B) {
	runBench(b, []*Windower{sessionSet(b)}, 100_000, 1)
}

// BenchmarkFunnel: a four-step checkout funnel per 5-minute window.
func BenchmarkFunnel(b *testing.B) {
	cfg := baseConfig()
	cfg.Size = 5 * time.Minute
	f := aggDefaults("checkout", "funnel")
	f.Steps = []string{"page_url^=/p/", "event_type=add_to_cart", "page_url^=/checkout", "event_type=purchase"}
	runBench(b, []*Windower{mustNew(b, cfg, f)}, 100_000, 1)
}

// BenchmarkTumbling1mHLLPlusSessions: the connector's end-to-end target
// shape: 1-minute tumbling counts with unique users and sessions, plus
// 30-minute-gap sessions, both fed every event.
func BenchmarkTumbling1mHLLPlusSessions(b *testing.B) {
	cfg := baseConfig()
	cfg.Size = time.Minute
	users := aggDefaults("unique_users", "distinct")
	users.Field = "user_id"
	sessions := aggDefaults("unique_sessions", "distinct")
	sessions.Field = "session_id"
	w := mustNew(b, cfg, aggDefaults("count", "count"), users, sessions)
	runBench(b, []*Windower{w, sessionSet(b)}, 100_000, 1)
}

// BenchmarkSessionStateBytes measures the heap held per active session
// (200k users, about 6 page views each, all sessions open).
func BenchmarkSessionStateBytes(b *testing.B) {
	for i := 0; i < b.N; i++ {
		const users = 200_000
		evs, _ := benchEvents(users*8, users, 1)
		t0 := msOf("2026-03-01T00:00:00Z")
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		w := sessionSet(b)
		for j := range evs {
			w.Add(Input{TimeMs: t0 + int64(j/users)*1000, Offset: -1, Fields: &evs[j]})
		}
		w.Changes(nil) // as the connector does every transaction
		runtime.GC()
		runtime.ReadMemStats(&m1)
		st := w.Stats()
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/float64(st.Sessions), "bytes/session")
		b.ReportMetric(float64(st.Sessions), "sessions")
		runtime.KeepAlive(w)
		runtime.KeepAlive(evs)
	}
}

// BenchmarkAggregate measures each aggregate type alone in 5-minute
// tumbling windows (sessions in 30-minute-gap session windows), so a cost
// can be told apart from the others'.
func BenchmarkAggregate(b *testing.B) {
	cases := []struct {
		name string
		agg  func() AggregateConfig
	}{
		{"count", func() AggregateConfig { return aggDefaults("count", "count") }},
		{"count_by", func() AggregateConfig { a := aggDefaults("by_page", "count_by"); a.Field = "page_url"; return a }},
		{"distinct", func() AggregateConfig { a := aggDefaults("users", "distinct"); a.Field = "user_id"; return a }},
		{"top_k", func() AggregateConfig { a := aggDefaults("top", "top_k"); a.Field, a.K = "page_url", 10; return a }},
		{"stats", func() AggregateConfig { a := aggDefaults("dur", "stats"); a.Field = "duration_ms"; return a }},
		{"alert", func() AggregateConfig {
			a := aggDefaults("hot", "alert")
			a.Filter, a.Threshold = []string{"event_type=page_view"}, 1000
			return a
		}},
		{"funnel", func() AggregateConfig {
			a := aggDefaults("checkout", "funnel")
			a.Steps = []string{"page_url^=/p/", "event_type=add_to_cart", "page_url^=/checkout", "event_type=purchase"}
			return a
		}},
		{"sessions", func() AggregateConfig { return aggDefaults("session", "sessions") }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			cfg := baseConfig()
			cfg.Size, cfg.MaxOutOfOrder = 5*time.Minute, 5*time.Second
			if c.name == "sessions" {
				cfg.Type, cfg.GroupBy, cfg.Size = "session", []string{"user_id"}, 0
			}
			runBench(b, []*Windower{mustNew(b, cfg, c.agg())}, 100_000, 1)
		})
	}
}
