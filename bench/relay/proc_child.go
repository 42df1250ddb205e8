package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a relay process this tool started. It is stopped by its own
// PID only (never by name: other relays may run on the machine), and dies
// with the tool even if the tool is killed (Pdeathsig).
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when Wait returned
	waitErr error
}

// startChild starts cmd with its stderr, and its stdout unless the caller
// took it, in logPath.
func startChild(name string, cmd *exec.Cmd, logPath string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	if cmd.Stdout == nil {
		cmd.Stdout = logf
	}
	cmd.Stderr = logf
	// The tool may be killed with SIGKILL: the kernel then ends the child
	// too, so no relay outlives a run. Its own process group keeps a
	// terminal's Ctrl-C away from it: the tool stops it after closing
	// its calls.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		_ = logf.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the child is gone.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop asks the child to end (before, e.g. closing its stdin, or nil for
// SIGTERM), waits up to grace, then kills it. It returns once it is gone.
func (c *child) stop(before func(), grace time.Duration) error {
	if c.exited() {
		return nil
	}
	if before != nil {
		before()
	} else {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(grace):
	}
	_ = c.cmd.Process.Kill()
	<-c.done
	return fmt.Errorf("%s (pid %d) did not stop within %v: killed", c.name, c.pid(), grace)
}

// logTail is the end of the child's log, for error messages.
func (c *child) logTail() string {
	f, err := os.Open(c.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// wrap adds the child's log tail to an error about it.
func (c *child) wrap(err error) error {
	if err == nil {
		return nil
	}
	if c.exited() {
		err = errors.Join(err, fmt.Errorf("%s exited: %v", c.name, c.waitErr))
	}
	if t := c.logTail(); t != "" {
		return fmt.Errorf("%w\n--- last lines of %s ---\n%s", err, c.logPath, t)
	}
	return err
}
