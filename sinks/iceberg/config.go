package iceberg

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/clickevent"
)

// Class is the connector.class of the Iceberg sink.
const Class = "io.connectd.iceberg.IcebergSinkConnector"

// Config is the Iceberg sink's own part of a connector config. Decode it
// with connector.DecodeConfig (or the registry's Parse), which applies the
// defaults in the tags and hands the raw config to SetRawConfig for the
// dynamic keys iceberg.table.<t>.* and iceberg.catalog.*; a Config built
// by hand must call SetRawConfig (nil is fine) before Validate.
type Config struct {
	// Tables are the tables events are written to, "namespace.table".
	Tables []string `config:"iceberg.tables" doc:"comma-separated tables (namespace.table) that events are written to; every event goes to each table whose route-regex matches (all of them without iceberg.tables.route-field); may be empty when every record is a window result (window.* keys, or topics matching iceberg.tables.rollup-topics-regex)"`
	// DefaultNamespace is the namespace of a table named without one.
	DefaultNamespace string `config:"iceberg.tables.default-namespace" default:"clickstream" doc:"namespace of a table named without one (dynamic routing, rollup table)"`
	// Dynamic routes each event to the table named by its RouteField.
	Dynamic bool `config:"iceberg.tables.dynamic-enabled" default:"false" doc:"route each event to the table named by the value of iceberg.tables.route-field instead of iceberg.tables"`
	// RouteField is the event field used for routing.
	RouteField string `config:"iceberg.tables.route-field" doc:"event field whose value routes the event: the table name (dynamic) or the value matched by iceberg.table.<t>.route-regex (static)"`
	// AutoCreate creates missing tables with the click event schema.
	AutoCreate bool `config:"iceberg.tables.auto-create-enabled" default:"false" doc:"create a missing table (and namespace) with the click event schema, partitioned by iceberg.table.<t>.partition-by"`
	// Evolve adds columns for new event fields and widens int/float columns.
	Evolve bool `config:"iceberg.tables.evolve-schema-enabled" default:"false" doc:"a field outside the table schema adds an optional column (string, long, double or boolean); int→long and float→double are widened; other changes send the record to the DLQ"`
	// DefaultPartitionBy is the partition spec of created tables.
	DefaultPartitionBy string `config:"iceberg.tables.default-partition-by" default:"day(timestamp)" doc:"partition spec of created event tables: comma-separated transforms such as day(timestamp), hour(timestamp), identity(country), bucket(16,user_id); empty for unpartitioned"`
	// DefaultIDColumns are the identifier columns of created tables.
	DefaultIDColumns []string `config:"iceberg.tables.default-id-columns" doc:"identifier columns of created event tables (required columns; records without them go to the DLQ)"`
	// RollupTable receives window results.
	RollupTable string `config:"iceberg.tables.rollup-table" default:"clickstream.rollups" doc:"table the window results are written to: records of the connector's window stage, and of topics matching iceberg.tables.rollup-topics-regex"`
	// RollupTopics marks topics whose records are window results.
	RollupTopics string `config:"iceberg.tables.rollup-topics-regex" doc:"topics whose records are window results of a window connector (a regex such as clickstream[.]agg[.].*), written to the rollup table"`
	// CommitInterval is the longest time data waits in memory before a
	// Flush commits it.
	CommitInterval time.Duration `config:"iceberg.control.commit.interval-ms" default:"60000" unit:"ms" min:"0" doc:"the offset flush after this long since the last commit (wall clock) commits what is buffered; 0 commits at every flush"`
	// CommitRecords commits as soon as this many records are buffered.
	CommitRecords int `config:"iceberg.control.commit.records" default:"500000" min:"1" doc:"commit as soon as this many records are buffered across all tables (checked after every Write)"`
	// CommitBytes commits as soon as this many value bytes are buffered.
	CommitBytes int64 `config:"iceberg.control.commit.bytes" default:"134217728" min:"1024" doc:"commit as soon as the buffered records' values reach this many bytes; bounds the memory of a task"`
	// CatalogType selects the catalog implementation.
	CatalogType string `config:"iceberg.catalog.type" default:"sql" enum:"sql,rest" doc:"sql: a SQL catalog on SQLite (uri is the database file); rest: an Iceberg REST catalog (uri is its URL)"`
	// CatalogURI locates the catalog.
	CatalogURI string `config:"iceberg.catalog.uri" required:"true" doc:"SQLite database file (or file: DSN) for type sql; the REST catalog's base URL (http:// or https://, the client adds /v1/...) for type rest"`
	// Warehouse is where table data and metadata go (sql), or the
	// warehouse the REST server is asked for (rest).
	Warehouse string `config:"iceberg.catalog.warehouse" doc:"type sql: warehouse location, file:///abs/dir, s3://bucket/prefix, or a local directory (relative to the worker's working directory); type rest: passed to the server as is (a warehouse name or location, as the server expects), optional"`
	// CatalogName names the catalog in the SQL catalog's rows (and, for
	// rest, in the client only).
	CatalogName string `config:"iceberg.catalog.name" default:"connectd" doc:"catalog name (the SQL catalog's catalog_name; for rest the client's name for it, not sent)"`

	raw map[string]string
	// tableOpts holds iceberg.table.<t>.* by table name.
	tableOpts map[string]*tableOptions
	// catalogProps holds the other iceberg.catalog.* keys without prefix.
	catalogProps map[string]string
	// rollupTopics is RollupTopics compiled.
	rollupTopics *regexp.Regexp
}

