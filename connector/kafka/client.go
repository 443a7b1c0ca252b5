package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/connectd/connectd/connector"
)

// defaultClientID names connectd's connections in broker logs when the
// connector sets no client.id.
const defaultClientID = "connectd"

// Client makes consumers and committers for one Kafka cluster and holds
// the connection shared by Admin and TopicReader. It is safe for
// concurrent use.
type Client struct {
	brokers []string
	log     *slog.Logger
	version sarama.KafkaVersion

	// topicRefresh is how often a consumer with a topic regex looks for
	// new matching topics; tests shorten it.
	topicRefresh time.Duration
	// txnRetries, when set, replaces sarama's retries of transaction
	// requests (50, 100ms apart); tests shorten them.
	txnRetries int

	mu     sync.Mutex
	shared sarama.Client
	admin  sarama.ClusterAdmin
	closed bool
}

// NewClient returns a Client for the cluster reachable at brokers
// (host:port bootstrap addresses). It connects to nothing and starts no
// goroutine; connections are opened by NewConsumer's Run, NewCommitter and
// the first Admin or TopicReader call. A nil logger discards logs.
func NewClient(brokers []string, logger *slog.Logger) (*Client, error) {
	if len(brokers) == 0 {
		return nil, errors.New("kafka client: no bootstrap brokers given")
	}
	for _, b := range brokers {
		if !strings.Contains(b, ":") {
			return nil, fmt.Errorf("kafka client: bootstrap broker %q is not host:port", b)
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{
		brokers:      append([]string(nil), brokers...),
		log:          logger,
		version:      protocolVersion(),
		topicRefresh: 30 * time.Second,
	}, nil
}

// Admin returns the cluster's administration interface.
func (c *Client) Admin() connector.Admin { return &Admin{c: c} }

// TopicReader returns a reader of whole topics.
func (c *Client) Reader() connector.TopicReader { return &TopicReader{c: c} }

// Close closes the connection shared by Admin and TopicReader. Consumers
// and committers made by the Client are closed by their own Run and Close.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.admin != nil {
		err := c.admin.Close() // closes c.shared too
		c.admin, c.shared = nil, nil
		if err != nil {
			return fmt.Errorf("kafka client: close admin connection: %w", err)
		}
	}
	return nil
}

// conn returns the shared sarama client and cluster admin, connecting on
// first use. A failed connection is retried by the next call.
func (c *Client) conn() (sarama.Client, sarama.ClusterAdmin, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, errors.New("kafka client: closed")
	}
	if c.shared != nil {
		return c.shared, c.admin, nil
	}
	cfg := c.baseConfig(defaultClientID + "-admin")
	cfg.Metadata.Full = true // sarama's admin needs it
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	cl, err := sarama.NewClient(c.brokers, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka client: connect to %s: %w", strings.Join(c.brokers, ","), err)
	}
	ad, err := sarama.NewClusterAdminFromClient(cl)
	if err != nil {
		_ = cl.Close()
		return nil, nil, fmt.Errorf("kafka client: admin connection to %s: %w", strings.Join(c.brokers, ","), err)
	}
	c.shared, c.admin = cl, ad
	return cl, ad, nil
}

// protocolVersion is the Kafka protocol version connectd speaks, which is
// the oldest broker it supports. 3.6 has everything the framework relies on:
// transactions with consumer group generations in TxnOffsetCommit
// (KIP-447), OffsetFetch with require_stable, CreateTopics with
// broker-default partitions and replication (KIP-464) and OffsetDelete.
func protocolVersion() sarama.KafkaVersion { return sarama.V3_6_0_0 }

// baseConfig is the sarama config every connection of connectd starts from.
func (c *Client) baseConfig(clientID string) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = c.version
	cfg.ClientID = sanitizeClientID(clientID)
	cfg.Metadata.Full = false
	cfg.Metadata.AllowAutoTopicCreation = false
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	return cfg
}

var clientIDUnsafe = regexp.MustCompile(`[^a-zA-Z0-9._-]`)

// sanitizeClientID replaces the characters sarama refuses in a client id.
func sanitizeClientID(id string) string {
	if id == "" {
		return defaultClientID
	}
	return clientIDUnsafe.ReplaceAllString(id, "_")
}

