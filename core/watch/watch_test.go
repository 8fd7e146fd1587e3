package watch

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

const w1, w2, w3 WatcherID = 1, 2, 3

var allTypes = []proto.EventType{
	proto.EventNodeCreated, proto.EventNodeDataChanged, proto.EventNodeDeleted, proto.EventNodeChildrenChanged,
}

func ev(t proto.EventType, path string) proto.WatcherEvent {
	return proto.WatcherEvent{Type: t, State: proto.StateSyncConnected, Path: path}
}

// TestTriggerTable checks every change type against every registration kind
// and position (the path itself, an ancestor, a descendant, a sibling with a
// common prefix): who is told, and whether the registration survives.
func TestTriggerTable(t *testing.T) {
	const p = "/a/b"
	type outcome struct{ fire, kept bool }
	fireGone := outcome{fire: true}
	fireKept := outcome{fire: true, kept: true}
	quiet := outcome{kept: true}

	regs := []struct {
		name string
		add  func(m *Manager)
		// expected outcome for Created, DataChanged, Deleted, ChildrenChanged
		want [4]outcome
	}{
		{"data on path", func(m *Manager) { m.AddData(p, w1) }, [4]outcome{fireGone, fireGone, fireGone, quiet}},
		{"exist on path", func(m *Manager) { m.AddExist(p, w1) }, [4]outcome{fireGone, fireGone, fireGone, quiet}},
		{"child on path", func(m *Manager) { m.AddChild(p, w1) }, [4]outcome{quiet, quiet, fireGone, fireGone}},
		{"persistent on path", func(m *Manager) { m.AddPersistent(p, w1, false) }, [4]outcome{fireKept, fireKept, fireKept, fireKept}},
		{"recursive on path", func(m *Manager) { m.AddPersistent(p, w1, true) }, [4]outcome{fireKept, fireKept, fireKept, quiet}},
		{"recursive on parent", func(m *Manager) { m.AddPersistent("/a", w1, true) }, [4]outcome{fireKept, fireKept, fireKept, quiet}},
		{"recursive on root", func(m *Manager) { m.AddPersistent("/", w1, true) }, [4]outcome{fireKept, fireKept, fireKept, quiet}},
		{"data on parent", func(m *Manager) { m.AddData("/a", w1) }, [4]outcome{quiet, quiet, quiet, quiet}},
		{"child on parent", func(m *Manager) { m.AddChild("/a", w1) }, [4]outcome{quiet, quiet, quiet, quiet}},
		{"persistent on parent", func(m *Manager) { m.AddPersistent("/a", w1, false) }, [4]outcome{quiet, quiet, quiet, quiet}},
		{"recursive on child", func(m *Manager) { m.AddPersistent(p+"/c", w1, true) }, [4]outcome{quiet, quiet, quiet, quiet}},
		{"recursive on prefix sibling", func(m *Manager) { m.AddPersistent("/a/bb", w1, true) }, [4]outcome{quiet, quiet, quiet, quiet}},
		{"data on prefix sibling", func(m *Manager) { m.AddData("/a/bb", w1) }, [4]outcome{quiet, quiet, quiet, quiet}},
	}
	for _, r := range regs {
		for i, typ := range allTypes {
			t.Run(fmt.Sprintf("%s/%d", r.name, typ), func(t *testing.T) {
				m := New()
				r.add(m)
				before := m.ByWatcher()
				got := m.Trigger(Change{Type: typ, Path: p, Zxid: 7})
				if r.want[i].fire {
					assert.Equal(t, []Fired{{W: w1, Event: ev(typ, p)}}, got)
				} else {
					assert.Empty(t, got)
				}
				if r.want[i].kept {
					assert.Equal(t, before, m.ByWatcher(), "registration must survive")
				} else {
					assert.Empty(t, m.ByWatcher(), "one-shot watch must be removed")
					assert.Equal(t, Stats{}, m.Stats())
				}
			})
		}
	}
}

func TestTriggerIgnoresOtherEventTypes(t *testing.T) {
	m := New()
	m.AddData("/a", w1)
	m.AddPersistent("/", w1, true)
	for _, typ := range []proto.EventType{proto.EventNone, proto.EventDataWatchRemoved, proto.EventPersistentWatchRemoved} {
		assert.Nil(t, m.Trigger(Change{Type: typ, Path: "/a"}))
	}
	assert.True(t, m.Contains("/a", proto.WatcherData, w1))
}

