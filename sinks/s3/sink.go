package s3

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/connector"
)

// Sink is one task of the S3 sink. It implements connector.Sink and
// connector.OffsetResetter. Like every sink it is driven by one task
// goroutine: its methods must not be called concurrently, and it starts no
// goroutines of its own. Uploads happen inside Write (when a file set is
// cut by count or size) and Flush (time-based cuts, retries of a failed
// upload).
type Sink struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
	// store is made by the first Open or ResetOffsets, and checked once.
	store   storage
	checked bool
	pt      *partitioner
	fm      *format
	results map[string]bool
	parts   map[connector.TopicPartition]*part
	// last caches the partition of the previous record.
	last *part
	// maxTime is the newest record time the task has seen, on any
	// partition: a file set of a partition whose first record is
	// rotate.interval.ms older is cut at the next Flush.
	maxTime time.Time
	// prevBad holds the records the last Write refused, so a Write of the
	// same batch again (after a RetryableError) names them again.
	prevBad map[recKey]error
	// pool holds empty encoders for reuse, by "results" flag.
	pool map[bool][]encoder
}

type recKey struct {
	tp  connector.TopicPartition
	off int64
}

// part is the state of one open Kafka partition.
type part struct {
	tp      connector.TopicPartition
	results bool
	// next is the offset after the last record taken (buffered, written
	// or refused); Write skips records below it.
	next int64
	// durable is the offset after the last record in an uploaded file set
	// (or past refused records after it): what Flush reports.
	durable  int64
	reported int64
	// open is the file set records are added to; pending one that was cut
	// but is not (completely) uploaded yet. While pending is set, Write
	// takes no record before it is uploaded: memory stays bounded.
	open    *segment
	pending *segment
}

// segment is a file set: the records of one Kafka partition from start to
// end (exclusive), in one file per encoded partition, cut together. Its
// marker object lists its files.
type segment struct {
	start, end int64
	records    int
	bytes      int64
	t0         time.Time // record time of the first record
	opened     time.Time // wall clock
	lastAdd    time.Time // wall clock
	files      map[string]*segFile
	order      []*segFile
	// Set by cut: the marker and the files, and how far the upload got.
	marker     object
	objects    []object
	markerDone bool
	done       int
}

type segFile struct {
	key     string
	enc     encoder
	records int
	runs    [][2]int64
}

type object struct {
	key  string
	body []byte
}

// marker is the body of a file set's marker object.
type marker struct {
	Topic     string       `json:"topic"`
	Partition int32        `json:"partition"`
	Start     int64        `json:"start"`
	End       int64        `json:"end"`
	Records   int          `json:"records"`
	Files     []markerFile `json:"files"`
}

// markerFile is one file of a file set: its key, its record count, and
// the offsets of its records (in file order) as runs [first, count].
type markerFile struct {
	Key     string     `json:"key"`
	Records int        `json:"records"`
	Runs    [][2]int64 `json:"runs"`
}

func (m *marker) keys() []string {
	out := make([]string, len(m.Files))
	for i, f := range m.Files {
		out[i] = f.Key
	}
	return out
}

// recordFault marks an error that is the record's own fault.
type recordFault struct{ err error }

func (f *recordFault) Error() string { return f.err.Error() }
func (f *recordFault) Unwrap() error { return f.err }

