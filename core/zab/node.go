package zab

import (
	"fmt"
	"slices"
)

// Node is one ensemble member's ZAB state machine: it runs fast leader
// election, then leads, follows or observes through discovery,
// synchronisation and broadcast.
//
// Everything happens in the calls below, on one goroutine; nothing blocks.
// Inputs: Step (a message from another member), Tick (time passed),
// Propose (the leader's prepared transactions), Persisted (a persistence
// request completed), SnapChunk (part of a snapshot the leader streams to a
// learner). Outputs, collected by Ready: requests to persist (in order:
// log appends and truncations, snapshots to install, epochs to record),
// messages to send, committed transactions to apply, and role changes.
//
// The ordering rules are the ones ZooKeeper's bugs teach (reference/
// reliability.md section 4, zk-protocol.md 5.9):
//   - a learner acknowledges NEWLEADER only after the snapshot it received
//     is installed and every transaction of the synchronisation is fsynced,
//     and after currentEpoch is recorded, in that order (ZOOKEEPER-3911,
//     4643, 4646, 3642);
//   - a learner reports its durable zxid, never an applied or received one;
//   - proposals are acknowledged in zxid order, each only once durable;
//   - a leader commits a zxid only when a quorum of voters holds it durably
//     and every earlier one is committed; it forwards proposals to a learner
//     as soon as that learner's synchronisation is queued (TLA+ issue 1), so
//     no learner can see a COMMIT for a proposal it never got;
//   - a TRUNC or SNAP discards the learner's in-memory state (the driver
//     reloads it from disk: Ready.Reload), so memory always equals the
//     durable log (ZOOKEEPER-2845);
//   - zxids are continuous: every Append follows the last logged zxid, and a
//     gap anywhere is an error that sends the member back to election.
type Node struct {
	cfg Config

	state  PeerState
	leader int64 // the member we follow/observe, or ourselves when leading
	nowMs  int64

	// Durable state, as last reported by the driver or made durable through
	// our own requests.
	acceptedEpoch int64
	currentEpoch  int64
	lastLogged    int64 // last zxid requested to be logged
	lastDurable   int64 // last zxid known durable in the log
	lastCommitted int64 // last zxid handed out to apply
	logStart      int64 // lowest zxid the log can be cut back to

	election *Election

	lead  *leaderState
	learn *learnerState

	configData []byte // the member list's /zookeeper/config data (after a reconfiguration)

	// early holds FOLLOWERINFOs that arrived while this member was still
	// electing (its learners decided first): if it becomes the leader it
	// handles them at once rather than after the learners' next resend.
	early map[int64]FollowerInfo

	// Persistence requests in flight, in order; Persisted(id) completes
	// every request up to id.
	nextPersistID uint64
	persisting    []pending

	ready Ready
	stats Stats
}

// Config configures a Node. Times are in milliseconds.
type Config struct {
	ID        int64
	Voters    []int64 // participants (sorted), including ID when it is one
	Observers []int64 // non-voting members
	// ConfigZxid is the version of this member list: the zxid of the
	// reconfiguration that made it, 0 for the static configuration.
	ConfigZxid int64
	// ConfigData is the member list as /zookeeper/config renders it; a
	// leader sends it with NEWLEADER, and its learners show it (so that a
	// server about to be added, whose own list names itself, holds the
	// same state as the others).
	ConfigData []byte
	// ParseMembership reads a member list from /zookeeper/config data (a
	// pure function; nil: members never adopt a peer's newer list).
	ParseMembership func(data []byte) (Membership, bool)
	TickMs          int64 // tickTime
	InitLimit       int64 // ticks a learner may take to connect and synchronise
	SyncLimit       int64 // ticks a synchronised learner may go silent
	// DiffLimit is the most transactions a leader sends as a DIFF from its
	// log before it prefers a snapshot (default 100000).
	DiffLimit int
	// Storage is the member's log, read when a leader synchronises a learner.
	Storage Storage
	// Election overrides the election timing (zero values take defaults).
	Election ElectionConfig
	// Secret is the session-password key this member holds; a leader sends
	// it with NEWLEADER and a learner adopts the leader's (PersistSecret,
	// then Ready.Secret), so that one key serves the whole ensemble.
	Secret []byte
}

