package zab

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// A deterministic in-test ensemble: members with in-memory durable state,
// a network that delays, drops, duplicates and reorders per link, crashes
// that lose whatever was not yet durable, and clients proposing through
// the leader. It checks ZAB's invariants after every step. (core/sim will
// grow the full simulator with replicas and client histories; this one
// exercises the protocol core alone.)

// memStorage is a member's durable state.
type memStorage struct {
	log           []Entry // the whole history (a snapshot install replaces it)
	acceptedEpoch int64
	currentEpoch  int64
}

func (s *memStorage) last() int64 {
	if len(s.log) == 0 {
		return 0
	}
	return s.log[len(s.log)-1].Zxid
}

func (s *memStorage) Entries(after, upto int64) ([]Entry, bool) {
	i := 0
	if after != 0 {
		k, ok := slices.BinarySearchFunc(s.log, after, func(e Entry, z int64) int { return cmp.Compare(e.Zxid, z) })
		if !ok {
			return nil, false
		}
		i = k + 1
	}
	var out []Entry
	for ; i < len(s.log) && s.log[i].Zxid <= upto; i++ {
		out = append(out, s.log[i])
	}
	if upto > after && (len(out) == 0 || out[len(out)-1].Zxid != upto) {
		return nil, false
	}
	return out, true
}

var trace = os.Getenv("ZAB_TRACE") != ""

type envelope struct {
	at  int64
	seq int64
	msg Message
}

type member struct {
	id      int64
	node    *Node
	store   *memStorage
	up      bool
	applied []Entry // the state machine
	serving bool
	pending []PersistRequest
	// what the driver still owes the node for snapshots it asked for
	snapFor []int64
}

type cluster struct {
	t       *testing.T
	rng     *rand.Rand
	now     int64
	members map[int64]*member
	ids     []int64
	voters  []int64
	net     []envelope
	seq     int64
	cut     map[[2]int64]bool // one-way partitions: from->to dropped
	loss    float64
	dup     float64
	// faults
	diffLimit int
	// history checks
	committed   map[int64][]byte // zxid -> txn as first committed anywhere
	leaders     map[int64]int64  // epoch -> established leader
	proposedSeq int
	acked       []int64 // zxids a leader committed (told a client)
	counters    map[string]int
	quiet       bool // no more client writes (settling)
}

func newCluster(t *testing.T, seed int64, voters, observers int) *cluster {
	c := &cluster{t: t, rng: rand.New(rand.NewSource(seed)), members: map[int64]*member{},
		cut: map[[2]int64]bool{}, committed: map[int64][]byte{}, leaders: map[int64]int64{}, counters: map[string]int{}, diffLimit: 100000}
	for i := 1; i <= voters; i++ {
		c.voters = append(c.voters, int64(i))
	}
	for i := 1; i <= voters+observers; i++ {
		id := int64(i)
		c.ids = append(c.ids, id)
		c.members[id] = &member{id: id, store: &memStorage{}}
	}
	return c
}

func (c *cluster) config(id int64) Config {
	var obs []int64
	for _, i := range c.ids {
		if !slices.Contains(c.voters, i) {
			obs = append(obs, i)
		}
	}
	return Config{ID: id, Voters: c.voters, Observers: obs, TickMs: 100, InitLimit: 10, SyncLimit: 5,
		DiffLimit: c.diffLimit, Storage: c.members[id].store}
}

// start boots (or reboots) a member from its durable state.
func (c *cluster) start(id int64) {
	m := c.members[id]
	m.up = true
	m.pending = nil
	m.snapFor = nil
	m.applied = slices.Clone(m.store.log) // replay of the whole log at start
	m.node = NewNode(c.config(id), DurableState{AcceptedEpoch: m.store.acceptedEpoch, CurrentEpoch: m.store.currentEpoch,
		LastZxid: m.store.last(), Applied: m.store.last()})
	m.node.Start(c.now)
	c.drain(m)
}

