package chserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/connectd/connectd/internal/logging"
)

// KeepAlive is the query chdb-host runs after starting the listeners: it
// sleeps 3 s per row for practically ever, holding the server open at
// almost no CPU until the process is signalled.
const KeepAlive = "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; " +
	"SELECT sleepEachRow(3) FROM numbers(1000000000) SETTINGS max_block_size = 1 FORMAT Null"

// Server is one ClickHouse server process, answering the native protocol
// on NativePort and HTTP on HTTPPort of 127.0.0.1 as user "default"
// without a password. Its data lives in Dir/data and outlives Stop, so
// Start brings the same tables back on the same ports.
type Server struct {
	// Bin is the chdb-host binary (libchdb.so next to it).
	Bin string
	// Dir holds the data (Dir/data) and the log (Dir/clickhouse.log).
	Dir string
	// NativePort and HTTPPort are the ports, chosen by New.
	NativePort, HTTPPort int
	// DieWithParent makes the kernel SIGKILL the server when the thread
	// that started it exits (tests: a crashed test leaves no server
	// behind). Without it the server runs in its own process group, so a
	// terminal's Ctrl-C reaches only the caller, which stops it in order.
	DieWithParent bool

	data   string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited is closed
}

// New prepares a server with its data under dir on two ports that were
// free a moment ago. It starts nothing.
func New(bin, dir string) (*Server, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("chdb-host: %w (build it with `make servers`)", err)
	}
	data, err := filepath.Abs(filepath.Join(dir, "data"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	native, err := FreePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	return &Server{Bin: bin, Dir: dir, NativePort: native, HTTPPort: httpPort, data: data}, nil
}

// Running reports whether the process is started and has not exited.
func (s *Server) Running() bool {
	if s.exited == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Start starts the process (again, after Stop) and waits up to timeout
// until it answers and is ours. On an error the process is stopped.
func (s *Server) Start(timeout time.Duration) error {
	if s.Running() {
		return nil
	}
	logPath := filepath.Join(s.Dir, "clickhouse.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.Bin,
		"--path="+s.data+"/",
		"--listen_host=127.0.0.1",
		"--tcp_port="+strconv.Itoa(s.NativePort),
		"--http_port="+strconv.Itoa(s.HTTPPort),
		"--multiquery",
		"--query", KeepAlive)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if s.DieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", s.Bin, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	exited := s.exited
	go func() {
		s.err = cmd.Wait()
		fmt.Fprintf(logf, "chserver: chdb-host exited: %v\n", cmd.ProcessState)
		logf.Close()
		close(exited)
	}()
	if err := s.waitReady(timeout); err != nil {
		_ = s.Kill()
		return fmt.Errorf("clickhouse (%s): %w; its log:\n%s", s.Bin, err, logging.FileTail(logPath, 20))
	}
	return nil
}

// waitReady polls /ping until it answers Ok., then checks the data path.
func (s *Server) waitReady(d time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(d)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("exited before answering: %v", s.err)
		default:
		}
		resp, err := client.Get(s.URL() + "/ping")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(string(b), "Ok.") {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s/ping within %s (another program may hold a port)", s.URL(), d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	path, err := s.Query("SELECT path FROM system.disks WHERE name = 'default'")
	if err != nil {
		return err
	}
	if got := filepath.Clean(strings.TrimSpace(path)); got != s.data {
		return fmt.Errorf("the server on %s keeps its data in %s, not in %s: another server took the port", s.URL(), got, s.data)
	}
	return nil
}

// URL is the HTTP interface's base URL.
func (s *Server) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.HTTPPort) }

// Query runs sql over HTTP and returns the response body (TabSeparated
// unless the query says FORMAT …). A ClickHouse error is returned with
// its message.
func (s *Server) Query(sql string) (string, error) {
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Post(s.URL()+"/?"+url.Values{"wait_end_of_query": {"1"}}.Encode(), "text/plain", strings.NewReader(sql))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("clickhouse: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// Stop sends SIGTERM and waits up to grace for the process to exit, then
// SIGKILLs it. It returns an error when SIGTERM was not enough.
func (s *Server) Stop(grace time.Duration) error {
	if !s.Running() {
		return nil
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	_ = s.Resume() // a paused server handles SIGTERM once it goes on
	select {
	case <-s.exited:
		return nil
	case <-time.After(grace):
	}
	if err := s.Kill(); err != nil {
		return err
	}
	return fmt.Errorf("clickhouse did not stop within %s of SIGTERM; killed", grace)
}

// Pause freezes the server with SIGSTOP: connections are still accepted
// by the kernel, but nothing answers (a hung or overloaded server).
// Resume undoes it; Stop resumes a paused server first.
func (s *Server) Pause() error {
	if !s.Running() {
		return errors.New("clickhouse is not running")
	}
	return syscall.Kill(-s.cmd.Process.Pid, syscall.SIGSTOP)
}

// Resume lets a paused server go on (SIGCONT); on a running one it does
// nothing.
func (s *Server) Resume() error {
	if !s.Running() {
		return nil
	}
	return syscall.Kill(-s.cmd.Process.Pid, syscall.SIGCONT)
}

// Kill SIGKILLs the process and waits for it to exit.
func (s *Server) Kill() error {
	if !s.Running() {
		return nil
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("clickhouse survived SIGKILL for 10s")
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
