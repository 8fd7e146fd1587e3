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
	// checkpointEvery is how many rounds a history segment spans: at a
	// checkpoint the writers stop, the members converge, every key is read
	// and porcupine checks the segment, which keeps each check small.
	checkpointEvery = 10
)

// chaosCounts are the numbers a chaos run logs.
type chaosCounts struct {
	killLeader, killOther, pauses, pausedLeader, graceful, restarts, rejoinKills int
	acked, ackedFailed, unknown, reads, multis                                   atomic.Int64
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
	id        int
	conn      *zk.Conn
	rng       *rand.Rand
	own       []string
	step      []int
	shared    []string
	group     []string // three nodes written together by multi
	groupStep int
	h         *history
	n         *chaosCounts
	seq       int
	expired   atomic.Bool
}

// ephemeral is the path of the ephemeral node the writer's session owns
// for the whole run.
func (w *chaosWriter) ephemeral() string { return fmt.Sprintf("/e%d", w.id) }

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
		case r < 40:
			res = w.ownOp()
		case r < 65:
			res = w.sharedSet()
		case r < 70:
			res = w.sharedDelete()
		case r < 80:
			res = w.groupOp()
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

// groupOp creates, sets or deletes the writer's three group nodes in one
// multi. Its outcome is not part of the porcupine history (the model is
// one node per partition); checkpoints check that every member shows the
// group entirely applied or not at all.
func (w *chaosWriter) groupOp() result {
	var ops []any
	data := []byte(w.data())
	kind := w.groupStep % 3
	w.groupStep++
	for _, p := range w.group {
		switch kind {
		case 0:
			ops = append(ops, &zk.CreateRequest{Path: p, Data: data, Acl: openACL})
		case 1:
			ops = append(ops, &zk.SetDataRequest{Path: p, Data: data, Version: -1})
		default:
			ops = append(ops, &zk.DeleteRequest{Path: p, Version: -1})
		}
	}
	_, err := w.conn.Multi(ops...)
	w.n.multis.Add(1)
	if err != nil && classify(err) == resUnknown {
		return resUnknown
	}
	return resOK
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
		{"3 voters", 3, 0, 5},
		{"5 voters and an observer", 5, 1, 6},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := seed + uint64(i)
			t.Logf("seed %d (replay with WARREN_ENSEMBLE_SEED=%d), %d rounds", s, seed, rounds)
			runChaos(t, s, rounds, tc.participants, tc.obsvrs, tc.writers)
		})
	}
}

// chaosRun is one ensemble under chaos.
type chaosRun struct {
	t         *testing.T
	seed      uint64
	rng       *rand.Rand
	e         *testutil.Ensemble
	tolerated int // voters that may be down at once
	killed    map[*testutil.Member]bool
	n         chaosCounts
	h         *history
	ws        []*chaosWriter
	paths     []string // every key, for the checkpoint reads
	stop      chan struct{}
	wg        sync.WaitGroup
	// Checkpoint results.
	segments, checkedOps int
	undecided            int // segments porcupine could not decide in time
	lastZxid             int64
}

