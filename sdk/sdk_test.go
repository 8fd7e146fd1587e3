package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

const waitFor = 10 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func connect(t *testing.T, addr string, opts ...sdk.Option) *sdk.Conn {
	t.Helper()
	c, err := sdk.Connect(ctxT(t), addr, append([]sdk.Option{sdk.WithSessionTimeout(20 * time.Second)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func event(t *testing.T, ch <-chan sdk.Event) sdk.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "event channel closed")
		return ev
	case <-time.After(waitFor):
		t.Fatal("no event")
		return sdk.Event{}
	}
}

func waitState(t *testing.T, ch <-chan sdk.State, want sdk.State) {
	t.Helper()
	waitStateWithin(t, ch, want, waitFor)
}

// waitStateWithin waits up to d for the state want on ch.
func waitStateWithin(t *testing.T, ch <-chan sdk.State, want sdk.State, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case s, ok := <-ch:
			require.True(t, ok, "state stream closed before %v", want)
			if s == want {
				return
			}
		case <-deadline:
			t.Fatalf("state %v not reached", want)
		}
	}
}

// TestAgainstServers runs the same suite against Warren and Apache
// ZooKeeper 3.8.
func TestAgainstServers(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			// A short tick lets the expiry test use a 2 s session.
			addr := tg.Start(t, testutil.ServerConfig{TickTime: 500 * time.Millisecond, ExtendedTypes: true, ContainerCheckInterval: time.Hour})
			t.Run("Ops", func(t *testing.T) { testOps(t, addr) })
			t.Run("CreateModes", func(t *testing.T) { testCreateModes(t, addr) })
			t.Run("Errors", func(t *testing.T) { testErrors(t, addr) })
			t.Run("Multi", func(t *testing.T) { testMulti(t, addr) })
			t.Run("MultiRead", func(t *testing.T) { testMultiRead(t, addr) })
			t.Run("Chroot", func(t *testing.T) { testChroot(t, addr) })
			t.Run("OneShotWatches", func(t *testing.T) { testOneShot(t, addr) })
			t.Run("RecursiveWatch", func(t *testing.T) { testRecursive(t, addr) })
			t.Run("Auth", func(t *testing.T) { testAuth(t, addr) })
			t.Run("Pipelined", func(t *testing.T) { testPipelined(t, addr) })
			t.Run("ReconnectResumes", func(t *testing.T) { testReconnect(t, addr) })
			t.Run("BadReplyDropsConnection", func(t *testing.T) { testBadReply(t, addr) })
			t.Run("ExpiryIsReported", func(t *testing.T) { testExpiry(t, addr) })
			t.Run("HostFailover", func(t *testing.T) { testHostFailover(t, addr) })
			t.Run("Close", func(t *testing.T) { testClose(t, addr) })
			t.Run("RemoveWatches", func(t *testing.T) { testRemoveWatches(t, addr) })
			t.Run("RemoveWatchesLocal", func(t *testing.T) { testRemoveWatchesLocal(t, addr) })
			t.Run("Config", func(t *testing.T) { testConfig(t, addr) })
			t.Run("AddWatchModes", func(t *testing.T) { testAddWatchModes(t, addr, tg) })
		})
	}
}

