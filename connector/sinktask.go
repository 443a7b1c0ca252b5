package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"
)

// SinkTaskParams wires one sink task. Every field but Admin and Metrics is
// required.
type SinkTaskParams struct {
	Config    *ConnectorConfig
	TaskID    int
	Consumer  Consumer
	Committer Committer
	// Admin creates the dead-letter topic; needed only when one is set.
	Admin Admin
	// Reader is handed to the plugin (TaskInfo.Reader); may be nil.
	Reader  TopicReader
	Logger  *slog.Logger
	Metrics *TaskMetrics
	// ShutdownTimeout bounds the final flush and commit after ctx is done
	// (default 10s); past it the task is stopped forcibly and the
	// uncommitted tail is redelivered to the next instance.
	ShutdownTimeout time.Duration
}

// partState is what the task knows of one assigned partition.
type partState struct {
	// consumed is the offset after the last record polled.
	consumed int64
	// lastDelivered is the offset of the last record the sink accepted,
	// or consumed-1 when none since the partition was opened.
	lastDelivered int64
	// durable is the highest offset the sink reported durable.
	durable int64
	// committed is the offset last committed.
	committed int64
	// runs counts polled, uncommitted records as runs of consecutive
	// offsets, so committed record counts are exact despite the gaps that
	// transaction markers leave in offsets.
	runs []offsetRun
}

type offsetRun struct{ start, end int64 }

func (p *partState) add(off int64) {
	if n := len(p.runs); n > 0 && p.runs[n-1].end == off {
		p.runs[n-1].end++
		return
	}
	p.runs = append(p.runs, offsetRun{off, off + 1})
}

// commitTo drops the runs below off and returns how many records they held.
func (p *partState) commitTo(off int64) int64 {
	var n int64
	i := 0
	for ; i < len(p.runs); i++ {
		r := &p.runs[i]
		if r.end <= off {
			n += r.end - r.start
			continue
		}
		if r.start < off {
			n += off - r.start
			r.start = off
		}
		break
	}
	p.runs = p.runs[i:]
	return n
}

// dlqEntry is a dead-letter record waiting for its offset to be committed.
type dlqEntry struct {
	tp     TopicPartition
	offset int64
	rec    ProducerRecord
}

// SinkTask runs one task of a sink connector: consume → convert →
// transform → Sink.Write → Sink.Flush → commit the offsets Flush returned
// and the dead-letter records below them in one transaction.
//
// With a window stage (ConnectorConfig.Window, the window.* keys) the
// transformed records go to a windowing.Windower instead of Sink.Write,
// and the sink sees only rollups: the sink is opened on one synthetic
// partition {window.output.topic, 0} instead of the input partitions, at
// the rollup sequence number restored from the stage's compacted
// changelog; each flush round writes the results of the windows that
// closed as records of that partition at consecutive offsets (key: the
// result id, value: its JSON, timestamp: the window end), flushes, and
// commits in one transaction the input offsets, the window state changes
// with the sequence number (the changelog) and the dead-letter records,
// for the newest round whose rollups the sink reports all durable. A
// record without a JSON object or event time fails in stage TASK_PUT; an
// event too late for its windows is counted, and dead-lettered when there
// is a dead-letter topic. On revoke or failure the window state is
// dropped and restored from the changelog at the next assignment, so a
// replay rebuilds the same rollups at the same synthetic offsets and the
// sink's idempotent Open and Write apply.
type SinkTask struct {
	p          SinkTaskParams
	log        *slog.Logger
	sink       Sink
	transforms []Transform
	backoff    Backoff
	parts      map[TopicPartition]*partState
	gen        *Generation
	dlq        []dlqEntry
	buf        []Record
	validJSON  bool
	nextFlush  time.Time
	// sinceFlush counts records written since the last flush, for
	// offset.flush.max.records.
	sinceFlush int64
	info       TaskInfo
	// win is the window stage, or nil (see windowstage.go).
	win *windowStage
}

