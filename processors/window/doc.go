// Package window is the window connector: a Kafka-to-Kafka processor that
// aggregates click events into event-time windows (package windowing) and
// writes, exactly once, one JSON record per closed window and group key to
// an output topic. It is built on the sink contract: a sink plugin
// (connector.Sink) with the optional connector.Emitter ability, whose
// emitted records the framework commits in the same Kafka transaction as
// the input offsets that Flush returned.
//
// # Exactly once
//
// Each Flush ticks the windower with the wall clock (the only clock, for
// idle partitions), takes the results of the windows the watermark closed
// and the state records that changed, and hands both to the framework
// (Emitted), which writes them with the offsets of every record consumed
// so far in one transaction:
//
//	results  → output.topic     key = result id, value = Result JSON, timestamp = window end
//	state    → changelog.topic  compacted, one partition (nil value = tombstone)
//	late     → late.topic       events refused as too late, with the reason
//	offsets  → the group "connect-<name>"
//
// Killed at any point, the task restarts from the committed offsets and
// restores the state from the changelog (Open reads it whole and Loads each
// record), which was committed with those same offsets, so the state and
// the input position agree; events the state already holds are skipped by
// offset. The results are therefore the same — same ids, values and
// versions — as an uninterrupted run's, and a read_committed consumer sees
// each once. Close (revocation, failure) drops the in-memory state: the
// next Open restores it. A Close of only some of the open partitions also
// drops everything, and the task fails at its next Write; the framework's
// sarama consumer group revokes all partitions at each rebalance, so this
// does not happen in practice.
//
// Results are deterministic given the order of events in each input
// partition, except where the wall clock enters: a partition idle for
// idle.timeout.ms stops holding the watermark back, which can make later
// events of it late. With one input partition the watermark does not
// depend on the clock at all.
//
// # One task
//
// tasks.max must be 1: window state is keyed by group key (a page, a user)
// across every input partition, and the watermark is the minimum over all
// of them, so one task owns every partition. Validation refuses more.
//
// # Configuration
//
// The connector's own keys: output.topic (required), changelog.topic
// (default "<connector>-changelog", created with cleanup.policy=compact),
// late.topic (optional; without it late events are counted and logged),
// output.topic.partitions and topic.replication.factor (for the topics it
// creates). The windowing keys are windowing.Config's (window.type,
// window.size.ms, window.advance.ms, window.offset.ms, session.gap.ms,
// max.out.of.order.ms, grace.ms, allowed.lateness.ms, idle.timeout.ms,
// timestamp.field, group.by, aggregates, result.name, max.windows,
// max.keys, max.interned) and, for each name listed in aggregates, the
// keys of windowing.AggregateConfig under "aggregate.<name>.". Config
// claims those keys through the connector.RawConfig hook and decodes them
// in Validate; windowing's errors come out as *connector.ConfigError with
// the same key. See configs/window-*.json for working examples.
//
// Events are JSON objects. The event time is the RFC3339 string in
// timestamp.field; an event without one, or not JSON, is the record's
// fault (a *connector.BatchError: the dead-letter topic with
// errors.tolerance=all, else the task fails naming it).
//
// The output records carry id, version, aggregate, window_start,
// window_end (RFC3339), key (the group-by values) and values (each
// measure's values under plain names); see windowing.Result.MarshalJSON.
// Downstream keeps the highest version per id; a retraction (a session a
// late event merged into another) has retract set and no values.
//
// # Input partitions
//
// windowing keys its watermark state by an int32 partition id; the
// connector derives it from the topic (an 11-bit FNV hash) and the
// partition number (< 2^20), so it is stable across restarts and topic
// list changes. Open refuses two input partitions with the same id.
package window
