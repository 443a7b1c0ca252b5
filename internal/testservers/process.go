package testservers

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/connectd/connectd/internal/logging"
)

// process is one server process this package started: its command, log
// file and the ports it must own.
type process struct {
	name  string
	bin   string
	args  []string
	env   []string
	dir   string // working directory; logs go to dir/<name>.log
	ports []int

	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
}

// start runs the process and waits until ready reports true and every
// port is held by the process, or fails after timeout.
func (p *process) start(timeout time.Duration, ready func() bool) error {
	logPath := filepath.Join(p.dir, p.name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	go func() {
		p.err = cmd.Wait()
		fmt.Fprintf(logf, "testservers: %s exited: %v\n", p.name, cmd.ProcessState)
		logf.Close()
		close(p.done)
	}()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v); its log:\n%s", p.name, p.err, logging.FileTail(logPath, 30))
		default:
		}
		if ready() {
			owned := true
			for _, port := range p.ports {
				ok, err := ownsPort(cmd.Process.Pid, port)
				if err != nil || !ok {
					owned = false
				}
			}
			if owned {
				return nil
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("%s was not ready on ports %v after %v (another program may hold a port); its log:\n%s", p.name, p.ports, timeout, logging.FileTail(logPath, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// running reports whether the process is started and has not exited.
func (p *process) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM to the process group and waits up to grace, then
// SIGKILLs it. It returns an error only when the process survives both.
func (p *process) stop(grace time.Duration) error {
	if !p.running() {
		return nil
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	return p.kill()
}

// kill SIGKILLs the process group and waits for the process to exit.
func (p *process) kill() error {
	if !p.running() {
		return nil
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New(p.name + " survived SIGKILL for 10s")
	}
}
