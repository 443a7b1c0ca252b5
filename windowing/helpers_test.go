package windowing

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// ev is a test event: string and number fields by name.
type ev struct {
	s map[string]string
	n map[string]float64
}

func (e *ev) Str(name string) (string, bool) { v, ok := e.s[name]; return v, ok }
func (e *ev) Num(name string) (float64, bool) {
	v, ok := e.n[name]
	return v, ok
}

// mk builds an event from "k=v" pairs; keys in numFields become numbers.
func mk(kv ...string) *ev {
	e := &ev{s: map[string]string{}, n: map[string]float64{}}
	for _, p := range kv {
		for i := 0; i < len(p); i++ {
			if p[i] == '=' {
				k, v := p[:i], p[i+1:]
				if k == "duration_ms" || k == "revenue" {
					f, _ := strconv.ParseFloat(v, 64)
					e.n[k] = f
				} else {
					e.s[k] = v
				}
				break
			}
		}
	}
	return e
}

func ms(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixMilli()
}

func msOf(s string) int64 {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return tm.UnixMilli()
}

func baseConfig() Config {
	return Config{
		Type: "tumbling", SessionGap: 30 * time.Minute, IdleTimeout: time.Minute,
		TimestampField: "timestamp", ResultName: "window", MaxWindows: 1000, MaxKeys: 1000000,
		MaxInterned: 1 << 20,
	}
}

func aggDefaults(name, typ string) AggregateConfig {
	return AggregateConfig{Name: name, Type: typ, K: 10, MaxValues: 10000, ExactMax: 1024,
		UserField: "user_id", SessionField: "session_id", PageField: "page_url", TypeField: "event_type",
		PageEvent: "page_view", PurchaseEvent: "purchase", RevenueField: "revenue", PathMax: 50}
}

func mustNew(t testing.TB, cfg Config, aggs ...AggregateConfig) *Windower {
	t.Helper()
	for _, a := range aggs {
		cfg.Aggregates = append(cfg.Aggregates, a.Name)
	}
	w, err := New("test-connector", cfg, aggs)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// in is one input to a test run.
type in struct {
	at   string // RFC3339
	part int32
	e    *ev
}

// feed adds events (offsets unchecked), returning the outcomes.
func feed(t *testing.T, w *Windower, evs []in) []Outcome {
	t.Helper()
	var outs []Outcome
	for _, x := range evs {
		outs = append(outs, w.Add(Input{TimeMs: ms(t, x.at), Partition: x.part, Offset: -1, Fields: x.e}))
	}
	return outs
}

func rfc(msec int64) string { return time.UnixMilli(msec).UTC().Format(time.RFC3339Nano) }

// brief renders results for comparisons: start..end key version values.
func brief(rs []Result) []string {
	var out []string
	for _, r := range rs {
		s := fmt.Sprintf("%s..%s %v v%d", rfc(r.WindowStart), rfc(r.WindowEnd), r.Key, r.Version)
		if r.Retract {
			s += " retract"
		} else {
			s += fmt.Sprintf(" %v", r.Values)
		}
		if r.Early {
			s += " early"
		}
		out = append(out, s)
	}
	return out
}

// synth is a deterministic clickstream for benchmarks and property tests.
type synth struct {
	r        *rand.Rand
	t        int64
	users    int
	pages    []string
	sessions map[int]string
	e        ev
}

var eventTypes = []string{"page_view", "page_view", "page_view", "click", "search", "add_to_cart", "purchase"}
var devices = []string{"desktop", "mobile", "tablet"}
var referrers = []string{"", "https://www.google.com/", "https://www.facebook.com/", "https://t.co/", "https://news.ycombinator.com/"}
var countries = []string{"US", "DE", "GB", "FR", "JP", "BR", "IN"}

func newSynth(seed uint64, users int, start int64) *synth {
	s := &synth{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), t: start, users: users,
		sessions: map[int]string{}}
	for i := 0; i < 20; i++ {
		s.pages = append(s.pages, fmt.Sprintf("/c/category-%d", i))
	}
	for i := 0; i < 1200; i++ {
		s.pages = append(s.pages, fmt.Sprintf("/p/cat-%d/%d", i%12, 10000+i))
	}
	s.pages = append(s.pages, "/checkout", "/cart", "/")
	s.e = ev{s: map[string]string{}, n: map[string]float64{}}
	return s
}

// next fills s.e with the next event and returns its time; stepMs is the
// mean gap between events.
func (s *synth) next(stepMs int64) (*ev, int64) {
	s.t += s.r.Int64N(2*stepMs + 1)
	u := s.r.IntN(s.users)
	sid, ok := s.sessions[u]
	if !ok || s.r.IntN(20) == 0 {
		x, y := s.r.Uint64(), s.r.Uint64()
		sid = fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(x), uint16(x>>32), uint16(x>>48)&0xfff, uint16(y)&0xfff, y>>16)
		s.sessions[u] = sid
	}
	typ := eventTypes[s.r.IntN(len(eventTypes))]
	// Zipf-ish page choice: small indices more often.
	pi := int(float64(len(s.pages)) * s.r.Float64() * s.r.Float64() * s.r.Float64())
	e := &s.e
	e.s["user_id"] = "user-" + strconv.Itoa(u)
	e.s["session_id"] = sid
	e.s["event_type"] = typ
	e.s["page_url"] = s.pages[pi]
	e.s["device_type"] = devices[u%len(devices)]
	e.s["referrer"] = referrers[s.r.IntN(len(referrers))]
	e.s["country"] = countries[u%len(countries)]
	e.n["duration_ms"] = float64(s.r.IntN(60000))
	if typ == "purchase" {
		e.n["revenue"] = float64(s.r.IntN(50000)) / 100
	} else {
		delete(e.n, "revenue")
	}
	return e, s.t
}
