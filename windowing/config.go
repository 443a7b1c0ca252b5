package windowing

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is the window part of a connector config. Its struct tags follow
// connector.DecodeConfig (config, default, required, enum, min, max, unit,
// doc); windowing does not import the connector package, so Validate
// returns *ConfigError values (joined with errors.Join) that the connector
// converts to its own error type, keeping Key and Message.
//
// The measures named in Aggregates are configured by AggregateConfig
// values, one per name, decoded from the keys under "aggregate.<name>."
// (see the package documentation for the decoding recipe).
type Config struct {
	Type            string        `config:"window.type" default:"tumbling" enum:"tumbling,hopping,session" doc:"tumbling, hopping or session windows"`
	Size            time.Duration `config:"window.size.ms" unit:"ms" min:"0" doc:"length of a tumbling or hopping window"`
	Advance         time.Duration `config:"window.advance.ms" unit:"ms" min:"0" doc:"how far a hopping window moves; window.size.ms must be a multiple of it"`
	Offset          time.Duration `config:"window.offset.ms" unit:"ms" min:"0" doc:"shift of window boundaries from the epoch (e.g. a time zone)"`
	SessionGap      time.Duration `config:"session.gap.ms" unit:"ms" default:"1800000" min:"1" doc:"inactivity that ends a session window"`
	MaxOutOfOrder   time.Duration `config:"max.out.of.order.ms" unit:"ms" default:"0" min:"0" doc:"how far behind the newest event of a partition an event may be and still be on time; the watermark is the newest event time minus this"`
	Grace           time.Duration `config:"grace.ms" unit:"ms" default:"0" min:"0" doc:"how long after its end (in watermark time) a window stays open"`
	AllowedLateness time.Duration `config:"allowed.lateness.ms" unit:"ms" default:"0" min:"0" doc:"how long after closing a window is kept; late events within it re-emit the window with a higher version"`
	IdleTimeout     time.Duration `config:"idle.timeout.ms" unit:"ms" default:"60000" min:"0" doc:"a partition without events for this long (by the caller's clock) stops holding the watermark back; 0 = never"`
	TimestampField  string        `config:"timestamp.field" default:"timestamp" doc:"the event field that holds the event time"`
	GroupBy         []string      `config:"group.by" doc:"fields whose values form the group key (comma-separated); empty = one group"`
	Aggregates      []string      `config:"aggregates" required:"true" doc:"names of the measures to compute; each is configured by aggregate.<name>.* keys"`
	ResultName      string        `config:"result.name" default:"window" doc:"the aggregate name of the results (part of every result id)"`
	MaxWindows      int           `config:"max.windows" default:"1000" min:"1" doc:"most windows (open or kept for lateness) at once; at the bound the oldest is closed early"`
	MaxKeys         int           `config:"max.keys" default:"1000000" min:"1" doc:"most group keys per window (tumbling, hopping) or in all (session); events of a new key beyond it go to the overflow output"`
	MaxInterned     int           `config:"max.interned" default:"1048576" min:"16" doc:"most distinct page values kept for session paths; beyond it new pages show as (other)"`
}

// AggregateConfig configures one measure, from the keys under
// "aggregate.<name>.". Name is not a key: the caller sets it (from
// Config.Aggregates) before decoding, and Validate names keys with it.
type AggregateConfig struct {
	Name          string   `json:"-"`
	Type          string   `config:"type" required:"true" enum:"count,count_by,distinct,top_k,stats,sessions,funnel,alert" doc:"what the measure computes"`
	Field         string   `config:"field" doc:"the field the measure reads (count_by, distinct, top_k, stats; alert: optional field to name in the alert)"`
	Filter        []string `config:"filter" doc:"conditions an event must all meet to count (field=value, field!=value, field^=prefix)"`
	K             int      `config:"k" default:"10" min:"1" max:"1000" doc:"how many values top_k reports"`
	MaxValues     int      `config:"max.values" default:"10000" min:"1" doc:"most distinct values count_by and top_k count per window and key; further values count as (other)"`
	ExactMax      int      `config:"exact.max" default:"1024" min:"0" max:"1000000" doc:"distinct counts are exact up to this many values, then HyperLogLog (error ≤ 2%)"`
	Steps         []string `config:"steps" doc:"funnel steps in order, each a condition (event_type=add_to_cart, page_url^=/checkout)"`
	Threshold     int64    `config:"threshold" min:"0" doc:"alert when more than this many events (after filter) fall in one window and key"`
	UserField     string   `config:"user.field" default:"user_id" doc:"the user id field (sessions, funnel)"`
	SessionField  string   `config:"session.field" default:"session_id" doc:"the session id field (sessions)"`
	PageField     string   `config:"page.field" default:"page_url" doc:"the page field (sessions)"`
	TypeField     string   `config:"type.field" default:"event_type" doc:"the event type field (sessions)"`
	PageEvent     string   `config:"page.event" default:"page_view" doc:"the event type that is a page view (sessions); empty = every event with a page"`
	PurchaseEvent string   `config:"purchase.event" default:"purchase" doc:"the event type that converts a session"`
	RevenueField  string   `config:"revenue.field" default:"revenue" doc:"the revenue field (sessions)"`
	PathMax       int      `config:"path.max" default:"50" min:"1" max:"1000" doc:"how many pages of a session's path are kept (the first ones, by event time)"`
}

