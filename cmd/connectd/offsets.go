package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/internal/restclient"
	"github.com/connectd/connectd/worker"
)

// This file is `connectd offsets`: show a connector's offsets, and the
// backfill, which moves them back (or forward) through the REST API.

const offsetsUsage = `Usage: connectd offsets <command> [flags]

Commands:
  get --connector NAME     a connector's committed offsets, as a table
  reset --connector NAME (--to-earliest | --to-latest | --to-datetime RFC3339 |
        --to-offset TOPIC:PARTITION:OFFSET ... | --shift-by N) [--dry-run]
                           move a connector's offsets (a backfill) and print the plan

Both take --url (default ` + restclient.DefaultURL + `) and --timeout.
Run 'connectd offsets <command> --help' for its flags.
`

const resetSynopsis = `offsets reset --connector NAME (--to-earliest | --to-latest | --to-datetime RFC3339 | --to-offset TOPIC:PARTITION:OFFSET ... | --shift-by N) [--dry-run] [--url URL]

Moves a connector's offsets, so that it consumes again from there (a backfill) or skips ahead.
Unless --dry-run, it stops the connector (PUT /connectors/NAME/stop) and waits until it is
STOPPED, asks the worker for the plan (the sink may move a target back to the start of a
file it cannot split), prints it, sets the offsets (PATCH /connectors/NAME/offsets) and
puts the connector back in the state it was in: RUNNING (or FAILED) resumes, PAUSED is paused
again, STOPPED stays stopped. --dry-run prints the plan and changes nothing; the connector keeps
running. A source connector can only be reset --to-earliest: its offsets are deleted and it
starts again from its beginning.`

// resetModes are the modes of `offsets reset`, in the order messages list
// them.
func resetModes() []string {
	return []string{"--to-earliest", "--to-latest", "--to-datetime", "--to-offset", "--shift-by"}
}

// toOffsetForm is the expected form of a --to-offset value.
const toOffsetForm = "want TOPIC:PARTITION:OFFSET, e.g. clicks:0:1200"

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// resetRequest is a parsed `offsets reset` command line.
type resetRequest struct {
	connector string
	spec      worker.ResetSpec
	dryRun    bool
}

// cmdOffsets is `connectd offsets get|reset`.
func cmdOffsets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"name a command: get or reset (connectd offsets --help)"}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stderr, offsetsUsage)
		return flag.ErrHelp
	case "get":
		return offsetsGet(ctx, args[1:], stdout, stderr)
	case "reset":
		req, cf, err := parseReset(args[1:], stderr)
		if err != nil {
			return err
		}
		c, err := cf.client()
		if err != nil {
			return err
		}
		return resetOffsets(ctx, c, req, cf.timeout, stdout)
	default:
		return usageError{fmt.Sprintf("unknown command %q: use get or reset", args[0])}
	}
}

func offsetsGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("offsets get", "offsets get --connector NAME [--url URL]\n\nPrints a connector's committed offsets (GET /connectors/NAME/offsets).", stderr)
	var cf ctlFlags
	cf.register(fs)
	name := fs.String("connector", "", "the connector's name")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q: connectd offsets get --connector NAME", pos)}
	}
	if *name == "" {
		return usageError{"--connector is required: the name of the connector"}
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	offs, err := c.Offsets(ctx, *name)
	if err != nil {
		return ctlError(c, err)
	}
	if len(offs) == 0 {
		fmt.Fprintf(stdout, "Connector %s has no committed offsets.\n", *name)
		return nil
	}
	writeOffsets(stdout, offs)
	return nil
}

