package sdk

import (
	"sort"
	"strings"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/internal/fifo"
)

// EventType is the type of a watch event.
type EventType = proto.EventType

// Event types.
const (
	EventNodeCreated         = proto.EventNodeCreated
	EventNodeDeleted         = proto.EventNodeDeleted
	EventNodeDataChanged     = proto.EventNodeDataChanged
	EventNodeChildrenChanged = proto.EventNodeChildrenChanged
	// EventDataWatchRemoved is delivered to a one-shot data or exists
	// watch that RemoveWatches removed; its channel then closes.
	EventDataWatchRemoved = proto.EventDataWatchRemoved
	// EventChildWatchRemoved is delivered to a one-shot child watch that
	// RemoveWatches removed; its channel then closes.
	EventChildWatchRemoved = proto.EventChildWatchRemoved
	// EventPersistentWatchRemoved is delivered to a Watcher that
	// RemoveWatches removed; its stream then closes.
	EventPersistentWatchRemoved = proto.EventPersistentWatchRemoved
	// EventSession is delivered to every watch when the session ends
	// (State tells why: StateExpired or StateClosed); the watch is gone.
	EventSession = proto.EventNone
)

// configPath is ZooKeeper's configuration node (ZooDefs.CONFIG_NODE); the
// chroot never applies to it.
const configPath = "/zookeeper/config"

// Event is a watch notification. Path is relative to the chroot.
type Event struct {
	Type EventType
	Path string
	// State is set on EventSession events only.
	State State
}

// watchKind is a client-side watch table.
type watchKind int

const (
	kindData watchKind = iota
	kindExist
	kindChild
	kindPersistent
	kindRecursive
	// kindConfig is a GetConfigW watch under a chroot: keyed by configPath,
	// registered on the server path configPath without the chroot. Without
	// a chroot, GetConfigW sets a plain kindData watch on configPath, as
	// the Java client does.
	kindConfig
)

type watchKey struct {
	path string // chroot-relative
	kind watchKind
}

// watcher receives events: a one-shot watch has a buffered channel of one,
// a persistent one an unbounded queue.
type watcher struct {
	once chan Event
	q    *fifo.Queue[Event]
	gone bool // removed by RemoveWatches or the session's end; guarded by Conn.mu
}

func (w *watcher) deliver(ev Event) {
	if w.once != nil {
		w.once <- ev
		close(w.once)
		return
	}
	w.q.Push(ev)
}

func (w *watcher) end(ev Event) {
	w.gone = true
	if w.once != nil {
		w.deliver(ev)
		return
	}
	w.q.Push(ev)
	w.q.Close()
}

// watchTable holds the client's watches; guarded by Conn.mu.
type watchTable struct {
	m map[watchKey][]*watcher
}

func newWatchTable() watchTable { return watchTable{m: map[watchKey][]*watcher{}} }

func (t *watchTable) add(k watchKey, w *watcher) { t.m[k] = append(t.m[k], w) }

// remove drops w from k.
func (t *watchTable) remove(k watchKey, w *watcher) {
	ws := t.m[k]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(t.m, k)
		return
	}
	t.m[k] = ws
}

// hasPath reports whether any watch remains on path.
func (t *watchTable) hasPath(path string) bool {
	for k := kindData; k <= kindRecursive; k++ {
		if len(t.m[watchKey{path, k}]) > 0 {
			return true
		}
	}
	return false
}

// has reports whether any of kinds has a watch on path.
func (t *watchTable) has(path string, kinds []watchKind) bool {
	for _, k := range kinds {
		if len(t.m[watchKey{path, k}]) > 0 {
			return true
		}
	}
	return false
}

// removeKinds drops every watch of kinds on path, ends each with its
// removal event (DataWatchRemoved, ChildWatchRemoved or
// PersistentWatchRemoved, as ZKWatchManager.removeWatcher reports them)
// and returns how many it removed.
func (t *watchTable) removeKinds(path string, kinds []watchKind) int {
	n := 0
	for _, k := range kinds {
		key := watchKey{path, k}
		typ := EventDataWatchRemoved
		switch k {
		case kindChild:
			typ = EventChildWatchRemoved
		case kindPersistent, kindRecursive:
			typ = EventPersistentWatchRemoved
		}
		for _, w := range t.m[key] {
			w.end(Event{Type: typ, Path: path})
			n++
		}
		delete(t.m, key)
	}
	return n
}

// fireOnce delivers ev to the one-shot watchers of k and drops them.
func (t *watchTable) fireOnce(k watchKey, ev Event) {
	for _, w := range t.m[k] {
		w.deliver(ev)
	}
	delete(t.m, k)
}

