package serve

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/internal/vfs"
)

// testServer runs an in-process server on free loopback ports.
type testServer struct {
	srv    *Server
	addr   string
	admin  string
	cancel context.CancelFunc
	done   chan error
}

func startServer(t *testing.T, mutate func(c *config.Config)) *testServer {
	t.Helper()
	return startServerWithLogger(t, zaptest.NewLogger(t), mutate)
}

// withFS runs the server's storage on fsys.
func withFS(fsys vfs.FS) func(*Server) { return func(s *Server) { s.fs = fsys } }

func startServerWithLogger(t *testing.T, log *zap.Logger, mutate func(c *config.Config), opts ...func(*Server)) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DataLogDir = cfg.DataDir
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.ClientPort = 0
	cfg.TickTime = 100
	cfg.MinSessionTimeout = 200
	cfg.MaxSessionTimeout = 20000
	cfg.Admin.ServerAddress = "127.0.0.1"
	cfg.Admin.ServerPort = 0
	cfg.FourLetterWhitelist = []string{"*"}
	if mutate != nil {
		mutate(cfg)
	}
	srv, err := New(cfg, log)
	require.NoError(t, err)
	for _, o := range opts {
		o(srv)
	}
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{srv: srv, addr: srv.ClientAddr().String(), cancel: cancel, done: make(chan error, 1)}
	if a := srv.AdminAddr(); a != nil {
		ts.admin = a.String()
	}
	go func() { ts.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ts.done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("server did not shut down")
		}
	})
	return ts
}

func dial(t *testing.T, addr string, timeout time.Duration) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, ev, err := zk.Connect([]string{addr}, timeout, zk.WithLogger(nopLogger{}))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	waitState(t, ev, zk.StateHasSession)
	return c, ev
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func waitState(t *testing.T, ev <-chan zk.Event, want zk.State) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.Type == zk.EventSession && e.State == want {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for state %v", want)
		}
	}
}

func fourLetter(t *testing.T, addr, word string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte(word))
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	return string(b)
}

func TestEveryBasicOp(t *testing.T) {
	ts := startServer(t, nil)
	c, _ := dial(t, ts.addr, 5*time.Second)
	acl := zk.WorldACL(zk.PermAll)

	p, err := c.Create("/a", []byte("one"), 0, acl)
	require.NoError(t, err)
	assert.Equal(t, "/a", p)
	_, err = c.Create("/a", nil, 0, acl)
	assert.ErrorIs(t, err, zk.ErrNodeExists)
	_, err = c.Create("/missing/child", nil, 0, acl)
	assert.ErrorIs(t, err, zk.ErrNoNode)

	data, st, err := c.Get("/a")
	require.NoError(t, err)
	assert.Equal(t, []byte("one"), data)
	assert.Equal(t, int32(0), st.Version)
	assert.Equal(t, int32(3), st.DataLength)
	assert.Equal(t, st.Czxid, st.Mzxid)
	assert.Equal(t, st.Czxid, st.Pzxid)

	st2, err := c.Set("/a", []byte("two"), 0)
	require.NoError(t, err)
	assert.Equal(t, int32(1), st2.Version)
	assert.Greater(t, st2.Mzxid, st.Mzxid)
	_, err = c.Set("/a", []byte("three"), 0)
	assert.ErrorIs(t, err, zk.ErrBadVersion)

	ok, est, err := c.Exists("/a")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, st2.Mzxid, est.Mzxid)
	ok, _, err = c.Exists("/nope")
	require.NoError(t, err)
	assert.False(t, ok)

	for i := 0; i < 3; i++ {
		_, err = c.Create(fmt.Sprintf("/a/c%d", i), nil, 0, acl)
		require.NoError(t, err)
	}
	seq, err := c.Create("/a/s-", nil, zk.FlagSequence, acl)
	require.NoError(t, err)
	assert.Equal(t, "/a/s-0000000003", seq)
	kids, pst, err := c.Children("/a")
	require.NoError(t, err)
	sort.Strings(kids)
	assert.Equal(t, []string{"c0", "c1", "c2", "s-0000000003"}, kids)
	assert.Equal(t, int32(4), pst.NumChildren)
	assert.Equal(t, int32(4), pst.Cversion)

	require.NoError(t, c.Delete("/a/c0", -1))
	_, pst, err = c.Children("/a")
	require.NoError(t, err)
	assert.Equal(t, int32(5), pst.Cversion, "ZooKeeper shows cversion = 2*creates - children")
	assert.ErrorIs(t, c.Delete("/a", -1), zk.ErrNotEmpty)
	assert.ErrorIs(t, c.Delete("/a/c1", 7), zk.ErrBadVersion)

	acls, ast, err := c.GetACL("/a")
	require.NoError(t, err)
	assert.Equal(t, acl, acls)
	_, err = c.SetACL("/a", zk.WorldACL(zk.PermRead|zk.PermWrite|zk.PermCreate|zk.PermDelete|zk.PermAdmin), ast.Aversion)
	require.NoError(t, err)

	_, err = c.Sync("/a")
	require.NoError(t, err)

	_, err = c.Create("bad", nil, 0, acl)
	assert.Error(t, err, "client-side path validation")

	zkKids, _, err := c.Children("/zookeeper")
	require.NoError(t, err)
	sort.Strings(zkKids)
	assert.Equal(t, []string{"config", "quota"}, zkKids)
}

