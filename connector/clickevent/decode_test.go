package clickevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDecodeKnownAndExtraFields(t *testing.T) {
	var d Decoder
	var ev Event
	in := `{"event_id":"e1","timestamp":"2026-11-22T11:00:00.123456+01:00","user_id":"u1","session_id":"s1",` +
		`"event_type":"purchase","page_url":"https://shop/p/1","experiment":{"arm":"b"},"duration_ms":5120,` +
		`"revenue":19.99,"currency":"EUR","utm\"x":[1,2],"referrer":null}`
	if err := d.Decode([]byte(in), &ev); err != nil {
		t.Fatal(err)
	}
	if got, want := ev.Time, time.Date(2026, 11, 22, 10, 0, 0, 123e6, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Time = %v, want %v in UTC", got, want)
	}
	if ev.Strings[FieldEventID] != "e1" || ev.Strings[FieldPageURL] != "https://shop/p/1" || ev.Strings[FieldCurrency] != "EUR" {
		t.Errorf("strings = %q", ev.Strings)
	}
	if ev.DurationMS != 5120 || ev.Revenue != 19.99 {
		t.Errorf("duration %d revenue %v", ev.DurationMS, ev.Revenue)
	}
	if ev.Present.Has(FieldReferrer) || ev.Get(FieldReferrer) != nil {
		t.Error("null referrer counted as present")
	}
	if !ev.Present.Has(FieldRevenue) || ev.Get(FieldRevenue) != 19.99 {
		t.Errorf("revenue not present: %v", ev.Get(FieldRevenue))
	}
	if got, want := string(ev.Extra), `{"experiment":{"arm":"b"},"utm\"x":[1,2]}`; got != want {
		t.Errorf("Extra = %s, want %s", got, want)
	}
	var extra map[string]any
	if err := json.Unmarshal(ev.Extra, &extra); err != nil {
		t.Errorf("Extra is not JSON: %v", err)
	}
}

