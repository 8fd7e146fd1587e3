package cli_test

import (
	"bufio"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/cli"
	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

// proxy forwards TCP connections to a server; cut drops the current ones
// (the client then reconnects through the proxy and resumes its session).
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	refuse bool // close new connections at once
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln}
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			refuse := p.refuse
			p.mu.Unlock()
			if refuse {
				_ = c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
			go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// setRefuse makes the proxy refuse (or accept again) new connections.
func (p *proxy) setRefuse(refuse bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = refuse
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// testReconnect cuts the connection under the interactive shell and under
// `warren cli watch`: both print the connection states, keep the session
// and keep their watches.
func testReconnect(t *testing.T, addr string) {
	p := startProxy(t, addr)

	// The shell prints zkCli's Disconnected and SyncConnected events.
	var out syncBuffer
	s := cli.New(cli.Config{Server: p.addr(), Timeout: 20 * time.Second, Stdout: &out, Stderr: &out})
	require.NoError(t, s.Connect(ctxT(t), ""))
	assert.Equal(t, cli.ExitOK, s.ExecLine(ctxT(t), "create /rc"))
	assert.Equal(t, cli.ExitOK, s.ExecLine(ctxT(t), "get -w /rc"))
	p.cut()
	// A command waits for the reconnection (or fails with connection loss).
	for s.ExecLine(ctxT(t), "sync /") != cli.ExitOK {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, cli.ExitOK, s.ExecLine(ctxT(t), "set /rc x"))
	assert.Equal(t, cli.ExitOK, s.ExecLine(ctxT(t), "delete /rc"))
	s.Close()
	text := out.String()
	assert.Contains(t, text, "WatchedEvent state:Disconnected type:None path:null\n")
	assert.Contains(t, text, "WatchedEvent state:SyncConnected type:NodeDataChanged path:/rc\n", "the watch survived")
	assert.Contains(t, text, "WatchedEvent state:Closed type:None path:null\n")
	assert.Equal(t, 2, strings.Count(text, "WatchedEvent state:SyncConnected type:None path:null\n"), "connected, then reconnected:\n%s", text)

	// Watch mode prints the state changes and keeps streaming.
	cmd := exec.CommandContext(ctxT(t), testutil.WarrenBinary(t), "cli", "watch", "--server", p.addr(), "/rw")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	next := func() string {
		t.Helper()
		require.True(t, lines.Scan(), "watch ended")
		_, rest, _ := strings.Cut(lines.Text(), " ")
		return rest
	}
	assert.Contains(t, next(), "watching /rw")
	p.cut()
	assert.Equal(t, "session suspended", next())
	assert.Equal(t, "session reconnected", next())
	c, err := sdk.Connect(ctxT(t), addr)
	require.NoError(t, err)
	defer c.Close()
	_, _, err = c.Create(ctxT(t), "/rw", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	assert.Regexp(t, `^NodeCreated /rw( version=0 length=0)?$`, next())
	require.NoError(t, cmd.Process.Signal(interruptSignal))
	require.NoError(t, cmd.Wait())
}

// testExpiry keeps `warren cli watch` away from the server until its
// session expired there: it prints the expiry and exits 3.
func testExpiry(t *testing.T, addr string) {
	p := startProxy(t, addr)
	// 4 s is the shortest session the default tickTime (2 s) allows.
	cmd := exec.CommandContext(ctxT(t), testutil.WarrenBinary(t), "cli", "watch", "--server", p.addr(), "--timeout", "4s", "/ex")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	next := func() string {
		t.Helper()
		require.True(t, lines.Scan(), "watch ended")
		_, rest, _ := strings.Cut(lines.Text(), " ")
		return rest
	}
	m := regexp.MustCompile(`^watching /ex \(session (0x[0-9a-f]+) on `).FindStringSubmatch(next())
	require.NotNil(t, m)
	session := m[1]
	p.setRefuse(true)
	p.cut()
	assert.Equal(t, "session suspended", next())
	// Wait until the server's session tracker forgot the session.
	for {
		dump, err := testutil.FourLetter(addr, "dump")
		require.NoError(t, err)
		if !strings.Contains(dump, "\t"+session+"\n") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.setRefuse(false)
	var rest []string
	for lines.Scan() {
		_, l, _ := strings.Cut(lines.Text(), " ")
		rest = append(rest, l)
	}
	assert.Contains(t, rest, "session expired")
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, cli.ExitConnect, ee.ExitCode())
}
