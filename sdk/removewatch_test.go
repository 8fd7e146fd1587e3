package sdk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

// closed asserts that ch is closed (after its last event was read).
func closed(t *testing.T, ch <-chan sdk.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		assert.False(t, ok, "unexpected event %+v", ev)
	case <-time.After(waitFor):
		t.Fatal("channel not closed")
	}
}

// testRemoveWatches removes one-shot and persistent watches by type: each
// removed watch gets its removal event, the others keep firing.
func testRemoveWatches(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)
	other := connect(t, addr)
	_, _, err := c.Create(ctx, "/rw", nil, sdk.CreateOptions{})
	require.NoError(t, err)

	err = c.RemoveWatches(ctx, "/rw", sdk.WatcherAny, false)
	assert.ErrorIs(t, err, sdk.ErrNoWatcher, "no watch at all")
	err = c.RemoveWatches(ctx, "/rw", sdk.WatcherType(9), false)
	assert.ErrorIs(t, err, sdk.ErrBadArguments)

	// Children: only the child watch goes.
	_, _, dataCh, err := c.GetW(ctx, "/rw")
	require.NoError(t, err)
	_, _, kidCh, err := c.ChildrenW(ctx, "/rw")
	require.NoError(t, err)
	require.NoError(t, c.CheckWatches(ctx, "/rw", sdk.WatcherChildren))
	require.NoError(t, c.RemoveWatches(ctx, "/rw", sdk.WatcherChildren, false))
	assert.Equal(t, sdk.Event{Type: sdk.EventChildWatchRemoved, Path: "/rw"}, event(t, kidCh))
	closed(t, kidCh)
	assert.ErrorIs(t, c.CheckWatches(ctx, "/rw", sdk.WatcherChildren), sdk.ErrNoWatcher)
	assert.ErrorIs(t, c.RemoveWatches(ctx, "/rw", sdk.WatcherChildren, false), sdk.ErrNoWatcher)
	require.NoError(t, c.CheckWatches(ctx, "/rw", sdk.WatcherData))
	_, err = other.Set(ctx, "/rw", []byte("1"), -1)
	require.NoError(t, err)
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeDataChanged, Path: "/rw"}, event(t, dataCh), "the data watch stayed")

	// Data: data and exists watches go, on a missing node too.
	_, _, dataCh, err = c.GetW(ctx, "/rw")
	require.NoError(t, err)
	_, _, exCh, err := c.ExistsW(ctx, "/rw/none")
	require.NoError(t, err)
	require.NoError(t, c.RemoveWatches(ctx, "/rw", sdk.WatcherData, false))
	assert.Equal(t, sdk.Event{Type: sdk.EventDataWatchRemoved, Path: "/rw"}, event(t, dataCh))
	closed(t, dataCh)
	require.NoError(t, c.CheckWatches(ctx, "/rw/none", sdk.WatcherData), "an exists watch on a missing node")
	require.NoError(t, c.RemoveWatches(ctx, "/rw/none", sdk.WatcherData, false))
	assert.Equal(t, sdk.Event{Type: sdk.EventDataWatchRemoved, Path: "/rw/none"}, event(t, exCh))
	assert.ErrorIs(t, c.CheckWatches(ctx, "/rw/none", sdk.WatcherAny), sdk.ErrNoWatcher)

	// Persistent: the Watcher gets PersistentWatchRemoved and its stream
	// ends; a recursive Watcher on the same path stays.
	pw, err := c.AddWatch(ctx, "/rw/p", false)
	require.NoError(t, err)
	require.NoError(t, c.CheckWatches(ctx, "/rw/p", sdk.WatcherPersistent))
	assert.ErrorIs(t, c.CheckWatches(ctx, "/rw/p", sdk.WatcherPersistentRecursive), sdk.ErrNoWatcher)
	assert.ErrorIs(t, c.RemoveWatches(ctx, "/rw/p", sdk.WatcherPersistentRecursive, false), sdk.ErrNoWatcher)
	require.NoError(t, c.RemoveWatches(ctx, "/rw/p", sdk.WatcherPersistent, false))
	assert.Equal(t, sdk.Event{Type: sdk.EventPersistentWatchRemoved, Path: "/rw/p"}, event(t, pw.Events()))
	closed(t, pw.Events())
	require.NoError(t, pw.Close(ctx), "closing a removed Watcher is a no-op")

	// Any: every kind goes, each with its own event.
	rw, err := c.AddWatch(ctx, "/rw", true)
	require.NoError(t, err)
	_, _, dataCh, err = c.GetW(ctx, "/rw")
	require.NoError(t, err)
	_, _, kidCh, err = c.ChildrenW(ctx, "/rw")
	require.NoError(t, err)
	require.NoError(t, c.RemoveWatches(ctx, "/rw", sdk.WatcherAny, false))
	assert.Equal(t, sdk.Event{Type: sdk.EventDataWatchRemoved, Path: "/rw"}, event(t, dataCh))
	assert.Equal(t, sdk.Event{Type: sdk.EventChildWatchRemoved, Path: "/rw"}, event(t, kidCh))
	assert.Equal(t, sdk.Event{Type: sdk.EventPersistentWatchRemoved, Path: "/rw"}, event(t, rw.Events()))
	closed(t, rw.Events())

	// The Conn still works for watches afterwards.
	_, _, marker, err := c.ExistsW(ctx, "/rw/p")
	require.NoError(t, err)
	_, _, err = other.Create(ctx, "/rw/p", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeCreated, Path: "/rw/p"}, event(t, marker))
}

