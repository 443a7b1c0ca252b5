package iceberg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	iceberg "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/valyala/fastjson"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/clickevent"
)

// Sink is one task of the Iceberg sink. It implements connector.Sink and
// connector.OffsetResetter. Like every sink it is driven by one task
// goroutine: its methods must not be called concurrently. It starts no
// goroutines of its own (iceberg-go's Parquet writers run inside Flush and
// are done when it returns).
//
// Several Sinks (tasks of one connector, or a zombie and its successor)
// may write one table: each commit checks, against the table's newest
// state, that the stored offsets of the partitions it covers are still
// the ones this instance last saw, and commits only then (optimistic
// concurrency on the branch head). A commit beaten by another task's
// commit on other partitions is retried; one whose partitions another
// writer moved is refused: its data files are deleted and the sink
// returns connector.ErrFenced from then on.
type Sink struct {
	cfg  *Config
	info connector.TaskInfo
	log  *slog.Logger
	now  func() time.Time

	cat    catalog.Catalog
	tables map[string]*tableState
	parts  map[connector.TopicPartition]*partState

	dec clickevent.Decoder
	ev  clickevent.Event
	jp  fastjson.Parser
	// rejected remembers the records Write refused since the last
	// Flush, so a retried batch reports them again.
	rejected map[recKey]error

	rows       int
	bytes      int64
	lastCommit time.Time
	// fenced is set once another writer took over a partition.
	fenced error

	// beforeCommit, when set (tests), runs between reading the table's
	// state and committing, to interleave another writer.
	beforeCommit func(tableName string)
}

type recKey struct {
	tp  connector.TopicPartition
	off int64
}

// partState is one open partition.
type partState struct {
	tp connector.TopicPartition
	// received is the offset after the last record taken (buffered,
	// skipped or rejected); durable is what the last commit covered.
	received, durable int64
	rollup            bool
}

// tableState is one table the task writes.
type tableState struct {
	name string
	kind tableKind
	tbl  *table.Table
	lay  *layout
	bufs map[connector.TopicPartition]*buffer
	// base holds the stored offsets of the open partitions as this
	// instance last saw them (absent: none stored).
	base Offsets
	// floor is the offset below which records of a partition are
	// already in the table and are skipped.
	floor map[connector.TopicPartition]int64
	rows  int
}

// New returns an Iceberg sink task for cfg. It checks cfg and starts
// nothing: the catalog is opened by the first Open.
func New(cfg *Config, info connector.TaskInfo) (*Sink, error) {
	if cfg == nil {
		return nil, errors.New("iceberg sink: nil config")
	}
	if cfg.tableOpts == nil {
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("iceberg sink: %w", err)
		}
	}
	log := info.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if info.Connector == "" {
		return nil, errors.New("iceberg sink: TaskInfo.Connector is empty: the offsets are stored under the connector's name")
	}
	return &Sink{
		cfg: cfg, info: info, log: log, now: time.Now,
		tables:   map[string]*tableState{},
		parts:    map[connector.TopicPartition]*partState{},
		rejected: map[recKey]error{},
	}, nil
}

// catalog opens the catalog on first use.
func (s *Sink) catalog(ctx context.Context) (catalog.Catalog, error) {
	if s.cat != nil {
		return s.cat, nil
	}
	cat, err := OpenCatalog(ctx, s.cfg.options())
	if err != nil {
		if IsAuthError(err) {
			// Wrong or missing credentials do not fix themselves.
			return nil, fmt.Errorf("iceberg sink: %w: check iceberg.catalog.credential (client_id:client_secret), iceberg.catalog.token, iceberg.catalog.oauth2-server-uri and iceberg.catalog.scope", err)
		}
		return nil, connector.Retryable(err, 0)
	}
	s.cat = cat
	return cat, nil
}

