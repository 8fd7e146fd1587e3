// Package crash_test SIGKILLs a real Warren server, built from this module,
// hundreds of times under a concurrent write load, at random moments and
// at moments aligned with snapshots and log segment rolls. After every kill
// it rebuilds the state from the data directories (serve.InspectDataDir,
// read-only), restarts the server and checks that it came back, that its
// zxid and digest equal the rebuilt ones, and that every acknowledged write
// is there (see model_test.go for exactly what "there" means once outcomes
// are unknown).
//
// `go test ./tests/crash` runs a short slice (WARREN_CRASH_KILLS, default
// 30 kills); `make chaos` runs hundreds. WARREN_CRASH_SEED replays a run's
// decisions (the seed is logged; kill timing stays inherently racy).
package crash_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/serve"
	"github.com/warrenhq/warren/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunTests(m)) }

// Run parameters, from the environment.
const (
	defaultKills   = 30
	defaultBudget  = 45 * time.Second
	writers        = 4
	eventWait      = 3 * time.Second // longest wait for a snapshot or roll to kill into
	logTailOnError = 60
)

// killMode is when a kill lands.
type killMode int

const (
	killRandom   killMode = iota // after a random stretch of writing
	killSnapshot                 // as a snapshot's temporary file appears, plus 0-3 ms
	killRoll                     // as a new log segment appears, plus 0-300 µs
)

func (k killMode) String() string { return [...]string{"random", "snapshot", "roll"}[k] }

// stats are the run's numbers, logged at the end.
type stats struct {
	kills        int
	byMode       [3]int
	inSnapshot   int // the log shows a snapshot started and not finished
	tmpLeft      int // kills that left a snapshot's temporary file behind
	inRoll       int // the newest log segment held no complete record
	eventTimeout int // aligned kills whose event did not come in time
	startupKills int // extra kills 0-20 ms into a restart (recovery, purge)
	replayed     int // log records replayed by InspectDataDir, summed
	fromSnapshot int // recoveries that started from a snapshot
}

// envInt reads a positive integer from the environment.
func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func TestCrashRecovery(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("WARREN_CRASH_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "WARREN_CRASH_SEED")
		seed = s
	}
	kills := envInt(t, "WARREN_CRASH_KILLS", defaultKills)
	budget := defaultBudget
	if v := os.Getenv("WARREN_CRASH_TIME"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "WARREN_CRASH_TIME")
		budget = d
	} else if kills != defaultKills {
		budget = 0 // a long run asked for by count runs to its count
	}
	t.Logf("crash test: seed %d (replay with WARREN_CRASH_SEED=%d), %d kills, time budget %v", seed, seed, kills, budget)

	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	snapCount := 50 + rng.IntN(151)
	preAllocKB := []int{16, 32, 64}[rng.IntN(3)]
	t.Logf("snapCount=%d preAllocSize=%dKB", snapCount, preAllocKB)

	r := &run{t: t, seed: seed, rng: rng, m: newModel(), g: newGate(), fails: &failures{}}
	r.n = newNode(t, testutil.WarrenBinary(t), snapCount, preAllocKB)
	r.p = newProxy(t)
	defer r.p.close()
	w, err := newDirWatcher(r.n.snapDir(), r.n.txnlogDir())
	require.NoError(t, err)
	defer w.close()
	r.w = w
	defer r.n.kill()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d; data directories and server log kept in %s", seed, r.n.dir)
		}
	})

	began := time.Now()
	r.setup()
	var wg sync.WaitGroup
	for _, wr := range r.writers {
		wg.Add(1)
		go wr.run(&wg)
	}
	defer func() {
		// Closing the sessions' connections returns requests queued for a
		// server that will not come back.
		r.g.stop()
		for _, wr := range r.writers {
			wr.conn.Close()
		}
		wg.Wait()
	}()

	for r.st.kills < kills {
		if budget > 0 && time.Since(began) > budget {
			t.Logf("time budget %v reached after %d kills", budget, r.st.kills)
			break
		}
		r.cycle()
	}

	// Let the writers finish against the running server, then check once
	// more, shut down gracefully and check that a clean stop keeps exactly
	// what the server held.
	r.p.setOpen(true, r.n.addr())
	r.g.stop()
	wg.Wait()
	r.failIfWriterErrors()
	r.g.set(false)
	r.p.setOpen(false, "")
	r.verify("final")
	for _, wr := range r.writers {
		wr.conn.Close()
	}
	zxid, digest, err := r.n.hash()
	r.require(err == nil, "hash before the final stop: %v", err)
	r.n.stop()
	st := r.inspect()
	r.require(st.Zxid == zxid && st.Digest == digest,
		"after a graceful stop the data directories hold zxid 0x%x digest %d, the server had zxid 0x%x digest %d",
		st.Zxid, st.Digest, zxid, digest)

	var odd []string
	for _, wr := range r.writers {
		odd = append(odd, wr.oddErrors()...)
	}
	s := r.st
	t.Logf("crash test done in %v: %d kills (random %d, snapshot-aligned %d, roll-aligned %d); "+
		"killed inside a snapshot %d (temporary snapshot file left %d), inside a log roll %d, aligned kills without their event %d, "+
		"extra kills during start-up %d; "+
		"recoveries from a snapshot %d, log records replayed %d; acknowledged writes %d (all verified), acknowledged failures %d, unknown outcomes %d; "+
		"other errors counted unknown: %v",
		time.Since(began).Round(time.Millisecond), s.kills, s.byMode[killRandom], s.byMode[killSnapshot], s.byMode[killRoll],
		s.inSnapshot, s.tmpLeft, s.inRoll, s.eventTimeout, s.startupKills, s.fromSnapshot, s.replayed,
		r.m.verified, r.m.ackedFailed, r.m.unknown, odd)
	require.Equal(t, r.m.acked, r.m.verified, "every acknowledged write was covered by a check")
	require.Positive(t, s.inSnapshot, "no kill landed inside a snapshot (seed %d)", seed)
	require.Positive(t, s.inRoll, "no kill landed inside a log roll (seed %d)", seed)
	require.Positive(t, r.m.acked, "the writers got no write acknowledged")
}

