package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var testStart = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func newEngine(t testing.TB, o Options) *Engine {
	t.Helper()
	e, err := NewEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func generate(t testing.TB, o Options, n int) []Event {
	t.Helper()
	e := newEngine(t, o)
	out := make([]Event, n)
	for i := range out {
		out[i] = e.Next()
	}
	return out
}

// expectedMs is the event time of position n, from the documented rule
// Start + n/EventsPerSecond truncated to the millisecond.
func expectedMs(o Options, n int64) int64 {
	eps := int64(o.EventsPerSecond)
	return o.Start.UnixMilli() + n*1000/eps
}

// The first event of a fixed configuration, byte for byte: it changes only
// when the stream changes, which breaks resuming connectors and must be a
// deliberate decision.
func TestFirstEventIsPinned(t *testing.T) {
	e := newEngine(t, Options{Seed: 1, Users: 10000, Start: testStart, EventsPerSecond: 1000})
	ev := e.Next()
	const want = `{"event_id":"66dc4118-e6bb-411b-844f-70c9cf58c858","timestamp":"2026-11-22T10:00:00.000Z","user_id":"user-1901","session_id":"acd4eb4629d34fce","event_type":"page_view","page_url":"https://shop.example.com/c/sports","page_category":"sports","referrer":"https://www.google.com/","device_type":"desktop","country":"US","duration_ms":168661,"utm_source":"","utm_medium":"","utm_campaign":"","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"}`
	if string(ev.Value) != want {
		t.Errorf("first event:\n got %s\nwant %s", ev.Value, want)
	}
	if string(ev.Key) != "user-1901" || ev.Position != 0 || ev.Bad != BadNone || !ev.Time.Equal(testStart) {
		t.Errorf("first event meta: key %q position %d bad %v time %v", ev.Key, ev.Position, ev.Bad, ev.Time)
	}
}

func TestSameOptionsGiveSameBytes(t *testing.T) {
	o := Options{Seed: 42, Users: 300, Start: testStart, EventsPerSecond: 50, BadRecordRatio: 0.2}
	a, b := generate(t, o, 5000), generate(t, o, 5000)
	for i := range a {
		if !bytes.Equal(a[i].Value, b[i].Value) || !bytes.Equal(a[i].Key, b[i].Key) || a[i].Meta != b[i].Meta {
			t.Fatalf("event %d differs:\n%s\n%s", i, a[i].Value, b[i].Value)
		}
	}
}

func TestDifferentOptionsGiveDifferentStreams(t *testing.T) {
	o := Options{Seed: 42, Users: 300, Start: testStart, EventsPerSecond: 50}
	base := generate(t, o, 2000)
	for _, tc := range []struct {
		name   string
		change func(*Options)
	}{
		{"seed", func(o *Options) { o.Seed = 43 }},
		{"users", func(o *Options) { o.Users = 301 }},
		{"first user", func(o *Options) { o.FirstUser = 1 }},
		{"start", func(o *Options) { o.Start = o.Start.Add(time.Millisecond) }},
		{"rate", func(o *Options) { o.EventsPerSecond = 51 }},
		{"bad ratio", func(o *Options) { o.BadRecordRatio = 0.01 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o2 := o
			tc.change(&o2)
			other := generate(t, o2, 2000)
			same := 0
			for i := range base {
				if bytes.Equal(base[i].Value, other[i].Value) {
					same++
				}
			}
			if same != 0 {
				t.Errorf("%d of %d events identical after changing %s", same, len(base), tc.name)
			}
			ids := map[string]bool{}
			for _, ev := range base {
				ids[eventID(t, ev)] = true
			}
			for _, ev := range other {
				if ev.Bad == BadNone && ids[eventID(t, ev)] {
					t.Fatalf("event %d reuses an event_id of the stream before changing %s", ev.Position, tc.name)
				}
			}
		})
	}
}

func eventID(t *testing.T, ev Event) string {
	t.Helper()
	var m struct {
		ID string `json:"event_id"`
	}
	if err := json.Unmarshal(ev.Value, &m); err != nil {
		t.Fatalf("event %d: %v", ev.Position, err)
	}
	return m.ID
}

func TestSkipThenNextEqualsFreshStream(t *testing.T) {
	o := Options{Seed: 9, Users: 800, Start: testStart, EventsPerSecond: 7, BadRecordRatio: 0.3}
	full := generate(t, o, 5000)
	for _, n := range []int64{0, 1, 2, 999, 1000, 4321, 4990} {
		e := newEngine(t, o)
		e.Skip(n)
		if e.Position() != n {
			t.Fatalf("after Skip(%d), Position() = %d", n, e.Position())
		}
		for i := n; i < min(n+10, int64(len(full))); i++ {
			ev := e.Next()
			if !bytes.Equal(ev.Value, full[i].Value) || !bytes.Equal(ev.Key, full[i].Key) || ev.Meta != full[i].Meta {
				t.Fatalf("Skip(%d): event %d differs:\n got %s\nwant %s", n, i, ev.Value, full[i].Value)
			}
		}
	}
	// Skipping in steps is the same as skipping at once.
	e := newEngine(t, o)
	e.Skip(100)
	e.Skip(0)
	e.Skip(-5)
	e.Skip(23)
	if ev := e.Next(); !bytes.Equal(ev.Value, full[123].Value) {
		t.Errorf("Skip(100)+Skip(23): got %s, want %s", ev.Value, full[123].Value)
	}
}

func TestAppendAppendsToTheGivenBuffers(t *testing.T) {
	o := Options{Seed: 2, Users: 100, Start: testStart, EventsPerSecond: 10}
	want := generate(t, o, 2)
	e := newEngine(t, o)
	value, key := []byte("prefix|"), []byte("k|")
	value, key, m0 := e.Append(value, key)
	value, key, m1 := e.Append(value, key)
	if got := string(value); got != "prefix|"+string(want[0].Value)+string(want[1].Value) {
		t.Errorf("value buffer = %s", got)
	}
	if got := string(key); got != "k|"+string(want[0].Key)+string(want[1].Key) {
		t.Errorf("key buffer = %s", got)
	}
	if m0 != want[0].Meta || m1 != want[1].Meta {
		t.Errorf("metas %+v %+v, want %+v %+v", m0, m1, want[0].Meta, want[1].Meta)
	}
}

var (
	timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
	userRE      = regexp.MustCompile(`^user-(\d+)$`)
	sessionRE   = regexp.MustCompile(`^[0-9a-f]{16}$`)
	countryRE   = regexp.MustCompile(`^[A-Z]{2}$`)
	currencyRE  = regexp.MustCompile(`^[A-Z]{3}$`)
	revenueRE   = regexp.MustCompile(`^[1-9]\d*(\.\d{2})?$`)
)

var (
	requiredStringFields = []string{"event_id", "timestamp", "user_id", "session_id", "event_type", "page_url"}
	allFields            = []string{"event_id", "timestamp", "user_id", "session_id", "event_type", "page_url", "page_category", "referrer", "device_type", "country", "duration_ms", "utm_source", "utm_medium", "utm_campaign", "user_agent"}
	knownEventTypes      = []string{"page_view", "click", "search", "add_to_cart", "purchase"}
)

// decoded is a valid event read back with encoding/json.
type decoded struct {
	raw       map[string]any
	id        string
	ts        time.Time
	user      string
	session   string
	typ       string
	url       string
	category  string
	referrer  string
	device    string
	country   string
	duration  float64
	revenue   json.Number
	currency  string
	utm       [3]string
	userAgent string
}

// checkValid decodes ev with encoding/json and checks every field of a
// valid event; it returns the decoded event.
func checkValid(t *testing.T, o Options, ev Event) decoded {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("event %d (%v): %s\n%s", ev.Position, ev.Bad, fmt.Sprintf(format, args...), ev.Value)
	}
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(ev.Value))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		fail("not JSON: %v", err)
	}
	if dec.More() {
		fail("trailing data")
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	wantKeys := slices.Clone(allFields)
	if raw["event_type"] == "purchase" {
		wantKeys = append(wantKeys, "revenue", "currency")
	}
	sort.Strings(keys)
	sort.Strings(wantKeys)
	if !slices.Equal(keys, wantKeys) {
		fail("keys %v, want %v", keys, wantKeys)
	}
	str := func(k string) string {
		t.Helper()
		s, ok := raw[k].(string)
		if !ok {
			fail("%s is %T, not a string", k, raw[k])
		}
		return s
	}
	d := decoded{raw: raw}
	for _, k := range requiredStringFields {
		if str(k) == "" {
			fail("%s is empty", k)
		}
	}
	d.id = str("event_id")
	id, err := uuid.Parse(d.id)
	if err != nil || id.Version() != 4 || id.Variant() != uuid.RFC4122 || id.String() != d.id {
		fail("event_id %q is not a lowercase version 4 UUID (%v)", d.id, err)
	}
	tsText := str("timestamp")
	if !timestampRE.MatchString(tsText) {
		fail("timestamp %q is not RFC3339 UTC with milliseconds", tsText)
	}
	d.ts, err = time.Parse(time.RFC3339, tsText)
	if err != nil {
		fail("timestamp: %v", err)
	}
	if !d.ts.Equal(ev.Time) {
		fail("timestamp %v, Meta.Time %v", d.ts, ev.Time)
	}
	d.user = str("user_id")
	m := userRE.FindStringSubmatch(d.user)
	if m == nil {
		fail("user_id %q", d.user)
	}
	if u, _ := strconv.Atoi(m[1]); u < o.FirstUser || u >= o.FirstUser+o.Users {
		fail("user %d outside [%d, %d)", u, o.FirstUser, o.FirstUser+o.Users)
	}
	if string(ev.Key) != d.user {
		fail("key %q, user_id %q", ev.Key, d.user)
	}
	d.session = str("session_id")
	if !sessionRE.MatchString(d.session) {
		fail("session_id %q", d.session)
	}
	d.typ = str("event_type")
	if !slices.Contains(knownEventTypes, d.typ) {
		fail("event_type %q", d.typ)
	}
	d.url = str("page_url")
	if !strings.HasPrefix(d.url, "https://shop.example.com/") {
		fail("page_url %q", d.url)
	}
	d.category = str("page_category")
	d.referrer = str("referrer")
	if d.referrer != "" && !strings.HasPrefix(d.referrer, "https://") {
		fail("referrer %q", d.referrer)
	}
	d.device = str("device_type")
	if !slices.Contains([]string{"mobile", "desktop", "tablet"}, d.device) {
		fail("device_type %q", d.device)
	}
	d.country = str("country")
	if !countryRE.MatchString(d.country) {
		fail("country %q", d.country)
	}
	n, ok := raw["duration_ms"].(json.Number)
	if !ok {
		fail("duration_ms is %T", raw["duration_ms"])
	}
	dur, err := n.Int64()
	if err != nil || dur < 0 {
		fail("duration_ms %s is not a whole number ≥ 0", n)
	}
	d.duration = float64(dur)
	if d.typ == "purchase" {
		d.revenue, ok = raw["revenue"].(json.Number)
		if !ok || !revenueRE.MatchString(string(d.revenue)) {
			fail("revenue %v", raw["revenue"])
		}
		d.currency = str("currency")
		if !currencyRE.MatchString(d.currency) {
			fail("currency %q", d.currency)
		}
	}
	for i, k := range []string{"utm_source", "utm_medium", "utm_campaign"} {
		d.utm[i] = str(k)
	}
	d.userAgent = str("user_agent")
	if !strings.HasPrefix(d.userAgent, "Mozilla/5.0 (") {
		fail("user_agent %q", d.userAgent)
	}
	return d
}

