package main

import (
	"encoding/json"
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

	"github.com/connectd/connectd/worker"
)

// chKeepAlive is the query chdb-host runs after starting the listeners
// (as internal/testservers does): it sleeps 3 s per row for practically
// ever, holding the server open at almost no CPU until it is signalled.
const chKeepAlive = "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; " +
	"SELECT sleepEachRow(3) FROM numbers(1000000000) SETTINGS max_block_size = 1 FORMAT Null"

// demoClickHouse is the ClickHouse server (libchdb behind chdb-host) the
// demo started for its ClickHouse connectors.
type demoClickHouse struct {
	HTTPPort, NativePort int
	dataDir              string
	cmd                  *exec.Cmd
	exited               chan struct{}
	waitErr              error // set before exited is closed
}

// startDemoClickHouse starts chdb-host with its data in dir/data on free
// 127.0.0.1 ports, its output in dir/clickhouse.log, waits until it
// answers /ping, and checks that what answers is this process (its data
// path is ours): a port taken by someone else between choosing and
// binding it shows as an error, not as a stranger's server.
func startDemoClickHouse(bin, dir string) (*demoClickHouse, error) {
	data, err := filepath.Abs(filepath.Join(dir, "data"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	native, err := freeLocalPort()
	if err != nil {
		return nil, err
	}
	httpPort, err := freeLocalPort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "clickhouse.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--path="+data+"/",
		"--listen_host=127.0.0.1",
		"--tcp_port="+strconv.Itoa(native),
		"--http_port="+strconv.Itoa(httpPort),
		"--multiquery",
		"--query", chKeepAlive)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: the terminal's Ctrl-C reaches the demo only,
	// which then stops the server after the sinks flushed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	c := &demoClickHouse{HTTPPort: httpPort, NativePort: native, dataDir: data, cmd: cmd, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		logf.Close()
		close(c.exited)
	}()
	if err := c.waitReady(60 * time.Second); err != nil {
		_ = c.stop(5 * time.Second)
		return nil, fmt.Errorf("clickhouse (%s): %w; see %s", bin, err, logPath)
	}
	return c, nil
}

// waitReady polls /ping until it answers Ok., then asks the server for
// its data path.
func (c *demoClickHouse) waitReady(d time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(d)
	for {
		select {
		case <-c.exited:
			return fmt.Errorf("exited before answering: %v", c.waitErr)
		default:
		}
		resp, err := client.Get(c.url() + "/ping")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(string(b), "Ok.") {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s/ping within %s", c.url(), d)
		}
		time.Sleep(200 * time.Millisecond)
	}
	path, err := c.query("SELECT path FROM system.disks WHERE name = 'default'")
	if err != nil {
		return err
	}
	if filepath.Clean(strings.TrimSpace(path)) != c.dataDir {
		return fmt.Errorf("the server on %s keeps its data in %s, not in %s: another server took the port", c.url(), strings.TrimSpace(path), c.dataDir)
	}
	return nil
}

func (c *demoClickHouse) url() string { return "http://127.0.0.1:" + strconv.Itoa(c.HTTPPort) }

// query runs sql over HTTP and returns the body.
func (c *demoClickHouse) query(sql string) (string, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post(c.url()+"/?"+url.Values{"wait_end_of_query": {"1"}}.Encode(), "text/plain", strings.NewReader(sql))
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

// stop sends SIGTERM and waits up to grace, then SIGKILLs.
func (c *demoClickHouse) stop(grace time.Duration) error {
	select {
	case <-c.exited:
		return nil
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return nil
	case <-time.After(grace):
	}
	_ = c.cmd.Process.Kill()
	<-c.exited
	return fmt.Errorf("clickhouse did not stop within %s of SIGTERM; killed", grace)
}

// freeLocalPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freeLocalPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// isClickHouseFile reports whether a demo config file holds a ClickHouse
// sink connector (it is named clickhouse-*.json).
func isClickHouseFile(path string) bool {
	return strings.HasPrefix(filepath.Base(path), "clickhouse-")
}

// demoConfigDir writes the demo's effective connector files to out: the
// files of src as they are, and the ClickHouse ones pointed at ch (over
// HTTP, see below) or, when ch is nil, left out. It returns the names of
// the connectors left out.
//
// The ports change from run to run (the demo takes free ones), so the
// ClickHouse files change too and the worker takes their new hostname and
// port (a changed file wins over the stored config). HTTP rather than
// native: libchdb aborts when a native connection is reset before its
// handshake (sinks/clickhouse/README.md, Limits), HTTP does not.
func demoConfigDir(src, out string, ch *demoClickHouse) (skipped []string, err error) {
	files, err := worker.ConfigFiles(src)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if isClickHouseFile(f) {
			var env struct {
				Name   string            `json:"name"`
				Config map[string]string `json:"config"`
			}
			if err := json.Unmarshal(data, &env); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if ch == nil {
				skipped = append(skipped, env.Name)
				continue
			}
			env.Config["hostname"] = "127.0.0.1"
			env.Config["port"] = strconv.Itoa(ch.HTTPPort)
			env.Config["protocol"] = "http"
			if data, err = json.MarshalIndent(env, "", "  "); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(out, filepath.Base(f)), data, 0o644); err != nil {
			return nil, err
		}
	}
	return skipped, nil
}

// forgetConnectors removes names from the demo's connector store, so
// that ClickHouse connectors a run with --clickhouse-host stored do not
// start (and fail to connect) in a run without it.
func forgetConnectors(storeDir string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	store, err := worker.NewFileStore(storeDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := store.Remove(n); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