func runChaos(t *testing.T, seed uint64, rounds, participants, observers, writers int) {
	began := time.Now()
	r := &chaosRun{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0xc4a05)), killed: map[*testutil.Member]bool{},
		tolerated: (participants - 1) / 2, h: &history{base: time.Now()}}
	r.e = testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: participants, Observers: observers})
	_, err := r.e.WaitLeader(settle)
	require.NoError(t, err)

	setup, _ := dial(t, longSession, r.e.Members[0].Addr)
	var shared []string
	for i := 0; i < sharedKeys; i++ {
		in := znodeInput{Kind: opCreate, Path: fmt.Sprintf("/s%d", i), Data: "init"}
		call := r.h.now()
		_, err := setup.Create(in.Path, []byte(in.Data), 0, openACL)
		require.NoError(t, err)
		r.h.add(0, in, call, znodeOutput{Res: resOK}, r.h.now())
		shared = append(shared, in.Path)
	}
	setup.Close()
	r.paths = append(r.paths, shared...)

	for i := 0; i < writers; i++ {
		addrs := r.e.Addrs()
		r.rng.Shuffle(len(addrs), func(a, b int) { addrs[a], addrs[b] = addrs[b], addrs[a] })
		conn, events := dial(t, longSession, addrs...)
		w := &chaosWriter{id: i + 1, conn: conn, rng: rand.New(rand.NewPCG(seed, uint64(i+1))),
			shared: shared, n: &r.n, step: make([]int, ownKeys)}
		for k := 0; k < ownKeys; k++ {
			w.own = append(w.own, fmt.Sprintf("/w%d-%d", w.id, k))
		}
		r.paths = append(r.paths, w.own...)
		for _, g := range []string{"a", "b", "c"} {
			w.group = append(w.group, fmt.Sprintf("/g%d%s", w.id, g))
		}
		go func() {
			for ev := range events {
				if ev.State == zk.StateExpired {
					w.expired.Store(true)
				}
			}
		}()
		// A session-long ephemeral: sessions never expire here, so it
		// must outlive every fault.
		_, err := conn.Create(w.ephemeral(), nil, zk.FlagEphemeral, openACL)
		require.NoError(t, err)
		r.ws = append(r.ws, w)
	}
	r.startWriters()
	defer r.stopWriters()

	for round := 1; round <= rounds; round++ {
		r.round(round)
		if round%checkpointEvery == 0 || round == rounds {
			r.checkpoint(round == rounds)
		}
	}

	n := &r.n
	t.Logf("chaos done in %v: %d rounds; SIGKILL leader %d, SIGKILL other %d, SIGSTOP %d (of the leader %d), SIGTERM %d, restarts %d (SIGKILLed while rejoining first %d); "+
		"leaderships established %d; acknowledged writes %d, acknowledged failures %d, unknown outcomes %d, synced reads %d, multis %d; "+
		"porcupine checked %d operations in %d segments (%d undecided in %v); converged at zxid 0x%x",
		time.Since(began).Round(time.Millisecond), rounds, n.killLeader, n.killOther, n.pauses, n.pausedLeader, n.graceful, n.restarts, n.rejoinKills,
		leaderships(r.e), n.acked.Load(), n.ackedFailed.Load(), n.unknown.Load(), n.reads.Load(), n.multis.Load(),
		r.checkedOps, r.segments, r.undecided, checkTimeout, r.lastZxid)
	require.Positive(t, n.acked.Load())
}

func (r *chaosRun) startWriters() {
	r.stop = make(chan struct{})
	for _, w := range r.ws {
		w.h = r.h
		r.wg.Add(1)
		go w.run(r.stop, &r.wg)
	}
}

func (r *chaosRun) stopWriters() {
	if r.stop != nil {
		close(r.stop)
		r.wg.Wait()
		r.stop = nil
	}
}

func (r *chaosRun) votersDown() int {
	d := 0
	for m := range r.killed {
		if !m.Observer {
			d++
		}
	}
	return d
}

// restart brings a member back. One restart in three first starts it and
// SIGKILLs it 0-400 ms later, mostly while it recovers or syncs with the
// leader (ZOOKEEPER-3911, -4646, -4643 crash there).
func (r *chaosRun) restart(m *testutil.Member) {
	if r.rng.IntN(3) == 0 {
		require.NoError(r.t, m.Start(), "start member %d", m.ID)
		time.Sleep(time.Duration(r.rng.IntN(400)) * time.Millisecond)
		m.Kill()
		r.n.rejoinKills++
	}
	require.NoError(r.t, m.Restart(settle), "restart member %d", m.ID)
	delete(r.killed, m)
	r.n.restarts++
}

// makeRoom restarts killed voters until one more voter may go down.
func (r *chaosRun) makeRoom() {
	for _, m := range r.e.Members {
		if r.votersDown() < r.tolerated {
			return
		}
		if r.killed[m] && !m.Observer {
			r.restart(m)
		}
	}
}

// pickAlive returns a random member that is not killed and is not
// exclude, or nil.
func (r *chaosRun) pickAlive(exclude *testutil.Member) *testutil.Member {
	var up []*testutil.Member
	for _, m := range r.e.Members {
		if !r.killed[m] && m != exclude {
			up = append(up, m)
		}
	}
	if len(up) == 0 {
		return nil
	}
	return up[r.rng.IntN(len(up))]
}

