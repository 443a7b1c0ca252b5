package clickhouse

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/clickevent"
)

// batch is the rows of one INSERT: consecutive accepted records of one
// partition, held column by column. Records rejected in between are not in
// it (Kafka offsets have gaps anyway).
type batch struct {
	first, last int64 // offsets of the first and last row
	n           int
	day         int64     // event day (Unix days) of an events batch
	started     time.Time // when its first row arrived (wall clock)

	ev  *eventCols
	res *resultCols
	// Kafka coordinates.
	offsets []int64
	kts     []int64 // record timestamps, Unix ms
}

// eventCols are the columns of an events batch.
type eventCols struct {
	strs  [clickevent.NumFields][]string         // required String fields
	nstrs [clickevent.NumFields][]sql.NullString // optional String fields
	ts    []int64                                // timestamp, Unix ms
	dur   []sql.NullInt64
	rev   []sql.NullFloat64
	extra []string
}

// resultCols are the columns of a results batch.
type resultCols struct {
	id         []string
	version    []uint32
	aggregate  []string
	start, end []int64
	key        []map[string]string
	values     []string
	alerts     [][]string
	early      []bool
	retract    []uint8
}

func newBatch(kind string, capacity int, off int64, day int64, now time.Time) *batch {
	b := &batch{first: off, last: off, day: day, started: now,
		offsets: make([]int64, 0, capacity), kts: make([]int64, 0, capacity)}
	if kind == kindEvents {
		b.ev = &eventCols{ts: make([]int64, 0, capacity), extra: make([]string, 0, capacity)}
	} else {
		b.res = &resultCols{}
	}
	return b
}

// addEvent appends a decoded event; ev.Time must be in DateTime64 range.
func (b *batch) addEvent(rec *connector.Record, ev *clickevent.Event) {
	c := b.ev
	for i, f := range fieldKinds {
		switch f {
		case kindRequiredString:
			c.strs[i] = append(c.strs[i], ev.Strings[i])
		case kindOptionalString, kindOptionalLowCardString:
			c.nstrs[i] = append(c.nstrs[i], sql.NullString{String: ev.Strings[i], Valid: ev.Present.Has(i)})
		}
	}
	c.ts = append(c.ts, ev.Time.UnixMilli())
	c.dur = append(c.dur, sql.NullInt64{Int64: ev.DurationMS, Valid: ev.Present.Has(clickevent.FieldDurationMS)})
	c.rev = append(c.rev, sql.NullFloat64{Float64: ev.Revenue, Valid: ev.Present.Has(clickevent.FieldRevenue)})
	c.extra = append(c.extra, string(ev.Extra))
	b.addCoords(rec)
}

// addResult appends a decoded window result.
func (b *batch) addResult(rec *connector.Record, r *result) {
	c := b.res
	c.id = append(c.id, r.ID)
	c.version = append(c.version, r.Version)
	c.aggregate = append(c.aggregate, r.Aggregate)
	c.start = append(c.start, r.start)
	c.end = append(c.end, r.end)
	if r.Key == nil {
		r.Key = map[string]string{}
	}
	c.key = append(c.key, r.Key)
	c.values = append(c.values, string(r.Values))
	if r.Alerts == nil {
		r.Alerts = []string{}
	}
	c.alerts = append(c.alerts, r.Alerts)
	c.early = append(c.early, r.Early)
	var retract uint8
	if r.Retract {
		retract = 1
	}
	c.retract = append(c.retract, retract)
	b.addCoords(rec)
}

func (b *batch) addCoords(rec *connector.Record) {
	b.offsets = append(b.offsets, rec.Offset)
	b.kts = append(b.kts, rec.Timestamp.UnixMilli())
	b.last = rec.Offset
	b.n++
}

// Field storage kinds, by clickevent field index.
const (
	kindRequiredString = iota
	kindOptionalString
	kindOptionalLowCardString // LowCardinality(Nullable(String))
	kindOther
)