// table returns the state of table name, loading (or creating) it.
func (s *Sink) table(ctx context.Context, name string, kind tableKind) (*tableState, error) {
	if t := s.tables[name]; t != nil {
		return t, nil
	}
	cat, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	var create func() (*iceberg.Schema, iceberg.PartitionSpec, error)
	if s.cfg.AutoCreate {
		create = func() (*iceberg.Schema, iceberg.PartitionSpec, error) {
			sc, part := eventSchema(s.cfg.idColumns(name)), s.cfg.partitionBy(name)
			if kind == kindRollups {
				sc, part = rollupSchema(), "day(window_start)"
				if o := s.cfg.tableOpts[name]; o != nil && o.hasPartBy {
					part = o.PartitionBy
				}
			}
			spec, err := partitionSpec(part, sc)
			return sc, spec, err
		}
	}
	tbl, err := loadOrCreate(ctx, cat, name, create)
	if err != nil {
		if errors.Is(err, ErrNoTable) {
			return nil, err
		}
		return nil, connector.Retryable(err, 0)
	}
	lay, err := newLayout(tbl.Schema(), kind)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", name, err)
	}
	t := &tableState{name: name, kind: kind, tbl: tbl, lay: lay,
		bufs: map[connector.TopicPartition]*buffer{}, base: Offsets{}, floor: map[connector.TopicPartition]int64{}}
	stored, err := StoredOffsets(tbl, s.info.Connector)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", name, err)
	}
	for tp, p := range s.parts {
		if off, ok := stored[tp]; ok {
			t.base[tp] = off
			t.floor[tp] = off
		} else {
			t.floor[tp] = p.received
		}
	}
	s.tables[name] = t
	return t, nil
}

// relevant lists the tables a partition's records can go to, as far as
// known before the records arrive: none with dynamic routing.
func (s *Sink) relevant(p *partState) []string {
	if p.rollup {
		return []string{s.cfg.qualify(s.cfg.RollupTable)}
	}
	if s.cfg.Dynamic {
		return nil
	}
	out := make([]string, len(s.cfg.Tables))
	for i, t := range s.cfg.Tables {
		out[i] = s.cfg.qualify(t)
	}
	return out
}

func (s *Sink) kindOf(p *partState) tableKind {
	if p.rollup {
		return kindRollups
	}
	return kindEvents
}

// Open reads, from every table the partitions write to, the offsets this
// connector stored in its snapshots: Kafka's committed offset may lag a
// table, and Write skips, per table, the records that table already holds
// (its floor). It asks for no seek: the records between the assigned
// offset and a table's floor pass the framework's transforms again, so
// that the dead letters of invalid ones, committed with the Kafka offsets
// and not with the table, are written again if a SIGKILL lost them. Rows
// at or after the assigned offset are deleted (in one commit that also
// records the new offset) for a window stage's rollup partition and for
// partitions whose reset ResetOffsets recorded.
func (s *Sink) Open(ctx context.Context, assigned map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	if s.fenced != nil {
		return nil, s.fenced
	}
	if len(assigned) == 0 {
		return nil, nil
	}
	news := map[connector.TopicPartition]*partState{}
	for tp, off := range assigned {
		news[tp] = &partState{tp: tp, received: off, durable: off, rollup: s.cfg.isRollupTopic(tp.Topic, s.info.RollupTopic)}
	}
	// Load the tables the new partitions write to.
	want := map[string]tableKind{}
	for _, p := range news {
		for _, name := range s.relevant(p) {
			want[name] = s.kindOf(p)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, err := s.table(ctx, name, want[name]); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.tables)) {
		t := s.tables[name]
		if err := s.refresh(ctx, t); err != nil {
			return nil, err
		}
		stored, err := StoredOffsets(t.tbl, s.info.Connector)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", name, err)
		}
		resets, err := resetTargets(t.tbl, s.info.Connector)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", name, err)
		}
		truncate := Offsets{}
		for tp, p := range news {
			if p.rollup != (t.kind == kindRollups) {
				continue // the partition's records never go to this table
			}
			off, has := stored[tp]
			delete(t.base, tp)
			t.floor[tp] = assigned[tp]
			if has {
				t.base[tp] = off
			}
			if !has || off <= assigned[tp] {
				continue
			}
			if target, ok := resets[tp]; p.rollup || (ok && target == assigned[tp]) {
				truncate[tp] = assigned[tp]
				continue
			}
			t.floor[tp] = off
		}
		if len(truncate) > 0 {
			if err := s.truncate(ctx, t, truncate, resets); err != nil {
				return nil, err
			}
		}
	}
	for tp, p := range news {
		s.parts[tp] = p
		s.log.Debug("iceberg sink: partition opened", "partition", tp.String(), "assigned", assigned[tp])
	}
	if s.lastCommit.IsZero() {
		s.lastCommit = s.now()
	}
	// No seek past the rows the tables already hold (the floors): the
	// framework must see those records again, because the dead letters
	// of invalid ones among them are committed with the Kafka offsets,
	// not with the table, and a SIGKILL between the two lost them.
	// Write skips the stored rows.
	return nil, nil
}

