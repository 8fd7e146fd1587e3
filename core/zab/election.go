package zab

import (
	"math"
	"slices"
)

// Fast leader election (reference/zk-protocol.md section 5.3) as a state
// machine: Start, Step and Tick go in, Ready comes out. It follows
// ZooKeeper 3.8's FastLeaderElection:
//
//   - Start opens a round: the logical clock goes up by one, the member
//     votes for itself and notifies every other voter.
//   - A LOOKING notification from a higher round adopts that round, forgets
//     the round's votes and re-votes (the better of the sender's vote and
//     our own); one from a lower round is ignored, except that the sender
//     is told our vote so it catches up; one from our round with a better
//     vote is adopted. Every vote is recorded, and when a quorum of voters
//     votes as we do the member waits FinalizeWaitMs of quiet for a better
//     vote before it decides.
//   - FOLLOWING and LEADING notifications are also kept apart (ZooKeeper's
//     outofelection set), so a member that arrives late follows an
//     established leader once a quorum reports that leader and the leader
//     reports LEADING, rather than starting a rival election.
//   - Without news for a while the member re-sends its vote, with the
//     interval doubling from MinNotificationIntervalMs to
//     MaxNotificationIntervalMs.
//   - A member that is not LOOKING answers each LOOKING peer with its state
//     and the vote of the leader it follows (ZOOKEEPER-1732/1818).
//
// Only voters' votes count and only voters can be elected; an observer
// gathers the voters' votes to learn whom to observe.
//
// Two deliberate departures from ZooKeeper, both to end message
// ping-pong that ZooKeeper's code allows: a voter answers a non-voter only
// while that non-voter is LOOKING (ZooKeeper answers every non-voter
// message, which an OBSERVING observer answers back while the voter is
// LOOKING), and a non-voter never answers a voter (its vote is never read,
// and ZooKeeper's lower-round catch-up reply from an observer to a voter
// in an older round loops the same way). And a LOOKING voter answers a
// non-voter with its current proposal, where ZooKeeper sends the vote of
// the previous election.

// Election defaults (ZooKeeper's finalizeWait, minNotificationInterval and
// maxNotificationInterval).
const (
	DefaultFinalizeWaitMs            = 200
	DefaultMinNotificationIntervalMs = 200
	DefaultMaxNotificationIntervalMs = 60000
)

// noVote is a non-voter's own vote: every voter's vote beats it, and its
// candidate is never a voter, so it is never counted or elected.
var noVote = Vote{Leader: math.MinInt64, Zxid: math.MinInt64, PeerEpoch: math.MinInt64}

// ElectionConfig configures an Election.
type ElectionConfig struct {
	// Self is this member's server id.
	Self int64
	// Voters are the participants' ids, including Self when Self is a
	// participant. Order and duplicates do not matter.
	Voters []int64
	// Observer marks Self as an observer: it never proposes itself, its
	// vote never counts, and it observes whomever a quorum elected. An
	// observer is never a voter, even if Voters lists it.
	Observer bool
	// FinalizeWaitMs is how long a member that sees a quorum for its vote
	// waits, without any notification arriving, before it decides
	// (DefaultFinalizeWaitMs when 0).
	FinalizeWaitMs int64
	// MinNotificationIntervalMs is the first interval of silence after
	// which a LOOKING member re-sends its vote; each re-send doubles it up
	// to MaxNotificationIntervalMs (defaults when 0).
	MinNotificationIntervalMs int64
	// MaxNotificationIntervalMs caps the re-send interval.
	MaxNotificationIntervalMs int64
	// ConfigVersion is stamped on every notification sent.
	ConfigVersion int64
	// Config is the member list stamped with it (after a reconfiguration).
	Config []byte
}

// Decision is the outcome of an election for this member.
type Decision struct {
	Leader        int64     // the elected leader's id
	State         PeerState // Leading, Following or Observing
	Vote          Vote      // the elected vote
	ElectionEpoch int64     // the round it was decided in
}

// ElectionReady is what an Election asks its caller to do.
type ElectionReady struct {
	// Send are the notifications to deliver (Body is a Notification).
	Send []Message
	// Decision is set once, when this member has decided.
	Decision *Decision
}

// ballot is a vote recorded from a member: what it voted for, in which
// round, and in which state it was.
type ballot struct {
	vote  Vote
	round int64
	state PeerState
}

