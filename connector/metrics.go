package connector

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

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

	// retrying is what the task is retrying now, nil when nothing.
	retrying atomic.Pointer[RetryState]

	topicsMu sync.Mutex
	topics   map[string]bool
}

// NoteTopic records that the task used topic: consumed it (sinks) or
// produced to it (sources). These are Kafka Connect's active topics.
func (m *TaskMetrics) NoteTopic(topic string) {
	m.topicsMu.Lock()
	if m.topics == nil {
		m.topics = map[string]bool{}
	}
	m.topics[topic] = true
	m.topicsMu.Unlock()
}

// Topics returns the active topics, sorted.
func (m *TaskMetrics) Topics() []string {
	m.topicsMu.Lock()
	defer m.topicsMu.Unlock()
	out := make([]string, 0, len(m.topics))
	for t := range m.topics {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// ResetTopics forgets the active topics.
func (m *TaskMetrics) ResetTopics() {
	m.topicsMu.Lock()
	clear(m.topics)
	m.topicsMu.Unlock()
}

// RetryState says that a task is waiting out a retryable error: the store
// is down or refuses, and the task retries with backoff (errors.retry.*)
// instead of failing. Statuses show it on a RUNNING task.
type RetryState struct {
	// Op is what is retried: "write", "flush", "commit", …
	Op string
	// Attempt is how many attempts have failed in a row.
	Attempt int
	// Since is when the first of them failed.
	Since time.Time
	// Err is the last attempt's error.
	Err string
	// Next is when the next attempt starts.
	Next time.Time
}

// String reads like "retrying flush since 10:04:05Z (attempt 7, next in
// 3.2s): clickhouse 127.0.0.1:9000: … connection refused".
func (r RetryState) String() string {
	return fmt.Sprintf("retrying %s since %s (attempt %d, next in %s): %s",
		r.Op, r.Since.UTC().Format(time.RFC3339), r.Attempt, max(time.Until(r.Next), 0).Round(100*time.Millisecond), r.Err)
}

// NoteRetry records that attempt of op failed with err and is retried
// after wait. It is safe to call from the task's goroutine while others
// read Retrying.
func (m *TaskMetrics) NoteRetry(op string, attempt int, err error, wait time.Duration) {
	now := time.Now()
	since := now
	if prev := m.retrying.Load(); prev != nil && prev.Op == op {
		since = prev.Since
	}
	m.retrying.Store(&RetryState{Op: op, Attempt: attempt, Since: since, Err: err.Error(), Next: now.Add(wait)})
}

// NoteRetryEnd records that the task is no longer retrying.
func (m *TaskMetrics) NoteRetryEnd() { m.retrying.Store(nil) }

// Retrying returns what the task is retrying, and false when nothing.
func (m *TaskMetrics) Retrying() (RetryState, bool) {
	if r := m.retrying.Load(); r != nil {
		return *r, true
	}
	return RetryState{}, false
}
