package recipe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/internal/fifo"
	"github.com/warrenhq/warren/sdk"
)

// CacheEventType is the kind of a TreeCache event.
type CacheEventType int

// TreeCache event types.
const (
	// CacheNodeAdded: a node appeared in the view (Node is the new node).
	CacheNodeAdded CacheEventType = iota + 1
	// CacheNodeUpdated: a node's data changed (Node is the new state).
	CacheNodeUpdated
	// CacheNodeRemoved: a node left the view (Node is its last state).
	CacheNodeRemoved
	// CacheInitialized follows the Added events of the initial load.
	CacheInitialized
	// CacheResynced follows the differences found by the re-read after a
	// reconnection.
	CacheResynced
	// CacheStopped is the last event: the cache stopped (Err says why;
	// nil after Close).
	CacheStopped
	// CacheSessionExpired: the session expired and the cache, set up
	// WithCacheSession, is getting a new one; the view is not updated
	// until the CacheResynced that follows.
	CacheSessionExpired
)

var cacheEventNames = map[CacheEventType]string{
	CacheNodeAdded: "added", CacheNodeUpdated: "updated", CacheNodeRemoved: "removed",
	CacheInitialized: "initialized", CacheResynced: "resynced", CacheStopped: "stopped",
	CacheSessionExpired: "session expired",
}

func (t CacheEventType) String() string {
	if s, ok := cacheEventNames[t]; ok {
		return s
	}
	return fmt.Sprintf("CacheEventType(%d)", int(t))
}

// CacheNode is a node of a TreeCache's view: its path (chroot-relative),
// data and the Stat read with the data. The Stat's child-related fields
// (Cversion, NumChildren, Pzxid) are not kept current: child changes are
// reported as Added and Removed events of the children.
type CacheNode struct {
	Path string
	Data []byte
	Stat sdk.Stat
}

// CacheEvent is one TreeCache event.
type CacheEvent struct {
	Type CacheEventType
	// Node is set for Added, Updated and Removed.
	Node CacheNode
	// Err is set on CacheStopped when the cache stopped by itself, and on
	// CacheSessionExpired.
	Err error
}

// ErrCacheStopped is returned by TreeCache.Err after Close.
var ErrCacheStopped = errors.New("recipe: tree cache: stopped")

// CacheOption configures a TreeCache.
type CacheOption func(*TreeCache)

// WithCacheLogger sets the logger for errors the cache skips over.
func WithCacheLogger(l *zap.Logger) CacheOption { return func(tc *TreeCache) { tc.log = l } }

// WithCacheSession makes the cache outlive its session: when the session
// expires, the cache reports CacheSessionExpired and calls connect (again,
// with a growing pause, until it succeeds or the cache is closed) for a
// Conn with a new session, sets its watch there, reads the tree again and
// reports the differences, then CacheResynced. The cache owns the Conns
// connect returns: it closes each when it moves on to the next, and the
// last one on Close. Without this option an expiry stops the cache.
func WithCacheSession(connect func(ctx context.Context) (*sdk.Conn, error)) CacheOption {
	return func(tc *TreeCache) { tc.renew = connect }
}

