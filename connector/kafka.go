package connector

import (
	"context"
	"errors"
	"regexp"
	"time"
)

// This file holds the framework's view of Kafka. Package connector/kafka
// implements it with sarama; nothing else in connectd imports sarama.

// ErrConsumerClosed is returned by Consumer.Poll after Consumer.Run has
// returned without an error of its own.
var ErrConsumerClosed = errors.New("consumer closed")

// Generation identifies one generation of a consumer group member. Offsets
// committed in a transaction carry it, so a member of an older generation
// cannot commit (KIP-447).
type Generation struct {
	GroupID      string
	GenerationID int32
	MemberID     string
	InstanceID   string
}

// EventKind says what a ConsumerEvent carries.
type EventKind int

// The kinds of consumer events.
const (
	// EventRecords carries records of one partition, in offset order.
	EventRecords EventKind = iota + 1
	// EventAssigned says partitions were assigned; nothing of them is
	// delivered until Done is called.
	EventAssigned
	// EventRevoked says partitions are about to be given up; the group
	// does not move on until Done is called.
	EventRevoked
)

// ConsumerEvent is one thing that happened to a group consumer, in the
// order it happened. Records of a partition are never delivered outside an
// EventAssigned … EventRevoked bracket for that partition.
type ConsumerEvent struct {
	Kind EventKind
	// Records: for EventRecords, a batch of one partition. The slice and
	// the records' byte slices belong to the receiver.
	Records []Record
	// Generation: the member's generation, for EventAssigned and
	// EventRevoked (and valid for commits until EventRevoked is Done).
	Generation Generation
	// Partitions: for EventAssigned, each assigned partition and the
	// offset consumption will start from (the committed offset, else the
	// auto.offset.reset policy's, resolved to a real offset); for
	// EventRevoked, the partitions revoked (the values are meaningless).
	Partitions map[TopicPartition]int64
	// Done must be called exactly once for EventAssigned and EventRevoked.
	// For EventAssigned, seek holds offsets to start from instead of the
	// ones in Partitions (nil: no change). Ignored for EventRecords.
	Done func(seek map[TopicPartition]int64)
}

// Consumer is a member of a Kafka consumer group with auto-commit off:
// offsets are committed only through a Committer. It funnels every claimed
// partition into one ordered stream of events that a single task goroutine
// polls, so the task needs no locking.
//
// Run and Poll are called from two different goroutines: Run by the owner
// of the consumer's goroutines, Poll by the task loop. If the task stops
// polling, the consumer stops fetching (bounded memory).
type Consumer interface {
	// Run joins the group and consumes until ctx is done or a fatal error.
	// It starts and owns every goroutine of the consumer; all have ended
	// when it returns. It leaves the group on return.
	Run(ctx context.Context) error
	// Poll returns the next event, blocking until there is one, until
	// timeout passes (then it returns ok=false), or until ctx is done
	// (then ctx.Err()). After Run has returned, Poll returns Run's error,
	// or ErrConsumerClosed.
	Poll(ctx context.Context, timeout time.Duration) (ev ConsumerEvent, ok bool, err error)
}

// Committer is a transactional producer owned by one task instance.
// It is not safe for concurrent use.
type Committer interface {
	// Commit writes records and, when gen is not nil, commits offsets for
	// gen's group, all in one Kafka transaction: either all of it becomes
	// visible to read_committed consumers or none of it. Offsets are the
	// next offsets to consume. ErrFenced means a newer instance owns the
	// transactional id: stop and never call Commit again.
	// ErrGenerationStale means gen is no longer the group's current
	// generation: the transaction was aborted, the Committer stays usable. A RetryableError means the transaction was
	// aborted and may be retried with the same arguments. Any other error
	// means the state of the transaction is unknown: restart the task from
	// the committed offsets.
	Commit(ctx context.Context, records []ProducerRecord, offsets map[TopicPartition]int64, gen *Generation) error
	// Close aborts any open transaction and closes the producer.
	Close() error
}

// TopicSpec describes a topic to create.
type TopicSpec struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16
	Configs           map[string]string
}

// Admin is the framework's view of Kafka administration. Safe for
// concurrent use.
type Admin interface {
	// EnsureTopic creates the topic if it does not exist; an existing topic
	// is left as it is and is not an error.
	EnsureTopic(ctx context.Context, spec TopicSpec) error
	// Partitions lists the partitions of the topics that exist among
	// topics, and of every topic matching re when re is not nil.
	Partitions(ctx context.Context, topics []string, re *regexp.Regexp) ([]TopicPartition, error)
	// EndOffsets returns the log end offset (high watermark) of each partition.
	EndOffsets(ctx context.Context, tps []TopicPartition) (map[TopicPartition]int64, error)
	// StartOffsets returns the earliest offset of each partition.
	StartOffsets(ctx context.Context, tps []TopicPartition) (map[TopicPartition]int64, error)
	// OffsetsForTime returns, for each partition, the earliest offset whose
	// timestamp is at or after t, or the end offset when there is none.
	OffsetsForTime(ctx context.Context, tps []TopicPartition, t time.Time) (map[TopicPartition]int64, error)
	// GroupOffsets returns the committed offsets of a consumer group;
	// partitions without a committed offset are left out.
	GroupOffsets(ctx context.Context, group string) (map[TopicPartition]int64, error)
	// AlterGroupOffsets sets committed offsets of a group that has no
	// active members.
	AlterGroupOffsets(ctx context.Context, group string, offsets map[TopicPartition]int64) error
	// DeleteGroupOffsets removes the committed offsets of the partitions.
	DeleteGroupOffsets(ctx context.Context, group string, tps []TopicPartition) error
	// RemoveGroupMembers makes static members (by group.instance.id) leave
	// the group; they do not leave on their own when they close.
	RemoveGroupMembers(ctx context.Context, group string, instanceIDs []string) error
	// ClusterID returns the Kafka cluster's id.
	ClusterID(ctx context.Context) (string, error)
}

