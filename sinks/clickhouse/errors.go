package clickhouse

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/connectd/connectd/connector"
)

// retryableCodes are ClickHouse error codes of a server that is busy,
// short of memory or restarting: the same statement may succeed later.
// The value is the wait to ask for (zero: the framework's backoff).
var retryableCodes = map[int32]time.Duration{
	159: 0,               // TIMEOUT_EXCEEDED
	164: 0,               // READONLY (a replica starting up)
	202: time.Second,     // TOO_MANY_SIMULTANEOUS_QUERIES
	203: 0,               // NO_FREE_CONNECTION
	209: 0,               // SOCKET_TIMEOUT
	210: 0,               // NETWORK_ERROR
	236: 0,               // ABORTED
	241: 5 * time.Second, // MEMORY_LIMIT_EXCEEDED
	242: 0,               // TABLE_IS_READ_ONLY
	252: 5 * time.Second, // TOO_MANY_PARTS
	285: 0,               // TOO_FEW_LIVE_REPLICAS
	319: 0,               // UNKNOWN_STATUS_OF_INSERT
	394: 0,               // QUERY_WAS_CANCELLED
	425: 0,               // SYSTEM_ERROR
	473: 0,               // DEADLOCK_AVOIDED
	999: 0,               // KEEPER_EXCEPTION
}

// classify marks err retryable when the statement may succeed later: a
// server that is down, slow, restarting, short of memory or with too many
// parts. A ClickHouse exception of any other code (a schema mismatch, a
// syntax error, an unknown table) is left as it is and fails the task.
// Errors of a ctx the caller cancelled are left as they are.
func (s *Sink) classify(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	var ex *ch.Exception
	if errors.As(err, &ex) {
		if after, ok := retryableCodes[ex.Code]; ok {
			return connector.Retryable(err, after)
		}
		return err
	}
	if isTransport(err) {
		return connector.Retryable(err, 0)
	}
	return err
}

// isTransport reports whether err is a network failure or a timeout, as
// opposed to a request ClickHouse (or the client) refused.
func isTransport(err error) bool {
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, ch.ErrAcquireConnTimeout):
		return true
	}
	// clickhouse-go formats some transport failures into strings (HTTP
	// status lines, wrapped dial errors).
	msg := err.Error()
	for _, s := range []string{"connection refused", "connection reset", "broken pipe", "EOF", "i/o timeout",
		"no such host", "502 Bad Gateway", "503 Service Unavailable", "504 Gateway Timeout"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