// NewSinkTask checks the wiring and builds the sink and its transforms. It
// starts nothing.
func NewSinkTask(p SinkTaskParams) (*SinkTask, error) {
	if p.Config == nil || p.Consumer == nil || p.Committer == nil || p.Logger == nil {
		return nil, errors.New("sink task: Config, Consumer, Committer and Logger are required")
	}
	if p.Config.Plugin == nil || p.Config.Plugin.Kind != KindSink {
		return nil, fmt.Errorf("sink task: connector %q is not a sink", p.Config.Name)
	}
	if p.Config.Sink.DLQTopic != "" && p.Admin == nil {
		return nil, errors.New("sink task: a dead-letter topic needs Admin")
	}
	if p.Config.Window != nil {
		if p.Admin == nil || p.Reader == nil {
			return nil, errors.New("sink task: a window stage needs Admin and Reader (its changelog)")
		}
		if p.Config.Common.TasksMax > 1 {
			return nil, fmt.Errorf("sink task: connector %q has a window stage and tasks.max %d; it must be 1", p.Config.Name, p.Config.Common.TasksMax)
		}
	}
	if p.Metrics == nil {
		p.Metrics = &TaskMetrics{}
	}
	if p.ShutdownTimeout <= 0 {
		p.ShutdownTimeout = 10 * time.Second
	}
	log := p.Logger.With("connector", p.Config.Name, "task", p.TaskID)
	info := TaskInfo{Connector: p.Config.Name, TaskID: p.TaskID, TasksMax: p.Config.Common.TasksMax, Logger: log, Admin: p.Admin, Reader: p.Reader}
	if p.Config.Window != nil {
		info.RollupTopic = p.Config.Window.OutputTopic
	}
	sink, err := p.Config.Plugin.NewSink(p.Config.PluginConfig, info)
	if err != nil {
		return nil, fmt.Errorf("connector %q task %d: create sink: %w", p.Config.Name, p.TaskID, err)
	}
	trs, err := p.Config.NewTransforms()
	if err != nil {
		return nil, fmt.Errorf("connector %q task %d: %w", p.Config.Name, p.TaskID, err)
	}
	t := &SinkTask{
		p: p, log: log, sink: sink, transforms: trs, info: info,
		parts:     map[TopicPartition]*partState{},
		validJSON: p.Config.Common.ValueConverter == JSONConverter,
	}
	if p.Config.Window != nil {
		t.win = newWindowStage(p.Config.Window, log)
	}
	t.backoff = NewBackoff(p.Config.Common, log)
	t.backoff.OnRetry = func(what string, attempt int, err error, wait time.Duration) {
		p.Metrics.Retries.Add(1)
		p.Metrics.NoteRetry(what, attempt, err, wait)
	}
	t.backoff.OnEnd = p.Metrics.NoteRetryEnd
	return t, nil
}

// Run consumes and delivers until ctx is done, then flushes and commits
// within ShutdownTimeout, closes the sink and leaves the group. It returns
// nil after a clean stop, ErrFenced (wrapped) when a newer instance took
// over, or the error that failed the task.
func (t *SinkTask) Run(ctx context.Context) (err error) {
	if dlq := t.p.Config.Sink.DLQTopic; dlq != "" {
		spec := TopicSpec{Name: dlq, Partitions: 1, ReplicationFactor: t.p.Config.Sink.DLQReplication}
		if err := t.backoff.Do(ctx, "create dead-letter topic "+dlq, func() error { return t.p.Admin.EnsureTopic(ctx, spec) }); err != nil {
			return err
		}
	}
	if t.win != nil {
		spec := TopicSpec{Name: t.win.cfg.ChangelogTopic, Partitions: 1, ReplicationFactor: -1, Configs: map[string]string{"cleanup.policy": "compact"}}
		if err := t.backoff.Do(ctx, "create window changelog topic "+spec.Name, func() error { return t.p.Admin.EnsureTopic(ctx, spec) }); err != nil {
			return err
		}
	}
	cctx, cancelConsumer := context.WithCancel(context.Background())
	consumerDone := make(chan error, 1)
	go func() { consumerDone <- t.p.Consumer.Run(cctx) }()

	defer func() {
		// Leave the group; acknowledge whatever the consumer still says
		// so it never waits on us.
		cancelConsumer()
		t.drain(consumerDone)
		sctx, cancel := context.WithTimeout(context.Background(), t.p.ShutdownTimeout)
		defer cancel()
		if stopErr := t.sink.Stop(sctx); stopErr != nil && err == nil {
			err = fmt.Errorf("stop sink: %w", stopErr)
		}
	}()

	// Sink calls get a context that outlives a graceful stop by the
	// shutdown budget: a stop that arrives during a Write lets it finish
	// and the final flush and commit run; only past the budget is the sink
	// cut off (the forced stop).
	wctx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopWatch := context.AfterFunc(ctx, func() { time.AfterFunc(t.p.ShutdownTimeout, cancelWork) })
	defer stopWatch()

	t.nextFlush = time.Now().Add(t.p.Config.Common.OffsetFlushInterval)
	for {
		if ctx.Err() != nil {
			return t.shutdown(wctx)
		}
		wait := time.Until(t.nextFlush)
		ev, ok, perr := t.p.Consumer.Poll(ctx, max(wait, time.Millisecond))
		if perr != nil {
			if ctx.Err() != nil {
				return t.shutdown(wctx)
			}
			return fmt.Errorf("consumer: %w", perr)
		}
		if ok {
			if err := t.handle(wctx, ev); err != nil {
				return t.fail(err)
			}
		}
		full := t.p.Config.Common.OffsetFlushMaxRecords > 0 && t.sinceFlush >= t.p.Config.Common.OffsetFlushMaxRecords
		if full || !time.Now().Before(t.nextFlush) {
			if err := t.flushAndCommit(wctx); err != nil {
				return t.fail(err)
			}
		}
	}
}

