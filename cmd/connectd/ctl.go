package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/internal/restclient"
)

// This file is `connectd connectors`, the command line for the common calls
// of the REST API a worker serves (`connectd run --listen`). The client
// side only: it works against any Kafka Connect 3.9 worker as well.

const connectorsUsage = `Usage: connectd connectors <command> [flags]

Drives the connectors of a running worker through its REST API (Kafka Connect's).

Commands:
  list                    every connector with its type, state and running/total tasks
  get NAME                a connector's config, as sorted key=value lines
  create FILE             create a connector from a file in Kafka Connect's {"name", "config"} envelope
  delete NAME             delete a connector
  pause NAME              pause a connector's tasks
  resume NAME             resume a paused or stopped connector
  stop NAME               stop a connector (its offsets can then be changed)
  restart NAME [--include-tasks] [--only-failed]
                          restart a connector, and with --include-tasks its tasks
  status NAME             a connector's state and each task's, with the error of a failed one

Every command takes --url (default ` + restclient.DefaultURL + `) and --timeout.
Run 'connectd connectors <command> --help' for its flags.
`

// ctlFlags are the flags every REST command takes.
type ctlFlags struct {
	url     string
	timeout time.Duration
}

func (f *ctlFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", restclient.DefaultURL, "base URL of the worker's REST API")
	fs.DurationVar(&f.timeout, "timeout", time.Minute, "how long one request (or a wait for a state) may take")
}

// client builds the REST client the flags describe.
func (f *ctlFlags) client() (*restclient.Client, error) {
	if f.timeout <= 0 {
		return nil, usageError{fmt.Sprintf("--timeout %s: give a positive duration, such as 30s", f.timeout)}
	}
	c, err := restclient.New(f.url, &http.Client{Timeout: f.timeout})
	if err != nil {
		return nil, usageError{"--url " + err.Error()}
	}
	return c, nil
}

// ctlError explains a failed call: a worker that does not answer is named
// with its URL and how to start one; anything else is the client's error
// as it is ("<message> (HTTP <code>)" for a worker's error answer).
func ctlError(c *restclient.Client, err error) error {
	var ue *restclient.UnreachableError
	if !errors.As(err, &ue) {
		return err
	}
	listen := "127.0.0.1:8083"
	if u, perr := url.Parse(c.URL()); perr == nil && u.Host != "" {
		listen = u.Host
	}
	return fmt.Errorf("no connectd worker answers at %s (%v)\nstart one with: connectd run --config-dir DIR --listen %s\nor point --url at a running worker", c.URL(), ue.Err, listen)
}

// parseArgs parses flags that may come before, between or after the
// positional arguments (`restart NAME --include-tasks`), and returns the
// positional ones. Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// oneArg returns the only positional argument (what names it in
// messages: "the connector", "the connector file").
func oneArg(pos []string, what, synopsis string) (string, error) {
	switch {
	case len(pos) == 0:
		return "", usageError{"name " + what + ": connectd " + synopsis}
	case len(pos) > 1:
		return "", usageError{fmt.Sprintf("unexpected arguments %q: connectd %s", pos[1:], synopsis)}
	case pos[0] == "":
		return "", usageError{what + " is an empty string"}
	}
	return pos[0], nil
}

// cmdConnectors is `connectd connectors <command>`.
func cmdConnectors(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"name a command: list, get, create, delete, pause, resume, stop, restart or status (connectd connectors --help)"}
	}
	sub := args[0]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stderr, connectorsUsage)
		return flag.ErrHelp
	}
	synopses := map[string]string{
		"list":    "connectors list [--url URL]",
		"get":     "connectors get NAME [--url URL]",
		"create":  "connectors create FILE [--url URL]",
		"delete":  "connectors delete NAME [--url URL]",
		"pause":   "connectors pause NAME [--url URL]",
		"resume":  "connectors resume NAME [--url URL]",
		"stop":    "connectors stop NAME [--url URL]",
		"restart": "connectors restart NAME [--include-tasks] [--only-failed] [--url URL]",
		"status":  "connectors status NAME [--url URL]",
	}
	synopsis, ok := synopses[sub]
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q: use list, get, create, delete, pause, resume, stop, restart or status", sub)}
	}
	fs := newFlags("connectors "+sub, synopsis, stderr)
	var cf ctlFlags
	cf.register(fs)
	includeTasks, onlyFailed := new(bool), new(bool)
	if sub == "restart" {
		fs.BoolVar(includeTasks, "include-tasks", false, "restart the connector's tasks too")
		fs.BoolVar(onlyFailed, "only-failed", false, "restart only what has FAILED")
	}
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if sub == "list" {
		if len(pos) > 0 {
			return usageError{fmt.Sprintf("unexpected arguments %q: connectd %s", pos, synopsis)}
		}
		return ctlError(c, listConnectors(ctx, c, stdout))
	}
	what := "the connector"
	if sub == "create" {
		what = "the connector file"
	}
	name, err := oneArg(pos, what, synopsis)
	if err != nil {
		return err
	}
	switch sub {
	case "get":
		err = getConfig(ctx, c, name, stdout)
	case "create":
		err = createConnector(ctx, c, name, stdout)
	case "delete":
		if err = c.Delete(ctx, name); err == nil {
			fmt.Fprintf(stdout, "Deleted connector %s.\n", name)
		}
	case "pause":
		if err = c.Pause(ctx, name); err == nil {
			fmt.Fprintf(stdout, "Paused connector %s.\n", name)
		}
	case "resume":
		if err = c.Resume(ctx, name); err == nil {
			fmt.Fprintf(stdout, "Resumed connector %s.\n", name)
		}
	case "stop":
		if err = c.Stop(ctx, name); err == nil {
			fmt.Fprintf(stdout, "Stopped connector %s.\n", name)
		}
	case "restart":
		err = restartConnector(ctx, c, name, *includeTasks, *onlyFailed, stdout)
	case "status":
		var st restclient.Status
		if st, err = c.Status(ctx, name); err == nil {
			writeStatus(stdout, st)
		}
	}
	return ctlError(c, err)
}

