package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
	"github.com/warrenhq/warren/sdk/recipe"
)

// lkChange is a value received from a Changes channel, or its end.
type lkChange struct{ v, open bool }

func lkOpen(v bool) lkChange { return lkChange{v, true} }

var lkClosed = lkChange{}

// lkNext receives the next leadership change (failing after a minute).
func lkNext(t *testing.T, ch <-chan bool) lkChange {
	t.Helper()
	select {
	case v, ok := <-ch:
		return lkChange{v, ok}
	case <-time.After(time.Minute):
		t.Fatal("no leadership change")
		return lkChange{}
	}
}

func testLeaderLatch(t *testing.T, addr string) {
	ctx := testCtx(t)
	const base = "/latch/basic"
	latches := map[string]*recipe.LeaderLatch{}
	var changes <-chan bool
	for _, id := range []string{"a", "b", "c"} {
		l := recipe.NewLeaderLatch(connect(t, addr, 0), base, id)
		if id == "a" {
			changes = l.Changes()
		}
		require.NoError(t, l.Start(ctx))
		require.Regexp(t, `^/latch/basic/_c_`+uuidPattern+`-latch-\d{10}$`, l.Node())
		latches[id] = l
	}
	require.NoError(t, latches["a"].Await(ctx), "the first participant leads")
	assert.Equal(t, lkOpen(true), lkNext(t, changes))
	ps, err := latches["b"].Participants(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 3)
	assert.Equal(t, []string{"a", "b", "c"}, []string{ps[0].ID, ps[1].ID, ps[2].ID})
	assert.Equal(t, []bool{true, false, false}, []bool{ps[0].Leader, ps[1].Leader, ps[2].Leader})
	assert.False(t, latches["b"].IsLeader())
	assert.False(t, latches["c"].IsLeader())

	// Leadership passes in order when the leader leaves.
	require.NoError(t, latches["a"].Close(ctx))
	assert.False(t, latches["a"].IsLeader())
	assert.Equal(t, lkOpen(false), lkNext(t, changes))
	assert.Equal(t, lkClosed, lkNext(t, changes), "a closed latch ends its subscriptions")
	require.NoError(t, latches["b"].Await(ctx))
	assert.False(t, latches["c"].IsLeader())
	require.ErrorIs(t, latches["a"].Await(ctx), recipe.ErrLatchClosed)

	// A follower that leaves does not change the leader.
	require.NoError(t, latches["c"].Close(ctx))
	ps, err = latches["b"].Participants(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, recipe.Participant{Node: latches["b"].Node(), ID: "b", Leader: true}, ps[0])
	require.NoError(t, latches["b"].Close(ctx))
}

