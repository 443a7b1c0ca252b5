package s3

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/connectd/connectd/connector"
)

// partitioner computes, for each record, the encoded partition (the
// directory below <topics.dir>/<topic>/) and the record time. Both depend
// on the record only, never on the clock, so a replay places every record
// where the first run did. One partitioner belongs to one Sink.
type partitioner struct {
	kind     string // default, field, time
	fields   []string
	format   pathFormat
	duration int64 // ms
	zone     *time.Location
	// fieldTime reads the record time from tsField of the JSON value;
	// otherwise it is the Kafka record timestamp.
	fieldTime bool
	tsField   string
	p         fastjson.Parser
	buf       []byte
	// byPartition caches the default partitioner's directories; lastBucket
	// and lastDir the time partitioner's latest.
	byPartition map[int32]string
	lastBucket  int64
	lastDir     string
}

func newPartitioner(c *Config) (*partitioner, error) {
	zone, err := loadZone(c.Timezone)
	if err != nil {
		return nil, err
	}
	pt := &partitioner{
		kind:      c.partitionerKind(),
		fields:    c.PartitionFields,
		duration:  c.PartitionDuration.Milliseconds(),
		zone:      zone,
		fieldTime: c.TimestampExtractor == "RecordField",
		tsField:   c.TimestampField,
	}
	layout := c.PathFormat
	switch pt.kind {
	case "daily":
		pt.kind, layout, pt.duration = "time", "'year'=YYYY/'month'=MM/'day'=dd", 24*3600*1000
	case "hourly":
		pt.kind, layout, pt.duration = "time", "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", 3600*1000
	}
	if pt.kind == "time" {
		if pt.format, err = compilePathFormat(layout); err != nil {
			return nil, err
		}
	}
	return pt, nil
}

// needsJSON reports whether place parses the record value.
func (pt *partitioner) needsJSON() bool { return pt.kind == "field" || pt.fieldTime }

// place returns r's encoded partition and record time (zero when the
// record has none and none is needed). An error is the record's fault and
// names the field.
func (pt *partitioner) place(r *connector.Record) (string, time.Time, error) {
	var obj *fastjson.Object
	if pt.needsJSON() {
		v, err := pt.p.ParseBytes(r.Value)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("s3 sink: partitioner: value is not JSON: %v", err)
		}
		if obj, err = v.Object(); err != nil {
			return "", time.Time{}, fmt.Errorf("s3 sink: partitioner: value is a JSON %s, not an object", v.Type())
		}
	}
	t := r.Timestamp
	if pt.fieldTime {
		v := obj.Get(pt.tsField)
		var ok bool
		if t, ok = jsonTime(v); !ok {
			return "", time.Time{}, fmt.Errorf("s3 sink: field %q (timestamp.field): expected an RFC 3339 timestamp or Unix milliseconds, got %s", pt.tsField, excerpt(v))
		}
	}
	switch pt.kind {
	case "field":
		pt.buf = pt.buf[:0]
		for i, f := range pt.fields {
			v := obj.Get(f)
			var s string
			switch {
			case v == nil || v.Type() == fastjson.TypeNull:
				return "", time.Time{}, fmt.Errorf("s3 sink: field %q (partition.field.name): missing or null, so the record has no partition", f)
			case v.Type() == fastjson.TypeString:
				b, _ := v.StringBytes()
				s = string(b)
			case v.Type() == fastjson.TypeNumber || v.Type() == fastjson.TypeTrue || v.Type() == fastjson.TypeFalse:
				s = string(v.MarshalTo(nil))
			default:
				return "", time.Time{}, fmt.Errorf("s3 sink: field %q (partition.field.name): expected a string, number or boolean, got %s", f, excerpt(v))
			}
			if s == "" {
				return "", time.Time{}, fmt.Errorf("s3 sink: field %q (partition.field.name): empty string, so the record has no partition", f)
			}
			if i > 0 {
				pt.buf = append(pt.buf, '/')
			}
			pt.buf = append(pt.buf, f...)
			pt.buf = append(pt.buf, '=')
			pt.buf = append(pt.buf, escapeSegment(s)...)
		}
		return string(pt.buf), t, nil
	case "time":
		if t.IsZero() {
			return "", time.Time{}, errors.New("s3 sink: the record has no timestamp for the time-based partitioner (timestamp.extractor=Record): use RecordField")
		}
		b := pt.bucket(t)
		if ms := b.UnixMilli(); ms != pt.lastBucket || pt.lastDir == "" {
			pt.lastBucket, pt.lastDir = ms, pt.format.format(b)
		}
		return pt.lastDir, t, nil
	}
	dir, ok := pt.byPartition[r.Partition]
	if !ok {
		if pt.byPartition == nil {
			pt.byPartition = map[int32]string{}
		}
		dir = "partition=" + strconv.FormatInt(int64(r.Partition), 10)
		pt.byPartition[r.Partition] = dir
	}
	return dir, t, nil
}

