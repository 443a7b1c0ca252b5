package file

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/connectd/connectd/connector"
)

// Sink is one task of the file sink. It implements connector.Sink and
// connector.OffsetResetter. Like every sink it is driven by one task
// goroutine: its methods must not be called concurrently, and it starts no
// goroutines of its own. Several Sinks (tasks) may share file.dir: each
// open partition is locked (see Open), so two Sinks never write the same
// partition at once, also not two instances of one task (a zombie and its
// replacement), in one process or in two on the same host.
type Sink struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
	// parts holds the open partitions, each with its lock: a partition is
	// open exactly while this instance holds its lock.
	parts map[connector.TopicPartition]*partition
	// last caches the partition of the previous record, which is usually
	// the partition of the next.
	last *partition
	// madeDirs remembers topic directories known to exist.
	madeDirs map[string]bool
	// warnedNoLocks is set once Open warned that this platform cannot
	// lock partitions.
	warnedNoLocks bool
}

// partition is the state of one open partition.
type partition struct {
	tp  connector.TopicPartition
	dir string
	// lock is this instance's lock on the partition; writeFile checks it
	// before every file.
	lock *partLock
	// next is the offset after the last record taken: buffered, written
	// or rejected. Write skips records below it.
	next int64
	// durable is the offset after the last record in a file, or past
	// rejected records that follow it: what Flush reports.
	durable int64
	// reported is durable as of the last Flush that returned.
	reported int64
	// buf holds the lines of the buffered records, runs their offsets.
	buf   []byte
	runs  []run
	count int
	// since is when the first buffered record arrived.
	since time.Time
}

// New returns a file sink task for cfg. It checks cfg and starts nothing:
// no file is touched before Open.
func New(cfg *Config, info connector.TaskInfo) (*Sink, error) {
	if cfg == nil {
		return nil, errors.New("file sink: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("file sink: %w", err)
	}
	log := info.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sink{
		cfg:      *cfg,
		log:      log,
		now:      time.Now,
		parts:    map[connector.TopicPartition]*partition{},
		madeDirs: map[string]bool{},
	}, nil
}

// Open takes the assigned partitions and makes the directory agree with
// the offsets the task resumes from.
//
// First it locks every assigned partition, exclusively and without
// waiting: the lock file <file.dir>/<topic>/.<topic>+<partition>.lock,
// flocked. When another instance of the task (a zombie that has not yet
// learned it was fenced, or an instance still closing the partition)
// holds one, Open takes none of them and returns a RetryableError: the
// framework calls Open again once that instance has stopped. Only with
// every lock held does Open touch files: for each partition it removes the
// files that start at or after the resume offset and cuts the file that
// holds it back to the records below it. Those records were written by an
// earlier instance, possibly one that held the lock until a moment ago,
// but never committed; they are delivered again. If anything fails, Open
// releases the locks it took, so a failed Open holds nothing new. Open
// returns nil: the files never know better than the committed offsets.
func (s *Sink) Open(ctx context.Context, assigned map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	tps := slices.SortedFunc(maps.Keys(assigned), cmpTP)
	for _, tp := range tps {
		if off := assigned[tp]; off < 0 {
			return nil, fmt.Errorf("file sink: open %s at offset %d: need a resolved offset, not a negative one", tp, off)
		}
		if err := checkTopic(tp.Topic); err != nil {
			return nil, err
		}
	}
	if !partitionLocks && len(tps) > 0 && !s.warnedNoLocks {
		s.warnedNoLocks = true
		s.log.Warn("file sink: this platform has no flock: partitions are not locked, so a zombie instance of this task can write files beside its replacement's")
	}
	// Locks are taken in one order (topic, partition), all or none: an
	// instance refused one holds none of the others meanwhile.
	taken := map[connector.TopicPartition]*partLock{}
	opened := false
	defer func() {
		if opened {
			return
		}
		for _, tp := range slices.SortedFunc(maps.Keys(taken), cmpTP) {
			if err := taken[tp].release(); err != nil {
				s.log.Warn("file sink: releasing a partition lock after a failed open", "partition", tp.String(), "err", err)
			}
		}
	}()
	dirs := make(map[connector.TopicPartition]string, len(tps))
	for _, tp := range tps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir, err := s.topicDir(tp.Topic)
		if err != nil {
			return nil, err
		}
		dirs[tp] = dir
		if s.parts[tp] != nil {
			continue // open already: its lock is held
		}
		l, err := lockPartition(dir, tp)
		if err != nil {
			return nil, err
		}
		s.log.Debug("file sink: locked partition", "partition", tp.String(), "lock", l.path)
		taken[tp] = l
	}
	fresh := make(map[connector.TopicPartition]*partition, len(tps))
	for _, tp := range tps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		off := assigned[tp]
		if err := s.rewind(tp, dirs[tp], off); err != nil {
			return nil, err
		}
		l := taken[tp]
		if l == nil {
			l = s.parts[tp].lock
		}
		fresh[tp] = &partition{tp: tp, dir: dirs[tp], lock: l, next: off, durable: off, reported: off}
	}
	maps.Copy(s.parts, fresh)
	s.last = nil
	opened = true
	return nil, nil
}

