//go:build !unix && !windows

package file

// isDiskFull reports whether err says the disk is full; on this platform
// no error is recognised as such, so every I/O error is fatal.
func isDiskFull(err error) bool { return false }