// TreeCache keeps an in-memory copy of the subtree at a root path, like
// Apache Curator's CuratorCache: it sets one persistent-recursive watch on
// the root (sdk.Conn.AddWatch), loads the subtree, and then, for each
// NodeCreated or NodeDataChanged event, reads the node again, and for each
// NodeDeleted drops it (and anything left below it). Every event is
// handled in server order by one goroutine; reading a node again after its
// event yields the latest state, so once the writers stop and the cache
// has handled their events, the view equals the server's tree. The view
// may run ahead of the event stream (a read can see later changes whose
// events are still queued), never behind what it reported.
//
// Events (Added, Updated, Removed, then Initialized, Resynced, Stopped)
// reflect the view's changes in order; Updated is reported only when the
// node's data version changed. The stream is unbounded: neither the SDK's
// reader nor the cache waits for the consumer, which may read at its own
// pace (a consumer that never reads only costs memory).
//
// Reconnection: servers do not replay, for persistent watches, the changes
// made while the client was disconnected (ZooKeeper's setWatches re-adds
// persistent watches without comparing zxids), so on sdk.StateReconnected
// the cache reads the whole subtree again and reports the differences
// (a node re-created meanwhile is reported as Removed then Added), then
// CacheResynced. A read failing with a connection loss is skipped: the
// re-read after the reconnection covers it.
//
// Expiry: by default, when the session expires (or the Conn is closed)
// the cache reports CacheStopped with sdk.ErrSessionExpired (or
// sdk.ErrClosed) and stops; the view keeps its last state. The sdk never
// replaces an expired session silently, and neither does the cache unless
// asked: with WithCacheSession it gets a new Conn from the caller, re-reads
// the tree and reports the differences (a closed Conn still stops it).
// Otherwise, to carry on, Connect a new Conn and start a new TreeCache,
// whose initial Added events describe the whole tree.
//
// A Conn's server keeps one persistent watch mode per path: do not add
// another persistent watch on the same root through the same Conn.
type TreeCache struct {
	conn *sdk.Conn
	root string
	log  *zap.Logger

	mu    sync.RWMutex
	nodes map[string]*CacheNode
	kids  map[string]map[string]struct{} // parent path -> child names
	err   error

	events *fifo.Queue[CacheEvent]
	// conn, watcher, states and owned change only in the run goroutine
	// (WithCacheSession); Close reads them after run ended.
	watcher *sdk.Watcher
	states  <-chan sdk.State
	renew   func(ctx context.Context) (*sdk.Conn, error)
	owned   *sdk.Conn // the Conn from renew in use, closed by the cache

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	done   chan struct{}
}

// StartTreeCache sets the watch, loads the subtree at root (emitting an
// Added event per node, parents first, then Initialized) and returns the
// running cache. The root need not exist.
func StartTreeCache(ctx context.Context, conn *sdk.Conn, root string, opts ...CacheOption) (*TreeCache, error) {
	cctx, cancel := context.WithCancel(context.Background())
	tc := &TreeCache{conn: conn, root: root, log: zap.NewNop(), nodes: map[string]*CacheNode{},
		kids: map[string]map[string]struct{}{}, events: fifo.New[CacheEvent](),
		ctx: cctx, cancel: cancel, done: make(chan struct{})}
	for _, o := range opts {
		o(tc)
	}
	// Subscribe first so that no reconnection after the watch is missed;
	// the subscription ends with the cache (Close cancels cctx).
	tc.states = conn.StatesContext(cctx)
	fail := func(err error) (*TreeCache, error) {
		cancel()
		tc.events.Abandon()
		return nil, fmt.Errorf("recipe: tree cache %s: %w", root, err)
	}
	err := p2Retry(ctx, func() error {
		var err error
		tc.watcher, err = conn.AddWatch(ctx, root, true)
		return err
	})
	if err != nil {
		return fail(err)
	}
	var tree map[string]*CacheNode
	err = p2Retry(ctx, func() error {
		var err error
		tree, err = tc.walk(ctx)
		return err
	})
	if err != nil {
		_ = tc.watcher.Close(context.WithoutCancel(ctx))
		return fail(err)
	}
	tc.mu.Lock()
	for _, p := range cacheSorted(tree) {
		tc.put(tree[p])
	}
	tc.mu.Unlock()
	tc.events.Push(CacheEvent{Type: CacheInitialized})
	go tc.run()
	return tc, nil
}

// Events returns the event stream; it is closed after CacheStopped.
func (tc *TreeCache) Events() <-chan CacheEvent { return tc.events.Out() }