func testOps(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)
	assert.NotZero(t, c.SessionID())
	p, st, err := c.Create(ctx, "/ops", []byte("v0"), sdk.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "/ops", p)
	assert.Equal(t, int32(0), st.Version)
	assert.Equal(t, int32(2), st.DataLength)

	data, st, err := c.Get(ctx, "/ops")
	require.NoError(t, err)
	assert.Equal(t, []byte("v0"), data)
	st2, err := c.Set(ctx, "/ops", []byte("v1"), st.Version)
	require.NoError(t, err)
	assert.Equal(t, int32(1), st2.Version)
	assert.Greater(t, c.LastZxid(), int64(0))

	st3, ok, err := c.Exists(ctx, "/ops")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, st2, st3)
	_, ok, err = c.Exists(ctx, "/ops/missing")
	require.NoError(t, err)
	assert.False(t, ok)

	for _, n := range []string{"b", "a"} {
		_, _, err = c.Create(ctx, "/ops/"+n, nil, sdk.CreateOptions{})
		require.NoError(t, err)
	}
	_, _, err = c.Create(ctx, "/ops/a/deep", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	kids, pst, err := c.Children(ctx, "/ops")
	require.NoError(t, err)
	slices.Sort(kids)
	assert.Equal(t, []string{"a", "b"}, kids)
	assert.Equal(t, int32(2), pst.NumChildren)
	n, err := c.GetAllChildrenNumber(ctx, "/ops")
	require.NoError(t, err)
	assert.Equal(t, 3, n)

	acl, ast, err := c.GetACL(ctx, "/ops")
	require.NoError(t, err)
	assert.Equal(t, sdk.OpenACL, acl)
	_, err = c.SetACL(ctx, "/ops", []sdk.ACL{{Perms: sdk.PermRead | sdk.PermWrite | sdk.PermCreate | sdk.PermDelete, ID: sdk.ID{Scheme: "world", ID: "anyone"}}}, ast.Aversion)
	require.NoError(t, err)
	acl, _, err = c.GetACL(ctx, "/ops")
	require.NoError(t, err)
	assert.Equal(t, int32(15), acl[0].Perms)
	require.NoError(t, c.Sync(ctx, "/ops"))

	_, _, err = c.Create(ctx, "/ops/eph", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral})
	require.NoError(t, err)
	eph, err := c.GetEphemerals(ctx, "/ops")
	require.NoError(t, err)
	assert.Equal(t, []string{"/ops/eph"}, eph)

	who, err := c.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Contains(t, who, sdk.ClientInfo{AuthScheme: "ip", User: "127.0.0.1"})

	require.NoError(t, c.Delete(ctx, "/ops/a/deep", -1))
	_, ok, err = c.Exists(ctx, "/ops/a/deep")
	require.NoError(t, err)
	assert.False(t, ok)
}

func testCreateModes(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)
	_, _, err := c.Create(ctx, "/modes", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	cases := []struct {
		name  string
		path  string
		opts  sdk.CreateOptions
		want  string
		owner func(st sdk.Stat) bool
	}{
		{"persistent", "/modes/p", sdk.CreateOptions{}, "/modes/p", func(st sdk.Stat) bool { return st.EphemeralOwner == 0 }},
		{"ephemeral", "/modes/e", sdk.CreateOptions{Mode: sdk.ModeEphemeral}, "/modes/e", func(st sdk.Stat) bool { return st.EphemeralOwner == c.SessionID() }},
		{"sequential", "/modes/s-", sdk.CreateOptions{Mode: sdk.ModePersistentSequential}, "/modes/s-0000000002", func(st sdk.Stat) bool { return st.EphemeralOwner == 0 }},
		{"ephemeral sequential", "/modes/es-", sdk.CreateOptions{Mode: sdk.ModeEphemeralSequential}, "/modes/es-0000000003", func(st sdk.Stat) bool { return st.EphemeralOwner == c.SessionID() }},
		{"container", "/modes/c", sdk.CreateOptions{Mode: sdk.ModeContainer}, "/modes/c", func(st sdk.Stat) bool { return st.EphemeralOwner == 0 }},
		{"ttl", "/modes/t", sdk.CreateOptions{Mode: sdk.ModePersistentWithTTL, TTL: time.Hour}, "/modes/t", func(st sdk.Stat) bool { return st.EphemeralOwner == 0 }},
		{"ttl sequential", "/modes/ts-", sdk.CreateOptions{Mode: sdk.ModePersistentSequentialWithTTL, TTL: time.Minute}, "/modes/ts-0000000006", func(st sdk.Stat) bool { return st.EphemeralOwner == 0 }},
	}
	for _, tc := range cases {
		p, st, err := c.Create(ctx, tc.path, []byte(tc.name), tc.opts)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, p, tc.name)
		assert.True(t, tc.owner(st), "%s: ephemeralOwner %x", tc.name, st.EphemeralOwner)
		_, st2, err := c.Get(ctx, p)
		require.NoError(t, err, tc.name)
		assert.Equal(t, st, st2, tc.name)
	}
	_, _, err = c.Create(ctx, "/modes/bad", nil, sdk.CreateOptions{Mode: sdk.ModePersistentWithTTL})
	assert.ErrorIs(t, err, sdk.ErrBadArguments)
}

