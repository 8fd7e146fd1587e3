package sim

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/zab"
)

// member is one ensemble member: a replica driving a zab.Node, with its
// in-memory disk, run the way core/serve's member runs it.
type member struct {
	w    *World
	id   int64
	up   bool
	inc  int // incarnation: bumped at every start
	disk *disk
	rep  *replica.Replica

	pausedUntil int64
	restartAt   int64
	mutualSince int64  // when it began following a member that follows it
	lastErr     string // the node's last reported error
	offset      int64  // clock offset (ms)
	drift       int64  // clock drift (per mille)
	serving     bool

	// pending are the persistence requests issued and not yet durable,
	// each with the time it completes (in order).
	pending []pendingReq
	snapFor []int64

	// Tracking what the replica applied. known holds the transactions this
	// incarnation may apply (its log, and every append it requested since,
	// in zxid order); base is the zxid its state was last rebuilt at (start
	// or reload); applied the zxids applied after base; seen the last
	// LastApplied observed.
	known      []knownEntry
	base       int64
	applied    map[int64]bool
	seen       int64
	reloaded   bool
	reloadedTo int64
	sinceSnap  int
}

type pendingReq struct {
	req zab.PersistRequest
	due int64
}

type knownEntry struct {
	zxid int64
	hash uint64
}

var simSecret = []byte("warren-simulated-session-secret!")

func newMember(w *World, id int64) *member {
	m := &member{w: w, id: id, disk: &disk{}}
	if w.cfg.ClockSkew {
		m.offset = w.rng.between(-100000, 100000)
		m.drift = w.rng.between(-50, 50)
	}
	// A fresh data directory starts with a snapshot of the empty state
	// (ZOOKEEPER-2325), as serve writes one.
	m.disk.snaps = []snapFile{{zxid: 0, data: snapshotBytes(w, replica.New(m.replicaConfig(), nopSink{}, 0))}}
	return m
}

func (m *member) replicaConfig() replica.Config {
	return replica.Config{TickMs: m.w.cfg.TickMs, ServerID: m.id, Secret: simSecret, MinSessionTimeoutMs: int32(4 * m.w.cfg.TickMs),
		MaxSessionTimeoutMs: int32(40 * m.w.cfg.TickMs)}
}

func (m *member) paused(now int64) bool { return now < m.pausedUntil }

// clock is the member's own time: the world's, shifted and drifting (a
// fixed rate per member), never going back. Protocol timers and session
// expiry run on it, so they must not rely on synchronised clocks.
func (m *member) clock() int64 { return m.offset + m.w.now + m.w.now*m.drift/1000 }

// start (re)starts the member from its disk alone, as serve does: the
// newest snapshot and the log after it, then the epochs.
func (m *member) start() {
	w := m.w
	m.up = true
	m.inc++
	m.pending, m.snapFor = nil, nil
	m.pausedUntil = 0
	m.serving = false
	m.rep = replica.New(m.replicaConfig(), &memberSink{w: w, id: m.id}, m.clock())
	snapZxid, err := m.disk.load(m.rep, maxZxid, m.clock())
	if err != nil {
		w.failf("member %d cannot start: %v", m.id, err)
	}
	if last := m.disk.last(); last < snapZxid {
		// The log ends before the snapshot: it continues from it (serve
		// resets the log).
		m.disk.log, m.disk.base = nil, snapZxid
	}
	if ep := zab.EpochOf(m.disk.last()); ep > m.disk.currentEpoch && ep > m.disk.acceptedEpoch {
		// serve's EpochStore.CheckLog refuses this data directory.
		w.failf("member %d cannot start: its log ends at 0x%x, of epoch %d, beyond currentEpoch %d and acceptedEpoch %d",
			m.id, m.disk.last(), ep, m.disk.currentEpoch, m.disk.acceptedEpoch)
	} else if ep > m.disk.currentEpoch {
		w.count("restarts with a sync cut short", 1)
	}
	if m.disk.acceptedEpoch < m.disk.currentEpoch {
		w.failf("member %d cannot start: acceptedEpoch %d < currentEpoch %d", m.id, m.disk.acceptedEpoch, m.disk.currentEpoch)
	}
	m.known = m.known[:0]
	for _, e := range m.disk.log {
		m.known = append(m.known, knownEntry{e.Zxid, payloadHash(e.Txn)})
	}
	m.base, m.seen, m.applied = m.rep.LastApplied(), m.rep.LastApplied(), map[int64]bool{}
	w.sawDigest(m, m.base, m.rep.Tree().Digest(), "start")
	node := zab.NewNode(zab.Config{ID: m.id, Voters: w.voters, Observers: w.obs, TickMs: w.cfg.TickMs, InitLimit: 10, SyncLimit: 5,
		DiffLimit: w.cfg.DiffLimit, Storage: m.disk}, zab.DurableState{
		AcceptedEpoch: m.disk.acceptedEpoch, CurrentEpoch: m.disk.currentEpoch, LastZxid: m.disk.last(), Applied: m.rep.LastApplied(),
		LogStart: m.disk.logStart()})
	m.rep.Join(node, m.reload)
	w.tracef("start %d (#%d): snapshot 0x%x, log 0x%x..0x%x, applied 0x%x, epochs %d/%d", m.id, m.inc, snapZxid, m.disk.base,
		m.disk.last(), m.rep.LastApplied(), m.disk.acceptedEpoch, m.disk.currentEpoch)
	node.Start(m.clock())
	m.flush()
}

