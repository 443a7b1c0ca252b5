package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
)

var tp0 = connector.TopicPartition{Topic: "clicks", Partition: 0}

// fakeClock is a settable clock for cut-point tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// newTestSink returns a sink over dir with flush.size size and the given
// interval, on a fake clock. It is stopped (its locks released) at the
// end of the test; a test that opens the same partition in another
// instance stops it first.
func newTestSink(t *testing.T, dir string, size int, interval time.Duration) (*Sink, *fakeClock) {
	t.Helper()
	s, err := New(&Config{Dir: dir, FlushSize: size, FlushInterval: interval, Fsync: true}, connector.TaskInfo{Connector: "t"})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now = clk.now
	t.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s, clk
}

func stop(t *testing.T, s *Sink) {
	t.Helper()
	if err := s.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func recs(tp connector.TopicPartition, offs ...int64) []connector.Record {
	var out []connector.Record
	for _, o := range offs {
		out = append(out, connector.Record{Topic: tp.Topic, Partition: tp.Partition, Offset: o, Value: fmt.Appendf(nil, `{"o":%d}`, o)})
	}
	return out
}

func span(from, to int64) []int64 {
	var out []int64
	for o := from; o < to; o++ {
		out = append(out, o)
	}
	return out
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func open(t *testing.T, s *Sink, assigned map[connector.TopicPartition]int64) {
	t.Helper()
	got, err := s.Open(t.Context(), assigned)
	if err != nil {
		t.Fatalf("Open(%v): %v", assigned, err)
	}
	if got != nil {
		t.Fatalf("Open returned %v, want nil", got)
	}
}

func write(t *testing.T, s *Sink, batch []connector.Record) {
	t.Helper()
	if err := s.Write(t.Context(), batch); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func flush(t *testing.T, s *Sink) map[connector.TopicPartition]int64 {
	t.Helper()
	return must[map[connector.TopicPartition]int64](t)(s.Flush(t.Context()))
}

// files lists the names in dir/topic, sorted, but for the partitions'
// lock files (lock_test.go looks at those).
func files(t *testing.T, dir, topic string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, topic))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), lockExt) {
			out = append(out, e.Name())
		}
	}
	return out
}

// stored returns the offsets ReadDir finds for tp, in order.
func stored(t *testing.T, dir string, tp connector.TopicPartition) []int64 {
	t.Helper()
	entries, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range entries {
		if e.Topic == tp.Topic && e.Partition == tp.Partition {
			if want := fmt.Sprintf(`{"o":%d}`, e.Offset); string(e.Value) != want {
				t.Errorf("%s@%d: value %q, want %q", tp, e.Offset, e.Value, want)
			}
			out = append(out, e.Offset)
		}
	}
	return out
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct {
		tp    connector.TopicPartition
		start int64
		want  string
	}{
		{connector.TopicPartition{Topic: "clicks", Partition: 0}, 0, "clicks+0+0.jsonl"},
		{connector.TopicPartition{Topic: "clickstream.enriched", Partition: 11}, 1200, "clickstream.enriched+11+1200.jsonl"},
		{connector.TopicPartition{Topic: "a-b_c", Partition: 2147483647}, 9223372036854775807, "a-b_c+2147483647+9223372036854775807.jsonl"},
	} {
		got := FileName(tc.tp, tc.start)
		if got != tc.want {
			t.Errorf("FileName(%v, %d) = %q, want %q", tc.tp, tc.start, got, tc.want)
		}
		tp, start, ok := parseFileName(got)
		if !ok || tp != tc.tp || start != tc.start {
			t.Errorf("parseFileName(%q) = %v, %d, %v", got, tp, start, ok)
		}
	}
	for _, bad := range []string{
		"clicks+0+0.jsonl.idx", ".clicks+0+0.jsonl.123.tmp", "clicks+0+007.jsonl", "clicks+x+0.jsonl",
		"clicks+0.jsonl", "+0+0.jsonl", "clicks+-1+0.jsonl", "clicks+0+-5.jsonl", "clicks+0+0.json",
	} {
		if tp, start, ok := parseFileName(bad); ok {
			t.Errorf("parseFileName(%q) = %v, %d, true; want not a data file", bad, tp, start)
		}
	}
}