// bucket rounds t down to a multiple of the partition duration, counted
// from midnight of 1970-01-01 in the partitioner's zone (so daily
// partitions start at local midnight), and returns it in that zone.
func (pt *partitioner) bucket(t time.Time) time.Time {
	t = t.In(pt.zone)
	_, off := t.Zone()
	local := t.UnixMilli() + int64(off)*1000
	start := local - mod(local, pt.duration)
	return time.UnixMilli(start - int64(off)*1000).In(pt.zone)
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// escapeSegment makes a field value safe as one path segment.
func escapeSegment(s string) string {
	if s == "." || s == ".." {
		return strings.ReplaceAll(s, ".", "%2E")
	}
	return url.PathEscape(s)
}

// jsonTime reads an RFC 3339 string or a number of Unix milliseconds.
func jsonTime(v *fastjson.Value) (time.Time, bool) {
	if v == nil {
		return time.Time{}, false
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		t, err := time.Parse(time.RFC3339Nano, string(b))
		return t, err == nil
	case fastjson.TypeNumber:
		ms, err := v.Int64()
		return time.UnixMilli(ms), err == nil
	}
	return time.Time{}, false
}

func excerpt(v *fastjson.Value) string {
	if v == nil {
		return "nothing (the field is missing)"
	}
	s := string(v.MarshalTo(nil))
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return v.Type().String() + " " + s
}

// pathFormat is a compiled path.format: Joda-style letters and quoted
// literals, as Confluent's TimeBasedPartitioner takes them.
type pathFormat []pathToken

type pathToken struct {
	lit   string
	field byte // 0 for a literal
	width int
}

// compilePathFormat accepts Y/y (year), M (month), d (day), H (hour),
// m (minute), s (second), S (millisecond) runs, 'quoted literals' (” is
// a quote) and any other non-letter as itself.
func compilePathFormat(f string) (pathFormat, error) {
	var out pathFormat
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case c == '\'':
			j := i + 1
			var lit strings.Builder
			for {
				if j >= len(f) {
					return nil, fmt.Errorf("%q has an unclosed quote at byte %d", f, i)
				}
				if f[j] == '\'' {
					if j+1 < len(f) && f[j+1] == '\'' {
						lit.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				lit.WriteByte(f[j])
				j++
			}
			if i+1 == j {
				out = append(out, pathToken{lit: "'"})
			} else {
				out = append(out, pathToken{lit: lit.String()})
			}
			i = j + 1
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(f) && f[j] == c {
				j++
			}
			switch c {
			case 'Y', 'y', 'M', 'd', 'H', 'm', 's', 'S':
			default:
				return nil, fmt.Errorf("%q: pattern letter %q is not supported; use YYYY, MM, dd, HH, mm, ss, SSS and 'quoted' literals", f, string(c))
			}
			out = append(out, pathToken{field: c, width: j - i})
			i = j
		default:
			out = append(out, pathToken{lit: string(c)})
			i++
		}
	}
	return out, nil
}

func (pf pathFormat) format(t time.Time) string {
	var b []byte
	for _, tok := range pf {
		if tok.field == 0 {
			b = append(b, tok.lit...)
			continue
		}
		var n int
		switch tok.field {
		case 'Y', 'y':
			n = t.Year()
			if tok.width == 2 {
				n %= 100
			}
		case 'M':
			n = int(t.Month())
		case 'd':
			n = t.Day()
		case 'H':
			n = t.Hour()
		case 'm':
			n = t.Minute()
		case 's':
			n = t.Second()
		case 'S':
			n = t.Nanosecond() / 1e6
		}
		s := strconv.Itoa(n)
		for range tok.width - len(s) {
			b = append(b, '0')
		}
		b = append(b, s...)
	}
	return string(b)
}