// reload is the replica's Reloader: the state rebuilt from disk up to zxid.
func (m *member) reload(r *replica.Replica, zxid int64) error {
	w := m.w
	w.count("reloads", 1)
	if _, err := m.disk.load(r, zxid, m.clock()); err != nil {
		return fmt.Errorf("member %d reload to 0x%x: %w", m.id, zxid, err)
	}
	w.tracef("reload %d to 0x%x", m.id, zxid)
	w.sawDigest(m, zxid, r.Tree().Digest(), "reload")
	m.reloaded, m.reloadedTo = true, zxid
	return nil
}

// crash stops the member. Durable state survives; of the persistence
// requests in flight, the one being written may survive in part (a
// process crash keeps what reached the page cache), the rest are lost.
func (m *member) crash() {
	w := m.w
	w.count("crashes", 1)
	if len(m.pending) > 0 {
		w.count("crash with persist pending", 1)
		lost := len(m.pending)
		if w.rng.intn(2) == 0 {
			head := m.pending[0].req
			if head.Kind == zab.PersistAppend && len(head.Entries) > 1 {
				k := 1 + w.rng.intn(len(head.Entries))
				head.Entries = head.Entries[:k]
				if k < len(m.pending[0].req.Entries) {
					lost++ // a part of it is lost
				}
			}
			w.tracef("crash %d keeps the write in progress: %v", m.id, head.Kind)
			m.persist(head)
			lost--
		}
		if lost > 0 {
			w.count("lost unsynced writes", int64(lost))
		}
	}
	w.tracef("crash %d (%d persistence requests in flight)", m.id, len(m.pending))
	m.collectStats()
	m.up = false
	m.rep = nil
	m.pending, m.snapFor = nil, nil
	m.serving = false
	for _, c := range w.clients {
		if c.member == m.id && c.state != csIdle {
			c.closed("member crashed")
		}
	}
	for _, o := range w.ids {
		if o != m.id {
			w.dropLink(m.id, o, 0)
		}
	}
}

// collectStats adds the node's protocol counters to the run's.
func (m *member) collectStats() {
	st := m.rep.Node().Stats()
	w := m.w
	w.count("sync diff", st.SyncDiff)
	w.count("sync trunc", st.SyncTrunc)
	w.count("sync snap", st.SyncSnap)
	w.count("leader epochs", st.LeaderEpochs)
	w.count("step downs", st.StepDowns)
	w.count("learner errors", st.LearnerErrors)
	w.count("committed", st.Committed)
}