// round lets the writers work for a while and injects one fault.
func (r *chaosRun) round(round int) {
	t, rng, e := r.t, r.rng, r.e
	time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
	switch a := rng.IntN(10); {
	case a < 3: // SIGKILL the leader
		r.makeRoom()
		l, err := e.WaitLeader(settle)
		require.NoError(t, err, "round %d", round)
		l.Kill()
		r.killed[l] = true
		r.n.killLeader++
	case a < 5: // SIGKILL another member
		r.makeRoom()
		l, _ := e.Leader()
		m := r.pickAlive(l)
		if m == nil || (!m.Observer && r.votersDown() >= r.tolerated) {
			return
		}
		m.Kill()
		r.killed[m] = true
		r.n.killOther++
	case a < 7: // SIGSTOP a member for a while, then SIGCONT
		r.makeRoom()
		m := r.pickAlive(nil)
		if rng.IntN(2) == 0 { // half the pauses hit the leader
			if l, err := e.Leader(); err == nil {
				m = l
			}
		}
		if m == nil || (!m.Observer && r.votersDown() >= r.tolerated) {
			return
		}
		if mode, err := m.Mode(); err == nil && mode == "leader" {
			r.n.pausedLeader++
		}
		require.NoError(t, m.Pause())
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		require.NoError(t, m.Resume())
		r.n.pauses++
	case a < 9: // SIGTERM a member (half the time the leader): a graceful stop
		r.makeRoom()
		m := r.pickAlive(nil)
		if rng.IntN(2) == 0 {
			if l, err := e.Leader(); err == nil {
				m = l
			}
		}
		if m == nil || (!m.Observer && r.votersDown() >= r.tolerated) {
			return
		}
		m.Stop()
		require.Contains(t, lastRun(m), "server stopped", "round %d: member %d did not stop within its grace time after SIGTERM", round, m.ID)
		r.killed[m] = true
		r.n.graceful++
	default: // restart what is down
		for _, m := range e.Members {
			if r.killed[m] {
				r.restart(m)
			}
		}
	}
	for _, w := range r.ws {
		require.False(t, w.expired.Load(), "round %d: writer %d's session expired", round, w.id)
	}
}

// checkpoint brings every member back, stops the writers, waits for equal
// digests, reads every key through every member (closing the history:
// every acknowledged write must be in these reads) and has porcupine check
// the history since the previous checkpoint. Unless it is the last, a new
// history starts from the state read, and the writers resume.
func (r *chaosRun) checkpoint(last bool) {
	t, e := r.t, r.e
	for _, m := range e.Members {
		if r.killed[m] {
			r.restart(m)
		}
	}
	// Let the writers work on the whole ensemble for a moment, then stop.
	time.Sleep(500 * time.Millisecond)
	r.stopWriters()
	for _, w := range r.ws {
		require.False(t, w.expired.Load(), "writer %d's session expired", w.id)
	}
	conv, err := e.WaitConverged(2 * settle)
	require.NoError(t, err)
	r.lastZxid = conv.Zxid

	h := r.h
	observed := map[string]znodeOutput{}
	for i, m := range e.Members {
		c, _ := dial(t, longSession, m.Addr)
		for _, p := range r.paths {
			call := h.now()
			_, err := c.Sync(p)
			require.NoError(t, err)
			data, st, err := c.Get(p)
			out := znodeOutput{Res: classify(err)}
			require.Contains(t, []result{resOK, resNoNode}, out.Res, "checkpoint read of %s on member %d: %v", p, m.ID, err)
			if err == nil {
				out.Data, out.Version = string(data), st.Version
			}
			h.add(len(r.ws)+1+i, znodeInput{Kind: opRead, Path: p}, call, out, h.now())
			if i == 0 {
				observed[p] = out
			}
		}
		for _, w := range r.ws {
			var states []string
			for _, p := range w.group {
				data, _, err := c.Get(p)
				switch {
				case err == nil:
					states = append(states, string(data))
				case errors.Is(err, zk.ErrNoNode):
					states = append(states, "absent")
				default:
					require.NoError(t, err, "checkpoint read of %s on member %d", p, m.ID)
				}
			}
			require.True(t, states[0] == states[1] && states[1] == states[2],
				"member %d shows writer %d's multi partly applied: %v = %v", m.ID, w.id, w.group, states)
			_, st, err := c.Get(w.ephemeral())
			require.NoError(t, err, "member %d lost writer %d's ephemeral", m.ID, w.id)
			require.Equal(t, w.conn.SessionID(), st.EphemeralOwner, "member %d: owner of writer %d's ephemeral", m.ID, w.id)
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
	require.NotEqual(t, porcupine.Illegal, res,
		"segment %d: the history of %d operations is not linearizable (seed %d)", r.segments+1, len(h.ops), r.seed)
	r.segments++
	r.checkedOps += len(h.ops)
	if res == porcupine.Unknown {
		r.undecided++
	}
	if last {
		return
	}
	// The next segment starts from the state every member agreed on.
	next := &history{base: time.Now()}
	for _, p := range r.paths {
		in := znodeInput{Kind: opInit, Path: p, Version: -1}
		if o := observed[p]; o.Res == resOK {
			in.Data, in.Version = o.Data, o.Version
		}
		next.add(0, in, next.now(), znodeOutput{Res: resOK}, next.now())
	}
	r.h = next
	r.startWriters()
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