// ConfigError is one problem with one config key: Key is the key as the
// user writes it (aggregate keys with their "aggregate.<name>." prefix),
// Message says what is wrong and how to fix it. It mirrors
// connector.ConfigError, into which the connector converts it.
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

func cerr(key, format string, args ...any) error {
	return &ConfigError{Key: key, Message: fmt.Sprintf(format, args...)}
}

// Validate checks the window keys and their combinations. The measures
// are checked by AggregateConfig.Validate and, across each other, by New.
func (c *Config) Validate() error {
	var errs []error
	size, adv, off := c.Size.Milliseconds(), c.Advance.Milliseconds(), c.Offset.Milliseconds()
	switch c.Type {
	case "tumbling", "":
		if size <= 0 {
			errs = append(errs, cerr("window.size.ms", "is required for tumbling windows; set it to the window length, e.g. 60000 for one minute"))
		}
		if adv != 0 && adv != size {
			errs = append(errs, cerr("window.advance.ms", "applies to hopping windows only; remove it or set window.type=hopping"))
		}
		if size > 0 && off >= size {
			errs = append(errs, cerr("window.offset.ms", "must be less than window.size.ms (%d)", size))
		}
	case "hopping":
		if size <= 0 {
			errs = append(errs, cerr("window.size.ms", "is required for hopping windows; set it to the window length"))
		}
		if adv <= 0 {
			errs = append(errs, cerr("window.advance.ms", "is required for hopping windows; set how far each window moves, e.g. half of window.size.ms"))
		} else if size > 0 {
			if adv > size {
				errs = append(errs, cerr("window.advance.ms", "%d is more than window.size.ms %d, which would skip events; make it at most the size", adv, size))
			} else if size%adv != 0 {
				errs = append(errs, cerr("window.advance.ms", "window.size.ms %d must be a multiple of it (%d is not); pick an advance that divides the size", size, adv))
			}
			if size/adv > 1000 {
				errs = append(errs, cerr("window.advance.ms", "puts each event in %d windows; keep window.size.ms / window.advance.ms at most 1000", size/adv))
			}
		}
		if adv > 0 && off >= adv {
			errs = append(errs, cerr("window.offset.ms", "must be less than window.advance.ms (%d)", adv))
		}
	case "session":
		if size != 0 || adv != 0 {
			errs = append(errs, cerr("window.size.ms", "does not apply to session windows, which end after session.gap.ms of inactivity; remove window.size.ms and window.advance.ms"))
		}
		if off != 0 {
			errs = append(errs, cerr("window.offset.ms", "does not apply to session windows; remove it"))
		}
		if c.SessionGap.Milliseconds() <= 0 {
			errs = append(errs, cerr("session.gap.ms", "must be at least 1 ms; the usual web session gap is 1800000 (30 minutes)"))
		}
		if len(c.GroupBy) == 0 {
			errs = append(errs, cerr("group.by", "is required for session windows (sessions are per key); set it to the user field, e.g. user_id"))
		}
	default:
		errs = append(errs, cerr("window.type", "%q is not one of tumbling, hopping, session", c.Type))
	}
	if c.TimestampField == "" {
		errs = append(errs, cerr("timestamp.field", "must name the event time field, e.g. timestamp"))
	}
	if c.Grace < 0 || c.AllowedLateness < 0 || c.MaxOutOfOrder < 0 || c.IdleTimeout < 0 {
		errs = append(errs, cerr("grace.ms", "times must not be negative"))
	}
	seen := map[string]bool{}
	for _, g := range c.GroupBy {
		if seen[g] {
			errs = append(errs, cerr("group.by", "lists %q twice; list each field once", g))
		}
		seen[g] = true
	}
	if len(c.Aggregates) == 0 {
		errs = append(errs, cerr("aggregates", "is required: list the measures to compute, e.g. count,unique_users"))
	}
	names := map[string]bool{}
	for _, n := range c.Aggregates {
		if !validName(n) {
			errs = append(errs, cerr("aggregates", "%q is not a valid measure name; use letters, digits and _", n))
		}
		if names[n] {
			errs = append(errs, cerr("aggregates", "lists %q twice; give each measure its own name", n))
		}
		names[n] = true
	}
	if c.ResultName == "" {
		errs = append(errs, cerr("result.name", "must not be empty; it names the results and is part of their ids"))
	}
	if c.MaxWindows < 1 {
		errs = append(errs, cerr("max.windows", "must be at least 1"))
	}
	if c.MaxKeys < 1 {
		errs = append(errs, cerr("max.keys", "must be at least 1"))
	}
	return errors.Join(errs...)
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for _, r := range n {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Validate checks one measure's keys against its type. Keys in errors carry
// the "aggregate.<Name>." prefix.
func (a *AggregateConfig) Validate() error {
	p := "aggregate." + a.Name + "."
	var errs []error
	needField := func(what string) {
		if a.Field == "" {
			errs = append(errs, cerr(p+"field", "is required for %s; name the field to read, e.g. %s", a.Type, what))
		}
	}
	switch a.Type {
	case "count":
	case "count_by", "top_k":
		needField("page_url")
	case "distinct":
		needField("user_id")
	case "stats":
		needField("duration_ms")
	case "sessions":
		if a.UserField == "" || a.SessionField == "" || a.PageField == "" || a.TypeField == "" {
			errs = append(errs, cerr(p+"user.field", "sessions need user.field, session.field, page.field and type.field"))
		}
	case "funnel":
		if len(a.Steps) < 2 {
			errs = append(errs, cerr(p+"steps", "a funnel needs at least two steps, e.g. page_url^=/products,event_type=add_to_cart,event_type=purchase"))
		}
		if len(a.Steps) > 32 {
			errs = append(errs, cerr(p+"steps", "a funnel has at most 32 steps, not %d", len(a.Steps)))
		}
		for _, s := range a.Steps {
			if _, err := parseCond(s); err != nil {
				errs = append(errs, cerr(p+"steps", "%v", err))
			}
		}
		if a.UserField == "" {
			errs = append(errs, cerr(p+"user.field", "a funnel needs the user field, e.g. user_id"))
		}
	case "alert":
		if a.Threshold <= 0 {
			errs = append(errs, cerr(p+"threshold", "is required for an alert: the event count above which it fires, e.g. 1000"))
		}
	default:
		errs = append(errs, cerr(p+"type", "%q is not one of count, count_by, distinct, top_k, stats, sessions, funnel, alert", a.Type))
	}
	for _, f := range a.Filter {
		if _, err := parseCond(f); err != nil {
			errs = append(errs, cerr(p+"filter", "%v", err))
		}
	}
	return errors.Join(errs...)
}

// cond is one condition on a string field.
type cond struct {
	field  string
	op     byte // '=', '!', '^'
	value  string
	fieldI int // index into the windower's string fields
}

func parseCond(s string) (cond, error) {
	s = strings.TrimSpace(s)
	for _, op := range []string{"^=", "!=", "="} {
		if i := strings.Index(s, op); i > 0 {
			return cond{field: strings.TrimSpace(s[:i]), op: op[0], value: strings.TrimSpace(s[i+len(op):])}, nil
		}
	}
	return cond{}, fmt.Errorf("%q is not a condition; write field=value, field!=value or field^=prefix", s)
}

// String renders the condition as written in the config.
func (c *cond) String() string {
	switch c.op {
	case '^':
		return c.field + "^=" + c.value
	case '!':
		return c.field + "!=" + c.value
	}
	return c.field + "=" + c.value
}

func (c *cond) match(e *event) bool {
	v := e.str[c.fieldI]
	switch c.op {
	case '^':
		return strings.HasPrefix(v, c.value)
	case '!':
		return v != c.value
	}
	return v == c.value
}
