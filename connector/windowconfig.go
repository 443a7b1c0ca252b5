package connector

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/connectd/connectd/windowing"
)

// WindowPrefix starts the keys of a sink connector's window stage.
const WindowPrefix = "window."

// WindowStageConfig is the window pre-aggregation stage of a sink
// connector, decoded from its window.* keys: the windowing keys under a
// "window." prefix (window.type, window.size.ms, window.group.by,
// window.aggregates, window.aggregate.<name>.<key>, window.grace.ms, …),
// plus window.changelog.topic and window.output.topic. The stage is on
// when window.aggregates is set; ConnectorConfig.Window is nil otherwise.
type WindowStageConfig struct {
	// Window and Aggregates are the windowing configuration, keys without
	// the "window." prefix the stage adds.
	Window     windowing.Config
	Aggregates []windowing.AggregateConfig
	// ChangelogTopic is the compacted topic holding the window state and
	// the rollup sequence number; default "<connector>-window-changelog".
	ChangelogTopic string
	// OutputTopic is the topic name the rollup records carry (the sink's
	// one synthetic partition is OutputTopic/0); default
	// "<connector>.rollups". Nothing is produced to it.
	OutputTopic string
}

// The stage's own keys, beside the windowing keys.
const (
	windowChangelogKey = "changelog.topic"
	windowOutputKey    = "output.topic"
)

// windowingKey maps a stage key without its "window." prefix to the
// windowing key it stands for: a windowing key as it is (grace.ms,
// group.by, aggregates), anything under "aggregate." as it is, the rest
// with "window." put back (type → window.type, size.ms → window.size.ms).
// ok is false for a key that is neither.
func windowingKey(rest string, wk []string) (string, bool) {
	switch {
	case strings.HasPrefix(rest, WindowPrefix):
		return "", false // window.window.type: not a key
	case slices.Contains(wk, rest), strings.HasPrefix(rest, "aggregate."):
		return rest, true
	case slices.Contains(wk, WindowPrefix+rest):
		return WindowPrefix + rest, true
	}
	return "", false
}

// stageKey is the inverse of windowingKey: the key the user writes for a
// windowing key.
func stageKey(k string) string {
	if strings.HasPrefix(k, WindowPrefix) {
		return k
	}
	return WindowPrefix + k
}

