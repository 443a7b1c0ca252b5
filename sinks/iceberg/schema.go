package iceberg

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	iceberg "github.com/apache/iceberg-go"

	"github.com/connectd/connectd/connector/clickevent"
)

// The Kafka coordinate columns every table has.
const (
	colTopic     = "_topic"
	colPartition = "_partition"
	colOffset    = "_offset"
)

// tableKind says which records a table holds.
type tableKind int

const (
	kindEvents tableKind = iota
	kindRollups
)

// eventSchema returns the schema of a new event table: the click event
// fields in clickevent order (optional unless an identifier column), the
// extra fields as JSON in _extra, and the Kafka coordinates.
func eventSchema(idColumns []string) *iceberg.Schema {
	var fields []iceberg.NestedField
	var ids []int
	for i, f := range clickevent.Fields() {
		id := i + 1
		var typ iceberg.Type
		switch f.Kind {
		case clickevent.Timestamp:
			typ = iceberg.PrimitiveTypes.TimestampTz
		case clickevent.Int64:
			typ = iceberg.PrimitiveTypes.Int64
		case clickevent.Float64:
			typ = iceberg.PrimitiveTypes.Float64
		default:
			typ = iceberg.PrimitiveTypes.String
		}
		req := slices.Contains(idColumns, f.Name)
		if req {
			ids = append(ids, id)
		}
		fields = append(fields, iceberg.NestedField{ID: id, Name: f.Name, Type: typ, Required: req, Doc: f.Doc})
	}
	n := len(fields)
	fields = append(fields,
		iceberg.NestedField{ID: n + 1, Name: clickevent.ExtraColumn, Type: iceberg.PrimitiveTypes.String, Doc: "fields outside the click event schema, as one JSON object"},
		iceberg.NestedField{ID: n + 2, Name: colTopic, Type: iceberg.PrimitiveTypes.String, Required: true, Doc: "Kafka topic of the record"},
		iceberg.NestedField{ID: n + 3, Name: colPartition, Type: iceberg.PrimitiveTypes.Int32, Required: true, Doc: "Kafka partition of the record"},
		iceberg.NestedField{ID: n + 4, Name: colOffset, Type: iceberg.PrimitiveTypes.Int64, Required: true, Doc: "Kafka offset of the record"},
	)
	return iceberg.NewSchemaWithIdentifiers(0, ids, fields...)
}

// rollupSchema returns the schema of the window results table: one row per
// result id and version.
func rollupSchema() *iceberg.Schema {
	s, t, l, b := iceberg.PrimitiveTypes.String, iceberg.PrimitiveTypes.TimestampTz, iceberg.PrimitiveTypes.Int64, iceberg.PrimitiveTypes.Bool
	return iceberg.NewSchemaWithIdentifiers(0, []int{1, 2},
		iceberg.NestedField{ID: 1, Name: "id", Type: s, Required: true, Doc: "deterministic result id: hash of connector, aggregate, group key and window"},
		iceberg.NestedField{ID: 2, Name: "version", Type: l, Required: true, Doc: "result version; a higher version replaces a lower one"},
		iceberg.NestedField{ID: 3, Name: "aggregate", Type: s, Doc: "aggregate name"},
		iceberg.NestedField{ID: 4, Name: "window_start", Type: t, Doc: "window start"},
		iceberg.NestedField{ID: 5, Name: "window_end", Type: t, Doc: "window end"},
		iceberg.NestedField{ID: 6, Name: "key", Type: s, Doc: "group key, JSON object"},
		iceberg.NestedField{ID: 7, Name: "values", Type: s, Doc: "aggregate values, JSON object"},
		iceberg.NestedField{ID: 8, Name: "alerts", Type: s, Doc: "threshold alerts, JSON array"},
		iceberg.NestedField{ID: 9, Name: "early", Type: b, Doc: "emitted before the window closed"},
		iceberg.NestedField{ID: 10, Name: "retract", Type: b, Doc: "retracts an earlier version"},
		iceberg.NestedField{ID: 11, Name: colTopic, Type: s, Required: true, Doc: "Kafka topic of the record"},
		iceberg.NestedField{ID: 12, Name: colPartition, Type: iceberg.PrimitiveTypes.Int32, Required: true, Doc: "Kafka partition of the record"},
		iceberg.NestedField{ID: 13, Name: colOffset, Type: l, Required: true, Doc: "Kafka offset of the record"},
	)
}