// agrees is ZooKeeper's vote equality: while either side is LOOKING the
// vote and round must match; between settled members (whose zxid and
// round legitimately differ, ZOOKEEPER-1805) the leader and its epoch.
func (b ballot) agrees(o ballot) bool {
	if b.state == Looking || o.state == Looking {
		return b.vote == o.vote && b.round == o.round
	}
	return b.vote.Leader == o.vote.Leader && b.vote.PeerEpoch == o.vote.PeerEpoch
}

// isMajority reports whether the voters for which in holds are a strict
// majority of voters. It is the one place the quorum rule lives.
func isMajority(voters []int64, in func(id int64) bool) bool {
	n := 0
	for _, v := range voters {
		if in(v) {
			n++
		}
	}
	return n > len(voters)/2
}

// Election is one member's fast leader election. It is not safe for
// concurrent use; the caller serialises Start, Step, Tick, Settled and
// Ready.
type Election struct {
	cfg    ElectionConfig
	voters []int64 // sorted, deduplicated
	voter  bool    // Self is a voter

	started bool
	state   PeerState
	round   int64 // logical clock
	own     Vote  // our own candidacy this round (noVote for a non-voter)
	prop    Vote  // current proposal while LOOKING

	recv map[int64]ballot // votes of this round (ZooKeeper's recvset)
	out  map[int64]ballot // FOLLOWING/LEADING reports (outofelection)

	interval   int64 // current re-send interval
	quietSince int64 // when we last heard something (or re-sent)

	finalizing bool
	finalStart int64 // start of the current quiet wait before deciding

	settledVote  Vote  // vote reported while not LOOKING
	settledRound int64 // round reported while not LOOKING

	send     []Message
	decision *Decision
}

// NewElection returns an idle election; call Start to look for a leader.
func NewElection(cfg ElectionConfig) *Election {
	if cfg.FinalizeWaitMs <= 0 {
		cfg.FinalizeWaitMs = DefaultFinalizeWaitMs
	}
	if cfg.MinNotificationIntervalMs <= 0 {
		cfg.MinNotificationIntervalMs = DefaultMinNotificationIntervalMs
	}
	if cfg.MaxNotificationIntervalMs <= 0 {
		cfg.MaxNotificationIntervalMs = DefaultMaxNotificationIntervalMs
	}
	if cfg.MaxNotificationIntervalMs < cfg.MinNotificationIntervalMs {
		cfg.MaxNotificationIntervalMs = cfg.MinNotificationIntervalMs
	}
	voters := slices.Clone(cfg.Voters)
	slices.Sort(voters)
	voters = slices.Compact(voters)
	if cfg.Observer {
		voters = slices.DeleteFunc(voters, func(id int64) bool { return id == cfg.Self })
	}
	cfg.Voters = voters
	return &Election{
		cfg:    cfg,
		voters: voters,
		voter:  isVoterIn(voters, cfg.Self),
		recv:   map[int64]ballot{},
		out:    map[int64]ballot{},
	}
}

// SetVoters replaces the voter set (a reconfiguration committed), and the
// config version and data stamped on notifications. It takes effect for
// the next election; a settled member keeps its state.
func (e *Election) SetVoters(voters []int64, observer bool, version int64, config []byte) {
	e.cfg.ConfigVersion, e.cfg.Config = version, slices.Clone(config)
	v := slices.Clone(voters)
	slices.Sort(v)
	v = slices.Compact(v)
	if observer {
		v = slices.DeleteFunc(v, func(id int64) bool { return id == e.cfg.Self })
	}
	e.cfg.Voters, e.cfg.Observer = v, observer
	e.voters, e.voter = v, isVoterIn(v, e.cfg.Self)
}

func isVoterIn(voters []int64, id int64) bool {
	_, ok := slices.BinarySearch(voters, id)
	return ok
}

func (e *Election) isVoter(id int64) bool { return isVoterIn(e.voters, id) }

// State is the member's state: Looking until it decides (or before
// Start), then Leading, Following or Observing.
func (e *Election) State() PeerState { return e.state }

// Round is the logical clock: the current election round, or the round
// the settled leader was elected in.
func (e *Election) Round() int64 {
	if e.state != Looking {
		return e.settledRound
	}
	return e.round
}

