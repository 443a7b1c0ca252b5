package windowing

import (
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// bufFields serves every field from one byte buffer that the caller
// overwrites after each Add, as a JSON parser with a reused buffer does.
type bufFields struct {
	buf  []byte
	offs map[string][2]int
}

func (f *bufFields) set(kv map[string]string) {
	f.buf = f.buf[:0]
	clear(f.offs)
	for k, v := range kv {
		f.offs[k] = [2]int{len(f.buf), len(f.buf) + len(v)}
		f.buf = append(f.buf, v...)
	}
}

func (f *bufFields) Str(name string) (string, bool) {
	o, ok := f.offs[name]
	if !ok || o[1] == o[0] {
		return "", ok
	}
	return unsafe.String(&f.buf[o[0]], o[1]-o[0]), true
}

func (f *bufFields) Num(string) (float64, bool) { return 0, false }

// TestCallerBuffersAreNotKept: field strings are only valid until Add
// returns. Updating an existing map entry with such a string (count_by,
// funnel) must not keep it: Go stores the key of every assignment.
func TestCallerBuffersAreNotKept(t *testing.T) {
	cfg := countCfg("tumbling", time.Minute, 0)
	byType := aggDefaults("by_event_type", "count_by")
	byType.Field = "event_type"
	fun := aggDefaults("checkout", "funnel")
	fun.Steps = []string{"event_type=page_view", "event_type=purchase"}
	w := mustNew(t, cfg, byType, fun)
	f := &bufFields{buf: make([]byte, 0, 64), offs: map[string][2]int{}}
	at := ms(t, "2026-03-01T10:00:00Z")
	for i, typ := range []string{"page_view", "page_view", "purchase", "page_view"} {
		f.set(map[string]string{"event_type": typ, "user_id": "u1"})
		w.Add(Input{TimeMs: at + int64(i)*1000, Offset: -1, Fields: f})
		for j := range f.buf { // the caller reuses its buffer
			f.buf[j] = 'X'
		}
	}
	f.set(map[string]string{})
	w.Add(Input{TimeMs: at + 2*60_000, Offset: -1, Fields: f})
	rs := w.TakeResults(nil)
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	if got, want := rs[0].Values["by_event_type"], map[string]int64{"page_view": 3, "purchase": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("by_event_type = %v, want %v", got, want)
	}
	fv, ok := rs[0].Values["checkout"].(FunnelValue)
	if !ok || len(fv.Steps) != 2 || fv.Steps[0].Users != 1 || fv.Steps[1].Users != 1 {
		t.Errorf("checkout = %#v, want one user through both steps", rs[0].Values["checkout"])
	}
}