// partField is one parsed entry of a partition-by list.
type partField struct {
	column    string
	transform string // as iceberg.ParseTransform reads it: day, bucket[16], ...
	name      string // the partition field's name
}

// parsePartitionBy reads "day(timestamp), bucket(16,user_id), country".
func parsePartitionBy(s string) ([]partField, error) {
	var out []partField
	for _, item := range splitTopLevel(s) {
		var pf partField
		open := strings.IndexByte(item, '(')
		switch {
		case open < 0:
			pf = partField{column: item, transform: "identity"}
		case !strings.HasSuffix(item, ")"):
			return nil, fmt.Errorf("%q lacks its closing parenthesis", item)
		default:
			fn := strings.TrimSpace(item[:open])
			args := strings.Split(item[open+1:len(item)-1], ",")
			for i := range args {
				args[i] = strings.TrimSpace(args[i])
			}
			switch fn {
			case "year", "month", "day", "hour", "identity", "void":
				if len(args) != 1 {
					return nil, fmt.Errorf("%q: %s takes one column", item, fn)
				}
				pf = partField{column: args[0], transform: fn}
			case "years", "months", "days", "hours":
				if len(args) != 1 {
					return nil, fmt.Errorf("%q: %s takes one column", item, fn)
				}
				pf = partField{column: args[0], transform: strings.TrimSuffix(fn, "s")}
			case "bucket", "truncate":
				if len(args) != 2 {
					return nil, fmt.Errorf("%q: %s takes a width and a column, as %s(16,user_id)", item, fn, fn)
				}
				pf = partField{column: args[1], transform: fn + "[" + args[0] + "]"}
			default:
				return nil, fmt.Errorf("%q: unknown transform %q (use year, month, day, hour, identity, bucket or truncate)", item, fn)
			}
		}
		if pf.column == "" {
			return nil, fmt.Errorf("%q names no column", item)
		}
		if _, err := iceberg.ParseTransform(pf.transform); err != nil {
			return nil, fmt.Errorf("%q: %v", item, err)
		}
		pf.name = pf.column
		if pf.transform != "identity" {
			pf.name += "_" + strings.NewReplacer("[", "", "]", "").Replace(pf.transform)
		}
		out = append(out, pf)
	}
	return out, nil
}

// splitTopLevel splits s at commas outside parentheses.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				if p := strings.TrimSpace(s[start:i]); p != "" {
					out = append(out, p)
				}
				start = i + 1
			}
		}
	}
	if p := strings.TrimSpace(s[start:]); p != "" {
		out = append(out, p)
	}
	return out
}

// partitionSpec builds the spec of a new table from the partition-by text.
func partitionSpec(text string, sc *iceberg.Schema) (iceberg.PartitionSpec, error) {
	fields, err := parsePartitionBy(text)
	if err != nil {
		return iceberg.PartitionSpec{}, err
	}
	var opts []iceberg.PartitionOption
	for _, f := range fields {
		tr, err := iceberg.ParseTransform(f.transform)
		if err != nil {
			return iceberg.PartitionSpec{}, err
		}
		if _, ok := sc.FindFieldByName(f.column); !ok {
			return iceberg.PartitionSpec{}, fmt.Errorf("partition column %q is not in the table schema", f.column)
		}
		opts = append(opts, iceberg.AddPartitionFieldByName(f.column, f.name, tr, sc, nil))
	}
	if len(opts) == 0 {
		return *iceberg.UnpartitionedSpec, nil
	}
	spec, err := iceberg.NewPartitionSpecOpts(opts...)
	if err != nil {
		return iceberg.PartitionSpec{}, err
	}
	return spec, nil
}

// errNotEventTable says a table's schema lacks the coordinate columns.
var errNotEventTable = errors.New("table lacks the Kafka coordinate columns _topic, _partition and _offset")
