package iceberg_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/sinks/iceberg"
)

const events = "clickstream.events"

// newCfg decodes a config writing events to one auto-created table on a
// new file:// warehouse, committing at every Flush, plus keys.
func newCfg(t *testing.T, keys map[string]string) *iceberg.Config {
	return eventsCfg(t, fileWarehouse(t), keys)
}

// eventsCfg decodes the catalog keys raw plus events written to one
// auto-created table, committing at every Flush, plus keys ("" deletes a
// key).
func eventsCfg(t *testing.T, raw, keys map[string]string) *iceberg.Config {
	raw["iceberg.tables"] = events
	raw["iceberg.tables.auto-create-enabled"] = "true"
	raw["iceberg.control.commit.interval-ms"] = "0"
	for k, v := range keys {
		if v == "" {
			delete(raw, k)
		} else {
			raw[k] = v
		}
	}
	return decode(t, raw)
}

func newSink(t *testing.T, cfg *iceberg.Config, info connector.TaskInfo) *iceberg.Sink {
	t.Helper()
	if info.Connector == "" {
		info.Connector = "test"
	}
	s, err := iceberg.New(cfg, info)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func tp(p int32) connector.TopicPartition {
	return connector.TopicPartition{Topic: "clickstream.enriched", Partition: p}
}

// recs returns default click events [from, to) of tp.
func recs(tp connector.TopicPartition, from, to int64) []connector.Record {
	var out []connector.Record
	for off := from; off < to; off++ {
		out = append(out, connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off, Value: sinktest.DefaultValue(tp, off)})
	}
	return out
}

func rec(tp connector.TopicPartition, off int64, value string) connector.Record {
	return connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off, Value: []byte(value)}
}

func open(t *testing.T, s *iceberg.Sink, assigned map[connector.TopicPartition]int64) map[connector.TopicPartition]int64 {
	t.Helper()
	over, err := s.Open(context.Background(), maps.Clone(assigned))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	r := maps.Clone(assigned)
	maps.Copy(r, over)
	return r
}

func write(t *testing.T, s *iceberg.Sink, batch []connector.Record) {
	t.Helper()
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func flush(t *testing.T, s *iceberg.Sink) map[connector.TopicPartition]int64 {
	t.Helper()
	got, err := s.Flush(context.Background())
	if err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return got
}

// offsetsOf counts the rows of each offset of tp.
func offsetsOf(rows []row, tp connector.TopicPartition) map[int64]int {
	out := map[int64]int{}
	for _, r := range rows {
		topic, p, off := coords(r)
		if topic == tp.Topic && p == tp.Partition {
			out[off]++
		}
	}
	return out
}

// wantOnce fails unless offsets [0, n) of tp are each stored once and
// nothing else is.
func wantOnce(t *testing.T, rows []row, tp connector.TopicPartition, n int64) {
	t.Helper()
	got := offsetsOf(rows, tp)
	for off := int64(0); off < n; off++ {
		if got[off] != 1 {
			t.Errorf("%s@%d stored %d times, want once", tp, off, got[off])
		}
	}
	for off := range got {
		if off >= n {
			t.Errorf("%s@%d stored, but only [0,%d) was written", tp, off, n)
		}
	}
}

// referencedFiles returns the data files of the table's current snapshot.
func referencedFiles(t *testing.T, cfg *iceberg.Config, name string) []string {
	t.Helper()
	ctx := context.Background()
	cat := must[catalog.Catalog](t)(iceberg.OpenCatalog(ctx, cfg.CatalogOptions()))
	defer iceberg.CloseCatalog(cat)
	tbl, err := cat.LoadTable(ctx, iceberg.Ident(name))
	if err != nil {
		t.Fatal(err)
	}
	files := must[[]ice.DataFile](t)(iceberg.DataFiles(ctx, tbl))
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimPrefix(f.FilePath(), "file://"))
	}
	slices.Sort(out)
	return out
}

