package vfs

import (
	"fmt"
	"math/rand"
	"strings"
)

// CrashState is one state a crash may leave.
type CrashState struct {
	// Point is the number of recorded operations that had happened when
	// the crash came: the crash followed Ops()[Point-1]. When the same
	// state is reachable at several points, Point is the latest one the
	// enumeration found, which makes the strictest demand on a test (any
	// acknowledgement given at Len() <= Point must survive).
	Point int
	// FS is the crashed file system, fully durable.
	FS *MemFS
	// Desc says what the crash kept beyond the durable state, for failure
	// messages.
	Desc string
}

// EnumOptions bounds an enumeration of crash states.
type EnumOptions struct {
	// Limit is the largest number of states returned; 0 means 1000.
	Limit int
	// Seed drives the random combinations.
	Seed int64
	// RandomPerPoint is how many random combinations are tried at each
	// crash point after the systematic ones; 0 means 32.
	RandomPerPoint int
}

// CrashStates enumerates up to limit distinct crash states of the recorded
// workload with seed 1; see Enumerate.
func (r *Recorder) CrashStates(limit int) ([]CrashState, error) {
	return r.Enumerate(EnumOptions{Limit: limit, Seed: 1})
}

// Enumerate lists distinct crash states the POSIX model allows for the
// recorded workload, deterministically for a given record and options.
//
// Crash points are every boundary between recorded operations: before the
// first, after each. At a crash point the model has, per file, a list of
// unsynced writes and truncates since its last successful Sync, and per
// directory a list of unsynced entry changes since its last SyncDir. The
// crash state is chosen by one coordinate per such file or directory:
//
//   - a directory keeps a prefix of its unsynced entry changes: 0..all;
//   - a file keeps a prefix of its unsynced operations (0..all, in the
//     order they were made), and when the last kept one is a write it may
//     also be torn in one of up to four ways: cut at the first sector
//     boundary inside it, cut at the last one, cut in the middle of its
//     last (partial) sector, or zeroed from its last sector boundary (from
//     its start if it crosses none) while keeping its length;
//   - or a file keeps a prefix of its unsynced operations but one: a later
//     write reached the disk and an earlier one did not (the reordering
//     behind ZOOKEEPER-2560). Holes just before the last kept operation
//     come first; at most 64 such subsets per file and point.
//
// Durable state (everything up to each file's and directory's last
// barrier) is always kept. At each point the candidates are tried in this
// order: every coordinate at its minimum (only durable state); every
// coordinate at its maximum (everything kept, untorn); each coordinate
// through each of its values with all others at the minimum; the same with
// all others at the maximum; then RandomPerPoint random combinations
// (stopping early after 16 in a row that give no new state). Points take
// turns, one new state each per round, so a small limit still covers every
// point. States are deduplicated on MemFS.Fingerprint (the whole tree with
// contents) across points; see CrashState.Point.
//
// The result is bounded by Limit; a record whose combinations exceed it is
// covered partially, systematic candidates first.
func (r *Recorder) Enumerate(opts EnumOptions) ([]CrashState, error) {
	if opts.Limit <= 0 {
		opts.Limit = 1000
	}
	if opts.RandomPerPoint <= 0 {
		opts.RandomPerPoint = 32
	}
	r.mu.Lock()
	ops := r.ops
	r.base.mu.Lock()
	model := r.base.clone()
	r.base.mu.Unlock()
	r.mu.Unlock()

	rp := &replayer{m: model, handles: map[int]*inode{}}
	gens := make([]*pointGen, 0, len(ops)+1)
	for i := 0; ; i++ {
		model.mu.Lock()
		gens = append(gens, newPointGen(i, model.clone(), rand.New(rand.NewSource(opts.Seed+int64(i))), opts.RandomPerPoint))
		model.mu.Unlock()
		if i == len(ops) {
			break
		}
		if err := rp.apply(ops[i]); err != nil {
			return nil, err
		}
	}

	var out []CrashState
	index := map[[32]byte]int{}
	for active := len(gens); active > 0 && len(out) < opts.Limit; {
		for _, g := range gens {
			if g.done {
				continue
			}
			for {
				plan, desc, ok := g.next()
				if !ok {
					g.done = true
					g.fs, g.coords = nil, nil
					active--
					break
				}
				fs := g.fs.build(plan)
				fp := fs.Fingerprint()
				if i, seen := index[fp]; seen {
					if g.point > out[i].Point {
						out[i].Point, out[i].Desc = g.point, desc
					}
					g.dup()
					continue
				}
				index[fp] = len(out)
				out = append(out, CrashState{Point: g.point, FS: fs, Desc: desc})
				g.fresh()
				break
			}
			if len(out) >= opts.Limit {
				break
			}
		}
	}
	return out, nil
}

// coord is one file's or directory's choice at a crash point.
type coord struct {
	n     *inode
	name  string
	files []fileChoice // for a file: its choices, least kept first; all kept last
	size  int          // number of values
}

// pointGen produces the candidate crash plans of one crash point.
type pointGen struct {
	point  int
	fs     *MemFS
	coords []coord
	rng    *rand.Rand

	step      int // next systematic candidate
	nsys      int // number of systematic candidates
	randLeft  int
	dupRun    int
	inRandom  bool
	done      bool
	maxRandom int
}

