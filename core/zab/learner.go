package zab

import (
	"bytes"
	"fmt"
	"slices"
)

// The learner's (follower's or observer's) side of discovery,
// synchronisation and broadcast.

type learnPhase uint8

const (
	lDiscovery learnPhase = iota // FOLLOWERINFO sent, waiting for LEADERINFO
	lSync                        // ACKEPOCH sent: receiving sync data until NEWLEADER
	lNewLeader                   // NEWLEADER being made durable, then acknowledged
	lSynced                      // NEWLEADER acknowledged, waiting for UPTODATE
	lServing                     // UPTODATE received
)

type learnerState struct {
	observer  bool
	phase     learnPhase
	newEpoch  int64
	lastHeard int64
	lastInfo  int64 // ms FOLLOWERINFO was last sent
	began     int64

	// Synchronisation, collected until NEWLEADER.
	trunc     bool
	truncTo   int64
	snap      bool
	snapZxid  int64
	snapData  [][]byte
	snapDone  bool
	diff      bool
	props     []Entry        // proposals received during sync
	committed map[int64]bool // of props, those the leader committed
	lastSeen  int64          // last zxid received (for continuity)
	touched   []SessionTouch // sessions the replica saw activity on
	queued    []Entry        // proposals to log in the next Ready
	waiting   []Entry        // logged (or being logged), not yet committed
	commitTo  int64          // COMMITs received up to here
}

func (n *Node) becomeLearner(d *Decision, observer bool) {
	state := Following
	if observer {
		state = Observing
	}
	n.learn = &learnerState{observer: observer, lastHeard: n.nowMs, lastInfo: n.nowMs, began: n.nowMs, committed: map[int64]bool{}}
	n.setRole(state, d.Leader, n.currentEpoch, false)
	n.send(d.Leader, FollowerInfo{AcceptedEpoch: n.acceptedEpoch, LastZxid: n.lastLogged, Observer: observer})
}

func (n *Node) learnerFail(format string, args ...any) {
	n.stats.LearnerErrors++
	n.fail(fmt.Errorf("zab: "+format, args...))
	n.lookForLeader("learner error")
}

func (n *Node) learnerTick() {
	ls := n.learn
	limit := n.cfg.SyncLimit * n.cfg.TickMs
	if ls.phase < lSynced {
		limit = n.cfg.InitLimit * n.cfg.TickMs
	}
	if n.nowMs-ls.lastHeard > limit {
		n.learnerFail("leader %d silent for %d ms; electing again", n.leader, n.nowMs-ls.lastHeard)
		return
	}
	// The leader may not have been leading yet when FOLLOWERINFO arrived.
	if ls.phase == lDiscovery && n.nowMs-ls.lastInfo >= n.cfg.TickMs/2 {
		ls.lastInfo = n.nowMs
		n.send(n.leader, FollowerInfo{AcceptedEpoch: n.acceptedEpoch, LastZxid: n.lastLogged, Observer: ls.observer})
	}
}

func (n *Node) learnerStep(m Message) {
	ls := n.learn
	switch m.Body.(type) {
	case FollowerInfo, AckEpoch, Ack, Request, Revalidate, SyncRequest:
		// A learner's message from the member we follow: it follows us
		// (each decided the other leads). Only a leader's traffic may keep
		// a learner waiting, or two such members keep each other alive.
		n.learnerFail("member %d, which we follow, follows us", n.leader)
		return
	}
	ls.lastHeard = n.nowMs
	switch b := m.Body.(type) {
	case LeaderInfo:
		if ls.phase != lDiscovery {
			return
		}
		n.learnerLeaderInfo(b.NewEpoch)
	case Diff:
		if ls.phase == lSync {
			ls.diff = true
		}
	case Trunc:
		if ls.phase != lSync || ls.snap {
			n.learnerFail("TRUNC out of place")
			return
		}
		ls.trunc, ls.truncTo, ls.lastSeen = true, b.Zxid, b.Zxid
	case Snap:
		if ls.phase != lSync || ls.snapDone || ls.trunc {
			n.learnerFail("SNAP out of place")
			return
		}
		if ls.snap && b.Zxid != ls.snapZxid {
			n.learnerFail("SNAP parts for 0x%x and 0x%x", ls.snapZxid, b.Zxid)
			return
		}
		ls.snap, ls.snapZxid = true, b.Zxid
		ls.snapData = append(ls.snapData, b.Data)
		if b.Last {
			ls.snapDone = true
			ls.lastSeen = b.Zxid
		}
	case Proposal:
		n.learnerProposal(Entry{Zxid: b.Zxid, Txn: b.Txn})
	case Commit:
		n.learnerCommit(b.Zxid)
	case Inform:
		if !ls.observer {
			n.learnerFail("INFORM to a follower")
			return
		}
		n.learnerProposal(Entry{Zxid: b.Zxid, Txn: b.Txn})
		if n.learn != ls {
			return // the proposal was refused
		}
		if ls.phase < lNewLeader {
			n.learnerCommit(b.Zxid)
			return
		}
		ls.commitTo = max(ls.commitTo, b.Zxid)
	case NewLeader:
		n.learnerNewLeader(b)
	case UpToDate:
		if ls.phase == lSynced || ls.phase == lNewLeader {
			ls.phase = lServing
			state := Following
			if ls.observer {
				state = Observing
			}
			n.setRole(state, n.leader, ls.newEpoch, true)
		}
	case Ping:
		if ls.phase >= lSync {
			n.send(n.leader, Ping{Round: b.Round, Touched: ls.touched})
			ls.touched = nil
		}
	case RevalidateReply, Sync:
		n.ready.Requests = append(n.ready.Requests, m)
	}
}