func TestOneShotFiresOnce(t *testing.T) {
	m := New()
	m.AddData("/x", w1)
	m.AddData("/x", w1) // same registration again: still one
	m.AddChild("/x", w2)
	m.AddPersistent("/x", w3, false)

	got := m.Trigger(Change{Type: proto.EventNodeDataChanged, Path: "/x"})
	assert.Equal(t, []Fired{{w1, ev(proto.EventNodeDataChanged, "/x")}, {w3, ev(proto.EventNodeDataChanged, "/x")}}, got)

	got = m.Trigger(Change{Type: proto.EventNodeDataChanged, Path: "/x"})
	assert.Equal(t, []Fired{{w3, ev(proto.EventNodeDataChanged, "/x")}}, got, "data watch already consumed")

	got = m.Trigger(Change{Type: proto.EventNodeChildrenChanged, Path: "/x"})
	assert.Equal(t, []Fired{{w2, ev(proto.EventNodeChildrenChanged, "/x")}, {w3, ev(proto.EventNodeChildrenChanged, "/x")}}, got)

	got = m.Trigger(Change{Type: proto.EventNodeChildrenChanged, Path: "/x"})
	assert.Equal(t, []Fired{{w3, ev(proto.EventNodeChildrenChanged, "/x")}}, got, "child watch already consumed")
}

// TestDeleteKeepsPersistent: a node's deletion consumes its one-shot watches
// but leaves persistent ones, which fire again when the node is re-created.
func TestDeleteKeepsPersistent(t *testing.T) {
	m := New()
	m.AddData("/n", w1)
	m.AddChild("/n", w1)
	m.AddPersistent("/n", w2, false)
	m.AddPersistent("/n", w3, true)

	got := m.Trigger(Change{Type: proto.EventNodeDeleted, Path: "/n"})
	require.Len(t, got, 3)
	assert.Equal(t, []WatcherID{w1, w2, w3}, []WatcherID{got[0].W, got[1].W, got[2].W})

	assert.False(t, m.Contains("/n", proto.WatcherAny, w1))
	assert.True(t, m.Contains("/n", proto.WatcherPersistent, w2))
	assert.True(t, m.Contains("/n", proto.WatcherPersistentRecursive, w3))

	got = m.Trigger(Change{Type: proto.EventNodeCreated, Path: "/n"})
	assert.Equal(t, []Fired{{w2, ev(proto.EventNodeCreated, "/n")}, {w3, ev(proto.EventNodeCreated, "/n")}}, got)
}

// TestOneEventPerWatcher: several matching registrations of one watcher
// yield a single event, and the one-shot ones among them are consumed.
func TestOneEventPerWatcher(t *testing.T) {
	m := New()
	const p = "/a/b/c"
	m.AddData(p, w1)
	m.AddChild(p, w1)
	m.AddPersistent(p, w1, false)
	m.AddPersistent(p, w1, true)
	m.AddPersistent("/a", w1, true)
	m.AddPersistent("/", w1, true)
	m.AddPersistent("/a/b", w2, true)
	m.AddPersistent("/", w2, true)

	for _, typ := range allTypes {
		got := m.Trigger(Change{Type: typ, Path: p})
		ids := make([]WatcherID, 0, len(got))
		for _, f := range got {
			ids = append(ids, f.W)
			assert.Equal(t, ev(typ, p), f.Event)
		}
		if typ == proto.EventNodeChildrenChanged {
			assert.Equal(t, []WatcherID{w1}, ids, "recursive watches ignore NodeChildrenChanged")
		} else {
			assert.Equal(t, []WatcherID{w1, w2}, ids, "type %d", typ)
		}
	}
	// Data consumed by NodeCreated, child by NodeDeleted; persistent kept.
	assert.False(t, m.Contains(p, proto.WatcherData, w1))
	assert.False(t, m.Contains(p, proto.WatcherChildren, w1))
	assert.True(t, m.Contains(p, proto.WatcherPersistent, w1))
	assert.True(t, m.Contains(p, proto.WatcherPersistentRecursive, w1))
}

