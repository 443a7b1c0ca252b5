package generator

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// escapeCases hold strings that need every kind of escaping, at every
// position around the eight-byte fast path.
var escapeCases = []string{
	"", "plain", "exactly8", "sixteen-bytes-ok",
	`"`, `\`, "a\"b", `back\slash`, "new\nline", "tab\there", "cr\rlf", "\x00\x01\x1f", "\x7f",
	"ünïcödé", "emoji 😀 here", "\u2028\u2029", "bad \xff utf8", "\xc3", "\xe2\x82", "trunc\xe2\x82\xac\xe2",
	"1234567\"", "12345678\"", "123456789\\", "1234567\x01abcdefgh", "abcdefgh\xffabcdefgh",
	strings.Repeat("x", 100) + "\"" + strings.Repeat("y", 100),
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range escapeCases {
		checkEscaped(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range escapeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkEscaped(t, s) })
}

// checkEscaped checks that appendString writes a JSON string that decodes
// to what encoding/json's own encoding of s decodes to.
func checkEscaped(t *testing.T, s string) {
	t.Helper()
	got := appendString([]byte("x"), s)[1:]
	if !json.Valid(got) {
		t.Fatalf("appendString(%q) = %s: not JSON", s, got)
	}
	ref, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var a, b string
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ref, &b); err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("appendString(%q) decodes to %q, encoding/json's to %q", s, a, b)
	}
	for _, c := range got {
		if c < 0x20 {
			t.Fatalf("appendString(%q) = %q keeps a control byte", s, got)
		}
	}
}

func TestAppendTimestampMatchesPackageTime(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000Z07:00"
	cases := []time.Time{
		time.Unix(0, 0),
		time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 23, 59, 59, 999e6, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 1e6, time.UTC),
		time.Date(2100, 2, 28, 23, 59, 59, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), // past the fast path
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		cases = append(cases, time.UnixMilli(r.Int64N(maxFastMs)))
	}
	for _, c := range cases {
		ms := c.UnixMilli()
		want := time.UnixMilli(ms).UTC().Format(layout)
		if got := string(appendTimestamp(nil, ms)); got != want {
			t.Fatalf("appendTimestamp(%d) = %s, want %s", ms, got, want)
		}
	}
}

func TestAppendMoney(t *testing.T) {
	for _, tc := range []struct {
		minor    int64
		decimals int
		want     string
	}{
		{12999, 2, "129.99"}, {5, 2, "0.05"}, {100, 2, "1.00"}, {123450, 2, "1234.50"},
		{19800, 0, "19800"}, {7, 3, "0.007"},
	} {
		if got := string(appendMoney(nil, tc.minor, tc.decimals)); got != tc.want {
			t.Errorf("appendMoney(%d, %d) = %s, want %s", tc.minor, tc.decimals, got, tc.want)
		}
	}
}

func TestTablesNeedNoEscapingAndAddUp(t *testing.T) {
	var all []string
	all = append(all, categories[:]...)
	all = append(all, searchTerms[:]...)
	all = append(all, campaigns[:]...)
	for _, p := range browsePages {
		all = append(all, p.path, p.category)
	}
	for _, s := range trafficSources {
		all = append(all, s.referrer, s.utmSource, s.utmMedium)
	}
	for _, d := range devices {
		all = append(all, d.name)
		all = append(all, d.agents...)
	}
	for _, s := range all {
		if got := string(appendEscaped(nil, s)); got != s {
			t.Errorf("table string %q needs escaping: the URL or header would differ from the JSON", s)
		}
	}
	sum := func(n int, w func(int) uint64) uint64 {
		var s uint64
		for i := range n {
			s += w(i)
		}
		return s
	}
	if s := sum(len(trafficSources), func(i int) uint64 { return trafficSources[i].weight }); s != 1000 {
		t.Errorf("traffic source weights sum to %d, want 1000", s)
	}
	if s := sum(len(countries), func(i int) uint64 { return countries[i].weight }); s != 1000 {
		t.Errorf("country weights sum to %d, want 1000", s)
	}
	if s := sum(len(devices), func(i int) uint64 { return devices[i].weight }); s != 1000 {
		t.Errorf("device weights sum to %d, want 1000", s)
	}
	for typ, buckets := range durations {
		var s uint64
		for _, b := range buckets {
			s += b.weight
			if b.lo >= b.hi {
				t.Errorf("%s: empty duration bucket %v", eventTypeNames[typ], b)
			}
		}
		if s != 1000 {
			t.Errorf("%s duration weights sum to %d, want 1000", eventTypeNames[typ], s)
		}
	}
	for st, row := range transitions {
		if row == nil {
			continue
		}
		s := 0
		for _, tr := range row {
			s += tr.weight
		}
		if s != 1000 {
			t.Errorf("state %d: transition weights sum to %d, want 1000", st, s)
		}
	}
}

func TestPickCumFollowsWeights(t *testing.T) {
	cum := []uint64{1, 3, 6} // weights 1, 2, 3
	counts := make([]int, 3)
	r := newRNG(1)
	for range 60000 {
		counts[pickCum(r.next(), cum)]++
	}
	for i, want := range []int{10000, 20000, 30000} {
		if d := counts[i] - want; d < -600 || d > 600 {
			t.Errorf("index %d drawn %d times, want about %d", i, counts[i], want)
		}
	}
}
