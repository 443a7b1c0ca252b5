package window

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"time"

	"github.com/valyala/fastjson"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/windowing"
)

// maxPartition bounds the input partition numbers: a windowing partition
// id is an 11-bit hash of the topic above 20 bits of partition number.
const maxPartition = 1 << 20

// Sink is one task of the window connector. It implements connector.Sink
// and connector.Emitter; like every sink it is called from one goroutine.
type Sink struct {
	cfg       *Config
	info      connector.TaskInfo
	log       *slog.Logger
	changelog string
	// now is the only clock: it feeds windowing's idle detection.
	now func() time.Time

	w        *windowing.Windower // nil until Open, and again after Close
	parser   fastjson.Parser
	fields   fields
	ids      map[connector.TopicPartition]int32
	byID     map[int32]connector.TopicPartition
	next     map[connector.TopicPartition]int64
	emitted  []connector.ProducerRecord
	results  []windowing.Result
	changes  []windowing.Record
	topicsOK bool

	// lateCounted counts refused events not written to a late topic;
	// lateLogged is the count at the last log line.
	lateCounted, lateLogged int64
	// bounds is the windower's Stats at the last report of bounds hit.
	bounds windowing.Stats
}

var (
	_ connector.Sink    = (*Sink)(nil)
	_ connector.Emitter = (*Sink)(nil)
)

// New builds a window task from a validated config. It starts nothing and
// touches no Kafka: Open does.
func New(cfg *Config, info connector.TaskInfo) (*Sink, error) {
	if cfg == nil || len(cfg.Window.Aggregates) == 0 {
		return nil, errors.New("window connector: config not validated (no aggregates)")
	}
	if info.TasksMax > 1 {
		return nil, fmt.Errorf("window connector: tasks.max is %d; it must be 1", info.TasksMax)
	}
	log := info.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sink{
		cfg: cfg, info: info, log: log, changelog: cfg.changelog(info.Connector), now: time.Now,
		ids: map[connector.TopicPartition]int32{}, byID: map[int32]connector.TopicPartition{},
		next: map[connector.TopicPartition]int64{},
	}, nil
}

// partitionID maps an input partition to windowing's partition id: stable
// across restarts and topic lists, since the id is part of the state.
func partitionID(tp connector.TopicPartition) (int32, error) {
	if tp.Partition < 0 || tp.Partition >= maxPartition {
		return 0, fmt.Errorf("window connector: partition %s is beyond the %d partitions per topic it supports", tp, maxPartition)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(tp.Topic))
	return int32(h.Sum32()&0x7ff)<<20 | tp.Partition, nil
}

// Open creates the output, changelog and late topics when missing,
// restores the window state from the changelog (on the first Open, or the
// first after a Close), and registers the assigned partitions. The state
// in the changelog was written in the same transactions as the committed
// offsets the framework resumes from, so the two agree; events the state
// already holds are skipped by offset (windowing's duplicate check).
func (s *Sink) Open(ctx context.Context, assigned map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	if err := s.ensureTopics(ctx); err != nil {
		return nil, err
	}
	if s.w == nil {
		if err := s.restore(ctx); err != nil {
			return nil, err
		}
	}
	ids := make([]int32, 0, len(assigned))
	for tp := range assigned {
		id, err := partitionID(tp)
		if err != nil {
			return nil, err
		}
		if other, ok := s.byID[id]; ok && other != tp {
			return nil, fmt.Errorf("window connector: input partitions %s and %s map to the same window partition id; rename a topic or consume them in separate connectors", other, tp)
		}
		s.ids[tp], s.byID[id] = id, tp
		ids = append(ids, id)
	}
	s.w.Assign(ids, s.now().UnixMilli())
	return nil, nil
}

