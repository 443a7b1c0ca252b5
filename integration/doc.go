// Package integration holds connectd's end-to-end tests: real processes
// (connectd kafka, connectd run) killed and restarted, checked against an
// independent expectation. They are gated by the integration build tag and
// run by `make test` (which builds the binary and sets CONNECTD_BIN):
//
//	go test -tags integration ./integration/...
package integration
