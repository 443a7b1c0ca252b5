package worker

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/connectd/connectd/connector"
)

const (
	keyTopic     = "kafka_topic"
	keyPartition = "kafka_partition"
	keyOffset    = "kafka_offset"
)

func (w *Worker) adminCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 30*time.Second)
}

// Offsets returns a connector's committed offsets in Kafka Connect's shape
// (KIP-875): a sink's consumer group offsets, or a source's offsets from
// its offsets topic.
func (w *Worker) Offsets(ctx context.Context, name string) ([]ConnectorOffset, error) {
	c, err := w.lookup(name)
	if err != nil {
		return nil, err
	}
	cfg := c.cfg
	ctx, cancel := w.adminCtx(ctx)
	defer cancel()
	out := []ConnectorOffset{}
	if cfg.Plugin.Kind == connector.KindSink {
		offs, err := w.opts.Kafka.Admin().GroupOffsets(ctx, cfg.Group())
		if err != nil {
			return nil, errorf(http.StatusInternalServerError, "read offsets of connector %s: %v", name, err)
		}
		tps := sortedTPs(offs)
		for _, tp := range tps {
			out = append(out, ConnectorOffset{
				Partition: map[string]any{keyTopic: tp.Topic, keyPartition: tp.Partition},
				Offset:    map[string]any{keyOffset: offs[tp]},
			})
		}
		return out, nil
	}
	so, err := connector.ReadSourceOffsets(ctx, w.opts.Kafka.Reader(), cfg.Source.OffsetsTopic, name)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "read offsets of connector %s: %v", name, err)
	}
	var decodeErr error
	so.Each(func(p, o json.RawMessage) {
		var co ConnectorOffset
		if err := json.Unmarshal(p, &co.Partition); err != nil {
			decodeErr = err
		}
		if err := json.Unmarshal(o, &co.Offset); err != nil {
			decodeErr = err
		}
		out = append(out, co)
	})
	if decodeErr != nil {
		return nil, errorf(http.StatusInternalServerError, "decode source offsets of connector %s: %v", name, decodeErr)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := json.Marshal(out[i].Partition)
		b, _ := json.Marshal(out[j].Partition)
		return string(a) < string(b)
	})
	return out, nil
}

func sortedTPs(m map[connector.TopicPartition]int64) []connector.TopicPartition {
	tps := make([]connector.TopicPartition, 0, len(m))
	for tp := range m {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	return tps
}

// stoppedConfig returns the config of a connector that must be STOPPED
// for its offsets to change.
func (w *Worker) stoppedConfig(name string) (*connector.ConnectorConfig, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.conns[name]
	if !ok {
		return nil, errNotFound(name)
	}
	if c.target != StateStopped {
		return nil, errorf(http.StatusBadRequest, "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/%s/stop' endpoint", name)
	}
	return c.cfg, nil
}

// AlterOffsets sets a STOPPED connector's offsets; an entry with a nil
// Offset resets that partition.
func (w *Worker) AlterOffsets(ctx context.Context, name string, offsets []ConnectorOffset) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	cfg, err := w.stoppedConfig(name)
	if err != nil {
		return err
	}
	if len(offsets) == 0 {
		return errorf(http.StatusBadRequest, "The offsets to be modified must not be null or empty")
	}
	ctx, cancel := w.adminCtx(ctx)
	defer cancel()
	if cfg.Plugin.Kind == connector.KindSink {
		set := map[connector.TopicPartition]int64{}
		var reset []connector.TopicPartition
		for _, o := range offsets {
			tp, err := sinkPartition(o.Partition)
			if err != nil {
				return err
			}
			if o.Offset == nil {
				reset = append(reset, tp)
				continue
			}
			off, err := sinkOffset(o.Offset)
			if err != nil {
				return err
			}
			set[tp] = off
		}
		admin := w.opts.Kafka.Admin()
		if err := admin.AlterGroupOffsets(ctx, cfg.Group(), set); err != nil {
			return errorf(http.StatusInternalServerError, "alter offsets of connector %s: %v", name, err)
		}
		if err := admin.DeleteGroupOffsets(ctx, cfg.Group(), reset); err != nil {
			return errorf(http.StatusInternalServerError, "reset offsets of connector %s: %v", name, err)
		}
		return nil
	}
	var recs []connector.ProducerRecord
	for _, o := range offsets {
		if o.Partition == nil {
			return errorf(http.StatusBadRequest, "every offset entry needs a \"partition\" object")
		}
		key, err := connector.OffsetKey(name, o.Partition)
		if err != nil {
			return errorf(http.StatusBadRequest, "partition %v: %v", o.Partition, err)
		}
		var val []byte
		if o.Offset != nil {
			if val, err = json.Marshal(o.Offset); err != nil {
				return errorf(http.StatusBadRequest, "offset %v: %v", o.Offset, err)
			}
		}
		recs = append(recs, connector.ProducerRecord{Topic: cfg.Source.OffsetsTopic, Partition: -1, Key: key, Value: val, Timestamp: time.Now()})
	}
	return w.writeSourceOffsets(ctx, cfg, recs)
}

