package worker_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/sources/generator"
)

// The window stage of a sink connector against a real (embedded) Kafka:
// generated events → file sink with window.* keys (1-minute tumbling
// windows per page_url: count and unique users) → the files hold one JSON
// line per rollup, equal to a computation over the same events that does
// not use windowing/ (expectedWindows); and a worker stopped midway and
// replaced by a new one on the same Kafka and directory leaves the files
// holding each result once, byte for byte those of an uninterrupted run.

// windowStageConfig is a file sink with a window stage. Files are cut
// every 50 rollups or 250 ms, more slowly than the task commits, so some
// rounds find rollups not yet durable and defer their commit.
func windowStageConfig(dir string) map[string]string {
	return map[string]string{
		"connector.class":              "file",
		"topics":                       "clicks",
		"file.dir":                     dir,
		"flush.size":                   "50",
		"flush.interval.ms":            "250",
		"offset.flush.interval.ms":     "100",
		"window.size.ms":               "60000",
		"window.idle.timeout.ms":       "4000",
		"window.group.by":              "page_url",
		"window.result.name":           "pages_1m",
		"window.aggregates":            "views,users",
		"window.aggregate.views.type":  "count",
		"window.aggregate.users.type":  "distinct",
		"window.aggregate.users.field": "user_id",
	}
}

// readRollups reads the rollups the file sink holds under dir: the
// records of the synthetic partition pages.rollups/0, which must sit at
// offsets 0, 1, 2, … with each result id once.
func readRollups(tb testing.TB, dir string) map[string]winResult {
	tb.Helper()
	out := map[string]winResult{}
	var next int64
	for _, e := range readFiles(tb, dir) {
		if e.Topic != "pages.rollups" || e.Partition != 0 {
			tb.Fatalf("the files hold a record of %s/%d; want only pages.rollups/0 (%s)", e.Topic, e.Partition, e.File)
		}
		if e.Offset != next {
			tb.Errorf("rollup at offset %d, want %d (%s)", e.Offset, next, e.File)
		}
		next = e.Offset + 1
		var res winResult
		if err := json.Unmarshal(e.Value, &res); err != nil {
			tb.Fatalf("%s offset %d: %v: %.200q", e.File, e.Offset, err, e.Value)
		}
		res.raw = string(e.Value)
		if old, dup := out[res.ID]; dup {
			tb.Errorf("result %s is in the files twice: versions %d and %d", res.ID, old.Version, res.Version)
		}
		out[res.ID] = res
	}
	return out
}

// countRollups is readRollups for polling.
func countRollups(dir string) int { return countFiles(dir) }

// How runWindowStage stops its first worker.
type stageRestart int

const (
	noRestart stageRestart = iota
	// restartCommitted stops the first worker once it committed (state,
	// offsets and rollup sequence number in the changelog).
	restartCommitted
	// restartEarly stops it as soon as rollups are in the files, most
	// likely before they were committed: the next instance must remove
	// them and write them again.
	restartEarly
)