// tableOptions are the iceberg.table.<t>.* keys of one table.
type tableOptions struct {
	PartitionBy string
	hasPartBy   bool
	IDColumns   []string
	hasIDs      bool
	RouteRegex  *regexp.Regexp
}

const (
	tablePrefix   = "iceberg.table."
	catalogPrefix = "iceberg.catalog."
)

// tableKeys are the keys accepted under iceberg.table.<t>.
var tableKeys = []string{"partition-by", "id-columns", "route-regex"}

// AcceptsKey accepts iceberg.table.<t>.<key> and iceberg.catalog.<prop>
// (io properties such as iceberg.catalog.s3.endpoint).
func (c *Config) AcceptsKey(k string) bool {
	if rest, ok := strings.CutPrefix(k, tablePrefix); ok {
		for _, tk := range tableKeys {
			if strings.HasSuffix(rest, "."+tk) && len(rest) > len(tk)+1 {
				return true
			}
		}
		return false
	}
	return strings.HasPrefix(k, catalogPrefix) && len(k) > len(catalogPrefix)
}

// SetRawConfig keeps the raw config for Validate, which decodes the
// dynamic keys.
func (c *Config) SetRawConfig(raw map[string]string) { c.raw = maps.Clone(raw) }

// tagged are the iceberg.catalog.* keys that are struct fields.
var taggedCatalogKeys = map[string]bool{"type": true, "uri": true, "warehouse": true, "name": true}

