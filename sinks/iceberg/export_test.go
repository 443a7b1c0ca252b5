package iceberg

// SetBeforeCommit makes every commit of s call f(table) after it read the
// table's state and before it commits, to interleave another writer.
func (s *Sink) SetBeforeCommit(f func(tableName string)) { s.beforeCommit = f }
