package worker

import (
	"context"
	"fmt"
	"net/http"

	"github.com/connectd/connectd/connector"
)

// Connectors returns the names of the connectors, sorted.
func (w *Worker) Connectors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.namesLocked()
}

func (w *Worker) lookup(name string) (*conn, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.conns[name]
	if !ok {
		return nil, errNotFound(name)
	}
	return c, nil
}

// Info returns Kafka Connect's description of a connector.
func (w *Worker) Info(name string) (ConnectorInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.conns[name]
	if !ok {
		return ConnectorInfo{}, errNotFound(name)
	}
	return w.infoLocked(c), nil
}

func (w *Worker) infoLocked(c *conn) ConnectorInfo {
	info := ConnectorInfo{Name: c.cfg.Name, Config: cloneConfig(c.cfg.Raw), Type: string(c.cfg.Plugin.Kind), Tasks: []TaskID{}}
	if info.Type == string(connector.KindSink) || info.Type == string(connector.KindSource) {
		info.Config["name"] = c.cfg.Name
	}
	if c.target != StateStopped {
		for _, s := range c.tasks {
			info.Tasks = append(info.Tasks, TaskID{Connector: c.cfg.Name, Task: s.id})
		}
	}
	return info
}

// StatusOf returns the status of one connector.
func (w *Worker) StatusOf(name string) (ConnectorStatus, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.conns[name]
	if !ok {
		return ConnectorStatus{}, errNotFound(name)
	}
	return w.statusLocked(c), nil
}

// TaskStatusOf returns the status of one task.
func (w *Worker) TaskStatusOf(name string, id int) (TaskStatus, error) {
	st, err := w.StatusOf(name)
	if err != nil {
		return TaskStatus{}, err
	}
	for _, t := range st.Tasks {
		if t.ID == id {
			return t, nil
		}
	}
	return TaskStatus{}, errorf(http.StatusNotFound, "Task %s-%d not found", name, id)
}

// TaskConfigs returns the config of each task (the connector's config:
// connectd's tasks share it), in task order.
func (w *Worker) TaskConfigs(name string) ([]map[string]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.conns[name]
	if !ok {
		return nil, errNotFound(name)
	}
	out := []map[string]string{}
	if c.target == StateStopped {
		return out, nil
	}
	for _, s := range c.tasks {
		cfg := cloneConfig(c.cfg.Raw)
		cfg["task.id"] = fmt.Sprint(s.id)
		out = append(out, cfg)
	}
	return out, nil
}

// Create adds and starts a connector. initial is RUNNING (default when
// empty), PAUSED or STOPPED. It fails with 409 if the name is taken and
// 400 if the config is invalid.
func (w *Worker) Create(ctx context.Context, name string, raw map[string]string, initial State) (ConnectorInfo, error) {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	if initial == "" {
		initial = StateRunning
	}
	switch initial {
	case StateRunning, StatePaused, StateStopped:
	default:
		return ConnectorInfo{}, errorf(http.StatusBadRequest, "initial_state %q is not one of RUNNING, PAUSED, STOPPED", initial)
	}
	if _, err := w.lookup(name); err == nil {
		return ConnectorInfo{}, errorf(http.StatusConflict, "Connector %s already exists", name)
	}
	cfg, err := w.parse(name, raw)
	if err != nil {
		return ConnectorInfo{}, err
	}
	if err := w.opts.Store.Put(StoredConnector{Name: name, Config: raw, Target: initial}); err != nil {
		return ConnectorInfo{}, errorf(http.StatusInternalServerError, "store connector %s: %v", name, err)
	}
	if err := w.add(cfg, initial, ""); err != nil {
		return ConnectorInfo{}, errorf(http.StatusInternalServerError, "%v", err)
	}
	w.opts.Logger.Info("connector created", "connector", name, "state", initial)
	return w.Info(name)
}

func (w *Worker) parse(name string, raw map[string]string) (*connector.ConnectorConfig, error) {
	cfg, err := w.opts.Registry.Parse(name, raw)
	if err != nil {
		return nil, invalidConfig(raw["connector.class"], err)
	}
	return cfg, nil
}

