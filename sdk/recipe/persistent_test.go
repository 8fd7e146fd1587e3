package recipe_test

import (
	"context"
	"regexp"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
	"github.com/warrenhq/warren/sdk/recipe"
)

// TestPersistentNode runs the PersistentNode tests against Warren and
// Apache ZooKeeper 3.8.
func TestPersistentNode(t *testing.T) {
	runAgainstServers(t, []serverTest{
		{"Created", testPersistentCreated},
		{"Persistent", testPersistentPersistentMode},
		{"RecreatedSequential", testPersistentRecreatedSequential},
		{"SetData", testPersistentSetData},
		{"Cut", testPersistentCut},
		{"Adopt", testPersistentAdopt},
		{"Renew", testPersistentRenew},
		{"Expired", testPersistentExpired},
		{"NoAuth", testPersistentNoAuth},
	})
}

// pnEvents reads a node's events and keeps a log of their types.
type pnEvents struct {
	t   *testing.T
	n   *recipe.PersistentNode
	log []string
}

// next returns the next event (failing after a generous wait).
func (e *pnEvents) next() recipe.PersistentEvent {
	e.t.Helper()
	select {
	case ev, ok := <-e.n.Events():
		require.True(e.t, ok, "event stream closed; log %v", e.log)
		e.log = append(e.log, ev.Type.String())
		return ev
	case <-time.After(waitFor):
		e.t.Fatalf("no event; log %v", e.log)
		return recipe.PersistentEvent{}
	}
}

// until returns the first event of type typ.
func (e *pnEvents) until(typ recipe.PersistentEventType) recipe.PersistentEvent {
	e.t.Helper()
	for {
		if ev := e.next(); ev.Type == typ {
			return ev
		}
	}
}

// drain reads the stream to its end and returns the last event.
func (e *pnEvents) drain() recipe.PersistentEvent {
	e.t.Helper()
	var last recipe.PersistentEvent
	deadline := time.After(waitFor)
	for {
		select {
		case ev, ok := <-e.n.Events():
			if !ok {
				return last
			}
			e.log = append(e.log, ev.Type.String())
			last = ev
		case <-deadline:
			e.t.Fatalf("event stream not closed; log %v", e.log)
		}
	}
}

// startPN starts a node and waits for its first create.
func startPN(t *testing.T, ctx context.Context, n *recipe.PersistentNode) *pnEvents {
	t.Helper()
	require.NoError(t, n.Start())
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	require.NoError(t, n.WaitForInitialCreate(ctx))
	e := &pnEvents{t: t, n: n}
	ev := e.next()
	require.Equal(t, recipe.PersistentCreated, ev.Type)
	require.Equal(t, n.ActualPath(), ev.Path)
	return e
}

// closePN closes a node and checks its stream ends with a clean stop.
func closePN(t *testing.T, ctx context.Context, n *recipe.PersistentNode, e *pnEvents) {
	t.Helper()
	require.NoError(t, n.Close(ctx))
	require.NoError(t, n.Close(ctx), "Close is idempotent")
	last := e.drain()
	assert.Equal(t, recipe.PersistentStopped, last.Type)
	assert.NoError(t, last.Err)
	assert.ErrorIs(t, n.Err(), recipe.ErrPersistentNodeClosed)
}

// goneWatch returns a watch on p that must report its deletion.
func goneWatch(t *testing.T, ctx context.Context, c *sdk.Conn, p string) <-chan sdk.Event {
	t.Helper()
	_, ok, ch, err := c.ExistsW(ctx, p)
	require.NoError(t, err)
	require.True(t, ok, "%s exists", p)
	return ch
}

