package ensemble_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
)

// lastRun returns the part of a member's log written by its current run.
func lastRun(m *testutil.Member) string {
	l := m.Log()
	return l[strings.LastIndex(l, "==== run"):]
}

// TestLearnerCatchesUpWithSnapshot: a follower (or an observer) is down
// while thousands of transactions are written, and the voters restart one
// by one meanwhile, purging the log segments older than their retained
// snapshots. The log no longer holds what the learner misses, so the
// leader must send it a snapshot, which the learner installs (reloading
// its state from disk).
func TestLearnerCatchesUpWithSnapshot(t *testing.T) {
	tests := []struct {
		name      string
		observers int
	}{
		{"follower", 0},
		{"observer", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { catchUpWithSnapshot(t, tc.observers == 1) })
	}
}

func catchUpWithSnapshot(t *testing.T, observer bool) {
	opts := testutil.EnsembleOptions{Participants: 3, Extra: []string{
		"snapCount=200", "autopurge.snapRetainCount=3", "autopurge.purgeInterval=1",
	}}
	if observer {
		opts.Observers = 1
	}
	e := testutil.StartEnsemble(t, opts)
	leader, err := e.WaitLeader(settle)
	require.NoError(t, err)
	// behind is the learner that misses the writes; the others restart.
	var behind *testutil.Member
	var others []*testutil.Member
	for _, m := range e.Members {
		if behind == nil && m != leader && m.Observer == observer {
			behind = m
		} else {
			others = append(others, m)
		}
	}
	var addrs []string
	for _, m := range others {
		addrs = append(addrs, m.Addr)
	}
	c, _ := dial(t, longSession, addrs...)
	want := map[string]string{}
	seq := 0
	// write sets n values, retrying through member restarts.
	write := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			seq++
			p, v := fmt.Sprintf("/snap%d", seq%50), strconv.Itoa(seq)
			require.NoError(t, eventually(settle, func() error {
				_, err := c.Set(p, []byte(v), -1)
				if errors.Is(err, zk.ErrNoNode) {
					_, err = c.Create(p, []byte(v), 0, openACL)
				}
				return err
			}))
			want[p] = v
		}
	}
	write(100)
	behind.Kill()
	write(3000)
	// A rolling restart of the others: each purges at start.
	for _, m := range others {
		m.Kill()
		require.NoError(t, m.Restart(settle))
		assert.Contains(t, lastRun(m), "purged old snapshots and transaction logs", "member %d purged nothing at start", m.ID)
		write(300)
	}
	newLeader, err := e.WaitLeader(settle)
	require.NoError(t, err)
	mark := len(newLeader.Log())
	require.NoError(t, behind.Restart(settle))
	conv, err := e.WaitConverged(settle)
	require.NoError(t, err)

	sent := newLeader.Log()[mark:]
	assert.Contains(t, sent, fmt.Sprintf("sent a snapshot to a learner\t{\"learner\": %d,", behind.ID),
		"leader %d did not send member %d a snapshot", newLeader.ID, behind.ID)
	assert.Contains(t, lastRun(behind), "reloading the state from disk", "member %d did not install a snapshot", behind.ID)
	t.Logf("member %d caught up through a snapshot from leader %d; all at zxid 0x%x", behind.ID, newLeader.ID, conv.Zxid)

	bc, _ := dial(t, longSession, behind.Addr)
	for p, v := range want {
		data, _, err := bc.Get(p)
		require.NoError(t, err)
		assert.Equal(t, v, string(data), p)
	}
}

// TestOldLeaderTruncates: the followers are paused while the leader
// proposes writes (logged by the leader; the proposals wait in the paused
// followers' socket buffers) and then SIGKILLed, so no one else ever sees
// them; the leader is paused before it can do anything else. The followers
// come back, elect a new leader among themselves and commit new writes.
// When the old leader resumes it must rejoin by truncating what it logged
// alone (a TRUNC: its log shows "transaction log truncated"), and none of
// those writes may show anywhere, not even after the old leader restarts
// and replays its own log (ZOOKEEPER-2845).
func TestOldLeaderTruncates(t *testing.T) {
	e, old, followers := startThree(t)
	lc, _ := dial(t, longSession, old.Addr)
	_, err := lc.Create("/trunc", []byte("committed"), 0, openACL)
	require.NoError(t, err)
	_, err = e.WaitConverged(settle)
	require.NoError(t, err)

	for _, f := range followers {
		require.NoError(t, f.Pause())
	}
	// Writes the old leader proposes and logs with no one to ack them.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = lc.Set("/trunc", []byte(fmt.Sprintf("lost-%d", i)), -1)
		}()
	}
	time.Sleep(200 * time.Millisecond)
	for _, f := range followers {
		f.Kill()
	}
	mark := len(old.Log())
	require.NoError(t, old.Pause())

	for _, f := range followers {
		require.NoError(t, f.Start())
	}
	for _, f := range followers {
		require.NoError(t, f.WaitServing(settle))
	}
	next, err := e.WaitLeader(settle)
	require.NoError(t, err)
	require.NotEqual(t, old.ID, next.ID)
	fc, _ := dial(t, longSession, followers[0].Addr, followers[1].Addr)
	_, err = fc.Set("/trunc", []byte("new-epoch"), -1)
	require.NoError(t, err)

	require.NoError(t, old.Resume())
	require.NoError(t, eventually(settle, func() error {
		if mode, err := old.Mode(); err != nil || mode != "follower" {
			return fmt.Errorf("old leader %d: mode %q (%v)", old.ID, mode, err)
		}
		return nil
	}))
	conv, err := e.WaitConverged(settle)
	require.NoError(t, err)
	wg.Wait()
	t.Logf("member %d leads; all at zxid 0x%x", next.ID, conv.Zxid)
	rejoin := old.Log()[mark:]
	assert.Contains(t, rejoin, "transaction log truncated", "the old leader did not truncate its log")
	t.Logf("the old leader reloaded its state after the TRUNC: %v (only needed when it had applied beyond the cut)",
		strings.Contains(rejoin, "reloading the state from disk"))
	checkAll := func(when string) {
		t.Helper()
		for _, m := range e.Members {
			c, _ := dial(t, longSession, m.Addr)
			data, _, err := syncedGet(c, "/trunc")
			require.NoError(t, err)
			assert.Equal(t, "new-epoch", string(data), "%s: member %d", when, m.ID)
			c.Close()
		}
	}
	checkAll("after the rejoin")
	// ZOOKEEPER-2845's last step: the old leader restarts and rebuilds its
	// state from its own disk; the writes it logged alone must stay gone.
	old.Kill()
	require.NoError(t, old.Restart(settle))
	_, err = e.WaitConverged(settle)
	require.NoError(t, err)
	checkAll("after the old leader's restart")
}