// refresh reloads t's table from the catalog.
func (s *Sink) refresh(ctx context.Context, t *tableState) error {
	tbl, err := s.cat.LoadTable(ctx, t.tbl.Identifier())
	if err != nil {
		return connector.Retryable(fmt.Errorf("reload table %s: %w", t.name, err), 0)
	}
	t.tbl = tbl
	if tbl.Schema().ID != t.lay.schema.ID {
		lay, err := newLayout(tbl.Schema(), t.kind)
		if err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
		t.lay = lay
		for _, b := range t.bufs {
			b.relayout(lay)
		}
	}
	return nil
}

// truncate deletes the rows of t at or after the offsets in cut, for
// their partitions, and records those offsets, in one commit; it also
// drops the partitions' reset requests.
func (s *Sink) truncate(ctx context.Context, t *tableState, cut Offsets, resets Offsets) error {
	var filter iceberg.BooleanExpression
	for tp, off := range cut {
		f := iceberg.NewAnd(iceberg.EqualTo(iceberg.Reference(colTopic), tp.Topic),
			iceberg.NewAnd(iceberg.EqualTo(iceberg.Reference(colPartition), tp.Partition),
				iceberg.GreaterThanEqual(iceberg.Reference(colOffset), off)))
		if filter == nil {
			filter = f
		} else {
			filter = iceberg.NewOr(filter, f)
		}
	}
	stored, err := StoredOffsets(t.tbl, s.info.Connector)
	if err != nil {
		return err
	}
	tx := t.tbl.NewTransaction()
	if err := tx.AssertRefSnapshotID(""); err != nil {
		return err
	}
	if err := tx.Delete(ctx, filter, iceberg.Properties{OffsetsKey(s.info.Connector): encodeOffsets(merge(stored, cut))}); err != nil {
		return connector.Retryable(fmt.Errorf("table %s: delete rows past the resume offsets: %w", t.name, err), 0)
	}
	if err := s.dropResets(tx, resets, cut); err != nil {
		return err
	}
	tbl, err := tx.Commit(ctx)
	if err != nil {
		return connector.Retryable(fmt.Errorf("table %s: commit the deletion of rows past the resume offsets: %w", t.name, err), 0)
	}
	t.tbl = tbl
	now, err := StoredOffsets(tbl, s.info.Connector)
	if err != nil {
		return err
	}
	for tp, off := range cut {
		if v, ok := now[tp]; ok {
			t.base[tp] = v
		}
		t.floor[tp] = off
		s.log.Info("iceberg sink: deleted rows at and after the resume offset", "table", t.name, "partition", tp.String(), "offset", off)
	}
	return nil
}

// dropResets removes the partitions in done from the reset request.
func (s *Sink) dropResets(tx *table.Transaction, resets Offsets, done Offsets) error {
	left := Offsets{}
	hit := false
	for tp, off := range resets {
		if _, ok := done[tp]; ok {
			hit = true
			continue
		}
		left[tp] = off
	}
	if !hit {
		return nil
	}
	if len(left) == 0 {
		return tx.RemoveProperties([]string{resetKey(s.info.Connector)})
	}
	return tx.SetProperties(iceberg.Properties{resetKey(s.info.Connector): encodeOffsets(left)})
}

// Write decodes each record and buffers it for every table it goes to.
// A record that does not fit (not a click event or window result, a
// value that does not fit its column, a missing identifier column or
// route field) is rejected in the returned *connector.BatchError. When
// the buffered records reach iceberg.control.commit.records or .bytes,
// Write first commits them.
func (s *Sink) Write(ctx context.Context, batch []connector.Record) error {
	if s.fenced != nil {
		return s.fenced
	}
	if s.rows >= s.cfg.CommitRecords || s.bytes >= s.cfg.CommitBytes {
		if err := s.commitAll(ctx); err != nil {
			return err
		}
	}
	var bad []connector.RecordError
	for i := range batch {
		r := &batch[i]
		tp := r.TP()
		p := s.parts[tp]
		if p == nil {
			return fmt.Errorf("iceberg sink: record of %s, which is not open", tp)
		}
		if r.Offset < p.received {
			if e, ok := s.rejected[recKey{tp, r.Offset}]; ok {
				bad = append(bad, connector.RecordError{Index: i, Err: e})
			}
			continue
		}
		recErr, err := s.take(ctx, r, p)
		if err != nil {
			return err
		}
		if recErr != nil {
			s.rejected[recKey{tp, r.Offset}] = recErr
			bad = append(bad, connector.RecordError{Index: i, Err: recErr})
		}
		p.received = r.Offset + 1
	}
	if len(bad) > 0 {
		return &connector.BatchError{Records: bad}
	}
	return nil
}

