package clickhouse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/clickevent"
)

// Sink writes records to ClickHouse. It implements connector.Sink and
// connector.OffsetResetter; see the package doc for how it stays exactly
// once. Like every sink it is called from one goroutine at a time; its
// INSERTs run on goroutines of their own, at most maxFlights at once (see
// flight).
type Sink struct {
	cfg      Config
	info     connector.TaskInfo
	log      *slog.Logger
	now      func() time.Time
	tableMap map[string]string
	settings ch.Settings

	conn    driver.Conn
	tables  map[string]*table // ensured tables by name
	parts   map[connector.TopicPartition]*partition
	pending int // rows buffered across partitions
	dec     clickevent.Decoder
	ev      clickevent.Event
	res     result
	// spare are sent events batches kept for reuse, at most one per
	// growing batch, or per open partition when that is more (maxSpares).
	spare []*batch
	// flights are the INSERTs in progress, each of another partition;
	// scratches are the idle flights' scratch slices, for reuse.
	flights   []*flight
	scratches []*scratch
}

// maxFlights is how many flights run at once, each for another
// partition: while ClickHouse stores one batch, the next is encoded and
// sent.
const maxFlights = 2

// flight is a goroutine INSERTing the batches queued on one partition
// when it started (p.sent[:len(batches)]), one after the other, while
// the sink goes on taking records. The batches stay queued, unchanged,
// until the flight is landed, so their rows count in pending and a batch
// whose INSERT failed is sent again with the same rows and token. Only
// land ends a flight, and every path that forgets a partition (drop) or
// the connection (Stop) lands its flights first.
type flight struct {
	p       *partition
	batches []*batch
	sc      *scratch // this flight's own
	cancel  context.CancelFunc
	halt    atomic.Bool   // set by drop: start no further INSERT
	done    chan struct{} // closed when the goroutine has set acked and err
	acked   int           // batches stored, a prefix of batches
	err     error         // why batches[acked] was not
}

// finished reports whether the INSERT has returned.
func (f *flight) finished() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// table is a table the sink checked or created.
type table struct {
	name   string
	kind   string
	insert string // INSERT INTO … (columns) statement
}

// maxOpenDays is how many batches, each of another event day, a
// partition grows at once. A record of yet another day first cuts the
// one whose first row is the oldest, so late events spread over many
// days cannot hold unbounded buffers.
const maxOpenDays = 4

// partition is the state of one open partition.
type partition struct {
	tp    connector.TopicPartition
	tbl   *table
	epoch uint64
	// seen is the offset after the last record handed to Write: Write
	// skips records below it (a retried batch), and Flush never reports
	// past it.
	seen int64
	// stored are the offsets at and after the resume offset that the
	// table held at Open: Write skips exactly those.
	stored offsetSet
	// sent are batches cut and waiting for their INSERT, in cut order;
	// open are the batches still growing, each of another event day (a
	// results partition has one at most), at most maxOpenDays.
	sent []*batch
	open []*batch
	// lastCut is the number of rows of the last batch cut, the room a
	// new batch is given.
	lastCut int
	// failing is why the partition's last INSERT failed, nil once one
	// succeeded: Flush reports it until then, so that the task retries
	// (and says so in its status) for as long as ClickHouse refuses.
	failing error
}

// unacked returns the lowest first offset over p's batches ClickHouse
// has not acknowledged (queued, in flight or still growing), and false
// when there are none.
func (p *partition) unacked() (int64, bool) {
	low, found := int64(0), false
	for _, bs := range [][]*batch{p.sent, p.open} {
		for _, b := range bs {
			if !found || b.first < low {
				low, found = b.first, true
			}
		}
	}
	return low, found
}

// offsetSet is a sorted set of offsets held as ranges, read in increasing
// order: has moves a cursor forward and frees the ranges once passed.
type offsetSet struct {
	ranges []offsetRange
	i      int // the first range not yet passed
}

// offsetRange is the offsets lo to hi, both included.
type offsetRange struct{ lo, hi int64 }

// has reports whether off is in the set. Calls must come with offsets
// that never decrease: the ranges below off are dropped.
func (o *offsetSet) has(off int64) bool {
	for o.i < len(o.ranges) && o.ranges[o.i].hi < off {
		o.i++
	}
	if o.i == len(o.ranges) {
		o.ranges, o.i = nil, 0
		return false
	}
	return o.ranges[o.i].lo <= off
}