func TestValidEventsHaveEveryFieldWithItsType(t *testing.T) {
	o := Options{Seed: 3, Users: 2000, FirstUser: 5000, Start: testStart, EventsPerSecond: 5}
	ids := map[string]int64{}
	type sessionTraits struct{ user, device, country, referrer, utm, agent string }
	sessions := map[string]sessionTraits{}
	types := map[string]int{}
	for _, ev := range generate(t, o, 20000) {
		if ev.Bad != BadNone {
			t.Fatalf("event %d is %v with BadRecordRatio 0", ev.Position, ev.Bad)
		}
		d := checkValid(t, o, ev)
		types[d.typ]++
		if p, dup := ids[d.id]; dup {
			t.Fatalf("event_id %s of event %d repeats event %d's", d.id, ev.Position, p)
		}
		ids[d.id] = ev.Position
		tr := sessionTraits{d.user, d.device, d.country, d.referrer, strings.Join(d.utm[:], "/"), d.userAgent}
		if prev, ok := sessions[d.session]; ok && prev != tr {
			t.Fatalf("session %s changes traits: %+v then %+v", d.session, prev, tr)
		}
		sessions[d.session] = tr
		if want := expectedMs(o, ev.Position); ev.Time.UnixMilli() != want {
			t.Fatalf("event %d at %v, want %v", ev.Position, ev.Time, time.UnixMilli(want).UTC())
		}
	}
	for _, typ := range knownEventTypes {
		if types[typ] == 0 {
			t.Errorf("no %s event in 20000", typ)
		}
	}
}

