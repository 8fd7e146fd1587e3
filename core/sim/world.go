package sim

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/zab"
	"github.com/warrenhq/warren/core/znode"
)

// Config is the shape of one run, derived from its seed (NewConfig) and
// printed when the run fails. Times are simulated milliseconds.
type Config struct {
	Seed      uint64
	Voters    int
	Observers int
	Clients   int
	// Steps is the length of the fault phase; SettleSteps bounds the phase
	// after it in which every fault is healed and the ensemble must agree.
	Steps       int
	SettleSteps int
	TickMs      int64
	// Election notifications are lost or duplicated with these
	// probabilities (their delivery order is random anyway).
	ElectionLoss float64
	ElectionDup  float64
	// Mean steps between faults of each kind (0: never).
	CrashEvery      int
	PartitionEvery  int
	PauseEvery      int
	DisconnectEvery int // a quorum connection breaks (and reconnects)
	// DiffLimit is zab's DiffLimit: a small one forces snapshots (SNAP).
	DiffLimit int
	// SnapEvery: a serving member snapshots its state after applying this
	// many transactions (the snapCount of core/serve).
	SnapEvery int
	// Pipeline is the most requests a client sends without waiting.
	Pipeline int
	// PurgeRetain > 0: after each snapshot a member keeps that many
	// snapshots and drops the log the oldest one holds (autopurge).
	PurgeRetain int
	// TrimDuplicateAppends makes the driver drop entries a member asks to
	// log again (same zxid and payload) instead of failing the run: it
	// steps over a known core/zab bug to explore further (SIM_TRIM=1).
	TrimDuplicateAppends bool
	// ClockSkew gives every member its own clock offset and drift.
	ClockSkew bool
	// OutageEvery: mean steps between power failures of the whole
	// ensemble (every member crashes at once).
	OutageEvery int
	// MaxNetDelay and MaxPersistDelay bound message and persistence latency.
	MaxNetDelay     int64
	MaxPersistDelay int64
}

// NewConfig derives a run's shape from its seed.
func NewConfig(seed uint64, src Source) Config {
	r := rng{src}
	c := Config{
		Seed:            seed,
		Voters:          []int{3, 3, 5}[r.intn(3)],
		Clients:         2 + r.intn(3),
		Steps:           2500 + r.intn(2500),
		SettleSteps:     6000,
		TickMs:          100,
		CrashEvery:      []int{0, 150, 300}[r.intn(3)],
		PartitionEvery:  []int{0, 200, 400}[r.intn(3)],
		PauseEvery:      []int{0, 300}[r.intn(2)],
		DisconnectEvery: []int{0, 200}[r.intn(2)],
		DiffLimit:       []int{100000, 4}[r.intn(2)],
		SnapEvery:       []int{1 << 30, 20, 50}[r.intn(3)],
		MaxNetDelay:     []int64{5, 20, 5, 150}[r.intn(4)],
		MaxPersistDelay: []int64{5, 30, 5, 200}[r.intn(4)],
		ClockSkew:       r.intn(2) == 0,
		Pipeline:        []int{1, 3}[r.intn(2)],
		PurgeRetain:     []int{0, 3}[r.intn(2)],
		OutageEvery:     []int{0, 0, 0, 1000}[r.intn(4)],
	}
	if r.intn(3) == 0 {
		c.Observers = 1
	}
	if r.intn(2) == 0 {
		c.ElectionLoss, c.ElectionDup = 0.05, 0.05
	}
	if c.CrashEvery == 0 && c.PartitionEvery == 0 && c.PauseEvery == 0 {
		c.CrashEvery = 200
	}
	return c
}

func (c Config) String() string {
	return fmt.Sprintf("seed=%d voters=%d observers=%d clients=%d steps=%d crashEvery=%d partitionEvery=%d pauseEvery=%d "+
		"disconnectEvery=%d diffLimit=%d snapEvery=%d netDelay<=%d persistDelay<=%d electionLoss=%.2f electionDup=%.2f",
		c.Seed, c.Voters, c.Observers, c.Clients, c.Steps, c.CrashEvery, c.PartitionEvery, c.PauseEvery,
		c.DisconnectEvery, c.DiffLimit, c.SnapEvery, c.MaxNetDelay, c.MaxPersistDelay, c.ElectionLoss, c.ElectionDup) +
		fmt.Sprintf(" clockSkew=%v outageEvery=%d pipeline=%d purgeRetain=%d", c.ClockSkew, c.OutageEvery, c.Pipeline, c.PurgeRetain)
}

