package clickhouse

import (
	"fmt"
	"strings"

	"github.com/connectd/connectd/connector/clickevent"
)

// column is one column of a table the sink writes, with its type as
// ClickHouse spells it in system.columns.
type column struct {
	name, typ, comment string
}

// Table kinds.
const (
	kindEvents  = "events"
	kindResults = "results"
)

// DateTime64(3) holds 1900-01-01 00:00:00.000 to 2299-12-31 23:59:59.999.
const (
	minDateTime64Millis = -2208988800000
	maxDateTime64Millis = 10413791999999
)

// eventColumns returns the events table's columns in insert order: the
// known fields of connector/clickevent, then _extra and the Kafka
// coordinates. Required fields are plain columns (a missing one is stored
// as ” — the validate transform rejects such events before a sink sees
// them); optional fields are Nullable, NULL when absent. Short,
// repetitive strings are LowCardinality.
func eventColumns() []column {
	lowCard := map[string]bool{"event_type": true, "page_category": true, "device_type": true, "country": true,
		"currency": true, "utm_source": true, "utm_medium": true}
	var cols []column
	for _, f := range clickevent.Fields() {
		var typ string
		switch f.Kind {
		case clickevent.Timestamp:
			typ = "DateTime64(3, 'UTC')"
		case clickevent.Int64:
			typ = "Int64"
		case clickevent.Float64:
			typ = "Float64"
		default:
			typ = "String"
		}
		if !f.Required {
			typ = "Nullable(" + typ + ")"
		}
		if lowCard[f.Name] {
			typ = "LowCardinality(" + typ + ")"
		}
		cols = append(cols, column{f.Name, typ, f.Doc})
	}
	cols = append(cols, column{clickevent.ExtraColumn, "String", "fields outside the click event schema, as one JSON object ('' when none)"})
	return append(cols, kafkaColumns()...)
}

// resultColumns returns the results table's columns in insert order.
func resultColumns() []column {
	cols := []column{
		{"id", "String", "deterministic id of the window result"},
		{"version", "UInt32", "re-emissions of a result carry a higher version and replace it"},
		{"aggregate", "LowCardinality(String)", "name of the window connector's result"},
		{"window_start", "DateTime64(3, 'UTC')", "window start, inclusive"},
		{"window_end", "DateTime64(3, 'UTC')", "window end, exclusive"},
		{"key", "Map(String, String)", "the group-by key"},
		{"values", "String", "the aggregate values, one JSON object"},
		{"alerts", "Array(String)", "alerts that fired in the window"},
		{"early", "Bool", "an early (not final) emission"},
		{"retract", "UInt8", "1 when the result was withdrawn (a merged session): FINAL hides it"},
	}
	return append(cols, kafkaColumns()...)
}

// kafkaColumns are the Kafka coordinates every row keeps.
func kafkaColumns() []column {
	return []column{
		{"_topic", "LowCardinality(String)", "Kafka topic the row came from"},
		{"_partition", "Int32", "Kafka partition the row came from"},
		{"_offset", "Int64", "Kafka offset the row came from"},
		{"_timestamp", "DateTime64(3, 'UTC')", "Kafka record timestamp"},
	}
}

// quote quotes an identifier with backticks.
func quote(id string) string { return "`" + strings.ReplaceAll(id, "`", "\\`") + "`" }

// quoteString quotes s as a ClickHouse string literal.
func quoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

// columnDefs renders cols as a CREATE TABLE column list.
func columnDefs(cols []column) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(",\n  ")
		}
		fmt.Fprintf(&b, "%s %s COMMENT %s", quote(c.name), c.typ, quoteString(c.comment))
	}
	return b.String()
}

// createEventsSQL is the DDL of an events table: a MergeTree partitioned
// by event day, so a batch cut at day boundaries is one part, with a
// minmax index on _offset for the resume query.
func createEventsSQL(db, table string, dedupWindow int) string {
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s (\n  %s,\n  INDEX _offset_minmax _offset TYPE minmax GRANULARITY 1\n)\n"+
		"ENGINE = MergeTree\nPARTITION BY toDate(timestamp)\nORDER BY (toDate(timestamp), user_id, timestamp)\n"+
		"SETTINGS non_replicated_deduplication_window = %d\nCOMMENT 'click events written by connectd'",
		quote(db), quote(table), columnDefs(eventColumns()), dedupWindow)
}

// createResultsSQL is the DDL of a results table: a ReplacingMergeTree
// keeping the highest version of each result id, hiding retracted ones.
func createResultsSQL(db, table string, dedupWindow int) string {
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s (\n  %s,\n  INDEX _offset_minmax _offset TYPE minmax GRANULARITY 1\n)\n"+
		"ENGINE = ReplacingMergeTree(version, retract)\nORDER BY id\n"+
		"SETTINGS non_replicated_deduplication_window = %d\nCOMMENT 'window results written by connectd; query with FINAL'",
		quote(db), quote(table), columnDefs(resultColumns()), dedupWindow)
}