// New returns a sink for cfg. It checks cfg and connects nothing: the
// connection is made by the first Open or ResetOffsets.
func New(cfg *Config, info connector.TaskInfo) (*Sink, error) {
	if cfg == nil {
		return nil, errors.New("clickhouse sink: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("clickhouse sink: %w", err)
	}
	tm, _ := parseTableMap(cfg.Topic2TableMap)
	settings, _ := parseSettings(cfg.ClickHouseSettings)
	log := info.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if info.Connector == "" {
		info.Connector = "connectd"
	}
	return &Sink{
		cfg:      *cfg,
		info:     info,
		log:      log,
		now:      time.Now,
		tableMap: tm,
		settings: ch.Settings(settings),
		tables:   map[string]*table{},
		parts:    map[connector.TopicPartition]*partition{},
	}, nil
}

// addr is host:port of the server.
func (s *Sink) addr() string {
	return net.JoinHostPort(s.cfg.Hostname, strconv.Itoa(s.cfg.port()))
}

// connect opens the connection pool once. clickhouse-go dials lazily, so
// a server that is down shows at the first query.
func (s *Sink) connect() error {
	if s.conn != nil {
		return nil
	}
	opts := &ch.Options{
		Addr:         []string{s.addr()},
		Auth:         ch.Auth{Database: s.cfg.Database, Username: s.cfg.Username, Password: s.cfg.Password},
		Settings:     s.settings,
		DialTimeout:  10 * time.Second,
		MaxOpenConns: 4,
		MaxIdleConns: 2,
		ClientInfo:   ch.ClientInfo{Products: []struct{ Name, Version string }{{Name: "connectd", Version: "0.1.0"}}},
	}
	if s.cfg.Protocol == "http" {
		opts.Protocol = ch.HTTP
	}
	if s.cfg.SSL {
		opts.TLS = &tls.Config{ServerName: s.cfg.Hostname}
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return fmt.Errorf("clickhouse sink: connect to %s: %w", s.addr(), err)
	}
	s.conn = conn
	return nil
}

// queryCtx bounds one statement by insert.timeout.ms.
func (s *Sink) queryCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.InsertTimeout)
}

// exec runs one statement, classifying its error.
func (s *Sink) exec(ctx context.Context, what, sql string, args ...any) error {
	qctx, cancel := s.queryCtx(ctx)
	defer cancel()
	if err := s.conn.Exec(qctx, sql, args...); err != nil {
		return s.classify(ctx, fmt.Errorf("clickhouse %s: %s: %w", s.addr(), what, err))
	}
	return nil
}

// tableFor returns the table name and kind of topic.
func (s *Sink) tableFor(topic string) (string, string) {
	kind := kindEvents
	if s.cfg.isRollupTopic(topic, s.info.RollupTopic) {
		kind = kindResults
	}
	if t, ok := s.tableMap[topic]; ok {
		return t, kind
	}
	if kind == kindResults && s.cfg.RollupTable != "" {
		return s.cfg.RollupTable, kind
	}
	if kind == kindEvents && s.cfg.Table != "" {
		return s.cfg.Table, kind
	}
	return SanitizeTable(topic), kind
}

// ensureDatabase creates the database and the resets table.
func (s *Sink) ensureDatabase(ctx context.Context) error {
	if err := s.connect(); err != nil {
		return err
	}
	if s.cfg.AutoCreateTables {
		if err := s.exec(ctx, "create database", "CREATE DATABASE IF NOT EXISTS "+quote(s.cfg.Database)); err != nil {
			return err
		}
	}
	return s.exec(ctx, "create "+resetsTable, createResetsSQL(s.cfg.Database))
}

