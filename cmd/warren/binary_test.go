package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The binary tests run the real executable, built once with -ldflags as a
// release build would be, to check exit codes, signals and link-time
// version stamping end to end.

var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "warren-cmd-test")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// warrenBinary builds cmd/warren once per test run.
func warrenBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "warren")
		cmd := exec.Command("go", "build", "-o", binPath,
			"-ldflags", "-X main.version=9.9.9-test -X main.commit=deadbeef", ".")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = errors.New(err.Error() + "\n" + out.String())
		}
	})
	require.NoError(t, buildErr, "go build ./cmd/warren")
	return binPath
}

// runBinary runs the binary to completion and returns its exit code and output.
func runBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(warrenBinary(t), args...)
	cmd.Env = append(os.Environ(), "SERVER_JVMFLAGS=", "JVMFLAGS=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, stdout.String(), stderr.String()
}

func TestBinaryVersionAndExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	code, out, _ := runBinary(t, "version")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Warren version: 9.9.9-test\nGit commit: deadbeef\n", "-ldflags -X stamps the version")

	port := closedPort(t)
	code, out, _ = runBinary(t, "status", "--server", "127.0.0.1:"+strconv.Itoa(port))
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "Error contacting service. It is probably not running.\n")

	code, out, errOut := runBinary(t, "server", "--config", writeConfig(t, "dataDir=/d\nclientPort=abc\n"))
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, `clientPort: "abc" is not a valid port`)
}

// TestBinaryServerSignal starts `warren server` from a zoo.cfg, waits until
// `warren status` reports it standalone, then stops it with SIGTERM and
// expects a clean exit.
func TestBinaryServerSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	port := closedPort(t)
	cfg := writeConfig(t, "tickTime=2000\ndataDir="+filepath.Join(dir, "data")+"\nclientPort="+strconv.Itoa(port)+
		"\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n")
	cmd := exec.Command(warrenBinary(t), "server", "--config", cfg, "--log-format", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	deadline := time.Now().Add(30 * time.Second)
	for {
		mode, err := queryMode(context.Background(), "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			assert.Equal(t, "Mode: standalone", mode)
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("warren server exited early (%v):\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("warren server did not answer srvr within 30s:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, out, _ := runBinary(t, "status", "--config", cfg)
	assert.Equal(t, 0, code)
	assert.Equal(t, "Client port found: "+strconv.Itoa(port)+". Client address: 127.0.0.1. Client SSL: false.\nMode: standalone\n", out)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		assert.NoError(t, err, "SIGTERM shuts the server down cleanly:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("warren server did not exit within 30s of SIGTERM:\n%s", stderr.String())
	}
	assert.Contains(t, stderr.String(), `"msg":"server stopped"`)
}
