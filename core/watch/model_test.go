package watch

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

// model is a deliberately naive statement of the watch rules: a set of
// (path, watcher, kind) registrations scanned in full for every operation.
type mreg struct {
	path string
	w    WatcherID
	kind string // "data", "child", "persistent", "recursive"
}

type model map[mreg]bool

func isSelfOrAncestor(anc, p string) bool {
	return anc == p || anc == "/" || strings.HasPrefix(p, anc+"/")
}

func (md model) trigger(c Change) []Fired {
	hit := map[WatcherID]bool{}
	for r := range md {
		var fires, oneShot bool
		switch r.kind {
		case "data":
			fires, oneShot = r.path == c.Path && c.Type != proto.EventNodeChildrenChanged, true
		case "child":
			fires, oneShot = r.path == c.Path && (c.Type == proto.EventNodeDeleted || c.Type == proto.EventNodeChildrenChanged), true
		case "persistent":
			fires = r.path == c.Path
		case "recursive":
			fires = c.Type != proto.EventNodeChildrenChanged && isSelfOrAncestor(r.path, c.Path)
		}
		if fires {
			hit[r.w] = true
			if oneShot {
				delete(md, r)
			}
		}
	}
	var out []Fired
	for w := range hit {
		out = append(out, Fired{W: w, Event: ev(c.Type, c.Path)})
	}
	slices.SortFunc(out, func(a, b Fired) int { return int(a.W) - int(b.W) })
	return out
}

func typeNames(typ int32) []string {
	switch typ {
	case proto.WatcherChildren:
		return []string{"child"}
	case proto.WatcherData:
		return []string{"data"}
	case proto.WatcherPersistent:
		return []string{"persistent"}
	case proto.WatcherPersistentRecursive:
		return []string{"recursive"}
	case proto.WatcherAny:
		return []string{"data", "child", "persistent", "recursive"}
	}
	return nil
}

func (md model) contains(path string, typ int32, w WatcherID) bool {
	for _, k := range typeNames(typ) {
		if md[mreg{path, w, k}] {
			return true
		}
	}
	return false
}

func (md model) remove(path string, typ int32, w WatcherID) bool {
	found := false
	for _, k := range typeNames(typ) {
		if md[mreg{path, w, k}] {
			delete(md, mreg{path, w, k})
			found = true
		}
	}
	return found
}

func (md model) stats() (Stats, int) {
	ws, ps := map[WatcherID]bool{}, map[string]bool{}
	type pair struct {
		p string
		w WatcherID
	}
	pairs, dataT, childT := map[pair]bool{}, map[pair]bool{}, map[pair]bool{}
	rec := 0
	for r := range md {
		ws[r.w], ps[r.path], pairs[pair{r.path, r.w}] = true, true, true
		if r.kind != "child" {
			dataT[pair{r.path, r.w}] = true
		}
		if r.kind == "child" || r.kind == "persistent" {
			childT[pair{r.path, r.w}] = true
		}
		if r.kind == "recursive" {
			rec++
		}
	}
	return Stats{Watchers: len(ws), Paths: len(ps), Total: len(pairs), WatchCount: len(dataT) + len(childT)}, rec
}

func (md model) byWatcher() []WatcherPaths {
	m := map[WatcherID]map[string]bool{}
	for r := range md {
		if m[r.w] == nil {
			m[r.w] = map[string]bool{}
		}
		m[r.w][r.path] = true
	}
	out := []WatcherPaths{}
	for w, ps := range m {
		wp := WatcherPaths{W: w}
		for p := range ps {
			wp.Paths = append(wp.Paths, p)
		}
		slices.Sort(wp.Paths)
		out = append(out, wp)
	}
	slices.SortFunc(out, func(a, b WatcherPaths) int { return int(a.W) - int(b.W) })
	return out
}

