// Package differential_test sends one seeded stream of client operations,
// through github.com/go-zookeeper/zk, to two servers, the oracle (Apache
// ZooKeeper 3.8) and the candidate, and requires every result to agree:
// error codes, data, sorted child lists, Stat fields (versions, cversion,
// aversion, dataLength, numChildren, whose session owns an ephemeral, and
// how the zxids relate, but not their values or the times), created names
// (sequence suffixes), ACLs, multi results (per operation), and per session
// the watch events it received. At the end the two trees are dumped and
// compared.
//
// Run one seed with `go test ./tests/differential -seed=N` (or
// WARREN_DIFF_SEED=N); a failure prints its seed and the operations that
// led to it. -ops sets the operations per seed.
//
// The candidate is chosen by testutil.Candidate: Warren unless
// WARREN_COMPAT_CANDIDATE=zookeeper, which runs a second ZooKeeper instead
// and so checks the harness itself (two ZooKeepers must always agree).
//
// Intentional differences between Warren and ZooKeeper 3.8 that this test
// tolerates (each needs a reason and the code that tolerates it):
//
//	| difference | reason | tolerated in |
//	|------------|--------|--------------|
//	| (none yet) |        |              |
package differential_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
)

var (
	seedFlag = flag.Int64("seed", 0, "run only this seed (default: $WARREN_DIFF_SEED, else the fixed seeds)")
	opsFlag  = flag.Int("ops", 2500, "operations per seed")
)

// defaultSeeds run when no seed is given.
var defaultSeeds = []int64{1, 2, 3}

// seedEnv names the environment variable that selects one seed.
const seedEnv = "WARREN_DIFF_SEED"

const (
	// checkpointEvery is how many operations pass between two comparisons
	// of the watch events the sessions received.
	checkpointEvery = 50
	// historyShown is how many recent operations a failure prints.
	historyShown = 25
	// superPassword is the password of the super user both servers accept.
	superPassword = "secret"
	// root is the znode under which the operation stream mostly works.
	root = "/d"
	// minOpsForCoverage is the stream length from which checkCoverage
	// expects every kind of operation and error to have come up.
	minOpsForCoverage = 1000
)

func TestMain(m *testing.M) { os.Exit(testutil.RunTests(m)) }

func seeds(t *testing.T) []int64 {
	if *seedFlag != 0 {
		return []int64{*seedFlag}
	}
	if env := os.Getenv(seedEnv); env != "" {
		seed, err := strconv.ParseInt(env, 10, 64)
		require.NoError(t, err, "%s=%q", seedEnv, env)
		return []int64{seed}
	}
	return defaultSeeds
}

func TestDifferential(t *testing.T) {
	candidate := testutil.Candidate(t)
	cfg := testutil.ServerConfig{
		ExtendedTypes: true,
		SuperDigest:   testutil.Digest("super", superPassword),
		// Containers and TTL nodes must never be reaped mid-run: when the
		// reaper fires on each server is a matter of timing.
		ContainerCheckInterval: 24 * time.Hour,
	}
	for _, seed := range seeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel() // each seed has its own servers; the run is latency-bound
			r := &run{
				t:        t,
				seed:     seed,
				gen:      newGen(seed),
				outcomes: map[string]int{},
				sides: [2]*side{
					newSide(string(testutil.Oracle()), testutil.Oracle().Start(t, cfg)),
					newSide(string(candidate)+" (candidate)", candidate.Start(t, cfg)),
				},
			}
			defer r.closeAll()
			r.play(*opsFlag)
		})
	}
}

// run is one seed's comparison.
type run struct {
	t       *testing.T
	seed    int64
	gen     *gen
	sides   [2]*side // oracle, candidate
	history []string
	done    int // operations applied
	// outcomes counts "<op kind> <result class>" over the run, to prove it
	// exercised what it claims to (see checkCoverage).
	outcomes map[string]int
	events   int // watch events compared
}

// fail stops the run with the seed, how to replay it, and the recent
// operations.
func (r *run) fail(format string, args ...any) {
	r.t.Helper()
	start := max(0, len(r.history)-historyShown)
	r.t.Fatalf("seed %d, after %d operations: %s\n\nreplay: go test ./tests/differential -run 'TestDifferential/seed=%d$' -seed=%d -ops=%d\nlast operations (oracle result):\n%s",
		r.seed, r.done, fmt.Sprintf(format, args...), r.seed, r.seed, *opsFlag, strings.Join(r.history[start:], "\n"))
}

// both runs f on the oracle and the candidate concurrently.
func (r *run) both(f func(s *side) result) [2]result {
	var out [2]result
	var wg sync.WaitGroup
	for i, s := range r.sides {
		wg.Go(func() { out[i] = f(s) })
	}
	wg.Wait()
	return out
}

func (r *run) play(n int) {
	for slot := range identities {
		r.open(slot)
	}
	r.applyOp(op{kind: opCreate, slot: slotAnon, path: root, data: []byte("root"), acl: zk.WorldACL(zk.PermAll)})
	for _, o := range prologue() {
		r.applyOp(o)
	}
	r.checkpoint(false)
	for r.done < n {
		o := r.gen.next()
		if o.kind == opClose {
			r.closeSession(o.slot)
		} else {
			r.applyOp(o)
		}
		if r.done%checkpointEvery == 0 {
			r.checkpoint(false)
		}
	}
	r.checkpoint(false)
	r.compareTrees()
	r.checkCoverage()
}

