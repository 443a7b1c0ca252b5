package window

import (
	"time"
	"unsafe"

	"github.com/valyala/fastjson"
)

// fields is windowing.Fields over a parsed event. The strings it returns
// alias the parser's buffer (no copy): windowing needs them only until Add
// returns, and the sink parses the next event only after that.
type fields struct{ v *fastjson.Value }

// Str returns a string field; a missing field or one of another type is
// ("", false).
func (f *fields) Str(name string) (string, bool) {
	x := f.v.Get(name)
	if x == nil || x.Type() != fastjson.TypeString {
		return "", false
	}
	b, err := x.StringBytes()
	if err != nil {
		return "", false
	}
	return bytesString(b), true
}

// Num returns a numeric field; a missing field or one of another type is
// (0, false).
func (f *fields) Num(name string) (float64, bool) {
	x := f.v.Get(name)
	if x == nil || x.Type() != fastjson.TypeNumber {
		return 0, false
	}
	n, err := x.Float64()
	return n, err == nil
}

// eventTime reads the RFC3339 event time of field name, in Unix ms.
func (f *fields) eventTime(name string) (int64, string) {
	x := f.v.Get(name)
	if x == nil {
		return 0, "has no " + name + " field"
	}
	if x.Type() != fastjson.TypeString {
		return 0, "field " + name + " is a " + x.Type().String() + ", not an RFC3339 time string"
	}
	b, err := x.StringBytes()
	if err != nil {
		return 0, "field " + name + " is not a valid string"
	}
	t, err := time.Parse(time.RFC3339Nano, bytesString(b))
	if err != nil {
		return 0, "field " + name + " " + string(b) + " is not an RFC3339 time"
	}
	return t.UnixMilli(), ""
}

// bytesString views b as a string without copying; b must not change
// while the string is in use.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
