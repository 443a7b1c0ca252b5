// Package kafka implements the framework's view of Kafka (connector.Consumer,
// connector.Committer, connector.Admin and connector.TopicReader) with
// sarama. It is the only package of connectd that imports sarama.
//
// Everything starts from a Client, made from bootstrap addresses and a
// logger. NewClient connects to nothing; each consumer and committer has
// its own sarama client and connections, and Admin and TopicReader share
// one that is opened on first use and closed by Client.Close.
//
// # Consumer
//
// A Consumer is a sarama consumer group member with auto-commit off. Its
// Run owns every goroutine; sarama calls a handler that funnels the
// session's events into one bounded channel that Poll reads:
//
//	Setup     → EventAssigned (blocks until Done, then seeks)
//	ConsumeClaim, one goroutine per partition → EventRecords batches
//	Cleanup   → EventRevoked (blocks until Done)
//
// The rebalance protocol is eager: every rebalance revokes every partition
// and assigns anew, so EventRevoked always precedes the next
// EventAssigned. When nobody polls, the channel fills, the per-partition
// goroutines block, sarama's own buffers fill and fetching stops.
//
// # Committer
//
// A Committer is a sarama transactional producer (idempotent, acks=all,
// one in-flight request per broker). Commit runs one transaction: begin,
// produce, add the consumer offsets with the group generation (KIP-447), commit;
// on failure it aborts and classifies the error as connector.ErrFenced,
// retryable or unknown state.
package kafka
