package s3

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/clickevent"
)

// encoder turns the records of one file into the file's bytes. add takes
// one record, or refuses it as the record's fault and then holds nothing
// of it; finish returns the file and leaves the encoder empty, ready for
// the next file. An encoder belongs to one Sink.
type encoder interface {
	add(r *connector.Record) error
	finish() ([]byte, error)
}

// format makes the encoders of one connector's files.
type format struct {
	kind     string // json or parquet
	ext      string
	compress string
	zenc     *zstd.Encoder
	props    *parquet.WriterProperties
	rowGroup int
}

func newFormat(c *Config) (*format, error) {
	f := &format{kind: c.formatKind(), compress: c.Compression, rowGroup: c.ParquetRowGroupRows}
	switch {
	case f.kind == "parquet":
		f.ext = ".parquet"
		codec := map[string]compress.Compression{"none": compress.Codecs.Uncompressed, "snappy": compress.Codecs.Snappy, "gzip": compress.Codecs.Gzip, "zstd": compress.Codecs.Zstd}[c.ParquetCodec]
		opts := []parquet.WriterProperty{
			parquet.WithCompression(codec),
			parquet.WithDictionaryDefault(true),
			parquet.WithStats(true),
			parquet.WithMaxRowGroupLength(int64(c.ParquetRowGroupRows)),
			parquet.WithCreatedBy("connectd s3 sink"),
		}
		for _, name := range noDictColumns {
			opts = append(opts, parquet.WithDictionaryFor(name, false))
		}
		f.props = parquet.NewWriterProperties(opts...)
	case f.compress == "gzip":
		f.ext = ".json.gz"
	case f.compress == "zstd":
		f.ext = ".json.zst"
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		f.zenc = enc
	default:
		f.ext = ".json"
	}
	return f, nil
}

// noDictColumns are the columns written without a dictionary: they are
// (nearly) unique per row, so a dictionary gains nothing but costs a hash
// of every value.
var noDictColumns = []string{"event_id", "session_id", "timestamp", clickevent.ExtraColumn, "_offset", "id"}

// newEncoder returns an encoder for a file of topic; results says the
// topic holds window results rather than click events.
func (f *format) newEncoder(topic string, results bool) encoder {
	if f.kind == "json" {
		return &jsonEncoder{f: f}
	}
	if results {
		return newParquetEncoder(f, topic, resultColumns(), addResult)
	}
	return newParquetEncoder(f, topic, eventColumns(), addEvent)
}

// jsonEncoder writes JSON lines: each value as it came, then '\n'.
type jsonEncoder struct {
	f   *format
	buf []byte
	gz  *gzip.Writer
}

func (e *jsonEncoder) add(r *connector.Record) error {
	if err := checkLine(r.Value); err != nil {
		return err
	}
	e.buf = append(e.buf, r.Value...)
	e.buf = append(e.buf, '\n')
	return nil
}

// checkLine refuses values that cannot be one line of a JSON lines file.
func checkLine(v []byte) error {
	if len(v) == 0 {
		return errors.New("s3 sink: empty value (a tombstone?) cannot be a JSON line")
	}
	if i := bytes.IndexByte(v, '\n'); i >= 0 {
		return fmt.Errorf("s3 sink: value holds a newline at byte %d; a JSON line must be one line (compact the JSON)", i)
	}
	return nil
}

func (e *jsonEncoder) finish() ([]byte, error) {
	raw := e.buf
	e.buf = make([]byte, 0, cap(raw))
	switch e.f.compress {
	case "gzip":
		var out bytes.Buffer
		out.Grow(len(raw) / 4)
		if e.gz == nil {
			e.gz = gzip.NewWriter(&out)
		} else {
			e.gz.Reset(&out)
		}
		if _, err := e.gz.Write(raw); err != nil {
			return nil, err
		}
		if err := e.gz.Close(); err != nil {
			return nil, err
		}
		return out.Bytes(), nil
	case "zstd":
		return e.f.zenc.EncodeAll(raw, make([]byte, 0, len(raw)/4)), nil
	}
	return raw, nil
}

