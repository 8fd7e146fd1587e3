package vfs

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand"
	"slices"
	"strings"
)

// SectorSize is the unit a disk writes atomically; torn writes are cut at
// multiples of it (or, for TearMidSector, deliberately not).
const SectorSize = 512

// KeepMode says how many of a file's (or a directory's) unsynced operations
// survive a crash.
type KeepMode int

const (
	// KeepNone drops every unsynced operation: only durable state survives.
	KeepNone KeepMode = iota
	// KeepAll keeps every unsynced operation, as if it had been synced.
	KeepAll
	// KeepRandom keeps a prefix, in the order they were made, of each file's
	// (each directory's) unsynced operations, its length chosen uniformly
	// from 0 to all of them.
	KeepRandom
	// KeepSubset keeps each unsynced write or truncate of a file
	// independently with probability 1/2: later writes may reach the disk
	// while earlier ones do not (PACE, ZOOKEEPER-2560). For directories it
	// means KeepRandom: entry changes are kept as a prefix.
	KeepSubset
)

// TearMode says how the last kept unsynced write of a file is torn.
type TearMode int

const (
	// TearNone keeps the last kept write whole.
	TearNone TearMode = iota
	// TearSector keeps the write only up to a sector boundary strictly
	// inside it, chosen at random; if the write crosses no boundary, it is
	// lost entirely (sectors are written atomically).
	TearSector
	// TearMidSector keeps the write up to a random byte that is not on a
	// sector boundary; if the write is a single byte, it is lost entirely.
	TearMidSector
	// TearZeroTail keeps the write's length but zeroes it from a sector
	// boundary strictly inside it (chosen at random; from its start if it
	// crosses none): the file's size reached the disk before its data did.
	TearZeroTail
)

func (t TearMode) String() string {
	switch t {
	case TearNone:
		return "none"
	case TearSector:
		return "sector"
	case TearMidSector:
		return "mid-sector"
	case TearZeroTail:
		return "zero-tail"
	}
	return fmt.Sprintf("TearMode(%d)", int(t))
}

// CrashOptions chooses what a crash keeps beyond durable state. The zero
// value keeps only durable state. The choice is deterministic given Seed:
// files and directories are visited in creation order, and each random
// choice comes from math/rand seeded with Seed.
type CrashOptions struct {
	// Seed drives every random choice.
	Seed int64
	// Writes says how many unsynced writes and truncates of each file survive.
	Writes KeepMode
	// DirOps says how many unsynced entry changes (create, rename, remove,
	// mkdir) of each directory survive.
	DirOps KeepMode
	// Tear tears each file's last kept unsynced operation, if it is a write.
	Tear TearMode
}

// fileChoice is what a crash keeps of one file's unsynced operations: the
// first keep of them except those whose index is in drop, and, when cut >=
// 0, the last kept one (a write) only up to cut bytes (or zeroed from cut
// when zero is set).
type fileChoice struct {
	keep int
	drop []int
	cut  int
	zero bool
}

// crashPlan is a fully resolved crash: per inode, how many unsynced
// operations survive. Absent inodes keep none.
type crashPlan struct {
	files map[*inode]fileChoice
	dirs  map[*inode]int
}

// Crash returns the file system as a crash would leave it, chosen by opts:
// a new MemFS whose every file and directory entry is durable. The receiver
// is dead afterwards: its methods and the methods of its open files return
// ErrCrashed, as the crashed process can no longer use them.
func (m *MemFS) Crash(opts CrashOptions) *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	plan := m.planFor(opts)
	out := m.build(plan)
	m.dead = true
	return out
}

