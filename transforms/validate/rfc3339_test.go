package validate

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var rfc3339Cases = []struct {
	s  string
	ok bool
}{
	{"2026-11-22T10:00:00Z", true},
	{"2026-11-22T10:00:00.123Z", true},
	{"2026-11-22T10:00:00.123456789Z", true},
	{"2026-11-22T10:00:00+01:00", true},
	{"2026-11-22T10:00:00.5-23:59", true},
	{"2024-02-29T23:59:59Z", true},
	{"2000-02-29T00:00:00Z", true},
	{"2026-11-22T10:00:00.1234567890Z", true}, // the RFC sets no limit
	{"2026-11-22T10:00:00,123Z", false},       // time.Parse takes these four
	{"2026-11-22T1:00:00Z", false},
	{"2026-11-22T10:00:00+24:00", false},
	{"2026-11-22T10:00:00+01:60", false},
	{"2026-11-22t10:00:00Z", false},
	{"2026-11-22T10:00:00z", false},
	{"2026-11-22T10:00:00", false},
	{"2026-11-22T10:00Z", false},
	{"2026-11-22 10:00:00Z", false},
	{"2026-11-22T24:00:00Z", false},
	{"2026-11-22T10:60:00Z", false},
	{"2026-11-22T10:00:60Z", false},
	{"2026-00-22T10:00:00Z", false},
	{"2026-11-31T10:00:00Z", false},
	{"2026-02-29T10:00:00Z", false},
	{"1900-02-29T10:00:00Z", false},
	{"2026-11-22T10:00:00.Z", false},
	{"2026-11-22T10:00:00+0100", false},
	{"+2026-11-22T10:00:00Z", false},
	{"", false},
	{"20261122T100000Z", false},
}

func TestRFC3339(t *testing.T) {
	for _, tc := range rfc3339Cases {
		if got := isRFC3339([]byte(tc.s)); got != tc.ok {
			t.Errorf("isRFC3339(%q) = %v, want %v", tc.s, got, tc.ok)
		}
	}
}

// Every time package time formats as RFC3339 is accepted.
func TestRFC3339FastPathTakesFormattedTimes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -(9*3600 + 30*60)), time.FixedZone("", 14*3600)}
	for range 20000 {
		ts := time.Unix(r.Int64N(253402300799), r.Int64N(1e9)).In(zones[r.IntN(len(zones))])
		for _, layout := range []string{time.RFC3339, time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00"} {
			s := ts.Format(layout)
			if !isRFC3339([]byte(s)) {
				t.Fatalf("isRFC3339(%q) = false", s)
			}
		}
	}
}

// isRFC3339 accepts nothing that time.Parse rejects, and reads what it
// accepts as time.Parse does.
func FuzzRFC3339(f *testing.F) {
	for _, tc := range rfc3339Cases {
		f.Add(tc.s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !isRFC3339([]byte(s)) {
			return
		}
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatalf("isRFC3339(%q) = true, time.Parse: %v", s, err)
		}
		if y, m, d := ts.Date(); fmt.Sprintf("%04d-%02d-%02d", y, m, d) != s[:10] {
			t.Fatalf("time.Parse(%q) reads the date as %v", s, ts)
		}
	})
}