// column is one Parquet column being filled: its values (only the present
// ones, of the slice matching its type) and, when optional, a definition
// level per row. A string column with a dictionary keeps dict instead of
// bytes while its dictionary stays small.
type column struct {
	node     *schema.PrimitiveNode
	optional bool
	def      []int16
	bytes    []parquet.ByteArray
	i64      []int64
	i32      []int32
	f64      []float64
	bools    []bool
	dict     *dictColumn
}

// dictColumn dictionary-encodes a string column as its values arrive: a
// value costs one map lookup and four bytes, instead of a hash in the
// Parquet writer at finish and a reference kept until then. Once the
// distinct values outgrow maxBytes (the Parquet writer's dictionary page
// limit, past which it would give up on the dictionary too) the column
// turns plain: its values go to column.bytes.
type dictColumn struct {
	index    map[string]int32
	values   []parquet.ByteArray // the distinct values, by id
	size     int                 // their dictionary page size
	maxBytes int
	ids      []int32 // an id per present value
	plain    bool
}

func (c *column) null() { c.def = append(c.def, 0) }

func (c *column) present() {
	if c.optional {
		c.def = append(c.def, 1)
	}
}

// str adds s without copying it: the column only reads it, and s must not
// change until the column is reset.
func (c *column) str(s string) {
	if d := c.dict; d != nil && !d.plain {
		id, ok := d.index[s]
		if !ok && d.size+len(s)+4 <= d.maxBytes {
			id, ok = int32(len(d.values)), true
			d.index[s] = id
			d.values = append(d.values, unsafe.Slice(unsafe.StringData(s), len(s)))
			d.size += len(s) + 4 // as a PLAIN dictionary page holds it
		}
		if ok {
			d.ids = append(d.ids, id)
			c.present()
			return
		}
		c.toPlain()
	}
	c.bytes = append(c.bytes, unsafe.Slice(unsafe.StringData(s), len(s)))
	c.present()
}

// toPlain gives up c's dictionary: its values so far go to c.bytes.
func (c *column) toPlain() {
	d := c.dict
	for _, id := range d.ids {
		c.bytes = append(c.bytes, d.values[id])
	}
	d.plain = true
	d.ids = d.ids[:0]
}

// raw adds b without copying it; b must not change until the column is
// reset.
func (c *column) raw(b []byte) { c.str(unsafe.String(unsafe.SliceData(b), len(b))) }

func (c *column) int64(v int64) { c.i64 = append(c.i64, v); c.present() }

func (c *column) reset() {
	clear(c.bytes)
	c.def, c.bytes, c.i64, c.i32, c.f64, c.bools = c.def[:0], c.bytes[:0], c.i64[:0], c.i32[:0], c.f64[:0], c.bools[:0]
	if d := c.dict; d != nil {
		clear(d.index)
		clear(d.values)
		d.values, d.ids, d.size, d.plain = d.values[:0], d.ids[:0], 0, false
	}
}

// colSpec describes a column of a schema.
type colSpec struct {
	name     string
	typ      parquet.Type
	logical  schema.LogicalType
	optional bool
}

func stringCol(name string, optional bool) colSpec {
	return colSpec{name, parquet.Types.ByteArray, schema.StringLogicalType{}, optional}
}

func timeCol(name string, optional bool) colSpec {
	return colSpec{name, parquet.Types.Int64, schema.NewTimestampLogicalType(true, schema.TimeUnitMillis), optional}
}

// coordColumns are the Kafka coordinates every row carries.
func coordColumns() []colSpec {
	return []colSpec{
		stringCol("_topic", false),
		{"_partition", parquet.Types.Int32, schema.NewIntLogicalType(32, true), false},
		{"_offset", parquet.Types.Int64, schema.NewIntLogicalType(64, true), false},
	}
}

// eventColumns is the click event schema (clickevent.Fields, all
// optional), then _extra and the coordinates.
func eventColumns() []colSpec {
	var cols []colSpec
	for _, f := range clickevent.Fields() {
		switch f.Kind {
		case clickevent.String:
			cols = append(cols, stringCol(f.Name, true))
		case clickevent.Timestamp:
			cols = append(cols, timeCol(f.Name, true))
		case clickevent.Int64:
			cols = append(cols, colSpec{f.Name, parquet.Types.Int64, schema.NewIntLogicalType(64, true), true})
		case clickevent.Float64:
			cols = append(cols, colSpec{f.Name, parquet.Types.Double, schema.NoLogicalType{}, true})
		}
	}
	cols = append(cols, stringCol(clickevent.ExtraColumn, true))
	return append(cols, coordColumns()...)
}

