package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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

// TestIcebergCommandsREST: an http(s) --catalog-uri (or --catalog-type
// rest) makes the maintenance commands speak the REST catalog protocol,
// with --prop passing the credentials. A fake server answers the config
// request and reports the table missing: the full maintenance path through
// a REST catalog is TestMaintenanceREST in sinks/iceberg, against a
// stand-in REST catalog backed by the real SQL catalog.
func TestIcebergCommandsREST(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("Authorization") != "Bearer t0ken":
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "no token", "type": "NotAuthorizedException", "code": 401}})
		case r.URL.Path == "/v1/config":
			_ = json.NewEncoder(w).Encode(map[string]any{"defaults": map[string]string{}, "overrides": map[string]string{}})
		default:
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "Table does not exist: cs.events", "type": "NoSuchTableException", "code": 404}})
		}
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	code := run([]string{"iceberg", "offsets", "--catalog-uri", srv.URL, "--prop", "token=t0ken", "--table", "cs.events"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "load table cs.events") || !strings.Contains(errb.String(), "NoSuchTableException") {
		t.Errorf("offsets against a REST catalog without the table: exit %d, %q", code, errb.String())
	}
	if want := []string{"GET /v1/config", "GET /v1/namespaces/cs/tables/events"}; strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Errorf("the REST server saw %v, want %v", paths, want)
	}
	errb.Reset()
	if code := run([]string{"iceberg", "offsets", "--catalog-uri", srv.URL, "--catalog-type", "sql", "--table", "cs.events"}, &bytes.Buffer{}, &errb); code != 1 || !strings.Contains(errb.String(), "is a URL, not a SQLite file") {
		t.Errorf("--catalog-type sql with an http URI: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"iceberg", "compact", "--catalog-uri", srv.URL, "--catalog-type", "hive", "--table", "cs.events"}, &bytes.Buffer{}, &errb); code != 2 || !strings.Contains(errb.String(), `--catalog-type "hive": want sql or rest`) {
		t.Errorf("--catalog-type hive: exit %d, %q", code, errb.String())
	}
}
