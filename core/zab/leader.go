package zab

import (
	"cmp"
	"fmt"
	"slices"
)

// The leader's side of discovery, synchronisation and broadcast.

type leaderPhase uint8

const (
	leadDiscovery leaderPhase = iota // gathering FOLLOWERINFO, then ACKEPOCH
	leadSync                         // epoch agreed: syncing learners, waiting for NEWLEADER acks
	leadBroadcast                    // established: serving
)

type handlePhase uint8

const (
	hInfo      handlePhase = iota // FOLLOWERINFO received
	hEpochAck                     // ACKEPOCH received, sync not yet queued
	hSyncing                      // sync queued (NEWLEADER queued after it)
	hNewLeader                    // NEWLEADER acknowledged
	hUpToDate                     // UPTODATE sent
)

// handle is the leader's view of one learner.
type handle struct {
	id            int64
	observer      bool
	phase         handlePhase
	acceptedEpoch int64
	lastZxid      int64 // the learner's last logged zxid, from ACKEPOCH
	logStart      int64 // the lowest zxid its log can be cut back to, from ACKEPOCH
	acked         int64 // highest proposal it acknowledged (durable there)
	lastHeard     int64 // ms
	since         int64 // ms the handle was created
	// While a snapshot is streamed to the learner, everything else for it
	// waits here, so it arrives after the last part.
	holding bool
	held    []Body
	// snapPending: a snapshot was asked for and has not started; what the
	// leader would send meanwhile is covered by SnapStarted (the snapshot
	// holds everything committed, the outstanding proposals follow it).
	snapPending bool
}

type leaderState struct {
	phase       leaderPhase
	epoch       int64 // the new epoch, 0 until decided
	epochDone   bool  // acceptedEpoch = epoch is durable
	began       int64 // ms
	learners    map[int64]*handle
	maxAccepted int64
	epochAcks   map[int64]bool
	nlAcks      map[int64]bool // NEWLEADER acknowledged (voters)
	selfNL      bool           // currentEpoch = epoch durable on the leader

	// Broadcast.
	counter     int64   // last zxid counter handed out
	outstanding []Entry // proposed, not yet committed, in zxid order
	toAppend    []Entry // proposed, not yet handed to persistence
	window      []Entry // recently committed, newest last
	lastPing    int64

	// Sync: a sync is answered once everything proposed before it is
	// committed and a quorum answered a ping sent after it, which proves
	// no newer leader had taken over (so sync-then-read is linearizable).
	pingRound int64
	roundAcks map[int64]int64 // voter -> highest ping round it answered
	syncs     []pendingSync

	// reconfig is the membership change proposed and not yet committed:
	// it and every proposal after it need a quorum of the new voters as
	// well as of the old ones.
	reconfig *Membership
	// stepDown is set when a committed reconfiguration removed this leader
	// from the voters: it leads on until every follower has answered a ping
	// sent after the COMMIT (so none misses it; at most syncLimit), then
	// elects among the new voters.
	stepDown      bool
	stepDownRound int64
	stepDownAt    int64
}

// Membership is an ensemble's member list as ZAB needs it.
type Membership struct {
	Zxid      int64 // the reconfiguration's zxid (its config version)
	Voters    []int64
	Observers []int64
	Data      []byte // the member list as /zookeeper/config holds it (addresses included)
}

// pendingSync is a sync waiting for its commit and its ping round.
type pendingSync struct {
	to    int64 // the learner that forwarded it, or 0 for a local one
	token uint64
	req   SyncRequest
	zxid  int64
	round int64
}

// committedWindow is how many committed proposals the leader keeps in
// memory beside the log, to answer small DIFFs without reading it.
const committedWindow = 1024

func (n *Node) becomeLeader(d *Decision) {
	n.stats.LeaderEpochs++
	l := &leaderState{
		began:       n.nowMs,
		learners:    map[int64]*handle{},
		maxAccepted: n.acceptedEpoch,
		epochAcks:   map[int64]bool{n.cfg.ID: true},
		nlAcks:      map[int64]bool{},
		lastPing:    n.nowMs,
		roundAcks:   map[int64]int64{},
	}
	n.lead = l
	n.setRole(Leading, n.cfg.ID, n.currentEpoch, false)
	early := n.early
	n.early = nil
	ids := make([]int64, 0, len(early))
	for id := range early {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		n.leaderFollowerInfo(id, early[id])
	}
	n.leaderCheckEpoch()
	_ = d
}

