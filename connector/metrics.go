package connector

import (
	"slices"
	"sync"
	"sync/atomic"
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
