package connector

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrFenced means a newer instance of the same task took over its
// transactional id (Kafka's PRODUCER_FENCED). The fenced instance must stop
// at once and never write again; it is not a failure of the task.
var ErrFenced = errors.New("task fenced: a newer instance of this task owns its transactional id")

// ErrGenerationStale means a commit carried a consumer-group generation
// that is no longer current (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID): the
// group rebalanced while the task was busy. The transaction was aborted and
// the producer is still usable; the task drops what it had not committed
// and carries on with its next assignment.
var ErrGenerationStale = errors.New("consumer group generation is no longer current")

// ErrSourceDone is returned by Source.Poll when the source has nothing more
// to produce (a generator that reached max.events). The task commits what it
// has and idles in RUNNING until stopped.
var ErrSourceDone = errors.New("source has no more records")

// RetryableError marks a failure that may succeed if the same call is made
// again: a timeout, a throttling answer, a store that is down. After is the
// wait the store asked for (Retry-After), or zero to let the framework's
// backoff decide.
type RetryableError struct {
	Err   error
	After time.Duration
}

// Error implements error.
func (e *RetryableError) Error() string { return "retryable: " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable wraps err so the framework retries the call that returned it,
// after at least after (zero: the framework's backoff). A nil err stays nil.
func Retryable(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryableError{Err: err, After: after}
}

// IsRetryable reports whether err (or anything it wraps) is retryable and
// the wait it asked for.
func IsRetryable(err error) (after time.Duration, ok bool) {
	var re *RetryableError
	if errors.As(err, &re) {
		return re.After, true
	}
	return 0, false
}

// RecordError is the failure of one record of a batch, caused by the record
// itself (a value that does not fit its column, a malformed field). Index is
// the record's position in the slice passed to Sink.Write.
type RecordError struct {
	Index int
	Err   error
}

// BatchError is what Sink.Write returns when some records of the batch are
// at fault and the rest were accepted. The framework sends the listed
// records to the dead-letter topic (errors.tolerance=all) or fails the task
// naming the first one (errors.tolerance=none). Never retried.
type BatchError struct {
	Records []RecordError
}

// Error implements error.
func (e *BatchError) Error() string {
	if len(e.Records) == 0 {
		return "batch error with no records"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d record(s) rejected: record %d: %v", len(e.Records), e.Records[0].Index, e.Records[0].Err)
	return b.String()
}

// Stage names where in a task a record failed; it is the value of the
// __connect.errors.stage header, as in Kafka Connect.
type Stage string

// The stages of a sink task, with Kafka Connect's names.
const (
	StageKeyConverter    Stage = "KEY_CONVERTER"
	StageValueConverter  Stage = "VALUE_CONVERTER"
	StageHeaderConverter Stage = "HEADER_CONVERTER"
	StageTransformation  Stage = "TRANSFORMATION"
	StageTask            Stage = "TASK_PUT"
	StageKafkaConsume    Stage = "KAFKA_CONSUME"
)
