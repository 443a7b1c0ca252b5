package kafka

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/IBM/sarama"

	"github.com/connectd/connectd/connector"
)

// TopicReader implements connector.TopicReader over the Client's shared
// connection. It is safe for concurrent use.
//
// It fetches with plain Fetch requests rather than a sarama consumer,
// because it must know its position: a read_committed consumer never
// sees the commit markers and aborted records at the end of a
// transactional topic, so counting delivered records cannot tell when it
// reached the end offset.
type TopicReader struct{ c *Client }

var _ connector.TopicReader = (*TopicReader)(nil)

// Fetch sizes of ReadAll.
const (
	readerFetchBytes    = 4 << 20
	readerMaxFetchBytes = 64 << 20
)

// ReadAll returns every committed record of every partition of topic from
// the earliest offset to the last stable offset as of the call, in offset
// order per partition and partition order overall. Records of aborted
// transactions are left out. A missing topic yields no records.
func (r *TopicReader) ReadAll(ctx context.Context, topic string) ([]connector.Record, error) {
	out, _, err := r.ReadFrom(ctx, topic, nil, 0)
	return out, err
}

// ReadFrom reads a topic incrementally: the committed records of each
// partition p from from[p] (the earliest offset when p is not in from, or
// when from[p] is out of the partition's range, as after retention or a
// re-created topic) up to the last stable offset as of the call, in offset
// order per partition and partition order overall. Records of aborted
// transactions are left out. With limit > 0 it returns at most limit
// records, stopping part way through a partition if need be.
//
// next holds, for every partition of the topic, where the following call
// should start: past the last record returned, or the last stable offset
// when the partition was read to its end. Passing next back reads only
// what was committed since. next is empty when the topic does not exist.
func (r *TopicReader) ReadFrom(ctx context.Context, topic string, from map[int32]int64, limit int) (records []connector.Record, next map[int32]int64, err error) {
	client, admin, err := r.c.conn()
	if err != nil {
		return nil, nil, err
	}
	meta, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		return nil, nil, fmt.Errorf("kafka read %s: describe topic: %w", topic, err)
	}
	next = map[int32]int64{}
	if len(meta) != 1 || meta[0].Err == sarama.ErrUnknownTopicOrPartition {
		return nil, next, nil
	}
	if meta[0].Err != sarama.ErrNoError {
		return nil, nil, fmt.Errorf("kafka read %s: describe topic: %w", topic, meta[0].Err)
	}
	tps := make([]connector.TopicPartition, 0, len(meta[0].Partitions))
	for _, pm := range meta[0].Partitions {
		tps = append(tps, connector.TopicPartition{Topic: topic, Partition: pm.ID})
	}
	sortTPs(tps)
	if len(tps) == 0 {
		return nil, next, nil
	}
	start, err := listOffsets(ctx, client, tps, sarama.OffsetOldest, sarama.ReadCommitted)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka read %s: %w", topic, err)
	}
	end, err := listOffsets(ctx, client, tps, sarama.OffsetNewest, sarama.ReadCommitted)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka read %s: %w", topic, err)
	}
	for _, tp := range tps {
		pos, ok := from[tp.Partition]
		if !ok || pos < start[tp] || pos > end[tp] {
			pos = start[tp]
		}
		next[tp.Partition] = pos
		if pos >= end[tp] || (limit > 0 && len(records) >= limit) {
			continue
		}
		full := false
		err := scanPartition(ctx, client, tp, pos, end[tp], func(rec connector.Record) bool {
			records = append(records, rec)
			next[tp.Partition] = rec.Offset + 1
			full = limit > 0 && len(records) >= limit
			return !full
		})
		if err != nil {
			return nil, nil, fmt.Errorf("kafka read %s: %w", tp, err)
		}
		if !full {
			next[tp.Partition] = end[tp]
		}
	}
	return records, next, nil
}

