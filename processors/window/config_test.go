package window

import (
	"strings"
	"testing"

	"github.com/connectd/connectd/connector"
)

func registry(t *testing.T) *connector.Registry {
	t.Helper()
	r := connector.NewRegistry()
	if err := r.Register(Plugin()); err != nil {
		t.Fatal(err)
	}
	return r
}

func baseConfig() map[string]string {
	return map[string]string{
		"connector.class":             "window",
		"topics":                      "in",
		"output.topic":                "out",
		"window.size.ms":              "60000",
		"group.by":                    "page_url",
		"aggregates":                  "views,users",
		"aggregate.views.type":        "count",
		"aggregate.users.type":        "distinct",
		"aggregate.users.field":       "user_id",
		"aggregate.users.exact.max":   "100",
		"max.out.of.order.ms":         "1000",
		"consumer.override.client.id": "x",
	}
}

func TestConfigDecodes(t *testing.T) {
	cc, err := registry(t).Parse("w", baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := cc.PluginConfig.(*Config)
	if c.Window.Size.Milliseconds() != 60000 || c.Window.Type != "tumbling" || len(c.Aggregates) != 2 {
		t.Fatalf("decoded %+v", c.Window)
	}
	if a := c.Aggregates[1]; a.Name != "users" || a.Type != "distinct" || a.Field != "user_id" || a.ExactMax != 100 {
		t.Errorf("aggregate users decoded as %+v", a)
	}
	if c.changelog("w") != "w-changelog" {
		t.Errorf("default changelog %q", c.changelog("w"))
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]string
		drop string
		want string
	}{
		{"tasks", map[string]string{"tasks.max": "2"}, "", `config key "tasks.max": 2: the window connector runs one task`},
		{"no output", nil, "output.topic", `config key "output.topic": is required`},
		{"unknown aggregate key", map[string]string{"aggregate.users.feild": "x"}, "", `config key "aggregate.users.feild": is not a key of measure users; did you mean "aggregate.users.field"?`},
		{"unlisted aggregate", map[string]string{"aggregate.other.type": "count"}, "", `config key "aggregate.other.type": configures measure "other", which aggregates does not list`},
		{"missing type", map[string]string{"aggregates": "views,users,extra"}, "", `config key "aggregate.extra.type": is required`},
		{"window rule", map[string]string{"window.advance.ms": "30000"}, "", `config key "window.advance.ms": applies to hopping windows only`},
		{"cross measure", map[string]string{"aggregate.views.type": "sessions"}, "", `config key "aggregate.views.type": sessions needs session windows`},
		{"bad number", map[string]string{"window.size.ms": "soon"}, "", `config key "window.size.ms": "soon" is not a whole number`},
		{"unknown key", map[string]string{"window.sise.ms": "1"}, "", `config key "window.sise.ms": is not a key of connector window; did you mean "window.size.ms"?`},
		{"bad aggregate key", map[string]string{"aggregate.x": "1"}, "", `config key "aggregate.x": is not an aggregate key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := baseConfig()
			for k, v := range tc.set {
				raw[k] = v
			}
			delete(raw, tc.drop)
			_, err := registry(t).Parse("w", raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant an error containing %s", err, tc.want)
			}
		})
	}
}
