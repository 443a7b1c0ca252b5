package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/connectd/connectd/windowing"
)

// The window stage of a sink task (ConnectorConfig.Window): consumed
// records, after the converter check and the transforms, go to a
// windowing.Windower instead of Sink.Write; the results of closed windows
// go to the sink as records of one synthetic partition (OutputTopic/0) at
// consecutive offsets seq, seq+1, …; the window state and seq go to a
// compacted changelog in the same transaction as the input offsets. A
// replay after a crash therefore rebuilds the same rollups at the same
// synthetic offsets, and the sink's idempotent Open/Write apply.

// windowSeqKey is the changelog key of the next synthetic offset;
// windowClockKey the key of the stage clock. The windower's own keys
// start with G, P, W or S.
const (
	windowSeqKey   = "connectd.window.seq"
	windowClockKey = "connectd.window.clock"
)

// windowStageClass names the stage in dead-letter headers.
const windowStageClass = "io.connectd.window.WindowStage"

// maxWindowPartition bounds input partition numbers: a windowing
// partition id is an 11-bit hash of the topic above 20 bits of partition
// number (as in the window connector).
const maxWindowPartition = 1 << 20

type windowStage struct {
	cfg *WindowStageConfig
	out TopicPartition
	log *slog.Logger
	// bounds is the windower's Stats at the last report of bounds hit.
	bounds windowing.Stats

	w      *windowing.Windower // nil until restored, and again after drop
	fields jsonFields
	ids    map[TopicPartition]int32
	byID   map[int32]TopicPartition
	// seq is the synthetic offset of the next rollup; committedSeq the
	// one in the changelog; durable what the sink reported durable.
	seq, committedSeq, durable int64
	// open says the synthetic partition is open in the sink.
	open bool
	// The stage clock, which windowing's idle detection runs on, counts
	// the time the stage ran: clockBase (from the changelog) plus the time
	// since clockStart. The time between an instance's last commit and
	// the next instance's restore does not count, so a restored partition
	// holds the watermark back for idle.timeout.ms of consuming, as in an
	// uninterrupted run, instead of being idle at once.
	clockBase  int64
	clockStart time.Time
	// pending are changelog records taken from the windower but not yet
	// committed (rounds whose rollups were not all durable), in order;
	// points are the commit points of those rounds, oldest first.
	pending []ProducerRecord
	points  []windowPoint
	results []windowing.Result
	changes []windowing.Record
	batch   []Record

	late, lateLogged int64
}

func newWindowStage(cfg *WindowStageConfig, log *slog.Logger) *windowStage {
	return &windowStage{
		cfg: cfg, log: log, out: TopicPartition{Topic: cfg.OutputTopic, Partition: 0},
		ids: map[TopicPartition]int32{}, byID: map[int32]TopicPartition{},
	}
}

// windowPoint is a consistent cut taken at a flush round: the input
// offsets consumed so far, the changelog records (pending[:changes]) that
// hold the state after them, and the rollup offset after the results
// taken so far. It may be committed once the sink reports the rollups
// durable up to seq.
type windowPoint struct {
	offsets map[TopicPartition]int64
	changes int
	seq     int64
	clock   int64
}

// now is the stage clock, in ms.
func (ws *windowStage) now() int64 { return ws.clockBase + time.Since(ws.clockStart).Milliseconds() }

// windowPartitionID maps an input partition to windowing's partition id:
// stable across restarts and topic lists, since the id is part of the
// state.
func windowPartitionID(tp TopicPartition) (int32, error) {
	if tp.Partition < 0 || tp.Partition >= maxWindowPartition {
		return 0, fmt.Errorf("window stage: partition %s is beyond the %d partitions per topic it supports", tp, maxWindowPartition)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(tp.Topic))
	return int32(h.Sum32()&0x7ff)<<20 | tp.Partition, nil
}