// testRemoveWatchesLocal removes watches while the server cannot be
// reached: without local the call waits and fails, with local the watches
// go at once and are not re-registered on reconnection.
func testRemoveWatchesLocal(t *testing.T, addr string) {
	ctx := ctxT(t)
	px := testutil.StartProxy(t, addr)
	c := connect(t, px.Addr())
	other := connect(t, addr)
	states := c.States()
	_, _, err := c.Create(ctx, "/rl", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	_, _, dataCh, err := c.GetW(ctx, "/rl")
	require.NoError(t, err)
	_, _, keptCh, err := c.ChildrenW(ctx, "/rl")
	require.NoError(t, err)

	px.Refuse()
	px.Cut()
	waitState(t, states, sdk.StateSuspended)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = c.RemoveWatches(short, "/rl", sdk.WatcherData, false)
	cancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded, "without local the removal needs the server")
	require.NoError(t, c.RemoveWatches(ctx, "/rl", sdk.WatcherData, true))
	assert.Equal(t, sdk.Event{Type: sdk.EventDataWatchRemoved, Path: "/rl"}, event(t, dataCh))
	closed(t, dataCh)
	assert.ErrorIs(t, c.RemoveWatches(ctx, "/rl", sdk.WatcherData, true), sdk.ErrNoWatcher)

	px.Accept()
	waitState(t, states, sdk.StateReconnected)
	assert.ErrorIs(t, c.CheckWatches(ctx, "/rl", sdk.WatcherData), sdk.ErrNoWatcher)
	_, err = other.Set(ctx, "/rl", []byte("x"), -1)
	require.NoError(t, err)
	_, _, err = other.Create(ctx, "/rl/k", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeChildrenChanged, Path: "/rl"}, event(t, keptCh), "the child watch was re-registered")

	// With local and a reachable server, the removal is the server's.
	_, _, dataCh, err = c.GetW(ctx, "/rl")
	require.NoError(t, err)
	require.NoError(t, c.RemoveWatches(ctx, "/rl", sdk.WatcherAny, true))
	assert.Equal(t, sdk.Event{Type: sdk.EventDataWatchRemoved, Path: "/rl"}, event(t, dataCh))
}