// fastForward hands out, as committed, the logged entries in
// (lastCommitted, upto].
func (n *Node) fastForward(upto int64) {
	if upto <= n.lastCommitted {
		return
	}
	es, ok := n.cfg.Storage.Entries(n.lastCommitted, upto)
	if !ok {
		n.fail(fmt.Errorf("zab: cannot read the log from 0x%x to 0x%x to bring the state up to date", n.lastCommitted, upto))
		return
	}
	n.commitEntries(es)
}

func (n *Node) commitEntries(es []Entry) {
	for _, e := range es {
		if e.Zxid <= n.lastCommitted {
			continue
		}
		n.ready.Commit = append(n.ready.Commit, e)
		n.lastCommitted = e.Zxid
		n.stats.Committed++
	}
}

// leaderCheckEpoch decides the new epoch once a quorum of voters (the
// leader included) has sent FOLLOWERINFO.
func (n *Node) leaderCheckEpoch() {
	l := n.lead
	if l.epoch != 0 {
		return
	}
	have := map[int64]bool{n.cfg.ID: true}
	for id, h := range l.learners {
		if !h.observer {
			have[id] = true
		}
	}
	if !n.quorum(have) {
		return
	}
	l.epoch = l.maxAccepted + 1
	epoch := l.epoch
	n.persist(PersistRequest{Kind: PersistAcceptedEpoch, Epoch: epoch}, func() {
		if n.lead != l {
			return
		}
		// Everything in the leader's log is its history and will be
		// committed in the new epoch: bring the state machine up to it
		// (ZooKeeper's fastForwardDataBase), so sync and snapshots start
		// there. Only now: appends still in flight from before this member
		// led are durable once this later request is.
		n.fastForward(n.lastDurable)
		l.epochDone = true
		for _, id := range sortedIDs(l.learners) {
			n.send(id, LeaderInfo{NewEpoch: epoch})
		}
		n.leaderCheckEpochAcks()
	})
}

func sortedIDs(m map[int64]*handle) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (n *Node) leaderStep(m Message) {
	l := n.lead
	h := l.learners[m.From]
	if h != nil {
		h.lastHeard = n.nowMs
	}
	switch b := m.Body.(type) {
	case FollowerInfo:
		n.leaderFollowerInfo(m.From, b)
	case AckEpoch:
		if h == nil || h.phase != hInfo {
			return
		}
		n.leaderAckEpoch(h, b)
	case Ack:
		if h == nil {
			return
		}
		n.leaderAck(h, b.Zxid)
	case Ping:
		if len(b.Touched) > 0 {
			n.ready.Requests = append(n.ready.Requests, m)
		}
		if h != nil && !h.observer && b.Round > l.roundAcks[h.id] {
			l.roundAcks[h.id] = b.Round
			n.checkSyncs()
		}
	case SyncRequest:
		if h != nil && h.phase >= hNewLeader && l.phase == leadBroadcast {
			n.addSync(pendingSync{to: h.id, req: b})
		}
	case Request, Revalidate:
		if h != nil && h.phase >= hNewLeader {
			n.ready.Requests = append(n.ready.Requests, m)
		}
	}
}

