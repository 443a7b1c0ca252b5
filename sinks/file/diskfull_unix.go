//go:build unix

package file

import (
	"errors"
	"syscall"
)

// isDiskFull reports whether err says the disk or the quota is full
// (ENOSPC, EDQUOT): conditions that may clear up.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
