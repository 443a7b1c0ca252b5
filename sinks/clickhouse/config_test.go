package clickhouse_test

import (
	"strings"
	"testing"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/sinks/clickhouse"
)

// TestConfigErrors parses connector configs through a registry, as
// `connectd validate` does, and checks each bad key is named with its fix.
func TestConfigErrors(t *testing.T) {
	reg := connector.NewRegistry()
	if err := reg.Register(clickhouse.Plugin()); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"connector.class": "clickhouse", "topics": "clickstream.enriched"}
	for _, tc := range []struct {
		keys []string
		want string
	}{
		{[]string{"protocol", "grpc"}, `config key "protocol": "grpc" is not one of native, http`},
		{[]string{"topic2TableMap", "a=events,b"}, `config key "topic2TableMap": entry "b" is not topic=table; write topic1=table1,topic2=table2`},
		{[]string{"topic2TableMap", "a=x,a=y"}, `config key "topic2TableMap": topic "a" is mapped twice`},
		{[]string{"topic2TableMap", "a=drop table"}, `config key "topic2TableMap": table "drop table" of topic "a" is not a plain ClickHouse identifier`},
		{[]string{"clickhouseSettings", "insert_deduplicate=0"}, `config key "clickhouseSettings": setting "insert_deduplicate" cannot be set here`},
		{[]string{"clickhouseSettings", "async_insert=1"}, `config key "clickhouseSettings": setting "async_insert" cannot be set here`},
		{[]string{"clickhouseSettings", "max_threads"}, `config key "clickhouseSettings": entry "max_threads" is not setting=value`},
		{[]string{"table", "1events"}, `config key "table": "1events" is not a plain ClickHouse identifier`},
		{[]string{"batch.size", "500000", "buffer.max.rows", "1000"}, `config key "buffer.max.rows": 1000 is below batch.size 500000`},
		{[]string{"batch.size", "0"}, `config key "batch.size": 0 is below the minimum 1`},
		{[]string{"rollup.pageviews.enable", "true", "auto.create.tables", "false"}, `config key "rollup.pageviews.enable": needs auto.create.tables=true`},
		{[]string{"hostnam", "x"}, `config key "hostnam"`},
	} {
		raw := with(base, tc.keys...)
		_, err := reg.Parse("ch", raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.keys, err, tc.want)
		}
	}
	cc, err := reg.Parse("ch", with(base, "clickhouseSettings", "max_insert_threads=2, insert_quorum=auto", "topic2TableMap", "a=events_a"))
	if err != nil {
		t.Fatalf("a good config: %v", err)
	}
	c := cc.PluginConfig.(*clickhouse.Config)
	if c.Protocol != "native" || c.Username != "default" || c.Database != "default" || c.BatchSize != 100000 || !c.AutoCreateTables {
		t.Errorf("defaults: %+v", c)
	}
}

func TestSanitizeTable(t *testing.T) {
	for in, want := range map[string]string{
		"clickstream.enriched":         "clickstream_enriched",
		"clickstream.agg.pageviews-1m": "clickstream_agg_pageviews_1m",
		"2024-events":                  "_2024_events",
	} {
		if got := clickhouse.SanitizeTable(in); got != want {
			t.Errorf("SanitizeTable(%q) = %q, want %q", in, got, want)
		}
	}
}