// topicDir returns the directory of topic, creating it (durably) when it
// is missing.
func (s *Sink) topicDir(topic string) (string, error) {
	dir := filepath.Join(s.cfg.Dir, topic)
	if s.madeDirs[dir] {
		return dir, nil
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", classify("create topic directory", err)
		}
		if s.cfg.Fsync {
			if err := syncDir(s.cfg.Dir); err != nil {
				return "", classify("create topic directory", err)
			}
		}
	} else if err != nil {
		return "", classify("open topic directory", err)
	}
	s.madeDirs[dir] = true
	return dir, nil
}

// rewind removes what the files of tp hold at or after off.
func (s *Sink) rewind(tp connector.TopicPartition, dir string, off int64) error {
	l, err := listPartition(dir, tp)
	if err != nil {
		return classify("open "+tp.String(), err)
	}
	changed := false
	remove := func(name, why string) error {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return classify("remove "+why, err)
		}
		changed = true
		return nil
	}
	for _, name := range l.temps {
		if err := remove(name, "temporary file"); err != nil {
			return err
		}
	}
	// Newest first, data before sidecar: a crash in between leaves a
	// shorter but consistent directory.
	var keep *dataFile
	for i := len(l.files) - 1; i >= 0; i-- {
		f := l.files[i]
		if f.start < off {
			keep = &l.files[i]
			break
		}
		s.log.Info("file sink: removing uncommitted file", "partition", tp.String(), "file", f.name, "resume_offset", off)
		if err := remove(f.name, "uncommitted file"); err != nil {
			return err
		}
		if err := remove(f.name+indexExt, "uncommitted file's index"); err != nil {
			return err
		}
	}
	for _, name := range l.indexes {
		if err := remove(name, "orphaned index"); err != nil {
			return err
		}
	}
	if keep != nil {
		cut, err := s.truncate(dir, *keep, off)
		if err != nil {
			return err
		}
		changed = changed || cut
	}
	if changed && s.cfg.Fsync {
		return classify("open "+tp.String(), syncDir(dir))
	}
	return nil
}

// truncate cuts data file f back to its records below off, if it holds
// any at or above it, and repairs a cut that a crash interrupted. It
// reports whether it changed anything.
func (s *Sink) truncate(dir string, f dataFile, off int64) (bool, error) {
	path := filepath.Join(dir, f.name)
	ix, err := readIndex(path + indexExt)
	if err != nil {
		return false, err
	}
	if ix.Topic != f.tp.Topic || ix.Partition != f.tp.Partition || ix.start() != f.start {
		return false, fmt.Errorf("file sink: index %s describes %s+%d starting at %d, not its data file", path+indexExt, ix.Topic, ix.Partition, ix.start())
	}
	st, err := os.Stat(path)
	if err != nil {
		return false, classify("open "+f.tp.String(), err)
	}
	size := st.Size()
	if size < ix.Bytes {
		return false, fmt.Errorf("file sink: %s has %d bytes but its index says %d: the file was damaged; restore it or remove it and its .idx and rewind the partition's offsets to %d", path, size, ix.Bytes, f.start)
	}
	keep := ix.below(off)
	if keep == ix.Records && size == ix.Bytes {
		return false, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false, classify("truncate", err)
	}
	end, ok := lineEnd(data[:ix.Bytes], keep)
	if !ok || (keep == ix.Records && end != ix.Bytes) {
		return false, fmt.Errorf("file sink: %s does not hold the %d lines its index lists", path, ix.Records)
	}
	s.log.Info("file sink: cutting uncommitted records off a file", "partition", f.tp.String(), "file", f.name, "resume_offset", off, "kept_records", keep, "dropped_records", ix.Records-keep)
	// The sidecar first: if the cut is interrupted, the next Open finds a
	// data file longer than its sidecar and finishes it.
	ix.cut(keep)
	ix.Records, ix.Bytes = keep, end
	if err := s.writeIndex(dir, f.name, ix); err != nil {
		return false, err
	}
	if err := os.Truncate(path, end); err != nil {
		return false, classify("truncate", err)
	}
	if s.cfg.Fsync {
		if err := syncFile(path); err != nil {
			return false, classify("truncate", err)
		}
	}
	return true, nil
}

