package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/config"
)

// result is what one in-process run of the CLI produced.
type result struct {
	code   int
	stdout string
	stderr string
}

// runCLI runs the command line in-process with serve as the server.
func runCLI(ctx context.Context, t *testing.T, env map[string]string, serve ServeFunc, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{
		stdout: &out,
		stderr: &errOut,
		env:    func(k string) string { return env[k] },
		serve:  serve,
	}
	code := a.run(ctx, args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "zoo.cfg")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// recordingServe is a ServeFunc that records what it was given and returns err.
type recordingServe struct {
	mu    sync.Mutex
	calls int
	cfg   *config.Config
	err   error
}

func (r *recordingServe) serve(_ context.Context, cfg *config.Config, log *zap.Logger) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.cfg = cfg
	if log == nil {
		return errors.New("nil logger")
	}
	log.Info("fake server ran")
	return r.err
}

func TestVersion(t *testing.T) {
	oldV, oldC := version, commit
	t.Cleanup(func() { version, commit = oldV, oldC })
	version, commit = "1.2.3", "abc123"

	r := runCLI(context.Background(), t, nil, nil, "version")
	assert.Equal(t, 0, r.code)
	assert.Equal(t, "Warren version: 1.2.3\nGit commit: abc123\nGo version: "+runtime.Version()+
		"\nPlatform: "+runtime.GOOS+"/"+runtime.GOARCH+"\n", r.stdout)
	assert.Empty(t, r.stderr)

	version, commit = "dev", ""
	b := currentBuild()
	assert.Equal(t, "dev", b.Version)
	assert.NotEmpty(t, b.Commit, "falls back to the VCS stamp or \"unknown\"")

	r = runCLI(context.Background(), t, nil, nil, "version", "extra")
	assert.Equal(t, exitConfig, r.code)
	assert.Contains(t, r.stderr, `unknown command "extra"`)
}

func TestUsageErrors(t *testing.T) {
	r := runCLI(context.Background(), t, nil, nil, "bogus")
	assert.Equal(t, exitConfig, r.code)
	assert.Equal(t, "warren: unknown command \"bogus\" for \"warren\"\nRun 'warren --help' for usage.\n", r.stderr)

	r = runCLI(context.Background(), t, nil, nil, "server", "--no-such-flag")
	assert.Equal(t, exitConfig, r.code)
	assert.Contains(t, r.stderr, "unknown flag: --no-such-flag")

	r = runCLI(context.Background(), t, nil, nil, "--help")
	assert.Equal(t, 0, r.code)
	for _, sub := range []string{"server", "status", "version", "completion"} {
		assert.Contains(t, r.stdout, sub)
	}
}

func TestServerDefaults(t *testing.T) {
	var rec recordingServe
	r := runCLI(context.Background(), t, nil, rec.serve, "server")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, 1, rec.calls)
	assert.Equal(t, config.Default(), rec.cfg, "without --config the embedded defaults are used")
	assert.Contains(t, r.stderr, "starting warren")
	assert.Contains(t, r.stderr, `"config": "embedded defaults"`)
	assert.Contains(t, r.stderr, `"clientAddress": "127.0.0.1:2181"`)
	assert.Contains(t, r.stderr, "fake server ran")
	assert.Empty(t, r.stdout)
}

func TestServerConfigAndFlags(t *testing.T) {
	path := writeConfig(t, "tickTime=2000\ndataDir=/var/lib/zk\nclientPort=2185\nclientPrt=1\nwarren.log.level=debug\n")
	env := map[string]string{"SERVER_JVMFLAGS": "-Xmx1g -Djute.maxbuffer=4194304 -Dzookeeper.skipACL=yes"}
	var rec recordingServe
	r := runCLI(context.Background(), t, env, rec.serve, "server", "--config", path, "--log-format", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.NotNil(t, rec.cfg)
	assert.Equal(t, 2185, rec.cfg.ClientPort)
	assert.Equal(t, "/var/lib/zk", rec.cfg.DataDir)
	assert.Equal(t, 4194304, rec.cfg.JuteMaxBuffer, "-D options from SERVER_JVMFLAGS apply")
	assert.True(t, rec.cfg.SkipACL)
	assert.Equal(t, "json", rec.cfg.LogFormat, "the flag overrides the default")
	assert.Equal(t, "debug", rec.cfg.LogLevel, "warren.log.level from zoo.cfg applies without a flag")

	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		records = append(records, m)
	}
	require.NotEmpty(t, records)
	assert.Equal(t, "warn", records[0]["level"])
	assert.Equal(t, "unknown key (ignored)", records[0]["msg"])
	assert.Equal(t, path, records[0]["file"])
	assert.Equal(t, float64(4), records[0]["line"])
	assert.Equal(t, "clientPrt", records[0]["key"])

	r = runCLI(context.Background(), t, nil, rec.serve, "server", "--config", path, "--log-level", "WARN")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "starting warren", "info is below --log-level warn")
	assert.Contains(t, r.stderr, "unknown key (ignored)")
}

func TestServerBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		args   func(t *testing.T) []string
		env    map[string]string
		stderr string
	}{
		{"bad value", func(t *testing.T) []string {
			p := writeConfig(t, "dataDir=/d\nclientPort=abc\ntickTime=0\n")
			return []string{"server", "--config", p}
		}, nil, "Invalid configuration, exiting abnormally:\n{path}:2: clientPort: \"abc\" is not a valid port (1-65535)\n" +
			"{path}:3: tickTime: \"0\" must be at least 1\n"},
		{"missing file", func(t *testing.T) []string {
			return []string{"server", "--config", filepath.Join(t.TempDir(), "none.cfg")}
		}, nil, "Invalid configuration, exiting abnormally:\n{path}: cannot be read: open {path}: no such file or directory\n"},
		{"bad -D without config", func(*testing.T) []string { return []string{"server"} },
			map[string]string{"JVMFLAGS": "-Djute.maxbuffer=big"},
			"Invalid configuration, exiting abnormally:\nJVMFLAGS: jute.maxbuffer: \"big\" is not a valid integer\n"},
		{"bad log level flag", func(*testing.T) []string { return []string{"server", "--log-level", "loud"} }, nil,
			"warren server: logging: level \"loud\": unrecognized level: \"loud\"\n"},
		{"bad log format flag", func(*testing.T) []string { return []string{"server", "--log-format", "xml"} }, nil,
			"warren server: logging: format \"xml\": want console or json\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recordingServe
			args := tt.args(t)
			r := runCLI(context.Background(), t, tt.env, rec.serve, args...)
			assert.Equal(t, exitConfig, r.code)
			want := tt.stderr
			if len(args) > 2 {
				want = strings.ReplaceAll(want, "{path}", args[2])
			}
			assert.Equal(t, want, r.stderr)
			assert.Empty(t, r.stdout)
			assert.Equal(t, 0, rec.calls, "the server does not start on a bad configuration")
		})
	}
}

func TestServerFailureAndCancel(t *testing.T) {
	rec := recordingServe{err: errors.New("bind: address already in use")}
	r := runCLI(context.Background(), t, nil, rec.serve, "server")
	assert.Equal(t, exitFail, r.code)
	assert.Contains(t, r.stderr, "server stopped")
	assert.Contains(t, r.stderr, "bind: address already in use")

	// The server runs until its context is cancelled, then returns cleanly.
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	blocking := func(ctx context.Context, _ *config.Config, _ *zap.Logger) error {
		close(started)
		<-ctx.Done()
		return nil
	}
	done := make(chan result, 1)
	go func() { done <- runCLI(ctx, t, nil, blocking, "server") }()
	<-started
	cancel()
	select {
	case r := <-done:
		assert.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stderr, "server stopped")
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after its context was cancelled")
	}
}

// fakeZooKeeper answers every connection that sends srvr with reply.
func fakeZooKeeper(t *testing.T, reply string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 4)
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Read(buf); err != nil || string(buf) != "srvr" {
					return
				}
				_, _ = c.Write([]byte(reply))
			}(c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

const srvrLeader = "Zookeeper version: 3.8.0-abc, built on 2024-01-01 00:00 UTC\nLatency min/avg/max: 0/0.0/0\n" +
	"Received: 1\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x100000002\nMode:   leader\nNode count: 5\n"

func TestStatus(t *testing.T) {
	port := fakeZooKeeper(t, srvrLeader)
	silent := fakeZooKeeper(t, "srvr is not executed because it is not in the whitelist.\n")
	closed := closedPort(t)

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"server flag", []string{"status", "--server", "127.0.0.1:" + strconv.Itoa(port)}, 0,
			"Client port found: " + strconv.Itoa(port) + ". Client address: 127.0.0.1. Client SSL: false.\nMode: leader\n", ""},
		{"not running", []string{"status", "--server", "127.0.0.1:" + strconv.Itoa(closed)}, exitFail,
			"Client port found: " + strconv.Itoa(closed) + ". Client address: 127.0.0.1. Client SSL: false.\n" +
				"Error contacting service. It is probably not running.\n", ""},
		{"no Mode line", []string{"status", "--server", "127.0.0.1:" + strconv.Itoa(silent)}, exitFail,
			"Client port found: " + strconv.Itoa(silent) + ". Client address: 127.0.0.1. Client SSL: false.\n" +
				"Error contacting service. It is probably not running.\n", ""},
		{"bad server flag", []string{"status", "--server", "127.0.0.1:x"}, exitConfig, "",
			"warren status: --server: \"127.0.0.1:x\": \"x\" is not a valid port\n"},
		{"exclusive flags", []string{"status", "--server", "a:1", "--config", "b"}, exitConfig, "",
			"warren: if any flags in the group [config server] are set none of the others can be; [config server] were all set\nRun 'warren --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(context.Background(), t, nil, nil, tt.args...)
			assert.Equal(t, tt.code, r.code)
			assert.Equal(t, tt.stdout, r.stdout)
			assert.Equal(t, tt.stderr, r.stderr)
		})
	}
}