// Result is the outcome of one run.
type Result struct {
	Config   Config
	Counters map[string]int64
	// Err is the first invariant violation (nil: the run passed); Trace
	// holds the last events before it.
	Err   error
	Trace []string
	// Steps is how many steps ran (fault phase plus settling).
	Steps int
	// Hash summarises the run's events, for the determinism self-check.
	Hash uint64
}

// Counter names every aggregate over a batch of seeds must show non-zero.
var RequiredCounters = []string{
	"elections", "sync diff", "sync trunc", "sync snap", "crashes", "crash with persist pending",
	"lost unsynced writes", "client writes acknowledged", "client reads checked", "snapshots taken",
	"snapshots installed", "partitions", "pauses", "reloads", "unknown outcomes",
}

// failure aborts a run: the world panics with it and Run recovers.
type failure struct{ err error }

// World is one simulated ensemble with its clients.
type World struct {
	cfg     Config
	rng     rng
	now     int64
	step    int
	logf    func(format string, args ...any)
	members []*member // by id-1
	ids     []int64
	voters  []int64
	obs     []int64
	links   [][]*link // links[a][b] for a < b (ids)
	cut     [][]bool  // cut[a][b]: a's traffic to b is dropped
	net     []envelope
	seq     int64
	healAt  int64 // when the current partition heals (0: none)

	clients   []*client
	connOwner map[replica.ConnID]*client
	nextConn  replica.ConnID
	clientEvs []clientEvent
	clock     int64 // history time: strictly increasing
	history   []porcupine.Operation
	quiet     bool // no new client operations
	keys      []string

	// Checks.
	txnAt     map[int64]uint64 // zxid -> payload hash, as first proposed
	prevOf    map[int64]int64  // zxid -> the zxid logged before it
	digestAt  map[int64]uint64 // zxid -> tree digest of a state at exactly zxid
	leaders   map[int64]int64  // epoch -> established leader
	committed map[int64]bool   // zxids a serving member applied
	writeZxid map[[2]int64]int64
	acked     [][2]int64 // (session, cxid) of acknowledged writes
	counters  map[string]int64
	trace     []string
	hash      uint64
}

type link struct {
	up          bool
	inc         uint64
	reconnectAt int64
	lastAt      [2]int64 // FIFO: due time of the last frame each way (0: a->b, 1: b->a)
}

type envKind uint8

const (
	envMsg envKind = iota
	envConnected
	envDisconnected
	envClientConnect
	envClientRequest
	envClientClose
)

type envelope struct {
	at, seq int64
	kind    envKind
	to      int64
	toInc   int    // the target's incarnation when sent
	frame   []byte // envMsg: the encoded message
	quorum  bool
	linkInc uint64
	peer    int64
	conn    replica.ConnID
	creq    *proto.ConnectRequest
	hdr     proto.RequestHeader
	rec     proto.Record
}

// Run simulates one seed. logf, when not nil, receives every event (the
// verbose replay of one seed).
func Run(cfg Config, src Source, logf func(format string, args ...any)) (res Result) {
	w := newWorld(cfg, src, logf)
	defer func() {
		res = Result{Config: cfg, Counters: w.counters, Trace: w.trace, Steps: w.step, Hash: w.hash}
		if p := recover(); p != nil {
			f, ok := p.(failure)
			if !ok {
				panic(p)
			}
			res.Err = f.err
		}
	}()
	w.run()
	return res
}