// parseReset parses and checks an `offsets reset` command line: exactly
// one mode, each value in its form.
func parseReset(args []string, stderr io.Writer) (resetRequest, ctlFlags, error) {
	var req resetRequest
	fs := newFlags("offsets reset", resetSynopsis, stderr)
	var cf ctlFlags
	cf.register(fs)
	fs.StringVar(&req.connector, "connector", "", "the connector's name")
	earliest := fs.Bool("to-earliest", false, "to the first offset still in each partition (a source: its beginning)")
	latest := fs.Bool("to-latest", false, "to the end of each partition: skip what is not consumed yet")
	datetime := fs.String("to-datetime", "", "to the first record at or after this `RFC3339` time, e.g. 2026-11-01T08:30:00Z")
	var toOffsets stringList
	fs.Var(&toOffsets, "to-offset", "to this offset in one partition, as `TOPIC:PARTITION:OFFSET`; repeat it for more; partitions not named keep theirs")
	shift := fs.String("shift-by", "", "by `N` offsets from the committed ones: negative replays, positive skips")
	fs.BoolVar(&req.dryRun, "dry-run", false, "print the plan and change nothing")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return req, cf, err
	}
	if len(pos) > 0 {
		return req, cf, usageError{fmt.Sprintf("unexpected arguments %q: flags only (connectd offsets reset --help)", pos)}
	}
	if req.connector == "" {
		return req, cf, usageError{"--connector is required: the name of the connector to reset"}
	}
	given := map[string]bool{
		"--to-earliest": *earliest,
		"--to-latest":   *latest,
		"--to-datetime": *datetime != "",
		"--to-offset":   len(toOffsets) > 0,
		"--shift-by":    *shift != "",
	}
	var modes []string
	for _, m := range resetModes() {
		if given[m] {
			modes = append(modes, m)
		}
	}
	switch len(modes) {
	case 0:
		return req, cf, usageError{"say where to move the offsets with one of " + strings.Join(resetModes(), ", ")}
	case 1:
	default:
		return req, cf, usageError{fmt.Sprintf("%s cannot be combined: use exactly one of %s", joinAnd(modes), strings.Join(resetModes(), ", "))}
	}
	switch modes[0] {
	case "--to-earliest":
		req.spec.To = "earliest"
	case "--to-latest":
		req.spec.To = "latest"
	case "--to-datetime":
		t, err := time.Parse(time.RFC3339Nano, *datetime)
		if err != nil {
			return req, cf, usageError{fmt.Sprintf("--to-datetime %q: want an RFC3339 time with its zone, e.g. 2026-11-01T08:30:00Z or 2026-11-01T09:30:00+01:00", *datetime)}
		}
		req.spec.To, req.spec.Datetime = "datetime", t
	case "--to-offset":
		req.spec.To = "offsets"
		seen := map[string]bool{}
		for _, v := range toOffsets {
			po, err := parseToOffset(v)
			if err != nil {
				return req, cf, err
			}
			key := po.Topic + ":" + strconv.Itoa(int(po.Partition))
			if seen[key] {
				return req, cf, usageError{fmt.Sprintf("--to-offset: partition %s is given twice", key)}
			}
			seen[key] = true
			req.spec.Offsets = append(req.spec.Offsets, po)
		}
	case "--shift-by":
		n, err := strconv.ParseInt(*shift, 10, 64)
		if err != nil {
			return req, cf, usageError{fmt.Sprintf("--shift-by %q: want a whole number of offsets, negative to replay (e.g. -1000)", *shift)}
		}
		req.spec.To, req.spec.Shift = "shift", n
	}
	return req, cf, nil
}

// parseToOffset reads one TOPIC:PARTITION:OFFSET. Kafka topic names hold
// no ':', so the value must have exactly two.
func parseToOffset(v string) (worker.PartitionOffset, error) {
	parts := strings.Split(v, ":")
	if len(parts) != 3 || parts[0] == "" {
		return worker.PartitionOffset{}, usageError{fmt.Sprintf("--to-offset %q: %s", v, toOffsetForm)}
	}
	p, err := strconv.ParseInt(parts[1], 10, 32)
	if err != nil || p < 0 {
		return worker.PartitionOffset{}, usageError{fmt.Sprintf("--to-offset %q: partition %q is not a partition number; %s", v, parts[1], toOffsetForm)}
	}
	o, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || o < 0 {
		return worker.PartitionOffset{}, usageError{fmt.Sprintf("--to-offset %q: offset %q is not an offset (a whole number, 0 or more); %s", v, parts[2], toOffsetForm)}
	}
	return worker.PartitionOffset{Topic: parts[0], Partition: int32(p), Offset: o}, nil
}

// joinAnd joins "a", "b", "c" as "a, b and c".
func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// describeSpec says where a reset moves the offsets, for the plan's title.
func describeSpec(spec worker.ResetSpec) string {
	switch spec.To {
	case "earliest":
		return "to the earliest offsets"
	case "latest":
		return "to the latest offsets"
	case "datetime":
		return "to the first records at or after " + spec.Datetime.UTC().Format(time.RFC3339Nano)
	case "offsets":
		return "to the offsets given"
	case "shift":
		return fmt.Sprintf("by %+d offsets", spec.Shift)
	}
	return spec.To
}