// ensureTable checks (or creates) the table records of topic go to.
func (s *Sink) ensureTable(ctx context.Context, topic string) (*table, error) {
	name, kind := s.tableFor(topic)
	if t, ok := s.tables[name]; ok {
		if t.kind != kind {
			return nil, fmt.Errorf("clickhouse sink: table %s gets both click events and window results (topic %s); map them to different tables with topic2TableMap", name, topic)
		}
		return t, nil
	}
	want := eventColumns()
	if kind == kindResults {
		want = resultColumns()
	}
	have, err := s.columnsOf(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(have) == 0 {
		if !s.cfg.AutoCreateTables {
			return nil, fmt.Errorf("clickhouse sink: table %s.%s (for topic %s) does not exist and auto.create.tables is false: create it (the DDL is in sinks/clickhouse/README.md) or set auto.create.tables=true", s.cfg.Database, name, topic)
		}
		ddl := []string{createEventsSQL(s.cfg.Database, name, s.cfg.DedupWindow)}
		if kind == kindResults {
			ddl = []string{createResultsSQL(s.cfg.Database, name, s.cfg.DedupWindow)}
		} else if s.cfg.PageViewsRollup {
			ddl = append(ddl, pageViewsSQL(s.cfg.Database, name, s.cfg.DedupWindow)...)
		}
		for _, q := range ddl {
			if err := s.exec(ctx, "create table "+name, q); err != nil {
				return nil, err
			}
		}
		if have, err = s.columnsOf(ctx, name); err != nil {
			return nil, err
		}
	}
	if err := checkColumns(s.cfg.Database, name, have, want); err != nil {
		return nil, fmt.Errorf("clickhouse sink: %w", err)
	}
	names := make([]string, len(want))
	for i, c := range want {
		names[i] = quote(c.name)
	}
	t := &table{name: name, kind: kind,
		insert: fmt.Sprintf("INSERT INTO %s.%s (%s)", quote(s.cfg.Database), quote(name), strings.Join(names, ", "))}
	s.tables[name] = t
	return t, nil
}

// columnsOf returns name → type of a table's columns; empty when the table
// does not exist.
func (s *Sink) columnsOf(ctx context.Context, name string) (map[string]string, error) {
	qctx, cancel := s.queryCtx(ctx)
	defer cancel()
	rows, err := s.conn.Query(qctx, "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", s.cfg.Database, name)
	if err != nil {
		return nil, s.classify(ctx, fmt.Errorf("clickhouse %s: columns of %s: %w", s.addr(), name, err))
	}
	defer rows.Close()
	have := map[string]string{}
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, s.classify(ctx, fmt.Errorf("clickhouse %s: columns of %s: %w", s.addr(), name, err))
		}
		have[n] = t
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(ctx, fmt.Errorf("clickhouse %s: columns of %s: %w", s.addr(), name, err))
	}
	return have, nil
}

// resetState is the last reset of one partition.
type resetState struct {
	epoch   uint64
	applied bool
}

// resets reads the connector's resets from resetsTable.
func (s *Sink) resets(ctx context.Context) (map[connector.TopicPartition]resetState, error) {
	qctx, cancel := s.queryCtx(ctx)
	defer cancel()
	rows, err := s.conn.Query(qctx, fmt.Sprintf("SELECT topic, partition, max(epoch), argMax(applied, (epoch, applied)) FROM %s.%s WHERE connector = ? GROUP BY topic, partition",
		quote(s.cfg.Database), quote(resetsTable)), s.info.Connector)
	if err != nil {
		return nil, s.classify(ctx, fmt.Errorf("clickhouse %s: read %s: %w", s.addr(), resetsTable, err))
	}
	defer rows.Close()
	out := map[connector.TopicPartition]resetState{}
	for rows.Next() {
		var tp connector.TopicPartition
		var rs resetState
		var applied uint8
		if err := rows.Scan(&tp.Topic, &tp.Partition, &rs.epoch, &applied); err != nil {
			return nil, s.classify(ctx, fmt.Errorf("clickhouse %s: read %s: %w", s.addr(), resetsTable, err))
		}
		rs.applied = applied == 1
		out[tp] = rs
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(ctx, fmt.Errorf("clickhouse %s: read %s: %w", s.addr(), resetsTable, err))
	}
	return out, nil
}

// Open makes the store agree with the offsets the task resumes from.
// For each assigned partition it first applies a reset ResetOffsets
// recorded (deleting the partition's rows at and after the resume offset,
// then starting a new token epoch), and then reads which offsets at and
// after the resume offset the table holds: batches of several event days
// are sent in the order they were cut, not in offset order, so those rows
// need not be a prefix of what follows the resume offset. Write skips
// exactly those offsets and takes every other record again. Open asks for
// no seek: the records pass the framework's transforms again, so that
// dead letters lost with a killed worker are written again (the framework
// commits them with the offsets).
func (s *Sink) Open(ctx context.Context, assigned map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	if len(assigned) == 0 {
		return nil, nil
	}
	if err := s.ensureDatabase(ctx); err != nil {
		return nil, err
	}
	resets, err := s.resets(ctx)
	if err != nil {
		return nil, err
	}
	opened := map[connector.TopicPartition]*partition{}
	for tp, off := range assigned {
		tbl, err := s.ensureTable(ctx, tp.Topic)
		if err != nil {
			return nil, err
		}
		rs := resets[tp]
		if rs.epoch > 0 && !rs.applied {
			if err := s.applyReset(ctx, tbl, tp, off, rs.epoch); err != nil {
				return nil, err
			}
		}
		stored, err := s.storedFrom(ctx, tbl, tp, off)
		if err != nil {
			return nil, err
		}
		if n := len(stored.ranges); n > 0 {
			// Consumption still starts at off: the framework must see
			// the records again, since the dead letters of invalid ones
			// (committed with the offsets, not with the rows) may not
			// have been written. Write skips the stored rows.
			s.log.Info("rows already stored: skipping them", "partition", tp.String(), "table", tbl.name, "assigned", off,
				"lowest", stored.ranges[0].lo, "highest", stored.ranges[n-1].hi, "ranges", n)
		}
		opened[tp] = &partition{tp: tp, tbl: tbl, epoch: rs.epoch, seen: off, stored: stored}
	}
	for tp, p := range opened {
		s.drop(ctx, tp)
		s.parts[tp] = p
	}
	return nil, nil
}

