package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// Trace is the error that failed the task, when State is FAILED.
	Trace string
}

// ConnectorStatus is the state of a connector and its tasks.
type ConnectorStatus struct {
	Name  string
	Kind  connector.PluginKind
	State State
	Tasks []TaskStatus
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
}

// Worker runs a set of connectors. Build it with New, add connectors, then
// Run it; Run owns every task goroutine.
type Worker struct {
	opts       Options
	mu         sync.Mutex
	connectors map[string]*runningConnector
	order      []string
}

type runningConnector struct {
	cfg     *connector.ConnectorConfig
	tasks   []*taskSlot
	metrics []*connector.TaskMetrics
}

type taskSlot struct {
	id      int
	state   State
	trace   string
	metrics *connector.TaskMetrics
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
	return &Worker{opts: opts, connectors: map[string]*runningConnector{}}, nil
}

// Add registers a validated connector config; it runs when Run is called.
func (w *Worker) Add(cfg *connector.ConnectorConfig) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, dup := w.connectors[cfg.Name]; dup {
		return fmt.Errorf("connector %q is defined twice", cfg.Name)
	}
	rc := &runningConnector{cfg: cfg}
	for i := 0; i < taskCount(cfg); i++ {
		m := &connector.TaskMetrics{}
		rc.tasks = append(rc.tasks, &taskSlot{id: i, state: StateUnassigned, metrics: m})
		rc.metrics = append(rc.metrics, m)
	}
	w.connectors[cfg.Name] = rc
	w.order = append(w.order, cfg.Name)
	return nil
}

// taskCount is how many tasks a connector runs: tasks.max.
func taskCount(cfg *connector.ConnectorConfig) int { return cfg.Common.TasksMax }

// Run starts every task and blocks until ctx is done and every task has
// stopped (each flushes and commits within ShutdownTimeout). A task that
// fails is marked FAILED with its error and the others go on. Run returns
// nil after a clean stop.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	var wg sync.WaitGroup
	for _, name := range w.order {
		rc := w.connectors[name]
		for _, slot := range rc.tasks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.runTask(ctx, rc.cfg, slot)
			}()
		}
	}
	w.mu.Unlock()
	wg.Wait()
	return nil
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

func (w *Worker) startTask(ctx context.Context, cfg *connector.ConnectorConfig, slot *taskSlot) error {
	k := w.opts.Kafka
	txnID := fmt.Sprintf("connectd-%s-%d", cfg.Name, slot.id)
	clientID := fmt.Sprintf("connectd-%s-%d", cfg.Name, slot.id)
	committer, err := k.NewCommitter(connector.ProducerConfig{TransactionalID: txnID, ClientID: clientID, Overrides: cfg.Producer})
	if err != nil {
		return fmt.Errorf("create transactional producer: %w", err)
	}
	defer committer.Close()
	w.setState(slot, StateRunning, "")
	switch cfg.Plugin.Kind {
	case connector.KindSink:
		consumer, err := k.NewConsumer(connector.ConsumerConfig{
			Group: cfg.Group(), Topics: cfg.Sink.Topics, TopicsRegex: cfg.TopicsRegex, ClientID: clientID,
			InstanceID: txnID, Overrides: cfg.Consumer,
		})
		if err != nil {
			return fmt.Errorf("create consumer: %w", err)
		}
		task, err := connector.NewSinkTask(connector.SinkTaskParams{
			Config: cfg, TaskID: slot.id, Consumer: consumer, Committer: committer, Admin: k.Admin(),
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

// Status returns the status of every connector, in the order they were added.
func (w *Worker) Status() []ConnectorStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []ConnectorStatus
	for _, name := range w.order {
		rc := w.connectors[name]
		cs := ConnectorStatus{Name: name, Kind: rc.cfg.Plugin.Kind, State: StateRunning}
		for _, s := range rc.tasks {
			cs.Tasks = append(cs.Tasks, TaskStatus{ID: s.id, State: s.state, Trace: s.trace})
		}
		out = append(out, cs)
	}
	return out
}

// Totals sums the metrics of every task of a connector; ok is false for an
// unknown connector.
func (w *Worker) Totals(name string) (t Totals, ok bool) {
	w.mu.Lock()
	rc, ok := w.connectors[name]
	w.mu.Unlock()
	if !ok {
		return t, false
	}
	for _, m := range rc.metrics {
		t.Consumed += m.Consumed.Load()
		t.Written += m.Written.Load()
		t.Committed += m.Committed.Load()
		t.Produced += m.Produced.Load()
		t.DeadLettered += m.DeadLettered.Load()
		t.Skipped += m.Skipped.Load()
		t.Transactions += m.Transactions.Load()
		t.Retries += m.Retries.Load()
	}
	return t, true
}

// Totals is a snapshot of a connector's summed task metrics.
type Totals struct {
	Consumed, Written, Committed, Produced, DeadLettered, Skipped, Transactions, Retries int64
}

// Config returns the config of a connector.
func (w *Worker) Config(name string) (*connector.ConnectorConfig, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rc, ok := w.connectors[name]
	if !ok {
		return nil, false
	}
	return rc.cfg, true
}

// LoadDir reads and validates every *.json connector file in dir, in name
// order. It returns every problem of every file at once (each prefixed with
// its file name), and no configs when there is any.
func LoadDir(reg *connector.Registry, dir string) ([]*connector.ConnectorConfig, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no *.json connector configs", dir)
	}
	sort.Strings(files)
	return LoadFiles(reg, files)
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