// Get returns the cached node at path.
func (tc *TreeCache) Get(path string) (CacheNode, bool) {
	tc.mu.RLock()
	defer tc.mu.RUnlock()
	n, ok := tc.nodes[path]
	if !ok {
		return CacheNode{}, false
	}
	return CacheNode{Path: n.Path, Data: slices.Clone(n.Data), Stat: n.Stat}, true
}

// Children returns the names of the cached children of path, sorted.
func (tc *TreeCache) Children(path string) []string {
	tc.mu.RLock()
	defer tc.mu.RUnlock()
	out := make([]string, 0, len(tc.kids[path]))
	for k := range tc.kids[path] {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Snapshot returns a copy of the whole view, by path.
func (tc *TreeCache) Snapshot() map[string]CacheNode {
	tc.mu.RLock()
	defer tc.mu.RUnlock()
	out := make(map[string]CacheNode, len(tc.nodes))
	for p, n := range tc.nodes {
		out[p] = CacheNode{Path: n.Path, Data: slices.Clone(n.Data), Stat: n.Stat}
	}
	return out
}

// Len returns the number of cached nodes.
func (tc *TreeCache) Len() int {
	tc.mu.RLock()
	defer tc.mu.RUnlock()
	return len(tc.nodes)
}

// Err returns why the cache stopped: nil while it runs, ErrCacheStopped
// after Close, otherwise the session's end (sdk.ErrSessionExpired,
// sdk.ErrClosed).
func (tc *TreeCache) Err() error {
	tc.mu.RLock()
	defer tc.mu.RUnlock()
	return tc.err
}

// Close stops the cache, removes its watch and ends the event stream
// (after a final CacheStopped). The view stays readable.
func (tc *TreeCache) Close(ctx context.Context) error {
	tc.cancel()
	<-tc.done
	err := tc.watcher.Close(ctx)
	if tc.owned != nil {
		_ = tc.owned.Close()
	}
	if err != nil {
		return fmt.Errorf("recipe: tree cache %s: close: %w", tc.root, err)
	}
	return nil
}

// run handles watch events and state changes until Close or the session's
// end.
func (tc *TreeCache) run() {
	defer close(tc.done)
	states := tc.states
	for {
		var err error
		select {
		case <-tc.ctx.Done():
			tc.stop(nil)
			return
		case ev, ok := <-tc.watcher.Events():
			switch {
			case !ok:
				err = sdk.ErrClosed
			case ev.Type == sdk.EventSession:
				err = p2SessionErr(ev.State)
			default:
				err = tc.handle(ev)
			}
		case s, ok := <-states:
			if !ok {
				// The Conn is finished; the watch's session event follows.
				states = nil
				continue
			}
			switch s {
			case sdk.StateReconnected:
				err = tc.resync()
			case sdk.StateExpired, sdk.StateClosed:
				err = p2SessionErr(s)
			}
		}
		if err == nil {
			continue
		}
		if tc.renew == nil || !errors.Is(err, sdk.ErrSessionExpired) || tc.renewSession() != nil {
			tc.stop(err)
			return
		}
		states = tc.states
	}
}

// renewSession moves the cache to a new session from tc.renew, re-reads
// the tree and reports the differences. It fails only when the cache is
// closed meanwhile.
func (tc *TreeCache) renewSession() error {
	tc.events.Push(CacheEvent{Type: CacheSessionExpired, Err: sdk.ErrSessionExpired})
	go cacheDrain(tc.states)
	pause := 50 * time.Millisecond
	for {
		if err := tc.ctx.Err(); err != nil {
			return err
		}
		conn, err := tc.renew(tc.ctx)
		if err == nil {
			states := conn.StatesContext(tc.ctx)
			var w *sdk.Watcher
			if w, err = conn.AddWatch(tc.ctx, tc.root, true); err == nil {
				if tc.owned != nil {
					_ = tc.owned.Close()
				}
				tc.conn, tc.owned, tc.watcher, tc.states = conn, conn, w, states
				if err = tc.resync(); err == nil {
					return nil
				}
				// Expired again already: go round with another session.
				go cacheDrain(tc.states)
				continue
			}
			_ = conn.Close()
			go cacheDrain(states)
		}
		tc.log.Debug("tree cache: new session failed", zap.String("root", tc.root), zap.Error(err))
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-tc.ctx.Done():
			t.Stop()
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// stop records why the cache stopped, reports it and ends the stream.
func (tc *TreeCache) stop(err error) {
	if states := tc.states; states != nil {
		// The sdk has no unsubscribe: keep the subscription drained until
		// the Conn finishes.
		go cacheDrain(states)
	}
	tc.mu.Lock()
	if err == nil {
		tc.err = ErrCacheStopped
	} else {
		tc.err = err
	}
	tc.mu.Unlock()
	tc.events.Push(CacheEvent{Type: CacheStopped, Err: err})
	tc.events.Close()
}

// fatal reports whether a read error ends the cache.
func cacheFatal(err error) bool {
	return errors.Is(err, sdk.ErrSessionExpired) || errors.Is(err, sdk.ErrClosed)
}

// handle applies one watch event. It returns an error only when the cache
// must stop.
func (tc *TreeCache) handle(ev sdk.Event) error {
	if !tc.under(ev.Path) {
		return nil
	}
	switch ev.Type {
	case sdk.EventNodeCreated, sdk.EventNodeDataChanged:
		data, st, err := tc.conn.Get(tc.ctx, ev.Path)
		switch {
		case err == nil:
			tc.mu.Lock()
			tc.put(&CacheNode{Path: ev.Path, Data: data, Stat: st})
			tc.mu.Unlock()
		case errors.Is(err, sdk.ErrNoNode):
			// Deleted since: its NodeDeleted event follows.
		case cacheFatal(err):
			return err
		case tc.ctx.Err() != nil:
			return nil // Close: run sees it next
		default:
			// A connection loss is covered by the re-read after the
			// reconnection; anything else (e.g. no read permission) is
			// skipped.
			tc.log.Debug("tree cache: read skipped", zap.String("path", ev.Path), zap.Error(err))
		}
	case sdk.EventNodeDeleted:
		tc.mu.Lock()
		tc.removeSubtree(ev.Path)
		tc.mu.Unlock()
	}
	return nil
}

// resync reads the whole subtree again and reports the differences.
func (tc *TreeCache) resync() error {
	tree, err := tc.walk(tc.ctx)
	switch {
	case err == nil:
	case cacheFatal(err):
		return err
	default:
		// Connection lost again (the next reconnection re-reads) or Close.
		tc.log.Debug("tree cache: re-read abandoned", zap.Error(err))
		return nil
	}
	tc.mu.Lock()
	old := make([]string, 0, len(tc.nodes))
	for p := range tc.nodes {
		old = append(old, p)
	}
	// Deepest first: a path sorts before its descendants.
	slices.Sort(old)
	slices.Reverse(old)
	for _, p := range old {
		n := tree[p]
		if n == nil || n.Stat.Czxid != tc.nodes[p].Stat.Czxid {
			tc.remove(p)
		}
	}
	for _, p := range cacheSorted(tree) {
		tc.put(tree[p])
	}
	tc.mu.Unlock()
	tc.events.Push(CacheEvent{Type: CacheResynced})
	return nil
}

// cacheWalkWidth bounds the reads a walk has in flight (they are
// pipelined on the Conn).
const cacheWalkWidth = 64

// walk reads the subtree at the root, one level at a time with the reads
// of a level pipelined.
func (tc *TreeCache) walk(ctx context.Context) (map[string]*CacheNode, error) {
	type result struct {
		node *CacheNode
		kids []string
		err  error
	}
	read := func(p string) result {
		data, st, err := tc.conn.Get(ctx, p)
		if errors.Is(err, sdk.ErrNoNode) {
			return result{}
		}
		if err != nil {
			return result{err: err}
		}
		kids, _, err := tc.conn.Children(ctx, p)
		if errors.Is(err, sdk.ErrNoNode) {
			return result{}
		}
		if err != nil {
			return result{err: err}
		}
		slices.Sort(kids)
		return result{node: &CacheNode{Path: p, Data: data, Stat: st}, kids: kids}
	}
	tree := map[string]*CacheNode{}
	level := []string{tc.root}
	sem := make(chan struct{}, cacheWalkWidth)
	for len(level) > 0 {
		out := make([]result, len(level))
		var wg sync.WaitGroup
		for i, p := range level {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i] = read(p)
				<-sem
			}()
		}
		wg.Wait()
		var next []string
		for i, r := range out {
			if r.err != nil {
				return nil, r.err
			}
			if r.node == nil {
				continue
			}
			tree[level[i]] = r.node
			for _, k := range r.kids {
				next = append(next, p2Join(level[i], k))
			}
		}
		level = next
	}
	return tree, nil
}

// put stores n and reports Added, Updated (data version changed) or, for a
// node re-created under the same path, Removed then Added. tc.mu is held.
func (tc *TreeCache) put(n *CacheNode) {
	old := tc.nodes[n.Path]
	switch {
	case old == nil:
	case old.Stat.Czxid != n.Stat.Czxid:
		tc.removeSubtree(n.Path)
	case old.Stat.Mzxid != n.Stat.Mzxid || old.Stat.Version != n.Stat.Version:
		tc.nodes[n.Path] = n
		tc.events.Push(CacheEvent{Type: CacheNodeUpdated, Node: cacheCopy(n)})
		return
	default:
		tc.nodes[n.Path] = n // same data; keep the fresher Stat
		return
	}
	tc.nodes[n.Path] = n
	if n.Path != tc.root {
		parent, name := cacheSplit(n.Path)
		set := tc.kids[parent]
		if set == nil {
			set = map[string]struct{}{}
			tc.kids[parent] = set
		}
		set[name] = struct{}{}
	}
	tc.events.Push(CacheEvent{Type: CacheNodeAdded, Node: cacheCopy(n)})
}

// removeSubtree drops path and its cached descendants, deepest first.
// tc.mu is held.
func (tc *TreeCache) removeSubtree(path string) {
	for _, k := range tc.childrenLocked(path) {
		tc.removeSubtree(p2Join(path, k))
	}
	tc.remove(path)
}

// remove drops one node and reports it. tc.mu is held.
func (tc *TreeCache) remove(path string) {
	n, ok := tc.nodes[path]
	if !ok {
		return
	}
	delete(tc.nodes, path)
	if path != tc.root {
		parent, name := cacheSplit(path)
		if set := tc.kids[parent]; set != nil {
			delete(set, name)
			if len(set) == 0 {
				delete(tc.kids, parent)
			}
		}
	}
	tc.events.Push(CacheEvent{Type: CacheNodeRemoved, Node: cacheCopy(n)})
}

func (tc *TreeCache) childrenLocked(path string) []string {
	out := make([]string, 0, len(tc.kids[path]))
	for k := range tc.kids[path] {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// under reports whether p is the root or below it.
func (tc *TreeCache) under(p string) bool {
	return p == tc.root || tc.root == "/" || strings.HasPrefix(p, tc.root+"/")
}

func cacheCopy(n *CacheNode) CacheNode {
	return CacheNode{Path: n.Path, Data: slices.Clone(n.Data), Stat: n.Stat}
}

// cacheSplit splits a path into its parent and its last element.
func cacheSplit(p string) (string, string) {
	i := strings.LastIndex(p, "/")
	if i == 0 {
		return "/", p[1:]
	}
	return p[:i], p[i+1:]
}

// cacheSorted returns the paths of tree in order (parents first).
func cacheSorted(tree map[string]*CacheNode) []string {
	out := make([]string, 0, len(tree))
	for p := range tree {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func cacheDrain[T any](ch <-chan T) {
	for range ch {
	}
}
