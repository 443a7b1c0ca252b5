package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/embedkafka"
	"github.com/connectd/connectd/windowing"
)

// topSample is a result topic written by hand: two versions and an older
// window of a 5-minute metric set, per-page counts with an alert, and a
// retracted result.
func topSample() []string {
	return []string{
		`{"id":"m1","version":1,"aggregate":"metrics_5m","window_start":"2026-01-02T09:55:00Z","window_end":"2026-01-02T10:00:00Z","key":{},"values":{"count":9000,"unique_users":900}}`,
		`{"id":"m2","version":1,"aggregate":"metrics_5m","window_start":"2026-01-02T10:00:00Z","window_end":"2026-01-02T10:05:00Z","key":{},"values":{"count":1}}`,
		`{"id":"m2","version":2,"aggregate":"metrics_5m","window_start":"2026-01-02T10:00:00Z","window_end":"2026-01-02T10:05:00Z","key":{},` +
			`"values":{"count":12345,"unique_users":1234,"unique_sessions":1456,"avg_duration_ms":5321.25,` +
			`"by_device_type":{"desktop":6000,"mobile":5000,"tablet":1345},` +
			`"by_referrer":{"google":5000,"direct":3000,"facebook":2000,"twitter":1000,"bing":800,"newsletter":400,"(other)":145},` +
			`"top_pages":[{"value":"/products","count":4000},{"value":"/cart","count":1500},{"value":"/checkout","count":700}],` +
			`"checkout":{"steps":[{"step":"page_url^=/products","users":1000,"conversion":1,"from_previous":1},{"step":"event_type=add_to_cart","users":300,"conversion":0.3,"from_previous":0.3},{"step":"event_type=purchase","users":100,"conversion":0.1,"from_previous":0.3333}],"conversion":0.1},` +
			`"high_traffic":{"count":12345,"threshold":10000,"fired":true}},"alerts":["high_traffic"]}`,
		`{"id":"p1","version":1,"aggregate":"page_views_1m","window_start":"2026-01-02T10:04:00Z","window_end":"2026-01-02T10:05:00Z","key":{"page_url":"/products"},"values":{"count":4000,"hot":{"count":4000,"threshold":3000,"fired":true}},"alerts":["hot"]}`,
		`{"id":"p2","version":1,"aggregate":"page_views_1m","window_start":"2026-01-02T10:04:00Z","window_end":"2026-01-02T10:05:00Z","key":{"page_url":"/cart"},"values":{"count":1500,"hot":{"count":1500,"threshold":3000,"fired":false}}}`,
		`{"id":"p3","version":1,"aggregate":"page_views_1m","window_start":"2026-01-02T10:04:00Z","window_end":"2026-01-02T10:05:00Z","key":{"page_url":"/checkout"},"values":{"count":700,"hot":{"count":700,"threshold":3000,"fired":false}}}`,
		`{"id":"p4","version":1,"aggregate":"page_views_1m","window_start":"2026-01-02T10:04:00Z","window_end":"2026-01-02T10:05:00Z","key":{"page_url":"/home"},"values":{"count":2200,"hot":{"count":2200,"threshold":3000,"fired":false}}}`,
		`{"id":"p5","version":1,"aggregate":"page_views_1m","window_start":"2026-01-02T10:04:00Z","window_end":"2026-01-02T10:05:00Z","key":{"page_url":"/gone"},"values":{"count":5}}`,
		`{"id":"p5","version":2,"aggregate":"page_views_1m","window_start":"2026-01-02T10:04:00Z","window_end":"2026-01-02T10:05:00Z","key":{"page_url":"/gone"},"retract":true}`,
		`not json`,
	}
}

func recordOf(value string) connector.Record {
	return connector.Record{Topic: "metrics", Value: []byte(value)}
}

// sampleFrame is the frame of topSample at 100 columns.
const sampleFrame = `connectd top · clicks.metrics
10 records read, 1 not results (skipped)

── metrics_5m ── 2026-01-02 10:00:00 → 10:05:00 UTC (5m) · v2 ──────────────────────────────────────
  events 12,345   unique users 1,234   unique sessions 1,456   avg duration ms 5,321.2

  by device type                                    by referrer
  desktop  █████████████████████████  6,000  48.6%  google    ████████████████████████  5,000  40.5%
  mobile   ████████████████████▉      5,000  40.5%  direct    ██████████████▍           3,000  24.3%
  tablet   █████▋                     1,345  10.9%  facebook  █████████▋                2,000  16.2%
                                                    twitter   ████▊                     1,000   8.1%
                                                    bing      ███▉                        800   6.5%
                                                    (2 more)  ██▋                         545   4.4%

  top pages
  /products  ██████████████████████████████  4,000
  /cart      ███████████▎                    1,500
  /checkout  █████▎                            700

  checkout · conversion 10.0%
  1 page_url^=/products     ███████████████████████████████████  1,000 users                  100.0%
  2 event_type=add_to_cart  ██████████▌                            300 users  30.0% (30.0% of prev.)
  3 event_type=purchase     ███▌                                   100 users  10.0% (33.3% of prev.)

  ALERT high_traffic: 12,345 > 10,000

── page_views_1m ── 2026-01-02 10:04:00 → 10:05:00 UTC (1m) · 4 keys ───────────────────────────────
  events by page_url
  /products  █████████████████████████████████████████████████████████████████████  4,000  ALERT hot
  /home      ██████████████████████████████████████                                 2,200
  /cart      █████████████████████████▉                                             1,500
  /checkout  ████████████▏                                                            700
`

