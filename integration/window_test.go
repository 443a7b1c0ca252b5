//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/kafka"
	"github.com/connectd/connectd/sources/generator"
)

// The window connector's correctness under SIGKILL: the generator's events,
// with out-of-order, late and invalid ones, go through three window
// connectors (the 5-minute metric set, 30-minute sessions, a checkout
// funnel per 5 minutes) in a `connectd run` process killed several times;
// every result, at its highest version, equals a computation over the same
// events written here without windowing/: plain maps, and the watermark
// rule the connector documents (per partition, newest event time minus
// max.out.of.order.ms). The input has one partition, so the order of events
// (and with it what is late) is the offsets', whatever the wall clock does.

const (
	winEvents   = 1_000_000
	winEPS      = 100 // event time: 1M events span 10,000 s, 33 five-minute windows
	winUsers    = 50_000
	winBadRatio = 0.03
	winSeed     = 23
	winStart    = "2026-11-20T06:00:00Z"

	metricsSize     = 300_000
	metricsOOO      = 120_000 // out_of_order events (1–10 min) beyond 2 min re-emit windows …
	metricsLateness = 900_000 // … within 15 min; late events (2–72 h) are refused
	sessGap         = 1_800_000
	sessOOO         = 600_000
	funnelSize      = 300_000
	funnelOOO       = 600_000
	productPrefix   = "https://shop.example.com/p/"
	checkoutPage    = "https://shop.example.com/checkout"
)

// winEvent is the part of a generated event the computation reads.
type winEvent struct {
	Timestamp string   `json:"timestamp"`
	User      string   `json:"user_id"`
	Session   string   `json:"session_id"`
	Type      string   `json:"event_type"`
	Page      string   `json:"page_url"`
	Referrer  string   `json:"referrer"`
	Device    string   `json:"device_type"`
	Duration  *float64 `json:"duration_ms"`
	Revenue   *float64 `json:"revenue"`
	ts        int64
}

func winOptions(t *testing.T) generator.Options {
	start, err := time.Parse(time.RFC3339, winStart)
	if err != nil {
		t.Fatal(err)
	}
	return generator.Options{Seed: winSeed, Users: winUsers, Start: start, EventsPerSecond: winEPS, BadRecordRatio: winBadRatio}
}

