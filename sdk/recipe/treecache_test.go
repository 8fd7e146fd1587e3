package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
	"github.com/warrenhq/warren/sdk/recipe"
)

// p2CacheEvent returns the cache's next event.
func p2CacheEvent(t *testing.T, tc *recipe.TreeCache) recipe.CacheEvent {
	t.Helper()
	select {
	case ev, ok := <-tc.Events():
		require.True(t, ok, "cache event stream closed")
		return ev
	case <-time.After(waitFor):
		t.Fatal("no cache event")
		return recipe.CacheEvent{}
	}
}

// p2Mirror rebuilds the view from the event stream alone.
type p2Mirror struct {
	t     *testing.T
	nodes map[string]string
	log   []string // "added /p" etc.
}

func newP2Mirror(t *testing.T) *p2Mirror { return &p2Mirror{t: t, nodes: map[string]string{}} }

func (m *p2Mirror) apply(ev recipe.CacheEvent) {
	p := ev.Node.Path
	switch ev.Type {
	case recipe.CacheNodeAdded:
		_, ok := m.nodes[p]
		assert.False(m.t, ok, "added %s twice", p)
		m.nodes[p] = string(ev.Node.Data)
	case recipe.CacheNodeUpdated:
		_, ok := m.nodes[p]
		assert.True(m.t, ok, "updated %s not added", p)
		m.nodes[p] = string(ev.Node.Data)
	case recipe.CacheNodeRemoved:
		_, ok := m.nodes[p]
		assert.True(m.t, ok, "removed %s not added", p)
		delete(m.nodes, p)
	}
	m.log = append(m.log, strings.TrimSpace(ev.Type.String()+" "+p))
}

// until applies events until one satisfies stop (which is applied too).
func (m *p2Mirror) until(tc *recipe.TreeCache, stop func(recipe.CacheEvent) bool) {
	m.t.Helper()
	for {
		ev := p2CacheEvent(m.t, tc)
		m.apply(ev)
		if stop(ev) {
			return
		}
	}
}

// p2Marker creates a marker node under root and waits for the cache to
// report it: every event before it has been handled, so the view reflects
// every change made before the marker. It returns the marker's path.
func p2Marker(t *testing.T, ctx context.Context, c *sdk.Conn, tc *recipe.TreeCache, m *p2Mirror, root string) string {
	t.Helper()
	p, _, err := c.Create(ctx, root+"/zz-marker-", nil, sdk.CreateOptions{Mode: sdk.ModePersistentSequential})
	require.NoError(t, err)
	m.until(tc, func(ev recipe.CacheEvent) bool { return ev.Type == recipe.CacheNodeAdded && ev.Node.Path == p })
	return p
}

// p2SameTree checks that the cache's view (and the mirror built from its
// events) equals the server's tree, ignoring the marker.
func p2SameTree(t *testing.T, tc *recipe.TreeCache, m *p2Mirror, server map[string]recipeNode, marker string) {
	t.Helper()
	snap := tc.Snapshot()
	delete(snap, marker)
	mirror := maps2(m.nodes)
	delete(mirror, marker)
	delete(server, marker)
	var paths []string
	for p := range server {
		paths = append(paths, p)
	}
	var cached []string
	for p := range snap {
		cached = append(cached, p)
	}
	slices.Sort(paths)
	slices.Sort(cached)
	require.Equal(t, paths, cached, "same paths")
	for _, p := range paths {
		s, n := server[p], snap[p]
		assert.Equal(t, s.data, string(n.Data), "data of %s", p)
		assert.Equal(t, s.version, n.Stat.Version, "version of %s", p)
		assert.Equal(t, s.czxid, n.Stat.Czxid, "czxid of %s", p)
		kids := slices.DeleteFunc(tc.Children(p), func(k string) bool { return p2Join(p, k) == marker })
		if len(s.kids) == 0 {
			assert.Empty(t, kids, "children of %s", p)
		} else {
			skids := slices.DeleteFunc(slices.Clone(s.kids), func(k string) bool { return p2Join(p, k) == marker })
			assert.Equal(t, skids, kids, "children of %s", p)
		}
		assert.Equal(t, s.data, mirror[p], "event-built data of %s", p)
	}
	assert.Len(t, mirror, len(paths), "the events describe the same tree")
}

