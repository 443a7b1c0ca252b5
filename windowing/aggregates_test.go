package windowing

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestAggregatesHandComputed(t *testing.T) {
	cfg := countCfg("tumbling", 5*time.Minute, 0)
	cfg.MaxOutOfOrder = time.Minute
	users := aggDefaults("unique_users", "distinct")
	users.Field = "user_id"
	sessions := aggDefaults("unique_sessions", "distinct")
	sessions.Field = "session_id"
	byType := aggDefaults("by_event_type", "count_by")
	byType.Field = "event_type"
	byDevice := aggDefaults("by_device", "count_by")
	byDevice.Field = "device_type"
	top := aggDefaults("top_pages", "top_k")
	top.Field, top.K = "page_url", 2
	dur := aggDefaults("duration_ms", "stats")
	dur.Field = "duration_ms"
	rev := aggDefaults("revenue", "stats")
	rev.Field = "revenue"
	fun := aggDefaults("checkout", "funnel")
	fun.Steps = []string{"page_url^=/products", "event_type=add_to_cart", "page_url^=/checkout", "event_type=purchase"}
	alert := aggDefaults("hot", "alert")
	alert.Filter, alert.Threshold = []string{"event_type=page_view"}, 4
	w := mustNew(t, cfg, aggDefaults("count", "count"), users, sessions, byType, byDevice, top, dur, rev, fun, alert)

	e := func(u, s, typ, page, dev, dur string, extra ...string) *ev {
		return mk(append([]string{"user_id=" + u, "session_id=" + s, "event_type=" + typ, "page_url=" + page,
			"device_type=" + dev, "duration_ms=" + dur}, extra...)...)
	}
	feed(t, w, []in{
		{"2026-03-01T10:00:01Z", 0, e("u1", "s1", "page_view", "/products/1", "desktop", "1000")},
		{"2026-03-01T10:00:02Z", 0, e("u1", "s1", "add_to_cart", "/products/1", "desktop", "2000")},
		{"2026-03-01T10:00:03Z", 0, e("u2", "s2", "page_view", "/products/2", "mobile", "3000")},
		{"2026-03-01T10:00:04Z", 0, e("u1", "s1", "page_view", "/checkout", "desktop", "4000")},
		{"2026-03-01T10:00:05Z", 0, e("u1", "s1", "purchase", "/checkout", "desktop", "5000", "revenue=19.99")},
		{"2026-03-01T10:00:06Z", 0, e("u2", "s2", "page_view", "/checkout", "mobile", "6000")},
		{"2026-03-01T10:00:07Z", 0, e("u3", "s3", "add_to_cart", "/products/3", "mobile", "7000")},
		{"2026-03-01T10:00:00.5Z", 0, e("u3", "s3", "page_view", "/products/3", "mobile", "8000")},
		{"2026-03-01T10:06:00Z", 0, mk()}, // closes the window
	})
	rs := w.TakeResults(nil)
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	want := map[string]any{
		"count":             int64(8),
		"unique_users":      int64(3),
		"unique_sessions":   int64(3),
		"by_event_type":     map[string]int64{"page_view": 5, "add_to_cart": 2, "purchase": 1},
		"by_device":         map[string]int64{"desktop": 4, "mobile": 4},
		"top_pages":         []TopEntry{{"/checkout", 3}, {"/products/1", 2}},
		"count_duration_ms": int64(8), "sum_duration_ms": 36000.0, "avg_duration_ms": 4500.0,
		"min_duration_ms": 1000.0, "max_duration_ms": 8000.0, "p50_duration_ms": 4000.0, "p95_duration_ms": 8000.0,
		"count_revenue": int64(1), "sum_revenue": 19.99, "avg_revenue": 19.99,
		"min_revenue": 19.99, "max_revenue": 19.99, "p50_revenue": 19.99, "p95_revenue": 19.99,
		"checkout": FunnelValue{Steps: []FunnelStep{
			{"page_url^=/products", 3, 1, 1},
			{"event_type=add_to_cart", 2, 2.0 / 3, 2.0 / 3},
			{"page_url^=/checkout", 1, 1.0 / 3, 0.5},
			{"event_type=purchase", 1, 1.0 / 3, 1},
		}, Conversion: 1.0 / 3},
		"hot": AlertValue{Count: 5, Threshold: 4, Fired: true},
	}
	for k, v := range want {
		if !reflect.DeepEqual(rs[0].Values[k], v) {
			t.Errorf("%s = %#v, want %#v", k, rs[0].Values[k], v)
		}
	}
	if len(rs[0].Values) != len(want) {
		t.Errorf("values %v", rs[0].Values)
	}
	if !reflect.DeepEqual(rs[0].Alerts, []string{"hot"}) {
		t.Errorf("alerts %v", rs[0].Alerts)
	}
}