// restore builds a windower from the changelog, with the rollup sequence
// number it holds.
func (ws *windowStage) restore(ctx context.Context, reader TopicReader, connector string) error {
	w, err := windowing.New(connector, ws.cfg.Window, ws.cfg.Aggregates)
	if err != nil {
		return fmt.Errorf("window stage: %w", err)
	}
	start := time.Now()
	recs, err := reader.ReadAll(ctx, ws.cfg.ChangelogTopic)
	if err != nil {
		return fmt.Errorf("window stage: read changelog %s: %w", ws.cfg.ChangelogTopic, err)
	}
	var seq int64
	clock := time.Now().UnixMilli() // a new stage starts its clock at the wall clock
	for i := range recs {
		r := &recs[i]
		if k := string(r.Key); k == windowSeqKey || k == windowClockKey {
			var v int64
			if r.Value != nil {
				if v, err = strconv.ParseInt(string(r.Value), 10, 64); err != nil || v < 0 {
					return fmt.Errorf("window stage: changelog %s offset %d: bad %s %q", r.TP(), r.Offset, k, r.Value)
				}
			}
			if k == windowSeqKey {
				seq = v
			} else {
				clock = v
			}
			continue
		}
		if err := w.Load(windowing.Record{Key: r.Key, Value: r.Value}); err != nil {
			if errors.Is(err, windowing.ErrStateMismatch) {
				return fmt.Errorf("window stage: changelog %s holds state of another window config (window type or size, group.by or aggregates changed): %w; restore the old config, or set a new window.changelog.topic and reset the connector's offsets to reprocess the input", ws.cfg.ChangelogTopic, err)
			}
			return fmt.Errorf("window stage: changelog %s offset %d: %w", r.TP(), r.Offset, err)
		}
	}
	ws.w = w
	ws.seq, ws.committedSeq, ws.durable = seq, seq, seq
	ws.clockBase, ws.clockStart = clock, time.Now()
	ws.log.Info("window state restored", "changelog", ws.cfg.ChangelogTopic, "records", len(recs), "next_rollup_offset", seq, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// assign registers input partitions with the windower.
func (ws *windowStage) assign(parts map[TopicPartition]int64) error {
	ids := make([]int32, 0, len(parts))
	for tp := range parts {
		id, err := windowPartitionID(tp)
		if err != nil {
			return err
		}
		if other, ok := ws.byID[id]; ok && other != tp {
			return fmt.Errorf("window stage: input partitions %s and %s map to the same window partition id; rename a topic or consume them in separate connectors", other, tp)
		}
		ws.ids[tp], ws.byID[id] = id, tp
		ids = append(ids, id)
	}
	ws.w.Assign(ids, ws.now())
	return nil
}

// drop forgets the window state: the next assignment restores what was
// committed from the changelog.
func (ws *windowStage) drop() {
	if ws.w != nil {
		st := ws.w.Stats()
		ws.log.Info("window state dropped", "events", st.Events, "late", st.Late, "duplicates", st.Duplicates, "results", st.Results, "open_windows", st.OpenWindows)
	}
	ws.w = nil
	ws.bounds = windowing.Stats{}
	ws.open = false
	clear(ws.ids)
	clear(ws.byID)
	clear(ws.pending)
	ws.pending = ws.pending[:0]
	ws.points = ws.points[:0]
}

// rollups takes the results of the windows that closed as records of the
// synthetic partition, from offset seq on. The batch is reused.
func (ws *windowStage) rollups(nowMs int64) ([]Record, error) {
	ws.w.Tick(nowMs)
	if st := ws.w.Stats(); st.BoundsHit(ws.bounds) != "" {
		ws.log.Warn("window state bounds hit", "what", st.BoundsHit(ws.bounds))
		ws.bounds = st
	}
	ws.results = ws.w.TakeResults(ws.results[:0])
	ws.batch = ws.batch[:0]
	for i := range ws.results {
		r := &ws.results[i]
		v, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("window stage: encode result %s: %w", r.ID, err)
		}
		ws.batch = append(ws.batch, Record{
			Topic: ws.out.Topic, Partition: 0, Offset: ws.seq + int64(i),
			Key: []byte(r.ID), Value: v, Timestamp: time.UnixMilli(r.WindowEnd),
		})
	}
	clear(ws.results)
	return ws.batch, nil
}

// takeChanges moves the windower's changes to pending.
func (ws *windowStage) takeChanges() {
	ws.changes = ws.w.Changes(ws.changes[:0])
	for _, c := range ws.changes {
		ws.pending = append(ws.pending, ProducerRecord{Topic: ws.cfg.ChangelogTopic, Partition: 0, Key: c.Key, Value: c.Value})
	}
	clear(ws.changes)
}

// jsonFields is windowing.Fields over one JSON object, read with the JSON
// converter's scanner: the top-level members are located once per record,
// values decoded when asked for. Strings handed out are interned copies,
// stable for ever (a measure may keep one as a map key).
type jsonFields struct {
	b    []byte
	fs   []jsonMember
	strs map[string]string
}

type jsonMember struct {
	key        []byte
	start, end int
}

// maxWindowInterned bounds the string cache; at the bound it starts over.
const maxWindowInterned = 1 << 20

// parse locates the members of the JSON object b.
func (f *jsonFields) parse(b []byte) error {
	f.b, f.fs = b, f.fs[:0]
	s := jsonScanner{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return errors.New("not a JSON object")
	}
	s.i++
	s.ws()
	if s.i < len(b) && b[s.i] == '}' {
		s.i++
	} else {
		for {
			s.ws()
			if s.i >= len(b) || b[s.i] != '"' {
				return s.errf("expected a string key")
			}
			ks := s.i
			if err := s.str(); err != nil {
				return err
			}
			key := b[ks+1 : s.i-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				var k string
				if err := json.Unmarshal(b[ks:s.i], &k); err != nil {
					return s.errf("bad key: %v", err)
				}
				key = []byte(k)
			}
			s.ws()
			if s.i >= len(b) || b[s.i] != ':' {
				return s.errf("expected ':' after an object key")
			}
			s.i++
			s.ws()
			vs := s.i
			if err := s.value(1); err != nil {
				return err
			}
			f.fs = append(f.fs, jsonMember{key: key, start: vs, end: s.i})
			s.ws()
			if s.i >= len(b) {
				return s.errf("unexpected end of input in an object")
			}
			if b[s.i] == ',' {
				s.i++
				continue
			}
			if b[s.i] != '}' {
				return s.errf("expected ',' or '}' in an object, got %q", b[s.i])
			}
			s.i++
			break
		}
	}
	s.ws()
	if s.i != len(b) {
		return s.errf("unexpected %q after the JSON value", b[s.i])
	}
	return nil
}

// get returns the raw value of the first member called name.
func (f *jsonFields) get(name string) []byte {
	for i := range f.fs {
		if string(f.fs[i].key) == name {
			return f.b[f.fs[i].start:f.fs[i].end]
		}
	}
	return nil
}

func (f *jsonFields) intern(b []byte) string {
	if s, ok := f.strs[string(b)]; ok {
		return s
	}
	if f.strs == nil || len(f.strs) >= maxWindowInterned {
		f.strs = make(map[string]string, 1024)
	}
	s := string(b)
	f.strs[s] = s
	return s
}

// str decodes a JSON string value; ok is false for any other type.
func (f *jsonFields) str(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	in := v[1 : len(v)-1]
	if bytes.IndexByte(in, '\\') < 0 {
		return in, true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, false
	}
	return []byte(s), true
}

// Str implements windowing.Fields.
func (f *jsonFields) Str(name string) (string, bool) {
	b, ok := f.str(f.get(name))
	if !ok {
		return "", false
	}
	return f.intern(b), true
}

// Num implements windowing.Fields.
func (f *jsonFields) Num(name string) (float64, bool) {
	v := f.get(name)
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return 0, false
	}
	n, err := strconv.ParseFloat(bytesString(v), 64)
	return n, err == nil
}