// fail closes the open partitions without committing, so the next instance
// redelivers everything past the last commit.
func (t *SinkTask) fail(err error) error {
	sctx, cancel := context.WithTimeout(context.Background(), t.p.ShutdownTimeout)
	defer cancel()
	t.closeAll(sctx)
	return err
}

// shutdown is the graceful end: final flush and commit, within the
// shutdown budget that ctx carries.
func (t *SinkTask) shutdown(ctx context.Context) error {
	err := t.flushAndCommit(ctx)
	t.closeAll(ctx)
	if err != nil {
		return fmt.Errorf("final commit: %w", err)
	}
	return nil
}

func (t *SinkTask) closeAll(ctx context.Context) {
	if t.win != nil {
		if t.win.open {
			if err := t.sink.Close(ctx, []TopicPartition{t.win.out}); err != nil {
				t.log.Warn("close sink partitions", "err", err)
			}
		}
		t.win.drop()
		clear(t.parts)
		t.dlq = t.dlq[:0]
		t.gen = nil
		return
	}
	if len(t.parts) == 0 {
		return
	}
	tps := make([]TopicPartition, 0, len(t.parts))
	for tp := range t.parts {
		tps = append(tps, tp)
	}
	if err := t.sink.Close(ctx, tps); err != nil {
		t.log.Warn("close sink partitions", "err", err)
	}
	clear(t.parts)
	t.dlq = t.dlq[:0]
	t.gen = nil
}

// drain acknowledges consumer events until the consumer's Run returns, or
// until ShutdownTimeout passes: a consumer stuck in a group join (which
// ignores cancellation) is then abandoned to the process's exit.
func (t *SinkTask) drain(done <-chan error) {
	deadline := time.Now().Add(t.p.ShutdownTimeout)
	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.log.Debug("consumer stopped", "err", err)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.log.Warn("consumer did not leave the group in time; abandoning it", "timeout", t.p.ShutdownTimeout)
			return
		}
		ev, ok, err := t.p.Consumer.Poll(context.Background(), 50*time.Millisecond)
		if err != nil {
			select {
			case <-done:
			case <-time.After(time.Until(deadline)):
			}
			return
		}
		if ok && ev.Done != nil {
			ev.Done(nil)
		}
	}
}

func (t *SinkTask) handle(ctx context.Context, ev ConsumerEvent) error {
	switch ev.Kind {
	case EventAssigned:
		return t.assigned(ctx, ev)
	case EventRevoked:
		err := t.flushAndCommit(ctx)
		t.closeAll(ctx)
		ev.Done(nil)
		return err
	case EventRecords:
		return t.records(ctx, ev.Records)
	}
	return nil
}

func (t *SinkTask) assigned(ctx context.Context, ev ConsumerEvent) error {
	gen := ev.Generation
	t.gen = &gen
	if t.win != nil {
		return t.assignedWindow(ctx, ev)
	}
	var seek map[TopicPartition]int64
	err := t.backoff.Do(ctx, "open sink", func() error {
		var err error
		seek, err = t.sink.Open(ctx, ev.Partitions)
		return err
	})
	if err != nil {
		ev.Done(nil)
		return fmt.Errorf("open sink: %w", err)
	}
	for tp, off := range ev.Partitions {
		t.p.Metrics.NoteTopic(tp.Topic)
		if s, ok := seek[tp]; ok {
			off = s
		}
		t.parts[tp] = &partState{consumed: off, lastDelivered: off - 1, durable: off, committed: off}
	}
	for tp := range seek {
		if _, ok := ev.Partitions[tp]; !ok {
			t.log.Warn("sink asked to seek a partition it was not assigned; ignored", "partition", tp.String())
			delete(seek, tp)
		}
	}
	t.log.Info("partitions assigned", "partitions", len(ev.Partitions), "generation", gen.GenerationID)
	ev.Done(seek)
	return nil
}

