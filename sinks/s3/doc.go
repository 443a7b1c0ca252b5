// Package s3 is connectd's S3 sink: it archives click events and window
// results to an S3 bucket, or to a local directory (store.url file://...),
// as JSON lines (none, gzip or zstd) or Parquet, exactly once. Its keys
// are those of Confluent's S3 sink where they exist; README.md in this
// directory documents each key, the guarantees and the measured speed.
//
// # Layout
//
//	<topics.dir>/<topic>/<encoded partition>/<topic>+<kafka partition>+<start offset>.<ext>
//	<topics.dir>/_connectd/<topic>/<kafka partition>/<end offset>-<start offset>
//
// A data object holds records of one Kafka partition, in offset order,
// starting at <start offset> (zero-padded to filename.offset.zero.pad.width
// digits), all of one encoded partition (partition=<n>, <field>=<value>/…
// or a time directory from path.format).
//
// # File sets
//
// Per Kafka partition the sink fills one file set at a time: one open file
// per encoded partition the records fall in. The set is cut — all its
// files closed together — before a record whose record time is
// rotate.interval.ms past the set's first record, after flush.size records
// or flush.size.bytes value bytes, and at a Flush when the set is
// rotate.interval.ms of record time behind the task's newest record (a
// quiet partition), idle for rotate.idle.ms, or past a multiple of
// rotate.schedule.interval.ms (the last two by wall clock). A cut set is
// uploaded at once: first its marker, a small JSON object under
// <topics.dir>/_connectd/ naming the set's offset range and each file
// with the offsets of its records, then its files. The marker's name,
// <end>-<start> zero-padded to 20 digits, sorts by end offset.
//
// # Exactly once
//
//   - Flush reports, per partition, the offset after the last record of
//     a completely uploaded set; records in open sets are never reported.
//   - Open at resume offset R lists the markers whose end is past R (a
//     listing that starts after "<R>.": its cost does not grow with the
//     archive) — sets uploaded but never committed — and deletes their
//     files, then the markers. If one of them starts below R (an operator
//     moved the offsets into a set), Open resumes at its start instead: a
//     file cannot be cut, so it is rewritten whole.
//   - Markers are written before files, so a crash in the middle of an
//     upload leaves nothing Open cannot find.
//   - Cut points by count, size and record time depend on the records
//     only, so a replay writes the same objects with the same bytes. With
//     s3.conditional.writes (If-None-Match: *) an object that exists with
//     the same bytes is accepted; one with other bytes was written by
//     another writer (a zombie) and fails the task, which on restart
//     removes the uncommitted sets and writes them again. Wall-clock cuts
//     are therefore only allowed with conditional writes.
//   - ResetOffsets (connector.OffsetResetter) moves a backfill target
//     inside a set back to the set's start.
//
// # Failures
//
// Uploads run inside Write (sets cut by count or size) and Flush. An
// upload that fails retryably (5xx, throttling, timeouts, a server that
// does not answer) keeps the set in memory; Write returns the error and,
// when the framework calls it again, uploads the set before it takes any
// record, so each partition holds at most one set in memory, open or
// waiting.
// Access and configuration errors (AccessDenied, NoSuchBucket,
// InvalidAccessKeyId, SignatureDoesNotMatch) fail the task with the fix.
package s3