func TestCheckTopic(t *testing.T) {
	for _, ok := range []string{"clicks", "clickstream.agg.page-views_1m", strings.Repeat("a", 249)} {
		if err := checkTopic(ok); err != nil {
			t.Errorf("checkTopic(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "a+b", "a b", strings.Repeat("a", 250)} {
		if err := checkTopic(bad); err == nil {
			t.Errorf("checkTopic(%q) accepted it", bad)
		}
	}
}

// TestCutPoints: files are cut at flush.size inside Write, and a younger
// tail is written by the Flush after it reaches flush.interval.ms.
func TestCutPoints(t *testing.T) {
	dir := t.TempDir()
	s, clk := newTestSink(t, dir, 3, time.Second)
	open(t, s, map[connector.TopicPartition]int64{tp0: 0})
	write(t, s, recs(tp0, span(0, 7)...))
	if got := files(t, dir, "clicks"); !slices.Equal(got, []string{"clicks+0+0.jsonl", "clicks+0+0.jsonl.idx", "clicks+0+3.jsonl", "clicks+0+3.jsonl.idx"}) {
		t.Fatalf("files after 7 records = %v", got)
	}
	if got := flush(t, s); got[tp0] != 6 || len(got) != 1 {
		t.Fatalf("Flush = %v, want clicks-0=6 (the record at 6 is still buffered)", got)
	}
	clk.advance(999 * time.Millisecond)
	if got := flush(t, s); len(got) != 0 {
		t.Fatalf("Flush before the interval = %v, want no progress", got)
	}
	clk.advance(time.Millisecond)
	if got := flush(t, s); got[tp0] != 7 {
		t.Fatalf("Flush after the interval = %v, want clicks-0=7", got)
	}
	data := must[[]byte](t)(os.ReadFile(filepath.Join(dir, "clicks", "clicks+0+3.jsonl")))
	if want := "{\"o\":3}\n{\"o\":4}\n{\"o\":5}\n"; string(data) != want {
		t.Errorf("clicks+0+3.jsonl = %q, want %q", data, want)
	}
	ix := must[*index](t)(readIndex(filepath.Join(dir, "clicks", "clicks+0+6.jsonl.idx")))
	if ix.Records != 1 || ix.Bytes != 8 || !slices.Equal(ix.Runs, []run{{6, 1}}) {
		t.Errorf("index of clicks+0+6 = %+v", ix)
	}
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 7)) {
		t.Errorf("stored %v", got)
	}
	// The interval counts from the first record of the buffer.
	write(t, s, recs(tp0, 7))
	clk.advance(600 * time.Millisecond)
	write(t, s, recs(tp0, 8))
	clk.advance(600 * time.Millisecond)
	if got := flush(t, s); got[tp0] != 9 {
		t.Fatalf("Flush = %v, want clicks-0=9", got)
	}
}

// TestOffsetGaps: offsets with gaps (transaction markers, filtered records)
// are kept in the sidecar, and read back right.
func TestOffsetGaps(t *testing.T) {
	dir := t.TempDir()
	s, _ := newTestSink(t, dir, 100, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 10})
	write(t, s, recs(tp0, 10, 11, 15, 16, 20))
	if got := flush(t, s); got[tp0] != 21 {
		t.Fatalf("Flush = %v, want 21", got)
	}
	ix := must[*index](t)(readIndex(filepath.Join(dir, "clicks", "clicks+0+10.jsonl.idx")))
	if !slices.Equal(ix.Runs, []run{{10, 2}, {15, 2}, {20, 1}}) {
		t.Errorf("runs = %v", ix.Runs)
	}
	if got := stored(t, dir, tp0); !slices.Equal(got, []int64{10, 11, 15, 16, 20}) {
		t.Errorf("stored %v", got)
	}
	// Resuming at 16 keeps 10, 11, 15.
	stop(t, s)
	s2, _ := newTestSink(t, dir, 100, 0)
	open(t, s2, map[connector.TopicPartition]int64{tp0: 16})
	if got := stored(t, dir, tp0); !slices.Equal(got, []int64{10, 11, 15}) {
		t.Errorf("after resuming at 16, stored %v", got)
	}
}

