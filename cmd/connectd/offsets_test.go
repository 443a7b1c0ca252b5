package main

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd/worker"
)

// The worker in these tests is the canned HTTP server of ctl_test.go: they
// test the CLI's side of the REST calls (what it sends, in which order, and
// what it prints), not the worker's.

func TestParseResetModes(t *testing.T) {
	at, _ := time.Parse(time.RFC3339, "2026-11-01T09:30:00+01:00")
	for _, tc := range []struct {
		args []string
		want worker.ResetSpec
	}{
		{[]string{"--to-earliest"}, worker.ResetSpec{To: "earliest"}},
		{[]string{"--to-latest"}, worker.ResetSpec{To: "latest"}},
		{[]string{"--to-datetime", "2026-11-01T09:30:00+01:00"}, worker.ResetSpec{To: "datetime", Datetime: at}},
		{[]string{"--to-offset", "clicks:0:1200", "--to-offset=clicks.dlq:11:0"}, worker.ResetSpec{To: "offsets", Offsets: []worker.PartitionOffset{{Topic: "clicks", Partition: 0, Offset: 1200}, {Topic: "clicks.dlq", Partition: 11, Offset: 0}}}},
		{[]string{"--shift-by", "-1000"}, worker.ResetSpec{To: "shift", Shift: -1000}},
		{[]string{"--shift-by=25"}, worker.ResetSpec{To: "shift", Shift: 25}},
		{[]string{"--to-earliest", "--to-latest=false"}, worker.ResetSpec{To: "earliest"}},
	} {
		req, _, err := parseReset(append([]string{"--connector", "files"}, tc.args...), io.Discard)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if req.connector != "files" || !reflect.DeepEqual(req.spec, tc.want) || req.dryRun {
			t.Errorf("%q: %+v, want %+v", tc.args, req, tc.want)
		}
	}
	req, cf, err := parseReset([]string{"--dry-run", "--to-earliest", "--connector=gen", "--url", "http://w:9000"}, io.Discard)
	if err != nil || !req.dryRun || req.connector != "gen" || cf.url != "http://w:9000" {
		t.Errorf("dry run: %+v %+v %v", req, cf, err)
	}
}

func TestParseResetErrors(t *testing.T) {
	const modes = "--to-earliest, --to-latest, --to-datetime, --to-offset, --shift-by"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--to-earliest"}, "--connector is required: the name of the connector to reset"},
		{[]string{"--connector", "files"}, "say where to move the offsets with one of " + modes},
		{[]string{"--connector", "files", "--to-earliest", "--shift-by", "-5"}, "--to-earliest and --shift-by cannot be combined: use exactly one of " + modes},
		{[]string{"--connector", "files", "--to-offset", "c:0:1", "--to-latest", "--to-datetime", "2026-11-01T08:00:00Z"}, "--to-latest, --to-datetime and --to-offset cannot be combined: use exactly one of " + modes},
		{[]string{"--connector", "files", "--to-offset", "clicks:0"}, `--to-offset "clicks:0": want TOPIC:PARTITION:OFFSET, e.g. clicks:0:1200`},
		{[]string{"--connector", "files", "--to-offset", "clicks"}, `--to-offset "clicks": want TOPIC:PARTITION:OFFSET, e.g. clicks:0:1200`},
		{[]string{"--connector", "files", "--to-offset", ":0:5"}, `--to-offset ":0:5": want TOPIC:PARTITION:OFFSET, e.g. clicks:0:1200`},
		{[]string{"--connector", "files", "--to-offset", "a:b:c:d"}, `--to-offset "a:b:c:d": want TOPIC:PARTITION:OFFSET, e.g. clicks:0:1200`},
		{[]string{"--connector", "files", "--to-offset", "clicks:x:5"}, `--to-offset "clicks:x:5": partition "x" is not a partition number; want TOPIC:PARTITION:OFFSET, e.g. clicks:0:1200`},
		{[]string{"--connector", "files", "--to-offset", "clicks:-1:5"}, `--to-offset "clicks:-1:5": partition "-1" is not a partition number; want TOPIC:PARTITION:OFFSET, e.g. clicks:0:1200`},
		{[]string{"--connector", "files", "--to-offset", "clicks:0:-5"}, `--to-offset "clicks:0:-5": offset "-5" is not an offset (a whole number, 0 or more); want TOPIC:PARTITION:OFFSET, e.g. clicks:0:1200`},
		{[]string{"--connector", "files", "--to-offset", "clicks:0:1", "--to-offset", "clicks:0:2"}, "--to-offset: partition clicks:0 is given twice"},
		{[]string{"--connector", "files", "--to-datetime", "2026-11-01 08:00:00"}, `--to-datetime "2026-11-01 08:00:00": want an RFC3339 time with its zone, e.g. 2026-11-01T08:30:00Z or 2026-11-01T09:30:00+01:00`},
		{[]string{"--connector", "files", "--to-datetime", "2026-11-01T08:00:00"}, `--to-datetime "2026-11-01T08:00:00": want an RFC3339 time with its zone, e.g. 2026-11-01T08:30:00Z or 2026-11-01T09:30:00+01:00`},
		{[]string{"--connector", "files", "--to-datetime", "2026-13-01T08:00:00Z"}, `--to-datetime "2026-13-01T08:00:00Z": want an RFC3339 time with its zone, e.g. 2026-11-01T08:30:00Z or 2026-11-01T09:30:00+01:00`},
		{[]string{"--connector", "files", "--shift-by", "1e3"}, `--shift-by "1e3": want a whole number of offsets, negative to replay (e.g. -1000)`},
		{[]string{"--connector", "files", "--to-earliest", "extra"}, `unexpected arguments ["extra"]: flags only (connectd offsets reset --help)`},
	} {
		_, _, err := parseReset(tc.args, io.Discard)
		if !errors.As(err, new(usageError)) || err.Error() != tc.want {
			t.Errorf("%q: error %v\nwant usage error %q", tc.args, err, tc.want)
		}
	}
}

func TestOffsetsUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "name a command: get or reset (connectd offsets --help)"},
		{[]string{"rewind"}, `unknown command "rewind": use get or reset`},
		{[]string{"get"}, "--connector is required: the name of the connector"},
		{[]string{"reset", "--connector", "files", "--to-earliest", "--url", "localhost"}, `--url "localhost": want an http:// or https:// URL, such as http://127.0.0.1:8083`},
	} {
		_, err := ctl(t, nil, cmdOffsets, tc.args...)
		if !errors.As(err, new(usageError)) || err.Error() != tc.want {
			t.Errorf("%q: error %v, want usage error %q", tc.args, err, tc.want)
		}
	}
}

func TestWritePlan(t *testing.T) {
	var b strings.Builder
	total := writePlan(&b, []worker.PlanRow{
		{Topic: "clicks", Partition: 0, Current: 15230, Target: 7000, Replay: 8230, Adjusted: true},
		{Topic: "clicks", Partition: 1, Current: 14870, Target: 7512, Replay: 7358},
		{Topic: "clicks", Partition: 10, Current: -1, Target: 0},
		{Topic: "clicks.retry", Partition: 2, Current: 40, Target: 100},
	})
	if total != 15588 {
		t.Errorf("total %d, want 15588", total)
	}
	checkOutput(t, b.String(), `TOPIC         PARTITION  CURRENT  TARGET  REPLAY  NOTE
clicks        0          15230    7000    8230    moved back to the start of a file
clicks        1          14870    7512    7358
clicks        10         none     0       0       no committed offset
clicks.retry  2          40       100     0       skips 60
Records to replay: 15588 (counted in offsets)
`)
}

// Recorded shapes: GET /connectors/files (Kafka Connect's ConnectorInfo),
// status, KIP-875 offsets, and connectd's plan.
const (
	filesInfo     = `{"name":"files","config":{"connector.class":"file","topics":"clicks","file.dir":"/d","name":"files"},"tasks":[{"connector":"files","task":0}],"type":"sink"}`
	filesRunning  = `{"name":"files","connector":{"state":"RUNNING","worker_id":"w1:8083"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"w1:8083"}],"type":"sink"}`
	filesStopped  = `{"name":"files","connector":{"state":"STOPPED","worker_id":"w1:8083"},"tasks":[],"type":"sink"}`
	filesPlanBody = `{"plan":[{"topic":"clicks","partition":0,"current":15230,"target":7000,"replay":8230,"adjusted":true},{"topic":"clicks","partition":1,"current":14870,"target":7512,"replay":7358,"adjusted":false}]}`
	planTable     = `TOPIC   PARTITION  CURRENT  TARGET  REPLAY  NOTE
clicks  0          15230    7000    8230    moved back to the start of a file
clicks  1          14870    7512    7358
Records to replay: 15588 (counted in offsets)
`
)

