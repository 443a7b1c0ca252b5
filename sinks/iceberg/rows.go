package iceberg

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	iceberg "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/valyala/fastjson"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/clickevent"
)

// Where a column's value comes from.
const (
	srcKnown     = iota // a click event field (known is its index)
	srcExtra            // the _extra JSON
	srcTopic            // Kafka coordinates
	srcPartition        //
	srcOffset           //
	srcEvolved          // a field outside the click event schema (evolution)
	srcRollup           // a window result field (rollup is its name)
)

// column is one top-level column of a table and how it is filled.
type column struct {
	name     string
	id       int
	typ      iceberg.Type
	required bool
	src      int
	known    int
}

// layout is a table schema as the writer fills it.
type layout struct {
	schema *iceberg.Schema
	arrow  *arrow.Schema
	cols   []column
	// byName finds a column by name.
	byName map[string]int
	// evolved says whether any column is filled from extra fields.
	evolved bool
	// native says every click event column has the type of its field, so
	// known fields need no check.
	native bool
}

// nativeType returns the column type of click event field i.
func nativeType(i int) iceberg.Type {
	switch clickevent.Fields()[i].Kind {
	case clickevent.Timestamp:
		return iceberg.PrimitiveTypes.TimestampTz
	case clickevent.Int64:
		return iceberg.PrimitiveTypes.Int64
	case clickevent.Float64:
		return iceberg.PrimitiveTypes.Float64
	}
	return iceberg.PrimitiveTypes.String
}

// newLayout maps the table schema sc to value sources for kind.
func newLayout(sc *iceberg.Schema, kind tableKind) (*layout, error) {
	as, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("arrow schema: %w", err)
	}
	l := &layout{schema: sc, arrow: as, byName: map[string]int{}, native: true}
	coords := 0
	for _, f := range sc.Fields() {
		c := column{name: f.Name, id: f.ID, typ: f.Type, required: f.Required}
		if _, ok := f.Type.(iceberg.PrimitiveType); !ok {
			if f.Required {
				return nil, fmt.Errorf("required column %q has the nested type %s, which this sink cannot fill", f.Name, f.Type)
			}
		}
		switch {
		case f.Name == colTopic:
			c.src = srcTopic
			coords++
		case f.Name == colPartition:
			c.src = srcPartition
			coords++
		case f.Name == colOffset:
			c.src = srcOffset
			coords++
		case kind == kindRollups:
			c.src = srcRollup
		case f.Name == clickevent.ExtraColumn:
			c.src = srcExtra
		case clickevent.FieldIndex(f.Name) >= 0:
			c.src, c.known = srcKnown, clickevent.FieldIndex(f.Name)
			if !f.Type.Equals(nativeType(c.known)) {
				l.native = false
			}
		default:
			c.src = srcEvolved
			l.evolved = true
		}
		l.byName[f.Name] = len(l.cols)
		l.cols = append(l.cols, c)
	}
	if coords != 3 {
		return nil, errNotEventTable
	}
	return l, nil
}

// buffer holds the rows of one partition for one table, not yet committed.
type buffer struct {
	lay *layout
	rb  *array.RecordBuilder
	// rows counts every buffered row, building those in rb.
	rows, building int
	// done holds finished batches: of earlier layouts (schema changes),
	// or sealed for a commit that has not succeeded yet.
	done []arrow.RecordBatch
}

func newBuffer(lay *layout) *buffer {
	return &buffer{lay: lay, rb: array.NewRecordBuilder(memory.DefaultAllocator, lay.arrow)}
}

// seal finishes the rows being built into a batch of done.
func (b *buffer) seal() {
	if b.building > 0 {
		b.done = append(b.done, b.rb.NewRecordBatch())
		b.building = 0
	}
}

// relayout finishes the rows built so far and continues with lay.
func (b *buffer) relayout(lay *layout) {
	b.seal()
	b.rb.Release()
	b.lay = lay
	b.rb = array.NewRecordBuilder(memory.DefaultAllocator, lay.arrow)
}

// release frees the buffer's memory.
func (b *buffer) release() {
	for _, r := range b.done {
		r.Release()
	}
	b.done = nil
	b.rb.Release()
	b.rows, b.building = 0, 0
}

