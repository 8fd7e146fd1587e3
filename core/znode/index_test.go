package znode

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIndexMatchesMap drives the path index through growth, heavy deletion
// (which shrinks tables) and regrowth, checking it against a Go map.
func TestIndexMatchesMap(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	x := newIndex(0)
	// The index checks a path against a node's name and its parent's
	// path: hang the keys under /k.
	rootID, root := x.insert(RootPath, noNode, "", emptyData)
	root.makeKids(RootPath) // records the root's path as ""
	kID, k := x.insert("/k", refOf(rootID), "k", emptyData)
	k.makeKids("/k")
	want := map[string]*node{RootPath: root, "/k": k}
	check := func() {
		require.Equal(t, len(want), x.len())
		seen := 0
		x.each(func(n *node) {
			seen++
			p := x.arena.path(n)
			require.Same(t, want[p], n)
			// The hash rebuilt from the parent's path and the name (in a
			// stack buffer, or on the heap past 128 bytes) is the path's.
			require.Equal(t, x.hash(p), x.nodeHash(n), p)
		})
		require.Equal(t, len(want), seen)
		for p, n := range want {
			require.Same(t, n, x.get(p), p)
		}
		for i := 0; i < 50; i++ {
			p := fmt.Sprintf("/absent/%d", r.Intn(1<<30))
			require.Nil(t, x.get(p))
		}
	}
	phases := []struct {
		name      string
		ops       int
		insertPct int
	}{
		{"grow", 20000, 90},
		{"churn", 20000, 50},
		{"drain", 30000, 5},
		{"regrow", 10000, 80},
	}
	keys := []string{}
	maxLive := len(want)
	for _, ph := range phases {
		for i := 0; i < ph.ops; i++ {
			if r.Intn(100) < ph.insertPct || len(keys) == 0 {
				name := strconv.Itoa(r.Intn(1 << 20))
				if r.Intn(10) == 0 { // some paths overflow nodeHash's stack buffer
					name += strings.Repeat("x", 100+r.Intn(100))
				}
				p := "/k/" + name
				if _, ok := want[p]; ok {
					continue
				}
				_, n := x.insert(p, refOf(kID), name, nil)
				require.Equal(t, name, n.name())
				require.Nil(t, n.data(), "null data")
				want[p] = n
				keys = append(keys, p)
				maxLive = max(maxLive, len(want))
				continue
			}
			j := r.Intn(len(keys))
			p := keys[j]
			keys[j] = keys[len(keys)-1]
			keys = keys[:len(keys)-1]
			n := want[p]
			x.arena.release(x.remove(n, p))
			require.Equal(t, node{}, *n, "a released node is zeroed")
			delete(want, p)
		}
		t.Logf("%s: %d keys", ph.name, len(want))
		check()
	}
	// The arena reused released slots: it never held more nodes than were
	// live at once.
	assert.Equal(t, maxLive, int(x.arena.next))
	// Growth and shrinking kept every table within its load bounds.
	for i := range x.tabs {
		tb := &x.tabs[i]
		if len(tb.slots) > minTableSize {
			assert.GreaterOrEqual(t, tb.count*4, len(tb.slots), "table %d", i)
		}
		assert.LessOrEqual(t, tb.count*5, len(tb.slots)*4, "table %d", i)
	}
}