// scanPartition calls fn with each committed data record of tp in
// [from, end), in offset order (control records and aborted transactions
// skipped), until fn returns false.
func scanPartition(ctx context.Context, client sarama.Client, tp connector.TopicPartition, from, end int64, fn func(connector.Record) bool) error {
	pos := from
	size := int32(readerFetchBytes)
	// abortedPIDs holds the producers whose current transaction was
	// aborted: their data batches are skipped until the abort marker.
	abortedPIDs := map[int64]bool{}
	failures := 0
	for pos < end {
		if err := ctx.Err(); err != nil {
			return err
		}
		block, err := fetchBlock(client, tp, pos, size)
		if err != nil {
			failures++
			if !isTransient(err) || failures >= requestAttempts {
				return fmt.Errorf("fetch at offset %d: %w", pos, err)
			}
			if !sleepCtx(ctx, time.Duration(failures)*100*time.Millisecond) {
				return ctx.Err()
			}
			_ = client.RefreshMetadata(tp.Topic)
			continue
		}
		failures = 0
		aborted := slices.Clone(block.AbortedTransactions)
		slices.SortFunc(aborted, func(a, b *sarama.AbortedTransaction) int { return cmp.Compare(a.FirstOffset, b.FirstOffset) })
		progressed := false
		for _, recs := range block.RecordsSet {
			b := recs.RecordBatch
			if b == nil {
				return fmt.Errorf("offset %d: legacy message format (before Kafka 0.11) is not supported", pos)
			}
			if b.PartialTrailingRecord {
				break
			}
			last := b.FirstOffset + int64(b.LastOffsetDelta)
			if last < pos {
				continue
			}
			for len(aborted) > 0 && aborted[0].FirstOffset <= last {
				abortedPIDs[aborted[0].ProducerID] = true
				aborted = aborted[1:]
			}
			switch {
			case b.Control:
				if len(b.Records) > 0 && isAbortMarker(b.Records[0].Key) {
					delete(abortedPIDs, b.ProducerID)
				}
			case b.IsTransactional && abortedPIDs[b.ProducerID]:
			default:
				for _, rec := range b.Records {
					off := b.FirstOffset + rec.OffsetDelta
					if off < pos || off >= end {
						continue
					}
					if !fn(batchRecord(tp, b, rec, off)) {
						return nil
					}
				}
			}
			pos = last + 1
			progressed = true
			if pos >= end {
				break
			}
		}
		if progressed {
			size = readerFetchBytes
			continue
		}
		if isPartialBlock(block) {
			if size >= readerMaxFetchBytes {
				return fmt.Errorf("offset %d: a record batch is larger than %d bytes", pos, readerMaxFetchBytes)
			}
			size *= 2
			continue
		}
		// No batch at or past pos below the last stable offset: what is
		// left are batches emptied by compaction.
		break
	}
	return nil
}

// isPartialBlock reports whether the response held only part of a batch.
func isPartialBlock(b *sarama.FetchResponseBlock) bool {
	if b.Partial {
		return true
	}
	return len(b.RecordsSet) == 1 && b.RecordsSet[0].RecordBatch != nil && b.RecordsSet[0].RecordBatch.PartialTrailingRecord
}

func fetchBlock(client sarama.Client, tp connector.TopicPartition, pos int64, size int32) (*sarama.FetchResponseBlock, error) {
	leader, err := client.Leader(tp.Topic, tp.Partition)
	if err != nil {
		return nil, err
	}
	req := &sarama.FetchRequest{
		Version:      11,
		MaxWaitTime:  100,
		MinBytes:     1,
		MaxBytes:     readerMaxFetchBytes,
		Isolation:    sarama.ReadCommitted,
		SessionEpoch: -1,
	}
	req.AddBlock(tp.Topic, tp.Partition, pos, size, -1)
	resp, err := leader.Fetch(req)
	if err != nil {
		_ = leader.Close()
		return nil, err
	}
	block := resp.GetBlock(tp.Topic, tp.Partition)
	if block == nil {
		return nil, sarama.ErrIncompleteResponse
	}
	if block.Err != sarama.ErrNoError {
		return nil, block.Err
	}
	return block, nil
}

// isAbortMarker reports whether a control record key (version int16,
// type int16) is an ABORT marker (type 0); COMMIT is type 1.
func isAbortMarker(key []byte) bool {
	return len(key) >= 4 && binary.BigEndian.Uint16(key[2:4]) == 0
}

func batchRecord(tp connector.TopicPartition, b *sarama.RecordBatch, rec *sarama.Record, off int64) connector.Record {
	ts := b.FirstTimestamp.Add(rec.TimestampDelta)
	if b.LogAppendTime {
		ts = b.MaxTimestamp
	}
	r := connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off, Key: rec.Key, Value: rec.Value, Timestamp: ts}
	if len(rec.Headers) > 0 {
		r.Headers = make([]connector.Header, len(rec.Headers))
		for i, h := range rec.Headers {
			r.Headers[i] = connector.Header{Key: string(h.Key), Value: h.Value}
		}
	}
	return r
}