// produceInput writes the events to topic (one partition) in transactions
// and returns the valid ones in order, and the number of invalid ones.
func produceInput(t *testing.T, c *kafka.Client, topic string) ([]winEvent, int) {
	t.Helper()
	ctx := context.Background()
	if err := c.Admin().EnsureTopic(ctx, connector.TopicSpec{Name: topic, Partitions: 1, ReplicationFactor: -1}); err != nil {
		t.Fatal(err)
	}
	cm, err := c.NewCommitter(connector.ProducerConfig{TransactionalID: "test-produce-" + topic})
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	e, err := generator.NewEngine(winOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	valid := make([]winEvent, 0, winEvents)
	invalid := 0
	for done := 0; done < winEvents; {
		m := min(20_000, winEvents-done)
		recs := make([]connector.ProducerRecord, 0, m)
		for range m {
			ev := e.Next()
			recs = append(recs, connector.ProducerRecord{Topic: topic, Partition: 0, Key: ev.Key, Value: ev.Value})
			if ev.Bad.Invalid() {
				invalid++
				continue
			}
			var we winEvent
			if err := json.Unmarshal(ev.Value, &we); err != nil {
				t.Fatalf("event %d (%s): %v", ev.Position, ev.Bad, err)
			}
			ts, err := time.Parse(time.RFC3339Nano, we.Timestamp)
			if err != nil {
				t.Fatalf("event %d (%s): %v", ev.Position, ev.Bad, err)
			}
			we.ts = ts.UnixMilli()
			valid = append(valid, we)
		}
		if err := cm.Commit(ctx, recs, nil, nil); err != nil {
			t.Fatal(err)
		}
		done += m
	}
	return valid, invalid
}

// ---- the computation, without windowing/

type metricsAcc struct {
	events               int64
	users, sessions      map[string]bool
	byType, byDev, byRef map[string]int64
	byPage               map[string]int64
	durN, durSum         int64 // sum in 1/10000
	durMin, durMax       float64
	durs                 []float64
}

type metricsWant struct {
	accs map[int64]*metricsAcc
	late int
	wm   int64
}

// lateness rule: an event is refused when the watermark (before it) has
// reached its window's end + allowed lateness (grace 0).
func computeMetrics(evs []winEvent) metricsWant {
	out := metricsWant{accs: map[int64]*metricsAcc{}, wm: math.MinInt64}
	for i := range evs {
		e := &evs[i]
		s := e.ts - e.ts%metricsSize
		if out.wm >= s+metricsSize+metricsLateness {
			out.late++
		} else {
			a := out.accs[s]
			if a == nil {
				a = &metricsAcc{users: map[string]bool{}, sessions: map[string]bool{}, byType: map[string]int64{},
					byDev: map[string]int64{}, byRef: map[string]int64{}, byPage: map[string]int64{}}
				out.accs[s] = a
			}
			a.events++
			if e.User != "" {
				a.users[e.User] = true
			}
			if e.Session != "" {
				a.sessions[e.Session] = true
			}
			a.byType[e.Type]++
			a.byDev[e.Device]++
			a.byRef[e.Referrer]++
			a.byPage[e.Page]++
			if e.Duration != nil {
				d := *e.Duration
				if a.durN == 0 || d < a.durMin {
					a.durMin = d
				}
				if a.durN == 0 || d > a.durMax {
					a.durMax = d
				}
				a.durN++
				a.durSum += int64(math.Round(d * 10000))
				a.durs = append(a.durs, d)
			}
		}
		out.wm = max(out.wm, e.ts-metricsOOO)
	}
	return out
}

type session struct {
	user, sid        string
	start, last      int64
	pages, events    int64
	converted        bool
	rev              int64
	exitPage         string
	exitT            int64
	landing          string
	landingT         int64
	hasExit, hasLand bool
}

type sessionsWant struct {
	closed []*session
	late   int
	wm     int64
}

// computeSessions: per user, sessions of events less than the gap apart;
// an event that overlaps no live session and whose own session would
// already be closed (watermark ≥ ts + gap) is late; a session is final
// once the watermark reaches its last event + gap (grace and lateness 0).
func computeSessions(evs []winEvent) sessionsWant {
	out := sessionsWant{wm: math.MinInt64}
	live := map[string][]*session{}
	for i := range evs {
		e := &evs[i]
		ls := live[e.User]
		keep := ls[:0]
		for _, s := range ls {
			if out.wm >= s.last+sessGap {
				out.closed = append(out.closed, s)
			} else {
				keep = append(keep, s)
			}
		}
		ls = keep
		var hits []*session
		rest := ls[:0:0]
		for _, s := range ls {
			if s.start < e.ts+sessGap && e.ts < s.last+sessGap {
				hits = append(hits, s)
			} else {
				rest = append(rest, s)
			}
		}
		if len(hits) == 0 && out.wm >= e.ts+sessGap {
			out.late++
			live[e.User] = ls
			out.wm = max(out.wm, e.ts-sessOOO)
			continue
		}
		n := &session{user: e.User, sid: e.Session, start: e.ts, last: e.ts}
		addEvent(n, e)
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].start < hits[j].start })
		for _, h := range hits {
			n = mergeSession(h, n)
		}
		live[e.User] = append(rest, n)
		out.wm = max(out.wm, e.ts-sessOOO)
	}
	for _, ls := range live {
		for _, s := range ls {
			if out.wm >= s.last+sessGap {
				out.closed = append(out.closed, s)
			}
		}
	}
	return out
}

func addEvent(s *session, e *winEvent) {
	s.events++
	if e.Revenue != nil {
		s.rev += int64(math.Round(*e.Revenue * 10000))
	}
	if e.Type == "purchase" {
		s.converted = true
	}
	if e.Page != "" && e.Type == "page_view" {
		s.pages++
		s.exitPage, s.exitT, s.hasExit = e.Page, e.ts, true
		s.landing, s.landingT, s.hasLand = e.Page, e.ts, true
	}
}

