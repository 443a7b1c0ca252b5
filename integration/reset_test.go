//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/internal/logging"
	"github.com/connectd/connectd/internal/restclient"
	"github.com/connectd/connectd/sinks/file"
	"github.com/connectd/connectd/sources/generator"
)

const (
	resetEvents    = 60_000
	resetFlushSize = 1000
	resetSeed      = 21
	resetUsers     = 2000
	resetStart     = "2026-11-01T08:00:00Z"
	// The generator runs unpaced (events.per.second 0): event time then
	// advances 1000 events per second, so the events span a minute of
	// event time whatever the machine's speed.
	resetEventTimeRate = 1000
)

// TestBackfillResetToDatetime is the backfill of issue 3: a file sink has
// written a generated clickstream; `connectd offsets reset --to-datetime`
// with a time in the middle of the events moves it back, and the replay
// leaves the output exactly as it was: per partition the same records in
// offset order (no duplicates, nothing missing), and the same files where
// files are cut by count. A --dry-run first changes nothing.
//
// The sink connector is created (with `connectd connectors create`) only
// once the generator has written every event, so it reads a complete topic
// at full speed in both runs: every file but the last of a partition is
// then cut by flush.size, at offsets that do not depend on timing, and the
// last one by flush.interval.ms once the traffic stops.
func TestBackfillResetToDatetime(t *testing.T) {
	dir := t.TempDir()
	configDir, filesDir := filepath.Join(dir, "configs"), filepath.Join(dir, "files")
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr, _ := startKafka(t, filepath.Join(dir, "kafka"), dir)
	// Every event in Kafka first.
	url, c := generateForReset(t, dir, configDir, addr, resetEvents, resetUsers, resetSeed, resetStart)
	ctx := context.Background()

	// Then the sink, through the CLI.
	sinkFile := filepath.Join(dir, "files.json")
	writeEnvelope(t, sinkFile, "files", map[string]string{
		"connector.class":          "file",
		"topics":                   "clicks",
		"file.dir":                 filesDir,
		"flush.size":               strconv.Itoa(resetFlushSize),
		"flush.interval.ms":        "4000",
		"offset.flush.interval.ms": "500",
	})
	out := runCLI(t, "connectors", "create", sinkFile, "--url", url)
	if !strings.HasPrefix(out, "Created connector files (sink") {
		t.Errorf("connectors create printed %q", out)
	}

	want := expectedResetEvents(t)
	var before *sinkOutput
	waitFor(t, 3*time.Minute, "every event in the files and committed", func() (bool, string) {
		o, state := readSinkOutput(t, c, filesDir)
		if o == nil {
			return false, state
		}
		before = o
		return o.done(), o.String()
	})
	before.checkAgainst(t, want)
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("clean run: %s", before)

	mid, _ := time.Parse(time.RFC3339, resetStart)
	mid = mid.Add(resetEvents / resetEventTimeRate / 2 * time.Second)
	midArg := mid.Format(time.RFC3339)
	wantPlan := before.expectedPlan(t, want, mid)

	// A dry run prints the plan and changes nothing.
	out = runCLI(t, "offsets", "reset", "--connector", "files", "--to-datetime", midArg, "--dry-run", "--url", url)
	t.Logf("offsets reset --dry-run:\n%s", out)
	checkPrintedPlan(t, out, wantPlan)
	if !strings.Contains(out, "Dry run: nothing changed; connector files is RUNNING.\n") {
		t.Errorf("dry run output lacks its last line:\n%s", out)
	}
	time.Sleep(2 * time.Second) // time enough for a wrong change to show
	if st, err := c.Status(ctx, "files"); err != nil || st.Connector.State != "RUNNING" || len(st.Tasks) != 1 || st.Tasks[0].State != "RUNNING" {
		t.Errorf("after the dry run the connector's status is %+v (%v), want it and its task RUNNING", st, err)
	}
	afterDry, state := readSinkOutput(t, c, filesDir)
	if afterDry == nil {
		t.Fatalf("after the dry run: %s", state)
	}
	if !reflect.DeepEqual(afterDry.committed, before.committed) {
		t.Errorf("the dry run changed the committed offsets: %v, before %v", afterDry.committed, before.committed)
	}
	if !reflect.DeepEqual(afterDry.files, before.files) {
		t.Errorf("the dry run changed the files: %d files now, %d before", len(afterDry.files), len(before.files))
	}

	// The reset itself.
	resetAt := time.Now()
	out = runCLI(t, "offsets", "reset", "--connector", "files", "--to-datetime", midArg, "--url", url)
	t.Logf("offsets reset:\n%s", out)
	checkPrintedPlan(t, out, wantPlan)
	for _, line := range []string{
		"Stopped connector files (it was RUNNING).\n",
		"Plan for connector files, to the first records at or after " + midArg + ":\n",
		"Moved the offsets of connector files to the targets above.\n",
		"Resumed connector files: it consumes ",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("reset output lacks %q", line)
		}
	}

	var after *sinkOutput
	waitFor(t, 3*time.Minute, "the replay to commit up to the end again", func() (bool, string) {
		o, state := readSinkOutput(t, c, filesDir)
		if o == nil {
			return false, state
		}
		after = o
		return reflect.DeepEqual(o.committed, before.committed) && o.done(), o.String()
	})
	time.Sleep(2 * time.Second)
	stable, state := readSinkOutput(t, c, filesDir)
	if stable == nil {
		t.Fatal(state)
	}
	if !reflect.DeepEqual(stable.files, after.files) || !reflect.DeepEqual(stable.committed, after.committed) {
		t.Errorf("the output still changed after the replay committed up to the end")
	}
	if st, err := c.Status(ctx, "files"); err != nil || st.Connector.State != "RUNNING" {
		t.Errorf("after the replay the connector's status is %+v (%v), want RUNNING", st, err)
	}
	t.Logf("after the replay: %s", stable)

	// The replay really happened: the file at each target was written again.
	for _, row := range wantPlan {
		path := filepath.Join(filesDir, "clicks", file.FileName(connector.TopicPartition{Topic: row.topic, Partition: row.partition}, row.target))
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("partition %d: %v", row.partition, err)
		} else if fi.ModTime().Before(resetAt) {
			t.Errorf("partition %d: %s was not written again by the replay (modified %s, the reset began %s)", row.partition, path, fi.ModTime().Format(time.RFC3339Nano), resetAt.Format(time.RFC3339Nano))
		}
	}

	stable.checkAgainst(t, want)
	compareOutputs(t, before, stable)
}