func (n *Node) leaderFollowerInfo(from int64, fi FollowerInfo) {
	l := n.lead
	if from == n.cfg.ID || n.isMember(from) && fi.Observer == n.isVoter(from) {
		n.fail(fmt.Errorf("zab: member %d connected as a %s but the configuration says otherwise", from, map[bool]string{true: "observer", false: "participant"}[fi.Observer]))
		return
	}
	if l.epoch != 0 && n.isVoter(from) && !fi.Observer && fi.AcceptedEpoch > l.epoch {
		// The voter accepted a later epoch, from a leader that failed
		// before establishing it, and will refuse ours for good: step down
		// so the next election picks an epoch above every accepted one.
		n.fail(fmt.Errorf("zab: member %d accepted epoch %d, above this leader's %d; electing again", from, fi.AcceptedEpoch, l.epoch))
		n.lookForLeader("a voter accepted a later epoch")
		return
	}
	// A resent FOLLOWERINFO (the learner retries until the leader answers)
	// changes nothing once the handshake moved on; a reconnecting learner
	// arrives after Disconnected dropped its handle and starts over.
	if old := l.learners[from]; old != nil && old.phase > hInfo {
		return
	}
	h := &handle{id: from, observer: fi.Observer, acceptedEpoch: fi.AcceptedEpoch, lastZxid: fi.LastZxid,
		lastHeard: n.nowMs, since: n.nowMs}
	l.learners[from] = h
	delete(l.nlAcks, from)
	if !fi.Observer && l.epoch == 0 && fi.AcceptedEpoch > l.maxAccepted {
		l.maxAccepted = fi.AcceptedEpoch
	}
	switch {
	case l.epoch == 0:
		n.leaderCheckEpoch()
	case l.epochDone:
		n.send(from, LeaderInfo{NewEpoch: l.epoch})
	}
}

// moreRecent reports whether a learner's (currentEpoch, lastZxid) is ahead
// of the leader's: the leader then lacks history and must not lead.
func (n *Node) moreRecent(currentEpoch, lastZxid int64) bool {
	return currentEpoch > n.currentEpoch || currentEpoch == n.currentEpoch && lastZxid > n.lastDurable
}

func (n *Node) leaderAckEpoch(h *handle, a AckEpoch) {
	l := n.lead
	h.phase = hEpochAck
	h.lastZxid, h.logStart = a.LastZxid, a.LogStart
	if a.CurrentEpoch != -1 {
		if l.phase == leadDiscovery && n.moreRecent(a.CurrentEpoch, a.LastZxid) {
			n.fail(fmt.Errorf("zab: member %d (epoch %d, zxid 0x%x) is ahead of the elected leader (epoch %d, zxid 0x%x); electing again",
				h.id, a.CurrentEpoch, a.LastZxid, n.currentEpoch, n.lastDurable))
			n.lookForLeader("learner ahead")
			return
		}
		if !h.observer {
			l.epochAcks[h.id] = true
		}
	}
	if l.phase == leadDiscovery {
		n.leaderCheckEpochAcks()
		return
	}
	n.syncLearner(h)
}

// leaderCheckEpochAcks moves to synchronisation once a quorum accepted the
// epoch: the leader records currentEpoch, then syncs every learner that
// acknowledged.
func (n *Node) leaderCheckEpochAcks() {
	l := n.lead
	if l.phase != leadDiscovery || !l.epochDone || !n.quorum(l.epochAcks) {
		return
	}
	l.phase = leadSync
	epoch := l.epoch
	n.persist(PersistRequest{Kind: PersistCurrentEpoch, Epoch: epoch}, func() {
		if n.lead != l {
			return
		}
		l.selfNL = true
		n.leaderCheckEstablished()
	})
	n.election.Settled(Leading, Vote{Leader: n.cfg.ID, Zxid: n.lastDurable, PeerEpoch: epoch}, n.election.Round())
	for _, id := range sortedIDs(l.learners) {
		if h := l.learners[id]; h.phase == hEpochAck {
			n.syncLearner(h)
		}
	}
}