func (w *Worker) writeSourceOffsets(ctx context.Context, cfg *connector.ConnectorConfig, recs []connector.ProducerRecord) error {
	committer, err := w.opts.Kafka.NewCommitter(connector.ProducerConfig{TransactionalID: "connectd-" + cfg.Name + "-offsets", ClientID: "connectd-" + cfg.Name + "-offsets"})
	if err != nil {
		return errorf(http.StatusInternalServerError, "write offsets of connector %s: %v", cfg.Name, err)
	}
	defer committer.Close()
	if err := committer.Commit(ctx, recs, nil, nil); err != nil {
		return errorf(http.StatusInternalServerError, "write offsets of connector %s: %v", cfg.Name, err)
	}
	return nil
}

// ResetOffsets forgets all of a STOPPED connector's offsets: a sink then
// starts from auto.offset.reset, a source from its beginning.
func (w *Worker) ResetOffsets(ctx context.Context, name string) error {
	current, err := w.Offsets(ctx, name)
	if err != nil {
		return err
	}
	w.opMu.Lock()
	defer w.opMu.Unlock()
	cfg, err := w.stoppedConfig(name)
	if err != nil {
		return err
	}
	ctx, cancel := w.adminCtx(ctx)
	defer cancel()
	if cfg.Plugin.Kind == connector.KindSink {
		var tps []connector.TopicPartition
		for _, o := range current {
			tp, err := sinkPartition(o.Partition)
			if err != nil {
				return err
			}
			tps = append(tps, tp)
		}
		if err := w.opts.Kafka.Admin().DeleteGroupOffsets(ctx, cfg.Group(), tps); err != nil {
			return errorf(http.StatusInternalServerError, "reset offsets of connector %s: %v", name, err)
		}
		return nil
	}
	var recs []connector.ProducerRecord
	for _, o := range current {
		key, err := connector.OffsetKey(name, o.Partition)
		if err != nil {
			return errorf(http.StatusInternalServerError, "%v", err)
		}
		recs = append(recs, connector.ProducerRecord{Topic: cfg.Source.OffsetsTopic, Partition: -1, Key: key, Timestamp: time.Now()})
	}
	if len(recs) == 0 {
		return nil
	}
	return w.writeSourceOffsets(ctx, cfg, recs)
}

func sinkPartition(p map[string]any) (connector.TopicPartition, error) {
	topic, ok := p[keyTopic].(string)
	if !ok || topic == "" {
		return connector.TopicPartition{}, errorf(http.StatusBadRequest, "Kafka topic names must be valid strings, found %v in partition %v; sink partitions look like {\"kafka_topic\": \"t\", \"kafka_partition\": 0}", p[keyTopic], p)
	}
	n, ok := p[keyPartition].(float64)
	if i, isInt := p[keyPartition].(int32); isInt {
		n, ok = float64(i), true
	}
	if !ok || n < 0 || n != float64(int32(n)) {
		return connector.TopicPartition{}, errorf(http.StatusBadRequest, "Kafka partitions must be valid numbers, found %v in partition %v", p[keyPartition], p)
	}
	return connector.TopicPartition{Topic: topic, Partition: int32(n)}, nil
}