// resultColumns is the schema of window results: key and values as JSON
// text, alerts as a JSON array text.
func resultColumns() []colSpec {
	cols := []colSpec{
		stringCol("id", false),
		{"version", parquet.Types.Int64, schema.NewIntLogicalType(64, true), false},
		stringCol("aggregate", true),
		timeCol("window_start", false),
		timeCol("window_end", false),
		stringCol("key", true),
		stringCol("values", true),
		stringCol("alerts", true),
		{"early", parquet.Types.Boolean, schema.NoLogicalType{}, false},
		{"retract", parquet.Types.Boolean, schema.NoLogicalType{}, false},
	}
	return append(cols, coordColumns()...)
}

// parquetEncoder buffers a file's rows column by column and writes them
// with the low-level Parquet column writers at finish.
type parquetEncoder struct {
	f     *format
	topic string
	sc    *schema.GroupNode
	cols  []column
	rows  int
	fill  func(e *parquetEncoder, r *connector.Record) error
	dec   clickevent.Decoder
	ev    clickevent.Event
	// Scratch of writeDict.
	remap  []int32
	local  []parquet.ByteArray
	spaced []int32
}

func newParquetEncoder(f *format, topic string, specs []colSpec, fill func(*parquetEncoder, *connector.Record) error) *parquetEncoder {
	e := &parquetEncoder{f: f, topic: topic, fill: fill}
	fields := make(schema.FieldList, len(specs))
	e.cols = make([]column, len(specs))
	for i, s := range specs {
		rep := parquet.Repetitions.Required
		if s.optional {
			rep = parquet.Repetitions.Optional
		}
		n, err := schema.NewPrimitiveNodeLogical(s.name, rep, s.logical, s.typ, -1, -1)
		if err != nil { // unreachable: the specs are fixed and valid
			panic(fmt.Sprintf("s3 sink: parquet column %s: %v", s.name, err))
		}
		fields[i] = n
		e.cols[i] = column{node: n, optional: s.optional}
		if s.typ == parquet.Types.ByteArray && f.props.DictionaryEnabledFor(s.name) {
			e.cols[i].dict = &dictColumn{index: map[string]int32{}, maxBytes: int(f.props.DictionaryPageSizeLimit())}
		}
	}
	sc, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, fields, -1)
	if err != nil { // unreachable, as above
		panic(fmt.Sprintf("s3 sink: parquet schema: %v", err))
	}
	e.sc = sc
	return e
}

func (e *parquetEncoder) add(r *connector.Record) error {
	if err := e.fill(e, r); err != nil {
		return err
	}
	n := len(e.cols)
	e.cols[n-3].str(r.Topic)
	e.cols[n-2].i32 = append(e.cols[n-2].i32, r.Partition)
	e.cols[n-1].i64 = append(e.cols[n-1].i64, r.Offset)
	e.rows++
	return nil
}

// addEvent decodes r as a click event; a value that does not fit the
// schema is refused with the clickevent.FieldError naming the field.
func addEvent(e *parquetEncoder, r *connector.Record) error {
	if err := e.dec.Decode(r.Value, &e.ev); err != nil {
		return err
	}
	ev := &e.ev
	for i := range clickevent.NumFields {
		c := &e.cols[i]
		if !ev.Present.Has(i) {
			c.null()
			continue
		}
		switch i {
		case clickevent.FieldTimestamp:
			c.int64(ev.Time.UnixMilli())
		case clickevent.FieldDurationMS:
			c.int64(ev.DurationMS)
		case clickevent.FieldRevenue:
			c.f64 = append(c.f64, ev.Revenue)
			c.present()
		default:
			c.str(ev.Strings[i])
		}
	}
	if x := &e.cols[clickevent.NumFields]; ev.Extra != nil {
		x.raw(ev.Extra)
	} else {
		x.null()
	}
	return nil
}