// run is one crash test run.
type run struct {
	t       *testing.T
	seed    uint64
	rng     *rand.Rand
	n       *node
	p       *proxy
	w       *dirWatcher
	m       *model
	g       *gate
	fails   *failures
	writers []*writer
	st      stats
}

// require fails the test with the seed and the server log tail.
func (r *run) require(cond bool, format string, args ...any) {
	r.t.Helper()
	if cond {
		return
	}
	r.t.Fatalf("seed %d, kill %d: %s\nserver log (last %d lines):\n%s",
		r.seed, r.st.kills, fmt.Sprintf(format, args...), logTailOnError, r.n.logTail(logTailOnError))
}

func (r *run) failIfWriterErrors() {
	r.t.Helper()
	if errs := r.fails.get(); len(errs) > 0 {
		r.require(false, "the writers found %d problem(s):\n%v", len(errs), errors.Join(errs...))
	}
}

// setup starts the server, creates /w/<writer> and connects the writers.
func (r *run) setup() {
	r.require(r.n.start() == nil, "first start failed")
	conn := r.direct()
	defer conn.Close()
	for _, p := range []string{"/w"} {
		_, err := conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
		r.require(err == nil, "create %s: %v", p, err)
	}
	for i := 0; i < writers; i++ {
		_, err := conn.Create(fmt.Sprintf("/w/%d", i), nil, 0, zk.WorldACL(zk.PermAll))
		r.require(err == nil, "create /w/%d: %v", i, err)
	}
	r.p.setOpen(true, r.n.addr())
	for i := 0; i < writers; i++ {
		wr, err := newWriter(i, r.seed, r.p.addr(), r.m, r.g, r.fails)
		r.require(err == nil, "%v", err)
		r.writers = append(r.writers, wr)
	}
}

// direct opens a session straight to the server, bypassing the proxy.
func (r *run) direct() *zk.Conn {
	conn, _, err := zk.Connect([]string{r.n.addr()}, sessionTimeout, zk.WithLogger(nopLogger{}))
	r.require(err == nil, "connect to %s: %v", r.n.addr(), err)
	return conn
}