// eventTime reads the RFC3339 event time of field name, in Unix ms.
func (f *jsonFields) eventTime(name string) (int64, error) {
	v := f.get(name)
	if v == nil {
		return 0, fmt.Errorf("no event time: the event has no %s field", name)
	}
	b, ok := f.str(v)
	if !ok {
		return 0, fmt.Errorf("no event time: field %s is %.40s, not an RFC3339 time string", name, v)
	}
	t, err := time.Parse(time.RFC3339Nano, bytesString(b))
	if err != nil {
		return 0, fmt.Errorf("no event time: field %s %q is not an RFC3339 time", name, b)
	}
	return t.UnixMilli(), nil
}

// bytesString views b as a string without copying, for parsers that do
// not keep it.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// assignedWindow is assigned for a task with a window stage: restore the
// windower from the changelog (first assignment, or the first after a
// revoke or failure), register the partitions, and open the sink on the
// synthetic partition at the restored sequence number instead of the
// input partitions. The consumer resumes from the committed offsets,
// which were committed with the changelog the state came from.
func (t *SinkTask) assignedWindow(ctx context.Context, ev ConsumerEvent) error {
	ws := t.win
	fail := func(err error) error {
		ev.Done(nil)
		return err
	}
	if ws.w == nil {
		if err := ws.restore(ctx, t.p.Reader, t.p.Config.Name); err != nil {
			return fail(err)
		}
	}
	if err := ws.assign(ev.Partitions); err != nil {
		return fail(err)
	}
	if !ws.open {
		var seek map[TopicPartition]int64
		err := t.backoff.Do(ctx, "open sink", func() error {
			var err error
			seek, err = t.sink.Open(ctx, map[TopicPartition]int64{ws.out: ws.seq})
			return err
		})
		if err != nil {
			return fail(fmt.Errorf("open sink: %w", err))
		}
		for tp, off := range seek {
			if tp != ws.out || off != ws.seq {
				t.log.Warn("sink asked to resume the window stage's rollups elsewhere; ignored: rollups are rebuilt from the changelog at their own offsets", "partition", tp.String(), "offset", off, "rollup_offset", ws.seq)
			}
		}
		ws.open = true
		ws.durable = ws.seq
		t.p.Metrics.NoteTopic(ws.out.Topic)
	}
	for tp, off := range ev.Partitions {
		t.p.Metrics.NoteTopic(tp.Topic)
		t.parts[tp] = &partState{consumed: off, lastDelivered: off - 1, durable: off, committed: off}
	}
	t.log.Info("partitions assigned", "partitions", len(ev.Partitions), "generation", ev.Generation.GenerationID, "window_changelog", ws.cfg.ChangelogTopic, "rollup_offset", ws.seq)
	ev.Done(nil)
	return nil
}

