// Package worker is connectd's herder: it loads connector configs, starts
// each connector's tasks with the Kafka plumbing they need, tracks their
// states (Kafka Connect's RUNNING, FAILED with a trace, …), and stops them
// gracefully: flush and commit under a deadline, then forced.
//
// A worker never imports sarama: it gets Kafka through the Kafka interface,
// which main satisfies with connector/kafka.
package worker
