package connector

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/windowing"
)

func TestWindowingKeyMapping(t *testing.T) {
	wk := KeyNames(&windowing.Config{})
	for rest, want := range map[string]string{
		"type":                  "window.type",
		"size.ms":               "window.size.ms",
		"advance.ms":            "window.advance.ms",
		"offset.ms":             "window.offset.ms",
		"aggregates":            "aggregates",
		"group.by":              "group.by",
		"grace.ms":              "grace.ms",
		"max.out.of.order.ms":   "max.out.of.order.ms",
		"allowed.lateness.ms":   "allowed.lateness.ms",
		"idle.timeout.ms":       "idle.timeout.ms",
		"timestamp.field":       "timestamp.field",
		"session.gap.ms":        "session.gap.ms",
		"result.name":           "result.name",
		"aggregate.users.field": "aggregate.users.field",
	} {
		got, ok := windowingKey(rest, wk)
		if !ok || got != want {
			t.Errorf("window.%s maps to %q, %v; want %q", rest, got, ok, want)
		}
		if back := stageKey(got); back != "window."+rest {
			t.Errorf("windowing key %q is named %q to the user, want %q", got, back, "window."+rest)
		}
	}
	for _, rest := range []string{"bogus", "window.type", "window.size.ms", "sizes.ms", ""} {
		if got, ok := windowingKey(rest, wk); ok {
			t.Errorf("window.%s maps to %q; want no windowing key", rest, got)
		}
	}
}

// windowSink is a sink config with a window stage: 1-minute tumbling
// count and unique users per page.
func windowSink() map[string]string {
	return map[string]string{
		"connector.class":                               "test",
		"topics":                                        "clicks",
		"test.dir":                                      "/tmp/x",
		"start.time":                                    "2026-01-01T00:00:00Z", // the sink's own key, untouched
		"window.size.ms":                                "60000",
		"window.group.by":                               "page_url",
		"window.aggregates":                             "views,users",
		"window.aggregate.views.type":                   "count",
		"window.aggregate.users.type":                   "distinct",
		"window.aggregate.users.field":                  "user_id",
		"window.grace.ms":                               "1000",
		"window.max.out.of.order.ms":                    "2000",
		"window.allowed.lateness.ms":                    "3000",
		"window.timestamp.field":                        "ts",
		"window.aggregate.users.exact.max":              "100",
		"window.idle.timeout.ms":                        "4000",
		"window.result.name":                            "pages_1m",
		"errors.deadletterqueue.context.headers.enable": "true",
	}
}

func TestWindowStageParse(t *testing.T) {
	r := testRegistry(t)
	cc, err := r.Parse("pages", windowSink())
	if err != nil {
		t.Fatal(err)
	}
	w := cc.Window
	if w == nil {
		t.Fatal("no window stage")
	}
	if w.ChangelogTopic != "pages-window-changelog" || w.OutputTopic != "pages.rollups" {
		t.Errorf("topics %q, %q; want the defaults", w.ChangelogTopic, w.OutputTopic)
	}
	c := w.Window
	if c.Type != "tumbling" || c.Size != time.Minute || c.Grace != time.Second || c.MaxOutOfOrder != 2*time.Second ||
		c.AllowedLateness != 3*time.Second || c.TimestampField != "ts" || c.IdleTimeout != 4*time.Second ||
		c.ResultName != "pages_1m" || strings.Join(c.GroupBy, ",") != "page_url" || strings.Join(c.Aggregates, ",") != "views,users" {
		t.Errorf("window config %+v", c)
	}
	if len(w.Aggregates) != 2 || w.Aggregates[0].Name != "views" || w.Aggregates[0].Type != "count" ||
		w.Aggregates[1].Type != "distinct" || w.Aggregates[1].Field != "user_id" || w.Aggregates[1].ExactMax != 100 {
		t.Errorf("aggregates %+v", w.Aggregates)
	}
	if got := cc.PluginConfig.(*testSinkConfig).Start; !got.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("the sink's own start.time is %v", got)
	}

	raw := windowSink()
	raw["window.changelog.topic"] = "cl"
	raw["window.output.topic"] = "out"
	raw["window.type"] = "hopping"
	raw["window.size.ms"] = "600000"
	raw["window.advance.ms"] = "300000"
	cc, err = r.Parse("pages", raw)
	if err != nil {
		t.Fatal(err)
	}
	if cc.Window.ChangelogTopic != "cl" || cc.Window.OutputTopic != "out" || cc.Window.Window.Type != "hopping" || cc.Window.Window.Advance != 5*time.Minute {
		t.Errorf("window stage %+v", cc.Window)
	}

	cc, err = r.Parse("plain", map[string]string{"connector.class": "test", "topics": "clicks", "test.dir": "/tmp/x"})
	if err != nil {
		t.Fatal(err)
	}
	if cc.Window != nil {
		t.Errorf("a sink without window keys has a window stage: %+v", cc.Window)
	}
}

