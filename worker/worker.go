package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/connectd/connectd/connector"
)

// Kafka is what a worker needs from a Kafka client. Safe for concurrent use.
type Kafka interface {
	// NewConsumer builds a group consumer (started by its Run).
	NewConsumer(cfg connector.ConsumerConfig) (connector.Consumer, error)
	// NewCommitter builds a transactional producer for one task instance.
	NewCommitter(cfg connector.ProducerConfig) (connector.Committer, error)
	// Admin returns the cluster admin.
	Admin() connector.Admin
	// Reader returns a reader of whole topics.
	Reader() connector.TopicReader
}

// State is a connector's or task's state, with Kafka Connect's names.
type State string

// The states Kafka Connect reports.
const (
	StateUnassigned State = "UNASSIGNED"
	StateRunning    State = "RUNNING"
	StatePaused     State = "PAUSED"
	StateStopped    State = "STOPPED"
	StateFailed     State = "FAILED"
	StateRestarting State = "RESTARTING"
)

// TaskStatus is the state of one task.
type TaskStatus struct {
	ID    int
	State State
	// Trace is the error that failed the task, when State is FAILED; for
	// a RUNNING task, what it is retrying, since when and why (the store
	// is down or refuses: see connector.RetryState), else empty.
	Trace    string
	WorkerID string
}

// ConnectorStatus is the state of a connector and its tasks.
type ConnectorStatus struct {
	Name     string
	Kind     connector.PluginKind
	State    State
	WorkerID string
	Tasks    []TaskStatus
}

// Options configure a Worker.
type Options struct {
	Registry *connector.Registry
	Kafka    Kafka
	Logger   *slog.Logger
	// WorkerID names this worker in statuses (host:port in Kafka Connect).
	WorkerID string
	// ShutdownTimeout bounds each task's final flush and commit (default 10s).
	ShutdownTimeout time.Duration
	// Store keeps connectors created or changed at run time; nil keeps
	// them in memory only.
	Store ConfigStore
}

// Worker runs a set of connectors and changes them at run time. Build it
// with New, add the connectors to start with (Add or Load), then Run it;
// Run owns every task goroutine. The management methods (api.go) may be
// called at any time from any goroutine.
type Worker struct {
	opts Options

	// opMu serialises lifecycle changes; mu guards the fields below and
	// is never held while waiting for a task.
	opMu    sync.Mutex
	mu      sync.Mutex
	conns   map[string]*conn
	runCtx  context.Context
	running bool
	wg      sync.WaitGroup
}

type conn struct {
	cfg      *connector.ConnectorConfig
	target   State // RUNNING, PAUSED or STOPPED
	fileHash string
	tasks    []*taskSlot
}

type taskSlot struct {
	id      int
	state   State
	trace   string
	metrics *connector.TaskMetrics
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a worker with no connectors. It starts nothing.
func New(opts Options) (*Worker, error) {
	if opts.Registry == nil || opts.Kafka == nil || opts.Logger == nil {
		return nil, errors.New("worker: Registry, Kafka and Logger are required")
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	if opts.WorkerID == "" {
		host, _ := os.Hostname()
		opts.WorkerID = host
	}
	if opts.Store == nil {
		opts.Store = &MemoryStore{}
	}
	return &Worker{opts: opts, conns: map[string]*conn{}}, nil
}

// WorkerID returns the id this worker reports in statuses.
func (w *Worker) WorkerID() string { return w.opts.WorkerID }

// Registry returns the plugins this worker can run.
func (w *Worker) Registry() *connector.Registry { return w.opts.Registry }

// Add registers a validated connector to run with target RUNNING. It is
// not written to the store (it came from a file the caller manages).
func (w *Worker) Add(cfg *connector.ConnectorConfig) error {
	return w.add(cfg, StateRunning, "")
}

// Load registers connectors from the store (see Reconcile), each with its
// target state.
func (w *Worker) Load(stored []StoredConnector) error {
	for _, s := range stored {
		cfg, err := w.opts.Registry.Parse(s.Name, s.Config)
		if err != nil {
			return fmt.Errorf("connector %s: %w", s.Name, err)
		}
		target := s.Target
		if target == "" {
			target = StateRunning
		}
		if err := w.add(cfg, target, s.FileHash); err != nil {
			return err
		}
	}
	return nil
}

func (w *Worker) add(cfg *connector.ConnectorConfig, target State, hash string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, dup := w.conns[cfg.Name]; dup {
		return fmt.Errorf("connector %q is defined twice", cfg.Name)
	}
	c := &conn{cfg: cfg, target: target, fileHash: hash}
	c.tasks = newSlots(cfg)
	w.conns[cfg.Name] = c
	if w.running && target == StateRunning {
		w.startLocked(c)
	}
	return nil
}

func newSlots(cfg *connector.ConnectorConfig) []*taskSlot {
	slots := make([]*taskSlot, cfg.Common.TasksMax)
	for i := range slots {
		slots[i] = &taskSlot{id: i, state: StateUnassigned, metrics: &connector.TaskMetrics{}}
	}
	return slots
}

// Run starts the tasks of every connector whose target is RUNNING and
// blocks until ctx is done; then every task stops (each flushes and commits
// within ShutdownTimeout) and Run returns. A task that fails is marked
// FAILED with its error and the others go on.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	w.runCtx, w.running = ctx, true
	for _, c := range w.conns {
		if c.target == StateRunning {
			w.startLocked(c)
		}
	}
	w.mu.Unlock()
	<-ctx.Done()
	w.opMu.Lock() // no lifecycle change from here on
	w.mu.Lock()
	w.running = false
	w.mu.Unlock()
	w.wg.Wait()
	w.opMu.Unlock()
	return nil
}

// startLocked starts c's tasks; w.mu is held.
func (w *Worker) startLocked(c *conn) {
	for _, slot := range c.tasks {
		if slot.done != nil {
			continue // still running
		}
		tctx, cancel := context.WithCancel(w.runCtx)
		slot.cancel, slot.done = cancel, make(chan struct{})
		slot.state, slot.trace = StateRunning, ""
		cfg, done := c.cfg, slot.done
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			defer close(done)
			w.runTask(tctx, cfg, slot)
		}()
	}
}

