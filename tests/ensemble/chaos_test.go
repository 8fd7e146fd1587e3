package ensemble_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
)

// Chaos parameters.
const (
	defaultRounds = 6
	ownKeys       = 4 // per writer: create, set, set, delete cycles with version -1
	sharedKeys    = 4 // for every writer: versioned sets, deletes and re-creates
	checkTimeout  = 2 * time.Minute
)

// chaosCounts are the numbers a chaos run logs.
type chaosCounts struct {
	killLeader, killOther, pauses, pausedLeader, restarts int
	acked, ackedFailed, unknown, reads                    atomic.Int64
}

// history records operations for porcupine, with times relative to base
// (the monotonic clock).
type history struct {
	base time.Time
	mu   sync.Mutex
	ops  []porcupine.Operation
}

func (h *history) now() int64 { return int64(time.Since(h.base)) }

func (h *history) add(client int, in znodeInput, call int64, out znodeOutput, ret int64) {
	if out.Res == resUnknown {
		ret = math.MaxInt64
	}
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	h.mu.Unlock()
}

// classify maps a reply to its code; anything but success and the three
// failures a znode's state decides is an unknown outcome.
func classify(err error) result {
	switch {
	case err == nil:
		return resOK
	case errors.Is(err, zk.ErrNoNode):
		return resNoNode
	case errors.Is(err, zk.ErrNodeExists):
		return resNodeExists
	case errors.Is(err, zk.ErrBadVersion):
		return resBadVersion
	}
	return resUnknown
}

// chaosWriter is one session issuing writes and synced reads.
type chaosWriter struct {
	id      int
	conn    *zk.Conn
	rng     *rand.Rand
	own     []string
	step    []int
	shared  []string
	h       *history
	n       *chaosCounts
	seq     int
	expired atomic.Bool
}

func (w *chaosWriter) data() string {
	w.seq++
	return fmt.Sprintf("w%d#%d", w.id, w.seq)
}

func (w *chaosWriter) record(in znodeInput, call int64, out znodeOutput) {
	w.h.add(w.id, in, call, out, w.h.now())
	switch {
	case in.Kind == opRead:
		w.n.reads.Add(1)
	case out.Res == resOK:
		w.n.acked.Add(1)
	case out.Res == resUnknown:
		w.n.unknown.Add(1)
	default:
		w.n.ackedFailed.Add(1)
	}
}

func (w *chaosWriter) run(stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-stop:
			return
		default:
		}
		var res result
		switch r := w.rng.IntN(100); {
		case r < 45:
			res = w.ownOp()
		case r < 75:
			res = w.sharedSet()
		case r < 80:
			res = w.sharedDelete()
		default:
			res = w.syncedRead()
		}
		if res == resUnknown {
			time.Sleep(10 * time.Millisecond) // the ensemble is electing, or the member is gone
		}
	}
}

// ownOp advances one of the writer's own keys through create, set, set,
// delete, whatever the previous reply was.
func (w *chaosWriter) ownOp() result {
	i := w.rng.IntN(len(w.own))
	kind := []opKind{opCreate, opSet, opSet, opDelete}[w.step[i]%4]
	w.step[i]++
	in := znodeInput{Kind: kind, Path: w.own[i], Version: -1}
	call := w.h.now()
	var out znodeOutput
	switch kind {
	case opCreate:
		in.Data = w.data()
		_, err := w.conn.Create(in.Path, []byte(in.Data), 0, openACL)
		out.Res = classify(err)
	case opSet:
		in.Data = w.data()
		st, err := w.conn.Set(in.Path, []byte(in.Data), -1)
		out.Res = classify(err)
		if err == nil {
			out.Version = st.Version
		}
	default:
		out.Res = classify(w.conn.Delete(in.Path, -1))
	}
	w.record(in, call, out)
	return out.Res
}

// sharedSet reads a shared key's version (a plain read, possibly stale)
// and sets it conditionally on that version; a missing key is created.
func (w *chaosWriter) sharedSet() result {
	p := w.shared[w.rng.IntN(len(w.shared))]
	_, st, err := w.conn.Get(p)
	if classify(err) == resUnknown {
		return resUnknown
	}
	in := znodeInput{Path: p, Data: w.data()}
	call := w.h.now()
	var out znodeOutput
	if errors.Is(err, zk.ErrNoNode) {
		in.Kind = opCreate
		_, err = w.conn.Create(p, []byte(in.Data), 0, openACL)
		out.Res = classify(err)
	} else {
		in.Kind, in.Version = opSet, st.Version
		st, err = w.conn.Set(p, []byte(in.Data), in.Version)
		out.Res = classify(err)
		if err == nil {
			out.Version = st.Version
		}
	}
	w.record(in, call, out)
	return out.Res
}

