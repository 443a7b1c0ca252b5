package connector

import (
	"context"
	"log/slog"
)

// Sink receives records from Kafka and makes them durable in a store. It is
// Kafka Connect's SinkTask, reduced to what exactly-once delivery needs.
//
// Call order, for one task instance:
//
//	Open(assigned) → (Write* → Flush)* → Close(revoked) → Open(assigned) … → Stop
//
// The framework never calls a Sink from two goroutines at once, so a Sink
// needs no locking of its own. Every method gets a ctx that is cancelled when
// the task is forced to stop; a method must return promptly after that.
//
// A sink connector with a window stage (window.* keys) is opened on one
// synthetic partition {window.output.topic, 0} instead of its input
// partitions and written the window results as records of it: key the
// result id, value the result's JSON, timestamp the window end, offsets
// counting up from 0 across restarts. Open's assigned offset for it is
// the next rollup to come; a sink drops leftovers at or after it as
// usual, and the offsets it returns for it are ignored (rollups are
// rebuilt from the stage's changelog at their own offsets). Nothing else
// changes for the sink: a sink that honours this contract for ordinary
// partitions writes each rollup exactly once.
//
// Errors: a RetryableError makes the framework call the same method again
// with the same arguments after a backoff (capped, jittered, bounded by
// errors.retry.timeout); a *BatchError from Write names records at fault,
// which go to the dead-letter topic; any other error fails the task, which
// is then closed and may be restarted from the last committed offsets.
type Sink interface {
	// Open is called when the task is assigned partitions, before any
	// record of them is written. assigned maps each new partition to the
	// offset the framework will resume from (the committed offset, or the
	// reset policy's), always resolved to a real offset (≥ 0, never Kafka's
	// -1/-2 sentinels). Open returns the offsets the sink wants to resume
	// from instead, for the partitions where the store knows better (an
	// Iceberg snapshot summary, say); nil or a partial map keeps the rest.
	// Open is also where a sink drops leftovers of an earlier instance past
	// the resume offset: they were never committed and will be rewritten.
	Open(ctx context.Context, assigned map[TopicPartition]int64) (map[TopicPartition]int64, error)

	// Write hands the sink a batch of records, in offset order within each
	// partition. The sink may write them at once or buffer them. The batch
	// slice is reused after Write returns; the records' byte slices are not.
	// On a RetryableError the same batch is written again, so a sink that
	// buffered part of it must skip what it already holds, and must return
	// the same *BatchError for the same records on every attempt.
	Write(ctx context.Context, batch []Record) error

	// Flush makes what Write accepted durable, as far as the sink's policy
	// allows, and returns for each partition the offset after the last
	// durable record (the next offset to consume). A partition left out
	// has made no durable progress since the last Flush. The framework
	// commits exactly these offsets; a sink that keeps data buffered (to cut
	// files at deterministic points, say) returns the offset of what is
	// durable, not of what it received. Flush may report past records it
	// rejected in a *BatchError (the framework moves past them anyway), but
	// never past a record it was not given, never backwards, and never for
	// a partition after Close revoked it. Flush is called periodically
	// (offset.flush.interval.ms), before a graceful Close, and before Stop.
	Flush(ctx context.Context) (map[TopicPartition]int64, error)

	// Close is called when partitions are revoked: after a final Flush
	// whose offsets were committed on a graceful revoke or stop, without one
	// when the task failed. The sink drops whatever it still buffers for
	// them: those records will be delivered again to whichever task owns
	// the partitions next.
	Close(ctx context.Context, revoked []TopicPartition) error

	// Stop releases everything. It is the last call; Close has been called
	// for every open partition before it.
	Stop(ctx context.Context) error
}

// OffsetResetter is an optional Sink ability: a sink that keeps state about
// offsets (files cut at offset boundaries, say) is told before the
// connector's offsets are moved by a backfill, while the connector is
// stopped. It is called on a fresh instance that was never opened, which is
// stopped afterwards. It returns the offsets to use instead, for partitions
// where the target falls inside something the sink cannot split (it then
// rewinds to the start of that file, so the replay rewrites it whole). It
// must not delete data: the offsets may yet fail to move; the next Open at
// the new offsets removes what the replay will rewrite.
type OffsetResetter interface {
	ResetOffsets(ctx context.Context, target map[TopicPartition]int64) (map[TopicPartition]int64, error)
}

// Emitter is an optional Sink ability for sinks whose output is Kafka
// records: a window connector writing its results and its state changelog.
// Right after each Flush the framework takes the records the sink emitted
// and writes them in the same transaction as the offsets Flush returned, so
// output, state and input offsets commit together or not at all. If that
// transaction fails, the records are gone: the task restarts from the
// committed offsets and the sink rebuilds them (from its changelog).
type Emitter interface {
	// Emitted returns the records to commit with the last Flush's offsets,
	// handing them over; a second call returns none.
	Emitted() []ProducerRecord
}

// TaskInfo is what a plugin learns about the task it runs in.
type TaskInfo struct {
	// Connector is the connector's name.
	Connector string
	// TaskID is the task's index, 0 ≤ TaskID < TasksMax.
	TaskID int
	// TasksMax is the connector's tasks.max.
	TasksMax int
	// Logger is the task's logger, already carrying connector and task.
	Logger *slog.Logger
	// Admin and Reader give a plugin read access to Kafka (a window
	// connector restores its state from its changelog topic). Nil where
	// the task has no Kafka (unit tests, offline planning).
	Admin  Admin
	Reader TopicReader
	// RollupTopic is the topic of the window stage's rollup records
	// (window.output.topic) when the connector has window.* keys, else
	// empty. A store sink writes that topic's records, window results,
	// to its results table instead of its events table.
	RollupTopic string
}