// window adds records (converted and transformed) to the windower. A
// record without a JSON object value or an event time is the record's
// fault (stage TASK_PUT); one too late for its windows is counted, and
// dead-lettered when there is a dead-letter topic.
func (t *SinkTask) window(st *partState, recs []Record) error {
	ws := t.win
	tsField := ws.cfg.Window.TimestampField
	var added int64
	for i := range recs {
		r := &recs[i]
		id, ok := ws.ids[r.TP()]
		if !ok {
			return fmt.Errorf("window stage: record of %s, which is not assigned", r.TP())
		}
		err := ws.fields.parse(r.Value)
		var ts int64
		if err == nil {
			ts, err = ws.fields.eventTime(tsField)
		}
		if err != nil {
			if err := t.bad(r, StageTask, windowStageClass, err); err != nil {
				return err
			}
			continue
		}
		out := ws.w.Add(windowing.Input{TimeMs: ts, Partition: id, Offset: r.Offset, Fields: &ws.fields})
		switch out.Verdict {
		case windowing.Rejected, windowing.Partial:
			ws.late++
			if t.p.Config.Sink.DLQTopic != "" {
				t.deadLetter(r, StageTask, windowStageClass, fmt.Errorf("refused by the window stage (%s, %s): watermark %s", out.Verdict, out.Reason,
					time.UnixMilli(ws.w.Watermark()).UTC().Format(time.RFC3339Nano)))
			}
		}
		st.lastDelivered = r.Offset
		added++
	}
	ws.fields.b = nil
	t.p.Metrics.Written.Add(added)
	t.sinceFlush += added
	return nil
}