func newWorld(cfg Config, src Source, logf func(string, ...any)) *World {
	w := &World{cfg: cfg, rng: rng{src}, logf: logf, connOwner: map[replica.ConnID]*client{},
		txnAt: map[int64]uint64{}, prevOf: map[int64]int64{}, digestAt: map[int64]uint64{}, leaders: map[int64]int64{},
		committed: map[int64]bool{}, writeZxid: map[[2]int64]int64{}, counters: map[string]int64{},
		hash: 14695981039346656037}
	n := cfg.Voters + cfg.Observers
	for i := 1; i <= n; i++ {
		id := int64(i)
		w.ids = append(w.ids, id)
		if i <= cfg.Voters {
			w.voters = append(w.voters, id)
		} else {
			w.obs = append(w.obs, id)
		}
	}
	w.links = make([][]*link, n+1)
	w.cut = make([][]bool, n+1)
	for a := 0; a <= n; a++ {
		w.links[a] = make([]*link, n+1)
		w.cut[a] = make([]bool, n+1)
		for b := a + 1; b <= n; b++ {
			w.links[a][b] = &link{}
		}
	}
	for _, id := range w.ids {
		w.members = append(w.members, newMember(w, id))
	}
	for i := range 4 {
		w.keys = append(w.keys, fmt.Sprintf("/k%d", i))
	}
	for i := range cfg.Clients {
		w.clients = append(w.clients, newClient(w, i+1))
	}
	return w
}

// failf stops the run with an invariant violation.
func (w *World) failf(format string, args ...any) {
	w.tracef("FAIL: "+format, args...)
	panic(failure{fmt.Errorf("step %d t=%d: "+format, append([]any{w.step, w.now}, args...)...)})
}

// tracef records an event: kept in a short ring for failure reports,
// logged when verbose, and folded into the run's hash.
func (w *World) tracef(format string, args ...any) {
	s := fmt.Sprintf("%6d t=%-6d ", w.step, w.now) + fmt.Sprintf(format, args...)
	for i := 0; i < len(s); i++ {
		w.hash = (w.hash ^ uint64(s[i])) * 1099511628211
	}
	if w.logf != nil {
		w.logf("%s", s)
	}
	const keep = 300
	if len(w.trace) >= keep {
		copy(w.trace, w.trace[1:])
		w.trace = w.trace[:keep-1]
	}
	w.trace = append(w.trace, s)
}

func (w *World) count(name string, n int64) { w.counters[name] += n }

func (w *World) member(id int64) *member { return w.members[id-1] }

func (w *World) run() {
	w.tracef("config %v", w.cfg)
	for _, m := range w.members {
		m.start()
	}
	for w.step < w.cfg.Steps {
		w.faults()
		w.tick()
	}
	// Settle: heal everything, stop new operations after a while, and
	// wait until every member serves the same state.
	w.healAll()
	w.settle(w.cfg.SettleSteps / 10)
	w.finalReads()
	w.settle(0)
	w.finalChecks()
}

// settle runs until the ensemble agrees, new client operations stopping
// after busy steps.
func (w *World) settle(busy int) {
	w.quiet = false
	for i := 0; i < w.cfg.SettleSteps; i++ {
		if i == busy {
			w.quiet = true
		}
		w.tick()
		if w.quiet && w.agreed() {
			return
		}
	}
	w.failf("the ensemble does not settle: %s%s", w.stuckProposal(), w.describe())
}

// stuckProposal names a proposal a quorum of voters holds durably that the
// leader still has not committed, if any.
func (w *World) stuckProposal() string {
	for _, l := range w.members {
		if !l.up || l.rep.Node().State() != zab.Leading {
			continue
		}
		_, committed := l.rep.Node().LastZxid()
		next := committed + 1
		held := 0
		for _, id := range w.voters {
			if m := w.member(id); m.up && m.disk.last() >= next && zab.EpochOf(m.disk.last()) == zab.EpochOf(next) {
				held++
			}
		}
		if held > len(w.voters)/2 {
			return fmt.Sprintf("proposal 0x%x is durable on a quorum but not committed (the leader counts no ACK for "+
				"proposals a learner received during its synchronisation); ", next)
		}
	}
	return ""
}

// describe summarises the members' states.
func (w *World) describe() string {
	var b strings.Builder
	for _, m := range w.members {
		if !m.up {
			fmt.Fprintf(&b, "[%d down] ", m.id)
			continue
		}
		n := m.rep.Node()
		d, c := n.LastZxid()
		a, cur := n.Epochs()
		fmt.Fprintf(&b, "[%d %v leader=%d serving=%v durable=0x%x committed=0x%x applied=0x%x epochs=%d/%d pending=%d last error %q] ",
			m.id, n.State(), n.Leader(), m.serving, d, c, m.rep.LastApplied(), a, cur, len(m.pending), m.lastErr)
	}
	return b.String()
}

