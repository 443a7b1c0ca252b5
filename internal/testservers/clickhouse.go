package testservers

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// keepAlive is the query chdb-host runs after starting the listeners: it
// sleeps 3 s per row for practically ever, holding the server open at
// almost no CPU until the process is signalled.
const keepAlive = "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; " +
	"SELECT sleepEachRow(3) FROM numbers(1000000000) SETTINGS max_block_size = 1 FORMAT Null"

// ClickHouse is a ClickHouse server (libchdb behind chdb-host) this package
// started, answering the native protocol on NativeAddr and HTTP on
// HTTPAddr as user "default" without a password. Its data lives in a
// private directory that outlives Stop, so Start brings the same tables
// back on the same ports.
type ClickHouse struct {
	// NativeAddr is host:port of the native protocol (clickhouse-go's default).
	NativeAddr string
	// HTTPAddr is host:port of the HTTP interface.
	HTTPAddr string
	// NativePort and HTTPPort are the ports of NativeAddr and HTTPAddr.
	NativePort, HTTPPort int

	p *process
}

// NewClickHouse starts ClickHouse with data under dir (created when
// missing). It is for TestMain; tests use StartClickHouse. Close it when
// done.
func NewClickHouse(dir string) (*ClickHouse, error) {
	bin, err := program(EnvCHDBHost)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	native, err := freePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &ClickHouse{
		NativeAddr: "127.0.0.1:" + strconv.Itoa(native),
		HTTPAddr:   "127.0.0.1:" + strconv.Itoa(httpPort),
		NativePort: native,
		HTTPPort:   httpPort,
	}
	c.p = &process{
		name: "clickhouse",
		bin:  bin,
		args: []string{
			"--path=" + data + "/",
			"--listen_host=127.0.0.1",
			"--tcp_port=" + strconv.Itoa(native),
			"--http_port=" + strconv.Itoa(httpPort),
			"--multiquery",
			"--query", keepAlive,
		},
		dir:   dir,
		ports: []int{native, httpPort},
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	return c, nil
}

// StartClickHouse starts ClickHouse for one test and stops it when the
// test ends. It skips or fails the test when chdb-host is not installed
// (see EnvRequire).
func StartClickHouse(tb testing.TB) *ClickHouse {
	tb.Helper()
	need(tb, EnvCHDBHost)
	c, err := NewClickHouse(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// Start (re)starts a stopped server on its ports with its data.
func (c *ClickHouse) Start() error {
	if c.p.running() {
		return nil
	}
	client := &http.Client{Timeout: time.Second}
	return c.p.start(60*time.Second, func() bool {
		resp, err := client.Get("http://" + c.HTTPAddr + "/ping")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.HasPrefix(string(b), "Ok.")
	})
}

// Stop stops the server gracefully (SIGTERM, then SIGKILL after 15s).
func (c *ClickHouse) Stop() error { return c.p.stop(15 * time.Second) }

// Kill stops the server at once with SIGKILL.
func (c *ClickHouse) Kill() error { return c.p.kill() }

// Close stops the server; it is safe to call more than once.
func (c *ClickHouse) Close() { _ = c.p.stop(15 * time.Second) }

// Query runs sql over HTTP and returns the response body (the default
// format is TabSeparated; add FORMAT JSONEachRow etc. to the query). A
// ClickHouse error comes back as the error, with its message.
func (c *ClickHouse) Query(sql string) (string, error) {
	resp, err := http.Post("http://"+c.HTTPAddr+"/?"+url.Values{"wait_end_of_query": {"1"}}.Encode(), "text/plain", strings.NewReader(sql))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("clickhouse: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// String describes the server for logs.
func (c *ClickHouse) String() string {
	return fmt.Sprintf("ClickHouse native %s http %s", c.NativeAddr, c.HTTPAddr)
}