// testPersistentCreated: an ephemeral node under missing parents (made
// containers) is created with its data and owned by the session; Close
// deletes it.
func testPersistentCreated(t *testing.T, addr string) {
	ctx := testCtx(t)
	c, w := connect(t, addr, longSession), connect(t, addr, longSession)
	const base = "/pn/created/a/node"
	n := recipe.NewPersistentNode(c, base, []byte("one"), sdk.ModeEphemeral)
	assert.Empty(t, n.ActualPath())
	e := startPN(t, ctx, n)
	require.Error(t, n.Start(), "started twice")
	assert.Equal(t, base, n.ActualPath())
	data, st, err := w.Get(ctx, base)
	require.NoError(t, err)
	assert.Equal(t, "one", string(data))
	assert.Equal(t, c.SessionID(), st.EphemeralOwner)
	_, ok, err := w.Exists(ctx, "/pn/created/a")
	require.NoError(t, err)
	assert.True(t, ok, "missing parents created")

	closePN(t, ctx, n, e)
	_, ok, err = w.Exists(ctx, base)
	require.NoError(t, err)
	assert.False(t, ok, "Close deleted the node")
	require.Error(t, n.SetData(ctx, []byte("x")), "closed")
}

// testPersistentPersistentMode: a persistent node is recreated when
// deleted and deleted by Close.
func testPersistentPersistentMode(t *testing.T, addr string) {
	ctx := testCtx(t)
	c, w := connect(t, addr, longSession), connect(t, addr, longSession)
	const base = "/pn/persistent/node"
	n := recipe.NewPersistentNode(c, base, []byte("p"), sdk.ModePersistent)
	e := startPN(t, ctx, n)
	_, st, err := w.Get(ctx, base)
	require.NoError(t, err)
	assert.Zero(t, st.EphemeralOwner)
	require.NoError(t, w.Delete(ctx, base, -1))
	assert.Equal(t, base, e.until(recipe.PersistentDeleted).Path)
	ev := e.until(recipe.PersistentRecreated)
	assert.Equal(t, base, ev.Path)
	data, _, err := w.Get(ctx, base)
	require.NoError(t, err)
	assert.Equal(t, "p", string(data))
	closePN(t, ctx, n, e)
	_, ok, err := w.Exists(ctx, base)
	require.NoError(t, err)
	assert.False(t, ok)
}

// testPersistentRecreatedSequential: a protected ephemeral sequential node
// deleted by another client is recreated under a new path, with the data
// of the last SetData.
func testPersistentRecreatedSequential(t *testing.T, addr string) {
	ctx := testCtx(t)
	c, w := connect(t, addr, longSession), connect(t, addr, longSession)
	const dir = "/pn/seq"
	n := recipe.NewPersistentNode(c, dir+"/member-", []byte("v1"), sdk.ModeEphemeralSequential)
	e := startPN(t, ctx, n)
	first := n.ActualPath()
	assert.Regexp(t, regexp.MustCompile(`^/pn/seq/_c_`+uuidPattern+`-member-\d{10}$`), first)
	require.NoError(t, n.SetData(ctx, []byte("v2")))
	data, _, err := w.Get(ctx, first)
	require.NoError(t, err)
	assert.Equal(t, "v2", string(data), "SetData writes the node")

	for round := 0; round < 3; round++ {
		prev := n.ActualPath()
		require.NoError(t, w.Delete(ctx, prev, -1))
		assert.Equal(t, prev, e.until(recipe.PersistentDeleted).Path)
		ev := e.until(recipe.PersistentRecreated)
		assert.NotEqual(t, prev, ev.Path, "a new sequential node")
		assert.Equal(t, ev.Path, n.ActualPath())
		assert.Regexp(t, regexp.MustCompile(`^/pn/seq/_c_`+uuidPattern+`-member-\d{10}$`), ev.Path)
		data, st, err := w.Get(ctx, ev.Path)
		require.NoError(t, err)
		assert.Equal(t, "v2", string(data), "recreated with the last data")
		assert.Equal(t, c.SessionID(), st.EphemeralOwner)
	}
	kids, _, err := w.Children(ctx, dir)
	require.NoError(t, err)
	assert.Len(t, kids, 1, "no duplicate: %v", kids)
	closePN(t, ctx, n, e)
	kids, _, err = w.Children(ctx, dir)
	require.NoError(t, err)
	assert.Empty(t, kids)
}