// writeFiles writes offsets [0, n) of tp0 under dir in files of size.
func writeFiles(t *testing.T, dir string, size int, n int64) {
	t.Helper()
	s, _ := newTestSink(t, dir, size, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 0})
	write(t, s, recs(tp0, span(0, n)...))
	if got := flush(t, s); got[tp0] != n {
		t.Fatalf("Flush = %v, want %d", got, n)
	}
	stop(t, s)
}

// TestOpenRemovesLeftovers: files at or after the resume offset, temporary
// files and orphaned sidecars are removed; other partitions are untouched.
func TestOpenRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, 3, 10) // 0 3 6 9
	other := connector.TopicPartition{Topic: "clicks", Partition: 1}
	so, _ := newTestSink(t, dir, 3, 0)
	open(t, so, map[connector.TopicPartition]int64{other: 0})
	write(t, so, recs(other, 0, 1, 2))
	tdir := filepath.Join(dir, "clicks")
	for _, name := range []string{".clicks+0+12.jsonl.abc.tmp", "clicks+0+12.jsonl.idx", "clicks+0+1.jsonl.idx"} {
		if err := os.WriteFile(filepath.Join(tdir, name), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := newTestSink(t, dir, 3, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 6})
	want := []string{"clicks+0+0.jsonl", "clicks+0+0.jsonl.idx", "clicks+0+3.jsonl", "clicks+0+3.jsonl.idx", "clicks+1+0.jsonl", "clicks+1+0.jsonl.idx"}
	if got := files(t, dir, "clicks"); !slices.Equal(got, want) {
		t.Errorf("files = %v\nwant    %v", got, want)
	}
	// Redelivery from 6 lands once.
	write(t, s, recs(tp0, span(6, 12)...))
	flush(t, s)
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 12)) {
		t.Errorf("stored %v", got)
	}
}

// TestOpenTruncates: the file holding the resume offset is cut back to the
// records below it; a cut interrupted by a crash is finished; a data file
// shorter than its sidecar is an error naming it.
func TestOpenTruncates(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, 4, 10) // 0-3 4-7 8-9
	s, _ := newTestSink(t, dir, 4, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 6})
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 6)) {
		t.Fatalf("stored %v", got)
	}
	path := filepath.Join(dir, "clicks", "clicks+0+4.jsonl")
	if data := must[[]byte](t)(os.ReadFile(path)); string(data) != "{\"o\":4}\n{\"o\":5}\n" {
		t.Errorf("cut file = %q", data)
	}

	// A crash after the sidecar was rewritten but before the data file was
	// cut leaves the data file longer; Open finishes the cut.
	f := must[*os.File](t)(os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0))
	if _, err := f.WriteString("{\"o\":6}\n{\"o\":7}\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	stop(t, s)
	s, _ = newTestSink(t, dir, 4, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 6})
	if data := must[[]byte](t)(os.ReadFile(path)); string(data) != "{\"o\":4}\n{\"o\":5}\n" {
		t.Errorf("after repair, file = %q", data)
	}

	// A data file shorter than its sidecar was damaged: refuse, naming it.
	if err := os.Truncate(path, 3); err != nil {
		t.Fatal(err)
	}
	stop(t, s)
	s, _ = newTestSink(t, dir, 4, 0)
	_, err := s.Open(t.Context(), map[connector.TopicPartition]int64{tp0: 6})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open over a damaged file: %v, want an error naming %s", err, path)
	}
	if _, retry := connector.IsRetryable(err); retry {
		t.Errorf("damaged file error is retryable: %v", err)
	}
	// A damaged file past the resume offset does not matter: it is removed.
	open(t, s, map[connector.TopicPartition]int64{tp0: 4})
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 4)) {
		t.Errorf("stored %v", got)
	}
}

// TestOpenMissingIndex: a data file below the resume offset without its
// sidecar is an error; one at or after it is removed.
func TestOpenMissingIndex(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, 4, 10)
	if err := os.Remove(filepath.Join(dir, "clicks", "clicks+0+4.jsonl.idx")); err != nil {
		t.Fatal(err)
	}
	s, _ := newTestSink(t, dir, 4, 0)
	if _, err := s.Open(t.Context(), map[connector.TopicPartition]int64{tp0: 6}); err == nil || !strings.Contains(err.Error(), "clicks+0+4.jsonl.idx") {
		t.Errorf("Open = %v, want an error naming the missing index", err)
	}
	open(t, s, map[connector.TopicPartition]int64{tp0: 4})
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 4)) {
		t.Errorf("stored %v", got)
	}
}

