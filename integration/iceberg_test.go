//go:build integration

package integration

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/testservers"
	"github.com/connectd/connectd/sinks/iceberg"
	"github.com/connectd/connectd/sources/generator"
)

const (
	icebergEvents = 1_000_000
	icebergRate   = 100_000
	icebergRatio  = 0.03
	// icebergStart puts the 10 s of event time across midnight, so the
	// table has two day partitions to count.
	icebergStart = "2026-11-01T23:59:55Z"
)

// icebergSnapshotFiles lists the data files of the current snapshot of
// table name (from its manifests) and the rows they hold.
func icebergSnapshotFiles(t *testing.T, opts iceberg.CatalogOptions, name string) (files []string, records int64) {
	t.Helper()
	ctx := context.Background()
	cat, err := iceberg.OpenCatalog(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer iceberg.CloseCatalog(cat)
	tbl, err := cat.LoadTable(ctx, iceberg.Ident(name))
	if err != nil {
		return nil, 0
	}
	dfs, err := iceberg.DataFiles(ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range dfs {
		files = append(files, strings.TrimPrefix(f.FilePath(), "file://"))
		records += f.Count()
	}
	return files, records
}

// TestIcebergExactlyOnceUnderSIGKILL: a generator writes 1M events with 3%
// bad records to 4 partitions; an Iceberg sink connector of two tasks (their
// commits to the one table conflict and are retried) with the validate
// transform and a dead-letter topic lands them in a day-partitioned table
// on a file:// warehouse, in a worker SIGKILLed four times. In the end the
// table holds every valid event exactly once: as many rows as valid
// events, as many distinct event_ids as the generator made, no Kafka
// offset twice; and DuckDB, reading the Parquet files the current
// snapshot's manifests list, agrees on the rows per day computed from the
// generator's engine. The expected numbers never come from the sink.
func TestIcebergExactlyOnceUnderSIGKILL(t *testing.T) {
	dir := t.TempDir()
	configDir := filepath.Join(dir, "configs")
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr, _ := startKafka(t, filepath.Join(dir, "kafka"), dir)
	const seed = 31
	writeConfig(t, configDir, "gen", map[string]string{
		"connector.class":                   "generator",
		"topic":                             "clicks",
		"max.events":                        strconv.Itoa(icebergEvents),
		"events.per.second":                 strconv.Itoa(icebergRate),
		"users":                             "5000",
		"seed":                              strconv.FormatInt(seed, 10),
		"start.time":                        icebergStart,
		"bad.record.ratio":                  strconv.FormatFloat(icebergRatio, 'f', -1, 64),
		"topic.creation.default.partitions": "4",
		"transaction.boundary.interval.ms":  "200",
	})
	opts := iceberg.CatalogOptions{Type: "sql", URI: filepath.Join(dir, "catalog.db"), Warehouse: "file://" + filepath.Join(dir, "warehouse")}
	writeConfig(t, configDir, "lake", map[string]string{
		"connector.class":                    "iceberg",
		"tasks.max":                          "2",
		"topics":                             "clicks",
		"iceberg.tables":                     "clickstream.events",
		"iceberg.tables.auto-create-enabled": "true",
		"iceberg.catalog.uri":                opts.URI,
		"iceberg.catalog.warehouse":          opts.Warehouse,
		"iceberg.control.commit.interval-ms": "1500",
		"offset.flush.interval.ms":           "1000",
		"transforms":                         "validate",
		"transforms.validate.type":           "validate",
		"errors.tolerance":                   "all",
		"errors.deadletterqueue.topic.name":  "clicks.dlq",
	})

	start, _ := time.Parse(time.RFC3339, icebergStart)
	g := countGenerated(t, generator.Options{Seed: seed, Users: 5000, Start: start, EventsPerSecond: icebergRate, BadRecordRatio: icebergRatio}, icebergEvents)
	valid, invalid, ids, perDay := g.valid, g.invalid, g.ids, g.perDay
	if invalid < 10_000 || len(ids) == valid || len(perDay) < 2 {
		t.Fatalf("generated %d invalid events, %d distinct ids of %d valid ones, %d days: the test needs bad records of both kinds and two days", invalid, len(ids), valid, len(perDay))
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))
	w := killRepeatedly(t, rng, 4, dir, configDir, addr)
	waitFor(t, 3*time.Minute, "every valid event in the Iceberg table", func() (bool, string) {
		_, n := icebergSnapshotFiles(t, opts, "clickstream.events")
		return n >= int64(valid), fmt.Sprintf("%d of %d rows", n, valid)
	})
	time.Sleep(2 * time.Second) // a last commit may not add anything
	w.stop(t, 30*time.Second)

	files, records := icebergSnapshotFiles(t, opts, "clickstream.events")
	if records != int64(valid) {
		t.Errorf("the snapshot's data files hold %d rows, want the %d valid events", records, valid)
	}
	list := "['" + strings.Join(files, "','") + "']"
	rows := testservers.DuckDB(t, "SELECT count(*) AS n, count(DISTINCT event_id) AS ids, count(DISTINCT (_partition, _offset)) AS offs FROM read_parquet("+list+")")
	if got, want := fmt.Sprint(rows[0]["n"], " ", rows[0]["ids"], " ", rows[0]["offs"]), fmt.Sprint(valid, " ", len(ids), " ", valid); got != want {
		t.Errorf("DuckDB: count, distinct event_id, distinct offsets = %s, want %s", got, want)
	}
	days := testservers.DuckDB(t, "SELECT strftime(timestamp AT TIME ZONE 'UTC', '%Y-%m-%d') AS day, count(*) AS n FROM read_parquet("+list+") GROUP BY day ORDER BY day")
	got := map[string]int{}
	for _, r := range days {
		n, _ := strconv.Atoi(fmt.Sprint(r["n"]))
		got[fmt.Sprint(r["day"])] = n
	}
	if !maps.Equal(got, perDay) {
		t.Errorf("DuckDB counts per day %v, the generator made %v", got, perDay)
	}
	dlq := len(readTopic(t, kafkaClient(t, addr), "clicks.dlq"))
	if dlq != invalid {
		t.Errorf("the dead-letter topic holds %d records, want the %d invalid events", dlq, invalid)
	}
	var size int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			size += st.Size()
		}
	}
	onDisk := 0
	_ = filepath.WalkDir(filepath.Join(dir, "warehouse"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".parquet") && strings.Contains(p, "/data/") {
			onDisk++
		}
		return nil
	})
	t.Logf("%d valid events (%d distinct ids, per day %v), %d dead letters; %d data files, %.1f bytes/event; %d Parquet files on disk (the rest are orphans of killed commits)",
		valid, len(ids), perDay, dlq, len(files), float64(size)/float64(valid), onDisk)
}