func (s *Sink) writeIndex(dir, name string, ix *index) error {
	b, err := marshalIndex(ix)
	if err != nil {
		return err
	}
	return classify("write index", writeAtomic(dir, name+indexExt, b, s.cfg.Fsync))
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Write buffers the records per partition and writes a partition's buffer
// as a file as soon as it holds flush.size records. Records at offsets the
// sink already took (a batch written again after a RetryableError) are
// skipped. A value that is empty or holds a newline cannot be one JSON line:
// it is rejected in a *connector.BatchError, and the rest of the batch is
// accepted. A record of a partition that is not open is a fatal error; so
// is a failed file write, except a full disk or quota, which is retryable.
// Every file is written under the partition's lock, checked just before:
// if the lock file was removed or replaced since Open locked it, another
// instance may own the partition, and the write fails (fatally) instead.
func (s *Sink) Write(ctx context.Context, batch []connector.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Every bad record is named on every attempt, also after a retry has
	// already skipped past it.
	var bad []connector.RecordError
	for i := range batch {
		r := &batch[i]
		if s.partition(r) == nil {
			return fmt.Errorf("file sink: record %s@%d: the partition is not open", r.TP(), r.Offset)
		}
		if err := checkValue(r.Value); err != nil {
			bad = append(bad, connector.RecordError{Index: i, Err: err})
		}
	}
	nextBad := 0
	for i := range batch {
		r := &batch[i]
		p := s.partition(r)
		isBad := nextBad < len(bad) && bad[nextBad].Index == i
		if isBad {
			nextBad++
		}
		if r.Offset < p.next {
			continue
		}
		if isBad {
			p.next = r.Offset + 1
			if p.count == 0 {
				p.durable = p.next
			}
			continue
		}
		if p.count >= s.cfg.FlushSize {
			if err := s.writeFile(ctx, p); err != nil {
				return err
			}
		}
		p.add(r.Offset, r.Value, s.now)
		if p.count >= s.cfg.FlushSize {
			if err := s.writeFile(ctx, p); err != nil {
				return err
			}
		}
	}
	if len(bad) > 0 {
		return &connector.BatchError{Records: bad}
	}
	return nil
}

// partition returns the open partition of r, or nil.
func (s *Sink) partition(r *connector.Record) *partition {
	if p := s.last; p != nil && p.tp.Partition == r.Partition && p.tp.Topic == r.Topic {
		return p
	}
	p := s.parts[r.TP()]
	if p != nil {
		s.last = p
	}
	return p
}

// checkValue refuses values that cannot be one line of a JSON lines file.
func checkValue(v []byte) error {
	if len(v) == 0 {
		return errors.New("file sink: empty value (a tombstone?) cannot be a JSON line")
	}
	if i := bytes.IndexByte(v, '\n'); i >= 0 {
		return fmt.Errorf("file sink: value holds a newline at byte %d; a JSON line must be one line (compact the JSON)", i)
	}
	return nil
}

func (p *partition) add(off int64, v []byte, now func() time.Time) {
	if p.count == 0 {
		p.since = now()
	}
	p.buf = append(p.buf, v...)
	p.buf = append(p.buf, '\n')
	if n := len(p.runs); n > 0 && p.runs[n-1].First+p.runs[n-1].Count == off {
		p.runs[n-1].Count++
	} else {
		p.runs = append(p.runs, run{First: off, Count: 1})
	}
	p.count++
	p.next = off + 1
}

// writeFile writes p's buffer as one data file with its sidecar, durably,
// and empties the buffer. On failure the buffer is kept for the next try.
func (s *Sink) writeFile(ctx context.Context, p *partition) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.lock == nil {
		return fmt.Errorf("file sink: %s: this instance does not hold the partition's lock; not writing", p.tp)
	}
	if err := p.lock.check(); err != nil {
		return err
	}
	start := p.runs[0].First
	name := FileName(p.tp, start)
	ix := &index{Version: indexVersion, Topic: p.tp.Topic, Partition: p.tp.Partition, Records: int64(p.count), Bytes: int64(len(p.buf)), Runs: p.runs}
	// Data first, but renamed into place after its sidecar: a data file
	// never exists without the sidecar that says which offsets it holds.
	tmp, err := writeTemp(p.dir, name, p.buf, s.cfg.Fsync)
	if err != nil {
		return classify("write "+filepath.Join(p.dir, name), err)
	}
	if err := s.writeIndex(p.dir, name, ix); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(p.dir, name)); err != nil {
		os.Remove(tmp)
		return classify("write "+filepath.Join(p.dir, name), err)
	}
	if s.cfg.Fsync {
		if err := syncDir(p.dir); err != nil {
			return classify("write "+filepath.Join(p.dir, name), err)
		}
	}
	s.log.Debug("file sink: wrote file", "partition", p.tp.String(), "file", name, "records", p.count, "bytes", len(p.buf))
	p.durable = p.next
	p.buf = p.buf[:0]
	p.runs = p.runs[:0]
	p.count = 0
	return nil
}

