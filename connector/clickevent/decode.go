package clickevent

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Event is one decoded click event. Fields absent from the JSON (or null)
// are not in Present and hold zero values.
type Event struct {
	// Present says which known fields the JSON had, with a non-null value.
	Present FieldSet
	// Strings holds the String fields, by field index (FieldEventID, ...).
	Strings [NumFields]string
	// Time is the timestamp field, UTC, truncated to milliseconds.
	Time time.Time
	// DurationMS is the duration_ms field.
	DurationMS int64
	// Revenue is the revenue field.
	Revenue float64
	// Extra holds the fields outside the schema as one JSON object, in
	// input order, or is nil when there were none. It is a new slice per
	// event, safe to keep.
	Extra []byte
}

// Get returns the value of known field i as string, time.Time, int64 or
// float64, or nil when the field is absent.
func (e *Event) Get(i int) any {
	if i < 0 || i >= NumFields || !e.Present.Has(i) {
		return nil
	}
	switch i {
	case FieldTimestamp:
		return e.Time
	case FieldDurationMS:
		return e.DurationMS
	case FieldRevenue:
		return e.Revenue
	}
	return e.Strings[i]
}

// FieldError says why a value does not fit the schema. Field is empty when
// the value as a whole is at fault (not a JSON object).
type FieldError struct {
	// Field is the JSON key at fault.
	Field string
	// Want is what the field must hold.
	Want string
	// Got describes the value found, with a bounded excerpt of it.
	Got string
}

// Error reads like `field "duration_ms": expected int64 (a JSON integer), got string "abc"`.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("event: expected %s, got %s", e.Want, e.Got)
	}
	return fmt.Sprintf("field %q: expected %s, got %s", e.Field, e.Want, e.Got)
}

// Decoder decodes events. Its zero value is ready; it reuses its parser
// and its tables of repeated values, so one Decoder is for one goroutine.
type Decoder struct {
	p fastjson.Parser
	// interned holds, for the fields whose values repeat (event_type,
	// country, …), the values seen so far, so that a repeated value costs
	// a map lookup instead of a new string. At most maxInterned values a
	// field: past that, values are allocated as for any other field.
	interned [NumFields]map[string]string
}

// maxInterned bounds each field's table of repeated values, so a field
// that turns out to be unique per event costs a bounded amount of memory.
const maxInterned = 4096

// repetitive are the fields whose values come from a small set (a few
// event types, countries, campaigns, user agents).
var repetitive = func() (r [NumFields]bool) {
	for _, i := range []int{FieldEventType, FieldPageCategory, FieldReferrer, FieldDeviceType, FieldCountry,
		FieldCurrency, FieldUTMSource, FieldUTMMedium, FieldUTMCampaign, FieldUserAgent} {
		r[i] = true
	}
	return r
}()

// str returns b as a string, from field i's table when the field is
// repetitive.
func (d *Decoder) str(i int, b []byte) string {
	if !repetitive[i] || len(b) == 0 {
		return string(b)
	}
	m := d.interned[i]
	if s, ok := m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if m == nil {
		m = make(map[string]string)
		d.interned[i] = m
	}
	if len(m) < maxInterned {
		m[s] = s
	}
	return s
}

// Decode fills ev from value, a JSON object. It returns a *FieldError when
// value is not an object or a known field does not fit its kind, and
// leaves ev partly filled then. Required fields are not checked: a sink
// decides what a missing one means (the validate transform rejects it
// before a sink sees it).
func (d *Decoder) Decode(value []byte, ev *Event) error {
	if d.decodeFast(value, ev) {
		return nil
	}
	return d.decodeTree(value, ev)
}