// stateful makes the canned worker's status follow PUT stop/resume/pause.
func stateful(w *cannedWorker, initial string) {
	var mu sync.Mutex
	state := initial
	set := func(s string) func(string) (int, string) {
		return func(string) (int, string) {
			mu.Lock()
			defer mu.Unlock()
			state = s
			if s == "STOPPED" {
				return 204, ""
			}
			return 202, ""
		}
	}
	w.handle("PUT /connectors/files/stop", set("STOPPED"))
	w.handle("PUT /connectors/files/resume", set("RUNNING"))
	w.handle("PUT /connectors/files/pause", set("PAUSED"))
	w.handle("GET /connectors/files/status", func(string) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		switch state {
		case "STOPPED":
			return 200, filesStopped
		case "PAUSED":
			return 200, strings.ReplaceAll(filesRunning, "RUNNING", "PAUSED")
		}
		return 200, filesRunning
	})
}

func TestResetDryRun(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/files", 200, filesInfo)
	w.on("GET /connectors/files/status", 200, filesRunning)
	w.on("POST /connectors/files/offsets/plan", 200, filesPlanBody)
	out, err := ctl(t, w, cmdOffsets, "reset", "--connector", "files", "--to-datetime", "2026-11-01T09:30:00+01:00", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, "Plan for connector files, to the first records at or after 2026-11-01T08:30:00Z:\n"+planTable+
		"Dry run: nothing changed; connector files is RUNNING.\n")
	checkCalls(t, w,
		"GET /connectors/files",
		"GET /connectors/files/status",
		`POST /connectors/files/offsets/plan {"to":"datetime","datetime":"2026-11-01T09:30:00+01:00"}`)
}

func TestResetSink(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/files", 200, filesInfo)
	stateful(w, "RUNNING")
	w.on("POST /connectors/files/offsets/plan", 200, filesPlanBody)
	w.on("PATCH /connectors/files/offsets", 200, `{"message":"The offsets for this connector have been altered successfully"}`)
	out, err := ctl(t, w, cmdOffsets, "reset", "--connector", "files", "--shift-by", "-8000")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, "Stopped connector files (it was RUNNING).\n"+
		"Plan for connector files, by -8000 offsets:\n"+planTable+
		"Moved the offsets of connector files to the targets above.\n"+
		"Resumed connector files: it consumes 15588 offsets again.\n")
	checkCalls(t, w,
		"GET /connectors/files",
		"GET /connectors/files/status",
		"PUT /connectors/files/stop",
		"GET /connectors/files/status",
		`POST /connectors/files/offsets/plan {"to":"shift","shift":-8000}`,
		`PATCH /connectors/files/offsets {"offsets":[{"partition":{"kafka_partition":0,"kafka_topic":"clicks"},"offset":{"kafka_offset":7000}},{"partition":{"kafka_partition":1,"kafka_topic":"clicks"},"offset":{"kafka_offset":7512}}]}`,
		"PUT /connectors/files/resume")
}

func TestResetSinkPausedStaysPaused(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/files", 200, filesInfo)
	stateful(w, "PAUSED")
	w.on("POST /connectors/files/offsets/plan", 200, filesPlanBody)
	w.on("PATCH /connectors/files/offsets", 200, `{"message":"ok"}`)
	out, err := ctl(t, w, cmdOffsets, "reset", "--connector", "files", "--to-offset", "clicks:0:7000", "--to-offset", "clicks:1:7512")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "Paused connector files again, as it was; resume it with: connectd connectors resume files --url "+w.srv.URL+"\n") {
		t.Errorf("output:\n%s", out)
	}
	calls := w.requests()
	if calls[len(calls)-1] != "PUT /connectors/files/pause" {
		t.Errorf("last call %q, want the pause", calls[len(calls)-1])
	}
}

func TestResetSinkWaitsUntilStopped(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/files", 200, filesInfo)
	w.on("PUT /connectors/files/stop", 204, "")
	var mu sync.Mutex
	polls := 0
	w.handle("GET /connectors/files/status", func(string) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		polls++
		if polls < 4 { // the first answers the state before the stop
			return 200, filesRunning
		}
		return 200, filesStopped
	})
	w.on("POST /connectors/files/offsets/plan", 200, filesPlanBody)
	w.on("PATCH /connectors/files/offsets", 200, `{"message":"ok"}`)
	w.on("PUT /connectors/files/resume", 202, "")
	if _, err := ctl(t, w, cmdOffsets, "reset", "--connector", "files", "--to-earliest"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if polls != 4 {
		t.Errorf("status polled %d times, want 4", polls)
	}
}