// inodes returns every inode reachable through a volatile, durable or
// pending directory entry, in creation order; m.mu is held.
func (m *MemFS) inodes() []*inode {
	seen := map[*inode]bool{}
	var visit func(n *inode)
	visit = func(n *inode) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		if !n.dir {
			return
		}
		for _, c := range n.ents {
			visit(c)
		}
		for _, c := range n.dents {
			visit(c)
		}
		for _, op := range n.dpending {
			visit(op.node)
		}
	}
	visit(m.root)
	out := make([]*inode, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *inode) int { return cmpU64(a.id, b.id) })
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// planFor resolves options into a plan; m.mu is held.
func (m *MemFS) planFor(opts CrashOptions) crashPlan {
	rng := rand.New(rand.NewSource(opts.Seed))
	plan := crashPlan{files: map[*inode]fileChoice{}, dirs: map[*inode]int{}}
	count := func(mode KeepMode, n int) int {
		switch mode {
		case KeepAll:
			return n
		case KeepRandom, KeepSubset:
			return rng.Intn(n + 1)
		}
		return 0
	}
	for _, n := range m.inodes() {
		if n.dir {
			if len(n.dpending) > 0 {
				plan.dirs[n] = count(opts.DirOps, len(n.dpending))
			}
			continue
		}
		if len(n.pending) == 0 {
			continue
		}
		c := fileChoice{cut: -1}
		if opts.Writes == KeepSubset {
			for i := range n.pending {
				if rng.Intn(2) == 0 {
					c.drop = append(c.drop, i)
				} else {
					c.keep = i + 1
				}
			}
			c.drop = slices.DeleteFunc(c.drop, func(i int) bool { return i >= c.keep })
		} else {
			c.keep = count(opts.Writes, len(n.pending))
		}
		if c.keep > 0 && opts.Tear != TearNone {
			if op := n.pending[c.keep-1]; !op.trunc {
				c.cut = tearCut(op, opts.Tear, rng)
				c.zero = opts.Tear == TearZeroTail
			}
		}
		plan.files[n] = c
	}
	return plan
}

// sectorCuts lists the sector boundaries strictly inside a write, as the
// number of its bytes before each.
func sectorCuts(op fileOp) []int {
	var cuts []int
	end := op.off + int64(len(op.data))
	for b := (op.off/SectorSize + 1) * SectorSize; b < end; b += SectorSize {
		cuts = append(cuts, int(b-op.off))
	}
	return cuts
}

// tearCut chooses where a crash tears a write in the given mode: the number
// of its bytes that survive (for TearZeroTail, the offset in it from which
// it is zeroed). A write that cannot be torn that way is lost entirely (0).
func tearCut(op fileOp, mode TearMode, rng *rand.Rand) int {
	sectors := sectorCuts(op)
	if mode != TearMidSector {
		if len(sectors) == 0 {
			return 0
		}
		return sectors[rng.Intn(len(sectors))]
	}
	n := len(op.data)
	if n-1-len(sectors) <= 0 {
		return 0
	}
	for {
		i := 1 + rng.Intn(n-1)
		if (op.off+int64(i))%SectorSize != 0 {
			return i
		}
	}
}

// fileContent is the content a file has after a crash that keeps c of its
// unsynced operations.
func fileContent(n *inode, c fileChoice) []byte {
	buf := slices.Clone(n.durable)
	for i, op := range n.pending[:c.keep] {
		if slices.Contains(c.drop, i) {
			continue
		}
		if i == c.keep-1 && c.cut >= 0 && !op.trunc {
			if c.zero {
				data := slices.Clone(op.data)
				clear(data[c.cut:])
				op.data = data
			} else {
				op.data = op.data[:c.cut]
			}
		}
		buf = applyOp(buf, op)
	}
	if buf == nil {
		buf = []byte{}
	}
	return buf
}

// dirEntries are the entries a directory has after a crash that keeps k of
// its unsynced changes.
func dirEntries(n *inode, k int) map[string]*inode {
	ents := make(map[string]*inode, len(n.dents))
	for name, c := range n.dents {
		ents[name] = c
	}
	for _, op := range n.dpending[:k] {
		if op.node == nil {
			delete(ents, op.name)
		} else {
			ents[op.name] = op.node
		}
	}
	return ents
}