// mergeSession merges b (the later, or the new event's) into a, which
// starts first.
func mergeSession(a, b *session) *session {
	m := *a
	m.start, m.last = min(a.start, b.start), max(a.last, b.last)
	if b.start < a.start {
		m.sid = b.sid
	}
	m.pages += b.pages
	m.events += b.events
	m.rev += b.rev
	m.converted = a.converted || b.converted
	if b.hasExit && (!a.hasExit || b.exitT >= a.exitT) {
		m.exitPage, m.exitT, m.hasExit = b.exitPage, b.exitT, true
	}
	if b.hasLand && (!a.hasLand || b.landingT < a.landingT) {
		m.landing, m.landingT, m.hasLand = b.landing, b.landingT, true
	}
	return &m
}

type funnelWant struct {
	steps map[int64][4]int64
	wm    int64
}

func computeFunnel(evs []winEvent) funnelWant {
	type hit struct {
		t    int64
		mask uint32
	}
	wins := map[int64]map[string][]hit{}
	wm := int64(math.MinInt64)
	for i := range evs {
		e := &evs[i]
		s := e.ts - e.ts%funnelSize
		if wm < s+funnelSize {
			if wins[s] == nil {
				wins[s] = map[string][]hit{}
			}
			var mask uint32
			if strings.HasPrefix(e.Page, productPrefix) {
				mask |= 1
			}
			if e.Type == "add_to_cart" {
				mask |= 2
			}
			if e.Page == checkoutPage {
				mask |= 4
			}
			if e.Type == "purchase" {
				mask |= 8
			}
			if mask != 0 && e.User != "" {
				wins[s][e.User] = append(wins[s][e.User], hit{e.ts, mask})
			}
		}
		wm = max(wm, e.ts-funnelOOO)
	}
	out := funnelWant{steps: map[int64][4]int64{}, wm: wm}
	for s, users := range wins {
		var c [4]int64
		for _, hits := range users {
			sort.SliceStable(hits, func(i, j int) bool { return hits[i].t < hits[j].t })
			cur := 0
			for _, h := range hits {
				if cur < 4 && h.mask&(1<<cur) != 0 {
					cur++
				}
			}
			for i := 0; i < cur; i++ {
				c[i]++
			}
		}
		out.steps[s] = c
	}
	return out
}

// ---- the connector's output

type outResult struct {
	ID          string                     `json:"id"`
	Version     int                        `json:"version"`
	Aggregate   string                     `json:"aggregate"`
	WindowStart time.Time                  `json:"window_start"`
	WindowEnd   time.Time                  `json:"window_end"`
	Key         map[string]string          `json:"key"`
	Values      map[string]json.RawMessage `json:"values"`
	Retract     bool                       `json:"retract"`
}

// latestResults reads topic and keeps the highest version of each id,
// dropping retracted ids; the same id and version twice is a duplicate.
func latestResults(t *testing.T, c *kafka.Client, topic string) (map[string]outResult, int) {
	t.Helper()
	seen := map[string]bool{}
	latest := map[string]outResult{}
	recs := readTopic(t, c, topic)
	for _, r := range recs {
		var res outResult
		if err := json.Unmarshal(r.Value, &res); err != nil {
			t.Fatalf("%s offset %d: %v", r.TP(), r.Offset, err)
		}
		k := fmt.Sprintf("%s/%d", res.ID, res.Version)
		if seen[k] {
			t.Errorf("%s: result %s version %d is in the output twice", topic, res.ID, res.Version)
		}
		seen[k] = true
		if old, ok := latest[res.ID]; !ok || res.Version > old.Version {
			latest[res.ID] = res
		}
	}
	for id, r := range latest {
		if r.Retract {
			delete(latest, id)
		}
	}
	return latest, len(recs)
}

func num[T any](t *testing.T, r outResult, name string) T {
	t.Helper()
	var v T
	raw, ok := r.Values[name]
	if !ok {
		t.Errorf("result %s has no value %q", r.ID, name)
		return v
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Errorf("result %s value %q: %v", r.ID, name, err)
	}
	return v
}

func within(got, want int64, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)
}