func sampleState(t *testing.T, only string) *topState {
	t.Helper()
	st := newTopState("clicks.metrics", only)
	st.exists = true
	for _, v := range topSample() {
		st.add(recordOf(v))
	}
	return st
}

func TestTopRenderFrame(t *testing.T) {
	st := sampleState(t, "")
	got := renderFrame(topFrame{Topic: "clicks.metrics", Note: st.note("", time.Second), Results: st.list()}, 100)
	checkOutput(t, got, sampleFrame)
}

func TestTopRenderFitsWidth(t *testing.T) {
	st := sampleState(t, "")
	for _, w := range []int{40, 60, 79, 80, 100, 160} {
		frame := renderFrame(topFrame{Topic: "clicks.metrics", Note: st.note("", time.Second), Results: st.list()}, w)
		for l := range strings.Lines(frame) {
			l = strings.TrimSuffix(l, "\n")
			if n := utf8.RuneCountInString(l); n > w {
				t.Errorf("width %d: line of %d columns: %q", w, n, l)
			}
		}
		if !strings.Contains(frame, "ALERT high_traffic") {
			t.Errorf("width %d: the fired alert is missing:\n%s", w, frame)
		}
	}
}

func TestTopRenderSmallGroupsInFull(t *testing.T) {
	results := []string{
		`{"id":"a","version":1,"aggregate":"funnel_5m","window_start":"2026-01-02T10:00:00Z","window_end":"2026-01-02T10:05:00Z","key":{"device_type":"mobile"},` +
			`"values":{"count":40,"checkout":{"steps":[{"step":"view","users":20,"conversion":1,"from_previous":1},{"step":"buy","users":5,"conversion":0.25,"from_previous":0.25}],"conversion":0.25}}}`,
		`{"id":"b","version":3,"aggregate":"funnel_5m","window_start":"2026-01-02T10:00:00Z","window_end":"2026-01-02T10:05:00Z","key":{"device_type":"desktop"},"early":true,` +
			`"values":{"count":10,"checkout":{"steps":[{"step":"view","users":8,"conversion":1,"from_previous":1},{"step":"buy","users":0,"conversion":0,"from_previous":0}],"conversion":0}}}`,
		`{"id":"s","version":1,"aggregate":"sessions","window_start":"2026-01-02T09:00:00Z","window_end":"2026-01-02T10:30:00.5Z","key":{"user_id":"u1"},` +
			`"values":{"user":"u1","duration_ms":3600500,"page_count":3,"path":["/home","/products","/cart"],"bounce":false,"revenue":12.5}}`,
	}
	st := newTopState("t", "")
	st.exists = true
	for _, v := range results {
		st.add(recordOf(v))
	}
	got := renderFrame(topFrame{Topic: "t", Results: st.list()}, 70)
	checkOutput(t, got, `connectd top · t

── funnel_5m ── 2026-01-02 10:00:00 → 10:05:00 UTC (5m) · 2 keys ─────
  device_type=desktop · v3 · closed early
  events 10

  checkout · conversion 0.0%
  1 view  █████████████████████████████  8 users                100.0%
  2 buy                                  0 users  0.0% (0.0% of prev.)

  device_type=mobile
  events 40

  checkout · conversion 25.0%
  1 view  ██████████████████████████  20 users                  100.0%
  2 buy   ██████▌                      5 users  25.0% (25.0% of prev.)

── sessions ── 2026-01-02 09:00:00 → 10:30:00 UTC (1h30m0.5s) ────────
  user_id=u1
  bounce false   duration ms 3,600,500   page count 3
  path /home → /products → /cart   revenue 12.5   user u1
`)
}

