//go:build integration

package integration

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kcatPath returns kcat, which `make test` installs from Debian.
func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed; `make test` installs it (apt-get install kcat)")
	}
	return p
}

func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(kcatPath(t), args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestKcatAgainstEmbeddedKafka: an outside Kafka client reads what
// `connectd gen` wrote to `connectd kafka`, writes its own records, and
// finds all of them again after the broker restarts on the same data dir.
func TestKcatAgainstEmbeddedKafka(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "kafka")
	addr, k := startKafka(t, dataDir, dir)

	out, err := exec.Command(connectdBin(t), "gen", "--bootstrap-servers", addr, "--topic", "clicks",
		"--max-events", "1000", "--partitions", "3", "--seed", "5", "--start-time", "2026-11-01T00:00:00Z").CombinedOutput()
	if err != nil {
		t.Fatalf("connectd gen: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "wrote 1000 events to clicks") {
		t.Fatalf("connectd gen said %q", out)
	}

	meta := kcat(t, "", "-b", addr, "-L", "-t", "clicks")
	if !strings.Contains(meta, `topic "clicks" with 3 partitions`) {
		t.Errorf("kcat -L shows:\n%s", meta)
	}
	count := func(addr string) (n int, users map[string]bool) {
		lines := kcat(t, "", "-b", addr, "-C", "-t", "clicks", "-e", "-q", "-X", "isolation.level=read_committed", "-f", "%k\t%s\n")
		lines = strings.ReplaceAll(lines, "k1\thello from kcat\nk2\tsecond\n", "")
		users = map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
			key, value, ok := strings.Cut(l, "\t")
			if !ok || !strings.Contains(value, `"user_id":"`+key+`"`) {
				t.Fatalf("record keyed %q does not carry that user_id: %.200s", key, value)
			}
			users[key] = true
			n++
		}
		return n, users
	}
	if n, users := count(addr); n != 1000 || len(users) < 10 {
		t.Errorf("kcat read %d records from %d users, want 1000 from many", n, len(users))
	}
	// Topics are never auto-created, so kcat writes to the existing one.
	kcat(t, "k1:hello from kcat\nk2:second\n", "-b", addr, "-P", "-t", "clicks", "-p", "2", "-K", ":")

	k.stop(t, 20*time.Second)
	addr2, _ := startKafka(t, dataDir, dir)
	all := kcat(t, "", "-b", addr2, "-C", "-t", "clicks", "-e", "-q", "-f", "%k=%s\n")
	if n := strings.Count(all, "\n"); n != 1002 {
		t.Errorf("after a broker restart kcat reads %d records, want 1000 generated + 2 of its own", n)
	}
	if !strings.Contains(all, "k1=hello from kcat\nk2=second\n") {
		t.Errorf("after a restart the records kcat wrote are gone")
	}
}
