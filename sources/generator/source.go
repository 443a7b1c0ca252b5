package generator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/connectd/connectd/connector"
)

// Version is the plugin's version, reported by GET /connector-plugins.
const Version = "0.1.0"

// nominalRate is the event-time rate of an unpaced source
// (events.per.second = 0).
const nominalRate = 1000

// skipChunk is how many events Open replays between two looks at ctx.
const skipChunk = 1 << 20

// Plugin returns the generator source connector, to register in a
// connector.Registry.
func Plugin() connector.Plugin {
	return connector.Plugin{
		Class:     "io.connectd.generator.GeneratorSourceConnector",
		Aliases:   []string{"GeneratorSourceConnector", "generator"},
		Kind:      connector.KindSource,
		Version:   Version,
		Doc:       "generates a deterministic clickstream (sessions, funnel, Zipf pages) with optional bad records",
		NewConfig: func() any { return &Config{} },
		NewSource: func(cfg any, info connector.TaskInfo) (connector.Source, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("generator: config is %T, not *generator.Config", cfg)
			}
			return NewSource(c, info)
		},
	}
}

// Config is the generator connector's own configuration; each field's
// doc tag says what its key does (connector.ConfigKeys lists them).
type Config struct {
	Topic           string    `config:"topic" default:"clickstream.raw" doc:"the topic the events are written to"`
	EventsPerSecond int       `config:"events.per.second" default:"1000" min:"0" max:"10000000" doc:"events per second, of wall clock and of event time, shared by the tasks; 0: as fast as possible, event time then advancing 1000 events per second"`
	MaxEvents       int64     `config:"max.events" default:"0" min:"0" doc:"events to produce in all, shared by the tasks; 0: no limit"`
	Users           int       `config:"users" default:"10000" min:"1" max:"10000000" doc:"distinct users, shared by the tasks; each user's sessions are more than 30 minutes apart, so with fewer than about 400 users per event per second sessions get longer instead"`
	Seed            int64     `config:"seed" default:"1" doc:"selects the stream: equal configs give byte-identical events"`
	StartTime       time.Time `config:"start.time" doc:"event time of the first event (RFC3339); empty: the time the connector first started, kept in the source offsets so a restart gives the same events"`
	BadRecordRatio  float64   `config:"bad.record.ratio" default:"0" min:"0" max:"1" doc:"fraction of deliberately bad events: malformed, missing field, wrong type (rejected by validation), out of order, late, duplicate event_id (valid)"`
	BadRecordKinds  []string  `config:"bad.record.kinds" doc:"which kinds of bad events to make, comma-separated, drawn uniformly: malformed, missing_field, wrong_type, out_of_order, late, duplicate_id; empty: all of them"`
	BatchSize       int       `config:"batch.size" default:"1000" min:"1" max:"1000000" doc:"most records one poll returns"`
}

// Validate checks what the tags cannot: the topic name and the start time.
func (c *Config) Validate() error {
	var errs []error
	if err := checkTopic(c.Topic); err != "" {
		errs = append(errs, &connector.ConfigError{Key: "topic", Message: err})
	}
	if !c.StartTime.IsZero() {
		if y := c.StartTime.Year(); y < 1971 || y > 9999 {
			errs = append(errs, &connector.ConfigError{Key: "start.time", Message: fmt.Sprintf("%q is out of range: give a time from 1971 to 9999, or leave it empty to start when the connector first runs", c.StartTime.Format(time.RFC3339))})
		}
	}
	if _, err := c.badKinds(); err != nil {
		errs = append(errs, &connector.ConfigError{Key: "bad.record.kinds", Message: err.Error()})
	}
	return errors.Join(errs...)
}

// badKinds parses bad.record.kinds.
func (c *Config) badKinds() ([]BadKind, error) { return ParseBadKinds(c.BadRecordKinds) }

// checkTopic returns what is wrong with a Kafka topic name, or "".
func checkTopic(t string) string {
	const fix = "use 1 to 249 of the characters a-z, A-Z, 0-9, '.', '_' and '-'"
	if t == "" || t == "." || t == ".." || len(t) > 249 {
		return fmt.Sprintf("%q is not a valid Kafka topic name: %s (and not \".\" or \"..\")", t, fix)
	}
	for i := 0; i < len(t); i++ {
		b := t[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '_' || b == '-') {
			return fmt.Sprintf("%q is not a valid Kafka topic name: %s", t, fix)
		}
	}
	return ""
}