func TestEventTimeFollowsTheRate(t *testing.T) {
	o := Options{Seed: 1, Users: 100, Start: time.Date(2026, 2, 28, 23, 59, 59, 500_000_000, time.UTC), EventsPerSecond: 3}
	want := []string{
		"2026-02-28T23:59:59.500Z", "2026-02-28T23:59:59.833Z", "2026-03-01T00:00:00.166Z",
		"2026-03-01T00:00:00.500Z", "2026-03-01T00:00:00.833Z", "2026-03-01T00:00:01.166Z",
	}
	e := newEngine(t, o)
	for i, w := range want {
		ev := e.Next()
		var m struct {
			TS string `json:"timestamp"`
		}
		if err := json.Unmarshal(ev.Value, &m); err != nil {
			t.Fatal(err)
		}
		if m.TS != w || ev.Time.Format("2006-01-02T15:04:05.000Z07:00") != w {
			t.Errorf("event %d: timestamp %s, Meta.Time %v, want %s", i, m.TS, ev.Time, w)
		}
	}
	if got := e.TimeAt(3000).Format(time.RFC3339Nano); got != "2026-03-01T00:16:39.5Z" {
		t.Errorf("TimeAt(3000) = %s", got)
	}
}

func TestBadRecordRatio(t *testing.T) {
	const n = 60000
	o := Options{Seed: 11, Users: 3000, Start: testStart, EventsPerSecond: 100, BadRecordRatio: 0.1}
	counts := map[BadKind]int{}
	for _, ev := range generate(t, o, n) {
		counts[ev.Bad]++
	}
	bad := n - counts[BadNone]
	// Binomial: sd = sqrt(60000·0.1·0.9) ≈ 73; allow over 4 sd.
	if bad < 5700 || bad > 6300 {
		t.Errorf("%d bad events of %d, want about 6000", bad, n)
	}
	for _, k := range BadKinds() {
		// about 1000 each (out_of_order gains the rare duplicates without a
		// valid event to copy); sd ≈ 31.
		if counts[k] < 850 || counts[k] > 1150 {
			t.Errorf("%v: %d events, want about 1000", k, counts[k])
		}
	}

	for _, tc := range []struct {
		ratio   float64
		wantBad int
	}{{0, 0}, {1, 3000}} {
		o := o
		o.BadRecordRatio = tc.ratio
		got := 0
		for _, ev := range generate(t, o, 3000) {
			if ev.Bad != BadNone {
				got++
			}
		}
		if got != tc.wantBad {
			t.Errorf("ratio %v: %d bad events of 3000, want %d", tc.ratio, got, tc.wantBad)
		}
	}
}

