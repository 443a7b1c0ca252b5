package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/connectd/connectd/connector"
)

// eventBuffer is how many events (record batches, mostly) wait for Poll
// before the partition goroutines block and fetching stops.
const eventBuffer = 16

// Consumer is a consumer group member with auto-commit off that delivers
// one ordered stream of events; it implements connector.Consumer.
type Consumer struct {
	brokers      []string
	cfg          connector.ConsumerConfig
	scfg         *sarama.Config
	log          *slog.Logger
	maxPoll      int
	topicRefresh time.Duration

	events  chan connector.ConsumerEvent
	started atomic.Bool
	runDone chan struct{}
	runErr  error // set before runDone is closed
}

var _ connector.Consumer = (*Consumer)(nil)

// NewConsumer returns a group consumer for cfg. It validates the settings
// and connects to nothing: Run joins the group.
func (c *Client) NewConsumer(cfg connector.ConsumerConfig) (connector.Consumer, error) {
	if cfg.Group == "" {
		return nil, errors.New("kafka consumer: no consumer group given")
	}
	if (len(cfg.Topics) == 0) == (cfg.TopicsRegex == nil) {
		return nil, fmt.Errorf("kafka consumer for group %s: give exactly one of topics and a topic regex", cfg.Group)
	}
	o := withDefaults(cfg.Overrides)
	scfg, err := c.consumerConfig(cfg, o)
	if err != nil {
		return nil, err
	}
	cfg.Topics = slices.Clone(cfg.Topics)
	return &Consumer{
		brokers:      c.brokers,
		cfg:          cfg,
		scfg:         scfg,
		log:          c.log.With("group", cfg.Group),
		maxPoll:      o.MaxPollRecords,
		topicRefresh: c.topicRefresh,
		events:       make(chan connector.ConsumerEvent, eventBuffer),
		runDone:      make(chan struct{}),
	}, nil
}

// Poll returns the next event; see connector.Consumer. A timeout ≤ 0
// returns at once when no event is waiting.
func (c *Consumer) Poll(ctx context.Context, timeout time.Duration) (connector.ConsumerEvent, bool, error) {
	select {
	case <-c.runDone:
		return connector.ConsumerEvent{}, false, c.closedErr()
	default:
	}
	select {
	case ev := <-c.events:
		return ev, true, nil
	default:
	}
	if timeout <= 0 {
		return connector.ConsumerEvent{}, false, nil
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case ev := <-c.events:
		return ev, true, nil
	case <-c.runDone:
		return connector.ConsumerEvent{}, false, c.closedErr()
	case <-ctx.Done():
		return connector.ConsumerEvent{}, false, ctx.Err()
	case <-t.C:
		return connector.ConsumerEvent{}, false, nil
	}
}

func (c *Consumer) closedErr() error {
	if c.runErr != nil {
		return c.runErr
	}
	return connector.ErrConsumerClosed
}

// Run joins the group and consumes until ctx is done; see
// connector.Consumer. Broker outages, missing topics and failed rebalances
// are logged and retried with a backoff; Run returns an error only for
// what retrying cannot fix (bad settings, missing authorization). It
// returns nil when ctx is done. Run may be called once.
func (c *Consumer) Run(ctx context.Context) (err error) {
	if !c.started.CompareAndSwap(false, true) {
		return fmt.Errorf("kafka consumer for group %s: Run called twice", c.cfg.Group)
	}
	defer func() {
		c.runErr = err
		close(c.runDone)
	}()

	var client sarama.Client
	for bo := newBackoff(); ; {
		client, err = sarama.NewClient(c.brokers, c.scfg)
		if err == nil {
			break
		}
		if isFatalConsumerError(err) {
			return fmt.Errorf("kafka consumer for group %s: connect: %w", c.cfg.Group, err)
		}
		c.log.Warn("kafka consumer cannot connect; retrying", "err", err)
		if !bo.sleep(ctx) {
			return nil
		}
	}
	group, err := sarama.NewConsumerGroupFromClient(c.cfg.Group, client)
	if err != nil {
		_ = client.Close()
		return fmt.Errorf("kafka consumer for group %s: %w", c.cfg.Group, err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for err := range group.Errors() {
			c.log.Warn("kafka consumer error", "err", err)
		}
	})
	defer func() {
		if cerr := group.Close(); cerr != nil {
			c.log.Debug("kafka consumer: leave group", "err", cerr)
		}
		_ = client.Close()
		wg.Wait()
	}()

	h := &groupHandler{c: c, runCtx: ctx, client: client}
	bo := newBackoff()
	for ctx.Err() == nil {
		topics, err := c.topics(client)
		if err == nil && len(topics) == 0 {
			err = fmt.Errorf("no topic matches %s", c.cfg.TopicsRegex)
		}
		if err == nil {
			err = c.consume(ctx, &wg, group, client, topics, h)
		}
		if err == nil {
			bo.reset()
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, sarama.ErrFencedInstancedId) {
			// A newer instance joined with this member's group.instance.id.
			return fmt.Errorf("kafka consumer for group %s: replaced by a newer instance with the same group.instance.id: %w: %w", c.cfg.Group, connector.ErrFenced, err)
		}
		if isFatalConsumerError(err) {
			return fmt.Errorf("kafka consumer for group %s: %w", c.cfg.Group, err)
		}
		c.log.Warn("kafka consumer cannot join its group; retrying", "topics", topics, "err", err)
		if !bo.sleep(ctx) {
			break
		}
	}
	return nil
}

