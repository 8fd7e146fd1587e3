package sim

// Source is the simulator's only source of randomness: a seeded generator
// (the tests pass math/rand/v2's PCG). Injecting it keeps this package free
// of clocks and global state, so one seed replays one run exactly.
type Source interface {
	Uint64() uint64
}

// rng derives the draws the simulator needs from a Source.
type rng struct{ src Source }

// intn returns a value in [0, n); n <= 0 gives 0.
func (r rng) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return int(r.src.Uint64() % uint64(n))
}

// between returns a value in [lo, hi].
func (r rng) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + int64(r.src.Uint64()%uint64(hi-lo+1))
}

// chance reports true with probability p.
func (r rng) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	return float64(r.src.Uint64()>>11)/(1<<53) < p
}