// agreed reports whether every member is up, serving, idle and at the
// same state.
func (w *World) agreed() bool {
	var last int64 = -1
	for _, m := range w.members {
		if !m.up || !m.serving || len(m.pending) > 0 || len(m.snapFor) > 0 {
			return false
		}
		durable, committed := m.rep.Node().LastZxid()
		applied := m.rep.LastApplied()
		if durable != committed || committed != applied || last >= 0 && applied != last {
			return false
		}
		last = applied
	}
	for _, c := range w.clients {
		if len(c.ops) > 0 || c.state == csConnecting {
			return false
		}
	}
	return true
}

// tick runs one step: time passes, faults heal, links change, messages
// arrive, members persist, tick and snapshot, clients act; then the
// invariants are checked.
func (w *World) tick() {
	w.step++
	w.now += w.rng.between(1, 5)
	if w.healAt != 0 && w.now >= w.healAt {
		w.heal()
	}
	w.updateLinks()
	w.deliver()
	for _, m := range w.members {
		if !m.up || m.paused(w.now) {
			continue
		}
		m.completePersists()
		if len(m.snapFor) > 0 && w.rng.intn(3) == 0 {
			m.streamSnapshots()
		}
		m.rep.Tick(m.clock())
		m.flush()
		m.maybeSnapshot()
	}
	w.dispatchClientEvents()
	for _, c := range w.clients {
		c.act()
	}
	w.dispatchClientEvents()
	w.checkMutualFollowers()
}

// checkMutualFollowers fails a run in which two members follow each other
// for longer than a learner may take to synchronise: neither ever leads,
// so they must give up on each other.
func (w *World) checkMutualFollowers() {
	limit := 3 * 10 * w.cfg.TickMs // three initLimits
	for _, m := range w.members {
		if !m.up || m.paused(w.now) {
			m.mutualSince = 0
			continue
		}
		n := m.rep.Node()
		st := n.State()
		if st != zab.Following && st != zab.Observing {
			m.mutualSince = 0
			continue
		}
		l := w.member(n.Leader())
		if !l.up || l.id == m.id {
			m.mutualSince = 0
			continue
		}
		ln := l.rep.Node()
		if ls := ln.State(); (ls != zab.Following && ls != zab.Observing) || ln.Leader() != m.id {
			m.mutualSince = 0
			continue
		}
		if m.mutualSince == 0 {
			m.mutualSince = w.now
		}
		if w.now-m.mutualSince > limit {
			w.failf("members %d and %d follow each other for %d ms (each treats the other's FOLLOWERINFO as its leader's sign of life)",
				m.id, l.id, w.now-m.mutualSince)
		}
	}
}

// faults injects new faults at random.
func (w *World) faults() {
	c := w.cfg
	if c.CrashEvery > 0 && w.rng.intn(c.CrashEvery) == 0 {
		w.crashOrRestart()
	}
	if c.PartitionEvery > 0 && w.healAt == 0 && w.rng.intn(c.PartitionEvery) == 0 {
		w.partition()
	}
	if c.PauseEvery > 0 && w.rng.intn(c.PauseEvery) == 0 {
		m := w.members[w.rng.intn(len(w.members))]
		if m.up && !m.paused(w.now) {
			m.pausedUntil = w.now + w.rng.between(100, 2000)
			w.count("pauses", 1)
			w.tracef("pause %d until %d", m.id, m.pausedUntil)
		}
	}
	if c.OutageEvery > 0 && w.rng.intn(c.OutageEvery) == 0 {
		w.count("outages", 1)
		w.tracef("power failure: every member crashes")
		for _, m := range w.members {
			if m.up {
				m.crash()
				m.restartAt = w.now + w.rng.between(50, 1000)
			}
		}
	}
	if c.DisconnectEvery > 0 && w.rng.intn(c.DisconnectEvery) == 0 {
		a, b := w.ids[w.rng.intn(len(w.ids))], w.ids[w.rng.intn(len(w.ids))]
		if a != b {
			w.tracef("connection %d-%d breaks", a, b)
			w.count("connection resets", 1)
			w.dropLink(a, b, w.rng.between(5, 100))
		}
	}
	// Members that have been down a while come back.
	for _, m := range w.members {
		if !m.up && w.now >= m.restartAt {
			m.start()
		}
	}
}

