package generator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
)

// fakeClock is a wall clock that moves only when the source sleeps or the
// test says so.
type fakeClock struct {
	t     time.Time
	slept []time.Duration
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
	return nil
}

// newTestSource decodes raw as the framework would (tags, defaults,
// Validate) and builds task of tasks on a fake clock.
func newTestSource(t *testing.T, raw map[string]string, task, tasks int, clock *fakeClock) *Source {
	t.Helper()
	var cfg Config
	if errs := connector.DecodeConfig(raw, &cfg, ""); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	s, err := NewSource(&cfg, connector.TaskInfo{Connector: "gen", TaskID: task, TasksMax: tasks})
	if err != nil {
		t.Fatal(err)
	}
	if clock != nil {
		s.now, s.sleep = clock.now, clock.sleep
	}
	return s
}

func noOffsets() connector.SourceOffsets { return connector.NewSourceOffsets(nil) }

// offsetsOf builds committed offsets holding rec's partition and offset,
// as the framework stores and reads them back (through JSON).
func offsetsOf(t *testing.T, recs ...connector.SourceRecord) connector.SourceOffsets {
	t.Helper()
	entries := map[string]json.RawMessage{}
	for _, r := range recs {
		key, err := connector.CanonicalJSON(r.Partition)
		if err != nil {
			t.Fatal(err)
		}
		val, err := json.Marshal(r.Offset)
		if err != nil {
			t.Fatal(err)
		}
		entries[string(key)] = val
	}
	return connector.NewSourceOffsets(entries)
}

