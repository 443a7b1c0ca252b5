//go:build !unix || aix || (solaris && !illumos)

package file

import "os"

// partitionLocks reports whether this platform locks partitions: this one
// has no flock, so two instances of a task can write the same partition
// at once (a zombie and its replacement); Open logs a warning.
const partitionLocks = false

// tryLock takes no lock on this platform: it always succeeds.
func tryLock(f *os.File) (bool, error) { return true, nil }

// unlock has nothing to release on this platform.
func unlock(f *os.File) error { return nil }
