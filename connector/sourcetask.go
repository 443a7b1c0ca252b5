package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"
	"unsafe"
)

// SourceTaskParams wires one source task. Every field but Metrics is required.
type SourceTaskParams struct {
	Config    *ConnectorConfig
	TaskID    int
	Committer Committer
	Admin     Admin
	Reader    TopicReader
	Logger    *slog.Logger
	Metrics   *TaskMetrics
	// ShutdownTimeout bounds the final commit after ctx is done (default 10s).
	ShutdownTimeout time.Duration
}

// SourceTask runs one task of a source connector: Poll → produce the
// records and their source offsets in one Kafka transaction (KIP-618), so
// a restarted task resumes exactly after the last committed record.
type SourceTask struct {
	p       SourceTaskParams
	log     *slog.Logger
	src     Source
	backoff Backoff
	ensured map[string]bool

	pending   []ProducerRecord
	offsets   map[string]sourcePosition // canonical partition JSON → latest offset
	txnStart  time.Time
	exhausted bool
}

type sourcePosition struct {
	partition map[string]any
	offset    map[string]any
}

// NewSourceTask checks the wiring and builds the source. It starts nothing.
func NewSourceTask(p SourceTaskParams) (*SourceTask, error) {
	if p.Config == nil || p.Committer == nil || p.Admin == nil || p.Reader == nil || p.Logger == nil {
		return nil, errors.New("source task: Config, Committer, Admin, Reader and Logger are required")
	}
	if p.Config.Plugin == nil || p.Config.Plugin.Kind != KindSource {
		return nil, fmt.Errorf("source task: connector %q is not a source", p.Config.Name)
	}
	if p.Metrics == nil {
		p.Metrics = &TaskMetrics{}
	}
	if p.ShutdownTimeout <= 0 {
		p.ShutdownTimeout = 10 * time.Second
	}
	log := p.Logger.With("connector", p.Config.Name, "task", p.TaskID)
	info := TaskInfo{Connector: p.Config.Name, TaskID: p.TaskID, TasksMax: p.Config.Common.TasksMax, Logger: log}
	src, err := p.Config.Plugin.NewSource(p.Config.PluginConfig, info)
	if err != nil {
		return nil, fmt.Errorf("connector %q task %d: create source: %w", p.Config.Name, p.TaskID, err)
	}
	t := &SourceTask{p: p, log: log, src: src, ensured: map[string]bool{}, offsets: map[string]sourcePosition{}}
	t.backoff = NewBackoff(p.Config.Common, log)
	t.backoff.OnRetry = func(what string, attempt int, err error, wait time.Duration) {
		p.Metrics.Retries.Add(1)
		p.Metrics.NoteRetry(what, attempt, err, wait)
	}
	t.backoff.OnEnd = p.Metrics.NoteRetryEnd
	return t, nil
}

// OffsetKey is the offsets-topic key of a source partition, Kafka Connect's
// ["<connector>", <partition>].
func OffsetKey(connectorName string, partition map[string]any) ([]byte, error) {
	return json.Marshal([]any{connectorName, partition})
}

// ReadSourceOffsets reads a connector's committed source offsets from the
// offsets topic: the latest value of each key, a null value deleting it.
func ReadSourceOffsets(ctx context.Context, r TopicReader, topic, connectorName string) (SourceOffsets, error) {
	recs, err := r.ReadAll(ctx, topic)
	if err != nil {
		return SourceOffsets{}, fmt.Errorf("read source offsets from %s: %w", topic, err)
	}
	entries := map[string]json.RawMessage{}
	for _, rec := range recs {
		var key []json.RawMessage
		if err := json.Unmarshal(rec.Key, &key); err != nil || len(key) != 2 {
			continue // not a Kafka Connect offset key
		}
		var name string
		if json.Unmarshal(key[0], &name) != nil || name != connectorName {
			continue
		}
		var part map[string]any
		if json.Unmarshal(key[1], &part) != nil {
			continue
		}
		canon, err := CanonicalJSON(part)
		if err != nil {
			continue
		}
		if len(rec.Value) == 0 || bytes.Equal(bytes.TrimSpace(rec.Value), []byte("null")) {
			delete(entries, string(canon))
			continue
		}
		entries[string(canon)] = json.RawMessage(rec.Value)
	}
	return NewSourceOffsets(entries), nil
}