func TestResetOffsets(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, 4, 10) // 0-3 4-7 8-9
	before := files(t, dir, "clicks")
	s, _ := newTestSink(t, dir, 4, 0) // never opened
	target := map[connector.TopicPartition]int64{
		{Topic: "clicks", Partition: 0}:  6, // inside 4-7: back to 4
		{Topic: "clicks", Partition: 1}:  3, // no files
		{Topic: "nothing", Partition: 0}: 3, // no directory
	}
	got := must[map[connector.TopicPartition]int64](t)(s.ResetOffsets(t.Context(), target))
	if len(got) != 1 || got[tp0] != 4 {
		t.Errorf("ResetOffsets(6) = %v, want clicks-0=4 only", got)
	}
	for _, tc := range []struct{ target, want int64 }{{0, -1}, {4, -1}, {8, -1}, {9, 8}, {10, -1}, {1000, -1}, {1, 0}} {
		got := must[map[connector.TopicPartition]int64](t)(s.ResetOffsets(t.Context(), map[connector.TopicPartition]int64{tp0: tc.target}))
		off, moved := got[tp0]
		if (tc.want < 0 && moved) || (tc.want >= 0 && off != tc.want) {
			t.Errorf("ResetOffsets(%d) = %v, want %d (-1: unchanged)", tc.target, got, tc.want)
		}
	}
	if after := files(t, dir, "clicks"); !slices.Equal(before, after) {
		t.Errorf("ResetOffsets changed the directory: %v → %v", before, after)
	}
}

// TestWriteSkipsHeldRecords: a batch written again, or overlapping what
// was taken, adds nothing twice.
func TestWriteSkipsHeldRecords(t *testing.T) {
	dir := t.TempDir()
	s, _ := newTestSink(t, dir, 4, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 0})
	write(t, s, recs(tp0, span(0, 6)...))
	write(t, s, recs(tp0, span(0, 6)...))
	write(t, s, recs(tp0, span(3, 9)...))
	if got := flush(t, s); got[tp0] != 9 {
		t.Fatalf("Flush = %v", got)
	}
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 9)) {
		t.Errorf("stored %v", got)
	}
}

// TestBadValues: empty values and values with a newline are rejected by
// index; the rest is written; a rejected tail counts as handled.
func TestBadValues(t *testing.T) {
	dir := t.TempDir()
	s, _ := newTestSink(t, dir, 100, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 0})
	batch := recs(tp0, 0, 1, 2, 3, 4)
	batch[1].Value = nil
	batch[4].Value = []byte("{\n}")
	err := s.Write(t.Context(), batch)
	var be *connector.BatchError
	if !errors.As(err, &be) || len(be.Records) != 2 || be.Records[0].Index != 1 || be.Records[1].Index != 4 {
		t.Fatalf("Write = %v, want a BatchError for indexes 1 and 4", err)
	}
	if !strings.Contains(be.Records[1].Err.Error(), "newline") {
		t.Errorf("error for index 4: %v", be.Records[1].Err)
	}
	// A retry of the same batch names the same records again.
	if err := s.Write(t.Context(), batch); !errors.As(err, &be) || len(be.Records) != 2 {
		t.Errorf("rewrite = %v, want the same BatchError", err)
	}
	if got := flush(t, s); got[tp0] != 5 {
		t.Fatalf("Flush = %v, want 5: the rejected record 4 is past the last durable one", got)
	}
	if got := stored(t, dir, tp0); !slices.Equal(got, []int64{0, 2, 3}) {
		t.Errorf("stored %v", got)
	}
	// A rejected record with nothing buffered before it is progress too.
	bad := recs(tp0, 5)
	bad[0].Value = []byte{}
	if err := s.Write(t.Context(), bad); !errors.As(err, &be) {
		t.Fatalf("Write = %v", err)
	}
	if got := flush(t, s); got[tp0] != 6 {
		t.Errorf("Flush = %v, want 6", got)
	}
}