// TestStandardAndPersistentCoexist: adding a one-shot watch does not turn a
// persistent watch into a one-shot one, nor the other way round.
func TestStandardAndPersistentCoexist(t *testing.T) {
	for _, order := range []string{"persistent first", "standard first"} {
		t.Run(order, func(t *testing.T) {
			m := New()
			if order == "persistent first" {
				m.AddPersistent("/p", w1, false)
				m.AddData("/p", w1)
			} else {
				m.AddData("/p", w1)
				m.AddPersistent("/p", w1, false)
			}
			assert.True(t, m.Contains("/p", proto.WatcherData, w1))
			assert.True(t, m.Contains("/p", proto.WatcherPersistent, w1))

			assert.Len(t, m.Trigger(Change{Type: proto.EventNodeDataChanged, Path: "/p"}), 1)
			assert.False(t, m.Contains("/p", proto.WatcherData, w1))
			assert.True(t, m.Contains("/p", proto.WatcherPersistent, w1))
			assert.Len(t, m.Trigger(Change{Type: proto.EventNodeDataChanged, Path: "/p"}), 1)
		})
	}
}

// TestDeterministicOrder: output is sorted by WatcherID whatever the
// registration order, for small (slice) and large (map) per-path sets.
func TestDeterministicOrder(t *testing.T) {
	for _, n := range []int{3, smallMax, smallMax + 1, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			m := New()
			want := make([]WatcherID, 0, n)
			for i := n; i >= 1; i-- {
				w := WatcherID(i * 7919 % 100003)
				switch i % 3 {
				case 0:
					m.AddData("/q", w)
				case 1:
					m.AddPersistent("/q", w, false)
				default:
					m.AddPersistent("/", w, true)
				}
				want = append(want, w)
			}
			got := m.Trigger(Change{Type: proto.EventNodeDataChanged, Path: "/q"})
			ids := make([]WatcherID, 0, len(got))
			for _, f := range got {
				ids = append(ids, f.W)
			}
			assert.ElementsMatch(t, want, ids)
			assert.IsIncreasing(t, ids)
		})
	}
}

func TestSetWatchesCatchUp(t *testing.T) {
	const rel = 100
	nodes := map[string]proto.Stat{
		"/old":       {Mzxid: 90, Pzxid: 90},
		"/newdata":   {Mzxid: 101, Pzxid: 50},
		"/newkids":   {Mzxid: 50, Pzxid: 101},
		"/exactly":   {Mzxid: rel, Pzxid: rel},
		"/persisted": {},
	}
	lookup := func(path string) (proto.Stat, bool) {
		st, ok := nodes[path]
		return st, ok
	}
	m := New()
	got := m.SetWatches(w1, rel,
		[]string{"/old", "/gone", "/newdata", "/newkids", "/exactly"},
		[]string{"/old", "/missing"},
		[]string{"/old", "/gone", "/newdata", "/newkids", "/exactly"},
		[]string{"/persisted", "/nope"},
		[]string{"/", "/gone"},
		lookup)

	assert.Equal(t, []proto.WatcherEvent{
		ev(proto.EventNodeDeleted, "/gone"),
		ev(proto.EventNodeDataChanged, "/newdata"),
		ev(proto.EventNodeCreated, "/old"),
		ev(proto.EventNodeDeleted, "/gone"),
		ev(proto.EventNodeChildrenChanged, "/newkids"),
	}, got)

	type reg struct {
		path string
		typ  int32
		want bool
	}
	for _, r := range []reg{
		{"/old", proto.WatcherData, true},
		{"/exactly", proto.WatcherData, true},
		{"/newkids", proto.WatcherData, true},
		{"/newdata", proto.WatcherData, false},
		{"/gone", proto.WatcherData, false},
		{"/missing", proto.WatcherData, true}, // exist watch
		{"/old", proto.WatcherChildren, true},
		{"/exactly", proto.WatcherChildren, true},
		{"/newdata", proto.WatcherChildren, true},
		{"/newkids", proto.WatcherChildren, false},
		{"/gone", proto.WatcherChildren, false},
		{"/persisted", proto.WatcherPersistent, true},
		{"/nope", proto.WatcherPersistent, true}, // no catch-up, registered even when missing
		{"/", proto.WatcherPersistentRecursive, true},
		{"/gone", proto.WatcherPersistentRecursive, true},
	} {
		assert.Equal(t, r.want, m.Contains(r.path, r.typ, w1), "%s type %d", r.path, r.typ)
	}

	// The registered exist watch fires on creation.
	assert.Equal(t, []Fired{{w1, ev(proto.EventNodeCreated, "/missing")}},
		m.Trigger(Change{Type: proto.EventNodeCreated, Path: "/missing"}))
}

func TestSetWatchesEmpty(t *testing.T) {
	m := New()
	assert.Nil(t, m.SetWatches(w1, 0, nil, nil, nil, nil, nil, func(string) (proto.Stat, bool) { return proto.Stat{}, false }))
	assert.Equal(t, Stats{}, m.Stats())
}

