package window

import (
	"time"
	"unsafe"

	"github.com/valyala/fastjson"
)

// maxInterned bounds the string cache of fields; at the bound it starts
// over (the strings handed out stay valid: they are ordinary strings).
const maxInterned = 1 << 20

// fields is windowing.Fields over a parsed event. The strings it returns
// are interned copies, stable for ever: windowing promises to need them
// only until Add returns, but Go maps replace a string key on assignment,
// so a measure that updates an existing map entry (count_by, top_k,
// funnel) would keep a string aliasing the parser's reused buffer.
// Interning keeps the hot path free of allocations for values seen
// before.
type fields struct {
	v    *fastjson.Value
	strs map[string]string
}

func (f *fields) intern(b []byte) string {
	if s, ok := f.strs[string(b)]; ok {
		return s
	}
	if f.strs == nil || len(f.strs) >= maxInterned {
		f.strs = make(map[string]string, 1024)
	}
	s := string(b)
	f.strs[s] = s
	return s
}

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
	return f.intern(b), true
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