func (n *Node) learnerLeaderInfo(epoch int64) {
	ls := n.learn
	// A learner reports the last zxid it asked to log: persistence
	// completes in order and a failure stops the member, so those appends
	// are durable before anything it acknowledges later; reporting only
	// the durable ones would have the leader resend (or, from a leader
	// that never had them, fail to truncate) the appends still in flight.
	switch {
	case epoch < n.acceptedEpoch && ls.observer:
		// An observer's promise counts in no quorum: it may follow an
		// established leader of an epoch below one it accepted from a
		// leader that failed.
		ls.newEpoch, ls.phase = epoch, lSync
		ls.lastSeen = n.lastLogged
		n.send(n.leader, AckEpoch{CurrentEpoch: -1, LastZxid: n.lastLogged, LogStart: n.logStart})
	case epoch < n.acceptedEpoch:
		n.learnerFail("leader %d proposes epoch %d below our accepted epoch %d", n.leader, epoch, n.acceptedEpoch)
	case epoch == n.acceptedEpoch:
		ls.newEpoch, ls.phase = epoch, lSync
		ls.lastSeen = n.lastLogged
		n.send(n.leader, AckEpoch{CurrentEpoch: -1, LastZxid: n.lastLogged, LogStart: n.logStart})
	default:
		ls.newEpoch, ls.phase = epoch, lSync
		ls.lastSeen = n.lastLogged
		n.persist(PersistRequest{Kind: PersistAcceptedEpoch, Epoch: epoch}, func() {
			if n.learn == ls {
				n.send(n.leader, AckEpoch{CurrentEpoch: n.currentEpoch, LastZxid: n.lastLogged, LogStart: n.logStart})
			}
		})
	}
}

// next reports whether z may follow prev in a log: the next counter of the
// same epoch, or the first of a later one.
func next(prev, z int64) bool {
	if z <= prev || CounterOf(z) == 0 {
		return false
	}
	if EpochOf(z) == EpochOf(prev) {
		return z == prev+1
	}
	return CounterOf(z) == 1
}

func (n *Node) learnerProposal(e Entry) {
	ls := n.learn
	if ls.phase < lSync {
		n.learnerFail("PROPOSAL before the epoch was agreed")
		return
	}
	if e.Zxid <= ls.lastSeen && ls.phase != lSync {
		return // a duplicate (TLA+ issue 2)
	}
	if ls.lastSeen != 0 && !next(ls.lastSeen, e.Zxid) {
		n.learnerFail("proposal 0x%x does not follow 0x%x (a gap in the leader's stream)", e.Zxid, ls.lastSeen)
		return
	}
	ls.lastSeen = e.Zxid
	if ls.phase == lSync {
		ls.props = append(ls.props, e)
		return
	}
	ls.queued = append(ls.queued, e)
}

func (n *Node) learnerCommit(z int64) {
	ls := n.learn
	if ls.phase == lSync {
		if len(ls.props) == 0 || ls.props[len(ls.props)-1].Zxid < z {
			n.learnerFail("COMMIT 0x%x for a proposal never received", z)
			return
		}
		ls.committed[z] = true
		return
	}
	if z <= n.lastCommitted || z <= ls.commitTo {
		return
	}
	if z > ls.lastSeen {
		n.learnerFail("COMMIT 0x%x beyond the last proposal 0x%x", z, ls.lastSeen)
		return
	}
	ls.commitTo = z
	n.learnerApply()
}

// learnerApply commits the durable proposals up to commitTo.
func (n *Node) learnerApply() {
	ls := n.learn
	if ls.phase < lSynced {
		return // the synchronisation is not durable yet (and may reload the state)
	}
	k := 0
	for k < len(ls.waiting) && ls.waiting[k].Zxid <= ls.commitTo && ls.waiting[k].Zxid <= n.lastDurable {
		k++
	}
	if k > 0 {
		n.commitEntries(ls.waiting[:k])
		ls.waiting = ls.waiting[k:]
	}
}