func TestWriteUnopenedPartition(t *testing.T) {
	s, _ := newTestSink(t, t.TempDir(), 4, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 0})
	err := s.Write(t.Context(), recs(connector.TopicPartition{Topic: "clicks", Partition: 1}, 0))
	if err == nil || !strings.Contains(err.Error(), "clicks-1@0") {
		t.Errorf("Write to an unopened partition = %v", err)
	}
	s.Close(t.Context(), []connector.TopicPartition{tp0})
	if err := s.Write(t.Context(), recs(tp0, 0)); err == nil {
		t.Error("Write to a closed partition succeeded")
	}
}

// TestCloseDropsBuffer: a revoked partition's buffer is dropped and never
// reported; the files stay.
func TestCloseDropsBuffer(t *testing.T) {
	dir := t.TempDir()
	s, _ := newTestSink(t, dir, 4, time.Hour)
	open(t, s, map[connector.TopicPartition]int64{tp0: 0})
	write(t, s, recs(tp0, span(0, 6)...)) // 0-3 written, 4-5 buffered
	if err := s.Close(t.Context(), []connector.TopicPartition{tp0}); err != nil {
		t.Fatal(err)
	}
	if got := flush(t, s); len(got) != 0 {
		t.Errorf("Flush after Close = %v, want nothing", got)
	}
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 4)) {
		t.Errorf("stored %v", got)
	}
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestBrokenDir: an unusable file.dir is a fatal error naming the path; a
// write that fails keeps its buffer, so a later Flush can still write it.
func TestBrokenDir(t *testing.T) {
	base := t.TempDir()
	notDir := filepath.Join(base, "plain-file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := newTestSink(t, notDir, 4, 0)
	_, err := s.Open(t.Context(), map[connector.TopicPartition]int64{tp0: 0})
	if err == nil || !strings.Contains(err.Error(), notDir) {
		t.Fatalf("Open under a plain file = %v, want an error naming %s", err, notDir)
	}
	if _, retry := connector.IsRetryable(err); retry {
		t.Errorf("error is retryable: %v", err)
	}

	// A directory where the sidecar must go makes the write fail (a
	// removed topic directory would too, but it takes the partition's lock
	// file with it: see TestLostLock).
	dir := filepath.Join(base, "out")
	s, _ = newTestSink(t, dir, 4, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 0})
	tdir := filepath.Join(dir, "clicks")
	block := filepath.Join(tdir, FileName(tp0, 0)+indexExt)
	if err := os.Mkdir(block, 0o755); err != nil {
		t.Fatal(err)
	}
	err = s.Write(t.Context(), recs(tp0, span(0, 4)...))
	if err == nil || !strings.Contains(err.Error(), tdir) {
		t.Fatalf("Write with a directory in the sidecar's place = %v, want an error naming %s", err, tdir)
	}
	if _, retry := connector.IsRetryable(err); retry {
		t.Errorf("error is retryable: %v", err)
	}
	if got := files(t, dir, "clicks"); !slices.Equal(got, []string{FileName(tp0, 0) + indexExt}) {
		t.Errorf("after the failed write, files = %v: temporary files were left", got)
	}
	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	if got := flush(t, s); got[tp0] != 4 {
		t.Errorf("Flush after the directory was removed = %v, want 4", got)
	}
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 4)) {
		t.Errorf("stored %v", got)
	}
}

func TestOpenRejects(t *testing.T) {
	s, _ := newTestSink(t, t.TempDir(), 4, 0)
	for _, assigned := range []map[connector.TopicPartition]int64{
		{tp0: -1},
		{{Topic: "../escape", Partition: 0}: 0},
	} {
		if _, err := s.Open(t.Context(), assigned); err == nil {
			t.Errorf("Open(%v) succeeded", assigned)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Open(ctx, map[connector.TopicPartition]int64{tp0: 0}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled ctx = %v", err)
	}
}

func TestIndexBelowAndCut(t *testing.T) {
	ix := &index{Runs: []run{{10, 2}, {15, 3}, {30, 1}}, Records: 6}
	for off, want := range map[int64]int64{0: 0, 10: 0, 11: 1, 12: 2, 15: 2, 16: 3, 18: 5, 30: 5, 31: 6, 99: 6} {
		if got := ix.below(off); got != want {
			t.Errorf("below(%d) = %d, want %d", off, got, want)
		}
	}
	ix.cut(3)
	if !slices.Equal(ix.Runs, []run{{10, 2}, {15, 1}}) || ix.next() != 16 || ix.start() != 10 {
		t.Errorf("cut(3) = %v", ix.Runs)
	}
}