// runWindowStage runs the sink with a window stage over winEvents events
// on a broker of its own. With a restart, the first worker sees the first
// half of the events and is stopped once its files hold a quarter of the
// results (and, for restartCommitted, it committed); a new worker on the
// same Kafka and directory resumes from the committed offsets and the
// changelog and sees the rest.
func runWindowStage(t *testing.T, restart stageRestart) map[string]winResult {
	_, logger := newLogs(t)
	addr := startBroker(t, logger)
	reg := newRegistry(t)
	dir := filepath.Join(t.TempDir(), "files")
	e, err := generator.NewEngine(winOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := len(expectedWindows(t, winEvents))
	k := newClient(t, addr, logger)
	if restart != noRestart {
		produceFrom(t, k, "clicks", e, winEvents/2)
		w1 := startWorker(t, k, reg, logger, shutdown, parseConfig(t, reg, "pages", windowStageConfig(dir)))
		waitFor(t, 60*time.Second, func() bool {
			w1.checkNotFailed(t)
			tot, _ := w1.Totals("pages")
			return countRollups(dir) > want/4 && (restart == restartEarly || tot.Committed > 0)
		}, func() string { tot, _ := w1.Totals("pages"); return "first worker: " + fmtTotals(tot) })
		w1.stop(t, shutdown+5*time.Second)
		tot, _ := w1.Totals("pages")
		t.Logf("first worker: %s; rollups in files %d of %d", fmtTotals(tot), countRollups(dir), want)
		produceFrom(t, k, "clicks", e, winEvents-winEvents/2)
	} else {
		produceFrom(t, k, "clicks", e, winEvents)
	}
	k2 := newClient(t, addr, logger)
	w := startWorker(t, k2, reg, logger, shutdown, parseConfig(t, reg, "pages", windowStageConfig(dir)))
	waitFor(t, 90*time.Second, func() bool {
		w.checkNotFailed(t)
		return countRollups(dir) >= want
	}, func() string {
		tot, _ := w.Totals("pages")
		return fmt.Sprintf("%d of %d rollups; totals %s", countRollups(dir), want, fmtTotals(tot))
	})
	time.Sleep(500 * time.Millisecond) // nothing more may come
	w.stop(t, shutdown+5*time.Second)
	recs := readTopic(t, k2, "clicks")
	checkGroupCovers(t, k2, "connect-pages", "clicks", recs)
	cl := readTopic(t, k2, "pages-window-changelog")
	if len(cl) == 0 {
		t.Error("the changelog pages-window-changelog is empty")
	}
	got := readRollups(t, dir)
	var seq string
	for _, r := range cl {
		if string(r.Key) == "connectd.window.seq" {
			seq = string(r.Value)
		}
	}
	if seq != fmt.Sprint(len(got)) {
		t.Errorf("the changelog's rollup sequence number is %q; the files hold %d rollups", seq, len(got))
	}
	return got
}

// TestWindowStageMatchesComputation: an uninterrupted run and runs
// stopped and resumed by a new worker (after a commit, and before one)
// all equal the independent computation, and each other (same ids, same
// bytes), each result once.
func TestWindowStageMatchesComputation(t *testing.T) {
	t.Parallel()
	var plain, committed, early map[string]winResult
	t.Run("group", func(t *testing.T) {
		t.Run("uninterrupted", func(t *testing.T) {
			t.Parallel()
			plain = runWindowStage(t, noRestart)
			checkAgainstComputation(t, plain)
		})
		t.Run("restarted-after-commit", func(t *testing.T) {
			t.Parallel()
			committed = runWindowStage(t, restartCommitted)
			checkAgainstComputation(t, committed)
		})
		t.Run("restarted-early", func(t *testing.T) {
			t.Parallel()
			early = runWindowStage(t, restartEarly)
			checkAgainstComputation(t, early)
		})
	})
	if t.Failed() {
		return
	}
	sameResults(t, "restarted after a commit", plain, committed)
	sameResults(t, "restarted early", plain, early)
}

// TestWindowStageConfig: the worker's registry rejects a bad window key
// naming it, and a window stage with tasks.max=2.
func TestWindowStageConfig(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	for _, tc := range []struct{ key, val, want string }{
		{"window.size.ms", "soon", `"window.size.ms"`},
		{"window.aggregate.users.type", "median", `"window.aggregate.users.type"`},
		{"window.sise.ms", "60000", `"window.sise.ms"`},
		{"tasks.max", "2", `"tasks.max"`},
	} {
		kv := windowStageConfig(t.TempDir())
		kv[tc.key] = tc.val
		_, err := reg.Parse("pages", kv)
		if err == nil {
			t.Errorf("%s=%s accepted", tc.key, tc.val)
			continue
		}
		var ce *connector.ConfigError
		if !strings.Contains(err.Error(), tc.want) || !errors.As(err, &ce) {
			t.Errorf("%s=%s: %v; want a *connector.ConfigError naming %s", tc.key, tc.val, err, tc.want)
		}
	}
}

// TestWindowStageDeadLetters: with errors.tolerance=all, a record the
// window stage cannot place (not a JSON object, no event time) goes to
// the dead-letter topic with stage TASK_PUT; the rest are aggregated.
func TestWindowStageDeadLetters(t *testing.T) {
	t.Parallel()
	_, logger := newLogs(t)
	addr := startBroker(t, logger)
	k := newClient(t, addr, logger)
	reg := newRegistry(t)
	dir := filepath.Join(t.TempDir(), "files")
	e, err := generator.NewEngine(winOptions())
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000 // 150 s of event time: two closed minutes
	produceFrom(t, k, "clicks", e, n)
	bad := [][]byte{
		[]byte(`[1,2]`),
		[]byte(`{"user_id":"u","page_url":"/"}`),
		[]byte(`{"timestamp":17,"page_url":"/"}`),
		[]byte(`{"timestamp":"yesterday","page_url":"/"}`),
	}
	cm, err := k.NewCommitter(connector.ProducerConfig{TransactionalID: "test-produce-bad"})
	if err != nil {
		t.Fatal(err)
	}
	var recs []connector.ProducerRecord
	for _, v := range bad {
		recs = append(recs, connector.ProducerRecord{Topic: "clicks", Partition: 0, Value: v})
	}
	if err := cm.Commit(t.Context(), recs, nil, nil); err != nil {
		t.Fatal(err)
	}
	cm.Close()

	kv := windowStageConfig(dir)
	kv["errors.tolerance"] = "all"
	kv["errors.deadletterqueue.topic.name"] = "clicks.dlq"
	want := len(expectedWindows(t, n))
	w := startWorker(t, k, reg, logger, shutdown, parseConfig(t, reg, "pages", kv))
	waitFor(t, 60*time.Second, func() bool {
		w.checkNotFailed(t)
		return countRollups(dir) >= want && len(readTopic(t, k, "clicks.dlq")) >= len(bad)
	}, func() string {
		tot, _ := w.Totals("pages")
		return fmt.Sprintf("%d of %d rollups, %d dead letters; totals %s", countRollups(dir), want, len(readTopic(t, k, "clicks.dlq")), fmtTotals(tot))
	})
	w.stop(t, shutdown+5*time.Second)
	dlq := readTopic(t, k, "clicks.dlq")
	sameMultiset(t, "dead-letter topic", recordValues(dlq), bad)
	for i := range dlq {
		h := headerMap(&dlq[i])
		if h["__connect.errors.stage"] != "TASK_PUT" || h["__connect.errors.class.name"] != "io.connectd.window.WindowStage" {
			t.Errorf("dead letter %.60q: headers %v", dlq[i].Value, h)
		}
	}
	got := readRollups(t, dir)
	if len(got) != want {
		t.Errorf("%d rollups, want %d", len(got), want)
	}
	checkGroupCovers(t, k, "connect-pages", "clicks", readTopic(t, k, "clicks"))
}
