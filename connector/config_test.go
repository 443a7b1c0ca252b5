package connector

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type testSinkConfig struct {
	Dir      string        `config:"test.dir" required:"true" doc:"where to write"`
	Size     int           `config:"flush.size" default:"100" min:"1" doc:"records per file"`
	Interval time.Duration `config:"flush.interval.ms" default:"1500" unit:"ms" doc:"flush interval"`
	Mode     string        `config:"mode" default:"fast" enum:"fast,safe" doc:"write mode"`
	Ratio    float64       `config:"ratio" default:"0.5" min:"0" max:"1" doc:"a ratio"`
	Fields   []string      `config:"fields" default:"a, b" doc:"a list"`
	Start    time.Time     `config:"start.time" doc:"a time"`
	Strict   bool          `config:"strict" doc:"a flag"`
}

func (c *testSinkConfig) Validate() error {
	if c.Mode == "safe" && c.Size > 10 {
		return &ConfigError{Key: "flush.size", Message: "must be at most 10 with mode=safe"}
	}
	return nil
}

type nopSink struct{}

func (nopSink) Open(context.Context, map[TopicPartition]int64) (map[TopicPartition]int64, error) {
	return nil, nil
}
func (nopSink) Write(context.Context, []Record) error { return nil }
func (nopSink) Flush(context.Context) (map[TopicPartition]int64, error) {
	return nil, nil
}
func (nopSink) Close(context.Context, []TopicPartition) error { return nil }
func (nopSink) Stop(context.Context) error                    { return nil }

type upperConfig struct {
	Field string `config:"field" required:"true" doc:"field to upper-case"`
}

func testRegistry(t *testing.T) *Registry {
	t.Helper()
	r := NewRegistry()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Register(Plugin{Class: "io.test.TestSink", Aliases: []string{"test"}, Kind: KindSink,
		NewConfig: func() any { return &testSinkConfig{} },
		NewSink:   func(any, TaskInfo) (Sink, error) { return nopSink{}, nil }}))
	must(r.Register(Plugin{Class: "io.test.Upper", Aliases: []string{"upper"}, Kind: KindTransform,
		NewConfig:    func() any { return &upperConfig{} },
		NewTransform: func(any) (Transform, error) { return nil, nil }}))
	return r
}

func TestDecodeDefaultsAndTypes(t *testing.T) {
	r := testRegistry(t)
	cc, err := r.Parse("c1", map[string]string{
		"connector.class": "test", "topics": "a, b", "test.dir": "/tmp/x", "flush.size": "7",
		"start.time": "2026-01-02T03:04:05.5Z", "strict": "TRUE", "tasks.max": "3",
	})
	if err != nil {
		t.Fatal(err)
	}
	c := cc.PluginConfig.(*testSinkConfig)
	want := testSinkConfig{Dir: "/tmp/x", Size: 7, Interval: 1500 * time.Millisecond, Mode: "fast", Ratio: 0.5,
		Fields: []string{"a", "b"}, Start: time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC), Strict: true}
	if c.Dir != want.Dir || c.Size != want.Size || c.Interval != want.Interval || c.Mode != want.Mode ||
		c.Ratio != want.Ratio || strings.Join(c.Fields, "|") != "a|b" || !c.Start.Equal(want.Start) || !c.Strict {
		t.Fatalf("decoded %+v, want %+v", *c, want)
	}
	if got := strings.Join(cc.Sink.Topics, "|"); got != "a|b" {
		t.Errorf("topics = %q", got)
	}
	if cc.Common.TasksMax != 3 || cc.Common.ValueConverter != JSONConverter || cc.Group() != "connect-c1" {
		t.Errorf("common = %+v group %s", cc.Common, cc.Group())
	}
	if cc.Consumer.AutoOffsetReset != "earliest" || cc.Consumer.IsolationLevel != "read_committed" || cc.Consumer.MaxPollRecords != 10000 {
		t.Errorf("consumer overrides defaults = %+v", cc.Consumer)
	}
}

