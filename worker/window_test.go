package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/processors/window"
	"github.com/connectd/connectd/sources/generator"
)

// The window connector against a real (embedded) Kafka: generated events
// → 1-minute tumbling windows per page_url (count, unique users) → output
// topic, read back read_committed and compared with a computation over
// the same events that does not use windowing/; and a run stopped midway
// and resumed by a new worker gives exactly the results of a run that was
// not.

const (
	winEvents = 40_000
	winEPS    = 20 // event time: 40k events span 2000 s, 33 closed minutes
	winUsers  = 3000
)

func winOptions() generator.Options {
	return generator.Options{Seed: 11, Users: winUsers, Start: genStart, EventsPerSecond: winEPS}
}

func windowConfig(name string) map[string]string {
	return map[string]string{
		"connector.class":          "window",
		"topics":                   "clicks",
		"output.topic":             "pageviews",
		"offset.flush.interval.ms": "100",
		"window.size.ms":           "60000",
		"idle.timeout.ms":          "4000",
		"group.by":                 "page_url",
		"result.name":              "pages_1m",
		"aggregates":               "views,users",
		"aggregate.views.type":     "count",
		"aggregate.users.type":     "distinct",
		"aggregate.users.field":    "user_id",
	}
}

// winKey identifies one expected result.
type winKey struct {
	page  string
	start int64
}

type winValue struct {
	views, users int64
}

// expectedWindows computes, from the events alone, the results of every
// 1-minute window that ends at or before the newest event time: the
// watermark once every partition is idle.
func expectedWindows(tb testing.TB, n int) map[winKey]winValue {
	tb.Helper()
	e, err := generator.NewEngine(winOptions())
	if err != nil {
		tb.Fatal(err)
	}
	type acc struct {
		views int64
		users map[string]bool
	}
	accs := map[winKey]*acc{}
	var newest int64
	for range n {
		ev := e.Next()
		var f struct {
			Timestamp string `json:"timestamp"`
			User      string `json:"user_id"`
			Page      string `json:"page_url"`
		}
		if err := json.Unmarshal(ev.Value, &f); err != nil {
			tb.Fatal(err)
		}
		ts, err := time.Parse(time.RFC3339Nano, f.Timestamp)
		if err != nil {
			tb.Fatal(err)
		}
		ms := ts.UnixMilli()
		newest = max(newest, ms)
		k := winKey{f.Page, ms - ms%60000}
		a := accs[k]
		if a == nil {
			a = &acc{users: map[string]bool{}}
			accs[k] = a
		}
		a.views++
		if f.User != "" {
			a.users[f.User] = true
		}
	}
	out := map[winKey]winValue{}
	for k, a := range accs {
		if k.start+60000 <= newest {
			out[k] = winValue{a.views, int64(len(a.users))}
		}
	}
	return out
}

// winResult is one output record, parsed.
type winResult struct {
	ID          string            `json:"id"`
	Version     int               `json:"version"`
	Aggregate   string            `json:"aggregate"`
	WindowStart time.Time         `json:"window_start"`
	WindowEnd   time.Time         `json:"window_end"`
	Key         map[string]string `json:"key"`
	Values      struct {
		Views int64 `json:"views"`
		Users int64 `json:"users"`
	} `json:"values"`
	raw string
}

// readResults reads the output topic read_committed, failing on a
// malformed record or on an id seen twice (nothing here re-emits).
func readResults(tb testing.TB, k *kafkaClient, topic string) map[string]winResult {
	tb.Helper()
	out := map[string]winResult{}
	for _, r := range readTopic(tb, k, topic) {
		var res winResult
		if err := json.Unmarshal(r.Value, &res); err != nil {
			tb.Fatalf("%s offset %d: %v: %.200q", r.TP(), r.Offset, err, r.Value)
		}
		res.raw = string(r.Value)
		if string(r.Key) != res.ID {
			tb.Errorf("record key %q differs from its id %q", r.Key, res.ID)
		}
		if !r.Timestamp.Equal(res.WindowEnd) {
			tb.Errorf("result %s: record timestamp %v, want the window end %v", res.ID, r.Timestamp, res.WindowEnd)
		}
		if old, dup := out[res.ID]; dup {
			tb.Errorf("result %s is in the output twice: versions %d and %d", res.ID, old.Version, res.Version)
		}
		out[res.ID] = res
	}
	return out
}

// produceFrom writes n events of e to topic (created with 4 partitions),
// keyed by user, in transactions of 2000.
func produceFrom(tb testing.TB, k *kafkaClient, topic string, e *generator.Engine, n int) {
	tb.Helper()
	ctx := context.Background()
	if err := k.Admin().EnsureTopic(ctx, connector.TopicSpec{Name: topic, Partitions: 4, ReplicationFactor: -1}); err != nil {
		tb.Fatal(err)
	}
	cm, err := k.NewCommitter(connector.ProducerConfig{TransactionalID: fmt.Sprintf("test-produce-%s-%d", topic, e.Position())})
	if err != nil {
		tb.Fatal(err)
	}
	defer cm.Close()
	for done := 0; done < n; {
		m := min(2000, n-done)
		recs := make([]connector.ProducerRecord, 0, m)
		for range m {
			ev := e.Next()
			recs = append(recs, connector.ProducerRecord{Topic: topic, Partition: -1, Key: ev.Key, Value: ev.Value})
		}
		if err := cm.Commit(ctx, recs, nil, nil); err != nil {
			tb.Fatal(err)
		}
		done += m
	}
}