// storedFrom returns the offsets of a partition's rows at and after off,
// as ranges of consecutive offsets computed by the server (gaps and
// islands: consecutive distinct offsets share offset − dense_rank), so
// memory goes with the number of ranges, not of rows.
func (s *Sink) storedFrom(ctx context.Context, tbl *table, tp connector.TopicPartition, off int64) (offsetSet, error) {
	qctx, cancel := s.queryCtx(ctx)
	defer cancel()
	fail := func(err error) (offsetSet, error) {
		return offsetSet{}, s.classify(ctx, fmt.Errorf("clickhouse %s: find stored rows of %s in %s: %w", s.addr(), tp, tbl.name, err))
	}
	rows, err := s.conn.Query(qctx, fmt.Sprintf(`SELECT min(_offset) AS lo, max(_offset) AS hi FROM (
	SELECT _offset, _offset - dense_rank() OVER (ORDER BY _offset) AS island
	FROM %s.%s WHERE _topic = ? AND _partition = ? AND _offset >= ?
) GROUP BY island ORDER BY lo`, quote(s.cfg.Database), quote(tbl.name)), tp.Topic, tp.Partition, off)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	var set offsetSet
	for rows.Next() {
		var r offsetRange
		if err := rows.Scan(&r.lo, &r.hi); err != nil {
			return fail(err)
		}
		set.ranges = append(set.ranges, r)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return set, nil
}

// applyReset deletes a partition's rows at and after off (the replay
// rewrites them) and marks the reset applied. Rows inserted after it use
// the reset's epoch in their tokens, so the server does not take them for
// repeats of the deleted ones. Applying twice is harmless.
func (s *Sink) applyReset(ctx context.Context, tbl *table, tp connector.TopicPartition, off int64, epoch uint64) error {
	s.log.Info("applying offset reset: deleting rows the replay rewrites", "partition", tp.String(), "table", tbl.name, "from_offset", off, "epoch", epoch)
	del := fmt.Sprintf("ALTER TABLE %s.%s DELETE WHERE _topic = ? AND _partition = ? AND _offset >= ? SETTINGS mutations_sync = 2",
		quote(s.cfg.Database), quote(tbl.name))
	if err := s.exec(ctx, "delete rows of "+tp.String()+" for a reset", del, tp.Topic, tp.Partition, off); err != nil {
		return err
	}
	if tbl.kind == kindEvents {
		if err := s.recomputePageViews(ctx, tbl, tp, off, epoch); err != nil {
			return err
		}
	}
	ins := fmt.Sprintf("INSERT INTO %s.%s (connector, topic, partition, epoch, target, applied) VALUES (?, ?, ?, ?, ?, 1)",
		quote(s.cfg.Database), quote(resetsTable))
	return s.exec(ctx, "mark reset of "+tp.String()+" applied", ins, s.info.Connector, tp.Topic, tp.Partition, epoch, off)
}

// recomputePageViews takes the states of a partition's rows at and after
// off out of the events table's page-views rollup, if it has one, so
// that the replay's rows are not counted twice there: the rollup rows
// holding any such row (those whose last offset is off or more) are
// replaced by rows recomputed from the partition's remaining raw rows in
// their ranges. The recomputed rows go in first, under a deduplication
// token of the reset, and the old ones are deleted after, so a crash in
// between repeats neither. A rollup made before rollup rows carried
// offsets cannot be corrected: that is logged, and the reset goes on.
func (s *Sink) recomputePageViews(ctx context.Context, tbl *table, tp connector.TopicPartition, off int64, epoch uint64) error {
	rollup := pageViewsTable(tbl.name)
	cols, err := s.columnsOf(ctx, rollup)
	if err != nil || len(cols) == 0 {
		return err
	}
	if _, ok := cols["_last_offset"]; !ok {
		s.log.Warn("the page-views rollup has no offset columns (made by an older connectd): the replayed rows are counted twice there; drop it and its _mv view to have them made anew",
			"table", rollup, "partition", tp.String(), "from_offset", off)
		return nil
	}
	if err := s.insertRecomputed(ctx, tbl, tp, off, epoch); err != nil {
		return err
	}
	del := fmt.Sprintf("ALTER TABLE %s.%s DELETE WHERE _topic = ? AND _partition = ? AND _last_offset >= ? SETTINGS mutations_sync = 2",
		quote(s.cfg.Database), quote(rollup))
	return s.exec(ctx, "delete "+rollup+" rows of "+tp.String()+" for a reset", del, tp.Topic, tp.Partition, off)
}

// insertRecomputed is recomputePageViews' first step: the rollup rows
// that replace those holding rows at and after off, recomputed from the
// raw rows below off, under the reset's deduplication token.
func (s *Sink) insertRecomputed(ctx context.Context, tbl *table, tp connector.TopicPartition, off int64, epoch uint64) error {
	rollup := pageViewsTable(tbl.name)
	db := quote(s.cfg.Database)
	where := fmt.Sprintf("INNER JOIN (\n  SELECT minute, page_url, min(_first_offset) AS lo FROM %s.%s\n"+
		"  WHERE _topic = ? AND _partition = ? AND _last_offset >= ? GROUP BY minute, page_url\n"+
		") AS g ON toStartOfMinute(e.timestamp) = g.minute AND e.page_url = g.page_url\n"+
		"WHERE e._topic = ? AND e._partition = ? AND e._offset >= g.lo AND e._offset < ?\n", db, quote(rollup))
	ins := fmt.Sprintf("INSERT INTO %s.%s (minute, page_url, events, page_views, users, revenue, _topic, _partition, _first_offset, _last_offset)\n%s",
		db, quote(rollup), pageViewsSelect(s.cfg.Database, tbl.name, where))
	qctx, cancel := s.queryCtx(ctx)
	defer cancel()
	tok := fmt.Sprintf("%s/pageviews-recompute", Token(s.info.Connector, tp, epoch, off, off))
	qctx = ch.Context(qctx, ch.WithSettings(ch.Settings{"insert_deduplication_token": tok}))
	if err := s.conn.Exec(qctx, ins, tp.Topic, tp.Partition, off, tp.Topic, tp.Partition, off); err != nil {
		return s.classify(ctx, fmt.Errorf("clickhouse %s: recompute %s rows of %s for a reset: %w", s.addr(), rollup, tp, err))
	}
	return nil
}

// ResetOffsets records a backfill in resetsTable: for each target
// partition a new epoch, not yet applied. It deletes nothing (the offsets
// may yet fail to move); the next Open of the partition deletes the rows
// the replay rewrites. No target needs moving back: rows are deleted by
// offset, so a reset may fall inside a batch.
func (s *Sink) ResetOffsets(ctx context.Context, target map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	if len(target) == 0 {
		return nil, nil
	}
	if err := s.ensureDatabase(ctx); err != nil {
		return nil, err
	}
	resets, err := s.resets(ctx)
	if err != nil {
		return nil, err
	}
	ins := fmt.Sprintf("INSERT INTO %s.%s (connector, topic, partition, epoch, target, applied) VALUES (?, ?, ?, ?, ?, 0)",
		quote(s.cfg.Database), quote(resetsTable))
	for tp, off := range target {
		epoch := resets[tp].epoch + 1
		if err := s.exec(ctx, "record reset of "+tp.String(), ins, s.info.Connector, tp.Topic, tp.Partition, epoch, off); err != nil {
			return nil, err
		}
		s.log.Info("offset reset recorded; the next Open deletes the rows the replay rewrites", "partition", tp.String(), "target", off, "epoch", epoch)
	}
	return nil, nil
}

// Write decodes records into batches, one per partition and event day,
// each cut when it holds batch.size rows (see add). Cut batches are
// queued and sent in the background, one INSERT at a time per partition
// (see pump); a failed INSERT is kept and sent again. Write skips the
// records Open found stored. It returns a RetryableError, before taking
// any record, only when the buffer (in-flight and queued batches
// included) holds buffer.max.rows rows and ClickHouse does not take them.
func (s *Sink) Write(ctx context.Context, records []connector.Record) error {
	if s.pending >= s.cfg.BufferMaxRows {
		// Under pressure, partial batches are cut too: safe, since a
		// resumed task skips exactly the rows stored.
		for _, p := range s.parts {
			s.cutAll(p)
		}
		if err := s.drain(ctx); err != nil {
			return fmt.Errorf("%w (%d rows buffered, buffer.max.rows=%d: waiting for ClickHouse)", err, s.pending, s.cfg.BufferMaxRows)
		}
	}
	var bad []connector.RecordError
	for i := range records {
		rec := &records[i]
		p := s.parts[rec.TP()]
		if p == nil || rec.Offset < p.seen {
			continue // not open (revoked), or already seen (a retried batch)
		}
		p.seen = rec.Offset + 1
		if p.stored.has(rec.Offset) {
			continue // stored before a restart
		}
		// Any other record is taken again, and one at fault is
		// rejected again (for the dead-letter topic).
		if err := s.add(p, rec); err != nil {
			bad = append(bad, connector.RecordError{Index: i, Err: err})
		}
	}
	if err := s.pump(ctx); err != nil {
		if _, retry := connector.IsRetryable(err); !retry {
			return err
		}
		// Kept, and already being sent again.
		s.log.Debug("insert failed; will retry", "err", err)
	}
	if len(bad) > 0 {
		return &connector.BatchError{Records: bad}
	}
	return nil
}

// checkTime rejects an event the events table cannot hold by its timestamp.
func (s *Sink) checkTime(p *partition, ev *clickevent.Event) error {
	if !ev.Present.Has(clickevent.FieldTimestamp) {
		return fmt.Errorf("click event does not fit table %s: column timestamp: missing; the table is partitioned by it", p.tbl.name)
	}
	if ms := ev.Time.UnixMilli(); ms < minDateTime64Millis || ms > maxDateTime64Millis {
		return fmt.Errorf("click event does not fit table %s: column timestamp: %s is outside DateTime64(3)'s range 1900-01-01 to 2299-12-31",
			p.tbl.name, ev.Time.Format(time.RFC3339Nano))
	}
	return nil
}

// add appends rec to the open batch of its partition and event day
// (results have no day: one batch), cut after it when it holds
// batch.size rows. A record of a day with no open batch starts one,
// first cutting the open batch whose first row is the oldest when the
// partition already grows maxOpenDays. So every batch holds rows of one
// day only (one INSERT, one part), and a batch holds every accepted
// record of its day between its first and last offsets that is in no
// other batch. add returns the record's fault, if any, changing nothing.
func (s *Sink) add(p *partition, rec *connector.Record) error {
	var day int64
	if p.tbl.kind == kindResults {
		if err := decodeResult(rec.Value, &s.res); err != nil {
			return fmt.Errorf("window result does not fit table %s: %w", p.tbl.name, err)
		}
	} else {
		if err := s.dec.Decode(rec.Value, &s.ev); err != nil {
			return fmt.Errorf("click event does not fit table %s: %w", p.tbl.name, err)
		}
		if err := s.checkTime(p, &s.ev); err != nil {
			return err
		}
		ms := s.ev.Time.UnixMilli()
		day = ms / 86400000
		if ms < 0 && ms%86400000 != 0 {
			day--
		}
	}
	var b *batch
	for _, o := range p.open {
		if o.day == day {
			b = o
			break
		}
	}
	if b == nil {
		if len(p.open) >= maxOpenDays {
			s.cut(p, p.open[0]) // opened first: the oldest first row
		}
		if p.tbl.kind == kindResults {
			b = newBatch(kindResults, 0, rec.Offset, 0, s.now())
		} else {
			b = s.newEventsBatch(rec.Offset, day, p.lastCut)
		}
		p.open = append(p.open, b)
	}
	if p.tbl.kind == kindResults {
		b.addResult(rec, &s.res)
	} else {
		b.addEvent(rec, &s.ev)
	}
	s.pending++
	if b.n >= s.cfg.BatchSize {
		s.cut(p, b)
	}
	return nil
}

// newEventsBatch returns an empty events batch starting at off: a spare
// one when there is one (its columns already grown), else a new one
// with room for rows rows (the size of the partition's last batch: a busy
// partition's columns are allocated once instead of grown by copying),
// between 4096 and batch.size.
func (s *Sink) newEventsBatch(off, day int64, rows int) *batch {
	if n := len(s.spare); n > 0 {
		b := s.spare[n-1]
		s.spare[n-1] = nil
		s.spare = s.spare[:n-1]
		b.start(off, day, s.now())
		return b
	}
	return newBatch(kindEvents, min(s.cfg.BatchSize, max(rows, 4096)), off, day, s.now())
}

// maxSpares is how many sent batches are kept for reuse: one per open
// batch, and at least one per open partition, so the memory they hold
// stays below what the open batches would hold when full.
func (s *Sink) maxSpares() int {
	n := 0
	for _, p := range s.parts {
		n += len(p.open)
	}
	return max(n, len(s.parts))
}

// recycle keeps a sent events batch for reuse while there are fewer than
// maxSpares.
func (s *Sink) recycle(b *batch) {
	if b.ev == nil || len(s.spare) >= s.maxSpares() {
		return
	}
	b.reset()
	s.spare = append(s.spare, b)
}

// cut closes p's open batch b, queueing it for its INSERT.
func (s *Sink) cut(p *partition, b *batch) {
	p.open = slices.DeleteFunc(p.open, func(o *batch) bool { return o == b })
	if b.n > 0 {
		p.sent = append(p.sent, b)
		p.lastCut = b.n
	}
}

// cutAll closes every open batch of p, the oldest first.
func (s *Sink) cutAll(p *partition) {
	for len(p.open) > 0 {
		s.cut(p, p.open[0])
	}
}

// launch starts flights for partitions with queued batches, the oldest
// batch first, while fewer than maxFlights run. A partition has one
// flight at most, which sends its queue in order and stops at the first
// failure, so a partition's batches reach the table in order.
func (s *Sink) launch() {
	for len(s.flights) < maxFlights {
		var next *partition
		for _, p := range s.parts {
			if len(p.sent) > 0 && s.flying(p) == nil && (next == nil || p.sent[0].started.Before(next.sent[0].started)) {
				next = p
			}
		}
		if next == nil {
			return
		}
		sc := &scratch{}
		if n := len(s.scratches); n > 0 {
			sc = s.scratches[n-1]
			s.scratches = s.scratches[:n-1]
		}
		// Not the caller's ctx: the INSERT outlives the call that
		// started it. It is bounded by insert.timeout.ms, and cancelled
		// by a land whose ctx ends.
		ctx, cancel := context.WithCancel(context.Background())
		f := &flight{p: next, batches: slices.Clone(next.sent), sc: sc, cancel: cancel, done: make(chan struct{})}
		s.flights = append(s.flights, f)
		go func() {
			defer close(f.done)
			for _, b := range f.batches {
				if f.halt.Load() {
					return
				}
				if f.err = s.send(ctx, f.p, b, f.sc); f.err != nil {
					return
				}
				f.acked++
			}
		}()
	}
}

// flying returns the flight of p, nil when none.
func (s *Sink) flying(p *partition) *flight {
	for _, f := range s.flights {
		if f.p == p {
			return f
		}
	}
	return nil
}

// land waits for flight f and books its outcome: acknowledged batches
// leave their partition's queue (and their rows pending); a failed one
// stays first in the queue, to be sent again with the same rows and
// token, and so do the ones after it. If ctx ends first, the INSERT is
// cancelled and still waited for (clickhouse-go returns promptly), so no
// INSERT outlives a call that gave up on it.
func (s *Sink) land(ctx context.Context, f *flight) error {
	select {
	case <-f.done:
	case <-ctx.Done():
		f.cancel()
		<-f.done
	}
	f.cancel()
	s.flights = slices.DeleteFunc(s.flights, func(g *flight) bool { return g == f })
	s.scratches = append(s.scratches, f.sc)
	p := f.p
	for _, b := range f.batches[:f.acked] {
		p.sent[0] = nil
		p.sent = p.sent[1:]
		s.pending -= b.n
		s.recycle(b)
	}
	if f.err != nil {
		p.failing = f.err
	} else if f.acked > 0 {
		p.failing = nil
	}
	return f.err
}

// await lands every flight and returns the first failure.
func (s *Sink) await(ctx context.Context) error {
	var first error
	for len(s.flights) > 0 {
		if err := s.land(ctx, s.flights[0]); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// pump lands the finished flights and starts the next ones, never
// waiting. It returns a failure that is not retryable, without starting
// anything; else a retryable one, whose batch is already being sent
// again.
func (s *Sink) pump(ctx context.Context) error {
	var retry, fatal error
	for _, f := range slices.Clone(s.flights) {
		if !f.finished() {
			continue
		}
		if err := s.land(ctx, f); err != nil {
			if _, ok := connector.IsRetryable(err); ok {
				retry = err
			} else {
				fatal = err
			}
		}
	}
	if fatal != nil {
		return fatal
	}
	s.launch()
	return retry
}

// drain sends every queued batch and waits for each. It stops at the
// first failure (with no INSERT left running), which leaves that batch
// first in its partition's queue.
func (s *Sink) drain(ctx context.Context) error {
	for {
		if err := s.await(ctx); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		s.launch()
		if len(s.flights) == 0 {
			return nil
		}
	}
}

// Token returns the insert_deduplication_token of the batch of
// partition tp holding offsets first to last, written after the
// partition's epoch-th offset reset (0: none).
func Token(connectorName string, tp connector.TopicPartition, epoch uint64, first, last int64) string {
	tok := fmt.Sprintf("%s/%s/%d/%d-%d", connectorName, tp.Topic, tp.Partition, first, last)
	if epoch > 0 {
		tok += "/reset-" + strconv.FormatUint(epoch, 10)
	}
	return tok
}

// send INSERTs one batch with its deduplication token, building the
// columns in sc.
func (s *Sink) send(ctx context.Context, p *partition, b *batch, sc *scratch) error {
	tok := Token(s.info.Connector, p.tp, p.epoch, b.first, b.last)
	qctx, cancel := s.queryCtx(ctx)
	defer cancel()
	qctx = ch.Context(qctx, ch.WithSettings(ch.Settings{
		"insert_deduplication_token": tok,
		// A repeated batch must not reach the materialized views either
		// (the page-views rollup would count it twice).
		"deduplicate_blocks_in_dependent_materialized_views": 1,
	}))
	fail := func(err error) error {
		return s.classify(ctx, fmt.Errorf("clickhouse %s: insert into %s of %s offsets %d-%d (%d rows): %w",
			s.addr(), p.tbl.name, p.tp, b.first, b.last, b.n, err))
	}
	ib, err := s.conn.PrepareBatch(qctx, p.tbl.insert)
	if err != nil {
		return fail(err)
	}
	if err := b.appendTo(ib, p.tp.Topic, p.tp.Partition, sc); err != nil {
		_ = ib.Abort()
		return fail(err)
	}
	if err := ib.Send(); err != nil {
		return fail(err)
	}
	return nil
}

// Flush cuts every open batch older than flush.interval.ms and reports
// for each open partition the lowest first offset over its batches
// ClickHouse has not acknowledged (queued, in flight or open), or the
// offset after the last record handed to Write when there are none. With
// flush.interval.ms 0 it sends every batch and waits for each, so all
// that Write took is reported; otherwise it waits for no INSERT: it books
// one that finished and starts the next, and a later Flush reports what
// they stored. While the last INSERT of a partition failed, Flush returns
// that failure (retryable) until one succeeds, reporting nothing.
func (s *Sink) Flush(ctx context.Context) (map[connector.TopicPartition]int64, error) {
	now := s.now()
	for _, p := range s.parts {
		for _, b := range slices.Clone(p.open) {
			if s.cfg.FlushInterval == 0 || now.Sub(b.started) >= s.cfg.FlushInterval {
				s.cut(p, b)
			}
		}
	}
	sendAll := s.pump
	if s.cfg.FlushInterval == 0 {
		sendAll = s.drain
	}
	if err := sendAll(ctx); err != nil {
		if _, retry := connector.IsRetryable(err); !retry {
			return nil, err
		}
		// Its partition is failing: said below, with the others.
	}
	failing := 0
	var last error
	for _, p := range s.parts {
		if p.failing != nil {
			failing, last = failing+1, p.failing
		}
	}
	if failing > 0 {
		// Still retryable (a failure that is not was returned above):
		// the batches stay queued and are sent again.
		return nil, fmt.Errorf("%w (INSERTs failing and retried: %d of %d partitions; %d rows buffered)", last, failing, len(s.parts), s.pending)
	}
	out := make(map[connector.TopicPartition]int64, len(s.parts))
	for tp, p := range s.parts {
		if low, ok := p.unacked(); ok {
			out[tp] = low
		} else {
			out[tp] = p.seen
		}
	}
	return out, nil
}

// drop forgets a partition and its buffered rows, after waiting for its
// INSERT in flight, if any: once the partition is given up, no row of it
// may reach the table (the next owner's Open reads what is stored).
func (s *Sink) drop(ctx context.Context, tp connector.TopicPartition) {
	p := s.parts[tp]
	if p == nil {
		return
	}
	if f := s.flying(p); f != nil {
		// The batch being sent is stored whole or not at all; either
		// way the records come again.
		f.halt.Store(true)
		_ = s.land(ctx, f)
	}
	for _, bs := range [][]*batch{p.sent, p.open} {
		for _, b := range bs {
			s.pending -= b.n
		}
	}
	delete(s.parts, tp)
	if n := s.maxSpares(); len(s.spare) > n {
		clear(s.spare[n:])
		s.spare = s.spare[:n]
	}
}

// Close drops what the revoked partitions still buffer, after waiting
// for their INSERTs in flight: the next owner gets those records
// again.
func (s *Sink) Close(ctx context.Context, revoked []connector.TopicPartition) error {
	for _, tp := range revoked {
		s.drop(ctx, tp)
	}
	return nil
}

// Stop waits for the INSERTs in flight and closes the connection pool.
func (s *Sink) Stop(ctx context.Context) error {
	for _, f := range s.flights {
		f.halt.Store(true)
	}
	_ = s.await(ctx)
	for tp := range maps.Clone(s.parts) {
		s.drop(ctx, tp)
	}
	s.spare, s.scratches = nil, nil
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// Buffered returns the number of rows the sink holds in memory.
func (s *Sink) Buffered() int { return s.pending }