// Validate checks what the tags cannot and decodes the dynamic keys.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &connector.ConfigError{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	c.tableOpts = map[string]*tableOptions{}
	c.catalogProps = map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(c.raw)) {
		v := c.raw[k]
		if rest, ok := strings.CutPrefix(k, catalogPrefix); ok {
			if !taggedCatalogKeys[rest] {
				c.catalogProps[rest] = v
			}
			continue
		}
		rest, ok := strings.CutPrefix(k, tablePrefix)
		if !ok {
			continue
		}
		var name, key string
		for _, tk := range tableKeys {
			if n, found := strings.CutSuffix(rest, "."+tk); found {
				name, key = n, tk
			}
		}
		if name == "" {
			continue
		}
		o := c.tableOpts[name]
		if o == nil {
			o = &tableOptions{}
			c.tableOpts[name] = o
		}
		switch key {
		case "partition-by":
			if _, err := parsePartitionBy(v); err != nil {
				bad(k, "%v: write comma-separated transforms such as day(timestamp) or identity(country)", err)
			}
			o.PartitionBy, o.hasPartBy = v, true
		case "id-columns":
			o.IDColumns, o.hasIDs = splitList(v), true
			for _, col := range o.IDColumns {
				if clickevent.FieldIndex(col) < 0 {
					bad(k, "%q is not a click event field: use one of %s", col, strings.Join(eventFieldNames(), ", "))
				} else if col == "revenue" {
					bad(k, "%q is a double and Iceberg does not allow floating point identifier columns", col)
				}
			}
		case "route-regex":
			re, err := regexp.Compile("^(?:" + v + ")$")
			if err != nil {
				bad(k, "is not a regular expression: %v", err)
			}
			o.RouteRegex = re
		}
	}
	if _, err := parsePartitionBy(c.DefaultPartitionBy); err != nil {
		bad("iceberg.tables.default-partition-by", "%v: write comma-separated transforms such as day(timestamp)", err)
	}
	for _, col := range c.DefaultIDColumns {
		if clickevent.FieldIndex(col) < 0 || col == "revenue" {
			bad("iceberg.tables.default-id-columns", "%q is not a string, long or timestamp click event field: use one of %s", col, strings.Join(eventFieldNames(), ", "))
		}
	}
	for i, t := range c.Tables {
		if err := checkTableName(t); err != nil {
			bad("iceberg.tables", "entry %d %q: %v", i+1, t, err)
		}
	}
	if err := checkTableName(c.RollupTable); err != nil {
		bad("iceberg.tables.rollup-table", "%q: %v", c.RollupTable, err)
	}
	if c.RollupTopics != "" {
		re, err := regexp.Compile("^(?:" + c.RollupTopics + ")$")
		if err != nil {
			bad("iceberg.tables.rollup-topics-regex", "is not a regular expression: %v", err)
		}
		c.rollupTopics = re
	}
	for name := range c.tableOpts {
		if err := checkTableName(name); err != nil {
			bad(tablePrefix+name+".*", "table %q: %v", name, err)
		}
	}
	switch {
	case c.Dynamic && c.RouteField == "":
		bad("iceberg.tables.route-field", "is empty but iceberg.tables.dynamic-enabled is true: name the event field whose value is the table name")
	case c.Dynamic && len(c.Tables) > 0:
		bad("iceberg.tables", "is set but iceberg.tables.dynamic-enabled is true: use one or the other")
	case !c.Dynamic && len(c.Tables) == 0 && c.RollupTopics == "" && !c.windowStage():
		bad("iceberg.tables", "is empty: list the tables to write (namespace.table), or set iceberg.tables.dynamic-enabled=true with iceberg.tables.route-field")
	}
	if !c.Dynamic && c.RouteField != "" {
		for _, t := range c.Tables {
			if o := c.tableOpts[t]; o == nil || o.RouteRegex == nil {
				bad(tablePrefix+t+".route-regex", "is missing: with iceberg.tables.route-field set, every table of iceberg.tables needs a route-regex matching the field values it takes")
			}
		}
	}
	if strings.TrimSpace(c.CatalogURI) == "" {
		bad("iceberg.catalog.uri", "is empty: give the SQLite database file of the catalog (type sql) or the REST catalog's URL (type rest)")
	} else if c.CatalogType == "sql" && isHTTP(c.CatalogURI) {
		bad("iceberg.catalog.uri", "%q is a URL, but iceberg.catalog.type is sql (a SQLite file): set iceberg.catalog.type=rest for a REST catalog", c.CatalogURI)
	} else if c.CatalogType == "rest" {
		if _, err := restURL(c.CatalogURI); err != nil {
			bad("iceberg.catalog.uri", "%v: with iceberg.catalog.type=rest give the REST catalog's base URL, such as https://catalog.example.com/api/catalog (the client adds /v1/...), or use type sql for a SQLite file", err)
		}
	}
	if c.CatalogType == "sql" {
		if c.Warehouse == "" {
			bad("iceberg.catalog.warehouse", "is empty: give the warehouse location, file:///absolute/dir, s3://bucket/prefix or a local directory")
		} else if u, err := url.Parse(c.Warehouse); err != nil || (u.Scheme != "" && u.Scheme != "file" && u.Scheme != "s3" && u.Scheme != "s3a") {
			bad("iceberg.catalog.warehouse", "%q is not a file:// or s3:// location or a local directory", c.Warehouse)
		} else if u.Scheme == "file" && (u.Host != "" || !strings.HasPrefix(u.Path, "/")) {
			bad("iceberg.catalog.warehouse", "%q: a file:// warehouse needs an absolute path (file:///abs/dir); write a relative directory without file://", c.Warehouse)
		}
	}
	if c.CatalogType == "rest" {
		c.validateREST(bad)
	} else {
		for _, k := range slices.Sorted(maps.Keys(c.catalogProps)) {
			if isRESTKey(k) {
				bad(catalogPrefix+k, "is a REST catalog key, but iceberg.catalog.type is %s: set iceberg.catalog.type=rest or remove it", c.CatalogType)
			}
		}
	}
	if c.CommitInterval < 0 {
		bad("iceberg.control.commit.interval-ms", "%d is below the minimum 0", c.CommitInterval.Milliseconds())
	}
	if c.CommitRecords < 1 {
		bad("iceberg.control.commit.records", "%d is below the minimum 1", c.CommitRecords)
	}
	if c.CommitBytes < 1024 {
		bad("iceberg.control.commit.bytes", "%d is below the minimum 1024", c.CommitBytes)
	}
	return errors.Join(errs...)
}

// restKeys are the iceberg.catalog.* properties only a REST catalog reads.
var restKeys = []string{"credential", "token", "oauth2-server-uri", "rest.authorization-url", "scope", "audience", "resource", "prefix"}

// isRESTKey reports whether the catalog property k (without the prefix)
// is read only by a REST catalog.
func isRESTKey(k string) bool {
	return slices.Contains(restKeys, k) || strings.HasPrefix(k, "rest.") || strings.HasPrefix(k, "header.")
}

