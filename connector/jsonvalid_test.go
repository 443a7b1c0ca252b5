package connector

import (
	"encoding/json"
	"testing"
)

func TestValidateJSONAgreesWithStdlib(t *testing.T) {
	cases := []string{
		`{}`, `[]`, `{"a":1}`, ` {"a" : [1, 2.5, -3e10, true, false, null, "x\"y\u00e9"]} `,
		`{"a":1,}`, `{"a"}`, `{"a":}`, `[1,]`, `"unterminated`, `{"a":01}`, `-`, `1.`, `1e`, `tru`,
		`{"a":1}{`, `{"a":"\x"}`, "\"ctl\x01\"", `{"timestamp":"2026-11-22T10:00:00.123Z","duration_ms":12}`,
		``, ` `, `nul`, `{"a":[{"b":{"c":[]}}]}`, "\"\xff\"", `{"k":"v"`, `[1 2]`, `{"a" 1}`, `0`, `-0.5E+3`,
	}
	for _, c := range cases {
		got := validateJSON([]byte(c)) == nil
		want := json.Valid([]byte(c))
		if got != want {
			t.Errorf("validateJSON(%q) valid=%v, encoding/json says %v", c, got, want)
		}
	}
}

func FuzzValidateJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,"b",null]}`, `[`, `"\u12"`, `-1.5e3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validateJSON(b) == nil, json.Valid(b); got != want {
			t.Fatalf("validateJSON(%q) valid=%v, encoding/json says %v", b, got, want)
		}
	})
}

func BenchmarkValidateJSON(b *testing.B) {
	v := []byte(`{"event_id":"7d9f1c1e-4b8a-4c2e-9d7a-2f1e3c4b5a69","timestamp":"2026-11-22T10:00:00.123Z","user_id":"u-001234","session_id":"s-00012345","event_type":"page_view","page_url":"/products/42","page_category":"products","referrer":"google.com","device_type":"mobile","country":"DE","duration_ms":1234,"utm_source":"google","utm_medium":"cpc","utm_campaign":"winter","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}`)
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		if err := validateJSON(v); err != nil {
			b.Fatal(err)
		}
	}
}