// testConfig reads /zookeeper/config: the chroot does not apply, a
// standalone server has an empty configuration, GetConfigW sets a data
// watch RemoveWatches can name.
func testConfig(t *testing.T, addr string) {
	ctx := ctxT(t)
	root := connect(t, addr)
	_, _, err := root.Create(ctx, "/cfgjail", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	for _, cs := range []string{addr, addr + "/cfgjail"} {
		c := connect(t, cs)
		data, st, err := c.GetConfig(ctx)
		require.NoError(t, err, cs)
		assert.Empty(t, data, "standalone: no dynamic configuration")
		assert.Zero(t, st.Mzxid)
	}
	c := connect(t, addr)
	_, _, ch, err := c.GetConfigW(ctx)
	require.NoError(t, err)
	require.NoError(t, c.CheckWatches(ctx, "/zookeeper/config", sdk.WatcherData))
	require.NoError(t, c.RemoveWatches(ctx, "/zookeeper/config", sdk.WatcherData, false))
	assert.Equal(t, sdk.Event{Type: sdk.EventDataWatchRemoved, Path: "/zookeeper/config"}, event(t, ch))

	// Reconfig on a standalone server with reconfigEnabled off.
	_, _, err = c.Reconfig(ctx, "server.5=127.0.0.1:1:2;2181", "", "", -1)
	assert.ErrorIs(t, err, sdk.ErrReconfigDisabled)
	var ze *sdk.Error
	require.ErrorAs(t, err, &ze)
	assert.Equal(t, "reconfig", ze.Op)
}

// TestReconfigStandaloneEnabled: a standalone server with reconfigEnabled
// cannot reconfigure: both answer UNIMPLEMENTED, to a super user and to
// a client without WRITE on /zookeeper/config alike (ZooKeeper refuses a
// standalone server's reconfig before it checks the ACL).
func TestReconfigStandaloneEnabled(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			addr := tg.Start(t, testutil.ServerConfig{SuperDigest: testutil.Digest("super", "pw"), Extra: []string{"reconfigEnabled=true"}})
			ctx := ctxT(t)
			anon := connect(t, addr)
			_, _, err := anon.Reconfig(ctx, "server.5=127.0.0.1:1:2;2181", "", "", -1)
			assert.ErrorIs(t, err, sdk.ErrUnimplemented)
			c := connect(t, addr)
			require.NoError(t, c.AddAuth(ctx, "digest", []byte("super:pw")))
			_, _, err = c.Reconfig(ctx, "server.5=127.0.0.1:1:2;2181", "", "", -1)
			assert.ErrorIs(t, err, sdk.ErrUnimplemented)
		})
	}
}

// TestReconfigEnsemble removes a member from a 3-member Warren ensemble
// and adds it back, checking versions, the returned configuration and the
// config watch.
func TestReconfigEnsemble(t *testing.T) {
	e := testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: 3, Extra: []string{
		"reconfigEnabled=true", "DigestAuthenticationProvider.superDigest=" + testutil.Digest("super", "pw"),
	}})
	leader, err := e.WaitLeader(30 * time.Second)
	require.NoError(t, err)
	var gone *testutil.Member
	for _, m := range e.Members {
		if m != leader {
			gone = m
		}
	}
	var stay []string
	for _, m := range e.Members {
		if m != gone {
			stay = append(stay, m.Addr)
		}
	}
	ctx := ctxT(t)
	c := connect(t, strings.Join(stay, ",")+"/chrooted")
	_, _, err = c.Reconfig(ctx, "", fmt.Sprint(gone.ID), "", -1)
	assert.ErrorIs(t, err, sdk.ErrNoAuth, "reconfig needs WRITE on /zookeeper/config")
	require.NoError(t, c.AddAuth(ctx, "digest", []byte("super:pw")))

	cfg, st, ch, err := c.GetConfigW(ctx)
	require.NoError(t, err, "the chroot does not apply")
	spec := ""
	for _, l := range strings.Split(string(cfg), "\n") {
		if strings.HasPrefix(l, fmt.Sprintf("server.%d=", gone.ID)) {
			spec = l
		}
	}
	require.NotEmpty(t, spec, "config %q", cfg)

	_, _, err = c.Reconfig(ctx, "", fmt.Sprint(gone.ID), "", st.Mzxid+12345)
	assert.ErrorIs(t, err, sdk.ErrBadVersion)
	newCfg, st2, err := c.Reconfig(ctx, "", fmt.Sprint(gone.ID), "", st.Mzxid)
	require.NoError(t, err)
	assert.Greater(t, st2.Mzxid, st.Mzxid)
	assert.NotContains(t, string(newCfg), spec)
	assert.Contains(t, string(newCfg), fmt.Sprintf("version=%x", st2.Mzxid))
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeDataChanged, Path: "/zookeeper/config"}, event(t, ch))
	got, st3, err := c.GetConfig(ctx)
	require.NoError(t, err)
	assert.Equal(t, newCfg, got)
	assert.Equal(t, st2.Mzxid, st3.Mzxid)

	// Back in (a bulk change would do too; incremental with -1: no check).
	// An incremental joiner gives its client address.
	back, _, err := c.Reconfig(ctx, spec+";"+gone.Addr, "", "", -1)
	require.NoError(t, err)
	assert.Contains(t, string(back), spec)
}