func TestWindowStageConfigErrors(t *testing.T) {
	r := testRegistry(t)
	for _, tc := range []struct {
		name string
		set  map[string]string
		del  []string
		key  string
		msg  string
	}{
		{"unknown key", map[string]string{"window.sise.ms": "1"}, nil, "window.sise.ms", `did you mean "window.size.ms"`},
		{"doubled prefix", map[string]string{"window.window.type": "session"}, nil, "window.window.type", "not a key of the window stage"},
		{"bad number", map[string]string{"window.size.ms": "abc"}, nil, "window.size.ms", ""},
		{"bad type", map[string]string{"window.type": "sliding"}, nil, "window.type", ""},
		{"negative grace", map[string]string{"window.grace.ms": "-1"}, nil, "window.grace.ms", ""},
		{"hopping advance", map[string]string{"window.type": "hopping", "window.advance.ms": "7000"}, nil, "window.advance.ms", "multiple"},
		{"missing size", nil, []string{"window.size.ms"}, "window.size.ms", "required"},
		{"bad measure type", map[string]string{"window.aggregate.users.type": "nope"}, nil, "window.aggregate.users.type", ""},
		{"unknown measure key", map[string]string{"window.aggregate.users.fild": "x"}, nil, "window.aggregate.users.fild", `"window.aggregate.users.field"`},
		{"unlisted measure", map[string]string{"window.aggregate.other.type": "count"}, nil, "window.aggregate.other.type", "does not list"},
		{"bad aggregate key", map[string]string{"window.aggregate.x": "count"}, nil, "window.aggregate.x", "window.aggregate.<name>.<key>"},
		{"no aggregates", nil, []string{"window.aggregates", "window.aggregate.views.type", "window.aggregate.users.type", "window.aggregate.users.field", "window.aggregate.users.exact.max"}, "window.aggregates", "required"},
		{"sessions need session windows", map[string]string{"window.aggregate.views.type": "sessions"}, nil, "window.aggregate.views.type", ""},
		{"two tasks", map[string]string{"tasks.max": "2"}, nil, "tasks.max", "one task"},
		{"empty changelog", map[string]string{"window.changelog.topic": ""}, nil, "window.changelog.topic", "empty"},
		{"changelog consumed", map[string]string{"window.changelog.topic": "clicks"}, nil, "window.changelog.topic", "consumes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := windowSink()
			for k, v := range tc.set {
				raw[k] = v
			}
			for _, k := range tc.del {
				delete(raw, k)
			}
			_, err := r.Parse("pages", raw)
			if err == nil {
				t.Fatal("accepted")
			}
			found := false
			for _, e := range flattenErrors(err) {
				var ce *ConfigError
				if !errors.As(e, &ce) {
					t.Errorf("not a *ConfigError: %v", e)
					continue
				}
				if ce.Key == tc.key && strings.Contains(ce.Message, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("no error naming %s (with %q): %v", tc.key, tc.msg, err)
			}
		})
	}
}

// A plugin that does its own windowing gets no stage: window.* keys are
// its own or unknown.
func TestOwnWindowingHasNoStage(t *testing.T) {
	r := NewRegistry()
	if err := r.Register(Plugin{Class: "io.test.Win", Kind: KindSink, OwnWindowing: true,
		NewConfig: func() any { return &testSinkConfig{} },
		NewSink:   func(any, TaskInfo) (Sink, error) { return nopSink{}, nil }}); err != nil {
		t.Fatal(err)
	}
	raw := windowSink()
	raw["connector.class"] = "io.test.Win"
	_, err := r.Parse("w", raw)
	if err == nil || !strings.Contains(err.Error(), `"window.aggregates"`) || !strings.Contains(err.Error(), "is not a key of connector") {
		t.Errorf("window keys of a plugin that windows itself: %v", err)
	}
}

func TestJSONFields(t *testing.T) {
	var f jsonFields
	v := []byte(` {"a":"x","n":-1.5e2, "esc\u0041":"q\"\u00e9","o":{"a":"in"},"arr":[1,"a"],"t":"2026-11-22T10:00:01.5Z","b":true,"z":null,"a":"second"} `)
	if err := f.parse(v); err != nil {
		t.Fatal(err)
	}
	if s, ok := f.Str("a"); !ok || s != "x" {
		t.Errorf("a = %q, %v", s, ok)
	}
	if s, ok := f.Str("escA"); !ok || s != "q\"é" {
		t.Errorf("escA = %q, %v", s, ok)
	}
	if n, ok := f.Num("n"); !ok || n != -150 {
		t.Errorf("n = %v, %v", n, ok)
	}
	for _, k := range []string{"o", "arr", "b", "z", "missing", "n"} {
		if s, ok := f.Str(k); ok {
			t.Errorf("Str(%s) = %q, want not a string", k, s)
		}
	}
	for _, k := range []string{"a", "b", "z", "missing"} {
		if n, ok := f.Num(k); ok {
			t.Errorf("Num(%s) = %v, want not a number", k, n)
		}
	}
	if ms, err := f.eventTime("t"); err != nil || ms != time.Date(2026, 11, 22, 10, 0, 1, 500e6, time.UTC).UnixMilli() {
		t.Errorf("eventTime = %d, %v", ms, err)
	}
	for _, k := range []string{"missing", "n", "a"} {
		if _, err := f.eventTime(k); err == nil {
			t.Errorf("eventTime(%s) has no error", k)
		}
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"a":}`, `{"a":1`, `{"a":1} x`, `{a:1}`} {
		if err := f.parse([]byte(bad)); err == nil {
			t.Errorf("parse(%q) has no error", bad)
		}
	}
	if err := f.parse([]byte(`{}`)); err != nil {
		t.Errorf("parse({}) = %v", err)
	}
	if s, ok := f.Str("a"); ok {
		t.Errorf("after {}, a = %q", s)
	}
}
