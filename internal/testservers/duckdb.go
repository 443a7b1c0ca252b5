package testservers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// duckdbScript runs one SQL statement (argv[2]) in an in-memory DuckDB and
// prints the rows as a JSON array of objects (DuckDB's JSON rendering:
// BIGINTs and timestamps as strings).
const duckdbScript = `import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const req = createRequire(process.env.CONNECTD_DUCKDB + '/package.json');
const { DuckDBInstance } = await import(pathToFileURL(req.resolve('@duckdb/node-api')).href);
const inst = await DuckDBInstance.create(':memory:');
const conn = await inst.connect();
const res = await conn.runAndReadAll(process.argv[2]);
process.stdout.write(JSON.stringify(res.getRowObjectsJson()));
`

// DuckDBQuery runs sql in a fresh in-memory DuckDB (read_parquet,
// read_json and friends work on local files) and returns the rows. It is
// the independent reader for Parquet files. The error carries DuckDB's
// message.
func DuckDBQuery(sql string) ([]map[string]any, error) {
	dir, err := program(EnvDuckDB)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "connectd-duckdb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	script := filepath.Join(tmp, "query.mjs")
	if err := os.WriteFile(script, []byte(duckdbScript), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("node", script, sql)
	cmd.Env = append(os.Environ(), "CONNECTD_DUCKDB="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("duckdb: %v: %s", err, stderr.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		return nil, fmt.Errorf("duckdb: decode rows: %v", err)
	}
	return rows, nil
}

// DuckDB is DuckDBQuery for a test: it skips or fails tb when DuckDB is
// not installed (see EnvRequire) and fails it on a query error.
func DuckDB(tb testing.TB, sql string) []map[string]any {
	tb.Helper()
	need(tb, EnvDuckDB)
	rows, err := DuckDBQuery(sql)
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}