// persist makes one request durable on the disk.
func (m *member) persist(req zab.PersistRequest) {
	d := m.disk
	switch req.Kind {
	case zab.PersistAppend:
		// Every log is a prefix of one history: whoever logs a zxid logs
		// it after the same predecessor.
		prev := d.last()
		for _, e := range req.Entries {
			if old, ok := m.w.prevOf[e.Zxid]; ok && old != prev {
				m.w.failf("member %d logs 0x%x after 0x%x, another member after 0x%x: the logs diverge", m.id, e.Zxid, prev, old)
			}
			m.w.prevOf[e.Zxid] = prev
			prev = e.Zxid
		}
		if err := d.appendEntries(req.Entries); err != nil {
			m.w.failf("member %d: %v", m.id, err)
		}
	case zab.PersistTruncate:
		m.w.count("truncations", 1)
		if req.Zxid < d.base {
			// The log was reset at an installed snapshot beyond the cut:
			// only an older snapshot exactly at the cut could serve, and
			// the reload (or the next start) fails otherwise.
			k := len(d.snaps) - 1
			for k >= 0 && d.snaps[k].zxid > req.Zxid {
				k--
			}
			if k < 0 || d.snaps[k].zxid != req.Zxid {
				m.w.failf("member %d: TRUNC to 0x%x below its log's start 0x%x (an installed snapshot): nothing on disk "+
					"rebuilds the state at 0x%x, so serve's reload fails and the member cannot start again", m.id, req.Zxid, d.base, req.Zxid)
			}
		}
		d.truncate(req.Zxid)
	case zab.PersistSnapshot:
		if err := d.install(req.Zxid, req.Data, m.replicaConfig(), m.clock()); err != nil {
			m.w.failf("member %d: %v", m.id, err)
		}
		m.w.count("snapshots installed", 1)
	case zab.PersistAcceptedEpoch:
		d.acceptedEpoch = req.Epoch
	case zab.PersistCurrentEpoch:
		d.currentEpoch = req.Epoch
	default:
		// A kind this simulator does not model (members share one session
		// secret, so none is sent): nothing on disk changes.
	}
}

// completePersists finishes the requests that are due, in order, and
// tells the node.
func (m *member) completePersists() {
	var last uint64
	for len(m.pending) > 0 && m.pending[0].due <= m.w.now {
		p := m.pending[0]
		m.pending = m.pending[1:]
		m.persist(p.req)
		last = p.req.ID
	}
	if last != 0 {
		m.rep.ZabPersisted(last)
		m.flush()
	}
}

// issue queues a persistence request and updates what the member may
// apply.
func (m *member) issue(req zab.PersistRequest) {
	w := m.w
	switch req.Kind {
	case zab.PersistAppend:
		if w.cfg.TrimDuplicateAppends {
			req = m.trimDuplicates(req)
		}
		for _, e := range req.Entries {
			h := w.proposed(m, e)
			if n := len(m.known); n > 0 && m.known[n-1].zxid >= e.Zxid {
				w.failf("member %d asks to log 0x%x after 0x%x (serve's log append would fail and stop the member)", m.id, e.Zxid, m.known[n-1].zxid)
			}
			m.known = append(m.known, knownEntry{e.Zxid, h})
		}
	case zab.PersistTruncate:
		k := len(m.known)
		for k > 0 && m.known[k-1].zxid > req.Zxid {
			k--
		}
		m.known = m.known[:k]
	case zab.PersistSnapshot:
		m.known = m.known[:0]
	}
	if w.logf != nil {
		w.tracef("%d persist #%d %v zxid=0x%x epoch=%d entries=%d", m.id, req.ID, req.Kind, req.Zxid, req.Epoch, len(req.Entries))
	}
	due := m.w.now + w.rng.between(0, w.cfg.MaxPersistDelay)
	if n := len(m.pending); n > 0 && m.pending[n-1].due > due {
		due = m.pending[n-1].due
	}
	m.pending = append(m.pending, pendingReq{req: req, due: due})
}

// trimDuplicates drops from an append the entries this member already
// asked to log with the same payload (a known core/zab bug resends them;
// see TrimDuplicateAppends).
func (m *member) trimDuplicates(req zab.PersistRequest) zab.PersistRequest {
	n := len(m.known)
	if n == 0 {
		return req
	}
	k := 0
	for k < len(req.Entries) && req.Entries[k].Zxid <= m.known[n-1].zxid {
		e := req.Entries[k]
		i, ok := slices.BinarySearchFunc(m.known, e.Zxid, func(k knownEntry, z int64) int { return cmp.Compare(k.zxid, z) })
		if !ok || m.known[i].hash != payloadHash(e.Txn) {
			break // not a duplicate: the check in issue reports it
		}
		k++
	}
	if k > 0 {
		m.w.count("duplicate appends trimmed", int64(k))
		req.Entries = req.Entries[k:]
	}
	return req
}

