package iceberg

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	iceberg "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// DataFiles returns the data files of the table's current snapshot, as
// its manifests list them (not a directory listing: files of failed or
// abandoned commits are not in it).
func DataFiles(ctx context.Context, tbl *table.Table) ([]iceberg.DataFile, error) {
	if tbl.CurrentSnapshot() == nil {
		return nil, nil
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan files of %s: %w", tbl.Identifier(), err)
	}
	out := make([]iceberg.DataFile, len(tasks))
	for i, t := range tasks {
		out[i] = t.File
	}
	return out, nil
}

// CompactOptions tune Compact.
type CompactOptions struct {
	// TargetFileBytes: files smaller than this are rewritten, and rewritten
	// files hold about this much (before compression). Zero means 128 MiB.
	TargetFileBytes int64
	// MinFiles is the fewest small files of one partition worth a rewrite;
	// zero means 2.
	MinFiles int
}

// CompactResult says what Compact did.
type CompactResult struct {
	FilesBefore, FilesAfter int
	Rewritten, Written      int
	Rows                    int64
}

// Compact rewrites the small data files of each table partition into
// bigger ones, in one commit that keeps every connectd.offsets.* property
// of the table's history in the new snapshot (so sinks still find their
// offsets). It asserts the branch head it read: if a sink commits in the
// meantime, Compact deletes the files it wrote and fails with an error
// wrapping table.ErrCommitFailed; run it again. Rows are unchanged.
func Compact(ctx context.Context, cat catalog.Catalog, name string, o CompactOptions) (CompactResult, error) {
	if o.TargetFileBytes <= 0 {
		o.TargetFileBytes = 128 << 20
	}
	if o.MinFiles <= 0 {
		o.MinFiles = 2
	}
	var res CompactResult
	tbl, err := cat.LoadTable(ctx, ident(name))
	if err != nil {
		return res, fmt.Errorf("load table %s: %w", name, err)
	}
	if tbl.CurrentSnapshot() == nil {
		return res, nil
	}
	scan := tbl.Scan()
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return res, fmt.Errorf("plan files of %s: %w", name, err)
	}
	res.FilesBefore, res.FilesAfter = len(tasks), len(tasks)
	groups := map[string][]table.FileScanTask{}
	for _, t := range tasks {
		if t.File.FileSizeBytes() >= o.TargetFileBytes || len(t.DeleteFiles) > 0 || len(t.EqualityDeleteFiles) > 0 || len(t.DeletionVectorFiles) > 0 {
			continue
		}
		key := fmt.Sprint(t.File.SpecID(), sortedPartition(t.File.Partition()))
		groups[key] = append(groups[key], t)
	}
	var old, added []iceberg.DataFile
	fs, err := tbl.FS(ctx)
	if err != nil {
		return res, err
	}
	cleanup := func() {
		for _, f := range added {
			_ = fs.Remove(f.FilePath())
		}
	}
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		g := groups[key]
		if len(g) < o.MinFiles {
			continue
		}
		sc, recs, err := scan.ReadTasks(ctx, g)
		if err != nil {
			cleanup()
			return res, fmt.Errorf("read files of %s: %w", name, err)
		}
		counted := func(yield func(arrow.RecordBatch, error) bool) {
			for rb, err := range recs {
				if err == nil {
					res.Rows += rb.NumRows()
				}
				if !yield(rb, err) {
					return
				}
			}
		}
		for df, err := range table.WriteRecords(ctx, tbl, sc, counted, table.WithTargetFileSize(o.TargetFileBytes)) {
			if err != nil {
				cleanup()
				return res, fmt.Errorf("write compacted files of %s: %w", name, err)
			}
			added = append(added, df)
		}
		for _, t := range g {
			old = append(old, t.File)
		}
	}
	if len(old) == 0 {
		return res, nil
	}
	tx := tbl.NewTransaction()
	if err := tx.AssertRefSnapshotID(""); err != nil {
		cleanup()
		return res, err
	}
	props := iceberg.Properties{"connectd.operation": "compact"}
	maps.Copy(props, allOffsetProps(tbl))
	if err := tx.ReplaceDataFilesWithDataFiles(ctx, old, added, props); err != nil {
		cleanup()
		return res, fmt.Errorf("stage compaction of %s: %w", name, err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		if isConflict(err) {
			cleanup()
		}
		return res, fmt.Errorf("commit compaction of %s: %w", name, err)
	}
	res.Rewritten, res.Written = len(old), len(added)
	res.FilesAfter = res.FilesBefore - len(old) + len(added)
	return res, nil
}

