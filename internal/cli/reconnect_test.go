package cli_test

import (
	"bufio"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/cli"
	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

// testReconnect cuts the connection under the interactive shell and under
// `warren cli watch`: both print the connection states, keep the session
// and keep their watches.
func testReconnect(t *testing.T, addr string) {
	p := testutil.StartProxy(t, addr)

	// The shell prints zkCli's Disconnected and SyncConnected events.
	var out syncBuffer
	s := cli.New(cli.Config{Server: p.Addr(), Timeout: 20 * time.Second, Stdout: &out, Stderr: &out})
	require.NoError(t, s.Connect(ctxT(t), ""))
	assert.Equal(t, cli.ExitOK, s.ExecLine(ctxT(t), "create /rc"))
	assert.Equal(t, cli.ExitOK, s.ExecLine(ctxT(t), "get -w /rc"))
	p.Cut()
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
	cmd := exec.CommandContext(ctxT(t), testutil.WarrenBinary(t), "cli", "watch", "--server", p.Addr(), "/rw")
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
	p.Cut()
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
	p := testutil.StartProxy(t, addr)
	// 4 s is the shortest session the default tickTime (2 s) allows.
	cmd := exec.CommandContext(ctxT(t), testutil.WarrenBinary(t), "cli", "watch", "--server", p.Addr(), "--timeout", "4s", "/ex")
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
	p.Refuse()
	p.Cut()
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
	p.Accept()
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