func TestMultiWithFailingOp(t *testing.T) {
	ts := startServer(t, nil)
	c, _ := dial(t, ts.addr, 5*time.Second)
	acl := zk.WorldACL(zk.PermAll)
	_, err := c.Create("/m", []byte("x"), 0, acl)
	require.NoError(t, err)

	res, err := c.Multi(
		&zk.CreateRequest{Path: "/m/a", Data: []byte("a"), Acl: acl},
		&zk.SetDataRequest{Path: "/m", Data: []byte("y"), Version: 0},
		&zk.CheckVersionRequest{Path: "/m", Version: 1},
	)
	require.NoError(t, err)
	require.Len(t, res, 3)
	assert.Equal(t, "/m/a", res[0].String)
	assert.Equal(t, int32(1), res[1].Stat.Version)

	res, err = c.Multi(
		&zk.CreateRequest{Path: "/m/b", Acl: acl},
		&zk.DeleteRequest{Path: "/m/nope", Version: -1},
		&zk.SetDataRequest{Path: "/m", Data: []byte("z"), Version: -1},
	)
	assert.ErrorIs(t, err, zk.ErrNoNode)
	require.Len(t, res, 3)
	assert.NoError(t, res[0].Error)
	assert.ErrorIs(t, res[1].Error, zk.ErrNoNode)
	require.Error(t, res[2].Error)
	assert.Contains(t, res[2].Error.Error(), "-2", "later ops report ZRUNTIMEINCONSISTENCY")
	ok, _, err := c.Exists("/m/b")
	require.NoError(t, err)
	assert.False(t, ok, "a failed multi applies nothing")
}

func TestContainersAndTTL(t *testing.T) {
	ts := startServer(t, func(c *config.Config) {
		c.ExtendedTypesEnabled = true
		c.ContainerCheckIntervalMs = 50
	})
	c, _ := dial(t, ts.addr, 5*time.Second)
	acl := zk.WorldACL(zk.PermAll)
	_, err := c.CreateContainer("/box", nil, 4, acl)
	require.NoError(t, err)
	_, st, err := c.Get("/box")
	require.NoError(t, err)
	assert.Equal(t, int64(0), st.EphemeralOwner, "ZooKeeper hides the container marker from clients")
	_, err = c.Create("/box/item", nil, 0, acl)
	require.NoError(t, err)
	require.NoError(t, c.Delete("/box/item", -1))
	require.Eventually(t, func() bool {
		ok, _, err := c.Exists("/box")
		return err == nil && !ok
	}, 5*time.Second, 20*time.Millisecond, "an emptied container is reaped")

	_, err = c.CreateTTL("/ttl", []byte("x"), zk.FlagTTL, acl, 100*time.Millisecond)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ok, _, err := c.Exists("/ttl")
		return err == nil && !ok
	}, 5*time.Second, 20*time.Millisecond, "an expired TTL node is reaped")
}

