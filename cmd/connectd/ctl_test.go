package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// These tests check the CLI's HTTP client side, so the worker here is a
// canned HTTP server (net/http/httptest) answering with recorded Kafka
// Connect 3.9-shaped JSON; the real REST server is tested against a
// running worker elsewhere, and integration/reset_test.go drives the
// binary against one.

// cannedWorker answers "METHOD /path" with a canned status and body and
// records every request it gets.
type cannedWorker struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]func(body string) (int, string)
	calls  []string // "METHOD /path?query body"
}

func newCannedWorker(t *testing.T) *cannedWorker {
	t.Helper()
	w := &cannedWorker{t: t, routes: map[string]func(string) (int, string){}}
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.srv.Close)
	return w
}

// on sets the answer to "METHOD /path" (the query is not part of the key).
func (w *cannedWorker) on(route string, code int, body string) {
	w.handle(route, func(string) (int, string) { return code, body })
}

// handle sets a function answering "METHOD /path" from the request body.
func (w *cannedWorker) handle(route string, f func(body string) (int, string)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.routes[route] = f
}

func (w *cannedWorker) serve(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	call := r.Method + " " + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		call += "?" + r.URL.RawQuery
	}
	if len(b) > 0 {
		call += " " + string(b)
	}
	w.mu.Lock()
	w.calls = append(w.calls, call)
	f := w.routes[r.Method+" "+r.URL.EscapedPath()]
	w.mu.Unlock()
	code, body := http.StatusNotFound, `{"error_code":404,"message":"HTTP 404 Not Found"}`
	if f != nil {
		code, body = f(string(b))
	}
	if body != "" {
		rw.Header().Set("Content-Type", "application/json")
	}
	rw.WriteHeader(code)
	io.WriteString(rw, body)
}

// requests returns the calls made so far.
func (w *cannedWorker) requests() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}

// ctl runs a CLI function against the canned worker and returns its
// stdout.
func ctl(t *testing.T, w *cannedWorker, f func(context.Context, []string, io.Writer, io.Writer) error, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if w != nil {
		args = append(args, "--url", w.srv.URL)
	}
	err := f(context.Background(), args, &stdout, &stderr)
	return stdout.String(), err
}

func checkOutput(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func checkCalls(t *testing.T, w *cannedWorker, want ...string) {
	t.Helper()
	got := w.requests()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// Recorded from Kafka Connect 3.9 (GET /connectors?expand=status), worker
// ids and traces shortened.
const listExpandStatus = `{
  "gen": {"status": {"name": "gen", "connector": {"state": "RUNNING", "worker_id": "10.0.0.5:8083"},
    "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "10.0.0.5:8083"}], "type": "source"}},
  "clickhouse-events": {"status": {"name": "clickhouse-events", "connector": {"state": "RUNNING", "worker_id": "10.0.0.5:8083"},
    "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "10.0.0.5:8083"},
              {"id": 1, "state": "FAILED", "worker_id": "10.0.0.6:8083", "trace": "org.apache.kafka.connect.errors.ConnectException: boom\n\tat X"},
              {"id": 2, "state": "RUNNING", "worker_id": "10.0.0.6:8083"}], "type": "sink"}},
  "files": {"status": {"name": "files", "connector": {"state": "STOPPED", "worker_id": "10.0.0.5:8083"}, "tasks": [], "type": "sink"}}
}`

func TestConnectorsList(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors", 200, listExpandStatus)
	out, err := ctl(t, w, cmdConnectors, "list")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, `NAME               TYPE    STATE    TASKS
clickhouse-events  sink    RUNNING  2/3
files              sink    STOPPED  0/0
gen                source  RUNNING  1/1
`)
	checkCalls(t, w, "GET /connectors?expand=status")
}

func TestConnectorsListEmpty(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors", 200, `{}`)
	out, err := ctl(t, w, cmdConnectors, "list")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, "No connectors.\n")
}

func TestConnectorsStatus(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/clickhouse-events/status", 200, `{"name":"clickhouse-events","connector":{"state":"RUNNING","worker_id":"10.0.0.5:8083"},
	  "tasks":[{"id":0,"state":"RUNNING","worker_id":"10.0.0.5:8083"},
	           {"id":1,"state":"FAILED","worker_id":"10.0.0.6:8083","trace":"org.apache.kafka.connect.errors.ConnectException: table events is missing\n\tat org.apache.kafka.connect.runtime.WorkerSinkTask.execute(WorkerSinkTask.java:200)\n"},
	           {"id":2,"state":"RUNNING","worker_id":"10.0.0.6:8083","trace":"retrying flush since 2026-11-22T10:04:05Z (attempt 7, next in 3.2s): connection refused"}],
	  "type":"sink"}`)
	out, err := ctl(t, w, cmdConnectors, "status", "clickhouse-events")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, `Connector clickhouse-events (sink): RUNNING on 10.0.0.5:8083
