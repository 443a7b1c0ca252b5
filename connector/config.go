package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Converter class names accepted for key.converter and value.converter.
const (
	JSONConverter      = "org.apache.kafka.connect.json.JsonConverter"
	StringConverter    = "org.apache.kafka.connect.storage.StringConverter"
	ByteArrayConverter = "org.apache.kafka.connect.converters.ByteArrayConverter"
)

var converterAliases = map[string]string{
	JSONConverter: JSONConverter, "JsonConverter": JSONConverter, "json": JSONConverter,
	StringConverter: StringConverter, "StringConverter": StringConverter, "string": StringConverter,
	ByteArrayConverter: ByteArrayConverter, "ByteArrayConverter": ByteArrayConverter, "bytes": ByteArrayConverter,
}

// CommonConfig holds the Kafka Connect keys every connector has.
type CommonConfig struct {
	Name                    string        `config:"name" doc:"the connector's name; must equal the envelope's name when given"`
	ConnectorClass          string        `config:"connector.class" required:"true" doc:"the plugin to run, by class or alias"`
	TasksMax                int           `config:"tasks.max" default:"1" min:"1" max:"1024" doc:"most tasks to run"`
	KeyConverter            string        `config:"key.converter" default:"org.apache.kafka.connect.converters.ByteArrayConverter" doc:"how record keys are read"`
	ValueConverter          string        `config:"value.converter" default:"org.apache.kafka.connect.json.JsonConverter" doc:"how record values are read; JsonConverter rejects malformed JSON"`
	KeySchemasEnable        bool          `config:"key.converter.schemas.enable" default:"false" doc:"must be false: connectd reads schemaless JSON"`
	ValueSchemasEnable      bool          `config:"value.converter.schemas.enable" default:"false" doc:"must be false: connectd reads schemaless JSON"`
	Transforms              []string      `config:"transforms" doc:"aliases of the transforms to apply, in order"`
	ErrorsTolerance         string        `config:"errors.tolerance" default:"none" enum:"none,all" doc:"none: a bad record fails the task; all: it is skipped (and sent to the dead-letter topic when one is set)"`
	ErrorsRetryTimeout      time.Duration `config:"errors.retry.timeout" default:"0" unit:"ms" min:"-1" doc:"longest a retryable failure is retried; 0 or -1: until it succeeds or the task stops"`
	ErrorsRetryDelayMax     time.Duration `config:"errors.retry.delay.max.ms" default:"60000" unit:"ms" min:"1" doc:"longest wait between two retries"`
	ErrorsLogEnable         bool          `config:"errors.log.enable" default:"false" doc:"log every failed record"`
	ErrorsLogIncludeMessage bool          `config:"errors.log.include.messages" default:"false" doc:"include the record's key and value in those logs"`
	OffsetFlushInterval     time.Duration `config:"offset.flush.interval.ms" default:"2000" unit:"ms" min:"10" doc:"how often a sink task flushes and commits"`
	OffsetFlushMaxRecords   int64         `config:"offset.flush.max.records" default:"200000" min:"0" doc:"a sink task also flushes and commits once this many records were written since the last flush; 0: by interval only (connectd)"`
	ConfigActionReload      string        `config:"config.action.reload" default:"restart" enum:"restart,none" doc:"accepted for Kafka Connect compatibility"`
}

// SinkCommonConfig holds the Kafka Connect keys of sink connectors.
type SinkCommonConfig struct {
	Topics            []string `config:"topics" doc:"topics to consume (comma-separated); exactly one of topics and topics.regex"`
	TopicsRegex       string   `config:"topics.regex" doc:"a regular expression of topics to consume"`
	DLQTopic          string   `config:"errors.deadletterqueue.topic.name" doc:"dead-letter topic for records that fail with errors.tolerance=all"`
	DLQReplication    int16    `config:"errors.deadletterqueue.topic.replication.factor" default:"-1" min:"-1" doc:"replication factor of the dead-letter topic when it is created; -1 is the broker's default"`
	DLQContextHeaders bool     `config:"errors.deadletterqueue.context.headers.enable" default:"true" doc:"add __connect.errors.* headers with the failure's context (connectd's default is true)"`
}

