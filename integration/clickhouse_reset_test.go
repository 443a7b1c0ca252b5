//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestClickHouseBackfill is the one-command backfill into ClickHouse: a
// ClickHouse sink with the page-views rollup lands a generated
// clickstream; `connectd offsets reset --to-datetime` with a time in the
// middle of the events stops it, moves its offsets back and resumes it,
// and the replay rewrites the second half. Afterwards the events table
// holds every event once (count = distinct offsets = the events
// written), the rollup agrees with the events minute by minute and page
// by page (nothing counted twice), and the sink's resets table shows the
// reset applied on every partition.
func TestClickHouseBackfill(t *testing.T) {
	const events, start = 60_000, "2026-11-01T08:00:00Z"
	dir := t.TempDir()
	configDir := filepath.Join(dir, "configs")
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ch, _ := clickhouseServer(t, filepath.Join(dir, "clickhouse"), false)
	addr, _ := startKafka(t, filepath.Join(dir, "kafka"), dir)
	url, c := generateForReset(t, dir, configDir, addr, events, 2000, 31, start)
	ctx := context.Background()

	sinkFile := filepath.Join(dir, "ch.json")
	writeEnvelope(t, sinkFile, "ch", map[string]string{
		"connector.class":          "clickhouse",
		"topics":                   "clicks",
		"hostname":                 "127.0.0.1",
		"port":                     strconv.Itoa(ch.NativePort),
		"table":                    "events",
		"rollup.pageviews.enable":  "true",
		"batch.size":               "5000",
		"flush.interval.ms":        "1000",
		"offset.flush.interval.ms": "500",
	})
	runCLI(t, "connectors", "create", sinkFile, "--url", url)
	committed := func() map[string]string {
		offs, err := c.Offsets(ctx, "ch")
		if err != nil {
			return nil
		}
		out := map[string]string{}
		for _, o := range offs {
			out[fmt.Sprint(o.Partition["kafka_partition"])] = fmt.Sprint(o.Offset["kafka_offset"])
		}
		return out
	}
	rows := func() string { // the table appears when the sink first starts
		out, err := ch.Query("SELECT count(), uniqExact(_partition, _offset), uniqExact(event_id) FROM default.events")
		if err != nil {
			return err.Error()
		}
		return strings.TrimSpace(out)
	}
	want := fmt.Sprintf("%d\t%d\t%d", events, events, events)
	// Done when every event is stored and the committed offsets have not
	// moved for 3 s (offset.flush.interval.ms is 500; the topic's end
	// offsets also count the generator's transaction markers).
	var end map[string]string
	var since time.Time
	waitFor(t, 3*time.Minute, "every event in ClickHouse and committed", func() (bool, string) {
		now, got := committed(), rows()
		if len(now) != 4 || got != want || !reflect.DeepEqual(now, end) {
			end, since = now, time.Now()
			return false, fmt.Sprintf("rows %s, committed %v", got, now)
		}
		return time.Since(since) > 3*time.Second, fmt.Sprintf("rows %s, committed %v", got, now)
	})
	checkRollup := func(when string) {
		t.Helper()
		raw := clickhouseQuery(t, ch, "SELECT toStartOfMinute(timestamp) AS m, page_url, count(), countIf(event_type = 'page_view'), uniq(user_id) "+
			"FROM default.events GROUP BY m, page_url ORDER BY m, page_url")
		rolled := clickhouseQuery(t, ch, "SELECT minute, page_url, countMerge(events), countIfMerge(page_views), uniqMerge(users) "+
			"FROM default.events_pageviews_1m GROUP BY minute, page_url ORDER BY minute, page_url")
		if raw != rolled {
			t.Errorf("%s: the page-views rollup does not agree with the events table (%d and %d lines)", when, strings.Count(rolled, "\n"), strings.Count(raw, "\n"))
		}
	}
	checkRollup("before the backfill")

	mid, _ := time.Parse(time.RFC3339, start)
	mid = mid.Add(events / 1000 / 2 * time.Second) // unpaced: 1000 events a second of event time
	resetAt := time.Now()
	out := runCLI(t, "offsets", "reset", "--connector", "ch", "--to-datetime", mid.Format(time.RFC3339), "--url", url)
	t.Logf("offsets reset:\n%s", out)
	if !strings.Contains(out, "Resumed connector ch") {
		t.Errorf("reset output does not say the connector resumed:\n%s", out)
	}
	waitFor(t, 3*time.Minute, "the replay to commit up to the end again", func() (bool, string) {
		now := committed()
		return reflect.DeepEqual(now, end) && rows() == want, fmt.Sprintf("committed %v (end %v), rows %s", now, end, rows())
	})
	time.Sleep(2 * time.Second) // a last flush: nothing may change
	if got := rows(); got != want {
		t.Errorf("after the backfill: count, distinct offsets, distinct ids = %s, want %s", got, want)
	}
	checkRollup("after the backfill")
	applied := clickhouseQuery(t, ch, "SELECT count(DISTINCT partition) FROM default.connectd_offset_resets WHERE connector = 'ch' AND applied = 1")
	if applied != "4" {
		t.Errorf("the reset was applied on %s partitions, want 4", applied)
	}
	after := resetAt.UTC().Add(-time.Second).Format("2006-01-02 15:04:05")
	if n := clickhouseQuery(t, ch, "SELECT count() FROM system.parts WHERE database = 'default' AND table = 'events' AND active AND modification_time >= '"+after+"'"); n == "0" {
		t.Error("no part of the events table was written after the reset: the replay did not happen")
	}
}