// flushAndCommitWindow is flushAndCommit with a window stage: write the
// results of the windows that closed to the sink as rollup records, flush
// it, and when every rollup is durable commit in one transaction the
// input offsets consumed, the changelog (state changes and the sequence
// number) and the dead-letter records below those offsets. Each round is
// a commit point (offsets, changes, sequence number); the newest point
// whose rollups the sink reports all durable is committed, with every
// change up to it. Later points, and their changes, wait for a later
// round.
func (t *SinkTask) flushAndCommitWindow(ctx context.Context) error {
	ws := t.win
	if t.gen == nil || ws.w == nil || !ws.open {
		return nil
	}
	clock := ws.now()
	batch, err := ws.rollups(clock)
	if err != nil {
		return err
	}
	if len(batch) > 0 {
		err := t.backoff.Do(ctx, "write rollups", func() error { return t.sink.Write(ctx, batch) })
		var be *BatchError
		if errors.As(err, &be) && len(be.Records) > 0 {
			re := be.Records[0]
			return fmt.Errorf("sink rejected %d rollup records of the window stage, the first (offset %d) with: %w", len(be.Records), ws.seq+int64(re.Index), re.Err)
		}
		if err != nil {
			return fmt.Errorf("write rollups to sink: %w", err)
		}
		ws.seq += int64(len(batch))
		clear(ws.batch)
	}
	ws.takeChanges()
	offs := make(map[TopicPartition]int64, len(t.parts))
	for tp, st := range t.parts {
		offs[tp] = st.consumed
	}
	ws.points = append(ws.points, windowPoint{offsets: offs, changes: len(ws.pending), seq: ws.seq, clock: clock})
	var durable map[TopicPartition]int64
	err = t.backoff.Do(ctx, "flush", func() error {
		var err error
		durable, err = t.sink.Flush(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("flush sink: %w", err)
	}
	if x, ok := durable[ws.out]; ok {
		if x > ws.seq {
			return fmt.Errorf("sink flushed %s up to offset %d, past the last rollup it was given (%d)", ws.out, x, ws.seq-1)
		}
		ws.durable = max(ws.durable, x)
	}
	// Commit the newest point whose rollups are all durable: under a
	// steady stream of rollups into a sink that buffers them, the newest
	// round rarely is, but an older one soon is.
	k := -1
	for i := range ws.points {
		if ws.points[i].seq <= ws.durable {
			k = i
		}
	}
	if k < 0 {
		t.log.Debug("rollups not durable yet; commit deferred", "durable", ws.durable, "written", ws.seq)
		return nil
	}
	pt := ws.points[k]
	offsets := map[TopicPartition]int64{}
	for tp, next := range pt.offsets {
		if st := t.parts[tp]; st != nil && next > st.committed {
			offsets[tp] = next
		}
	}
	var recs []ProducerRecord
	if em, ok := t.sink.(Emitter); ok {
		recs = em.Emitted()
	}
	if len(offsets) == 0 && len(recs) == 0 && pt.changes == 0 && pt.seq == ws.committedSeq {
		ws.points = slices.Delete(ws.points, 0, k+1)
		return nil
	}
	recs = append(recs, ws.pending[:pt.changes]...)
	recs = append(recs,
		ProducerRecord{Topic: ws.cfg.ChangelogTopic, Partition: 0, Key: []byte(windowSeqKey), Value: strconv.AppendInt(nil, pt.seq, 10)},
		ProducerRecord{Topic: ws.cfg.ChangelogTopic, Partition: 0, Key: []byte(windowClockKey), Value: strconv.AppendInt(nil, pt.clock, 10)})
	if committed, err := t.commit(ctx, recs, offsets); err != nil || !committed {
		return err // not committed: the window state was dropped with the partitions
	}
	n := copy(ws.pending, ws.pending[pt.changes:])
	clear(ws.pending[n:])
	ws.pending = ws.pending[:n]
	ws.points = slices.Delete(ws.points, 0, k+1)
	for i := range ws.points {
		ws.points[i].changes -= pt.changes
	}
	ws.committedSeq = pt.seq
	if d := ws.late - ws.lateLogged; d > 0 {
		t.log.Warn("events too late for their windows were refused by the window stage", "events", d, "total", ws.late, "dead_lettered", t.p.Config.Sink.DLQTopic != "")
		ws.lateLogged = ws.late
	}
	return nil
}