// cycle lets the writers run, kills the server at a moment the plan picks,
// rebuilds the state from disk, restarts and verifies.
func (r *run) cycle() {
	mode := killMode(r.rng.IntN(3))
	randomDelay := time.Duration(20+r.rng.IntN(380)) * time.Millisecond
	snapDelay := time.Duration(r.rng.IntN(3000)) * time.Microsecond
	rollDelay := time.Duration(r.rng.IntN(300)) * time.Microsecond
	if r.rng.IntN(4) == 0 {
		snapDelay, rollDelay = 0, 0
	}
	startupKill := r.rng.IntN(6) == 0
	startupDelay := time.Duration(r.rng.IntN(20000)) * time.Microsecond

	segBefore := newestSegment(r.n.txnlogDir())
	r.w.drain()
	r.p.setOpen(true, r.n.addr())
	r.g.set(true)
	switch mode {
	case killRandom:
		time.Sleep(randomDelay)
	case killSnapshot:
		if r.awaitEvent(r.n.snapDir(), func(name string) bool { return strings.HasSuffix(name, ".tmp") }) {
			spin(snapDelay)
		}
	case killRoll:
		if r.awaitEvent(r.n.txnlogDir(), func(name string) bool { return strings.HasPrefix(name, "log.") }) {
			spin(rollDelay)
		}
	}
	r.n.kill()
	r.g.set(false)
	r.p.setOpen(false, "")
	r.st.kills++
	r.st.byMode[mode]++

	r.classifyKill()
	r.failIfWriterErrors()
	r.g.waitParked(writers, 300*time.Millisecond)

	st := r.inspect()
	r.st.replayed += st.LogReplayed
	if st.Snapshot != "" {
		r.st.fromSnapshot++
	}
	if seg := newestSegment(r.n.txnlogDir()); seg > segBefore && st.LogLastZxid < seg {
		r.st.inRoll++
	}
	if startupKill {
		// Recovery cuts torn tails and purging removes files at start:
		// a kill in there must leave the same state.
		r.require(r.n.launch() == nil, "start the server for a start-up kill")
		spin(startupDelay)
		r.n.kill()
		r.st.startupKills++
		again := r.inspect()
		r.require(again.Zxid == st.Zxid && again.Digest == st.Digest && again.Sessions == st.Sessions,
			"a kill %v into start-up changed the state on disk: zxid 0x%x digest %d sessions %d, before zxid 0x%x digest %d sessions %d",
			startupDelay, again.Zxid, again.Digest, again.Sessions, st.Zxid, st.Digest, st.Sessions)
	}
	err := r.n.start()
	r.require(err == nil, "the server did not come back after kill %d (%s): %v", r.st.kills, mode, err)
	zxid, digest, err := r.n.hash()
	r.require(err == nil, "hash after restart: %v", err)
	r.require(zxid == st.Zxid && digest == st.Digest,
		"after restart the server has zxid 0x%x digest %d; rebuilt from the data directories: zxid 0x%x digest %d (%+v)",
		zxid, digest, st.Zxid, st.Digest, st)
	// mntr counts the root twice, as ZooKeeper's DataTree does.
	nodes, err := r.n.mntrValue("zk_znode_count")
	r.require(err == nil && nodes == strconv.Itoa(st.Nodes+1), "zk_znode_count %q (%v), rebuilt %d nodes", nodes, err, st.Nodes)
	sessions, err := r.n.mntrValue("zk_global_sessions")
	r.require(err == nil && sessions == strconv.Itoa(st.Sessions), "zk_global_sessions %q (%v), rebuilt %d", sessions, err, st.Sessions)
	r.verify(fmt.Sprintf("after kill %d (%s)", r.st.kills, mode))
}

// awaitEvent waits for a file whose name matches in dir; false when none
// came within eventWait (the kill then happens anyway).
func (r *run) awaitEvent(dir string, match func(string) bool) bool {
	timeout := time.After(eventWait)
	for {
		select {
		case ev := <-r.w.events:
			if ev.dir == dir && match(ev.name) {
				return true
			}
		case <-timeout:
			r.st.eventTimeout++
			return false
		}
	}
}

