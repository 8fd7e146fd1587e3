package ensemble_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadWriter sets its own key to 1, 2, 3, ... one write at a time and
// remembers what was acknowledged, and when.
type loadWriter struct {
	conn    *zk.Conn
	path    string
	expired atomic.Bool

	mu        sync.Mutex
	attempted int   // highest value sent
	acked     int   // highest value acknowledged
	ackTimes  []ack // every acknowledgement
	errs      map[string]int
}

type ack struct {
	called, returned time.Time
}

func (w *loadWriter) run(stop <-chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	for n := 1; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		w.mu.Lock()
		w.attempted = n
		w.mu.Unlock()
		called := time.Now()
		_, err := w.conn.Set(w.path, []byte(strconv.Itoa(n)), -1)
		returned := time.Now()
		w.mu.Lock()
		if err == nil {
			w.acked = n
			w.ackTimes = append(w.ackTimes, ack{called, returned})
		} else {
			w.errs[err.Error()]++
		}
		w.mu.Unlock()
		if err != nil {
			time.Sleep(5 * time.Millisecond) // no spinning while the ensemble elects
		}
	}
}

// firstAckAfter returns the return time of the first acknowledged write
// that was issued after t.
func (w *loadWriter) firstAckAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range w.ackTimes {
		if a.called.After(t) {
			return a.returned, true
		}
	}
	return time.Time{}, false
}

func TestLeaderFailover(t *testing.T) {
	e, leader, followers := startThree(t)
	setup, _ := dial(t, longSession, followers[0].Addr)
	_, err := setup.Create("/load", nil, 0, openACL)
	require.NoError(t, err)

	const writers = 4
	var ws []*loadWriter
	for i := 0; i < writers; i++ {
		f := followers[i%2]
		// A writer sits on a follower; should that fail it may move to the
		// other one (the leader comes last).
		c, events := dial(t, longSession, f.Addr, followers[(i+1)%2].Addr, leader.Addr)
		w := &loadWriter{conn: c, path: fmt.Sprintf("/load/w%d", i), errs: map[string]int{}}
		go func() {
			for ev := range events {
				if ev.State == zk.StateExpired {
					w.expired.Store(true)
				}
			}
		}()
		_, err := c.Create(w.path, []byte("0"), 0, openACL)
		require.NoError(t, err)
		ws = append(ws, w)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go w.run(stop, &wg)
	}
	stopped := false
	stopWriters := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopWriters()

	// Let the load run, then kill the leader.
	require.NoError(t, eventually(settle, func() error {
		for _, w := range ws {
			if _, ok := w.firstAckAfter(time.Time{}); !ok {
				return fmt.Errorf("%s has no acknowledged write yet", w.path)
			}
		}
		return nil
	}))
	time.Sleep(300 * time.Millisecond)
	killedAt := time.Now()
	leader.Kill()

	newLeader, err := e.WaitLeader(settle)
	require.NoError(t, err)
	electedAfter := time.Since(killedAt)
	require.NotEqual(t, leader.ID, newLeader.ID)
	var resumed time.Time
	require.NoError(t, eventually(settle, func() error {
		for _, w := range ws {
			if at, ok := w.firstAckAfter(killedAt); ok && (resumed.IsZero() || at.Before(resumed)) {
				resumed = at
			}
		}
		if resumed.IsZero() {
			return fmt.Errorf("no write issued after the kill was acknowledged")
		}
		return nil
	}))
	t.Logf("leader %d SIGKILLed; member %d reports leader %v later; first write issued after the kill acknowledged %v after it",
		leader.ID, newLeader.ID, electedAfter.Round(time.Millisecond), resumed.Sub(killedAt).Round(time.Millisecond))

	// The old leader restarts under load and rejoins as a follower.
	time.Sleep(500 * time.Millisecond)
	newLeaderLog := len(newLeader.Log())
	require.NoError(t, leader.Restart(settle))
	mode, err := leader.Mode()
	require.NoError(t, err)
	assert.Equal(t, "follower", mode, "the restarted old leader")
	time.Sleep(500 * time.Millisecond)
	stopWriters()

	conv, err := e.WaitConverged(settle)
	require.NoError(t, err)
	t.Logf("all members at zxid 0x%x digest %d", conv.Zxid, conv.Digest)
	assert.Greater(t, conv.Zxid>>32, int64(1), "the zxid's epoch moved on with the new leader")

	// It rejoined with a DIFF (possibly after a TRUNC of what it had not
	// replicated), not a snapshot: the new leader's history covers it.
	assert.NotContains(t, newLeader.Log()[newLeaderLog:], "sent a snapshot to a learner")
	runLog := leader.Log()
	runLog = runLog[strings.LastIndex(runLog, "==== run"):]
	t.Logf("restarted member reloaded its state (TRUNC): %v", strings.Contains(runLog, "reloading the state from disk"))

	// Every acknowledged write is there, on every member; sessions survived.
	for _, m := range e.Members {
		c, _ := dial(t, longSession, m.Addr)
		for _, w := range ws {
			data, _, err := syncedGet(c, w.path)
			require.NoError(t, err)
			got, err := strconv.Atoi(string(data))
			require.NoError(t, err)
			w.mu.Lock()
			acked, attempted, errs := w.acked, w.attempted, w.errs
			w.mu.Unlock()
			assert.GreaterOrEqual(t, got, acked, "member %d %s: lost an acknowledged write", m.ID, w.path)
			assert.LessOrEqual(t, got, attempted, "member %d %s: holds a value never written", m.ID, w.path)
			if m == e.Members[0] {
				t.Logf("%s: %d acknowledged, final %d, errors %v", w.path, acked, got, errs)
			}
		}
	}
	for _, w := range ws {
		assert.False(t, w.expired.Load(), "%s: session expired during the failover", w.path)
	}
}