// result is a window result as windowing.Result writes it.
type result struct {
	ID          *string         `json:"id"`
	Version     *int64          `json:"version"`
	Aggregate   *string         `json:"aggregate"`
	WindowStart *string         `json:"window_start"`
	WindowEnd   *string         `json:"window_end"`
	Key         json.RawMessage `json:"key"`
	Values      json.RawMessage `json:"values"`
	Alerts      json.RawMessage `json:"alerts"`
	Early       bool            `json:"early"`
	Retract     bool            `json:"retract"`
}

// addResult decodes r as a window result; a missing id, version or
// window bound, or a bound that is not RFC 3339, is the record's fault.
func addResult(e *parquetEncoder, r *connector.Record) error {
	var res result
	if err := json.Unmarshal(r.Value, &res); err != nil {
		return fmt.Errorf("s3 sink: window result: %v", err)
	}
	switch {
	case res.ID == nil || *res.ID == "":
		return errors.New(`s3 sink: window result: field "id": missing`)
	case res.Version == nil:
		return errors.New(`s3 sink: window result: field "version": missing`)
	}
	var bounds [2]int64
	for i, b := range []struct {
		name string
		v    *string
	}{{"window_start", res.WindowStart}, {"window_end", res.WindowEnd}} {
		if b.v == nil {
			return fmt.Errorf("s3 sink: window result: field %q: missing", b.name)
		}
		t, err := time.Parse(time.RFC3339Nano, *b.v)
		if err != nil {
			return fmt.Errorf("s3 sink: window result: field %q: expected an RFC 3339 timestamp, got %q", b.name, *b.v)
		}
		bounds[i] = t.UnixMilli()
	}
	e.cols[0].str(*res.ID)
	e.cols[1].int64(*res.Version)
	if res.Aggregate != nil {
		e.cols[2].str(*res.Aggregate)
	} else {
		e.cols[2].null()
	}
	e.cols[3].int64(bounds[0])
	e.cols[4].int64(bounds[1])
	for i, raw := range []json.RawMessage{res.Key, res.Values, res.Alerts} {
		if len(raw) == 0 || string(raw) == "null" {
			e.cols[5+i].null()
		} else {
			e.cols[5+i].raw(raw)
		}
	}
	e.cols[8].bools = append(e.cols[8].bools, res.Early)
	e.cols[9].bools = append(e.cols[9].bools, res.Retract)
	return nil
}

