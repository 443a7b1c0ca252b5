package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/connectd/connectd/internal/logging"
)

// lines decodes the JSON lines a logger wrote, returning "LEVEL msg" for
// each.
func lines(t *testing.T, buf *bytes.Buffer) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, fmt.Sprintf("%s %s", m["level"], m["msg"]))
	}
	buf.Reset()
	return out
}

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want slog.Level
		name string
	}{
		{"trace", logging.LevelTrace, "TRACE"},
		{"DEBUG", slog.LevelDebug, "DEBUG"},
		{"Info", slog.LevelInfo, "INFO"},
		{"warn", slog.LevelWarn, "WARN"},
		{"error", slog.LevelError, "ERROR"},
		{"FATAL", logging.LevelFatal, "FATAL"},
		{"off", logging.LevelOff, "OFF"},
		{"all", logging.LevelAll, "ALL"},
	} {
		got, err := logging.ParseLevel(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if n := logging.LevelName(got); n != tc.name {
			t.Errorf("LevelName(%v) = %q, want %q", got, n, tc.name)
		}
	}
	if _, err := logging.ParseLevel("WARNING"); err == nil || !strings.Contains(err.Error(), `"WARNING" is not a log level`) {
		t.Errorf("ParseLevel(WARNING) error %v", err)
	}
	if n := logging.LevelName(slog.LevelDebug + 2); n != "DEBUG" {
		t.Errorf("LevelName(DEBUG+2) = %q", n)
	}
}

func TestSetFollowsKafkaConnectRules(t *testing.T) {
	l := logging.NewLevels(slog.LevelInfo, logging.Worker, logging.Kafka, "connector.a", "connector.b")
	if got := l.Set("connector.a", slog.LevelDebug); !slices.Equal(got, []string{"connector.a"}) {
		t.Errorf("Set(connector.a) affected %v", got)
	}
	if lv, _ := l.Level("connector.b"); lv != slog.LevelInfo {
		t.Errorf("connector.b is %v, want INFO", lv)
	}
	// A parent sets every descendant and becomes a logger itself.
	if got := l.Set("connector", slog.LevelWarn); !slices.Equal(got, []string{"connector", "connector.a", "connector.b"}) {
		t.Errorf("Set(connector) affected %v", got)
	}
	// A logger first seen later follows its nearest set ancestor.
	l.Register("connector.c")
	if lv, _ := l.Level("connector.c"); lv != slog.LevelWarn {
		t.Errorf("new connector.c is %v, want WARN", lv)
	}
	if lv, _ := l.Level(logging.Kafka); lv != slog.LevelInfo {
		t.Errorf("connectd.kafka is %v, want INFO", lv)
	}
	// Root sets everything.
	got := l.Set(logging.Root, slog.LevelError)
	want := []string{"connectd.kafka", "connectd.worker", "connector", "connector.a", "connector.b", "connector.c", "root"}
	if !slices.Equal(got, want) {
		t.Errorf("Set(root) affected %v, want %v", got, want)
	}
	for _, lg := range l.All() {
		if lg.Level != slog.LevelError || lg.LastModified.IsZero() {
			t.Errorf("after Set(root): %+v", lg)
		}
	}
	if _, ok := l.Get("nope"); ok {
		t.Error("Get(nope) found a logger")
	}
	if lg, ok := l.Get(logging.Root); !ok || lg.Level != slog.LevelError {
		t.Errorf("Get(root) = %+v, %v", lg, ok)
	}
}

func TestHandlerFiltersByLogger(t *testing.T) {
	var buf bytes.Buffer
	logger, levels := logging.New(&buf, true, slog.LevelInfo)
	worker := logger.With(logging.AttrLogger, logging.Worker)
	taskA := worker.With(logging.AttrConnector, "a", "task", 0)
	taskB := worker.With(logging.AttrConnector, "b", "task", 0)
	emit := func() {
		logger.Debug("root debug")
		worker.Debug("worker debug")
		taskA.Debug("a debug")
		taskB.Debug("b debug")
		worker.Debug("about a", logging.AttrConnector, "a")
		logger.Info("root info")
		logger.Log(context.Background(), logging.LevelTrace, "root trace")
	}
	emit()
	if got := lines(t, &buf); !slices.Equal(got, []string{"INFO root info"}) {
		t.Errorf("at INFO: %q", got)
	}

	// One connector's logger changes only that connector's lines.
	levels.Set(logging.ConnectorLogger("a"), slog.LevelDebug)
	emit()
	if got := lines(t, &buf); !slices.Equal(got, []string{"DEBUG a debug", "DEBUG about a", "INFO root info"}) {
		t.Errorf("connector.a at DEBUG: %q", got)
	}

	// Root turns everything up, TRACE included, and prints log4j's names.
	levels.Set(logging.Root, logging.LevelTrace)
	emit()
	want := []string{"DEBUG root debug", "DEBUG worker debug", "DEBUG a debug", "DEBUG b debug", "DEBUG about a", "INFO root info", "TRACE root trace"}
	if got := lines(t, &buf); !slices.Equal(got, want) {
		t.Errorf("root at TRACE: %q, want %q", got, want)
	}

	// The connector attribute wins over the logger attribute, and an
	// attribute inside a group names nothing.
	levels.Set(logging.Root, slog.LevelInfo)
	levels.Set(logging.Worker, slog.LevelDebug)
	taskA.Debug("a still quiet")
	worker.Debug("worker loud")
	logger.WithGroup("g").With(logging.AttrLogger, logging.Worker).Debug("grouped quiet")
	logger.Debug("record attr loud", logging.AttrLogger, logging.Worker)
	if got := lines(t, &buf); !slices.Equal(got, []string{"DEBUG worker loud", "DEBUG record attr loud"}) {
		t.Errorf("worker at DEBUG: %q", got)
	}

	// Records name loggers as they come: connector.c now exists.
	taskC := logger.With(logging.AttrConnector, "c")
	taskC.Info("hello")
	if _, ok := levels.Get("connector.c"); !ok {
		t.Error("connector.c not known after it logged")
	}
	levels.Set(logging.Root, logging.LevelOff)
	logger.Error("off")
	taskC.Error("off")
	if got := lines(t, &buf); !slices.Equal(got, []string{"INFO hello"}) {
		t.Errorf("at OFF: %q", got)
	}
}

// TestConcurrent logs from many goroutines while levels change; run with
// -race.
func TestConcurrent(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	logger, levels := logging.New(syncWriter{&mu, &buf}, false, slog.LevelInfo)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := logger.With(logging.AttrConnector, fmt.Sprint("c", i%3))
			for j := range 200 {
				l.Debug("d", "j", j)
				logger.Info("i", logging.AttrConnector, fmt.Sprint("c", j%5))
			}
		}()
	}
	for j := range 50 {
		levels.Set(fmt.Sprint("connector.c", j%4), slog.LevelDebug+slog.Level(j%3)*4)
		levels.All()
	}
	wg.Wait()
}

type syncWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}