func TestStatusFromConfig(t *testing.T) {
	port := fakeZooKeeper(t, srvrLeader)
	p := writeConfig(t, "dataDir=/d\nclientPort="+strconv.Itoa(port)+"\nclientPortAddress=127.0.0.1\n")
	r := runCLI(context.Background(), t, nil, nil, "status", "--config", p)
	assert.Equal(t, 0, r.code)
	assert.Equal(t, "Client port found: "+strconv.Itoa(port)+". Client address: 127.0.0.1. Client SSL: false.\nMode: leader\n", r.stdout)
	assert.Equal(t, "Using config: "+p+"\n", r.stderr)

	// Without clientPortAddress zkServer.sh asks "localhost".
	p = writeConfig(t, "dataDir=/d\nclientPort="+strconv.Itoa(closedPort(t))+"\n")
	r = runCLI(context.Background(), t, nil, nil, "status", "--config", p)
	assert.Equal(t, exitFail, r.code)
	assert.Contains(t, r.stdout, "Client address: localhost. Client SSL: false.\n")

	p = writeConfig(t, "clientPort=x\n")
	r = runCLI(context.Background(), t, nil, nil, "status", "--config", p)
	assert.Equal(t, exitConfig, r.code)
	assert.Contains(t, r.stderr, `clientPort: "x" is not a valid port`)
}

func TestSplitServer(t *testing.T) {
	tests := []struct {
		in   string
		host string
		port int
		err  bool
	}{
		{"127.0.0.1:2181", "127.0.0.1", 2181, false},
		{"zk1.example.com:2182", "zk1.example.com", 2182, false},
		{"[::1]:2181", "::1", 2181, false},
		{"zk1", "zk1", 2181, false},
		{"[::1]", "::1", 2181, false},
		{":2181", "localhost", 2181, false},
		{"h:0", "", 0, true},
		{"h:70000", "", 0, true},
		{"h:1:2", "", 0, true},
	}
	for _, tt := range tests {
		host, port, err := splitServer(tt.in)
		if tt.err {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.host, host, tt.in)
		assert.Equal(t, tt.port, port, tt.in)
	}
}

// TestStatusAgainstZooKeeper runs `warren status` against a real Apache
// ZooKeeper 3.8 started from a zoo.cfg that Warren also reads, and compares
// the output with zkServer.sh status on the same file.
func TestStatusAgainstZooKeeper(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM")
	}
	cfgPath := startZooKeeper(t)
	r := runCLI(context.Background(), t, nil, nil, "status", "--config", cfgPath)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "\nMode: standalone\n")

	script := "/usr/share/zookeeper/bin/zkServer.sh"
	if _, err := os.Stat(script); err != nil {
		t.Skip("zkServer.sh not installed")
	}
	cmd := exec.Command(script, "status", cfgPath)
	cmd.Env = append(os.Environ(), "ZOOCFGDIR="+filepath.Dir(cfgPath))
	var out bytes.Buffer
	cmd.Stdout = &out
	require.NoError(t, cmd.Run())
	assert.Equal(t, out.String(), r.stdout, "warren status prints what zkServer.sh status prints")
}

// startZooKeeper starts Apache ZooKeeper (Debian's 3.8 package) on a free
// loopback port and returns its zoo.cfg; it is killed when the test ends.
func startZooKeeper(t *testing.T) string {
	t.Helper()
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("java not installed")
	}
	if _, err := os.Stat("/usr/share/java/zookeeper.jar"); err != nil {
		t.Skip("Apache ZooKeeper not installed")
	}
	dir := t.TempDir()
	port := closedPort(t)
	cfgPath := filepath.Join(dir, "zoo.cfg")
	require.NoError(t, os.WriteFile(cfgPath, []byte("tickTime=2000\ndataDir="+filepath.Join(dir, "data")+
		"\nclientPort="+strconv.Itoa(port)+"\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n"+
		"4lw.commands.whitelist=srvr\n"), 0o600))
	logFile, err := os.Create(filepath.Join(dir, "zookeeper.out"))
	require.NoError(t, err)
	defer logFile.Close()
	cmd := exec.Command(java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-cp", "/etc/zookeeper/conf:/usr/share/java/*", "-Dzookeeper.log.dir="+dir,
		"org.apache.zookeeper.server.ZooKeeperServerMain", cfgPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := queryMode(context.Background(), "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
			return cfgPath
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logFile.Name())
			t.Fatalf("ZooKeeper did not answer srvr within 60s:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