func TestBadKindsAreWhatTheySay(t *testing.T) {
	o := Options{Seed: 5, Users: 1000, Start: testStart, EventsPerSecond: 20, BadRecordRatio: 0.3}
	events := generate(t, o, 30000)
	ids := make([]string, len(events)) // event_id of each valid event
	for i, ev := range events {
		if !ev.Bad.Invalid() {
			ids[i] = eventID(t, ev)
		}
	}
	seen := map[BadKind]int{}
	wrongSeen := map[string]int{}
	missingSeen := map[string]int{}
	for _, ev := range events {
		seen[ev.Bad]++
		trueMs := expectedMs(o, ev.Position)
		switch ev.Bad {
		case BadNone, BadDuplicateID:
			d := checkValid(t, o, ev)
			if ev.Time.UnixMilli() != trueMs {
				t.Fatalf("event %d (%v) at %v, want %v", ev.Position, ev.Bad, ev.Time, time.UnixMilli(trueMs).UTC())
			}
			if ev.Bad == BadDuplicateID {
				id := d.id
				found := false
				for m := ev.Position - 1; m >= max(0, ev.Position-1000); m-- {
					prev := events[m]
					if (prev.Bad == BadNone || prev.Bad == BadOutOfOrder || prev.Bad == BadLate) && ids[m] == id {
						found = true
						break
					}
				}
				if !found {
					t.Fatalf("duplicate_id event %d: id %s is not the id of a valid event among the 1000 before", ev.Position, id)
				}
			}
		case BadOutOfOrder, BadLate:
			checkValid(t, o, ev)
			early := time.Duration(trueMs-ev.Time.UnixMilli()) * time.Millisecond
			lo, hi := time.Minute, 10*time.Minute
			if ev.Bad == BadLate {
				lo, hi = 2*time.Hour, 72*time.Hour
			}
			if early < lo || early > hi {
				t.Fatalf("%v event %d is %v early, want %v to %v", ev.Bad, ev.Position, early, lo, hi)
			}
		case BadMalformed:
			if json.Valid(ev.Value) || len(ev.Value) == 0 {
				t.Fatalf("malformed event %d is valid JSON or empty: %q", ev.Position, ev.Value)
			}
		case BadMissingField:
			var raw map[string]any
			if err := json.Unmarshal(ev.Value, &raw); err != nil {
				t.Fatalf("missing_field event %d is not JSON: %v", ev.Position, err)
			}
			var missing []string
			for _, k := range requiredStringFields {
				if _, ok := raw[k]; !ok {
					missing = append(missing, k)
				}
			}
			if len(missing) != 1 {
				t.Fatalf("missing_field event %d lacks %v, want exactly one required field: %s", ev.Position, missing, ev.Value)
			}
			missingSeen[missing[0]]++
		case BadWrongType:
			var raw map[string]any
			if err := json.Unmarshal(ev.Value, &raw); err != nil {
				t.Fatalf("wrong_type event %d is not JSON: %v", ev.Position, err)
			}
			var wrong []string
			for _, k := range requiredStringFields {
				if _, ok := raw[k].(string); !ok {
					wrong = append(wrong, k)
				}
			}
			if _, ok := raw["duration_ms"].(float64); !ok {
				wrong = append(wrong, "duration_ms")
			}
			if len(wrong) != 1 {
				t.Fatalf("wrong_type event %d has wrong types in %v, want exactly one: %s", ev.Position, wrong, ev.Value)
			}
			wrongSeen[wrong[0]]++
		default:
			t.Fatalf("event %d has kind %v", ev.Position, ev.Bad)
		}
	}
	for _, k := range BadKinds() {
		if seen[k] == 0 {
			t.Errorf("no %v event in %d", k, len(events))
		}
	}
	for _, f := range requiredStringFields {
		if missingSeen[f] == 0 {
			t.Errorf("no missing_field event lacks %s", f)
		}
	}
	for _, f := range []string{"duration_ms", "user_id", "timestamp", "event_type"} {
		if wrongSeen[f] == 0 {
			t.Errorf("no wrong_type event has a wrong %s", f)
		}
	}
}

