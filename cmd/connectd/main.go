package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/connectd/connectd/internal/logging"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `connectd moves click events from Kafka to sinks exactly once.

Usage:
  connectd <command> [flags]

Commands:
  run         run a worker: connectors from a config directory, REST API on --listen
  connectors  list, create, pause, resume, stop, restart connectors of a running worker
  offsets     show a connector's offsets, or reset them for a backfill
  kafka       run an embedded Kafka broker as its own process
  gen         write generated click events straight to a topic
  validate    check connector config files and print every problem
  demo        run the demo: embedded Kafka, generator, file sink, live status
  top         live view of the latest closed windows in a window result topic
  iceberg     maintain the Iceberg sink's tables: compact, expire-snapshots, remove-orphans, offsets
  version     print the version

Run 'connectd <command> --help' for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmds := map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
		"run":        cmdRun,
		"kafka":      cmdKafka,
		"gen":        cmdGen,
		"validate":   cmdValidate,
		"demo":       cmdDemo,
		"connectors": cmdConnectors,
		"offsets":    cmdOffsets,
		"top":        cmdTop,
		"iceberg":    cmdIceberg,
		"version": func(_ context.Context, _ []string, stdout, _ io.Writer) error {
			fmt.Fprintf(stdout, "connectd %s\n", version)
			return nil
		},
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "connectd: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	err := cmd(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "connectd %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "connectd %s: %v\n", args[0], err)
		return 1
	}
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// signalContext is cancelled on the first SIGINT or SIGTERM; a second one
// exits at once (the forced stop).
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
			return
		}
		select {
		case <-ch:
			fmt.Fprintln(os.Stderr, "connectd: second signal, exiting now")
			os.Exit(130)
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel()
	}
}

// newFlags returns a flag set whose --help prints synopsis and flags.
func newFlags(name, synopsis string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: connectd %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// newLogger builds the process logger at the given level (TRACE, DEBUG,
// INFO, WARN, ERROR, OFF; any case), as JSON when json is true, with the
// per-logger levels that /admin/loggers changes at run time.
func newLogger(w io.Writer, level string, json bool) (*slog.Logger, *logging.Levels, error) {
	lv, err := logging.ParseLevel(level)
	if err != nil {
		return nil, nil, usageError{fmt.Sprintf("--log-level %q: use trace, debug, info, warn or error", level)}
	}
	logger, levels := logging.New(w, json, lv)
	return logger, levels, nil
}

// splitList splits a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// waitForced waits for done until d passes after ctx is cancelled; it
// reports whether done came in time.
func waitForced(ctx context.Context, done <-chan struct{}, d time.Duration) bool {
	select {
	case <-done:
		return true
	case <-ctx.Done():
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