// resetOffsets runs a reset against the worker, printing each step.
func resetOffsets(ctx context.Context, c *restclient.Client, req resetRequest, timeout time.Duration, stdout io.Writer) error {
	name := req.connector
	info, err := c.Connector(ctx, name)
	if err != nil {
		return ctlError(c, err)
	}
	st, err := c.Status(ctx, name)
	if err != nil {
		return ctlError(c, err)
	}
	before := st.Connector.State
	if info.Type == "source" {
		return resetSource(ctx, c, req, before, timeout, stdout)
	}
	title := fmt.Sprintf("Plan for connector %s, %s:", name, describeSpec(req.spec))
	if req.dryRun {
		plan, err := c.PlanReset(ctx, name, req.spec)
		if err != nil {
			return ctlError(c, err)
		}
		fmt.Fprintln(stdout, title)
		writePlan(stdout, plan)
		fmt.Fprintf(stdout, "Dry run: nothing changed; connector %s is %s.\n", name, before)
		return nil
	}
	if err := stopAndWait(ctx, c, name, before, timeout, stdout); err != nil {
		return err
	}
	plan, err := c.PlanReset(ctx, name, req.spec)
	if err != nil {
		return stranded(c, name, ctlError(c, err), "its offsets are unchanged")
	}
	fmt.Fprintln(stdout, title)
	replay := writePlan(stdout, plan)
	if len(plan) == 0 {
		fmt.Fprintf(stdout, "Connector %s consumes no partitions: there are no offsets to move.\n", name)
		return restoreState(ctx, c, name, before, 0, stdout, "its offsets are unchanged")
	}
	offs := make([]worker.ConnectorOffset, 0, len(plan))
	for _, r := range plan {
		offs = append(offs, restclient.SinkOffset(r.Topic, r.Partition, r.Target))
	}
	if _, err := c.AlterOffsets(ctx, name, offs); err != nil {
		return stranded(c, name, ctlError(c, err), fmt.Sprintf("its offsets may be unchanged or partly moved: check them with `connectd offsets get --connector %s --url %s` and run this reset again", name, c.URL()))
	}
	fmt.Fprintf(stdout, "Moved the offsets of connector %s to the targets above.\n", name)
	return restoreState(ctx, c, name, before, replay, stdout, "its offsets are moved as planned")
}

// resetSource resets a source connector to its beginning: its offsets are
// deleted while it is STOPPED.
func resetSource(ctx context.Context, c *restclient.Client, req resetRequest, before string, timeout time.Duration, stdout io.Writer) error {
	name := req.connector
	if req.spec.To != "earliest" {
		return fmt.Errorf("connector %s is a source: only --to-earliest is possible (its offsets are deleted and it starts again from its beginning)", name)
	}
	offs, err := c.Offsets(ctx, name)
	if err != nil {
		return ctlError(c, err)
	}
	if len(offs) == 0 {
		fmt.Fprintf(stdout, "Connector %s (a source) has no committed offsets.\n", name)
	} else {
		fmt.Fprintf(stdout, "Connector %s (a source) has these offsets; a reset deletes them, so it starts again from its beginning:\n", name)
		writeOffsets(stdout, offs)
	}
	if req.dryRun {
		fmt.Fprintf(stdout, "Dry run: nothing changed; connector %s is %s.\n", name, before)
		return nil
	}
	if err := stopAndWait(ctx, c, name, before, timeout, stdout); err != nil {
		return err
	}
	if _, err := c.ResetOffsets(ctx, name); err != nil {
		return stranded(c, name, ctlError(c, err), fmt.Sprintf("its offsets may be unchanged or partly deleted: check them with `connectd offsets get --connector %s --url %s` and run this reset again", name, c.URL()))
	}
	fmt.Fprintf(stdout, "Deleted the offsets of connector %s.\n", name)
	return restoreState(ctx, c, name, before, -1, stdout, "its offsets are deleted")
}

// stopAndWait stops the connector unless it is STOPPED already and waits
// until its status says so.
func stopAndWait(ctx context.Context, c *restclient.Client, name, before string, timeout time.Duration, stdout io.Writer) error {
	if before == "STOPPED" {
		fmt.Fprintf(stdout, "Connector %s is STOPPED.\n", name)
		return nil
	}
	if err := c.Stop(ctx, name); err != nil {
		return fmt.Errorf("%w\nconnector %s could not be stopped; nothing was changed", ctlError(c, err), name)
	}
	deadline := time.Now().Add(timeout)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return stranded(c, name, ctx.Err(), "its offsets are unchanged")
		case <-t.C:
		}
		st, err := c.Status(ctx, name)
		if err != nil {
			return stranded(c, name, ctlError(c, err), "its offsets are unchanged")
		}
		if st.Connector.State == "STOPPED" {
			fmt.Fprintf(stdout, "Stopped connector %s (it was %s).\n", name, before)
			return nil
		}
		if time.Now().After(deadline) {
			return stranded(c, name, fmt.Errorf("connector %s is still %s %s after it was asked to stop", name, st.Connector.State, timeout), "its offsets are unchanged")
		}
		t.Reset(200 * time.Millisecond)
	}
}

