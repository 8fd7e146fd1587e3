package serve

import (
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
	"github.com/warrenhq/warren/internal/vfs"
)

// startOnFS runs a server on dir whose storage goes through fsys (nil: the
// real file system), with 1 KiB preallocation so that a full disk is hit
// at once.
func startOnFS(t *testing.T, dir string, fsys vfs.FS, log *zap.Logger) *testServer {
	t.Helper()
	return startServerWithLogger(t, log, func(c *config.Config) {
		c.DataDir, c.DataLogDir = dir, dir
		c.Admin.EnableServer = false
		c.PreAllocSize = 1 // KiB
	}, withFS(fsys))
}

func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	ffs := vfs.NewFaultFS(vfs.OS)
	core, logs := observer.New(zapcore.InfoLevel)
	ts := startOnFS(t, dir, ffs, zap.New(core))
	acl := zk.WorldACL(zk.PermAll)

	c1, _ := dial(t, ts.addr, 5*time.Second)
	c2, ev2 := dial(t, ts.addr, time.Second) // pings keep it alive through the episode
	sid2 := c2.SessionID()
	raw, _ := handshake(t, ts.addr)

	// Acknowledged before the disk fills.
	acked := map[string]string{"/a": "a", "/b": "b1", "/e": ""}
	_, err := c1.Create("/a", []byte("a"), 0, acl)
	require.NoError(t, err)
	_, err = c1.Create("/b", []byte("b1"), 0, acl)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		p, err := c1.Create("/a/s-", []byte("s"), zk.FlagSequence, acl)
		require.NoError(t, err)
		acked[p] = "s"
	}
	_, err = c2.Create("/e", nil, zk.FlagEphemeral, acl)
	require.NoError(t, err)

	// The disk fills. Space a failed batch gives back (the log cuts its
	// file to the last acknowledged record) is taken away again before
	// each attempt.
	ffs.SetFree(0)
	_, err = c1.Create("/big", make([]byte, 4096), 0, acl)
	require.Error(t, err, "a write that cannot be made durable is never acknowledged")
	assert.Contains(t, err.Error(), "-1", "ZSYSTEMERROR")

	failing := []struct {
		name string
		run  func() error
	}{
		{"create", func() error { _, err := c1.Create("/lost", nil, 0, acl); return err }},
		{"sequential create", func() error { _, err := c1.Create("/a/s-", []byte("s"), zk.FlagSequence, acl); return err }},
		{"set", func() error { _, err := c1.Set("/b", []byte("b2"), 0); return err }},
		{"delete", func() error { return c1.Delete("/b", -1) }},
		{"multi", func() error {
			_, err := c2.Multi(&zk.CreateRequest{Path: "/m", Acl: acl}, &zk.SetDataRequest{Path: "/b", Data: []byte("m"), Version: -1})
			return err
		}},
		{"second sequential create", func() error { _, err := c2.Create("/a/s-", []byte("s"), zk.FlagSequence, acl); return err }},
	}
	for _, f := range failing {
		ffs.SetFree(0)
		err := f.run()
		require.Error(t, err, f.name)
		assert.Contains(t, err.Error(), "-1", f.name)
	}
	ffs.SetFree(0)
	h, _, _ := rawCall(t, raw, 1, proto.OpCreate, &proto.CreateRequest{Path: "/raw", ACL: proto.OpenACLUnsafe})
	assert.Equal(t, proto.ErrSystemError, h.Err, "the exact code on the wire")

	// A new session cannot be created: the connection is closed without a
	// handshake reply, so that the client retries.
	nc, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write(zkwire.AppendConnectRequest(nil, &proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)}))
	require.NoError(t, err)
	expectClosed(t, nc)

	// Reads go on, on both sessions, for longer than c2's timeout.
	readAll := func(t *testing.T, c *zk.Conn) {
		t.Helper()
		for path, want := range acked {
			data, _, err := c.Get(path)
			require.NoError(t, err, path)
			assert.Equal(t, want, string(data), path)
		}
		kids, _, err := c.Children("/a")
		require.NoError(t, err)
		assert.Len(t, kids, 3)
		ok, _, err := c.Exists("/lost")
		require.NoError(t, err)
		assert.False(t, ok)
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		readAll(t, c1)
		readAll(t, c2)
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, zk.StateHasSession, c2.State(), "the other session stays alive")
	assert.Equal(t, sid2, c2.SessionID())
	for len(ev2) > 0 {
		e := <-ev2
		assert.NotEqual(t, zk.StateExpired, e.State)
	}

	// Space returns: writes succeed again, with no gap in sequence numbers.
	ffs.SetFree(-1)
	p, err := c1.Create("/a/s-", []byte("s"), zk.FlagSequence, acl)
	require.NoError(t, err)
	assert.Equal(t, "/a/s-0000000003", p, "failed creates consumed no sequence number")
	acked[p] = "s"
	st, err := c1.Set("/b", []byte("b2"), 0)
	require.NoError(t, err, "the failed set did not bump the version")
	assert.Equal(t, int32(1), st.Version)
	acked["/b"] = "b2"
	_, err = c2.Create("/big", make([]byte, 4096), 0, acl)
	require.NoError(t, err)
	acked["/big"] = string(make([]byte, 4096))
	h, _, _ = rawCall(t, raw, 2, proto.OpCreate, &proto.CreateRequest{Path: "/raw", ACL: proto.OpenACLUnsafe})
	assert.Equal(t, proto.OK, h.Err)
	acked["/raw"] = ""
	c3, _ := dial(t, ts.addr, 5*time.Second)
	ok, _, err := c3.Exists("/e")
	require.NoError(t, err)
	assert.True(t, ok, "the ephemeral of the session that stayed alive")

	full := logs.FilterMessageSnippet("disk full").FilterLevelExact(zapcore.ErrorLevel).All()
	require.Len(t, full, 1, "logged once per episode")
	assert.Contains(t, full[0].ContextMap()["file"], dir, "the message names the file")
	assert.Len(t, logs.FilterMessage("disk space available again, writes resumed").All(), 1)

	// Everything acknowledged survives a restart, nothing that failed does.
	c1.Close()
	c2.Close()
	c3.Close()
	raw.Close()
	ts.stop(t)
	ts2 := startOnFS(t, dir, nil, zap.NewNop())
	c4, _ := dial(t, ts2.addr, 5*time.Second)
	delete(acked, "/e") // its session closed with c2
	for path, want := range acked {
		data, _, err := c4.Get(path)
		require.NoError(t, err, path)
		assert.Equal(t, want, string(data), path)
	}
	kids, _, err := c4.Children("/a")
	require.NoError(t, err)
	sort.Strings(kids)
	assert.Equal(t, []string{"s-0000000000", "s-0000000001", "s-0000000002", "s-0000000003"}, kids)
	for _, path := range []string{"/lost", "/m", "/e"} {
		ok, _, err := c4.Exists(path)
		require.NoError(t, err)
		assert.False(t, ok, path)
	}
	_, st, err = c4.Get("/b")
	require.NoError(t, err)
	assert.Equal(t, int32(1), st.Version)
	root, _, err := c4.Children("/")
	require.NoError(t, err)
	sort.Strings(root)
	assert.Equal(t, "a,b,big,raw,zookeeper", strings.Join(root, ","))
}