func TestBadKindNames(t *testing.T) {
	want := map[BadKind]string{BadNone: "none", BadMalformed: "malformed", BadMissingField: "missing_field",
		BadWrongType: "wrong_type", BadOutOfOrder: "out_of_order", BadLate: "late", BadDuplicateID: "duplicate_id"}
	for k, name := range want {
		if k.String() != name {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), name)
		}
		wantInvalid := name == "malformed" || name == "missing_field" || name == "wrong_type"
		if k.Invalid() != wantInvalid {
			t.Errorf("%s.Invalid() = %v", name, k.Invalid())
		}
	}
	if got := BadKind(99).String(); got != "BadKind(99)" {
		t.Errorf("BadKind(99).String() = %q", got)
	}
	if got := len(BadKinds()); got != 6 {
		t.Errorf("BadKinds() has %d kinds, want 6", got)
	}
}

// validEvents decodes the events an engine gives that carry their true
// time (none and duplicate_id), in stream order. It reads only what the
// shape tests need (checkValid checks every field elsewhere).
func validEvents(t *testing.T, o Options, n int) []decoded {
	var out []decoded
	for _, ev := range generate(t, o, n) {
		if ev.Bad != BadNone && ev.Bad != BadDuplicateID {
			continue
		}
		var m struct {
			TS       time.Time `json:"timestamp"`
			User     string    `json:"user_id"`
			Session  string    `json:"session_id"`
			Type     string    `json:"event_type"`
			URL      string    `json:"page_url"`
			Referrer string    `json:"referrer"`
			Device   string    `json:"device_type"`
			Country  string    `json:"country"`
		}
		if err := json.Unmarshal(ev.Value, &m); err != nil {
			t.Fatalf("event %d (%v): %v", ev.Position, ev.Bad, err)
		}
		out = append(out, decoded{ts: m.TS, user: m.User, session: m.Session, typ: m.Type, url: m.URL, referrer: m.Referrer, device: m.Device, country: m.Country})
	}
	return out
}