// pageViewsTable is the name of the optional page-views rollup of events
// table table.
func pageViewsTable(table string) string { return table + "_pageviews_1m" }

// pageViewsSQL is the DDL of the optional per-minute AggregatingMergeTree
// rollup of an events table and of the materialized view feeding it.
// Partial states merge at query time (GROUP BY with the -Merge
// combinators), so late events add to their minute. Each row also names
// the Kafka partition and the first and last offsets of the raw rows
// whose states it holds, and those are part of the sorting key, so rows
// of different INSERTs never merge: an offset reset can then take out
// exactly the states of the rows it replays (recomputePageViews).
func pageViewsSQL(db, table string, dedupWindow int) []string {
	rollup := pageViewsTable(table)
	return []string{
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s (\n  minute DateTime('UTC'),\n  page_url String,\n"+
			"  events AggregateFunction(count),\n  page_views AggregateFunction(countIf, UInt8),\n"+
			"  users AggregateFunction(uniq, String),\n  revenue AggregateFunction(sum, Float64),\n"+
			"  _topic LowCardinality(String),\n  _partition Int32,\n"+
			"  _first_offset Int64 COMMENT 'lowest Kafka offset of the raw rows in these states',\n"+
			"  _last_offset Int64 COMMENT 'highest Kafka offset of the raw rows in these states'\n)\n"+
			"ENGINE = AggregatingMergeTree\nPARTITION BY toDate(minute)\n"+
			"ORDER BY (minute, page_url, _topic, _partition, _first_offset, _last_offset)\n"+
			"SETTINGS non_replicated_deduplication_window = %d\n"+
			"COMMENT 'per-minute partial states of %s, fed by %s_mv; query with GROUP BY and -Merge'",
			quote(db), quote(rollup), dedupWindow, table, rollup),
		fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s TO %s.%s AS\n%s",
			quote(db), quote(rollup+"_mv"), quote(db), quote(rollup), pageViewsSelect(db, table, "")),
	}
}

// pageViewsSelect is the SELECT that makes page-views rollup rows from the
// rows of events table table (one INSERT's rows, in the materialized
// view): partial states per minute, page and Kafka partition, with the
// partition's lowest and highest offsets among the rows. where, when not
// empty, is a WHERE clause on the events rows (alias e).
func pageViewsSelect(db, table, where string) string {
	return fmt.Sprintf("SELECT toStartOfMinute(e.timestamp) AS minute, e.page_url AS page_url,\n  countState() AS events,\n"+
		"  countIfState(e.event_type = 'page_view') AS page_views,\n  uniqState(e.user_id) AS users,\n"+
		"  sumState(ifNull(e.revenue, 0)) AS revenue,\n  e._topic AS _topic, e._partition AS _partition,\n"+
		"  min(e._offset) AS _first_offset, max(e._offset) AS _last_offset\nFROM %s.%s AS e\n%s"+
		"GROUP BY minute, page_url, _topic, _partition",
		quote(db), quote(table), where)
}

// resetsTable is the sink's record of offset resets (backfills): one row
// per reset and per application of it. It never holds data offsets of
// ordinary progress, only what ResetOffsets was told.
const resetsTable = "connectd_offset_resets"

// createResetsSQL is the DDL of resetsTable.
func createResetsSQL(db string) string {
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s (\n"+
		"  connector String, topic String, partition Int32,\n"+
		"  epoch UInt64 COMMENT 'the reset''s number for this partition; part of the insert tokens after it',\n"+
		"  target Int64 COMMENT 'the offset the reset moved to',\n"+
		"  applied UInt8 COMMENT '0: recorded by ResetOffsets; 1: rows at and after the resume offset deleted by Open',\n"+
		"  at DateTime64(3, 'UTC') DEFAULT now64(3)\n)\n"+
		"ENGINE = MergeTree ORDER BY (connector, topic, partition, epoch, applied)\n"+
		"COMMENT 'offset resets (backfills) of connectd ClickHouse sinks'", quote(db), quote(resetsTable))
}

// checkColumns compares a table's columns (name → type, from
// system.columns) with the ones the sink writes, naming each mismatch.
func checkColumns(db, table string, have map[string]string, want []column) error {
	var probs []string
	for _, c := range want {
		t, ok := have[c.name]
		switch {
		case !ok:
			probs = append(probs, fmt.Sprintf("column %s is missing (want %s)", c.name, c.typ))
		case t != c.typ:
			probs = append(probs, fmt.Sprintf("column %s is %s, want %s", c.name, t, c.typ))
		}
	}
	if len(probs) == 0 {
		return nil
	}
	return fmt.Errorf("table %s.%s does not match the sink's schema: %s; drop or alter the table (or write to another one with table/topic2TableMap)",
		db, table, strings.Join(probs, "; "))
}