// testPersistentSetData: SetData before the first create is used by it;
// later data is persisted and used by the recreation of a fixed path.
func testPersistentSetData(t *testing.T, addr string) {
	ctx := testCtx(t)
	c, w := connect(t, addr, longSession), connect(t, addr, longSession)
	const base = "/pn/setdata/node"
	n := recipe.NewPersistentNode(c, base, []byte("a"), sdk.ModeEphemeral)
	require.NoError(t, n.SetData(ctx, []byte("b")), "remembered before Start")
	e := startPN(t, ctx, n)
	data, _, err := w.Get(ctx, base)
	require.NoError(t, err)
	assert.Equal(t, "b", string(data))
	require.NoError(t, n.SetData(ctx, []byte("c")))
	data, _, err = w.Get(ctx, base)
	require.NoError(t, err)
	assert.Equal(t, "c", string(data))
	assert.Equal(t, "c", string(n.Data()))

	require.NoError(t, w.Delete(ctx, base, -1))
	e.until(recipe.PersistentRecreated)
	data, st, err := w.Get(ctx, base)
	require.NoError(t, err)
	assert.Equal(t, "c", string(data))
	assert.Equal(t, c.SessionID(), st.EphemeralOwner)
	closePN(t, ctx, n, e)
}

// testPersistentCut: the connection is cut and kept down; the node
// survives with the session. Deleted by another client while cut, it is
// recreated after the reconnection.
func testPersistentCut(t *testing.T, addr string) {
	ctx := testCtx(t)
	px := testutil.StartProxy(t, addr)
	c, w := connect(t, px.Addr(), longSession), connect(t, addr, longSession)
	const base = "/pn/cut/node"
	states := c.States()
	n := recipe.NewPersistentNode(c, base, []byte("cut"), sdk.ModeEphemeralSequential)
	e := startPN(t, ctx, n)
	first := n.ActualPath()

	// A cut the session survives: same node, same session.
	px.Refuse()
	px.Cut()
	waitState(t, states, sdk.StateSuspended)
	px.Accept()
	waitState(t, states, sdk.StateReconnected)
	require.NoError(t, n.SetData(ctx, []byte("after")), "a call after the reconnection")
	data, st, err := w.Get(ctx, first)
	require.NoError(t, err)
	assert.Equal(t, "after", string(data))
	assert.Equal(t, c.SessionID(), st.EphemeralOwner)
	assert.Equal(t, first, n.ActualPath())

	// Deleted while cut: recreated after the reconnection.
	px.Refuse()
	px.Cut()
	waitState(t, states, sdk.StateSuspended)
	require.NoError(t, w.Delete(ctx, first, -1))
	px.Accept()
	waitState(t, states, sdk.StateReconnected)
	assert.Equal(t, first, e.until(recipe.PersistentDeleted).Path)
	ev := e.until(recipe.PersistentRecreated)
	assert.NotEqual(t, first, ev.Path)
	data, st, err = w.Get(ctx, ev.Path)
	require.NoError(t, err)
	assert.Equal(t, "after", string(data))
	assert.Equal(t, c.SessionID(), st.EphemeralOwner)
	assert.NotContains(t, e.log, "stopped")
	closePN(t, ctx, n, e)
	kids, _, err := w.Children(ctx, "/pn/cut")
	require.NoError(t, err)
	assert.Empty(t, kids)
}

