// Package clickhouse is connectd's ClickHouse sink: it writes click events
// to a MergeTree events table and window results to a ReplacingMergeTree
// results table, exactly once, over ClickHouse's native protocol (or
// HTTP), with clickhouse-go.
//
// This comment is the design; sinks/clickhouse/README.md is the user
// documentation (keys, tables, dashboard queries, measurements).
package clickhouse
