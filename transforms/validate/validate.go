package validate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/connectd/connectd/connector"
)

// Version is the plugin's version, reported by GET /connector-plugins.
const Version = "0.1.0"

// The defaults of Config, as its tags give them.
const (
	DefaultRequiredFields    = "event_id,timestamp,user_id,session_id,event_type,page_url"
	DefaultNumberFields      = "duration_ms,revenue"
	DefaultAllowedEventTypes = "page_view,click,search,add_to_cart,purchase"
)

// The fields with a meaning of their own.
const (
	timestampField = "timestamp"
	eventTypeField = "event_type"
)

// Plugin returns the ValidateClickEvent transform, to register in a
// connector.Registry.
func Plugin() connector.Plugin {
	return connector.Plugin{
		Class:     "io.connectd.transforms.ValidateClickEvent",
		Aliases:   []string{"ValidateClickEvent", "validate"},
		Kind:      connector.KindTransform,
		Version:   Version,
		Doc:       "rejects click events that are not JSON objects with the required fields, types, timestamp and event type",
		NewConfig: func() any { return &Config{} },
		NewTransform: func(cfg any) (connector.Transform, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("validate: config is %T, not *validate.Config", cfg)
			}
			return New(c)
		},
	}
}

// Config is the transform's configuration; each field's doc tag says what
// its key does (connector.ConfigKeys lists them).
type Config struct {
	RequiredFields    []string `config:"required.fields" default:"event_id,timestamp,user_id,session_id,event_type,page_url" doc:"fields every event must have (comma-separated); each must be a non-empty string, or a number when it is in number.fields"`
	NumberFields      []string `config:"number.fields" default:"duration_ms,revenue" doc:"fields that must be JSON numbers when present (comma-separated)"`
	AllowedEventTypes []string `config:"allowed.event.types" default:"page_view,click,search,add_to_cart,purchase" doc:"the values event_type may have (comma-separated)"`
}

// DefaultConfig returns the configuration an empty transform config
// decodes to.
func DefaultConfig() Config {
	return Config{
		RequiredFields:    strings.Split(DefaultRequiredFields, ","),
		NumberFields:      strings.Split(DefaultNumberFields, ","),
		AllowedEventTypes: strings.Split(DefaultAllowedEventTypes, ","),
	}
}

// Validate checks the lists against each other.
func (c *Config) Validate() error {
	var errs []error
	for _, l := range []struct {
		key  string
		list []string
	}{{"required.fields", c.RequiredFields}, {"number.fields", c.NumberFields}, {"allowed.event.types", c.AllowedEventTypes}} {
		for i, v := range l.list {
			if slices.Contains(l.list[:i], v) {
				errs = append(errs, &connector.ConfigError{Key: l.key, Message: fmt.Sprintf("lists %q twice; list it once", v)})
			}
		}
	}
	if len(c.AllowedEventTypes) == 0 {
		errs = append(errs, &connector.ConfigError{Key: "allowed.event.types", Message: "lists no event type, so every event would be rejected; give at least one, such as " + DefaultAllowedEventTypes})
	}
	for _, f := range []struct{ name, must string }{
		{timestampField, "an RFC3339 time"},
		{eventTypeField, "one of allowed.event.types"},
	} {
		if slices.Contains(c.NumberFields, f.name) {
			errs = append(errs, &connector.ConfigError{Key: "number.fields", Message: fmt.Sprintf("lists %q, which must be a string (%s); remove it", f.name, f.must)})
		}
	}
	return errors.Join(errs...)
}

// kind is what a checked field must hold.
type kind uint8

const (
	kindString    kind = iota // a non-empty string
	kindNumber                // a number
	kindTimestamp             // an RFC3339 time
	kindEventType             // one of the allowed event types
)

type field struct {
	name     string
	kind     kind
	required bool
}

// Transform checks that a record's value is a clickstream event: one JSON
// object (valid UTF-8), with every required field present once and of its
// type, an RFC 3339 timestamp and a known event_type (see the package
// documentation for the exact rules). It
// never changes the record. It reuses one parser, so it must be used from
// one goroutine at a time, as the framework does.
type Transform struct {
	fields  []field // in the order they are checked
	index   map[string]int
	allowed []string
	listed  string // allowed, for messages

	p    fastjson.Parser
	seen []*fastjson.Value // by field index, for the record being checked
	dup  []bool
}