// startRESTWorker runs `connectd run` serving the REST API on a free port
// and returns its URL once GET / answers with this binary's version.
// generateForReset starts a worker with a REST listener and an unpaced
// generator connector "gen" writing events events (users users, seed,
// first event at start, 4 partitions) to topic clicks, and waits until
// it wrote them all, so that a sink created afterwards reads a complete
// topic. It returns the worker's URL and a client of it.
func generateForReset(t *testing.T, dir, configDir, kafkaAddr string, events, users, seed int, start string) (string, *restclient.Client) {
	t.Helper()
	writeConfig(t, configDir, "gen", map[string]string{
		"connector.class":                   "generator",
		"topic":                             "clicks",
		"max.events":                        strconv.Itoa(events),
		"events.per.second":                 "0",
		"users":                             strconv.Itoa(users),
		"seed":                              strconv.Itoa(seed),
		"start.time":                        start,
		"topic.creation.default.partitions": "4",
		"transaction.boundary.interval.ms":  "200",
	})
	url := startRESTWorker(t, dir, configDir, kafkaAddr)
	c, err := restclient.New(url, &http.Client{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "the generator to write every event", func() (bool, string) {
		offs, err := c.Offsets(context.Background(), "gen")
		if err != nil {
			return false, err.Error()
		}
		if len(offs) != 1 {
			return false, fmt.Sprintf("offsets %v", offs)
		}
		pos := fmt.Sprint(offs[0].Offset["position"])
		return pos == strconv.Itoa(events), "position " + pos
	})
	return url, c
}

func startRESTWorker(t *testing.T, dir, configDir, kafkaAddr string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	version := strings.TrimPrefix(strings.TrimSpace(runCLI(t, "version")), "connectd ")
	p := start(t, dir, "worker", nil, "run", "--config-dir", configDir, "--bootstrap-servers", kafkaAddr, "--listen", listen, "--log-level", "debug")
	url := "http://" + listen
	c, err := restclient.New(url, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the worker's REST API at "+url, func() (bool, string) {
		select {
		case <-p.done:
			t.Fatalf("connectd run exited: %v\n%s", p.err, logging.FileTail(p.log, 20))
		default:
		}
		info, err := c.Info(context.Background())
		if err != nil {
			return false, err.Error()
		}
		if info.Version != version {
			t.Fatalf("GET %s/ answers version %q, want %q: another server holds the port", url, info.Version, version)
		}
		return true, ""
	})
	return url
}

