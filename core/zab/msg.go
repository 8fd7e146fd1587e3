// Package zab is ZooKeeper Atomic Broadcast as Warren runs it: fast leader
// election, discovery (epoch agreement), synchronisation (DIFF, TRUNC,
// SNAP) and broadcast (PROPOSAL, ACK, COMMIT), for participants and
// observers (reference/zk-protocol.md section 5).
//
// Like the rest of Warren's core it is a deterministic state machine with no
// goroutines, clocks, randomness (beyond a seeded source in its config) or
// I/O: messages, ticks, proposals and persistence completions go in; what
// to persist, what to send and what to apply come out. The caller does the
// I/O, so a simulator can run whole ensembles from one seed and crash a
// member between a persistence request and its completion.
//
// This file defines the messages members exchange. Their encoding on the
// wire (versioned, length-framed, checksummed) is in wire.go; fast leader
// election is in election.go.
package zab

import "github.com/warrenhq/warren/core/proto"

// PeerState is a member's role, with ZooKeeper's ServerState ordinals.
type PeerState uint8

// Member states.
const (
	Looking PeerState = iota
	Following
	Leading
	Observing
)

func (s PeerState) String() string {
	switch s {
	case Looking:
		return "LOOKING"
	case Following:
		return "FOLLOWING"
	case Leading:
		return "LEADING"
	case Observing:
		return "OBSERVING"
	}
	return "UNKNOWN"
}

// EpochOf is the epoch part (high 32 bits) of a zxid.
func EpochOf(zxid int64) int64 { return int64(uint64(zxid) >> 32) }

// CounterOf is the counter part (low 32 bits) of a zxid.
func CounterOf(zxid int64) int64 { return zxid & 0xffffffff }

// MakeZxid builds a zxid from an epoch and a counter.
func MakeZxid(epoch, counter int64) int64 { return epoch<<32 | counter&0xffffffff }

// Vote proposes a leader: the candidate's id, the zxid of its last logged
// transaction and its current epoch.
type Vote struct {
	Leader    int64
	Zxid      int64
	PeerEpoch int64
}

// Beats reports whether v is a better candidate than o in ZooKeeper's
// total order: higher peer epoch, then higher zxid, then higher id.
func (v Vote) Beats(o Vote) bool {
	if v.PeerEpoch != o.PeerEpoch {
		return v.PeerEpoch > o.PeerEpoch
	}
	if v.Zxid != o.Zxid {
		return v.Zxid > o.Zxid
	}
	return v.Leader > o.Leader
}

// Message is one message between members; Body is one of the types below.
type Message struct {
	From int64 // sender's server id
	To   int64 // receiver's server id
	Body Body
}

// Body is implemented by every message type.
type Body interface{ Kind() Kind }

// Kind names a message type on the wire. The values are Warren's own; the
// quorum ones follow ZooKeeper's QuorumPacket type numbers where one exists.
type Kind uint8

// Message kinds.
const (
	KindNotification Kind = 0 // election port

	KindRequest      Kind = 1
	KindProposal     Kind = 2
	KindAck          Kind = 3
	KindCommit       Kind = 4
	KindPing         Kind = 5
	KindRevalidate   Kind = 6
	KindSync         Kind = 7
	KindInform       Kind = 8
	KindNewLeader    Kind = 10
	KindFollowerInfo Kind = 11
	KindUpToDate     Kind = 12
	KindDiff         Kind = 13
	KindTrunc        Kind = 14
	KindSnap         Kind = 15
	KindLeaderInfo   Kind = 17
	KindAckEpoch     Kind = 18

	KindRevalidateReply Kind = 32 // Warren's: the answer to a Revalidate
	KindSyncRequest     Kind = 33 // Warren's: a learner's client asked for sync
)

// Notification is fast leader election's message: the sender's state, its
// current vote and its election round.
type Notification struct {
	State         PeerState
	Vote          Vote
	ElectionEpoch int64 // the sender's logical clock
	ConfigVersion int64 // version of the sender's member list
	// Config is the sender's member list (its /zookeeper/config data) when
	// a reconfiguration made it (ConfigVersion > 0): a member that missed
	// the reconfiguration adopts it from a settled peer, as ZooKeeper's
	// election does, or it could not find the new quorum.
	Config []byte
}

// FollowerInfo opens a learner's connection to a leader (ZooKeeper's
// FOLLOWERINFO, or OBSERVERINFO when Observer).
type FollowerInfo struct {
	AcceptedEpoch int64
	LastZxid      int64 // last durable zxid of the learner's log
	Observer      bool
	ConfigVersion int64
}

// LeaderInfo proposes the new epoch.
type LeaderInfo struct{ NewEpoch int64 }