func (s *Sink) ensureTopics(ctx context.Context) error {
	if s.topicsOK || s.info.Admin == nil {
		return nil
	}
	specs := []connector.TopicSpec{
		{Name: s.cfg.OutputTopic, Partitions: s.cfg.OutputPartitions, ReplicationFactor: s.cfg.Replication},
		{Name: s.changelog, Partitions: 1, ReplicationFactor: s.cfg.Replication, Configs: map[string]string{"cleanup.policy": "compact"}},
	}
	if s.cfg.LateTopic != "" {
		specs = append(specs, connector.TopicSpec{Name: s.cfg.LateTopic, Partitions: s.cfg.OutputPartitions, ReplicationFactor: s.cfg.Replication})
	}
	for _, sp := range specs {
		if err := s.info.Admin.EnsureTopic(ctx, sp); err != nil {
			return fmt.Errorf("window connector: create topic %s: %w", sp.Name, err)
		}
	}
	s.topicsOK = true
	return nil
}

// restore builds a new windower and loads every changelog record into it.
func (s *Sink) restore(ctx context.Context) error {
	w, err := windowing.New(s.info.Connector, s.cfg.Window, s.cfg.Aggregates)
	if err != nil {
		return fmt.Errorf("window connector: %w", err)
	}
	n := 0
	if s.info.Reader != nil {
		start := time.Now()
		recs, err := s.info.Reader.ReadAll(ctx, s.changelog)
		if err != nil {
			return fmt.Errorf("window connector: read changelog %s: %w", s.changelog, err)
		}
		for i := range recs {
			if err := w.Load(windowing.Record{Key: recs[i].Key, Value: recs[i].Value}); err != nil {
				if errors.Is(err, windowing.ErrStateMismatch) {
					return fmt.Errorf("window connector: changelog %s holds state of another window config (window type or size, group.by or aggregates changed): %w; restore the old config, or set a new changelog.topic and reset the connector's offsets to reprocess the input", s.changelog, err)
				}
				return fmt.Errorf("window connector: changelog %s record %s offset %d: %w", s.changelog, recs[i].TP(), recs[i].Offset, err)
			}
		}
		n = len(recs)
		s.log.Info("window state restored", "changelog", s.changelog, "records", n, "took", time.Since(start).Round(time.Millisecond))
	}
	s.w = w
	return nil
}

// Write adds each event to its windows. An event without a parseable
// event time is the record's fault (*connector.BatchError: the dead-letter
// topic). An event too late for its windows is written to late.topic with
// the reason, or counted and logged.
func (s *Sink) Write(_ context.Context, batch []connector.Record) error {
	if s.w == nil {
		return errors.New("window connector: Write before Open")
	}
	var bad []connector.RecordError
	tsField := s.cfg.Window.TimestampField
	for i := range batch {
		r := &batch[i]
		tp := connector.TopicPartition{Topic: r.Topic, Partition: r.Partition}
		id, ok := s.ids[tp]
		if !ok {
			return fmt.Errorf("window connector: record of %s, which is not open", tp)
		}
		s.next[tp] = r.Offset + 1
		v, err := s.parser.ParseBytes(r.Value)
		if err != nil {
			bad = append(bad, connector.RecordError{Index: i, Err: fmt.Errorf("not a JSON event: %w", err)})
			continue
		}
		if v.Type() != fastjson.TypeObject {
			bad = append(bad, connector.RecordError{Index: i, Err: fmt.Errorf("not a JSON object but a %s", v.Type())})
			continue
		}
		s.fields.v = v
		ts, why := s.fields.eventTime(tsField)
		if why != "" {
			bad = append(bad, connector.RecordError{Index: i, Err: errors.New("no event time: " + why)})
			continue
		}
		out := s.w.Add(windowing.Input{TimeMs: ts, Partition: id, Offset: r.Offset, Fields: &s.fields})
		if out.Verdict == windowing.Rejected || out.Verdict == windowing.Partial {
			s.late(r, ts, out)
		}
	}
	s.fields.v = nil
	if len(bad) > 0 {
		return &connector.BatchError{Records: bad}
	}
	return nil
}

