package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/connectd/connectd/connector"
)

// The /connector-plugins endpoints: Kafka Connect's
// ConnectorPluginsResource. Definitions come from the plugins' typed
// config structs (connector.ConfigKeys); validation is Registry.Parse, the
// same check `connectd validate` and connector creation make.

// converterClasses are the converters connectd accepts for key.converter
// and value.converter, listed as plugins of type "converter".
func converterClasses() []string {
	return []string{connector.ByteArrayConverter, connector.JSONConverter, connector.StringConverter}
}

// converterFor returns the converter class name (full or simple) names.
func converterFor(name string) (string, bool) {
	for _, c := range converterClasses() {
		if name == c || name == c[strings.LastIndexByte(c, '.')+1:] {
			return c, true
		}
	}
	return "", false
}

// GET /connector-plugins[?connectorsOnly=false]: sinks, then sources, then
// (connectorsOnly=false) transformations and converters, each sorted by
// class, as Kafka Connect orders them.
func (s *Server) listPlugins(w http.ResponseWriter, r *http.Request) error {
	kinds := []connector.PluginKind{connector.KindSink, connector.KindSource}
	connectorsOnly := boolParam(r, "connectorsOnly", true)
	if !connectorsOnly {
		kinds = append(kinds, connector.KindTransform)
	}
	out := []PluginInfo{}
	plugins := s.w.Registry().Plugins()
	for _, k := range kinds {
		for _, p := range plugins {
			if p.Kind == k {
				out = append(out, PluginInfo{Class: p.Class, Type: string(p.Kind), Version: p.Version})
			}
		}
	}
	if !connectorsOnly {
		for _, c := range converterClasses() {
			out = append(out, PluginInfo{Class: c, Type: "converter"})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// GET /connector-plugins/{plugin}/config: the plugin's keys, then (for a
// connector) the framework's keys it does not define itself.
func (s *Server) pluginConfig(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("plugin")
	if _, ok := converterFor(name); ok {
		writeJSON(w, http.StatusOK, []ConfigKeyInfo{}) // connectd's converters have no settings
		return nil
	}
	p, ok := s.w.Registry().Lookup(name)
	if !ok {
		return errorf(http.StatusNotFound, "Unknown plugin %s.", name)
	}
	var d defs
	d.addStruct(p.NewConfig(), "", simpleClass(p.Class), "MEDIUM")
	if p.Kind != connector.KindTransform {
		d.addFramework(p.Kind)
	}
	writeJSON(w, http.StatusOK, d.list)
	return nil
}

// PUT /connector-plugins/{plugin}/config/validate: ConfigInfos with every
// problem Registry.Parse finds on the field it names. Problems that name
// no key go on connector.class; keys no definition knows (unknown keys)
// get an entry with a null definition, as in Kafka Connect.
func (s *Server) validate(w http.ResponseWriter, r *http.Request) error {
	pathPlugin := r.PathValue("plugin")
	var body map[string]json.RawMessage
	if err := decodeBody(r, &body, configBody); err != nil {
		return err
	}
	raw, valueErrs := configValues(body)
	class, ok := raw["connector.class"]
	if !ok {
		if _, null := body["connector.class"]; !null {
			return errorf(http.StatusBadRequest, "Connector config %s contains no connector type", javaMap(raw))
		}
	}
	reg := s.w.Registry()
	if ok && !s.samePlugin(class, pathPlugin) {
		return errorf(http.StatusBadRequest, "Included connector type %s does not match request type %s", class, pathPlugin)
	}

	// Definitions, in Kafka Connect's order: the framework's, the
	// transforms', the plugin's, then the client overrides given.
	var d defs
	p, found := reg.Lookup(class)
	if found && p.Kind == connector.KindTransform {
		found = false
	}
	kind := connector.PluginKind("")
	if found {
		kind = p.Kind
	}
	d.addFramework(kind)
	d.addTransforms(reg, raw)
	if found {
		d.addStruct(p.NewConfig(), "", simpleClass(p.Class), "MEDIUM")
	}
	d.addOverrides(kind, raw)

	// Errors, by key.
	_, err := reg.Parse(raw["name"], raw)
	errs := append(valueErrs, flatten(err)...)
	byKey := map[string][]string{}
	for _, e := range errs {
		key := "connector.class"
		var ce *connector.ConfigError
		if errors.As(e, &ce) && ce.Key != "" {
			key = ce.Key
		}
		byKey[key] = append(byKey[key], e.Error())
	}

	infos := ConfigInfos{Name: class, ErrorCount: len(errs), Groups: d.groups, Configs: []ConfigInfo{}}
	if infos.Groups == nil {
		infos.Groups = []string{}
	}
	var orphans []string
	for k := range byKey {
		if _, defined := d.index[k]; !defined {
			orphans = append(orphans, k)
		}
	}
	sort.Strings(orphans)
	for _, k := range orphans {
		infos.Configs = append(infos.Configs, ConfigInfo{Value: valueInfo(k, raw, nil, byKey[k])})
	}
	for i := range d.list {
		def := &d.list[i]
		infos.Configs = append(infos.Configs, ConfigInfo{Definition: def, Value: valueInfo(def.Name, raw, def, byKey[def.Name])})
	}
	writeJSON(w, http.StatusOK, infos)
	return nil
}

// samePlugin is Kafka Connect's check that the body's connector.class is
// the path's plugin (one name ends with the other, less any "Connector"
// suffix), widened to names the registry resolves to the same plugin
// (aliases such as "file").
func (s *Server) samePlugin(class, path string) bool {
	norm := func(n string) string {
		if strings.HasSuffix(n, "Connector") && len(n) > len("Connector") {
			return strings.TrimSuffix(n, "Connector")
		}
		return n
	}
	if strings.HasSuffix(norm(class), norm(path)) {
		return true
	}
	a, ok1 := s.w.Registry().Lookup(class)
	b, ok2 := s.w.Registry().Lookup(path)
	return ok1 && ok2 && a == b
}

// valueInfo is a key's validated value: the value given, else the
// definition's default, else null.
func valueInfo(key string, raw map[string]string, def *ConfigKeyInfo, errs []string) *ConfigValueInfo {
	v := &ConfigValueInfo{Name: key, RecommendedValues: []string{}, Errors: []string{}, Visible: true}
	if s, ok := raw[key]; ok {
		v.Value = &s
	} else if def != nil {
		v.Value = def.DefaultValue
	}
	if def != nil && def.enum != nil {
		v.RecommendedValues = def.enum
	}
	if errs != nil {
		v.Errors = errs
	}
	return v
}

// javaMap renders a config as Java's Map.toString does, for Kafka
// Connect's message about a config without connector.class.
func javaMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func simpleClass(class string) string { return class[strings.LastIndexByte(class, '.')+1:] }

// defs collects key definitions in order, each name once.
type defs struct {
	list   []ConfigKeyInfo
	index  map[string]int
	orders map[string]int // next order per group
	groups []string
}

// add appends k (named prefix+k.Name) unless a key of that name is there.
func (d *defs) add(k connector.ConfigKey, prefix, group, importance string) {
	name := prefix + k.Name
	if _, dup := d.index[name]; dup {
		return
	}
	if d.index == nil {
		d.index, d.orders = map[string]int{}, map[string]int{}
	}
	if _, seen := d.orders[group]; !seen {
		d.groups = append(d.groups, group)
	}
	d.orders[group]++
	typ, unit, hasUnit := strings.Cut(k.Type, " (")
	doc := k.Doc
	if hasUnit {
		doc += " (" + unit // unit keeps its ")"
	}
	info := ConfigKeyInfo{
		Name: name, Type: typ, Required: k.Required, Importance: importance,
		Documentation: doc, Group: group, Order: d.orders[group], Width: "NONE",
		DisplayName: name, Dependents: []string{}, enum: slices.Clone(k.Enum),
	}
	if k.Required {
		info.Importance = "HIGH"
	} else {
		def := k.Default
		info.DefaultValue = &def
	}
	d.index[name] = len(d.list)
	d.list = append(d.list, info)
}

// addStruct adds the keys of a config struct (a pointer to one).
func (d *defs) addStruct(cfg any, prefix, group, importance string) {
	for _, k := range connector.ConfigKeys(cfg) {
		d.add(k, prefix, group, importance)
	}
}

// addFramework adds the keys every connector has, and those of its kind.
func (d *defs) addFramework(kind connector.PluginKind) {
	keys := connector.ConfigKeys(&connector.CommonConfig{})
	switch kind {
	case connector.KindSink:
		keys = append(keys, connector.ConfigKeys(&connector.SinkCommonConfig{})...)
	case connector.KindSource:
		keys = append(keys, connector.ConfigKeys(&connector.SourceCommonConfig{})...)
	}
	for _, k := range keys {
		d.add(k, "", frameworkGroup(k.Name), "LOW")
	}
}

// frameworkGroup is the group of a framework key, with Kafka Connect's
// group names.
func frameworkGroup(key string) string {
	switch {
	case key == "transforms":
		return "Transforms"
	case strings.HasPrefix(key, "errors."):
		return "Error Handling"
	case strings.HasPrefix(key, "topic.creation."):
		return "Topic Creation"
	case key == "exactly.once.support", key == "offsets.storage.topic", strings.HasPrefix(key, "transaction.boundary"):
		return "Exactly Once Support"
	}
	return "Common"
}

// addTransforms adds, for each alias listed in transforms, its type and
// (when the type is an installed transformation) its keys, in the group
// "Transforms: <alias>".
func (d *defs) addTransforms(reg *connector.Registry, raw map[string]string) {
	for _, alias := range strings.Split(raw["transforms"], ",") {
		if alias = strings.TrimSpace(alias); alias == "" {
			continue
		}
		prefix, group := "transforms."+alias+".", "Transforms: "+alias
		d.add(connector.ConfigKey{Name: "type", Type: "CLASS", Required: true, Doc: fmt.Sprintf("Class for the '%s' transformation.", alias)}, prefix, group, "HIGH")
		if p, ok := reg.Lookup(raw[prefix+"type"]); ok && p.Kind == connector.KindTransform {
			d.addStruct(p.NewConfig(), prefix, group, "MEDIUM")
		}
	}
}

// addOverrides adds the consumer.override.* (sinks) and
// producer.override.* keys given that connectd knows.
func (d *defs) addOverrides(kind connector.PluginKind, raw map[string]string) {
	type over struct {
		prefix, group string
		keys          []connector.ConfigKey
	}
	overs := []over{{"producer.override.", "Producer Overrides", connector.ConfigKeys(&connector.ProducerOverrides{})}}
	if kind == connector.KindSink {
		overs = append(overs, over{"consumer.override.", "Consumer Overrides", connector.ConfigKeys(&connector.ConsumerOverrides{})})
	}
	for _, o := range overs {
		for _, k := range o.keys {
			if _, given := raw[o.prefix+k.Name]; given {
				d.add(k, o.prefix, o.group, "LOW")
			}
		}
	}
}