func sinkOffset(o map[string]any) (int64, error) {
	n, ok := o[keyOffset].(float64)
	if i, isInt := o[keyOffset].(int64); isInt {
		n, ok = float64(i), true
	}
	if !ok || n < 0 || n != float64(int64(n)) {
		return 0, errorf(http.StatusBadRequest, "Kafka offsets must be valid numbers, found %v in offset %v; sink offsets look like {\"kafka_offset\": 42}", o[keyOffset], o)
	}
	return int64(n), nil
}

// PlanReset computes where a backfill would move a sink connector's
// offsets, with the sink's adjustment (an OffsetResetter moves a target back
// to the start of a file) applied. It changes nothing. For a source
// connector only "earliest" is possible, and the plan is empty: the source
// restarts from its beginning.
func (w *Worker) PlanReset(ctx context.Context, name string, spec ResetSpec) ([]PlanRow, error) {
	c, err := w.lookup(name)
	if err != nil {
		return nil, err
	}
	cfg := c.cfg
	if cfg.Plugin.Kind == connector.KindSource {
		if spec.To != "earliest" {
			return nil, errorf(http.StatusBadRequest, "connector %s is a source: only a reset to the earliest position (its beginning) is possible", name)
		}
		return []PlanRow{}, nil
	}
	ctx, cancel := w.adminCtx(ctx)
	defer cancel()
	admin := w.opts.Kafka.Admin()
	tps, err := admin.Partitions(ctx, cfg.Sink.Topics, cfg.TopicsRegex)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "list partitions of connector %s: %v", name, err)
	}
	current, err := admin.GroupOffsets(ctx, cfg.Group())
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "read offsets of connector %s: %v", name, err)
	}
	starts, err := admin.StartOffsets(ctx, tps)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "%v", err)
	}
	ends, err := admin.EndOffsets(ctx, tps)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "%v", err)
	}
	targets := map[connector.TopicPartition]int64{}
	switch spec.To {
	case "earliest":
		targets = starts
	case "latest":
		targets = ends
	case "datetime":
		if spec.Datetime.IsZero() {
			return nil, errorf(http.StatusBadRequest, "a datetime reset needs a time")
		}
		if targets, err = admin.OffsetsForTime(ctx, tps, spec.Datetime); err != nil {
			return nil, errorf(http.StatusInternalServerError, "%v", err)
		}
	case "offsets":
		known := map[connector.TopicPartition]bool{}
		for _, tp := range tps {
			known[tp] = true
		}
		for _, po := range spec.Offsets {
			tp := connector.TopicPartition{Topic: po.Topic, Partition: po.Partition}
			if !known[tp] {
				return nil, errorf(http.StatusBadRequest, "%s is not a partition connector %s consumes", tp, name)
			}
			targets[tp] = po.Offset
		}
	case "shift":
		for _, tp := range tps {
			cur, ok := current[tp]
			if !ok {
				cur = starts[tp]
			}
			targets[tp] = cur + spec.Shift
		}
	default:
		return nil, errorf(http.StatusBadRequest, "reset %q is not one of earliest, latest, datetime, offsets, shift", spec.To)
	}
	for tp, t := range targets {
		targets[tp] = min(max(t, starts[tp]), ends[tp])
	}
	adjusted := map[connector.TopicPartition]int64{}
	if fresh, err := cfg.Plugin.NewSink(cfg.PluginConfig, connector.TaskInfo{Connector: name, TasksMax: cfg.Common.TasksMax, Logger: w.opts.Logger}); err == nil {
		if r, ok := fresh.(connector.OffsetResetter); ok {
			if adjusted, err = r.ResetOffsets(ctx, targets); err != nil {
				_ = fresh.Stop(ctx)
				return nil, errorf(http.StatusInternalServerError, "sink of connector %s could not plan the reset: %v", name, err)
			}
		}
		_ = fresh.Stop(ctx)
	} else {
		return nil, errorf(http.StatusInternalServerError, "sink of connector %s: %v", name, err)
	}
	rows := []PlanRow{}
	for _, tp := range sortedTPs(targets) {
		row := PlanRow{Topic: tp.Topic, Partition: tp.Partition, Current: -1, Target: targets[tp]}
		if a, ok := adjusted[tp]; ok && a != row.Target {
			row.Target, row.Adjusted = a, true
		}
		if cur, ok := current[tp]; ok {
			row.Current = cur
			row.Replay = max(0, cur-row.Target)
		}
		rows = append(rows, row)
	}
	return rows, nil
}