func maps2(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func p2Join(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// p2Ensure creates the nodes that do not exist yet.
func p2Ensure(t *testing.T, ctx context.Context, c *sdk.Conn, paths ...string) {
	t.Helper()
	for _, p := range paths {
		_, _, err := c.Create(ctx, p, nil, sdk.CreateOptions{})
		if !errors.Is(err, sdk.ErrNodeExists) {
			require.NoError(t, err, "create %s", p)
		}
	}
}

func p2MustCreate(t *testing.T, ctx context.Context, c *sdk.Conn, paths ...string) {
	t.Helper()
	for _, p := range paths {
		_, _, err := c.Create(ctx, p, []byte(p[strings.LastIndex(p, "/")+1:]), sdk.CreateOptions{})
		require.NoError(t, err, "create %s", p)
	}
}

// testTreeCacheEvents: the initial load, then one change at a time and the
// exact event it produces.
func testTreeCacheEvents(t *testing.T, addr string) {
	ctx := testCtx(t)
	c, w := connect(t, addr, longSession), connect(t, addr, longSession)
	const root = "/p2/tc/ev"
	p2Ensure(t, ctx, w, "/p2", "/p2/tc")
	p2MustCreate(t, ctx, w, root, root+"/a", root+"/a/x", root+"/b")
	tc, err := recipe.StartTreeCache(ctx, c, root)
	require.NoError(t, err)
	defer func() { require.NoError(t, tc.Close(ctx)) }()
	next := func() string {
		ev := p2CacheEvent(t, tc)
		if ev.Type == recipe.CacheNodeAdded || ev.Type == recipe.CacheNodeUpdated {
			return fmt.Sprintf("%v %s=%s", ev.Type, ev.Node.Path, ev.Node.Data)
		}
		return strings.TrimSpace(fmt.Sprintf("%v %s", ev.Type, ev.Node.Path))
	}
	for _, want := range []string{"added /p2/tc/ev=ev", "added /p2/tc/ev/a=a", "added /p2/tc/ev/a/x=x", "added /p2/tc/ev/b=b", "initialized"} {
		assert.Equal(t, want, next())
	}
	assert.Equal(t, []string{"a", "b"}, tc.Children(root))
	n, ok := tc.Get(root + "/a/x")
	require.True(t, ok)
	assert.Equal(t, "x", string(n.Data))

	steps := []struct {
		do   func() error
		want []string
	}{
		{func() error { _, err := w.Set(ctx, root+"/a", []byte("a2"), -1); return err }, []string{"updated /p2/tc/ev/a=a2"}},
		{func() error { _, err := w.Set(ctx, root+"/a", []byte("a2"), -1); return err }, []string{"updated /p2/tc/ev/a=a2"}},
		{func() error { _, _, err := w.Create(ctx, root+"/b/y", []byte("y"), sdk.CreateOptions{}); return err }, []string{"added /p2/tc/ev/b/y=y"}},
		{func() error { return w.Delete(ctx, root+"/a/x", -1) }, []string{"removed /p2/tc/ev/a/x"}},
		{func() error {
			_, err := w.Multi(ctx, w.DeleteOp(root+"/b/y", -1), w.DeleteOp(root+"/b", -1))
			return err
		}, []string{"removed /p2/tc/ev/b/y", "removed /p2/tc/ev/b"}},
		{func() error {
			_, err := w.Multi(ctx, w.DeleteOp(root+"/a", -1), w.DeleteOp(root, -1))
			return err
		}, []string{"removed /p2/tc/ev/a", "removed /p2/tc/ev"}},
		{func() error { _, _, err := w.Create(ctx, root, []byte("again"), sdk.CreateOptions{}); return err }, []string{"added /p2/tc/ev=again"}},
	}
	for i, s := range steps {
		require.NoError(t, s.do(), "step %d", i)
		for _, want := range s.want {
			assert.Equal(t, want, next(), "step %d", i)
		}
	}
	assert.Equal(t, 1, tc.Len())
	assert.Empty(t, tc.Children(root))
	_, ok = tc.Get(root + "/a")
	assert.False(t, ok)
}

// p2RandomWriter makes n random changes below root (never deleting root)
// with its own Conn; started is closed after the first quarter.
func p2RandomWriter(ctx context.Context, c *sdk.Conn, root string, seed uint64, n int, started chan<- struct{}) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	nodes := []string{root}
	kids := map[string]int{}
	pick := func() string { return nodes[rng.IntN(len(nodes))] }
	leaf := func() (string, bool) {
		for range 10 {
			p := pick()
			if p != root && kids[p] == 0 {
				return p, true
			}
		}
		return "", false
	}
	drop := func(p string) {
		nodes = slices.DeleteFunc(nodes, func(x string) bool { return x == p })
		kids[p[:strings.LastIndex(p, "/")]]--
		delete(kids, p)
	}
	for i := range n {
		if i == n/4 {
			close(started)
		}
		var err error
		switch r := rng.IntN(10); {
		case r < 4 || len(nodes) < 3:
			parent := pick()
			p := fmt.Sprintf("%s/n%d", parent, i)
			if _, _, err = c.Create(ctx, p, fmt.Appendf(nil, "d%d", i), sdk.CreateOptions{}); err == nil {
				nodes = append(nodes, p)
				kids[parent]++
			}
		case r < 7:
			_, err = c.Set(ctx, pick(), fmt.Appendf(nil, "s%d", i), -1)
		case r < 9:
			if p, ok := leaf(); ok {
				if err = c.Delete(ctx, p, -1); err == nil {
					drop(p)
				}
			}
		default:
			// A multi: delete a leaf and re-create it with new data (a
			// new czxid under the same path), plus a data change.
			if p, ok := leaf(); ok {
				_, err = c.Multi(ctx, c.DeleteOp(p, -1), c.CreateOp(p, fmt.Appendf(nil, "r%d", i), sdk.CreateOptions{}),
					c.SetOp(root, fmt.Appendf(nil, "m%d", i), -1))
			}
		}
		if err != nil {
			return fmt.Errorf("random writer op %d: %w", i, err)
		}
	}
	return nil
}

// testTreeCacheRandom: a writer changes the subtree at random while the
// cache loads and runs; at the end the view, and the tree rebuilt from the
// events alone, equal the server's tree.
func testTreeCacheRandom(t *testing.T, addr string) {
	ctx := testCtx(t)
	c, w := connect(t, addr, longSession), connect(t, addr, longSession)
	const root = "/p2/tc/rand"
	p2Ensure(t, ctx, w, "/p2", "/p2/tc")
	p2MustCreate(t, ctx, w, root)
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- p2RandomWriter(ctx, w, root, 1, 400, started) }()
	<-started
	tc, err := recipe.StartTreeCache(ctx, c, root)
	require.NoError(t, err)
	defer func() { require.NoError(t, tc.Close(ctx)) }()
	m := newP2Mirror(t)
	// Consume while the writer runs.
	writerDone := false
	for !writerDone {
		select {
		case err := <-done:
			require.NoError(t, err)
			writerDone = true
		case ev := <-tc.Events():
			m.apply(ev)
		}
	}
	marker := p2Marker(t, ctx, w, tc, m, root)
	p2SameTree(t, tc, m, serverTree(t, ctx, w, root), marker)
	assert.Contains(t, m.log, "initialized")
}