// Storage is the part of the member's durable state the node reads
// synchronously. Implementations must be deterministic for a given history
// (the simulator keeps the log in memory; the server reads its log files).
type Storage interface {
	// Entries returns the logged entries with zxid in (after, upto], in
	// order, or false when the log no longer holds all of them (purged, or
	// after does not name a logged zxid or the log's starting point).
	Entries(after, upto int64) ([]Entry, bool)
}

// Entry is one logged transaction: its zxid and its encoded form
// (znode.EncodeTxn).
type Entry struct {
	Zxid int64
	Txn  []byte
}

// DurableState is what a member recovered from disk when it starts.
type DurableState struct {
	AcceptedEpoch int64
	CurrentEpoch  int64
	LastZxid      int64 // last durable zxid of the log
	// Applied is the last zxid the member's state machine holds (the log
	// replayed at start): every logged transaction, committed or not, as in
	// ZooKeeper; a TRUNC or SNAP later makes the driver reload.
	Applied int64
	// LogStart is the lowest zxid the member's storage can rebuild its
	// state at (its oldest snapshot that the log continues from): a leader
	// never asks it to truncate below that.
	LogStart int64
}

// Stats counts protocol events, for metrics and for the simulator to prove
// that a run exercised what it claims.
type Stats struct {
	Elections     int64
	LeaderEpochs  int64 // epochs this member led
	SyncDiff      int64 // learners synchronised with a DIFF (leader side)
	SyncTrunc     int64 // ... with a TRUNC first
	SyncSnap      int64 // ... with a snapshot
	Proposed      int64
	Committed     int64
	StepDowns     int64 // leaderships abandoned (lost quorum, errors)
	LearnerErrors int64 // learner sessions abandoned (timeouts, protocol errors)
}

// Ready is what the driver must do next, in this order: persist (in request
// order, reporting completion with Persisted), send, apply the committed
// transactions, and act on the role change.
type Ready struct {
	Persist []PersistRequest
	Send    []Message
	// Commit lists transactions to apply, in zxid order.
	Commit []Entry
	// Role is set when the member's role, leader or serving status changed.
	// A member may take snapshots only while Serving: only then does its
	// state hold nothing but committed transactions.
	Role *Role
	// Snapshots asks the driver (leader) to stream a snapshot of its applied
	// state to each listed learner: call SnapStarted with the zxid the
	// snapshot holds, then SnapChunk for every part.
	Snapshots []int64
	// Requests are messages for the replica rather than the protocol
	// (forwarded client requests and revalidations at the leader, session
	// touches; Sync and RevalidateReply answers at a learner).
	Requests []Message
	// SyncsDone lists the tokens of LocalSync calls that may now be
	// answered.
	SyncsDone []uint64
	// Reload asks the driver to rebuild the state machine from disk, from
	// the snapshot and the log up to ReloadZxid and no further (after a
	// TRUNC or an installed snapshot), before it applies Commit.
	Reload     bool
	ReloadZxid int64
	// Disconnect lists members whose quorum connection the driver must close
	// (dropping what is queued on it), as a learner does when it gives up on
	// its leader and a leader when it drops a learner: the other side then
	// starts over, as after any broken connection.
	Disconnect []int64
	// Errors reports protocol problems the driver should log.
	Errors []error
	// Secret, when set, is the session-password key adopted from the
	// leader (durable already): the replica uses it from now on.
	Secret []byte
	// Membership, when set, is the member list now in force (a
	// reconfiguration committed): the driver updates its transports.
	Membership *Membership
	// LeaderConfig, when set, is the leader's /zookeeper/config data, sent
	// with NEWLEADER: the replica shows it.
	LeaderConfig []byte
	// Synced reports, at a leader, how it chose to synchronise learners
	// (for the driver's log; the messages are in Send already).
	Synced []LearnerSync
}

