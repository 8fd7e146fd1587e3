package recipe_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

// p2WaitFor bounds every wait of the part-2 tests (a failure detector, not
// a timing assertion).
const p2WaitFor = 20 * time.Second

// TestPart2AgainstServers runs the barrier, queue, counter and tree cache
// tests against Warren and Apache ZooKeeper 3.8 with the same expectations.
func TestPart2AgainstServers(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			t.Parallel()
			// A short tick lets the expiry test use a 2 s session.
			addr := tg.Start(t, testutil.ServerConfig{TickTime: 500 * time.Millisecond, ContainerCheckInterval: time.Hour})
			for _, tc := range []struct {
				name string
				fn   func(t *testing.T, addr string)
			}{
				{"DoubleBarrier", testDoubleBarrier},
				{"DoubleBarrierCancel", testDoubleBarrierCancel},
				{"DoubleBarrierCut", testDoubleBarrierCut},
				{"Queue", testQueue},
				{"QueueContention", testQueueContention},
				{"QueueProcesses", testQueueProcesses},
				{"SharedCount", testSharedCount},
				{"SharedCountCut", testSharedCountCut},
				{"AtomicCounter", testAtomicCounter},
				{"AtomicCounterContention", testAtomicCounterContention},
				{"TreeCacheEvents", testTreeCacheEvents},
				{"TreeCacheChroot", testTreeCacheChroot},
				{"TreeCacheRandomWriter", testTreeCacheRandom},
				{"TreeCacheConnectionCut", testTreeCacheCut},
				{"TreeCacheExpiry", testTreeCacheExpiry},
				{"TreeCacheRenewSession", testTreeCacheRenew},
				{"Curator", testCuratorPart2},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, addr)
				})
			}
		})
	}
}

func p2Ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func p2Connect(t *testing.T, addr string, opts ...sdk.Option) *sdk.Conn {
	t.Helper()
	c, err := sdk.Connect(p2Ctx(t), addr, append([]sdk.Option{sdk.WithSessionTimeout(20 * time.Second)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func p2WaitState(t *testing.T, ch <-chan sdk.State, want sdk.State) {
	t.Helper()
	deadline := time.After(p2WaitFor)
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

// p2Tree reads the subtree at root from the server: path -> node.
func p2Tree(t *testing.T, ctx context.Context, c *sdk.Conn, root string) map[string]recipeNode {
	t.Helper()
	out := map[string]recipeNode{}
	var visit func(p string)
	visit = func(p string) {
		data, st, err := c.Get(ctx, p)
		if errors.Is(err, sdk.ErrNoNode) {
			return
		}
		require.NoError(t, err)
		kids, _, err := c.Children(ctx, p)
		require.NoError(t, err)
		slices.Sort(kids)
		out[p] = recipeNode{data: string(data), version: st.Version, czxid: st.Czxid, kids: kids}
		for _, k := range kids {
			if p == "/" {
				visit("/" + k)
			} else {
				visit(p + "/" + k)
			}
		}
	}
	visit(root)
	return out
}

// recipeNode is what the tree comparisons look at.
type recipeNode struct {
	data    string
	version int32
	czxid   int64
	kids    []string
}
