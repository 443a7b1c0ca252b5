package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"

	"github.com/connectd/connectd/connector"
)

// Committer is a transactional producer: every Commit is one Kafka
// transaction holding records and, for sink and stream tasks, the consumer
// offsets they stand for. It implements connector.Committer and, like it,
// is not safe for concurrent use.
type Committer struct {
	txid     string
	log      *slog.Logger
	client   sarama.Client
	p        sarama.AsyncProducer
	maxBytes int // largest record, sarama's MaxMessageBytes

	// msgs is reused from one Commit to the next: when CommitTxn or
	// AbortTxn returns, sarama holds no message any more.
	msgs []sarama.ProducerMessage
	// broken is set once the producer can no longer be used (fenced, or a
	// transaction in an unknown state); every later Commit returns it.
	broken error
	closed bool
}

var _ connector.Committer = (*Committer)(nil)

// NewCommitter connects a transactional producer with cfg's transactional
// id. Connecting initializes the id with the transaction coordinator,
// which fences every earlier producer with the same id: from here on a
// zombie instance of the task can no longer commit. The producer's
// goroutines and connections live until Close.
func (c *Client) NewCommitter(cfg connector.ProducerConfig) (connector.Committer, error) {
	if cfg.TransactionalID == "" {
		return nil, errors.New("kafka committer: no transactional id given")
	}
	o := withDefaults(cfg.Overrides)
	scfg, err := c.producerConfig(cfg, o)
	if err != nil {
		return nil, err
	}
	classify := func(op string, err error) error {
		err = fmt.Errorf("kafka committer %s: %s: %w", cfg.TransactionalID, op, readable(err))
		switch {
		case isProducerFenced(err):
			return fmt.Errorf("%w: %w", connector.ErrFenced, err)
		case isTransient(err):
			return connector.Retryable(err, 0)
		}
		return err
	}
	client, err := sarama.NewClient(c.brokers, scfg)
	if err != nil {
		return nil, classify("connect", err)
	}
	p, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, classify("init transactions", err)
	}
	return &Committer{
		txid:     cfg.TransactionalID,
		log:      c.log.With("transactional_id", cfg.TransactionalID),
		client:   client,
		p:        p,
		maxBytes: scfg.Producer.MaxMessageBytes,
	}, nil
}

// Commit writes records and, when gen is not nil, commits offsets for
// gen's group in one transaction; see connector.Committer. A record with
// Partition < 0 goes to the partition its key hashes to (murmur2, as the
// Java producer), or to any partition when it has no key.
//
// Records are checked before the transaction begins: one for a partition
// its topic does not have, or larger than batch.size, fails the Commit
// with nothing written; a missing topic fails it retryably.
//
// ctx bounds handing the records to the producer; once they are handed
// over, the commit runs to its end, bounded by sarama's own timeouts and
// retries. Errors: connector.ErrFenced (wrapped) when a newer producer
// owns the transactional id (then every later Commit fails the same way)
// or the group generation is stale; a connector.RetryableError when the
// transaction failed for a transient reason and was aborted; any other
// error when the records were refused, the broker rejected them (the
// transaction was aborted), or the transaction's fate is unknown.
func (c *Committer) Commit(ctx context.Context, records []connector.ProducerRecord, offsets map[connector.TopicPartition]int64, gen *connector.Generation) error {
	if c.closed {
		return fmt.Errorf("kafka committer %s: commit after Close", c.txid)
	}
	if c.broken != nil {
		return c.broken
	}
	if gen == nil && len(offsets) > 0 {
		return fmt.Errorf("kafka committer %s: %d consumer offsets given without a group generation", c.txid, len(offsets))
	}
	if gen != nil && gen.GroupID == "" && len(offsets) > 0 {
		return fmt.Errorf("kafka committer %s: consumer offsets given for a generation without a group id", c.txid)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kafka committer %s: commit: %w", c.txid, err)
	}
	c.msgs = toProducerMessages(c.msgs, records)
	if err := c.check(c.msgs); err != nil {
		return err
	}
	if err := c.p.BeginTxn(); err != nil {
		return c.failed("begin transaction", err)
	}
	in := c.p.Input()
	for i := range c.msgs {
		select {
		case in <- &c.msgs[i]:
		case <-ctx.Done():
			return c.failed(fmt.Sprintf("produce record %d of %d", i+1, len(records)), ctx.Err())
		}
	}
	if gen != nil && len(offsets) > 0 {
		meta := &sarama.ConsumerGroupMetadata{GroupID: gen.GroupID, GenerationID: gen.GenerationID, MemberID: gen.MemberID}
		if gen.InstanceID != "" {
			id := gen.InstanceID
			meta.GroupInstanceID = &id
		}
		if err := c.p.AddOffsetsToTxnWithGroupMetadata(toTxnOffsets(offsets), meta); err != nil {
			return c.failed("add offsets of group "+gen.GroupID+" to transaction", err)
		}
	}
	// CommitTxn waits until every record is acknowledged (or failed), then
	// sends the offsets and ends the transaction.
	if err := c.p.CommitTxn(); err != nil {
		what := fmt.Sprintf("commit transaction of %d records", len(records))
		if gen != nil && len(offsets) > 0 {
			what += fmt.Sprintf(" and offsets of group %s generation %d", gen.GroupID, gen.GenerationID)
		}
		return c.failed(what, err)
	}
	return nil
}

