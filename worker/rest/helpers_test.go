package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/kafka"
	"github.com/connectd/connectd/internal/embedkafka"
	"github.com/connectd/connectd/internal/logging"
	"github.com/connectd/connectd/sinks/file"
	"github.com/connectd/connectd/sources/generator"
	"github.com/connectd/connectd/transforms/validate"
	"github.com/connectd/connectd/worker"
	"github.com/connectd/connectd/worker/rest"
)

// kafkaClient is connector/kafka's Client, which is a worker.Kafka.
type kafkaClient struct{ *kafka.Client }

var _ worker.Kafka = (*kafka.Client)(nil)

// logBuffer collects JSON log lines; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// entries returns the lines logged so far, decoded.
func (b *logBuffer) entries(tb testing.TB) []map[string]any {
	tb.Helper()
	b.mu.Lock()
	data := append([]byte(nil), b.buf.Bytes()...)
	b.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// count counts the lines at level with message msg whose attributes
// include attrs.
func (b *logBuffer) count(tb testing.TB, level, msg string, attrs map[string]any) int {
	tb.Helper()
	n := 0
next:
	for _, e := range b.entries(tb) {
		if e["level"] != level || e["msg"] != msg {
			continue
		}
		for k, v := range attrs {
			if e[k] != v {
				continue next
			}
		}
		n++
	}
	return n
}

// env is a running worker on an embedded Kafka with its REST API served
// on a real listener.
type env struct {
	url    string
	hc     *http.Client
	w      *worker.Worker
	k      *kafkaClient
	levels *logging.Levels
	logs   *logBuffer

	stopWorker context.CancelFunc
	workerDone chan struct{}
	stopServer context.CancelFunc
	serveErr   chan error
}

// newEnv starts the broker, builds the worker and its server and serves
// the API; the worker itself is started by run.
func newEnv(t *testing.T) *env {
	t.Helper()
	logs := &logBuffer{}
	logger, levels := logging.New(logs, true, slog.LevelInfo)
	b, err := embedkafka.New(embedkafka.Config{Addr: "127.0.0.1:0", DefaultPartitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	kc, err := kafka.NewClient([]string{b.Addr()}, logger.With(logging.AttrLogger, logging.Kafka))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kc.Close() })
	k := &kafkaClient{kc}

	reg := connector.NewRegistry()
	for _, p := range []connector.Plugin{generator.Plugin(), file.Plugin(), validate.Plugin()} {
		if err := reg.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	w, err := worker.New(worker.Options{
		Registry: reg, Kafka: k, Logger: logger.With(logging.AttrLogger, logging.Worker),
		WorkerID: "127.0.0.1:8083", ShutdownTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rest.New(rest.Options{
		Worker: w, Levels: levels, Logger: logger.With(logging.AttrLogger, logging.REST),
		Version: "1.2.3", Commit: "abc123", ClusterID: k.Admin().ClusterID,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stopServer := context.WithCancel(context.Background())
	e := &env{
		url: "http://" + ln.Addr().String(), hc: &http.Client{Timeout: 60 * time.Second},
		w: w, k: k, levels: levels, logs: logs, stopServer: stopServer, serveErr: make(chan error, 1),
	}
	go func() { e.serveErr <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		e.stop(t)
		e.shutdownServer(t)
	})
	return e
}

// run starts the worker's Run.
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	e.stopWorker, e.workerDone = cancel, make(chan struct{})
	go func() {
		defer close(e.workerDone)
		_ = e.w.Run(ctx)
	}()
}

// stop stops the worker's Run and waits for it.
func (e *env) stop(t *testing.T) {
	t.Helper()
	if e.stopWorker == nil {
		return
	}
	e.stopWorker()
	e.stopWorker = nil
	select {
	case <-e.workerDone:
	case <-time.After(30 * time.Second):
		t.Fatal("worker Run did not return within 30s")
	}
}

// shutdownServer ends Serve and checks it returned nil.
func (e *env) shutdownServer(t *testing.T) {
	t.Helper()
	if e.stopServer == nil {
		return
	}
	e.stopServer()
	e.stopServer = nil
	select {
	case err := <-e.serveErr:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("Serve did not return within 20s of its context ending")
	}
}

// response is one answer.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

func (r response) String() string {
	body := string(r.body)
	if len(body) > 800 {
		body = body[:800] + "..."
	}
	return fmt.Sprintf("%s %s: HTTP %d %s", r.method, r.path, r.status, body)
}

// anyBody makes want skip the body check.
const anyBody = "<any>"

// do sends a request; body is sent as is when it is a string or []byte,
// else as its JSON.
func (e *env) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	r := response{method: method, path: path, status: resp.StatusCode, header: resp.Header, body: data}
	if len(data) > 0 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q, want application/json", r, ct)
		}
		if !json.Valid(data) {
			t.Errorf("%s: body is not JSON", r)
		}
	}
	return r
}

// want checks the status, and the body against wantBody: a JSON literal
// compared as JSON values, "" for an empty body, or anyBody.
func (e *env) want(t *testing.T, method, path string, body any, status int, wantBody string) response {
	t.Helper()
	r := e.do(t, method, path, body)
	if r.status != status {
		t.Fatalf("%s: want HTTP %d", r, status)
	}
	if wantBody == anyBody {
		return r
	}
	if wantBody == "" {
		if len(r.body) != 0 {
			t.Errorf("%s: want an empty body", r)
		}
		return r
	}
	sameJSON(t, r.String(), r.body, []byte(wantBody))
	return r
}

// wantErr checks an error answer: status and Kafka Connect's error body
// with exactly msg.
func (e *env) wantErr(t *testing.T, method, path string, body any, status int, msg string) response {
	t.Helper()
	want, _ := json.Marshal(rest.ErrorMessage{ErrorCode: status, Message: msg})
	return e.want(t, method, path, body, status, string(want))
}

// decode decodes an answer's body into v, strictly.
func decode(t *testing.T, r response, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: decode into %T: %v", r, v, err)
	}
}

