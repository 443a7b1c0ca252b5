package testservers

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/chserver"
)

func TestMinIOStartsAndRestarts(t *testing.T) {
	m := StartMinIO(t)
	if !strings.HasPrefix(m.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q", m.Endpoint)
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
}

func TestClickHouseKeepsDataAcrossRestart(t *testing.T) {
	c := StartClickHouse(t)
	if _, err := c.Query("CREATE TABLE t (x UInt32) ENGINE = MergeTree ORDER BY x"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query("INSERT INTO t VALUES (1), (2), (3)"); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query("SELECT 1"); err == nil {
		t.Fatal("query answered while the server was stopped")
	}
	if err := c.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	got, err := c.Query("SELECT sum(x) FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != "6" {
		t.Fatalf("sum after restart = %q, want 6", got)
	}
	if _, err := c.Query("SELECT nosuchfunction()"); err == nil || !strings.Contains(err.Error(), "nosuchfunction") {
		t.Fatalf("bad query error = %v, want one naming the function", err)
	}
}

func TestDuckDBReadsRows(t *testing.T) {
	rows := DuckDB(t, "SELECT 40 + 2 AS n, 'x' AS s")
	if len(rows) != 1 || rows[0]["n"] != float64(42) || rows[0]["s"] != "x" {
		t.Fatalf("rows = %v", rows)
	}
	if _, err := DuckDBQuery("SELECT * FROM no_such_table"); err == nil {
		t.Fatal("query of a missing table succeeded")
	}
}

func TestOwnsPortTellsOwnerApart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if ok, err := ownsPort(os.Getpid(), port); err != nil || !ok {
		t.Fatalf("ownsPort(self, %d) = %v, %v; want true", port, ok, err)
	}
	if ok, _ := ownsPort(1, port); ok {
		t.Fatalf("ownsPort(1, %d) = true; pid 1 does not hold our socket", port)
	}
	free, err := chserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := ownsPort(os.Getpid(), free); ok {
		t.Fatalf("ownsPort(self, %d) = true for a closed port", free)
	}
}