// syncLearner queues the synchronisation of h: TRUNC and/or DIFF from the
// log, or a snapshot; then the proposals still outstanding, then NEWLEADER.
func (n *Node) syncLearner(h *handle) {
	h.phase = hSyncing
	// The history every learner must end up with before the outstanding
	// proposals: the whole log while the epoch is being established (the
	// leader fast-forwarded to it), the committed prefix once serving.
	end := n.lastCommitted
	peer := h.lastZxid
	report := LearnerSync{Learner: h.id, LearnerZxid: peer, LeaderZxid: end}
	switch {
	case peer == end:
		n.stats.SyncDiff++
		n.queue(h, Diff{LeaderZxid: end})
		report.Method = SyncDiff
	case peer > end && end < h.logStart:
		// The learner holds transactions the leader never committed, but
		// cannot cut its log back that far (it installed a snapshot of a
		// history longer than ours, from a leader that then failed).
		n.snapLearner(h, report)
		return
	case peer > end:
		// The learner holds transactions the leader never committed.
		n.stats.SyncTrunc++
		n.queue(h, Trunc{Zxid: end})
		n.queue(h, Diff{LeaderZxid: end})
		report.Method, report.TruncZxid = SyncTruncDiff, end
	default:
		if es, ok := n.entries(peer, end); ok && len(es) <= n.cfg.DiffLimit {
			n.stats.SyncDiff++
			n.queueDiff(h, end, es)
			report.Method, report.Txns = SyncDiff, len(es)
			break
		}
		base, ok := n.floor(end, peer)
		if !ok || base == peer || base < h.logStart {
			n.snapLearner(h, report)
			return
		}
		es, ok := n.entries(base, end)
		if !ok || len(es) > n.cfg.DiffLimit {
			n.snapLearner(h, report)
			return
		}
		n.stats.SyncTrunc++
		n.queue(h, Trunc{Zxid: base})
		n.queueDiff(h, end, es)
		report.Method, report.TruncZxid, report.Txns = SyncTruncDiff, base, len(es)
	}
	n.ready.Synced = append(n.ready.Synced, report)
	n.queueTail(h)
}

// entries returns the committed entries in (after, upto], from the
// in-memory window when it covers them, else from the log.
func (n *Node) entries(after, upto int64) ([]Entry, bool) {
	if after == upto {
		return nil, true
	}
	if es, ok := n.windowEntries(after, upto); ok {
		return es, true
	}
	return n.cfg.Storage.Entries(after, upto)
}

// floor is the largest zxid of the leader's history (up to end) that is
// at most z: where a learner's log stops agreeing with the leader's.
func (n *Node) floor(end, z int64) (int64, bool) {
	if z <= 0 {
		return 0, true
	}
	es, ok := n.cfg.Storage.Entries(0, end)
	if !ok {
		return 0, false // the log no longer reaches back: use a snapshot
	}
	base := int64(0)
	for _, e := range es {
		if e.Zxid > z {
			break
		}
		base = e.Zxid
	}
	return base, true
}

// queueDiff queues DIFF and the PROPOSAL+COMMIT pairs of es.
func (n *Node) queueDiff(h *handle, end int64, es []Entry) {
	n.queue(h, Diff{LeaderZxid: end})
	for _, e := range es {
		n.queue(h, Proposal{Zxid: e.Zxid, Txn: e.Txn})
		n.queue(h, Commit{Zxid: e.Zxid})
	}
}

// windowEntries serves (base, end] from the committed window when it
// covers it.
func (n *Node) windowEntries(base, end int64) ([]Entry, bool) {
	if n.lead == nil {
		return nil, false
	}
	w := n.lead.window
	i, found := slices.BinarySearchFunc(w, base, func(e Entry, z int64) int { return cmp.Compare(e.Zxid, z) })
	if !found {
		return nil, false
	}
	var out []Entry
	for i++; i < len(w) && w[i].Zxid <= end; i++ {
		out = append(out, w[i])
	}
	if len(out) == 0 || out[len(out)-1].Zxid != end {
		return nil, false
	}
	return out, true
}

// snapLearner asks the driver for a snapshot for h; SnapStarted continues.
func (n *Node) snapLearner(h *handle, report LearnerSync) {
	report.Method = SyncSnap
	n.ready.Synced = append(n.ready.Synced, report)
	n.stats.SyncSnap++
	h.holding, h.snapPending = true, true
	n.ready.Snapshots = append(n.ready.Snapshots, h.id)
}

// SnapStarted tells the leader that the snapshot it asked for learner id
// holds the state at zxid (its lastCommitted when the snapshot began).
func (n *Node) SnapStarted(id, zxid int64) {
	l := n.lead
	if l == nil {
		return
	}
	h := l.learners[id]
	if h == nil || !h.snapPending {
		return
	}
	h.snapPending = false
	// Queued behind the parts: what the snapshot does not hold.
	if zxid < n.lastCommitted {
		es, ok := n.cfg.Storage.Entries(zxid, n.lastCommitted)
		if !ok {
			n.fail(fmt.Errorf("zab: log does not continue the snapshot at 0x%x for member %d", zxid, id))
			n.dropLearner(id, "snapshot gap")
			return
		}
		for _, e := range es {
			h.held = append(h.held, Proposal{Zxid: e.Zxid, Txn: e.Txn}, Commit{Zxid: e.Zxid})
		}
	}
	n.queueTail(h)
}