// New returns an S3 sink task for cfg. It checks cfg and starts nothing:
// the store is first reached by Open (or ResetOffsets).
func New(cfg *Config, info connector.TaskInfo) (*Sink, error) {
	if cfg == nil {
		return nil, errors.New("s3 sink: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("s3 sink: %w", err)
	}
	pt, err := newPartitioner(cfg)
	if err != nil {
		return nil, fmt.Errorf("s3 sink: %w", err)
	}
	fm, err := newFormat(cfg)
	if err != nil {
		return nil, fmt.Errorf("s3 sink: %w", err)
	}
	log := info.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	results := map[string]bool{}
	for _, t := range cfg.ResultsTopics {
		results[t] = true
	}
	if info.RollupTopic != "" {
		results[info.RollupTopic] = true
	}
	return &Sink{
		cfg:     *cfg,
		log:     log,
		now:     time.Now,
		pt:      pt,
		fm:      fm,
		results: results,
		parts:   map[connector.TopicPartition]*part{},
		pool:    map[bool][]encoder{},
	}, nil
}

// ensureStore makes the store on first use and checks it once: a missing
// bucket or refused credentials fail here, naming the fix.
func (s *Sink) ensureStore(ctx context.Context) error {
	if s.store == nil {
		if dir := s.cfg.local(); dir != "" {
			s.store = newLocalStore(dir)
		} else {
			st, err := newS3Store(ctx, &s.cfg)
			if err != nil {
				return err
			}
			s.store = st
		}
	}
	if !s.checked {
		if err := s.store.Check(ctx); err != nil {
			return err
		}
		s.checked = true
	}
	return nil
}

// objectKey returns the key of the file of Kafka partition tp whose first
// record is at offset start, in the encoded partition enc.
func (s *Sink) objectKey(tp connector.TopicPartition, enc string, start int64) string {
	name := tp.Topic + "+" + strconv.FormatInt(int64(tp.Partition), 10) + "+" + pad(start, s.cfg.OffsetPadWidth) + s.fm.ext
	return joinKey(s.cfg.TopicsDir, tp.Topic, enc, name)
}

// markerPrefix is where the markers of tp's file sets go.
func (s *Sink) markerPrefix(tp connector.TopicPartition) string {
	return joinKey(s.cfg.TopicsDir, markerDir, tp.Topic, strconv.FormatInt(int64(tp.Partition), 10)) + "/"
}

// markerDir is the directory under topics.dir holding the file sets'
// markers.
const markerDir = "_connectd"

func joinKey(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, "/")
}

