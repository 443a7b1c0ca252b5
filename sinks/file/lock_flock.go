//go:build unix && !aix && !(solaris && !illumos)

package file

import (
	"errors"
	"os"
	"syscall"
)

// partitionLocks reports whether this platform locks partitions; see
// tryLock.
const partitionLocks = true

// tryLock takes an exclusive flock on f without waiting. It reports false
// when another open file description (in this process or another) holds
// one. The lock belongs to f's open file description, so two Sinks in one
// process exclude each other too, and the kernel releases it when f is
// closed or the process dies.
func tryLock(f *os.File) (bool, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
			if !errors.Is(ferr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return false, err
	}
	switch {
	case ferr == nil:
		return true, nil
	case errors.Is(ferr, syscall.EWOULDBLOCK):
		return false, nil
	}
	return false, &os.PathError{Op: "flock", Path: f.Name(), Err: ferr}
}

// unlock drops f's flock. Closing f would drop it too; unlocking first
// makes the release explicit whatever else refers to the description.
func unlock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), syscall.LOCK_UN)
			if !errors.Is(ferr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	if ferr != nil {
		return &os.PathError{Op: "flock", Path: f.Name(), Err: ferr}
	}
	return nil
}