// crash stops a member; what it had not made durable is lost, and its
// peers see the connections break.
func (c *cluster) crash(id int64) {
	m := c.members[id]
	if !m.up {
		return
	}
	c.counters["crash"]++
	if len(m.pending) > 0 {
		c.counters["crash with persist pending"]++
	}
	m.up = false
	m.serving = false
	m.node = nil
	m.pending = nil
	for _, o := range c.ids {
		if o != id {
			c.disconnect(id, o)
		}
	}
}

// disconnect closes the quorum link between a and b: what is queued on it
// is lost, and b hears of it.
func (c *cluster) disconnect(a, b int64) {
	keep := c.net[:0]
	for _, e := range c.net {
		if _, ok := e.msg.Body.(Notification); !ok && (e.msg.From == a && e.msg.To == b || e.msg.From == b && e.msg.To == a) {
			continue
		}
		keep = append(keep, e)
	}
	c.net = keep
	if o := c.members[b]; o.up {
		o.node.Disconnected(a)
		c.drain(o)
	}
}

func (c *cluster) send(msg Message) {
	_, election := msg.Body.(Notification)
	p := c.loss
	if !election {
		p /= 20 // a broken TCP connection, rarer than a lost datagram
	}
	if c.cut[[2]int64{msg.From, msg.To}] || c.rng.Float64() < p {
		c.counters["lost"]++
		if !election {
			// Quorum links are TCP streams: losing a message means the
			// connection broke.
			c.disconnect(msg.From, msg.To)
		}
		return
	}
	n := 1
	if _, ok := msg.Body.(Notification); ok && c.rng.Float64() < c.dup {
		n = 2 // election traffic is datagram-like; quorum links are FIFO streams
	}
	for i := 0; i < n; i++ {
		c.seq++
		at := c.now + 1 + c.rng.Int63n(20)
		if _, ok := msg.Body.(Notification); !ok {
			// FIFO per link for the quorum protocol: never before the
			// link's last queued message.
			for _, e := range c.net {
				if e.msg.From == msg.From && e.msg.To == msg.To && e.at > at {
					at = e.at
				}
			}
		}
		c.net = append(c.net, envelope{at: at, seq: c.seq, msg: msg})
	}
}

