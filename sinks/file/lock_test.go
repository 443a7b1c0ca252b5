//go:build unix && !aix && !(solaris && !illumos)

package file

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
)

var tp1 = connector.TopicPartition{Topic: "clicks", Partition: 1}

// wantLocked checks that err is Open's refusal of tp, held by another
// instance: retryable after 500ms, naming tp and its lock file in dir.
func wantLocked(t *testing.T, err error, dir string, tp connector.TopicPartition) {
	t.Helper()
	path := filepath.Join(dir, tp.Topic, lockName(tp))
	want := fmt.Sprintf("partition %s is locked by another instance of this task (%s); waiting for it to stop", tp, path)
	after, retry := connector.IsRetryable(err)
	if !retry || after != 500*time.Millisecond {
		t.Fatalf("Open of %s held by another instance = %v (retryable %v after %v), want retryable after 500ms", tp, err, retry, after)
	}
	var re *connector.RetryableError
	if !errors.As(err, &re) || re.Err.Error() != want {
		t.Errorf("Open of a locked partition:\n got %q\nwant %q", err, want)
	}
}

func TestLockName(t *testing.T) {
	for tp, want := range map[connector.TopicPartition]string{
		tp0: ".clicks+0.lock",
		{Topic: "clickstream.enriched", Partition: 11}: ".clickstream.enriched+11.lock",
	} {
		if got := lockName(tp); got != want {
			t.Errorf("lockName(%s) = %q, want %q", tp, got, want)
		}
		if _, _, ok := parseFileName(lockName(tp)); ok {
			t.Errorf("parseFileName(%q) takes a lock file for a data file", lockName(tp))
		}
	}
	// The lock file is where the doc says, stays after Stop, and neither
	// Open (as a leftover) nor ReadDir (as data) minds it.
	dir := t.TempDir()
	writeFiles(t, dir, 3, 5)
	if _, err := os.Stat(filepath.Join(dir, "clicks", ".clicks+0.lock")); err != nil {
		t.Fatalf("lock file: %v", err)
	}
	s, _ := newTestSink(t, dir, 3, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 5, tp1: 0})
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 5)) {
		t.Errorf("stored %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "clicks", ".clicks+1.lock")); err != nil {
		t.Errorf("lock file of clicks-1: %v", err)
	}
}

// TestSecondInstanceWaitsForClose is the zombie and its replacement: the
// replacement's Open is refused while the zombie holds the partition, and
// the zombie goes on writing files past the committed offset meanwhile;
// once the zombie closes the partition, the replacement opens it and
// removes what the zombie wrote past the committed offset.
func TestSecondInstanceWaitsForClose(t *testing.T) {
	dir := t.TempDir()
	zombie, _ := newTestSink(t, dir, 3, 0)
	open(t, zombie, map[connector.TopicPartition]int64{tp0: 0})
	write(t, zombie, recs(tp0, span(0, 6)...))
	committed := flush(t, zombie)[tp0]
	if committed != 6 {
		t.Fatalf("committed %d, want 6", committed)
	}

	next, _ := newTestSink(t, dir, 3, 0)
	_, err := next.Open(t.Context(), map[connector.TopicPartition]int64{tp0: committed})
	wantLocked(t, err, dir, tp0)
	if err := next.Write(t.Context(), recs(tp0, 6)); err == nil {
		t.Fatal("Write after a refused Open succeeded")
	}

	// Still holding the lock, the zombie finishes a flush it had begun:
	// a file past the committed offset, never committed.
	write(t, zombie, recs(tp0, span(6, 9)...))
	flush(t, zombie)
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 9)) {
		t.Fatalf("stored %v", got)
	}
	_, err = next.Open(t.Context(), map[connector.TopicPartition]int64{tp0: committed})
	wantLocked(t, err, dir, tp0)

	if err := zombie.Close(t.Context(), []connector.TopicPartition{tp0}); err != nil {
		t.Fatal(err)
	}
	if err := zombie.Write(t.Context(), recs(tp0, 9)); err == nil {
		t.Error("Write to a partition after Close succeeded")
	}
	open(t, next, map[connector.TopicPartition]int64{tp0: committed})
	if got := files(t, dir, "clicks"); slices.Contains(got, FileName(tp0, 6)) {
		t.Errorf("files = %v: the zombie's file past the committed offset is still there", got)
	}
	write(t, next, recs(tp0, span(6, 12)...))
	if got := flush(t, next); got[tp0] != 12 {
		t.Fatalf("Flush = %v, want 12", got)
	}
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 12)) {
		t.Errorf("stored %v, want every offset once", got)
	}
}

