package sinktest_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
)

// memHarness runs the suite against memSink with the given flaw.
func memHarness(flaw string, flushSize, flushEvery int) sinktest.Harness {
	store := &memStore{}
	return sinktest.Harness{
		New: func(t *testing.T) connector.Sink {
			return &memSink{store: store, flaw: flaw, flushSize: flushSize, flushEvery: flushEvery, parts: map[connector.TopicPartition]*memPart{}}
		},
		Read: func(t *testing.T) []sinktest.Stored { return store.read() },
		BadRecord: func(i int) connector.Record {
			return connector.Record{Value: fmt.Appendf(nil, "BAD record %d", i)}
		},
		FlushTimeout: 5 * time.Second,
	}
}

// TestMemSink runs the suite against a correct in-memory sink, cutting
// chunks in Write and, in the second config, keeping tails buffered across
// Flush calls.
func TestMemSink(t *testing.T) {
	t.Run("cut_in_write", func(t *testing.T) { sinktest.Run(t, memHarness("", 4, 1)) })
	t.Run("buffered_tail", func(t *testing.T) { sinktest.Run(t, memHarness("", 3, 3)) })
}

// TestBrokenSinkHelper is the body of the child processes that
// TestSuiteCatchesBrokenSinks starts; it does nothing in a normal run.
func TestBrokenSinkHelper(t *testing.T) {
	flaw, ok := os.LookupEnv("SINKTEST_FLAW")
	if !ok {
		t.Skip("runs only as a child of TestSuiteCatchesBrokenSinks")
	}
	h := memHarness(flaw, 3, 2)
	if flaw == "no_bad_record_hook" {
		h.BadRecord = nil
	}
	if flaw == "not_a_resetter" {
		inner := h.New
		h.New = func(t *testing.T) connector.Sink { return struct{ connector.Sink }{inner(t)} }
	}
	sinktest.Run(t, h)
}

// TestSuiteCatchesBrokenSinks runs the suite against sinks with one flaw
// each, in a child process, and checks that the subtests meant to catch the
// flaw fail (and that hooks left out skip with a reason).
func TestSuiteCatchesBrokenSinks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child test processes")
	}
	for _, tc := range []struct {
		flaw     string
		wantFail []string
		wantSkip []string
	}{
		{flaw: "lying_flush", wantFail: []string{"basic", "flush_reports_only_durable"}},
		{flaw: "no_cleanup", wantFail: []string{"idempotent_replay", "crash_between_write_and_commit", "resume_inside_flushed_range"}},
		{flaw: "keeps_revoked", wantFail: []string{"revoke_and_reassign"}},
		{flaw: "wrong_bad_index", wantFail: []string{"bad_records"}},
		{flaw: "foreign_open", wantFail: []string{"open_contract"}},
		{flaw: "keeps_batch_slice", wantFail: []string{"basic", "many_small_batches"}},
		{flaw: "no_skip", wantFail: []string{"rewrite_after_retry"}},
		{flaw: "reset_forward", wantFail: []string{"reset_offsets"}},
		{flaw: "global_offset", wantFail: []string{"many_small_batches"}},
		{flaw: "stop_needs_open", wantFail: []string{"close_then_stop"}},
		{flaw: "no_bad_record_hook", wantSkip: []string{"bad_records"}},
		{flaw: "not_a_resetter", wantSkip: []string{"reset_offsets"}},
	} {
		t.Run(tc.flaw, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenSinkHelper$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "SINKTEST_FLAW="+tc.flaw)
			out, err := cmd.CombinedOutput()
			failed := err != nil
			if failed != (len(tc.wantFail) > 0) {
				t.Errorf("child run failed=%v (%v), want failed=%v; output:\n%s", failed, err, len(tc.wantFail) > 0, out)
			}
			for _, sub := range tc.wantFail {
				if !regexp.MustCompile(`--- FAIL: TestBrokenSinkHelper/` + sub + ` `).Match(out) {
					t.Errorf("subtest %s did not fail; output:\n%s", sub, out)
				}
			}
			for _, sub := range tc.wantSkip {
				if !regexp.MustCompile(`--- SKIP: TestBrokenSinkHelper/` + sub + ` `).Match(out) {
					t.Errorf("subtest %s was not skipped; output:\n%s", sub, out)
				}
			}
		})
	}
}

func TestDefaultValue(t *testing.T) {
	ids := map[string]bool{}
	for _, tp := range []connector.TopicPartition{{Topic: "a", Partition: 0}, {Topic: "a", Partition: 1}, {Topic: "b", Partition: 0}} {
		for off := range int64(500) {
			v := sinktest.DefaultValue(tp, off)
			var ev map[string]any
			if err := json.Unmarshal(v, &ev); err != nil {
				t.Fatalf("%s@%d: not JSON: %v: %s", tp, off, err, v)
			}
			id, _ := ev["event_id"].(string)
			if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
				t.Fatalf("%s@%d: event_id %q is not a version 8 UUID", tp, off, id)
			}
			if ids[id] {
				t.Fatalf("%s@%d: event_id %q repeats", tp, off, id)
			}
			ids[id] = true
			ts, _ := ev["timestamp"].(string)
			parsed, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil || !strings.HasSuffix(ts, "Z") || len(ts) != len("2026-01-01T00:00:00.000Z") {
				t.Fatalf("%s@%d: timestamp %q is not RFC3339 with milliseconds (%v)", tp, off, ts, err)
			}
			if !parsed.Equal(sinktest.EventTime(tp, off)) {
				t.Fatalf("%s@%d: timestamp %s, want %s", tp, off, parsed, sinktest.EventTime(tp, off))
			}
			for _, f := range []string{"event_type", "user_id", "session_id", "url", "device", "country"} {
				if s, _ := ev[f].(string); s == "" {
					t.Fatalf("%s@%d: field %s is empty: %s", tp, off, f, v)
				}
			}
			if string(v) != string(sinktest.DefaultValue(tp, off)) {
				t.Fatalf("%s@%d: DefaultValue is not deterministic", tp, off)
			}
		}
	}
}

func TestSameJSON(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":"x"}`, `{ "b": "x", "a": 1 }`, true},
		{`{"a":1}`, `{"a":1.0}`, false}, // numbers compare by their text
		{`{"a":1}`, `{"a":2}`, false},
		{`{"a":1}`, `not json`, false},
		{`[1,2]`, `[1,2]`, true},
	} {
		if got := sinktest.SameJSON([]byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("SameJSON(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
