package clickhouse_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/testservers"
	"github.com/connectd/connectd/sinks/clickhouse"
)

// rollupEvents returns click events at offsets [from, to) of tp: a minute
// of event time every 40 offsets, three pages, page views and clicks,
// 25 users, a purchase every 7th event.
func rollupEvents(tp connector.TopicPartition, from, to int64) []connector.Record {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var out []connector.Record
	for off := from; off < to; off++ {
		ts := base.Add(time.Duration(off/40)*time.Minute + time.Duration(off%40)*time.Second)
		typ, revenue := "page_view", ""
		if off%3 == 1 {
			typ = "click"
		}
		if off%7 == 0 {
			typ, revenue = "purchase", fmt.Sprintf(`,"revenue":%d.5`, off%10)
		}
		v := fmt.Sprintf(`{"event_id":"e-%d-%d","timestamp":%q,"user_id":"u%d","session_id":"s%d","event_type":%q,"page_url":"/p/%d"%s}`,
			tp.Partition, off, ts.Format(time.RFC3339), off%25, off%25, typ, off%3, revenue)
		out = append(out, connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: off, Value: []byte(v), Timestamp: ts})
	}
	return out
}

// wantPageViews computes, from the records alone, what the page-views
// rollup must say per minute and page: events, page views, distinct
// users, revenue, as "minute page events views users revenue" lines.
func wantPageViews(recs []connector.Record) string {
	type agg struct {
		events, views int
		users         map[string]bool
		revenue       float64
	}
	by := map[string]*agg{}
	for _, r := range recs {
		v := string(r.Value)
		field := func(name string) string {
			i := strings.Index(v, `"`+name+`":`)
			rest := strings.TrimPrefix(v[i+len(name)+3:], `"`)
			return rest[:strings.IndexAny(rest, `",}`)]
		}
		key := r.Timestamp.Truncate(time.Minute).Format("2006-01-02 15:04:05") + "\t" + field("page_url")
		a := by[key]
		if a == nil {
			a = &agg{users: map[string]bool{}}
			by[key] = a
		}
		a.events++
		if field("event_type") == "page_view" {
			a.views++
		}
		a.users[field("user_id")] = true
		if strings.Contains(v, `"revenue"`) {
			var x float64
			fmt.Sscan(field("revenue"), &x)
			a.revenue += x
		}
	}
	var lines []string
	for k, a := range by {
		lines = append(lines, fmt.Sprintf("%s\t%d\t%d\t%d\t%g", k, a.events, a.views, len(a.users), a.revenue))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestResetRecomputesPageViews backfills a partition (offset reset to an
// offset inside a batch) with the page-views rollup on: the replayed rows
// are inserted again, and the rollup must still count every event once,
// as the records say, while another partition's rows stay as they were.
// Without taking the replayed rows' states out of the rollup, the
// replayed range would count twice there; the correction's first step is
// also run twice before, as crashed starts would leave it.
func TestResetRecomputesPageViews(t *testing.T) {
	srv := testservers.StartClickHouse(t)
	ctx := context.Background()
	cfg := decode(t, with(serverKeys(srv, "native"), "table", "rolled", "rollup.pageviews.enable", "true",
		"batch.size", "50", "flush.interval.ms", "0"))
	a := connector.TopicPartition{Topic: "clicks", Partition: 0}
	b := connector.TopicPartition{Topic: "clicks", Partition: 1}
	all := append(rollupEvents(a, 0, 300), rollupEvents(b, 0, 200)...)
	want := wantPageViews(all)
	rollup := func() string {
		return query(t, srv, "SELECT minute, page_url, countMerge(events), countIfMerge(page_views), uniqMerge(users), sumMerge(revenue) "+
			"FROM default.rolled_pageviews_1m GROUP BY minute, page_url ORDER BY minute, page_url")
	}
	run := func(s *clickhouse.Sink, recs []connector.Record) {
		t.Helper()
		if err := s.Write(ctx, recs); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}

	s := newSink(t, cfg, "rolled")
	if _, err := s.Open(ctx, map[connector.TopicPartition]int64{a: 0, b: 0}); err != nil {
		t.Fatal(err)
	}
	run(s, all)
	if got := rollup(); got != want {
		t.Fatalf("rollup after the first pass:\n%s\nwant:\n%s", got, want)
	}
	if _, err := s.ResetOffsets(ctx, map[connector.TopicPartition]int64{a: 120}); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	s2 := newSink(t, cfg, "rolled")
	// As if two earlier starts had crashed right after inserting the
	// recomputed rollup rows, before deleting the old ones: the reset's
	// token must make the server drop the repeats.
	for range 2 {
		if err := s2.InsertRecomputedPageViews(ctx, "rolled", a, 120, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s2.Open(ctx, map[connector.TopicPartition]int64{a: 120, b: 200}); err != nil {
		t.Fatal(err)
	}
	run(s2, rollupEvents(a, 120, 300))
	if got := query(t, srv, "SELECT count(), uniqExact(_partition, _offset) FROM default.rolled"); got != "500\t500" {
		t.Errorf("raw rows, distinct offsets = %s, want 500 of each", got)
	}
	if got := rollup(); got != want {
		t.Errorf("rollup after the backfill:\n%s\nwant (every event once):\n%s", got, want)
	}
}