// New returns a transform for cfg, which is validated first.
func New(cfg *Config) (*Transform, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	t := &Transform{
		index:   map[string]int{},
		allowed: slices.Clone(cfg.AllowedEventTypes),
		listed:  strings.Join(cfg.AllowedEventTypes, ", "),
	}
	add := func(name string, required bool) {
		if _, ok := t.index[name]; ok {
			return
		}
		k := kindString
		switch {
		case name == timestampField:
			k = kindTimestamp
		case name == eventTypeField:
			k = kindEventType
		case slices.Contains(cfg.NumberFields, name):
			k = kindNumber
		}
		t.index[name] = len(t.fields)
		t.fields = append(t.fields, field{name: name, kind: k, required: required})
	}
	for _, f := range cfg.RequiredFields {
		add(f, true)
	}
	for _, f := range cfg.NumberFields {
		add(f, false)
	}
	add(timestampField, false)
	add(eventTypeField, false)
	t.seen = make([]*fastjson.Value, len(t.fields))
	t.dup = make([]bool, len(t.fields))
	return t, nil
}

// Apply implements connector.Transform: it keeps a valid record and
// rejects any other with the reason Check gives.
func (t *Transform) Apply(r *connector.Record) (bool, error) {
	if err := t.Check(r.Value); err != nil {
		return false, err
	}
	return true, nil
}

// Check returns nil when value is a valid click event, else an error whose
// text names the field and what is wrong with it, such as
//
//	missing required field "user_id"
//	field "duration_ms": expected a number, got string "abc"
//
// Fields are checked in a fixed order (required fields as configured, then
// number fields, timestamp and event_type), and the first problem is
// reported. A valid event costs no allocation.
func (t *Transform) Check(value []byte) error {
	if len(value) == 0 {
		return errors.New("not valid JSON: the value is empty")
	}
	if err := fastjson.ValidateBytes(value); err != nil {
		return fmt.Errorf("not valid JSON: %v", err)
	}
	if !utf8.Valid(value) {
		return fmt.Errorf("not valid JSON: invalid UTF-8 at byte %d", invalidUTF8At(value))
	}
	v, err := t.p.ParseBytes(value)
	if err != nil {
		return fmt.Errorf("not valid JSON: %v", err)
	}
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("expected a JSON object, got %s", describe(v))
	}
	o, _ := v.Object()
	clear(t.seen)
	clear(t.dup)
	o.Visit(t.visit)
	defer clear(t.seen) // do not keep the parser's values reachable

	for i := range t.fields {
		f := &t.fields[i]
		fv := t.seen[i]
		if fv == nil {
			if f.required {
				return fmt.Errorf("missing required field %q", f.name)
			}
			continue
		}
		if t.dup[i] {
			return fmt.Errorf("field %q: appears more than once", f.name)
		}
		if f.kind == kindNumber {
			if fv.Type() != fastjson.TypeNumber {
				return fmt.Errorf("field %q: expected a number, got %s", f.name, describe(fv))
			}
			continue
		}
		if fv.Type() != fastjson.TypeString {
			return fmt.Errorf("field %q: expected a string, got %s", f.name, describe(fv))
		}
		s, _ := fv.StringBytes()
		switch f.kind {
		case kindString:
			if len(s) == 0 {
				return fmt.Errorf("field %q: must not be empty", f.name)
			}
		case kindTimestamp:
			if !isRFC3339(s) {
				return fmt.Errorf("field %q: %s is not an RFC3339 time such as 2026-01-02T15:04:05.123Z", f.name, quote(s))
			}
		case kindEventType:
			if !t.allowedType(s) {
				return fmt.Errorf("field %q: %s is not one of %s", f.name, quote(s), t.listed)
			}
		}
	}
	return nil
}

// visit records the value of each checked field, and whether it repeats
// (encoding/json keeps the last of repeated keys, fastjson the first: a
// repeat could smuggle a value past the check).
func (t *Transform) visit(key []byte, v *fastjson.Value) {
	i, ok := t.index[string(key)]
	if !ok {
		return
	}
	if t.seen[i] != nil {
		t.dup[i] = true
		return
	}
	t.seen[i] = v
}

func (t *Transform) allowedType(s []byte) bool {
	for _, a := range t.allowed {
		if string(s) == a {
			return true
		}
	}
	return false
}

// maxShown is how many bytes of a bad value an error message shows.
const maxShown = 64

// describe names a JSON value's type, with the value when it is short to
// show: string "abc", number 42, boolean true, null, object, array.
func describe(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return "string " + quote(s)
	case fastjson.TypeNumber:
		return "number " + shorten(string(v.MarshalTo(nil)))
	case fastjson.TypeTrue:
		return "boolean true"
	case fastjson.TypeFalse:
		return "boolean false"
	case fastjson.TypeNull:
		return "null"
	case fastjson.TypeArray:
		return "array"
	default:
		return "object"
	}
}

// quote quotes s for a message, cut to maxShown bytes.
func quote(s []byte) string {
	if len(s) <= maxShown {
		return strconv.Quote(string(s))
	}
	cut := maxShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(string(s[:cut])) + "…"
}

func shorten(s string) string {
	if len(s) <= maxShown {
		return s
	}
	return s[:maxShown] + "…"
}

// invalidUTF8At returns the offset of the first byte of b that is not
// valid UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}