TASK  STATE    WORKER         ERROR
0     RUNNING  10.0.0.5:8083
1     FAILED   10.0.0.6:8083  org.apache.kafka.connect.errors.ConnectException: table events is missing
2     RUNNING  10.0.0.6:8083  retrying flush since 2026-11-22T10:04:05Z (attempt 7, next in 3.2s): connection refused
`)
}

func TestConnectorsStatusFailedConnectorWithoutTasks(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/files/status", 200, `{"name":"files","connector":{"state":"FAILED","worker_id":"w1","trace":"file sink: open /data: permission denied\nmore"},"tasks":[],"type":"sink"}`)
	out, err := ctl(t, w, cmdConnectors, "status", "files")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, "Connector files (sink): FAILED on w1: file sink: open /data: permission denied\nNo tasks.\n")
}

func TestConnectorsGet(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/files/config", 200, `{"topics":"clicks","connector.class":"io.connectd.file.FileSinkConnector","name":"files","file.dir":"/data/files","tasks.max":"2"}`)
	out, err := ctl(t, w, cmdConnectors, "get", "files")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, `connector.class=io.connectd.file.FileSinkConnector
file.dir=/data/files
name=files
tasks.max=2
topics=clicks
`)
}

func TestConnectorsCreate(t *testing.T) {
	w := newCannedWorker(t)
	w.handle("POST /connectors", func(body string) (int, string) {
		return 201, `{"name":"files","config":{"connector.class":"file","topics":"clicks","file.dir":"/d","name":"files"},"tasks":[],"type":"sink"}`
	})
	path := filepath.Join(t.TempDir(), "files.json")
	if err := os.WriteFile(path, []byte(`{"name":"files","config":{"connector.class":"file","topics":"clicks","file.dir":"/d"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := ctl(t, w, cmdConnectors, "create", path)
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, "Created connector files (sink, class file).\n")
	checkCalls(t, w, `POST /connectors {"name":"files","config":{"connector.class":"file","file.dir":"/d","topics":"clicks"}}`)
}

func TestConnectorsCreateBadFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"noname.json":  `{"config":{"connector.class":"file"}}`,
		"numbers.json": `{"name":"x","config":{"tasks.max":2}}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		w := newCannedWorker(t)
		_, err := ctl(t, w, cmdConnectors, "create", path)
		if err == nil || !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
		checkCalls(t, w)
	}
}

func TestConnectorsLifecycleCalls(t *testing.T) {
	w := newCannedWorker(t)
	w.on("PUT /connectors/files/pause", 202, "")
	w.on("PUT /connectors/files/resume", 202, "")
	w.on("PUT /connectors/files/stop", 204, "")
	w.on("DELETE /connectors/files", 204, "")
	w.on("POST /connectors/files/restart", 204, "")
	var all string
	for _, sub := range []string{"pause", "resume", "stop", "restart", "delete"} {
		out, err := ctl(t, w, cmdConnectors, sub, "files")
		if err != nil {
			t.Fatalf("%s: %v", sub, err)
		}
		all += out
	}
	checkOutput(t, all, `Paused connector files.
Resumed connector files.
Stopped connector files.
Restarted connector files.
Deleted connector files.
`)
	checkCalls(t, w,
		"PUT /connectors/files/pause",
		"PUT /connectors/files/resume",
		"PUT /connectors/files/stop",
		"POST /connectors/files/restart?includeTasks=false&onlyFailed=false",
		"DELETE /connectors/files")
}

func TestConnectorsRestartWithTasks(t *testing.T) {
	w := newCannedWorker(t)
	// Kafka Connect answers 202 with the status as the restart began.
	w.on("POST /connectors/files/restart", 202, `{"name":"files","connector":{"state":"RUNNING","worker_id":"w1"},
	  "tasks":[{"id":0,"state":"RUNNING","worker_id":"w1"},{"id":1,"state":"RESTARTING","worker_id":"w1"}],"type":"sink"}`)
	out, err := ctl(t, w, cmdConnectors, "restart", "files", "--include-tasks", "--only-failed")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, `Restarting connector files:
Connector files (sink): RUNNING on w1
TASK  STATE       WORKER  ERROR
0     RUNNING     w1
1     RESTARTING  w1
`)
	checkCalls(t, w, "POST /connectors/files/restart?includeTasks=true&onlyFailed=true")
}

func TestConnectorsNameIsEscaped(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/a%2Fb%20c/config", 200, `{"name":"a/b c"}`)
	out, err := ctl(t, w, cmdConnectors, "get", "a/b c")
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, "name=a/b c\n")
}

// mainMessage renders an error as main does for `connectd connectors`,
// with the exit code.
func mainMessage(err error) (string, int) {
	switch {
	case err == nil:
		return "", 0
	case errors.Is(err, flag.ErrHelp):
		return "", 0
	case errors.As(err, new(usageError)):
		return "connectd connectors: " + err.Error(), 2
	default:
		return "connectd connectors: " + err.Error(), 1
	}
}

func TestConnectorsServerErrors(t *testing.T) {
	w := newCannedWorker(t)
	w.on("GET /connectors/nope/status", 404, `{"error_code":404,"message":"No status found for connector nope"}`)
	w.on("POST /connectors", 409, `{"error_code":409,"message":"Connector files already exists"}`)
	w.on("PUT /connectors/files/pause", 500, `{"error_code":500,"message":"store connector files: disk full"}`)
	w.on("GET /connectors/files/config", 502, "<html><body><h1>502 Bad Gateway</h1>\n</body></html>")
	path := filepath.Join(t.TempDir(), "files.json")
	if err := os.WriteFile(path, []byte(`{"name":"files","config":{"connector.class":"file"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "nope"}, "connectd connectors: No status found for connector nope (HTTP 404)"},
		{[]string{"create", path}, "connectd connectors: Connector files already exists (HTTP 409)"},
		{[]string{"pause", "files"}, "connectd connectors: store connector files: disk full (HTTP 500)"},
		{[]string{"get", "files"}, "connectd connectors: Bad Gateway: <html><body><h1>502 Bad Gateway</h1> … (HTTP 502)"},
		{[]string{"resume", "files"}, "connectd connectors: HTTP 404 Not Found (HTTP 404)"},
	} {
		out, err := ctl(t, w, cmdConnectors, tc.args...)
		msg, code := mainMessage(err)
		if msg != tc.want || code != 1 {
			t.Errorf("%v: %q, exit %d; want %q, exit 1", tc.args, msg, code, tc.want)
		}
		if out != "" {
			t.Errorf("%v: printed %q on failure", tc.args, out)
		}
	}
}

func TestConnectorsWorkerNotReachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = ctl(t, nil, cmdConnectors, "list", "--url", "http://"+addr)
	msg, code := mainMessage(err)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"connectd connectors: no connectd worker answers at http://" + addr + " (",
		"connection refused",
		"\nstart one with: connectd run --config-dir DIR --listen " + addr + "\n",
		"or point --url at a running worker",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestConnectorsUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "name a command: list, get, create, delete, pause, resume, stop, restart or status (connectd connectors --help)"},
		{[]string{"frob"}, `unknown command "frob": use list, get, create, delete, pause, resume, stop, restart or status`},
		{[]string{"get"}, "name the connector: connectd connectors get NAME [--url URL]"},
		{[]string{"create"}, "name the connector file: connectd connectors create FILE [--url URL]"},
		{[]string{"pause", "a", "b"}, `unexpected arguments ["b"]: connectd connectors pause NAME [--url URL]`},
		{[]string{"list", "x"}, `unexpected arguments ["x"]: connectd connectors list [--url URL]`},
		{[]string{"list", "--url", "127.0.0.1:8083"}, `--url "127.0.0.1:8083": want an http:// or https:// URL, such as http://127.0.0.1:8083`},
		{[]string{"status", "files", "--url", "http://"}, `--url "http://" has no host: want a URL such as http://127.0.0.1:8083`},
		{[]string{"stop", "files", "--include-tasks"}, "flag provided but not defined: -include-tasks"},
	} {
		_, err := ctl(t, nil, cmdConnectors, tc.args...)
		if !errors.As(err, new(usageError)) || err.Error() != tc.want {
			t.Errorf("%q: error %v, want usage error %q", tc.args, err, tc.want)
		}
	}
}

func TestConnectorsHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := cmdConnectors(context.Background(), []string{"--help"}, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "restart NAME [--include-tasks] [--only-failed]") {
		t.Errorf("--help: %v\n%s", err, stderr.String())
	}
	stderr.Reset()
	err = cmdConnectors(context.Background(), []string{"restart", "--help"}, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-only-failed") {
		t.Errorf("restart --help: %v\n%s", err, stderr.String())
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	writeTable(&b, [][]string{{"A", "LONG HEADER", "C"}, {"wide value", "x", ""}, {"é", "", "last"}})
	checkOutput(t, b.String(), `A           LONG HEADER  C
wide value  x
é                        last
`)
}