func TestCountByOverflowAndTopKTies(t *testing.T) {
	cfg := countCfg("tumbling", time.Minute, 0)
	by := aggDefaults("by_page", "count_by")
	by.Field, by.MaxValues = "page_url", 2
	w := mustNew(t, cfg, by)
	feed(t, w, []in{
		{"2026-03-01T10:00:01Z", 0, mk("page_url=/a")},
		{"2026-03-01T10:00:02Z", 0, mk("page_url=/b")},
		{"2026-03-01T10:00:03Z", 0, mk("page_url=/c")},
		{"2026-03-01T10:00:04Z", 0, mk("page_url=/a")},
		{"2026-03-01T10:01:00Z", 0, mk("page_url=/z")},
	})
	rs := w.TakeResults(nil)
	want := map[string]int64{"/a": 2, "/b": 1, "(other)": 1}
	if !reflect.DeepEqual(rs[0].Values["by_page"], want) {
		t.Fatalf("%v", rs[0].Values)
	}
	if w.Stats().ValuesOverflowed != 1 {
		t.Fatal(w.Stats())
	}
}

func sessionCfg() Config {
	cfg := baseConfig()
	cfg.Type = "session"
	cfg.SessionGap = 30 * time.Minute
	cfg.MaxOutOfOrder = 5 * time.Minute
	cfg.GroupBy = []string{"user_id"}
	return cfg
}

func TestSessionsAggregate(t *testing.T) {
	w := mustNew(t, sessionCfg(), aggDefaults("session", "sessions"), aggDefaults("events", "count"))
	const sid = "0b7e7dee-87a5-4b0e-9c1f-2a6f1c2b3d4e"
	u := func(typ, page string, extra ...string) *ev {
		return mk(append([]string{"user_id=u1", "session_id=" + sid, "event_type=" + typ, "page_url=" + page}, extra...)...)
	}
	feed(t, w, []in{
		{"2026-03-01T10:00:00Z", 0, u("page_view", "/")},
		{"2026-03-01T10:01:00Z", 0, u("page_view", "/c/shoes")},
		{"2026-03-01T10:03:00Z", 0, u("add_to_cart", "/p/1")},
		{"2026-03-01T10:02:00Z", 0, u("page_view", "/p/1")}, // out of order: goes into the path in time order
		{"2026-03-01T10:04:00Z", 0, u("purchase", "/checkout", "revenue=49.99")},
		{"2026-03-01T10:05:00Z", 0, u("page_view", "/thanks")},
		{"2026-03-01T10:00:00Z", 0, mk("user_id=u2", "session_id=s-2", "event_type=page_view", "page_url=/")},
		{"2026-03-01T12:00:00Z", 0, mk("user_id=u3")},
	})
	rs := w.TakeResults(nil)
	got := brief(rs)
	want := []string{
		"2026-03-01T10:00:00Z..2026-03-01T10:30:00Z map[user_id:u2] v1 map[bounce:true converted:false duration_ms:0 end:2026-03-01T10:00:00Z events:1 exit_page:/ landing_page:/ page_count:1 path:[/] revenue:0 session_id:s-2 start:2026-03-01T10:00:00Z user:u2]",
		"2026-03-01T10:00:00Z..2026-03-01T10:35:00Z map[user_id:u1] v1 map[bounce:false converted:true duration_ms:300000 end:2026-03-01T10:05:00Z events:6 exit_page:/thanks landing_page:/ page_count:4 path:[/ /c/shoes /p/1 /thanks] revenue:49.99 session_id:" + sid + " start:2026-03-01T10:00:00Z user:u1]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%v\nwant\n%v", got, want)
	}
}