func TestFunnelDropsOff(t *testing.T) {
	o := Options{Seed: 21, Users: 20000, Start: testStart, EventsPerSecond: 20}
	events := validEvents(t, o, 100000)
	counts := map[string]int{}
	type progress struct{ carts, checkouts, purchases int }
	sessions := map[string]*progress{}
	for _, d := range events {
		counts[d.typ]++
		p := sessions[d.session]
		if p == nil {
			p = &progress{}
			sessions[d.session] = p
		}
		switch {
		case d.typ == "add_to_cart":
			if !strings.Contains(d.url, "/p/") {
				t.Fatalf("add_to_cart on %s, not a product page", d.url)
			}
			p.carts++
		case d.typ == "page_view" && strings.HasSuffix(d.url, "/checkout"):
			if p.carts == 0 {
				t.Fatalf("session %s checks out with an empty cart", d.session)
			}
			p.checkouts++
		case d.typ == "purchase":
			if p.carts == 0 || p.checkouts == 0 {
				t.Fatalf("session %s purchases before add_to_cart and checkout", d.session)
			}
			p.carts, p.checkouts = 0, 0
			p.purchases++
		}
	}
	pv, atc, buy := counts["page_view"], counts["add_to_cart"], counts["purchase"]
	t.Logf("page_view %d, click %d, search %d, add_to_cart %d, purchase %d, sessions %d", pv, counts["click"], counts["search"], atc, buy, len(sessions))
	if !(pv > 5*atc && atc > 2*buy && buy > 100) {
		t.Errorf("no funnel drop-off: page_view %d, add_to_cart %d, purchase %d", pv, atc, buy)
	}
	converted := 0
	for _, p := range sessions {
		if p.purchases > 0 {
			converted++
		}
	}
	if rate := float64(converted) / float64(len(sessions)); rate < 0.005 || rate > 0.2 {
		t.Errorf("%.1f%% of sessions convert, want a few percent", 100*rate)
	}
}

func TestPagesFollowZipf(t *testing.T) {
	o := Options{Seed: 8, Users: 20000, Start: testStart, EventsPerSecond: 20}
	products := map[string]int{}
	browse := map[string]int{}
	for _, d := range validEvents(t, o, 100000) {
		if d.typ != "page_view" {
			continue
		}
		path := strings.TrimPrefix(d.url, "https://shop.example.com")
		if strings.HasPrefix(path, "/p/") {
			products[path]++
		} else if path != "/checkout" {
			browse[path]++
		}
	}
	type kv struct {
		k string
		n int
	}
	ranked := func(m map[string]int) []kv {
		var out []kv
		for k, n := range m {
			out = append(out, kv{k, n})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].n > out[j].n || out[i].n == out[j].n && out[i].k < out[j].k })
		return out
	}
	p := ranked(products)
	median := p[len(p)/2].n
	t.Logf("products: %d seen, top %v, second %v, median %d", len(p), p[0], p[1], median)
	if p[0].k != "/p/shoes/10000" || p[0].n < 3*p[1].n/2 || p[0].n < 20*median {
		t.Errorf("product views are not Zipf-like: top %v, second %v, median %d", p[0], p[1], median)
	}
	b := ranked(browse)
	if b[0].k != "/" || b[0].n < 3*b[1].n/2 {
		t.Errorf("browse views are not Zipf-like: top %v, second %v", b[0], b[1])
	}
}

