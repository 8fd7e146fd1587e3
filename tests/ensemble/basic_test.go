// Package ensemble_test runs real warren processes, built from this module,
// as ensembles of 3 to 6 members (up to 5 voters, plus observers) on
// 127.0.0.1 (internal/testutil.Ensemble) and checks them through real
// go-zookeeper clients and four-letter words:
//
//   - basic_test.go: one leader and the rest followers; writes through a
//     follower are read through another member after sync; ephemerals vanish
//     everywhere when their session closes or expires; a watch set through
//     one member fires for a write through another; a session moves to
//     another member when its follower is SIGKILLed and keeps its id and
//     ephemerals, and its watches fire for changes made while it moved; a
//     session whose client is gone still expires after the leader that
//     tracked it dies; a client that reconnects to a lagging follower never
//     reads an older state than it saw; an observer serves reads, writes
//     and watches.
//   - failover_test.go: the leader is SIGKILLed under write load from
//     clients on followers; writes resume (the time from kill to first
//     success is logged, not asserted); a new leader is elected; the old one
//     restarts, rejoins, and every member's `hash` agrees.
//   - chaos_test.go: 3 voters, and 5 voters with an observer, under writer
//     sessions while a loop SIGKILLs the leader or a follower, SIGSTOPs a
//     member for a while, stops one with SIGTERM (it must exit within 5 s),
//     and restarts the members that are down (one restart in three is
//     SIGKILLed 0-400 ms into its recovery or sync first); at each
//     checkpoint every member's digest is equal and porcupine accepts the
//     history of writes and synced reads since the previous checkpoint,
//     closed by reads of every key through every member (so every
//     acknowledged write is there; unknown outcomes may go either way);
//     each writer's multi over three nodes shows applied entirely or not
//     at all on every member, and each writer's session-long ephemeral is
//     on every member with its owner.
//   - sync_test.go: a follower that was down while thousands of writes went
//     by and the others purged their logs catches up through a snapshot (the
//     leader logs "sent a snapshot to a learner", the follower "reloading the
//     state from disk"); an old leader that logged proposals no one else saw
//     rejoins with a TRUNC ("transaction log truncated") and those writes
//     show nowhere.
//
// Environment:
//
//	WARREN_ENSEMBLE_ROUNDS  fault rounds per chaos ensemble (default 6)
//	WARREN_ENSEMBLE_SEED    seed of the chaos decisions (logged every run;
//	                        fault timing stays inherently racy)
//
// A long run: WARREN_ENSEMBLE_ROUNDS=200 go test ./tests/ensemble -run Chaos -timeout 2h
package ensemble_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunTests(m)) }

// settle bounds waits for elections, syncs and convergence.
const settle = 20 * time.Second

// startThree starts a 3-member ensemble and returns it with its leader and
// followers.
func startThree(t *testing.T) (*testutil.Ensemble, *testutil.Member, []*testutil.Member) {
	t.Helper()
	e := testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: 3})
	leader, err := e.WaitLeader(settle)
	require.NoError(t, err)
	var followers []*testutil.Member
	for _, m := range e.Members {
		if m != leader {
			followers = append(followers, m)
		}
	}
	return e, leader, followers
}

func TestModes(t *testing.T) {
	e, leader, _ := startThree(t)
	modes := map[string]int{}
	for _, m := range e.Members {
		mode, err := m.Mode()
		require.NoError(t, err)
		modes[mode]++
		if m == leader {
			assert.Equal(t, "leader", mode, "member %d", m.ID)
		}
	}
	assert.Equal(t, map[string]int{"leader": 1, "follower": 2}, modes)
}

func TestWriteThroughFollowerReadElsewhere(t *testing.T) {
	_, leader, followers := startThree(t)
	w, _ := dial(t, longSession, followers[0].Addr)
	readers := map[string]*zk.Conn{}
	for _, m := range []*testutil.Member{followers[1], leader} {
		readers[fmt.Sprintf("member %d", m.ID)], _ = dial(t, longSession, m.Addr)
	}

	_, err := w.Create("/rw", []byte("v0"), 0, openACL)
	require.NoError(t, err)
	st, err := w.Set("/rw", []byte("v1"), 0)
	require.NoError(t, err)
	require.Equal(t, int32(1), st.Version)
	for name, r := range readers {
		data, stat, err := syncedGet(r, "/rw")
		require.NoError(t, err, name)
		assert.Equal(t, "v1", string(data), name)
		assert.Equal(t, int32(1), stat.Version, name)
		assert.Equal(t, st.Mzxid, stat.Mzxid, name)
	}
	require.NoError(t, w.Delete("/rw", 1))
	for name, r := range readers {
		ok, _, err := syncedExists(r, "/rw")
		require.NoError(t, err, name)
		assert.False(t, ok, "%s still has /rw after the delete", name)
	}
	// An acknowledged failure is decided by the leader's state too.
	_, err = w.Set("/rw", []byte("x"), -1)
	assert.ErrorIs(t, err, zk.ErrNoNode)
}