func testErrors(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)
	_, _, err := c.Create(ctx, "/errs", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	_, _, err = c.Create(ctx, "/errs/kid", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	_, _, err = c.Create(ctx, "/errs/eph", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral})
	require.NoError(t, err)
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"get missing", func() error { _, _, err := c.Get(ctx, "/errs/none"); return err }, sdk.ErrNoNode},
		{"create exists", func() error { _, _, err := c.Create(ctx, "/errs", nil, sdk.CreateOptions{}); return err }, sdk.ErrNodeExists},
		{"create no parent", func() error { _, _, err := c.Create(ctx, "/errs/x/y", nil, sdk.CreateOptions{}); return err }, sdk.ErrNoNode},
		{"set bad version", func() error { _, err := c.Set(ctx, "/errs", nil, 7); return err }, sdk.ErrBadVersion},
		{"delete not empty", func() error { return c.Delete(ctx, "/errs", -1) }, sdk.ErrNotEmpty},
		{"child of ephemeral", func() error { _, _, err := c.Create(ctx, "/errs/eph/x", nil, sdk.CreateOptions{}); return err }, sdk.ErrNoChildrenForEphemerals},
		{"invalid acl", func() error {
			_, _, err := c.Create(ctx, "/errs/acl", nil, sdk.CreateOptions{ACL: sdk.CreatorAllACL})
			return err
		}, sdk.ErrInvalidACL},
		{"invalid path", func() error { _, _, err := c.Get(ctx, "no/slash"); return err }, sdk.ErrInvalidPath},
	}
	for _, tc := range cases {
		err := tc.run()
		require.Error(t, err, tc.name)
		assert.ErrorIs(t, err, tc.want, tc.name)
		if !errors.Is(tc.want, sdk.ErrInvalidPath) {
			var ze *sdk.Error
			require.ErrorAs(t, err, &ze, tc.name)
			assert.Equal(t, tc.want, error(ze.Code), tc.name)
		}
	}
}

func testMulti(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)
	res, err := c.Multi(ctx,
		c.CreateOp("/multi", []byte("x"), sdk.CreateOptions{}),
		c.CreateOp("/multi/s-", nil, sdk.CreateOptions{Mode: sdk.ModePersistentSequential}),
		c.SetOp("/multi", []byte("y"), 0),
		c.CheckOp("/multi", 1),
	)
	require.NoError(t, err)
	require.Len(t, res, 4)
	assert.Equal(t, "/multi", res[0].Path)
	assert.Equal(t, "/multi/s-0000000000", res[1].Path)
	assert.Equal(t, int32(1), res[2].Stat.Version)
	for _, r := range res {
		assert.NoError(t, r.Err)
	}

	res, err = c.Multi(ctx,
		c.SetOp("/multi", []byte("z"), 1),
		c.DeleteOp("/multi/none", -1),
	)
	require.Error(t, err)
	assert.ErrorIs(t, err, sdk.ErrNoNode)
	require.Len(t, res, 2)
	assert.Equal(t, proto.OpError, res[0].Type, "the op before the failure is reported rolled back")
	assert.NoError(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, sdk.ErrNoNode)
	data, _, err := c.Get(ctx, "/multi")
	require.NoError(t, err)
	assert.Equal(t, []byte("y"), data, "the failed multi was rolled back")
}

func testChroot(t *testing.T, addr string) {
	ctx := ctxT(t)
	root := connect(t, addr)
	_, _, err := root.Create(ctx, "/jail", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	c := connect(t, addr+"/jail")
	p, _, err := c.Create(ctx, "/seq-", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeralSequential})
	require.NoError(t, err)
	assert.Equal(t, "/seq-0000000000", p)
	_, ok, err := root.Exists(ctx, "/jail"+p)
	require.NoError(t, err)
	assert.True(t, ok)
	kids, _, ch, err := c.ChildrenW(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, []string{"seq-0000000000"}, kids)
	eph, err := c.GetEphemerals(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, []string{p}, eph)
	_, _, err = root.Create(ctx, "/jail/x", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeChildrenChanged, Path: "/"}, event(t, ch))
	res, err := c.Multi(ctx, c.CreateOp("/m", nil, sdk.CreateOptions{}))
	require.NoError(t, err)
	assert.Equal(t, "/m", res[0].Path)
}

func testOneShot(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)
	other := connect(t, addr)
	_, _, exCh, err := c.ExistsW(ctx, "/w")
	require.NoError(t, err)
	_, _, err = other.Create(ctx, "/w", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeCreated, Path: "/w"}, event(t, exCh))

	_, _, dataCh, err := c.GetW(ctx, "/w")
	require.NoError(t, err)
	_, _, kidCh, err := c.ChildrenW(ctx, "/w")
	require.NoError(t, err)
	_, err = other.Set(ctx, "/w", []byte("1"), -1)
	require.NoError(t, err)
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeDataChanged, Path: "/w"}, event(t, dataCh))
	_, _, err = other.Create(ctx, "/w/k", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeChildrenChanged, Path: "/w"}, event(t, kidCh))
	_, ok := <-dataCh
	assert.False(t, ok, "a one-shot channel closes after its event")
}

