package kafka

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/IBM/sarama"

	"github.com/connectd/connectd/connector"
)

// Admin implements connector.Admin over the Client's shared connection.
// It is safe for concurrent use. sarama's admin calls take no context:
// ctx is checked before each request, and each request is bounded by
// sarama's network timeouts.
type Admin struct{ c *Client }

var _ connector.Admin = (*Admin)(nil)

// EnsureTopic creates spec's topic unless it exists. Partitions or a
// replication factor ≤ 0 take the broker's default.
func (a *Admin) EnsureTopic(ctx context.Context, spec connector.TopicSpec) error {
	if spec.Name == "" {
		return errors.New("kafka admin: ensure topic: no topic name given")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	client, admin, err := a.c.conn()
	if err != nil {
		return err
	}
	detail := &sarama.TopicDetail{NumPartitions: spec.Partitions, ReplicationFactor: spec.ReplicationFactor}
	if detail.NumPartitions <= 0 {
		detail.NumPartitions = -1
	}
	if detail.ReplicationFactor <= 0 {
		detail.ReplicationFactor = -1
	}
	if len(spec.Configs) > 0 {
		detail.ConfigEntries = make(map[string]*string, len(spec.Configs))
		for k, v := range spec.Configs {
			detail.ConfigEntries[k] = &v
		}
	}
	err = admin.CreateTopic(spec.Name, detail, false)
	switch {
	case err == nil:
		_ = client.RefreshMetadata(spec.Name)
		return nil
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
		return nil
	case isTransient(err):
		return connector.Retryable(fmt.Errorf("kafka admin: create topic %s: %w", spec.Name, err), 0)
	}
	return fmt.Errorf("kafka admin: create topic %s: %w", spec.Name, err)
}

// Partitions lists the partitions of the existing topics among topics and
// of every topic matching re (Kafka's internal topics never match),
// sorted by topic and partition, without duplicates.
func (a *Admin) Partitions(ctx context.Context, topics []string, re *regexp.Regexp) ([]connector.TopicPartition, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, admin, err := a.c.conn()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, t := range topics {
		want[t] = true
	}
	var meta []*sarama.TopicMetadata
	switch {
	case re != nil:
		meta, err = admin.DescribeTopics(nil) // every topic
	case len(topics) > 0:
		meta, err = admin.DescribeTopics(topics)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kafka admin: describe topics: %w", err)
	}
	var out []connector.TopicPartition
	for _, tm := range meta {
		if !want[tm.Name] && (re == nil || tm.IsInternal || isInternalTopic(tm.Name) || !re.MatchString(tm.Name)) {
			continue
		}
		switch tm.Err {
		case sarama.ErrNoError:
		case sarama.ErrUnknownTopicOrPartition:
			continue
		default:
			return nil, fmt.Errorf("kafka admin: describe topic %s: %w", tm.Name, tm.Err)
		}
		for _, pm := range tm.Partitions {
			out = append(out, connector.TopicPartition{Topic: tm.Name, Partition: pm.ID})
		}
		want[tm.Name] = false
	}
	sortTPs(out)
	return out, nil
}

// EndOffsets returns the high watermark of each partition.
func (a *Admin) EndOffsets(ctx context.Context, tps []connector.TopicPartition) (map[connector.TopicPartition]int64, error) {
	return a.list(ctx, "end offsets", tps, sarama.OffsetNewest)
}

// StartOffsets returns the log start offset of each partition.
func (a *Admin) StartOffsets(ctx context.Context, tps []connector.TopicPartition) (map[connector.TopicPartition]int64, error) {
	return a.list(ctx, "start offsets", tps, sarama.OffsetOldest)
}

// OffsetsForTime returns, for each partition, the earliest offset whose
// record timestamp is at or after t, or the end offset when no record is
// that recent.
func (a *Admin) OffsetsForTime(ctx context.Context, tps []connector.TopicPartition, t time.Time) (map[connector.TopicPartition]int64, error) {
	out, err := a.list(ctx, "offsets for time "+t.UTC().Format(time.RFC3339Nano), tps, t.UnixMilli())
	if err != nil {
		return nil, err
	}
	end, err := a.list(ctx, "end offsets", tps, sarama.OffsetNewest)
	if err != nil {
		return nil, err
	}
	client, _, err := a.c.conn()
	if err != nil {
		return nil, err
	}
	// ListOffsets answers with the first offset whose batch timestamp is
	// at or after t, and transaction markers carry the time of the commit,
	// not of the data: on a transactional topic whose records carry event
	// times, the answer can be a marker far past the records wanted. It is
	// a lower bound, so read forward to the first data record at or after t.
	ms := t.UnixMilli()
	for tp, off := range out {
		if off < 0 || off >= end[tp] {
			out[tp] = end[tp]
			continue
		}
		found := end[tp]
		err := scanPartition(ctx, client, tp, off, end[tp], func(r connector.Record) bool {
			if r.Timestamp.UnixMilli() >= ms {
				found = r.Offset
				return false
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("kafka admin: offsets for time: scan %s: %w", tp, err)
		}
		out[tp] = found
	}
	return out, nil
}

func (a *Admin) list(ctx context.Context, what string, tps []connector.TopicPartition, query int64) (map[connector.TopicPartition]int64, error) {
	if len(tps) == 0 {
		return map[connector.TopicPartition]int64{}, nil
	}
	client, _, err := a.c.conn()
	if err != nil {
		return nil, err
	}
	out, err := listOffsets(ctx, client, tps, query, sarama.ReadUncommitted)
	if err != nil {
		return nil, fmt.Errorf("kafka admin: %s: %w", what, err)
	}
	return out, nil
}

// GroupOffsets returns the committed offsets of every partition group has
// one for.
func (a *Admin) GroupOffsets(ctx context.Context, group string) (map[connector.TopicPartition]int64, error) {
	client, _, err := a.c.conn()
	if err != nil {
		return nil, err
	}
	out, err := fetchCommitted(ctx, client, group, nil, false)
	if err != nil {
		return nil, fmt.Errorf("kafka admin: %w", err)
	}
	return out, nil
}

// AlterGroupOffsets commits offsets for group outside of any generation.
// Kafka refuses it while the group has members: stop the connector first.
func (a *Admin) AlterGroupOffsets(ctx context.Context, group string, offsets map[connector.TopicPartition]int64) error {
	if len(offsets) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_, admin, err := a.c.conn()
	if err != nil {
		return err
	}
	req := map[string]map[int32]sarama.OffsetAndMetadata{}
	for tp, off := range offsets {
		if off < 0 {
			return fmt.Errorf("kafka admin: alter offsets of group %s: negative offset %d for %s", group, off, tp)
		}
		if req[tp.Topic] == nil {
			req[tp.Topic] = map[int32]sarama.OffsetAndMetadata{}
		}
		req[tp.Topic][tp.Partition] = sarama.OffsetAndMetadata{Offset: off, LeaderEpoch: -1}
	}
	resp, err := admin.AlterConsumerGroupOffsets(group, req, nil)
	if err != nil {
		return fmt.Errorf("kafka admin: alter offsets of group %s: %w", group, err)
	}
	var errs []error
	for topic, ps := range resp.Errors {
		for p, kerr := range ps {
			if kerr == sarama.ErrNoError {
				continue
			}
			tp := connector.TopicPartition{Topic: topic, Partition: p}
			if kerr == sarama.ErrUnknownMemberId || kerr == sarama.ErrIllegalGeneration || kerr == sarama.ErrRebalanceInProgress {
				errs = append(errs, fmt.Errorf("%s: %w (the group has active members: stop the connector first)", tp, kerr))
			} else {
				errs = append(errs, fmt.Errorf("%s: %w", tp, kerr))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("kafka admin: alter offsets of group %s: %w", group, errors.Join(errs...))
	}
	return nil
}

// DeleteGroupOffsets removes group's committed offsets of tps. Kafka
// refuses it for topics the group's members are subscribed to.
func (a *Admin) DeleteGroupOffsets(ctx context.Context, group string, tps []connector.TopicPartition) error {
	if len(tps) == 0 {
		return nil
	}
	client, _, err := a.c.conn()
	if err != nil {
		return err
	}
	var lastErr error
	for attempt := 0; attempt < requestAttempts; attempt++ {
		if attempt > 0 && !sleepCtx(ctx, time.Duration(attempt)*100*time.Millisecond) {
			return ctx.Err()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		lastErr = deleteGroupOffsetsOnce(client, group, tps)
		if lastErr == nil || !isTransient(lastErr) {
			break
		}
		_ = client.RefreshCoordinator(group)
	}
	if lastErr != nil {
		return fmt.Errorf("kafka admin: delete offsets of group %s: %w", group, lastErr)
	}
	return nil
}

func deleteGroupOffsetsOnce(client sarama.Client, group string, tps []connector.TopicPartition) error {
	coord, err := client.Coordinator(group)
	if err != nil {
		return err
	}
	req := &sarama.DeleteOffsetsRequest{Group: group}
	for _, tp := range tps {
		req.AddPartition(tp.Topic, tp.Partition)
	}
	resp, err := coord.DeleteOffsets(req)
	if err != nil {
		_ = coord.Close()
		return err
	}
	switch resp.ErrorCode {
	case sarama.ErrNoError:
	case sarama.ErrGroupIDNotFound:
		return nil // no group, no offsets
	default:
		return resp.ErrorCode
	}
	var errs []error
	for topic, ps := range resp.Errors {
		for p, kerr := range ps {
			if kerr != sarama.ErrNoError {
				errs = append(errs, fmt.Errorf("%s: %w", connector.TopicPartition{Topic: topic, Partition: p}, kerr))
			}
		}
	}
	return errors.Join(errs...)
}

// RemoveGroupMembers makes the static members with these group instance
// ids leave group (KIP-345): static members do not leave when they close,
// so a stopped or deleted connector removes them for its group to become
// empty at once. Unknown ids are not an error.
func (a *Admin) RemoveGroupMembers(ctx context.Context, group string, instanceIDs []string) error {
	if len(instanceIDs) == 0 {
		return nil
	}
	_, admin, err := a.c.conn()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	resp, err := admin.RemoveMemberFromConsumerGroup(group, instanceIDs)
	if err != nil {
		if errors.Is(err, sarama.ErrUnknownMemberId) || errors.Is(err, sarama.ErrGroupIDNotFound) {
			return nil
		}
		return fmt.Errorf("kafka admin: remove members %v of group %s: %w", instanceIDs, group, err)
	}
	if resp.Err != sarama.ErrNoError && resp.Err != sarama.ErrUnknownMemberId && resp.Err != sarama.ErrGroupIDNotFound {
		return fmt.Errorf("kafka admin: remove members %v of group %s: %w", instanceIDs, group, resp.Err)
	}
	for _, m := range resp.Members {
		if m.Err != sarama.ErrNoError && m.Err != sarama.ErrUnknownMemberId {
			id := m.MemberId
			if m.GroupInstanceId != nil {
				id = *m.GroupInstanceId
			}
			return fmt.Errorf("kafka admin: remove member %s of group %s: %w", id, group, m.Err)
		}
	}
	return nil
}

// ClusterID returns the id of the Kafka cluster, from a metadata request.
func (a *Admin) ClusterID(ctx context.Context) (string, error) {
	client, _, err := a.c.conn()
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	b := client.LeastLoadedBroker()
	if b == nil {
		return "", errors.New("kafka admin: cluster id: no broker is reachable")
	}
	resp, err := b.GetMetadata(&sarama.MetadataRequest{Version: 7})
	if err != nil {
		return "", fmt.Errorf("kafka admin: cluster id: %w", err)
	}
	if resp.ClusterID == nil {
		return "", nil
	}
	return *resp.ClusterID, nil
}