// pollAll polls until ErrSourceDone or n records, copying the records.
func pollAll(t *testing.T, s *Source, n int) []connector.SourceRecord {
	t.Helper()
	var out []connector.SourceRecord
	for len(out) < n {
		recs, err := s.Poll(context.Background())
		if errors.Is(err, connector.ErrSourceDone) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	return out
}

func TestSourcePollsUntilMaxEvents(t *testing.T) {
	raw := map[string]string{"max.events": "2500", "events.per.second": "0", "users": "1000", "seed": "5", "start.time": "2026-11-22T10:00:00Z"}
	s := newTestSource(t, raw, 0, 1, nil)
	if err := s.Open(context.Background(), noOffsets()); err != nil {
		t.Fatal(err)
	}
	// The same stream, from the engine: the event-time rate of an unpaced
	// source is 1000 events per second.
	eng := newEngine(t, Options{Seed: 5, Users: 1000, Start: testStart, EventsPerSecond: 1000})
	const startMs = 1795341600000 // 2026-11-22T10:00:00Z
	var first []connector.SourceRecord
	var firstValues [][]byte
	pos := int64(0)
	for i, want := range []int{1000, 1000, 500} {
		recs, err := s.Poll(context.Background())
		if err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		if len(recs) != want {
			t.Fatalf("poll %d returned %d records, want %d", i, len(recs), want)
		}
		for _, r := range recs {
			ev := eng.Next()
			pos++
			if r.Record.Topic != "clickstream.raw" || r.Record.Partition != -1 {
				t.Fatalf("record %d goes to %s/%d", pos, r.Record.Topic, r.Record.Partition)
			}
			if !bytes.Equal(r.Record.Value, ev.Value) || !bytes.Equal(r.Record.Key, ev.Key) || !r.Record.Timestamp.Equal(ev.Time) {
				t.Fatalf("record %d differs from the engine's event:\n%s %s %v\n%s %s %v", pos, r.Record.Key, r.Record.Value, r.Record.Timestamp, ev.Key, ev.Value, ev.Time)
			}
			if p, _ := json.Marshal(r.Partition); string(p) != `{"task":0,"tasks":1}` {
				t.Fatalf("record %d partition %s", pos, p)
			}
			if r.Offset["position"] != pos || r.Offset["start_ms"] != int64(startMs) {
				t.Fatalf("record %d offset %v, want position %d start_ms %d", pos, r.Offset, pos, startMs)
			}
		}
		if i == 0 {
			first = append(first, recs...)
			for _, r := range recs {
				firstValues = append(firstValues, bytes.Clone(r.Record.Value))
			}
		}
	}
	for range 2 {
		if recs, err := s.Poll(context.Background()); !errors.Is(err, connector.ErrSourceDone) || len(recs) != 0 {
			t.Fatalf("poll after max.events: %d records, %v; want ErrSourceDone", len(recs), err)
		}
	}
	// The first poll's byte slices were not reused by the later polls.
	for i, r := range first {
		if !bytes.Equal(r.Record.Value, firstValues[i]) {
			t.Fatalf("record %d of the first poll changed under a later poll", i)
		}
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSourceResumesAfterCommittedOffset(t *testing.T) {
	// start.time empty: the first run starts at its clock and keeps it in
	// the offsets; the restart, hours later, must give the same events.
	raw := map[string]string{"events.per.second": "0", "batch.size": "100", "users": "500", "bad.record.ratio": "0.2"}
	clock1 := &fakeClock{t: time.Date(2026, 11, 22, 9, 30, 0, 123456789, time.UTC)}
	s1 := newTestSource(t, raw, 0, 1, clock1)
	if err := s1.Open(context.Background(), noOffsets()); err != nil {
		t.Fatal(err)
	}
	run1 := pollAll(t, s1, 300)
	if got := run1[0].Record.Timestamp; !got.Equal(time.Date(2026, 11, 22, 9, 30, 0, 123e6, time.UTC)) {
		t.Fatalf("first event at %v, want the start clock truncated to the millisecond", got)
	}
	if run1[0].Offset["start_ms"] != int64(1795339800123) {
		t.Fatalf("offset %v does not keep the start", run1[0].Offset)
	}
	for _, last := range []int{0, 149, 199} {
		clock2 := &fakeClock{t: clock1.t.Add(5 * time.Hour)}
		s2 := newTestSource(t, raw, 0, 1, clock2)
		if err := s2.Open(context.Background(), offsetsOf(t, run1[last])); err != nil {
			t.Fatal(err)
		}
		run2 := pollAll(t, s2, 100)
		for i, r := range run2 {
			want := run1[last+1+i]
			if !bytes.Equal(r.Record.Value, want.Record.Value) || !r.Record.Timestamp.Equal(want.Record.Timestamp) {
				t.Fatalf("resumed after record %d: record %d is\n%s\nwant\n%s", last, i, r.Record.Value, want.Record.Value)
			}
			if r.Offset["position"] != want.Offset["position"] || r.Offset["start_ms"] != want.Offset["start_ms"] {
				t.Fatalf("resumed after record %d: offset %v, want %v", last, r.Offset, want.Offset)
			}
		}
	}
}

func TestSourceOffsetOfAnotherPartitionIsIgnored(t *testing.T) {
	raw := map[string]string{"events.per.second": "0", "batch.size": "10", "start.time": "2026-11-22T10:00:00Z"}
	other := connector.SourceRecord{Partition: map[string]any{"task": 0, "tasks": 2}, Offset: map[string]any{"position": 500, "start_ms": 1}}
	s := newTestSource(t, raw, 0, 1, nil)
	if err := s.Open(context.Background(), offsetsOf(t, other)); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Offset["position"] != int64(1) {
		t.Errorf("started at %v, want position 1 after the first record", recs[0].Offset)
	}
}

func TestSourceStartTimeOverridesCommittedStart(t *testing.T) {
	raw := map[string]string{"events.per.second": "0", "batch.size": "1", "start.time": "2026-11-22T10:00:00Z"}
	committed := connector.SourceRecord{Partition: map[string]any{"task": 0, "tasks": 1}, Offset: map[string]any{"position": 1000, "start_ms": 1}}
	s := newTestSource(t, raw, 0, 1, nil)
	if err := s.Open(context.Background(), offsetsOf(t, committed)); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := recs[0].Record.Timestamp, testStart.Add(time.Second); !got.Equal(want) {
		t.Errorf("event 1000 at %v, want %v (start.time + 1000 events at 1000/s)", got, want)
	}
	if recs[0].Offset["position"] != int64(1001) || recs[0].Offset["start_ms"] != testStart.UnixMilli() {
		t.Errorf("offset %v", recs[0].Offset)
	}
}

func TestSourceRejectsBadCommittedOffsets(t *testing.T) {
	part := `{"task":0,"tasks":1}`
	for _, tc := range []struct {
		offset string
		want   string
	}{
		{`{"position":-1,"start_ms":1}`, "has no valid position"},
		{`{"start_ms":1}`, "has no valid position"},
		{`{"position":"ten"}`, "reading the committed offset"},
	} {
		s := newTestSource(t, map[string]string{}, 0, 1, nil)
		err := s.Open(context.Background(), connector.NewSourceOffsets(map[string]json.RawMessage{part: json.RawMessage(tc.offset)}))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("offset %s: Open = %v, want an error containing %q", tc.offset, err, tc.want)
		}
	}
}

func TestSourceTasksRunTheirOwnStreams(t *testing.T) {
	raw := map[string]string{"events.per.second": "0", "users": "1000", "max.events": "1001", "start.time": "2026-11-22T10:00:00Z"}
	users := map[int]map[string]bool{}
	counts := map[int]int{}
	for task := range 2 {
		s := newTestSource(t, raw, task, 2, nil)
		if err := s.Open(context.Background(), noOffsets()); err != nil {
			t.Fatal(err)
		}
		users[task] = map[string]bool{}
		for _, r := range pollAll(t, s, 5000) {
			users[task][string(r.Record.Key)] = true
			if p, _ := json.Marshal(r.Partition); string(p) != `{"task":`+strconv.Itoa(task)+`,"tasks":2}` {
				t.Fatalf("task %d record partition %s", task, p)
			}
			counts[task]++
		}
	}
	if counts[0] != 501 || counts[1] != 500 {
		t.Errorf("tasks produced %d and %d events, want 501 and 500 of max.events 1001", counts[0], counts[1])
	}
	for u := range users[0] {
		if users[1][u] {
			t.Errorf("user %s appears in both tasks", u)
		}
	}
	inRange := func(task int, lo, hi int) {
		for u := range users[task] {
			n, err := strconv.Atoi(strings.TrimPrefix(u, "user-"))
			if err != nil || n < lo || n >= hi {
				t.Errorf("task %d has user %s, want user-%d to user-%d", task, u, lo, hi-1)
				return
			}
		}
	}
	inRange(0, 0, 500)
	inRange(1, 500, 1000)
}

func TestSourcePacesToEventsPerSecond(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	s := newTestSource(t, map[string]string{"events.per.second": "100", "batch.size": "1000"}, 0, 1, clock)
	if err := s.Open(context.Background(), noOffsets()); err != nil {
		t.Fatal(err)
	}
	// Nothing is due at the start: the source waits until a twentieth of a
	// second's worth (5 events, 50ms) is.
	recs, err := s.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || len(clock.slept) != 1 || clock.slept[0] != 50*time.Millisecond {
		t.Fatalf("first poll: %d records after sleeping %v; want 5 after 50ms", len(recs), clock.slept)
	}
	// A second later 100 more are due, returned at once.
	clock.t = clock.t.Add(time.Second)
	recs, err = s.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 100 || len(clock.slept) != 1 {
		t.Fatalf("after a second: %d records, sleeps %v; want 100 and no sleep", len(recs), clock.slept)
	}
	// Far behind, a poll returns at most batch.size.
	clock.t = clock.t.Add(time.Minute)
	recs, err = s.Poll(context.Background())
	if err != nil || len(recs) != 1000 {
		t.Fatalf("a minute later: %d records, %v; want batch.size 1000", len(recs), err)
	}
	// Event time follows the position (from the start, the clock at Open),
	// not the wall clock.
	if got, want := recs[999].Record.Timestamp, t0.Add(1104*10*time.Millisecond); !got.Equal(want) {
		t.Errorf("event 1104 at %v, want %v", got, want)
	}
}

func TestSourcePollHonoursCancellation(t *testing.T) {
	// Real clock: at 1 event per second the second poll must wait a second.
	s := newTestSource(t, map[string]string{"events.per.second": "1", "batch.size": "10"}, 0, 1, nil)
	if err := s.Open(context.Background(), noOffsets()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	recs, err := s.Poll(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || recs != nil {
		t.Fatalf("Poll = %d records, %v; want context.DeadlineExceeded", len(recs), err)
	}
	if el := time.Since(start); el > 700*time.Millisecond {
		t.Errorf("Poll returned %v after its context ended", el-50*time.Millisecond)
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := s.Poll(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Poll with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestSourceOpenHonoursCancellation(t *testing.T) {
	committed := connector.SourceRecord{Partition: map[string]any{"task": 0, "tasks": 1}, Offset: map[string]any{"position": int64(1) << 40, "start_ms": 1795341600000}}
	s := newTestSource(t, map[string]string{}, 0, 1, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Open(ctx, offsetsOf(t, committed)); !errors.Is(err, context.Canceled) {
		t.Errorf("Open = %v, want context.Canceled", err)
	}
	if _, err := s.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "before Open") {
		t.Errorf("Poll after a failed Open = %v", err)
	}
}

func TestNewSourceRejectsTooManyTasks(t *testing.T) {
	var cfg Config
	if errs := connector.DecodeConfig(map[string]string{"users": "3"}, &cfg, ""); len(errs) > 0 {
		t.Fatal(errs)
	}
	_, err := NewSource(&cfg, connector.TaskInfo{TaskID: 0, TasksMax: 4})
	want := "generator: 3 users cannot be shared by 4 tasks: every task needs a user of its own; lower tasks.max or raise users and events.per.second"
	if err == nil || err.Error() != want {
		t.Errorf("NewSource = %v, want %q", err, want)
	}
}

func TestPluginParsesConnectorConfigs(t *testing.T) {
	r := connector.NewRegistry()
	if err := r.Register(Plugin()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"io.connectd.generator.GeneratorSourceConnector", "GeneratorSourceConnector", "generator"} {
		if p, ok := r.Lookup(name); !ok || p.Kind != connector.KindSource {
			t.Errorf("Lookup(%q) = %v, %v", name, p, ok)
		}
	}
	cc, err := r.ParseJSON([]byte(`{"name": "clickstream-generator", "config": {
		"connector.class": "io.connectd.generator.GeneratorSourceConnector",
		"tasks.max": "1", "topic": "clickstream.raw", "events.per.second": "2000", "users": "5000",
		"seed": "42", "bad.record.ratio": "0.002", "topic.creation.default.partitions": "4"}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := *cc.PluginConfig.(*Config)
	want := Config{Topic: "clickstream.raw", EventsPerSecond: 2000, Users: 5000, Seed: 42, BadRecordRatio: 0.002, BatchSize: 1000}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
	src, err := cc.Plugin.NewSource(cc.PluginConfig, connector.TaskInfo{Connector: cc.Name, TaskID: 0, TasksMax: 1})
	if err != nil || src == nil {
		t.Fatalf("NewSource = %v, %v", src, err)
	}

	for _, tc := range []struct {
		key, value, want string
	}{
		{"bad.record.ratio", "1.5", `config key "bad.record.ratio": 1.5 is above the maximum 1`},
		{"users", "0", `config key "users": 0 is below the minimum 1`},
		{"events.per.second", "-1", `config key "events.per.second": -1 is below the minimum 0`},
		{"topic", "click stream", `config key "topic": "click stream" is not a valid Kafka topic name: use 1 to 249 of the characters a-z, A-Z, 0-9, '.', '_' and '-'`},
		{"topic", "..", `config key "topic": ".." is not a valid Kafka topic name: use 1 to 249 of the characters a-z, A-Z, 0-9, '.', '_' and '-' (and not "." or "..")`},
		{"start.time", "1900-01-01T00:00:00Z", `config key "start.time": "1900-01-01T00:00:00Z" is out of range: give a time from 1971 to 9999, or leave it empty to start when the connector first runs`},
		{"start.time", "yesterday", `config key "start.time": "yesterday" is not an RFC3339 time such as 2026-01-02T15:04:05Z`},
		{"event.per.second", "5", `config key "event.per.second": is not a key of connector generator; did you mean "events.per.second"?`},
	} {
		raw := map[string]string{"connector.class": "generator", tc.key: tc.value}
		_, err := r.Parse("g", raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: Parse = %v\nwant %s", tc.key, tc.value, err, tc.want)
		}
	}
}

// TestBadRecordKindsKey checks bad.record.kinds: names are parsed, an
// unknown or repeated one is refused naming the key.
func TestBadRecordKindsKey(t *testing.T) {
	r := connector.NewRegistry()
	if err := r.Register(Plugin()); err != nil {
		t.Fatal(err)
	}
	base := `{"name": "g", "config": {"connector.class": "generator", "bad.record.ratio": "0.1", "bad.record.kinds": %q}}`
	cc, err := r.ParseJSON([]byte(fmt.Sprintf(base, "malformed, late")))
	if err != nil {
		t.Fatal(err)
	}
	if kinds, err := cc.PluginConfig.(*Config).badKinds(); err != nil || !reflect.DeepEqual(kinds, []BadKind{BadMalformed, BadLate}) {
		t.Errorf("kinds = %v, %v", kinds, err)
	}
	for _, v := range []string{"malformed,bogus", "late,late"} {
		_, err := r.ParseJSON([]byte(fmt.Sprintf(base, v)))
		if err == nil || !strings.Contains(err.Error(), "bad.record.kinds") {
			t.Errorf("bad.record.kinds=%q: error %v, want one naming the key", v, err)
		}
	}
}