// writeEnvelope writes a connector file outside the config directory.
func writeEnvelope(t *testing.T, path, name string, cfg map[string]string) {
	t.Helper()
	b, err := json.MarshalIndent(map[string]any{"name": name, "config": cfg}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runCLI runs the connectd binary to completion and returns its stdout;
// a failure (exit status not 0) fails the test with its stderr.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, connectdBin(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("connectd %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// expectedResetEvents regenerates what the generator connector writes,
// with the engine it uses.
func expectedResetEvents(t *testing.T) []generator.Event {
	t.Helper()
	start, _ := time.Parse(time.RFC3339, resetStart)
	e, err := generator.NewEngine(generator.Options{Seed: resetSeed, Users: resetUsers, Start: start, EventsPerSecond: resetEventTimeRate})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]generator.Event, resetEvents)
	for i := range out {
		out[i] = e.Next()
	}
	return out
}

// sinkOutput is what the file sink holds, and the offsets it committed.
type sinkOutput struct {
	// records holds, per partition, the values in offset order.
	records map[int32][]string
	offsets map[int32][]int64
	// files maps each data file's name to its content.
	files map[string]string
	// counts maps each data file's name to its number of records.
	counts map[string]int
	// starts lists, per partition, the first offset of each file, in order.
	starts map[int32][]int64
	// committed is the sink's committed offset of each partition.
	committed map[int32]int64
}

// readSinkOutput reads the sink's files and committed offsets; nil and
// the reason when they cannot be read now (a file removed while listed).
func readSinkOutput(t *testing.T, c *restclient.Client, filesDir string) (*sinkOutput, string) {
	t.Helper()
	o := &sinkOutput{records: map[int32][]string{}, offsets: map[int32][]int64{}, files: map[string]string{}, counts: map[string]int{}, starts: map[int32][]int64{}, committed: map[int32]int64{}}
	offs, err := c.Offsets(context.Background(), "files")
	if err != nil {
		return nil, "offsets: " + err.Error()
	}
	for _, co := range offs {
		p, err1 := strconv.ParseInt(fmt.Sprint(co.Partition["kafka_partition"]), 10, 32)
		off, err2 := strconv.ParseInt(fmt.Sprint(co.Offset["kafka_offset"]), 10, 64)
		if co.Partition["kafka_topic"] != "clicks" || err1 != nil || err2 != nil {
			t.Fatalf("GET /connectors/files/offsets has an entry of another shape: %+v", co)
		}
		o.committed[int32(p)] = off
	}
	if _, err := os.Stat(filesDir); os.IsNotExist(err) {
		return o, ""
	}
	entries, err := file.ReadDir(filesDir)
	if err != nil {
		return nil, err.Error()
	}
	for _, e := range entries {
		name := filepath.Base(e.File)
		if _, ok := o.counts[name]; !ok {
			b, err := os.ReadFile(e.File)
			if err != nil {
				return nil, err.Error()
			}
			o.files[name] = string(b)
			o.starts[e.Partition] = append(o.starts[e.Partition], e.Offset)
		}
		o.counts[name]++
		o.records[e.Partition] = append(o.records[e.Partition], string(e.Value))
		o.offsets[e.Partition] = append(o.offsets[e.Partition], e.Offset)
	}
	return o, ""
}

func (o *sinkOutput) total() int {
	n := 0
	for _, r := range o.records {
		n += len(r)
	}
	return n
}

// done says every event is in a file and each partition's committed offset
// is the one after its last record.
func (o *sinkOutput) done() bool {
	if o.total() != resetEvents || len(o.committed) != len(o.offsets) {
		return false
	}
	for p, offs := range o.offsets {
		if o.committed[p] != offs[len(offs)-1]+1 {
			return false
		}
	}
	return true
}

func (o *sinkOutput) String() string {
	return fmt.Sprintf("%d records in %d files, committed %v", o.total(), len(o.files), o.committed)
}

// checkAgainst checks the output holds every generated event exactly once.
func (o *sinkOutput) checkAgainst(t *testing.T, want []generator.Event) {
	t.Helper()
	got := map[string]int{}
	for _, r := range o.records {
		for _, v := range r {
			got[v]++
		}
	}
	missing, doubled := 0, 0
	for _, e := range want {
		switch got[string(e.Value)] {
		case 0:
			missing++
		case 1:
		default:
			doubled++
		}
	}
	if missing > 0 || doubled > 0 || o.total() != len(want) {
		t.Errorf("the files hold %d records; of %d generated events %d are missing and %d are there more than once", o.total(), len(want), missing, doubled)
	}
}

// planRow is one printed row of a plan.
type planRow struct {
	topic     string
	partition int32
	current   int64
	target    int64
	replay    int64
	note      string
}

