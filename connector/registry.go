package connector

import (
	"fmt"
	"sort"
	"strings"
)

// PluginKind says what a plugin is.
type PluginKind string

// The plugin kinds, with Kafka Connect's names.
const (
	KindSink      PluginKind = "sink"
	KindSource    PluginKind = "source"
	KindTransform PluginKind = "transformation"
)

// Plugin describes one connector or transform implementation. Exactly one
// of NewSink, NewSource and NewTransform is set, matching Kind.
type Plugin struct {
	// Class is the value of connector.class (or transforms.<a>.type) that
	// selects the plugin, such as "io.connectd.file.FileSinkConnector".
	Class string
	// Aliases are other accepted names, such as "FileSinkConnector", "file".
	Aliases []string
	// Kind is sink, source or transformation.
	Kind PluginKind
	// Version is reported by GET /connector-plugins.
	Version string
	// Doc is one line on what the plugin is for.
	Doc string
	// NewConfig returns a pointer to a new, empty config struct whose
	// fields carry `config` tags (see DecodeConfig). It may implement
	// Validate() error for checks across keys.
	NewConfig func() any
	// NewSink builds a sink task from a decoded config (the pointer that
	// NewConfig returned, filled). It starts nothing.
	NewSink func(cfg any, info TaskInfo) (Sink, error)
	// NewSource builds a source task likewise.
	NewSource func(cfg any, info TaskInfo) (Source, error)
	// NewTransform builds a transform from its decoded config.
	NewTransform func(cfg any) (Transform, error)
	// OwnWindowing marks a sink plugin that does its own windowing (the
	// window connector): its connectors get no window stage, and window.*
	// keys are its own or unknown. Every other sink connector gets a
	// window pre-aggregation stage from its window.* keys (see
	// WindowStageConfig).
	OwnWindowing bool
}

// Registry holds the plugins a worker can run. main builds it explicitly;
// nothing registers itself. A Registry is not safe for concurrent
// registration, but lookups on a filled registry are.
type Registry struct {
	byName  map[string]*Plugin
	plugins []*Plugin
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byName: map[string]*Plugin{}} }

// Register adds p. It refuses a plugin without a class, a config, the
// constructor its kind needs, or a name already taken.
func (r *Registry) Register(p Plugin) error {
	if p.Class == "" {
		return fmt.Errorf("register plugin: empty class")
	}
	if p.NewConfig == nil {
		return fmt.Errorf("register plugin %s: NewConfig is nil", p.Class)
	}
	switch {
	case p.Kind == KindSink && p.NewSink != nil:
	case p.Kind == KindSource && p.NewSource != nil:
	case p.Kind == KindTransform && p.NewTransform != nil:
	default:
		return fmt.Errorf("register plugin %s: kind %q needs its constructor", p.Class, p.Kind)
	}
	for _, n := range append([]string{p.Class}, p.Aliases...) {
		if _, dup := r.byName[n]; dup {
			return fmt.Errorf("register plugin %s: name %q is already registered", p.Class, n)
		}
	}
	pp := &p
	for _, n := range append([]string{p.Class}, p.Aliases...) {
		r.byName[n] = pp
	}
	r.plugins = append(r.plugins, pp)
	return nil
}

// Lookup finds a plugin by class or alias.
func (r *Registry) Lookup(name string) (*Plugin, bool) {
	p, ok := r.byName[name]
	return p, ok
}

// Plugins lists the registered plugins sorted by class.
func (r *Registry) Plugins() []*Plugin {
	out := append([]*Plugin(nil), r.plugins...)
	sort.Slice(out, func(i, j int) bool { return out[i].Class < out[j].Class })
	return out
}

// classes lists the classes of the plugins of kind k, for error messages.
func (r *Registry) classes(k PluginKind) []string {
	var out []string
	for _, p := range r.Plugins() {
		if p.Kind == k {
			out = append(out, p.Class)
		}
	}
	return out
}

// sameSimpleName returns the class of a connector plugin whose simple name
// (after the last '.') is class's, such as io.connectd.s3.S3SinkConnector
// for Confluent's io.confluent.connect.s3.S3SinkConnector, or "".
func (r *Registry) sameSimpleName(class string) string {
	simple := class[strings.LastIndexByte(class, '.')+1:]
	for _, p := range r.Plugins() {
		if p.Kind != KindTransform && p.Class != class && p.Class[strings.LastIndexByte(p.Class, '.')+1:] == simple {
			return p.Class
		}
	}
	return ""
}
