package logging

import (
	"os"
	"strings"
)

// FileTail returns the last n lines of the log file at path, or "" when it
// cannot be read: for error messages that quote what a child process (a
// test server, a worker under test) logged before it failed.
func FileTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
