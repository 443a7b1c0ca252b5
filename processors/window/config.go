package window

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/windowing"
)

// Class is the connector.class of the window connector.
const Class = "io.connectd.window.WindowConnector"

// Config is the window connector's part of a connector config: its own
// keys (tagged), plus the windowing keys (window.*, group.by, aggregates,
// aggregate.<name>.*, …) that it decodes itself in Validate through the
// connector.RawConfig hook, because the aggregate keys are named after the
// values of aggregates.
type Config struct {
	// OutputTopic receives one JSON record per window result.
	OutputTopic string `config:"output.topic" required:"true" doc:"topic the window results are written to, one JSON record per result keyed by its id"`
	// OutputPartitions is used when the output topic is created.
	OutputPartitions int32 `config:"output.topic.partitions" default:"-1" min:"-1" doc:"partitions of the output (and late) topic when it is created; -1 is the broker's default"`
	// ChangelogTopic holds the window state; empty means
	// "<connector>-changelog".
	ChangelogTopic string `config:"changelog.topic" doc:"compacted topic holding the window state, written in the same transaction as the results and the input offsets; default <connector>-changelog"`
	// LateTopic receives the events the windower refused; empty means they
	// are counted and logged.
	LateTopic string `config:"late.topic" doc:"topic for events too late for their window (JSON with the reason and the event); empty: they are counted and logged"`
	// Replication is the replication factor of the topics the connector
	// creates.
	Replication int16 `config:"topic.replication.factor" default:"-1" min:"-1" doc:"replication factor of the output, changelog and late topics when they are created; -1 is the broker's default"`

	// Window and Aggregates are decoded by Validate from the raw config.
	Window     windowing.Config
	Aggregates []windowing.AggregateConfig

	raw map[string]string
}

// windowKeys returns the keys of windowing.Config.
func windowKeys() []string { return connector.KeyNames(&windowing.Config{}) }

// AcceptsKey implements connector.RawConfig: the windowing keys and every
// key under "aggregate.".
func (c *Config) AcceptsKey(k string) bool {
	return slices.Contains(windowKeys(), k) || strings.HasPrefix(k, "aggregate.")
}

// SetRawConfig implements connector.RawConfig.
func (c *Config) SetRawConfig(raw map[string]string) { c.raw = raw }

// Validate decodes and checks the windowing keys (window.*, aggregates,
// aggregate.<name>.*), converting windowing's errors into
// *connector.ConfigError with the same key, and rejects tasks.max > 1.
func (c *Config) Validate() error {
	var errs []error
	if t := c.raw["tasks.max"]; t != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(t)); err == nil && n > 1 {
			errs = append(errs, &connector.ConfigError{Key: "tasks.max", Message: fmt.Sprintf("%d: the window connector runs one task, which owns every input partition (window state is keyed by group key across partitions); set tasks.max=1", n)})
		}
	}
	wk := windowKeys()
	own := map[string]string{}
	aggKeys := map[string]map[string]string{}
	for k, v := range c.raw {
		switch {
		case slices.Contains(wk, k):
			own[k] = v
		case strings.HasPrefix(k, "aggregate."):
			name, key, ok := strings.Cut(strings.TrimPrefix(k, "aggregate."), ".")
			if !ok || name == "" || key == "" {
				errs = append(errs, &connector.ConfigError{Key: k, Message: "is not an aggregate key; aggregate keys are aggregate.<name>.<key>"})
				continue
			}
			if aggKeys[name] == nil {
				aggKeys[name] = map[string]string{}
			}
			aggKeys[name][key] = v
		}
	}
	c.Window = windowing.Config{}
	c.Aggregates = nil
	errs = append(errs, convert(connector.DecodeConfig(own, &c.Window, ""))...)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	allowed := connector.KeyNames(&windowing.AggregateConfig{})
	for _, name := range slices.Sorted(maps.Keys(aggKeys)) {
		if !slices.Contains(c.Window.Aggregates, name) {
			errs = append(errs, &connector.ConfigError{Key: "aggregate." + name + "." + firstKey(aggKeys[name]), Message: fmt.Sprintf("configures measure %q, which aggregates does not list; add it there or remove its keys", name)})
		}
	}
	for _, name := range c.Window.Aggregates {
		a := windowing.AggregateConfig{Name: name}
		prefix := "aggregate." + name + "."
		keys := aggKeys[name]
		if keys == nil {
			keys = map[string]string{}
		}
		errs = append(errs, convert(connector.UnknownKeys(keys, allowed, prefix, "measure "+name))...)
		errs = append(errs, convert(connector.DecodeConfig(keys, &a, prefix))...)
		c.Aggregates = append(c.Aggregates, a)
	}
	if len(errs) == 0 {
		// New cross-checks the measures (a sessions measure needs
		// session windows, and so on); the windower is dropped.
		if _, err := windowing.New("validate", c.Window, c.Aggregates); err != nil {
			errs = append(errs, convert(flatten(err))...)
		}
	}
	return errors.Join(errs...)
}

// changelog returns the changelog topic of connector name.
func (c *Config) changelog(name string) string {
	if c.ChangelogTopic != "" {
		return c.ChangelogTopic
	}
	return name + "-changelog"
}

// convert turns windowing's config errors into connector's, keeping Key
// and Message; other errors pass through.
func convert(errs []error) []error {
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		var we *windowing.ConfigError
		if errors.As(e, &we) {
			e = &connector.ConfigError{Key: we.Key, Message: we.Message}
		}
		out = append(out, e)
	}
	return out
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func firstKey(m map[string]string) string {
	return slices.Sorted(maps.Keys(m))[0]
}

// Plugin describes the window connector for a connector.Registry.
func Plugin() connector.Plugin {
	return connector.Plugin{
		Class:     Class,
		Aliases:   []string{"WindowConnector", "window"},
		Kind:      connector.KindSink,
		Version:   "0.1.0",
		Doc:       "aggregates events into event-time windows and writes the results to Kafka exactly once, with a state changelog",
		NewConfig: func() any { return &Config{} },
		// It is windowing: no window stage in front of it.
		OwnWindowing: true,
		NewSink: func(cfg any, info connector.TaskInfo) (connector.Sink, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("window connector: config is %T, want *window.Config", cfg)
			}
			return New(c, info)
		},
	}
}