// drain performs a member's Ready: persistence is queued (completed later,
// so crashes can fall between request and completion), messages go out,
// commits apply.
func (c *cluster) drain(m *member) {
	for m.up {
		r := m.node.Ready()
		if len(r.Persist) == 0 && len(r.Send) == 0 && len(r.Commit) == 0 && r.Role == nil && len(r.Snapshots) == 0 && !r.Reload && len(r.Errors) == 0 && len(r.Requests) == 0 && len(r.Disconnect) == 0 && len(r.SyncsDone) == 0 {
			return
		}
		if trace {
			for _, p := range r.Persist {
				c.t.Logf("%d t=%d %d persist %v zxid=0x%x epoch=%d n=%d", c.now, m.id, p.ID, p.Kind, p.Zxid, p.Epoch, len(p.Entries))
			}
			if r.Role != nil {
				c.t.Logf("%d t=%d role %+v", c.now, m.id, *r.Role)
			}
			if r.Reload {
				c.t.Logf("%d t=%d reload to 0x%x", c.now, m.id, r.ReloadZxid)
			}
			for _, e := range r.Commit {
				c.t.Logf("%d t=%d commit 0x%x", c.now, m.id, e.Zxid)
			}
			for _, e := range r.Errors {
				c.t.Logf("%d t=%d error %v", c.now, m.id, e)
			}
			for _, msg := range r.Send {
				if _, ok := msg.Body.(Notification); !ok {
					c.t.Logf("%d t=%d send %d %T %+v", c.now, m.id, msg.To, msg.Body, msg.Body)
				}
			}
		}
		m.pending = append(m.pending, r.Persist...)
		for _, msg := range r.Send {
			c.send(msg)
		}
		for _, peer := range r.Disconnect {
			c.counters["disconnect"]++
			c.disconnect(m.id, peer)
		}
		if r.Reload {
			c.counters["reload"]++
			m.applied = nil
			for _, e := range m.store.log {
				if e.Zxid <= r.ReloadZxid {
					m.applied = append(m.applied, e)
				}
			}
		}
		// What a serving member applies is committed for good; what a
		// member applies before (a leader bringing its own log up to date,
		// a learner's sync) may still be truncated if its epoch never gets
		// established, and nobody was served from it.
		serving := m.serving || r.Role != nil && r.Role.Serving
		for _, e := range r.Commit {
			if len(m.applied) > 0 && !next(m.applied[len(m.applied)-1].Zxid, e.Zxid) {
				c.t.Fatalf("member %d applies 0x%x after 0x%x: a gap", m.id, e.Zxid, m.applied[len(m.applied)-1].Zxid)
			}
			m.applied = append(m.applied, e)
			if old, ok := c.committed[e.Zxid]; ok && string(old) != string(e.Txn) {
				c.t.Fatalf("zxid 0x%x committed as %q and as %q", e.Zxid, old, e.Txn)
			}
			if serving {
				c.committed[e.Zxid] = e.Txn
			}
		}
		if r.Role != nil {
			m.serving = r.Role.Serving
		}
		if r.Role != nil && r.Role.State == Leading && r.Role.Serving {
			if other, ok := c.leaders[r.Role.Epoch]; ok && other != m.id {
				c.t.Fatalf("two leaders established in epoch %d: %d and %d", r.Role.Epoch, other, m.id)
			}
			c.leaders[r.Role.Epoch] = m.id
			c.counters["established"]++
		}
		m.snapFor = append(m.snapFor, r.Snapshots...)
		for _, id := range r.Snapshots {
			_ = id
			c.counters["snap"]++
		}
	}
}

// persistOne completes a member's oldest persistence request.
func (c *cluster) persistOne(m *member) {
	req := m.pending[0]
	m.pending = m.pending[1:]
	st := m.store
	switch req.Kind {
	case PersistAppend:
		for _, e := range req.Entries {
			if last := st.last(); last != 0 && !next(last, e.Zxid) {
				c.t.Fatalf("member %d logs 0x%x after 0x%x", m.id, e.Zxid, last)
			}
			st.log = append(st.log, e)
		}
	case PersistTruncate:
		c.counters["trunc"]++
		k := len(st.log)
		for k > 0 && st.log[k-1].Zxid > req.Zxid {
			k--
		}
		st.log = st.log[:k]
	case PersistSnapshot:
		c.counters["snap installed"]++
		st.log = decodeSnap(req.Data)
	case PersistAcceptedEpoch:
		st.acceptedEpoch = req.Epoch
	case PersistCurrentEpoch:
		st.currentEpoch = req.Epoch
	}
	m.node.Persisted(req.ID)
	c.drain(m)
}

func encodeSnap(es []Entry) []byte {
	var b []byte
	for _, e := range es {
		b = binary.AppendVarint(b, e.Zxid)
		b = binary.AppendUvarint(b, uint64(len(e.Txn)))
		b = append(b, e.Txn...)
	}
	return b
}

func decodeSnap(parts [][]byte) []Entry {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	var out []Entry
	for len(b) > 0 {
		z, k := binary.Varint(b)
		b = b[k:]
		l, k := binary.Uvarint(b)
		b = b[k:]
		out = append(out, Entry{Zxid: z, Txn: slices.Clone(b[:l])})
		b = b[l:]
	}
	return out
}

// serveSnapshots streams the snapshots a leader asked for, in two parts.
func (c *cluster) serveSnapshots(m *member) {
	for len(m.snapFor) > 0 {
		id := m.snapFor[0]
		m.snapFor = m.snapFor[1:]
		_, committed := m.node.LastZxid()
		state := m.applied
		require.Equal(c.t, committed, lastOf(state))
		data := encodeSnap(state)
		m.node.SnapStarted(id, committed)
		half := len(data) / 2
		m.node.SnapChunk(id, committed, data[:half], false)
		m.node.SnapChunk(id, committed, data[half:], true)
		c.drain(m)
	}
}