func listConnectors(ctx context.Context, c *restclient.Client, stdout io.Writer) error {
	all, err := c.ConnectorsExpanded(ctx, "status")
	if err != nil {
		return err
	}
	writeConnectorList(stdout, all)
	return nil
}

// writeConnectorList prints GET /connectors?expand=status as a table.
func writeConnectorList(w io.Writer, all map[string]restclient.Expanded) {
	if len(all) == 0 {
		fmt.Fprintln(w, "No connectors.")
		return
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	slices.Sort(names)
	rows := [][]string{{"NAME", "TYPE", "STATE", "TASKS"}}
	for _, n := range names {
		st := all[n].Status
		if st == nil {
			rows = append(rows, []string{n, "?", "?", "?"})
			continue
		}
		running := 0
		for _, t := range st.Tasks {
			if t.State == "RUNNING" {
				running++
			}
		}
		rows = append(rows, []string{n, orDash(st.Type), orDash(st.Connector.State), fmt.Sprintf("%d/%d", running, len(st.Tasks))})
	}
	writeTable(w, rows)
}

func getConfig(ctx context.Context, c *restclient.Client, name string, stdout io.Writer) error {
	cfg, err := c.Config(ctx, name)
	if err != nil {
		return err
	}
	writeConfigLines(stdout, cfg)
	return nil
}

// writeConfigLines prints a config as key=value lines sorted by key.
func writeConfigLines(w io.Writer, cfg map[string]string) {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s=%s\n", k, cfg[k])
	}
}

// readEnvelope reads a connector file in Kafka Connect's envelope
// {"name": ..., "config": {...}} (optionally "initial_state"). Config
// values must be strings, as in Kafka Connect.
func readEnvelope(path string) (restclient.NewConnector, error) {
	var nc restclient.NewConnector
	b, err := os.ReadFile(path)
	if err != nil {
		return nc, err
	}
	if err := json.Unmarshal(b, &nc); err != nil {
		return nc, fmt.Errorf("%s: not a connector file (Kafka Connect's {\"name\": ..., \"config\": {...}} with string values): %v", path, err)
	}
	if nc.Name == "" {
		return nc, fmt.Errorf("%s: the connector has no \"name\"", path)
	}
	if nc.Config == nil {
		return nc, fmt.Errorf("%s: the connector has no \"config\" object", path)
	}
	return nc, nil
}

func createConnector(ctx context.Context, c *restclient.Client, path string, stdout io.Writer) error {
	nc, err := readEnvelope(path)
	if err != nil {
		return err
	}
	info, err := c.Create(ctx, nc)
	if err != nil {
		return err
	}
	kind := info.Type
	if kind == "" {
		kind = "connector"
	}
	fmt.Fprintf(stdout, "Created connector %s (%s, class %s).\n", info.Name, kind, orDash(info.Config["connector.class"]))
	return nil
}

func restartConnector(ctx context.Context, c *restclient.Client, name string, includeTasks, onlyFailed bool, stdout io.Writer) error {
	st, err := c.Restart(ctx, name, includeTasks, onlyFailed)
	if err != nil {
		return err
	}
	if st == nil {
		fmt.Fprintf(stdout, "Restarted connector %s.\n", name)
		return nil
	}
	fmt.Fprintf(stdout, "Restarting connector %s:\n", name)
	writeStatus(stdout, *st)
	return nil
}

// writeStatus prints a connector's status: a line for the connector, then
// a table of its tasks with the first line of a failed one's trace.
func writeStatus(w io.Writer, st restclient.Status) {
	line := fmt.Sprintf("Connector %s", st.Name)
	if st.Type != "" {
		line += " (" + st.Type + ")"
	}
	line += ": " + orDash(st.Connector.State)
	if st.Connector.WorkerID != "" {
		line += " on " + st.Connector.WorkerID
	}
	if st.Connector.State == "FAILED" && st.Connector.Trace != "" {
		line += ": " + firstLine(st.Connector.Trace)
	}
	fmt.Fprintln(w, line)
	if len(st.Tasks) == 0 {
		fmt.Fprintln(w, "No tasks.")
		return
	}
	rows := [][]string{{"TASK", "STATE", "WORKER", "ERROR"}}
	for _, t := range st.Tasks {
		errLine := ""
		switch {
		case t.Trace != "": // FAILED, or RUNNING and retrying
			errLine = firstLine(t.Trace)
		case t.State == "FAILED":
			errLine = "-"
		}
		rows = append(rows, []string{strconv.Itoa(t.ID), orDash(t.State), orDash(t.WorkerID), errLine})
	}
	writeTable(w, rows)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeTable prints rows (the first is the header) in left-aligned columns
// two spaces apart, without trailing blanks.
func writeTable(w io.Writer, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, cell := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(cell))+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