func topK(m map[string]int64, k int) []map[string]any {
	type e struct {
		v string
		n int64
	}
	var es []e
	for v, n := range m {
		es = append(es, e{v, n})
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].n != es[j].n {
			return es[i].n > es[j].n
		}
		return es[i].v < es[j].v
	})
	out := []map[string]any{}
	for i := 0; i < len(es) && i < k; i++ {
		out = append(out, map[string]any{"value": es[i].v, "count": float64(es[i].n)})
	}
	return out
}

func nearestRank(xs []float64, q float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func checkMetrics(t *testing.T, got map[string]outResult, want metricsWant) {
	bad := 0
	fail := func(format string, args ...any) {
		t.Errorf("metrics: "+format, args...)
		if bad++; bad > 20 {
			t.FailNow()
		}
	}
	closed := 0
	for s := range want.accs {
		if s+metricsSize <= want.wm {
			closed++
		}
	}
	if len(got) != closed {
		fail("%d results, want %d closed windows", len(got), closed)
	}
	for _, r := range got {
		s := r.WindowStart.UnixMilli()
		a := want.accs[s]
		if a == nil || s+metricsSize > want.wm {
			fail("result for window %v, which the computation has not closed", r.WindowStart)
			continue
		}
		if n := num[int64](t, r, "events"); n != a.events {
			fail("window %v: events %d, want %d", r.WindowStart, n, a.events)
		}
		for _, d := range []struct {
			name string
			want int
		}{{"unique_users", len(a.users)}, {"unique_sessions", len(a.sessions)}} {
			if n := num[int64](t, r, d.name); !within(n, int64(d.want), 0.02) {
				fail("window %v: %s %d, want %d ± 2%%", r.WindowStart, d.name, n, d.want)
			}
		}
		for _, d := range []struct {
			name string
			want map[string]int64
		}{{"by_event_type", a.byType}, {"by_device", a.byDev}, {"by_referrer", a.byRef}} {
			m := num[map[string]int64](t, r, d.name)
			if fmt.Sprint(m) != fmt.Sprint(d.want) {
				fail("window %v: %s %v, want %v", r.WindowStart, d.name, m, d.want)
			}
		}
		if top := num[[]map[string]any](t, r, "by_page"); fmt.Sprint(top) != fmt.Sprint(topK(a.byPage, 10)) {
			fail("window %v: by_page %v, want %v", r.WindowStart, top, topK(a.byPage, 10))
		}
		if n := num[int64](t, r, "count_duration_ms"); n != a.durN {
			fail("window %v: count_duration_ms %d, want %d", r.WindowStart, n, a.durN)
		}
		wantAvg := float64(a.durSum) / 10000 / float64(a.durN)
		if v := num[float64](t, r, "avg_duration_ms"); v != wantAvg {
			fail("window %v: avg_duration_ms %v, want %v", r.WindowStart, v, wantAvg)
		}
		if v := num[float64](t, r, "min_duration_ms"); v != a.durMin {
			fail("window %v: min_duration_ms %v, want %v", r.WindowStart, v, a.durMin)
		}
		if v := num[float64](t, r, "max_duration_ms"); v != a.durMax {
			fail("window %v: max_duration_ms %v, want %v", r.WindowStart, v, a.durMax)
		}
		for _, q := range []struct {
			name string
			q    float64
		}{{"p50_duration_ms", 0.5}, {"p95_duration_ms", 0.95}} {
			w := nearestRank(a.durs, q.q)
			if v := num[float64](t, r, q.name); math.Abs(v-w) > 0.02*w {
				fail("window %v: %s %v, want %v ± 2%%", r.WindowStart, q.name, v, w)
			}
		}
	}
}

func checkSessions(t *testing.T, got map[string]outResult, want sessionsWant) {
	bad := 0
	fail := func(format string, args ...any) {
		t.Errorf("sessions: "+format, args...)
		if bad++; bad > 20 {
			t.FailNow()
		}
	}
	type key struct {
		user  string
		start int64
	}
	byKey := map[key]*session{}
	for _, s := range want.closed {
		byKey[key{s.user, s.start}] = s
	}
	if len(got) != len(byKey) {
		fail("%d results, want %d closed sessions", len(got), len(byKey))
	}
	for _, r := range got {
		s := byKey[key{r.Key["user_id"], r.WindowStart.UnixMilli()}]
		if s == nil {
			fail("result for user %s session at %v, which the computation does not have", r.Key["user_id"], r.WindowStart)
			continue
		}
		type sv struct {
			User      string  `json:"user"`
			SessionID string  `json:"session_id"`
			Duration  int64   `json:"duration_ms"`
			Pages     int64   `json:"page_count"`
			Landing   string  `json:"landing_page"`
			Exit      string  `json:"exit_page"`
			Bounce    bool    `json:"bounce"`
			Converted bool    `json:"converted"`
			Revenue   float64 `json:"revenue"`
			Events    int64   `json:"events"`
		}
		b, _ := json.Marshal(r.Values)
		var g sv
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		w := sv{User: s.user, SessionID: s.sid, Duration: s.last - s.start, Pages: s.pages, Landing: s.landing,
			Exit: s.exitPage, Bounce: s.pages <= 1, Converted: s.converted, Revenue: float64(s.rev) / 10000, Events: s.events}
		if g != w {
			fail("user %s session at %v:\n got %+v\nwant %+v", s.user, r.WindowStart, g, w)
		}
		if r.WindowEnd.UnixMilli() != s.last+sessGap {
			fail("user %s session at %v ends %v, want %v", s.user, r.WindowStart, r.WindowEnd, time.UnixMilli(s.last+sessGap).UTC())
		}
	}
}

func checkFunnel(t *testing.T, got map[string]outResult, want funnelWant) {
	closed := 0
	for s := range want.steps {
		if s+funnelSize <= want.wm {
			closed++
		}
	}
	if len(got) != closed {
		t.Errorf("funnel: %d results, want %d closed windows", len(got), closed)
	}
	for _, r := range got {
		s := r.WindowStart.UnixMilli()
		w, ok := want.steps[s]
		if !ok {
			t.Errorf("funnel: result for window %v, which the computation does not have", r.WindowStart)
			continue
		}
		var fv struct {
			Steps []struct {
				Users int64 `json:"users"`
			} `json:"steps"`
		}
		if err := json.Unmarshal(r.Values["checkout"], &fv); err != nil {
			t.Fatal(err)
		}
		var g [4]int64
		for i := 0; i < len(fv.Steps) && i < 4; i++ {
			g[i] = fv.Steps[i].Users
		}
		if g != w || len(fv.Steps) != 4 {
			t.Errorf("funnel: window %v: users per step %v, want %v", r.WindowStart, g, w)
		}
	}
}

// ---- the test

func windowConnector(topic, out string, kv map[string]string) map[string]string {
	cfg := map[string]string{
		"connector.class":                   "window",
		"topics":                            topic,
		"output.topic":                      out,
		"errors.tolerance":                  "all",
		"errors.deadletterqueue.topic.name": out + ".dlq",
		"transforms":                        "validate",
		"transforms.validate.type":          "validate",
		"offset.flush.interval.ms":          "1000",
		"idle.timeout.ms":                   "5000",
	}
	for k, v := range kv {
		cfg[k] = v
	}
	return cfg
}

func TestWindowExactlyOnceUnderSIGKILL(t *testing.T) {
	dir := t.TempDir()
	configDir := filepath.Join(dir, "configs")
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr, _ := startKafka(t, filepath.Join(dir, "kafka"), dir)
	c := kafkaClient(t, addr)
	began := time.Now()
	evs, invalid := produceInput(t, c, "clicks")
	t.Logf("produced %d events (%d valid, %d invalid) in %v", winEvents, len(evs), invalid, time.Since(began).Round(time.Millisecond))

	writeConfig(t, configDir, "metrics", windowConnector("clicks", "agg.metrics", map[string]string{
		"late.topic":                      "agg.metrics.late",
		"window.size.ms":                  fmt.Sprint(metricsSize),
		"max.out.of.order.ms":             fmt.Sprint(metricsOOO),
		"allowed.lateness.ms":             fmt.Sprint(metricsLateness),
		"result.name":                     "metrics_5m",
		"aggregates":                      "events,unique_users,unique_sessions,by_event_type,by_device,by_referrer,by_page,duration_ms",
		"aggregate.events.type":           "count",
		"aggregate.unique_users.type":     "distinct",
		"aggregate.unique_users.field":    "user_id",
		"aggregate.unique_sessions.type":  "distinct",
		"aggregate.unique_sessions.field": "session_id",
		"aggregate.by_event_type.type":    "count_by",
		"aggregate.by_event_type.field":   "event_type",
		"aggregate.by_device.type":        "count_by",
		"aggregate.by_device.field":       "device_type",
		"aggregate.by_referrer.type":      "count_by",
		"aggregate.by_referrer.field":     "referrer",
		"aggregate.by_page.type":          "top_k",
		"aggregate.by_page.field":         "page_url",
		"aggregate.duration_ms.type":      "stats",
		"aggregate.duration_ms.field":     "duration_ms",
	}))
	writeConfig(t, configDir, "sessions", windowConnector("clicks", "agg.sessions", map[string]string{
		"window.type":            "session",
		"session.gap.ms":         fmt.Sprint(sessGap),
		"max.out.of.order.ms":    fmt.Sprint(sessOOO),
		"group.by":               "user_id",
		"result.name":            "sessions",
		"aggregates":             "session,events",
		"aggregate.session.type": "sessions",
		"aggregate.events.type":  "count",
	}))
	writeConfig(t, configDir, "funnel", windowConnector("clicks", "agg.funnel", map[string]string{
		"window.size.ms":          fmt.Sprint(funnelSize),
		"max.out.of.order.ms":     fmt.Sprint(funnelOOO),
		"result.name":             "checkout_5m",
		"aggregates":              "checkout",
		"aggregate.checkout.type": "funnel",
		"aggregate.checkout.steps": "page_url^=" + productPrefix + ",event_type=add_to_cart,page_url=" + checkoutPage +
			",event_type=purchase",
	}))

	began = time.Now()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	w := killRepeatedly(t, rng, 4, dir, configDir, addr)
	end := readTopic(t, c, "clicks")
	last := end[len(end)-1].Offset + 1
	waitFor(t, 3*time.Minute, "every connector to commit the whole input", func() (bool, string) {
		var state []string
		done := true
		for _, n := range []string{"metrics", "sessions", "funnel"} {
			offs, err := c.Admin().GroupOffsets(context.Background(), "connect-"+n)
			if err != nil {
				return false, err.Error()
			}
			o := offs[connector.TopicPartition{Topic: "clicks", Partition: 0}]
			state = append(state, fmt.Sprintf("%s at %d", n, o))
			done = done && o >= last
		}
		return done, strings.Join(state, ", ") + fmt.Sprintf(" of %d", last)
	})
	t.Logf("the connectors consumed the input (4 SIGKILLs) within %v", time.Since(began).Round(time.Second))
	w.stop(t, 30*time.Second)

	mw := computeMetrics(evs)
	sw := computeSessions(evs)
	fw := computeFunnel(evs)

	got, n := latestResults(t, c, "agg.metrics")
	t.Logf("metrics: %d records, %d results; %d late events", n, len(got), mw.late)
	checkMetrics(t, got, mw)
	if l := len(readTopic(t, c, "agg.metrics.late")); l != mw.late {
		t.Errorf("metrics: late topic holds %d events, want %d", l, mw.late)
	}
	got, n = latestResults(t, c, "agg.sessions")
	t.Logf("sessions: %d records, %d results; %d late events", n, len(got), sw.late)
	checkSessions(t, got, sw)
	got, n = latestResults(t, c, "agg.funnel")
	t.Logf("funnel: %d records, %d results", n, len(got))
	checkFunnel(t, got, fw)
	for _, n := range []string{"metrics", "sessions", "funnel"} {
		if d := len(readTopic(t, c, "agg."+n+".dlq")); d != invalid {
			t.Errorf("%s: dead-letter topic holds %d records, want the %d invalid events", n, d, invalid)
		}
	}
}