// TopicReader reads whole topics, for the compacted stores (source offsets,
// and later configs and status).
type TopicReader interface {
	// ReadAll returns every committed record of every partition of topic,
	// from the earliest offset up to the end offset as of the call, in
	// offset order per partition. A missing topic yields no records.
	ReadAll(ctx context.Context, topic string) ([]Record, error)
}

// ConsumerConfig configures a group Consumer.
type ConsumerConfig struct {
	// Group is the consumer group id ("connect-<connector>").
	Group string
	// Topics and TopicsRegex select what to consume; exactly one is set.
	Topics      []string
	TopicsRegex *regexp.Regexp
	// ClientID identifies the member in broker logs.
	ClientID string
	// InstanceID, when set, makes the member static (KIP-345,
	// group.instance.id): a restarted task that rejoins with the same id
	// takes its partitions back at once instead of waiting for the dead
	// member's session to time out, and an older instance is fenced.
	InstanceID string
	// Overrides are the connector's consumer.override.* settings.
	Overrides ConsumerOverrides
}

// ProducerConfig configures a transactional Committer.
type ProducerConfig struct {
	// TransactionalID fences earlier instances of the same task.
	TransactionalID string
	// ClientID identifies the producer in broker logs.
	ClientID string
	// Overrides are the connector's producer.override.* settings.
	Overrides ProducerOverrides
}

// ConsumerOverrides are the Kafka consumer settings a connector may
// override with consumer.override.<key>, with Kafka's names and defaults
// tuned for throughput.
type ConsumerOverrides struct {
	AutoOffsetReset        string        `config:"auto.offset.reset" default:"earliest" enum:"earliest,latest" doc:"where to start when the group has no committed offset"`
	IsolationLevel         string        `config:"isolation.level" default:"read_committed" enum:"read_committed,read_uncommitted" doc:"read_committed skips aborted transactions"`
	MaxPollRecords         int           `config:"max.poll.records" default:"10000" min:"1" doc:"most records handed to the sink in one Write"`
	FetchMinBytes          int           `config:"fetch.min.bytes" default:"1" min:"1" doc:"least data a fetch waits for"`
	FetchMaxBytes          int           `config:"fetch.max.bytes" default:"52428800" min:"1024" doc:"most data one fetch returns"`
	MaxPartitionFetchBytes int           `config:"max.partition.fetch.bytes" default:"8388608" min:"1024" doc:"most data one fetch returns per partition"`
	FetchMaxWait           time.Duration `config:"fetch.max.wait.ms" default:"250" unit:"ms" min:"1" doc:"longest a fetch waits for fetch.min.bytes"`
	SessionTimeout         time.Duration `config:"session.timeout.ms" default:"10000" unit:"ms" min:"1000" doc:"a member silent this long is removed from the group"`
	HeartbeatInterval      time.Duration `config:"heartbeat.interval.ms" default:"3000" unit:"ms" min:"100" doc:"how often the member heartbeats"`
	MaxPollInterval        time.Duration `config:"max.poll.interval.ms" default:"300000" unit:"ms" min:"1000" doc:"rebalance timeout: longest a member may take to rejoin"`
	ClientID               string        `config:"client.id" doc:"client id shown in broker logs"`
}

// ProducerOverrides are the Kafka producer settings a connector may
// override with producer.override.<key>.
type ProducerOverrides struct {
	CompressionType    string        `config:"compression.type" default:"lz4" enum:"none,gzip,snappy,lz4,zstd" doc:"compression of produced batches"`
	Linger             time.Duration `config:"linger.ms" default:"5" unit:"ms" min:"0" doc:"how long the producer waits to fill a batch"`
	BatchSize          int           `config:"batch.size" default:"1048576" min:"1" doc:"bytes per produced batch"`
	MaxRequestSize     int           `config:"max.request.size" default:"10485760" min:"1024" doc:"largest produce request"`
	TransactionTimeout time.Duration `config:"transaction.timeout.ms" default:"60000" unit:"ms" min:"1000" doc:"broker aborts a transaction open longer than this"`
	ClientID           string        `config:"client.id" doc:"client id shown in broker logs"`
}