// TestModel drives a Manager and the model with the same random operations
// (fixed seeds) and requires identical answers and tables throughout.
func TestModel(t *testing.T) {
	paths := []string{"/", "/a", "/a/b", "/a/b/c", "/a/bc", "/b", "/b/a", "/zookeeper"}
	types := []int32{0, proto.WatcherChildren, proto.WatcherData, proto.WatcherAny, proto.WatcherPersistent, proto.WatcherPersistentRecursive}
	seeds := 6
	steps := 2500
	if testing.Short() {
		seeds, steps = 3, 1000
	}
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
		m, md := New(), model{}
		fired, sawBig := 0, false
		nw := 2 + rng.IntN(40) // up to 41 watchers: per-path sets cross smallMax
		pick := func() (string, WatcherID) {
			return paths[rng.IntN(len(paths))], WatcherID(1 + rng.IntN(nw))
		}
		for step := range steps {
			p, w := pick()
			switch op := rng.IntN(100); {
			case op < 15:
				m.AddData(p, w)
				md[mreg{p, w, "data"}] = true
			case op < 22:
				m.AddExist(p, w)
				md[mreg{p, w, "data"}] = true
			case op < 37:
				m.AddChild(p, w)
				md[mreg{p, w, "child"}] = true
			case op < 45:
				m.AddPersistent(p, w, false)
				md[mreg{p, w, "persistent"}] = true
			case op < 50:
				m.AddPersistent(p, w, true)
				md[mreg{p, w, "recursive"}] = true
			case op < 75:
				c := Change{Type: allTypes[rng.IntN(len(allTypes))], Path: p, Zxid: int64(step)}
				got := m.Trigger(c)
				require.Equal(t, md.trigger(c), got, "seed %d step %d: trigger %+v", seed, step, c)
				fired += len(got)
			case op < 83:
				typ := types[rng.IntN(len(types))]
				require.Equal(t, md.contains(p, typ, w), m.Contains(p, typ, w), "seed %d step %d: contains", seed, step)
			case op < 93:
				typ := types[rng.IntN(len(types))]
				require.Equal(t, md.remove(p, typ, w), m.Remove(p, typ, w), "seed %d step %d: remove", seed, step)
			case op < 95:
				m.RemoveWatcher(w)
				for r := range md {
					if r.w == w {
						delete(md, r)
					}
				}
			default:
				setWatchesStep(t, rng, m, md, paths, w)
			}
			// Counter drift persists, so sampling the tables is enough.
			if step%8 == 0 {
				want, rec := md.stats()
				require.Equal(t, want, m.Stats(), "seed %d step %d: stats", seed, step)
				require.Equal(t, rec, m.recursive, "seed %d step %d: recursive count", seed, step)
			}
			if step%64 == 0 {
				require.Equal(t, md.byWatcher(), m.ByWatcher(), "seed %d step %d", seed, step)
				checkByPath(t, m)
				for _, pw := range m.byPath {
					sawBig = sawBig || pw.data.big != nil || pw.child.big != nil || pw.rec.big != nil
				}
			}
		}
		require.Greater(t, fired, steps/10, "seed %d: the run must fire watches", seed)
		if nw > 2*smallMax {
			require.True(t, sawBig, "seed %d: some per-path set must switch to a map", seed)
		}
	}
}

// setWatchesStep re-registers random lists against a random tree and
// compares the catch-up events and registrations with the rules.
func setWatchesStep(t *testing.T, rng *rand.Rand, m *Manager, md model, paths []string, w WatcherID) {
	t.Helper()
	tree := map[string]proto.Stat{}
	for _, p := range paths {
		if rng.IntN(3) > 0 {
			tree[p] = proto.Stat{Mzxid: int64(rng.IntN(10)), Pzxid: int64(rng.IntN(10))}
		}
	}
	lookup := func(p string) (proto.Stat, bool) { st, ok := tree[p]; return st, ok }
	rel := int64(rng.IntN(10))
	sub := func() []string {
		var out []string
		for _, p := range paths {
			if rng.IntN(4) == 0 {
				out = append(out, p)
			}
		}
		return out
	}
	data, exist, child, pers, rec := sub(), sub(), sub(), sub(), sub()

	var want []proto.WatcherEvent
	for _, p := range data {
		st, ok := tree[p]
		switch {
		case !ok:
			want = append(want, ev(proto.EventNodeDeleted, p))
		case st.Mzxid > rel:
			want = append(want, ev(proto.EventNodeDataChanged, p))
		default:
			md[mreg{p, w, "data"}] = true
		}
	}
	for _, p := range exist {
		if _, ok := tree[p]; ok {
			want = append(want, ev(proto.EventNodeCreated, p))
		} else {
			md[mreg{p, w, "data"}] = true
		}
	}
	for _, p := range child {
		st, ok := tree[p]
		switch {
		case !ok:
			want = append(want, ev(proto.EventNodeDeleted, p))
		case st.Pzxid > rel:
			want = append(want, ev(proto.EventNodeChildrenChanged, p))
		default:
			md[mreg{p, w, "child"}] = true
		}
	}
	for _, p := range pers {
		md[mreg{p, w, "persistent"}] = true
	}
	for _, p := range rec {
		md[mreg{p, w, "recursive"}] = true
	}
	require.Equal(t, want, m.SetWatches(w, rel, data, exist, child, pers, rec, lookup))
}

// checkByPath: ByPath is ByWatcher transposed, sorted.
func checkByPath(t *testing.T, m *Manager) {
	t.Helper()
	var flat1, flat2 []string
	for _, wp := range m.ByWatcher() {
		for _, p := range wp.Paths {
			flat1 = append(flat1, p+"\x00"+string(rune(wp.W)))
		}
	}
	bp := m.ByPath()
	require.True(t, slices.IsSortedFunc(bp, func(a, b PathWatchers) int { return strings.Compare(a.Path, b.Path) }))
	for _, pw := range bp {
		require.True(t, slices.IsSorted(pw.Watchers))
		require.NotEmpty(t, pw.Watchers)
		for _, w := range pw.Watchers {
			flat2 = append(flat2, pw.Path+"\x00"+string(rune(w)))
		}
	}
	slices.Sort(flat1)
	slices.Sort(flat2)
	require.Equal(t, flat1, flat2)
}