// decodeTree decodes any value through fastjson's parse tree: every
// shape of event, and every error.
func (d *Decoder) decodeTree(value []byte, ev *Event) error {
	*ev = Event{}
	v, err := d.p.ParseBytes(value)
	if err != nil {
		return &FieldError{Want: "a JSON object", Got: "malformed JSON: " + err.Error()}
	}
	o, err := v.Object()
	if err != nil {
		return &FieldError{Want: "a JSON object", Got: describe(v)}
	}
	var ferr error
	var extra []byte
	o.Visit(func(key []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		i := fieldIndexBytes(key)
		if i < 0 {
			if len(extra) == 0 {
				extra = append(extra, '{')
			} else {
				extra = append(extra, ',')
			}
			extra = appendJSONString(extra, key)
			extra = append(extra, ':')
			extra = v.MarshalTo(extra)
			return
		}
		if ev.Present.Has(i) {
			ferr = &FieldError{Field: string(key), Want: "the field once", Got: "it twice"}
			return
		}
		if v.Type() == fastjson.TypeNull {
			return
		}
		ferr = d.set(ev, i, key, v)
	})
	if ferr != nil {
		return ferr
	}
	if extra != nil {
		ev.Extra = append(extra, '}')
	}
	return nil
}

// set stores v as known field i of ev.
func (d *Decoder) set(ev *Event, i int, key []byte, v *fastjson.Value) error {
	switch i {
	case FieldTimestamp:
		t, ok := parseTime(v)
		if !ok {
			return &FieldError{Field: string(key), Want: "an RFC 3339 timestamp such as 2026-11-22T10:00:00.123Z (or Unix milliseconds)", Got: describe(v)}
		}
		ev.Time = t
	case FieldDurationMS:
		n, ok := parseInt(v)
		if !ok {
			return &FieldError{Field: string(key), Want: "int64 (a JSON integer)", Got: describe(v)}
		}
		ev.DurationMS = n
	case FieldRevenue:
		f, err := v.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return &FieldError{Field: string(key), Want: "float64 (a JSON number)", Got: describe(v)}
		}
		ev.Revenue = f
	default:
		b, err := v.StringBytes()
		if err != nil {
			return &FieldError{Field: string(key), Want: "a string", Got: describe(v)}
		}
		ev.Strings[i] = d.str(i, b)
	}
	ev.Present |= 1 << uint(i)
	return nil
}

// parseTime reads an RFC 3339 string or a number of Unix milliseconds.
func parseTime(v *fastjson.Value) (time.Time, bool) {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if t, ok := parseUTCMillis(b); ok {
			return t, true
		}
		t, err := time.Parse(time.RFC3339Nano, string(b))
		if err != nil {
			return time.Time{}, false
		}
		return t.UTC().Truncate(time.Millisecond), true
	case fastjson.TypeNumber:
		ms, ok := parseInt(v)
		if !ok {
			return time.Time{}, false
		}
		return time.UnixMilli(ms).UTC(), true
	}
	return time.Time{}, false
}

// parseUTCMillis reads the form nearly every producer writes,
// 2006-01-02T15:04:05Z with no fraction or a fraction of up to nine
// digits, without the allocation and generality of time.Parse. It reports
// false for anything else (other zones, other lengths, out-of-range
// fields), which parseTime then hands to time.Parse, so both accept and
// reject the same strings.
func parseUTCMillis(b []byte) (time.Time, bool) {
	n := len(b)
	if n < 20 || b[n-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		v := 0
		for _, c := range b[from:to] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, false
	}
	nanos := 0
	switch frac := b[19 : n-1]; {
	case len(frac) == 0:
	case frac[0] != '.' || len(frac) < 2 || len(frac) > 10:
		return time.Time{}, false
	default:
		f, ok := num(20, n-1)
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			f *= 10
		}
		nanos = f
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	if t.Day() != day { // 31 April and the like: time.Parse rejects them
		return time.Time{}, false
	}
	return t.Truncate(time.Millisecond), true
}

// parseInt reads a JSON integer, also written with an exponent or a zero
// fraction (1e3, 5120.0), that fits int64.
func parseInt(v *fastjson.Value) (int64, bool) {
	if v.Type() != fastjson.TypeNumber {
		return 0, false
	}
	if n, err := v.Int64(); err == nil {
		return n, true
	}
	f, err := v.Float64()
	if err != nil || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

// describe names a value's JSON type with an excerpt, for errors.
func describe(v *fastjson.Value) string {
	raw := v.MarshalTo(nil)
	if len(raw) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(raw[cut]) {
			cut--
		}
		raw = append(raw[:cut:cut], "…"...)
	}
	return v.Type().String() + " " + string(raw)
}

// fieldIndexBytes is FieldIndex without converting key to a string.
func fieldIndexBytes(key []byte) int { return FieldIndex(string(key)) }

// appendJSONString appends s as a JSON string.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
