// Package embedkafka runs an in-process Kafka broker (franz-go's kfake) for
// a worker on a laptop, the demo and tests. It speaks the Kafka protocol on
// a TCP port, so clients connect to it exactly as to a real cluster.
//
// A Broker is created with New, which starts nothing; Start listens and
// serves, Close stops and, with a data directory, writes everything to disk
// so that the next Broker on the same directory starts where this one
// stopped. Run does Start, waits for its context, and Closes.
//
// Topics are never created on demand: a client that names a missing topic
// gets UNKNOWN_TOPIC_OR_PARTITION, as from a production cluster with
// auto.create.topics.enable=false.
package embedkafka