func testRecursive(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)
	other := connect(t, addr)
	w, err := c.AddWatch(ctx, "/rec", true)
	require.NoError(t, err)
	// A persistent watch on another path: ZooKeeper keeps one mode per
	// (connection, path), so a second addWatch on /rec would replace the
	// recursive one.
	pw, err := c.AddWatch(ctx, "/rec/a", false)
	require.NoError(t, err)
	steps := []func() error{
		func() error { _, _, err := other.Create(ctx, "/rec", nil, sdk.CreateOptions{}); return err },
		func() error { _, _, err := other.Create(ctx, "/rec/a", nil, sdk.CreateOptions{}); return err },
		func() error { _, _, err := other.Create(ctx, "/rec/a/b", nil, sdk.CreateOptions{}); return err },
		func() error { _, err := other.Set(ctx, "/rec/a/b", []byte("x"), -1); return err },
		func() error { return other.Delete(ctx, "/rec/a/b", -1) },
	}
	for _, s := range steps {
		require.NoError(t, s())
	}
	want := []sdk.Event{
		{Type: sdk.EventNodeCreated, Path: "/rec"},
		{Type: sdk.EventNodeCreated, Path: "/rec/a"},
		{Type: sdk.EventNodeCreated, Path: "/rec/a/b"},
		{Type: sdk.EventNodeDataChanged, Path: "/rec/a/b"},
		{Type: sdk.EventNodeDeleted, Path: "/rec/a/b"},
	}
	for i, ev := range want {
		assert.Equal(t, ev, event(t, w.Events()), "event %d", i)
	}
	for i, ev := range []sdk.Event{
		{Type: sdk.EventNodeCreated, Path: "/rec/a"},
		{Type: sdk.EventNodeChildrenChanged, Path: "/rec/a"},
		{Type: sdk.EventNodeChildrenChanged, Path: "/rec/a"},
	} {
		assert.Equal(t, ev, event(t, pw.Events()), "persistent event %d", i)
	}
	require.NoError(t, w.Close(ctx))
	_, ok := <-w.Events()
	assert.False(t, ok)
	require.NoError(t, pw.Close(ctx))
}

func testAuth(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)
	stranger := connect(t, addr)
	require.NoError(t, c.AddAuth(ctx, "digest", []byte("alice:secret")))
	_, _, err := c.Create(ctx, "/private", []byte("s"), sdk.CreateOptions{ACL: sdk.CreatorAllACL})
	require.NoError(t, err)
	acl, _, err := c.GetACL(ctx, "/private")
	require.NoError(t, err)
	assert.Equal(t, []sdk.ACL{{Perms: sdk.PermAll, ID: sdk.ID{Scheme: "digest", ID: testutil.Digest("alice", "secret")}}}, acl)
	_, _, err = stranger.Get(ctx, "/private")
	assert.ErrorIs(t, err, sdk.ErrNoAuth)
	who, err := c.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Contains(t, who, sdk.ClientInfo{AuthScheme: "digest", User: "alice"})
}

func testPipelined(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)
	_, _, err := c.Create(ctx, "/pipe", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	const n = 200
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			p, _, err := c.Create(ctx, fmt.Sprintf("/pipe/n%03d", i), []byte{byte(i)}, sdk.CreateOptions{})
			if err == nil && p != fmt.Sprintf("/pipe/n%03d", i) {
				err = fmt.Errorf("created %s", p)
			}
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		require.NoError(t, <-errs)
	}
	kids, _, err := c.Children(ctx, "/pipe")
	require.NoError(t, err)
	assert.Len(t, kids, n)
}

// testReconnect cuts the connection under a live session: the Conn resumes
// the same session, keeps its ephemeral node, re-sends auth and watches.
func testReconnect(t *testing.T, addr string) {
	ctx := ctxT(t)
	px := testutil.StartProxy(t, addr)
	c := connect(t, px.Addr())
	other := connect(t, addr)
	states := c.States()
	sid := c.SessionID()
	require.NoError(t, c.AddAuth(ctx, "digest", []byte("bob:pw")))
	_, _, err := c.Create(ctx, "/rc", nil, sdk.CreateOptions{ACL: sdk.CreatorAllACL})
	require.NoError(t, err)
	_, _, err = c.Create(ctx, "/rc/eph", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral, ACL: sdk.OpenACL})
	require.NoError(t, err)
	_, _, dataCh, err := c.GetW(ctx, "/rc")
	require.NoError(t, err)
	rw, err := c.AddWatch(ctx, "/rc", true)
	require.NoError(t, err)

	px.Cut()
	waitState(t, states, sdk.StateSuspended)
	waitState(t, states, sdk.StateReconnected)
	assert.Equal(t, sid, c.SessionID(), "session resumed")

	require.NoError(t, other.AddAuth(ctx, "digest", []byte("bob:pw")))
	_, err = other.Set(ctx, "/rc", []byte("after"), -1)
	require.NoError(t, err)
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeDataChanged, Path: "/rc"}, event(t, dataCh))
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeDataChanged, Path: "/rc"}, event(t, rw.Events()))
	data, _, err := c.Get(ctx, "/rc")
	require.NoError(t, err, "auth was re-sent")
	assert.Equal(t, []byte("after"), data)
	_, ok, err := other.Exists(ctx, "/rc/eph")
	require.NoError(t, err)
	assert.True(t, ok, "the ephemeral survived")
}