func (t *watchTable) firePersistent(k watchKey, ev Event) {
	for _, w := range t.m[k] {
		w.deliver(ev)
	}
}

// dispatch routes a server notification as ZooKeeper's client does
// (ZKWatchManager.materialize).
func (t *watchTable) dispatch(we proto.WatcherEvent, chroot string) {
	if chroot != "" && we.Path == configPath && we.Type != proto.EventNodeChildrenChanged {
		t.fireOnce(watchKey{configPath, kindConfig}, Event{Type: we.Type, Path: configPath})
	}
	p := stripChroot(we.Path, chroot)
	if chroot != "" && p == we.Path {
		return // outside the chroot: no client path watches it
	}
	ev := Event{Type: we.Type, Path: p}
	switch we.Type {
	case proto.EventNodeDataChanged, proto.EventNodeCreated:
		t.fireOnce(watchKey{p, kindData}, ev)
		t.fireOnce(watchKey{p, kindExist}, ev)
	case proto.EventNodeChildrenChanged:
		t.fireOnce(watchKey{p, kindChild}, ev)
	case proto.EventNodeDeleted:
		t.fireOnce(watchKey{p, kindData}, ev)
		t.fireOnce(watchKey{p, kindExist}, ev)
		t.fireOnce(watchKey{p, kindChild}, ev)
	default:
		return
	}
	t.firePersistent(watchKey{p, kindPersistent}, ev)
	if we.Type == proto.EventNodeChildrenChanged {
		return
	}
	for a := p; ; a = parent(a) {
		t.firePersistent(watchKey{a, kindRecursive}, ev)
		if a == "/" {
			break
		}
	}
}

// finish ends every watch with a session event.
func (t *watchTable) finish(s State) {
	for _, k := range t.sortedKeys() {
		for _, w := range t.m[k] {
			w.end(Event{Type: EventSession, Path: "", State: s})
		}
	}
	t.m = map[watchKey][]*watcher{}
}

func (t *watchTable) sortedKeys() []watchKey {
	keys := make([]watchKey, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].path != keys[j].path {
			return keys[i].path < keys[j].path
		}
		return keys[i].kind < keys[j].kind
	})
	return keys
}

// setWatchesBatch bounds the path text of one setWatches2 frame, as the
// Java client does (ZOOKEEPER-706).
const setWatchesBatch = 128 << 10

// setWatches builds the setWatches2 records re-registering every watch,
// relative to zxid; server paths carry the chroot.
func (t *watchTable) setWatches(zxid int64, chroot string) []*proto.SetWatches2 {
	var out []*proto.SetWatches2
	cur := &proto.SetWatches2{RelativeZxid: zxid}
	size := 0
	for _, k := range t.sortedKeys() {
		sp := addChroot(k.path, chroot)
		if k.kind == kindConfig {
			sp = configPath
		}
		if size+len(sp) > setWatchesBatch && size > 0 {
			out = append(out, cur)
			cur = &proto.SetWatches2{RelativeZxid: zxid}
			size = 0
		}
		size += len(sp)
		switch k.kind {
		case kindData, kindConfig:
			cur.DataWatches = append(cur.DataWatches, sp)
		case kindExist:
			cur.ExistWatches = append(cur.ExistWatches, sp)
		case kindChild:
			cur.ChildWatches = append(cur.ChildWatches, sp)
		case kindPersistent:
			cur.PersistentWatches = append(cur.PersistentWatches, sp)
		case kindRecursive:
			cur.PersistentRecursiveWatches = append(cur.PersistentRecursiveWatches, sp)
		}
	}
	if size > 0 {
		out = append(out, cur)
	}
	for _, sw := range out {
		for _, l := range []*[]string{&sw.DataWatches, &sw.ExistWatches, &sw.ChildWatches, &sw.PersistentWatches, &sw.PersistentRecursiveWatches} {
			if *l == nil {
				*l = []string{}
			}
		}
	}
	return out
}

// parent returns the parent of an absolute path ("/" for "/a").
func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// addChroot maps a client path to the server path.
func addChroot(p, chroot string) string {
	if chroot == "" {
		return p
	}
	if p == "/" {
		return chroot
	}
	return chroot + p
}

// stripChroot maps a server path to the client path.
func stripChroot(p, chroot string) string {
	if chroot == "" {
		return p
	}
	if p == chroot {
		return "/"
	}
	if strings.HasPrefix(p, chroot+"/") {
		return p[len(chroot):]
	}
	return p
}
