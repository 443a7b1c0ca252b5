// Package testservers starts the real servers the sink tests run against —
// MinIO for S3, ClickHouse (libchdb behind tools/chdb-host) — on free
// loopback ports with private data directories (ClickHouse through
// internal/chserver, which the demo uses too), and runs queries in DuckDB
// (the npm package @duckdb/node-api under Node.js) as an independent reader
// of Parquet files.
//
// The programs come from `make servers`, which builds or downloads them
// once into $HOME/.cache/connectd; the Makefile passes their paths in the
// environment (EnvMinIO, EnvCHDBHost, EnvDuckDB). When a path is not set
// the tests that need it are skipped with the command that fixes it,
// unless EnvRequire is set (as `make test` does), when they fail instead:
// CI never passes by skipping.
//
// A port is taken by listening on 127.0.0.1:0 and closing; after a server
// reports ready, the package checks that it is the process it started —
// MinIO through /proc (the listening socket belongs to its pid),
// ClickHouse by the data path it reports — so a test never talks to
// another program that grabbed the port in between.
package testservers