// testBadReply injects a reply with an unknown xid while a call is in
// flight: the call fails with connection loss and the Conn reconnects.
func testBadReply(t *testing.T, addr string) {
	ctx := ctxT(t)
	px := testutil.StartProxy(t, addr)
	c := connect(t, px.Addr())
	states := c.States()
	_, _, err := c.Create(ctx, "/bad", nil, sdk.CreateOptions{})
	require.NoError(t, err)

	px.Pause()
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Get(ctx, "/bad")
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	px.Inject(zkwire.AppendFrame(nil, &proto.ReplyHeader{Xid: 987654, Zxid: 1}, nil))
	select {
	case err := <-done:
		assert.ErrorIs(t, err, sdk.ErrConnectionLoss)
	case <-time.After(waitFor):
		t.Fatal("the call in flight did not fail")
	}
	px.Unpause()
	waitState(t, states, sdk.StateSuspended)
	waitState(t, states, sdk.StateReconnected)
	_, _, err = c.Get(ctx, "/bad")
	require.NoError(t, err)

	// An oversized frame drops the connection too.
	px.Inject([]byte{0x7f, 0, 0, 0})
	waitState(t, states, sdk.StateSuspended)
	waitState(t, states, sdk.StateReconnected)
	_, _, err = c.Get(ctx, "/bad")
	require.NoError(t, err)
}

// testExpiry keeps the client away from the server past its session
// timeout: on reconnection the expiry is reported, not papered over.
func testExpiry(t *testing.T, addr string) {
	ctx := ctxT(t)
	px := testutil.StartProxy(t, addr)
	c, err := sdk.Connect(ctx, px.Addr(), sdk.WithSessionTimeout(2*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	states := c.States()
	other := connect(t, addr)
	_, _, err = c.Create(ctx, "/exp", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral})
	require.NoError(t, err)
	_, _, ch, err := c.ExistsW(ctx, "/exp")
	require.NoError(t, err)
	_, _, gone, err := other.ExistsW(ctx, "/exp")
	require.NoError(t, err)

	px.Refuse()
	px.Cut()
	waitState(t, states, sdk.StateSuspended)
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeDeleted, Path: "/exp"}, event(t, gone), "the server expired the session")
	px.Accept()
	waitState(t, states, sdk.StateExpired)
	assert.Equal(t, sdk.Event{Type: sdk.EventSession, State: sdk.StateExpired}, event(t, ch))
	_, _, err = c.Get(ctx, "/")
	assert.ErrorIs(t, err, sdk.ErrSessionExpired)
	_, ok := <-states
	assert.False(t, ok, "the state stream ends after expiry")
}

// testHostFailover lists a dead host first: Connect moves on to the next.
func testHostFailover(t *testing.T, addr string) {
	dead := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	c := connect(t, dead+","+addr, sdk.WithoutShuffle())
	assert.Equal(t, addr, c.Server())
	_, _, err := c.Get(ctxT(t), "/")
	require.NoError(t, err)
}

// testClose: Close ends the session (its ephemerals go), reports
// StateClosed, and later calls fail with ErrClosed.
func testClose(t *testing.T, addr string) {
	ctx := ctxT(t)
	other := connect(t, addr)
	c, err := sdk.Connect(ctx, addr)
	require.NoError(t, err)
	states := c.States()
	_, _, err = c.Create(ctx, "/closing", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral})
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = c.Get(cctx, "/")
	assert.ErrorIs(t, err, context.Canceled)
	require.NoError(t, c.Close())
	waitState(t, states, sdk.StateClosed)
	_, _, err = c.Get(ctx, "/")
	assert.ErrorIs(t, err, sdk.ErrClosed)
	_, ok, err := other.Exists(ctx, "/closing")
	require.NoError(t, err)
	assert.False(t, ok, "closeSession removed the ephemeral")
}