// testTreeCacheCut: the cache's connection is cut and kept down while
// another client changes the tree; after the reconnection the cache
// re-reads the tree, reports the differences, and equals the server's
// tree.
func testTreeCacheCut(t *testing.T, addr string) {
	ctx := testCtx(t)
	px := testutil.StartProxy(t, addr)
	c, w := connect(t, px.Addr(), longSession), connect(t, addr, longSession)
	const root = "/p2/tc/cut"
	p2Ensure(t, ctx, w, "/p2", "/p2/tc")
	p2MustCreate(t, ctx, w, root, root+"/keep", root+"/del", root+"/mod", root+"/recreate", root+"/del2", root+"/del2/sub")
	states := c.States()
	tc, err := recipe.StartTreeCache(ctx, c, root)
	require.NoError(t, err)
	defer func() { require.NoError(t, tc.Close(ctx)) }()
	m := newP2Mirror(t)
	m.until(tc, func(ev recipe.CacheEvent) bool { return ev.Type == recipe.CacheInitialized })
	require.Len(t, m.nodes, 7)

	px.Refuse()
	px.Cut()
	waitState(t, states, sdk.StateSuspended)
	require.NoError(t, w.Delete(ctx, root+"/del", -1))
	_, err = w.Set(ctx, root+"/mod", []byte("mod2"), -1)
	require.NoError(t, err)
	require.NoError(t, w.Delete(ctx, root+"/recreate", -1))
	_, _, err = w.Create(ctx, root+"/recreate", []byte("again"), sdk.CreateOptions{})
	require.NoError(t, err)
	_, err = w.Multi(ctx, w.DeleteOp(root+"/del2/sub", -1), w.DeleteOp(root+"/del2", -1))
	require.NoError(t, err)
	p2MustCreate(t, ctx, w, root+"/new", root+"/new/deep")
	px.Accept()
	waitState(t, states, sdk.StateReconnected)

	m.until(tc, func(ev recipe.CacheEvent) bool { return ev.Type == recipe.CacheResynced })
	// Changes after the reconnection are followed again.
	_, err = w.Set(ctx, root+"/keep", []byte("keep2"), -1)
	require.NoError(t, err)
	marker := p2Marker(t, ctx, w, tc, m, root)
	p2SameTree(t, tc, m, serverTree(t, ctx, w, root), marker)
	idx := func(s string) int { return slices.Index(m.log, s) }
	for _, s := range []string{"removed " + root + "/del", "updated " + root + "/mod", "added " + root + "/new",
		"added " + root + "/new/deep", "updated " + root + "/keep"} {
		assert.GreaterOrEqual(t, idx(s), 0, "%s reported (log %v)", s, m.log)
	}
	assert.Less(t, idx("removed "+root+"/del2/sub"), idx("removed "+root+"/del2"), "children removed first")
	assert.GreaterOrEqual(t, idx("removed "+root+"/del2/sub"), 0)
	// The re-created node: Removed (old) then Added (new).
	rm, ad := idx("removed "+root+"/recreate"), slices.Index(m.log[max(idx("removed "+root+"/recreate"), 0):], "added "+root+"/recreate")
	assert.GreaterOrEqual(t, rm, 0, "re-created node reported removed")
	assert.GreaterOrEqual(t, ad, 0, "then added")
}

