package connector

// Transform changes, drops or rejects one record: Kafka Connect's single
// message transform. Transforms run in the order of the connector's
// `transforms` list, on the task goroutine, never concurrently.
//
// Apply returns keep=false to drop the record (a filter); it is then
// skipped and its offset committed. An error is the record's fault: the
// record goes to the dead-letter topic (errors.tolerance=all) or fails the
// task (none), with stage TRANSFORMATION and the error's text as reason.
type Transform interface {
	Apply(r *Record) (keep bool, err error)
}
