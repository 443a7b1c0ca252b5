package chserver

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestRejectsAServerThatIsNotOurs: a second Server told to use the ports
// of a running one finds that the server answering keeps its data
// elsewhere and fails instead of using it.
func TestRejectsAServerThatIsNotOurs(t *testing.T) {
	bin := os.Getenv("CONNECTD_CHDB_HOST")
	if bin == "" {
		if os.Getenv("CONNECTD_REQUIRE_SERVERS") != "" {
			t.Fatal("CONNECTD_CHDB_HOST is not set")
		}
		t.Skip("CONNECTD_CHDB_HOST is not set (run make servers)")
	}
	a, err := New(bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a.DieWithParent = true
	if err := a.Start(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	defer a.Kill()
	b, err := New(bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b.DieWithParent = true
	b.NativePort, b.HTTPPort = a.NativePort, a.HTTPPort
	err = b.Start(20 * time.Second)
	defer b.Kill()
	if err == nil || !strings.Contains(err.Error(), "another") {
		t.Fatalf("second server on the first one's ports: err = %v, want one saying another server or program holds the port", err)
	}
	t.Logf("second server: %v", err)
	if !a.Running() {
		t.Fatal("the first server died")
	}
}
