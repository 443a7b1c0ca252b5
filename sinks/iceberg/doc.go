// Package iceberg is connectd's Apache Iceberg sink: it writes click
// events, and window results, to Iceberg tables through iceberg-go, with
// a SQL catalog on SQLite and a warehouse on file:// or s3:// (MinIO).
//
// Exactly once: every commit adds its Parquet data files in one snapshot
// whose summary holds, under "connectd.offsets.<connector>", the next
// offset of every partition the connector has written to the table. Open
// reads it back and resumes there; Kafka's committed offsets are a hint.
// Commits are optimistic: a commit asserts the branch head it read and
// checks that no other writer moved its partitions' offsets, so a zombie
// task cannot commit after its partitions moved on (it gets
// connector.ErrFenced and deletes its files). See README.md for keys,
// guarantees and the maintenance commands (Compact, ExpireSnapshots,
// RemoveOrphans).
package iceberg