// TestTopReadsWindowingResults checks the value shapes against the real
// windowing types, through Result.MarshalJSON.
func TestTopReadsWindowingResults(t *testing.T) {
	start := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC).UnixMilli()
	res := windowing.Result{
		ID: "r1", Version: 2, Aggregate: "metrics_5m", WindowStart: start, WindowEnd: start + 300_000,
		Values: map[string]any{
			"events":          int64(10),
			"unique_users":    int64(4),
			"avg_duration_ms": 250.5,
			"by_device":       map[string]int64{"mobile": 7, "desktop": 3},
			"by_page":         []windowing.TopEntry{{Value: "/a", Count: 6}, {Value: "/b", Count: 4}},
			"checkout": windowing.FunnelValue{Conversion: 0.5, Steps: []windowing.FunnelStep{
				{Step: "page_url^=/products", Users: 4, Conversion: 1, FromPrev: 1},
				{Step: "event_type=purchase", Users: 2, Conversion: 0.5, FromPrev: 0.5}}},
			"hot": windowing.AlertValue{Count: 10, Threshold: 5, Fired: true},
		},
		Alerts: []string{"hot"},
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	st := newTopState("t", "")
	st.exists = true
	st.add(recordOf(string(b)))
	got := renderFrame(topFrame{Topic: "t", Results: st.list()}, 80)
	checkOutput(t, got, `connectd top · t

── metrics_5m ── 2026-01-02 10:00:00 → 10:05:00 UTC (5m) · v2 ──────────────────
  events 10   unique users 4   avg duration ms 250.5

  by device                               by page
  mobile   ███████████████████  7  70.0%  /a  ███████████████████████████████  6
  desktop  ████████▏            3  30.0%  /b  ████████████████████▋            4

  checkout · conversion 50.0%
  1 page_url^=/products  ██████████████████████  4 users                  100.0%
  2 event_type=purchase  ███████████             2 users  50.0% (50.0% of prev.)

  ALERT hot: 10 > 5
`)
}

func TestTopRenderNothingYet(t *testing.T) {
	got := renderFrame(topFrame{Topic: "t", Note: "topic t does not exist yet"}, 100)
	checkOutput(t, got, "connectd top · t\ntopic t does not exist yet\n\nno closed windows yet\n")
}

// ids lists the held results as id/version, sorted.
func ids(st *topState) []string {
	var out []string
	for _, r := range st.list() {
		out = append(out, fmt.Sprintf("%s/v%d", r.ID, r.Version))
	}
	slices.Sort(out)
	return out
}

func TestTopStateKeepsNewestVersionOfNewestWindow(t *testing.T) {
	st := sampleState(t, "")
	if got := fmt.Sprint(ids(st)); got != "[m2/v2 p1/v1 p2/v1 p3/v1 p4/v1]" {
		t.Fatalf("held %s; want m2 at v2, the pages but the retracted one, not the older window m1", got)
	}
	// An older version, or a re-emission of a window no longer shown, changes nothing.
	st.add(recordOf(topSample()[1]))
	st.add(recordOf(topSample()[0]))
	if got := fmt.Sprint(ids(st)); got != "[m2/v2 p1/v1 p2/v1 p3/v1 p4/v1]" {
		t.Fatalf("after old records: held %s", got)
	}
	// A newer window replaces the aggregate's results; a tombstone deletes.
	st.add(recordOf(`{"id":"p9","version":1,"aggregate":"page_views_1m","window_start":"2026-01-02T10:05:00Z","window_end":"2026-01-02T10:06:00Z","key":{"page_url":"/x"},"values":{"count":1}}`))
	st.add(connector.Record{Key: []byte("m2")})
	if got := fmt.Sprint(ids(st)); got != "[p9/v1]" {
		t.Fatalf("after a newer page window and a tombstone for m2: held %s, want [p9/v1]", got)
	}
	if st.read != 14 || st.skipped != 1 {
		t.Errorf("read %d, skipped %d; want 14 and 1", st.read, st.skipped)
	}

	only := sampleState(t, "page_views_1m")
	if got := fmt.Sprint(ids(only)); got != "[p1/v1 p2/v1 p3/v1 p4/v1]" {
		t.Errorf("--aggregate page_views_1m: held %s", got)
	}
	if got := only.note("", time.Second); got != "10 records read, 1 not results (skipped) · aggregate page_views_1m only" {
		t.Errorf("note = %q", got)
	}
}

func TestTopUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--topic is required: the result topic of a window connector"},
		{[]string{"--topic", "t", "--interval", "0s", "--bootstrap-servers", "h:1"}, "--interval 0s: must be positive, e.g. 1s"},
		{[]string{"--topic", "t", "extra"}, `unexpected argument "extra"`},
		{[]string{"--topic", "t"}, "say which Kafka to use: --bootstrap-servers host:port, --embedded-kafka DIR, or --data-dir DIR (embedded Kafka in DIR/kafka)"},
	} {
		var stdout, stderr bytes.Buffer
		err := cmdTop(context.Background(), tc.args, &stdout, &stderr)
		if !errors.As(err, new(usageError)) || err.Error() != tc.want {
			t.Errorf("top %v: %v; want usage error %q", tc.args, err, tc.want)
		}
	}
}