// lateRecord is the value written to late.topic.
type lateRecord struct {
	Reason    string          `json:"reason"`
	Verdict   string          `json:"verdict"`
	Topic     string          `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	EventTime string          `json:"event_time"`
	Watermark string          `json:"watermark"`
	Event     json.RawMessage `json:"event"`
}

func (s *Sink) late(r *connector.Record, ts int64, out windowing.Outcome) {
	if s.cfg.LateTopic == "" {
		s.lateCounted++
		return
	}
	v, err := json.Marshal(lateRecord{
		Reason: out.Reason.String(), Verdict: out.Verdict.String(),
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		EventTime: time.UnixMilli(ts).UTC().Format(time.RFC3339Nano),
		Watermark: time.UnixMilli(s.w.Watermark()).UTC().Format(time.RFC3339Nano),
		Event:     json.RawMessage(r.Value),
	})
	if err != nil { // the value parsed as JSON above, so this cannot happen
		v = r.Value
	}
	s.emitted = append(s.emitted, connector.ProducerRecord{
		Topic: s.cfg.LateTopic, Partition: -1, Key: r.Key, Value: v, Timestamp: time.UnixMilli(ts),
	})
}

// Flush tells the windower the wall clock (idle partitions), takes the
// results of the windows that closed and the state that changed, and
// queues them for Emitted: the framework commits them in the same
// transaction as the offsets Flush returns, which cover every record
// consumed, since the state holding them goes to the changelog in that
// same transaction.
func (s *Sink) Flush(context.Context) (map[connector.TopicPartition]int64, error) {
	if s.w == nil {
		return nil, nil
	}
	s.w.Tick(s.now().UnixMilli())
	if st := s.w.Stats(); st.BoundsHit(s.bounds) != "" {
		s.log.Warn("window state bounds hit", "what", st.BoundsHit(s.bounds))
		s.bounds = st
	}
	s.results = s.w.TakeResults(s.results[:0])
	for i := range s.results {
		r := &s.results[i]
		v, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("window connector: encode result %s: %w", r.ID, err)
		}
		s.emitted = append(s.emitted, connector.ProducerRecord{
			Topic: s.cfg.OutputTopic, Partition: -1, Key: []byte(r.ID), Value: v, Timestamp: time.UnixMilli(r.WindowEnd),
		})
	}
	clear(s.results)
	s.changes = s.w.Changes(s.changes[:0])
	for _, c := range s.changes {
		s.emitted = append(s.emitted, connector.ProducerRecord{Topic: s.changelog, Partition: 0, Key: c.Key, Value: c.Value})
	}
	clear(s.changes)
	if d := s.lateCounted - s.lateLogged; d > 0 {
		s.log.Warn("events too late for their windows were counted and dropped (set late.topic to keep them)", "events", d, "total", s.lateCounted)
		s.lateLogged = s.lateCounted
	}
	return maps.Clone(s.next), nil
}

// Emitted implements connector.Emitter: the results, changelog records and
// late events of the last Flush (and late events of the Writes before it).
func (s *Sink) Emitted() []connector.ProducerRecord {
	out := s.emitted
	s.emitted = nil
	return out
}

// Close drops the window state: what was committed is in the changelog
// and the next Open restores it; what was not will be consumed again.
func (s *Sink) Close(_ context.Context, revoked []connector.TopicPartition) error {
	if s.w != nil {
		st := s.w.Stats()
		s.log.Info("window state dropped", "revoked", len(revoked), "events", st.Events, "late", st.Late,
			"duplicates", st.Duplicates, "results", st.Results, "open_windows", st.OpenWindows, "sessions", st.Sessions)
	}
	s.w = nil
	s.bounds = windowing.Stats{}
	s.emitted = nil
	clear(s.ids)
	clear(s.byID)
	clear(s.next)
	return nil
}

// Stop releases the state.
func (s *Sink) Stop(ctx context.Context) error { return s.Close(ctx, nil) }