// target is one table a record goes to, with its row.
type target struct {
	t   *tableState
	row row
}

// take buffers one record; recErr is the record's fault, err the sink's.
func (s *Sink) take(ctx context.Context, r *connector.Record, p *partState) (recErr, err error) {
	if p.rollup {
		rr, perr := parseRollup(r.Value)
		if perr != nil {
			return perr, nil
		}
		t, err := s.table(ctx, s.cfg.qualify(s.cfg.RollupTable), kindRollups)
		if err != nil {
			return nil, err
		}
		if r.Offset < t.floor[p.tp] {
			return nil, nil
		}
		s.buf(t, p.tp).appendRow(&row{rec: r, rollup: rr})
		s.added(t, r)
		return nil, nil
	}
	if err := s.dec.Decode(r.Value, &s.ev); err != nil {
		return err, nil
	}
	names, recErr := s.route(&s.ev)
	if recErr != nil {
		return recErr, nil
	}
	var targets []target
	for _, name := range names {
		t, err := s.table(ctx, name, kindEvents)
		if err != nil {
			if errors.Is(err, ErrNoTable) && s.cfg.Dynamic {
				return fmt.Errorf("route field %q names table %s: %w", s.cfg.RouteField, name, err), nil
			}
			return nil, err
		}
		if r.Offset < t.floor[p.tp] {
			continue
		}
		rw, recErr, err := s.prepare(ctx, t, r, &s.ev)
		if recErr != nil || err != nil {
			return recErr, err
		}
		targets = append(targets, target{t, rw})
	}
	for i := range targets {
		tg := &targets[i]
		s.buf(tg.t, p.tp).appendRow(&tg.row)
		s.added(tg.t, r)
	}
	return nil, nil
}

func (s *Sink) buf(t *tableState, tp connector.TopicPartition) *buffer {
	b := t.bufs[tp]
	if b == nil {
		b = newBuffer(t.lay)
		t.bufs[tp] = b
	}
	return b
}

func (s *Sink) added(t *tableState, r *connector.Record) {
	t.rows++
	s.rows++
	s.bytes += int64(len(r.Value))
}

// route returns the tables an event goes to.
func (s *Sink) route(ev *clickevent.Event) ([]string, error) {
	if !s.cfg.Dynamic && len(s.cfg.Tables) == 0 {
		return nil, errors.New("the record is not a window result and iceberg.tables is empty: list the event tables in iceberg.tables")
	}
	if s.cfg.RouteField == "" {
		out := make([]string, len(s.cfg.Tables))
		for i, t := range s.cfg.Tables {
			out[i] = s.cfg.qualify(t)
		}
		return out, nil
	}
	val, ok := s.fieldString(ev, s.cfg.RouteField)
	if !ok || val == "" {
		return nil, fmt.Errorf("route field %q is missing or not a string: it names the table (iceberg.tables.route-field)", s.cfg.RouteField)
	}
	if s.cfg.Dynamic {
		name := s.cfg.qualify(strings.ToLower(val))
		if err := checkTableName(name); err != nil {
			return nil, fmt.Errorf("route field %q value %q is not a table name: %v", s.cfg.RouteField, clip(val), err)
		}
		return []string{name}, nil
	}
	var out []string
	for _, t := range s.cfg.Tables {
		if o := s.cfg.tableOpts[t]; o != nil && o.RouteRegex != nil && o.RouteRegex.MatchString(val) {
			out = append(out, s.cfg.qualify(t))
		}
	}
	return out, nil
}

// fieldString returns a string field of the event, known or extra.
func (s *Sink) fieldString(ev *clickevent.Event, name string) (string, bool) {
	if i := clickevent.FieldIndex(name); i >= 0 {
		v, ok := ev.Get(i).(string)
		return v, ok
	}
	if ev.Extra == nil {
		return "", false
	}
	v, err := s.jp.ParseBytes(ev.Extra)
	if err != nil {
		return "", false
	}
	b := v.GetStringBytes(name)
	return string(b), b != nil
}