// testTreeCacheExpiry: the cache's session expires while it is cut off; it
// reports CacheStopped with ErrSessionExpired, keeps its last view, and a
// new cache on a new session catches up with the server.
func testTreeCacheExpiry(t *testing.T, addr string) {
	ctx := testCtx(t)
	px := testutil.StartProxy(t, addr)
	c, err := sdk.Connect(ctx, px.Addr(), sdk.WithSessionTimeout(2*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	w := connect(t, addr, longSession)
	const root = "/p2/tc/exp"
	p2Ensure(t, ctx, w, "/p2", "/p2/tc")
	p2MustCreate(t, ctx, w, root, root+"/a", root+"/b")
	tc, err := recipe.StartTreeCache(ctx, c, root)
	require.NoError(t, err)
	m := newP2Mirror(t)
	m.until(tc, func(ev recipe.CacheEvent) bool { return ev.Type == recipe.CacheInitialized })
	_, _, err = c.Create(ctx, "/p2/tc/exp-owner", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral})
	require.NoError(t, err)
	_, _, gone, err := w.ExistsW(ctx, "/p2/tc/exp-owner")
	require.NoError(t, err)

	cutUntilExpired(t, px, gone)
	p2MustCreate(t, ctx, w, root+"/c")
	px.Accept()

	var last recipe.CacheEvent
	for ev := range tc.Events() {
		m.apply(ev)
		last = ev
	}
	assert.Equal(t, recipe.CacheStopped, last.Type)
	assert.ErrorIs(t, last.Err, sdk.ErrSessionExpired)
	assert.ErrorIs(t, tc.Err(), sdk.ErrSessionExpired)
	_, ok := tc.Get(root + "/a")
	assert.True(t, ok, "the last view stays readable")
	assert.NoError(t, tc.Close(ctx))

	// Carry on with a new session.
	tc2, err := recipe.StartTreeCache(ctx, connect(t, addr, longSession), root)
	require.NoError(t, err)
	defer func() { require.NoError(t, tc2.Close(ctx)) }()
	m2 := newP2Mirror(t)
	m2.until(tc2, func(ev recipe.CacheEvent) bool { return ev.Type == recipe.CacheInitialized })
	marker := p2Marker(t, ctx, w, tc2, m2, root)
	p2SameTree(t, tc2, m2, serverTree(t, ctx, w, root), marker)
}

// Mirror a configuration subtree and follow its changes.
func ExampleStartTreeCache() {
	ctx := context.Background()
	c, err := sdk.Connect(ctx, "127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	tc, err := recipe.StartTreeCache(ctx, c, "/config")
	if err != nil {
		log.Fatal(err)
	}
	defer tc.Close(ctx)
	for ev := range tc.Events() {
		switch ev.Type {
		case recipe.CacheNodeAdded, recipe.CacheNodeUpdated:
			log.Printf("%s = %s", ev.Node.Path, ev.Node.Data)
		case recipe.CacheNodeRemoved:
			log.Printf("%s removed", ev.Node.Path)
		case recipe.CacheStopped:
			log.Printf("cache stopped: %v", ev.Err) // e.g. session expired: reconnect and start anew
		}
	}
	if n, ok := tc.Get("/config/limits"); ok {
		log.Printf("limits: %s (children %v)", n.Data, tc.Children("/config/limits"))
	}
}

// testTreeCacheChroot: a cache of "/" on a chrooted Conn sees the chroot's
// subtree with chroot-relative paths.
func testTreeCacheChroot(t *testing.T, addr string) {
	ctx := testCtx(t)
	w := connect(t, addr, longSession)
	p2Ensure(t, ctx, w, "/p2", "/p2/tc")
	p2MustCreate(t, ctx, w, "/p2/tc/chroot", "/p2/tc/chroot/a")
	c := connect(t, addr+"/p2/tc/chroot", longSession)
	tc, err := recipe.StartTreeCache(ctx, c, "/")
	require.NoError(t, err)
	defer func() { require.NoError(t, tc.Close(ctx)) }()
	m := newP2Mirror(t)
	m.until(tc, func(ev recipe.CacheEvent) bool { return ev.Type == recipe.CacheInitialized })
	assert.Equal(t, []string{"added /", "added /a", "initialized"}, m.log)
	p2MustCreate(t, ctx, w, "/p2/tc/chroot/a/b")
	ev := p2CacheEvent(t, tc)
	assert.Equal(t, recipe.CacheNodeAdded, ev.Type)
	assert.Equal(t, "/a/b", ev.Node.Path)
	assert.Equal(t, []string{"b"}, tc.Children("/a"))
	assert.Equal(t, []string{"a"}, tc.Children("/"))
}

// testTreeCacheRenew: with WithCacheSession the cache outlives its
// session: it reports the expiry, takes a new session, reports what
// changed meanwhile and follows the tree again.
func testTreeCacheRenew(t *testing.T, addr string) {
	ctx := testCtx(t)
	px, dial, c := renewable(t, addr)
	w := connect(t, addr, longSession)
	const root = "/p2/tc/renew"
	p2Ensure(t, ctx, w, "/p2", "/p2/tc")
	p2MustCreate(t, ctx, w, root, root+"/a", root+"/b")
	renewed := 0
	tc, err := recipe.StartTreeCache(ctx, c, root, recipe.WithCacheSession(func(ctx context.Context) (*sdk.Conn, error) {
		renewed++
		return dial(ctx)
	}))
	require.NoError(t, err)
	m := newP2Mirror(t)
	m.until(tc, func(ev recipe.CacheEvent) bool { return ev.Type == recipe.CacheInitialized })
	_, _, err = c.Create(ctx, "/p2/tc/renew-owner", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral})
	require.NoError(t, err)
	_, _, gone, err := w.ExistsW(ctx, "/p2/tc/renew-owner")
	require.NoError(t, err)

	cutUntilExpired(t, px, gone)
	p2MustCreate(t, ctx, w, root+"/c")
	require.NoError(t, w.Delete(ctx, root+"/b", -1))
	_, err = w.Set(ctx, root+"/a", []byte("a2"), -1)
	require.NoError(t, err)
	px.Accept()

	m.until(tc, func(ev recipe.CacheEvent) bool { return ev.Type == recipe.CacheResynced })
	assert.Contains(t, m.log, "session expired")
	for _, s := range []string{"added " + root + "/c", "removed " + root + "/b", "updated " + root + "/a"} {
		assert.Contains(t, m.log, s)
	}
	assert.NoError(t, tc.Err())
	// Followed live again on the new session.
	p2MustCreate(t, ctx, w, root+"/d")
	marker := p2Marker(t, ctx, w, tc, m, root)
	p2SameTree(t, tc, m, serverTree(t, ctx, w, root), marker)
	require.NoError(t, tc.Close(ctx))
	assert.Equal(t, 1, renewed)
	var last recipe.CacheEvent
	for ev := range tc.Events() {
		last = ev
	}
	assert.Equal(t, recipe.CacheStopped, last.Type)
	assert.ErrorIs(t, tc.Err(), recipe.ErrCacheStopped)
}
