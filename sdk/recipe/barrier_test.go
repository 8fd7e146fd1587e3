package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
	"github.com/warrenhq/warren/sdk/recipe"
)

// testDoubleBarrier runs two rounds of a 5-member barrier, each member on
// its own Conn: nobody passes Enter before all entered, nobody passes
// Leave before all left; the layout is Curator's (UUID members + ready).
func testDoubleBarrier(t *testing.T, addr string) {
	const n, rounds = 5, 2
	const bpath = "/p2/barrier"
	ctx := testCtx(t)
	observer := connect(t, addr, longSession)
	conns := make([]*sdk.Conn, n)
	for i := range conns {
		conns[i] = connect(t, addr, longSession)
	}
	for round := range rounds {
		var entering, leaving atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, n)
		layout := make(chan []string, 1)
		names := make(chan string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, err := recipe.NewDoubleBarrier(conns[i], bpath, n)
				if err != nil {
					errs <- err
					return
				}
				names <- path.Base(b.Path())
				entering.Add(1)
				if err := b.Enter(ctx); err != nil {
					errs <- fmt.Errorf("member %d enter: %w", i, err)
					return
				}
				if got := entering.Load(); got != n {
					errs <- fmt.Errorf("round %d: member %d passed Enter with %d of %d entering", round, i, got, n)
				}
				if i == 0 {
					kids, _, err := observer.Children(ctx, bpath)
					if err != nil {
						errs <- err
					}
					layout <- kids
				}
				leaving.Add(1)
				if err := b.Leave(ctx); err != nil {
					errs <- fmt.Errorf("member %d leave: %w", i, err)
					return
				}
				if got := leaving.Load(); got != n {
					errs <- fmt.Errorf("round %d: member %d passed Leave with %d of %d leaving", round, i, got, n)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		close(names)
		want := []string{"ready"}
		for nm := range names {
			want = append(want, nm)
		}
		slices.Sort(want)
		kids := <-layout
		slices.Sort(kids)
		// Member 0 looked while inside: nobody can have left yet (the
		// lowest leaves last and everyone waits for it), but members whose
		// Leave already ran may have deleted their node; at least the
		// ready node and member 0's node are there.
		assert.Contains(t, kids, "ready")
		for _, k := range kids {
			assert.Contains(t, want, k, "only members and ready under the barrier")
		}
		left, _, err := observer.Children(ctx, bpath)
		require.NoError(t, err)
		assert.Empty(t, left, "round %d: everything removed after Leave", round)
	}
}

// testDoubleBarrierCancel: an Enter that cannot complete ends with its
// context and takes its node away.
func testDoubleBarrierCancel(t *testing.T, addr string) {
	c := connect(t, addr, longSession)
	b, err := recipe.NewDoubleBarrier(c, "/p2/barrier-cancel", 2)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	err = b.Enter(ctx)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	kids, _, err := c.Children(testCtx(t), "/p2/barrier-cancel")
	require.NoError(t, err)
	assert.Empty(t, kids, "the abandoned member's node is gone")

	_, err = recipe.NewDoubleBarrier(c, "/p2/x", 0)
	assert.ErrorIs(t, err, sdk.ErrBadArguments)
}

// testDoubleBarrierCut: a member waiting in Enter loses its connection
// (the session lives): it rides it out and passes once the other member
// enters. A member whose session expires finds its node gone in Leave.
func testDoubleBarrierCut(t *testing.T, addr string) {
	ctx := testCtx(t)
	const bpath = "/p2/barrier-cut"
	px := testutil.StartProxy(t, addr)
	cut, err := sdk.Connect(ctx, px.Addr(), sdk.WithSessionTimeout(2*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cut.Close() })
	states := cut.States()
	other, observer := connect(t, addr, longSession), connect(t, addr, longSession)
	a, err := recipe.NewDoubleBarrier(cut, bpath, 2)
	require.NoError(t, err)
	b, err := recipe.NewDoubleBarrier(other, bpath, 2)
	require.NoError(t, err)
	entered := make(chan error, 1)
	go func() { entered <- a.Enter(ctx) }()
	for {
		_, ok, err := observer.Exists(ctx, a.Path())
		require.NoError(t, err)
		if ok {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	px.Cut()
	waitState(t, states, sdk.StateSuspended)
	waitState(t, states, sdk.StateReconnected)
	require.NoError(t, b.Enter(ctx))
	select {
	case err := <-entered:
		require.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("the cut member never passed Enter")
	}

	// Now a's session expires while it is cut off.
	_, _, gone, err := observer.ExistsW(ctx, a.Path())
	require.NoError(t, err)
	cutUntilExpired(t, px, gone)
	px.Accept()
	waitState(t, states, sdk.StateExpired)
	err = a.Leave(ctx)
	assert.ErrorIs(t, err, sdk.ErrSessionExpired)
	// b is alone now: it leaves.
	require.NoError(t, b.Leave(ctx))
}

// Five workers start and finish a computation together.
func ExampleDoubleBarrier() {
	ctx := context.Background()
	c, err := sdk.Connect(ctx, "127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	b, err := recipe.NewDoubleBarrier(c, "/jobs/42/barrier", 5)
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Enter(ctx); err != nil { // blocks until 5 workers entered
		log.Fatal(err)
	}
	// ... compute ...
	if err := b.Leave(ctx); err != nil { // blocks until all 5 left
		log.Fatal(err)
	}
}