func TestResetSinkNeverStops(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/files", 200, filesInfo)
	w.on("PUT /connectors/files/stop", 204, "")
	w.on("GET /connectors/files/status", 200, filesRunning)
	_, err := ctl(t, w, cmdOffsets, "reset", "--connector", "files", "--to-earliest", "--timeout", "500ms")
	want := "connector files is still RUNNING 500ms after it was asked to stop\n" +
		"connector files is left STOPPED and its offsets are unchanged; resume it with: connectd connectors resume files --url " + w.srv.URL
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

// answer is a canned status and body.
type answer struct {
	code int
	body string
}

func TestResetSinkFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		routes map[string]answer
		want   string // the error, %s the URL
		last   string // the last request
	}{
		{
			name:   "stop refused",
			routes: map[string]answer{"PUT /connectors/files/stop": {500, `{"error_code":500,"message":"store connector files: disk full"}`}},
			want:   "store connector files: disk full (HTTP 500)\nconnector files could not be stopped; nothing was changed",
			last:   "PUT /connectors/files/stop",
		},
		{
			name: "plan fails",
			routes: map[string]answer{
				"PUT /connectors/files/stop":          {204, ""},
				"POST /connectors/files/offsets/plan": {500, `{"error_code":500,"message":"list partitions of connector files: kafka: client has run out of available brokers"}`},
			},
			want: "list partitions of connector files: kafka: client has run out of available brokers (HTTP 500)\n" +
				"connector files is left STOPPED and its offsets are unchanged; resume it with: connectd connectors resume files --url %s",
			last: `POST /connectors/files/offsets/plan {"to":"earliest"}`,
		},
		{
			name: "alter fails",
			routes: map[string]answer{
				"PUT /connectors/files/stop":          {204, ""},
				"POST /connectors/files/offsets/plan": {200, filesPlanBody},
				"PATCH /connectors/files/offsets":     {500, `{"error_code":500,"message":"alter offsets of connector files: i/o timeout"}`},
			},
			want: "alter offsets of connector files: i/o timeout (HTTP 500)\n" +
				"connector files is left STOPPED and its offsets may be unchanged or partly moved: check them with `connectd offsets get --connector files --url %[1]s` and run this reset again; resume it with: connectd connectors resume files --url %[1]s",
			last: `PATCH /connectors/files/offsets {"offsets":[{"partition":{"kafka_partition":0,"kafka_topic":"clicks"},"offset":{"kafka_offset":7000}},{"partition":{"kafka_partition":1,"kafka_topic":"clicks"},"offset":{"kafka_offset":7512}}]}`,
		},
		{
			name: "resume fails",
			routes: map[string]answer{
				"PUT /connectors/files/stop":          {204, ""},
				"POST /connectors/files/offsets/plan": {200, filesPlanBody},
				"PATCH /connectors/files/offsets":     {200, `{"message":"ok"}`},
				"PUT /connectors/files/resume":        {409, `{"error_code":409,"message":"Cannot complete request because of a conflicting operation (e.g. worker rebalance)"}`},
			},
			want: "Cannot complete request because of a conflicting operation (e.g. worker rebalance) (HTTP 409)\n" +
				"connector files is left STOPPED and its offsets are moved as planned; resume it with: connectd connectors resume files --url %s",
			last: "PUT /connectors/files/resume",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newCannedWorker(t)
			w.on("GET /connectors/files", 200, filesInfo)
			var mu sync.Mutex
			stopped := false
			w.handle("GET /connectors/files/status", func(string) (int, string) {
				mu.Lock()
				defer mu.Unlock()
				if stopped {
					return 200, filesStopped
				}
				stopped = true // answered once before the stop
				return 200, filesRunning
			})
			for route, a := range tc.routes {
				w.on(route, a.code, a.body)
			}
			_, err := ctl(t, w, cmdOffsets, "reset", "--connector", "files", "--to-earliest")
			want := strings.ReplaceAll(strings.ReplaceAll(tc.want, "%[1]s", w.srv.URL), "%s", w.srv.URL)
			if err == nil || err.Error() != want {
				t.Errorf("error:\n%v\nwant:\n%s", err, want)
			}
			if errors.As(err, new(usageError)) {
				t.Error("a failed reset is a usage error (exit 2); want exit 1")
			}
			calls := w.requests()
			if calls[len(calls)-1] != tc.last {
				t.Errorf("last request %q, want %q", calls[len(calls)-1], tc.last)
			}
		})
	}
}