// sameJSON fails unless got and want are equal JSON values.
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: got is not JSON: %v", what, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: want is not JSON: %v: %s", what, err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s\n got: %s\nwant: %s", what, compact(got), compact(want))
	}
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

// waitFor polls cond every 50ms until it holds, failing with what() after
// timeout.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// status returns a connector's status over the API.
func (e *env) status(t *testing.T, name string) rest.ConnectorStateInfo {
	t.Helper()
	r := e.do(t, "GET", "/connectors/"+name+"/status", nil)
	if r.status != http.StatusOK {
		t.Fatalf("%s", r)
	}
	var st rest.ConnectorStateInfo
	decode(t, r, &st)
	return st
}

// waitState waits until the connector and all its tasks (at least one)
// are in state; a FAILED task fails the test at once.
func (e *env) waitState(t *testing.T, name, state string) {
	t.Helper()
	var last rest.ConnectorStateInfo
	waitFor(t, 30*time.Second, func() bool {
		last = e.status(t, name)
		for _, ts := range last.Tasks {
			if ts.State == "FAILED" {
				t.Fatalf("%s task %d FAILED: %s", name, ts.ID, ts.Trace)
			}
		}
		if last.Connector.State != state || len(last.Tasks) == 0 {
			return false
		}
		for _, ts := range last.Tasks {
			if ts.State != state {
				return false
			}
		}
		return true
	}, func() string { return fmt.Sprintf("%s is not %s: %+v", name, state, last) })
}

// sinkOffsets reads a sink connector's offsets over the API as
// partition -> offset.
func (e *env) sinkOffsets(t *testing.T, name string) map[int32]int64 {
	t.Helper()
	r := e.do(t, "GET", "/connectors/"+name+"/offsets", nil)
	if r.status != http.StatusOK {
		t.Fatalf("%s", r)
	}
	var body struct {
		Offsets []struct {
			Partition struct {
				Topic     string `json:"kafka_topic"`
				Partition int32  `json:"kafka_partition"`
			} `json:"partition"`
			Offset struct {
				Offset int64 `json:"kafka_offset"`
			} `json:"offset"`
		} `json:"offsets"`
	}
	decode(t, r, &body)
	out := map[int32]int64{}
	for _, o := range body.Offsets {
		if o.Partition.Topic != "clicks" {
			t.Fatalf("%s: offsets of topic %q", r, o.Partition.Topic)
		}
		out[o.Partition.Partition] = o.Offset.Offset
	}
	return out
}

// fileValues reads what the file sink holds under dir: the values, and
// how many there are per partition and offset.
func fileValues(t *testing.T, dir string) (values [][]byte, positions map[string]int) {
	t.Helper()
	positions = map[string]int{}
	ents, err := file.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, positions
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range ents {
		values = append(values, en.Value)
		positions[fmt.Sprintf("%s/%d/%d", en.Topic, en.Partition, en.Offset)]++
	}
	return values, positions
}