// TestContainsRemoveByType: each WatcherType sees and removes exactly its
// own kind on exactly the given path; nothing found means false
// (ErrNoWatcher).
func TestContainsRemoveByType(t *testing.T) {
	kindsAll := []struct {
		name string
		add  func(m *Manager, p string)
	}{
		{"data", func(m *Manager, p string) { m.AddData(p, w1) }},
		{"exist", func(m *Manager, p string) { m.AddExist(p, w1) }},
		{"child", func(m *Manager, p string) { m.AddChild(p, w1) }},
		{"persistent", func(m *Manager, p string) { m.AddPersistent(p, w1, false) }},
		{"recursive", func(m *Manager, p string) { m.AddPersistent(p, w1, true) }},
	}
	matches := map[int32][]string{
		proto.WatcherChildren:            {"child"},
		proto.WatcherData:                {"data", "exist"},
		proto.WatcherPersistent:          {"persistent"},
		proto.WatcherPersistentRecursive: {"recursive"},
		proto.WatcherAny:                 {"data", "exist", "child", "persistent", "recursive"},
		0:                                {},
		6:                                {},
	}
	for typ, names := range matches {
		for _, k := range kindsAll {
			t.Run(fmt.Sprintf("type%d/%s", typ, k.name), func(t *testing.T) {
				want := false
				for _, n := range names {
					want = want || n == k.name
				}
				m := New()
				k.add(m, "/w")
				assert.Equal(t, want, m.Contains("/w", typ, w1))
				assert.False(t, m.Contains("/w", typ, w2), "other watcher")
				assert.False(t, m.Contains("/w/x", typ, w1), "descendant path")
				assert.False(t, m.Contains("/", typ, w1), "ancestor path")
				assert.False(t, m.Remove("/w", typ, w2), "other watcher")
				assert.Equal(t, want, m.Remove("/w", typ, w1))
				assert.False(t, m.Remove("/w", typ, w1), "second removal finds nothing")
				assert.Equal(t, !want, m.Contains("/w", proto.WatcherAny, w1))
				if want {
					assert.Equal(t, Stats{}, m.Stats())
					assert.Empty(t, m.Trigger(Change{Type: proto.EventNodeDeleted, Path: "/w"}))
					assert.Zero(t, m.recursive)
				}
			})
		}
	}
}

func TestRemoveLeavesOtherKinds(t *testing.T) {
	m := New()
	m.AddData("/r", w1)
	m.AddChild("/r", w1)
	m.AddPersistent("/r", w1, false)
	m.AddPersistent("/r", w1, true)

	assert.True(t, m.Remove("/r", proto.WatcherPersistent, w1))
	assert.True(t, m.Contains("/r", proto.WatcherData, w1))
	assert.True(t, m.Contains("/r", proto.WatcherChildren, w1))
	assert.True(t, m.Contains("/r", proto.WatcherPersistentRecursive, w1))
	// Without the persistent watch, a children change reaches only the child watch, once.
	assert.Len(t, m.Trigger(Change{Type: proto.EventNodeChildrenChanged, Path: "/r"}), 1)
	assert.Empty(t, m.Trigger(Change{Type: proto.EventNodeChildrenChanged, Path: "/r"}))

	assert.True(t, m.Remove("/r", proto.WatcherAny, w1))
	assert.False(t, m.Remove("/r", proto.WatcherAny, w1))
	assert.Equal(t, Stats{}, m.Stats())
	assert.Zero(t, m.recursive)
}

func TestRemoveWatcher(t *testing.T) {
	m := New()
	for i := 0; i < 50; i++ {
		p := fmt.Sprintf("/n%d", i)
		m.AddData(p, w1)
		m.AddChild(p, w1)
		m.AddData(p, w2)
	}
	m.AddPersistent("/", w1, true)
	m.AddPersistent("/n0", w1, false)
	m.AddPersistent("/", w3, true)

	m.RemoveWatcher(w1)
	m.RemoveWatcher(w1) // idempotent
	m.RemoveWatcher(99) // unknown

	assert.Equal(t, Stats{Watchers: 2, Paths: 51, Total: 51, WatchCount: 51}, m.Stats())
	assert.Equal(t, 1, m.recursive)
	for _, f := range m.Trigger(Change{Type: proto.EventNodeDeleted, Path: "/n0"}) {
		assert.NotEqual(t, w1, f.W)
	}
	m.RemoveWatcher(w3)
	assert.Zero(t, m.recursive)
}