// build makes the MemFS a crash following plan leaves; m.mu is held. Inodes
// keep their numbers; an inode reachable under two names (a half-done
// rename across directories) stays one inode, like a hard link.
func (m *MemFS) build(plan crashPlan) *MemFS {
	out := &MemFS{nextID: m.nextID}
	mapped := map[*inode]*inode{}
	var cp func(old *inode) *inode
	cp = func(old *inode) *inode {
		if n, ok := mapped[old]; ok {
			return n
		}
		n := &inode{id: old.id, dir: old.dir}
		mapped[old] = n
		if !old.dir {
			n.data = fileContent(old, plan.files[old])
			n.durable = slices.Clone(n.data)
			return n
		}
		ents := dirEntries(old, plan.dirs[old])
		n.ents = make(map[string]*inode, len(ents))
		n.dents = make(map[string]*inode, len(ents))
		for name, c := range ents {
			nc := cp(c)
			n.ents[name] = nc
			n.dents[name] = nc
		}
		return n
	}
	out.root = cp(m.root)
	return out
}

// clone returns a copy of the whole state, volatile and durable, with the
// pending operations; m.mu is held.
func (m *MemFS) clone() *MemFS {
	out := &MemFS{nextID: m.nextID}
	mapped := map[*inode]*inode{}
	var cp func(old *inode) *inode
	cp = func(old *inode) *inode {
		if old == nil {
			return nil
		}
		if n, ok := mapped[old]; ok {
			return n
		}
		n := &inode{
			id:      old.id,
			dir:     old.dir,
			data:    slices.Clone(old.data),
			durable: slices.Clone(old.durable),
			pending: slices.Clone(old.pending), // op data is never mutated
		}
		mapped[old] = n
		if old.dir {
			n.ents = make(map[string]*inode, len(old.ents))
			n.dents = make(map[string]*inode, len(old.dents))
			for name, c := range old.ents {
				n.ents[name] = cp(c)
			}
			for name, c := range old.dents {
				n.dents[name] = cp(c)
			}
			n.dpending = make([]dirOp, len(old.dpending))
			for i, op := range old.dpending {
				n.dpending[i] = dirOp{name: op.name, node: cp(op.node)}
			}
		}
		return n
	}
	out.root = cp(m.root)
	return out
}

// Fingerprint is a digest of the volatile tree: every path, whether it is a
// directory, and every file's content. Two MemFS with the same fingerprint
// look the same to a reader.
func (m *MemFS) Fingerprint() [32]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := sha256.New()
	var walk func(n *inode, prefix string)
	walk = func(n *inode, prefix string) {
		names := make([]string, 0, len(n.ents))
		for name := range n.ents {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			c := n.ents[name]
			p := prefix + "/" + name
			var hdr [9]byte
			if c.dir {
				hdr[0] = 'd'
			} else {
				hdr[0] = 'f'
				binary.BigEndian.PutUint64(hdr[1:], uint64(len(c.data)))
			}
			h.Write([]byte(p))
			h.Write([]byte{0})
			h.Write(hdr[:])
			if c.dir {
				walk(c, p)
			} else {
				h.Write(c.data)
			}
		}
	}
	walk(m.root, "")
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// String lists the volatile tree, one path per line with a file's size, for
// test failure messages.
func (m *MemFS) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	var walk func(n *inode, prefix string)
	walk = func(n *inode, prefix string) {
		names := make([]string, 0, len(n.ents))
		for name := range n.ents {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			c := n.ents[name]
			p := prefix + "/" + name
			if c.dir {
				fmt.Fprintf(&b, "%s/\n", p)
				walk(c, p)
			} else {
				fmt.Fprintf(&b, "%s %d\n", p, len(c.data))
			}
		}
	}
	walk(m.root, "")
	return b.String()
}