func TestConfigErrors(t *testing.T) {
	wh := fileWarehouse(t)
	base := func(kv ...string) map[string]string {
		m := maps.Clone(wh)
		m["iceberg.tables"] = events
		return withKeys(m, kv...)
	}
	for _, tc := range []struct {
		raw  map[string]string
		want string
	}{
		{base("iceberg.tables", ""), `"iceberg.tables": is empty`},
		{base("iceberg.tables.dynamic-enabled", "true"), `"iceberg.tables.route-field": is empty but iceberg.tables.dynamic-enabled is true`},
		{base("iceberg.tables.dynamic-enabled", "true", "iceberg.tables.route-field", "site"), `"iceberg.tables": is set but iceberg.tables.dynamic-enabled is true`},
		{base("iceberg.tables.route-field", "site"), `"iceberg.table.clickstream.events.route-regex": is missing`},
		{base("iceberg.tables", "a..b"), `"iceberg.tables": entry 1 "a..b": has an empty part`},
		{base("iceberg.table.clickstream.events.partition-by", "week(timestamp)"), `"iceberg.table.clickstream.events.partition-by": "week(timestamp)": unknown transform "week"`},
		{base("iceberg.table.clickstream.events.id-columns", "event_id,nope"), `"iceberg.table.clickstream.events.id-columns": "nope" is not a click event field`},
		{base("iceberg.table.clickstream.events.route-regex", "("), `"iceberg.table.clickstream.events.route-regex": is not a regular expression`},
		{base("iceberg.catalog.uri", ""), `"iceberg.catalog.uri"`},
		{base("iceberg.catalog.warehouse", "gs://b/x"), `"iceberg.catalog.warehouse": "gs://b/x" is not a file:// or s3:// location`},
		{base("iceberg.catalog.warehouse", "file://rel/dir"), `needs an absolute path`},
		{base("iceberg.catalog.type", "hive"), `"iceberg.catalog.type"`},
		{base("iceberg.control.commit.records", "0"), `"iceberg.control.commit.records"`},
		{base("iceberg.table.x.unknown", "1"), `"iceberg.table.x.unknown": is not a key`},
		{base("iceberg.tables.rollup-topics-regex", "[a"), `"iceberg.tables.rollup-topics-regex": is not a regular expression`},
	} {
		_, err := tryDecode(tc.raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %v:\n got %v\nwant an error containing %s", tc.raw, err, tc.want)
		}
	}
	// A good config with dynamic keys decodes.
	cfg := decode(t, base("iceberg.table.clickstream.events.partition-by", "hour(timestamp), bucket(8,user_id)",
		"iceberg.catalog.s3.endpoint", "http://127.0.0.1:9000"))
	if got := cfg.CatalogOptions().Props["s3.endpoint"]; got != "http://127.0.0.1:9000" {
		t.Errorf("catalog io property s3.endpoint = %q, want it passed to the catalog", got)
	}
}

func TestPluginDefaults(t *testing.T) {
	cfg := decode(t, map[string]string{"iceberg.tables": events, "iceberg.catalog.uri": "/tmp/c.db", "iceberg.catalog.warehouse": "file:///tmp/w"})
	if cfg.CommitInterval != time.Minute || cfg.CommitRecords != 500000 || cfg.DefaultPartitionBy != "day(timestamp)" || cfg.CatalogType != "sql" || cfg.AutoCreate {
		t.Errorf("defaults: %+v", cfg)
	}
	if _, err := iceberg.New(cfg, connector.TaskInfo{}); err == nil {
		t.Error("New without a connector name: no error; the offsets are stored under that name")
	}
}

