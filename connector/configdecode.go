package connector

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ConfigError is one problem with one config key. Key names the key as the
// user wrote it (with its prefix, such as "transforms.v."); Message says what
// is wrong and how to fix it.
type ConfigError struct {
	Key     string
	Message string
}

// Error implements error.
func (e *ConfigError) Error() string {
	if e.Key == "" {
		return e.Message
	}
	return fmt.Sprintf("config key %q: %s", e.Key, e.Message)
}

// ConfigKey describes one key of a typed config struct, read from the
// struct tags of its field:
//
//	config:"flush.size"  the key (required for a field to be a key)
//	default:"10000"      the value when the key is absent
//	required:"true"      the key must be given
//	enum:"a,b"           the allowed values
//	min:"1" max:"100"    bounds for numbers (and durations, in the unit)
//	unit:"ms"            a time.Duration given as a number of this unit (ms or s)
//	doc:"..."            what the key is for, shown in errors and listings
//
// Supported field types: string, bool, int, int16, int32, int64, float64,
// time.Duration (with unit), []string (comma-separated) and time.Time
// (RFC3339; empty means the zero time).
type ConfigKey struct {
	Name     string
	Type     string
	Default  string
	Required bool
	Enum     []string
	Doc      string
}

// ConfigKeys lists the keys of the config struct that dst points to, in
// field order.
func ConfigKeys(dst any) []ConfigKey {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []ConfigKey
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("config")
		if !ok {
			continue
		}
		k := ConfigKey{
			Name:     name,
			Type:     typeName(f.Type, f.Tag.Get("unit")),
			Default:  f.Tag.Get("default"),
			Required: f.Tag.Get("required") == "true",
			Doc:      f.Tag.Get("doc"),
		}
		if e := f.Tag.Get("enum"); e != "" {
			k.Enum = strings.Split(e, ",")
		}
		keys = append(keys, k)
	}
	return keys
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	timeType     = reflect.TypeOf(time.Time{})
)

func typeName(t reflect.Type, unit string) string {
	switch {
	case t == durationType:
		return "LONG (" + unit + ")"
	case t == timeType:
		return "STRING (RFC3339 time)"
	}
	switch t.Kind() {
	case reflect.String:
		return "STRING"
	case reflect.Bool:
		return "BOOLEAN"
	case reflect.Int, reflect.Int32, reflect.Int16:
		return "INT"
	case reflect.Int64:
		return "LONG"
	case reflect.Float64:
		return "DOUBLE"
	case reflect.Slice:
		return "LIST"
	}
	return t.String()
}

// DecodeConfig fills the config struct that dst points to from raw, applying
// defaults, and returns every problem it finds (nil when there is none). Keys
// in raw that are not fields of dst are not its business: callers check for
// unknown keys with UnknownKeys. prefix is prepended to key names in errors.
// When dst has a method Validate() error (on its pointer), it runs after
// decoding, if decoding found no problem; a Validate error that is not a
// *ConfigError (or a join of them) is reported without a key.
func DecodeConfig(raw map[string]string, dst any, prefix string) []error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return []error{fmt.Errorf("DecodeConfig needs a pointer to a struct, got %T", dst)}
	}
	v = v.Elem()
	t := v.Type()
	var errs []error
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("config")
		if !ok {
			continue
		}
		key := prefix + name
		s, given := raw[name]
		if !given {
			if f.Tag.Get("required") == "true" {
				msg := "is required"
				if d := f.Tag.Get("doc"); d != "" {
					msg += ": " + d
				}
				errs = append(errs, &ConfigError{Key: key, Message: msg})
				continue
			}
			s = f.Tag.Get("default")
		}
		if err := setField(v.Field(i), f, s, given); err != nil {
			errs = append(errs, &ConfigError{Key: key, Message: err.Error()})
		}
	}
	if len(errs) == 0 {
		if val, ok := dst.(interface{ Validate() error }); ok {
			if err := val.Validate(); err != nil {
				errs = append(errs, flattenErrors(err)...)
			}
		}
	}
	return errs
}

// flattenErrors unpacks errors.Join trees into their leaves.
func flattenErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	return []error{err}
}

