package restclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/connectd/connectd/worker"
	"github.com/connectd/connectd/worker/rest"
)

// DefaultURL is where `connectd run` serves the REST API unless told
// otherwise (--listen).
const DefaultURL = "http://127.0.0.1:8083"

// maxBody bounds how much of an answer is read.
const maxBody = 32 << 20

// Error is an answer with an unexpected status: Kafka Connect's error body
// {"error_code": N, "message": "..."}.
type Error struct {
	// Code is the HTTP status (Kafka Connect's error_code is the same).
	Code int `json:"error_code"`
	// Message is the worker's explanation.
	Message string `json:"message"`
}

// Error renders the message with its status: "<message> (HTTP <code>)".
func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Code) }

// UnreachableError says no worker answered at URL: the connection could not
// be made (refused, unknown host, timed out).
type UnreachableError struct {
	// URL is the worker's base URL.
	URL string
	// Err is the transport's error.
	Err error
}

// Error implements error.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("no worker answers at %s: %v", e.URL, e.Err)
}

// Unwrap returns the transport's error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Client talks to one worker. Build it with New.
type Client struct {
	base string // scheme://host[:port][/prefix], no trailing slash
	hc   *http.Client
}

// New returns a client of the worker at rawURL (http or https, with a host;
// a path is kept as a prefix). hc nil means http.DefaultClient; set its
// Timeout to bound each request.
func New(rawURL string, hc *http.Client) (*Client, error) {
	if !strings.Contains(rawURL, "://") {
		return nil, fmt.Errorf("%q: want an http:// or https:// URL, such as %s", rawURL, DefaultURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %v", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: want an http:// or https:// URL, such as %s", rawURL, DefaultURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host: want a URL such as %s", rawURL, DefaultURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q: want the worker's base URL, without a query or fragment", rawURL)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(u.String(), "/"), hc: hc}, nil
}

// URL returns the worker's base URL.
func (c *Client) URL() string { return c.base }

// The response shapes are the REST server's own entities, so client and
// server cannot drift apart.
type (
	// ServerInfo is GET /'s body.
	ServerInfo = rest.ServerInfo
	// State is the connector part of a status (FAILED carries a Trace).
	State = rest.ConnectorState
	// TaskState is one task's status.
	TaskState = rest.TaskState
	// Status is Kafka Connect's GET /connectors/{name}/status body.
	Status = rest.ConnectorStateInfo
)

// Expanded is one connector of GET /connectors?expand=status&expand=info;
// each part is present when it was asked for.
type Expanded struct {
	Status *Status               `json:"status,omitempty"`
	Info   *worker.ConnectorInfo `json:"info,omitempty"`
}

// NewConnector is the body of POST /connectors: Kafka Connect's envelope.
type NewConnector struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	// InitialState is RUNNING (when empty), PAUSED or STOPPED.
	InitialState string `json:"initial_state,omitempty"`
}

// Info returns the worker's version and Kafka cluster (GET /).
func (c *Client) Info(ctx context.Context) (ServerInfo, error) {
	var out ServerInfo
	err := c.do(ctx, http.MethodGet, "/", nil, nil, &out, http.StatusOK)
	return out, err
}

// Connectors returns the names of the connectors (GET /connectors).
func (c *Client) Connectors(ctx context.Context) ([]string, error) {
	var out []string
	err := c.do(ctx, http.MethodGet, "/connectors", nil, nil, &out, http.StatusOK)
	return out, err
}

// ConnectorsExpanded returns every connector with the parts named in
// expand ("status", "info"), by name (GET /connectors?expand=...).
func (c *Client) ConnectorsExpanded(ctx context.Context, expand ...string) (map[string]Expanded, error) {
	q := url.Values{"expand": expand}
	out := map[string]Expanded{}
	err := c.do(ctx, http.MethodGet, "/connectors", q, nil, &out, http.StatusOK)
	return out, err
}

// Connector returns a connector's name, config, tasks and type (GET
// /connectors/{name}).
func (c *Client) Connector(ctx context.Context, name string) (worker.ConnectorInfo, error) {
	var out worker.ConnectorInfo
	err := c.do(ctx, http.MethodGet, connPath(name, ""), nil, nil, &out, http.StatusOK)
	return out, err
}

// Config returns a connector's config (GET /connectors/{name}/config).
func (c *Client) Config(ctx context.Context, name string) (map[string]string, error) {
	out := map[string]string{}
	err := c.do(ctx, http.MethodGet, connPath(name, "/config"), nil, nil, &out, http.StatusOK)
	return out, err
}

// Create creates a connector (POST /connectors, 201).
func (c *Client) Create(ctx context.Context, nc NewConnector) (worker.ConnectorInfo, error) {
	var out worker.ConnectorInfo
	err := c.do(ctx, http.MethodPost, "/connectors", nil, nc, &out, http.StatusCreated)
	return out, err
}

// Delete deletes a connector (DELETE /connectors/{name}, 204).
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, connPath(name, ""), nil, nil, nil, http.StatusNoContent, http.StatusOK)
}

// Pause pauses a connector (PUT /connectors/{name}/pause, 202).
func (c *Client) Pause(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPut, connPath(name, "/pause"), nil, nil, nil, http.StatusAccepted, http.StatusNoContent, http.StatusOK)
}

// Resume resumes a paused or stopped connector (PUT
// /connectors/{name}/resume, 202).
func (c *Client) Resume(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPut, connPath(name, "/resume"), nil, nil, nil, http.StatusAccepted, http.StatusNoContent, http.StatusOK)
}