// sharedDelete deletes a shared key conditionally on the version it read.
func (w *chaosWriter) sharedDelete() result {
	p := w.shared[w.rng.IntN(len(w.shared))]
	_, st, err := w.conn.Get(p)
	if err != nil {
		return classify(err)
	}
	in := znodeInput{Kind: opDelete, Path: p, Version: st.Version}
	call := w.h.now()
	out := znodeOutput{Res: classify(w.conn.Delete(p, in.Version))}
	w.record(in, call, out)
	return out.Res
}

// syncedRead syncs and reads a key; the pair is recorded as one read that
// began with the sync. A read without a reply tells nothing: dropped.
func (w *chaosWriter) syncedRead() result {
	p := w.shared[w.rng.IntN(len(w.shared))]
	if w.rng.IntN(2) == 0 {
		p = w.own[w.rng.IntN(len(w.own))]
	}
	call := w.h.now()
	if _, err := w.conn.Sync(p); err != nil {
		return resUnknown
	}
	data, st, err := w.conn.Get(p)
	out := znodeOutput{Res: classify(err)}
	switch out.Res {
	case resOK:
		out.Data, out.Version = string(data), st.Version
	case resNoNode:
	default:
		return resUnknown
	}
	w.record(znodeInput{Kind: opRead, Path: p}, call, out)
	return out.Res
}

// envInt reads a positive integer from the environment.
func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, name)
	require.Positive(t, n, name)
	return n
}

func TestChaos(t *testing.T) {
	rounds := envInt(t, "WARREN_ENSEMBLE_ROUNDS", defaultRounds)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("WARREN_ENSEMBLE_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "WARREN_ENSEMBLE_SEED")
		seed = s
	}
	cases := []struct {
		name                 string
		participants, obsvrs int
		writers              int
	}{
		{"3 members", 3, 0, 5},
		{"5 members (4 voters, 1 observer)", 4, 1, 6},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := seed + uint64(i)
			t.Logf("seed %d (replay with WARREN_ENSEMBLE_SEED=%d), %d rounds", s, seed, rounds)
			runChaos(t, s, rounds, tc.participants, tc.obsvrs, tc.writers)
		})
	}
}