// Vote is the member's current vote: its proposal while LOOKING, the
// leader's vote afterwards.
func (e *Election) Vote() Vote {
	if e.state != Looking {
		return e.settledVote
	}
	return e.prop
}

// Start begins a round: the member is LOOKING, its logical clock goes up
// by one, it votes for itself (lastZxid is its last logged zxid,
// currentEpoch its current epoch; an observer votes for nobody) and it
// notifies every other voter.
func (e *Election) Start(lastZxid, currentEpoch int64, nowMs int64) {
	e.started = true
	e.state = Looking
	e.round++
	e.own = noVote
	if e.voter {
		e.own = Vote{Leader: e.cfg.Self, Zxid: lastZxid, PeerEpoch: currentEpoch}
	}
	e.clearVotes()
	clear(e.out)
	e.finalizing = false
	e.decision = nil
	e.interval = e.cfg.MinNotificationIntervalMs
	e.quietSince = nowMs
	e.propose(e.own)
	e.broadcast()
	e.checkLookingQuorum(nowMs)
}

// Step handles a notification from member from.
func (e *Election) Step(from int64, n Notification, nowMs int64) {
	if !e.started || from == e.cfg.Self {
		return
	}
	if !e.isVoter(from) {
		// A non-voter's vote never counts: a voter only tells a LOOKING
		// one what it knows.
		if e.voter && n.State == Looking {
			e.reply(from)
		}
		return
	}
	if e.state != Looking {
		if n.State == Looking && e.voter {
			e.reply(from)
		}
		return
	}
	if e.voter && n.State == Looking && n.ElectionEpoch < e.round {
		e.reply(from) // help a peer in an older round catch up
	}
	if e.finalizing {
		if !e.better(n.Vote, e.prop) {
			// Nothing better: the notification is spent (as ZooKeeper's
			// finalize loop does), and the quiet wait starts over if it
			// told us something new. A repeat of what the sender already
			// said (its resend, or its answer to our own resend) does not
			// restart it: under load such repeats kept elections waiting
			// whole extra finalizeWait periods.
			if old, seen := e.recv[from]; !seen || old.vote != n.Vote || old.round != n.ElectionEpoch || old.state != n.State {
				e.finalStart = nowMs
			}
			return
		}
		e.finalizing = false
	}
	e.quietSince = nowMs
	if !e.isVoter(n.Vote.Leader) {
		return
	}
	switch n.State {
	case Looking:
		e.stepLooking(from, n, nowMs)
	case Following, Leading:
		e.stepSettled(from, n)
	}
}

func (e *Election) stepLooking(from int64, n Notification, nowMs int64) {
	switch {
	case n.ElectionEpoch > e.round:
		e.round = n.ElectionEpoch
		e.clearVotes()
		if e.better(n.Vote, e.own) {
			e.propose(n.Vote)
		} else {
			e.propose(e.own)
		}
		e.broadcast()
	case n.ElectionEpoch < e.round:
		return
	case e.better(n.Vote, e.prop):
		e.propose(n.Vote)
		e.broadcast()
	case e.voter && e.better(e.prop, n.Vote):
		// The peer backs a worse candidate in our round: tell it ours at
		// once rather than at our next resend. (It may have sent its
		// notification while we were still settled and not recording
		// votes; without this, a failover waited a resend interval.)
		e.reply(from)
	}
	e.recv[from] = ballot{vote: n.Vote, round: n.ElectionEpoch, state: Looking}
	e.checkLookingQuorum(nowMs)
}

func (e *Election) stepSettled(from int64, n Notification) {
	b := ballot{vote: n.Vote, round: n.ElectionEpoch, state: n.State}
	if n.ElectionEpoch == e.round {
		e.recv[from] = b
		if e.quorumFor(e.recv, b) && e.leaderConfirmed(e.recv, n.Vote.Leader, n.ElectionEpoch) {
			e.decide(n.Vote)
			return
		}
	}
	e.out[from] = b
	if e.quorumFor(e.out, b) && e.leaderConfirmed(e.out, n.Vote.Leader, n.ElectionEpoch) {
		e.round = n.ElectionEpoch
		e.decide(n.Vote)
	}
}