func TestDecodeNoExtraIsNil(t *testing.T) {
	var d Decoder
	var ev Event
	if err := d.Decode([]byte(`{"event_id":"a","timestamp":1767225600000,"duration_ms":1e3}`), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Extra != nil {
		t.Errorf("Extra = %s, want nil", ev.Extra)
	}
	if !ev.Time.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || ev.DurationMS != 1000 {
		t.Errorf("time %v duration %d", ev.Time, ev.DurationMS)
	}
}

func TestDecodeErrorsNameFieldAndValue(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"duration_ms":"abc"}`, `field "duration_ms": expected int64 (a JSON integer), got string "abc"`},
		{`{"duration_ms":1.5}`, `field "duration_ms": expected int64 (a JSON integer), got number 1.5`},
		{`{"timestamp":"yesterday"}`, `field "timestamp": expected an RFC 3339 timestamp`},
		{`{"revenue":true}`, `field "revenue": expected float64 (a JSON number), got true true`},
		{`{"user_id":42}`, `field "user_id": expected a string, got number 42`},
		{`{"user_id":"a","user_id":"b"}`, `field "user_id": expected the field once, got it twice`},
		{`[1]`, `event: expected a JSON object, got array [1]`},
		{`{"a":`, `event: expected a JSON object, got malformed JSON`},
	}
	var d Decoder
	for _, c := range cases {
		var ev Event
		err := d.Decode([]byte(c.in), &ev)
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want a *FieldError", c.in, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got  %s\n want %s…", c.in, err, c.want)
		}
	}
}

func TestFieldsAndIndexAgree(t *testing.T) {
	fs := Fields()
	if len(fs) != NumFields {
		t.Fatalf("%d fields, NumFields = %d", len(fs), NumFields)
	}
	for i, f := range fs {
		if FieldIndex(f.Name) != i {
			t.Errorf("FieldIndex(%q) = %d, want %d", f.Name, FieldIndex(f.Name), i)
		}
	}
	if FieldIndex("nope") != -1 {
		t.Error("unknown field has an index")
	}
}

func BenchmarkDecode(b *testing.B) {
	in := []byte(`{"event_id":"6f1c2b7e-9a0d-4f3e-8b2a-1c3d5e7f9a0b","timestamp":"2026-11-22T10:00:00.123Z","user_id":"user-42","session_id":"a1b2c3d4e5f60718","event_type":"page_view","page_url":"https://shop.example.com/p/shoes/10012","page_category":"shoes","referrer":"https://www.google.com/","device_type":"mobile","country":"US","duration_ms":5120,"utm_source":"","utm_medium":"","utm_campaign":"","user_agent":"Mozilla/5.0 (X11; Linux x86_64)"}`)
	var d Decoder
	var ev Event
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(in, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFastTimestampAgreesWithTimeParse checks the fast path for
// 2006-01-02T15:04:05[.fraction]Z against time.Parse on edge cases: where
// the fast path answers, time.Parse must give the same instant; where
// time.Parse refuses, the fast path must too.
func TestFastTimestampAgreesWithTimeParse(t *testing.T) {
	cases := []string{
		"2026-11-22T10:00:00Z", "2026-11-22T10:00:00.1Z", "2026-11-22T10:00:00.123Z", "2026-11-22T10:00:00.123456789Z",
		"2026-11-22T10:00:00.1234567891Z", "2026-11-22T10:00:00.Z", "2026-02-29T10:00:00Z", "2028-02-29T10:00:00Z",
		"2026-04-31T10:00:00Z", "2026-13-01T10:00:00Z", "2026-00-01T10:00:00Z", "2026-01-00T10:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", "0000-01-01T00:00:00Z",
		"2026-11-22t10:00:00z", "2026-11-22T10:00:00,5Z", "2026-11-22 10:00:00Z", "2026-11-22T10:00:00+01:00",
		"2026-1-22T10:00:00Z", "2026-11-22T10:00:0xZ", "+026-11-22T10:00:00Z", "2026-11-22T10:00:00.12a4Z",
		"2026-11-22T10:00:00.999999Z", "1900-01-01T00:00:00.000Z",
	}
	for _, c := range cases {
		checkFastTimestamp(t, c)
	}
}

func checkFastTimestamp(t *testing.T, s string) {
	t.Helper()
	want, err := time.Parse(time.RFC3339Nano, s)
	got, ok := parseUTCMillis([]byte(s))
	switch {
	case ok && err != nil:
		t.Errorf("%q: fast path accepted %v, time.Parse refuses: %v", s, got, err)
	case ok && !got.Equal(want.UTC().Truncate(time.Millisecond)):
		t.Errorf("%q: fast path %v, time.Parse %v", s, got, want)
	case ok && got.Location() != time.UTC:
		t.Errorf("%q: fast path result not in UTC", s)
	}
}

func FuzzFastTimestamp(f *testing.F) {
	for _, s := range []string{"2026-11-22T10:00:00.123Z", "2026-04-31T10:00:00Z", "2026-11-22T10:00:00.1234567891Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkFastTimestamp(t, s) })
}

// TestRepeatedValuesInterned decodes more distinct values of a repetitive
// field than its table holds: every value reads back right, the table
// stops growing at maxInterned, and a repeated value comes from it.
func TestRepeatedValuesInterned(t *testing.T) {
	var d Decoder
	var ev Event
	for i := range maxInterned + 100 {
		in := fmt.Sprintf(`{"event_id":"e%d","country":"C%d","event_type":"click"}`, i, i)
		if err := d.Decode([]byte(in), &ev); err != nil {
			t.Fatal(err)
		}
		if got, want := ev.Strings[FieldCountry], fmt.Sprintf("C%d", i); got != want {
			t.Fatalf("country = %q, want %q", got, want)
		}
		if got, want := ev.Strings[FieldEventID], fmt.Sprintf("e%d", i); got != want {
			t.Fatalf("event_id = %q, want %q", got, want)
		}
	}
	if n := len(d.interned[FieldCountry]); n != maxInterned {
		t.Errorf("country table holds %d values, want the bound %d", n, maxInterned)
	}
	if d.interned[FieldEventID] != nil {
		t.Error("event_id values (unique) were interned")
	}
	// The parser reuses its buffer: an interned value must not change
	// when the next event is decoded.
	first := ev.Strings[FieldEventType]
	if err := d.Decode([]byte(`{"event_type":"purchase"}`), &ev); err != nil {
		t.Fatal(err)
	}
	if first != "click" || ev.Strings[FieldEventType] != "purchase" {
		t.Errorf("event_type values %q, %q", first, ev.Strings[FieldEventType])
	}
	if n := testing.AllocsPerRun(100, func() { _ = d.Decode([]byte(`{"event_type":"click","country":"C1"}`), &ev) }); n != 0 {
		t.Errorf("decoding repeated values allocates %.0f times", n)
	}
}
