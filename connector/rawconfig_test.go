package connector

import (
	"strings"
	"testing"
)

// rawSinkConfig accepts every key under "dyn." besides its tagged key, and
// checks them in Validate with the raw config Parse handed it.
type rawSinkConfig struct {
	Out string `config:"out" required:"true" doc:"a tagged key"`
	raw map[string]string
}

func (c *rawSinkConfig) AcceptsKey(k string) bool { return strings.HasPrefix(k, "dyn.") }

func (c *rawSinkConfig) SetRawConfig(raw map[string]string) { c.raw = raw }

func (c *rawSinkConfig) Validate() error {
	if c.raw["dyn.bad"] != "" {
		return &ConfigError{Key: "dyn.bad", Message: "is bad"}
	}
	return nil
}

func TestRawConfigAcceptsDynamicKeys(t *testing.T) {
	r := NewRegistry()
	if err := r.Register(Plugin{Class: "io.test.Raw", Kind: KindSink,
		NewConfig: func() any { return &rawSinkConfig{} },
		NewSink:   func(any, TaskInfo) (Sink, error) { return nopSink{}, nil }}); err != nil {
		t.Fatal(err)
	}
	base := func() map[string]string {
		return map[string]string{"connector.class": "io.test.Raw", "topics": "in", "out": "x", "tasks.max": "1"}
	}

	raw := base()
	raw["dyn.a.type"] = "count"
	cc, err := r.Parse("c", raw)
	if err != nil {
		t.Fatalf("dynamic key refused: %v", err)
	}
	got := cc.PluginConfig.(*rawSinkConfig).raw
	if got["dyn.a.type"] != "count" || got["tasks.max"] != "1" || got["out"] != "x" {
		t.Errorf("SetRawConfig got %v, want the whole raw config", got)
	}

	raw = base()
	raw["dyn.bad"] = "1"
	if _, err := r.Parse("c", raw); err == nil || !strings.Contains(err.Error(), `config key "dyn.bad": is bad`) {
		t.Errorf("Validate's error on a dynamic key: got %v", err)
	}

	raw = base()
	raw["dynx"] = "1"
	if _, err := r.Parse("c", raw); err == nil || !strings.Contains(err.Error(), `config key "dynx": is not a key of connector`) {
		t.Errorf("a key AcceptsKey refuses must stay unknown: got %v", err)
	}
}
