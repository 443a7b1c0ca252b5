package worker

import (
	"fmt"
	"net/http"
	"time"
)

// This file is the worker's management API, the one the REST server
// (package worker/rest) and the CLI reach. Every method is safe for
// concurrent use; lifecycle changes are applied one at a time. Errors are
// *Error values carrying Kafka Connect's REST status codes.

// Error is a management failure with the HTTP status Kafka Connect gives
// it: 400 bad request (an invalid config names its keys), 404 unknown
// connector or task, 409 conflict (exists already, wrong state), 500 cause.
type Error struct {
	Code    int
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

func errNotFound(name string) *Error {
	return &Error{Code: http.StatusNotFound, Message: fmt.Sprintf("Connector %s not found", name)}
}

func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// TaskID names one task of a connector, as Kafka Connect's JSON does.
type TaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

// ConnectorInfo is Kafka Connect's GET /connectors/{name} body.
type ConnectorInfo struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []TaskID          `json:"tasks"`
	Type   string            `json:"type"`
}

// ConnectorOffset is one entry of Kafka Connect's offsets API (KIP-875).
// For sink connectors Partition is {"kafka_topic": t, "kafka_partition": p}
// and Offset {"kafka_offset": o}; for source connectors both are the
// connector's own source partition and offset. A nil Offset in an alter
// request resets that partition.
type ConnectorOffset struct {
	Partition map[string]any `json:"partition"`
	Offset    map[string]any `json:"offset"`
}

// ResetSpec says where a backfill moves a connector's offsets.
type ResetSpec struct {
	// To is one of "earliest", "latest", "datetime", "offsets", "shift".
	To string `json:"to"`
	// Datetime: for "datetime", the earliest record at or after it.
	Datetime time.Time `json:"datetime,omitzero"`
	// Offsets: for "offsets", explicit targets; partitions not listed keep
	// their current offset.
	Offsets []PartitionOffset `json:"offsets,omitempty"`
	// Shift: for "shift", added to each current offset (negative replays).
	Shift int64 `json:"shift,omitempty"`
}

// PartitionOffset is an offset of one topic-partition.
type PartitionOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// PlanRow is one line of a backfill plan.
type PlanRow struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Current is the committed offset, or -1 when there is none.
	Current int64 `json:"current"`
	// Target is where the connector will resume.
	Target int64 `json:"target"`
	// Replay is how many offsets will be consumed again (Current-Target
	// when positive; 0 otherwise).
	Replay int64 `json:"replay"`
	// Adjusted says the sink moved the target back to the start of
	// something it cannot split (a file), so the replay rewrites it whole.
	Adjusted bool `json:"adjusted"`
}
