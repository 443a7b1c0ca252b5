//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/connectd/connectd/sources/generator"
)

const (
	pipelineEvents = 200_000
	pipelineRate   = 25_000
	pipelineStart  = "2026-11-01T08:00:00Z"
)

// expectedEvents regenerates, with the engine the generator connector
// uses, the events a generator with these settings writes, in order.
func expectedEvents(t *testing.T, seed int64, users int, badRatio float64) []generator.Event {
	t.Helper()
	start, _ := time.Parse(time.RFC3339, pipelineStart)
	e, err := generator.NewEngine(generator.Options{Seed: seed, Users: users, Start: start, EventsPerSecond: pipelineRate, BadRecordRatio: badRatio})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]generator.Event, pipelineEvents)
	for i := range out {
		out[i] = e.Next()
	}
	return out
}

// pipelineConfigs writes a generator and a file sink connector.
func pipelineConfigs(t *testing.T, configDir, filesDir string, seed int64, badRatio float64, sinkExtra map[string]string) {
	writeConfig(t, configDir, "gen", map[string]string{
		"connector.class":                   "generator",
		"topic":                             "clicks",
		"max.events":                        strconv.Itoa(pipelineEvents),
		"events.per.second":                 strconv.Itoa(pipelineRate),
		"users":                             "5000",
		"seed":                              strconv.FormatInt(seed, 10),
		"start.time":                        pipelineStart,
		"bad.record.ratio":                  strconv.FormatFloat(badRatio, 'f', -1, 64),
		"topic.creation.default.partitions": "4",
		"transaction.boundary.interval.ms":  "200",
	})
	sink := map[string]string{
		"connector.class":          "file",
		"topics":                   "clicks",
		"file.dir":                 filesDir,
		"flush.size":               "5000",
		"flush.interval.ms":        "300",
		"offset.flush.interval.ms": "500",
	}
	for k, v := range sinkExtra {
		sink[k] = v
	}
	writeConfig(t, configDir, "files", sink)
}

// killRepeatedly starts the worker and SIGKILLs it at random moments, n
// times, then starts it once more and returns that last process.
func killRepeatedly(t *testing.T, rng *rand.Rand, n int, dir, configDir, addr string) *proc {
	for i := 0; i < n; i++ {
		w := start(t, dir, fmt.Sprintf("worker-%d", i+1), nil, "run", "--config-dir", configDir, "--bootstrap-servers", addr, "--listen", "127.0.0.1:0", "--log-level", "debug")
		time.Sleep(time.Duration(1500+rng.IntN(3000)) * time.Millisecond)
		w.kill()
		t.Logf("SIGKILLed worker run %d", i+1)
	}
	return start(t, dir, fmt.Sprintf("worker-%d", n+1), nil, "run", "--config-dir", configDir, "--bootstrap-servers", addr, "--listen", "127.0.0.1:0", "--log-level", "debug")
}

type fileEvent struct {
	EventID string `json:"event_id"`
}

// TestFileSinkExactlyOnceUnderSIGKILL: a generator and a file sink in a
// worker process that is SIGKILLed several times; in the end every
// generated event is in the files exactly once.
func TestFileSinkExactlyOnceUnderSIGKILL(t *testing.T) {
	dir := t.TempDir()
	configDir, filesDir := filepath.Join(dir, "configs"), filepath.Join(dir, "files")
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr, _ := startKafka(t, filepath.Join(dir, "kafka"), dir)
	const seed = 7
	pipelineConfigs(t, configDir, filesDir, seed, 0, nil)
	want := expectedEvents(t, seed, 5000, 0)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	w := killRepeatedly(t, rng, 4, dir, configDir, addr)
	waitFor(t, 3*time.Minute, "every event in the files", func() (bool, string) {
		n := len(readLines(t, filesDir))
		return n >= pipelineEvents, fmt.Sprintf("%d lines", n)
	})
	w.stop(t, 30*time.Second)

	lines := readLines(t, filesDir)
	if len(lines) != pipelineEvents {
		t.Errorf("files hold %d events, want %d", len(lines), pipelineEvents)
	}
	ids := map[string]int{}
	byValue := map[string]int{}
	for _, l := range lines {
		var e fileEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line is not JSON: %v: %s", err, l)
		}
		ids[e.EventID]++
		byValue[l]++
	}
	if len(ids) != pipelineEvents {
		t.Errorf("files hold %d distinct event_ids, want %d", len(ids), pipelineEvents)
	}
	missing, doubled := 0, 0
	for _, e := range want {
		switch byValue[string(e.Value)] {
		case 0:
			missing++
		case 1:
		default:
			doubled++
		}
	}
	if missing > 0 || doubled > 0 {
		t.Errorf("of %d generated events, %d are missing from the files and %d are there more than once", len(want), missing, doubled)
	}
}

