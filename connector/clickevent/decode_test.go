package clickevent

import (
	"encoding/json"
	"errors"
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