func setField(fv reflect.Value, f reflect.StructField, s string, given bool) error {
	s = strings.TrimSpace(s)
	if enum := f.Tag.Get("enum"); enum != "" && (s != "" || given) {
		allowed := strings.Split(enum, ",")
		if !slices.Contains(allowed, s) {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(allowed, ", "))
		}
	}
	switch {
	case f.Type == durationType:
		if s == "" {
			fv.SetInt(0)
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number of %s", s, unitName(f.Tag.Get("unit")))
		}
		if err := checkBounds(f, float64(n), s); err != nil {
			return err
		}
		fv.SetInt(n * int64(unitDuration(f.Tag.Get("unit"))))
		return nil
	case f.Type == timeType:
		if s == "" {
			fv.Set(reflect.ValueOf(time.Time{}))
			return nil
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("%q is not an RFC3339 time such as 2026-01-02T15:04:05Z", s)
		}
		fv.Set(reflect.ValueOf(ts.UTC()))
		return nil
	}
	switch f.Type.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			fv.SetBool(true)
		case "false", "":
			fv.SetBool(false)
		default:
			return fmt.Errorf("%q is not a boolean; use true or false", s)
		}
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Int64:
		if s == "" {
			fv.SetInt(0)
			return nil
		}
		n, err := strconv.ParseInt(s, 10, f.Type.Bits())
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		if err := checkBounds(f, float64(n), s); err != nil {
			return err
		}
		fv.SetInt(n)
	case reflect.Float64:
		if s == "" {
			fv.SetFloat(0)
			return nil
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		if err := checkBounds(f, x, s); err != nil {
			return err
		}
		fv.SetFloat(x)
	case reflect.Slice:
		if f.Type.Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported config field type %s", f.Type)
		}
		var list []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
		fv.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("unsupported config field type %s", f.Type)
	}
	return nil
}

func checkBounds(f reflect.StructField, x float64, s string) error {
	if m := f.Tag.Get("min"); m != "" {
		if lo, _ := strconv.ParseFloat(m, 64); x < lo {
			return fmt.Errorf("%s is below the minimum %s", s, m)
		}
	}
	if m := f.Tag.Get("max"); m != "" {
		if hi, _ := strconv.ParseFloat(m, 64); x > hi {
			return fmt.Errorf("%s is above the maximum %s", s, m)
		}
	}
	return nil
}

func unitDuration(unit string) time.Duration {
	switch unit {
	case "s":
		return time.Second
	case "us":
		return time.Microsecond
	default:
		return time.Millisecond
	}
}

func unitName(unit string) string {
	switch unit {
	case "s":
		return "seconds"
	case "us":
		return "microseconds"
	default:
		return "milliseconds"
	}
}

// UnknownKeys returns a ConfigError for every key of raw (under prefix)
// that is not in allowed, suggesting the closest allowed key when one is
// near, and otherwise listing the allowed keys. what names the owner of the
// keys in the message ("connector", "plugin file", "transform v").
func UnknownKeys(raw map[string]string, allowed []string, prefix, what string) []error {
	var unknown []string
	for k := range raw {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	var errs []error
	for _, k := range unknown {
		msg := "is not a key of " + what
		if s := closest(k, allowed); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", prefix+s)
		} else {
			sorted := slices.Clone(allowed)
			sort.Strings(sorted)
			msg += "; its keys are " + strings.Join(sorted, ", ")
		}
		errs = append(errs, &ConfigError{Key: prefix + k, Message: msg})
	}
	return errs
}

// closest returns the allowed key within a small edit distance of k.
func closest(k string, allowed []string) string {
	best, bestD := "", 3
	if len(k) < 6 {
		bestD = 2
	}
	for _, a := range allowed {
		if d := editDistance(k, a); d < bestD {
			best, bestD = a, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one, so the
// common "feild" for "field" is one edit away.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// KeyNames returns the names of the keys of the config struct dst points to.
func KeyNames(dst any) []string {
	var names []string
	for _, k := range ConfigKeys(dst) {
		names = append(names, k.Name)
	}
	return names
}