// restoreState puts the connector back in the state it had before the
// reset stopped it. replay is the number of offsets it will consume again
// (-1: unknown).
func restoreState(ctx context.Context, c *restclient.Client, name, before string, replay int64, stdout io.Writer, offsets string) error {
	resumeHint := fmt.Sprintf("connectd connectors resume %s --url %s", name, c.URL())
	switch before {
	case "STOPPED":
		fmt.Fprintf(stdout, "Connector %s stays STOPPED, as it was; resume it with: %s\n", name, resumeHint)
		return nil
	case "PAUSED":
		if err := c.Pause(ctx, name); err != nil {
			return stranded(c, name, ctlError(c, err), offsets)
		}
		fmt.Fprintf(stdout, "Paused connector %s again, as it was; resume it with: %s\n", name, resumeHint)
		return nil
	}
	if err := c.Resume(ctx, name); err != nil {
		return stranded(c, name, ctlError(c, err), offsets)
	}
	switch {
	case replay > 0:
		fmt.Fprintf(stdout, "Resumed connector %s: it consumes %d offsets again.\n", name, replay)
	case replay < 0:
		fmt.Fprintf(stdout, "Resumed connector %s: it starts again from its beginning.\n", name)
	default:
		fmt.Fprintf(stdout, "Resumed connector %s.\n", name)
	}
	return nil
}

// stranded says that a reset failed after it stopped the connector, what
// state that leaves, and how to resume.
func stranded(c *restclient.Client, name string, err error, offsets string) error {
	return fmt.Errorf("%w\nconnector %s is left STOPPED and %s; resume it with: connectd connectors resume %s --url %s", err, name, offsets, name, c.URL())
}

// writePlan prints a backfill plan as a table and the total to replay,
// which it returns.
func writePlan(w io.Writer, plan []worker.PlanRow) int64 {
	if len(plan) == 0 {
		fmt.Fprintln(w, "(no partitions)")
		return 0
	}
	rows := [][]string{{"TOPIC", "PARTITION", "CURRENT", "TARGET", "REPLAY", "NOTE"}}
	var total int64
	for _, r := range plan {
		current := "none"
		var notes []string
		if r.Current >= 0 {
			current = strconv.FormatInt(r.Current, 10)
		} else {
			notes = append(notes, "no committed offset")
		}
		if r.Adjusted {
			notes = append(notes, "moved back to the start of a file")
		}
		if r.Current >= 0 && r.Target > r.Current {
			notes = append(notes, fmt.Sprintf("skips %d", r.Target-r.Current))
		}
		total += r.Replay
		rows = append(rows, []string{r.Topic, strconv.Itoa(int(r.Partition)), current, strconv.FormatInt(r.Target, 10), strconv.FormatInt(r.Replay, 10), strings.Join(notes, "; ")})
	}
	writeTable(w, rows)
	fmt.Fprintf(w, "Records to replay: %d (counted in offsets)\n", total)
	return total
}

// writeOffsets prints KIP-875 offsets: a sink's as TOPIC, PARTITION,
// OFFSET; a source's partitions and offsets as compact JSON.
func writeOffsets(w io.Writer, offs []worker.ConnectorOffset) {
	sink := true
	for _, o := range offs {
		_, t := o.Partition["kafka_topic"]
		_, p := o.Partition["kafka_partition"]
		_, k := o.Offset["kafka_offset"]
		sink = sink && t && p && k && len(o.Partition) == 2
	}
	if sink {
		rows := [][]string{{"TOPIC", "PARTITION", "OFFSET"}}
		for _, o := range offs {
			rows = append(rows, []string{fmt.Sprint(o.Partition["kafka_topic"]), fmt.Sprint(o.Partition["kafka_partition"]), fmt.Sprint(o.Offset["kafka_offset"])})
		}
		writeTable(w, rows)
		return
	}
	rows := [][]string{{"PARTITION", "OFFSET"}}
	for _, o := range offs {
		rows = append(rows, []string{compactJSON(o.Partition), compactJSON(o.Offset)})
	}
	writeTable(w, rows)
}

// compactJSON renders a partition or offset (keys sorted); nil is "null".
func compactJSON(m map[string]any) string {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Sprint(m)
	}
	return string(b)
}