// expectedPlan computes, from the files and the generated events' times,
// the plan a reset to mid must print: per partition the first record at or
// after mid, moved back to the start of the file holding it.
func (o *sinkOutput) expectedPlan(t *testing.T, want []generator.Event, mid time.Time) []planRow {
	t.Helper()
	times := make(map[string]time.Time, len(want))
	for _, e := range want {
		times[string(e.Value)] = e.Time
	}
	var plan []planRow
	for _, p := range slices.Sorted(maps.Keys(o.records)) {
		raw := int64(-1)
		for i, v := range o.records[p] {
			if !times[v].Before(mid) {
				raw = o.offsets[p][i]
				break
			}
		}
		if raw < 0 {
			t.Fatalf("partition %d holds no event at or after %s", p, mid)
		}
		starts := o.starts[p]
		i, found := slices.BinarySearch(starts, raw)
		target, note := raw, ""
		if !found {
			target, note = starts[i-1], "moved back to the start of a file"
		}
		cur := o.committed[p]
		plan = append(plan, planRow{topic: "clicks", partition: p, current: cur, target: target, replay: cur - target, note: note})
		if target <= 0 || target >= cur || cur-target <= 0 {
			t.Fatalf("partition %d: target %d is not inside (0, %d): the test's data does not make a backfill in the middle", p, target, cur)
		}
	}
	return plan
}

// checkPrintedPlan parses the plan table the CLI printed and compares it
// with want, and the total it printed.
func checkPrintedPlan(t *testing.T, out string, want []planRow) {
	t.Helper()
	lines := strings.Split(out, "\n")
	h := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "TOPIC ") })
	if h < 0 || !reflect.DeepEqual(strings.Fields(lines[h]), []string{"TOPIC", "PARTITION", "CURRENT", "TARGET", "REPLAY", "NOTE"}) {
		t.Fatalf("no plan table in the output:\n%s", out)
	}
	var got []planRow
	var total int64
	for _, l := range lines[h+1:] {
		if rest, ok := strings.CutPrefix(l, "Records to replay: "); ok {
			n, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			if err != nil {
				t.Fatalf("bad total line %q", l)
			}
			total = n
			break
		}
		f := strings.Fields(l)
		if len(f) < 5 {
			t.Fatalf("bad plan row %q in:\n%s", l, out)
		}
		var r planRow
		r.topic = f[0]
		p, err1 := strconv.ParseInt(f[1], 10, 32)
		cur, err2 := strconv.ParseInt(f[2], 10, 64)
		tgt, err3 := strconv.ParseInt(f[3], 10, 64)
		rep, err4 := strconv.ParseInt(f[4], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			t.Fatalf("bad plan row %q", l)
		}
		r.partition, r.current, r.target, r.replay, r.note = int32(p), cur, tgt, rep, strings.Join(f[5:], " ")
		got = append(got, r)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("printed plan:\n%+v\nwant (each target at the first record at or after the datetime, moved back to the start of its file):\n%+v", got, want)
	}
	var sum int64
	for _, r := range want {
		sum += r.replay
	}
	if total != sum || sum <= 0 {
		t.Errorf("printed total to replay %d, want %d (> 0)", total, sum)
	}
}

// compareOutputs checks a replay left the output as the clean run did: per
// partition the same records at the same offsets, and the same files among
// those cut by count. The last file of a partition is cut by the wall
// clock, so its cut may differ; its records may not.
func compareOutputs(t *testing.T, before, after *sinkOutput) {
	t.Helper()
	for p, recs := range before.records {
		got := after.records[p]
		if !slices.Equal(got, recs) || !slices.Equal(after.offsets[p], before.offsets[p]) {
			i := 0
			for i < len(got) && i < len(recs) && got[i] == recs[i] {
				i++
			}
			t.Errorf("partition %d: %d records after the replay, %d before; they differ from index %d on", p, len(got), len(recs), i)
		}
	}
	if len(after.records) != len(before.records) {
		t.Errorf("records in %d partitions after the replay, %d before", len(after.records), len(before.records))
	}
	byCount := func(o *sinkOutput) map[string]string {
		m := map[string]string{}
		for name, n := range o.counts {
			if n == resetFlushSize {
				m[name] = o.files[name]
			}
		}
		return m
	}
	b, a := byCount(before), byCount(after)
	if len(b) < resetEvents/resetFlushSize-8 {
		t.Errorf("only %d files of the clean run are cut by count; want nearly all of %d", len(b), resetEvents/resetFlushSize)
	}
	for name, content := range b {
		got, ok := a[name]
		switch {
		case !ok:
			t.Errorf("file %s (cut by count) is gone after the replay", name)
		case got != content:
			t.Errorf("file %s (cut by count) differs after the replay", name)
		}
	}
	for name := range a {
		if _, ok := b[name]; !ok {
			t.Errorf("file %s (cut by count) is new after the replay", name)
		}
	}
	if !reflect.DeepEqual(before.files, after.files) {
		t.Logf("the last files of some partitions were cut elsewhere by the wall clock (allowed): %d files before, %d after", len(before.files), len(after.files))
	}
}