func sortedPartition(p map[int]any) string {
	var s string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		s += fmt.Sprintf("%d=%v;", k, p[k])
	}
	return s
}

// ExpireOptions tune ExpireSnapshots.
type ExpireOptions struct {
	// OlderThan: snapshots older than this may be expired.
	OlderThan time.Duration
	// RetainLast snapshots are kept whatever their age (at least 1).
	RetainLast int
}

// ExpireResult says what ExpireSnapshots did.
type ExpireResult struct {
	Before, After int
}

// ExpireSnapshots expires old snapshots of the table and deletes the files
// only they referenced. It always keeps the newest snapshot that carries
// each connector's offsets property, and those after it, so sinks still
// find their offsets.
func ExpireSnapshots(ctx context.Context, cat catalog.Catalog, name string, o ExpireOptions) (ExpireResult, error) {
	var res ExpireResult
	tbl, err := cat.LoadTable(ctx, ident(name))
	if err != nil {
		return res, fmt.Errorf("load table %s: %w", name, err)
	}
	res.Before = len(tbl.Metadata().Snapshots())
	keep := max(o.RetainLast, 1, offsetDepth(tbl))
	tx := tbl.NewTransaction()
	if err := tx.ExpireSnapshots(table.WithOlderThan(o.OlderThan), table.WithRetainLast(keep)); err != nil {
		return res, fmt.Errorf("expire snapshots of %s: %w", name, err)
	}
	nt, err := tx.Commit(ctx)
	if err != nil {
		return res, fmt.Errorf("commit snapshot expiry of %s: %w", name, err)
	}
	res.After = len(nt.Metadata().Snapshots())
	return res, nil
}

// offsetDepth returns how many snapshots, counting back from the current
// one, it takes to see every connector's offsets property.
func offsetDepth(tbl *table.Table) int {
	want := allOffsetProps(tbl)
	seen := map[string]bool{}
	meta := tbl.Metadata()
	depth := 0
	for s := tbl.CurrentSnapshot(); s != nil && len(seen) < len(want); {
		depth++
		if s.Summary != nil {
			for k := range want {
				if _, ok := s.Summary.Properties[k]; ok {
					seen[k] = true
				}
			}
		}
		if s.ParentSnapshotID == nil {
			break
		}
		s = meta.SnapshotByID(*s.ParentSnapshotID)
	}
	return depth
}

// RemoveOrphans deletes files under the table's location that no snapshot
// references and that are older than olderThan: data files of commits
// that failed or whose process died before committing. Keep olderThan
// well above the longest commit of a running sink (an hour, say): a file
// written for a commit still in flight is an orphan until it commits.
func RemoveOrphans(ctx context.Context, cat catalog.Catalog, name string, olderThan time.Duration, dryRun bool) ([]string, error) {
	tbl, err := cat.LoadTable(ctx, ident(name))
	if err != nil {
		return nil, fmt.Errorf("load table %s: %w", name, err)
	}
	r, err := tbl.DeleteOrphanFiles(ctx, table.WithFilesOlderThan(olderThan), table.WithDryRun(dryRun))
	if err != nil {
		return nil, fmt.Errorf("remove orphan files of %s: %w", name, err)
	}
	return r.OrphanFileLocations, nil
}