// testLeaderSelector has three participants take leadership three times
// each; leaders never overlap and their fencing tokens grow.
func testLeaderSelector(t *testing.T, addr string) {
	ctx := testCtx(t)
	var (
		mu        sync.Mutex
		active    int
		lastFence int64
		terms     int
		problems  []string
		wg        sync.WaitGroup
	)
	errc := make(chan error, 3)
	for i := 0; i < 3; i++ {
		c := connect(t, addr, 0)
		s := recipe.NewLeaderSelector(c, "/selector", fmt.Sprintf("p%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				err := s.Lead(ctx, func(lctx context.Context) error {
					f, ok := s.Fence()
					ps, err := s.Participants(lctx)
					if err != nil {
						return err
					}
					mu.Lock()
					active++
					terms++
					if active > 1 {
						problems = append(problems, "two leaders")
					}
					if !ok || f.Czxid <= lastFence {
						problems = append(problems, fmt.Sprintf("fence %d after %d", f.Czxid, lastFence))
					}
					lastFence = f.Czxid
					if len(ps) == 0 || ps[0].ID != s.ID() || !ps[0].Leader {
						problems = append(problems, fmt.Sprintf("%s leads but participants say %v", s.ID(), ps))
					}
					mu.Unlock()
					_, _, err = c.Exists(lctx, "/selector")
					mu.Lock()
					active--
					mu.Unlock()
					return err
				})
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	assert.Empty(t, problems)
	assert.Equal(t, 9, terms)
}

// lkLatchHolder records exclusivity for a participant of a latch: on
// every leadership it creates the ephemeral <dir>/holder node with its id,
// which fails if another participant's session still holds it (a former
// leader deletes it before it gives up leadership, and an expired session
// loses it with its latch node in the same transaction). onChange sees
// every leadership change.
func lkLatchHolder(ctx context.Context, c *sdk.Conn, l *recipe.LeaderLatch, changes <-chan bool, dir string, onChange func(bool), violation func(string)) {
	for v := range changes {
		onChange(v)
		if !v {
			continue
		}
		_, _, err := c.Create(ctx, dir+"/holder", []byte(l.ID()), sdk.CreateOptions{Mode: sdk.ModeEphemeral})
		if errors.Is(err, sdk.ErrNodeExists) {
			_, st, gerr := c.Get(ctx, dir+"/holder")
			if gerr == nil && st.EphemeralOwner != c.SessionID() {
				violation(fmt.Sprintf("%s leads while session %x holds %s/holder", l.ID(), st.EphemeralOwner, dir))
			}
		}
	}
}

// TestElectionUnderLeaderKills runs a LeaderLatch election among three
// participants connected to different members of a three-member Warren
// ensemble, the first latch leader on the ZAB leader, and kills the
// ensemble's ZAB leader twice. The latch leader whose server died is told
// it may not lead while its connection is down; leadership stays exclusive
// throughout and a participant leads again afterwards.
func TestElectionUnderLeaderKills(t *testing.T) {
	t.Parallel()
	e := testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: 3})
	ctx := testCtx(t)
	zl, err := e.WaitLeader(30 * time.Second)
	require.NoError(t, err)
	order := []string{zl.Addr}
	for _, m := range e.Members {
		if m != zl {
			order = append(order, m.Addr)
		}
	}
	admin := connect(t, strings.Join(order, ","), 0)
	_, _, err = admin.Create(ctx, "/ens", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	var (
		mu         sync.Mutex
		violations []string
		history    = make([][]bool, 3)
	)
	latches := make([]*recipe.LeaderLatch, 3)
	var wg sync.WaitGroup
	for i := range latches {
		// Participant i starts on member order[i] and moves on when it
		// dies; participant 0 starts first, on the ZAB leader, and leads.
		hosts := append(append([]string{}, order[i:]...), order[:i]...)
		c := connect(t, strings.Join(hosts, ","), 15*time.Second, sdk.WithoutShuffle())
		require.Equal(t, order[i], c.Server())
		l := recipe.NewLeaderLatch(c, "/ens/latch", fmt.Sprintf("p%d", i))
		latches[i] = l
		changes := l.Changes()
		wg.Add(1)
		go func() {
			defer wg.Done()
			lkLatchHolder(ctx, c, l, changes, "/ens", func(v bool) {
				mu.Lock()
				history[i] = append(history[i], v)
				mu.Unlock()
			}, func(v string) {
				mu.Lock()
				violations = append(violations, v)
				mu.Unlock()
			})
		}()
		require.NoError(t, l.Start(ctx))
		if i == 0 {
			require.NoError(t, l.Await(ctx))
		}
	}
	t.Cleanup(func() {
		for _, l := range latches {
			_ = l.Close(context.Background())
		}
		wg.Wait()
	})
	awaitAny := func() *recipe.LeaderLatch {
		t.Helper()
		for {
			for _, l := range latches {
				if l.IsLeader() {
					return l
				}
			}
			actx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			_ = latches[0].Await(actx)
			cancel()
			require.NoError(t, ctx.Err(), "no participant leads")
		}
	}
	for kill := 0; kill < 2; kill++ {
		if kill > 0 {
			zl, err = e.WaitLeader(30 * time.Second)
			require.NoError(t, err)
		}
		zl.Kill()
		_, err = e.WaitLeader(30 * time.Second)
		require.NoError(t, err, "the ensemble elects a new ZAB leader")
		require.NoError(t, zl.Restart(30*time.Second))
		awaitAny()
	}
	leader := awaitAny()
	// The holder node belongs to the leader once it is settled.
	for {
		data, _, err := admin.Get(ctx, "/ens/holder")
		if err == nil && string(data) == leader.ID() && leader.IsLeader() {
			break
		}
		if err != nil && !errors.Is(err, sdk.ErrNoNode) {
			require.NoError(t, err)
		}
		_, _, ch, err := admin.ExistsW(ctx, "/ens/holder")
		require.NoError(t, err)
		select {
		case <-ch:
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("the leader never recorded itself")
		}
		leader = awaitAny()
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("last leader %s; leadership changes %v", leader.ID(), history)
	require.NotEmpty(t, history[0])
	assert.True(t, history[0][0], "p0 led first")
	assert.Contains(t, history[0], false, "p0 was told it may not lead when its server died")
	assert.Empty(t, violations)
}
