// Package iceberg is connectd's Apache Iceberg sink: it writes click
// events, and window results, to Iceberg tables through iceberg-go, with
// a SQL catalog on SQLite (iceberg.catalog.type=sql) or an Iceberg REST
// catalog (iceberg.catalog.type=rest: iceberg-go's REST client, with
// OAuth2 client credentials or a bearer token, a path prefix, SigV4 and
// io properties passed through iceberg.catalog.*), and a warehouse on
// file:// or s3:// (MinIO).
//
// Exactly once: every commit adds its Parquet data files in one snapshot
// whose summary holds, under "connectd.offsets.<connector>", the next
// offset of every partition the connector has written to the table. Open
// reads it back and Write skips the records below it (Kafka's committed
// offsets may lag the table); Open asks for no seek, so that the dead
// letters of the records in between are written again after a crash.
// Commits are optimistic: a commit asserts the branch head it read and
// checks that no other writer moved its partitions' offsets, so a zombie
// task cannot commit after its partitions moved on (it gets
// connector.ErrFenced and deletes its files). A conflict is the SQL
// catalog's failed requirement or the REST catalog's HTTP 409
// (table.ErrCommitFailed); both are retried on the new head the same way.
// See README.md for keys, guarantees and the maintenance commands
// (Compact, ExpireSnapshots, RemoveOrphans).
//
// Tested against: the SQL catalog on SQLite with file:// and MinIO
// warehouses; the REST catalog client against a stand-in REST server in
// the tests (restcatalog_test.go: the spec's endpoints and error bodies
// over httptest, backed by iceberg-go's SQL catalog), since no real REST
// catalog server runs where the tests run. No hosted REST catalog
// (Polaris, Lakekeeper, Nessie, Glue, S3 Tables) has been tried.
package iceberg
