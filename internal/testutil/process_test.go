package testutil

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaitReadyClassifiesEarlyExit(t *testing.T) {
	tests := []struct {
		name      string
		script    string
		portTaken bool
		wantInErr string
	}{
		{"port taken (stdout)", "echo 'listen tcp 127.0.0.1:1: bind: address already in use'; exit 1", true, ""},
		{"port taken (server log)", "echo 'java.net.BindException: Address already in use' > server.log; exit 1", true, ""},
		{"other failure", "echo 'bad key tickTime on line 3'; exit 2", false, "bad key tickTime on line 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p, err := startProcess("fake", []string{"sh", "-c", tc.script}, nil, dir,
				filepath.Join(dir, "out.log"), filepath.Join(dir, "server.log"))
			require.NoError(t, err)
			err = p.waitReady("127.0.0.1:" + strconv.Itoa(FreePort(t)))
			require.Error(t, err)
			assert.Equal(t, tc.portTaken, errors.Is(err, errPortTaken), "%v", err)
			assert.Contains(t, err.Error(), tc.wantInErr)
			assert.True(t, p.exited())
		})
	}
}

// TestStopKillsTheProcessGroup checks that stopping a server also ends
// the children it started, and that SIGTERM is tried first.
func TestStopKillsTheProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	// The leader ignores SIGTERM, so stop must escalate to SIGKILL.
	p, err := startProcess("fake", []string{"sh", "-c", "trap '' TERM; sleep 300 & echo $! > child.pid; wait"}, nil, dir, filepath.Join(dir, "out.log"))
	require.NoError(t, err)
	var child int
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)

	start := time.Now()
	p.stop(syscall.SIGTERM, 200*time.Millisecond)
	assert.True(t, p.exited())
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "waited for the grace period")
	require.Eventually(t, func() bool {
		return errors.Is(syscall.Kill(child, 0), syscall.ESRCH)
	}, 5*time.Second, 10*time.Millisecond, "child %d survived", child)
	p.stop(syscall.SIGTERM, time.Second) // idempotent, returns at once
}

func TestLogTail(t *testing.T) {
	dir := t.TempDir()
	out, server := filepath.Join(dir, "out.log"), filepath.Join(dir, "server.log")
	require.NoError(t, os.WriteFile(out, []byte("1\n2\n3\n"), 0o644))
	p := &process{logs: []string{out, server}}
	assert.Equal(t, "== "+out+"\n2\n3", p.logTail(2), "a missing log is skipped")
	require.NoError(t, os.WriteFile(server, []byte("x\n"), 0o644))
	assert.Equal(t, "== "+out+"\n3\n== "+server+"\nx", p.logTail(1))
}
