package clickhouse

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/clickevent"
)

// batch is the rows of one INSERT: accepted records of one partition and
// one event day, in offset order, held column by column. Records of other
// days, in other batches, and records rejected come in between (Kafka
// offsets have gaps anyway). A batch is not changed by sending it, so a
// retried INSERT sends the same rows.
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
	// strs are the String fields that are not LowCardinality, '' when
	// absent (NULL for an optional field: present says).
	strs [clickevent.NumFields][]string
	// LowCardinality fields are dictionary-encoded per batch: codes[i][row]
	// is 0 for NULL, else 1 + the value's index in vals[i]. clickhouse-go
	// keys its LowCardinality dictionary on the values it is given, so each
	// distinct value is boxed once (vals) and every row hands over the same
	// interface value: no allocation per row, and one dictionary entry per
	// distinct value instead of one per row.
	codes   [clickevent.NumFields][]uint32
	dict    [clickevent.NumFields]map[string]uint32
	vals    [clickevent.NumFields][]any
	present []clickevent.FieldSet
	ts      []int64 // timestamp, Unix ms
	dur     []int64
	rev     []float64
	extra   []string
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
	b := &batch{offsets: make([]int64, 0, capacity), kts: make([]int64, 0, capacity)}
	if kind == kindEvents {
		c := &eventCols{present: make([]clickevent.FieldSet, 0, capacity), ts: make([]int64, 0, capacity),
			dur: make([]int64, 0, capacity), rev: make([]float64, 0, capacity), extra: make([]string, 0, capacity)}
		for i, f := range fieldKinds {
			switch f {
			case kindRequiredString, kindOptionalString:
				c.strs[i] = make([]string, 0, capacity)
			case kindRequiredLowCardString, kindOptionalLowCardString:
				c.codes[i] = make([]uint32, 0, capacity)
				c.dict[i] = map[string]uint32{}
			}
		}
		b.ev = c
	} else {
		b.res = &resultCols{}
	}
	b.start(off, day, now)
	return b
}

// start makes an empty batch begin at offset off.
func (b *batch) start(off int64, day int64, now time.Time) {
	b.first, b.last, b.day, b.started = off, off, day, now
}

// reset empties an events batch for reuse, keeping its capacity. It
// clears what points to strings, so a spare batch keeps no decoded
// values alive.
func (b *batch) reset() {
	c := b.ev
	for i := range c.strs {
		clear(c.strs[i])
		c.strs[i] = c.strs[i][:0]
		c.codes[i] = c.codes[i][:0]
		clear(c.dict[i])
		clear(c.vals[i])
		c.vals[i] = c.vals[i][:0]
	}
	clear(c.extra)
	c.present, c.ts, c.dur, c.rev, c.extra = c.present[:0], c.ts[:0], c.dur[:0], c.rev[:0], c.extra[:0]
	b.offsets, b.kts, b.n = b.offsets[:0], b.kts[:0], 0
}

// addEvent appends a decoded event; ev.Time must be in DateTime64 range.
func (b *batch) addEvent(rec *connector.Record, ev *clickevent.Event) {
	c := b.ev
	for i, f := range fieldKinds {
		switch f {
		case kindRequiredString, kindOptionalString:
			c.strs[i] = append(c.strs[i], ev.Strings[i])
		case kindRequiredLowCardString, kindOptionalLowCardString:
			var code uint32
			if f == kindRequiredLowCardString || ev.Present.Has(i) {
				s := ev.Strings[i]
				var ok bool
				if code, ok = c.dict[i][s]; !ok {
					c.vals[i] = append(c.vals[i], s)
					code = uint32(len(c.vals[i]))
					c.dict[i][s] = code
				}
			}
			c.codes[i] = append(c.codes[i], code)
		}
	}
	c.present = append(c.present, ev.Present)
	c.ts = append(c.ts, ev.Time.UnixMilli())
	c.dur = append(c.dur, ev.DurationMS)
	c.rev = append(c.rev, ev.Revenue)
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
	kindRequiredString        = iota // String
	kindOptionalString               // Nullable(String)
	kindRequiredLowCardString        // LowCardinality(String)
	kindOptionalLowCardString        // LowCardinality(Nullable(String))
	kindOther
)

