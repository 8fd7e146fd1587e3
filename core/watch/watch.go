// Package watch owns the server-side watch tables: which connection is told
// what when a znode change is applied. It keeps ZooKeeper's one-shot data,
// exist and child watches and the persistent and persistent-recursive watches
// of addWatch, fires them for each applied change, re-registers a reconnected
// client's watches (setWatches), answers checkWatches/removeWatches, and
// reports the tables for the wchs/wchc/wchp four-letter words.
//
// The semantics follow ZooKeeper's DataTree and WatchManager (3.6+ behaviour,
// with standard and persistent watches on one path kept independent as in
// 3.9): the watch package only decides who is notified; filtering a
// notification by the node's ACL is the caller's job.
//
// The package is pure and deterministic. A Manager is not safe for concurrent
// use; its owner serialises access.
package watch

import (
	"cmp"
	"slices"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
)

// WatcherID identifies a watcher: in Warren, one client connection. Watches
// belong to connections, not sessions (a reconnecting client re-registers
// them with setWatches).
type WatcherID uint64

// Change is one applied change to the tree that may fire watches, as
// znode's Tree.Apply reports it: Type is EventNodeCreated, EventNodeDeleted,
// EventNodeDataChanged or EventNodeChildrenChanged; Path is the changed
// node, or its parent for EventNodeChildrenChanged. Its ACL is not used here;
// the caller filters the notifications Trigger returns by it.
type Change = znode.Change

// Fired is one notification to deliver: watcher W is told Event.
type Fired struct {
	W     WatcherID
	Event proto.WatcherEvent
}

// Lookup reports the Stat of the node at path, and whether it exists.
type Lookup func(path string) (stat proto.Stat, ok bool)

// kinds is the set of watch kinds one watcher holds on one path.
type kinds uint8

const (
	kindData       kinds = 1 << iota // one-shot data or exist watch (ZooKeeper's data table, STANDARD mode)
	kindChild                        // one-shot child watch (child table, STANDARD mode)
	kindPersistent                   // addWatch mode 0 (both tables, PERSISTENT mode)
	kindRecursive                    // addWatch mode 1 (data table, PERSISTENT_RECURSIVE mode)
)

// In ZooKeeper's terms, a watcher is in a path's data table when it holds a
// data, persistent or recursive watch there, and in its child table when it
// holds a child or persistent watch. Warren keeps the recursive watches in a
// set of their own so that the walk over ancestors only visits them.
func inData(k kinds) bool  { return k&(kindData|kindPersistent) != 0 }
func inChild(k kinds) bool { return k&(kindChild|kindPersistent) != 0 }
func inRec(k kinds) bool   { return k&kindRecursive != 0 }

// tables counts the ZooKeeper tables (data, child) a registration occupies,
// as ZooKeeper's watch count does.
func tables(k kinds) int {
	n := 0
	if k&(kindData|kindPersistent|kindRecursive) != 0 {
		n++
	}
	if inChild(k) {
		n++
	}
	return n
}

// smallMax is the size above which an idSet switches from a slice to a map.
const smallMax = 16

// idSet is a set of watchers. Most paths have few watchers, so a set starts
// as a slice and becomes a map only when it grows past smallMax.
type idSet struct {
	small []WatcherID
	big   map[WatcherID]struct{}
}

func (s *idSet) len() int {
	if s.big != nil {
		return len(s.big)
	}
	return len(s.small)
}

func (s *idSet) add(w WatcherID) {
	if s.big != nil {
		s.big[w] = struct{}{}
		return
	}
	if slices.Contains(s.small, w) {
		return
	}
	if len(s.small) < smallMax {
		s.small = append(s.small, w)
		return
	}
	s.big = make(map[WatcherID]struct{}, 2*smallMax)
	for _, x := range s.small {
		s.big[x] = struct{}{}
	}
	s.big[w] = struct{}{}
	s.small = nil
}

func (s *idSet) remove(w WatcherID) {
	if s.big != nil {
		delete(s.big, w)
		if len(s.big) == 0 {
			s.big = nil
		}
		return
	}
	if i := slices.Index(s.small, w); i >= 0 {
		last := len(s.small) - 1
		s.small[i] = s.small[last]
		s.small = s.small[:last]
		if last == 0 {
			s.small = nil
		}
	}
}