func lastOf(es []Entry) int64 {
	if len(es) == 0 {
		return 0
	}
	return es[len(es)-1].Zxid
}

// step runs one random event.
func (c *cluster) step() {
	c.now += 1 + c.rng.Int63n(5)
	// Deliver due messages in (at, seq) order.
	sort.Slice(c.net, func(i, j int) bool {
		if c.net[i].at != c.net[j].at {
			return c.net[i].at < c.net[j].at
		}
		return c.net[i].seq < c.net[j].seq
	})
	k := 0
	for k < len(c.net) && c.net[k].at <= c.now {
		k++
	}
	due := c.net[:k]
	c.net = slices.Clone(c.net[k:])
	for _, e := range due {
		m := c.members[e.msg.To]
		if m.up && c.members[e.msg.From].up {
			m.node.Step(e.msg)
			c.drain(m)
		}
	}
	for _, id := range c.ids {
		m := c.members[id]
		if !m.up {
			continue
		}
		// Complete some persistence.
		for len(m.pending) > 0 && c.rng.Intn(3) > 0 {
			c.persistOne(m)
		}
		if c.rng.Intn(3) == 0 { // the snapshot may start several steps later
			c.serveSnapshots(m)
		}
		m.node.Tick(c.now)
		c.drain(m)
		// The leader proposes client writes.
		if m.node.State() == Leading && !c.quiet && c.rng.Intn(3) == 0 {
			if z, err := m.node.NextZxid(); err == nil {
				c.proposedSeq++
				require.NoError(c.t, m.node.Propose(Entry{Zxid: z, Txn: []byte(fmt.Sprintf("w%d@%d", c.proposedSeq, m.id))}))
				c.drain(m)
			}
		}
	}
	c.check()
}

// check: the applied history of every serving member is a prefix of the
// longest one. (A member that restarted holds its whole log, committed or
// not, until its synchronisation truncates or reloads it, as in
// ZooKeeper; it serves no one meanwhile.)
func (c *cluster) check() {
	var longest []Entry
	for _, id := range c.ids {
		if m := c.members[id]; m.up && m.serving && len(m.applied) > len(longest) {
			longest = m.applied
		}
	}
	for _, id := range c.ids {
		m := c.members[id]
		if !m.up || !m.serving {
			continue
		}
		a := m.applied
		for i := range a {
			if a[i].Zxid != longest[i].Zxid || string(a[i].Txn) != string(longest[i].Txn) {
				c.t.Fatalf("member %d's history diverges at index %d: 0x%x %q vs 0x%x %q", id, i, a[i].Zxid, a[i].Txn, longest[i].Zxid, longest[i].Txn)
			}
		}
	}
}

func (c *cluster) run(steps int) {
	for i := 0; i < steps; i++ {
		c.step()
	}
}

// settle runs until every up member serves and applies the same history.
func (c *cluster) settle(maxSteps int) bool {
	// Writes keep coming for a while, then stop so the ensemble can drain.
	c.quiet = false
	defer func() { c.quiet = false }()
	for i := 0; i < maxSteps; i++ {
		if i == maxSteps/4 {
			c.quiet = true
		}
		c.step()
		var leader *member
		ok := true
		for _, id := range c.ids {
			m := c.members[id]
			if !m.up {
				continue
			}
			if m.node.State() == Leading {
				leader = m
			}
			if m.node.State() == Looking {
				ok = false
			}
		}
		if ok && leader != nil {
			l, _ := leader.node.LastZxid()
			same := true
			for _, id := range c.ids {
				m := c.members[id]
				if m.up && lastOf(m.applied) != l {
					same = false
				}
			}
			if same && len(c.net) == 0 {
				return true
			}
		}
	}
	return false
}

