package iceberg

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	iceberg "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/connectd/connectd/connector"
)

// maxCommitAttempts bounds the commits one Flush tries against a branch
// head that other writers keep moving.
const maxCommitAttempts = 8

// commit writes t's buffered rows as Parquet data files and commits them
// in one snapshot whose summary carries the connector's offsets: the
// stored map with each open partition moved to the offset after its last
// record taken. Before every attempt it reloads the table and checks that
// no other writer moved the open partitions' offsets; the commit asserts
// the branch head it read, so a concurrent commit makes it fail cleanly
// and it tries again on the new head with the same files. When it cannot
// commit, it deletes the files it wrote: no orphans stay behind.
func (s *Sink) commit(ctx context.Context, t *tableState) error {
	cover := Offsets{}
	for tp, p := range s.parts {
		if p.rollup != (t.kind == kindRollups) {
			continue // the partition's records never go to this table
		}
		off := p.received
		if b, ok := t.base[tp]; ok && b > off {
			off = b // never move a partition's stored offset back
		}
		cover[tp] = off
	}
	files, err := s.writeFiles(ctx, t)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			s.removeFiles(ctx, t, files)
		}
	}()
	wait := 20 * time.Millisecond
	for attempt := 0; attempt < maxCommitAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait = min(2*wait, time.Second)
		}
		if err := s.refresh(ctx, t); err != nil {
			return err
		}
		stored, err := StoredOffsets(t.tbl, s.info.Connector)
		if err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
		if err := s.checkFence(t, stored, cover); err != nil {
			s.fenced = err
			return err
		}
		resets, err := resetTargets(t.tbl, s.info.Connector)
		if err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
		if s.beforeCommit != nil {
			s.beforeCommit(t.name)
		}
		next := merge(stored, cover)
		tx := t.tbl.NewTransaction()
		if err := tx.AssertRefSnapshotID(""); err != nil {
			return err
		}
		props := iceberg.Properties{OffsetsKey(s.info.Connector): encodeOffsets(next)}
		if err := tx.AddDataFiles(ctx, files, props); err != nil {
			return fmt.Errorf("table %s: stage data files: %w", t.name, err)
		}
		if err := s.dropResets(tx, resets, cover); err != nil {
			return err
		}
		tbl, err := tx.Commit(ctx)
		if err == nil {
			done = true
			t.tbl = tbl
			maps.Copy(t.base, cover)
			for tp, b := range t.bufs {
				b.release()
				delete(t.bufs, tp)
			}
			s.log.Debug("iceberg sink: committed", "table", t.name, "files", len(files), "rows", t.rows, "offsets", encodeOffsets(cover))
			return nil
		}
		if isConflict(err) {
			s.log.Debug("iceberg sink: commit conflict, retrying on the new head", "table", t.name, "attempt", attempt+1, "err", err)
			continue
		}
		// The catalog may or may not have taken the commit: look.
		if ok, lerr := s.committed(ctx, t, cover); lerr == nil && ok {
			done = true
			maps.Copy(t.base, cover)
			for tp, b := range t.bufs {
				b.release()
				delete(t.bufs, tp)
			}
			return nil
		}
		return connector.Retryable(fmt.Errorf("table %s: commit: %w", t.name, err), 0)
	}
	return connector.Retryable(fmt.Errorf("table %s: commit kept conflicting with other writers (%d attempts)", t.name, maxCommitAttempts), 0)
}

// checkFence refuses a commit when another writer moved the stored offset
// of a partition this instance covers since it last saw it.
func (s *Sink) checkFence(t *tableState, stored, cover Offsets) error {
	for _, tp := range slices.SortedFunc(maps.Keys(cover), cmpTP) {
		want, had := t.base[tp]
		got, has := stored[tp]
		if had != has || want != got {
			w, g := "none", "none"
			if had {
				w = fmt.Sprint(want)
			}
			if has {
				g = fmt.Sprint(got)
			}
			s.log.Warn("iceberg sink: another writer committed this task's partition; stopping", "table", t.name, "partition", tp.String(), "expected", w, "found", g)
			return fmt.Errorf("%w: table %s: partition %s's stored offset is %s, but this instance last saw %s: another task (a newer owner of the partition) committed it; this instance's data files were deleted",
				connector.ErrFenced, t.name, tp, g, w)
		}
	}
	return nil
}

