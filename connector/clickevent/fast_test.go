package clickevent

import (
	"reflect"
	"testing"
)

// fastSeeds are events in the shapes producers write, and near misses.
var fastSeeds = []string{
	`{"event_id":"6f1c2b7e-9a0d-4f3e-8b2a-1c3d5e7f9a0b","timestamp":"2026-11-22T10:00:00.123Z","user_id":"user-42","session_id":"a1b2c3d4e5f60718","event_type":"page_view","page_url":"https://shop.example.com/p/shoes/10012","page_category":"shoes","referrer":"https://www.google.com/","device_type":"mobile","country":"US","duration_ms":5120,"utm_source":"","utm_medium":"","utm_campaign":"","user_agent":"Mozilla/5.0 (X11; Linux x86_64)"}`,
	` { "event_id" : "e1" , "revenue" : 19.99 , "currency":"EUR", "duration_ms": -0 } `,
	`{"event_id":"e1","revenue":1e400}`,
	`{"event_id":"e1","revenue":0.1000000000000000055511151231257827}`,
	`{"event_id":"e1","duration_ms":1e3}`,
	`{"event_id":"e1","duration_ms":123456789012345678901}`,
	`{"event_id":"e1","timestamp":"2026-11-22T11:00:00+01:00"}`,
	`{"event_id":"e\u00e9"}`,
	`{"event_id":"e1","event_id":"e2"}`,
	`{"event_id":null}`,
	`{"x":1}`,
	`{}`,
	`{"event_id":"e1",}`,
	`{"event_id":"e1"} x`,
	`{"timestamp":1790000000000}`,
	"{\"event_id\":\"a\x01b\"}",
	"{\"event_id\":\"\xff\xfe\"}",
	`{"event_id":"e1","url":"https://shop/p/1","device":"mobile","n":-1.5e3,"ok":true,"no":false,"x":null,"country":"DE"}`,
	`{"url":"a<b>&é日本"}`,
	`{"a":{"b":1}}`,
	`{"a":[1, 2]}`,
	`{"a":"x\"y"}`,
	`{"a":1,"a":2}`,
	`{"a":nul}`,
	`{"a":01}`,
}

// TestFastPathTaken makes sure the shapes producers write are decoded
// by the fast path (a change that sent them all down the general path
// would pass every other test).
func TestFastPathTaken(t *testing.T) {
	var d Decoder
	var ev Event
	for _, s := range append(fastSeeds[:2:2], fastSeeds[17]) {
		if !d.decodeFast([]byte(s), &ev) {
			t.Errorf("%s: not decoded by the fast path", s)
		}
	}
}

// checkFastAgrees decodes b both ways: where the fast path accepts, the
// general path must accept with the very same event.
func checkFastAgrees(t *testing.T, b []byte) {
	t.Helper()
	var fd, td Decoder
	var fast, tree Event
	if !fd.decodeFast(b, &fast) {
		return
	}
	if err := td.decodeTree(b, &tree); err != nil {
		t.Fatalf("%q: fast path accepted %+v, general path refused: %v", b, fast, err)
	}
	if !reflect.DeepEqual(fast, tree) {
		t.Fatalf("%q: fast path %+v, general path %+v", b, fast, tree)
	}
}

func TestFastPathAgrees(t *testing.T) {
	for _, s := range fastSeeds {
		checkFastAgrees(t, []byte(s))
	}
}

func FuzzFastPathAgrees(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkFastAgrees)
}