// flush lets the replica act on the node's decisions and carries out the
// rest, as serve's member.flush does.
func (m *member) flush() {
	w := m.w
	for m.up {
		out, err := m.rep.Flush(m.clock())
		if err != nil {
			w.failf("member %d: flush: %v", m.id, err)
		}
		for _, req := range out.Persist {
			m.issue(req)
		}
		for _, msg := range out.Send {
			w.send(msg)
		}
		for _, id := range out.Disconnect {
			w.tracef("%d disconnects %d", m.id, id)
			w.dropLink(m.id, id, w.rng.between(5, 50))
		}
		for _, e := range out.Errors {
			w.tracef("%d: %v", m.id, e)
			m.lastErr = e.Error()
		}
		wasServing := m.serving
		if r := out.Role; r != nil {
			w.tracef("%d role %v leader=%d epoch=%d serving=%v", m.id, r.State, r.Leader, r.Epoch, r.Serving)
			m.serving = r.Serving
			if r.State == zab.Leading && r.Serving {
				w.leaderEstablished(m, r.Epoch)
			}
			if r.State == zab.Looking {
				w.count("elections", 1)
			}
		}
		m.observe(wasServing || m.serving)
		m.snapFor = append(m.snapFor, out.Snapshots...)
		if len(out.Persist)+len(out.Send)+len(out.Disconnect) == 0 && out.Role == nil {
			return
		}
	}
}

// observe checks what the replica applied since the last look: the zxids
// follow one another in the log this member was given, each names the
// transaction first proposed with it, and the state's digest matches any
// other state at that zxid.
func (m *member) observe(serving bool) {
	w := m.w
	from := m.seen
	if m.reloaded {
		m.reloaded = false
		from = m.reloadedTo
		m.base, m.applied = m.reloadedTo, map[int64]bool{}
		m.sinceSnap = 0
	}
	to := m.rep.LastApplied()
	if to < from {
		w.failf("member %d's applied zxid went back from 0x%x to 0x%x without a reload", m.id, from, to)
	}
	if to == from {
		m.seen = to
		return
	}
	i, _ := slices.BinarySearchFunc(m.known, from, func(k knownEntry, z int64) int { return cmp.Compare(k.zxid, z) })
	if i < len(m.known) && m.known[i].zxid == from {
		i++
	}
	prev := from
	for ; i < len(m.known) && m.known[i].zxid <= to; i++ {
		z := m.known[i].zxid
		if !follows(prev, z) {
			w.failf("member %d applied 0x%x after 0x%x: not continuous", m.id, z, prev)
		}
		if w.txnAt[z] != m.known[i].hash {
			w.failf("member %d applied a transaction 0x%x other than the one proposed", m.id, z)
		}
		m.applied[z] = true
		if serving && !w.committed[z] {
			w.committed[z] = true
			w.checkDurableQuorum(z)
		}
		prev = z
		m.sinceSnap++
	}
	if prev != to {
		w.failf("member %d applied up to 0x%x but its log only leads from 0x%x to 0x%x", m.id, to, from, prev)
	}
	w.sawDigest(m, to, m.rep.Tree().Digest(), "applied")
	m.seen = to
}

// maybeSnapshot takes a snapshot of a serving member's state once it
// applied SnapEvery transactions since the last one (durable at once: the
// simulator does not model the snapshot file's own writes).
func (m *member) maybeSnapshot() {
	if !m.up || !m.serving || m.sinceSnap < m.w.cfg.SnapEvery {
		return
	}
	m.sinceSnap = 0
	z := m.rep.LastApplied()
	m.disk.addSnapshot(z, snapshotBytes(m.w, m.rep))
	m.w.count("snapshots taken", 1)
	m.w.tracef("%d snapshot at 0x%x", m.id, z)
	if r := m.w.cfg.PurgeRetain; r > 0 && m.disk.purge(r) > 0 {
		// Autopurge: a leader must not ask this member to truncate below
		// what its disk can still rebuild.
		m.w.count("purges", 1)
		m.rep.Node().SetLogStart(m.disk.logStart())
		m.w.tracef("%d purged: log from 0x%x, start 0x%x", m.id, m.disk.base, m.disk.logStart())
	}
}