// TestSecondInstanceWaitsForStop: Stop releases every partition still open.
func TestSecondInstanceWaitsForStop(t *testing.T) {
	dir := t.TempDir()
	first, _ := newTestSink(t, dir, 100, 0)
	open(t, first, map[connector.TopicPartition]int64{tp0: 0, tp1: 0})
	write(t, first, recs(tp0, span(0, 4)...))
	write(t, first, recs(tp1, span(0, 4)...))
	flush(t, first) // durable, never committed: the task stops without a commit

	second, _ := newTestSink(t, dir, 100, 0)
	for _, tp := range []connector.TopicPartition{tp0, tp1} {
		_, err := second.Open(t.Context(), map[connector.TopicPartition]int64{tp: 2})
		wantLocked(t, err, dir, tp)
	}
	stop(t, first)
	open(t, second, map[connector.TopicPartition]int64{tp0: 2, tp1: 2})
	for _, tp := range []connector.TopicPartition{tp0, tp1} {
		if got := stored(t, dir, tp); !slices.Equal(got, span(0, 2)) {
			t.Errorf("%s: stored %v, want the records below the committed offset 2", tp, got)
		}
	}
	if err := first.Stop(t.Context()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestCloseReleasesOnlyRevoked: Close releases the revoked partitions'
// locks and keeps the others.
func TestCloseReleasesOnlyRevoked(t *testing.T) {
	dir := t.TempDir()
	a, _ := newTestSink(t, dir, 100, 0)
	open(t, a, map[connector.TopicPartition]int64{tp0: 0, tp1: 0})
	if err := a.Close(t.Context(), []connector.TopicPartition{tp0}); err != nil {
		t.Fatal(err)
	}
	b, _ := newTestSink(t, dir, 100, 0)
	open(t, b, map[connector.TopicPartition]int64{tp0: 0})
	_, err := b.Open(t.Context(), map[connector.TopicPartition]int64{tp1: 0})
	wantLocked(t, err, dir, tp1)
	// Back and forth: the partition returns to a once b closes it.
	_, err = a.Open(t.Context(), map[connector.TopicPartition]int64{tp0: 0})
	wantLocked(t, err, dir, tp0)
	if err := b.Close(t.Context(), []connector.TopicPartition{tp0}); err != nil {
		t.Fatal(err)
	}
	open(t, a, map[connector.TopicPartition]int64{tp0: 0})
	write(t, a, recs(tp0, 0, 1))
	write(t, a, recs(tp1, 0, 1))
	flush(t, a)
}

// TestOpenAllOrNothing: an Open that fails, refused by a lock or by a
// damaged file, holds none of the partitions it was given.
func TestOpenAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	a, _ := newTestSink(t, dir, 100, 0)
	open(t, a, map[connector.TopicPartition]int64{tp1: 0})
	b, _ := newTestSink(t, dir, 100, 0)
	_, err := b.Open(t.Context(), map[connector.TopicPartition]int64{tp0: 0, tp1: 0})
	wantLocked(t, err, dir, tp1)
	c, _ := newTestSink(t, dir, 100, 0)
	open(t, c, map[connector.TopicPartition]int64{tp0: 0}) // b did not keep clicks-0
	write(t, c, recs(tp0, span(0, 4)...))
	flush(t, c)
	stop(t, c)
	stop(t, a)

	// clicks-0's file below the resume offset is damaged: a fatal error
	// after the locks were taken; they are released.
	if err := os.Truncate(filepath.Join(dir, "clicks", FileName(tp0, 0)), 3); err != nil {
		t.Fatal(err)
	}
	_, err = b.Open(t.Context(), map[connector.TopicPartition]int64{tp0: 2, tp1: 0})
	if _, retry := connector.IsRetryable(err); err == nil || retry {
		t.Fatalf("Open over a damaged file = %v, want a fatal error", err)
	}
	d, _ := newTestSink(t, dir, 100, 0)
	open(t, d, map[connector.TopicPartition]int64{tp0: 0, tp1: 0})
}

// TestWriteNeedsLock: a partition whose lock this instance no longer holds
// is never written: not by Write cutting a file, not by Flush.
func TestWriteNeedsLock(t *testing.T) {
	dir := t.TempDir()
	s, _ := newTestSink(t, dir, 3, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 0})
	write(t, s, recs(tp0, 0, 1))
	if err := s.release(s.parts[tp0]); err != nil { // as if lost
		t.Fatal(err)
	}
	err := s.Write(t.Context(), recs(tp0, span(2, 5)...))
	if err == nil || !strings.Contains(err.Error(), "clicks-0") || !strings.Contains(err.Error(), "lock") {
		t.Errorf("Write without the lock = %v, want an error naming clicks-0 and its lock", err)
	}
	if _, err := s.Flush(t.Context()); err == nil || !strings.Contains(err.Error(), "clicks-0") {
		t.Errorf("Flush without the lock = %v, want an error naming clicks-0", err)
	}
	if got := stored(t, dir, tp0); len(got) != 0 {
		t.Errorf("stored %v, want nothing", got)
	}
}