func (e *parquetEncoder) finish() ([]byte, error) {
	var buf bytes.Buffer
	w, err := file.NewParquetWriterWithError(&buf, e.sc, file.WithWriterProps(e.f.props))
	if err != nil {
		return nil, fmt.Errorf("s3 sink: parquet: %w", err)
	}
	cursor := make([]int, len(e.cols))
	for start := 0; start < e.rows; start += e.f.rowGroup {
		end := min(start+e.f.rowGroup, e.rows)
		rg, err := w.AppendRowGroupChecked()
		if err != nil {
			return nil, fmt.Errorf("s3 sink: parquet: %w", err)
		}
		for i := range e.cols {
			if err := e.writeColumn(rg, &e.cols[i], start, end, &cursor[i]); err != nil {
				return nil, fmt.Errorf("s3 sink: parquet column %s: %w", e.cols[i].node.Name(), err)
			}
		}
		if err := rg.Close(); err != nil {
			return nil, fmt.Errorf("s3 sink: parquet: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("s3 sink: parquet: %w", err)
	}
	for i := range e.cols {
		e.cols[i].reset()
	}
	e.rows = 0
	return buf.Bytes(), nil
}

// writeColumn writes rows [start, end) of c; *cur is the index of c's
// first value not written yet.
func (e *parquetEncoder) writeColumn(rg file.SerialRowGroupWriter, c *column, start, end int, cur *int) error {
	cw, err := rg.NextColumn()
	if err != nil {
		return err
	}
	var def []int16
	n := end - start
	if c.optional {
		def = c.def[start:end]
		n = 0
		for _, d := range def {
			n += int(d)
		}
	}
	a, b := *cur, *cur+n
	*cur = b
	switch w := cw.(type) {
	case *file.ByteArrayColumnChunkWriter:
		if d := c.dict; d != nil && !d.plain {
			err = e.writeDict(w, d, def, d.ids[a:b])
			break
		}
		_, err = w.WriteBatch(c.bytes[a:b], def, nil)
	case *file.Int64ColumnChunkWriter:
		_, err = w.WriteBatch(c.i64[a:b], def, nil)
	case *file.Int32ColumnChunkWriter:
		_, err = w.WriteBatch(c.i32[a:b], def, nil)
	case *file.Float64ColumnChunkWriter:
		_, err = w.WriteBatch(c.f64[a:b], def, nil)
	case *file.BooleanColumnChunkWriter:
		_, err = w.WriteBatch(c.bools[a:b], def, nil)
	default:
		err = fmt.Errorf("unexpected column writer %T", cw)
	}
	if err != nil {
		return err
	}
	return cw.Close()
}

// dictEncoder is what writeDict needs of a column writer's dictionary
// encoder (arrow-go's encoding.DictEncoder, an internal package).
type dictEncoder interface {
	PutDictionary(values arrow.Array) error
	NumEntries() int
}

// writeDict writes a row group's part of a dictionary column: ids, one
// per present value, with the definition levels def (nil for a required
// column). The row group gets a dictionary of the values it refers to,
// in order of first use, put into the column writer's encoder so that it
// writes the ids without hashing a value; statistics are those of the
// values, as WriteBatch would compute them. A writer that does not
// dictionary-encode the column gets the values.
func (e *parquetEncoder) writeDict(w *file.ByteArrayColumnChunkWriter, d *dictColumn, def []int16, ids []int32) error {
	de, ok := w.CurrentEncoder().(dictEncoder)
	if !ok || w.CurrentEncoder().Encoding() != parquet.Encodings.PlainDict || de.NumEntries() != 0 {
		vals := make([]parquet.ByteArray, len(ids))
		for i, id := range ids {
			vals[i] = d.values[id]
		}
		_, err := w.WriteBatch(vals, def, nil)
		return err
	}
	// Renumber the ids in order of first use within the row group.
	remap := e.remap[:0]
	for range d.values {
		remap = append(remap, -1)
	}
	e.remap = remap
	local := e.local[:0]
	rows := len(ids)
	if def != nil {
		rows = len(def)
	}
	spaced := slices.Grow(e.spaced[:0], rows)[:rows]
	e.spaced = spaced
	var valid []byte
	if def != nil {
		valid = make([]byte, bitutil.BytesForBits(int64(rows)))
	}
	j := 0
	for r := range rows {
		if def != nil && def[r] == 0 {
			spaced[r] = 0
			continue
		}
		if valid != nil {
			bitutil.SetBit(valid, r)
		}
		id := ids[j]
		j++
		if remap[id] < 0 {
			remap[id] = int32(len(local))
			local = append(local, d.values[id])
		}
		spaced[r] = remap[id]
	}
	e.local = local
	if j != len(ids) { // unreachable: the levels count the values
		return fmt.Errorf("%d values for %d present rows", len(ids), j)
	}
	bb := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.String)
	defer bb.Release()
	size := 0
	for _, v := range local {
		size += len(v)
	}
	bb.ReserveData(size)
	for _, v := range local {
		bb.Append(v)
	}
	dict := bb.NewArray()
	defer dict.Release()
	if err := de.PutDictionary(dict); err != nil {
		return err
	}
	if de.NumEntries() != len(local) { // unreachable: the values are distinct
		return fmt.Errorf("dictionary of %d values holds %d", len(local), de.NumEntries())
	}
	if st, ok := w.PageStatistics().(*metadata.ByteArrayStatistics); ok && st != nil {
		// As WriteBatch would: nulls, values, min and max (of the
		// distinct values: the same).
		st.Update(local, int64(rows-len(ids)))
		st.IncNumValues(int64(len(ids) - len(local)))
	}
	var bufs []*memory.Buffer
	if valid != nil {
		bufs = []*memory.Buffer{memory.NewBufferBytes(valid), memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(spaced))}
	} else {
		bufs = []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(spaced))}
	}
	data := array.NewData(arrow.PrimitiveTypes.Int32, rows, bufs, nil, rows-len(ids), 0)
	defer data.Release()
	idx := array.NewInt32Data(data)
	defer idx.Release()
	err := w.WriteDictIndices(idx, def, nil)
	clear(e.local) // the values belong to the file being finished
	return err
}