func TestTTLNeedsExtendedTypes(t *testing.T) {
	ts := startServer(t, nil)
	c, _ := dial(t, ts.addr, 5*time.Second)
	_, err := c.CreateTTL("/ttl", nil, zk.FlagTTL, zk.WorldACL(zk.PermAll), time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-6", "go-zookeeper has no name for ZUNIMPLEMENTED")
}

func TestSessionExpiryRemovesEphemerals(t *testing.T) {
	ts := startServer(t, nil)
	watcher, _ := dial(t, ts.addr, 5*time.Second)
	// A raw client that creates an ephemeral and then goes silent.
	owner, _ := dial(t, ts.addr, 400*time.Millisecond)
	_, err := owner.Create("/eph", []byte("x"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	ok, st, ch, err := watcher.ExistsW("/eph")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, owner.SessionID(), st.EphemeralOwner)

	// Freeze the owner: closing its socket without closing its session.
	killClientSockets(t, ts, owner.SessionID())
	owner.Close()
	select {
	case ev := <-ch:
		assert.Equal(t, zk.EventNodeDeleted, ev.Type)
		assert.Equal(t, "/eph", ev.Path)
	case <-time.After(10 * time.Second):
		t.Fatal("ephemeral was not deleted on session expiry")
	}
}

// killClientSockets closes the server side of every connection of a session
// without closing the session.
func killClientSockets(t *testing.T, ts *testServer, sid int64) {
	ts.srv.mu.Lock()
	defer ts.srv.mu.Unlock()
	for _, c := range ts.srv.clients {
		if c.session.Load() == sid {
			c.nc.Close()
		}
	}
}

func TestWatchesFireAndReRegisterAfterDroppedConnection(t *testing.T) {
	ts := startServer(t, nil)
	c, events := dial(t, ts.addr, 5*time.Second)
	w, _ := dial(t, ts.addr, 5*time.Second)
	acl := zk.WorldACL(zk.PermAll)
	_, err := c.Create("/w", []byte("0"), 0, acl)
	require.NoError(t, err)

	_, _, dataCh, err := c.GetW("/w")
	require.NoError(t, err)
	_, _, childCh, err := c.ChildrenW("/w")
	require.NoError(t, err)
	_, _, existCh, err := c.ExistsW("/w/new")
	require.NoError(t, err)

	// Drop the watcher's connection; go-zookeeper reconnects and re-sends
	// its watches with setWatches.
	killClientSockets(t, ts, c.SessionID())
	waitState(t, events, zk.StateHasSession)

	_, err = w.Set("/w", []byte("1"), -1)
	require.NoError(t, err)
	_, err = w.Create("/w/new", nil, 0, acl)
	require.NoError(t, err)

	expect := func(ch <-chan zk.Event, typ zk.EventType, path string) {
		t.Helper()
		select {
		case ev := <-ch:
			assert.Equal(t, typ, ev.Type)
			assert.Equal(t, path, ev.Path)
		case <-time.After(5 * time.Second):
			t.Fatalf("no %v event for %s", typ, path)
		}
	}
	expect(dataCh, zk.EventNodeDataChanged, "/w")
	expect(existCh, zk.EventNodeCreated, "/w/new")
	expect(childCh, zk.EventNodeChildrenChanged, "/w")
}

func TestSetWatchesCatchUpEvents(t *testing.T) {
	ts := startServer(t, nil)
	c, events := dial(t, ts.addr, 5*time.Second)
	w, _ := dial(t, ts.addr, 5*time.Second)
	_, err := c.Create("/cu", []byte("0"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, _, dataCh, err := c.GetW("/cu")
	require.NoError(t, err)
	// Change the node while the watcher is disconnected: the reconnect's
	// setWatches must deliver the missed change.
	ts.srv.mu.Lock()
	var victims []*client
	for _, cl := range ts.srv.clients {
		if cl.session.Load() == c.SessionID() {
			victims = append(victims, cl)
		}
	}
	ts.srv.mu.Unlock()
	for _, v := range victims {
		v.nc.Close()
	}
	_, err = w.Set("/cu", []byte("1"), -1)
	require.NoError(t, err)
	waitState(t, events, zk.StateHasSession)
	select {
	case ev := <-dataCh:
		assert.Equal(t, zk.EventNodeDataChanged, ev.Type)
	case <-time.After(5 * time.Second):
		t.Fatal("no catch-up event after reconnect")
	}
}

func TestDigestAuthAndACL(t *testing.T) {
	ts := startServer(t, nil)
	owner, _ := dial(t, ts.addr, 5*time.Second)
	other, _ := dial(t, ts.addr, 5*time.Second)
	require.NoError(t, owner.AddAuth("digest", []byte("alice:secret")))
	_, err := owner.Create("/private", []byte("s"), 0, zk.DigestACL(zk.PermAll, "alice", "secret"))
	require.NoError(t, err)
	_, _, err = other.Get("/private")
	assert.ErrorIs(t, err, zk.ErrNoAuth)
	data, _, err := owner.Get("/private")
	require.NoError(t, err)
	assert.Equal(t, []byte("s"), data)
	acl, _, err := other.GetACL("/private")
	assert.ErrorIs(t, err, zk.ErrNoAuth)
	assert.Nil(t, acl)
	_, err = owner.Create("/creator", nil, 0, zk.AuthACL(zk.PermAll))
	require.NoError(t, err)
	acl, _, err = owner.GetACL("/creator")
	require.NoError(t, err)
	require.Len(t, acl, 1)
	assert.Equal(t, "digest", acl[0].Scheme)
	assert.True(t, strings.HasPrefix(acl[0].ID, "alice:"))
	_, err = other.Create("/creator2", nil, 0, zk.AuthACL(zk.PermAll))
	assert.ErrorIs(t, err, zk.ErrInvalidACL)
}

func TestFourLetterWords(t *testing.T) {
	ts := startServer(t, nil)
	dial(t, ts.addr, 5*time.Second)
	assert.Equal(t, "imok", fourLetter(t, ts.addr, "ruok"))
	srvr := fourLetter(t, ts.addr, "srvr")
	assert.Contains(t, srvr, "Mode: standalone\n")
	assert.Regexp(t, `^Zookeeper version: 3\.8\.0-`, srvr)
	assert.Contains(t, srvr, "Node count: 5\n", "ZooKeeper counts the root twice")
	assert.Equal(t, "rw", fourLetter(t, ts.addr, "isro"))
	mntr := fourLetter(t, ts.addr, "mntr")
	assert.Contains(t, mntr, "zk_server_state\tstandalone\n")
	assert.Contains(t, mntr, "zk_num_alive_connections\t")
	assert.Regexp(t, `warren_heap_live_bytes\t[1-9][0-9]*\n`, mntr)
	assert.Contains(t, fourLetter(t, ts.addr, "conf"), "tickTime=100\n")
	assert.Contains(t, fourLetter(t, ts.addr, "stat"), "Clients:\n")
	assert.Contains(t, fourLetter(t, ts.addr, "cons"), "sid=0x")
	assert.Contains(t, fourLetter(t, ts.addr, "envi"), "Environment:\n")
	assert.Contains(t, fourLetter(t, ts.addr, "wchs"), "Total watches:")
	assert.Contains(t, fourLetter(t, ts.addr, "dump"), "SessionTracker dump:")
}

func TestFourLetterWhitelist(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.FourLetterWhitelist = []string{"srvr"} })
	assert.Equal(t, "ruok is not executed because it is not in the whitelist.\n", fourLetter(t, ts.addr, "ruok"))
	assert.Contains(t, fourLetter(t, ts.addr, "srvr"), "Mode: standalone")
}

func TestManyClientsConcurrently(t *testing.T) {
	ts := startServer(t, nil)
	c0, _ := dial(t, ts.addr, 5*time.Second)
	_, err := c0.Create("/load", nil, 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		c, _ := dial(t, ts.addr, 5*time.Second)
		wg.Add(1)
		go func(i int, c *zk.Conn) {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				p := fmt.Sprintf("/load/%d-%d", i, j)
				if _, err := c.Create(p, []byte("v"), 0, zk.WorldACL(zk.PermAll)); err != nil {
					errs <- err
					return
				}
				if _, err := c.Set(p, []byte("w"), 0); err != nil {
					errs <- err
					return
				}
			}
		}(i, c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	_, st, err := c0.Children("/load")
	require.NoError(t, err)
	assert.Equal(t, int32(800), st.NumChildren)
}