// check refuses, before the transaction starts, records that the producer
// would fail: for a partition the topic does not have, for a topic that
// does not exist (retryable: it may be about to be created), or larger
// than batch.size. Failing them inside the transaction would abort it
// while other batches are in flight.
func (c *Committer) check(msgs []sarama.ProducerMessage) error {
	counts := map[string]int32{}
	for i := range msgs {
		m := &msgs[i]
		n, ok := counts[m.Topic]
		if !ok {
			ps, err := c.client.Partitions(m.Topic)
			if err != nil {
				err = fmt.Errorf("kafka committer %s: record %d: topic %s: %w", c.txid, i, m.Topic, err)
				if isTransient(err) {
					return connector.Retryable(err, 0)
				}
				return err
			}
			n = int32(len(ps))
			counts[m.Topic] = n
		}
		if m.Partition >= n {
			return fmt.Errorf("kafka committer %s: record %d is for partition %d of topic %s, which has %d partitions", c.txid, i, m.Partition, m.Topic, n)
		}
		if size := m.ByteSize(2); size > c.maxBytes {
			return fmt.Errorf("kafka committer %s: record %d for topic %s is %d bytes, more than batch.size (%d)", c.txid, i, m.Topic, size, c.maxBytes)
		}
	}
	return nil
}

// failed aborts the open transaction after op failed with cause, and
// classifies the failure for the caller.
func (c *Committer) failed(op string, cause error) error {
	cause = readable(cause)
	wrap := func(kind error) error {
		if kind == nil {
			return fmt.Errorf("kafka committer %s: %s: %w", c.txid, op, cause)
		}
		return fmt.Errorf("kafka committer %s: %s: %w: %w", c.txid, op, kind, cause)
	}
	st := c.p.TxnStatus()
	if st&sarama.ProducerTxnFlagFatalError != 0 {
		if isProducerFenced(cause) {
			c.broken = wrap(connector.ErrFenced)
		} else {
			c.broken = wrap(errTxnUnknown)
		}
		return c.broken
	}
	if st&(sarama.ProducerTxnFlagInTransaction|sarama.ProducerTxnFlagInError|sarama.ProducerTxnFlagEndTransaction) != 0 {
		if aerr := c.p.AbortTxn(); aerr != nil {
			if isProducerFenced(aerr) || isProducerFenced(cause) {
				c.broken = fmt.Errorf("kafka committer %s: %s: %w: %w (abort: %w)", c.txid, op, connector.ErrFenced, cause, aerr)
			} else {
				c.broken = fmt.Errorf("kafka committer %s: %s: %w: %w; abort failed: %w", c.txid, op, errTxnUnknown, cause, aerr)
			}
			return c.broken
		}
	}
	// The transaction is aborted: nothing of it is visible.
	switch {
	case isProducerFenced(cause):
		c.broken = wrap(connector.ErrFenced)
		return c.broken
	case isGenerationFenced(cause):
		return fmt.Errorf("kafka committer %s: %s: the group generation is no longer current: %w: %w", c.txid, op, connector.ErrGenerationStale, cause)
	case isTransient(cause):
		return connector.Retryable(wrap(nil), 0)
	}
	return wrap(errTxnAborted)
}

