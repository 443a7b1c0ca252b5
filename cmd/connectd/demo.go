package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/chserver"
	"github.com/connectd/connectd/worker"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [--config-dir configs/demo] [--data-dir .demo] [--clickhouse-host PATH]\n\nRuns the demo pipeline in one process: an embedded Kafka keeping its data in --data-dir,\nthe clickstream generator at 2,000 events/s, and the file sink, with one status line per\nsecond. Logs go to DATA-DIR/connectd.log. Ctrl-C stops cleanly; running it again resumes\nexactly where it stopped.\n\nWith --clickhouse-host (tools/chdb-host, built by make servers) it also starts ClickHouse\nwith its data in DATA-DIR/clickhouse on free 127.0.0.1 ports and points the config dir's\nclickhouse-*.json connectors at it; without it those connectors are left out.", stderr)
	configDir := fs.String("config-dir", "configs/demo", "directory of the demo's connector configs")
	dataDir := fs.String("data-dir", ".demo", "directory for the embedded Kafka's data, the logs and the demo's output")
	shutdown := fs.Duration("shutdown-timeout", 10*time.Second, "how long tasks get to flush and commit on stop")
	listen := fs.String("listen", "127.0.0.1:8083", "address of the REST API while the demo runs; empty: none")
	chHost := fs.String("clickhouse-host", "", "chdb-host binary: run ClickHouse for the clickhouse-*.json connectors; empty: leave them out")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ln, err := listenREST(*listen)
	if err != nil {
		return err
	}
	if ln != nil {
		defer ln.Close()
	}
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(*dataDir, "connectd.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger, levels, err := newLogger(logFile, "info", false)
	if err != nil {
		return err
	}
	reg, err := newRegistry()
	if err != nil {
		return err
	}
	var chSrv *chserver.Server
	if *chHost != "" {
		fmt.Fprintf(stdout, "connectd demo: starting ClickHouse (%s)...\n", *chHost)
		if chSrv, err = startDemoClickHouse(*chHost, filepath.Join(*dataDir, "clickhouse")); err != nil {
			return err
		}
		defer func() {
			if err := chSrv.Stop(15 * time.Second); err != nil {
				fmt.Fprintln(stderr, err)
			}
		}()
	}
	// The worker reads an effective copy of the config dir: the
	// ClickHouse connectors pointed at the server just started, or left
	// out (and forgotten by the store) without one.
	effective := filepath.Join(*dataDir, "configs")
	skipped, err := demoConfigDir(*configDir, effective, chSrv)
	if err != nil {
		return err
	}
	if err := forgetConnectors(filepath.Join(*dataDir, "connectors"), skipped); err != nil {
		return err
	}
	w, cleanup, err := setUp(setup{
		reg: reg, logger: logger, levels: levels, configDir: effective, dataDir: *dataDir,
		kafka: kafkaFlags{embedded: filepath.Join(*dataDir, "kafka")}, ln: ln, shutdown: *shutdown, workerID: "demo",
	})
	if err != nil {
		return err
	}
	defer cleanup()

	fmt.Fprintf(stdout, "connectd demo: embedded Kafka at %s (data in %s), logs in %s\n", w.brokers[0], absPath(*dataDir), logPath)
	for _, st := range w.Status() {
		cfg, _ := w.Config(st.Name)
		fmt.Fprintf(stdout, "  %-22s %s %s\n", st.Name, st.Kind, cfg.Plugin.Class)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(stdout, "  (left out, no --clickhouse-host: %s; `make demo` passes it)\n", strings.Join(skipped, ", "))
	}
	if ln != nil {
		fmt.Fprintf(stdout, "REST API: http://%s (try: curl -s http://%s/connectors?expand=status)\n", ln.Addr(), ln.Addr())
	}
	if chSrv != nil {
		fmt.Fprintf(stdout, "ClickHouse: %s (native port %d, data in %s); page views per minute:\n  curl -s '%s/' --data-binary \"SELECT toStartOfMinute(timestamp) AS minute, count() AS page_views FROM click_events WHERE event_type = 'page_view' GROUP BY minute ORDER BY minute FORMAT PrettyCompact\"\n",
			chSrv.URL(), chSrv.NativePort, absPath(filepath.Join(chSrv.Dir, "data")), chSrv.URL())
	}
	fmt.Fprintln(stdout, "Ctrl-C to stop.")

	statusDone := make(chan struct{})
	sctx, stopStatus := context.WithCancel(context.Background())
	go func() {
		defer close(statusDone)
		showStatus(sctx, stdout, w)
	}()
	err = w.run(ctx, *shutdown)
	stopStatus()
	<-statusDone
	fmt.Fprintln(stdout)
	for _, st := range w.Status() {
		for _, t := range st.Tasks {
			if t.State == worker.StateFailed {
				fmt.Fprintf(stdout, "%s task %d FAILED: %s\n", st.Name, t.ID, t.Trace)
			}
		}
	}
	fmt.Fprintln(stdout, "stopped cleanly; run `make demo` again to resume.")
	return err
}

