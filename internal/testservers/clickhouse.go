package testservers

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/chserver"
)

// ClickHouse is a ClickHouse server (libchdb behind chdb-host, see
// internal/chserver) this package started, answering the native protocol
// on NativeAddr and HTTP on HTTPAddr as user "default" without a password.
// Its data lives in a private directory that outlives Stop, so Start
// brings the same tables back on the same ports.
type ClickHouse struct {
	// NativeAddr is host:port of the native protocol (clickhouse-go's default).
	NativeAddr string
	// HTTPAddr is host:port of the HTTP interface.
	HTTPAddr string
	// NativePort and HTTPPort are the ports of NativeAddr and HTTPAddr.
	NativePort, HTTPPort int

	s *chserver.Server
}

// NewClickHouse starts ClickHouse with data under dir (created when
// missing). It is for TestMain; tests use StartClickHouse. Close it when
// done.
func NewClickHouse(dir string) (*ClickHouse, error) {
	bin, err := program(EnvCHDBHost)
	if err != nil {
		return nil, err
	}
	s, err := chserver.New(bin, dir)
	if err != nil {
		return nil, err
	}
	s.DieWithParent = true
	c := &ClickHouse{
		NativeAddr: "127.0.0.1:" + strconv.Itoa(s.NativePort),
		HTTPAddr:   "127.0.0.1:" + strconv.Itoa(s.HTTPPort),
		NativePort: s.NativePort,
		HTTPPort:   s.HTTPPort,
		s:          s,
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

// Running reports whether the server process is alive.
func (c *ClickHouse) Running() bool { return c.s.Running() }

// Start (re)starts a stopped server on its ports with its data.
func (c *ClickHouse) Start() error { return c.s.Start(60 * time.Second) }

// Stop stops the server gracefully (SIGTERM, then SIGKILL after 15s).
func (c *ClickHouse) Stop() error { return c.s.Stop(15 * time.Second) }

// Pause freezes the server (SIGSTOP): it accepts connections but answers
// nothing, like a hung or overloaded server, until Resume. Stop and Close
// resume it first.
func (c *ClickHouse) Pause() error { return c.s.Pause() }

// Resume lets a paused server go on.
func (c *ClickHouse) Resume() error { return c.s.Resume() }

// Kill stops the server at once with SIGKILL.
func (c *ClickHouse) Kill() error { return c.s.Kill() }

// Close stops the server; it is safe to call more than once.
func (c *ClickHouse) Close() { _ = c.s.Stop(15 * time.Second) }

// Query runs sql over HTTP and returns the response body (the default
// format is TabSeparated; add FORMAT JSONEachRow etc. to the query). A
// ClickHouse error comes back as the error, with its message.
func (c *ClickHouse) Query(sql string) (string, error) { return c.s.Query(sql) }

// String describes the server for logs.
func (c *ClickHouse) String() string {
	return fmt.Sprintf("ClickHouse native %s http %s", c.NativeAddr, c.HTTPAddr)
}
