package serve

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
	"github.com/warrenhq/warren/internal/vfs"
)

func (ts *testServer) stop(t *testing.T) {
	t.Helper()
	ts.cancel()
	select {
	case err := <-ts.done:
		require.NoError(t, err)
		ts.done <- err // for the cleanup registered by startServer
	case <-time.After(10 * time.Second):
		t.Fatal("server did not shut down")
	}
}

func TestDataAndSessionsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	inDir := func(c *config.Config) { c.DataDir, c.DataLogDir = dir, dir }
	ts := startServer(t, inDir)
	c, _ := dial(t, ts.addr, 5*time.Second)
	acl := zk.WorldACL(zk.PermAll)
	_, err := c.Create("/kept", []byte("v1"), 0, acl)
	require.NoError(t, err)
	_, err = c.Set("/kept", []byte("v2"), 0)
	require.NoError(t, err)
	seq, err := c.Create("/kept/s-", nil, zk.FlagSequence, acl)
	require.NoError(t, err)

	// A raw session with an ephemeral, so its id and password are known.
	nc, cr := handshake(t, ts.addr)
	h, _, _ := rawCall(t, nc, 1, proto.OpCreate, &proto.CreateRequest{Path: "/eph", ACL: proto.OpenACLUnsafe, Flags: proto.ModeEphemeral})
	require.Equal(t, proto.OK, h.Err)
	lastZxid := h.Zxid
	nc.Close()
	c.Close()
	ts.stop(t)

	ts2 := startServer(t, inDir)
	c2, _ := dial(t, ts2.addr, 5*time.Second)
	data, st, err := c2.Get("/kept")
	require.NoError(t, err)
	assert.Equal(t, []byte("v2"), data)
	assert.Equal(t, int32(1), st.Version)
	kids, _, err := c2.Children("/kept")
	require.NoError(t, err)
	assert.Equal(t, []string{strings.TrimPrefix(seq, "/kept/")}, kids)
	next, err := c2.Create("/kept/s-", nil, zk.FlagSequence, acl)
	require.NoError(t, err)
	assert.Equal(t, "/kept/s-0000000001", next, "sequence counters continue")

	// The session resumes on the restarted server with its password.
	nc2, err := net.Dial("tcp", ts2.addr)
	require.NoError(t, err)
	defer nc2.Close()
	_, err = nc2.Write(zkwire.AppendConnectRequest(nil, &proto.ConnectRequest{LastZxidSeen: lastZxid, TimeOut: 300, SessionID: cr.SessionID, Passwd: cr.Passwd}))
	require.NoError(t, err)
	resumed, err := zkwire.ParseConnectResponse(readFrame(t, nc2))
	require.NoError(t, err)
	assert.Equal(t, cr.SessionID, resumed.SessionID, "sessions survive a restart")
	ok, est, err := c2.Exists("/eph")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, cr.SessionID, est.EphemeralOwner)

	// Once its client goes away for good, the recovered session expires
	// and takes its ephemeral with it.
	nc2.Close()
	require.Eventually(t, func() bool {
		ok, _, err := c2.Exists("/eph")
		return err == nil && !ok
	}, 15*time.Second, 50*time.Millisecond)
}

func TestCorruptLogStopsStartup(t *testing.T) {
	dir := t.TempDir()
	inDir := func(c *config.Config) { c.DataDir, c.DataLogDir = dir, dir }
	ts := startServer(t, inDir)
	c, _ := dial(t, ts.addr, 5*time.Second)
	for i := 0; i < 50; i++ {
		_, err := c.Create("/n"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26)), []byte("data"), 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
	}
	c.Close()
	ts.stop(t)

	segs, err := filepath.Glob(filepath.Join(dir, txnlogDirName, "log.*"))
	require.NoError(t, err)
	require.NotEmpty(t, segs)
	// Flip a bit well inside the acknowledged records.
	require.NoError(t, vfs.FlipBit(vfs.OS, segs[0], 400, 3))

	cfg := config.Default()
	inDir(cfg)
	cfg.ClientPort, cfg.Admin.EnableServer = 0, false
	srv, err := New(cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	err = srv.Listen()
	require.Error(t, err, "corruption is never skipped")
	assert.Contains(t, err.Error(), filepath.Base(segs[0]), "the error names the file")
	assert.NotContains(t, err.Error(), "torn")
	_, statErr := os.Stat(segs[0])
	assert.NoError(t, statErr, "the damaged file is left for inspection")
}