// SourceCommonConfig holds the Kafka Connect keys of source connectors.
type SourceCommonConfig struct {
	TopicPartitions     int32         `config:"topic.creation.default.partitions" default:"-1" min:"-1" doc:"partitions of an output topic the source creates; -1 is the broker's default"`
	TopicReplication    int16         `config:"topic.creation.default.replication.factor" default:"-1" min:"-1" doc:"replication factor of created output topics; -1 is the broker's default"`
	OffsetsTopic        string        `config:"offsets.storage.topic" default:"connect-offsets" doc:"topic holding the source offsets, written in the same transaction as the records"`
	ExactlyOnceSupport  string        `config:"exactly.once.support" default:"requested" enum:"requested,required" doc:"accepted for Kafka Connect compatibility; connectd sources are always exactly once"`
	TransactionBoundary string        `config:"transaction.boundary" default:"interval" enum:"poll,interval" doc:"poll: one transaction per poll; interval: one per transaction.boundary.interval.ms"`
	TransactionInterval time.Duration `config:"transaction.boundary.interval.ms" default:"500" unit:"ms" min:"1" doc:"how often an interval-bounded source commits"`
	TransactionRecords  int           `config:"transaction.boundary.max.records" default:"20000" min:"1" doc:"most records in one source transaction (connectd)"`
}

// RawConfig is an optional interface of a plugin's config struct, for keys
// its struct tags cannot list: keys named after other keys' values
// ("aggregate.<name>.type") or the keys of a config the plugin decodes
// itself. Parse calls AcceptsKey for each of the connector's own keys that
// is neither the framework's nor a tagged field; an accepted key is not
// reported as unknown. Before decoding the tagged fields (and so before
// Validate runs), Parse calls SetRawConfig with a copy of the whole raw
// config, every key as given (tasks.max included); the config decodes and
// checks the keys it accepted in its Validate, naming them in
// *ConfigError values.
type RawConfig interface {
	AcceptsKey(key string) bool
	SetRawConfig(raw map[string]string)
}

// TransformConfig is one configured transform of a connector.
type TransformConfig struct {
	Alias  string
	Plugin *Plugin
	Config any
}

// ConnectorConfig is a parsed and validated connector config.
type ConnectorConfig struct {
	// Name is the connector's name.
	Name string
	// Raw holds every key as given, values as strings (Kafka Connect's
	// GET /connectors/{name}/config shape).
	Raw map[string]string
	// Common, Sink and Source hold the framework's keys (Sink for sink
	// connectors, Source for source connectors).
	Common CommonConfig
	Sink   SinkCommonConfig
	Source SourceCommonConfig
	// Consumer and Producer hold consumer.override.* and producer.override.*.
	Consumer ConsumerOverrides
	Producer ProducerOverrides
	// Plugin is the plugin connector.class selected; PluginConfig is its
	// decoded config (the pointer its NewConfig returned).
	Plugin       *Plugin
	PluginConfig any
	// Transforms are the configured transforms in order.
	Transforms []TransformConfig
	// TopicsRegex is Sink.TopicsRegex compiled, or nil.
	TopicsRegex *regexp.Regexp
	// Window is the window pre-aggregation stage of a sink connector
	// (its window.* keys), or nil when it has none.
	Window *WindowStageConfig
}

// Group returns the consumer group of a sink connector: "connect-<name>".
func (c *ConnectorConfig) Group() string { return "connect-" + c.Name }