var fieldKinds = func() [clickevent.NumFields]int {
	var k [clickevent.NumFields]int
	cols := eventColumns()
	for i, f := range clickevent.Fields() {
		switch {
		case f.Kind != clickevent.String:
			k[i] = kindOther
		case f.Required:
			k[i] = kindRequiredString
		case strings.HasPrefix(cols[i].typ, "LowCardinality("):
			k[i] = kindOptionalLowCardString
		default:
			k[i] = kindOptionalString
		}
	}
	return k
}()

// appendTo fills an INSERT batch, column by column, in the order of
// eventColumns or resultColumns. Nullable columns are appended as
// pointer slices (nil: NULL): clickhouse-go v2.50 stores an invalid
// sql.NullString or sql.NullInt64 as the zero value, not as NULL.
func (b *batch) appendTo(ib driver.Batch, topic string, partition int32) error {
	var cols []any
	if c := b.ev; c != nil {
		for i, f := range fieldKinds {
			switch {
			case f == kindRequiredString:
				cols = append(cols, c.strs[i])
			case f == kindOptionalString || f == kindOptionalLowCardString:
				ptrs := make([]*string, len(c.nstrs[i]))
				for j := range c.nstrs[i] {
					if c.nstrs[i][j].Valid {
						ptrs[j] = &c.nstrs[i][j].String
					}
				}
				cols = append(cols, ptrs)
			case i == clickevent.FieldTimestamp:
				cols = append(cols, c.ts)
			case i == clickevent.FieldDurationMS:
				ptrs := make([]*int64, len(c.dur))
				for j := range c.dur {
					if c.dur[j].Valid {
						ptrs[j] = &c.dur[j].Int64
					}
				}
				cols = append(cols, ptrs)
			case i == clickevent.FieldRevenue:
				ptrs := make([]*float64, len(c.rev))
				for j := range c.rev {
					if c.rev[j].Valid {
						ptrs[j] = &c.rev[j].Float64
					}
				}
				cols = append(cols, ptrs)
			default:
				return fmt.Errorf("clickhouse sink: field %d has no column", i)
			}
		}
		cols = append(cols, c.extra)
	} else {
		c := b.res
		cols = append(cols, c.id, c.version, c.aggregate, c.start, c.end, c.key, c.values, c.alerts, c.early, c.retract)
	}
	topics := make([]string, b.n)
	parts := make([]int32, b.n)
	for i := range topics {
		topics[i], parts[i] = topic, partition
	}
	cols = append(cols, topics, parts, b.offsets, b.kts)
	for i, v := range cols {
		if err := ib.Column(i).Append(v); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return nil
}

// result is a window result as the window stage writes it (see
// windowing.Result).
type result struct {
	ID          string            `json:"id"`
	Version     uint32            `json:"version"`
	Aggregate   string            `json:"aggregate"`
	WindowStart string            `json:"window_start"`
	WindowEnd   string            `json:"window_end"`
	Key         map[string]string `json:"key"`
	Values      json.RawMessage   `json:"values"`
	Alerts      []string          `json:"alerts"`
	Early       bool              `json:"early"`
	Retract     bool              `json:"retract"`

	start, end int64
}

// decodeResult reads a window result, naming the column at fault.
func decodeResult(value []byte, r *result) error {
	*r = result{}
	if err := json.Unmarshal(value, r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("column %s: %s value does not fit %s", strings.Split(te.Field, ".")[0], te.Value, te.Type)
		}
		return fmt.Errorf("not a window result JSON object: %v", err)
	}
	if r.ID == "" {
		return errors.New(`column id: missing or empty "id"`)
	}
	if len(r.Values) == 0 || string(r.Values) == "null" {
		r.Values = json.RawMessage("{}")
	}
	var err error
	if r.start, err = parseWindowTime("window_start", r.WindowStart); err != nil {
		return err
	}
	r.end, err = parseWindowTime("window_end", r.WindowEnd)
	return err
}

func parseWindowTime(col, s string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("column %s: %q is not an RFC 3339 time", col, s)
	}
	ms := t.UnixMilli()
	if ms < minDateTime64Millis || ms > maxDateTime64Millis {
		return 0, fmt.Errorf("column %s: %s is outside DateTime64(3)'s range 1900-01-01 to 2299-12-31", col, s)
	}
	return ms, nil
}
