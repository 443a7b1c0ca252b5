// Package clickhouse is connectd's ClickHouse sink: it writes click events
// to a MergeTree events table and window results to a ReplacingMergeTree
// results table, exactly once, over ClickHouse's native protocol (or
// HTTP), with clickhouse-go. sinks/clickhouse/README.md is the user
// documentation (keys, tables, dashboard queries, measurements).
//
// # Tables
//
// Events: the known fields of connector/clickevent as typed columns
// (required ones plain, optional ones Nullable, short repetitive strings
// LowCardinality), unknown fields as one JSON object in _extra, and the
// Kafka coordinates _topic, _partition, _offset, _timestamp. MergeTree,
// PARTITION BY toDate(timestamp), ORDER BY (toDate(timestamp), user_id,
// timestamp), a minmax index on _offset. Results (records of the task's
// rollup topic and of rollup.topics): ReplacingMergeTree(version, retract)
// ORDER BY id; read with FINAL. Optionally (rollup.pageviews.enable) an
// AggregatingMergeTree <table>_pageviews_1m fed by a materialized view:
// partial states per minute, page and INSERT, each row naming its Kafka
// partition and the offset range of its raw rows, so that an offset reset
// can replace the states of the rows it replays (recomputePageViews).
// Every created table has non_replicated_deduplication_window = dedup.window.
//
// # Exactly once
//
//   - A partition grows one batch per event day (the table partition):
//     a record goes to the batch of its day, so each INSERT is one block
//     into one partition: one part, atomic. Late events of yesterday
//     arriving after midnight fill a batch of their own instead of
//     cutting today's into small INSERTs. A batch is cut at batch.size
//     rows; a partial one when it is older than flush.interval.ms at a
//     Flush, when buffer.max.rows is reached, or, when a record of a
//     fifth day arrives while four grow (maxOpenDays), the one whose
//     first row is the oldest. Results batches have no day: one grows.
//     A batch's rows are not consecutive offsets: it holds every
//     accepted record of its day between its first and last offsets
//     that is in no other batch.
//   - Each INSERT carries insert_deduplication_token =
//     <connector>/<topic>/<partition>/<first>-<last> (plus /reset-<epoch>
//     after an offset reset), and deduplicate_blocks_in_dependent_
//     materialized_views=1, so an INSERT retried after an unknown outcome
//     is dropped by the server, also in materialized views.
//   - A partition's batches are sent in the order they were cut, one at
//     a time (the next only after ClickHouse acknowledged the one
//     before), so the table holds whole batches. With several days
//     growing, that order is not offset order: what the table holds at
//     and after the resume offset need not be a prefix of the records
//     that follow it. So Open reads the exact offsets stored at and after
//     the resume offset, as ranges of consecutive offsets (gaps and
//     islands in SQL: memory goes with the number of ranges), and Write
//     skips exactly those, moving a cursor over the ranges as offsets
//     advance and freeing them once passed. Every other record is taken
//     again: added to a batch, or rejected again, so its dead letter is
//     written again. A restarted task never rebuilds a batch overlapping
//     stored rows, and no state outside the table can disagree with it.
//     A rebuilt batch never starts at a stored offset, so its token is
//     not that of a stored batch. Partial batches are safe for the same
//     reasons. Open does not seek past stored records: the framework
//     must transform them again, since the dead letters of invalid ones
//     among them are committed with the Kafka offsets, not with the rows
//     (seeking lost them after a SIGKILL).
//   - Flush reports, per partition, the lowest first offset over the
//     batches ClickHouse has not acknowledged (queued, in flight or
//     growing); with none, the offset after the last record Write was
//     handed. Every record below it is stored or was rejected.
//   - ResetOffsets (a backfill) records a new epoch in the
//     connectd_offset_resets table and deletes nothing. The next Open of
//     the partition deletes its rows at and after the resume offset
//     (ALTER TABLE … DELETE, mutations_sync=2), replaces the page-views
//     rollup rows holding states of those rows by rows recomputed from
//     the partition's remaining rows in their offset ranges (inserted
//     under a token of the reset, then the old rows deleted), marks the
//     reset applied, and uses the epoch in its tokens, so the re-inserted
//     batches are not mistaken for the deleted ones.
//   - For the window stage's rollup partition, whose resume offset the
//     framework does not move, the same stored offsets make Write skip
//     rollups already stored.
//
// # Errors
//
// A value that does not fit (clickevent.FieldError, a timestamp outside
// DateTime64(3), a malformed window result) is the record's fault: a
// *connector.BatchError naming the column and the value. Network
// failures, timeouts and server errors such as TOO_MANY_PARTS or
// MEMORY_LIMIT_EXCEEDED are retryable; Write takes no record while the
// buffer (batches in flight and queued included) holds buffer.max.rows and
// ClickHouse refuses them, so memory stays bounded (sent batches are
// emptied and kept for reuse, at most one per growing batch, or one per
// open partition when that is more) and the
// framework's retry log says why. Schema mismatches and missing tables
// (auto.create.tables=false) fail the task naming the table, the column
// and the key.
//
// A failed INSERT leaves its batch first in its partition's queue; it is
// sent again, the same rows with the same token. Its error reaches the
// framework through the next Write or Flush as it did when INSERTs ran
// inside them: Write logs a retryable one (the batch is already being sent
// again) and returns any other; Flush returns either, and goes on
// returning a partition's retryable failure at every call until an INSERT
// of that partition succeeds, so that while ClickHouse is down or refuses
// the task waits in its retry loop (no more records taken) and its status
// says why (a RUNNING task's trace); Write under buffer.max.rows pressure
// returns either, wrapped in why it waits.
//
// # Concurrency
//
// The framework calls a Sink from one goroutine at a time; all of the
// sink's state belongs to that goroutine. INSERTs run beside it, so that
// the task goes on consuming and decoding while ClickHouse stores a batch:
//
//   - A partition's growing batches (partition.open, one per event day)
//     and the stored offsets Open read (partition.stored, whose cursor
//     Write moves) belong to the sink's goroutine alone. A cut batch
//     leaves the growing ones and
//     is queued on its partition (partition.sent), in cut order. launch
//     starts a flight, a goroutine that INSERTs the batches queued on one
//     partition at that moment, in order, one at a time, stopping at the
//     first failure; partitions with the oldest batches first, while
//     fewer than maxFlights (2) run, one per partition at most: while
//     ClickHouse stores one batch, the next is encoded and sent.
//   - A flight reads only its batches, which nobody changes while they
//     are queued, the connection pool (safe for concurrent use), the
//     immutable config and its own scratch slices. It hands back how many
//     batches were stored and why the next was not, through the flight's
//     done channel; drop and Stop ask it, through an atomic flag, to
//     start no further INSERT.
//   - Only the sink's goroutine books a flight's outcome (land): it pops
//     the acknowledged batches, lowers pending and recycles them; a
//     failed batch and those after it stay queued. A flight's goroutine
//     writes nothing else, so the sink needs no lock.
//   - Write and Flush book finished flights and start the next ones
//     without waiting (pump), except where they must wait (drain): Write
//     at buffer.max.rows, and Flush with flush.interval.ms 0, which then
//     reports everything Write took. With flush.interval.ms > 0, Flush
//     waits for no INSERT: it reports up to the lowest first offset of
//     a batch not acknowledged, and a batch's offsets are committed by
//     the first Flush after its INSERT and those of every batch with a
//     lower first offset, growing batches of other days included.
//   - Every flight ends in land, and every path that forgets a partition
//     (Close, a repeated Open) or the connection (Stop) lands the
//     partition's flights first: no row of a revoked partition reaches
//     the table after Close returns, where the next owner's Open would
//     miss it, and no goroutine outlives Stop. A flight runs under its
//     own context (it outlives the call that started it), bounded by
//     insert.timeout.ms; a land whose ctx ends cancels the INSERT and
//     still waits for it (the batch stays queued, to be sent again with
//     the same token).
package clickhouse