// testPersistentAdopt: a node of another session at the fixed path is
// adopted (its data set), not deleted; when that session ends, the node is
// created under ours. Close leaves another session's node alone.
func testPersistentAdopt(t *testing.T, addr string) {
	ctx := testCtx(t)
	c, w := connect(t, addr, longSession), connect(t, addr, longSession)
	old, err := sdk.Connect(ctx, addr, sdk.WithSessionTimeout(longSession))
	require.NoError(t, err)
	t.Cleanup(func() { _ = old.Close() })
	const base = "/pn/adopt/node"
	_, _, err = old.Create(ctx, base, []byte("old"), sdk.CreateOptions{Mode: sdk.ModeEphemeral, Parents: sdk.ParentsContainer})
	require.NoError(t, err)

	n := recipe.NewPersistentNode(c, base, []byte("new"), sdk.ModeEphemeral)
	require.NoError(t, n.Start())
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	require.NoError(t, n.WaitForInitialCreate(ctx))
	e := &pnEvents{t: t, n: n}
	ev := e.next()
	require.Equal(t, recipe.PersistentCreated, ev.Type)
	assert.True(t, ev.Existing)
	data, st, err := w.Get(ctx, base)
	require.NoError(t, err)
	assert.Equal(t, "new", string(data), "adopted: data set")
	assert.Equal(t, old.SessionID(), st.EphemeralOwner, "not deleted")

	// The old session ends: its node goes, ours is created.
	require.NoError(t, old.Close())
	ev = e.until(recipe.PersistentRecreated)
	assert.False(t, ev.Existing)
	_, st, err = w.Get(ctx, base)
	require.NoError(t, err)
	assert.Equal(t, c.SessionID(), st.EphemeralOwner)
	closePN(t, ctx, n, e)

	// Close leaves a node of another session alone.
	other := connect(t, addr, longSession)
	_, _, err = other.Create(ctx, base, nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral, Parents: sdk.ParentsContainer})
	require.NoError(t, err)
	n2 := recipe.NewPersistentNode(c, base, []byte("n2"), sdk.ModeEphemeral)
	e2 := startPN(t, ctx, n2)
	closePN(t, ctx, n2, e2)
	_, st, err = w.Get(ctx, base)
	require.NoError(t, err)
	assert.Equal(t, other.SessionID(), st.EphemeralOwner)
}

// testPersistentRenew: with WithPersistentSession the node outlives its
// session: after the expiry it is recreated under a new session.
func testPersistentRenew(t *testing.T, addr string) {
	ctx := testCtx(t)
	px, dial, c := renewable(t, addr)
	w := connect(t, addr, longSession)
	const base = "/pn/renew/node"
	renewed := 0
	n := recipe.NewPersistentNode(c, base, []byte("r1"), sdk.ModeEphemeralSequential,
		recipe.WithPersistentSession(func(ctx context.Context) (*sdk.Conn, error) {
			renewed++
			return dial(ctx)
		}))
	e := startPN(t, ctx, n)
	first := n.ActualPath()
	require.NoError(t, n.SetData(ctx, []byte("r2")))
	oldSession := c.SessionID()

	cutUntilExpired(t, px, goneWatch(t, ctx, w, first))
	px.Accept()
	ev := e.until(recipe.PersistentSessionExpired)
	assert.ErrorIs(t, ev.Err, sdk.ErrSessionExpired)
	ev = e.until(recipe.PersistentRecreated)
	assert.NotEqual(t, first, ev.Path)
	nc := n.Conn()
	assert.NotSame(t, c, nc)
	assert.NotEqual(t, oldSession, nc.SessionID())
	data, st, err := w.Get(ctx, ev.Path)
	require.NoError(t, err)
	assert.Equal(t, nc.SessionID(), st.EphemeralOwner, "owned by the new session")
	assert.Equal(t, "r2", string(data))
	assert.NoError(t, n.Err())

	// Still kept on the new session.
	require.NoError(t, w.Delete(ctx, ev.Path, -1))
	ev = e.until(recipe.PersistentRecreated)
	_, st, err = w.Get(ctx, ev.Path)
	require.NoError(t, err)
	assert.Equal(t, nc.SessionID(), st.EphemeralOwner)

	closePN(t, ctx, n, e)
	assert.Equal(t, 1, renewed)
	assert.Equal(t, sdk.StateClosed, nc.State(), "the node closed the Conn it owned")
	kids, _, err := w.Children(ctx, "/pn/renew")
	require.NoError(t, err)
	assert.Empty(t, kids)
}