// AckEpoch accepts a new epoch; CurrentEpoch is -1 when the learner had
// already accepted it (it then reports its history without counting as an
// acknowledgement, as in ZooKeeper).
type AckEpoch struct {
	CurrentEpoch int64
	LastZxid     int64 // last zxid of the learner's log
	// LogStart is the lowest zxid the learner's log can be cut back to
	// (its oldest snapshot the log continues from): a TRUNC below it could
	// not be carried out, so the leader sends a snapshot instead.
	LogStart int64
}

// Diff starts a synchronisation by differences: the Proposal and Commit
// messages that follow bring the learner from its zxid to LeaderZxid.
type Diff struct{ LeaderZxid int64 }

// Trunc tells the learner to cut its log after Zxid (it holds transactions
// the leader never committed), before the Diff that follows.
type Trunc struct{ Zxid int64 }

// Snap carries one part of a snapshot of the leader's state at Zxid; the
// part with Last set completes it.
type Snap struct {
	Zxid int64
	Data []byte
	Last bool
}

// Proposal carries a transaction for the learner to log and acknowledge.
// Txn is the encoded transaction (znode.EncodeTxn: header and record).
type Proposal struct {
	Zxid int64
	Txn  []byte
}

// Ack acknowledges that every proposal up to Zxid is durable (or, for the
// NewLeader zxid, that the synchronised history and the new epoch are).
type Ack struct{ Zxid int64 }

// Commit says the proposal Zxid (and every earlier one) is committed.
type Commit struct{ Zxid int64 }

// Inform is an observer's Proposal and Commit in one.
type Inform struct {
	Zxid int64
	Txn  []byte
}

// NewLeader ends a synchronisation; Config is the member list. Secret is
// the ensemble's session-password key, which a learner adopts durably, so
// that a session's password is valid on every member.
type NewLeader struct {
	Zxid   int64 // the new epoch's first zxid (newEpoch << 32)
	Config []byte
	Secret []byte
}

// UpToDate tells a synchronised learner to start serving clients.
type UpToDate struct{}

// Ping is the leader's heartbeat; a learner answers with the sessions its
// clients touched since the last one, so the leader (which owns session
// expiry) keeps them alive. Round numbers the leader's pings; the answer
// echoes it, so a quorum of answers to round R proves the leader still led
// after everything it did before sending R (how sync is made linearizable).
type Ping struct {
	Round   int64
	Touched []SessionTouch
}

// SessionTouch is one session a learner saw activity on.
type SessionTouch struct {
	Session int64
	Timeout int32
}

// Request forwards a client's write (or session creation, or close) from
// a learner to the leader.
type Request struct {
	Session int64
	Cxid    int32
	Type    proto.OpCode
	Body    []byte     // the request record as the client encoded it
	Auth    []proto.Id // the connection's authenticated ids
}

// Revalidate asks the leader whether a session a client is reattaching to
// is still alive, and with what timeout.
type Revalidate struct {
	Session int64
	Timeout int32
}

// RevalidateReply answers a Revalidate.
type RevalidateReply struct {
	Session int64
	Valid   bool
	Timeout int32
}

// SyncRequest forwards a client's sync; the leader answers with Sync once
// every proposal before it is committed by a quorum.
type SyncRequest struct {
	Session int64
	Cxid    int32
	Path    string
}

// Sync answers a SyncRequest at Zxid.
type Sync struct {
	Session int64
	Cxid    int32
	Path    string
	Zxid    int64
}

// Kind implementations.
func (Notification) Kind() Kind    { return KindNotification }
func (Request) Kind() Kind         { return KindRequest }
func (Proposal) Kind() Kind        { return KindProposal }
func (Ack) Kind() Kind             { return KindAck }
func (Commit) Kind() Kind          { return KindCommit }
func (Ping) Kind() Kind            { return KindPing }
func (Revalidate) Kind() Kind      { return KindRevalidate }
func (RevalidateReply) Kind() Kind { return KindRevalidateReply }
func (Sync) Kind() Kind            { return KindSync }
func (SyncRequest) Kind() Kind     { return KindSyncRequest }
func (Inform) Kind() Kind          { return KindInform }
func (NewLeader) Kind() Kind       { return KindNewLeader }
func (FollowerInfo) Kind() Kind    { return KindFollowerInfo }
func (UpToDate) Kind() Kind        { return KindUpToDate }
func (Diff) Kind() Kind            { return KindDiff }
func (Trunc) Kind() Kind           { return KindTrunc }
func (Snap) Kind() Kind            { return KindSnap }
func (LeaderInfo) Kind() Kind      { return KindLeaderInfo }
func (AckEpoch) Kind() Kind        { return KindAckEpoch }