// ephemeralEverywhere waits until every member's view of path (through
// one client per member, after sync) is present or absent as wanted.
func ephemeralEverywhere(t *testing.T, conns []*zk.Conn, path string, present bool, owner int64) {
	t.Helper()
	for i, c := range conns {
		err := eventually(settle, func() error {
			ok, stat, err := syncedExists(c, path)
			if err != nil {
				return err
			}
			if ok != present {
				return fmt.Errorf("client %d: %s present=%v, want %v", i, path, ok, present)
			}
			if ok && stat.EphemeralOwner != owner {
				return fmt.Errorf("client %d: %s owned by 0x%x, want 0x%x", i, path, stat.EphemeralOwner, owner)
			}
			return nil
		})
		require.NoError(t, err)
	}
}

func TestEphemeralsVanishOnClose(t *testing.T) {
	e, _, followers := startThree(t)
	var all []*zk.Conn
	for _, m := range e.Members {
		c, _ := dial(t, longSession, m.Addr)
		all = append(all, c)
	}
	owner, _ := dial(t, longSession, followers[0].Addr)
	_, err := owner.Create("/eph-close", []byte("x"), zk.FlagEphemeral, openACL)
	require.NoError(t, err)
	ephemeralEverywhere(t, all, "/eph-close", true, owner.SessionID())
	owner.Close()
	ephemeralEverywhere(t, all, "/eph-close", false, 0)
}

