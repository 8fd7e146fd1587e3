package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds how long a server may take to serve clients.
	readyTimeout = 30 * time.Second
	// readyPoll is the pause between readiness probes.
	readyPoll = 50 * time.Millisecond
	// startAttempts is how often a start is retried when the port chosen by
	// FreePort was taken by someone else in the meantime.
	startAttempts = 3
	// logTailLines is how much of a server log a failing test prints.
	logTailLines = 40
)

// errPortTaken marks a start that failed because the port was in use, the
// one failure a retry with a fresh port can fix.
var errPortTaken = errors.New("port already in use")

// process is one server process in its own process group, with its output
// going to a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string        // stdout and stderr
	logs    []string      // every log to show on failure: logPath, then the server's own
	done    chan struct{} // closed once Wait returned
	waitErr error

	stopOnce sync.Once
}

// startProcess runs argv with env appended to the current environment,
// stdout and stderr to logPath, in a new process group. serverLogs name
// further log files the server writes itself.
func startProcess(name string, argv, env []string, dir, logPath string, serverLogs ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: open log: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("%s: start %s: %w", name, argv[0], err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logs: append([]string{logPath}, serverLogs...), done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls addr (see serving) until the server serves, the process
// exits, or readyTimeout passes.
func (p *process) waitReady(addr string) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-p.done:
			if strings.Contains(strings.ToLower(p.logTail(200)), "address already in use") {
				return fmt.Errorf("%s on %s: %w", p.name, addr, errPortTaken)
			}
			return fmt.Errorf("%s exited before serving %s (%v); logs:\n%s",
				p.name, addr, p.waitErr, p.logTail(logTailLines))
		default:
		}
		if serving(addr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not serve %s within %v; logs:\n%s",
				p.name, addr, readyTimeout, p.logTail(logTailLines))
		}
		time.Sleep(readyPoll)
	}
}

// stop signals the process group with sig (SIGKILL straight away when grace
// is zero), escalates to SIGKILL after grace, and reaps the process. It is
// idempotent.
func (p *process) stop(sig syscall.Signal, grace time.Duration) {
	p.stopOnce.Do(func() {
		pgid := p.cmd.Process.Pid
		if grace <= 0 {
			sig = syscall.SIGKILL
		}
		_ = syscall.Kill(-pgid, sig)
		if sig != syscall.SIGKILL {
			select {
			case <-p.done:
			case <-time.After(grace):
			}
		}
		// Whatever the leader did, no member of the group may outlive the test.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	})
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// logTail returns the last n lines of each of the process's logs.
func (p *process) logTail(n int) string {
	var parts []string
	for _, path := range p.logs {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			parts = append(parts, fmt.Sprintf("(cannot read %s: %v)", path, err))
		case len(bytes.TrimSpace(data)) > 0:
			parts = append(parts, "== "+path+"\n"+tailLines(data, n))
		}
	}
	return strings.Join(parts, "\n")
}

func tailLines(data []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// logOnFailure registers a cleanup, to run after the process is stopped
// (so register it first), that prints the logs' tails when the test failed:
// the server's view is usually what explains a failure.
func logOnFailure(t testing.TB, p *process, what string) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s logs (last %d lines each):\n%s", what, logTailLines, p.logTail(logTailLines))
		}
	})
}

// startServer starts a server on a fresh port, retrying when the port turns
// out to be taken. launch writes the configuration for the given ports and
// starts the process; it returns the client address to probe.
func startServer(t testing.TB, launch func(clientPort, adminPort, attempt int) (*process, string, error)) (*process, string, int, int) {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		clientPort, adminPort := FreePort(t), FreePort(t)
		p, addr, err := launch(clientPort, adminPort, attempt)
		if err != nil {
			t.Fatalf("%v", err)
		}
		err = p.waitReady(addr)
		if err == nil {
			return p, addr, clientPort, adminPort
		}
		p.stop(syscall.SIGKILL, 0)
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("%v", lastErr)
	return nil, "", 0, 0
}