// appendFired appends one Fired per member of s carrying ev.
func (s *idSet) appendFired(out []Fired, ev proto.WatcherEvent) []Fired {
	if s.big != nil {
		for w := range s.big {
			out = append(out, Fired{W: w, Event: ev})
		}
		return out
	}
	for _, w := range s.small {
		out = append(out, Fired{W: w, Event: ev})
	}
	return out
}

// pathWatchers holds the watchers of one path, split by the tables that a
// change consults.
type pathWatchers struct {
	data  idSet // data, exist and persistent watches
	child idSet // child and persistent watches
	rec   idSet // persistent-recursive watches
}

func (p *pathWatchers) empty() bool {
	return p.data.len() == 0 && p.child.len() == 0 && p.rec.len() == 0
}

// Manager holds every watch of the server.
//
// byWatcher is the source of truth (kinds per watcher and path); byPath is
// the fan-out index a change consults. Every mutation goes through set,
// which keeps the two and the counters consistent.
type Manager struct {
	byWatcher map[WatcherID]map[string]kinds
	byPath    map[string]*pathWatchers
	recursive int // persistent-recursive registrations anywhere
	pairs     int // (path, watcher) pairs with at least one watch
	entries   int // ZooKeeper-style table entries (see Stats.WatchCount)
}

// New returns an empty Manager.
func New() *Manager {
	return &Manager{
		byWatcher: make(map[WatcherID]map[string]kinds),
		byPath:    make(map[string]*pathWatchers),
	}
}

// kindsOf returns what w holds on path.
func (m *Manager) kindsOf(path string, w WatcherID) kinds {
	return m.byWatcher[w][path]
}

// set changes what w holds on path from old (which must be the current
// value) to nk, updating both indexes and the counters.
func (m *Manager) set(path string, w WatcherID, old, nk kinds) {
	if old == nk {
		return
	}
	paths := m.byWatcher[w]
	if nk != 0 {
		if paths == nil {
			paths = make(map[string]kinds)
			m.byWatcher[w] = paths
		}
		paths[path] = nk
	} else if paths != nil {
		delete(paths, path)
		if len(paths) == 0 {
			delete(m.byWatcher, w)
		}
	}
	switch {
	case old == 0:
		m.pairs++
	case nk == 0:
		m.pairs--
	}
	m.entries += tables(nk) - tables(old)

	pw := m.byPath[path]
	if pw == nil {
		pw = &pathWatchers{}
		m.byPath[path] = pw
	}
	if inData(old) != inData(nk) {
		if inData(nk) {
			pw.data.add(w)
		} else {
			pw.data.remove(w)
		}
	}
	if inChild(old) != inChild(nk) {
		if inChild(nk) {
			pw.child.add(w)
		} else {
			pw.child.remove(w)
		}
	}
	if inRec(old) != inRec(nk) {
		if inRec(nk) {
			pw.rec.add(w)
			m.recursive++
		} else {
			pw.rec.remove(w)
			m.recursive--
		}
	}
	if pw.empty() {
		delete(m.byPath, path)
	}
}

func (m *Manager) add(path string, w WatcherID, k kinds) {
	old := m.kindsOf(path, w)
	m.set(path, w, old, old|k)
}

// AddData registers a one-shot data watch (getData, or exists on an
// existing node). Registering it again is a no-op.
func (m *Manager) AddData(path string, w WatcherID) { m.add(path, w, kindData) }

// AddExist registers a one-shot exist watch (exists on a missing node). As in
// ZooKeeper it is the same registration as a data watch: NodeCreated,
// NodeDataChanged and NodeDeleted of path all fire it.
func (m *Manager) AddExist(path string, w WatcherID) { m.add(path, w, kindData) }

// AddChild registers a one-shot child watch (getChildren, getChildren2).
func (m *Manager) AddChild(path string, w WatcherID) { m.add(path, w, kindChild) }

// AddPersistent registers an addWatch watch: mode PERSISTENT when recursive
// is false, PERSISTENT_RECURSIVE when true. Persistent watches are never
// removed by firing, not even when their node is deleted. They coexist with
// one-shot watches of the same watcher on the same path.
func (m *Manager) AddPersistent(path string, w WatcherID, recursive bool) {
	if recursive {
		m.add(path, w, kindRecursive)
	} else {
		m.add(path, w, kindPersistent)
	}
}

// parent returns the parent of a normalised absolute path, and false for "/"
// (or anything without a slash).
func parent(path string) (string, bool) {
	if path == "/" {
		return "", false
	}
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			if i == 0 {
				return "/", true
			}
			return path[:i], true
		}
	}
	return "", false
}