// runWindow runs the window connector over winEvents events on a broker
// of its own. With restart, the first worker sees the first half of the
// events and is stopped once it has emitted results; a new worker
// resumes from the committed offsets and the changelog and sees the rest.
func runWindow(t *testing.T, restart bool) map[string]winResult {
	_, logger := newLogs(t)
	addr := startBroker(t, logger)
	reg := newRegistry(t, window.Plugin())
	e, err := generator.NewEngine(winOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := len(expectedWindows(t, winEvents))
	k := newClient(t, addr, logger)
	if restart {
		produceFrom(t, k, "clicks", e, winEvents/2)
		w1 := startWorker(t, k, reg, logger, shutdown, parseConfig(t, reg, "pages", windowConfig("pages")))
		waitFor(t, 60*time.Second, func() bool {
			w1.checkNotFailed(t)
			return len(readTopic(t, k, "pageviews")) > want/4
		}, func() string { tot, _ := w1.Totals("pages"); return "first worker: " + fmtTotals(tot) })
		w1.stop(t, shutdown+5*time.Second)
		tot, _ := w1.Totals("pages")
		t.Logf("first worker: %s; results so far %d", fmtTotals(tot), len(readTopic(t, k, "pageviews")))
		produceFrom(t, k, "clicks", e, winEvents-winEvents/2)
	} else {
		produceFrom(t, k, "clicks", e, winEvents)
	}
	k2 := newClient(t, addr, logger)
	w := startWorker(t, k2, reg, logger, shutdown, parseConfig(t, reg, "pages", windowConfig("pages")))
	waitFor(t, 90*time.Second, func() bool {
		w.checkNotFailed(t)
		return len(readTopic(t, k2, "pageviews")) >= want
	}, func() string {
		tot, _ := w.Totals("pages")
		return fmt.Sprintf("%d of %d results; totals %s", len(readTopic(t, k2, "pageviews")), want, fmtTotals(tot))
	})
	time.Sleep(500 * time.Millisecond) // nothing more may come
	w.stop(t, shutdown+5*time.Second)
	recs := readTopic(t, k2, "clicks")
	checkGroupCovers(t, k2, "connect-pages", "clicks", recs)
	if cl := readTopic(t, k2, "pages-changelog"); len(cl) == 0 {
		t.Error("the changelog pages-changelog is empty")
	}
	return readResults(t, k2, "pageviews")
}

func checkAgainstComputation(t *testing.T, got map[string]winResult) {
	t.Helper()
	want := expectedWindows(t, winEvents)
	seen := map[winKey]bool{}
	bad := 0
	for _, r := range got {
		k := winKey{r.Key["page_url"], r.WindowStart.UnixMilli()}
		w, ok := want[k]
		switch {
		case r.Aggregate != "pages_1m" || r.Version != 1 || r.WindowEnd.Sub(r.WindowStart) != time.Minute:
			t.Errorf("result %s: %s", r.ID, r.raw)
		case !ok:
			t.Errorf("result %s for a window the computation does not have: %s", r.ID, r.raw)
		case seen[k]:
			t.Errorf("two results for page %s window %v", k.page, r.WindowStart)
		case r.Values.Views != w.views || r.Values.Users != w.users:
			t.Errorf("page %s window %v: views %d users %d, want %d and %d", k.page, r.WindowStart, r.Values.Views, r.Values.Users, w.views, w.users)
		default:
			seen[k] = true
			continue
		}
		if bad++; bad > 10 {
			t.Fatal("too many differences")
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d results match, want %d", len(seen), len(want))
	}
}

// TestWindowMatchesComputation: an uninterrupted run and a run stopped
// and resumed by a new worker both equal the independent computation,
// and each other (same ids, same bytes), with each result once.
func TestWindowMatchesComputation(t *testing.T) {
	t.Parallel()
	var plain, restarted map[string]winResult
	t.Run("group", func(t *testing.T) {
		t.Run("uninterrupted", func(t *testing.T) {
			t.Parallel()
			plain = runWindow(t, false)
			checkAgainstComputation(t, plain)
		})
		t.Run("restarted", func(t *testing.T) {
			t.Parallel()
			restarted = runWindow(t, true)
			checkAgainstComputation(t, restarted)
		})
	})
	if t.Failed() {
		return
	}
	sameResults(t, "restarted", plain, restarted)
}

// sameResults fails unless run holds exactly the results of plain (the
// uninterrupted run), byte for byte.
func sameResults(t *testing.T, run string, plain, got map[string]winResult) {
	t.Helper()
	if len(plain) != len(got) {
		t.Errorf("uninterrupted run has %d results, %s run %d", len(plain), run, len(got))
	}
	for _, id := range slices.Sorted(maps.Keys(plain)) {
		if r, ok := got[id]; !ok || r.raw != plain[id].raw {
			t.Errorf("result %s: uninterrupted %s, %s %s", id, plain[id].raw, run, r.raw)
		}
	}
}

// countingWindow is the window plugin with a count of the records its
// Writes accepted, for benchSinkTask.
func countingWindow(c *nopCount) connector.Plugin {
	p := window.Plugin()
	base := p.NewSink
	p.NewSink = func(cfg any, info connector.TaskInfo) (connector.Sink, error) {
		s, err := base(cfg, info)
		if err != nil {
			return nil, err
		}
		return &countedSink{Sink: s.(*window.Sink), c: c}, nil
	}
	return p
}

type countedSink struct {
	*window.Sink
	c *nopCount
}

func (s *countedSink) Open(ctx context.Context, a map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	s.c.mu.Lock()
	if s.c.opened.IsZero() {
		s.c.opened = time.Now()
	}
	s.c.mu.Unlock()
	return s.Sink.Open(ctx, a)
}

func (s *countedSink) Write(ctx context.Context, batch []connector.Record) error {
	err := s.Sink.Write(ctx, batch)
	s.c.mu.Lock()
	s.c.written += int64(len(batch))
	s.c.last = time.Now()
	s.c.mu.Unlock()
	return err
}

func benchWindow(b *testing.B, kv map[string]string) {
	benchSinkTask(b, func() (*connector.Registry, map[string]string, func() (int64, time.Time, time.Time)) {
		c := &nopCount{}
		cfg := map[string]string{"connector.class": "window", "topics": benchTopic, "output.topic": "bench.window.out"}
		maps.Copy(cfg, kv)
		return newRegistry(b, countingWindow(c)), cfg, c.get
	})
}

// BenchmarkWindowTumbling1mHLL: consume → 1-minute tumbling windows with
// count and unique users and sessions (HyperLogLog beyond 1024) →
// results and changelog in the offsets' transactions.
func BenchmarkWindowTumbling1mHLL(b *testing.B) { benchWindow(b, tumbling1mHLL()) }

// tumbling1mHLL is the window config of BenchmarkWindowTumbling1mHLL.
func tumbling1mHLL() map[string]string {
	return map[string]string{
		"window.size.ms":                  "60000",
		"aggregates":                      "events,unique_users,unique_sessions",
		"aggregate.events.type":           "count",
		"aggregate.unique_users.type":     "distinct",
		"aggregate.unique_users.field":    "user_id",
		"aggregate.unique_sessions.type":  "distinct",
		"aggregate.unique_sessions.field": "session_id",
	}
}

// BenchmarkWindowSessions30m: 30-minute-gap sessions per user.
func BenchmarkWindowSessions30m(b *testing.B) { benchWindow(b, sessions30m()) }

// sessions30m is the window config of BenchmarkWindowSessions30m.
func sessions30m() map[string]string {
	return map[string]string{
		"window.type":            "session",
		"group.by":               "user_id",
		"aggregates":             "session",
		"aggregate.session.type": "sessions",
	}
}

// BenchmarkWindowMetrics5m: the 5-minute metric set of
// configs/window-metrics-5m.json.
func BenchmarkWindowMetrics5m(b *testing.B) {
	benchWindow(b, map[string]string{
		"window.size.ms":                  "300000",
		"aggregates":                      "events,unique_users,unique_sessions,by_event_type,by_device,by_referrer,by_page,duration_ms",
		"aggregate.events.type":           "count",
		"aggregate.unique_users.type":     "distinct",
		"aggregate.unique_users.field":    "user_id",
		"aggregate.unique_sessions.type":  "distinct",
		"aggregate.unique_sessions.field": "session_id",
		"aggregate.by_event_type.type":    "count_by",
		"aggregate.by_event_type.field":   "event_type",
		"aggregate.by_device.type":        "count_by",
		"aggregate.by_device.field":       "device_type",
		"aggregate.by_referrer.type":      "count_by",
		"aggregate.by_referrer.field":     "referrer",
		"aggregate.by_page.type":          "top_k",
		"aggregate.by_page.field":         "page_url",
		"aggregate.duration_ms.type":      "stats",
		"aggregate.duration_ms.field":     "duration_ms",
	})
}

// BenchmarkWindowFunnel5m: the checkout funnel per 5 minutes.
func BenchmarkWindowFunnel5m(b *testing.B) {
	benchWindow(b, map[string]string{
		"window.size.ms":          "300000",
		"aggregates":              "checkout",
		"aggregate.checkout.type": "funnel",
		"aggregate.checkout.steps": "page_url^=https://shop.example.com/p/,event_type=add_to_cart," +
			"page_url=https://shop.example.com/checkout,event_type=purchase",
	})
}
