// Package chserver runs a ClickHouse server from libchdb.so behind
// tools/chdb-host: the hot store of `connectd demo` and of the tests
// (internal/testservers wraps it). It picks free 127.0.0.1 ports, starts
// the process with its data in a directory of the caller's, waits until it
// answers /ping, and checks that the server answering keeps its data in
// that directory, so a port taken by another program between choosing and
// binding it shows as an error, not as a stranger's server.
//
// A Server is used from one goroutine at a time; Query may be called
// concurrently. The process it starts is owned by the Server: Stop or Kill
// ends it, and a goroutine of the Server waits for its exit.
package chserver