// TestTableLayout: a created event table is partitioned by day of the
// event time, has the identifier columns asked for, and rejects records
// that lack them.
func TestTableLayout(t *testing.T) {
	cfg := newCfg(t, map[string]string{"iceberg.table.clickstream.events.id-columns": "event_id"})
	s := newSink(t, cfg, connector.TaskInfo{})
	p0 := tp(0)
	open(t, s, map[connector.TopicPartition]int64{p0: 0})
	batch := recs(p0, 0, 3)
	batch = append(batch, rec(p0, 3, `{"timestamp":"2026-01-01T00:00:00Z","user_id":"u"}`))
	err := s.Write(context.Background(), batch)
	var be *connector.BatchError
	if !errors.As(err, &be) || len(be.Records) != 1 || be.Records[0].Index != 3 || !strings.Contains(be.Records[0].Err.Error(), `field "event_id" is missing, but it is a required (identifier) column`) {
		t.Fatalf("Write of an event without its identifier column: %v, want a BatchError for index 3 naming event_id", err)
	}
	if got := flush(t, s)[p0]; got != 4 {
		t.Errorf("Flush reported %d, want 4 (past the rejected record)", got)
	}
	ctx := context.Background()
	cat := must[catalog.Catalog](t)(iceberg.OpenCatalog(ctx, cfg.CatalogOptions()))
	defer iceberg.CloseCatalog(cat)
	tbl := must[interface {
		Spec() ice.PartitionSpec
		Schema() *ice.Schema
	}](t)(cat.LoadTable(ctx, iceberg.Ident(events)))
	if got := tbl.Spec().String(); !strings.Contains(got, "day") || !strings.Contains(got, "timestamp") {
		t.Errorf("partition spec %s, want day(timestamp)", got)
	}
	var ids []string
	for _, id := range tbl.Schema().IdentifierFieldIDs {
		f, _ := tbl.Schema().FindFieldByID(id)
		ids = append(ids, f.Name)
	}
	if !slices.Equal(ids, []string{"event_id"}) {
		t.Errorf("identifier fields %v, want [event_id]", ids)
	}
	wantOnce(t, readTable(t, cfg, events), p0, 3)
}

// TestSchemaEvolution: with evolution on, new fields become optional
// columns typed from their JSON values; a later value of another type is
// rejected naming field and types; with evolution off they stay in _extra.
func TestSchemaEvolution(t *testing.T) {
	cfg := newCfg(t, map[string]string{"iceberg.tables.evolve-schema-enabled": "true"})
	s := newSink(t, cfg, connector.TaskInfo{})
	p0 := tp(0)
	open(t, s, map[connector.TopicPartition]int64{p0: 0})
	ev := func(extra string) string {
		return `{"event_id":"e","timestamp":"2026-01-01T10:00:00.000Z","user_id":"u"` + extra + `}`
	}
	write(t, s, []connector.Record{rec(p0, 0, ev(``)), rec(p0, 1, ev(`,"plan":"pro","score":7,"ratio":0.5,"vip":true,"tags":["a"]`))})
	err := s.Write(context.Background(), []connector.Record{rec(p0, 2, ev(`,"score":"high"`)), rec(p0, 3, ev(`,"score":8`))})
	var be *connector.BatchError
	if !errors.As(err, &be) || len(be.Records) != 1 || be.Records[0].Index != 0 ||
		!strings.Contains(be.Records[0].Err.Error(), `field "score": column of table clickstream.events is long, got string "high"`) {
		t.Fatalf("Write of a string into the long column score: %v", err)
	}
	flush(t, s)
	rows := readTable(t, cfg, events)
	byOff := map[int64]row{}
	for _, r := range rows {
		_, _, off := coords(r)
		byOff[off] = r
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3: %v", len(rows), rows)
	}
	r1 := byOff[1]
	if r1["plan"] != "pro" || r1["score"] != int64(7) || r1["ratio"] != 0.5 || r1["vip"] != true {
		t.Errorf("evolved columns of offset 1: %v", r1)
	}
	if r1["_extra"] != `{"tags":["a"]}` {
		t.Errorf("_extra of offset 1 = %v, want the array field only", r1["_extra"])
	}
	if byOff[3]["score"] != int64(8) {
		t.Errorf("offset 3 score = %v, want 8", byOff[3]["score"])
	}

	// Evolution off: unknown fields stay in _extra.
	cfg2 := newCfg(t, nil)
	s2 := newSink(t, cfg2, connector.TaskInfo{})
	open(t, s2, map[connector.TopicPartition]int64{p0: 0})
	write(t, s2, []connector.Record{rec(p0, 0, ev(`,"plan":"pro"`))})
	flush(t, s2)
	rows = readTable(t, cfg2, events)
	if len(rows) != 1 || rows[0]["_extra"] != `{"plan":"pro"}` || rows[0]["plan"] != nil {
		t.Errorf("without evolution: %v, want plan in _extra", rows)
	}
}

