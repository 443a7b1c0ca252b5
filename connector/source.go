package connector

import (
	"context"
	"encoding/json"
)

// SourceRecord is one record a Source produces, with the source position it
// stands for. Partition and Offset follow Kafka Connect: Partition names a
// stream inside the source (a generator task, a file), Offset is the
// position after this record in that stream. Both are JSON objects and are
// stored in the offsets topic as Kafka Connect stores them:
// key ["<connector>", <partition>], value <offset>.
type SourceRecord struct {
	Record    ProducerRecord
	Partition map[string]any
	Offset    map[string]any
}

// SourceOffsets holds the last committed offset of each source partition of
// a connector, as read back from the offsets topic.
type SourceOffsets struct {
	entries map[string]json.RawMessage
}

// NewSourceOffsets builds SourceOffsets from a map of canonical partition
// JSON to offset JSON; used by the framework and by tests.
func NewSourceOffsets(entries map[string]json.RawMessage) SourceOffsets {
	return SourceOffsets{entries: entries}
}

// Lookup decodes into dst the committed offset of partition and reports
// whether there was one.
func (o SourceOffsets) Lookup(partition map[string]any, dst any) (bool, error) {
	key, err := CanonicalJSON(partition)
	if err != nil {
		return false, err
	}
	raw, ok := o.entries[string(key)]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	return true, json.Unmarshal(raw, dst)
}

// Each calls fn with every partition's canonical JSON and its offset JSON.
func (o SourceOffsets) Each(fn func(partition, offset json.RawMessage)) {
	for k, v := range o.entries {
		fn(json.RawMessage(k), v)
	}
}

// Len returns how many partitions have a committed offset.
func (o SourceOffsets) Len() int { return len(o.entries) }

// CanonicalJSON encodes v with sorted map keys (encoding/json's order), so
// equal partitions give equal bytes.
func CanonicalJSON(v any) ([]byte, error) { return json.Marshal(v) }

// Source produces records into Kafka: Kafka Connect's SourceTask.
//
// Call order: Open → Poll* → Stop. Never called concurrently.
//
// Errors: Poll returning ErrSourceDone means the source is finished; a
// RetryableError is retried after a backoff; any other error fails the task.
type Source interface {
	// Open starts the source at the committed offsets (empty on the first
	// run). A source resumes exactly after the last committed record.
	Open(ctx context.Context, committed SourceOffsets) error

	// Poll returns the next records, blocking until at least one is ready
	// or ctx is done (then it returns ctx.Err()). A source paces itself
	// (events.per.second) inside Poll. The returned slice may be reused by
	// the next Poll; the records' byte slices must not be.
	Poll(ctx context.Context) ([]SourceRecord, error)

	// Stop releases resources. Records polled but not yet committed are
	// regenerated from the committed offsets by the next instance.
	Stop(ctx context.Context) error
}