// SyncMethod is how a leader brings a learner up to date.
type SyncMethod uint8

// Synchronisation methods, as ZooKeeper's leader names them.
const (
	SyncDiff      SyncMethod = iota + 1 // the transactions the learner lacks
	SyncTruncDiff                       // cut the learner's log back, then DIFF
	SyncSnap                            // a snapshot of the leader's state
)

func (m SyncMethod) String() string {
	switch m {
	case SyncDiff:
		return "DIFF"
	case SyncTruncDiff:
		return "TRUNC+DIFF"
	case SyncSnap:
		return "SNAP"
	}
	return fmt.Sprintf("SyncMethod(%d)", uint8(m))
}

// LearnerSync is one learner's synchronisation as the leader chose it.
type LearnerSync struct {
	Learner int64
	Method  SyncMethod
	// LearnerZxid is the last zxid the learner reported, LeaderZxid the
	// one it is brought to (before the outstanding proposals), TruncZxid
	// where a TRUNC cuts its log, and Txns how many transactions a DIFF
	// carries.
	LearnerZxid, LeaderZxid, TruncZxid int64
	Txns                               int
}

// Role is a member's role as the replica needs it.
type Role struct {
	State   PeerState
	Leader  int64
	Epoch   int64
	Serving bool // clients may be served (the leader established, or the learner up to date)
}

// PersistKind is what a PersistRequest asks for.
type PersistKind uint8

// Persistence requests.
const (
	// PersistAppend appends Entries to the log and makes them durable.
	PersistAppend PersistKind = iota + 1
	// PersistTruncate removes every logged transaction after Zxid (and every
	// snapshot beyond it), durably.
	PersistTruncate
	// PersistSnapshot installs the snapshot in Data (the concatenated Snap
	// parts) as the state at Zxid, empties the log after it, durably.
	PersistSnapshot
	// PersistAcceptedEpoch records acceptedEpoch = Epoch, durably.
	PersistAcceptedEpoch
	// PersistCurrentEpoch records currentEpoch = Epoch, durably.
	PersistCurrentEpoch
	// PersistSecret records the session-password key in Data[0], durably.
	PersistSecret
)

func (k PersistKind) String() string {
	switch k {
	case PersistAppend:
		return "append"
	case PersistTruncate:
		return "truncate"
	case PersistSnapshot:
		return "snapshot"
	case PersistAcceptedEpoch:
		return "acceptedEpoch"
	case PersistCurrentEpoch:
		return "currentEpoch"
	case PersistSecret:
		return "secret"
	}
	return fmt.Sprintf("PersistKind(%d)", k)
}

// PersistRequest is one durable change; requests complete in ID order.
type PersistRequest struct {
	ID      uint64
	Kind    PersistKind
	Entries []Entry
	Zxid    int64
	Epoch   int64
	Data    [][]byte
}

// pending is a persistence request in flight and what to do once it is
// durable.
type pending struct {
	req  PersistRequest
	then func()
}

// Errors.
var (
	// ErrNotLeader is returned by Propose on a member that is not an
	// established leader.
	ErrNotLeader = fmt.Errorf("zab: not the established leader")
	// ErrEpochExhausted is returned by NextZxid when the epoch's counter is
	// used up (ZOOKEEPER-1277); the leader steps down to start a new epoch.
	ErrEpochExhausted = fmt.Errorf("zab: zxid counter exhausted, a new epoch is needed")
	// ErrReconfigInProgress is returned by ProposeReconfig while another
	// membership change is not yet committed.
	ErrReconfigInProgress = fmt.Errorf("zab: a reconfiguration is in progress")
)

