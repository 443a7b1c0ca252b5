package worker_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectd/connectd/sources/generator"
)

// TestFlushOnSize: with offset.flush.interval.ms far away, a sink task
// still flushes and commits once offset.flush.max.records records were
// written since its last flush.
func TestFlushOnSize(t *testing.T) {
	t.Parallel()
	const n = 8_000
	_, logger := newLogs(t)
	addr := startBroker(t, logger)
	k := newClient(t, addr, logger)
	reg := newRegistry(t)
	produceEvents(t, k, "clicks", 2, generator.Options{Seed: 12, Users: 1000, Start: genStart, EventsPerSecond: 1000}, n, 2000, false)
	recs := readTopic(t, k, "clicks")
	dir := filepath.Join(t.TempDir(), "files")
	sink := parseConfig(t, reg, "files", map[string]string{
		"connector.class":                    "file",
		"topics":                             "clicks",
		"file.dir":                           dir,
		"flush.size":                         "500",
		"flush.interval.ms":                  "0",
		"offset.flush.interval.ms":           "600000",
		"offset.flush.max.records":           "1000",
		"consumer.override.max.poll.records": "200",
	})
	w := startWorker(t, k, reg, logger, 10*time.Second, sink)
	// Everything but the last partial batch (fewer than 1000 records,
	// which waits for the interval) is committed without the interval.
	waitFor(t, 30*time.Second, func() bool {
		w.checkNotFailed(t)
		tot, _ := w.Totals("files")
		return tot.Consumed == n && tot.Committed >= n-1000
	}, func() string {
		got, _ := k.Admin().GroupOffsets(context.Background(), sink.Group())
		tot, _ := w.Totals("files")
		return fmt.Sprintf("group offsets %v; sink %s", got, fmtTotals(tot))
	})
	tot, _ := w.Totals("files")
	if tot.Transactions < 2 {
		t.Errorf("%d transactions for %d records with offset.flush.max.records=1000: want several", tot.Transactions, n)
	}
	w.stop(t, 15*time.Second) // the final flush commits the tail
	if got, _ := k.Admin().GroupOffsets(context.Background(), sink.Group()); !maps.Equal(got, lastOffsets(recs)) {
		t.Errorf("after the stop the group committed %v, want %v", got, lastOffsets(recs))
	}
	checkFilesMatchTopic(t, dir, recs, nil)
}