// stopTasks stops the given tasks (each flushes and commits) and waits for
// them; w.mu must not be held.
func (w *Worker) stopTasks(slots []*taskSlot) {
	w.mu.Lock()
	var waits []chan struct{}
	for _, s := range slots {
		if s.cancel != nil {
			s.cancel()
			waits = append(waits, s.done)
		}
	}
	w.mu.Unlock()
	for _, d := range waits {
		<-d
	}
	w.mu.Lock()
	for _, s := range slots {
		s.cancel, s.done = nil, nil
	}
	w.mu.Unlock()
}

func (w *Worker) setState(slot *taskSlot, s State, trace string) {
	w.mu.Lock()
	slot.state, slot.trace = s, trace
	w.mu.Unlock()
}

func (w *Worker) runTask(ctx context.Context, cfg *connector.ConnectorConfig, slot *taskSlot) {
	log := w.opts.Logger.With("connector", cfg.Name, "task", slot.id)
	err := w.startTask(ctx, cfg, slot)
	switch {
	case err == nil || ctx.Err() != nil && errors.Is(err, context.Canceled):
		w.setState(slot, StateUnassigned, "")
		log.Info("task stopped")
	case errors.Is(err, connector.ErrFenced):
		w.setState(slot, StateUnassigned, "")
		log.Warn("task fenced by a newer instance; stopped", "err", err)
	default:
		w.setState(slot, StateFailed, err.Error())
		log.Error("task failed", "err", err)
	}
}

// transactionalID is the id of a task's transactional producer and, for
// sinks, its static group membership.
func transactionalID(name string, task int) string { return fmt.Sprintf("connectd-%s-%d", name, task) }

func (w *Worker) startTask(ctx context.Context, cfg *connector.ConnectorConfig, slot *taskSlot) error {
	k := w.opts.Kafka
	txnID := transactionalID(cfg.Name, slot.id)
	committer, err := k.NewCommitter(connector.ProducerConfig{TransactionalID: txnID, ClientID: txnID, Overrides: cfg.Producer})
	if err != nil {
		return fmt.Errorf("create transactional producer: %w", err)
	}
	defer committer.Close()
	switch cfg.Plugin.Kind {
	case connector.KindSink:
		consumer, err := k.NewConsumer(connector.ConsumerConfig{
			Group: cfg.Group(), Topics: cfg.Sink.Topics, TopicsRegex: cfg.TopicsRegex, ClientID: txnID,
			InstanceID: txnID, Overrides: cfg.Consumer,
		})
		if err != nil {
			return fmt.Errorf("create consumer: %w", err)
		}
		task, err := connector.NewSinkTask(connector.SinkTaskParams{
			Config: cfg, TaskID: slot.id, Consumer: consumer, Committer: committer, Admin: k.Admin(), Reader: k.Reader(),
			Logger: w.opts.Logger, Metrics: slot.metrics, ShutdownTimeout: w.opts.ShutdownTimeout,
		})
		if err != nil {
			return err
		}
		return task.Run(ctx)
	case connector.KindSource:
		task, err := connector.NewSourceTask(connector.SourceTaskParams{
			Config: cfg, TaskID: slot.id, Committer: committer, Admin: k.Admin(), Reader: k.Reader(),
			Logger: w.opts.Logger, Metrics: slot.metrics, ShutdownTimeout: w.opts.ShutdownTimeout,
		})
		if err != nil {
			return err
		}
		return task.Run(ctx)
	}
	return fmt.Errorf("connector %q: plugin kind %q cannot run", cfg.Name, cfg.Plugin.Kind)
}