func TestStatsAndReports(t *testing.T) {
	m := New()
	m.AddData("/b", w2)
	m.AddChild("/b", w2)             // same pair: Total 1, WatchCount 2
	m.AddPersistent("/a", w1, false) // both tables: WatchCount 2
	m.AddPersistent("/", w1, true)   // data table only
	m.AddExist("/a", w3)
	m.AddChild("/c", w1)

	assert.Equal(t, Stats{Watchers: 3, Paths: 4, Total: 5, WatchCount: 7}, m.Stats())
	assert.Equal(t, []WatcherPaths{
		{W: w1, Paths: []string{"/", "/a", "/c"}},
		{W: w2, Paths: []string{"/b"}},
		{W: w3, Paths: []string{"/a"}},
	}, m.ByWatcher())
	assert.Equal(t, []PathWatchers{
		{Path: "/", Watchers: []WatcherID{w1}},
		{Path: "/a", Watchers: []WatcherID{w1, w3}},
		{Path: "/b", Watchers: []WatcherID{w2}},
		{Path: "/c", Watchers: []WatcherID{w1}},
	}, m.ByPath())

	empty := New()
	assert.Equal(t, Stats{}, empty.Stats())
	assert.Empty(t, empty.ByWatcher())
	assert.Empty(t, empty.ByPath())
}

// TestTriggerNoAllocs: with nobody to notify, Trigger allocates nothing,
// including when recursive watches elsewhere force the ancestor walk.
func TestTriggerNoAllocs(t *testing.T) {
	m := New()
	m.AddData("/other", w1)
	m.AddChild("/a/b", w1) // child watch: not fired by a data change
	c := Change{Type: proto.EventNodeDataChanged, Path: "/a/b"}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = m.Trigger(c) }))

	m.AddPersistent("/elsewhere", w2, true)
	m.AddData("/a", w3) // non-recursive watch on an ancestor
	c2 := Change{Type: proto.EventNodeCreated, Path: "/a/b/c/d/e"}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = m.Trigger(c2) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = m.Trigger(Change{Type: proto.EventNodeChildrenChanged, Path: "/"}) }))
}

func TestParent(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"/", "", false},
		{"/a", "/", true},
		{"/a/b", "/a", true},
		{"/a/b/c", "/a/b", true},
		{"", "", false},
		{"a", "", false},
	} {
		got, ok := parent(tc.in)
		assert.Equal(t, tc.want, got, tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
	}
}

func TestIDSetGrowShrink(t *testing.T) {
	var s idSet
	for i := WatcherID(1); i <= 3*smallMax; i++ {
		s.add(i)
		s.add(i)
		assert.Equal(t, int(i), s.len())
	}
	assert.NotNil(t, s.big)
	for i := WatcherID(1); i <= 3*smallMax; i++ {
		s.remove(i)
		s.remove(i)
	}
	assert.Zero(t, s.len())
	assert.Nil(t, s.big)
	s.add(5)
	s.add(6)
	s.remove(5)
	assert.Equal(t, []WatcherID{6}, s.small)
	s.remove(6)
	assert.Nil(t, s.small)
}

func BenchmarkTriggerNobody(b *testing.B) {
	m := New()
	for i := 0; i < 100000; i++ {
		m.AddData(fmt.Sprintf("/n/%d", i), WatcherID(i%1000))
	}
	m.AddPersistent("/zz", 1, true)
	c := Change{Type: proto.EventNodeDataChanged, Path: "/x/y/z"}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Trigger(c)
	}
}

func BenchmarkTriggerFanOut(b *testing.B) {
	m := New()
	c := Change{Type: proto.EventNodeChildrenChanged, Path: "/brokers/ids"}
	b.ReportAllocs()
	for b.Loop() {
		for w := WatcherID(0); w < 100; w++ {
			m.AddChild(c.Path, w)
		}
		if len(m.Trigger(c)) != 100 {
			b.Fatal("fan-out")
		}
	}
}

// TestMemoryPerWatch guards the footprint: 100k one-shot watches over 100k
// paths and 100 connections stay well under ZooKeeper's per-watch cost.
func TestMemoryPerWatch(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~20 MB")
	}
	const n = 100000
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("/app/node-%07d", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := New()
	for i, p := range paths {
		m.AddData(p, WatcherID(i%100))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perWatch := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes per watch", perWatch)
	assert.Less(t, perWatch, int64(300))
	assert.Equal(t, Stats{Watchers: 100, Paths: n, Total: n, WatchCount: n}, m.Stats())
	runtime.KeepAlive(paths)
}