// Source is one task of the generator connector: it produces the stream
// of its task (see Options.ForTask) into the topic, paced to its share of
// events.per.second. Its source partition is {"task": i, "tasks": n}; its
// offset after a record is {"position": <events produced>, "start_ms":
// <the stream's start, Unix milliseconds>}. Changing tasks.max starts new
// streams from position 0; changing seed, users, events.per.second or
// bad.record.ratio keeps the position but changes the events from there.
type Source struct {
	cfg       Config
	info      connector.TaskInfo
	base      Options // the task's engine options but Start
	eps       int64   // this task's pace; 0: unpaced
	limited   bool
	max       int64 // this task's share of max.events, when limited
	partition map[string]any

	eng      *Engine
	startMs  any // boxed once: every offset carries it
	records  []connector.SourceRecord
	avgValue int

	anchorWall time.Time // pacing: at anchorWall the position was anchorPos
	anchorPos  int64

	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// NewSource returns the source of task info.TaskID of info.TasksMax. It
// checks that the users and rates can be shared by the tasks; it starts
// nothing.
func NewSource(cfg *Config, info connector.TaskInfo) (*Source, error) {
	tasks := max(info.TasksMax, 1)
	rate := cfg.EventsPerSecond
	if rate == 0 {
		rate = nominalRate
	}
	kinds, err := cfg.badKinds()
	if err != nil {
		return nil, &connector.ConfigError{Key: "bad.record.kinds", Message: err.Error()}
	}
	whole := Options{Seed: cfg.Seed, Users: cfg.Users, EventsPerSecond: rate, BadRecordRatio: cfg.BadRecordRatio, BadKindsUsed: kinds}
	opts, err := whole.ForTask(info.TaskID, tasks)
	if err != nil {
		return nil, fmt.Errorf("generator: %w; lower tasks.max or raise users and events.per.second", err)
	}
	s := &Source{
		cfg:       *cfg,
		info:      info,
		base:      opts,
		limited:   cfg.MaxEvents > 0,
		partition: map[string]any{"task": info.TaskID, "tasks": tasks},
		now:       time.Now,
		sleep:     sleepContext,
		avgValue:  640,
	}
	if cfg.EventsPerSecond > 0 {
		s.eps = int64(opts.EventsPerSecond)
	}
	if s.limited {
		s.max, _ = share(cfg.MaxEvents, info.TaskID, tasks)
	}
	return s, nil
}

// Partition returns the task's source partition. The map is shared by
// every record; it must not be changed.
func (s *Source) Partition() map[string]any { return s.partition }

// offset is the JSON form of a source offset.
type offset struct {
	Position *int64 `json:"position"`
	StartMs  *int64 `json:"start_ms"`
}

// Open positions the stream after the last committed record of the task's
// partition (at 0 when there is none). The start time is start.time when
// set, else the committed start_ms, else now. Replaying to the position
// takes tens of nanoseconds an event and stops when ctx is done.
func (s *Source) Open(ctx context.Context, committed connector.SourceOffsets) error {
	var off offset
	found, err := committed.Lookup(s.partition, &off)
	if err != nil {
		return fmt.Errorf("generator: reading the committed offset of partition %v: %w", s.partition, err)
	}
	var pos int64
	start := s.cfg.StartTime
	if found {
		if off.Position == nil || *off.Position < 0 {
			return fmt.Errorf("generator: the committed offset of partition %v has no valid position; reset the connector's offsets", s.partition)
		}
		pos = *off.Position
		if start.IsZero() && off.StartMs != nil {
			start = time.UnixMilli(*off.StartMs).UTC()
		}
	}
	if start.IsZero() {
		start = s.now().UTC().Truncate(time.Millisecond)
	}
	opts := s.base
	opts.Start = start
	eng, err := NewEngine(opts)
	if err != nil {
		return err
	}
	for left := pos; left > 0; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(left, skipChunk)
		eng.Skip(n)
		left -= n
	}
	s.eng = eng
	s.startMs = start.UnixMilli()
	s.anchorWall, s.anchorPos = s.now(), pos
	if l := s.info.Logger; l != nil {
		l.Info("generator opened", "position", pos, "start", start.Format(time.RFC3339Nano), "users", opts.Users, "first_user", opts.FirstUser)
	}
	return nil
}

// Poll returns the next events, at most batch.size, as many as are due at
// events.per.second (waiting, up to ctx, until a twentieth of a second's
// worth is due), and connector.ErrSourceDone once max.events are out.
func (s *Source) Poll(ctx context.Context) ([]connector.SourceRecord, error) {
	if s.eng == nil {
		return nil, errors.New("generator: Poll called before Open")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pos := s.eng.Position()
	n := int64(s.cfg.BatchSize)
	if s.limited {
		if pos >= s.max {
			return nil, connector.ErrSourceDone
		}
		n = min(n, s.max-pos)
	}
	if s.eps > 0 {
		want := min(n, max(1, s.eps/20))
		for {
			now := s.now()
			due := s.dueAt(now) - pos
			if due >= want {
				n = min(n, due)
				break
			}
			if err := s.sleep(ctx, s.wallAt(pos+want).Sub(now)); err != nil {
				return nil, err
			}
		}
	}

	// One buffer for the values and one for the keys of this poll: the
	// records' slices point into them and are never reused.
	values := make([]byte, 0, int(n)*(s.avgValue+s.avgValue/8))
	keys := make([]byte, 0, int(n)*12)
	s.records = s.records[:0]
	for range n {
		v0, k0 := len(values), len(keys)
		var m Meta
		values, keys, m = s.eng.Append(values, keys)
		s.records = append(s.records, connector.SourceRecord{
			Record: connector.ProducerRecord{
				Topic:     s.cfg.Topic,
				Partition: -1,
				Key:       keys[k0:len(keys):len(keys)],
				Value:     values[v0:len(values):len(values)],
				Timestamp: m.Time,
			},
			Partition: s.partition,
			Offset:    map[string]any{"position": m.Position + 1, "start_ms": s.startMs},
		})
	}
	s.avgValue = max(64, len(values)/int(n))
	return s.records, nil
}

// Stop releases the engine.
func (s *Source) Stop(context.Context) error {
	s.eng = nil
	s.records = nil
	return nil
}

// dueAt returns the position the stream should have reached at t.
func (s *Source) dueAt(t time.Time) int64 {
	el := t.Sub(s.anchorWall)
	if el <= 0 {
		return s.anchorPos
	}
	sec, ns := int64(el/time.Second), int64(el%time.Second)
	return s.anchorPos + sec*s.eps + ns*s.eps/int64(time.Second)
}

// wallAt returns the first instant at which position p is due.
func (s *Source) wallAt(p int64) time.Time {
	q := p - s.anchorPos
	ns := (q/s.eps)*int64(time.Second) + ((q%s.eps)*int64(time.Second)+s.eps-1)/s.eps
	return s.anchorWall.Add(time.Duration(ns))
}

// sleepContext waits for d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