// PutConfig creates the connector (created=true) or replaces its config,
// restarting its tasks with the new one.
func (w *Worker) PutConfig(ctx context.Context, name string, raw map[string]string) (ConnectorInfo, bool, error) {
	if _, err := w.lookup(name); err != nil {
		info, err := w.Create(ctx, name, raw, StateRunning)
		return info, err == nil, err
	}
	info, err := w.update(name, func(map[string]string) map[string]string { return raw })
	return info, false, err
}

// PatchConfig changes some keys of a connector's config: a nil value
// removes the key. The tasks restart with the result.
func (w *Worker) PatchConfig(ctx context.Context, name string, patch map[string]*string) (ConnectorInfo, error) {
	return w.update(name, func(old map[string]string) map[string]string {
		next := cloneConfig(old)
		for k, v := range patch {
			if v == nil {
				delete(next, k)
			} else {
				next[k] = *v
			}
		}
		return next
	})
}

func (w *Worker) update(name string, change func(map[string]string) map[string]string) (ConnectorInfo, error) {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	c, err := w.lookup(name)
	if err != nil {
		return ConnectorInfo{}, err
	}
	raw := change(cloneConfig(c.cfg.Raw))
	delete(raw, "name")
	cfg, err := w.parse(name, raw)
	if err != nil {
		return ConnectorInfo{}, err
	}
	if err := w.opts.Store.Put(StoredConnector{Name: name, Config: raw, Target: c.target, FileHash: c.fileHash}); err != nil {
		return ConnectorInfo{}, errorf(http.StatusInternalServerError, "store connector %s: %v", name, err)
	}
	w.stopTasks(c.tasks)
	if len(c.tasks) > cfg.Common.TasksMax {
		w.removeMembers(c.cfg, cfg.Common.TasksMax)
	}
	w.mu.Lock()
	old := c.tasks
	c.cfg = cfg
	c.tasks = newSlots(cfg)
	for i := 0; i < len(old) && i < len(c.tasks); i++ {
		c.tasks[i].metrics = old[i].metrics // counters and active topics carry over
	}
	if w.running && c.target == StateRunning {
		w.startLocked(c)
	}
	info := w.infoLocked(c)
	w.mu.Unlock()
	w.opts.Logger.Info("connector reconfigured", "connector", name)
	return info, nil
}