// learnerNewLeader makes the synchronisation durable, in the order ZooKeeper
// learned the hard way: the snapshot or truncation, then every transaction
// received, then currentEpoch; only then the ACK.
func (n *Node) learnerNewLeader(nl NewLeader) {
	ls := n.learn
	if ls.phase != lSync {
		return
	}
	if EpochOf(nl.Zxid) != ls.newEpoch || CounterOf(nl.Zxid) != 0 {
		n.learnerFail("NEWLEADER 0x%x for epoch %d", nl.Zxid, ls.newEpoch)
		return
	}
	if ls.snap && !ls.snapDone {
		n.learnerFail("NEWLEADER before the snapshot's last part")
		return
	}
	ls.phase = lNewLeader
	if len(nl.Config) > 0 {
		n.ready.LeaderConfig = slices.Clone(nl.Config)
	}
	base := n.lastLogged
	switch {
	case ls.snap:
		base = ls.snapZxid
		data := ls.snapData
		ls.snapData = nil
		n.persist(PersistRequest{Kind: PersistSnapshot, Zxid: ls.snapZxid, Data: data}, nil)
	case ls.trunc:
		base = ls.truncTo
		n.persist(PersistRequest{Kind: PersistTruncate, Zxid: ls.truncTo}, nil)
	}
	props := ls.props
	ls.props = nil
	if len(props) > 0 {
		if base != 0 && !next(base, props[0].Zxid) && props[0].Zxid > base {
			n.learnerFail("sync proposal 0x%x does not follow 0x%x", props[0].Zxid, base)
			return
		}
		// Drop proposals the log already holds (a DIFF from an older point).
		k := 0
		for k < len(props) && props[k].Zxid <= base {
			k++
		}
		props = props[k:]
	}
	if len(props) > 0 {
		n.lastLogged = props[len(props)-1].Zxid
		n.persist(PersistRequest{Kind: PersistAppend, Entries: props}, nil)
	} else {
		n.lastLogged = base
	}
	epoch := ls.newEpoch
	// The sync's proposals come before anything proposed after NEWLEADER;
	// those the leader committed during sync are committed.
	for _, e := range props {
		if ls.committed[e.Zxid] {
			ls.commitTo = max(ls.commitTo, e.Zxid)
		}
	}
	ls.committed = map[int64]bool{}
	ls.waiting = append(ls.waiting, props...)
	if len(nl.Secret) > 0 && !bytes.Equal(nl.Secret, n.cfg.Secret) {
		secret := slices.Clone(nl.Secret)
		n.persist(PersistRequest{Kind: PersistSecret, Data: [][]byte{secret}}, func() {
			n.cfg.Secret = secret
			n.ready.Secret = secret
		})
	}
	n.persist(PersistRequest{Kind: PersistCurrentEpoch, Epoch: epoch}, func() {
		if n.learn != ls {
			return
		}
		// Our own log up to the sync point is the leader's history:
		// everything in it is committed now. (A TRUNC or snapshot already
		// had the state reloaded when it became durable; see Persisted.)
		n.fastForward(base)
		ls.phase = lSynced
		n.send(n.leader, Ack{Zxid: nl.Zxid})
		if !ls.observer && n.lastDurable > nl.Zxid {
			// The sync carried proposals of the new epoch (those the
			// leader had outstanding): they are durable here now, and the
			// leader must count them, or with no later proposal they
			// would never commit.
			n.send(n.leader, Ack{Zxid: n.lastDurable})
		}
		n.election.Settled(n.state, Vote{Leader: n.leader, Zxid: n.lastDurable, PeerEpoch: epoch}, n.election.Round())
		n.learnerApply()
	})
}

// flushLearner hands the proposals received since the last Ready to
// persistence; each is acknowledged once durable, in order.
func (n *Node) flushLearner() {
	ls := n.learn
	if ls == nil || len(ls.queued) == 0 {
		return
	}
	batch := ls.queued
	ls.queued = nil
	n.lastLogged = batch[len(batch)-1].Zxid
	ls.waiting = append(ls.waiting, batch...)
	last := batch[len(batch)-1].Zxid
	n.persist(PersistRequest{Kind: PersistAppend, Entries: batch}, func() {
		if n.learn != ls {
			return
		}
		if !ls.observer {
			n.send(n.leader, Ack{Zxid: last})
		}
		n.learnerApply()
	})
}

// Touch records client activity on a session at a learner, reported to the
// leader (which owns expiry) with the next PING reply.
func (n *Node) Touch(session int64, timeout int32) {
	if ls := n.learn; ls != nil {
		ls.touched = append(ls.touched, SessionTouch{Session: session, Timeout: timeout})
	}
}

// Forward sends a learner's client traffic (Request, Revalidate,
// SyncRequest) to the leader; false when there is no synchronised leader.
func (n *Node) Forward(b Body) bool {
	ls := n.learn
	if ls == nil || ls.phase < lSynced {
		return false
	}
	n.send(n.leader, b)
	return true
}