func TestDistributionsAreSkewed(t *testing.T) {
	o := Options{Seed: 4, Users: 20000, Start: testStart, EventsPerSecond: 20}
	devices, countries, referrers := map[string]int{}, map[string]int{}, map[string]int{}
	seen := map[string]bool{}
	for _, d := range validEvents(t, o, 50000) {
		if seen[d.session] {
			continue // count sessions, not events
		}
		seen[d.session] = true
		devices[d.device]++
		countries[d.country]++
		referrers[d.referrer]++
	}
	if !(devices["mobile"] > devices["desktop"] && devices["desktop"] > devices["tablet"] && devices["tablet"] > 0) {
		t.Errorf("devices %v, want mobile > desktop > tablet > 0", devices)
	}
	for c, n := range countries {
		if c != "US" && n >= countries["US"]/2 {
			t.Errorf("country %s has %d sessions, US %d: want US far ahead", c, n, countries["US"])
		}
	}
	if len(countries) < 10 {
		t.Errorf("only %d countries", len(countries))
	}
	google := referrers["https://www.google.com/"]
	for r, n := range referrers {
		if r != "https://www.google.com/" && n >= google {
			t.Errorf("referrer %q has %d sessions, google %d: want google first", r, n, google)
		}
	}
}

func TestSessionsAreSeparatedByInactivity(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		n    int
	}{
		// users enough for the rate: sessions of a few events
		{"roomy", Options{Seed: 31, Users: 2000, Start: testStart, EventsPerSecond: 5, BadRecordRatio: 0.05}, 100000},
		// 50 users at 10 events/s: long sessions, gaps still kept
		{"crowded", Options{Seed: 32, Users: 50, Start: testStart, EventsPerSecond: 10, BadRecordRatio: 0.05}, 100000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type last struct {
				at      time.Time
				session string
			}
			byUser := map[string]last{}
			owner := map[string]string{}
			newSessions, maxInside, minBetween := 0, time.Duration(0), time.Duration(1<<62)
			prev := time.Time{}
			for _, d := range validEvents(t, tc.o, tc.n) {
				if d.ts.Before(prev) {
					t.Fatalf("time goes back from %v to %v", prev, d.ts)
				}
				prev = d.ts
				if u, ok := owner[d.session]; ok && u != d.user {
					t.Fatalf("session %s belongs to %s and %s", d.session, u, d.user)
				}
				owner[d.session] = d.user
				l, ok := byUser[d.user]
				byUser[d.user] = last{d.ts, d.session}
				if !ok {
					continue
				}
				gap := d.ts.Sub(l.at)
				if l.session == d.session {
					maxInside = max(maxInside, gap)
					if gap >= SessionGap {
						t.Fatalf("user %s: %v between two events of session %s", d.user, gap, d.session)
					}
					continue
				}
				newSessions++
				minBetween = min(minBetween, gap)
				if gap <= SessionGap {
					t.Fatalf("user %s: session %s starts %v after session %s", d.user, d.session, gap, l.session)
				}
			}
			t.Logf("%d users, %d sessions, %d sessions after another of their user; widest gap inside a session %v, narrowest between %v",
				len(byUser), len(owner), newSessions, maxInside, minBetween)
			if newSessions < 50 {
				t.Errorf("only %d users came back for another session: the test proves little", newSessions)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	good := Options{Seed: 1, Users: 10, Start: testStart, EventsPerSecond: 1}
	if err := good.Validate(); err != nil {
		t.Fatalf("good options: %v", err)
	}
	for _, tc := range []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.Users = 0 }, "Users is 0; it must be between 1 and 10000000"},
		{func(o *Options) { o.Users = MaxUsers + 1 }, "Users is 10000001; it must be between 1 and 10000000"},
		{func(o *Options) { o.FirstUser = -1 }, "FirstUser is -1; it must be 0 or more"},
		{func(o *Options) { o.Start = time.Time{} }, "Start is 0001-01-01T00:00:00Z; its year must be between 1971 and 9999"},
		{func(o *Options) { o.EventsPerSecond = 0 }, "EventsPerSecond is 0; it must be 1 or more"},
		{func(o *Options) { o.BadRecordRatio = 1.5 }, "BadRecordRatio is 1.5; it must be between 0 and 1"},
		{func(o *Options) { o.BadRecordRatio = -0.1 }, "BadRecordRatio is -0.1; it must be between 0 and 1"},
	} {
		o := good
		tc.change(&o)
		err := o.Validate()
		if err == nil || err.Error() != tc.want {
			t.Errorf("Validate() = %v, want %q", err, tc.want)
		}
		if _, err := NewEngine(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewEngine: %v, want %q", err, tc.want)
		}
	}
}