// TestWidening: a table made elsewhere with an int duration_ms and a
// float revenue is widened to long and double when a value needs it and
// evolution is on; without evolution the record goes to the DLQ.
func TestWidening(t *testing.T) {
	for _, evolve := range []bool{true, false} {
		t.Run(fmt.Sprint("evolve=", evolve), func(t *testing.T) {
			cfg := newCfg(t, map[string]string{"iceberg.tables.evolve-schema-enabled": fmt.Sprint(evolve), "iceberg.tables.auto-create-enabled": "false"})
			ctx := context.Background()
			cat := must[catalog.Catalog](t)(iceberg.OpenCatalog(ctx, cfg.CatalogOptions()))
			defer iceberg.CloseCatalog(cat)
			if err := cat.CreateNamespace(ctx, catalog.ToIdentifier("clickstream"), nil); err != nil {
				t.Fatal(err)
			}
			sc := ice.NewSchema(0,
				ice.NestedField{ID: 1, Name: "event_id", Type: ice.PrimitiveTypes.String},
				ice.NestedField{ID: 2, Name: "duration_ms", Type: ice.PrimitiveTypes.Int32},
				ice.NestedField{ID: 3, Name: "revenue", Type: ice.PrimitiveTypes.Float32},
				ice.NestedField{ID: 4, Name: "_topic", Type: ice.PrimitiveTypes.String, Required: true},
				ice.NestedField{ID: 5, Name: "_partition", Type: ice.PrimitiveTypes.Int32, Required: true},
				ice.NestedField{ID: 6, Name: "_offset", Type: ice.PrimitiveTypes.Int64, Required: true},
			)
			if _, err := cat.CreateTable(ctx, iceberg.Ident(events), sc); err != nil {
				t.Fatal(err)
			}
			s := newSink(t, cfg, connector.TaskInfo{})
			p0 := tp(0)
			open(t, s, map[connector.TopicPartition]int64{p0: 0})
			err := s.Write(ctx, []connector.Record{
				rec(p0, 0, `{"event_id":"a","duration_ms":5,"revenue":1.5}`),
				rec(p0, 1, `{"event_id":"b","duration_ms":5000000000}`),
				rec(p0, 2, `{"event_id":"c","revenue":0.1}`),
			})
			flush(t, s)
			tbl := must[interface{ Schema() *ice.Schema }](t)(cat.LoadTable(ctx, iceberg.Ident(events)))
			d, _ := tbl.Schema().FindFieldByName("duration_ms")
			r, _ := tbl.Schema().FindFieldByName("revenue")
			rows := readTable(t, cfg, events)
			if evolve {
				if err != nil {
					t.Fatalf("Write: %v", err)
				}
				if !d.Type.Equals(ice.PrimitiveTypes.Int64) || !r.Type.Equals(ice.PrimitiveTypes.Float64) {
					t.Errorf("after widening: duration_ms %s, revenue %s; want long and double", d.Type, r.Type)
				}
				wantOnce(t, rows, p0, 3)
				for _, rw := range rows {
					if rw["event_id"] == "b" && rw["duration_ms"] != int64(5000000000) {
						t.Errorf("b's duration_ms = %v", rw["duration_ms"])
					}
				}
				return
			}
			var be *connector.BatchError
			if !errors.As(err, &be) || len(be.Records) != 2 || !strings.Contains(be.Records[0].Err.Error(), `field "duration_ms": column of table clickstream.events is int, got integer 5000000000 (widening it to long needs iceberg.tables.evolve-schema-enabled=true)`) {
				t.Fatalf("Write without evolution: %v, want BatchError for 1 and 2 naming the widening", err)
			}
			if len(rows) != 1 || !d.Type.Equals(ice.PrimitiveTypes.Int32) {
				t.Errorf("without evolution: %d rows, duration_ms %s; want 1 row, int", len(rows), d.Type)
			}
		})
	}
}

// TestRebalanceMidCommit: while A commits partition 0, B (its new owner
// after a rebalance) commits the same partition first. A must not commit:
// it gets ErrFenced, its data files are deleted, and the table holds every
// record once. Another task committing a different partition in the
// middle of A's commit only makes A retry on the new head.
func TestRebalanceMidCommit(t *testing.T) {
	cfg := newCfg(t, nil)
	rebalanceMidCommit(t, cfg, cfg.Warehouse)
}