// row is one record made ready for a table: its values by column.
type row struct {
	rec   *connector.Record
	ev    *clickevent.Event
	extra []byte
	// evolved holds the values of extra fields that have columns.
	evolved map[string]any
	rollup  *rollupRow
}

// rollupRow is a window result as the rollup table stores it.
type rollupRow struct {
	ID          string          `json:"id"`
	Version     int64           `json:"version"`
	Aggregate   string          `json:"aggregate"`
	WindowStart string          `json:"window_start"`
	WindowEnd   string          `json:"window_end"`
	Key         json.RawMessage `json:"key"`
	Values      json.RawMessage `json:"values"`
	Alerts      json.RawMessage `json:"alerts"`
	Early       bool            `json:"early"`
	Retract     bool            `json:"retract"`

	start, end time.Time
}

// parseRollup reads a window result; the error names the field at fault.
func parseRollup(v []byte) (*rollupRow, error) {
	var r rollupRow
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("window result: %v", err)
	}
	if r.ID == "" {
		return nil, fmt.Errorf(`window result: field "id" is missing or empty`)
	}
	var err error
	if r.start, err = time.Parse(time.RFC3339Nano, r.WindowStart); err != nil {
		return nil, fmt.Errorf("window result: field \"window_start\": expected an RFC 3339 time, got %q", r.WindowStart)
	}
	if r.end, err = time.Parse(time.RFC3339Nano, r.WindowEnd); err != nil {
		return nil, fmt.Errorf("window result: field \"window_end\": expected an RFC 3339 time, got %q", r.WindowEnd)
	}
	return &r, nil
}

// appendRow appends r to the buffer. The values were checked by check.
func (b *buffer) appendRow(r *row) {
	for i := range b.lay.cols {
		c := &b.lay.cols[i]
		fb := b.rb.Field(i)
		switch c.src {
		case srcTopic:
			fb.(*array.StringBuilder).Append(r.rec.Topic)
		case srcPartition:
			fb.(*array.Int32Builder).Append(r.rec.Partition)
		case srcOffset:
			fb.(*array.Int64Builder).Append(r.rec.Offset)
		case srcExtra:
			if r.extra == nil {
				fb.AppendNull()
			} else {
				fb.(*array.StringBuilder).BinaryBuilder.Append(r.extra)
			}
		case srcKnown:
			if !r.ev.Present.Has(c.known) {
				fb.AppendNull()
				continue
			}
			switch b := fb.(type) {
			case *array.StringBuilder:
				if c.known < clickevent.NumFields && c.known != clickevent.FieldTimestamp && c.known != clickevent.FieldDurationMS && c.known != clickevent.FieldRevenue {
					b.Append(r.ev.Strings[c.known])
					continue
				}
			case *array.TimestampBuilder:
				if c.known == clickevent.FieldTimestamp {
					b.Append(arrow.Timestamp(r.ev.Time.UnixMicro()))
					continue
				}
			case *array.Int64Builder:
				if c.known == clickevent.FieldDurationMS {
					b.Append(r.ev.DurationMS)
					continue
				}
			case *array.Float64Builder:
				if c.known == clickevent.FieldRevenue {
					b.Append(r.ev.Revenue)
					continue
				}
			}
			appendValue(fb, r.ev.Get(c.known))
		case srcEvolved:
			appendValue(fb, r.evolved[c.name])
		case srcRollup:
			appendValue(fb, r.rollup.value(c.name))
		}
	}
	b.rows++
	b.building++
}

// value returns the rollup column name's value.
func (r *rollupRow) value(name string) any {
	raw := func(m json.RawMessage) any {
		if len(m) == 0 || string(m) == "null" {
			return nil
		}
		return string(m)
	}
	switch name {
	case "id":
		return r.ID
	case "version":
		return r.Version
	case "aggregate":
		return r.Aggregate
	case "window_start":
		return r.start
	case "window_end":
		return r.end
	case "key":
		return raw(r.Key)
	case "values":
		return raw(r.Values)
	case "alerts":
		return raw(r.Alerts)
	case "early":
		return r.Early
	case "retract":
		return r.Retract
	}
	return nil
}

