package clickhouse

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/connector"
)

// Class is the connector.class of the ClickHouse sink.
const Class = "io.connectd.clickhouse.ClickHouseSinkConnector"

// Config is the ClickHouse sink's own part of a connector config. The key
// names are those of ClickHouse's Kafka Connect sink where one exists.
// Decode it with connector.DecodeConfig, which applies the defaults in the
// tags; a Config built by hand must set every field.
type Config struct {
	// Hostname is the ClickHouse server's host name or IP address.
	Hostname string `config:"hostname" default:"localhost" doc:"host name or IP address of the ClickHouse server"`
	// Port is the server's port; 0 picks the protocol's default.
	Port int `config:"port" default:"0" min:"0" max:"65535" doc:"port of the ClickHouse server; 0: 9000 (native), 8123 (http), 9440/8443 with ssl"`
	// Protocol is how rows are sent: native (ClickHouse's TCP protocol)
	// or http.
	Protocol string `config:"protocol" default:"native" enum:"native,http" doc:"native (TCP, the faster) or http"`
	// Database holds the tables.
	Database string `config:"database" default:"default" doc:"the database holding the tables (created by auto.create.tables when missing)"`
	// Username and Password authenticate.
	Username string `config:"username" default:"default" doc:"ClickHouse user"`
	Password string `config:"password" doc:"the user's password"`
	// SSL turns on TLS.
	SSL bool `config:"ssl" default:"false" doc:"connect with TLS"`
	// Table is the events table of every topic not in Topic2TableMap;
	// empty means the topic's name with every character other than a
	// letter, a digit or '_' replaced by '_'.
	Table string `config:"table" doc:"events table for every topic not in topic2TableMap; default: the topic name, sanitised (clickstream.enriched → clickstream_enriched)"`
	// RollupTable is the results table for window results (records of
	// the window stage's rollup topic and of rollup.topics); empty means
	// the topic's name, sanitised.
	RollupTable string `config:"rollup.table" doc:"results table for window results (the window stage's rollups and rollup.topics); default: the topic name, sanitised"`
	// RollupTopics are topics whose records are window results, written
	// by a window connector (clickstream.agg.*).
	RollupTopics []string `config:"rollup.topics" doc:"topics whose records are window results (a window connector's output.topic), written to a ReplacingMergeTree results table"`
	// Topic2TableMap maps topics to tables: "topic1=table1,topic2=table2".
	Topic2TableMap string `config:"topic2TableMap" doc:"per-topic tables, as topic1=table1,topic2=table2; overrides table and rollup.table"`
	// ClickHouseSettings are ClickHouse settings sent with every query:
	// "k=v,k2=v2".
	ClickHouseSettings string `config:"clickhouseSettings" doc:"ClickHouse settings for every query, as k=v,k2=v2 (e.g. max_insert_threads=2)"`
	// AutoCreateTables creates missing tables (and the database).
	AutoCreateTables bool `config:"auto.create.tables" default:"true" doc:"create a missing database and tables from the click event schema; false fails the task naming the missing table"`
	// PageViewsRollup adds, when the events table is created, an
	// AggregatingMergeTree table <events table>_pageviews_1m fed by a
	// materialized view with per-minute partial states.
	PageViewsRollup bool `config:"rollup.pageviews.enable" default:"false" doc:"with auto.create.tables, also create <table>_pageviews_1m (AggregatingMergeTree: countState, uniqState(user_id), sumState(revenue) per minute and page) fed by a materialized view"`
	// BatchSize is the number of rows per INSERT: a partition grows one
	// batch per event day, cut when it holds this many rows.
	BatchSize int `config:"batch.size" default:"100000" min:"1" max:"1000000" doc:"rows per INSERT (one part each): a partition grows one batch per event day, sent when it holds this many rows"`
	// FlushInterval is the age (wall clock since its first row) at which
	// a partial batch is sent at the next offset flush. Zero sends every
	// partial batch at every flush.
	FlushInterval time.Duration `config:"flush.interval.ms" default:"10000" unit:"ms" min:"0" max:"3600000" doc:"a partial batch whose first row arrived this long ago is sent at the next offset flush; 0 sends at every flush (small parts)"`
	// BufferMaxRows bounds the rows held in memory across partitions.
	BufferMaxRows int `config:"buffer.max.rows" default:"1000000" min:"1" max:"100000000" doc:"most rows buffered across partitions; past it, Write sends what it holds and, while ClickHouse refuses, returns a retryable error so the task waits (bounded memory)"`
	// DedupWindow is non_replicated_deduplication_window of created
	// tables: how many recent insert tokens a table remembers.
	DedupWindow int `config:"dedup.window" default:"10000" min:"100" max:"10000000" doc:"non_replicated_deduplication_window of created tables: how many recent INSERT tokens a table remembers to drop a repeated batch"`
	// InsertTimeout bounds one INSERT or query.
	InsertTimeout time.Duration `config:"insert.timeout.ms" default:"60000" unit:"ms" min:"100" doc:"longest one INSERT or query may take before it counts as failed (and is retried)"`
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,205}$`)
var settingName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate checks what the tags cannot: table and setting syntax, and
// settings that would break exactly-once delivery.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, &connector.ConfigError{Key: key, Message: fmt.Sprintf(format, a...)})
	}
	if strings.TrimSpace(c.Hostname) == "" {
		bad("hostname", "is empty: give the ClickHouse server's host name or IP address")
	}
	if !identifier.MatchString(c.Database) {
		bad("database", "%q is not a plain ClickHouse identifier: use letters, digits and '_', not starting with a digit", c.Database)
	}
	if c.Table != "" && !identifier.MatchString(c.Table) {
		bad("table", "%q is not a plain ClickHouse identifier: use letters, digits and '_', not starting with a digit", c.Table)
	}
	if c.RollupTable != "" && !identifier.MatchString(c.RollupTable) {
		bad("rollup.table", "%q is not a plain ClickHouse identifier: use letters, digits and '_', not starting with a digit", c.RollupTable)
	}
	if _, err := parseTableMap(c.Topic2TableMap); err != nil {
		bad("topic2TableMap", "%v", err)
	}
	if _, err := parseSettings(c.ClickHouseSettings); err != nil {
		bad("clickhouseSettings", "%v", err)
	}
	if c.BatchSize > c.BufferMaxRows {
		bad("buffer.max.rows", "%d is below batch.size %d: the buffer must hold at least one full batch; raise buffer.max.rows or lower batch.size", c.BufferMaxRows, c.BatchSize)
	}
	if c.PageViewsRollup && !c.AutoCreateTables {
		bad("rollup.pageviews.enable", "needs auto.create.tables=true: the rollup table and its materialized view are created with the events table")
	}
	return errors.Join(errs...)
}

// parseTableMap reads "topic1=table1,topic2=table2".
func parseTableMap(s string) (map[string]string, error) {
	m := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, pair := range strings.Split(s, ",") {
		topic, table, ok := strings.Cut(strings.TrimSpace(pair), "=")
		topic, table = strings.TrimSpace(topic), strings.TrimSpace(table)
		switch {
		case !ok || topic == "" || table == "":
			return nil, fmt.Errorf("entry %q is not topic=table; write topic1=table1,topic2=table2", pair)
		case !identifier.MatchString(table):
			return nil, fmt.Errorf("table %q of topic %q is not a plain ClickHouse identifier: use letters, digits and '_', not starting with a digit", table, topic)
		}
		if _, dup := m[topic]; dup {
			return nil, fmt.Errorf("topic %q is mapped twice; give each topic one table", topic)
		}
		m[topic] = table
	}
	return m, nil
}

// reservedSettings are settings the sink sets itself or that would break
// exactly-once delivery.
var reservedSettings = map[string]string{
	"insert_deduplication_token": "the sink sets it on every INSERT from the batch's offsets",
	"insert_deduplicate":         "turning deduplication off lets a retried INSERT store its rows twice",
	"async_insert":               "asynchronous inserts acknowledge before the rows are in a part, so offsets could be committed for rows not yet stored",
	"deduplicate_blocks_in_dependent_materialized_views": "the sink sets it to 1 so a repeated batch does not reach materialized views twice",
}

// parseSettings reads "k=v,k2=v2".
func parseSettings(s string) (map[string]any, error) {
	m := map[string]any{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok || k == "":
			return nil, fmt.Errorf("entry %q is not setting=value; write k=v,k2=v2", pair)
		case !settingName.MatchString(k):
			return nil, fmt.Errorf("%q is not a ClickHouse setting name (lowercase letters, digits and '_')", k)
		}
		if why, ok := reservedSettings[k]; ok {
			return nil, fmt.Errorf("setting %q cannot be set here: %s", k, why)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("setting %q is given twice", k)
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			m[k] = n
		} else {
			m[k] = v
		}
	}
	return m, nil
}

// port returns the port to dial.
func (c *Config) port() int {
	if c.Port != 0 {
		return c.Port
	}
	switch {
	case c.Protocol == "http" && c.SSL:
		return 8443
	case c.Protocol == "http":
		return 8123
	case c.SSL:
		return 9440
	}
	return 9000
}

// SanitizeTable turns a topic name into a table name: every character
// other than an ASCII letter, a digit or '_' becomes '_', and a leading
// digit gets a '_' before it.
func SanitizeTable(topic string) string {
	b := []byte(topic)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] >= '0' && b[0] <= '9' {
		b = append([]byte{'_'}, b...)
	}
	return string(b)
}

// isRollupTopic reports whether topic's records are window results.
func (c *Config) isRollupTopic(topic, rollupTopic string) bool {
	return topic == rollupTopic && topic != "" || slices.Contains(c.RollupTopics, topic)
}

// Plugin describes the ClickHouse sink for a connector.Registry.
func Plugin() connector.Plugin {
	return connector.Plugin{
		Class:     Class,
		Aliases:   []string{"ClickHouseSinkConnector", "com.clickhouse.kafka.connect.ClickHouseSinkConnector", "clickhouse"},
		Kind:      connector.KindSink,
		Version:   "0.1.0",
		Doc:       "writes click events and window results to ClickHouse tables, exactly once (deterministic batches with insert deduplication tokens)",
		NewConfig: func() any { return &Config{} },
		NewSink: func(cfg any, info connector.TaskInfo) (connector.Sink, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("clickhouse sink: config is %T, want *clickhouse.Config", cfg)
			}
			return New(c, info)
		},
	}
}
