package recipe_test

// Helpers shared by the recipe tests: the run against both servers,
// bounded contexts, sessions, waits on children, states and background
// results, and a snapshot of a subtree.

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

// serverTest is one entry of a table runAgainstServers runs.
type serverTest struct {
	name string
	fn   func(t *testing.T, addr string)
}

// runAgainstServers starts Warren and Apache ZooKeeper 3.8 and runs every
// test against each, in parallel, with the same expectations. A 500 ms tick
// allows the 2 s sessions of the expiry tests.
func runAgainstServers(t *testing.T, tests []serverTest) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			t.Parallel()
			addr := tg.Start(t, testutil.ServerConfig{TickTime: 500 * time.Millisecond, ContainerCheckInterval: time.Hour})
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, addr)
				})
			}
		})
	}
}

// uuidPattern matches a canonical version 4 UUID.
const uuidPattern = `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`

// testCtx bounds a test's calls (a hang fails the test instead of the run).
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// longSession is the session timeout of the part-2 tests: long enough to
// outlive their connection cuts.
const longSession = 20 * time.Second

// connect opens a session with the given timeout (10 s when zero); the
// test's cleanup closes it.
func connect(t *testing.T, addr string, timeout time.Duration, opts ...sdk.Option) *sdk.Conn {
	t.Helper()
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	c, err := sdk.Connect(testCtx(t), addr, append([]sdk.Option{sdk.WithSessionTimeout(timeout)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitChildren waits, with child watches, until the children of p
// satisfy ok, and returns them.
func waitChildren(t *testing.T, c *sdk.Conn, p string, ok func([]string) bool) []string {
	t.Helper()
	ctx := testCtx(t)
	for {
		kids, _, ch, err := c.ChildrenW(ctx, p)
		if errors.Is(err, sdk.ErrNoNode) {
			_, exists, ech, err := c.ExistsW(ctx, p)
			require.NoError(t, err)
			if !exists {
				select {
				case <-ech:
				case <-ctx.Done():
					t.Fatalf("%s never appeared", p)
				}
			}
			continue
		}
		require.NoError(t, err)
		if ok(kids) {
			return kids
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("children of %s never matched; last %v", p, kids)
		}
	}
}

// childCount is a predicate on the number of children.
func childCount(n int) func([]string) bool { return func(k []string) bool { return len(k) == n } }

// notDone fails if an Acquire running in the background has returned
// (the lock is held by someone else, so it must not have).
func notDone(t *testing.T, errc <-chan error, what string) {
	t.Helper()
	select {
	case err := <-errc:
		t.Fatalf("%s returned while the lock was held elsewhere: %v", what, err)
	default:
	}
}

// awaitResult waits for a background call's result.
func awaitResult(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("no result")
		return nil
	}
}

// waitFor bounds the waits of the part-2 tests (a failure detector, not
// a timing assertion).
const waitFor = 20 * time.Second

// cutUntilExpired keeps the clients behind px away from the server (new
// connections refused, current ones cut) until gone, a watch on an
// ephemeral node of the session, reports the node deleted: the server
// expired the session. The proxy still refuses afterwards; Accept lets the
// client back to hear about the expiry.
func cutUntilExpired(t *testing.T, px *testutil.Proxy, gone <-chan sdk.Event) {
	t.Helper()
	px.Refuse()
	px.Cut()
	select {
	case ev := <-gone:
		require.Equal(t, sdk.EventNodeDeleted, ev.Type, "the server expired the session")
	case <-time.After(waitFor):
		t.Fatal("session not expired")
	}
}

// waitState waits until the state stream ch reports want.
func waitState(t *testing.T, ch <-chan sdk.State, want sdk.State) {
	t.Helper()
	deadline := time.After(waitFor)
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

// serverTree reads the subtree at root from the server: path -> node.
func serverTree(t *testing.T, ctx context.Context, c *sdk.Conn, root string) map[string]recipeNode {
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

// renewable sets up a recipe that renews its session: a proxy to addr
// (Refuse and Cut it to expire sessions), dial for 2 s sessions through
// it (the recipe's renewal function), and a first Conn from dial, closed
// by the test's cleanup.
func renewable(t *testing.T, addr string) (*testutil.Proxy, func(context.Context) (*sdk.Conn, error), *sdk.Conn) {
	t.Helper()
	px := testutil.StartProxy(t, addr)
	dial := func(ctx context.Context) (*sdk.Conn, error) {
		return sdk.Connect(ctx, px.Addr(), sdk.WithSessionTimeout(2*time.Second))
	}
	c, err := dial(testCtx(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return px, dial, c
}