// rebalanceMidCommit is TestRebalanceMidCommit on the catalog of cfg,
// whose data files are under the file:// location warehouse.
func rebalanceMidCommit(t *testing.T, cfg *iceberg.Config, warehouse string) {
	p0, p1 := tp(0), tp(1)
	a := newSink(t, cfg, connector.TaskInfo{})
	b := newSink(t, cfg, connector.TaskInfo{})
	c := newSink(t, cfg, connector.TaskInfo{})
	open(t, a, map[connector.TopicPartition]int64{p0: 0})
	write(t, a, recs(p0, 0, 10))
	flush(t, a) // 10 committed by A

	// A different partition committed in the middle: A retries and wins.
	open(t, c, map[connector.TopicPartition]int64{p1: 0})
	write(t, c, recs(p1, 0, 5))
	write(t, a, recs(p0, 10, 20))
	calls := 0
	a.SetBeforeCommit(func(string) {
		calls++
		if calls == 1 {
			if got := flush(t, c)[p1]; got != 5 {
				t.Errorf("C's Flush reported %d for %s, want 5", got, p1)
			}
		}
	})
	if got := flush(t, a)[p0]; got != 20 {
		t.Fatalf("A's Flush after a conflict on another partition reported %d, want 20", got)
	}
	if calls < 2 {
		t.Errorf("A's commit ran %d time(s); the conflict should have made it retry", calls)
	}

	// The rebalance: B takes partition 0 from 20 while A still writes it.
	write(t, a, recs(p0, 20, 30))
	a.SetBeforeCommit(func(string) {
		a.SetBeforeCommit(nil)
		r := open(t, b, map[connector.TopicPartition]int64{p0: 20})
		write(t, b, recs(p0, r[p0], 35))
		if got := flush(t, b)[p0]; got != 35 {
			t.Errorf("B's Flush reported %d, want 35", got)
		}
	})
	_, err := a.Flush(context.Background())
	if !errors.Is(err, connector.ErrFenced) {
		t.Fatalf("A's Flush after B committed its partition: %v, want ErrFenced", err)
	}
	if err := a.Write(context.Background(), recs(p0, 30, 31)); !errors.Is(err, connector.ErrFenced) {
		t.Errorf("A's Write after it was fenced: %v, want ErrFenced", err)
	}
	rows := readTable(t, cfg, events)
	wantOnce(t, rows, p0, 35)
	wantOnce(t, rows, p1, 5)
	onDisk := dataFiles(t, warehouse)
	slices.Sort(onDisk)
	if ref := referencedFiles(t, cfg, events); !slices.Equal(onDisk, ref) {
		t.Errorf("data files on disk %v\nbut the snapshot references %v: the fenced or retried commit left orphans", onDisk, ref)
	}
}

// TestOpenResumesFromSnapshot: Kafka's committed offsets may lag the
// table. Open asks for no seek (the records in between must pass the
// framework again, for their dead letters), and Write skips the rows the
// tables' snapshots already hold: written again from the lagging offset,
// every record is in both tables once.
func TestOpenResumesFromSnapshot(t *testing.T) {
	cfg := newCfg(t, map[string]string{"iceberg.tables": events + ",clickstream.copy"})
	p0 := tp(0)
	a := newSink(t, cfg, connector.TaskInfo{})
	open(t, a, map[connector.TopicPartition]int64{p0: 0})
	write(t, a, recs(p0, 0, 12))
	flush(t, a)
	b := newSink(t, cfg, connector.TaskInfo{})
	if r := open(t, b, map[connector.TopicPartition]int64{p0: 3}); r[p0] != 3 {
		t.Errorf("Open at 3 asked to seek to %d; it must leave the offset (the dead letters of the records in between come again)", r[p0])
	}
	write(t, b, recs(p0, 3, 15))
	if got := flush(t, b)[p0]; got != 15 {
		t.Errorf("Flush after writing up to 15 reported %d", got)
	}
	for _, name := range []string{events, "clickstream.copy"} {
		wantOnce(t, readTable(t, cfg, name), p0, 15)
	}
	// Another connector's offsets in the same table are its own: its
	// records are not skipped.
	o := newSink(t, cfg, connector.TaskInfo{Connector: "other"})
	open(t, o, map[connector.TopicPartition]int64{p0: 0})
	write(t, o, recs(p0, 0, 2))
	flush(t, o)
	if got := offsetsOf(readTable(t, cfg, events), p0); got[0] != 2 || got[1] != 2 {
		t.Errorf("offsets 0 and 1 stored %d and %d times; want twice, once per connector", got[0], got[1])
	}
}