// readable gives a sarama error code that has no text of its own (sarama
// prints "Unknown error, how did this happen?") its Kafka name.
func readable(err error) error {
	var k sarama.KError
	if errors.As(err, &k) && err == error(k) && k == sarama.ErrProducerFenced {
		return namedKError{k, "PRODUCER_FENCED"}
	}
	return err
}

type namedKError struct {
	k    sarama.KError
	name string
}

func (e namedKError) Error() string {
	return fmt.Sprintf("kafka server: %s (error %d)", e.name, int16(e.k))
}
func (e namedKError) Unwrap() error { return e.k }

var (
	errTxnUnknown = errors.New("transaction state unknown")
	errTxnAborted = errors.New("transaction aborted")
)

// Close aborts the open transaction, if any, and closes the producer.
func (c *Committer) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	if st := c.p.TxnStatus(); st&sarama.ProducerTxnFlagInTransaction != 0 {
		if err := c.p.AbortTxn(); err != nil {
			errs = append(errs, fmt.Errorf("abort open transaction: %w", err))
		}
	}
	if err := c.p.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := c.client.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kafka committer %s: close: %w", c.txid, err)
	}
	return nil
}

// toProducerMessages fills buf with records as sarama messages, reusing
// its backing array. Byte slices are not copied.
func toProducerMessages(buf []sarama.ProducerMessage, records []connector.ProducerRecord) []sarama.ProducerMessage {
	if cap(buf) < len(records) {
		buf = make([]sarama.ProducerMessage, len(records))
	}
	buf = buf[:len(records)]
	for i := range records {
		r := &records[i]
		m := sarama.ProducerMessage{Topic: r.Topic, Partition: r.Partition, Timestamp: r.Timestamp}
		if r.Partition < 0 {
			m.Partition = -1
		}
		if r.Key != nil {
			m.Key = sarama.ByteEncoder(r.Key)
		}
		if r.Value != nil {
			m.Value = sarama.ByteEncoder(r.Value)
		}
		if len(r.Headers) > 0 {
			m.Headers = make([]sarama.RecordHeader, len(r.Headers))
			for j, h := range r.Headers {
				m.Headers[j] = sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value}
			}
		}
		buf[i] = m
	}
	// Drop references to the previous Commit's records beyond len.
	clear(buf[len(records):cap(buf)])
	return buf
}

// toTxnOffsets groups offsets by topic in sarama's shape.
func toTxnOffsets(offsets map[connector.TopicPartition]int64) map[string][]*sarama.PartitionOffsetMetadata {
	out := make(map[string][]*sarama.PartitionOffsetMetadata)
	for tp, off := range offsets {
		out[tp.Topic] = append(out[tp.Topic], &sarama.PartitionOffsetMetadata{Partition: tp.Partition, Offset: off, LeaderEpoch: -1})
	}
	return out
}

// partitioner sends a record to the partition it names, or, when it names
// none (Partition < 0), to the partition its key hashes to with murmur2,
// the Java producer's default, so connectd and Java clients agree on
// where a key lives. A record without key or partition goes anywhere.
type partitioner struct {
	hash sarama.Partitioner
}

func newPartitioner(topic string) sarama.Partitioner {
	return &partitioner{hash: sarama.NewMurmur2Partitioner(topic)}
}

// Partition implements sarama.Partitioner.
func (p *partitioner) Partition(m *sarama.ProducerMessage, n int32) (int32, error) {
	if m.Partition >= 0 {
		if m.Partition >= n {
			return -1, fmt.Errorf("record for partition %d of topic %s, which has %d partitions", m.Partition, m.Topic, n)
		}
		return m.Partition, nil
	}
	return p.hash.Partition(m, n)
}

// RequiresConsistency implements sarama.Partitioner.
func (p *partitioner) RequiresConsistency() bool { return true }

// MessageRequiresConsistency implements sarama.DynamicConsistencyPartitioner:
// only a record with neither partition nor key may go to any partition.
func (p *partitioner) MessageRequiresConsistency(m *sarama.ProducerMessage) bool {
	return m.Partition >= 0 || m.Key != nil
}