// Trigger computes who is notified of one applied change and removes the
// one-shot watches it fires:
//
//   - NodeCreated, NodeDataChanged: data/exist watches of the path (removed),
//     persistent watches of the path, recursive watches of the path or any
//     ancestor.
//   - NodeDeleted: data/exist and child watches of the path (removed),
//     persistent watches of the path (kept), recursive watches of the path
//     or any ancestor.
//   - NodeChildrenChanged (Path is the parent): child watches of the path
//     (removed) and persistent watches of the path; never recursive watches.
//
// Each watcher is told at most once per change, with State SyncConnected and
// the change's path. The result is sorted by WatcherID. It does not allocate
// when nobody is notified; ancestors are visited only while some recursive
// watch exists.
func (m *Manager) Trigger(c Change) []Fired {
	var dataT, childT, recT bool
	var clear kinds
	switch c.Type {
	case proto.EventNodeCreated, proto.EventNodeDataChanged:
		dataT, recT, clear = true, true, kindData
	case proto.EventNodeDeleted:
		dataT, childT, recT, clear = true, true, true, kindData|kindChild
	case proto.EventNodeChildrenChanged:
		childT, clear = true, kindChild
	default:
		return nil
	}
	ev := proto.WatcherEvent{Type: c.Type, State: proto.StateSyncConnected, Path: c.Path}

	var out []Fired
	if pw := m.byPath[c.Path]; pw != nil {
		n := 0
		if dataT {
			n += pw.data.len()
		}
		if childT {
			n += pw.child.len()
		}
		if recT {
			n += pw.rec.len()
		}
		if n > 0 {
			out = make([]Fired, 0, n)
			if dataT {
				out = pw.data.appendFired(out, ev)
			}
			if childT {
				out = pw.child.appendFired(out, ev)
			}
			// Consume the one-shot watches just fired. This may drop pw
			// from byPath; the walk below looks paths up afresh.
			for i := range out {
				w := out[i].W
				if old := m.kindsOf(c.Path, w); old&clear != 0 {
					m.set(c.Path, w, old, old&^clear)
				}
			}
		}
	}
	if recT && m.recursive > 0 {
		for p, ok := c.Path, true; ok; p, ok = parent(p) {
			if pw := m.byPath[p]; pw != nil && pw.rec.len() > 0 {
				out = pw.rec.appendFired(out, ev)
			}
		}
	}
	if len(out) > 1 {
		slices.SortFunc(out, func(a, b Fired) int { return cmp.Compare(a.W, b.W) })
		out = slices.CompactFunc(out, func(a, b Fired) bool { return a.W == b.W })
	}
	return out
}

// SetWatches re-registers the watches a reconnecting client lists
// (setWatches / setWatches2) for watcher w, and returns the catch-up events
// to send it now, in ZooKeeper's order (data, then exist, then child paths,
// each in the order given). rel is the last zxid the client saw.
//
//   - data: node missing -> NodeDeleted; mzxid > rel -> NodeDataChanged;
//     otherwise a data watch is registered.
//   - exist: node exists -> NodeCreated; otherwise an exist watch is
//     registered.
//   - child: node missing -> NodeDeleted; pzxid > rel -> NodeChildrenChanged;
//     otherwise a child watch is registered.
//   - persistent, recursive: registered, no catch-up event.
//
// A path that produced an event is not registered. ZooKeeper sends these
// events with zxid -1 in the reply header.
func (m *Manager) SetWatches(w WatcherID, rel int64, data, exist, child, persistent, recursive []string, lookup Lookup) []proto.WatcherEvent {
	var out []proto.WatcherEvent
	emit := func(t proto.EventType, path string) {
		out = append(out, proto.WatcherEvent{Type: t, State: proto.StateSyncConnected, Path: path})
	}
	for _, p := range data {
		st, ok := lookup(p)
		switch {
		case !ok:
			emit(proto.EventNodeDeleted, p)
		case st.Mzxid > rel:
			emit(proto.EventNodeDataChanged, p)
		default:
			m.AddData(p, w)
		}
	}
	for _, p := range exist {
		if _, ok := lookup(p); ok {
			emit(proto.EventNodeCreated, p)
		} else {
			m.AddExist(p, w)
		}
	}
	for _, p := range child {
		st, ok := lookup(p)
		switch {
		case !ok:
			emit(proto.EventNodeDeleted, p)
		case st.Pzxid > rel:
			emit(proto.EventNodeChildrenChanged, p)
		default:
			m.AddChild(p, w)
		}
	}
	for _, p := range persistent {
		m.AddPersistent(p, w, false)
	}
	for _, p := range recursive {
		m.AddPersistent(p, w, true)
	}
	return out
}