// TestRollupTable: records of the window stage's rollup topic land in the
// rollup table, one row per result id and version; reopening below what
// the table holds deletes the rows from there on, so the replay is stored
// once.
func TestRollupTable(t *testing.T) {
	cfg := newCfg(t, nil)
	info := connector.TaskInfo{RollupTopic: "clickstream.agg.pageviews"}
	rt := connector.TopicPartition{Topic: "clickstream.agg.pageviews"}
	result := func(off int64) connector.Record {
		v := fmt.Sprintf(`{"id":"r%d","version":%d,"aggregate":"pageviews","window_start":"2026-01-01T10:0%d:00Z","window_end":"2026-01-01T10:0%d:00Z","key":{"page":"/p"},"values":{"count":%d}}`, off%3, off/3+1, off%5, off%5+1, off)
		return connector.Record{Topic: rt.Topic, Offset: off, Value: []byte(v)}
	}
	write10 := func(s *iceberg.Sink, from int64) {
		var batch []connector.Record
		for off := from; off < 10; off++ {
			batch = append(batch, result(off))
		}
		batch = append(batch, connector.Record{Topic: rt.Topic, Offset: 10, Value: []byte(`{"id":"x","window_start":"soon"}`)})
		err := s.Write(context.Background(), batch)
		var be *connector.BatchError
		if !errors.As(err, &be) || len(be.Records) != 1 || !strings.Contains(be.Records[0].Err.Error(), `"window_start"`) {
			t.Fatalf("Write of a bad window result: %v, want a BatchError naming window_start", err)
		}
		flush(t, s)
	}
	a := newSink(t, cfg, info)
	open(t, a, map[connector.TopicPartition]int64{rt: 0})
	write10(a, 0)
	rows := readTable(t, cfg, "clickstream.rollups")
	wantOnce(t, rows, rt, 10)
	for _, r := range rows {
		if _, _, off := coords(r); off == 4 {
			if r["id"] != "r1" || r["version"] != int64(2) || r["values"] != `{"count":4}` || r["key"] != `{"page":"/p"}` {
				t.Errorf("rollup row at 4: %v", r)
			}
		}
	}
	if n := len(readTable(t, cfg, events)); n != 0 {
		t.Errorf("%d window results in the events table", n)
	}
	b := newSink(t, cfg, info)
	if r := open(t, b, map[connector.TopicPartition]int64{rt: 6}); r[rt] != 6 {
		t.Errorf("rollup partition resumed at %d, want the assigned 6", r[rt])
	}
	if got := len(readTable(t, cfg, "clickstream.rollups")); got != 6 {
		t.Errorf("after Open at 6 the table holds %d rows, want 6", got)
	}
	write10(b, 6)
	wantOnce(t, readTable(t, cfg, "clickstream.rollups"), rt, 10)
}

// TestDynamicRouting: each event goes to the table its route field names,
// created on first use; an event without the field goes to the DLQ.
func TestDynamicRouting(t *testing.T) {
	cfg := newCfg(t, map[string]string{"iceberg.tables": "", "iceberg.tables.dynamic-enabled": "true", "iceberg.tables.route-field": "event_type"})
	s := newSink(t, cfg, connector.TaskInfo{})
	p0 := tp(0)
	open(t, s, map[connector.TopicPartition]int64{p0: 0})
	err := s.Write(context.Background(), []connector.Record{
		rec(p0, 0, `{"event_id":"a","event_type":"click"}`),
		rec(p0, 1, `{"event_id":"b","event_type":"Purchase"}`),
		rec(p0, 2, `{"event_id":"c"}`),
		rec(p0, 3, `{"event_id":"d","event_type":"click"}`),
	})
	var be *connector.BatchError
	if !errors.As(err, &be) || len(be.Records) != 1 || be.Records[0].Index != 2 || !strings.Contains(be.Records[0].Err.Error(), `route field "event_type" is missing`) {
		t.Fatalf("Write: %v, want a BatchError for index 2", err)
	}
	flush(t, s)
	if n := len(readTable(t, cfg, "clickstream.click")); n != 2 {
		t.Errorf("clickstream.click has %d rows, want 2", n)
	}
	if n := len(readTable(t, cfg, "clickstream.purchase")); n != 1 {
		t.Errorf("clickstream.purchase has %d rows, want 1", n)
	}
	if _, err := s.ResetOffsets(context.Background(), map[connector.TopicPartition]int64{p0: 0}); err == nil || !strings.Contains(err.Error(), "dynamic-enabled") {
		t.Errorf("ResetOffsets with dynamic routing: %v, want a refusal", err)
	}
}

