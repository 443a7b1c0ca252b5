package validate

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/sources/generator"
)

func newTransform(t testing.TB, raw map[string]string) *Transform {
	t.Helper()
	var cfg Config
	if errs := connector.DecodeConfig(raw, &cfg, "transforms.v."); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	tr, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// event builds a valid event and applies edits: "key": value replaces a
// field's JSON (an empty value removes it), in the original field order.
func event(edits ...string) []byte {
	fields := [][2]string{
		{"event_id", `"0b6e1d52-3f0c-4b8e-9a51-6f2c2d9e7a10"`},
		{"timestamp", `"2026-11-22T10:00:00.123Z"`},
		{"user_id", `"user-42"`},
		{"session_id", `"9f86d081884c7d65"`},
		{"event_type", `"purchase"`},
		{"page_url", `"https://shop.example.com/checkout/confirmation"`},
		{"page_category", `"checkout"`},
		{"duration_ms", `5120`},
		{"revenue", `129.99`},
		{"currency", `"USD"`},
	}
	for i := 0; i+1 < len(edits); i += 2 {
		k, v := edits[i], edits[i+1]
		j := slices.IndexFunc(fields, func(f [2]string) bool { return f[0] == k })
		switch {
		case j < 0:
			fields = append(fields, [2]string{k, v})
		case v == "":
			fields = slices.Delete(fields, j, j+1)
		default:
			fields[j][1] = v
		}
	}
	var b strings.Builder
	b.WriteString("{")
	for i, f := range fields {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"` + f[0] + `":` + f[1])
	}
	b.WriteString("}")
	return []byte(b.String())
}

func TestCheckReportsTheFieldAndTheProblem(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, tc := range []struct {
		name  string
		value []byte
		want  string // "" for a valid event
	}{
		{"valid", event(), ""},
		{"valid with spaces and extra fields", []byte("  \n" + string(event("extra", `{"a":[1,2]}`)) + "\t "), ""},
		{"valid without optional fields", event("duration_ms", "", "revenue", "", "currency", ""), ""},
		{"valid with an offset", event("timestamp", `"2026-11-22T11:00:00+01:00"`), ""},
		{"valid with nanoseconds", event("timestamp", `"2026-11-22T10:00:00.123456789Z"`), ""},
		{"valid on a leap day", event("timestamp", `"2024-02-29T00:00:00Z"`), ""},
		{"valid with a negative zero revenue", event("revenue", `-0.0e0`), ""},
		{"valid with escapes", event("user_id", `"user-\u0034\"2"`), ""},

		{"empty", nil, "not valid JSON: the value is empty"},
		{"not UTF-8", event("user_id", "\"user-\xff\""), "not valid JSON: invalid UTF-8 at byte 106"},
		{"array", []byte(`[1,2]`), "expected a JSON object, got array"},
		{"string", []byte(`"x"`), `expected a JSON object, got string "x"`},
		{"null", []byte(`null`), "expected a JSON object, got null"},
		{"number", []byte(`12`), "expected a JSON object, got number 12"},

		{"missing event_id", event("event_id", ""), `missing required field "event_id"`},
		{"missing timestamp", event("timestamp", ""), `missing required field "timestamp"`},
		{"missing user_id", event("user_id", ""), `missing required field "user_id"`},
		{"missing session_id", event("session_id", ""), `missing required field "session_id"`},
		{"missing event_type", event("event_type", ""), `missing required field "event_type"`},
		{"missing page_url", event("page_url", ""), `missing required field "page_url"`},
		{"two missing: the first is named", event("page_url", "", "user_id", ""), `missing required field "user_id"`},

		{"user_id a number", event("user_id", `4217`), `field "user_id": expected a string, got number 4217`},
		{"user_id empty", event("user_id", `""`), `field "user_id": must not be empty`},
		{"session_id null", event("session_id", `null`), `field "session_id": expected a string, got null`},
		{"page_url an array", event("page_url", `["a"]`), `field "page_url": expected a string, got array`},
		{"event_id false", event("event_id", `false`), `field "event_id": expected a string, got boolean false`},
		{"duration_ms a string", event("duration_ms", `"abc"`), `field "duration_ms": expected a number, got string "abc"`},
		{"duration_ms null", event("duration_ms", `null`), `field "duration_ms": expected a number, got null`},
		{"revenue true", event("revenue", `true`), `field "revenue": expected a number, got boolean true`},
		{"long value shortened", event("duration_ms", `"`+long+`"`), `field "duration_ms": expected a number, got string "` + long[:64] + `"…`},

		{"timestamp a number", event("timestamp", `1795341600000`), `field "timestamp": expected a string, got number 1795341600000`},
		{"timestamp month 13", event("timestamp", `"2026-13-01T00:00:00Z"`), `field "timestamp": "2026-13-01T00:00:00Z" is not an RFC3339 time such as 2026-01-02T15:04:05.123Z`},
		{"timestamp not a leap year", event("timestamp", `"2026-02-29T00:00:00Z"`), `field "timestamp": "2026-02-29T00:00:00Z" is not an RFC3339 time such as 2026-01-02T15:04:05.123Z`},
		{"timestamp with a space", event("timestamp", `"2026-11-22 10:00:00Z"`), `field "timestamp": "2026-11-22 10:00:00Z" is not an RFC3339 time such as 2026-01-02T15:04:05.123Z`},
		{"timestamp without zone", event("timestamp", `"2026-11-22T10:00:00"`), `field "timestamp": "2026-11-22T10:00:00" is not an RFC3339 time such as 2026-01-02T15:04:05.123Z`},
		{"timestamp empty", event("timestamp", `""`), `field "timestamp": "" is not an RFC3339 time such as 2026-01-02T15:04:05.123Z`},

		{"event_type unknown", event("event_type", `"view"`), `field "event_type": "view" is not one of page_view, click, search, add_to_cart, purchase`},
		{"event_type an object", event("event_type", `{}`), `field "event_type": expected a string, got object`},
		{"event_type a number", event("event_type", `2`), `field "event_type": expected a string, got number 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransform(t, nil)
			err := tr.Check(tc.value)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check(%s) = %v, want nil", tc.value, err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("Check(%s)\n got %v\nwant %s", tc.value, err, tc.want)
			}
		})
	}
}

