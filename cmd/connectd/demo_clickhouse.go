package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/internal/chserver"
	"github.com/connectd/connectd/worker"
)

// startDemoClickHouse starts chdb-host with its data in dir/data on free
// 127.0.0.1 ports (internal/chserver), in its own process group so the
// terminal's Ctrl-C reaches only the demo, which stops it after the sinks
// flushed.
func startDemoClickHouse(bin, dir string) (*chserver.Server, error) {
	s, err := chserver.New(bin, dir)
	if err != nil {
		return nil, err
	}
	if err := s.Start(60 * time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

// isClickHouseFile reports whether a demo config file holds a ClickHouse
// sink connector (it is named clickhouse-*.json).
func isClickHouseFile(path string) bool {
	return strings.HasPrefix(filepath.Base(path), "clickhouse-")
}

// demoConfigDir writes the demo's effective connector files to out: the
// files of src as they are, and the ClickHouse ones pointed at ch (over
// HTTP, see below) or, when ch is nil, left out. It returns the names of
// the connectors left out.
//
// The ports change from run to run (the demo takes free ones), so the
// ClickHouse files change too and the worker takes their new hostname and
// port (a changed file wins over the stored config). HTTP rather than
// native: libchdb aborts when a native connection is reset before its
// handshake (sinks/clickhouse/README.md, Limits), HTTP does not.
func demoConfigDir(src, out string, ch *chserver.Server) (skipped []string, err error) {
	files, err := worker.ConfigFiles(src)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if isClickHouseFile(f) {
			var env struct {
				Name   string            `json:"name"`
				Config map[string]string `json:"config"`
			}
			if err := json.Unmarshal(data, &env); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if ch == nil {
				skipped = append(skipped, env.Name)
				continue
			}
			env.Config["hostname"] = "127.0.0.1"
			env.Config["port"] = strconv.Itoa(ch.HTTPPort)
			env.Config["protocol"] = "http"
			if data, err = json.MarshalIndent(env, "", "  "); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(out, filepath.Base(f)), data, 0o644); err != nil {
			return nil, err
		}
	}
	return skipped, nil
}

// forgetConnectors removes names from the demo's connector store, so
// that ClickHouse connectors a run with --clickhouse-host stored do not
// start (and fail to connect) in a run without it.
func forgetConnectors(storeDir string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	store, err := worker.NewFileStore(storeDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := store.Remove(n); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