func (t *SinkTask) records(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	tp := recs[0].TP()
	st, ok := t.parts[tp]
	if !ok {
		// Left from a generation whose commit went stale: the partitions
		// were closed and these records come again after the next
		// assignment.
		t.log.Debug("dropping records of a partition not open", "partition", tp.String(), "records", len(recs))
		return nil
	}
	t.p.Metrics.Consumed.Add(int64(len(recs)))
	out := t.buf[:0]
	for i := range recs {
		r := &recs[i]
		if r.Offset < st.consumed {
			continue // already seen (a seek back by the consumer); never deliver twice
		}
		st.consumed = r.Offset + 1
		st.add(r.Offset)
		if t.validJSON && len(r.Value) > 0 {
			if err := validateJSON(r.Value); err != nil {
				if err := t.bad(r, StageValueConverter, JSONConverter, err); err != nil {
					return err
				}
				continue
			}
		}
		keep, stage, err := t.transform(r)
		if err != nil {
			if err := t.bad(r, StageTransformation, stage, err); err != nil {
				return err
			}
			continue
		}
		if !keep {
			t.p.Metrics.Skipped.Add(1)
			continue
		}
		out = append(out, *r)
	}
	t.buf = out[:0]
	if len(out) == 0 {
		return nil
	}
	if t.win != nil {
		return t.window(st, out)
	}
	err := t.backoff.Do(ctx, "write", func() error { return t.sink.Write(ctx, out) })
	var be *BatchError
	switch {
	case err == nil:
		st.lastDelivered = out[len(out)-1].Offset
		t.p.Metrics.Written.Add(int64(len(out)))
		t.sinceFlush += int64(len(out))
	case errors.As(err, &be):
		rejected := make(map[int]bool, len(be.Records))
		for _, re := range be.Records {
			if re.Index < 0 || re.Index >= len(out) {
				return fmt.Errorf("sink rejected record index %d of a batch of %d: %w", re.Index, len(out), err)
			}
			rejected[re.Index] = true
			if err := t.bad(&out[re.Index], StageTask, t.p.Config.Plugin.Class, re.Err); err != nil {
				return err
			}
		}
		for i := len(out) - 1; i >= 0; i-- {
			if !rejected[i] {
				st.lastDelivered = max(st.lastDelivered, out[i].Offset)
				break
			}
		}
		t.p.Metrics.Written.Add(int64(len(out) - len(rejected)))
		t.sinceFlush += int64(len(out) - len(rejected))
	default:
		return fmt.Errorf("write to sink: %w", err)
	}
	return nil
}

// transform runs the chain; stage names the transform that failed.
func (t *SinkTask) transform(r *Record) (keep bool, stage string, err error) {
	for i, tr := range t.transforms {
		keep, err := tr.Apply(r)
		if err != nil {
			return false, t.p.Config.Transforms[i].Plugin.Class, err
		}
		if !keep {
			return false, "", nil
		}
	}
	return true, "", nil
}

// bad handles a record at fault: with errors.tolerance=none it fails the
// task naming the record; with all it is skipped, logged if asked, and
// queued for the dead-letter topic until its offset is committed.
func (t *SinkTask) bad(r *Record, stage Stage, class string, cause error) error {
	c := t.p.Config
	where := fmt.Sprintf("record %s offset %d", r.TP(), r.Offset)
	if c.Common.ErrorsTolerance != "all" {
		return fmt.Errorf("%s failed in stage %s (%s): %w; set errors.tolerance=all with errors.deadletterqueue.topic.name to route bad records to a dead-letter topic", where, stage, class, cause)
	}
	if c.Common.ErrorsLogEnable {
		attrs := []any{"record", where, "stage", string(stage), "class", class, "err", cause}
		if c.Common.ErrorsLogIncludeMessage {
			attrs = append(attrs, "key", string(r.Key), "value", string(r.Value))
		}
		t.log.Error("record failed; skipped", attrs...)
	}
	t.deadLetter(r, stage, class, cause)
	return nil
}