// NewNode returns a member in the LOOKING state; call Start.
func NewNode(cfg Config, st DurableState) *Node {
	if cfg.DiffLimit <= 0 {
		cfg.DiffLimit = 100000
	}
	if cfg.TickMs <= 0 {
		cfg.TickMs = 2000
	}
	if cfg.InitLimit <= 0 {
		cfg.InitLimit = 10
	}
	if cfg.SyncLimit <= 0 {
		cfg.SyncLimit = 5
	}
	cfg.Voters = slices.Clone(cfg.Voters)
	slices.Sort(cfg.Voters)
	n := &Node{
		cfg:           cfg,
		acceptedEpoch: st.AcceptedEpoch,
		currentEpoch:  st.CurrentEpoch,
		lastLogged:    st.LastZxid,
		lastDurable:   st.LastZxid,
		lastCommitted: st.Applied,
		logStart:      st.LogStart,
		configData:    slices.Clone(cfg.ConfigData),
	}
	ec := cfg.Election
	ec.Self = cfg.ID
	ec.Voters = cfg.Voters
	ec.Observer = !n.isVoter(cfg.ID)
	n.election = NewElection(ec)
	return n
}

// Start begins the first election at time nowMs.
func (n *Node) Start(nowMs int64) {
	n.nowMs = nowMs
	n.lookForLeader("start")
}

// State is the member's current state.
func (n *Node) State() PeerState { return n.state }

// Leader is the member this one follows or observes (itself when leading;
// 0 while looking).
func (n *Node) Leader() int64 { return n.leader }

// Epochs returns the accepted and current epochs.
func (n *Node) Epochs() (accepted, current int64) { return n.acceptedEpoch, n.currentEpoch }

// LastZxid returns the last durable logged zxid and the last committed one.
func (n *Node) LastZxid() (durable, committed int64) { return n.lastDurable, n.lastCommitted }

// LeaderStats describes an established or establishing leader's learners
// (ok is false on a member that is not leading).
type LeaderStats struct {
	Learners        int // connected learners, in any phase
	SyncedFollowers int // voting followers past NEWLEADER
	// SyncedNonVoting counts followers past NEWLEADER that are not voters
	// (servers about to be added by a reconfiguration).
	SyncedNonVoting int
	SyncedObservers int // observers past NEWLEADER
	PendingSyncs    int // syncs waiting for their commit or ping round
}

// LeaderStats returns the leader's view of its learners.
func (n *Node) LeaderStats() (LeaderStats, bool) {
	l := n.lead
	if l == nil {
		return LeaderStats{}, false
	}
	st := LeaderStats{Learners: len(l.learners), PendingSyncs: len(l.syncs)}
	for _, h := range l.learners {
		if h.phase < hNewLeader {
			continue
		}
		switch {
		case h.observer:
			st.SyncedObservers++
		case !n.isVoter(h.id):
			st.SyncedNonVoting++
		default:
			st.SyncedFollowers++
		}
	}
	return st, true
}

// SetLogStart tells the node the lowest zxid its storage can now rebuild
// its state at (the driver calls it after purging old snapshots).
func (n *Node) SetLogStart(z int64) { n.logStart = z }

// Stats returns the counters.
func (n *Node) Stats() Stats { return n.stats }

// Ready returns and clears what the driver must do.
func (n *Node) Ready() Ready {
	n.flushAppends()
	n.flushLearner()
	r := n.ready
	n.ready = Ready{}
	return r
}

func (n *Node) isVoter(id int64) bool {
	_, ok := slices.BinarySearch(n.cfg.Voters, id)
	return ok
}

// isMember reports whether id is a voter or an observer of the membership.
func (n *Node) isMember(id int64) bool {
	return n.isVoter(id) || slices.Contains(n.cfg.Observers, id)
}

// quorumOf reports whether the voters in ids form a majority of voters.
func quorumOf(voters []int64, ids map[int64]bool) bool {
	c := 0
	for _, v := range voters {
		if ids[v] {
			c++
		}
	}
	return c > len(voters)/2
}

// Membership returns the member list in force.
func (n *Node) Membership() Membership {
	return Membership{Zxid: n.cfg.ConfigZxid, Voters: slices.Clone(n.cfg.Voters), Observers: slices.Clone(n.cfg.Observers),
		Data: slices.Clone(n.configData)}
}