// ParseEnvelope reads Kafka Connect's {"name": ..., "config": {...}} shape.
// Config values may be JSON strings, numbers or booleans; they are kept as
// strings, as Kafka Connect does. A null value is left out.
func ParseEnvelope(data []byte) (name string, raw map[string]string, err error) {
	var env struct {
		Name   *string                    `json:"name"`
		Config map[string]json.RawMessage `json:"config"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return "", nil, fmt.Errorf("malformed connector JSON: %v; expected {\"name\": \"...\", \"config\": {\"connector.class\": \"...\", ...}}", err)
	}
	if env.Config == nil {
		return "", nil, &ConfigError{Message: `"config" is missing: a connector file is {"name": "...", "config": {...}}`}
	}
	raw, err = StringValues(env.Config)
	if err != nil {
		return "", nil, err
	}
	if env.Name != nil {
		name = *env.Name
	} else {
		name = raw["name"]
	}
	return name, raw, nil
}

// StringValues turns a JSON object's values into Kafka Connect's string
// form: strings as they are, numbers and booleans as their literal text;
// null values are left out. Objects and arrays are refused by key.
func StringValues(in map[string]json.RawMessage) (map[string]string, error) {
	out := make(map[string]string, len(in))
	var errs []error
	for k, v := range in {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				errs = append(errs, &ConfigError{Key: k, Message: "is not a valid JSON string"})
				continue
			}
			out[k] = s
		case v[0] == '{' || v[0] == '[':
			errs = append(errs, &ConfigError{Key: k, Message: "must be a string, number or boolean, not a JSON object or array (lists are comma-separated strings)"})
		default:
			out[k] = string(v)
		}
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errors.Join(errs...)
	}
	return out, nil
}

var validName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)

// Parse validates a connector config and decodes it into typed structs. It
// returns every problem at once, joined (errors.Join) and sorted by key;
// each is a *ConfigError naming the key. Nothing is started.
func (r *Registry) Parse(name string, raw map[string]string) (*ConnectorConfig, error) {
	cc := &ConnectorConfig{Name: name, Raw: maps.Clone(raw)}
	var errs []error
	if name == "" {
		errs = append(errs, &ConfigError{Key: "name", Message: "is required: give the connector a name"})
	} else if !validName.MatchString(name) {
		errs = append(errs, &ConfigError{Key: "name", Message: fmt.Sprintf("%q may only hold letters, digits, '.', '_' and '-' (at most 200)", name)})
	}

	// Split the keys by owner.
	own := map[string]string{}
	consumer := map[string]string{}
	producer := map[string]string{}
	transformKeys := map[string]map[string]string{}
	var transformOrphans []string
	for k, v := range raw {
		switch {
		case strings.HasPrefix(k, "consumer.override."):
			consumer[strings.TrimPrefix(k, "consumer.override.")] = v
		case strings.HasPrefix(k, "producer.override."):
			producer[strings.TrimPrefix(k, "producer.override.")] = v
		case strings.HasPrefix(k, "transforms."):
			rest := strings.TrimPrefix(k, "transforms.")
			alias, key, ok := strings.Cut(rest, ".")
			if !ok || alias == "" || key == "" {
				transformOrphans = append(transformOrphans, k)
				continue
			}
			if transformKeys[alias] == nil {
				transformKeys[alias] = map[string]string{}
			}
			transformKeys[alias][key] = v
		default:
			own[k] = v
		}
	}

	errs = append(errs, DecodeConfig(own, &cc.Common, "")...)
	if n := cc.Common.Name; n != "" && name != "" && n != name {
		errs = append(errs, &ConfigError{Key: "name", Message: fmt.Sprintf("%q differs from the connector's name %q; remove it or make them equal", n, name)})
	}
	for _, k := range []struct {
		key  string
		val  *string
		flag bool
	}{{"key.converter", &cc.Common.KeyConverter, cc.Common.KeySchemasEnable}, {"value.converter", &cc.Common.ValueConverter, cc.Common.ValueSchemasEnable}} {
		full, ok := converterAliases[*k.val]
		if !ok {
			errs = append(errs, &ConfigError{Key: k.key, Message: fmt.Sprintf("%q is not a converter connectd has; use %s, %s or %s", *k.val, JSONConverter, StringConverter, ByteArrayConverter)})
		} else {
			*k.val = full
		}
		if k.flag {
			errs = append(errs, &ConfigError{Key: k.key + ".schemas.enable", Message: "true is not supported: connectd reads schemaless JSON; set it to false"})
		}
	}

	allowed := KeyNames(&cc.Common)
	p, found := r.Lookup(cc.Common.ConnectorClass)
	switch {
	case cc.Common.ConnectorClass == "":
	case !found:
		msg := fmt.Sprintf("%q is not an installed connector; installed: %s", cc.Common.ConnectorClass, strings.Join(append(r.classes(KindSink), r.classes(KindSource)...), ", "))
		if alt := r.sameSimpleName(cc.Common.ConnectorClass); alt != "" {
			msg += fmt.Sprintf("; did you mean %q (connectd's own, with compatible keys)?", alt)
		}
		errs = append(errs, &ConfigError{Key: "connector.class", Message: msg})
	case p.Kind == KindTransform:
		errs = append(errs, &ConfigError{Key: "connector.class", Message: fmt.Sprintf("%q is a transformation, not a connector; use it under transforms.<alias>.type", cc.Common.ConnectorClass)})
	default:
		cc.Plugin = p
	}

	if cc.Plugin != nil {
		switch cc.Plugin.Kind {
		case KindSink:
			allowed = append(allowed, KeyNames(&cc.Sink)...)
			errs = append(errs, DecodeConfig(own, &cc.Sink, "")...)
			errs = append(errs, r.checkSinkTopics(cc)...)
			errs = append(errs, DecodeConfig(consumer, &cc.Consumer, "consumer.override.")...)
			errs = append(errs, UnknownKeys(consumer, KeyNames(&cc.Consumer), "consumer.override.", "the consumer overrides")...)
		case KindSource:
			allowed = append(allowed, KeyNames(&cc.Source)...)
			errs = append(errs, DecodeConfig(own, &cc.Source, "")...)
			if len(consumer) > 0 {
				errs = append(errs, &ConfigError{Key: "consumer.override." + firstKey(consumer), Message: "source connectors have no consumer; remove consumer.override.* keys"})
			}
		}
		errs = append(errs, DecodeConfig(producer, &cc.Producer, "producer.override.")...)
		errs = append(errs, UnknownKeys(producer, KeyNames(&cc.Producer), "producer.override.", "the producer overrides")...)

		cc.PluginConfig = cc.Plugin.NewConfig()
		pluginKeys := KeyNames(cc.PluginConfig)
		pluginOwn := map[string]string{}
		rc, _ := cc.PluginConfig.(RawConfig)
		windowKeys := map[string]string{}
		stage := cc.Plugin.Kind == KindSink && !cc.Plugin.OwnWindowing
		for k, v := range own {
			switch {
			case slices.Contains(pluginKeys, k):
				pluginOwn[k] = v
			case rc != nil && rc.AcceptsKey(k):
				allowed = append(allowed, k)
			case stage && strings.HasPrefix(k, WindowPrefix):
				windowKeys[k] = v
				allowed = append(allowed, k)
			}
		}
		var werrs []error
		cc.Window, werrs = parseWindowStage(cc, windowKeys)
		errs = append(errs, werrs...)
		if rc != nil {
			rc.SetRawConfig(maps.Clone(raw))
		}
		errs = append(errs, DecodeConfig(pluginOwn, cc.PluginConfig, "")...)
		allowed = append(allowed, pluginKeys...)
		errs = append(errs, UnknownKeys(own, allowed, "", "connector "+shortClass(cc.Plugin))...)
	}

	errs = append(errs, r.parseTransforms(cc, transformKeys, transformOrphans)...)
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errors.Join(errs...)
	}
	return cc, nil
}

func (r *Registry) checkSinkTopics(cc *ConnectorConfig) []error {
	var errs []error
	switch {
	case len(cc.Sink.Topics) == 0 && cc.Sink.TopicsRegex == "":
		errs = append(errs, &ConfigError{Key: "topics", Message: "is required for a sink connector: set topics (comma-separated) or topics.regex"})
	case len(cc.Sink.Topics) > 0 && cc.Sink.TopicsRegex != "":
		errs = append(errs, &ConfigError{Key: "topics.regex", Message: "cannot be set together with topics; keep one of them"})
	case cc.Sink.TopicsRegex != "":
		re, err := regexp.Compile(cc.Sink.TopicsRegex)
		if err != nil {
			errs = append(errs, &ConfigError{Key: "topics.regex", Message: fmt.Sprintf("%q is not a valid regular expression: %v", cc.Sink.TopicsRegex, err)})
		} else {
			cc.TopicsRegex = re
		}
	}
	if dlq := cc.Sink.DLQTopic; dlq != "" {
		if slices.Contains(cc.Sink.Topics, dlq) || (cc.TopicsRegex != nil && cc.TopicsRegex.MatchString(dlq)) {
			errs = append(errs, &ConfigError{Key: "errors.deadletterqueue.topic.name", Message: fmt.Sprintf("%q is also a topic this connector consumes; use a separate dead-letter topic", dlq)})
		}
		if cc.Common.ErrorsTolerance != "all" {
			errs = append(errs, &ConfigError{Key: "errors.deadletterqueue.topic.name", Message: "is set but errors.tolerance is none, so nothing would reach it; set errors.tolerance=all"})
		}
	}
	return errs
}

func (r *Registry) parseTransforms(cc *ConnectorConfig, keys map[string]map[string]string, orphans []string) []error {
	var errs []error
	for _, k := range orphans {
		errs = append(errs, &ConfigError{Key: k, Message: "is not a transform key; transform keys are transforms.<alias>.<key>"})
	}
	for alias := range keys {
		if !slices.Contains(cc.Common.Transforms, alias) {
			errs = append(errs, &ConfigError{Key: "transforms." + alias + "." + firstKey(keys[alias]), Message: fmt.Sprintf("belongs to transform %q, which is not listed in transforms; add it there or remove its keys", alias)})
		}
	}
	seen := map[string]bool{}
	for _, alias := range cc.Common.Transforms {
		prefix := "transforms." + alias + "."
		if seen[alias] {
			errs = append(errs, &ConfigError{Key: "transforms", Message: fmt.Sprintf("lists %q twice", alias)})
			continue
		}
		seen[alias] = true
		tk := maps.Clone(keys[alias])
		if tk == nil {
			tk = map[string]string{}
		}
		class, ok := tk["type"]
		delete(tk, "type")
		if !ok {
			errs = append(errs, &ConfigError{Key: prefix + "type", Message: fmt.Sprintf("is required: the class of transform %q; installed: %s", alias, strings.Join(r.classes(KindTransform), ", "))})
			continue
		}
		p, found := r.Lookup(class)
		if !found || p.Kind != KindTransform {
			errs = append(errs, &ConfigError{Key: prefix + "type", Message: fmt.Sprintf("%q is not an installed transformation; installed: %s", class, strings.Join(r.classes(KindTransform), ", "))})
			continue
		}
		cfg := p.NewConfig()
		errs = append(errs, DecodeConfig(tk, cfg, prefix)...)
		errs = append(errs, UnknownKeys(tk, append(KeyNames(cfg), "type"), prefix, "transform "+shortClass(p))...)
		cc.Transforms = append(cc.Transforms, TransformConfig{Alias: alias, Plugin: p, Config: cfg})
	}
	return errs
}

// ParseJSON parses a connector file (the Kafka Connect envelope) and
// validates it; see Parse.
func (r *Registry) ParseJSON(data []byte) (*ConnectorConfig, error) {
	name, raw, err := ParseEnvelope(data)
	if err != nil {
		return nil, err
	}
	return r.Parse(name, raw)
}

// NewTransforms builds the connector's transform chain.
func (cc *ConnectorConfig) NewTransforms() ([]Transform, error) {
	var out []Transform
	for _, t := range cc.Transforms {
		tr, err := t.Plugin.NewTransform(t.Config)
		if err != nil {
			return nil, fmt.Errorf("transform %q: %w", t.Alias, err)
		}
		out = append(out, tr)
	}
	return out, nil
}

func shortClass(p *Plugin) string {
	if len(p.Aliases) > 0 {
		return p.Aliases[len(p.Aliases)-1]
	}
	return p.Class
}

func firstKey(m map[string]string) string {
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// sortErrors orders config errors by key, then message, so messages are
// stable for tests and for people.
func sortErrors(errs []error) {
	key := func(e error) string {
		var ce *ConfigError
		if errors.As(e, &ce) {
			return ce.Key + "\x00" + ce.Message
		}
		return "\xff" + e.Error()
	}
	sort.SliceStable(errs, func(i, j int) bool { return key(errs[i]) < key(errs[j]) })
}