// consumerConfig maps a connector's consumer settings to sarama's.
func (c *Client) consumerConfig(cc connector.ConsumerConfig, o connector.ConsumerOverrides) (*sarama.Config, error) {
	id := cc.ClientID
	if o.ClientID != "" {
		id = o.ClientID
	}
	cfg := c.baseConfig(id)
	cfg.Metadata.Full = cc.TopicsRegex != nil

	// Throughput: big fetches, and deep per-partition buffers so that a
	// partition goroutine always finds a batch's worth waiting.
	cfg.ChannelBufferSize = consumerChannelBuffer
	cfg.Consumer.Fetch.Min = int32(o.FetchMinBytes)
	cfg.Consumer.Fetch.Default = int32(o.MaxPartitionFetchBytes)
	cfg.Consumer.Fetch.MaxBytes = int32(o.FetchMaxBytes)
	cfg.Consumer.MaxWaitTime = o.FetchMaxWait
	cfg.Consumer.MaxProcessingTime = time.Second

	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	switch o.AutoOffsetReset {
	case "latest":
		cfg.Consumer.Offsets.Initial = sarama.OffsetNewest
	default:
		cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	}
	switch o.IsolationLevel {
	case "read_uncommitted":
		cfg.Consumer.IsolationLevel = sarama.ReadUncommitted
	default:
		cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	}
	cfg.Consumer.Group.Session.Timeout = o.SessionTimeout
	cfg.Consumer.Group.Heartbeat.Interval = o.HeartbeatInterval
	cfg.Consumer.Group.Rebalance.Timeout = o.MaxPollInterval
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	// Static membership (KIP-345): a restarted task rejoins as itself.
	cfg.Consumer.Group.InstanceId = cc.InstanceID
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka consumer for group %s: invalid consumer settings: %w", cc.Group, err)
	}
	return cfg, nil
}

// producerConfig maps a connector's producer settings to a transactional
// sarama producer's.
func (c *Client) producerConfig(pc connector.ProducerConfig, o connector.ProducerOverrides) (*sarama.Config, error) {
	id := pc.ClientID
	if o.ClientID != "" {
		id = o.ClientID
	}
	cfg := c.baseConfig(id)
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Transaction.ID = pc.TransactionalID
	cfg.Producer.Transaction.Timeout = o.TransactionTimeout
	if c.txnRetries > 0 {
		cfg.Producer.Transaction.Retry.Max = c.txnRetries
		cfg.Producer.Transaction.Retry.Backoff = 10 * time.Millisecond
	}
	// Commit learns about failures from the transaction state, and waits
	// for acknowledgements through CommitTxn; nobody reads these channels.
	cfg.Producer.Return.Successes = false
	cfg.Producer.Return.Errors = false
	cfg.Producer.Partitioner = newPartitioner
	cfg.Producer.Flush.Frequency = o.Linger
	cfg.Producer.Flush.Bytes = min(o.MaxRequestSize, int(sarama.MaxRequestSize)-1)
	// sarama caps each partition's batch, and so each record, at
	// MaxMessageBytes: batch.size plays that part.
	cfg.Producer.MaxMessageBytes = min(o.BatchSize, int(sarama.MaxRequestSize)-1)
	cfg.ChannelBufferSize = producerChannelBuffer
	codec, ok := compressionCodec(o.CompressionType)
	if !ok {
		return nil, fmt.Errorf("kafka committer %s: compression.type %q is not one of none, gzip, snappy, lz4, zstd", pc.TransactionalID, o.CompressionType)
	}
	cfg.Producer.Compression = codec
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka committer %s: invalid producer settings: %w", pc.TransactionalID, err)
	}
	return cfg, nil
}

// Channel depths of sarama's internal pipelines (sarama's default is
// 256). BenchmarkConsume shows no gain past about 1024 per partition;
// 2048 leaves headroom while bounding what a consumer of many partitions
// holds (partitions × 2048 decoded records).
const (
	consumerChannelBuffer = 2048
	producerChannelBuffer = 4096
)

// compressionCodec maps compression.type to sarama's codec.
func compressionCodec(name string) (sarama.CompressionCodec, bool) {
	switch name {
	case "none":
		return sarama.CompressionNone, true
	case "gzip":
		return sarama.CompressionGZIP, true
	case "snappy":
		return sarama.CompressionSnappy, true
	case "lz4":
		return sarama.CompressionLZ4, true
	case "zstd":
		return sarama.CompressionZSTD, true
	}
	return sarama.CompressionNone, false
}

// withDefaults returns o with every zero field set to its documented
// default (the struct's default tags), so that a config built in code
// behaves like one parsed from JSON.
func withDefaults[T any](o T) T {
	var def T
	_ = connector.DecodeConfig(map[string]string{}, &def, "")
	ov := reflect.ValueOf(&o).Elem()
	dv := reflect.ValueOf(def)
	for i := range ov.NumField() {
		if f := ov.Field(i); f.CanSet() && f.IsZero() {
			f.Set(dv.Field(i))
		}
	}
	return o
}