// removeMembers makes a sink connector's static group members from task
// `from` on leave the group, so its partitions move (or its offsets can be
// changed) at once rather than after a session timeout.
func (w *Worker) removeMembers(cfg *connector.ConnectorConfig, from int) {
	if cfg.Plugin.Kind != connector.KindSink {
		return
	}
	var ids []string
	for i := from; i < cfg.Common.TasksMax; i++ {
		ids = append(ids, transactionalID(cfg.Name, i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.ShutdownTimeout)
	defer cancel()
	if err := w.opts.Kafka.Admin().RemoveGroupMembers(ctx, cfg.Group(), ids); err != nil {
		w.opts.Logger.Warn("could not remove static group members; they leave after session.timeout.ms", "connector", cfg.Name, "err", err)
	}
}

// Delete stops a connector's tasks and forgets it.
func (w *Worker) Delete(ctx context.Context, name string) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	c, err := w.lookup(name)
	if err != nil {
		return err
	}
	w.stopTasks(c.tasks)
	w.removeMembers(c.cfg, 0)
	var storeErr error
	if c.fileHash != "" {
		// Remember the deletion so an unchanged file does not bring it back.
		storeErr = w.opts.Store.Put(StoredConnector{Name: name, Config: c.cfg.Raw, FileHash: c.fileHash, Deleted: true})
	} else {
		storeErr = w.opts.Store.Remove(name)
	}
	w.mu.Lock()
	delete(w.conns, name)
	w.mu.Unlock()
	if storeErr != nil {
		return errorf(http.StatusInternalServerError, "connector %s deleted, but the store failed: %v", name, storeErr)
	}
	w.opts.Logger.Info("connector deleted", "connector", name)
	return nil
}

// Pause stops a connector's tasks, keeping them assigned in name (state
// PAUSED), until Resume.
func (w *Worker) Pause(ctx context.Context, name string) error {
	return w.setTarget(name, StatePaused)
}

// Resume starts a paused or stopped connector again.
func (w *Worker) Resume(ctx context.Context, name string) error {
	return w.setTarget(name, StateRunning)
}

// Stop shuts a connector's tasks down (state STOPPED); its offsets can then
// be changed through the offsets API.
func (w *Worker) Stop(ctx context.Context, name string) error {
	return w.setTarget(name, StateStopped)
}

func (w *Worker) setTarget(name string, target State) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	c, err := w.lookup(name)
	if err != nil {
		return err
	}
	w.mu.Lock()
	same := c.target == target
	w.mu.Unlock()
	if same {
		return nil
	}
	if err := w.opts.Store.Put(StoredConnector{Name: name, Config: c.cfg.Raw, Target: target, FileHash: c.fileHash}); err != nil {
		return errorf(http.StatusInternalServerError, "store connector %s: %v", name, err)
	}
	if target != StateRunning {
		w.stopTasks(c.tasks)
		if target == StateStopped {
			w.removeMembers(c.cfg, 0)
		}
	}
	w.mu.Lock()
	c.target = target
	if target == StateRunning && w.running {
		w.startLocked(c)
	}
	w.mu.Unlock()
	w.opts.Logger.Info("connector state changed", "connector", name, "target", target)
	return nil
}

// Restart restarts a connector; with includeTasks its tasks too (with
// onlyFailed, only the FAILED ones). It returns the status as it was when
// the restart began, with RESTARTING for what it restarts.
func (w *Worker) Restart(ctx context.Context, name string, includeTasks, onlyFailed bool) (ConnectorStatus, error) {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	c, err := w.lookup(name)
	if err != nil {
		return ConnectorStatus{}, err
	}
	w.mu.Lock()
	st := w.statusLocked(c)
	if !onlyFailed {
		st.State = StateRestarting
	}
	var restart []*taskSlot
	if includeTasks && c.target != StateStopped {
		for i, s := range c.tasks {
			if !onlyFailed || s.state == StateFailed {
				restart = append(restart, s)
				st.Tasks[i].State = StateRestarting
			}
		}
	}
	w.mu.Unlock()
	w.stopTasks(restart)
	w.mu.Lock()
	if w.running && c.target == StateRunning {
		w.startLocked(c)
	}
	w.mu.Unlock()
	return st, nil
}

// RestartTask restarts one task.
func (w *Worker) RestartTask(ctx context.Context, name string, id int) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	c, err := w.lookup(name)
	if err != nil {
		return err
	}
	if id < 0 || id >= len(c.tasks) || c.target == StateStopped {
		return errorf(http.StatusNotFound, "Task %s-%d not found", name, id)
	}
	w.stopTasks([]*taskSlot{c.tasks[id]})
	w.mu.Lock()
	if w.running && c.target == StateRunning {
		w.startLocked(c)
	}
	w.mu.Unlock()
	return nil
}

// ActiveTopics returns the topics a connector has used since it was
// created or its topics were last reset (Kafka Connect's KIP-558).
func (w *Worker) ActiveTopics(name string) ([]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.conns[name]
	if !ok {
		return nil, errNotFound(name)
	}
	seen := map[string]bool{}
	out := []string{}
	for _, s := range c.tasks {
		for _, t := range s.metrics.Topics() {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// ResetActiveTopics forgets a connector's active topics.
func (w *Worker) ResetActiveTopics(name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.conns[name]
	if !ok {
		return errNotFound(name)
	}
	for _, s := range c.tasks {
		s.metrics.ResetTopics()
	}
	return nil
}

// Running reports whether Run is active (the worker is ready).
func (w *Worker) Running() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}
