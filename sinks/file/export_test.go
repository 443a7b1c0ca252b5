package file

import "github.com/connectd/connectd/connector"

// SimulateCrash releases every partition lock s holds without flushing or
// closing anything, as the death of its process would, for tests in
// package file_test that abandon an instance to simulate a crash (the
// conformance suite). The partitions stay open without their locks, so
// any later write of s fails.
func (s *Sink) SimulateCrash() {
	for _, p := range s.parts {
		s.release(p)
	}
}

// HoldsLock reports whether s holds the lock of tp.
func (s *Sink) HoldsLock(tp connector.TopicPartition) bool {
	p := s.parts[tp]
	return p != nil && p.lock != nil
}

// PartitionLocks reports whether this platform locks partitions.
const PartitionLocks = partitionLocks