// Flush writes every partition buffer whose first record arrived at least
// flush.interval.ms ago (or that is full: a Write that failed left it so)
// and returns, for each partition that made progress since the last Flush,
// the offset after its last record in a file. Records still buffered are
// not reported: they are written at a later Flush, or dropped by Close and
// delivered again. When a write fails, Flush returns the error and reports
// nothing; the next Flush reports everything written meanwhile. Like
// Write, Flush writes a partition only under its lock.
func (s *Sink) Flush(ctx context.Context) (map[connector.TopicPartition]int64, error) {
	now := s.now()
	for _, tp := range slices.SortedFunc(maps.Keys(s.parts), cmpTP) {
		p := s.parts[tp]
		if p.count > 0 && (p.count >= s.cfg.FlushSize || now.Sub(p.since) >= s.cfg.FlushInterval) {
			if err := s.writeFile(ctx, p); err != nil {
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

// Close drops the buffers of the revoked partitions; their records are
// delivered again to the partition's next owner. It releases the
// partitions' locks, so the next owner can open them. Files are left
// alone. A partition that is not open is ignored.
func (s *Sink) Close(ctx context.Context, revoked []connector.TopicPartition) error {
	var errs []error
	for _, tp := range revoked {
		p := s.parts[tp]
		if p == nil {
			continue
		}
		if p.count > 0 {
			s.log.Debug("file sink: dropping buffered records of a revoked partition", "partition", tp.String(), "records", p.count)
		}
		errs = append(errs, s.release(p))
		delete(s.parts, tp)
	}
	s.last = nil
	return errors.Join(errs...)
}

// release releases p's lock and forgets it, so p can write nothing more.
func (s *Sink) release(p *partition) error {
	if p.lock == nil {
		return nil
	}
	err := p.lock.release()
	p.lock = nil
	return err
}

// Stop drops whatever is still buffered and releases the locks of the
// partitions still open (Close has normally released them all).
func (s *Sink) Stop(ctx context.Context) error {
	var errs []error
	for _, tp := range slices.SortedFunc(maps.Keys(s.parts), cmpTP) {
		errs = append(errs, s.release(s.parts[tp]))
	}
	clear(s.parts)
	s.last = nil
	return errors.Join(errs...)
}

// ResetOffsets moves each target offset back to the start of the file
// that holds it, when a file holds records both below and at or above it,
// so that a backfill rewrites whole files. It may be called on a Sink that
// was never opened. It removes nothing: the Open that resumes at the new
// offsets removes the files at and after them, and if the offsets are never
// moved, no committed data was lost.
func (s *Sink) ResetOffsets(ctx context.Context, target map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	out := map[connector.TopicPartition]int64{}
	for _, tp := range slices.SortedFunc(maps.Keys(target), cmpTP) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := checkTopic(tp.Topic); err != nil {
			return nil, err
		}
		off := target[tp]
		dir := filepath.Join(s.cfg.Dir, tp.Topic)
		l, err := listPartition(dir, tp)
		if err != nil {
			return nil, classify("reset offsets", err)
		}
		i, _ := slices.BinarySearchFunc(l.files, off, func(f dataFile, off int64) int { return cmp.Compare(f.start, off) })
		if i == 0 { // no file starts below off
			continue
		}
		f := l.files[i-1]
		ix, err := readIndex(filepath.Join(dir, f.name+indexExt))
		if err != nil {
			return nil, err
		}
		if ix.below(off) < ix.Records {
			out[tp] = f.start
		}
	}
	return out, nil
}

func cmpTP(a, b connector.TopicPartition) int {
	return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
}