// SnapChunk sends one part of the snapshot for learner id; after the last
// part, everything held for it follows. It returns false when the learner
// no longer waits for this snapshot (it went away, or the leader stepped
// down): the driver then stops streaming it.
func (n *Node) SnapChunk(id, zxid int64, data []byte, last bool) bool {
	l := n.lead
	if l == nil {
		return false
	}
	h := l.learners[id]
	if h == nil || !h.holding || h.snapPending {
		return false
	}
	n.send(id, Snap{Zxid: zxid, Data: data, Last: last})
	if last {
		h.holding = false
		for _, b := range h.held {
			n.send(id, b)
		}
		h.held = nil
	}
	return true
}

// queueTail queues, after a learner's sync data, the proposals still
// outstanding and then NEWLEADER.
func (n *Node) queueTail(h *handle) {
	l := n.lead
	if !h.observer {
		for _, e := range l.outstanding {
			n.queue(h, Proposal{Zxid: e.Zxid, Txn: e.Txn})
		}
		for _, e := range l.toAppend {
			n.queue(h, Proposal{Zxid: e.Zxid, Txn: e.Txn})
		}
	}
	n.queue(h, NewLeader{Zxid: MakeZxid(l.epoch, 0), Config: n.configData, Secret: n.cfg.Secret})
}

// queue sends b to h now, or after its snapshot.
func (n *Node) queue(h *handle, b Body) {
	if h.snapPending {
		return // SnapStarted queues what the snapshot does not cover
	}
	if h.holding {
		h.held = append(h.held, b)
		return
	}
	n.send(h.id, b)
}

func (n *Node) leaderAck(h *handle, zxid int64) {
	l := n.lead
	if zxid == MakeZxid(l.epoch, 0) {
		if h.phase == hSyncing {
			h.phase = hNewLeader
			if !h.observer {
				l.nlAcks[h.id] = true
			}
			if l.phase == leadBroadcast {
				h.phase = hUpToDate
				n.send(h.id, UpToDate{})
			} else {
				n.leaderCheckEstablished()
			}
		}
		return
	}
	if h.observer || h.phase < hSyncing || zxid <= h.acked {
		return
	}
	h.acked = zxid
	n.tryCommit()
}

// leaderCheckEstablished starts broadcast once a quorum (the leader
// included) acknowledged NEWLEADER.
func (n *Node) leaderCheckEstablished() {
	l := n.lead
	if l.phase != leadSync || !l.selfNL {
		return
	}
	acks := map[int64]bool{n.cfg.ID: true}
	for id := range l.nlAcks {
		acks[id] = true
	}
	if !n.quorum(acks) {
		return
	}
	l.phase = leadBroadcast
	l.counter = 0
	n.setRole(Leading, n.cfg.ID, l.epoch, true)
	for _, id := range sortedIDs(l.learners) {
		if h := l.learners[id]; h.phase == hNewLeader {
			h.phase = hUpToDate
			n.send(id, UpToDate{})
		}
	}
}

// NextZxid returns the zxid the next proposal must carry.
func (n *Node) NextZxid() (int64, error) {
	l := n.lead
	if l == nil || l.phase != leadBroadcast {
		return 0, ErrNotLeader
	}
	if l.counter+1 >= 0xffffffff {
		return 0, ErrEpochExhausted
	}
	return MakeZxid(l.epoch, l.counter+1), nil
}