// TestDeadLetterQueueExactlyOnceUnderSIGKILL: with bad records, validation
// and errors.tolerance=all, every invalid event is in the dead-letter topic
// exactly once with its reason, and every valid one in the files exactly
// once, despite SIGKILLs.
func TestDeadLetterQueueExactlyOnceUnderSIGKILL(t *testing.T) {
	dir := t.TempDir()
	configDir, filesDir := filepath.Join(dir, "configs"), filepath.Join(dir, "files")
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr, _ := startKafka(t, filepath.Join(dir, "kafka"), dir)
	const seed, ratio = 11, 0.05
	pipelineConfigs(t, configDir, filesDir, seed, ratio, map[string]string{
		"transforms":                                    "validate",
		"transforms.validate.type":                      "validate",
		"errors.tolerance":                              "all",
		"errors.deadletterqueue.topic.name":             "clicks.dlq",
		"errors.deadletterqueue.context.headers.enable": "true",
	})
	want := expectedEvents(t, seed, 5000, ratio)
	// Multisets by value: two malformed events may be the same bytes.
	wantValid, wantInvalid := map[string]int{}, map[string]int{}
	invalidKind := map[string]generator.BadKind{}
	invalidTotal := 0
	for _, e := range want {
		if e.Bad.Invalid() {
			wantInvalid[string(e.Value)]++
			invalidKind[string(e.Value)] = e.Bad
			invalidTotal++
		} else {
			wantValid[string(e.Value)]++
		}
	}
	if invalidTotal < 1000 {
		t.Fatalf("only %d invalid events generated; the test needs more", invalidTotal)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	w := killRepeatedly(t, rng, 3, dir, configDir, addr)
	kc := kafkaClient(t, addr)
	waitFor(t, 3*time.Minute, "every valid event in the files and every invalid one in the DLQ", func() (bool, string) {
		n := len(readLines(t, filesDir))
		d := len(readTopic(t, kc, "clicks.dlq"))
		return n+d >= pipelineEvents, fmt.Sprintf("%d lines, %d dead letters", n, d)
	})
	w.stop(t, 30*time.Second)

	got := map[string]int{}
	for _, l := range readLines(t, filesDir) {
		got[l]++
	}
	for v, n := range wantValid {
		if got[v] != n {
			t.Errorf("valid event found %d times in the files, want %d: %.120s", got[v], n, v)
			break
		}
	}
	if len(got) != len(wantValid) {
		t.Errorf("files hold %d distinct events, want %d", len(got), len(wantValid))
	}

	dlq := readTopic(t, kc, "clicks.dlq")
	seen := map[string]int{}
	for _, r := range dlq {
		v := string(r.Value)
		seen[v]++
		kind, ok := invalidKind[v]
		if !ok {
			t.Errorf("DLQ holds a record that is not an invalid generated event: %.120s", v)
			continue
		}
		stage := string(r.Header("__connect.errors.stage"))
		reason := string(r.Header("__connect.errors.exception.message"))
		wantStage := "TRANSFORMATION"
		if kind == generator.BadMalformed {
			wantStage = "VALUE_CONVERTER"
		}
		if stage != wantStage || reason == "" {
			t.Errorf("dead letter of a %s event: stage %q reason %q, want stage %s and a reason", kind, stage, reason, wantStage)
		}
		for _, h := range []string{"__connect.errors.topic", "__connect.errors.partition", "__connect.errors.offset", "__connect.errors.connector.name", "__connect.errors.task.id", "__connect.errors.class.name", "__connect.errors.exception.class.name"} {
			if len(r.Header(h)) == 0 {
				t.Errorf("dead letter lacks header %s", h)
				break
			}
		}
	}
	for v, n := range wantInvalid {
		if seen[v] != n {
			t.Errorf("invalid event found %d times in the DLQ, want %d: %.120s", seen[v], n, v)
			break
		}
	}
	if len(dlq) != invalidTotal {
		t.Errorf("DLQ holds %d records, want %d", len(dlq), invalidTotal)
	}
}
