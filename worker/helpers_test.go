package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/kafka"
	"github.com/connectd/connectd/internal/embedkafka"
	"github.com/connectd/connectd/sinks/file"
	"github.com/connectd/connectd/sources/generator"
	"github.com/connectd/connectd/transforms/validate"
	"github.com/connectd/connectd/worker"
)

// These tests run the worker and its task loops against a real Kafka: the
// embedded kfake broker on a free port, spoken to over TCP by the real
// connector/kafka adapter. Nothing in them fakes a consumer or a committer;
// the only test doubles are sink plugins, registered like any plugin.

// startBroker starts an in-memory embedded Kafka on a free port and
// returns its bootstrap address; it is closed when the test ends.
func startBroker(tb testing.TB, logger *slog.Logger) string {
	tb.Helper()
	b, err := newBroker(logger)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	return b.Addr()
}

// newBroker starts an in-memory embedded Kafka on a free port, with 4
// partitions for topics created with the broker's default.
func newBroker(logger *slog.Logger) (*embedkafka.Broker, error) {
	b, err := embedkafka.New(embedkafka.Config{Addr: "127.0.0.1:0", DefaultPartitions: 4, Logger: logger})
	if err != nil {
		return nil, err
	}
	if err := b.Start(); err != nil {
		return nil, err
	}
	return b, nil
}

// kafkaClient is connector/kafka's Client, which is a worker.Kafka.
type kafkaClient struct{ *kafka.Client }

var _ worker.Kafka = (*kafka.Client)(nil)

// newClient returns a Kafka client closed when the test ends (after every
// worker started later, whose cleanups run first).
func newClient(tb testing.TB, addr string, logger *slog.Logger) *kafkaClient {
	tb.Helper()
	c, err := kafka.NewClient([]string{addr}, logger)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return &kafkaClient{c}
}

// newRegistry registers the plugins main registers, plus extra.
func newRegistry(tb testing.TB, extra ...connector.Plugin) *connector.Registry {
	tb.Helper()
	reg := connector.NewRegistry()
	for _, p := range append([]connector.Plugin{generator.Plugin(), file.Plugin(), validate.Plugin()}, extra...) {
		if err := reg.Register(p); err != nil {
			tb.Fatal(err)
		}
	}
	return reg
}

// fastGroup are consumer settings for quick joins and rebalances.
var fastGroup = map[string]string{
	"consumer.override.heartbeat.interval.ms": "100",
	"consumer.override.session.timeout.ms":    "6000",
	"consumer.override.max.poll.interval.ms":  "10000",
	"consumer.override.fetch.max.wait.ms":     "50",
}

// parseConfig validates a connector config the way the worker's loader
// does; for sinks it adds fastGroup under the given keys.
func parseConfig(tb testing.TB, reg *connector.Registry, name string, kv map[string]string) *connector.ConnectorConfig {
	tb.Helper()
	raw := maps.Clone(kv)
	if p, ok := reg.Lookup(raw["connector.class"]); ok && p.Kind == connector.KindSink {
		for k, v := range fastGroup {
			if _, set := raw[k]; !set {
				raw[k] = v
			}
		}
	}
	cfg, err := reg.Parse(name, raw)
	if err != nil {
		tb.Fatalf("connector %s: %v", name, err)
	}
	return cfg
}

// generatorConfig is a generator connector writing max events to topic
// as fast as it can, with a fixed start time and seed.
func generatorConfig(topic string, max int, badRatio float64, extra map[string]string) map[string]string {
	kv := map[string]string{
		"connector.class":                   "generator",
		"topic":                             topic,
		"max.events":                        fmt.Sprint(max),
		"events.per.second":                 "0",
		"users":                             fmt.Sprint(genUsers),
		"seed":                              fmt.Sprint(genSeed),
		"start.time":                        genStart.Format(time.RFC3339),
		"bad.record.ratio":                  fmt.Sprint(badRatio),
		"topic.creation.default.partitions": "4",
		"transaction.boundary.interval.ms":  "100",
	}
	maps.Copy(kv, extra)
	return kv
}