// Propose broadcasts a transaction; e.Zxid must be NextZxid(). The leader
// logs it (in the next Ready's Persist) and commits it once a quorum has it
// durably.
func (n *Node) Propose(e Entry) error {
	want, err := n.NextZxid()
	if err != nil {
		if err == ErrEpochExhausted {
			n.lookForLeader("epoch exhausted")
		}
		return err
	}
	if e.Zxid != want {
		return fmt.Errorf("zab: proposal zxid 0x%x, want 0x%x", e.Zxid, want)
	}
	l := n.lead
	l.counter++
	n.stats.Proposed++
	l.toAppend = append(l.toAppend, e)
	n.lastLogged = e.Zxid
	for _, id := range sortedIDs(l.learners) {
		if h := l.learners[id]; !h.observer && h.phase >= hSyncing {
			n.queue(h, Proposal{Zxid: e.Zxid, Txn: e.Txn})
		}
	}
	return nil
}

// ProposeReconfig broadcasts a transaction that changes the membership to
// m (m.Zxid must be e.Zxid): it commits only once a quorum of the old
// voters and a quorum of m's voters hold it, as does every proposal after
// it until then; at its commit the leader switches to m. One change at a
// time: ErrReconfigInProgress while another is outstanding.
func (n *Node) ProposeReconfig(e Entry, m Membership) error {
	if l := n.lead; l != nil && l.reconfig != nil {
		return ErrReconfigInProgress
	}
	if m.Zxid != e.Zxid {
		return fmt.Errorf("zab: reconfiguration for 0x%x carried by proposal 0x%x", m.Zxid, e.Zxid)
	}
	if err := n.Propose(e); err != nil {
		return err
	}
	m.Voters, m.Observers = slices.Clone(m.Voters), slices.Clone(m.Observers)
	slices.Sort(m.Voters)
	n.lead.reconfig = &m
	return nil
}