// TestCommitTriggers: nothing is committed before the interval unless the
// record bound is reached, which commits in Write.
func TestCommitTriggers(t *testing.T) {
	cfg := newCfg(t, map[string]string{"iceberg.control.commit.interval-ms": "3600000", "iceberg.control.commit.records": "10"})
	s := newSink(t, cfg, connector.TaskInfo{})
	p0 := tp(0)
	open(t, s, map[connector.TopicPartition]int64{p0: 0})
	write(t, s, recs(p0, 0, 6))
	if got := flush(t, s)[p0]; got != 0 {
		t.Errorf("Flush before any trigger reported %d, want 0", got)
	}
	if n := len(readTable(t, cfg, events)); n != 0 {
		t.Errorf("%d rows committed before any trigger", n)
	}
	write(t, s, recs(p0, 6, 12)) // 12 buffered: past the bound
	write(t, s, recs(p0, 12, 13))
	if n := len(readTable(t, cfg, events)); n != 12 {
		t.Errorf("%d rows committed after the record bound was passed, want 12", n)
	}
	if got := flush(t, s)[p0]; got != 12 {
		t.Errorf("Flush reported %d, want 12 (the 13th is still buffered)", got)
	}
}

// TestMaintenance: compaction rewrites the small files of each day into
// fewer files with the same rows, keeps the offsets Open finds, and
// expiring snapshots keeps them too.
func TestMaintenance(t *testing.T) {
	cfg := newCfg(t, nil)
	maintenance(t, cfg, cfg.Warehouse)
}