// SetMembership switches to m: a learner calls it when it applies a
// committed reconfiguration, and any member after reloading its state
// (the membership is part of the replicated state). The leader switches by
// itself when the reconfiguration commits. A member's own role (voter or
// observer) does not change this way; a member no longer listed stops
// counting, and a leader no longer among the voters steps down.
func (n *Node) SetMembership(m Membership) {
	if m.Zxid == n.cfg.ConfigZxid && slices.Equal(m.Voters, n.cfg.Voters) && slices.Equal(m.Observers, n.cfg.Observers) {
		return
	}
	n.setMembership(m)
}

func (n *Node) setMembership(m Membership) {
	n.cfg.ConfigZxid = m.Zxid
	n.cfg.Voters = slices.Clone(m.Voters)
	slices.Sort(n.cfg.Voters)
	n.cfg.Observers = slices.Clone(m.Observers)
	slices.Sort(n.cfg.Observers)
	n.configData = slices.Clone(m.Data)
	n.election.SetVoters(n.cfg.Voters, !n.isVoter(n.cfg.ID), m.Zxid, m.Data)
	n.ready.Membership = &Membership{Zxid: m.Zxid, Voters: slices.Clone(n.cfg.Voters), Observers: slices.Clone(n.cfg.Observers),
		Data: slices.Clone(m.Data)}
	if l := n.lead; l != nil {
		for _, id := range sortedIDs(l.learners) {
			if !n.isMember(id) {
				n.dropLearner(id, "removed by a reconfiguration")
			}
		}
		if !n.isVoter(n.cfg.ID) && !l.stepDown {
			l.stepDown, l.stepDownAt = true, n.nowMs
			n.pingAll() // queued behind the COMMIT: an answer proves it arrived
			l.stepDownRound = l.pingRound
		}
	}
}

// quorum reports whether the voters in ids form a majority.
func (n *Node) quorum(ids map[int64]bool) bool {
	c := 0
	for _, v := range n.cfg.Voters {
		if ids[v] {
			c++
		}
	}
	return c > len(n.cfg.Voters)/2
}

func (n *Node) send(to int64, b Body) {
	n.ready.Send = append(n.ready.Send, Message{From: n.cfg.ID, To: to, Body: b})
}

func (n *Node) fail(err error) { n.ready.Errors = append(n.ready.Errors, err) }

// persist queues a persistence request; then runs once it is durable.
func (n *Node) persist(req PersistRequest, then func()) {
	n.nextPersistID++
	req.ID = n.nextPersistID
	n.persisting = append(n.persisting, pending{req: req, then: then})
	n.ready.Persist = append(n.ready.Persist, req)
}

// Persisted reports that every persistence request up to id is durable.
func (n *Node) Persisted(id uint64) {
	for len(n.persisting) > 0 && n.persisting[0].req.ID <= id {
		p := n.persisting[0]
		n.persisting = n.persisting[1:]
		switch p.req.Kind {
		case PersistAppend:
			if k := len(p.req.Entries); k > 0 {
				n.lastDurable = p.req.Entries[k-1].Zxid
			}
		case PersistTruncate:
			n.lastDurable = p.req.Zxid
			if n.lastCommitted > p.req.Zxid {
				// The state holds transactions the log no longer does
				// (it applied its whole log at start): rebuild it, even if
				// the sync that asked for the cut was abandoned since.
				n.reload(p.req.Zxid)
			}
		case PersistSnapshot:
			n.lastDurable = p.req.Zxid
			n.logStart = p.req.Zxid // the log starts over after the snapshot
			n.reload(p.req.Zxid)
		case PersistAcceptedEpoch:
			n.acceptedEpoch = p.req.Epoch
		case PersistCurrentEpoch:
			n.currentEpoch = p.req.Epoch
		}
		if p.then != nil {
			p.then()
		}
	}
}

// reload asks the driver to rebuild the state from disk up to zxid.
func (n *Node) reload(zxid int64) {
	n.ready.Reload, n.ready.ReloadZxid = true, zxid
	n.lastCommitted = zxid
}