// Run polls and commits until ctx is done, then commits what it polled
// within ShutdownTimeout and stops the source. It returns nil after a clean
// stop, ErrFenced (wrapped) when a newer instance took over, or the error
// that failed the task.
func (t *SourceTask) Run(ctx context.Context) (err error) {
	c := t.p.Config
	offTopic := c.Source.OffsetsTopic
	spec := TopicSpec{Name: offTopic, Partitions: 5, ReplicationFactor: -1, Configs: map[string]string{"cleanup.policy": "compact"}}
	if err := t.backoff.Do(ctx, "create offsets topic", func() error { return t.p.Admin.EnsureTopic(ctx, spec) }); err != nil {
		return err
	}
	var committed SourceOffsets
	err = t.backoff.Do(ctx, "read source offsets", func() error {
		var err error
		committed, err = ReadSourceOffsets(ctx, t.p.Reader, offTopic, c.Name)
		return err
	})
	if err != nil {
		return err
	}
	if err := t.src.Open(ctx, committed); err != nil {
		return fmt.Errorf("open source: %w", err)
	}
	t.log.Info("source started", "committed_partitions", committed.Len())
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), t.p.ShutdownTimeout)
		defer cancel()
		if stopErr := t.src.Stop(sctx); stopErr != nil && err == nil {
			err = fmt.Errorf("stop source: %w", stopErr)
		}
	}()

	for {
		if ctx.Err() != nil {
			return t.finalCommit()
		}
		if t.exhausted {
			if err := t.commit(ctx); err != nil {
				return err
			}
			<-ctx.Done()
			return nil
		}
		var recs []SourceRecord
		err := t.backoff.Do(ctx, "poll", func() error {
			var err error
			recs, err = t.src.Poll(ctx)
			return err
		})
		switch {
		case errors.Is(err, ErrSourceDone):
			t.exhausted = true
			t.log.Info("source finished; idling")
		case err != nil && ctx.Err() != nil:
			return t.finalCommit()
		case err != nil:
			return fmt.Errorf("poll source: %w", err)
		}
		if err := t.add(ctx, recs); err != nil {
			return err
		}
		if t.due() {
			if err := t.commit(ctx); err != nil {
				if ctx.Err() != nil {
					return t.finalCommit()
				}
				return err
			}
		}
	}
}

func (t *SourceTask) finalCommit() error {
	sctx, cancel := context.WithTimeout(context.Background(), t.p.ShutdownTimeout)
	defer cancel()
	if err := t.commit(sctx); err != nil {
		return fmt.Errorf("final commit: %w", err)
	}
	return nil
}

func (t *SourceTask) add(ctx context.Context, recs []SourceRecord) error {
	if len(recs) > 0 && len(t.pending) == 0 {
		t.txnStart = time.Now()
	}
	// Records of one poll usually share their partition map: encode it
	// once per map within this batch (a source cannot change the map while
	// the batch is being added).
	var lastPart unsafe.Pointer
	var lastKey string
	for i := range recs {
		r := &recs[i]
		if !t.ensured[r.Record.Topic] {
			spec := TopicSpec{Name: r.Record.Topic, Partitions: t.p.Config.Source.TopicPartitions, ReplicationFactor: t.p.Config.Source.TopicReplication}
			if err := t.backoff.Do(ctx, "create topic "+spec.Name, func() error { return t.p.Admin.EnsureTopic(ctx, spec) }); err != nil {
				return err
			}
			t.ensured[r.Record.Topic] = true
			t.p.Metrics.NoteTopic(r.Record.Topic)
		}
		t.pending = append(t.pending, r.Record)
		if r.Partition != nil {
			if p := reflect.ValueOf(r.Partition).UnsafePointer(); p != lastPart {
				key, err := CanonicalJSON(r.Partition)
				if err != nil {
					return fmt.Errorf("source partition %v is not JSON: %w", r.Partition, err)
				}
				lastPart, lastKey = p, string(key)
			}
			t.offsets[lastKey] = sourcePosition{partition: r.Partition, offset: r.Offset}
		}
	}
	return nil
}

func (t *SourceTask) due() bool {
	s := t.p.Config.Source
	switch {
	case len(t.pending) == 0:
		return false
	case s.TransactionBoundary == "poll", len(t.pending) >= s.TransactionRecords:
		return true
	default:
		return time.Since(t.txnStart) >= s.TransactionInterval
	}
}

// commit writes the pending records and the latest offset of each source
// partition in one transaction.
func (t *SourceTask) commit(ctx context.Context) error {
	if len(t.pending) == 0 {
		return nil
	}
	recs := t.pending
	for _, pos := range t.offsets {
		key, err := OffsetKey(t.p.Config.Name, pos.partition)
		if err != nil {
			return err
		}
		val, err := json.Marshal(pos.offset)
		if err != nil {
			return fmt.Errorf("source offset %v is not JSON: %w", pos.offset, err)
		}
		recs = append(recs, ProducerRecord{Topic: t.p.Config.Source.OffsetsTopic, Partition: -1, Key: key, Value: val, Timestamp: time.Now()})
	}
	err := t.backoff.Do(ctx, "commit", func() error { return t.p.Committer.Commit(ctx, recs, nil, nil) })
	if err != nil {
		return fmt.Errorf("commit source records: %w", err)
	}
	t.p.Metrics.Produced.Add(int64(len(t.pending)))
	t.p.Metrics.Transactions.Add(1)
	clear(t.pending)
	t.pending = t.pending[:0]
	clear(t.offsets)
	return nil
}
