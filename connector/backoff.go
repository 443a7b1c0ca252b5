package connector

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Backoff is the framework's one retry loop: exponential from Initial,
// capped at Max, with full jitter, bounded in total by Timeout (zero or
// negative: no bound), cancelled by ctx. A RetryableError with an After is
// retried after exactly that wait. Only RetryableErrors are retried.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Timeout time.Duration
	Logger  *slog.Logger
	// OnRetry, when set, is called before each wait (for metrics and
	// status) with what Do was given, the number of the attempt that
	// failed (1 for the first), its error and the wait before the next.
	OnRetry func(what string, attempt int, err error, wait time.Duration)
	// OnEnd, when set, is called when a Do that called OnRetry returns,
	// whatever it returns: the operation is no longer being retried.
	OnEnd func()
}

// NewBackoff returns the backoff a connector's errors.retry.* keys ask for.
func NewBackoff(c CommonConfig, logger *slog.Logger) Backoff {
	return Backoff{Initial: 100 * time.Millisecond, Max: c.ErrorsRetryDelayMax, Timeout: c.ErrorsRetryTimeout, Logger: logger}
}

// Do calls op until it returns nil or an error that is not retryable, the
// retry timeout passes, or ctx is done. what names the operation in logs
// and in the error returned after giving up.
func (b Backoff) Do(ctx context.Context, what string, op func() error) error {
	start := time.Now()
	retried := false
	defer func() {
		if retried && b.OnEnd != nil {
			b.OnEnd()
		}
	}()
	delay := b.Initial
	if delay <= 0 {
		delay = 100 * time.Millisecond
	}
	maxDelay := b.Max
	if maxDelay <= 0 {
		maxDelay = time.Minute
	}
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		after, ok := IsRetryable(err)
		if !ok {
			return err
		}
		// An error that names its wait (a store's Retry-After, a lock held
		// by another instance) is retried after exactly that; otherwise
		// full jitter over the growing delay.
		wait := after
		if wait <= 0 {
			wait = time.Duration(rand.Int64N(int64(delay) + 1))
			delay = min(delay*2, maxDelay)
		}
		if b.Timeout > 0 && time.Since(start)+wait > b.Timeout {
			return fmt.Errorf("%s: gave up after %d attempts in %s (errors.retry.timeout=%d): %w", what, attempt, time.Since(start).Round(time.Millisecond), b.Timeout.Milliseconds(), err)
		}
		if b.Logger != nil {
			b.Logger.Warn("retrying", "op", what, "attempt", attempt, "wait", wait.Round(time.Millisecond), "err", err)
		}
		retried = true
		if b.OnRetry != nil {
			b.OnRetry(what, attempt, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-t.C:
		}
	}
}
