package recipe_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
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

// p2Proxy is a TCP relay between a client and a server that a test can cut
// and make refuse new connections (a copy of sdk's test proxy).
type p2Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	links  []net.Conn
	refuse bool
}

func p2StartProxy(t *testing.T, target string) *p2Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &p2Proxy{ln: ln, target: target}
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
	})
	return p
}

func (p *p2Proxy) addr() string { return p.ln.Addr().String() }

func (p *p2Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			_ = c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.links = append(p.links, c, s)
		p.mu.Unlock()
		go func() {
			_, _ = io.Copy(s, c)
			_ = s.Close()
		}()
		go func() {
			_, _ = io.Copy(c, s)
			_ = c.Close()
		}()
	}
}

// cut closes every relayed connection.
func (p *p2Proxy) cut() {
	p.mu.Lock()
	links := p.links
	p.links = nil
	p.mu.Unlock()
	for _, l := range links {
		_ = l.Close()
	}
}

// setRefuse makes the proxy close new connections at once (true) or relay
// them again (false).
func (p *p2Proxy) setRefuse(on bool) {
	p.mu.Lock()
	p.refuse = on
	p.mu.Unlock()
}