func runChaos(t *testing.T, seed uint64, rounds, participants, observers, writers int) {
	began := time.Now()
	rng := rand.New(rand.NewPCG(seed, 0xc4a05))
	e := testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: participants, Observers: observers})
	_, err := e.WaitLeader(settle)
	require.NoError(t, err)
	tolerated := (participants - 1) / 2 // voters that may be down at once

	h := &history{base: time.Now()}
	var n chaosCounts
	setup, _ := dial(t, longSession, e.Members[0].Addr)
	var shared []string
	for i := 0; i < sharedKeys; i++ {
		in := znodeInput{Kind: opCreate, Path: fmt.Sprintf("/s%d", i), Data: "init"}
		call := h.now()
		_, err := setup.Create(in.Path, []byte(in.Data), 0, openACL)
		require.NoError(t, err)
		h.add(0, in, call, znodeOutput{Res: resOK}, h.now())
		shared = append(shared, in.Path)
	}
	setup.Close()

	var ws []*chaosWriter
	for i := 0; i < writers; i++ {
		addrs := e.Addrs()
		rng.Shuffle(len(addrs), func(a, b int) { addrs[a], addrs[b] = addrs[b], addrs[a] })
		conn, events := dial(t, longSession, addrs...)
		w := &chaosWriter{id: i + 1, conn: conn, rng: rand.New(rand.NewPCG(seed, uint64(i+1))),
			shared: shared, h: h, n: &n, step: make([]int, ownKeys)}
		for k := 0; k < ownKeys; k++ {
			w.own = append(w.own, fmt.Sprintf("/w%d-%d", w.id, k))
		}
		go func() {
			for ev := range events {
				if ev.State == zk.StateExpired {
					w.expired.Store(true)
				}
			}
		}()
		ws = append(ws, w)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go w.run(stop, &wg)
	}
	writersStopped := false
	stopWriters := func() {
		if !writersStopped {
			writersStopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopWriters()

	killed := map[*testutil.Member]bool{}
	votersDown := func() int {
		d := 0
		for m := range killed {
			if !m.Observer {
				d++
			}
		}
		return d
	}
	restart := func(m *testutil.Member) {
		require.NoError(t, m.Restart(settle), "restart member %d", m.ID)
		delete(killed, m)
		n.restarts++
	}
	// makeRoom restarts killed voters until one more may go down.
	makeRoom := func() {
		for m := range killed {
			if votersDown() < tolerated {
				return
			}
			if !m.Observer {
				restart(m)
			}
		}
	}
	pick := func(ms []*testutil.Member) *testutil.Member {
		if len(ms) == 0 {
			return nil
		}
		return ms[rng.IntN(len(ms))]
	}
	var up []*testutil.Member
	alive := func(exclude *testutil.Member) []*testutil.Member {
		up = up[:0]
		for _, m := range e.Members {
			if !killed[m] && m != exclude {
				up = append(up, m)
			}
		}
		return up
	}

	for round := 0; round < rounds; round++ {
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		switch a := rng.IntN(10); {
		case a < 3: // SIGKILL the leader
			makeRoom()
			l, err := e.WaitLeader(settle)
			require.NoError(t, err, "round %d", round)
			l.Kill()
			killed[l] = true
			n.killLeader++
		case a < 5: // SIGKILL another member
			makeRoom()
			l, _ := e.Leader()
			m := pick(alive(l))
			if m == nil || (!m.Observer && votersDown() >= tolerated) {
				continue
			}
			m.Kill()
			killed[m] = true
			n.killOther++
		case a < 8: // SIGSTOP a member for a while, then SIGCONT
			makeRoom()
			m := pick(alive(nil))
			if rng.IntN(2) == 0 { // half the pauses hit the leader
				if l, err := e.Leader(); err == nil {
					m = l
				}
			}
			if m == nil || (!m.Observer && votersDown() >= tolerated) {
				continue
			}
			if mode, err := m.Mode(); err == nil && mode == "leader" {
				n.pausedLeader++
			}
			require.NoError(t, m.Pause())
			time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
			require.NoError(t, m.Resume())
			n.pauses++
		default: // restart what is down
			for _, m := range e.Members {
				if killed[m] {
					restart(m)
				}
			}
		}
		for _, w := range ws {
			require.False(t, w.expired.Load(), "round %d: writer %d's session expired", round, w.id)
		}
	}
	for _, m := range e.Members {
		if killed[m] {
			restart(m)
		}
	}
	// Let the writers work on the whole ensemble for a moment, then stop.
	time.Sleep(500 * time.Millisecond)
	stopWriters()
	for _, w := range ws {
		require.False(t, w.expired.Load(), "writer %d's session expired", w.id)
	}

	conv, err := e.WaitConverged(2 * settle)
	require.NoError(t, err)

	// Final reads of every key through every member close the history:
	// every acknowledged write must be in them.
	var paths []string
	paths = append(paths, shared...)
	for _, w := range ws {
		paths = append(paths, w.own...)
	}
	for i, m := range e.Members {
		c, _ := dial(t, longSession, m.Addr)
		for _, p := range paths {
			call := h.now()
			_, err := c.Sync(p)
			require.NoError(t, err)
			data, st, err := c.Get(p)
			out := znodeOutput{Res: classify(err)}
			require.Contains(t, []result{resOK, resNoNode}, out.Res, "final read of %s on member %d: %v", p, m.ID, err)
			if err == nil {
				out.Data, out.Version = string(data), st.Version
			}
			h.add(writers+1+i, znodeInput{Kind: opRead, Path: p}, call, out, h.now())
		}
		c.Close()
	}

	res, info := porcupine.CheckOperationsVerbose(znodeModel, h.ops, checkTimeout)
	if res == porcupine.Illegal {
		dir, _ := os.MkdirTemp("", "warren-ensemble-")
		file := filepath.Join(dir, "history.html")
		if err := porcupine.VisualizePath(znodeModel, info, file); err == nil {
			t.Logf("porcupine visualization: %s", file)
		}
	}
	require.NotEqual(t, porcupine.Illegal, res, "the history of %d operations is not linearizable (seed %d)", len(h.ops), seed)
	if res == porcupine.Unknown {
		t.Logf("porcupine could not decide within %v", checkTimeout)
	}

	t.Logf("chaos done in %v: %d rounds; SIGKILL leader %d, SIGKILL other %d, SIGSTOP %d (of the leader %d), restarts %d; "+
		"leaderships established %d; acknowledged writes %d, acknowledged failures %d, unknown outcomes %d, synced reads %d; "+
		"history %d operations (%s); converged at zxid 0x%x",
		time.Since(began).Round(time.Millisecond), rounds, n.killLeader, n.killOther, n.pauses, n.pausedLeader, n.restarts,
		leaderships(e), n.acked.Load(), n.ackedFailed.Load(), n.unknown.Load(), n.reads.Load(), len(h.ops), res, conv.Zxid)
	require.Positive(t, n.acked.Load())
}

var leadingRE = regexp.MustCompile(`"state": "LEADING", "leader": (\d+), "epoch": (\d+), "serving": true`)

// leaderships counts the distinct epochs in which some member logged that
// it leads and serves: one per successful election.
func leaderships(e *testutil.Ensemble) int {
	epochs := map[string]bool{}
	for _, m := range e.Members {
		for _, sm := range leadingRE.FindAllStringSubmatch(m.Log(), -1) {
			epochs[sm[2]] = true
		}
	}
	return len(epochs)
}