// testPersistentExpired: without WithPersistentSession an expiry stops
// the node.
func testPersistentExpired(t *testing.T, addr string) {
	ctx := testCtx(t)
	px := testutil.StartProxy(t, addr)
	c := connect(t, px.Addr(), 2*time.Second)
	w := connect(t, addr, longSession)
	const base = "/pn/expired/node"
	n := recipe.NewPersistentNode(c, base, []byte("x"), sdk.ModeEphemeral)
	e := startPN(t, ctx, n)
	cutUntilExpired(t, px, goneWatch(t, ctx, w, base))
	px.Accept()
	last := e.drain()
	assert.Equal(t, recipe.PersistentStopped, last.Type)
	assert.ErrorIs(t, last.Err, sdk.ErrSessionExpired)
	assert.ErrorIs(t, n.Err(), sdk.ErrSessionExpired)
	assert.NoError(t, n.WaitForInitialCreate(ctx), "the initial create had happened")
	require.Error(t, n.SetData(ctx, []byte("y")))
	require.NoError(t, n.Close(ctx))
	_, ok, err := w.Exists(ctx, base)
	require.NoError(t, err)
	assert.False(t, ok)
}

// TestPersistentNodeGoroutines: Close leaves no goroutine behind (after
// the event stream was read to its end). Not parallel: it counts the
// process's goroutines.
func TestPersistentNodeGoroutines(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			addr := tg.Start(t, testutil.ServerConfig{TickTime: 500 * time.Millisecond, ContainerCheckInterval: time.Hour})
			ctx := testCtx(t)
			c := connect(t, addr, longSession)
			// Settle the Conn's own goroutines first.
			_, _, err := c.Exists(ctx, "/")
			require.NoError(t, err)
			before := runtime.NumGoroutine()
			for _, mode := range []sdk.CreateMode{sdk.ModeEphemeral, sdk.ModeEphemeralSequential, sdk.ModePersistent} {
				n := recipe.NewPersistentNode(c, "/pn/goroutines/node", []byte("g"), mode)
				e := startPN(t, ctx, n)
				require.NoError(t, n.SetData(ctx, []byte("h")))
				closePN(t, ctx, n, e)
			}
			// A node closed without Start.
			n := recipe.NewPersistentNode(c, "/pn/goroutines/never", nil, sdk.ModeEphemeral)
			require.NoError(t, n.Close(ctx))
			e := &pnEvents{t: t, n: n}
			assert.Equal(t, recipe.PersistentStopped, e.drain().Type)
			deadline := time.Now().Add(waitFor)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if got := runtime.NumGoroutine(); got > before {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines after Close, %d before:\n%s", got, before, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}

// testPersistentNoAuth: a create the server refuses for good stops the
// node, and WaitForInitialCreate returns the reason.
func testPersistentNoAuth(t *testing.T, addr string) {
	ctx := testCtx(t)
	c, w := connect(t, addr, longSession), connect(t, addr, longSession)
	const dir = "/pn/noauth"
	_, _, err := w.Create(ctx, dir, nil, sdk.CreateOptions{ACL: []sdk.ACL{{Perms: sdk.PermRead, ID: sdk.ID{Scheme: "world", ID: "anyone"}}}, Parents: sdk.ParentsPersistent})
	require.NoError(t, err)
	n := recipe.NewPersistentNode(c, dir+"/node", nil, sdk.ModeEphemeral)
	require.NoError(t, n.Start())
	err = n.WaitForInitialCreate(ctx)
	assert.ErrorIs(t, err, sdk.ErrNoAuth)
	e := &pnEvents{t: t, n: n}
	last := e.drain()
	assert.Equal(t, recipe.PersistentStopped, last.Type)
	assert.ErrorIs(t, last.Err, sdk.ErrNoAuth)
	assert.Empty(t, n.ActualPath())
	require.NoError(t, n.Close(ctx))
}
