package file

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/connectd/connectd/connector"
)

const (
	lockExt = ".lock"
	// lockRetry is how long an Open refused by another instance's lock
	// asks the framework to wait before it tries again.
	lockRetry = 500 * time.Millisecond
)

// lockName returns the name of the lock file of tp in <file.dir>/<topic>:
// ".<topic>+<partition>.lock". The leading dot and the missing start
// offset keep it apart from data files, sidecars and temporary files.
func lockName(tp connector.TopicPartition) string {
	return "." + tp.Topic + "+" + strconv.FormatInt(int64(tp.Partition), 10) + lockExt
}

// partLock is this instance's exclusive lock on one partition: its own
// open file description of the partition's lock file, flocked. The kernel
// drops the lock when the description is closed, by release or by the
// death of the process. Lock files are never removed: removing one while
// it is locked would let a second instance lock a new file of the same
// name.
type partLock struct {
	tp   connector.TopicPartition
	path string
	f    *os.File
}

// lockPartition takes the lock of tp in the topic directory dir without
// waiting. When another instance holds it, the error is retryable: that
// instance is stopping (fenced, revoked, or its process dying) and the
// framework tries Open again.
func lockPartition(dir string, tp connector.TopicPartition) (*partLock, error) {
	path := filepath.Join(dir, lockName(tp))
	// O_RDWR: where flock is emulated with POSIX locks (NFS), an
	// exclusive lock needs a descriptor open for writing.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, classify("lock "+tp.String(), err)
	}
	got, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("file sink: lock %s: %w; file.dir must be on a filesystem that supports flock", path, err)
	}
	if !got {
		f.Close()
		return nil, connector.Retryable(fmt.Errorf("partition %s is locked by another instance of this task (%s); waiting for it to stop", tp, path), lockRetry)
	}
	return &partLock{tp: tp, path: path, f: f}, nil
}

// check reports an error unless the lock file at the lock's path is still
// the one this instance locked: when it was removed or replaced (the topic
// directory deleted and made again, say), another instance may have
// locked a new one and own the partition, so this one must write nothing
// more.
func (l *partLock) check() error {
	mine, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("file sink: %s: cannot check the partition's lock %s: %w", l.tp, l.path, err)
	}
	cur, err := os.Stat(l.path)
	if err == nil && os.SameFile(mine, cur) {
		return nil
	}
	why := "was replaced by another file"
	if err != nil {
		why = "is gone (" + err.Error() + ")"
	}
	return fmt.Errorf("file sink: %s: lost the partition's lock: %s %s since this instance locked it, so another instance may own the partition; not writing", l.tp, l.path, why)
}

// release drops the lock and closes the file. The file stays.
func (l *partLock) release() error {
	uerr := unlock(l.f)
	cerr := l.f.Close()
	if err := errors.Join(uerr, cerr); err != nil {
		return fmt.Errorf("file sink: unlock %s: %w", l.path, err)
	}
	return nil
}
