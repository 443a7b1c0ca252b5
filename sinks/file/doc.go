// Package file is connectd's reference sink: it writes each record's value
// as one line of a JSON lines file, exactly once, and is the sink the
// conformance suite (connector/sinktest) is first proven against.
//
// # Layout
//
//	<file.dir>/<topic>/<topic>+<partition>+<startOffset>.jsonl
//	<file.dir>/<topic>/<topic>+<partition>+<startOffset>.jsonl.idx
//
// A data file holds the records of one partition from startOffset (the
// offset of its first record, plain decimal) on, one line each: the value
// bytes as they came, then '\n'. The sink does not parse values; a value
// that is empty or contains a newline is rejected as the record's fault. The
// data files are pure JSON lines, so any tool can read them.
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
//
// # Errors
//
// A full disk (ENOSPC) or an exceeded quota (EDQUOT) is retryable; any
// other I/O failure (a missing or unwritable directory, a damaged file) is
// fatal and names the path.
package file