// maintenance is TestMaintenance on the catalog of cfg, whose files are
// under the file:// location warehouse.
func maintenance(t *testing.T, cfg *iceberg.Config, warehouse string) {
	p0 := tp(0)
	s := newSink(t, cfg, connector.TaskInfo{})
	open(t, s, map[connector.TopicPartition]int64{p0: 0})
	for i := int64(0); i < 8; i++ {
		write(t, s, recs(p0, i*50, i*50+50))
		flush(t, s)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := referencedFiles(t, cfg, events)
	ctx := context.Background()
	cat := must[catalog.Catalog](t)(iceberg.OpenCatalog(ctx, cfg.CatalogOptions()))
	defer iceberg.CloseCatalog(cat)
	res, err := iceberg.Compact(ctx, cat, events, iceberg.CompactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after := referencedFiles(t, cfg, events)
	if len(after) >= len(before) || res.FilesAfter != len(after) || res.Rows != 400 {
		t.Errorf("compaction: %d files before, %d after (result %+v); want fewer, 400 rows rewritten", len(before), len(after), res)
	}
	wantOnce(t, readTable(t, cfg, events), p0, 400)
	rewrite := func(when string) {
		t.Helper()
		s := newSink(t, cfg, connector.TaskInfo{})
		open(t, s, map[connector.TopicPartition]int64{p0: 0})
		write(t, s, recs(p0, 0, 400))
		if got := flush(t, s)[p0]; got != 400 {
			t.Errorf("%s: Flush after writing everything again reported %d, want 400", when, got)
		}
		wantOnce(t, readTable(t, cfg, events), p0, 400)
	}
	rewrite("after compaction") // the stored offsets survive it: nothing is taken twice

	exp, err := iceberg.ExpireSnapshots(ctx, cat, events, iceberg.ExpireOptions{OlderThan: 0, RetainLast: 1})
	if err != nil {
		t.Fatal(err)
	}
	if exp.Before < 9 || exp.After != 1 {
		t.Errorf("expiry: %+v, want 9+ snapshots down to 1", exp)
	}
	onDisk := dataFiles(t, warehouse)
	slices.Sort(onDisk)
	if !slices.Equal(onDisk, after) {
		t.Errorf("after expiry the disk holds %d data files, the snapshot references %d", len(onDisk), len(after))
	}
	rewrite("after expiry")

	// An orphan (a file of a commit whose process died) is removed.
	orphan := filepath.Join(filepath.Dir(after[0]), "00000-0-orphan.parquet")
	if err := os.WriteFile(orphan, must[[]byte](t)(os.ReadFile(after[0])), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(orphan, old, old); err != nil {
		t.Fatal(err)
	}
	removed, err := iceberg.RemoveOrphans(ctx, cat, events, time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) || len(removed) != 1 {
		t.Errorf("RemoveOrphans removed %v; the orphan %s: %v", removed, orphan, err)
	}
	wantOnce(t, readTable(t, cfg, events), p0, 400)
}

// TestRollupOnlyConnector: a connector reading a window connector's result
// topics needs no event table; an event on another topic goes to the DLQ.
// Its warehouse may be a local directory.
func TestRollupOnlyConnector(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfg := decode(t, map[string]string{
		"iceberg.catalog.uri": "meta/catalog.db", "iceberg.catalog.warehouse": "lake",
		"iceberg.tables.rollup-topics-regex": "clickstream[.]agg[.].*",
		"iceberg.tables.auto-create-enabled": "true", "iceberg.control.commit.interval-ms": "0",
	})
	s := newSink(t, cfg, connector.TaskInfo{})
	agg, ev := connector.TopicPartition{Topic: "clickstream.agg.metrics-1m"}, tp(0)
	open(t, s, map[connector.TopicPartition]int64{agg: 0, ev: 0})
	err := s.Write(context.Background(), []connector.Record{
		rec(agg, 0, `{"id":"a","version":1,"aggregate":"metrics_1m","window_start":"2026-01-01T10:00:00Z","window_end":"2026-01-01T10:01:00Z","key":{},"values":{"events":3}}`),
		rec(ev, 0, `{"event_id":"x"}`),
	})
	var be *connector.BatchError
	if !errors.As(err, &be) || len(be.Records) != 1 || be.Records[0].Index != 1 || !strings.Contains(be.Records[0].Err.Error(), "iceberg.tables is empty") {
		t.Fatalf("Write: %v, want a BatchError for the event", err)
	}
	flush(t, s)
	if rows := readTable(t, cfg, "clickstream.rollups"); len(rows) != 1 || rows[0]["values"] != `{"events":3}` {
		t.Errorf("rollup table: %v", rows)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake", "clickstream.db", "rollups", "data")); err != nil {
		t.Errorf("the relative warehouse directory was not used: %v", err)
	}
}

// TestStoreDown: while MinIO is down a Flush fails with a retryable error
// and reports nothing; once it is back the same Flush commits, and every
// record is stored once.
func TestStoreDown(t *testing.T) {
	keys, m := minioWarehouseServer(t)
	keys["iceberg.tables"] = events
	keys["iceberg.tables.auto-create-enabled"] = "true"
	keys["iceberg.control.commit.interval-ms"] = "0"
	cfg := decode(t, keys)
	s := newSink(t, cfg, connector.TaskInfo{})
	p0 := tp(0)
	open(t, s, map[connector.TopicPartition]int64{p0: 0})
	write(t, s, recs(p0, 0, 10))
	flush(t, s)
	write(t, s, recs(p0, 10, 20))
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got, err := s.Flush(ctx)
	if _, retry := connector.IsRetryable(err); !retry || got != nil {
		t.Fatalf("Flush with MinIO down: %v, %v; want a retryable error and no offsets", got, err)
	}
	t.Logf("Flush with MinIO down: %v", err)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if got := flush(t, s)[p0]; got != 20 {
		t.Errorf("Flush after MinIO came back reported %d, want 20", got)
	}
	wantOnce(t, readTable(t, cfg, events), p0, 20)
}

// withKeys sets m's keys from kv (key, value, key, value, …), deleting a
// key whose value is empty, and returns m.
func withKeys(m map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}
