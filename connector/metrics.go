package connector

import "sync/atomic"

// TaskMetrics counts what one task did. The task loop updates it; anyone
// may read it concurrently. The worker owns one per task and exports them
// (no package-level metrics anywhere).
type TaskMetrics struct {
	// Consumed counts records polled from Kafka (sink tasks).
	Consumed atomic.Int64
	// Written counts records handed to Sink.Write and accepted.
	Written atomic.Int64
	// Committed counts consumed records whose offsets were committed.
	Committed atomic.Int64
	// Produced counts records a source task committed to Kafka.
	Produced atomic.Int64
	// DeadLettered counts records committed to the dead-letter topic.
	DeadLettered atomic.Int64
	// Skipped counts records dropped by a filter or by errors.tolerance=all
	// without a dead-letter topic.
	Skipped atomic.Int64
	// Transactions counts committed Kafka transactions.
	Transactions atomic.Int64
	// Retries counts waits in the retry loop.
	Retries atomic.Int64
}