// setRole records a role change for the driver.
func (n *Node) setRole(state PeerState, leader, epoch int64, serving bool) {
	n.state, n.leader = state, leader
	n.ready.Role = &Role{State: state, Leader: leader, Epoch: epoch, Serving: serving}
}

// lookForLeader abandons the current role and starts an election.
func (n *Node) lookForLeader(why string) {
	if l := n.lead; l != nil {
		n.stats.StepDowns++
		n.ready.Disconnect = append(n.ready.Disconnect, sortedIDs(l.learners)...)
	}
	if n.learn != nil && n.leader != 0 {
		n.ready.Disconnect = append(n.ready.Disconnect, n.leader)
	}
	n.lead, n.learn = nil, nil
	n.early = nil
	n.stats.Elections++
	n.setRole(Looking, 0, n.currentEpoch, false)
	n.election.Start(n.lastLogged, n.currentEpoch, n.nowMs)
	n.drainElection()
	_ = why
}

// drainElection moves the election's output into Ready and acts on a
// decision.
func (n *Node) drainElection() {
	er := n.election.Ready()
	n.ready.Send = append(n.ready.Send, er.Send...)
	if d := er.Decision; d != nil && n.state == Looking {
		switch {
		case d.Leader == n.cfg.ID:
			n.becomeLeader(d)
		case !n.isVoter(n.cfg.ID):
			n.becomeLearner(d, true)
		default:
			n.becomeLearner(d, false)
		}
	}
}

// Tick advances time to nowMs.
func (n *Node) Tick(nowMs int64) {
	n.nowMs = nowMs
	switch {
	case n.state == Looking:
		n.election.Tick(nowMs)
		n.drainElection()
	case n.lead != nil:
		n.leaderTick()
	case n.learn != nil:
		n.learnerTick()
	}
}

// Step handles a message from another member.
func (n *Node) Step(m Message) {
	if nt, ok := m.Body.(Notification); ok {
		if nt.ConfigVersion > n.cfg.ConfigZxid && nt.State != Looking && n.cfg.ParseMembership != nil {
			// A settled member runs a newer member list than ours: we
			// missed a reconfiguration's commit. Adopt it, or we might
			// never find the quorum it defines.
			if mb, ok := n.cfg.ParseMembership(nt.Config); ok && mb.Zxid == nt.ConfigVersion {
				n.setMembership(mb)
			}
		}
		n.election.Step(m.From, nt, n.nowMs)
		n.drainElection()
		return
	}
	switch {
	case n.lead != nil:
		n.leaderStep(m)
	case n.state == Looking:
		if fi, ok := m.Body.(FollowerInfo); ok {
			if n.early == nil {
				n.early = map[int64]FollowerInfo{}
			}
			n.early[m.From] = fi
		}
	case n.learn != nil:
		if m.From != n.leader {
			return // a stale leader's traffic
		}
		n.learnerStep(m)
	}
}

// Connected tells the node a connection to peer came up (the transport
// drops what is sent while a link is down). A looking member sends the
// peer its vote at once rather than at its next resend, and a learner
// still waiting for its leader's answer resends FOLLOWERINFO, so start-up
// and failover do not wait out a backoff interval.
func (n *Node) Connected(peer int64) {
	switch {
	case n.state == Looking:
		if peer != n.cfg.ID && n.election.started {
			n.election.reply(peer)
			n.drainElection()
		}
	case n.learn != nil && peer == n.leader && n.learn.phase == lDiscovery:
		n.learn.lastInfo = n.nowMs
		n.send(n.leader, FollowerInfo{AcceptedEpoch: n.acceptedEpoch, LastZxid: n.lastDurable, Observer: n.learn.observer})
	}
}

// Disconnected tells the node its connection to peer broke (the transport
// noticed). A learner that loses its leader goes back to election; a leader
// forgets the learner.
func (n *Node) Disconnected(peer int64) {
	switch {
	case n.lead != nil:
		n.dropLearner(peer, "disconnected")
	case n.learn != nil && peer == n.leader:
		n.stats.LearnerErrors++
		n.lookForLeader("leader disconnected")
	}
}