// crashOrRestart crashes a member (often the leader); at most a minority
// of voters is down at once so the run keeps making progress, though a
// partition or pause may still stop it for a while.
func (w *World) crashOrRestart() {
	down := 0
	for _, id := range w.voters {
		if !w.member(id).up {
			down++
		}
	}
	victim := w.members[w.rng.intn(len(w.members))]
	for _, m := range w.members {
		if m.up && m.rep.Node().State() == zab.Leading && w.rng.intn(2) == 0 {
			victim = m
		}
	}
	if !victim.up {
		return
	}
	if slices.Contains(w.voters, victim.id) && down+1 > (len(w.voters)-1)/2 {
		return
	}
	victim.crash()
	victim.restartAt = w.now + w.rng.between(50, 1500)
}

// partition cuts the network: one member isolated (both ways or one way),
// or the members split in two groups.
func (w *World) partition() {
	n := len(w.ids)
	w.count("partitions", 1)
	w.healAt = w.now + w.rng.between(200, 2500)
	switch w.rng.intn(3) {
	case 0: // isolate one member
		a := w.ids[w.rng.intn(n)]
		for _, b := range w.ids {
			if b != a {
				w.cut[a][b], w.cut[b][a] = true, true
			}
		}
		w.tracef("partition: %d isolated until %d", a, w.healAt)
	case 1: // one-way: a's traffic to b is lost
		a, b := w.ids[w.rng.intn(n)], w.ids[w.rng.intn(n)]
		if a == b {
			b = w.ids[(int(a))%n]
		}
		w.cut[a][b] = true
		w.count("one-way partitions", 1)
		w.tracef("partition: %d -> %d one way until %d", a, b, w.healAt)
	default: // two groups
		var g1 []int64
		for _, id := range w.ids {
			if w.rng.intn(2) == 0 {
				g1 = append(g1, id)
			}
		}
		for _, a := range w.ids {
			for _, b := range w.ids {
				if a != b && slices.Contains(g1, a) != slices.Contains(g1, b) {
					w.cut[a][b] = true
				}
			}
		}
		w.tracef("partition: %v | rest until %d", g1, w.healAt)
	}
}

func (w *World) heal() {
	for a := range w.cut {
		clear(w.cut[a])
	}
	w.healAt = 0
	w.tracef("partition healed")
}

// healAll ends every fault: partitions, pauses, down members.
func (w *World) healAll() {
	w.heal()
	for _, m := range w.members {
		m.pausedUntil = 0
		if !m.up {
			m.start()
		}
	}
}

// linkUsable reports whether a quorum connection between a and b can exist.
func (w *World) linkUsable(a, b int64) bool {
	return w.member(a).up && w.member(b).up && !w.cut[a][b] && !w.cut[b][a]
}

// updateLinks brings quorum connections down (a member crashed, a
// partition) and up (both ends alive and reachable, the reconnect delay
// over); both ends hear of it, in order with the connection's frames.
func (w *World) updateLinks() {
	for _, a := range w.ids {
		for _, b := range w.ids {
			if a >= b {
				continue
			}
			l := w.links[a][b]
			ok := w.linkUsable(a, b)
			switch {
			case l.up && !ok:
				w.dropLink(a, b, w.rng.between(20, 200))
			case !l.up && ok && w.now >= l.reconnectAt:
				l.up = true
				l.inc++
				w.tracef("link %d-%d up (#%d)", a, b, l.inc)
				w.linkEvent(a, b, envConnected)
				w.linkEvent(b, a, envConnected)
			}
		}
	}
}

// dropLink breaks the quorum connection between a and b: what is in
// flight on it is lost, both ends hear of it, and it may reconnect after
// delay.
func (w *World) dropLink(a, b int64, delay int64) {
	if a > b {
		a, b = b, a
	}
	l := w.links[a][b]
	l.reconnectAt = w.now + delay
	if !l.up {
		return
	}
	l.up = false
	l.inc++ // frames of the old connection are dropped on arrival
	w.tracef("link %d-%d down", a, b)
	w.linkEvent(a, b, envDisconnected)
	w.linkEvent(b, a, envDisconnected)
}

// linkEvent tells member to about its connection with peer.
func (w *World) linkEvent(to, peer int64, kind envKind) {
	m := w.member(to)
	if !m.up {
		return
	}
	at := w.fifo(peer, to, w.now+w.rng.between(1, 5))
	w.push(envelope{at: at, kind: kind, to: to, toInc: m.inc, peer: peer})
}