var fieldKinds = func() [clickevent.NumFields]int {
	var k [clickevent.NumFields]int
	cols := eventColumns()
	for i, f := range clickevent.Fields() {
		lowCard := strings.HasPrefix(cols[i].typ, "LowCardinality(")
		switch {
		case f.Kind != clickevent.String:
			k[i] = kindOther
		case f.Required && lowCard:
			k[i] = kindRequiredLowCardString
		case f.Required:
			k[i] = kindRequiredString
		case lowCard:
			k[i] = kindOptionalLowCardString
		default:
			k[i] = kindOptionalString
		}
	}
	return k
}()

// scratch holds the slices appendTo hands to clickhouse-go, which copies
// their values into its own columns; they are reused from one INSERT to
// the next, so a batch costs no per-row allocation on its way out.
type scratch struct {
	anys  []any
	strs  []*string
	i64s  []*int64
	f64s  []*float64
	parts []int32
}

// grow returns s with length n, reusing its array when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// nullable fills dst (grown to the rows of vals) with the column of
// optional field i as clickhouse-go takes a Nullable one: a pointer to
// vals[j] where row j has the field, nil where it has not.
func nullable[T any](dst []*T, vals []T, present []clickevent.FieldSet, i int) []*T {
	dst = grow(dst, len(vals))
	for j := range vals {
		dst[j] = nil
		if present[j].Has(i) {
			dst[j] = &vals[j]
		}
	}
	return dst
}

// release drops the references the scratch slices hold into the last
// batch, so a sent batch is not kept alive by them.
func (sc *scratch) release() {
	clear(sc.anys)
	clear(sc.strs)
	clear(sc.i64s)
	clear(sc.f64s)
}

// appendTo fills an INSERT batch, column by column, in the order of
// eventColumns or resultColumns, with slice types clickhouse-go appends
// without reflection (LowCardinality columns: []any of boxed dictionary
// values). Nullable columns are appended as pointer slices (nil: NULL):
// clickhouse-go v2.50 stores an invalid sql.NullString or sql.NullInt64
// as the zero value, not as NULL. It does not change b.
func (b *batch) appendTo(ib driver.Batch, topic string, partition int32, sc *scratch) error {
	defer sc.release()
	col := 0
	add := func(v any) error {
		if err := ib.Column(col).Append(v); err != nil {
			return fmt.Errorf("column %d: %w", col, err)
		}
		col++
		return nil
	}
	n := b.n
	if c := b.ev; c != nil {
		for i, f := range fieldKinds {
			var v any
			switch {
			case f == kindRequiredString:
				v = c.strs[i]
			case f == kindOptionalString:
				sc.strs = nullable(sc.strs, c.strs[i], c.present, i)
				v = sc.strs
			case f == kindRequiredLowCardString || f == kindOptionalLowCardString:
				sc.anys = grow(sc.anys, n)
				vals := c.vals[i]
				for j, code := range c.codes[i] {
					sc.anys[j] = nil
					if code > 0 {
						sc.anys[j] = vals[code-1]
					}
				}
				v = sc.anys
			case i == clickevent.FieldTimestamp:
				v = c.ts
			case i == clickevent.FieldDurationMS:
				sc.i64s = nullable(sc.i64s, c.dur, c.present, i)
				v = sc.i64s
			case i == clickevent.FieldRevenue:
				sc.f64s = nullable(sc.f64s, c.rev, c.present, i)
				v = sc.f64s
			default:
				return fmt.Errorf("clickhouse sink: field %d has no column", i)
			}
			if err := add(v); err != nil {
				return err
			}
		}
		if err := add(c.extra); err != nil {
			return err
		}
	} else {
		c := b.res
		for _, v := range []any{c.id, c.version, c.aggregate, c.start, c.end, c.key, c.values, c.alerts, c.early, c.retract} {
			if err := add(v); err != nil {
				return err
			}
		}
	}
	// _topic is LowCardinality(String): one boxed value for every row.
	sc.anys = grow(sc.anys, n)
	var t any = topic
	for j := range n {
		sc.anys[j] = t
	}
	if err := add(sc.anys); err != nil {
		return err
	}
	sc.parts = grow(sc.parts, n)
	for j := range n {
		sc.parts[j] = partition
	}
	for _, v := range []any{sc.parts, b.offsets, b.kts} {
		if err := add(v); err != nil {
			return err
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