// deadLetter queues r for the dead-letter topic, or counts it as skipped
// when there is none.
func (t *SinkTask) deadLetter(r *Record, stage Stage, class string, cause error) {
	c := t.p.Config
	if c.Sink.DLQTopic == "" {
		t.p.Metrics.Skipped.Add(1)
		return
	}
	headers := slices.Clip(r.Headers)
	if c.Sink.DLQContextHeaders {
		headers = append(headers,
			Header{"__connect.errors.topic", []byte(r.Topic)},
			Header{"__connect.errors.partition", []byte(strconv.Itoa(int(r.Partition)))},
			Header{"__connect.errors.offset", []byte(strconv.FormatInt(r.Offset, 10))},
			Header{"__connect.errors.connector.name", []byte(c.Name)},
			Header{"__connect.errors.task.id", []byte(strconv.Itoa(t.p.TaskID))},
			Header{"__connect.errors.stage", []byte(stage)},
			Header{"__connect.errors.class.name", []byte(class)},
			Header{"__connect.errors.exception.class.name", []byte("org.apache.kafka.connect.errors.DataException")},
			Header{"__connect.errors.exception.message", []byte(cause.Error())},
		)
	}
	t.dlq = append(t.dlq, dlqEntry{tp: r.TP(), offset: r.Offset, rec: ProducerRecord{
		Topic: c.Sink.DLQTopic, Partition: -1, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp, Headers: headers,
	}})
}

// flushAndCommit flushes the sink and commits, in one transaction, the
// offsets it returned (advanced over records that never reached the sink)
// and the dead-letter records below them.
func (t *SinkTask) flushAndCommit(ctx context.Context) error {
	t.nextFlush = time.Now().Add(t.p.Config.Common.OffsetFlushInterval)
	t.sinceFlush = 0
	if t.win != nil {
		return t.flushAndCommitWindow(ctx)
	}
	if len(t.parts) == 0 || t.gen == nil {
		return nil
	}
	var durable map[TopicPartition]int64
	err := t.backoff.Do(ctx, "flush", func() error {
		var err error
		durable, err = t.sink.Flush(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("flush sink: %w", err)
	}
	offsets := map[TopicPartition]int64{}
	for tp, st := range t.parts {
		if x, ok := durable[tp]; ok {
			if x > st.consumed {
				return fmt.Errorf("sink flushed %s up to offset %d, past the last record it was given (%d)", tp, x, st.consumed-1)
			}
			st.durable = max(st.durable, x)
		}
		next := st.durable
		if st.durable > st.lastDelivered {
			next = st.consumed // what follows the durable records never reached the sink
		}
		if next > st.committed {
			offsets[tp] = next
		}
	}
	var recs []ProducerRecord
	if em, ok := t.sink.(Emitter); ok {
		recs = em.Emitted()
	}
	if len(offsets) == 0 && len(recs) == 0 {
		return nil
	}
	_, err = t.commit(ctx, recs, offsets)
	return err
}

// commit writes produced (what the sink or its window stage made) and the
// dead letters below offsets in one transaction with offsets, then moves
// the task's bookkeeping on. It reports committed=false and no error when
// the group generation moved on: the partitions are then closed and their
// uncommitted work dropped until the next assignment.
func (t *SinkTask) commit(ctx context.Context, produced []ProducerRecord, offsets map[TopicPartition]int64) (committed bool, err error) {
	recs := produced
	for _, d := range t.dlq {
		if next, ok := offsets[d.tp]; ok && d.offset < next {
			recs = append(recs, d.rec)
		}
	}
	dlqCount := int64(len(recs) - len(produced))
	err = t.backoff.Do(ctx, "commit", func() error { return t.p.Committer.Commit(ctx, recs, offsets, t.gen) })
	if errors.Is(err, ErrGenerationStale) {
		// The group rebalanced while we were busy: another member may own
		// these partitions now. Drop everything not committed; the consumer
		// will revoke and assign again, from the committed offsets.
		t.log.Warn("commit refused: the group generation moved on; dropping uncommitted work until the next assignment", "err", err)
		t.closeAll(ctx)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("commit offsets: %w", err)
	}
	t.dlq = slices.DeleteFunc(t.dlq, func(d dlqEntry) bool {
		next, ok := offsets[d.tp]
		return ok && d.offset < next
	})
	for tp, next := range offsets {
		st := t.parts[tp]
		st.committed = next
		t.p.Metrics.Committed.Add(st.commitTo(next))
	}
	t.p.Metrics.DeadLettered.Add(dlqCount)
	t.p.Metrics.Produced.Add(int64(len(produced)))
	t.p.Metrics.Transactions.Add(1)
	return true, nil
}