const (
	genInfo    = `{"name":"gen","config":{"connector.class":"generator","name":"gen"},"tasks":[{"connector":"gen","task":0}],"type":"source"}`
	genRunning = `{"name":"gen","connector":{"state":"RUNNING","worker_id":"w1"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"w1"}],"type":"source"}`
	genStopped = `{"name":"gen","connector":{"state":"STOPPED","worker_id":"w1"},"tasks":[],"type":"source"}`
	genOffsets = `{"offsets":[{"partition":{"task":0,"tasks":1},"offset":{"position":60000,"start_ms":1793520000000}}]}`
)

func TestResetSourceOnlyToEarliest(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/gen", 200, genInfo)
	w.on("GET /connectors/gen/status", 200, genRunning)
	_, err := ctl(t, w, cmdOffsets, "reset", "--connector", "gen", "--to-datetime", "2026-11-01T08:00:00Z")
	want := "connector gen is a source: only --to-earliest is possible (its offsets are deleted and it starts again from its beginning)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	checkCalls(t, w, "GET /connectors/gen", "GET /connectors/gen/status")
}

func TestResetSource(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/gen", 200, genInfo)
	var mu sync.Mutex
	state := genRunning
	w.handle("GET /connectors/gen/status", func(string) (int, string) { mu.Lock(); defer mu.Unlock(); return 200, state })
	w.handle("PUT /connectors/gen/stop", func(string) (int, string) { mu.Lock(); defer mu.Unlock(); state = genStopped; return 204, "" })
	w.on("GET /connectors/gen/offsets", 200, genOffsets)
	w.on("DELETE /connectors/gen/offsets", 200, `{"message":"The offsets for this connector have been reset successfully"}`)
	w.on("PUT /connectors/gen/resume", 202, "")
	out, err := ctl(t, w, cmdOffsets, "reset", "--connector", "gen", "--to-earliest")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, `Connector gen (a source) has these offsets; a reset deletes them, so it starts again from its beginning:
PARTITION             OFFSET
{"task":0,"tasks":1}  {"position":60000,"start_ms":1793520000000}
Stopped connector gen (it was RUNNING).
Deleted the offsets of connector gen.
Resumed connector gen: it starts again from its beginning.
`)
	checkCalls(t, w,
		"GET /connectors/gen",
		"GET /connectors/gen/status",
		"GET /connectors/gen/offsets",
		"PUT /connectors/gen/stop",
		"GET /connectors/gen/status",
		"DELETE /connectors/gen/offsets",
		"PUT /connectors/gen/resume")
}

func TestResetSourceDryRun(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/gen", 200, genInfo)
	w.on("GET /connectors/gen/status", 200, genRunning)
	w.on("GET /connectors/gen/offsets", 200, genOffsets)
	out, err := ctl(t, w, cmdOffsets, "reset", "--connector", "gen", "--to-earliest", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "Dry run: nothing changed; connector gen is RUNNING.\n") {
		t.Errorf("output:\n%s", out)
	}
	checkCalls(t, w, "GET /connectors/gen", "GET /connectors/gen/status", "GET /connectors/gen/offsets")
}

func TestResetUnknownConnector(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/nope", 404, `{"error_code":404,"message":"Connector nope not found"}`)
	_, err := ctl(t, w, cmdOffsets, "reset", "--connector", "nope", "--to-earliest")
	if err == nil || err.Error() != "Connector nope not found (HTTP 404)" {
		t.Errorf("error %v", err)
	}
	checkCalls(t, w, "GET /connectors/nope")
}

func TestOffsetsGet(t *testing.T) {
	w := newCannedWorker(t)
	// Large offsets must print as integers, not in float notation.
	w.on("GET /connectors/files/offsets", 200, `{"offsets":[{"partition":{"kafka_topic":"clicks","kafka_partition":0},"offset":{"kafka_offset":15230}},{"partition":{"kafka_topic":"clicks","kafka_partition":1},"offset":{"kafka_offset":123456789012}}]}`)
	w.on("GET /connectors/gen/offsets", 200, genOffsets)
	w.on("GET /connectors/empty/offsets", 200, `{"offsets":[]}`)
	out, err := ctl(t, w, cmdOffsets, "get", "--connector", "files")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, `TOPIC   PARTITION  OFFSET
clicks  0          15230
clicks  1          123456789012
`)
	out, err = ctl(t, w, cmdOffsets, "get", "--connector", "gen")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, `PARTITION             OFFSET
{"task":0,"tasks":1}  {"position":60000,"start_ms":1793520000000}
`)
	out, err = ctl(t, w, cmdOffsets, "get", "--connector", "empty")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, "Connector empty has no committed offsets.\n")
}