// consume runs one group session (one generation) and returns when it
// ends: on a rebalance, on ctx, or when the set of topics matching the
// regex changed.
func (c *Consumer) consume(ctx context.Context, wg *sync.WaitGroup, group sarama.ConsumerGroup, client sarama.Client, topics []string, h *groupHandler) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.cfg.TopicsRegex != nil {
		watchDone := make(chan struct{})
		defer func() { cancel(); <-watchDone }()
		wg.Go(func() {
			defer close(watchDone)
			c.watchTopics(sctx, cancel, client, topics)
		})
	}
	return group.Consume(sctx, topics, h)
}

// topics returns the topics to subscribe to, sorted.
func (c *Consumer) topics(client sarama.Client) ([]string, error) {
	if c.cfg.TopicsRegex == nil {
		return c.cfg.Topics, nil
	}
	if err := client.RefreshMetadata(); err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	all, err := client.Topics()
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var out []string
	for _, t := range all {
		if !isInternalTopic(t) && c.cfg.TopicsRegex.MatchString(t) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// watchTopics ends the session (cancel) when the topics matching the
// regex differ from topics, so that the next session subscribes to them.
func (c *Consumer) watchTopics(ctx context.Context, cancel context.CancelFunc, client sarama.Client, topics []string) {
	t := time.NewTicker(c.topicRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now, err := c.topics(client)
		if err != nil {
			c.log.Debug("kafka consumer: refresh topics", "err", err)
			continue
		}
		if !slices.Equal(now, topics) {
			c.log.Info("kafka consumer: topics matching the regex changed; rejoining", "topics", now)
			cancel()
			return
		}
	}
}

// isInternalTopic reports whether t is one of Kafka's own topics, which a
// topic regex never matches.
func isInternalTopic(t string) bool {
	return t == "__consumer_offsets" || t == "__transaction_state"
}

// groupHandler is the sarama.ConsumerGroupHandler that turns a session
// into events. Setup and Cleanup run on Run's goroutine, one session at a
// time (the protocol is eager), so its fields need no lock; ConsumeClaim
// runs on one goroutine per partition and only reads c.
type groupHandler struct {
	c      *Consumer
	runCtx context.Context
	client sarama.Client

	// Set by Setup once EventAssigned is out; read by Cleanup.
	assigned bool
	gen      connector.Generation
	parts    []connector.TopicPartition
}

// ack is the Done of one event: it hands the seek map over to the
// goroutine waiting for it, at most once, and never blocks.
type ack struct {
	once sync.Once
	ch   chan map[connector.TopicPartition]int64
}

func newAck() *ack { return &ack{ch: make(chan map[connector.TopicPartition]int64, 1)} }

func (a *ack) done(seek map[connector.TopicPartition]int64) {
	a.once.Do(func() { a.ch <- seek })
}

// Setup announces the session's partitions with the offsets consumption
// will start from, waits for the poller's Done, and applies its seek.
func (h *groupHandler) Setup(sess sarama.ConsumerGroupSession) error {
	h.assigned = false
	c := h.c
	var tps []connector.TopicPartition
	for topic, ps := range sess.Claims() {
		for _, p := range ps {
			tps = append(tps, connector.TopicPartition{Topic: topic, Partition: p})
		}
	}
	if len(tps) == 0 {
		c.log.Info("kafka consumer: no partitions assigned", "generation", sess.GenerationID())
		return nil
	}
	sortTPs(tps)
	start, err := startOffsets(sess.Context(), h.client, c.cfg.Group, tps, c.scfg.Consumer.IsolationLevel, c.scfg.Consumer.Offsets.Initial)
	if err != nil {
		return fmt.Errorf("kafka consumer for group %s: starting offsets: %w", c.cfg.Group, err)
	}
	gen := connector.Generation{GroupID: c.cfg.Group, GenerationID: sess.GenerationID(), MemberID: sess.MemberID(), InstanceID: c.scfg.Consumer.Group.InstanceId}
	a := newAck()
	ev := connector.ConsumerEvent{Kind: connector.EventAssigned, Generation: gen, Partitions: maps.Clone(start), Done: a.done}
	select {
	case c.events <- ev:
	case <-sess.Context().Done():
		return nil
	case <-h.runCtx.Done():
		return nil
	}
	h.assigned, h.gen, h.parts = true, gen, tps

	var seek map[connector.TopicPartition]int64
	select {
	case seek = <-a.ch:
	case <-sess.Context().Done():
	case <-h.runCtx.Done():
	}
	for _, tp := range tps {
		off := start[tp]
		if s, ok := seek[tp]; ok && s >= 0 {
			off = s
		}
		// The session's offset manager holds the committed offset; move it
		// to exactly off, whichever side it is on (nothing is committed:
		// auto-commit is off).
		sess.ResetOffset(tp.Topic, tp.Partition, off, "")
		sess.MarkOffset(tp.Topic, tp.Partition, off, "")
	}
	c.log.Info("kafka consumer: partitions assigned", "generation", gen.GenerationID, "partitions", len(tps))
	return nil
}

// ConsumeClaim turns one partition's messages into record batches: it
// blocks for a first message, takes whatever else is already waiting (up
// to max.poll.records) and sends the batch. Every wait also watches the
// session, so a rebalance never waits on the poller.
func (h *groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	msgs := claim.Messages()
	done := sess.Context().Done()
	max := h.c.maxPoll
	events := h.c.events
	for {
		var first *sarama.ConsumerMessage
		select {
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			first = m
		case <-done:
			return nil
		}
		batch := make([]connector.Record, 1, min(max, len(msgs)+1))
		toRecord(&batch[0], first)
		open := true
	fill:
		for len(batch) < max {
			select {
			case m, ok := <-msgs:
				if !ok {
					open = false
					break fill
				}
				batch = append(batch, connector.Record{})
				toRecord(&batch[len(batch)-1], m)
			default:
				break fill
			}
		}
		select {
		case events <- connector.ConsumerEvent{Kind: connector.EventRecords, Records: batch}:
		case <-done:
			return nil
		}
		if !open {
			return nil
		}
	}
}

// toRecord converts m into r without copying keys, values or header values.
func toRecord(r *connector.Record, m *sarama.ConsumerMessage) {
	*r = connector.Record{
		Topic:     m.Topic,
		Partition: m.Partition,
		Offset:    m.Offset,
		Key:       m.Key,
		Value:     m.Value,
		Timestamp: m.Timestamp,
	}
	if len(m.Headers) > 0 {
		r.Headers = make([]connector.Header, len(m.Headers))
		for i, hd := range m.Headers {
			r.Headers[i] = connector.Header{Key: string(hd.Key), Value: hd.Value}
		}
	}
}

// Cleanup announces that the session's partitions are revoked and waits
// for the poller's Done, so the task can flush and commit with the
// session's generation before the group moves on.
func (h *groupHandler) Cleanup(sess sarama.ConsumerGroupSession) error {
	if !h.assigned {
		return nil
	}
	h.assigned = false
	parts := make(map[connector.TopicPartition]int64, len(h.parts))
	for _, tp := range h.parts {
		parts[tp] = -1
	}
	a := newAck()
	ev := connector.ConsumerEvent{Kind: connector.EventRevoked, Generation: h.gen, Partitions: parts, Done: a.done}
	select {
	case h.c.events <- ev:
	case <-h.runCtx.Done():
		return nil
	}
	select {
	case <-a.ch:
	case <-h.runCtx.Done():
	}
	h.c.log.Info("kafka consumer: partitions revoked", "generation", h.gen.GenerationID, "partitions", len(parts))
	return nil
}

func sortTPs(tps []connector.TopicPartition) {
	slices.SortFunc(tps, func(a, b connector.TopicPartition) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition) - int(b.Partition)
	})
}

// backoff is a capped exponential wait for Run's retries.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 200 * time.Millisecond} }

func (b *backoff) reset() { b.d = 200 * time.Millisecond }

// sleep waits the current backoff and doubles it (up to 10s); false means
// ctx ended first.
func (b *backoff) sleep(ctx context.Context) bool {
	t := time.NewTimer(b.d)
	defer t.Stop()
	b.d = min(2*b.d, 10*time.Second)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