func TestForTaskSharesUsersAndRate(t *testing.T) {
	o := Options{Seed: 1, Users: 10, FirstUser: 100, Start: testStart, EventsPerSecond: 7}
	same, err := o.ForTask(0, 1)
	if err != nil || !reflect.DeepEqual(same, o) {
		t.Fatalf("ForTask(0, 1) = %+v, %v; want the options unchanged", same, err)
	}
	wantUsers := [][2]int{{100, 4}, {104, 3}, {107, 3}} // first user, users
	wantRate := []int{3, 2, 2}
	seeds := map[int64]bool{o.Seed: true}
	for i := range 3 {
		to, err := o.ForTask(i, 3)
		if err != nil {
			t.Fatal(err)
		}
		if to.FirstUser != wantUsers[i][0] || to.Users != wantUsers[i][1] || to.EventsPerSecond != wantRate[i] {
			t.Errorf("task %d: users %d from %d at %d/s, want %d from %d at %d/s", i, to.Users, to.FirstUser, to.EventsPerSecond, wantUsers[i][1], wantUsers[i][0], wantRate[i])
		}
		if seeds[to.Seed] {
			t.Errorf("task %d: seed %d is not its own", i, to.Seed)
		}
		seeds[to.Seed] = true
	}
	for _, tc := range []struct {
		task, tasks int
		o           Options
		want        string
	}{
		{3, 3, o, "task 3 of 3: the task must be in [0, tasks) and tasks at least 1"},
		{0, 11, o, "10 users cannot be shared by 11 tasks: every task needs a user of its own"},
		{0, 8, Options{Users: 100, EventsPerSecond: 7}, "7 events per second cannot be shared by 8 tasks: every task needs at least 1"},
	} {
		if _, err := tc.o.ForTask(tc.task, tc.tasks); err == nil || err.Error() != tc.want {
			t.Errorf("ForTask(%d, %d) = %v, want %q", tc.task, tc.tasks, err, tc.want)
		}
	}
}

func TestEventTypesListsTheFunnel(t *testing.T) {
	got := EventTypes()
	if !slices.Equal(got, knownEventTypes) {
		t.Errorf("EventTypes() = %v", got)
	}
	got[0] = "changed"
	if EventTypes()[0] != "page_view" {
		t.Error("EventTypes returns the package's own table")
	}
}

// TestBadKindsUsed draws bad events from a chosen set of kinds: only
// those appear, about equally often; listing every kind gives the very
// stream of the default; bad choices are refused by name.
func TestBadKindsUsed(t *testing.T) {
	o := Options{Seed: 9, Users: 1000, Start: testStart, EventsPerSecond: 50, BadRecordRatio: 0.3,
		BadKindsUsed: []BadKind{BadMalformed, BadLate}}
	counts := map[BadKind]int{}
	for _, ev := range generate(t, o, 20000) {
		counts[ev.Bad]++
	}
	if len(counts) != 3 || counts[BadMalformed] < 2700 || counts[BadLate] < 2700 {
		t.Errorf("kinds drawn: %v; want only none, malformed and late, about 3000 of each bad kind", counts)
	}

	all := o
	all.BadKindsUsed = BadKinds()
	dflt := o
	dflt.BadKindsUsed = nil
	a, d := generate(t, all, 2000), generate(t, dflt, 2000)
	for i := range a {
		if string(a[i].Value) != string(d[i].Value) {
			t.Fatalf("event %d differs when every kind is listed:\n%s\n%s", i, a[i].Value, d[i].Value)
		}
	}

	for _, tc := range []struct {
		kinds []BadKind
		want  string
	}{
		{[]BadKind{BadNone}, "only the kinds of BadKinds()"},
		{[]BadKind{BadLate, BadLate}, "late twice"},
		{[]BadKind{numBadKinds}, "only the kinds"},
	} {
		o := o
		o.BadKindsUsed = tc.kinds
		if _, err := NewEngine(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("BadKindsUsed %v: NewEngine error %v, want %q", tc.kinds, err, tc.want)
		}
	}
	if _, err := ParseBadKind("dup"); err == nil || !strings.Contains(err.Error(), "duplicate_id") {
		t.Errorf("ParseBadKind(dup) = %v, want an error listing the names", err)
	}
}