// applyOp runs one operation on both servers and compares the results.
func (r *run) applyOp(o op) {
	r.t.Helper()
	res := r.both(func(s *side) result { return s.apply(o) })
	r.done++
	r.history = append(r.history, fmt.Sprintf("%5d %s -> %s", r.done, o, res[0].text))
	if res[0].text != res[1].text {
		r.fail("results differ for %s\n  %s: %s\n  %s: %s", o, r.sides[0].name, res[0].text, r.sides[1].name, res[1].text)
	}
	r.gen.observe(o, res[0])
	r.outcomes[opNames[o.kind]+" "+outcomeClass(res[0].text)]++
}

// outcomeClass reduces a rendered result to "ok" or its first error.
func outcomeClass(text string) string {
	start := strings.Index(text, "err(")
	if start < 0 {
		return "ok"
	}
	end := strings.Index(text[start:], ")")
	return text[start : start+end+1]
}

// open connects a slot's session on both servers under a new logical
// session number and authenticates it as the slot's identity.
func (r *run) open(slot int) {
	r.t.Helper()
	logical := r.gen.newSession()
	res := r.both(func(s *side) result { return s.open(slot, logical) })
	for i, x := range res {
		if x.text != "" {
			r.fail("open session %d for %s on %s: %s", logical, identities[slot].name, r.sides[i].name, x.text)
		}
	}
}

// closeSession closes a slot's session on both servers and opens a new one.
// The events the close causes (its ephemerals' deletions) are compared as
// a set: ZooKeeper deletes a session's ephemerals in hash order.
//
// go-zookeeper waits at most a second for the server to confirm a close, so
// the side also waits until the ephemerals the session created are gone:
// only then is the close certainly applied before the next operation.
func (r *run) closeSession(slot int) {
	r.t.Helper()
	r.checkpoint(false)
	ephemerals := r.gen.takeEphemerals(slot)
	res := r.both(func(s *side) result { return s.closeAndWait(slot, ephemerals) })
	r.done++
	r.history = append(r.history, fmt.Sprintf("%5d close session of %s -> %s", r.done, identities[slot].name, res[0].text))
	if res[0].text != res[1].text {
		r.fail("closing the session of %s\n  %s: %s\n  %s: %s", identities[slot].name, r.sides[0].name, res[0].text, r.sides[1].name, res[1].text)
	}
	r.outcomes["close ok"]++
	r.open(slot)
	r.checkpoint(true)
}

// checkpoint syncs every session on both servers, so that each has
// received the events for everything done so far, and compares the events
// each slot received since the last checkpoint.
func (r *run) checkpoint(unordered bool) {
	r.t.Helper()
	res := r.both(func(s *side) result { return s.drainEvents(unordered) })
	r.events += strings.Count(res[0].text, "Event")
	if res[0].text != res[1].text {
		r.fail("watch events differ (per session, since the previous checkpoint%s)\n  %s:\n%s\n  %s:\n%s",
			map[bool]string{true: ", sorted", false: ""}[unordered],
			r.sides[0].name, res[0].text, r.sides[1].name, res[1].text)
	}
}

// compareTrees dumps both trees (as the super user) and compares them.
func (r *run) compareTrees() {
	r.t.Helper()
	res := r.both(func(s *side) result { return s.dump() })
	require.Equal(r.t, res[0].text, res[1].text, "seed %d: final trees differ (oracle %s, candidate %s)", r.seed, r.sides[0].name, r.sides[1].name)
	require.NotEmpty(r.t, res[0].text)
}

func (r *run) closeAll() {
	for _, s := range r.sides {
		for slot := range s.slots {
			if s.slots[slot] != nil {
				s.close(slot)
			}
		}
	}
}

// checkCoverage logs what the run did and fails one that agreed only
// because it exercised little: in a stream of minOpsForCoverage or more,
// every kind of operation must have succeeded, the main error codes must
// have come up, and watches must have fired.
func (r *run) checkCoverage() {
	r.t.Helper()
	keys := make([]string, 0, len(r.outcomes))
	for k := range r.outcomes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %6d %s\n", r.outcomes[k], k)
	}
	r.t.Logf("seed %d: %d operations, %d watch events; outcomes:\n%s", r.seed, r.done, r.events, b.String())

	if *opsFlag < minOpsForCoverage {
		return
	}
	for _, kind := range []opKind{opCreate, opDelete, opSet, opExists, opGet, opChildren, opGetACL, opSetACL, opSync, opAuth, opMulti, opClose} {
		require.Positive(r.t, r.outcomes[opNames[kind]+" ok"], "seed %d: no successful %s", r.seed, opNames[kind])
	}
	for _, want := range []error{zk.ErrNoNode, zk.ErrNodeExists, zk.ErrBadVersion, zk.ErrNotEmpty, zk.ErrNoAuth,
		zk.ErrInvalidACL, zk.ErrBadArguments, zk.ErrNoChildrenForEphemerals} {
		seen := 0
		for k, n := range r.outcomes {
			if strings.HasSuffix(k, errText(want)) {
				seen += n
			}
		}
		require.Positive(r.t, seen, "seed %d: never saw %v", r.seed, want)
	}
	require.Positive(r.t, r.events, "seed %d: no watch events", r.seed)
}
