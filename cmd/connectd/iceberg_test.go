package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
	"github.com/connectd/connectd/sinks/iceberg"
)

// TestIcebergMaintenanceCommands: compact rewrites a table of many small
// commits into fewer files, expire-snapshots drops the old snapshots, and
// offsets still prints what the sink stored, through the command line.
func TestIcebergMaintenanceCommands(t *testing.T) {
	dir := t.TempDir()
	uri, wh := filepath.Join(dir, "catalog.db"), filepath.Join(dir, "warehouse")
	raw := map[string]string{"connector.class": iceberg.Class, "topics": "clicks", "iceberg.tables": "cs.events",
		"iceberg.tables.auto-create-enabled": "true", "iceberg.control.commit.interval-ms": "0",
		"iceberg.catalog.uri": uri, "iceberg.catalog.warehouse": wh}
	reg := connector.NewRegistry()
	if err := reg.Register(iceberg.Plugin()); err != nil {
		t.Fatal(err)
	}
	cc, err := reg.Parse("lake", raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg := cc.PluginConfig.(*iceberg.Config)
	s, err := iceberg.New(cfg, connector.TaskInfo{Connector: "lake"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tp := connector.TopicPartition{Topic: "clicks", Partition: 2}
	if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tp: 0}); err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 5; i++ {
		var batch []connector.Record
		for off := i * 10; off < i*10+10; off++ {
			batch = append(batch, connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off, Value: sinktest.DefaultValue(tp, off)})
		}
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		full := append([]string{"iceberg"}, args...)
		full = append(full, "--catalog-uri", uri, "--warehouse", wh, "--table", "cs.events")
		if code := run(full, &out, &errb); code != 0 {
			t.Fatalf("connectd %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	out := cli("compact")
	m := regexp.MustCompile(`(\d+) data files before, (\d+) after: \d+ rewritten into \d+ \((\d+) rows\)`).FindStringSubmatch(out)
	if m == nil || m[1] != "5" || m[2] != "1" || m[3] != "50" {
		t.Errorf("compact printed %q, want 5 files before, 1 after, 50 rows", out)
	}
	if out := cli("expire-snapshots", "--older-than", "0s", "--retain-last", "1"); !strings.Contains(out, "after") || !strings.HasSuffix(strings.TrimSpace(out), "1 after") {
		t.Errorf("expire-snapshots printed %q, want 1 snapshot after", out)
	}
	if out := cli("offsets"); !regexp.MustCompile(`lake\s+clicks\s+2\s+50`).MatchString(out) {
		t.Errorf("offsets printed %q, want lake clicks 2 50", out)
	}
	var errb bytes.Buffer
	if code := run([]string{"iceberg", "compact", "--table", "cs.events"}, &bytes.Buffer{}, &errb); code != 2 || !strings.Contains(errb.String(), "--catalog-uri and --table are required") {
		t.Errorf("compact without --catalog-uri: exit %d, %q", code, errb.String())
	}
}