// parseWindowStage decodes the window.* keys of a sink connector (keys
// with the prefix, which the plugin did not claim). It returns nil and no
// errors when there are none.
func parseWindowStage(cc *ConnectorConfig, keys map[string]string) (*WindowStageConfig, []error) {
	if len(keys) == 0 {
		return nil, nil
	}
	var errs []error
	st := &WindowStageConfig{
		ChangelogTopic: cc.Name + "-window-changelog",
		OutputTopic:    cc.Name + ".rollups",
	}
	wk := KeyNames(&windowing.Config{})
	own := map[string]string{}
	aggKeys := map[string]map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		v := keys[k]
		rest := strings.TrimPrefix(k, WindowPrefix)
		switch rest {
		case windowChangelogKey:
			if v == "" {
				errs = append(errs, &ConfigError{Key: k, Message: "must not be empty; leave it out for the default <connector>-window-changelog"})
			}
			st.ChangelogTopic = v
			continue
		case windowOutputKey:
			if v == "" {
				errs = append(errs, &ConfigError{Key: k, Message: "must not be empty; leave it out for the default <connector>.rollups"})
			}
			st.OutputTopic = v
			continue
		}
		wkey, ok := windowingKey(rest, wk)
		if !ok {
			msg := "is not a key of the window stage"
			var cands []string
			for _, c := range wk {
				cands = append(cands, strings.TrimPrefix(stageKey(c), WindowPrefix))
			}
			cands = append(cands, windowChangelogKey, windowOutputKey)
			if s := closest(rest, cands); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", WindowPrefix+s)
			}
			errs = append(errs, &ConfigError{Key: k, Message: msg})
			continue
		}
		if name, ok := strings.CutPrefix(wkey, "aggregate."); ok {
			n, key, ok := strings.Cut(name, ".")
			if !ok || n == "" || key == "" {
				errs = append(errs, &ConfigError{Key: k, Message: "is not an aggregate key; aggregate keys are window.aggregate.<name>.<key>"})
				continue
			}
			if aggKeys[n] == nil {
				aggKeys[n] = map[string]string{}
			}
			aggKeys[n][key] = v
			continue
		}
		own[wkey] = v
	}
	if _, on := own["aggregates"]; !on {
		errs = append(errs, &ConfigError{Key: "window.aggregates", Message: "is required when window.* keys are set: it names the measures of the sink's window stage (each configured by window.aggregate.<name>.* keys); set it, or remove the window.* keys"})
		return nil, errs
	}
	if cc.Common.TasksMax > 1 {
		errs = append(errs, &ConfigError{Key: "tasks.max", Message: fmt.Sprintf("%d: a sink with a window stage runs one task, which owns every input partition (window state is keyed by group key across partitions); set tasks.max=1", cc.Common.TasksMax)})
	}
	if slices.Contains(cc.Sink.Topics, st.ChangelogTopic) || (cc.TopicsRegex != nil && cc.TopicsRegex.MatchString(st.ChangelogTopic)) {
		errs = append(errs, &ConfigError{Key: "window.changelog.topic", Message: fmt.Sprintf("%q is also a topic this connector consumes; use a separate changelog topic", st.ChangelogTopic)})
	}
	errs = append(errs, windowErrors(DecodeConfig(own, &st.Window, ""))...)
	if len(errs) > 0 {
		return nil, errs
	}
	allowed := KeyNames(&windowing.AggregateConfig{})
	for _, name := range slices.Sorted(maps.Keys(aggKeys)) {
		if !slices.Contains(st.Window.Aggregates, name) {
			errs = append(errs, &ConfigError{Key: "window.aggregate." + name + "." + firstKey(aggKeys[name]), Message: fmt.Sprintf("configures measure %q, which window.aggregates does not list; add it there or remove its keys", name)})
		}
	}
	for _, name := range st.Window.Aggregates {
		a := windowing.AggregateConfig{Name: name}
		prefix := "aggregate." + name + "."
		keys := aggKeys[name]
		if keys == nil {
			keys = map[string]string{}
		}
		errs = append(errs, windowErrors(UnknownKeys(keys, allowed, prefix, "measure "+name))...)
		errs = append(errs, windowErrors(DecodeConfig(keys, &a, prefix))...)
		st.Aggregates = append(st.Aggregates, a)
	}
	if len(errs) == 0 {
		// New cross-checks the measures (a sessions measure needs session
		// windows, and so on); the windower is dropped.
		if _, err := windowing.New(cc.Name, st.Window, st.Aggregates); err != nil {
			errs = append(errs, windowErrors(flattenErrors(err))...)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return st, nil
}

// windowErrors turns config errors about windowing keys (windowing's or
// DecodeConfig's) into *ConfigError values naming the key as the user
// writes it, under "window.".
func windowErrors(errs []error) []error {
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		var we *windowing.ConfigError
		var ce *ConfigError
		switch {
		case errors.As(e, &we):
			e = &ConfigError{Key: stageKey(we.Key), Message: renameKeys(we.Message)}
		case errors.As(e, &ce) && ce.Key != "":
			e = &ConfigError{Key: stageKey(ce.Key), Message: renameKeys(ce.Message)}
		}
		out = append(out, e)
	}
	return out
}

// renameKeys puts the stage prefix on the windowing keys a message names
// ("did you mean \"aggregate.x.field\"?"), where they are quoted.
func renameKeys(msg string) string {
	return strings.ReplaceAll(msg, `"aggregate.`, `"window.aggregate.`)
}