// startBroker runs an in-process Kafka on a free port.
func startBroker(t *testing.T) string {
	t.Helper()
	b, err := embedkafka.New(embedkafka.Config{Addr: "127.0.0.1:0", DefaultPartitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b.Addr()
}

// produceResults writes values to topic in one transaction, each keyed by
// its id as the window connector does (so versions of a result stay in
// order in one partition).
func produceResults(t *testing.T, addr, topic string, values []string) {
	t.Helper()
	ctx := context.Background()
	client, err := newKafkaClient([]string{addr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Admin().EnsureTopic(ctx, connector.TopicSpec{Name: topic, Partitions: -1, ReplicationFactor: -1}); err != nil {
		t.Fatal(err)
	}
	cm, err := client.NewCommitter(connector.ProducerConfig{TransactionalID: "top-test-" + topic})
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	recs := make([]connector.ProducerRecord, len(values))
	for i, v := range values {
		key := "junk"
		if r, err := decodeResult([]byte(v)); err == nil {
			key = r.ID
		}
		recs[i] = connector.ProducerRecord{Topic: topic, Partition: -1, Key: []byte(key), Value: []byte(v)}
	}
	if err := cm.Commit(ctx, recs, nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestTopOnceReadsTheTopic(t *testing.T) {
	addr := startBroker(t)
	produceResults(t, addr, "clicks.metrics", topSample())
	var stdout, stderr bytes.Buffer
	err := cmdTop(context.Background(), []string{"--bootstrap-servers", addr, "--topic", "clicks.metrics", "--once", "--width", "100"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("top --once: %v (stderr: %s)", err, stderr.String())
	}
	checkOutput(t, stdout.String(), sampleFrame)
}

func TestTopOnceMissingTopic(t *testing.T) {
	addr := startBroker(t)
	var stdout, stderr bytes.Buffer
	err := cmdTop(context.Background(), []string{"--bootstrap-servers", addr, "--topic", "nope", "--once", "--interval", "2s"}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, stdout.String(), "connectd top · nope\ntopic nope does not exist yet; waiting for it (checking every 2s)\n\nno closed windows yet\n")
}

// syncBuffer is a bytes.Buffer for one writer and one reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTopLiveWaitsForTopicAndPrintsChangedFrames(t *testing.T) {
	addr := startBroker(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cmdTop(ctx, []string{"--bootstrap-servers", addr, "--topic", "clicks.metrics", "--interval", "20ms", "--width", "100"}, &stdout, &stderr)
	}()
	waitFor := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond(stdout.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 10s; output:\n%s", what, stdout.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waiting := "connectd top · clicks.metrics\ntopic clicks.metrics does not exist yet; waiting for it (checking every 20ms)\n\nno closed windows yet\n"
	waitFor("waiting frame", func(s string) bool { return strings.HasPrefix(s, waiting) })
	time.Sleep(100 * time.Millisecond) // several refreshes: the same frame is not printed again
	produceResults(t, addr, "clicks.metrics", topSample())
	waitFor("results frame", func(s string) bool { return strings.HasSuffix(s, sampleFrame) })
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("top returned %v when cancelled; want nil", err)
	}
	out := stdout.String()
	if strings.Contains(out, "\033") {
		t.Errorf("ANSI escapes in output that is not a terminal:\n%q", out)
	}
	if !strings.HasPrefix(out, waiting+"\n") || !strings.HasSuffix(out, "\n"+sampleFrame) {
		t.Errorf("output is not the waiting frame, then the results frame:\n%s", out)
	}
	// Frames in between (the empty topic, records arriving) are fine, but
	// never the same frame twice in a row.
	frames := strings.Split(out, "\nconnectd top · ")
	for i := 1; i < len(frames); i++ {
		if frames[i] == frames[i-1] || "connectd top · "+frames[i] == frames[i-1] {
			t.Errorf("frame %d repeats the previous one:\n%s", i, frames[i])
		}
	}
}

func TestEmptySplitValueShowsNone(t *testing.T) {
	rows := splitBlock("by_referrer", map[string]any{"": json.Number("3"), "https://www.google.com/": json.Number("1")}, 60)
	if len(rows) < 3 || !strings.HasPrefix(strings.TrimSpace(rows[1]), "(none)") {
		t.Errorf("split rows = %q; the empty value (3 events, first by count) should show as (none)", rows)
	}
}