func TestCheckRejectsRepeatedFields(t *testing.T) {
	// fastjson reads the first of repeated keys, encoding/json the last:
	// a repeat could carry a wrong value past the check.
	tr := newTransform(t, nil)
	for _, value := range []string{
		`{"event_id":"e","timestamp":"2026-11-22T10:00:00Z","user_id":"a","session_id":"s","event_type":"click","page_url":"u","user_id":1}`,
		`{"event_id":"e","timestamp":"2026-11-22T10:00:00Z","user_id":"a","session_id":"s","event_type":"click","page_url":"u","user\u005fid":"b"}`,
	} {
		err := tr.Check([]byte(value))
		if err == nil || err.Error() != `field "user_id": appears more than once` {
			t.Errorf("Check(%s) = %v", value, err)
		}
	}
}

func TestCheckRejectsMalformedJSON(t *testing.T) {
	tr := newTransform(t, nil)
	valid := event()
	for _, value := range [][]byte{
		valid[:len(valid)-1],             // truncated
		valid[:1],                        // "{"
		append(slices.Clone(valid), '}'), // trailing brace
		[]byte("\xff\xfe garbage"),
		[]byte(`{"event_id": NaN}`),
		[]byte(`{"a": 1.2.3}`),
		[]byte(`{"a": "bad \x01 control"}`),
		[]byte(`{"a": "bad \q escape"}`),
		[]byte(`{'a': 1}`),
		[]byte(`   `),
	} {
		err := tr.Check(value)
		if err == nil || !strings.HasPrefix(err.Error(), "not valid JSON: ") {
			t.Errorf("Check(%q) = %v, want a not valid JSON error", value, err)
		}
	}
}