// Tick advances time: a LOOKING member that has heard nothing for the
// current interval re-sends its vote and doubles the interval; one that
// saw a quorum for its vote decides once FinalizeWaitMs passed quietly.
func (e *Election) Tick(nowMs int64) {
	if !e.started || e.state != Looking {
		return
	}
	if e.finalizing {
		if nowMs-e.finalStart >= e.cfg.FinalizeWaitMs {
			e.decide(e.prop)
		}
		return
	}
	if nowMs-e.quietSince >= e.interval {
		e.broadcast()
		e.interval = min(2*e.interval, e.cfg.MaxNotificationIntervalMs)
		e.quietSince = nowMs
	}
}

// Ready returns and clears the notifications to send and the decision,
// if one was reached since the last call.
func (e *Election) Ready() ElectionReady {
	rd := ElectionReady{Send: e.send, Decision: e.decision}
	e.send, e.decision = nil, nil
	return rd
}

// Settled records that the member now is in state (Leading, Following or
// Observing) under the leader whose vote is leaderVote, elected in round
// electionEpoch. Deciding settles the member already; call Settled again
// once discovery agreed the new epoch, with leaderVote.PeerEpoch set to it
// (ZOOKEEPER-1818), so that every established member reports the same
// vote and a newcomer can join. Afterwards LOOKING peers are answered with
// this state and vote. Settled with Looking does nothing: use Start.
func (e *Election) Settled(state PeerState, leaderVote Vote, electionEpoch int64) {
	if state == Looking {
		return
	}
	e.started = true
	e.state = state
	e.settledVote = leaderVote
	e.settledRound = electionEpoch
	e.round = max(e.round, electionEpoch)
	e.finalizing = false
	e.clearVotes()
	clear(e.out)
}

// better is ZooKeeper's totalOrderPredicate: v beats cur and its
// candidate can be elected.
func (e *Election) better(v, cur Vote) bool {
	return e.isVoter(v.Leader) && v.Beats(cur)
}

// propose sets our vote for this round, which counts as our own ballot.
func (e *Election) propose(v Vote) {
	e.prop = v
	if e.voter {
		e.recv[e.cfg.Self] = ballot{vote: v, round: e.round, state: Looking}
	}
}

func (e *Election) clearVotes() { clear(e.recv) }

// quorumFor reports whether the ballots agreeing with b are a quorum.
func (e *Election) quorumFor(set map[int64]ballot, b ballot) bool {
	return isMajority(e.voters, func(id int64) bool {
		got, ok := set[id]
		return ok && got.agrees(b)
	})
}

// leaderConfirmed is ZooKeeper's checkLeader: another member may be
// followed only once it said it is LEADING; we may lead only if the
// others elected us in our own round.
func (e *Election) leaderConfirmed(set map[int64]ballot, leader, round int64) bool {
	if leader != e.cfg.Self {
		b, ok := set[leader]
		return ok && b.state == Leading
	}
	return e.round == round
}

func (e *Election) checkLookingQuorum(nowMs int64) {
	if e.quorumFor(e.recv, ballot{vote: e.prop, round: e.round, state: Looking}) {
		e.finalizing = true
		e.finalStart = nowMs
	}
}

func (e *Election) decide(v Vote) {
	state := Following
	switch {
	case v.Leader == e.cfg.Self:
		state = Leading
	case e.cfg.Observer:
		state = Observing
	}
	e.decision = &Decision{Leader: v.Leader, State: state, Vote: v, ElectionEpoch: e.round}
	e.Settled(state, v, e.round)
}

func (e *Election) notification() Notification {
	if e.state != Looking {
		return Notification{State: e.state, Vote: e.settledVote, ElectionEpoch: e.settledRound, ConfigVersion: e.cfg.ConfigVersion, Config: e.cfg.Config}
	}
	return Notification{State: Looking, Vote: e.prop, ElectionEpoch: e.round, ConfigVersion: e.cfg.ConfigVersion, Config: e.cfg.Config}
}

func (e *Election) reply(to int64) {
	e.send = append(e.send, Message{From: e.cfg.Self, To: to, Body: e.notification()})
}

// broadcast sends our LOOKING vote to every other voter, in id order.
func (e *Election) broadcast() {
	n := e.notification()
	for _, id := range e.voters {
		if id != e.cfg.Self {
			e.send = append(e.send, Message{From: e.cfg.Self, To: id, Body: n})
		}
	}
}