// SyncedVoters returns the leader's synchronised voters (itself included),
// sorted: a reconfiguration must keep a quorum of them among its voters.
func (n *Node) SyncedVoters() []int64 {
	l := n.lead
	if l == nil {
		return nil
	}
	out := []int64{n.cfg.ID}
	for _, id := range sortedIDs(l.learners) {
		if h := l.learners[id]; !h.observer && h.phase >= hNewLeader {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// flushAppends hands the proposals made since the last Ready to
// persistence as one group-committed append.
func (n *Node) flushAppends() {
	l := n.lead
	if l == nil || len(l.toAppend) == 0 {
		return
	}
	batch := l.toAppend
	l.toAppend = nil
	l.outstanding = append(l.outstanding, batch...)
	n.persist(PersistRequest{Kind: PersistAppend, Entries: batch}, func() {
		if n.lead == l {
			n.tryCommit()
		}
	})
}

// tryCommit commits, in order, every outstanding proposal a quorum of
// voters holds durably.
func (n *Node) tryCommit() {
	l := n.lead
	for len(l.outstanding) > 0 {
		e := l.outstanding[0]
		have := map[int64]bool{}
		if n.lastDurable >= e.Zxid {
			have[n.cfg.ID] = true
		}
		for id, h := range l.learners {
			if !h.observer && h.acked >= e.Zxid {
				have[id] = true
			}
		}
		if !n.quorum(have) {
			return
		}
		if rc := l.reconfig; rc != nil && e.Zxid >= rc.Zxid && !quorumOf(rc.Voters, have) {
			return
		}
		l.outstanding = l.outstanding[1:]
		for _, id := range sortedIDs(l.learners) {
			h := l.learners[id]
			switch {
			case h.phase < hSyncing:
			case h.observer:
				n.queue(h, Inform{Zxid: e.Zxid, Txn: e.Txn})
			default:
				n.queue(h, Commit{Zxid: e.Zxid})
			}
		}
		n.commitEntries([]Entry{e})
		if rc := l.reconfig; rc != nil && e.Zxid == rc.Zxid {
			l.reconfig = nil
			n.setMembership(*rc)
		}
		n.checkSyncs()
		l.window = append(l.window, e)
		if len(l.window) > 2*committedWindow {
			l.window = slices.Clone(l.window[len(l.window)-committedWindow:])
		}
	}
}

// leaderTick pings learners, drops silent ones and steps down without a
// quorum.
func (n *Node) leaderTick() {
	l := n.lead
	initMs := n.cfg.InitLimit * n.cfg.TickMs
	syncMs := n.cfg.SyncLimit * n.cfg.TickMs
	if l.stepDown {
		done := true
		for _, h := range l.learners {
			if !h.observer && h.phase >= hNewLeader && l.roundAcks[h.id] < l.stepDownRound {
				done = false
			}
		}
		if done || n.nowMs-l.stepDownAt > syncMs {
			n.lookForLeader("removed from the voters by a reconfiguration")
			return
		}
	}
	if l.phase != leadBroadcast && n.nowMs-l.began > initMs {
		n.fail(fmt.Errorf("zab: no quorum %s within initLimit; electing again", map[leaderPhase]string{
			leadDiscovery: "agreed on a new epoch", leadSync: "synchronised"}[l.phase]))
		n.lookForLeader("initLimit")
		return
	}
	for _, id := range sortedIDs(l.learners) {
		h := l.learners[id]
		limit := syncMs
		if h.phase < hNewLeader {
			limit = initMs
		}
		if n.nowMs-h.lastHeard > limit {
			n.dropLearner(id, "silent")
		}
	}
	if l.phase != leadBroadcast {
		return
	}
	if n.nowMs-l.lastPing >= n.cfg.TickMs/2 {
		n.pingAll()
	}
	alive := map[int64]bool{n.cfg.ID: true}
	for id, h := range l.learners {
		if !h.observer && h.phase >= hNewLeader {
			alive[id] = true
		}
	}
	if !n.quorum(alive) {
		n.fail(fmt.Errorf("zab: not sufficient followers synced, only %d of %d voters; electing again", len(alive), len(n.cfg.Voters)))
		n.lookForLeader("lost quorum")
	}
}

// pingAll starts a ping round.
func (n *Node) pingAll() {
	l := n.lead
	l.lastPing = n.nowMs
	l.pingRound++
	for _, id := range sortedIDs(l.learners) {
		if h := l.learners[id]; h.phase >= hSyncing {
			n.queue(h, Ping{Round: l.pingRound})
		}
	}
	n.checkSyncs() // a single-voter ensemble needs no answers
}

// addSync registers a sync and starts a ping round for it.
func (n *Node) addSync(p pendingSync) {
	l := n.lead
	p.zxid = n.lastLogged
	p.round = l.pingRound + 1
	l.syncs = append(l.syncs, p)
	n.pingAll()
}

// LocalSync registers a sync from a client of the leader itself; token
// comes back in Ready.SyncsDone once it may be answered (every write
// before it committed, leadership confirmed by a quorum). It returns false
// when this member is not an established leader.
func (n *Node) LocalSync(token uint64) bool {
	l := n.lead
	if l == nil || l.phase != leadBroadcast {
		return false
	}
	n.addSync(pendingSync{token: token})
	return true
}

// checkSyncs answers, in order, the syncs whose conditions hold.
func (n *Node) checkSyncs() {
	l := n.lead
	for len(l.syncs) > 0 {
		p := l.syncs[0]
		if n.lastCommitted < p.zxid {
			return
		}
		have := map[int64]bool{n.cfg.ID: true}
		for id, r := range l.roundAcks {
			if r >= p.round {
				have[id] = true
			}
		}
		if !n.quorum(have) {
			return
		}
		l.syncs = l.syncs[1:]
		if p.to == 0 {
			n.ready.SyncsDone = append(n.ready.SyncsDone, p.token)
			continue
		}
		if h := l.learners[p.to]; h != nil {
			n.queue(h, Sync{Session: p.req.Session, Cxid: p.req.Cxid, Path: p.req.Path, Zxid: p.zxid})
		}
	}
}

// dropLearner forgets a learner (it reconnects with FOLLOWERINFO).
func (n *Node) dropLearner(id int64, why string) {
	l := n.lead
	if _, ok := l.learners[id]; !ok {
		return
	}
	delete(l.learners, id)
	delete(l.nlAcks, id)
	delete(l.roundAcks, id)
	n.ready.Disconnect = append(n.ready.Disconnect, id)
	_ = why
}

// Reply sends a message for the replica (a RevalidateReply or Sync) to a
// learner, in order with the protocol's messages to it.
func (n *Node) Reply(to int64, b Body) {
	if l := n.lead; l != nil {
		if h := l.learners[to]; h != nil {
			n.queue(h, b)
		}
	}
}