func TestApplyKeepsValidAndRejectsInvalid(t *testing.T) {
	tr := newTransform(t, nil)
	r := connector.Record{Topic: "t", Value: event()}
	if keep, err := tr.Apply(&r); !keep || err != nil {
		t.Errorf("Apply(valid) = %v, %v; want true, nil", keep, err)
	}
	r.Value = event("user_id", "")
	if keep, err := tr.Apply(&r); keep || err == nil || err.Error() != `missing required field "user_id"` {
		t.Errorf("Apply(invalid) = %v, %v", keep, err)
	}
	if string(r.Value) != string(event("user_id", "")) {
		t.Error("Apply changed the record")
	}
}

// Every event the generator marks invalid is rejected, for the reason its
// kind says, and every other event passes.
func TestGeneratorEventsMatchTheirBadKind(t *testing.T) {
	tr := newTransform(t, nil)
	for _, o := range []generator.Options{
		{Seed: 1, Users: 1000, Start: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), EventsPerSecond: 100, BadRecordRatio: 0.3},
		{Seed: 2, Users: 50, FirstUser: 7, Start: time.Date(2031, 2, 28, 23, 0, 0, 0, time.UTC), EventsPerSecond: 3, BadRecordRatio: 1},
	} {
		e, err := generator.NewEngine(o)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[generator.BadKind]int{}
		for range 20000 {
			ev := e.Next()
			counts[ev.Bad]++
			err := tr.Check(ev.Value)
			if ev.Bad.Invalid() != (err != nil) {
				t.Fatalf("seed %d event %d (%v): Check = %v\n%s", o.Seed, ev.Position, ev.Bad, err, ev.Value)
			}
			var prefix string
			switch ev.Bad {
			case generator.BadMalformed:
				prefix = "not valid JSON: "
			case generator.BadMissingField:
				prefix = "missing required field "
			case generator.BadWrongType:
				prefix = "field "
				if !strings.Contains(err.Error(), ": expected a ") {
					t.Fatalf("wrong_type event %d: %v", ev.Position, err)
				}
			}
			if err != nil && !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("%v event %d: %v", ev.Bad, ev.Position, err)
			}
		}
		for _, k := range generator.BadKinds() {
			if counts[k] == 0 {
				t.Errorf("seed %d: no %v event to check", o.Seed, k)
			}
		}
		if o.BadRecordRatio < 1 && counts[generator.BadNone] == 0 {
			t.Errorf("seed %d: no valid event to check", o.Seed)
		}
	}
}

func TestValidEventsCostNoAllocation(t *testing.T) {
	tr := newTransform(t, nil)
	e, err := generator.NewEngine(generator.Options{Seed: 1, Users: 100, Start: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), EventsPerSecond: 10})
	if err != nil {
		t.Fatal(err)
	}
	values := make([][]byte, 100)
	for i := range values {
		values[i] = e.Next().Value
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if err := tr.Check(values[i%len(values)]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Check allocates %v times per valid event", allocs)
	}
}

