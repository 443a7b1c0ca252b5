package clickhouse_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/connectd/connectd/internal/testservers"
)

// cutProxy forwards TCP connections to target and cuts each one once the
// client has sent more than after bytes: with rst, as a SIGKILLed client's
// kernel does when data is unread (RST); else with a FIN.
type cutProxy struct {
	ln     net.Listener
	target string
	after  int64
	rst    bool
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string, after int64, rst bool) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, after: after, rst: rst}
	p.wg.Go(p.serve)
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.pipe(c) })
	}
}

func (p *cutProxy) pipe(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	var once sync.Once
	cut := func() {
		once.Do(func() {
			for _, c := range []net.Conn{client, server} {
				if p.rst {
					_ = c.(*net.TCPConn).SetLinger(0)
				}
				c.Close()
			}
		})
	}
	var sent atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cut()
		buf := make([]byte, 32<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if sent.Add(int64(n)) > p.after {
					return
				}
				if _, werr := server.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	wg.Go(func() {
		defer cut()
		_, _ = io.Copy(client, server)
	})
	wg.Wait()
}

// alive reports whether the server answers over HTTP within d.
func alive(srv *testservers.ClickHouse, d time.Duration) error {
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		var out string
		if out, err = srv.Query("SELECT 1"); err == nil && strings.TrimSpace(out) == "1" {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

// TestNativeClientVanishesMidInsert: a client that disappears in the
// middle of an INSERT over the native protocol (connection closed after
// PrepareBatch, cut with FIN or RST in the middle of the data blocks,
// context cancelled during Send) leaves the server running and the
// table without a partial block. A connection reset before its
// handshake aborts libchdb: that case is skipped unless asked for.
func TestNativeClientVanishesMidInsert(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	if _, err := srv.Query("CREATE TABLE vanish (id UInt64, s String) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	const rows = 200_000
	fill := func(t *testing.T, addr string) (ch.Conn, interface {
		Append(...any) error
		Send() error
		Abort() error
	}) {
		t.Helper()
		conn, err := ch.Open(&ch.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		b, err := conn.PrepareBatch(context.Background(), "INSERT INTO vanish (id, s)")
		if err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			if err := b.Append(uint64(i), "some string value of moderate length "+fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
		return conn, b
	}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"close after PrepareBatch", func(t *testing.T) {
			conn, _ := fill(t, srv.NativeAddr)
			_ = conn.Close()
		}},
		{"FIN mid-data", func(t *testing.T) {
			p := newCutProxy(t, srv.NativeAddr, 1<<20, false)
			conn, b := fill(t, p.ln.Addr().String())
			if err := b.Send(); err == nil {
				t.Error("Send through a cut connection succeeded")
			}
			_ = conn.Close()
		}},
		{"RST mid-data", func(t *testing.T) {
			p := newCutProxy(t, srv.NativeAddr, 1<<20, true)
			conn, b := fill(t, p.ln.Addr().String())
			if err := b.Send(); err == nil {
				t.Error("Send through a cut connection succeeded")
			}
			_ = conn.Close()
		}},
		{"RST before the handshake", func(t *testing.T) {
			// libchdb 26.7.3 (chdb-host) aborts (SIGABRT in a TCPHandler
			// thread) a few seconds after a native connection is reset
			// before the client's Hello, once it has served a native
			// client before; a bare connect + RST is enough, no insert
			// needed. The HTTP port survives the same. Run with
			// CONNECTD_CHDB_RST_BUG=1 to check a newer chdb.
			if os.Getenv("CONNECTD_CHDB_RST_BUG") == "" {
				t.Skip("known libchdb abort on a native connection reset before its handshake (sinks/clickhouse/README.md, Limits)")
			}
			for range 3 {
				c, err := net.Dial("tcp", srv.NativeAddr)
				if err != nil {
					t.Fatal(err)
				}
				_ = c.(*net.TCPConn).SetLinger(0)
				_ = c.Close()
				time.Sleep(time.Second)
			}
		}},
		{"context cancelled during Send", func(t *testing.T) {
			conn, err := ch.Open(&ch.Options{Addr: []string{srv.NativeAddr}, DialTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			b, err := conn.PrepareBatch(ctx, "INSERT INTO vanish (id, s)")
			if err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				if err := b.Append(uint64(i), "x"); err != nil {
					t.Fatal(err)
				}
			}
			time.AfterFunc(2*time.Millisecond, cancel)
			_ = b.Send()
			_ = conn.Close()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t)
			time.Sleep(3 * time.Second) // an abort may come after the disconnect
			if err := alive(srv, 10*time.Second); err != nil {
				t.Fatalf("ClickHouse does not answer after a client vanished mid-insert (%s): %v", c.name, err)
			}
		})
	}
	// Whatever was cut is either not there or whole.
	out, err := srv.Query("SELECT count() % 200000 FROM vanish")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "0" {
		t.Errorf("vanish holds a partial block: count() %% %d = %s", rows, strings.TrimSpace(out))
	}
}