// spin waits d without giving the scheduler a chance to oversleep much.
func spin(d time.Duration) {
	if d <= 0 {
		return
	}
	end := time.Now().Add(d)
	for time.Now().Before(end) {
	}
}

// classifyKill counts whether the kill landed inside a snapshot: the log
// of this run of the server has "snapshot started" after its last
// "snapshot written" (or failed), or a temporary snapshot file is left.
func (r *run) classifyKill() {
	log := r.n.logSince(r.n.logStart)
	started := strings.LastIndex(log, "snapshot started")
	ended := max(strings.LastIndex(log, "snapshot written"), strings.LastIndex(log, "snapshot failed"))
	if started >= 0 && started > ended {
		r.st.inSnapshot++
	}
	if entries, err := os.ReadDir(r.n.snapDir()); err == nil {
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tmp") {
				r.st.tmpLeft++
				break
			}
		}
	}
	r.require(!strings.Contains(log, "WARNING: DATA RACE"), "the server reported a data race")
}

// newestSegment returns the first zxid of the newest log segment (0 when
// there is none). A newest segment starting after the log's last complete
// record means the kill came after a roll began and before any record in
// the new segment was complete.
func newestSegment(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "log.") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return 0
	}
	sort.Strings(names)
	z, err := strconv.ParseUint(strings.TrimPrefix(names[len(names)-1], "log."), 16, 64)
	if err != nil {
		return 0
	}
	return int64(z)
}

// inspect rebuilds the state from the data directories while the server
// is down.
func (r *run) inspect() serve.State {
	cfg, err := r.n.config()
	r.require(err == nil, "%v", err)
	st, err := serve.InspectDataDir(cfg, nil)
	r.require(err == nil, "the data directories cannot be recovered after kill %d: %v\nfiles:\n%s",
		r.st.kills, err, listFiles(r.n.dir))
	return st
}

// listFiles lists the files under dir with their sizes, for failure
// reports.
func listFiles(dir string) string {
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			rel, _ := filepath.Rel(dir, p)
			fmt.Fprintf(&b, "  %s %d\n", rel, fi.Size())
		}
		return nil
	})
	return b.String()
}

// verify reads every writer's keys from the server, straight, while the
// proxy keeps the writers out, and checks them against the model.
func (r *run) verify(when string) {
	conn := r.direct()
	defer conn.Close()
	observed := map[string]state{}
	for i := 0; i < writers; i++ {
		root := fmt.Sprintf("/w/%d", i)
		children, _, err := conn.Children(root)
		r.require(err == nil, "%s: children of %s: %v", when, root, err)
		for _, c := range children {
			p := root + "/" + c
			data, stat, err := conn.Get(p)
			if errors.Is(err, zk.ErrNoNode) {
				continue // gone since the listing: absent
			}
			r.require(err == nil, "%s: get %s: %v", when, p, err)
			observed[p] = state{present: true, data: string(data), owner: stat.EphemeralOwner}
		}
	}
	problems := r.checkModel(observed)
	if len(problems) > 0 {
		r.require(false, "%s: %d key(s) disagree with the acknowledged writes:\n%s",
			when, len(problems), strings.Join(problems, "\n"))
	}
}

// checkModel compares the observed nodes with the model and returns the
// disagreements, sorted.
func (r *run) checkModel(observed map[string]state) []string {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	var problems []string
	for p := range observed {
		if _, ok := r.m.keys[p]; !ok {
			problems = append(problems, fmt.Sprintf("%s exists but no writer ever wrote it", p))
		}
	}
	for _, k := range r.m.byName {
		s := observed[k.paths[0]]
		for _, p := range k.paths[1:] {
			if observed[p] != s {
				problems = append(problems, fmt.Sprintf("%s: a multi applied partly: %s holds %s, %s holds %s",
					k.name, k.paths[0], s, p, observed[p]))
			}
		}
		if err := k.check(s); err != nil {
			problems = append(problems, err.Error())
		}
	}
	sort.Strings(problems)
	if len(problems) == 0 {
		r.m.verified += r.m.ackedSinceCheck
		r.m.ackedSinceCheck = 0
	}
	return problems
}