func TestConfigKeys(t *testing.T) {
	var decoded Config
	if errs := connector.DecodeConfig(nil, &decoded, ""); len(errs) > 0 {
		t.Fatal(errs)
	}
	def := DefaultConfig()
	if !slices.Equal(decoded.RequiredFields, def.RequiredFields) || !slices.Equal(decoded.NumberFields, def.NumberFields) || !slices.Equal(decoded.AllowedEventTypes, def.AllowedEventTypes) {
		t.Errorf("the tags' defaults %+v differ from DefaultConfig %+v", decoded, def)
	}
	if want := []string{"event_id", "timestamp", "user_id", "session_id", "event_type", "page_url"}; !slices.Equal(def.RequiredFields, want) {
		t.Errorf("default required fields %v", def.RequiredFields)
	}

	tr := newTransform(t, map[string]string{
		"required.fields":     "event_id, user_id, duration_ms",
		"allowed.event.types": "page_view",
	})
	for _, tc := range []struct {
		value []byte
		want  string
	}{
		{event("event_type", `"page_view"`, "timestamp", "", "page_url", ""), ""},
		{event("event_type", `"page_view"`, "duration_ms", ""), `missing required field "duration_ms"`},
		{event("event_type", `"page_view"`, "duration_ms", `"5"`), `field "duration_ms": expected a number, got string "5"`},
		{event("event_type", `"click"`), `field "event_type": "click" is not one of page_view`},
		{event("event_type", `"page_view"`, "timestamp", `"soon"`), `field "timestamp": "soon" is not an RFC3339 time such as 2026-01-02T15:04:05.123Z`},
	} {
		err := tr.Check(tc.value)
		if got := errText(err); got != tc.want {
			t.Errorf("Check(%s)\n got %s\nwant %s", tc.value, got, tc.want)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]string
		want []string
	}{
		{map[string]string{"allowed.event.types": ""}, []string{`config key "allowed.event.types": lists no event type, so every event would be rejected; give at least one, such as page_view,click,search,add_to_cart,purchase`}},
		{map[string]string{"required.fields": "user_id,user_id"}, []string{`config key "required.fields": lists "user_id" twice; list it once`}},
		{map[string]string{"number.fields": "revenue,timestamp,event_type"}, []string{
			`config key "number.fields": lists "timestamp", which must be a string (an RFC3339 time); remove it`,
			`config key "number.fields": lists "event_type", which must be a string (one of allowed.event.types); remove it`,
		}},
	} {
		var cfg Config
		errs := connector.DecodeConfig(tc.raw, &cfg, "")
		var got []string
		for _, e := range errs {
			var ce *connector.ConfigError
			if !errors.As(e, &ce) {
				t.Errorf("%v: error %v is not a *connector.ConfigError", tc.raw, e)
			}
			got = append(got, e.Error())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v:\n got %q\nwant %q", tc.raw, got, tc.want)
		}
		if _, err := New(&cfg); err == nil {
			t.Errorf("%v: New accepted the config", tc.raw)
		}
	}
}

func TestPluginRegistersAndBuilds(t *testing.T) {
	r := connector.NewRegistry()
	if err := r.Register(Plugin()); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(generator.Plugin()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"io.connectd.transforms.ValidateClickEvent", "ValidateClickEvent", "validate"} {
		if p, ok := r.Lookup(name); !ok || p.Kind != connector.KindTransform {
			t.Errorf("Lookup(%q) = %v, %v", name, p, ok)
		}
	}
	cc, err := r.Parse("gen", map[string]string{
		"connector.class":            "generator",
		"transforms":                 "v",
		"transforms.v.type":          "validate",
		"transforms.v.number.fields": "duration_ms",
	})
	if err != nil {
		t.Fatal(err)
	}
	trs, err := cc.NewTransforms()
	if err != nil || len(trs) != 1 {
		t.Fatalf("NewTransforms = %v, %v", trs, err)
	}
	// revenue is no longer a number field: a string passes.
	if keep, err := trs[0].Apply(&connector.Record{Value: event("revenue", `"12"`)}); !keep || err != nil {
		t.Errorf("Apply = %v, %v", keep, err)
	}
	_, err = r.Parse("gen", map[string]string{
		"connector.class": "generator", "transforms": "v", "transforms.v.type": "validate",
		"transforms.v.allowed.event.type": "click",
	})
	if want := `config key "transforms.v.allowed.event.type": is not a key of transform validate; did you mean "transforms.v.allowed.event.types"?`; err == nil || err.Error() != want {
		t.Errorf("Parse = %v\nwant %s", err, want)
	}
	if _, err := Plugin().NewTransform(struct{}{}); err == nil {
		t.Error("NewTransform accepted a config of another type")
	}
}