// typeKinds maps a checkWatches/removeWatches WatcherType to the kinds it
// covers on the exact path: Children -> the one-shot child watch, Data ->
// the one-shot data/exist watch, Persistent, PersistentRecursive, Any -> all
// of them. An unknown type covers nothing.
func typeKinds(typ int32) kinds {
	switch typ {
	case proto.WatcherChildren:
		return kindChild
	case proto.WatcherData:
		return kindData
	case proto.WatcherPersistent:
		return kindPersistent
	case proto.WatcherPersistentRecursive:
		return kindRecursive
	case proto.WatcherAny:
		return kindData | kindChild | kindPersistent | kindRecursive
	}
	return 0
}

// Contains reports whether w holds a watch of WatcherType typ on exactly
// path (checkWatches). A recursive watch on an ancestor does not count.
// False means the server answers ErrNoWatcher.
func (m *Manager) Contains(path string, typ int32, w WatcherID) bool {
	return m.kindsOf(path, w)&typeKinds(typ) != 0
}

// Remove drops w's watches of WatcherType typ on exactly path
// (removeWatches) and reports whether anything was removed; false means the
// server answers ErrNoWatcher.
func (m *Manager) Remove(path string, typ int32, w WatcherID) bool {
	old := m.kindsOf(path, w)
	k := old & typeKinds(typ)
	if k == 0 {
		return false
	}
	m.set(path, w, old, old&^k)
	return true
}

// RemoveWatcher drops every watch of w (its connection closed). It costs
// O(number of paths w watches).
func (m *Manager) RemoveWatcher(w WatcherID) {
	paths := m.byWatcher[w]
	for p, k := range paths {
		m.set(p, w, k, 0)
	}
}

// Stats summarises the tables.
type Stats struct {
	// Watchers is the number of connections holding at least one watch
	// (wchs: "N connections watching ...").
	Watchers int
	// Paths is the number of distinct watched paths (wchs: "... M paths").
	Paths int
	// Total is the number of (path, connection) pairs with at least one
	// watch (wchs: "Total watches:").
	Total int
	// WatchCount counts registrations the way ZooKeeper's mntr
	// zk_watch_count does: a pair counts once in the data table (data,
	// exist, persistent or recursive watch) and once in the child table
	// (child or persistent watch), so a persistent watch counts twice.
	WatchCount int
}

// Stats returns the current summary in O(1).
func (m *Manager) Stats() Stats {
	return Stats{Watchers: len(m.byWatcher), Paths: len(m.byPath), Total: m.pairs, WatchCount: m.entries}
}

// WatcherPaths lists the paths one watcher watches (wchc).
type WatcherPaths struct {
	W     WatcherID
	Paths []string
}

// PathWatchers lists the watchers of one path (wchp).
type PathWatchers struct {
	Path     string
	Watchers []WatcherID
}

// ByWatcher returns, for wchc, every watcher with its watched paths, both
// sorted. Every kind of watch is listed.
func (m *Manager) ByWatcher() []WatcherPaths {
	out := make([]WatcherPaths, 0, len(m.byWatcher))
	for w, paths := range m.byWatcher {
		ps := make([]string, 0, len(paths))
		for p := range paths {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		out = append(out, WatcherPaths{W: w, Paths: ps})
	}
	slices.SortFunc(out, func(a, b WatcherPaths) int { return cmp.Compare(a.W, b.W) })
	return out
}

// ByPath returns, for wchp, every watched path with its watchers, both
// sorted. Every kind of watch is listed.
func (m *Manager) ByPath() []PathWatchers {
	idx := make(map[string]int, len(m.byPath))
	out := make([]PathWatchers, 0, len(m.byPath))
	for w, paths := range m.byWatcher {
		for p := range paths {
			i, ok := idx[p]
			if !ok {
				i = len(out)
				idx[p] = i
				out = append(out, PathWatchers{Path: p})
			}
			out[i].Watchers = append(out[i].Watchers, w)
		}
	}
	for i := range out {
		slices.Sort(out[i].Watchers)
	}
	slices.SortFunc(out, func(a, b PathWatchers) int { return cmp.Compare(a.Path, b.Path) })
	return out
}