// showStatus prints one status line per second until ctx is done:
// refreshed in place on a terminal, a plain line every 5 s otherwise. The
// rate is of consumed events over the last five seconds. When the demo runs
// a window connector, the latest closed windows of its result topic (as
// `connectd top` draws them) are shown above the line on a terminal, and
// printed whenever they change otherwise.
func showStatus(ctx context.Context, out io.Writer, w *runningWorker) {
	tty := isTerminal(out)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	type sample struct {
		at       time.Time
		consumed int64
	}
	window := []sample{{time.Now(), 0}}
	results, reader := demoResults(w)
	lastFrame := ""
	if tty {
		fmt.Fprint(out, "\033[?25l")
		defer fmt.Fprint(out, "\033[?25h")
	}
	top := ""
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		line, consumed := statusLine(ctx, w)
		now := time.Now()
		window = append(window, sample{now, consumed})
		if len(window) > 6 {
			window = window[1:]
		}
		first := window[0]
		rate := float64(consumed-first.consumed) / now.Sub(first.at).Seconds()
		line += fmt.Sprintf(" | %s ev/s", group(int64(rate)))
		frame := ""
		if results != nil {
			_ = results.poll(ctx, reader) // a failed read shows the last frame
			frame = renderFrame(topFrame{Topic: results.topic, Results: results.list()}, 100)
		}
		switch {
		case tty && frame != "":
			if top == "" {
				fmt.Fprint(out, "\n\033[H\033[2J")
			}
			top = frame
			fmt.Fprint(out, "\033[H"+strings.ReplaceAll(frame, "\n", "\033[K\n")+"\n\033[K"+line+"\033[J")
		case tty:
			fmt.Fprintf(out, "\r\033[K%s", line)
		default:
			if frame != "" && frame != lastFrame {
				fmt.Fprint(out, frame)
				lastFrame = frame
			}
			if n%5 == 0 {
				fmt.Fprintln(out, line)
			}
		}
	}
}

// demoResults finds the demo's window connector (a connector with an
// output.topic) and returns a reader of its results, or nil.
func demoResults(w *runningWorker) (*topState, topReader) {
	reader, ok := w.reader.(topReader)
	if !ok {
		return nil, nil
	}
	for _, name := range w.Connectors() {
		if c, ok := w.Config(name); ok && c.Plugin.Kind == connector.KindSink && c.Raw["output.topic"] != "" {
			return newTopState(c.Raw["output.topic"], ""), reader
		}
	}
	return nil, nil
}

// statusLine sums what sources produced; consumed, committed and lag are
// the slowest sink's (several sinks may read the same topic); DLQ counts
// every sink's dead letters; lag is Kafka's: end offsets minus the sink
// group's committed offsets.
func statusLine(ctx context.Context, w *runningWorker) (line string, consumed int64) {
	var produced, committed, dlq, lag int64
	sinks := 0
	var failed []string
	for _, name := range w.Connectors() {
		c, ok := w.Config(name)
		if !ok {
			continue
		}
		t, _ := w.Totals(c.Name)
		if c.Plugin.Kind == connector.KindSource {
			produced += t.Produced
			continue
		}
		dlq += t.DeadLettered
		if sinks == 0 || t.Committed < committed {
			consumed, committed = t.Consumed, t.Committed
		}
		lag = max(lag, sinkLag(ctx, w.admin, c))
		sinks++
	}
	for _, st := range w.Status() {
		for _, t := range st.Tasks {
			if t.State == worker.StateFailed {
				failed = append(failed, fmt.Sprintf("%s/%d", st.Name, t.ID))
			}
		}
	}
	line = fmt.Sprintf("produced %s | consumed %s | committed %s | lag %s | DLQ %s",
		group(produced), group(consumed), group(committed), group(lag), group(dlq))
	if len(failed) > 0 {
		line += " | FAILED: " + strings.Join(failed, ", ")
	}
	return line, consumed
}

func sinkLag(ctx context.Context, admin connector.Admin, c *connector.ConnectorConfig) int64 {
	qctx, cancel := context.WithTimeout(ctx, 800*time.Millisecond)
	defer cancel()
	tps, err := admin.Partitions(qctx, c.Sink.Topics, c.TopicsRegex)
	if err != nil || len(tps) == 0 {
		return 0
	}
	ends, err := admin.EndOffsets(qctx, tps)
	if err != nil {
		return 0
	}
	committed, err := admin.GroupOffsets(qctx, c.Group())
	if err != nil {
		return 0
	}
	var lag int64
	for tp, end := range ends {
		lag += max(0, end-committed[tp])
	}
	return lag
}

// group renders n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