// prepare makes the row of ev for t, evolving t's schema when allowed.
func (s *Sink) prepare(ctx context.Context, t *tableState, r *connector.Record, ev *clickevent.Event) (rw row, recErr, err error) {
	for attempt := 0; ; attempt++ {
		rw = row{rec: r, ev: ev, extra: ev.Extra}
		var changes []change
		if ev.Extra != nil && (t.lay.evolved || s.cfg.Evolve) {
			vals, newCols, rest, perr := splitExtra(&s.jp, ev.Extra, t.lay, s.cfg.Evolve)
			if perr != nil {
				return rw, perr, nil
			}
			rw.evolved, rw.extra, changes = vals, rest, newCols
		}
		for i := range t.lay.cols {
			c := &t.lay.cols[i]
			var v any
			switch c.src {
			case srcKnown:
				if t.lay.native && (!c.required || ev.Present.Has(c.known)) {
					continue
				}
				v = ev.Get(c.known)
			case srcEvolved:
				v = rw.evolved[c.name]
			default:
				continue
			}
			if v == nil {
				if c.required {
					return rw, fmt.Errorf("field %q is missing, but it is a required (identifier) column of table %s", c.name, t.name), nil
				}
				continue
			}
			ok, widen := fits(c.typ, v)
			if ok {
				continue
			}
			if widen == nil || !s.cfg.Evolve {
				how := ""
				if widen != nil {
					how = fmt.Sprintf(" (widening it to %s needs iceberg.tables.evolve-schema-enabled=true)", widen)
				}
				return rw, fmt.Errorf("field %q: column of table %s is %s, got %s%s", c.name, t.name, c.typ, kindName(v), how), nil
			}
			changes = append(changes, change{name: c.name, typ: widen, widen: true})
		}
		if len(changes) == 0 {
			return rw, nil, nil
		}
		if attempt > 0 {
			return rw, nil, fmt.Errorf("table %s: schema change %v did not take", t.name, changes)
		}
		if err := s.evolve(ctx, t, changes); err != nil {
			return rw, nil, err
		}
	}
}

// evolve applies schema changes to t and re-lays its buffers.
func (s *Sink) evolve(ctx context.Context, t *tableState, changes []change) error {
	for attempt := 0; attempt < 5; attempt++ {
		if err := s.refresh(ctx, t); err != nil {
			return err
		}
		tx := t.tbl.NewTransaction()
		us := tx.UpdateSchema(true, false)
		n := 0
		for _, c := range changes {
			f, exists := t.tbl.Schema().FindFieldByName(c.name)
			switch {
			case c.widen && exists && f.Type != c.typ:
				us.UpdateColumn([]string{c.name}, table.ColumnUpdate{FieldType: iceberg.Optional[iceberg.Type]{Val: c.typ, Valid: true}})
				n++
			case !c.widen && !exists:
				us.AddColumn([]string{c.name}, c.typ, "added by connectd schema evolution", false, nil)
				n++
			}
		}
		if n == 0 {
			return nil
		}
		if err := us.Commit(); err != nil {
			return fmt.Errorf("table %s: schema change: %w", t.name, err)
		}
		if _, err := tx.Commit(ctx); err != nil {
			if isConflict(err) {
				continue
			}
			return connector.Retryable(fmt.Errorf("table %s: commit schema change: %w", t.name, err), 0)
		}
		s.log.Info("iceberg sink: table schema evolved", "table", t.name, "changes", fmt.Sprint(changes))
		return s.refresh(ctx, t)
	}
	return connector.Retryable(fmt.Errorf("table %s: schema change kept conflicting with other writers", t.name), 0)
}

// Flush commits the buffered rows when a commit trigger is due (the
// interval since the last commit, or the record and byte bounds), and
// returns the offsets every table covers.
func (s *Sink) Flush(ctx context.Context) (map[connector.TopicPartition]int64, error) {
	if s.fenced != nil {
		return nil, s.fenced
	}
	due := s.rows >= s.cfg.CommitRecords || s.bytes >= s.cfg.CommitBytes ||
		s.now().Sub(s.lastCommit) >= s.cfg.CommitInterval
	if s.rows > 0 && due {
		if err := s.commitAll(ctx); err != nil {
			return nil, err
		}
	}
	clear(s.rejected)
	out := map[connector.TopicPartition]int64{}
	pending := map[connector.TopicPartition]bool{}
	for _, t := range s.tables {
		for tp, b := range t.bufs {
			if b.rows > 0 {
				pending[tp] = true
			}
		}
	}
	for tp, p := range s.parts {
		if !pending[tp] {
			p.durable = p.received
		}
		out[tp] = p.durable
	}
	return out, nil
}

