//go:build windows

package file

import (
	"errors"
	"syscall"
)

// isDiskFull reports whether err says the disk is full
// (ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL): conditions that may clear up.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.Errno(112)) || errors.Is(err, syscall.Errno(39))
}