// validateREST checks the REST catalog's properties that can be checked
// before the server is contacted.
func (c *Config) validateREST(bad func(key, format string, args ...any)) {
	p := c.catalogProps
	for _, k := range []string{"oauth2-server-uri", "rest.authorization-url"} {
		if v, ok := p[k]; ok {
			if _, err := restURL(v); err != nil {
				bad(catalogPrefix+k, "%v: give the OAuth2 token endpoint, such as https://idp.example.com/oauth2/token (without it the client uses the catalog's /v1/oauth/tokens)", err)
			}
		}
	}
	if p["credential"] != "" && p["token"] != "" {
		bad("iceberg.catalog.token", "is set together with iceberg.catalog.credential: iceberg-go would use the token and never exchange the credential, so an expired token would not be renewed; give one of them")
	}
	for _, k := range []string{"scope", "oauth2-server-uri", "rest.authorization-url", "audience", "resource"} {
		if _, ok := p[k]; ok && p["credential"] == "" {
			bad(catalogPrefix+k, "is set but iceberg.catalog.credential is not: it only applies to the OAuth2 client-credentials exchange; give iceberg.catalog.credential=client_id:client_secret or remove it")
		}
	}
	if v, ok := p["prefix"]; ok && (v == "" || strings.HasPrefix(v, "/") || strings.HasSuffix(v, "/")) {
		bad("iceberg.catalog.prefix", "%q: give the path segment(s) the server puts after /v1/, without leading or trailing '/', or remove it (most servers send it from GET /v1/config)", v)
	}
	for _, k := range []string{"rest.sigv4-enabled", "rest.tls.skip-verify"} {
		if v, ok := p[k]; ok && v != "true" && v != "false" {
			bad(catalogPrefix+k, "%q is not true or false", v)
		}
	}
	if p["rest.sigv4-enabled"] != "true" {
		for _, k := range []string{"rest.signing-region", "rest.signing-name"} {
			if _, ok := p[k]; ok {
				bad(catalogPrefix+k, "is set but iceberg.catalog.rest.sigv4-enabled is not true: enable SigV4 signing or remove it")
			}
		}
	}
}

// windowStage reports whether the connector has a window stage (window.*
// keys), whose results are the only records the sink then gets.
func (c *Config) windowStage() bool {
	for k := range c.raw {
		if strings.HasPrefix(k, "window.") {
			return true
		}
	}
	return false
}

// partitionBy returns the partition spec text of table t.
func (c *Config) partitionBy(t string) string {
	if o := c.tableOpts[t]; o != nil && o.hasPartBy {
		return o.PartitionBy
	}
	return c.DefaultPartitionBy
}

// idColumns returns the identifier columns of table t.
func (c *Config) idColumns(t string) []string {
	if o := c.tableOpts[t]; o != nil && o.hasIDs {
		return o.IDColumns
	}
	return c.DefaultIDColumns
}

// isRollupTopic reports whether records of topic are window results.
func (c *Config) isRollupTopic(topic, rollupTopic string) bool {
	if rollupTopic != "" && topic == rollupTopic {
		return true
	}
	return c.rollupTopics != nil && c.rollupTopics.MatchString(topic)
}

// qualify returns name with the default namespace when it has none.
func (c *Config) qualify(name string) string {
	if strings.Contains(name, ".") {
		return name
	}
	return c.DefaultNamespace + "." + name
}

// checkTableName accepts "namespace.table" (or "table") made of letters,
// digits, '_' and '-'.
func checkTableName(name string) error {
	if name == "" {
		return errors.New("is empty")
	}
	for _, part := range strings.Split(name, ".") {
		if part == "" {
			return errors.New("has an empty part: write namespace.table")
		}
		for _, r := range part {
			if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return fmt.Errorf("has the character %q: use letters, digits, '_' and '-' in namespace.table", r)
			}
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func eventFieldNames() []string {
	var out []string
	for _, f := range clickevent.Fields() {
		if f.Kind != clickevent.Float64 {
			out = append(out, f.Name)
		}
	}
	return out
}

// Plugin describes the Iceberg sink for a connector.Registry.
func Plugin() connector.Plugin {
	return connector.Plugin{
		Class:     Class,
		Aliases:   []string{"IcebergSinkConnector", "iceberg"},
		Kind:      connector.KindSink,
		Version:   "0.1.0",
		Doc:       "writes click events and window results to Apache Iceberg tables exactly once, offsets in the snapshot summary",
		NewConfig: func() any { return &Config{} },
		NewSink: func(cfg any, info connector.TaskInfo) (connector.Sink, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("iceberg sink: config is %T, want *iceberg.Config", cfg)
			}
			return New(c, info)
		},
	}
}