// snapshotBytes produces a replica's whole snapshot stream.
func snapshotBytes(w *World, r *replica.Replica) []byte {
	var out []byte
	for _, p := range snapshotParts(w, r) {
		out = append(out, p...)
	}
	return out
}

func snapshotParts(w *World, r *replica.Replica) [][]byte {
	s, err := r.BeginSnapshot()
	if err != nil {
		w.failf("snapshot: %v", err)
	}
	var parts [][]byte
	for {
		buf, done := s.Next(nil, 4)
		parts = append(parts, buf)
		if done {
			return parts
		}
	}
}

// streamSnapshots sends the learners waiting for one a snapshot of the
// applied state in parts, as serve's streamSnapshots does.
func (m *member) streamSnapshots() {
	ids := m.snapFor
	m.snapFor = nil
	parts := snapshotParts(m.w, m.rep)
	zxid := m.rep.LastApplied()
	node := m.rep.Node()
	for _, id := range ids {
		m.w.tracef("%d streams a snapshot at 0x%x to %d in %d parts", m.id, zxid, id, len(parts))
		node.SnapStarted(id, zxid)
		for i, p := range parts {
			if !node.SnapChunk(id, zxid, p, i == len(parts)-1) {
				break
			}
		}
	}
	m.flush()
}

// receive handles one envelope addressed to this member.
func (m *member) receive(e envelope) {
	w := m.w
	switch e.kind {
	case envMsg:
		if e.quorum {
			a, b := e.to, int64(0)
			msg, _, err := zab.DecodeFrame(e.frame, zab.MaxFrameSize)
			if err != nil {
				w.failf("member %d: decode: %v", m.id, err)
			}
			b = msg.From
			if a > b {
				a, b = b, a
			}
			if l := w.links[a][b]; !l.up || l.inc != e.linkInc {
				return // the connection it travelled on is gone
			}
			m.rep.Step(msg)
		} else {
			msg, _, err := zab.DecodeFrame(e.frame, zab.MaxFrameSize)
			if err != nil {
				w.failf("member %d: decode: %v", m.id, err)
			}
			m.rep.Step(msg)
		}
	case envConnected:
		m.rep.PeerConnected(e.peer)
	case envDisconnected:
		m.rep.PeerDisconnected(e.peer)
	case envClientConnect:
		m.rep.Connect(e.conn, e.creq, "10.0.0.1", m.clock())
	case envClientRequest:
		m.rep.Request(e.conn, e.hdr, e.rec, m.clock())
	case envClientClose:
		m.rep.Disconnected(e.conn)
	}
	m.flush()
}

// memberSink queues a member's output to its clients.
type memberSink struct {
	w  *World
	id int64
}

type clientEvent struct {
	member int64
	conn   replica.ConnID
	resp   *proto.ConnectResponse
	hdr    proto.ReplyHeader
	body   proto.Record
	close  bool
	reply  bool
}

func (s *memberSink) Connected(c replica.ConnID, resp *proto.ConnectResponse) {
	s.w.clientEvs = append(s.w.clientEvs, clientEvent{member: s.id, conn: c, resp: resp})
}

func (s *memberSink) Send(c replica.ConnID, hdr proto.ReplyHeader, body proto.Record) {
	s.w.clientEvs = append(s.w.clientEvs, clientEvent{member: s.id, conn: c, hdr: hdr, body: body, reply: true})
}

func (s *memberSink) Close(c replica.ConnID) {
	s.w.clientEvs = append(s.w.clientEvs, clientEvent{member: s.id, conn: c, close: true})
}

// nopSink discards a scratch replica's output.
type nopSink struct{}

func (nopSink) Connected(replica.ConnID, *proto.ConnectResponse)     {}
func (nopSink) Send(replica.ConnID, proto.ReplyHeader, proto.Record) {}
func (nopSink) Close(replica.ConnID)                                 {}