// fifo returns the due time of a frame from -> to on their connection: not
// before the connection's last one.
func (w *World) fifo(from, to int64, at int64) int64 {
	a, b, dir := from, to, 0
	if a > b {
		a, b, dir = b, a, 1
	}
	l := w.links[a][b]
	if at < l.lastAt[dir] {
		at = l.lastAt[dir]
	}
	l.lastAt[dir] = at
	return at
}

func (w *World) push(e envelope) {
	w.seq++
	e.seq = w.seq
	w.net = append(w.net, e)
}

// send puts a member's message on the network: election notifications go
// datagram-like (lost, duplicated, reordered at random); quorum messages
// go on the members' connection, in order, and are dropped while it is
// down. Every message is encoded and decoded with the wire codec.
func (w *World) send(msg zab.Message) {
	frame, err := zab.AppendFrame(nil, msg)
	if err != nil {
		w.failf("encode %T from %d: %v", msg.Body, msg.From, err)
	}
	if w.logf != nil && msg.Body.Kind() != zab.KindNotification {
		w.tracef("%d -> %d %T %s", msg.From, msg.To, msg.Body, describeBody(msg.Body))
	}
	to := w.member(msg.To)
	if !to.up {
		return
	}
	if msg.Body.Kind() == zab.KindNotification {
		if w.cut[msg.From][msg.To] || w.rng.chance(w.cfg.ElectionLoss) {
			return
		}
		n := 1
		if w.rng.chance(w.cfg.ElectionDup) {
			n = 2
		}
		for range n {
			w.push(envelope{at: w.now + w.rng.between(1, w.cfg.MaxNetDelay), kind: envMsg, to: msg.To, toInc: to.inc, frame: frame})
		}
		return
	}
	a, b := msg.From, msg.To
	if a > b {
		a, b = b, a
	}
	l := w.links[a][b]
	if !l.up {
		return // the transport drops what is sent while a link is down
	}
	at := w.fifo(msg.From, msg.To, w.now+w.rng.between(1, w.cfg.MaxNetDelay))
	w.push(envelope{at: at, kind: envMsg, to: msg.To, toInc: to.inc, frame: frame, quorum: true, linkInc: l.inc})
}

// deliver hands every due envelope to its member, in (due, seq) order; a
// paused member's wait until it resumes.
func (w *World) deliver() {
	sort.Slice(w.net, func(i, j int) bool {
		if w.net[i].at != w.net[j].at {
			return w.net[i].at < w.net[j].at
		}
		return w.net[i].seq < w.net[j].seq
	})
	var keep []envelope
	due := w.net
	w.net = nil
	for _, e := range due {
		m := w.member(e.to)
		if e.at > w.now || (m.up && m.inc == e.toInc && m.paused(w.now)) {
			keep = append(keep, e)
			continue
		}
		if !m.up || m.inc != e.toInc {
			continue // sent to an incarnation that crashed
		}
		m.receive(e)
	}
	w.net = append(keep, w.net...)
}

// payloadHash identifies a transaction's bytes.
func payloadHash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// proposed records a logged transaction: a zxid names one transaction
// everywhere, whoever logs it.
func (w *World) proposed(m *member, e zab.Entry) uint64 {
	ph := payloadHash(e.Txn)
	if old, ok := w.txnAt[e.Zxid]; ok {
		if old != ph {
			w.failf("member %d logs zxid 0x%x with a payload other than the one first proposed", m.id, e.Zxid)
		}
		return ph
	}
	w.txnAt[e.Zxid] = ph
	h, _, err := znode.DecodeTxn(jute.NewDecoder(e.Txn, len(e.Txn)))
	if err != nil {
		w.failf("member %d logs an undecodable transaction 0x%x: %v", m.id, e.Zxid, err)
	}
	if h.Zxid != e.Zxid {
		w.failf("member %d logs entry 0x%x holding zxid 0x%x", m.id, e.Zxid, h.Zxid)
	}
	if h.Session != 0 && h.Cxid > 0 {
		w.writeZxid[[2]int64{h.Session, int64(h.Cxid)}] = e.Zxid
	}
	return ph
}

