// Package file is connectd's reference sink: it writes each record's value
// as one line of a JSON lines file, exactly once, and is the sink the
// conformance suite (connector/sinktest) is first proven against.
//
// # Layout
//
//	<file.dir>/<topic>/<topic>+<partition>+<startOffset>.jsonl
//	<file.dir>/<topic>/<topic>+<partition>+<startOffset>.jsonl.idx
//	<file.dir>/<topic>/.<topic>+<partition>.lock
//
// A data file holds the records of one partition from startOffset (the
// offset of its first record, plain decimal) on, one line each: the value
// bytes as they came, then '\n'. The sink does not parse values; a value
// that is empty or contains a newline is rejected as the record's fault. The
// data files are pure JSON lines, so any tool can read them. The hidden
// lock file of a partition is empty; see "One writer per partition".
//
// Beside each data file, a small sidecar index (one JSON object) records
// which offsets the lines stand for, as runs of consecutive offsets (Kafka
// offsets have gaps: transaction markers, compaction, records filtered or
// rejected upstream), and how many bytes of the data file they fill. ReadDir
// reads a directory back through the sidecars.
//
// # Cutting files
//
// Write appends records to a buffer per partition. A buffer is written as a
// file as soon as it holds flush.size records, and at the next Flush once its
// first record arrived flush.interval.ms ago by the wall clock (0: at every
// Flush). Cut points therefore depend on timing: a replay may cut the same
// records into different files. Exactly-once does not rely on cut points:
// it relies on Open, which makes the directory agree with the offsets the
// task resumes from, whatever files an earlier instance left.
//
// A file is written durably: data to a temporary file, sidecar likewise,
// both fsynced (file.fsync), the sidecar renamed into place, then the data
// file, then the directory fsynced. Only then does Flush report its offsets.
//
// # Exactly once
//
//   - Flush reports, per partition, the offset after the last record in a
//     file: records still buffered are never reported. The framework commits
//     exactly those offsets.
//   - Open(assigned) removes every file of a partition that starts at or
//     after the resume offset, and cuts the file holding the resume offset
//     back to the records below it (found through the sidecar), so the
//     redelivered records are written once. It also removes temporary files
//     and sidecars a crash left behind. It never asks to resume elsewhere.
//   - Write skips records at offsets it already took (a batch written again
//     after a RetryableError).
//   - Close drops the buffers of revoked partitions; they are delivered
//     again to the next owner.
//   - ResetOffsets (connector.OffsetResetter) moves a backfill's target
//     offset back to the start of the file that holds it, so the replay
//     rewrites whole files rather than cutting one.
//   - Only the instance that holds a partition's lock writes its files or
//     cleans them up (next section).
//
// # One writer per partition
//
// Kafka fences a zombie task (a worker restarted while the old process
// still runs, two workers started with the same config) only at its next
// offset commit. Until then two instances of one task can hold the same
// partitions: the replacement opens them at the committed offset and
// cleans up, then the zombie, still in the middle of a flush, writes a file
// beside or over the replacement's, and only then fails its commit. Kafka's
// offsets stay right; the files would not.
//
// So each open partition is locked: Open takes an exclusive, non-blocking
// flock(2) on <file.dir>/<topic>/.<topic>+<partition>.lock, for every
// assigned partition, before it touches any file. When another instance
// holds one, Open takes none and returns a RetryableError ("partition … is
// locked by another instance of this task (<lock file>); waiting for it to
// stop"), and the framework calls Open again after a backoff, for as long
// as errors.retry.timeout allows (by default without end). The zombie
// keeps the lock until it closes the partition (Close on a revoke, a
// failure or a fenced commit), stops (Stop), or dies: the kernel releases
// a dead process's locks, so a crash never leaves a partition locked. Only
// then does the replacement's Open succeed and remove what the zombie
// wrote past the committed offset. A zombie that hangs for good (stopped
// by a debugger, say) keeps its replacement waiting until it is killed.
//
// Every file write checks first that the lock file at its path is still
// the one this instance locked; if it was removed or replaced (the topic
// directory deleted and made again), another instance may own the
// partition, and the write fails, fatally. Lock files are never removed:
// removing a locked one would let a second instance lock a new file of
// the same name. Do not delete them under a running task.
//
// A flock belongs to an open file description, not to a process: each
// Sink opens its own, so two instances in one process exclude each other
// as two processes do.
//
// The protection is per host. flock works between processes that see the
// same local filesystem; a file.dir on a network filesystem that does not
// propagate flock between machines (or emulates it locally only) is not
// protected against a zombie on another machine, and one that rejects
// flock makes Open fail. On platforms without flock (Windows, AIX,
// Solaris) partitions are not locked at all; Open logs a warning.
//
// # Errors
//
// A full disk (ENOSPC) or an exceeded quota (EDQUOT) is retryable; any
// other I/O failure (a missing or unwritable directory, a damaged file) is
// fatal and names the path.
package file