// committed reports whether t's current snapshot holds cover.
func (s *Sink) committed(ctx context.Context, t *tableState, cover Offsets) (bool, error) {
	if err := s.refresh(ctx, t); err != nil {
		return false, err
	}
	stored, err := StoredOffsets(t.tbl, s.info.Connector)
	if err != nil {
		return false, err
	}
	for tp, off := range cover {
		if stored[tp] != off {
			return false, nil
		}
	}
	return true, nil
}

// writeFiles writes t's buffered rows as data files.
func (s *Sink) writeFiles(ctx context.Context, t *tableState) ([]iceberg.DataFile, error) {
	// Group the batches by schema: WriteRecords takes one schema.
	type group struct {
		sc      *arrow.Schema
		batches []arrow.RecordBatch
	}
	var groups []*group
	for _, tp := range slices.SortedFunc(maps.Keys(t.bufs), cmpTP) {
		b := t.bufs[tp]
		b.seal()
		for _, rb := range b.done {
			var g *group
			for _, x := range groups {
				if x.sc.Equal(rb.Schema()) {
					g = x
				}
			}
			if g == nil {
				g = &group{sc: rb.Schema()}
				groups = append(groups, g)
			}
			g.batches = append(g.batches, rb)
		}
	}
	var files []iceberg.DataFile
	for _, g := range groups {
		seq := func(yield func(arrow.RecordBatch, error) bool) {
			for _, rb := range g.batches {
				rb.Retain() // WriteRecords releases what it takes; the buffer keeps its own until the commit
				if !yield(rb, nil) {
					return
				}
			}
		}
		for df, err := range table.WriteRecords(ctx, t.tbl, g.sc, iter.Seq2[arrow.RecordBatch, error](seq)) {
			if err != nil {
				s.removeFiles(ctx, t, files)
				return nil, connector.Retryable(fmt.Errorf("table %s: write data files: %w", t.name, err), 0)
			}
			files = append(files, df)
		}
	}
	return files, nil
}

// removeFiles deletes data files that no commit references.
func (s *Sink) removeFiles(ctx context.Context, t *tableState, files []iceberg.DataFile) {
	if len(files) == 0 {
		return
	}
	fs, err := t.tbl.FS(ctx)
	if err != nil {
		s.log.Warn("iceberg sink: cannot remove uncommitted data files", "table", t.name, "err", err)
		return
	}
	for _, f := range files {
		if err := fs.Remove(f.FilePath()); err != nil {
			s.log.Warn("iceberg sink: cannot remove uncommitted data file; expire-snapshots --remove-orphans will", "file", f.FilePath(), "err", err)
		}
	}
	s.log.Debug("iceberg sink: removed uncommitted data files", "table", t.name, "files", len(files))
}

func cmpTP(a, b connector.TopicPartition) int {
	if a.Topic != b.Topic {
		if a.Topic < b.Topic {
			return -1
		}
		return 1
	}
	return int(a.Partition) - int(b.Partition)
}

// isConflict reports whether a commit failed because the table changed
// since it was read. Nothing was committed then. The catalogs say so
// differently: the SQL catalog reports a broken requirement (the asserted
// branch head) as "requirement failed: branch \"main\" has changed" and a
// lost race on the metadata location as table.ErrCommitFailed; the REST
// catalog's HTTP 409 (CommitFailedException) is rest.ErrCommitFailed,
// which wraps table.ErrCommitFailed, and iceberg-go's retry after it
// fails at once on an AssertRefSnapshotID pin with table.ErrCommitFailed
// too. A 5xx of a REST commit is rest.ErrCommitStateUnknown, not a
// conflict: the caller looks at the table to learn whether it landed.
func isConflict(err error) bool {
	return errors.Is(err, table.ErrCommitFailed) || strings.Contains(err.Error(), "requirement failed:")
}