// sawDigest checks a member's tree digest at zxid against every other
// state at exactly that zxid.
func (w *World) sawDigest(m *member, zxid int64, d uint64, what string) {
	if old, ok := w.digestAt[zxid]; ok {
		if old != d {
			w.failf("member %d's state at 0x%x (%s) has digest %d, another member's %d: the histories diverge", m.id, zxid, what, d, old)
		}
		return
	}
	w.digestAt[zxid] = d
}

// checkDurableQuorum: a transaction a serving member applies is committed,
// so a quorum of voters must hold it on disk (no ACK before fsync, no
// COMMIT before a quorum's ACKs).
func (w *World) checkDurableQuorum(z int64) {
	held := 0
	for _, id := range w.voters {
		if w.member(id).disk.holds(z) {
			held++
		}
	}
	if held <= len(w.voters)/2 {
		w.failf("0x%x is applied as committed but only %d of %d voters hold it durably", z, held, len(w.voters))
	}
}

// leaderEstablished checks that one member leads each epoch.
func (w *World) leaderEstablished(m *member, epoch int64) {
	if other, ok := w.leaders[epoch]; ok && other != m.id {
		w.failf("two leaders established in epoch %d: %d and %d", epoch, other, m.id)
	}
	w.leaders[epoch] = m.id
}

// finalReads has every client read every key after a sync; the history
// then pins the final state.
func (w *World) finalReads() {
	w.quiet = true
	for _, c := range w.clients {
		c.finalKeys = slices.Clone(w.keys)
		c.final = true
	}
	for i := 0; i < w.cfg.SettleSteps; i++ {
		w.tick()
		done := true
		for _, c := range w.clients {
			if len(c.finalKeys) > 0 || len(c.ops) > 0 {
				done = false
			}
		}
		if done {
			return
		}
	}
	w.failf("the final reads do not complete: %s", w.describe())
}

// finalChecks: every member holds the same state, every acknowledged
// write is in it, and the history is linearizable.
func (w *World) finalChecks() {
	first := w.members[0]
	for _, m := range w.members[1:] {
		if m.rep.LastApplied() != first.rep.LastApplied() || m.rep.Tree().Digest() != first.rep.Tree().Digest() {
			w.failf("members disagree at the end: %d at 0x%x digest %d, %d at 0x%x digest %d", first.id, first.rep.LastApplied(),
				first.rep.Tree().Digest(), m.id, m.rep.LastApplied(), m.rep.Tree().Digest())
		}
	}
	for _, k := range w.acked {
		z, ok := w.writeZxid[k]
		if !ok {
			w.failf("acknowledged write (session 0x%x, cxid %d) was never logged", k[0], k[1])
		}
		if !w.committed[z] {
			w.failf("acknowledged write 0x%x (session 0x%x, cxid %d) was never applied by a serving member", z, k[0], k[1])
		}
		for _, m := range w.members {
			if z > m.base && !m.applied[z] {
				w.failf("member %d lacks acknowledged write 0x%x (its state rebuilt at 0x%x since)", m.id, z, m.base)
			}
		}
	}
	model := Model()
	for _, part := range model.Partition(w.history) {
		if porcupine.CheckOperations(model, part) {
			continue
		}
		var b strings.Builder
		for i, op := range part {
			if i == 300 {
				fmt.Fprintf(&b, "\n  ... %d more", len(part)-i)
				break
			}
			ret := fmt.Sprint(op.Return)
			if op.Return == math.MaxInt64 {
				ret = "-"
			}
			fmt.Fprintf(&b, "\n  c%d [%d,%s] %s", op.ClientId, op.Call, ret, model.DescribeOperation(op.Input, op.Output))
		}
		w.failf("the client history of %s is not linearizable (%d operations):%s", part[0].Input.(Input).Key, len(part), b.String())
	}
	for _, m := range w.members {
		m.collectStats()
	}
	w.count("runs", 1)
}

// describeBody is a short form of a message for verbose traces.
func describeBody(b zab.Body) string {
	switch m := b.(type) {
	case zab.Proposal:
		return fmt.Sprintf("0x%x", m.Zxid)
	case zab.Commit:
		return fmt.Sprintf("0x%x", m.Zxid)
	case zab.Snap:
		return fmt.Sprintf("0x%x last=%v", m.Zxid, m.Last)
	}
	s := fmt.Sprintf("%+v", b)
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