// testAddWatchModes adds both persistent modes on one path, in either
// order, and records what each Watcher receives. ZooKeeper 3.8 keeps one
// mode per (connection, path): the later addWatch replaces the earlier
// (ZOOKEEPER-4466, fixed in 3.9); Warren keeps both, as 3.9 does. The
// client keeps both Watchers either way (as the Java client does) and
// hands each event the server sends to every Watcher that wants it.
func testAddWatchModes(t *testing.T, addr string, tg testutil.Target) {
	ctx := ctxT(t)
	c := connect(t, addr)
	other := connect(t, addr)
	created := func(p string) sdk.Event { return sdk.Event{Type: sdk.EventNodeCreated, Path: p} }
	changed := func(p string) sdk.Event { return sdk.Event{Type: sdk.EventNodeDataChanged, Path: p} }
	kids := func(p string) sdk.Event { return sdk.Event{Type: sdk.EventNodeChildrenChanged, Path: p} }
	// upTo reads ch up to and including last.
	upTo := func(ch <-chan sdk.Event, last sdk.Event) []sdk.Event {
		var got []sdk.Event
		for {
			ev := event(t, ch)
			got = append(got, ev)
			if ev == last {
				return got
			}
		}
	}
	run := func(p string, recursiveFirst bool) (rec, pers []sdk.Event) {
		var rw, pw *sdk.Watcher
		var err error
		if recursiveFirst {
			rw, err = c.AddWatch(ctx, p, true)
			require.NoError(t, err)
			pw, err = c.AddWatch(ctx, p, false)
		} else {
			pw, err = c.AddWatch(ctx, p, false)
			require.NoError(t, err)
			rw, err = c.AddWatch(ctx, p, true)
		}
		require.NoError(t, err)
		_, _, err = other.Create(ctx, p, nil, sdk.CreateOptions{})
		require.NoError(t, err)
		_, _, err = other.Create(ctx, p+"/a", nil, sdk.CreateOptions{})
		require.NoError(t, err)
		_, err = other.Set(ctx, p+"/a", []byte("x"), -1)
		require.NoError(t, err)
		_, err = other.Set(ctx, p, []byte("x"), -1) // the last event both receive
		require.NoError(t, err)
		rec, pers = upTo(rw.Events(), changed(p)), upTo(pw.Events(), changed(p))
		require.NoError(t, rw.Close(ctx))
		require.NoError(t, pw.Close(ctx))
		return rec, pers
	}

	full := func(p string) []sdk.Event {
		return []sdk.Event{created(p), created(p + "/a"), changed(p + "/a"), changed(p)}
	}
	persFull := func(p string) []sdk.Event { return []sdk.Event{created(p), kids(p), changed(p)} }
	rec, pers := run("/modes-rp", true)
	assert.Equal(t, persFull("/modes-rp"), pers)
	if tg == testutil.TargetZooKeeper {
		assert.Equal(t, []sdk.Event{created("/modes-rp"), changed("/modes-rp")}, rec,
			"3.8: the persistent mode replaced the recursive one: no descendant events")
	} else {
		assert.Equal(t, full("/modes-rp"), rec, "both modes kept")
	}

	rec, pers = run("/modes-pr", false)
	assert.Equal(t, full("/modes-pr"), rec)
	if tg == testutil.TargetZooKeeper {
		assert.Equal(t, []sdk.Event{created("/modes-pr"), changed("/modes-pr")}, pers,
			"3.8: the recursive mode replaced the persistent one: no NodeChildrenChanged")
	} else {
		assert.Equal(t, persFull("/modes-pr"), pers, "both modes kept")
	}
}