// Stop stops a connector: its tasks shut down and its offsets can be
// changed (PUT /connectors/{name}/stop, 204).
func (c *Client) Stop(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPut, connPath(name, "/stop"), nil, nil, nil, http.StatusNoContent, http.StatusAccepted, http.StatusOK)
}

// Restart restarts a connector (POST /connectors/{name}/restart). With
// neither flag the worker answers 204 and the status is nil; otherwise 202
// with the status as the restart began.
func (c *Client) Restart(ctx context.Context, name string, includeTasks, onlyFailed bool) (*Status, error) {
	q := url.Values{
		"includeTasks": {strconv.FormatBool(includeTasks)},
		"onlyFailed":   {strconv.FormatBool(onlyFailed)},
	}
	var out Status
	code, err := c.doCode(ctx, http.MethodPost, connPath(name, "/restart"), q, nil, &out, http.StatusNoContent, http.StatusAccepted, http.StatusOK)
	if err != nil || code == http.StatusNoContent {
		return nil, err
	}
	return &out, nil
}

// Status returns the state of a connector and its tasks (GET
// /connectors/{name}/status).
func (c *Client) Status(ctx context.Context, name string) (Status, error) {
	var out Status
	err := c.do(ctx, http.MethodGet, connPath(name, "/status"), nil, nil, &out, http.StatusOK)
	return out, err
}

// Offsets returns a connector's committed offsets (GET
// /connectors/{name}/offsets, KIP-875). Numbers in the partitions and
// offsets are json.Number.
func (c *Client) Offsets(ctx context.Context, name string) ([]worker.ConnectorOffset, error) {
	var out rest.ConnectorOffsets
	err := c.do(ctx, http.MethodGet, connPath(name, "/offsets"), nil, nil, &out, http.StatusOK)
	return out.Offsets, err
}

// AlterOffsets sets a STOPPED connector's offsets (PATCH
// /connectors/{name}/offsets) and returns the worker's message.
func (c *Client) AlterOffsets(ctx context.Context, name string, offsets []worker.ConnectorOffset) (string, error) {
	var out rest.Message
	err := c.do(ctx, http.MethodPatch, connPath(name, "/offsets"), nil, rest.ConnectorOffsets{Offsets: offsets}, &out, http.StatusOK, http.StatusNoContent)
	return out.Message, err
}

// ResetOffsets forgets all of a STOPPED connector's offsets (DELETE
// /connectors/{name}/offsets) and returns the worker's message.
func (c *Client) ResetOffsets(ctx context.Context, name string) (string, error) {
	var out rest.Message
	err := c.do(ctx, http.MethodDelete, connPath(name, "/offsets"), nil, nil, &out, http.StatusOK, http.StatusNoContent)
	return out.Message, err
}

// PlanReset asks where a backfill would move a connector's offsets (POST
// /connectors/{name}/offsets/plan, a connectd extension). It changes
// nothing and works in any state.
func (c *Client) PlanReset(ctx context.Context, name string, spec worker.ResetSpec) ([]worker.PlanRow, error) {
	var out rest.ResetPlan
	err := c.do(ctx, http.MethodPost, connPath(name, "/offsets/plan"), nil, spec, &out, http.StatusOK)
	return out.Plan, err
}

// SinkOffset builds the KIP-875 entry that moves a sink connector's
// partition to offset.
func SinkOffset(topic string, partition int32, offset int64) worker.ConnectorOffset {
	return worker.ConnectorOffset{
		Partition: map[string]any{"kafka_topic": topic, "kafka_partition": partition},
		Offset:    map[string]any{"kafka_offset": offset},
	}
}

// connPath is /connectors/{name}{suffix} with name escaped.
func connPath(name, suffix string) string {
	return "/connectors/" + url.PathEscape(name) + suffix
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any, want ...int) error {
	_, err := c.doCode(ctx, method, path, q, body, out, want...)
	return err
}

// doCode sends one request. An answer with a status in want has its body
// (if any) decoded into out (unless out is nil); any other status is an
// *Error.
func (c *Client) doCode(ctx context.Context, method, path string, q url.Values, body, out any, want ...int) (int, error) {
	target := c.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("%s %s: encode request: %v", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if unreachable(err) {
			return 0, &UnreachableError{URL: c.base, Err: transportCause(err)}
		}
		return 0, fmt.Errorf("%s %s: %v", method, target, transportCause(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %v", method, target, err)
	}
	for _, w := range want {
		if resp.StatusCode != w {
			continue
		}
		if out == nil || len(bytes.TrimSpace(data)) == 0 {
			return resp.StatusCode, nil
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: the answer (HTTP %d) is not the JSON expected: %v: %s", method, target, resp.StatusCode, err, snippet(data))
		}
		return resp.StatusCode, nil
	}
	return resp.StatusCode, answerError(resp, data)
}

// answerError reads Kafka Connect's error body, or describes one of
// another shape.
func answerError(resp *http.Response, data []byte) *Error {
	var e Error
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		e.Code = resp.StatusCode
		return &e
	}
	msg := http.StatusText(resp.StatusCode)
	if msg == "" {
		msg = "unexpected status"
	}
	if s := snippet(data); s != "" {
		msg += ": " + s
	}
	return &Error{Code: resp.StatusCode, Message: msg}
}

// snippet is the first line of a body, shortened for a message.
func snippet(data []byte) string {
	s := strings.TrimSpace(string(data))
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] + " …"
	}
	const limit = 200
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + " …"
	}
	return s
}

// unreachable reports whether a transport error means no connection could
// be made (as opposed to one failing midway).
func unreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// transportCause strips url.Error's repetition of method and URL.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