// Status returns the status of every connector, sorted by name.
func (w *Worker) Status() []ConnectorStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []ConnectorStatus
	for _, name := range w.namesLocked() {
		out = append(out, w.statusLocked(w.conns[name]))
	}
	return out
}

func (w *Worker) namesLocked() []string {
	names := make([]string, 0, len(w.conns))
	for n := range w.conns {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (w *Worker) statusLocked(c *conn) ConnectorStatus {
	cs := ConnectorStatus{Name: c.cfg.Name, Kind: c.cfg.Plugin.Kind, State: c.target, WorkerID: w.opts.WorkerID}
	if !w.running && c.target == StateRunning {
		cs.State = StateUnassigned
	}
	if c.target == StateStopped {
		cs.Tasks = []TaskStatus{}
		return cs
	}
	for _, s := range c.tasks {
		st := s.state
		if c.target == StatePaused && st != StateFailed {
			st = StatePaused
		}
		trace := s.trace
		if r, ok := s.metrics.Retrying(); ok && st == StateRunning {
			// Kafka Connect has no state for it: a RUNNING task that
			// waits out a store's errors says so in its trace.
			trace = r.String()
		}
		cs.Tasks = append(cs.Tasks, TaskStatus{ID: s.id, State: st, Trace: trace, WorkerID: w.opts.WorkerID})
	}
	return cs
}

// Totals sums the metrics of every task of a connector; ok is false for an
// unknown connector.
func (w *Worker) Totals(name string) (t Totals, ok bool) {
	w.mu.Lock()
	c, ok := w.conns[name]
	var ms []*connector.TaskMetrics
	if ok {
		for _, s := range c.tasks {
			ms = append(ms, s.metrics)
		}
	}
	w.mu.Unlock()
	for _, m := range ms {
		t.Consumed += m.Consumed.Load()
		t.Written += m.Written.Load()
		t.Committed += m.Committed.Load()
		t.Produced += m.Produced.Load()
		t.DeadLettered += m.DeadLettered.Load()
		t.Skipped += m.Skipped.Load()
		t.Transactions += m.Transactions.Load()
		t.Retries += m.Retries.Load()
	}
	return t, ok
}

// Totals is a snapshot of a connector's summed task metrics.
type Totals struct {
	Consumed, Written, Committed, Produced, DeadLettered, Skipped, Transactions, Retries int64
}

// Config returns the parsed config of a connector.
func (w *Worker) Config(name string) (*connector.ConnectorConfig, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.conns[name]
	if !ok {
		return nil, false
	}
	return c.cfg, true
}

// LoadDir reads and validates every *.json connector file in dir, in name
// order. It returns every problem of every file at once (each prefixed with
// its file name), and no configs when there is any.
func LoadDir(reg *connector.Registry, dir string) ([]*connector.ConnectorConfig, error) {
	files, err := ConfigFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no *.json connector configs", dir)
	}
	return LoadFiles(reg, files)
}

// ConfigFiles lists the *.json files of a config directory, sorted.
func ConfigFiles(dir string) ([]string, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("config dir: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(files)
	return files, err
}

// LoadFiles reads and validates connector files; see LoadDir.
func LoadFiles(reg *connector.Registry, files []string) ([]*connector.ConnectorConfig, error) {
	var cfgs []*connector.ConnectorConfig
	var problems []string
	names := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		cfg, err := reg.ParseJSON(data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				problems = append(problems, f+": "+line)
			}
			continue
		}
		if other, dup := names[cfg.Name]; dup {
			problems = append(problems, fmt.Sprintf("%s: connector name %q is already used by %s; names must be unique", f, cfg.Name, other))
			continue
		}
		names[cfg.Name] = f
		cfgs = append(cfgs, cfg)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return cfgs, nil
}

// invalidConfig is Kafka Connect's 400 for a config that does not validate.
func invalidConfig(class string, err error) *Error {
	lines := strings.Split(err.Error(), "\n")
	return &Error{Code: http.StatusBadRequest, Message: fmt.Sprintf(
		"Connector configuration is invalid and contains the following %d error(s):\n%s\nYou can also find the above list of errors at the endpoint `/connector-plugins/%s/config/validate`",
		len(lines), strings.Join(lines, "\n"), class)}
}

// cloneConfig copies a raw config map.
func cloneConfig(m map[string]string) map[string]string { return maps.Clone(m) }
