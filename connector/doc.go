// Package connector is connectd's framework: the Record that flows through a
// task, the Sink and Source contracts that plugins implement, the Kafka
// Connect config envelope and its typed decoding, the plugin Registry, the
// error vocabulary (retryable, fatal, per-record), and the task loops that
// move records between Kafka and a plugin exactly once.
//
// The framework never imports sarama: it talks to Kafka through the small
// interfaces in kafka.go (Consumer, Committer, Admin, TopicReader), which
// package connector/kafka implements. It never imports a sink either: sinks
// register themselves in a Registry that main builds.
//
// # Delivery
//
// A sink task commits exactly the offsets that Sink.Flush returned, in one
// Kafka transaction together with the dead-letter records of those offsets,
// so a dead-letter record exists if and only if the offset past it is
// committed. A source task writes its records and its source offsets in one
// transaction (Kafka Connect's KIP-618 model). Task instances are fenced by
// transactional id: a fenced instance stops and never writes again.
package connector
