package connector

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestBackoffReportsRetries checks what Backoff tells its OnRetry and
// OnEnd hooks, which the task turns into its status: each failed attempt
// with its number and error, and one end once the operation succeeds;
// no end for an operation that never failed.
func TestBackoffReportsRetries(t *testing.T) {
	var m TaskMetrics
	var attempts []int
	ends := 0
	b := Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond,
		OnRetry: func(what string, attempt int, err error, wait time.Duration) {
			attempts = append(attempts, attempt)
			m.NoteRetry(what, attempt, err, wait)
		},
		OnEnd: func() { ends++; m.NoteRetryEnd() }}
	fails := 3
	var during []RetryState
	err := b.Do(context.Background(), "flush", func() error {
		if r, ok := m.Retrying(); ok {
			during = append(during, r)
		}
		if fails > 0 {
			fails--
			return Retryable(errors.New("store down"), 0)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 3 || attempts[0] != 1 || attempts[2] != 3 || ends != 1 {
		t.Errorf("OnRetry attempts %v, OnEnd %d times; want 1 2 3 and once", attempts, ends)
	}
	if len(during) != 3 || during[2].Attempt != 3 || !during[2].Since.Equal(during[0].Since) || during[2].Op != "flush" {
		t.Errorf("retry states seen by the operation: %+v; want attempts 1..3 of flush since the first failure", during)
	}
	if s := during[2].String(); !strings.HasPrefix(s, "retrying flush since ") || !strings.Contains(s, "(attempt 3, next in ") || !strings.HasSuffix(s, "store down") {
		t.Errorf("RetryState.String() = %q", s)
	}
	if _, ok := m.Retrying(); ok {
		t.Error("still retrying after the operation succeeded")
	}
	if err := b.Do(context.Background(), "write", func() error { return nil }); err != nil || ends != 1 {
		t.Errorf("an operation that never failed: %v, OnEnd %d times, want once in all", err, ends)
	}
}
