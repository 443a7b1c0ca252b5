// Package sinktest is the conformance suite every connectd sink runs: the
// file sink against a temporary directory in its unit tests, ClickHouse,
// Elasticsearch, S3 and Iceberg against their real stores in integration
// tests. It checks the promises connector.Sink makes to the framework, the
// ones exactly-once delivery rests on:
//
//   - Flush reports only durable offsets: every record below a reported
//     offset is in the store, exactly once, when Flush returns;
//   - a replay (a new instance opened at an earlier offset writing the same
//     records, cut into different batches) leaves each record exactly once;
//   - a crash between Flush and the offset commit, and a revoke in the middle
//     of a batch, lose nothing and duplicate nothing;
//   - records the sink rejects come back as a *connector.BatchError naming
//     exactly their indexes, and are not stored;
//   - Open, Close and Stop keep their call-order and type contracts.
//
// The suite does not know the store. A Harness gives it two functions: New
// builds a sink instance against the store (each call is a new task
// instance, as after a restart or a rebalance) and Read lists what the store
// durably holds. Every subtest writes to its own topics, named
// "<TopicPrefix>-<run>-<subtest>-<n>", and only looks at those, so one store
// may serve every subtest and every run.
//
// # Running it
//
// In the sink's package, usually in an integration test against the real
// store:
//
//	func TestConformance(t *testing.T) {
//		dir := t.TempDir()
//		sinktest.Run(t, sinktest.Harness{
//			New: func(t *testing.T) connector.Sink {
//				s, err := mysink.New(&mysink.Config{Dir: dir}, connector.TaskInfo{Connector: "conformance"})
//				if err != nil {
//					t.Fatal(err)
//				}
//				return s
//			},
//			Read: func(t *testing.T) []sinktest.Stored {
//				rows, err := mysink.ReadBack(dir)
//				if err != nil {
//					t.Fatal(err)
//				}
//				out := make([]sinktest.Stored, 0, len(rows))
//				for _, r := range rows {
//					out = append(out, sinktest.Stored{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Value: r.Value})
//				}
//				return out
//			},
//			// A record the sink must reject as the record's fault; leave
//			// BadRecord nil when the sink accepts any bytes.
//			BadRecord: func(i int) connector.Record {
//				return connector.Record{Value: []byte(`{"event_id": 42}`)}
//			},
//		})
//	}
//
// The harness must configure the sink so that calling Flush again and again
// eventually makes every written record durable (a small flush size, a short
// flush interval): the suite calls Flush until the sink reports the end of
// what was written, for up to Harness.FlushTimeout. Sinks that buffer by
// count or by time are covered best when the suite runs under two configs,
// one that cuts inside Write and one that keeps a tail buffered across
// Flush calls.
//
// # What the suite does not do
//
// It never calls Close or Stop on an instance it abandons to simulate a
// crash; if New acquires resources (a connection pool), release them with
// t.Cleanup without writing. It calls a sink from one goroutine only, as the
// framework does. Subtests do not run in parallel.
package sinktest
