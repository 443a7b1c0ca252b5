//go:build unix

package file

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/connectd/connectd/connector"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err   error
		retry bool
	}{
		{&os.PathError{Op: "write", Path: "/data/clicks/x.tmp", Err: syscall.ENOSPC}, true},
		{&os.PathError{Op: "write", Path: "/data/clicks/x.tmp", Err: syscall.EDQUOT}, true},
		{&os.PathError{Op: "open", Path: "/data/clicks/x.tmp", Err: syscall.EACCES}, false},
		{&os.PathError{Op: "open", Path: "/data/clicks/x.tmp", Err: syscall.EROFS}, false},
		{&os.PathError{Op: "fsync", Path: "/data/clicks/x.tmp", Err: syscall.EIO}, false},
	} {
		err := classify("write file", tc.err)
		if _, retry := connector.IsRetryable(err); retry != tc.retry {
			t.Errorf("classify(%v): retryable=%v, want %v", tc.err, retry, tc.retry)
		}
		if !strings.Contains(err.Error(), "/data/clicks/x.tmp") || !errors.Is(err, tc.err.(*os.PathError).Err) {
			t.Errorf("classify(%v) = %v: lost the path or the cause", tc.err, err)
		}
	}
	if classify("x", nil) != nil {
		t.Error("classify(nil) != nil")
	}
}
