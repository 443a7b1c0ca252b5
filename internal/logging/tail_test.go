package logging

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFileTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	if got := FileTail(path, 3); got != "" {
		t.Errorf("tail of a missing file = %q, want empty", got)
	}
	if err := os.WriteFile(path, []byte("a\nb\nc\nd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := FileTail(path, 2); got != "c\nd" {
		t.Errorf("last 2 lines = %q, want \"c\\nd\"", got)
	}
	if got := FileTail(path, 10); got != "a\nb\nc\nd" {
		t.Errorf("last 10 lines of 4 = %q", got)
	}
}
