package znode

import "hash/maphash"

// index maps full paths to nodes. It is a compact replacement for
// map[string]*node: a node already holds its path, so a slot needs only the
// node pointer (8 bytes) plus a 1-byte fingerprint, about 16 bytes per node
// at the average load instead of 40-55 for a Go map with string keys.
//
// It is split into 256 open-addressing tables (linear probing, deletion by
// backward shift) chosen by the hash's top byte, so that a resize only
// rehashes 1/256 of the nodes and never stalls Apply for long.
//
// Hashing uses hash/maphash with a per-index random seed, like Go's own
// maps, so crafted paths cannot force collisions. The seed only affects the
// placement of nodes inside the index, never any output: nothing iterates
// the index to produce results without sorting or summing commutatively.
type index struct {
	seed  maphash.Seed
	tabs  [indexTables]indexTable
	count int
}

const (
	indexTables  = 256
	indexShift   = 56 // top 8 bits of the hash pick the table
	minTableSize = 8
)

type indexTable struct {
	ctrl  []uint8 // 0 = empty, else the fingerprint of the slot's node
	slots []*node
	count int
}

func newIndex() *index { return &index{seed: maphash.MakeSeed()} }

func (x *index) hash(path string) uint64 { return maphash.String(x.seed, path) }

// fingerprint takes bits that neither pick the table nor (for tables up to
// 2^48 slots) the home slot.
func fingerprint(h uint64) uint8 {
	if f := uint8(h >> 48); f != 0 {
		return f
	}
	return 1
}

func (x *index) len() int { return x.count }

// get returns the node at path, or nil.
func (x *index) get(path string) *node {
	h := x.hash(path)
	tb := &x.tabs[h>>indexShift]
	if len(tb.slots) == 0 {
		return nil
	}
	fp := fingerprint(h)
	mask := uint64(len(tb.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch c := tb.ctrl[i]; {
		case c == 0:
			return nil
		case c == fp && tb.slots[i].path == path:
			return tb.slots[i]
		}
	}
}

// insert adds n, whose path must not be present.
func (x *index) insert(n *node) {
	h := x.hash(n.path)
	tb := &x.tabs[h>>indexShift]
	if (tb.count+1)*4 > len(tb.slots)*3 {
		x.resize(tb, max(minTableSize, 2*len(tb.slots)))
	}
	tb.put(h, n)
	tb.count++
	x.count++
}

func (tb *indexTable) put(h uint64, n *node) {
	mask := uint64(len(tb.slots) - 1)
	i := h & mask
	for tb.ctrl[i] != 0 {
		i = (i + 1) & mask
	}
	tb.ctrl[i] = fingerprint(h)
	tb.slots[i] = n
}

// remove deletes n, which must be present (it panics otherwise: the tree
// is corrupt).
func (x *index) remove(n *node) {
	h := x.hash(n.path)
	tb := &x.tabs[h>>indexShift]
	mask := uint64(len(tb.slots) - 1)
	i := h & mask
	for tb.slots[i] != n {
		if tb.ctrl[i] == 0 {
			panic("znode: removing a node that is not indexed: " + n.path)
		}
		i = (i + 1) & mask
	}
	// Backward shift: pull later members of the probe run into the hole
	// when their home slot does not lie cyclically in (hole, slot].
	for j := i; ; {
		j = (j + 1) & mask
		if tb.ctrl[j] == 0 {
			break
		}
		home := x.hash(tb.slots[j].path) & mask
		if (j-home)&mask >= (j-i)&mask {
			tb.ctrl[i], tb.slots[i] = tb.ctrl[j], tb.slots[j]
			i = j
		}
	}
	tb.ctrl[i], tb.slots[i] = 0, nil
	tb.count--
	x.count--
	if len(tb.slots) > minTableSize && tb.count*8 < len(tb.slots) {
		x.resize(tb, len(tb.slots)/2)
	}
}

func (x *index) resize(tb *indexTable, size int) {
	old := tb.slots
	tb.ctrl = make([]uint8, size)
	tb.slots = make([]*node, size)
	for _, n := range old {
		if n != nil {
			tb.put(x.hash(n.path), n)
		}
	}
}

// each calls fn for every node, in an unspecified order.
func (x *index) each(fn func(*node)) {
	for t := range x.tabs {
		for _, n := range x.tabs[t].slots {
			if n != nil {
				fn(n)
			}
		}
	}
}
