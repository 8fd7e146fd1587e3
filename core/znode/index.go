package znode

import (
	"hash/maphash"
	"math"
)

// index maps full paths to nodes, and owns the nodes. It is a compact
// replacement for map[string]*node: a node can be checked against a path
// through its name and its parent's path (arena.hasPath), so a slot needs
// only the node's 4-byte id in the index's node arena plus a 1-byte
// fingerprint, about 7 bytes per node at the average load instead of 40-55
// for a Go map with string keys, and no node needs to hold its full path
// or its hash.
//
// It is split into 256 open-addressing tables (linear probing, deletion by
// backward shift) chosen by the hash's top byte, so that a resize only
// rehashes 1/256 of the nodes and never stalls Apply for long. Nodes do not
// cache their hash: a resize, and a backward shift on removal, recompute
// it from the parent's path and the node's name (nodeHash).
//
// A table's size is not a power of two: a table grows when its load
// passes 4/5 and shrinks when it falls below 1/4, in both cases to the
// size that puts its load at 3/5, so the load stays in [0.6, 0.8] while
// the tree grows (about 7 bytes per node where doubling tables would
// average some 9 and reach 10.5 just after a resize), and linear probing
// stays short. A hash picks its home slot by scaling its low 24 bits to the
// table size (multiply and shift, no division).
//
// Hashing uses hash/maphash with a per-index random seed, like Go's own
// maps, so crafted paths cannot force collisions; the 64-bit hash is
// folded to 32 bits. Of those, the top 8 pick the table, the next 16 or
// so the home slot and the low 8 the fingerprint (which overlaps the bits
// that choose the home slot only in tables beyond 2^16 slots, some 10
// million nodes, and even then only weakens the filter: a match is always
// confirmed against the path). The seed only affects the placement of
// nodes inside the index, never any output: nothing iterates the index to
// produce results without sorting or summing commutatively.
type index struct {
	seed  maphash.Seed
	tabs  [indexTables]indexTable
	count int
	arena arena
}

const (
	indexTables  = 256
	indexShift   = 24 // top 8 bits of the 32-bit hash pick the table
	minTableSize = 8
)

type indexTable struct {
	ctrl  []uint8  // 0 = empty, else the fingerprint of the slot's node
	slots []nodeID // meaningful where ctrl is not 0
	count int
}

// nodeID names a node in an arena.
type nodeID uint32

// nodeRef refers to a node of an arena or to none: 1 + the node's id, or
// noNode (so that a zeroed node has no parent).
type nodeRef uint32

const noNode nodeRef = 0

func refOf(id nodeID) nodeRef { return nodeRef(id) + 1 }

// parentOf returns n's parent, nil for the root.
func (a *arena) parentOf(n *node) *node {
	if n.parent == noNode {
		return nil
	}
	return a.at(nodeID(n.parent - 1))
}

// arena allocates nodes in slabs of slabSize and names them by 32-bit ids,
// which halve the index's slots and the children lists. A node never moves, so pointers to it stay
// valid until it is released; a released node is zeroed (dropping its
// references) and its slot is reused by the next allocation. Slabs are
// never returned: after mass deletion the free slots wait for new nodes.
type arena struct {
	slabs []*[slabSize]node
	free  []nodeID // released ids, reused last in, first out
	next  nodeID   // the lowest id never allocated
}

const (
	slabBits = 10
	slabSize = 1 << slabBits
)

// at returns the node named id.
func (a *arena) at(id nodeID) *node { return &a.slabs[id>>slabBits][id&(slabSize-1)] }

// alloc returns a zeroed node and its id.
func (a *arena) alloc() (nodeID, *node) {
	if k := len(a.free); k > 0 {
		id := a.free[k-1]
		a.free = a.free[:k-1]
		return id, a.at(id)
	}
	id := a.next
	if id == ^nodeID(0) { // its ref would overflow
		panic("znode: more than 2^32-1 nodes")
	}
	if int(id>>slabBits) == len(a.slabs) {
		a.slabs = append(a.slabs, new([slabSize]node))
	}
	a.next++
	return id, a.at(id)
}

// release zeroes the node named id and makes its slot reusable.
func (a *arena) release(id nodeID) {
	*a.at(id) = node{}
	a.free = append(a.free, id)
}

// newIndex returns an empty index sized for about expect nodes, so that
// loading a known number of nodes does not rehash as the tables grow.
func newIndex(expect int) *index {
	x := &index{seed: maphash.MakeSeed()}
	if per := expect / indexTables; per > minTableSize {
		// Each table gets its share plus four standard deviations.
		n := per + 4*int(math.Sqrt(float64(per))) + 1
		for t := range x.tabs {
			tb := &x.tabs[t]
			tb.ctrl = make([]uint8, targetSize(n))
			tb.slots = make([]nodeID, targetSize(n))
		}
	}
	return x
}

func (x *index) hash(path string) uint32 {
	h := maphash.String(x.seed, path)
	return uint32(h ^ h>>32)
}

// nodeHash is the hash of n's full path, which it builds from the parent's
// path and n's name in a stack buffer when it fits (maphash.Bytes hashes
// bytes exactly as maphash.String hashes the same string).
func (x *index) nodeHash(n *node) uint32 {
	p := x.arena.parentOf(n)
	if p == nil {
		return x.hash(RootPath)
	}
	var buf [128]byte
	b := append(buf[:0], p.kids().path()...)
	b = append(b, '/')
	b = append(b, n.name()...)
	h := maphash.Bytes(x.seed, b)
	return uint32(h ^ h>>32)
}