func TestSessionPathFirstPagesByTime(t *testing.T) {
	a := aggDefaults("session", "sessions")
	a.PathMax = 3
	w := mustNew(t, sessionCfg(), a)
	p := func(page string) *ev {
		return mk("user_id=u1", "session_id=s", "event_type=page_view", "page_url="+page)
	}
	feed(t, w, []in{
		{"2026-03-01T10:00:10Z", 0, p("/b")},
		{"2026-03-01T10:00:20Z", 0, p("/c")},
		{"2026-03-01T10:00:30Z", 0, p("/d")},
		{"2026-03-01T10:00:40Z", 0, p("/e")}, // path full: not kept, but it is the exit
		{"2026-03-01T10:00:05Z", 0, p("/a")}, // earlier than all: new landing page, /d falls off
		{"2026-03-01T11:00:00Z", 0, mk("user_id=u9")},
	})
	rs := w.TakeResults(nil)
	v := rs[0].Values
	if !reflect.DeepEqual(v["path"], []string{"/a", "/b", "/c"}) || v["landing_page"] != "/a" || v["exit_page"] != "/e" ||
		v["page_count"] != int64(5) || v["start"] != "2026-03-01T10:00:05Z" || v["duration_ms"] != int64(35000) {
		t.Fatalf("%v", v)
	}
}

func TestFunnelOrderByEventTime(t *testing.T) {
	cfg := countCfg("tumbling", time.Hour, 0)
	cfg.MaxOutOfOrder = time.Hour
	f := aggDefaults("f", "funnel")
	f.Steps = []string{"event_type=a", "event_type=b", "event_type=c"}
	w := mustNew(t, cfg, f)
	feed(t, w, []in{
		// u1: c, b, a arrive in reverse time order: a(1) b(2) c(3) → 3
		{"2026-03-01T10:03:00Z", 0, mk("user_id=u1", "event_type=c")},
		{"2026-03-01T10:02:00Z", 0, mk("user_id=u1", "event_type=b")},
		{"2026-03-01T10:01:00Z", 0, mk("user_id=u1", "event_type=a")},
		// u2: b before a in time → only step 1
		{"2026-03-01T10:01:00Z", 0, mk("user_id=u2", "event_type=b")},
		{"2026-03-01T10:02:00Z", 0, mk("user_id=u2", "event_type=a")},
		// u3: only c → nothing
		{"2026-03-01T10:02:00Z", 0, mk("user_id=u3", "event_type=c")},
		{"2026-03-01T12:00:00Z", 0, mk()},
	})
	rs := w.TakeResults(nil)
	fv := rs[0].Values["f"].(FunnelValue)
	got := []int64{fv.Steps[0].Users, fv.Steps[1].Users, fv.Steps[2].Users}
	if !reflect.DeepEqual(got, []int64{2, 1, 1}) || fv.Conversion != 0.5 {
		t.Fatalf("%+v", fv)
	}
}

func TestDistinctHLLError(t *testing.T) {
	for _, n := range []int{1024, 1025, 10_000, 100_000, 1_000_000} {
		for trial := 0; trial < 3; trial++ {
			if n == 1_000_000 && trial > 0 && testing.Short() {
				continue
			}
			var d distinct
			for i := 0; i < n; i++ {
				d.add(hash64(fmt.Sprintf("user-%d-%d", trial, i)), 1024)
			}
			est := d.estimate()
			errPct := math.Abs(float64(est)-float64(n)) / float64(n) * 100
			if n <= 1024 && est != int64(n) {
				t.Fatalf("n=%d: exact count %d", n, est)
			}
			if errPct > 2 {
				t.Fatalf("n=%d trial %d: estimate %d, error %.2f%% > 2%%", n, trial, est, errPct)
			}
			t.Logf("n=%d trial %d: estimate %d (%.2f%%)", n, trial, est, errPct)
		}
	}
}

func TestDistinctMergeOrderIndependent(t *testing.T) {
	var a, b, all distinct
	for i := 0; i < 5000; i++ {
		h := hash64(fmt.Sprint(i))
		all.add(h, 1024)
		if i%2 == 0 {
			a.add(h, 1024)
		} else {
			b.add(h, 1024)
		}
	}
	a.merge(&b, 1024)
	if a.estimate() != all.estimate() {
		t.Fatalf("merged %d, direct %d", a.estimate(), all.estimate())
	}
}

func TestQuantileSketchError(t *testing.T) {
	var q quantiles
	var vals []float64
	for i := 1; i <= 100000; i++ {
		v := float64((i * 7919) % 100003)
		q.add(v)
		vals = append(vals, v)
	}
	sortFloats(vals)
	for _, p := range []float64{0.5, 0.95, 0.99} {
		exact := vals[int(math.Ceil(p*float64(len(vals))))-1]
		got := q.quantile(p)
		if rel := math.Abs(got-exact) / exact; rel > sketchAlpha {
			t.Fatalf("p%v: got %v, exact %v, rel error %.4f", p, got, exact, rel)
		}
	}
}

func sortFloats(v []float64) { slices.Sort(v) }