// appendValue appends v (nil, string, int64, float64, bool, time.Time) to
// a builder of a type check accepted for it.
func appendValue(fb array.Builder, v any) {
	if v == nil {
		fb.AppendNull()
		return
	}
	switch b := fb.(type) {
	case *array.StringBuilder:
		switch x := v.(type) {
		case string:
			b.Append(x)
		default:
			b.Append(fmt.Sprint(x))
		}
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Int32Builder:
		b.Append(int32(v.(int64)))
	case *array.Float64Builder:
		switch x := v.(type) {
		case float64:
			b.Append(x)
		case int64:
			b.Append(float64(x))
		}
	case *array.Float32Builder:
		switch x := v.(type) {
		case float64:
			b.Append(float32(x))
		case int64:
			b.Append(float32(x))
		}
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
	default:
		fb.AppendNull()
	}
}

// change is a schema change a record needs: a new column or a widening.
type change struct {
	name  string
	typ   iceberg.Type
	widen bool
}

// fits reports whether v can be stored in a column of type typ, and the
// widening that would make it fit (nil when none helps).
func fits(typ iceberg.Type, v any) (ok bool, widen iceberg.Type) {
	if v == nil {
		return true, nil
	}
	switch typ {
	case iceberg.PrimitiveTypes.String:
		_, ok := v.(string)
		return ok, nil
	case iceberg.PrimitiveTypes.Int64:
		_, ok := v.(int64)
		return ok, nil
	case iceberg.PrimitiveTypes.Int32:
		n, ok := v.(int64)
		if !ok {
			return false, nil
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return false, iceberg.PrimitiveTypes.Int64
		}
		return true, nil
	case iceberg.PrimitiveTypes.Float64:
		switch v.(type) {
		case float64, int64:
			return true, nil
		}
		return false, nil
	case iceberg.PrimitiveTypes.Float32:
		switch x := v.(type) {
		case float64:
			if float64(float32(x)) != x {
				return false, iceberg.PrimitiveTypes.Float64
			}
			return true, nil
		case int64:
			return true, nil
		}
		return false, nil
	case iceberg.PrimitiveTypes.Bool:
		_, ok := v.(bool)
		return ok, nil
	case iceberg.PrimitiveTypes.TimestampTz, iceberg.PrimitiveTypes.Timestamp:
		_, ok := v.(time.Time)
		return ok, nil
	}
	return false, nil
}

// kindName names the JSON kind of v for error messages.
func kindName(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", clip(x))
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("number %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case time.Time:
		return "timestamp " + x.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%T", v)
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// jsonValue converts an extra field's value to a column value and the
// Iceberg type a new column for it gets; ok is false for values that
// stay in _extra (objects, arrays) and for null.
func jsonValue(v *fastjson.Value) (val any, typ iceberg.Type, ok bool) {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b), iceberg.PrimitiveTypes.String, true
	case fastjson.TypeNumber:
		if n, err := v.Int64(); err == nil {
			return n, iceberg.PrimitiveTypes.Int64, true
		}
		f, _ := v.Float64()
		return f, iceberg.PrimitiveTypes.Float64, true
	case fastjson.TypeTrue:
		return true, iceberg.PrimitiveTypes.Bool, true
	case fastjson.TypeFalse:
		return false, iceberg.PrimitiveTypes.Bool, true
	}
	return nil, nil, false
}

// splitExtra parses an event's extra fields for a table with evolution:
// fields with a column (or, when add is set, of a kind a new column can
// hold) move to vals, the rest stay in the returned extra JSON.
func splitExtra(p *fastjson.Parser, extra []byte, lay *layout, add bool) (vals map[string]any, newCols []change, rest []byte, err error) {
	v, err := p.ParseBytes(extra)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("extra fields: %v", err)
	}
	o, _ := v.Object()
	o.Visit(func(key []byte, fv *fastjson.Value) {
		name := string(key)
		val, typ, ok := jsonValue(fv)
		_, hasCol := lay.byName[name]
		if !ok || (!hasCol && !add) || strings.HasPrefix(name, "_") {
			if len(rest) == 0 {
				rest = append(rest, '{')
			} else {
				rest = append(rest, ',')
			}
			kb, _ := json.Marshal(name)
			rest = append(append(rest, kb...), ':')
			rest = fv.MarshalTo(rest)
			return
		}
		if vals == nil {
			vals = map[string]any{}
		}
		vals[name] = val
		if !hasCol {
			newCols = append(newCols, change{name: name, typ: typ})
		}
	})
	if rest != nil {
		rest = append(rest, '}')
	}
	return vals, newCols, rest, nil
}