// TestLostLock: when the topic directory is removed and made again under
// a running instance, its lock is gone with it; another instance can lock
// the partition afresh, so the first one refuses to write (fatally) and
// leaves the other's files alone.
func TestLostLock(t *testing.T) {
	dir := t.TempDir()
	a, _ := newTestSink(t, dir, 3, 0)
	open(t, a, map[connector.TopicPartition]int64{tp0: 0})
	tdir := filepath.Join(dir, "clicks")
	lock := filepath.Join(tdir, lockName(tp0))
	if err := os.RemoveAll(tdir); err != nil {
		t.Fatal(err)
	}
	err := a.Write(t.Context(), recs(tp0, span(0, 3)...))
	if err == nil || !strings.Contains(err.Error(), lock) || !strings.Contains(err.Error(), "clicks-0") {
		t.Fatalf("Write after the lock file was removed = %v, want an error naming clicks-0 and %s", err, lock)
	}
	if _, retry := connector.IsRetryable(err); retry {
		t.Errorf("error is retryable: %v", err)
	}

	b, _ := newTestSink(t, dir, 3, 0)
	open(t, b, map[connector.TopicPartition]int64{tp0: 0}) // makes the directory and a new lock file
	write(t, b, recs(tp0, span(0, 6)...))
	flush(t, b)
	if _, err := a.Flush(t.Context()); err == nil || !strings.Contains(err.Error(), "replaced") {
		t.Errorf("Flush with the lock file replaced = %v, want an error saying so", err)
	}
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 6)) {
		t.Errorf("stored %v, want what b wrote only", got)
	}
}

// lockHelperEnv names the directory the helper process writes under.
const lockHelperEnv = "FILESINK_LOCK_HELPER_DIR"

// TestLockHelperProcess is not a test: TestLockAcrossProcesses runs the
// test binary with it as a separate process, which opens clicks-0, writes
// and flushes offsets 0-3, says "locked" and waits to be killed.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv(lockHelperEnv)
	if dir == "" {
		t.Skip("helper process of TestLockAcrossProcesses")
	}
	s, _ := newTestSink(t, dir, 100, 0)
	open(t, s, map[connector.TopicPartition]int64{tp0: 0})
	write(t, s, recs(tp0, span(0, 4)...))
	flush(t, s)
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin) // until killed
}

// TestLockAcrossProcesses: a process holding a partition excludes this
// one; when it dies (SIGKILL: no Close, no Stop), the kernel releases its
// lock, and Open here succeeds and cuts what it wrote past the resume
// offset.
func TestLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	locked := false
	for lines := bufio.NewScanner(out); !locked && lines.Scan(); {
		locked = lines.Text() == "locked"
	}
	if !locked {
		t.Fatal("the helper process did not lock the partition")
	}

	s, _ := newTestSink(t, dir, 100, 0)
	_, err = s.Open(t.Context(), map[connector.TopicPartition]int64{tp0: 2})
	wantLocked(t, err, dir, tp0)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	open(t, s, map[connector.TopicPartition]int64{tp0: 2})
	if got := stored(t, dir, tp0); !slices.Equal(got, span(0, 2)) {
		t.Errorf("stored %v, want the records below the resume offset 2", got)
	}
}