// fingerprint is the hash's low byte, never 0 (which marks empty slots).
func fingerprint(h uint32) uint8 {
	if f := uint8(h); f != 0 {
		return f
	}
	return 1
}

func (x *index) len() int { return x.count }

// home is the slot where a node whose path hashes to h belongs in tb: the
// hash's low 24 bits scaled to the table size.
func (tb *indexTable) home(h uint32) int {
	return int(uint64(h&(1<<indexShift-1)) * uint64(len(tb.slots)) >> indexShift)
}

// next is the slot after i, wrapping around.
func (tb *indexTable) next(i int) int {
	if i++; i == len(tb.slots) {
		return 0
	}
	return i
}

// dist is how many slots lie from a forward to b, wrapping around.
func (tb *indexTable) dist(a, b int) int {
	if b >= a {
		return b - a
	}
	return b + len(tb.slots) - a
}

// targetSize is the table size that puts count nodes at load 3/5.
func targetSize(count int) int { return max(minTableSize, count*5/3+1) }

// get returns the node at path, or nil.
func (x *index) get(path string) *node {
	_, n := x.find(path)
	return n
}

// find returns the node at path and its id, or nil.
func (x *index) find(path string) (nodeID, *node) {
	h := x.hash(path)
	tb := &x.tabs[h>>indexShift]
	if len(tb.slots) == 0 {
		return 0, nil
	}
	fp := fingerprint(h)
	for i := tb.home(h); ; i = tb.next(i) {
		switch c := tb.ctrl[i]; {
		case c == 0:
			return 0, nil
		case c == fp:
			id := tb.slots[i]
			if n := x.arena.at(id); x.arena.hasPath(n, path) {
				return id, n
			}
		}
	}
}

// insert allocates and indexes a node at path, which must not be present,
// named name (its last segment, "" for the root) under the node parent
// refers to and holding a copy of data, and returns its id and the node;
// it is not yet in its parent's children list.
func (x *index) insert(path string, parent nodeRef, name string, data []byte) (nodeID, *node) {
	id, n := x.arena.alloc()
	n.parent = parent
	n.setBuf(name, data)
	x.place(id, path)
	return id, n
}

// insertBuf is insert for a node whose buffer (name and data, laid out as
// setBuf does) is already built; the node takes it over.
func (x *index) insertBuf(path string, parent nodeRef, buf *byte, dataLen int32) (nodeID, *node) {
	id, n := x.arena.alloc()
	n.parent, n.buf, n.dataLen = parent, buf, dataLen
	x.place(id, path)
	return id, n
}

// place indexes the node named id, whose full path is path.
func (x *index) place(id nodeID, path string) {
	h := x.hash(path)
	tb := &x.tabs[h>>indexShift]
	if (tb.count+1)*5 > len(tb.slots)*4 {
		x.resize(tb, targetSize(tb.count+1))
	}
	tb.put(id, h)
	tb.count++
	x.count++
}

// put stores id, whose node's path hashes to h, in its first free slot.
func (tb *indexTable) put(id nodeID, h uint32) {
	i := tb.home(h)
	for tb.ctrl[i] != 0 {
		i = tb.next(i)
	}
	tb.ctrl[i] = fingerprint(h)
	tb.slots[i] = id
}

// remove unindexes n, whose full path is path and which must be present
// (it panics otherwise: the tree is corrupt), and returns its id, which the
// caller must release to the arena once it is done with n.
func (x *index) remove(n *node, path string) nodeID {
	h := x.hash(path)
	tb := &x.tabs[h>>indexShift]
	i := tb.home(h)
	for tb.ctrl[i] == 0 || x.arena.at(tb.slots[i]) != n {
		if tb.ctrl[i] == 0 {
			panic("znode: removing a node that is not indexed: " + path)
		}
		i = tb.next(i)
	}
	id := tb.slots[i]
	// Backward shift: pull later members of the probe run into the hole
	// when their home slot does not lie cyclically in (hole, slot].
	for j := i; ; {
		j = tb.next(j)
		if tb.ctrl[j] == 0 {
			break
		}
		if home := tb.home(x.nodeHash(x.arena.at(tb.slots[j]))); tb.dist(home, j) >= tb.dist(i, j) {
			tb.ctrl[i], tb.slots[i] = tb.ctrl[j], tb.slots[j]
			i = j
		}
	}
	tb.ctrl[i], tb.slots[i] = 0, 0
	tb.count--
	x.count--
	if len(tb.slots) > minTableSize && tb.count*4 < len(tb.slots) {
		x.resize(tb, targetSize(tb.count))
	}
	return id
}

func (x *index) resize(tb *indexTable, size int) {
	oldCtrl, oldSlots := tb.ctrl, tb.slots
	tb.ctrl = make([]uint8, size)
	tb.slots = make([]nodeID, size)
	for i, c := range oldCtrl {
		if c != 0 {
			tb.put(oldSlots[i], x.nodeHash(x.arena.at(oldSlots[i])))
		}
	}
}

// each calls fn for every node, in an unspecified order.
func (x *index) each(fn func(*node)) {
	for t := range x.tabs {
		tb := &x.tabs[t]
		for i, c := range tb.ctrl {
			if c != 0 {
				fn(x.arena.at(tb.slots[i]))
			}
		}
	}
}