// commitAll commits every table holding buffered rows.
func (s *Sink) commitAll(ctx context.Context) error {
	for _, name := range slices.Sorted(maps.Keys(s.tables)) {
		t := s.tables[name]
		if t.rows == 0 {
			continue
		}
		if err := s.commit(ctx, t); err != nil {
			return err
		}
		s.rows -= t.rows
		t.rows = 0
	}
	s.rows, s.bytes = 0, 0
	s.lastCommit = s.now()
	for _, p := range s.parts {
		p.durable = p.received
	}
	return nil
}

// Close drops what the revoked partitions still buffer.
func (s *Sink) Close(ctx context.Context, revoked []connector.TopicPartition) error {
	for _, tp := range revoked {
		delete(s.parts, tp)
		for _, t := range s.tables {
			if b := t.bufs[tp]; b != nil {
				t.rows -= b.rows
				s.rows -= b.rows
				b.release()
				delete(t.bufs, tp)
			}
			delete(t.base, tp)
			delete(t.floor, tp)
		}
		for k := range s.rejected {
			if k.tp == tp {
				delete(s.rejected, k)
			}
		}
	}
	if s.rows == 0 {
		s.bytes = 0
	}
	return nil
}

// Stop drops every buffer and closes the catalog.
func (s *Sink) Stop(ctx context.Context) error {
	for _, t := range s.tables {
		for _, b := range t.bufs {
			b.release()
		}
		t.bufs = nil
	}
	s.tables = map[string]*tableState{}
	s.parts = map[connector.TopicPartition]*partState{}
	if s.cat == nil {
		return nil
	}
	err := closeCatalog(s.cat)
	s.cat = nil
	return err
}

// ResetOffsets records the targets as a reset request on every table the
// connector writes (static tables and the rollup table), for partitions
// whose stored offset is past the target. It deletes nothing: the next
// Open at exactly the target deletes the rows at and after it, in the
// commit that records the target as the stored offset; an Open at any
// other offset ignores the request. With dynamic routing it refuses,
// since it cannot know every table.
func (s *Sink) ResetOffsets(ctx context.Context, target map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	if s.cfg.Dynamic {
		return nil, errors.New("iceberg sink: offset reset with iceberg.tables.dynamic-enabled=true is not supported: the sink cannot find every table that holds the partitions' rows; delete them with a query engine, then reset")
	}
	names := map[string]bool{}
	for _, t := range s.cfg.Tables {
		names[s.cfg.qualify(t)] = true
	}
	rollup := false
	for tp := range target {
		if s.cfg.isRollupTopic(tp.Topic, s.info.RollupTopic) {
			rollup = true
		}
	}
	if rollup {
		names[s.cfg.qualify(s.cfg.RollupTable)] = true
	}
	cat, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		if err := s.requestReset(ctx, cat, name, target); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (s *Sink) requestReset(ctx context.Context, cat catalog.Catalog, name string, target Offsets) error {
	for attempt := 0; attempt < 5; attempt++ {
		tbl, err := cat.LoadTable(ctx, ident(name))
		if errors.Is(err, catalog.ErrNoSuchTable) {
			return nil
		}
		if err != nil {
			return connector.Retryable(fmt.Errorf("load table %s: %w", name, err), 0)
		}
		stored, err := StoredOffsets(tbl, s.info.Connector)
		if err != nil {
			return err
		}
		resets, err := resetTargets(tbl, s.info.Connector)
		if err != nil {
			return err
		}
		changed := false
		for tp, off := range target {
			if st, ok := stored[tp]; ok && st > off {
				resets[tp] = off
				changed = true
			} else if _, ok := resets[tp]; ok {
				delete(resets, tp)
				changed = true
			}
		}
		if !changed {
			return nil
		}
		tx := tbl.NewTransaction()
		if len(resets) == 0 {
			err = tx.RemoveProperties([]string{resetKey(s.info.Connector)})
		} else {
			err = tx.SetProperties(iceberg.Properties{resetKey(s.info.Connector): encodeOffsets(resets)})
		}
		if err != nil {
			return err
		}
		if err := tx.AssertRefSnapshotID(""); err != nil {
			return err
		}
		if _, err := tx.Commit(ctx); err != nil {
			if isConflict(err) {
				continue
			}
			return connector.Retryable(fmt.Errorf("table %s: record the offset reset: %w", name, err), 0)
		}
		s.log.Info("iceberg sink: offset reset recorded", "table", name, "targets", encodeOffsets(resets))
		return nil
	}
	return connector.Retryable(fmt.Errorf("table %s: recording the offset reset kept conflicting with other writers", name), 0)
}