func pad(off int64, width int) string {
	s := strconv.FormatInt(off, 10)
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// markerName is "<end>-<start>", both zero-padded to 20 digits, so that
// listing after "<R>." finds exactly the file sets that end past R.
func markerName(start, end int64) string { return pad(end, 20) + "-" + pad(start, 20) }

func parseMarkerName(name string) (start, end int64, ok bool) {
	e, st, found := strings.Cut(name, "-")
	if !found {
		return 0, 0, false
	}
	end, err1 := strconv.ParseInt(e, 10, 64)
	start, err2 := strconv.ParseInt(st, 10, 64)
	return start, end, err1 == nil && err2 == nil && start < end
}

// Open takes the assigned partitions and makes the store agree with the
// offsets the task resumes from. For each partition at resume offset R it
// lists the markers of the file sets that end past R: those were uploaded
// but never committed. When one of them starts below R (R was moved into
// the middle of a file set by an operator), Open resumes that partition at
// its start instead and returns that offset: a file cannot be cut, so it
// is rewritten whole. It then deletes the files of every listed set, then
// their markers. The replay writes those records again, exactly once.
func (s *Sink) Open(ctx context.Context, assigned map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	for tp, off := range assigned {
		if off < 0 {
			return nil, fmt.Errorf("s3 sink: open %s at offset %d: need a resolved offset, not a negative one", tp, off)
		}
	}
	if len(assigned) == 0 {
		return nil, nil
	}
	if err := s.ensureStore(ctx); err != nil {
		return nil, err
	}
	var out map[connector.TopicPartition]int64
	for _, tp := range slices.SortedFunc(maps.Keys(assigned), cmpTP) {
		off := assigned[tp]
		resume, err := s.rewind(ctx, tp, off)
		if err != nil {
			return nil, err
		}
		if resume != off {
			if out == nil {
				out = map[connector.TopicPartition]int64{}
			}
			out[tp] = resume
		}
		s.parts[tp] = &part{tp: tp, results: s.results[tp.Topic], next: resume, durable: resume, reported: resume}
	}
	s.last = nil
	return out, nil
}

// after lists the file sets of tp that end past off, oldest first.
func (s *Sink) after(ctx context.Context, tp connector.TopicPartition, off int64) ([]marker, []string, error) {
	prefix := s.markerPrefix(tp)
	keys, err := s.store.List(ctx, prefix, prefix+pad(off, 20)+".")
	if err != nil {
		return nil, nil, err
	}
	var ms []marker
	var mkeys []string
	for _, k := range keys {
		start, end, ok := parseMarkerName(strings.TrimPrefix(k, prefix))
		if !ok {
			s.log.Warn("s3 sink: ignoring an object that is not a file set marker", "key", k)
			continue
		}
		ms = append(ms, marker{Topic: tp.Topic, Partition: tp.Partition, Start: start, End: end})
		mkeys = append(mkeys, k)
	}
	return ms, mkeys, nil
}

// rewind deletes the file sets of tp that end past off and returns the
// offset to resume from: off, or the start of the set that holds it.
func (s *Sink) rewind(ctx context.Context, tp connector.TopicPartition, off int64) (int64, error) {
	ms, mkeys, err := s.after(ctx, tp, off)
	if err != nil {
		return 0, err
	}
	resume := off
	for i, m := range ms {
		resume = min(resume, m.Start)
		body, err := s.store.Get(ctx, mkeys[i])
		if errors.Is(err, errNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return 0, err
		}
		var full marker
		if err := json.Unmarshal(body, &full); err != nil {
			return 0, fmt.Errorf("s3 sink: file set marker %s in %s is damaged (%v): delete it and the files it named, or restore it", mkeys[i], s.store, err)
		}
		s.log.Info("s3 sink: deleting an uncommitted file set", "partition", tp.String(), "start", m.Start, "end", m.End, "files", len(full.Files), "resume_offset", off)
		if err := s.store.Delete(ctx, full.keys()); err != nil {
			return 0, err
		}
		if err := s.store.Delete(ctx, []string{mkeys[i]}); err != nil {
			return 0, err
		}
	}
	if resume != off {
		s.log.Info("s3 sink: the resume offset falls inside a file set; resuming at its start to rewrite it whole", "partition", tp.String(), "offset", off, "resume", resume)
	}
	return resume, nil
}

// Write adds each record to the open file of its Kafka partition and
// encoded partition, cutting the partition's file set before a record
// rotate.interval.ms (record time) past its first, and after it once it
// holds flush.size records or flush.size.bytes value bytes; a cut set is
// uploaded at once. Records at offsets already taken (a batch written
// again after a RetryableError) are skipped. A record the partitioner or
// the format refuses (a missing partition field, a value that is not a
// click event for Parquet, a tombstone) is named in a *connector.BatchError
// with the reason; the rest of the batch is taken. An upload that fails
// with a retryable error (S3 down, throttled, slow) makes Write return
// it: the set stays in memory, and the retried Write uploads it before it
// takes another record, so memory stays bounded while S3 is down.
func (s *Sink) Write(ctx context.Context, batch []connector.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.uploadPending(ctx); err != nil {
		return err
	}
	now := s.now()
	var bad []connector.RecordError
	var newBad map[recKey]error
	fault := func(i int, k recKey, err error) {
		bad = append(bad, connector.RecordError{Index: i, Err: err})
		if newBad == nil {
			newBad = map[recKey]error{}
		}
		newBad[k] = err
	}
	for i := range batch {
		r := &batch[i]
		p := s.partition(r)
		if p == nil {
			return fmt.Errorf("s3 sink: record %s@%d: the partition is not open", r.TP(), r.Offset)
		}
		k := recKey{p.tp, r.Offset}
		if r.Offset < p.next {
			if err, ok := s.prevBad[k]; ok {
				fault(i, k, err)
			}
			continue
		}
		err := s.take(ctx, p, r, now)
		var rf *recordFault
		switch {
		case errors.As(err, &rf):
			fault(i, k, rf.err)
			p.next = r.Offset + 1
			if p.open == nil && p.pending == nil {
				p.durable = p.next
			}
		case err != nil:
			s.prevBad = newBad
			return err
		}
	}
	s.prevBad = newBad
	if len(bad) > 0 {
		return &connector.BatchError{Records: bad}
	}
	return nil
}

// partition returns the open partition of r, or nil.
func (s *Sink) partition(r *connector.Record) *part {
	if p := s.last; p != nil && p.tp.Partition == r.Partition && p.tp.Topic == r.Topic {
		return p
	}
	p := s.parts[r.TP()]
	if p != nil {
		s.last = p
	}
	return p
}

// take adds r to p's open file set, cutting before or after it as the
// rules say. A *recordFault is r's own fault; nothing of r was kept.
func (s *Sink) take(ctx context.Context, p *part, r *connector.Record, now time.Time) error {
	enc, t, err := s.pt.place(r)
	if err != nil {
		return &recordFault{err}
	}
	if seg := p.open; seg != nil && s.cfg.RotateInterval > 0 && !t.IsZero() && !seg.t0.IsZero() && t.Sub(seg.t0) >= s.cfg.RotateInterval {
		if err := s.cutAndUpload(ctx, p); err != nil {
			return err
		}
	}
	seg := p.open
	if seg == nil {
		seg = &segment{start: r.Offset, t0: t, opened: now, files: map[string]*segFile{}}
	}
	f := seg.files[enc]
	fresh := f == nil
	if fresh {
		f = &segFile{key: s.objectKey(p.tp, enc, r.Offset), enc: s.encoder(p)}
	}
	if err := f.enc.add(r); err != nil {
		if fresh {
			s.pool[p.results] = append(s.pool[p.results], f.enc)
		}
		return &recordFault{err}
	}
	if fresh {
		seg.files[enc] = f
		seg.order = append(seg.order, f)
	}
	f.records++
	if n := len(f.runs); n > 0 && f.runs[n-1][0]+f.runs[n-1][1] == r.Offset {
		f.runs[n-1][1]++
	} else {
		f.runs = append(f.runs, [2]int64{r.Offset, 1})
	}
	p.open = seg
	seg.records++
	seg.bytes += int64(len(r.Value))
	seg.end = r.Offset + 1
	seg.lastAdd = now
	p.next = r.Offset + 1
	if t.After(s.maxTime) {
		s.maxTime = t
	}
	if seg.records >= s.cfg.FlushSize || seg.bytes >= s.cfg.FlushBytes {
		return s.cutAndUpload(ctx, p)
	}
	return nil
}

// encoder returns an empty encoder for p's kind of records.
func (s *Sink) encoder(p *part) encoder {
	if free := s.pool[p.results]; len(free) > 0 {
		e := free[len(free)-1]
		s.pool[p.results] = free[:len(free)-1]
		return e
	}
	return s.fm.newEncoder(p.tp.Topic, p.results)
}

// cutAndUpload closes p's open file set and uploads it.
func (s *Sink) cutAndUpload(ctx context.Context, p *part) error {
	if err := s.cut(p); err != nil {
		return err
	}
	return s.upload(ctx, p)
}

// cut encodes p's open file set into its files and marker and makes it
// p's pending set. p has no pending set.
func (s *Sink) cut(p *part) error {
	seg := p.open
	if seg == nil {
		return nil
	}
	if p.pending != nil { // unreachable: Write and Flush upload it first
		return fmt.Errorf("s3 sink: %s: cutting a file set while another waits for upload", p.tp)
	}
	m := marker{Topic: p.tp.Topic, Partition: p.tp.Partition, Start: seg.start, End: seg.end, Records: seg.records}
	for _, f := range seg.order {
		body, err := f.enc.finish()
		if err != nil {
			return fmt.Errorf("s3 sink: encoding %s: %w", f.key, err)
		}
		s.pool[p.results] = append(s.pool[p.results], f.enc)
		f.enc = nil
		seg.objects = append(seg.objects, object{key: f.key, body: body})
		m.Files = append(m.Files, markerFile{Key: f.key, Records: f.records, Runs: f.runs})
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	seg.marker = object{key: s.markerPrefix(p.tp) + markerName(seg.start, seg.end), body: mb}
	seg.files, seg.order = nil, nil
	p.open, p.pending = nil, seg
	return nil
}

// upload writes p's pending file set: its marker first (so an Open after
// a crash finds every file the set may have written), then its files. It
// resumes where a failed attempt stopped.
func (s *Sink) upload(ctx context.Context, p *part) error {
	seg := p.pending
	if seg == nil {
		return nil
	}
	if !seg.markerDone {
		if err := s.put(ctx, seg.marker); err != nil {
			return err
		}
		seg.markerDone = true
	}
	for seg.done < len(seg.objects) {
		o := &seg.objects[seg.done]
		if err := s.put(ctx, *o); err != nil {
			return err
		}
		s.log.Debug("s3 sink: uploaded", "key", o.key, "bytes", len(o.body))
		o.body = nil
		seg.done++
	}
	p.pending = nil
	if p.open == nil {
		p.durable = p.next
	} else {
		p.durable = seg.end
	}
	return nil
}

// put writes o, only if absent with s3.conditional.writes. An object that
// exists already with the same bytes is the same file (written by an
// earlier attempt or a replay) and is accepted; one with other bytes was
// written by another writer (a zombie instance of this task, or another
// connector with the same topics.dir), and the task fails.
func (s *Sink) put(ctx context.Context, o object) error {
	err := s.store.Put(ctx, o.key, o.body, s.cfg.ConditionalWrites)
	if !errors.Is(err, errExists) {
		return err
	}
	have, err := s.store.Get(ctx, o.key)
	if errors.Is(err, errNotFound) { // deleted since: try once more
		return s.put(ctx, o)
	}
	if err != nil {
		return err
	}
	if bytes.Equal(have, o.body) {
		s.log.Debug("s3 sink: object exists with the same bytes", "key", o.key)
		return nil
	}
	return fmt.Errorf("s3 sink: %s/%s exists with other content (%d bytes, this task's is %d): another writer wrote it — a zombie instance of this task that Kafka has not fenced yet, or another connector writing the same topics.dir; the task stops, and its restart removes the uncommitted files and writes them again", s.store, o.key, len(have), len(o.body))
}

// uploadPending uploads every partition's pending file set.
func (s *Sink) uploadPending(ctx context.Context) error {
	for _, p := range s.parts {
		if p.pending != nil {
			if err := s.upload(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush uploads file sets a failed upload left, cuts and uploads the open
// sets that are due — rotate.interval.ms behind the task's newest record
// time (record time: a quiet partition), rotate.idle.ms without a record
// or past a multiple of rotate.schedule.interval.ms (wall clock) — and
// returns, for each partition that made progress since the last Flush,
// the offset after its last uploaded record. Records in open sets are not
// reported. On an upload error Flush reports nothing; the next Flush
// reports everything uploaded meanwhile.
func (s *Sink) Flush(ctx context.Context) (map[connector.TopicPartition]int64, error) {
	if err := s.uploadPending(ctx); err != nil {
		return nil, err
	}
	now := s.now()
	for _, tp := range slices.SortedFunc(maps.Keys(s.parts), cmpTP) {
		p := s.parts[tp]
		if p.open != nil && s.due(p.open, now) {
			if err := s.cutAndUpload(ctx, p); err != nil {
				return nil, err
			}
		}
	}
	var out map[connector.TopicPartition]int64
	for tp, p := range s.parts {
		if p.durable != p.reported {
			if out == nil {
				out = map[connector.TopicPartition]int64{}
			}
			out[tp] = p.durable
			p.reported = p.durable
		}
	}
	return out, nil
}

// due reports whether an open file set is cut at a Flush.
func (s *Sink) due(seg *segment, now time.Time) bool {
	c := &s.cfg
	if c.RotateInterval > 0 && !seg.t0.IsZero() && s.maxTime.Sub(seg.t0) >= c.RotateInterval {
		return true
	}
	if c.RotateIdle > 0 && now.Sub(seg.lastAdd) >= c.RotateIdle {
		return true
	}
	if c.RotateSchedule > 0 {
		next := seg.opened.Truncate(c.RotateSchedule).Add(c.RotateSchedule)
		if !now.Before(next) {
			return true
		}
	}
	return false
}

// Close drops what the revoked partitions hold in memory (open and
// pending file sets): their records are delivered again to the next owner,
// whose Open deletes whatever of them was uploaded. Objects are left alone.
func (s *Sink) Close(ctx context.Context, revoked []connector.TopicPartition) error {
	for _, tp := range revoked {
		if p := s.parts[tp]; p != nil && (p.open != nil || p.pending != nil) {
			s.log.Debug("s3 sink: dropping buffered records of a revoked partition", "partition", tp.String())
		}
		delete(s.parts, tp)
	}
	s.last = nil
	return nil
}

// Stop drops whatever is still buffered.
func (s *Sink) Stop(ctx context.Context) error {
	clear(s.parts)
	s.last = nil
	s.pool = map[bool][]encoder{}
	return nil
}

// ResetOffsets moves each target offset back to the start of the file set
// that holds it, so a backfill rewrites whole files. It may be called on a
// Sink that was never opened; it deletes nothing (the Open at the new
// offsets does).
func (s *Sink) ResetOffsets(ctx context.Context, target map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	if err := s.ensureStore(ctx); err != nil {
		return nil, err
	}
	out := map[connector.TopicPartition]int64{}
	for _, tp := range slices.SortedFunc(maps.Keys(target), cmpTP) {
		ms, _, err := s.after(ctx, tp, target[tp])
		if err != nil {
			return nil, err
		}
		if len(ms) > 0 && ms[0].Start < target[tp] {
			out[tp] = ms[0].Start
		}
	}
	return out, nil
}

func cmpTP(a, b connector.TopicPartition) int {
	return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
}

var (
	_ connector.Sink           = (*Sink)(nil)
	_ connector.OffsetResetter = (*Sink)(nil)
)