func TestEphemeralsVanishOnExpiry(t *testing.T) {
	e, _, followers := startThree(t)
	var all []*zk.Conn
	for _, m := range e.Members {
		c, _ := dial(t, longSession, m.Addr)
		all = append(all, c)
	}
	// The owner reaches a follower through a proxy; cutting the proxy
	// leaves the session open on the ensemble with no client behind it,
	// so the leader must expire it after its timeout.
	p := newCutProxy(t, followers[0].Addr)
	owner, _ := dial(t, 2*time.Second, p.Addr())
	_, err := owner.Create("/eph-expire", []byte("x"), zk.FlagEphemeral, openACL)
	require.NoError(t, err)
	ephemeralEverywhere(t, all, "/eph-expire", true, owner.SessionID())
	cut := time.Now()
	p.Cut()
	ephemeralEverywhere(t, all, "/eph-expire", false, 0)
	gone := time.Since(cut)
	t.Logf("ephemeral of a 2 s session gone on every member %v after its client was cut off", gone.Round(time.Millisecond))
	assert.GreaterOrEqual(t, gone, time.Second, "the session must not expire long before its timeout")
	ok, _, err := syncedExists(all[0], "/eph-expire")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestWatchFiresAcrossMembers(t *testing.T) {
	_, leader, followers := startThree(t)
	watcher, _ := dial(t, longSession, followers[0].Addr)
	writer, _ := dial(t, longSession, followers[1].Addr)
	leaderWriter, _ := dial(t, longSession, leader.Addr)

	// An exists watch on a missing node fires on its creation.
	ok, _, created, err := watcher.ExistsW("/watched")
	require.NoError(t, err)
	require.False(t, ok)
	_, err = writer.Create("/watched", []byte("a"), 0, openACL)
	require.NoError(t, err)
	requireEvent(t, created, zk.EventNodeCreated, "/watched")

	// A data watch fires for a set through the leader; a child watch for a
	// create through the other follower.
	_, _, changed, err := watcher.GetW("/watched")
	require.NoError(t, err)
	_, _, children, err := watcher.ChildrenW("/watched")
	require.NoError(t, err)
	_, err = leaderWriter.Set("/watched", []byte("b"), -1)
	require.NoError(t, err)
	requireEvent(t, changed, zk.EventNodeDataChanged, "/watched")
	_, err = writer.Create("/watched/kid", nil, 0, openACL)
	require.NoError(t, err)
	requireEvent(t, children, zk.EventNodeChildrenChanged, "/watched")

	// The watcher read the new data after the event: its member applied
	// the write before notifying.
	data, _, err := watcher.Get("/watched")
	require.NoError(t, err)
	assert.Equal(t, "b", string(data))
}

func requireEvent(t *testing.T, ch <-chan zk.Event, typ zk.EventType, path string) {
	t.Helper()
	select {
	case ev := <-ch:
		assert.Equal(t, typ, ev.Type, "event %+v", ev)
		assert.Equal(t, path, ev.Path, "event %+v", ev)
	case <-time.After(settle):
		t.Fatalf("no %v event for %s within %v", typ, path, settle)
	}
}

func TestSessionSurvivesFollowerKill(t *testing.T) {
	e, leader, followers := startThree(t)
	victim, other := followers[0], followers[1]
	c, events := dial(t, longSession, victim.Addr, other.Addr)
	require.Equal(t, victim.Addr, c.Server())
	var expired atomic.Bool
	go func() {
		for ev := range events {
			if ev.State == zk.StateExpired {
				expired.Store(true)
			}
		}
	}()
	id := c.SessionID()
	_, err := c.Create("/eph-move", []byte("x"), zk.FlagEphemeral, openACL)
	require.NoError(t, err)
	_, err = c.Create("/moved", []byte("before"), 0, openACL)
	require.NoError(t, err)

	victim.Kill()
	// The client reconnects to the other follower with the same session.
	require.NoError(t, eventually(settle, func() error {
		if c.State() != zk.StateHasSession || c.Server() != other.Addr {
			return fmt.Errorf("client state %v on %s", c.State(), c.Server())
		}
		return nil
	}))
	assert.False(t, expired.Load(), "the member the client moved to answered that its session expired")
	assert.Equal(t, id, c.SessionID(), "the session id changed when the client moved")
	_, err = c.Set("/moved", []byte("after"), -1)
	require.NoError(t, err)
	_, stat, err := syncedGet(c, "/eph-move")
	require.NoError(t, err)
	assert.Equal(t, id, stat.EphemeralOwner)

	// The ephemeral is intact on the leader too, and the killed follower
	// comes back with all of it.
	lc, _ := dial(t, longSession, leader.Addr)
	_, stat, err = syncedGet(lc, "/eph-move")
	require.NoError(t, err)
	assert.Equal(t, id, stat.EphemeralOwner)
	require.NoError(t, victim.Restart(settle))
	_, err = e.WaitConverged(settle)
	require.NoError(t, err)
	vc, _ := dial(t, longSession, victim.Addr)
	data, _, err := syncedGet(vc, "/moved")
	require.NoError(t, err)
	assert.Equal(t, "after", string(data))
	_, stat, err = syncedGet(vc, "/eph-move")
	require.NoError(t, err)
	assert.Equal(t, id, stat.EphemeralOwner)
}

func TestObserverServes(t *testing.T) {
	e := testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: 3, Observers: 1})
	_, err := e.WaitLeader(settle)
	require.NoError(t, err)
	obs := e.Members[3]
	require.True(t, obs.Observer)
	mode, err := obs.Mode()
	require.NoError(t, err)
	assert.Equal(t, "observer", mode)
	modes := map[string]int{}
	for _, m := range e.Members[:3] {
		mode, err := m.Mode()
		require.NoError(t, err)
		modes[mode]++
	}
	assert.Equal(t, map[string]int{"leader": 1, "follower": 2}, modes)

	oc, _ := dial(t, longSession, obs.Addr)
	pc, _ := dial(t, longSession, e.Members[0].Addr)
	// Writes through the observer reach the participants.
	_, err = oc.Create("/obs", []byte("o1"), 0, openACL)
	require.NoError(t, err)
	_, err = oc.Set("/obs", []byte("o2"), 0)
	require.NoError(t, err)
	data, _, err := syncedGet(pc, "/obs")
	require.NoError(t, err)
	assert.Equal(t, "o2", string(data))
	// Writes through a participant reach the observer's reads and watches.
	_, _, ch, err := oc.GetW("/obs")
	require.NoError(t, err)
	_, err = pc.Set("/obs", []byte("p3"), -1)
	require.NoError(t, err)
	requireEvent(t, ch, zk.EventNodeDataChanged, "/obs")
	data, stat, err := syncedGet(oc, "/obs")
	require.NoError(t, err)
	assert.Equal(t, "p3", string(data))
	assert.Equal(t, int32(2), stat.Version)
	require.NoError(t, oc.Delete("/obs", 2))
	ok, _, err := syncedExists(pc, "/obs")
	require.NoError(t, err)
	assert.False(t, ok)
	// An ephemeral owned through the observer goes when its session closes.
	eo, _ := dial(t, longSession, obs.Addr)
	_, err = eo.Create("/obs-eph", nil, zk.FlagEphemeral, openACL)
	require.NoError(t, err)
	ephemeralEverywhere(t, []*zk.Conn{pc, oc}, "/obs-eph", true, eo.SessionID())
	eo.Close()
	ephemeralEverywhere(t, []*zk.Conn{pc, oc}, "/obs-eph", false, 0)
	_, err = e.WaitConverged(settle)
	require.NoError(t, err)
}

