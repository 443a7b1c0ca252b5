package testservers

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Environment variables naming the programs, set by the Makefile.
const (
	// EnvMinIO is the path of the minio binary.
	EnvMinIO = "CONNECTD_MINIO"
	// EnvCHDBHost is the path of the chdb-host binary (libchdb.so next to it).
	EnvCHDBHost = "CONNECTD_CHDB_HOST"
	// EnvDuckDB is a directory whose node_modules holds @duckdb/node-api.
	EnvDuckDB = "CONNECTD_DUCKDB"
	// EnvRequire, when non-empty, turns a missing program into a test
	// failure instead of a skip.
	EnvRequire = "CONNECTD_REQUIRE_SERVERS"
)

// ErrNotInstalled is returned when the environment names no program.
var ErrNotInstalled = errors.New("not installed")

// program returns the path in env, or ErrNotInstalled.
func program(env string) (string, error) {
	p := os.Getenv(env)
	if p == "" {
		return "", fmt.Errorf("%s is not set (run `make servers`, then set it as the Makefile does, or use `make unit`): %w", env, ErrNotInstalled)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s=%s: %w (run `make servers`)", env, p, err)
	}
	return p, nil
}

// need returns the program in env, skipping tb when it is not installed
// and EnvRequire is unset, failing it otherwise.
func need(tb testing.TB, env string) string {
	tb.Helper()
	p, err := program(env)
	if err != nil {
		if errors.Is(err, ErrNotInstalled) && os.Getenv(EnvRequire) == "" {
			tb.Skip(err)
		}
		tb.Fatal(err)
	}
	return p
}

// ownsPort reports whether process pid (or one of its threads) holds the
// listening TCP socket on port, by matching the socket inode in
// /proc/net/tcp{,6} with pid's file descriptors.
func ownsPort(pid, port int) (bool, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		file, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A = LISTEN
				continue
			}
			i := strings.LastIndexByte(fields[1], ':')
			if i < 0 {
				continue
			}
			p, err := strconv.ParseInt(fields[1][i+1:], 16, 32)
			if err == nil && int(p) == port {
				inodes[fields[9]] = true
			}
		}
		file.Close()
	}
	if len(inodes) == 0 {
		return false, nil
	}
	fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		return false, err
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", fd.Name()))
		if err != nil {
			continue
		}
		if strings.HasPrefix(link, "socket:[") && inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			return true, nil
		}
	}
	return false, nil
}