func newPointGen(point int, fs *MemFS, rng *rand.Rand, random int) *pointGen {
	g := &pointGen{point: point, fs: fs, rng: rng, randLeft: random, maxRandom: random}
	names := fs.describe()
	for _, n := range fs.inodes() {
		switch {
		case n.dir && len(n.dpending) > 0:
			g.coords = append(g.coords, coord{n: n, name: names[n], size: len(n.dpending) + 1})
		case !n.dir && len(n.pending) > 0:
			c := coord{n: n, name: names[n], files: fileChoices(n)}
			c.size = len(c.files)
			g.coords = append(g.coords, c)
		}
	}
	g.nsys = 2
	for _, c := range g.coords {
		g.nsys += 2 * (c.size - 1)
	}
	if len(g.coords) == 0 {
		g.nsys = 1
		g.randLeft = 0
	}
	return g
}

// maxHoles bounds the subset choices of one file at one crash point.
const maxHoles = 64

// fileChoices lists a file's crash choices: the first keeps nothing, the
// last keeps every unsynced operation whole. In between come the prefixes
// (each with its torn variants), then the subsets that keep a prefix but
// one earlier operation, those dropping the operation just before the last
// kept one first, up to maxHoles of them.
func fileChoices(n *inode) []fileChoice {
	out := []fileChoice{{keep: 0, cut: -1}}
	for j := 1; j <= len(n.pending); j++ {
		if op := n.pending[j-1]; !op.trunc {
			sectors := sectorCuts(op)
			var cuts []fileChoice
			last := 0
			if len(sectors) > 0 {
				last = sectors[len(sectors)-1]
				cuts = append(cuts, fileChoice{keep: j, cut: sectors[0]})
				if last != sectors[0] {
					cuts = append(cuts, fileChoice{keep: j, cut: last})
				}
			}
			if mid := last + (len(op.data)-last)/2; mid > 0 && (op.off+int64(mid))%SectorSize != 0 {
				cuts = append(cuts, fileChoice{keep: j, cut: mid})
			}
			cuts = append(cuts, fileChoice{keep: j, cut: last, zero: true})
			out = append(out, cuts...)
		}
		if j < len(n.pending) {
			out = append(out, fileChoice{keep: j, cut: -1})
		}
	}
	holes := 0
	for gap := 2; gap <= len(n.pending) && holes < maxHoles; gap++ {
		for j := len(n.pending); j-gap >= 0 && holes < maxHoles; j-- {
			out = append(out, fileChoice{keep: j, drop: []int{j - gap}, cut: -1})
			holes++
		}
	}
	return append(out, fileChoice{keep: len(n.pending), cut: -1})
}

func (g *pointGen) dup() {
	if g.inRandom {
		g.dupRun++
	}
}

func (g *pointGen) fresh() { g.dupRun = 0 }

// next returns the next candidate plan, or false when the point is done.
func (g *pointGen) next() (crashPlan, string, bool) {
	var vec []int
	switch {
	case g.step < g.nsys:
		vec = g.systematic(g.step)
		g.step++
	case g.randLeft > 0 && g.dupRun < 16:
		g.inRandom = true
		g.randLeft--
		vec = make([]int, len(g.coords))
		for i, c := range g.coords {
			vec[i] = g.rng.Intn(c.size)
		}
	default:
		return crashPlan{}, "", false
	}
	return g.plan(vec)
}

// systematic returns the k-th systematic vector: all minimum, all maximum,
// then one coordinate varied with the rest at the minimum, then with the
// rest at the maximum.
func (g *pointGen) systematic(k int) []int {
	vec := make([]int, len(g.coords))
	maxed := func() {
		for i, c := range g.coords {
			vec[i] = c.size - 1
		}
	}
	switch {
	case k == 0:
		return vec
	case k == 1:
		maxed()
		return vec
	}
	k -= 2
	half := (g.nsys - 2) / 2
	if k >= half {
		k -= half
		maxed()
		for i, c := range g.coords {
			if k < c.size-1 {
				vec[i] = k // every value but the maximum
				return vec
			}
			k -= c.size - 1
		}
	}
	for i, c := range g.coords {
		if k < c.size-1 {
			vec[i] = k + 1 // every value but the minimum
			return vec
		}
		k -= c.size - 1
	}
	return vec
}

// plan turns a vector of coordinate values into a crash plan and its
// description.
func (g *pointGen) plan(vec []int) (crashPlan, string, bool) {
	p := crashPlan{files: map[*inode]fileChoice{}, dirs: map[*inode]int{}}
	var desc []string
	for i, c := range g.coords {
		v := vec[i]
		if c.n.dir {
			p.dirs[c.n] = v
			if v > 0 {
				desc = append(desc, fmt.Sprintf("dir %s keeps %d/%d entry changes", c.name, v, c.size-1))
			}
			continue
		}
		ch := c.files[v]
		p.files[c.n] = ch
		if ch.keep == 0 {
			continue
		}
		d := fmt.Sprintf("%s keeps %d/%d ops", c.name, ch.keep, len(c.n.pending))
		for _, i := range ch.drop {
			d += fmt.Sprintf(" but not op %d", i+1)
		}
		switch {
		case ch.cut >= 0 && ch.zero:
			d += fmt.Sprintf(", last write zeroed from byte %d", ch.cut)
		case ch.cut >= 0:
			d += fmt.Sprintf(", last write torn after %d bytes", ch.cut)
		}
		desc = append(desc, d)
	}
	s := fmt.Sprintf("crash after %d ops: ", g.point)
	if len(desc) == 0 {
		s += "durable state only"
	} else {
		s += strings.Join(desc, "; ")
	}
	return p, s, true
}
