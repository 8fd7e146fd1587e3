package cli_test

import (
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
	w := startWatch(t, "--server", p.Addr(), "/rw")
	assert.Contains(t, w.next(), "watching /rw")
	p.Cut()
	assert.Equal(t, "session suspended", w.next())
	assert.Equal(t, "session reconnected", w.next())
	c, err := sdk.Connect(ctxT(t), addr)
	require.NoError(t, err)
	defer c.Close()
	_, _, err = c.Create(ctxT(t), "/rw", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	assert.Regexp(t, `^NodeCreated /rw( version=0 length=0)?$`, w.next())
	require.NoError(t, w.cmd.Process.Signal(interruptSignal))
	require.NoError(t, w.cmd.Wait())
}

// testExpiry keeps `warren cli watch` away from the server until its
// session expired there: it prints the expiry and exits 3.
func testExpiry(t *testing.T, addr string) {
	p := testutil.StartProxy(t, addr)
	// 4 s is the shortest session the default tickTime (2 s) allows.
	w := startWatch(t, "--server", p.Addr(), "--timeout", "4s", "/ex")
	m := regexp.MustCompile(`^watching /ex \(session (0x[0-9a-f]+) on `).FindStringSubmatch(w.next())
	require.NotNil(t, m)
	session := m[1]
	p.Refuse()
	p.Cut()
	assert.Equal(t, "session suspended", w.next())
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
	assert.Contains(t, w.rest(), "session expired")
	err := w.cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, cli.ExitConnect, ee.ExitCode())
}