func TestParseErrors(t *testing.T) {
	r := testRegistry(t)
	cases := []struct {
		name string
		raw  map[string]string
		want string
	}{
		{"missing class", map[string]string{}, `config key "connector.class": is required: the plugin to run, by class or alias`},
		{"unknown class", map[string]string{"connector.class": "nope"}, `config key "connector.class": "nope" is not an installed connector; installed: io.test.TestSink`},
		{"typo suggests", map[string]string{"connector.class": "test", "topics": "t", "test.dir": "d", "flush.sise": "1"},
			`config key "flush.sise": is not a key of connector test; did you mean "flush.size"?`},
		{"bad int", map[string]string{"connector.class": "test", "topics": "t", "test.dir": "d", "flush.size": "ten"},
			`config key "flush.size": "ten" is not a whole number`},
		{"below min and enum", map[string]string{"connector.class": "test", "topics": "t", "test.dir": "d", "tasks.max": "0", "mode": "slow"},
			"config key \"mode\": \"slow\" is not one of fast, safe\nconfig key \"tasks.max\": 0 is below the minimum 1"},
		{"validate hook", map[string]string{"connector.class": "test", "topics": "t", "test.dir": "d", "mode": "safe"},
			`config key "flush.size": must be at most 10 with mode=safe`},
		{"topics and regex", map[string]string{"connector.class": "test", "topics": "t", "topics.regex": "x.*", "test.dir": "d"},
			`config key "topics.regex": cannot be set together with topics; keep one of them`},
		{"no topics", map[string]string{"connector.class": "test", "test.dir": "d"},
			`config key "topics": is required for a sink connector: set topics (comma-separated) or topics.regex`},
		{"dlq needs all", map[string]string{"connector.class": "test", "topics": "t", "test.dir": "d", "errors.deadletterqueue.topic.name": "dlq"},
			`config key "errors.deadletterqueue.topic.name": is set but errors.tolerance is none, so nothing would reach it; set errors.tolerance=all`},
		{"consumer override unknown", map[string]string{"connector.class": "test", "topics": "t", "test.dir": "d", "consumer.override.auto.offset.rest": "latest"},
			`config key "consumer.override.auto.offset.rest": is not a key of the consumer overrides; did you mean "consumer.override.auto.offset.reset"?`},
		{"transform missing type", map[string]string{"connector.class": "test", "topics": "t", "test.dir": "d", "transforms": "u"},
			`config key "transforms.u.type": is required: the class of transform "u"; installed: io.test.Upper`},
		{"transform unlisted", map[string]string{"connector.class": "test", "topics": "t", "test.dir": "d", "transforms.x.type": "upper"},
			`config key "transforms.x.type": belongs to transform "x", which is not listed in transforms; add it there or remove its keys`},
		{"transform keys", map[string]string{"connector.class": "test", "topics": "t", "test.dir": "d", "transforms": "u", "transforms.u.type": "upper", "transforms.u.feild": "a"},
			"config key \"transforms.u.feild\": is not a key of transform upper; did you mean \"transforms.u.field\"?\nconfig key \"transforms.u.field\": is required: field to upper-case"},
		{"schemas enable", map[string]string{"connector.class": "test", "topics": "t", "test.dir": "d", "value.converter.schemas.enable": "true"},
			`config key "value.converter.schemas.enable": true is not supported: connectd reads schemaless JSON; set it to false`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.Parse("c1", c.raw)
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if err.Error() != c.want {
				t.Fatalf("error:\n%s\nwant:\n%s", err, c.want)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key == "" {
				t.Errorf("error %v does not carry a ConfigError with a key", err)
			}
		})
	}
}

func TestParseEnvelope(t *testing.T) {
	name, raw, err := ParseEnvelope([]byte(`{"name":"n","config":{"tasks.max":2,"strict":true,"x":"y","gone":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	if name != "n" || raw["tasks.max"] != "2" || raw["strict"] != "true" || raw["x"] != "y" || len(raw) != 3 {
		t.Fatalf("got %q %v", name, raw)
	}
	if _, _, err := ParseEnvelope([]byte(`{"name":"n","config":{"a":[1]}}`)); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("array value: err = %v", err)
	}
	if _, _, err := ParseEnvelope([]byte(`{"name":"n","confg":{}}`)); err == nil || !strings.Contains(err.Error(), "confg") {
		t.Errorf("unknown envelope field: err = %v", err)
	}
}

func TestOffsetRuns(t *testing.T) {
	var p partState
	for _, o := range []int64{10, 11, 12, 14, 15, 20} { // 13, 16-19: transaction markers
		p.add(o)
	}
	if n := p.commitTo(12); n != 2 {
		t.Fatalf("commitTo(12) = %d, want 2", n)
	}
	if n := p.commitTo(16); n != 3 {
		t.Fatalf("commitTo(16) = %d, want 3 (12, 14, 15)", n)
	}
	if n := p.commitTo(100); n != 1 || len(p.runs) != 0 {
		t.Fatalf("commitTo(100) = %d, runs %v", n, p.runs)
	}
}

func TestBackoffHonoursAfter(t *testing.T) {
	var gaps []time.Duration
	last := time.Now()
	calls := 0
	err := Backoff{Initial: time.Hour, Max: time.Hour}.Do(context.Background(), "op", func() error {
		now := time.Now()
		if calls > 0 {
			gaps = append(gaps, now.Sub(last))
		}
		last = now
		calls++
		if calls <= 4 {
			return Retryable(errors.New("locked"), 20*time.Millisecond)
		}
		return nil
	})
	if err != nil || calls != 5 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
	for i, g := range gaps {
		if g < 20*time.Millisecond || g > 500*time.Millisecond {
			t.Errorf("wait %d was %v; an error asking for 20ms must not wait behind the hour-long backoff", i, g)
		}
	}
}

func TestBackoffStopsOnFatalAndTimeout(t *testing.T) {
	calls := 0
	fatal := errors.New("boom")
	err := Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}.Do(context.Background(), "op", func() error {
		calls++
		if calls < 3 {
			return Retryable(errors.New("busy"), 0)
		}
		return fatal
	})
	if !errors.Is(err, fatal) || calls != 3 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
	err = Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Timeout: 30 * time.Millisecond}.Do(context.Background(), "op", func() error {
		return Retryable(errors.New("down"), 0)
	})
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("err = %v, want gave up", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = Backoff{Initial: time.Hour}.Do(ctx, "op", func() error { return Retryable(errors.New("down"), 0) })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
}
