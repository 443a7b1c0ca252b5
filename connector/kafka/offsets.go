package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/connectd/connectd/connector"
)

// requestAttempts bounds the retries of one offsets request after a
// leader or coordinator moved.
const requestAttempts = 5

// listOffsets asks each partition's leader for the offset answering query:
// sarama.OffsetOldest (log start), sarama.OffsetNewest (high watermark, or
// the last stable offset with ReadCommitted) or a timestamp in ms (the
// earliest offset at or after it; -1 when there is none). Requests are
// batched per leader; a moved leader is looked up again.
func listOffsets(ctx context.Context, client sarama.Client, tps []connector.TopicPartition, query int64, iso sarama.IsolationLevel) (map[connector.TopicPartition]int64, error) {
	out := make(map[connector.TopicPartition]int64, len(tps))
	todo := tps
	var lastErr error
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt == requestAttempts {
			return nil, fmt.Errorf("list offsets of %s: %w", todo[0], lastErr)
		}
		if attempt > 0 {
			if !sleepCtx(ctx, time.Duration(attempt)*100*time.Millisecond) {
				return nil, ctx.Err()
			}
			_ = client.RefreshMetadata(topicsOf(todo)...)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		byLeader := map[*sarama.Broker][]connector.TopicPartition{}
		var retry []connector.TopicPartition
		for _, tp := range todo {
			leader, err := client.Leader(tp.Topic, tp.Partition)
			if err != nil {
				// sarama refreshed the metadata before giving up, so an
				// unknown topic is really missing.
				if !isTransient(err) || errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
					return nil, fmt.Errorf("list offsets of %s: find leader: %w", tp, err)
				}
				lastErr = err
				retry = append(retry, tp)
				continue
			}
			byLeader[leader] = append(byLeader[leader], tp)
		}
		for leader, ltps := range byLeader {
			req := sarama.NewOffsetRequest(client.Config().Version)
			req.IsolationLevel = iso
			for _, tp := range ltps {
				req.AddBlock(tp.Topic, tp.Partition, query, 1)
			}
			resp, err := leader.GetAvailableOffsets(req)
			if err != nil {
				_ = leader.Close()
				lastErr = err
				retry = append(retry, ltps...)
				continue
			}
			for _, tp := range ltps {
				b := resp.GetBlock(tp.Topic, tp.Partition)
				switch {
				case b == nil:
					lastErr = sarama.ErrIncompleteResponse
					retry = append(retry, tp)
				case b.Err == sarama.ErrNoError:
					out[tp] = b.Offset
				case isTransient(b.Err):
					lastErr = b.Err
					retry = append(retry, tp)
				default:
					return nil, fmt.Errorf("list offsets of %s: %w", tp, b.Err)
				}
			}
		}
		todo = retry
	}
	return out, nil
}

// fetchCommitted returns the committed offsets of group: of tps, or of
// every partition the group has an offset for when tps is nil. Partitions
// without a committed offset are left out. With requireStable, offsets
// that a pending transaction is about to change are waited for
// (KIP-447), until ctx ends.
func fetchCommitted(ctx context.Context, client sarama.Client, group string, tps []connector.TopicPartition, requireStable bool) (map[connector.TopicPartition]int64, error) {
	var parts map[string][]int32
	if tps != nil {
		parts = map[string][]int32{}
		for _, tp := range tps {
			parts[tp.Topic] = append(parts[tp.Topic], tp.Partition)
		}
	}
	wait := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !sleepCtx(ctx, wait) {
			return nil, ctx.Err()
		}
		wait = min(2*wait, time.Second)
		out, err := fetchCommittedOnce(client, group, parts, requireStable)
		if err == nil {
			return out, nil
		}
		if errors.Is(err, sarama.ErrUnstableOffsetCommit) {
			continue // a transaction is committing offsets: wait for it, however long
		}
		if !isTransient(err) || attempt >= requestAttempts {
			return nil, fmt.Errorf("fetch committed offsets of group %s: %w", group, err)
		}
		_ = client.RefreshCoordinator(group)
	}
}

func fetchCommittedOnce(client sarama.Client, group string, parts map[string][]int32, requireStable bool) (map[connector.TopicPartition]int64, error) {
	coord, err := client.Coordinator(group)
	if err != nil {
		return nil, err
	}
	req := sarama.NewOffsetFetchRequest(client.Config().Version, group, parts)
	req.RequireStable = requireStable
	resp, err := coord.FetchOffset(req)
	if err != nil {
		_ = coord.Close()
		return nil, err
	}
	switch gerr := resp.GroupError(); gerr {
	case sarama.ErrNoError:
	case sarama.ErrGroupIDNotFound:
		return map[connector.TopicPartition]int64{}, nil // no group, no offsets
	default:
		return nil, gerr
	}
	blocks := resp.Blocks
	if resp.Version >= 8 {
		if len(resp.Groups) == 0 {
			return nil, sarama.ErrIncompleteResponse
		}
		blocks = resp.Groups[0].Blocks
	}
	out := map[connector.TopicPartition]int64{}
	for topic, ps := range blocks {
		for p, b := range ps {
			if b.Err != sarama.ErrNoError {
				return nil, fmt.Errorf("%s: %w", connector.TopicPartition{Topic: topic, Partition: p}, b.Err)
			}
			if b.Offset >= 0 {
				out[connector.TopicPartition{Topic: topic, Partition: p}] = b.Offset
			}
		}
	}
	return out, nil
}

// startOffsets resolves where consumption of tps starts: the committed
// offset when it is still in the log, else the reset policy's offset
// (initial is sarama.OffsetOldest or sarama.OffsetNewest), as real offsets.
func startOffsets(ctx context.Context, client sarama.Client, group string, tps []connector.TopicPartition, iso sarama.IsolationLevel, initial int64) (map[connector.TopicPartition]int64, error) {
	committed, err := fetchCommitted(ctx, client, group, tps, iso == sarama.ReadCommitted)
	if err != nil {
		return nil, err
	}
	earliest, err := listOffsets(ctx, client, tps, sarama.OffsetOldest, sarama.ReadUncommitted)
	if err != nil {
		return nil, err
	}
	hwm, err := listOffsets(ctx, client, tps, sarama.OffsetNewest, sarama.ReadUncommitted)
	if err != nil {
		return nil, err
	}
	out := make(map[connector.TopicPartition]int64, len(tps))
	var reset []connector.TopicPartition
	for _, tp := range tps {
		if c, ok := committed[tp]; ok && c >= earliest[tp] && c <= hwm[tp] {
			out[tp] = c
		} else {
			reset = append(reset, tp)
		}
	}
	if len(reset) == 0 {
		return out, nil
	}
	from := earliest
	if initial == sarama.OffsetNewest {
		from = hwm
		if iso == sarama.ReadCommitted {
			if from, err = listOffsets(ctx, client, reset, sarama.OffsetNewest, iso); err != nil {
				return nil, err
			}
		}
	}
	for _, tp := range reset {
		out[tp] = from[tp]
	}
	return out, nil
}

func topicsOf(tps []connector.TopicPartition) []string {
	seen := map[string]bool{}
	var out []string
	for _, tp := range tps {
		if !seen[tp.Topic] {
			seen[tp.Topic] = true
			out = append(out, tp.Topic)
		}
	}
	return out
}

// sleepCtx waits d; false means ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
