package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/connector"
)

// This file is `connectd top`: a live view of a window connector's result
// topic. The Kafka half is here; the frame is drawn by top_render.go.

const topSynopsis = `top --topic T [--bootstrap-servers LIST | --embedded-kafka DIR] [--interval 1s] [--aggregate NAME] [--once]

Shows the newest closed window of each aggregate in a window connector's result topic:
events, unique users and sessions, splits and top lists with bars, funnel conversion and
alerts. It reads the topic read_committed, keeps the newest version of each result, and
then reads only what was committed since, every --interval. On a terminal the frame is
redrawn in place; otherwise a plain frame is printed each time it changes. --once prints
one frame of what the topic holds now and exits. A topic that does not exist yet is waited
for.`

// topReader reads a topic on from remembered positions; the Kafka
// adapter's TopicReader has it (ReadFrom).
type topReader interface {
	ReadFrom(ctx context.Context, topic string, from map[int32]int64, limit int) ([]connector.Record, map[int32]int64, error)
}

// topReadLimit bounds the records one read holds in memory.
const topReadLimit = 10_000

// topDefaultWidth is the frame width when neither --width nor $COLUMNS
// says.
const topDefaultWidth = 100

func cmdTop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("top", topSynopsis, stderr)
	var kf kafkaFlags
	kf.register(fs)
	topic := fs.String("topic", "", "result topic of a window connector (required)")
	interval := fs.Duration("interval", time.Second, "how often to read new results and redraw")
	aggregate := fs.String("aggregate", "", "show only this aggregate (a connector's result.name); default: all of them")
	once := fs.Bool("once", false, "print one frame of what the topic holds now and exit")
	width := fs.Int("width", 0, "frame width in columns; 0: $COLUMNS, else 100")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *topic == "":
		return usageError{"--topic is required: the result topic of a window connector"}
	case *interval <= 0:
		return usageError{fmt.Sprintf("--interval %s: must be positive, e.g. 1s", *interval)}
	case *width < 0:
		return usageError{fmt.Sprintf("--width %d: must be 0 (automatic) or a number of columns", *width)}
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	w := *width
	if w == 0 {
		w = envColumns()
	}
	// Errors only: warnings on the terminal would tear the frame.
	logger, _, err := newLogger(stderr, "error", false)
	if err != nil {
		return err
	}
	client, closeKafka, err := kf.connect(logger)
	if err != nil {
		return err
	}
	defer closeKafka()
	reader, ok := client.Reader().(topReader)
	if !ok {
		return errors.New("the Kafka adapter cannot read a topic incrementally")
	}

	st := newTopState(*topic, *aggregate)
	tty := isTerminal(stdout) && !*once
	if tty {
		fmt.Fprint(stdout, "\033[?25l\033[H\033[2J") // hide the cursor, clear
		defer fmt.Fprint(stdout, "\033[?25h")
	}
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	last := ""
	for {
		note := ""
		if err := st.poll(ctx, reader); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if *once {
				return err
			}
			note = fmt.Sprintf("read failed, retrying every %s: %v", *interval, err)
		}
		frame := renderFrame(topFrame{Topic: *topic, Note: st.note(note, *interval), Results: st.list()}, w)
		switch {
		case *once:
			_, err := fmt.Fprint(stdout, frame)
			return err
		case frame == last:
		case tty:
			// Home, each line then clear to its end, clear below: no flicker.
			fmt.Fprint(stdout, "\033[H"+strings.ReplaceAll(frame, "\n", "\033[K\n")+"\033[J")
		default:
			if last != "" {
				fmt.Fprintln(stdout)
			}
			fmt.Fprint(stdout, frame)
		}
		last = frame
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// envColumns is $COLUMNS when it is a sensible width, else the default.
func envColumns() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n >= 40 {
		return n
	}
	return topDefaultWidth
}

// topState is what top knows of the topic: its read positions, and per
// aggregate the newest version of each result of its newest window. Older
// windows are dropped as soon as a newer one arrives, so memory is one
// window per aggregate however long the topic is.
type topState struct {
	topic, only string
	pos         map[int32]int64
	exists      bool
	read        int64 // records read
	skipped     int64 // records that are not results
	newest      map[string]time.Time
	results     map[string]topResult // by id
}

func newTopState(topic, only string) *topState {
	return &topState{topic: topic, only: only, newest: map[string]time.Time{}, results: map[string]topResult{}}
}

// poll reads everything committed since the last poll.
func (s *topState) poll(ctx context.Context, r topReader) error {
	for {
		recs, next, err := r.ReadFrom(ctx, s.topic, s.pos, topReadLimit)
		if err != nil {
			return err
		}
		s.exists = len(next) > 0
		s.pos = next
		for _, rec := range recs {
			s.add(rec)
		}
		if len(recs) < topReadLimit {
			return nil
		}
	}
}

// add applies one record of the result topic.
func (s *topState) add(rec connector.Record) {
	s.read++
	if rec.Value == nil { // a tombstone of a compacted result topic
		s.remove(string(rec.Key))
		return
	}
	r, err := decodeResult(rec.Value)
	if err != nil {
		s.skipped++
		return
	}
	if s.only != "" && r.Aggregate != s.only {
		return
	}
	if old, ok := s.results[r.ID]; ok && r.Version < old.Version {
		return
	}
	if r.Retract {
		s.remove(r.ID)
		return
	}
	end, ok := s.newest[r.Aggregate]
	switch {
	case ok && r.WindowEnd.Before(end):
		return // a re-emission of a window that is no longer shown
	case !ok || r.WindowEnd.After(end):
		s.newest[r.Aggregate] = r.WindowEnd
		for id, o := range s.results {
			if o.Aggregate == r.Aggregate {
				delete(s.results, id)
			}
		}
	}
	s.results[r.ID] = r
}

// remove forgets a result; its aggregate's newest window becomes that of
// the results left.
func (s *topState) remove(id string) {
	r, ok := s.results[id]
	if !ok {
		return
	}
	delete(s.results, id)
	delete(s.newest, r.Aggregate)
	for _, o := range s.results {
		if o.Aggregate == r.Aggregate && o.WindowEnd.After(s.newest[o.Aggregate]) {
			s.newest[o.Aggregate] = o.WindowEnd
		}
	}
}

// list returns the results held, in no particular order.
func (s *topState) list() []topResult {
	out := make([]topResult, 0, len(s.results))
	for _, r := range s.results {
		out = append(out, r)
	}
	return out
}

// note is the status line of a frame; failure, when set, replaces it.
func (s *topState) note(failure string, interval time.Duration) string {
	if failure != "" {
		return failure
	}
	if !s.exists {
		return fmt.Sprintf("topic %s does not exist yet; waiting for it (checking every %s)", s.topic, interval)
	}
	n := group(s.read) + " records read"
	if s.read == 1 {
		n = "1 record read"
	}
	if s.skipped > 0 {
		n += fmt.Sprintf(", %s not results (skipped)", group(s.skipped))
	}
	if s.only != "" {
		n += " · aggregate " + s.only + " only"
	}
	return n
}
