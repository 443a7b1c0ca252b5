//go:build integration

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/kafka"
	"github.com/connectd/connectd/internal/logging"
	"github.com/connectd/connectd/sources/generator"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// connectdBin returns the connectd binary: $CONNECTD_BIN (make test sets
// it) or one built once for this test run.
func connectdBin(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("CONNECTD_BIN"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "connectd-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "connectd")
		out, err := exec.Command("go", "build", "-o", builtBin, "../cmd/connectd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// proc is a connectd process started by a test.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  string
	// up is set once the process has shown it handles signals (a broker
	// that printed its address).
	up bool
}

// start runs connectd with args, its stderr going to a log file in dir.
// The process is killed when the test ends.
func start(t *testing.T, dir, name string, stdout io.Writer, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(connectdBin(t), args...)
	cmd.Stderr = logf
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		cmd.Stdout = logf
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("log tail of %s (%s):\n%s", name, strings.Join(args, " "), logging.FileTail(logPath, 25))
		}
	})
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits up to d for a clean exit.
func (p *proc) stop(t *testing.T, d time.Duration) {
	t.Helper()
	// A SIGTERM that arrives before connectd has set up its signal
	// handling (a worker stopped right after it started, because the
	// test found nothing left to wait for) kills it outright. Its first
	// log line comes after that setup, so wait for one (a broker at log
	// level warn may write none: then go on after the wait).
	for wait := time.Now().Add(10 * time.Second); time.Now().Before(wait); time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(p.log); err == nil && fi.Size() > 0 {
			break
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("%s exited with %v; log tail:\n%s", p.cmd.Args[1], p.err, logging.FileTail(p.log, 30))
		}
	case <-time.After(d):
		p.kill()
		t.Errorf("%s did not stop within %s after SIGTERM; log tail:\n%s", p.cmd.Args[1], d, logging.FileTail(p.log, 30))
	}
}

// startKafka runs `connectd kafka` on a free port and returns its
// bootstrap address, read from the process's own output (so the answering
// broker is ours).
func startKafka(t *testing.T, dataDir, logDir string) (string, *proc) {
	t.Helper()
	pr, pw := io.Pipe()
	// The tests' events are stamped in the past (a fixed start time), so
	// the broker keeps records forever instead of Kafka's 7 days, which
	// would delete them a minute into the test.
	p := start(t, logDir, "kafka", pw, "kafka", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-retention-ms", "-1")
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "bootstrap.servers="); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		p.up = true
		return a, p
	case <-p.done:
		t.Fatalf("connectd kafka exited: %v\n%s", p.err, logging.FileTail(p.log, 20))
	case <-time.After(20 * time.Second):
		t.Fatalf("connectd kafka printed no address; log:\n%s", logging.FileTail(p.log, 20))
	}
	return "", nil
}

// writeConfig writes a connector file (Kafka Connect's envelope).
func writeConfig(t *testing.T, dir, name string, cfg map[string]string) {
	t.Helper()
	b, err := json.MarshalIndent(map[string]any{"name": name, "config": cfg}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readLines returns every line of every .jsonl file under dir.
func readLines(t *testing.T, dir string) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".jsonl") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// kafkaClient connects the test itself to the broker, for reading topics.
func kafkaClient(t *testing.T, addr string) *kafka.Client {
	t.Helper()
	c, err := kafka.NewClient([]string{addr}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readTopic returns every committed record of topic.
func readTopic(t *testing.T, c *kafka.Client, topic string) []connector.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recs, err := c.Reader().ReadAll(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// waitFor polls cond every 500ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last state: %s", d, what, last)
}

// generated is what a generator with given options writes, counted from
// its engine (never from a sink): valid and invalid events, the distinct
// event_ids of the valid ones (the generator repeats some on purpose),
// and valid events per UTC day.
type generated struct {
	valid, invalid int
	ids            map[string]bool
	perDay         map[string]int
}

// countGenerated runs the generator's engine for n events of opts.
func countGenerated(t *testing.T, opts generator.Options, n int) generated {
	t.Helper()
	e, err := generator.NewEngine(opts)
	if err != nil {
		t.Fatal(err)
	}
	g := generated{ids: map[string]bool{}, perDay: map[string]int{}}
	for range n {
		ev := e.Next()
		if ev.Bad.Invalid() {
			g.invalid++
			continue
		}
		g.valid++
		_, rest, _ := strings.Cut(string(ev.Value), `"event_id":"`)
		id, _, _ := strings.Cut(rest, `"`)
		g.ids[id] = true
		g.perDay[ev.Time.UTC().Format("2006-01-02")]++
	}
	return g
}