const (
	genUsers = 2000
	genSeed  = 7
)

var genStart = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// expectedEvents regenerates the first n events of the generator
// connector generatorConfig describes (tasks.max=1). eps is the
// connector's events.per.second; 0 stamps event time at 1000 a second, as
// the connector does.
func expectedEvents(tb testing.TB, n int, eps int, badRatio float64) []generator.Event {
	tb.Helper()
	if eps == 0 {
		eps = 1000
	}
	e, err := generator.NewEngine(generator.Options{Seed: genSeed, Users: genUsers, Start: genStart, EventsPerSecond: eps, BadRecordRatio: badRatio})
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]generator.Event, n)
	for i := range out {
		out[i] = e.Next()
	}
	return out
}

// produceEvents writes n generator events (engine options opts) to topic,
// keyed by user id, in transactions of txn records, with a committer of
// the adapter; it creates the topic with partitions partitions first.
// When keep is set it returns the events.
func produceEvents(tb testing.TB, k *kafkaClient, topic string, partitions int32, opts generator.Options, n, txn int, keep bool) []generator.Event {
	tb.Helper()
	evs, err := produce(k, topic, partitions, opts, n, txn, keep)
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

func produce(k *kafkaClient, topic string, partitions int32, opts generator.Options, n, txn int, keep bool) ([]generator.Event, error) {
	ctx := context.Background()
	if err := k.Admin().EnsureTopic(ctx, connector.TopicSpec{Name: topic, Partitions: partitions, ReplicationFactor: -1}); err != nil {
		return nil, err
	}
	cm, err := k.NewCommitter(connector.ProducerConfig{TransactionalID: "test-produce-" + topic})
	if err != nil {
		return nil, err
	}
	defer cm.Close()
	e, err := generator.NewEngine(opts)
	if err != nil {
		return nil, err
	}
	var out []generator.Event
	recs := make([]connector.ProducerRecord, 0, txn)
	type span struct{ v0, v1, k0, k1 int }
	spans := make([]span, 0, txn)
	var values, keys []byte
	for done := 0; done < n; {
		m := min(txn, n-done)
		recs, spans = recs[:0], spans[:0]
		if keep {
			values, keys = nil, nil // the events keep the last ones
		} else {
			values, keys = values[:0], keys[:0]
		}
		for range m {
			v0, k0 := len(values), len(keys)
			var meta generator.Meta
			values, keys, meta = e.Append(values, keys)
			spans = append(spans, span{v0, len(values), k0, len(keys)})
			if keep {
				out = append(out, generator.Event{Meta: meta})
			}
		}
		for i, s := range spans {
			v, kk := values[s.v0:s.v1:s.v1], keys[s.k0:s.k1:s.k1]
			if keep {
				ev := &out[done+i]
				ev.Value, ev.Key = v, kk
			}
			recs = append(recs, connector.ProducerRecord{Topic: topic, Partition: -1, Key: kk, Value: v})
		}
		if err := cm.Commit(ctx, recs, nil, nil); err != nil {
			return nil, fmt.Errorf("produce events %d..%d: %w", done, done+m, err)
		}
		done += m
	}
	return out, nil
}

// runningWorker is a worker whose Run goroutine the test owns.
type runningWorker struct {
	*worker.Worker
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
	stopped bool
}

// startWorker builds a worker with cfgs and runs it until stop (or the
// end of the test).
func startWorker(tb testing.TB, k worker.Kafka, reg *connector.Registry, logger *slog.Logger, shutdown time.Duration, cfgs ...*connector.ConnectorConfig) *runningWorker {
	tb.Helper()
	w, err := worker.New(worker.Options{Registry: reg, Kafka: k, Logger: logger, WorkerID: "test", ShutdownTimeout: shutdown})
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range cfgs {
		if err := w.Add(c); err != nil {
			tb.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningWorker{Worker: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = w.Run(ctx)
	}()
	tb.Cleanup(func() {
		if !r.stopped {
			r.stop(tb, 2*shutdown+10*time.Second)
		}
	})
	return r
}

// stop cancels the worker and waits up to within for Run to return; it
// returns how long that took.
func (r *runningWorker) stop(tb testing.TB, within time.Duration) time.Duration {
	tb.Helper()
	r.stopped = true
	start := time.Now()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(within):
		tb.Fatalf("worker Run did not return within %v of cancel; status %+v", within, r.Status())
	}
	if r.err != nil {
		tb.Errorf("worker Run returned %v", r.err)
	}
	return time.Since(start)
}

// taskStatus returns the status of task id of connector name.
func (r *runningWorker) taskStatus(name string, id int) worker.TaskStatus {
	for _, c := range r.Status() {
		if c.Name == name && id < len(c.Tasks) {
			return c.Tasks[id]
		}
	}
	return worker.TaskStatus{ID: id, State: "MISSING"}
}

// waitCommitted waits up to timeout until connector has committed n
// records, failing the test if a task fails or the time runs out; what
// names the worker in the failure message.
func (r *runningWorker) waitCommitted(tb testing.TB, timeout time.Duration, connector, what string, n int64) {
	tb.Helper()
	waitFor(tb, timeout, func() bool {
		r.checkNotFailed(tb)
		tot, _ := r.Totals(connector)
		return tot.Committed == n
	}, func() string { tot, _ := r.Totals(connector); return what + " " + fmtTotals(tot) })
}

// checkNotFailed fails the test if a task of the worker is FAILED.
func (r *runningWorker) checkNotFailed(tb testing.TB) {
	tb.Helper()
	for _, c := range r.Status() {
		for _, ts := range c.Tasks {
			if ts.State == worker.StateFailed {
				tb.Fatalf("connector %s task %d FAILED: %s", c.Name, ts.ID, ts.Trace)
			}
		}
	}
}

// waitFor polls cond every 20ms until it holds, failing the test with
// what() after timeout.
func waitFor(tb testing.TB, timeout time.Duration, cond func() bool, what func() string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("not within %v: %s", timeout, what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readFiles reads what the file sink holds under dir, failing on any
// malformed file.
func readFiles(tb testing.TB, dir string) []file.Entry {
	tb.Helper()
	ents, err := file.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return ents
}

// countFiles is readFiles for polling: 0 while the directory is missing.
func countFiles(dir string) int {
	ents, err := file.ReadDir(dir)
	if err != nil {
		return 0
	}
	return len(ents)
}

// readTopic returns every committed record of topic.
func readTopic(tb testing.TB, k *kafkaClient, topic string) []connector.Record {
	tb.Helper()
	recs, err := k.Reader().ReadAll(context.Background(), topic)
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

// sameMultiset fails the test unless got holds every value of want as
// many times as want does, and nothing else.
func sameMultiset(tb testing.TB, what string, got, want [][]byte) {
	tb.Helper()
	count := make(map[string]int, len(want))
	for _, v := range want {
		count[string(v)]++
	}
	for _, v := range got {
		count[string(v)]--
	}
	var missing, extra []string
	for v, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, v)
		}
		for ; n < 0; n++ {
			extra = append(extra, v)
		}
	}
	if len(missing)+len(extra) == 0 {
		return
	}
	sort.Strings(missing)
	sort.Strings(extra)
	tb.Errorf("%s: got %d values, want %d: %d missing, %d extra or duplicated", what, len(got), len(want), len(missing), len(extra))
	for i := 0; i < min(3, len(missing)); i++ {
		tb.Errorf("  missing: %.160q", missing[i])
	}
	for i := 0; i < min(3, len(extra)); i++ {
		tb.Errorf("  extra:   %.160q", extra[i])
	}
}

// checkFilesMatchTopic fails unless the files under dir hold each record
// of recs (filtered by keep) exactly once, at its own topic-partition and
// offset, with its own value.
func checkFilesMatchTopic(tb testing.TB, dir string, recs []connector.Record, keep func(*connector.Record) bool) []file.Entry {
	tb.Helper()
	ents := readFiles(tb, dir)
	type pos struct {
		tp  connector.TopicPartition
		off int64
	}
	want := map[pos][]byte{}
	for i := range recs {
		if keep == nil || keep(&recs[i]) {
			want[pos{recs[i].TP(), recs[i].Offset}] = recs[i].Value
		}
	}
	seen := map[pos]string{}
	bad := 0
	for _, e := range ents {
		p := pos{connector.TopicPartition{Topic: e.Topic, Partition: e.Partition}, e.Offset}
		v, ok := want[p]
		switch {
		case seen[p] != "":
			tb.Errorf("%s offset %d is in the files twice: %s and %s", p.tp, p.off, filepath.Base(seen[p]), filepath.Base(e.File))
		case !ok:
			tb.Errorf("%s offset %d is in the files but not expected there (%s)", p.tp, p.off, e.File)
		case !bytes.Equal(v, e.Value):
			tb.Errorf("%s offset %d: file holds %.80q, topic %.80q", p.tp, p.off, e.Value, v)
		default:
			seen[p] = e.File
			continue
		}
		if bad++; bad > 5 {
			tb.Fatal("too many errors")
		}
	}
	if len(seen) != len(want) {
		tb.Errorf("files hold %d of the %d expected records", len(seen), len(want))
	}
	return ents
}

// lastOffsets returns, per partition, the offset after the last record of
// recs: what a group that consumed them all has committed (the end offset
// of a transactional topic is one more: the commit marker, which a
// consumer never sees).
func lastOffsets(recs []connector.Record) map[connector.TopicPartition]int64 {
	out := map[connector.TopicPartition]int64{}
	for i := range recs {
		out[recs[i].TP()] = max(out[recs[i].TP()], recs[i].Offset+1)
	}
	return out
}

// checkGroupCovers fails unless the group's committed offsets are, for
// each partition of topic, at least the offset after its last record and
// at most its end offset.
func checkGroupCovers(tb testing.TB, k *kafkaClient, group, topic string, recs []connector.Record) map[connector.TopicPartition]int64 {
	tb.Helper()
	ctx := context.Background()
	got, err := k.Admin().GroupOffsets(ctx, group)
	if err != nil {
		tb.Fatal(err)
	}
	tps, err := k.Admin().Partitions(ctx, []string{topic}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	end, err := k.Admin().EndOffsets(ctx, tps)
	if err != nil {
		tb.Fatal(err)
	}
	last := lastOffsets(recs)
	tb.Logf("group %s committed %v; end offsets %v", group, got, end)
	for _, tp := range tps {
		if last[tp] == 0 {
			continue
		}
		g, ok := got[tp]
		if !ok || g < last[tp] || g > end[tp] {
			tb.Errorf("group %s: %s committed %d (set: %v), want between %d (after the last record) and %d (end offset)", group, tp, g, ok, last[tp], end[tp])
		}
	}
	return got
}

// headerMap returns a record's headers by key (the last of each).
func headerMap(r *connector.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

// values returns the values of events.
func values(evs []generator.Event, keep func(*generator.Event) bool) [][]byte {
	var out [][]byte
	for i := range evs {
		if keep == nil || keep(&evs[i]) {
			out = append(out, evs[i].Value)
		}
	}
	return out
}

// entryValues returns the values of file entries.
func entryValues(ents []file.Entry) [][]byte {
	out := make([][]byte, len(ents))
	for i := range ents {
		out[i] = ents[i].Value
	}
	return out
}

// recordValues returns the values of records.
func recordValues(recs []connector.Record) [][]byte {
	out := make([][]byte, len(recs))
	for i := range recs {
		out[i] = recs[i].Value
	}
	return out
}

// --- logs ---

// logs captures every log record of a test (with the attributes of its
// logger) and prints warnings and errors to the test's output while the
// test runs.
type logs struct {
	mu   sync.Mutex
	recs []logEntry
	out  io.Writer
	done bool
}

type logEntry struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

func (e logEntry) String() string {
	keys := slices.Sorted(maps.Keys(e.Attrs))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", e.Level, e.Msg)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, e.Attrs[k])
	}
	return b.String()
}

func newLogs(tb testing.TB) (*logs, *slog.Logger) {
	l := &logs{out: tb.Output()}
	tb.Cleanup(func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l, slog.New(&logHandler{l: l})
}

// find returns the entries whose message contains msg and whose
// attributes include attrs.
func (l *logs) find(msg string, attrs map[string]string) []logEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logEntry
	for _, e := range l.recs {
		if !strings.Contains(e.Msg, msg) {
			continue
		}
		ok := true
		for k, v := range attrs {
			if e.Attrs[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, e)
		}
	}
	return out
}

type logHandler struct {
	l     *logs
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	e := logEntry{Level: r.Level, Msg: r.Message, Attrs: map[string]string{}}
	for _, a := range h.attrs {
		e.Attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		e.Attrs[a.Key] = a.Value.String()
		return true
	})
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	h.l.recs = append(h.l.recs, e)
	if r.Level >= slog.LevelWarn && !h.l.done {
		fmt.Fprintf(h.l.out, "%s %s\n", r.Time.Format("15:04:05.000"), e)
	}
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{l: h.l, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }

// --- a file sink with hooks ---

// hookedClass is the class of the hooked file sink plugin.
const hookedClass = "test.HookedFileSink"

// errInjected is the failure hooks inject.
var errInjected = errors.New("injected by the test")

// sinkHooks observe and disturb a hooked file sink: retryable failures of
// Write and Flush, records rejected as the record's fault, a Flush that
// blocks, and counts per task. Safe for concurrent use (tasks run on
// goroutines of their own).
type sinkHooks struct {
	mu sync.Mutex
	// failWrites and failFlushes are how many more Write and Flush calls
	// fail with a RetryableError before reaching the file sink;
	// failWritesLate how many fail after the file sink took the batch (so
	// the retry must not take it twice). Failures start once failAt
	// records were accepted.
	failWrites, failFlushes, failWritesLate int
	failAt                                  int64
	// reject, when set, names records the sink refuses (a
	// *connector.BatchError); it must answer the same for the same record.
	reject func(r *connector.Record) error
	// blockFlush makes Flush wait for its ctx once it is set.
	blockFlush bool
	// holdArmed makes the first Flush after the next accepted Write wait
	// until release is closed or its ctx is done (a pause: a slow disk, a
	// GC); held is closed when it starts waiting. holdAfter arms it.
	holdArmed, holdNext bool
	held, release       chan struct{}
	// holdAt, when positive, arms the hold once the tasks have accepted
	// that many records (set before the worker starts: records already in
	// the topic are consumed too fast to arm it from the middle of a run).
	holdAt int64
	// onWrite, when set, is called (once) at the start of the next Write
	// that holds a record; a test stops the worker from there.
	onWrite func()
	// written counts records accepted per task; opened counts partitions
	// opened per task.
	written map[int]int64
	opened  map[int]int
	flushes int
	// first and last are when the first and last records were accepted,
	// opened when a partition was first opened.
	first, last, openedAt time.Time
}

// holdAfter arms a hold for the first Flush after the tasks have accepted n
// records; waitHeld then waits for it. Call it before the worker starts.
func (h *sinkHooks) holdAfter(n int64) {
	h.mu.Lock()
	h.holdAt = n
	h.mu.Unlock()
}

// waitHeld waits until the armed hold holds a Flush, and returns its
// release (a second call does nothing).
func (h *sinkHooks) waitHeld(tb testing.TB) (release func()) {
	tb.Helper()
	select {
	case <-h.held:
	case <-time.After(30 * time.Second):
		tb.Fatal("the task did not flush within 30s")
	}
	var once sync.Once
	return func() { once.Do(func() { close(h.release) }) }
}

// total is the number of records accepted by every task; h.mu is held.
func (h *sinkHooks) total() int64 {
	var n int64
	for _, w := range h.written {
		n += w
	}
	return n
}

// progress returns how many records every task accepted, when the first
// partition was opened (consumption starts: the group is joined) and when
// the last record was accepted.
func (h *sinkHooks) progress() (int64, time.Time, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total(), h.openedAt, h.last
}

func newHooks() *sinkHooks {
	return &sinkHooks{written: map[int]int64{}, opened: map[int]int{}, held: make(chan struct{}), release: make(chan struct{})}
}

func (h *sinkHooks) writtenBy(task int) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.written[task]
}

// hookedPlugin is the file sink (same config keys) wrapped with h.
func hookedPlugin(h *sinkHooks) connector.Plugin {
	p := file.Plugin()
	base := p.NewSink
	p.Class, p.Aliases = hookedClass, []string{"hooked"}
	p.NewSink = func(cfg any, info connector.TaskInfo) (connector.Sink, error) {
		s, err := base(cfg, info)
		if err != nil {
			return nil, err
		}
		return &hookedSink{base: s, h: h, task: info.TaskID}, nil
	}
	return p
}

type hookedSink struct {
	base connector.Sink
	h    *sinkHooks
	task int
	keep []connector.Record
	idx  []int
}

func (s *hookedSink) Open(ctx context.Context, assigned map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	s.h.mu.Lock()
	s.h.opened[s.task] += len(assigned)
	if s.h.openedAt.IsZero() && len(assigned) > 0 {
		s.h.openedAt = time.Now()
	}
	s.h.mu.Unlock()
	return s.base.Open(ctx, assigned)
}

func (s *hookedSink) Write(ctx context.Context, batch []connector.Record) error {
	h := s.h
	h.mu.Lock()
	if f := h.onWrite; f != nil && len(batch) > 0 {
		h.onWrite = nil
		h.mu.Unlock()
		f()
		h.mu.Lock()
	}
	failing := h.total() >= h.failAt
	if failing && h.failWrites > 0 {
		h.failWrites--
		h.mu.Unlock()
		return connector.Retryable(fmt.Errorf("write: %w", errInjected), 0)
	}
	late := failing && h.failWritesLate > 0
	if late {
		h.failWritesLate--
	}
	reject := h.reject
	h.mu.Unlock()

	var rejected []connector.RecordError
	keep := batch
	if reject != nil {
		s.keep, s.idx = s.keep[:0], s.idx[:0]
		for i := range batch {
			if err := reject(&batch[i]); err != nil {
				rejected = append(rejected, connector.RecordError{Index: i, Err: err})
				continue
			}
			s.keep = append(s.keep, batch[i])
			s.idx = append(s.idx, i)
		}
		keep = s.keep
	}
	err := s.base.Write(ctx, keep)
	var be *connector.BatchError
	switch {
	case errors.As(err, &be):
		for _, re := range be.Records {
			rejected = append(rejected, connector.RecordError{Index: s.idx[re.Index], Err: re.Err})
		}
		slices.SortFunc(rejected, func(a, b connector.RecordError) int { return a.Index - b.Index })
	case err != nil:
		return err
	}
	if late {
		return connector.Retryable(fmt.Errorf("write, after the file sink took the batch: %w", errInjected), 0)
	}
	h.mu.Lock()
	now := time.Now()
	if h.first.IsZero() {
		h.first = now
	}
	h.last = now
	h.written[s.task] += int64(len(batch) - len(rejected))
	if h.holdAt > 0 && h.total() >= h.holdAt {
		h.holdAt, h.holdArmed = 0, true
	}
	if h.holdArmed && len(batch) > len(rejected) {
		h.holdArmed, h.holdNext = false, true
	}
	h.mu.Unlock()
	if len(rejected) > 0 {
		return &connector.BatchError{Records: rejected}
	}
	return nil
}

func (s *hookedSink) Flush(ctx context.Context) (map[connector.TopicPartition]int64, error) {
	h := s.h
	h.mu.Lock()
	h.flushes++
	if h.total() >= h.failAt && h.failFlushes > 0 {
		h.failFlushes--
		h.mu.Unlock()
		return nil, connector.Retryable(fmt.Errorf("flush: %w", errInjected), 0)
	}
	block, hold := h.blockFlush, h.holdNext
	h.holdNext = false
	h.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if hold {
		close(h.held)
		select {
		case <-h.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.base.Flush(ctx)
}

func (s *hookedSink) Close(ctx context.Context, revoked []connector.TopicPartition) error {
	return s.base.Close(ctx, revoked)
}

func (s *hookedSink) Stop(ctx context.Context) error { return s.base.Stop(ctx) }

// --- a sink that does nothing ---

// nopClass is the class of the no-op sink plugin the benchmarks measure
// the task loop with.
const nopClass = "test.NopSink"

type nopConfig struct {
	Ignored string `config:"nop.ignored" doc:"unused"`
}

// nopPlugin is a sink that accepts every record and reports it durable at
// the next Flush; it counts what it was given.
func nopPlugin(count *nopCount) connector.Plugin {
	return connector.Plugin{
		Class:     nopClass,
		Aliases:   []string{"nop"},
		Kind:      connector.KindSink,
		NewConfig: func() any { return &nopConfig{} },
		NewSink: func(any, connector.TaskInfo) (connector.Sink, error) {
			return &nopSink{count: count, next: map[connector.TopicPartition]int64{}}, nil
		},
	}
}

// nopCount is what nop sinks were given, read by other goroutines.
type nopCount struct {
	mu      sync.Mutex
	written int64
	// opened is when a partition was first opened, last when the last
	// record was written.
	opened, last time.Time
}

// get returns how many records were written, when consumption started and
// when the last record was written.
func (c *nopCount) get() (n int64, opened, last time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.written, c.opened, c.last
}

type nopSink struct {
	count *nopCount
	next  map[connector.TopicPartition]int64
}

func (s *nopSink) Open(_ context.Context, assigned map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	c := s.count
	c.mu.Lock()
	if c.opened.IsZero() && len(assigned) > 0 {
		c.opened = time.Now()
	}
	c.mu.Unlock()
	return nil, nil
}

func (s *nopSink) Write(_ context.Context, batch []connector.Record) error {
	if len(batch) == 0 {
		return nil
	}
	for i := range batch {
		s.next[batch[i].TP()] = batch[i].Offset + 1
	}
	now := time.Now()
	c := s.count
	c.mu.Lock()
	c.last = now
	c.written += int64(len(batch))
	c.mu.Unlock()
	return nil
}

func (s *nopSink) Flush(context.Context) (map[connector.TopicPartition]int64, error) {
	return maps.Clone(s.next), nil
}

func (s *nopSink) Close(_ context.Context, revoked []connector.TopicPartition) error {
	for _, tp := range revoked {
		delete(s.next, tp)
	}
	return nil
}

func (s *nopSink) Stop(context.Context) error { return nil }

func itoa(n int) string { return fmt.Sprint(n) }

func fmtTotals(t worker.Totals) string { return fmt.Sprintf("%+v", t) }