// TestWatchSurvivesMemberKill: a client's watch lives on the member it is
// connected to; when that member is SIGKILLed the client reconnects
// elsewhere and re-registers its watches relative to the last zxid it saw,
// so a change made while it was away still fires.
func TestWatchSurvivesMemberKill(t *testing.T) {
	_, leader, followers := startThree(t)
	victim, other := followers[0], followers[1]
	w, _ := dial(t, longSession, victim.Addr, other.Addr)
	lc, _ := dial(t, longSession, leader.Addr)
	_, err := lc.Create("/away", []byte("0"), 0, openACL)
	require.NoError(t, err)
	// Reads through a follower are only sequentially consistent: sync so
	// the watcher's member has the create before the watch is set.
	_, err = w.Sync("/away")
	require.NoError(t, err)
	_, _, ch, err := w.GetW("/away")
	require.NoError(t, err)

	victim.Kill()
	// The change lands while the watcher may still be reconnecting.
	_, err = lc.Set("/away", []byte("1"), -1)
	require.NoError(t, err)
	requireEvent(t, ch, zk.EventNodeDataChanged, "/away")
	assert.Equal(t, other.Addr, w.Server())
}

// TestSessionExpiresAfterLeaderChange: a session whose client is gone
// must still expire when the leader that tracked it dies: the new leader
// takes every session over with its timeout.
func TestSessionExpiresAfterLeaderChange(t *testing.T) {
	e, leader, followers := startThree(t)
	observer, _ := dial(t, longSession, followers[1].Addr)
	p := newCutProxy(t, followers[0].Addr)
	owner, _ := dial(t, 3*time.Second, p.Addr())
	_, err := owner.Create("/eph-orphan", nil, zk.FlagEphemeral, openACL)
	require.NoError(t, err)
	ephemeralEverywhere(t, []*zk.Conn{observer}, "/eph-orphan", true, owner.SessionID())
	p.Cut()
	leader.Kill()
	next, err := e.WaitLeader(settle)
	require.NoError(t, err)
	require.NotEqual(t, leader.ID, next.ID)
	ephemeralEverywhere(t, []*zk.Conn{observer}, "/eph-orphan", false, 0)
	require.NoError(t, leader.Restart(settle))
	_, err = e.WaitConverged(settle)
	require.NoError(t, err)
}

// TestReconnectNeverGoesBack: a client that saw a write through the leader
// loses its connection and can only reconnect to a follower that was
// paused before the write. The follower must not serve the client before
// it has applied everything the client saw (ZooKeeper refuses a session
// whose last seen zxid is ahead of the server's), so the client's first
// read, without a sync, already sees its write. Each attempt races the
// follower's catch-up against the reconnect.
func TestReconnectNeverGoesBack(t *testing.T) {
	_, leader, followers := startThree(t)
	lagging := followers[0]
	for attempt := 0; attempt < 5; attempt++ {
		p := newCutProxy(t, leader.Addr)
		c, _ := dial(t, longSession, p.Addr(), lagging.Addr)
		require.Equal(t, p.Addr(), c.Server())
		path := fmt.Sprintf("/seen%d", attempt)
		require.NoError(t, lagging.Pause())
		_, err := c.Create(path, []byte("x"), 0, openACL)
		require.NoError(t, err)
		p.Cut()
		time.Sleep(time.Duration(100*attempt) * time.Millisecond)
		require.NoError(t, lagging.Resume())
		require.NoError(t, eventually(settle, func() error {
			if c.State() != zk.StateHasSession || c.Server() != lagging.Addr {
				return fmt.Errorf("client state %v on %s", c.State(), c.Server())
			}
			return nil
		}))
		_, _, err = c.Get(path)
		require.NoError(t, err, "attempt %d: the client reconnected to member %d and saw an older state than it had seen", attempt, lagging.ID)
		c.Close()
	}
}