func TestEnsembleElectsAndReplicates(t *testing.T) {
	for _, size := range []struct{ voters, observers int }{{1, 0}, {3, 0}, {3, 1}, {5, 0}} {
		t.Run(fmt.Sprintf("%dv%do", size.voters, size.observers), func(t *testing.T) {
			c := newCluster(t, 1, size.voters, size.observers)
			for _, id := range c.ids {
				c.start(id)
			}
			c.run(2000)
			require.NotEmpty(t, c.leaders, "a leader was established")
			require.Greater(t, len(c.committed), 50, "writes were committed")
			require.True(t, c.settle(5000))
		})
	}
}

// TestEnsembleSurvivesCrashes crashes and restarts members (the leader
// often) at random moments, including between a persistence request and
// its completion, on a lossy network, across many seeds; histories must
// never diverge and the ensemble must recover.
func TestEnsembleSurvivesCrashes(t *testing.T) {
	seeds := 25
	if raceEnabled {
		seeds = 6 // the race detector makes each seed ~10x slower
	}
	if s := os.Getenv("ZAB_SEEDS"); s != "" {
		fmt.Sscan(s, &seeds)
	}
	total := map[string]int{}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			c := newCluster(t, seed, 3+2*int(seed%2), int(seed%3)/2)
			if seed%4 == 0 {
				c.diffLimit = 3
			}
			for _, id := range c.ids {
				c.start(id)
			}
			if seed%3 == 0 {
				c.loss, c.dup = 0.01, 0.05
			}
			for round := 0; round < 12; round++ {
				c.run(300 + c.rng.Intn(300))
				if seed%5 == 0 {
					// A one-way or symmetric partition of one member for a while.
					a, b := c.ids[c.rng.Intn(len(c.ids))], c.ids[c.rng.Intn(len(c.ids))]
					if a != b {
						c.cut[[2]int64{a, b}] = true
						if c.rng.Intn(2) == 0 {
							c.cut[[2]int64{b, a}] = true
						}
						c.counters["partition"]++
						c.run(200 + c.rng.Intn(300))
						clear(c.cut)
					}
				}
				victim := c.ids[c.rng.Intn(len(c.ids))]
				for _, id := range c.ids {
					if c.members[id].up && c.members[id].node.State() == Leading && c.rng.Intn(2) == 0 {
						victim = id
					}
				}
				c.crash(victim)
				c.run(100 + c.rng.Intn(400))
				c.start(victim)
			}
			if !c.settle(20000) {
				for _, id := range c.ids {
					m := c.members[id]
					d, cm := m.node.LastZxid()
					a, cur := m.node.Epochs()
					t.Logf("member %d up=%v state=%v leader=%d durable=0x%x committed=0x%x applied=0x%x epochs=%d/%d pending=%d",
						id, m.up, m.node.State(), m.node.Leader(), d, cm, lastOf(m.applied), a, cur, len(m.pending))
				}
				t.Fatalf("seed %d: the ensemble does not settle (%d messages in flight)", seed, len(c.net))
			}
			// Every committed zxid is in every member's history.
			for _, id := range c.ids {
				a := c.members[id].applied
				for z, txn := range c.committed {
					i, ok := slices.BinarySearchFunc(a, z, func(e Entry, z int64) int { return cmp.Compare(e.Zxid, z) })
					require.True(t, ok, "seed %d: member %d lost committed 0x%x", seed, id, z)
					require.Equal(t, string(txn), string(a[i].Txn))
				}
			}
			for k, v := range c.counters {
				total[k] += v
			}
		})
	}
	t.Logf("counters over all seeds: %v", total)
	require.Positive(t, total["crash with persist pending"], "crashes fell between persist and completion")
	require.Positive(t, total["trunc"], "TRUNC happened")
	require.Positive(t, total["snap installed"], "SNAP happened")
}
