package zab

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Scripted regressions for the ZooKeeper bugs of reference/reliability.md
// section 4 and zk-protocol.md 5.9, each on the pure core.

// followerOf starts member 2 of {1,2,3} with the given durable state and
// makes it follow member 1 without running an election.
func followerOf(t *testing.T, st DurableState, store Storage) *Node {
	t.Helper()
	n := NewNode(Config{ID: 2, Voters: []int64{1, 2, 3}, TickMs: 100, InitLimit: 10, SyncLimit: 5, Storage: store}, st)
	n.Start(0)
	n.becomeLearner(&Decision{Leader: 1, State: Following}, false)
	r := n.Ready()
	require.Equal(t, Following, n.State())
	require.Contains(t, r.Send, Message{From: 2, To: 1, Body: FollowerInfo{AcceptedEpoch: st.AcceptedEpoch, LastZxid: st.LastZxid}})
	return n
}

// servingFollower is a fresh follower synchronised (an empty DIFF) with
// leader 1 in epoch 1 and serving.
func servingFollower(t *testing.T) *Node {
	t.Helper()
	n := followerOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1}, &memStorage{})
	step(n, LeaderInfo{NewEpoch: 1})
	step(n, Diff{})
	r := step(n, NewLeader{Zxid: MakeZxid(1, 0)})
	n.Persisted(r.Persist[len(r.Persist)-1].ID)
	n.Ready()
	step(n, UpToDate{})
	require.Equal(t, Following, n.State())
	return n
}

func bodies(msgs []Message, to int64) []Body {
	var out []Body
	for _, m := range msgs {
		if _, ok := m.Body.(Notification); ok || m.To != to {
			continue
		}
		out = append(out, m.Body)
	}
	return out
}

func step(n *Node, b Body) Ready {
	n.Step(Message{From: 1, To: n.cfg.ID, Body: b})
	return n.Ready()
}

// ZOOKEEPER-3911, 4646, 4643: the ACK of NEWLEADER means the synchronised
// history and then currentEpoch are durable, in that order.
func TestNewLeaderAckWaitsForDurableHistoryThenEpoch(t *testing.T) {
	store := &memStorage{}
	n := followerOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1}, store)
	r := step(n, LeaderInfo{NewEpoch: 2})
	require.Len(t, r.Persist, 1)
	assert.Equal(t, PersistAcceptedEpoch, r.Persist[0].Kind)
	assert.Empty(t, bodies(r.Send, 1), "ACKEPOCH only once acceptedEpoch is durable")
	n.Persisted(r.Persist[0].ID)
	r = n.Ready()
	assert.Equal(t, []Body{AckEpoch{CurrentEpoch: 1, LastZxid: 0}}, bodies(r.Send, 1))

	step(n, Diff{LeaderZxid: MakeZxid(1, 2)})
	step(n, Proposal{Zxid: MakeZxid(1, 1), Txn: []byte("a")})
	step(n, Commit{Zxid: MakeZxid(1, 1)})
	step(n, Proposal{Zxid: MakeZxid(1, 2), Txn: []byte("b")})
	step(n, Commit{Zxid: MakeZxid(1, 2)})
	r = step(n, NewLeader{Zxid: MakeZxid(2, 0)})
	require.Len(t, r.Persist, 2)
	assert.Equal(t, PersistAppend, r.Persist[0].Kind)
	assert.Len(t, r.Persist[0].Entries, 2)
	assert.Equal(t, PersistCurrentEpoch, r.Persist[1].Kind)
	assert.Equal(t, int64(2), r.Persist[1].Epoch)
	assert.Empty(t, bodies(r.Send, 1))
	assert.Empty(t, r.Commit, "nothing applied before the sync is durable")

	n.Persisted(r.Persist[0].ID)
	r2 := n.Ready()
	assert.Empty(t, bodies(r2.Send, 1), "history durable, epoch not yet: no ACK (ZOOKEEPER-4643)")
	n.Persisted(r.Persist[1].ID)
	r2 = n.Ready()
	assert.Equal(t, []Body{Ack{Zxid: MakeZxid(2, 0)}}, bodies(r2.Send, 1))
	assert.Len(t, r2.Commit, 2, "the committed sync proposals apply once durable")
	_, cur := n.Epochs()
	assert.Equal(t, int64(2), cur)
}

// ZOOKEEPER-3642: a snapshot is installed durably before anything is
// acknowledged on its strength, and the state is reloaded from it.
func TestSnapInstalledBeforeAck(t *testing.T) {
	store := &memStorage{log: []Entry{{Zxid: MakeZxid(1, 1), Txn: []byte("old")}}}
	n := followerOf(t, DurableState{AcceptedEpoch: 2, CurrentEpoch: 1, LastZxid: MakeZxid(1, 1), Applied: MakeZxid(1, 1)}, store)
	step(n, LeaderInfo{NewEpoch: 2})
	step(n, Snap{Zxid: MakeZxid(1, 5), Data: []byte("part1")})
	step(n, Snap{Zxid: MakeZxid(1, 5), Data: []byte("part2"), Last: true})
	step(n, Proposal{Zxid: MakeZxid(1, 6), Txn: []byte("x")})
	r := step(n, NewLeader{Zxid: MakeZxid(2, 0)})
	require.Len(t, r.Persist, 3)
	assert.Equal(t, PersistSnapshot, r.Persist[0].Kind)
	assert.Equal(t, [][]byte{[]byte("part1"), []byte("part2")}, r.Persist[0].Data)
	assert.Equal(t, PersistAppend, r.Persist[1].Kind)
	assert.Equal(t, PersistCurrentEpoch, r.Persist[2].Kind)
	n.Persisted(r.Persist[0].ID)
	r0 := n.Ready()
	assert.True(t, r0.Reload, "the state is rebuilt from the snapshot once it is durable")
	assert.Equal(t, MakeZxid(1, 5), r0.ReloadZxid)
	assert.Empty(t, bodies(r0.Send, 1))
	n.Persisted(r.Persist[1].ID)
	assert.Empty(t, bodies(n.Ready().Send, 1))
	n.Persisted(r.Persist[2].ID)
	r = n.Ready()
	assert.Empty(t, r.Commit, "the proposal after the snapshot waits for its COMMIT")
	assert.Equal(t, []Body{Ack{Zxid: MakeZxid(2, 0)}}, bodies(r.Send, 1))
	d, _ := n.LastZxid()
	assert.Equal(t, MakeZxid(1, 6), d)
	// Its COMMIT then applies it.
	r = step(n, Commit{Zxid: MakeZxid(1, 6)})
	require.Len(t, r.Commit, 1)
	assert.Equal(t, MakeZxid(1, 6), r.Commit[0].Zxid)
}

// ZOOKEEPER-2845 / 1549: a TRUNC cuts the log and makes the driver reload
// the state up to the truncation point, never beyond; it does so when the
// cut is durable, even if the sync that asked for it is abandoned first.
func TestTruncReloadsState(t *testing.T) {
	store := &memStorage{log: []Entry{{Zxid: MakeZxid(1, 1)}, {Zxid: MakeZxid(1, 2)}, {Zxid: MakeZxid(1, 3)}}}
	n := followerOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1, LastZxid: MakeZxid(1, 3), Applied: MakeZxid(1, 3)}, store)
	step(n, LeaderInfo{NewEpoch: 2})
	step(n, Trunc{Zxid: MakeZxid(1, 1)})
	step(n, Diff{LeaderZxid: MakeZxid(1, 1)})
	r := step(n, NewLeader{Zxid: MakeZxid(2, 0)})
	require.Len(t, r.Persist, 2)
	assert.Equal(t, PersistTruncate, r.Persist[0].Kind)
	assert.Equal(t, MakeZxid(1, 1), r.Persist[0].Zxid)
	n.Persisted(r.Persist[1].ID)
	r = n.Ready()
	assert.True(t, r.Reload)
	assert.Equal(t, MakeZxid(1, 1), r.ReloadZxid)
	d, c := n.LastZxid()
	assert.Equal(t, MakeZxid(1, 1), d)
	assert.Equal(t, MakeZxid(1, 1), c)
}

// ZOOKEEPER-4394: a COMMIT for a proposal the learner never received is a
// broken stream: the learner leaves the leader rather than guess.
func TestCommitForUnknownProposalLeaves(t *testing.T) {
	n := servingFollower(t)
	var r Ready
	r = step(n, Commit{Zxid: MakeZxid(1, 7)})
	assert.Equal(t, Looking, n.State())
	assert.NotEmpty(t, r.Errors)
	assert.Contains(t, r.Disconnect, int64(1))
}

// Proposals are acknowledged in zxid order, each only once durable, and a
// proposal that does not follow the last one is refused.
func TestProposalsAckedInOrderWhenDurable(t *testing.T) {
	n := servingFollower(t)
	var r Ready
	n.Step(Message{From: 1, To: 2, Body: Proposal{Zxid: MakeZxid(1, 1)}})
	n.Step(Message{From: 1, To: 2, Body: Proposal{Zxid: MakeZxid(1, 2)}})
	r = n.Ready()
	require.Len(t, r.Persist, 1, "one group commit")
	assert.Empty(t, bodies(r.Send, 1))
	n.Persisted(r.Persist[0].ID)
	assert.Equal(t, []Body{Ack{Zxid: MakeZxid(1, 2)}}, bodies(n.Ready().Send, 1))

	r = step(n, Proposal{Zxid: MakeZxid(1, 4)})
	assert.Equal(t, Looking, n.State(), "a gap in the stream")
	assert.NotEmpty(t, r.Errors)
}

// The learner reports in ACKEPOCH what its log holds, never what it
// merely received (a proposal not yet handed to persistence).
func TestAckEpochReportsLoggedZxid(t *testing.T) {
	store := &memStorage{log: []Entry{{Zxid: MakeZxid(1, 1)}}}
	n := followerOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1, LastZxid: MakeZxid(1, 1), Applied: MakeZxid(1, 1)}, store)
	r := step(n, LeaderInfo{NewEpoch: 1})
	assert.Equal(t, []Body{AckEpoch{CurrentEpoch: -1, LastZxid: MakeZxid(1, 1)}}, bodies(r.Send, 1))
}

// Found by core/sim (seed 220): a learner that starts over with appends
// still in flight reports them (they are durable before anything it
// acknowledges later, persistence being ordered), so the new leader does
// not resend them — or, lacking them, truncates them.
func TestLearnerRestartingSyncReportsAppendsInFlight(t *testing.T) {
	n := servingFollower(t)
	r := step(n, Proposal{Zxid: MakeZxid(1, 1), Txn: []byte("a")})
	require.Len(t, r.Persist, 1, "the append is in flight")
	n.Disconnected(1)
	n.Ready()
	require.Equal(t, Looking, n.State())
	n.becomeLearner(&Decision{Leader: 3, State: Following}, false)
	r = n.Ready()
	assert.Contains(t, bodies(r.Send, 3), Body(FollowerInfo{AcceptedEpoch: 1, LastZxid: MakeZxid(1, 1)}))
}

// Found by core/sim (seed 590): a learner hearing a learner's message from
// the member it follows (each decided the other leads) gives up at once
// instead of counting it as the leader being alive.
func TestLearnersFollowingEachOtherGiveUp(t *testing.T) {
	n := followerOf(t, DurableState{}, &memStorage{})
	r := step(n, FollowerInfo{AcceptedEpoch: 0})
	assert.Equal(t, Looking, n.State())
	assert.NotEmpty(t, r.Errors)
}

// Found by core/sim (seed 457): proposals the leader had outstanding are
// part of a learner's synchronisation; once they are durable there the
// learner acknowledges them too, or with no later proposal they would
// never commit.
func TestSyncedOutstandingProposalsAreAcked(t *testing.T) {
	n := followerOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1}, &memStorage{})
	step(n, LeaderInfo{NewEpoch: 2})
	n.Persisted(n.nextPersistID)
	n.Ready()
	step(n, Diff{})
	step(n, Proposal{Zxid: MakeZxid(2, 1), Txn: []byte("outstanding")})
	r := step(n, NewLeader{Zxid: MakeZxid(2, 0)})
	n.Persisted(r.Persist[len(r.Persist)-1].ID)
	assert.Equal(t, []Body{Ack{Zxid: MakeZxid(2, 0)}, Ack{Zxid: MakeZxid(2, 1)}}, bodies(n.Ready().Send, 1))
}

// Found by core/sim (seed 1207): a voter that accepted a later epoch from
// a leader that failed before establishing it refuses an established
// leader of a lower epoch for good; that leader steps down so the next
// election picks an epoch above every accepted one. An observer's promise
// counts in no quorum: it follows the lower epoch.
func TestLaterAcceptedEpochMakesLeaderElectAgain(t *testing.T) {
	n := leaderOf(t, DurableState{}, &memStorage{})
	establish(t, n)
	r := fromPeer(n, 3, FollowerInfo{AcceptedEpoch: 7})
	assert.Equal(t, Looking, n.State())
	assert.NotEmpty(t, r.Errors)

	o := NewNode(Config{ID: 4, Voters: []int64{1, 2, 3}, Observers: []int64{4}, TickMs: 100, Storage: &memStorage{}},
		DurableState{AcceptedEpoch: 7, CurrentEpoch: 6})
	o.Start(0)
	o.becomeLearner(&Decision{Leader: 1, State: Observing}, true)
	o.Ready()
	o.Step(Message{From: 1, To: 4, Body: LeaderInfo{NewEpoch: 3}})
	assert.Equal(t, []Body{AckEpoch{CurrentEpoch: -1, LastZxid: 0}}, bodies(o.Ready().Send, 1))
	assert.Equal(t, Observing, o.State())
}

// leaderOf makes member 1 of {1,2,3} lead, without running an election.
func leaderOf(t *testing.T, st DurableState, store Storage) *Node {
	t.Helper()
	n := NewNode(Config{ID: 1, Voters: []int64{1, 2, 3}, TickMs: 100, InitLimit: 10, SyncLimit: 5, Storage: store}, st)
	n.Start(0)
	n.Ready()
	n.becomeLeader(&Decision{Leader: 1, State: Leading})
	n.Ready()
	return n
}

func fromPeer(n *Node, from int64, b Body) Ready {
	n.Step(Message{From: from, To: 1, Body: b})
	return n.Ready()
}

// establish runs discovery and sync with member 2 answering.
func establish(t *testing.T, n *Node) {
	t.Helper()
	r := fromPeer(n, 2, FollowerInfo{AcceptedEpoch: 0})
	require.Len(t, r.Persist, 1)
	n.Persisted(r.Persist[0].ID)
	r = n.Ready()
	require.Contains(t, bodies(r.Send, 2), Body(LeaderInfo{NewEpoch: 1}))
	r = fromPeer(n, 2, AckEpoch{CurrentEpoch: 0})
	require.Equal(t, PersistCurrentEpoch, r.Persist[0].Kind)
	n.Persisted(r.Persist[0].ID)
	n.Ready()
	r = fromPeer(n, 2, Ack{Zxid: MakeZxid(1, 0)})
	require.NotNil(t, r.Role)
	require.True(t, r.Role.Serving)
}

// A leader that learns in discovery that a learner is ahead of it gives up
// (it would otherwise truncate committed history).
func TestLeaderGivesUpWhenLearnerIsAhead(t *testing.T) {
	n := leaderOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1, LastZxid: MakeZxid(1, 3), Applied: MakeZxid(1, 3)},
		&memStorage{log: []Entry{{Zxid: MakeZxid(1, 1)}, {Zxid: MakeZxid(1, 2)}, {Zxid: MakeZxid(1, 3)}}})
	r := fromPeer(n, 2, FollowerInfo{AcceptedEpoch: 1})
	n.Persisted(r.Persist[0].ID)
	n.Ready()
	r = fromPeer(n, 2, AckEpoch{CurrentEpoch: 1, LastZxid: MakeZxid(1, 9)})
	assert.Equal(t, Looking, n.State())
	assert.NotEmpty(t, r.Errors)
}

// A leader commits only with a quorum holding the proposal durably, and
// steps down when it no longer hears from a quorum.
func TestLeaderCommitsWithQuorumAndStepsDown(t *testing.T) {
	n := leaderOf(t, DurableState{}, &memStorage{})
	establish(t, n)
	z, err := n.NextZxid()
	require.NoError(t, err)
	require.NoError(t, n.Propose(Entry{Zxid: z, Txn: []byte("w")}))
	assert.Error(t, n.Propose(Entry{Zxid: z, Txn: []byte("again")}), "zxids are handed out in order")
	r := n.Ready()
	require.Len(t, r.Persist, 1)
	assert.Contains(t, bodies(r.Send, 2), Body(Proposal{Zxid: z, Txn: []byte("w")}))
	r = fromPeer(n, 2, Ack{Zxid: z})
	assert.Empty(t, r.Commit, "the leader's own copy is not durable yet")
	n.Persisted(n.nextPersistID)
	r = n.Ready()
	require.Len(t, r.Commit, 1)
	assert.Contains(t, bodies(r.Send, 2), Body(Commit{Zxid: z}))

	// Member 2 goes silent past syncLimit: no quorum left.
	for ms := int64(100); ms <= 700; ms += 50 {
		n.Tick(ms)
	}
	assert.Equal(t, Looking, n.State())
	assert.Equal(t, int64(1), n.Stats().StepDowns)
}

// ZOOKEEPER-1277: a leader whose zxid counter would overflow steps down so
// that a new epoch starts.
func TestEpochExhaustionStepsDown(t *testing.T) {
	n := leaderOf(t, DurableState{}, &memStorage{})
	establish(t, n)
	n.lead.counter = 0xfffffffe
	_, err := n.NextZxid()
	assert.ErrorIs(t, err, ErrEpochExhausted)
	assert.ErrorIs(t, n.Propose(Entry{Zxid: MakeZxid(1, 0xffffffff)}), ErrEpochExhausted)
	assert.Equal(t, Looking, n.State())
}

// TLA+ issue 1: a learner that joins while proposals are outstanding gets
// them after its sync data, so it never sees a COMMIT for a proposal it
// did not receive.
func TestLateLearnerGetsOutstandingProposals(t *testing.T) {
	n := leaderOf(t, DurableState{}, &memStorage{})
	establish(t, n)
	z, _ := n.NextZxid()
	require.NoError(t, n.Propose(Entry{Zxid: z, Txn: []byte("w")}))
	n.Ready()
	r := fromPeer(n, 3, FollowerInfo{AcceptedEpoch: 0})
	assert.Contains(t, bodies(r.Send, 3), Body(LeaderInfo{NewEpoch: 1}))
	r = fromPeer(n, 3, AckEpoch{CurrentEpoch: 0})
	assert.Equal(t, []Body{Diff{LeaderZxid: 0}, Proposal{Zxid: z, Txn: []byte("w")}, NewLeader{Zxid: MakeZxid(1, 0)}}, bodies(r.Send, 3))
	assert.Equal(t, []LearnerSync{{Learner: 3, Method: SyncDiff}}, r.Synced, "an empty DIFF: the proposal is outstanding, not committed")
}

// Sync is answered only after every write proposed before it is committed
// and a quorum answered a ping sent after it, so a leader that was deposed
// without knowing it cannot answer a sync (sync-then-read is linearizable,
// which ZooKeeper does not guarantee).
func TestSyncWaitsForCommitAndQuorumRound(t *testing.T) {
	n := leaderOf(t, DurableState{}, &memStorage{})
	establish(t, n)
	z, _ := n.NextZxid()
	require.NoError(t, n.Propose(Entry{Zxid: z, Txn: []byte("w")}))
	r := n.Ready()
	persistID := r.Persist[0].ID

	r = fromPeer(n, 2, SyncRequest{Session: 9, Cxid: 4, Path: "/a"})
	var round int64
	for _, b := range bodies(r.Send, 2) {
		if p, ok := b.(Ping); ok {
			round = p.Round
		}
	}
	require.Positive(t, round, "the sync starts a ping round")
	assert.NotContains(t, bodies(r.Send, 2), Body(Sync{Session: 9, Cxid: 4, Path: "/a", Zxid: z}))

	// The round is answered, but the write before the sync is not committed.
	r = fromPeer(n, 2, Ping{Round: round})
	for _, b := range bodies(r.Send, 2) {
		_, isSync := b.(Sync)
		assert.False(t, isSync, "not before the earlier write commits")
	}
	r = fromPeer(n, 2, Ack{Zxid: z})
	n.Persisted(persistID)
	r = n.Ready()
	assert.Contains(t, bodies(r.Send, 2), Body(Sync{Session: 9, Cxid: 4, Path: "/a", Zxid: z}))

	// A local sync on the leader: the old round's answers do not count.
	require.True(t, n.LocalSync(77))
	r = n.Ready()
	assert.Empty(t, r.SyncsDone)
	var round2 int64
	for _, b := range bodies(r.Send, 2) {
		if p, ok := b.(Ping); ok {
			round2 = p.Round
		}
	}
	require.Greater(t, round2, round)
	r = fromPeer(n, 2, Ping{Round: round2})
	assert.Equal(t, []uint64{77}, r.SyncsDone)
}

// A learner echoes the leader's ping round with the sessions its clients
// touched.
func TestLearnerEchoesPingRound(t *testing.T) {
	n := servingFollower(t)
	var r Ready
	n.Touch(0x55, 4000)
	r = step(n, Ping{Round: 12})
	assert.Equal(t, []Body{Ping{Round: 12, Touched: []SessionTouch{{Session: 0x55, Timeout: 4000}}}}, bodies(r.Send, 1))
}

// A link coming up gets the member's vote (or, for a learner waiting on its
// leader, FOLLOWERINFO) at once: the transport dropped what was sent while
// it was down, and waiting for the next resend would slow start-up.
func TestConnectedResendsAtOnce(t *testing.T) {
	n := NewNode(Config{ID: 2, Voters: []int64{1, 2, 3}, TickMs: 100, Storage: &memStorage{}}, DurableState{})
	n.Start(0)
	n.Ready()
	n.Connected(3)
	r := n.Ready()
	require.Len(t, r.Send, 1)
	assert.Equal(t, int64(3), r.Send[0].To)
	assert.IsType(t, Notification{}, r.Send[0].Body)

	f := followerOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1}, &memStorage{})
	f.Connected(1)
	assert.Equal(t, []Body{FollowerInfo{AcceptedEpoch: 1}}, bodies(f.Ready().Send, 1))
	f.Connected(3)
	assert.Empty(t, bodies(f.Ready().Send, 3), "only the leader gets FOLLOWERINFO")
}

// A learner that abandons a sync after asking for a TRUNC still has its
// state reloaded when the cut becomes durable (found by make sim, seed
// 570: the state kept a truncated transaction and the next DIFF left a gap).
func TestTruncReloadsEvenAfterTheSyncIsAbandoned(t *testing.T) {
	store := &memStorage{log: []Entry{{Zxid: MakeZxid(1, 1)}, {Zxid: MakeZxid(1, 2)}}}
	n := followerOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1, LastZxid: MakeZxid(1, 2), Applied: MakeZxid(1, 2)}, store)
	step(n, LeaderInfo{NewEpoch: 1})
	step(n, Trunc{Zxid: MakeZxid(1, 1)})
	step(n, Diff{LeaderZxid: MakeZxid(1, 1)})
	r := step(n, NewLeader{Zxid: MakeZxid(1, 0)})
	n.Disconnected(1) // the leader goes away before the cut is durable
	require.Equal(t, Looking, n.State())
	n.Ready()
	n.Persisted(r.Persist[0].ID)
	r = n.Ready()
	assert.True(t, r.Reload)
	assert.Equal(t, MakeZxid(1, 1), r.ReloadZxid)
	_, c := n.LastZxid()
	assert.Equal(t, MakeZxid(1, 1), c)
}

// A reconfiguration commits only with a quorum of the old voters and one
// of the new (and so does every proposal after it until then); at its
// commit the leader switches, and a leader removed from the voters leads
// on until its followers answered a ping sent after the COMMIT, then
// elects again.
func TestReconfigNeedsBothQuorumsAndRemovedLeaderStepsDown(t *testing.T) {
	n := leaderOf(t, DurableState{}, &memStorage{})
	establish(t, n)
	// Member 4, not in the configuration, joins as a non-voting follower.
	r := fromPeer(n, 4, FollowerInfo{AcceptedEpoch: 1, LastZxid: MakeZxid(1, 0)})
	assert.Contains(t, bodies(r.Send, 4), Body(LeaderInfo{NewEpoch: 1}))
	r = fromPeer(n, 4, AckEpoch{CurrentEpoch: -1, LastZxid: 0})
	fromPeer(n, 4, Ack{Zxid: MakeZxid(1, 0)})
	st, ok := n.LeaderStats()
	require.True(t, ok)
	assert.Equal(t, 1, st.SyncedNonVoting)

	// New voters {2,3,4}: the leader (1) is removed.
	z, err := n.NextZxid()
	require.NoError(t, err)
	m := Membership{Zxid: z, Voters: []int64{2, 3, 4}, Data: []byte("cfg")}
	require.NoError(t, n.ProposeReconfig(Entry{Zxid: z, Txn: []byte("reconfig")}, m))
	assert.ErrorIs(t, n.ProposeReconfig(Entry{Zxid: z + 1, Txn: []byte("another")}, Membership{Zxid: z + 1, Voters: []int64{1}}),
		ErrReconfigInProgress)
	n.Ready()
	n.Persisted(n.nextPersistID)
	r = fromPeer(n, 2, Ack{Zxid: z})
	assert.Empty(t, r.Commit, "{1,2} is a quorum of the old voters but not of the new {2,3,4}")
	r = fromPeer(n, 4, Ack{Zxid: z})
	require.Len(t, r.Commit, 1, "{2,4} completes a quorum of the new voters")
	require.NotNil(t, r.Membership)
	assert.Equal(t, []int64{2, 3, 4}, r.Membership.Voters)
	assert.Contains(t, bodies(r.Send, 2), Body(Commit{Zxid: z}))
	var ping Ping
	for _, b := range bodies(r.Send, 2) {
		if p, ok := b.(Ping); ok {
			ping = p
		}
	}
	require.NotZero(t, ping.Round, "a ping follows the COMMIT")

	// Still leading until the followers answered that ping.
	n.Tick(10)
	assert.Equal(t, Leading, n.State())
	fromPeer(n, 2, Ping{Round: ping.Round})
	fromPeer(n, 4, Ping{Round: ping.Round})
	n.Tick(20)
	assert.Equal(t, Looking, n.State())
}

// A member that missed a reconfiguration's commit adopts the newer member
// list from a settled peer's notification.
func TestMissedReconfigAdoptedFromNotification(t *testing.T) {
	parse := func(data []byte) (Membership, bool) {
		if string(data) != "v9:2,3,4" {
			return Membership{}, false
		}
		return Membership{Zxid: 9, Voters: []int64{2, 3, 4}, Data: data}, true
	}
	n := NewNode(Config{ID: 2, Voters: []int64{1, 2, 3, 4}, TickMs: 100, ParseMembership: parse, Storage: &memStorage{}}, DurableState{})
	n.Start(0)
	n.Ready()
	n.Step(Message{From: 3, To: 2, Body: Notification{State: Looking, Vote: Vote{Leader: 3}, ConfigVersion: 9, Config: []byte("v9:2,3,4")}})
	assert.Nil(t, n.Ready().Membership, "a looking peer's list is not adopted")
	n.Step(Message{From: 4, To: 2, Body: Notification{State: Leading, Vote: Vote{Leader: 4}, ElectionEpoch: 1, ConfigVersion: 9, Config: []byte("v9:2,3,4")}})
	r := n.Ready()
	require.NotNil(t, r.Membership)
	assert.Equal(t, []int64{2, 3, 4}, n.Membership().Voters)
}

// Found by core/sim (seed 890): a learner that installed a snapshot of a
// history longer than the new leader's (from a leader that failed before
// establishing it) cannot cut its log back below that snapshot; the
// leader sends it a snapshot instead of a TRUNC it could not carry out.
func TestNoTruncBelowLearnersLogStart(t *testing.T) {
	n := leaderOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1, LastZxid: MakeZxid(1, 2), Applied: MakeZxid(1, 2)},
		&memStorage{log: []Entry{{Zxid: MakeZxid(1, 1)}, {Zxid: MakeZxid(1, 2)}}})
	r := fromPeer(n, 2, FollowerInfo{AcceptedEpoch: 1, LastZxid: MakeZxid(1, 5)})
	n.Persisted(r.Persist[0].ID)
	n.Ready()
	r = fromPeer(n, 2, AckEpoch{CurrentEpoch: 0, LastZxid: MakeZxid(1, 5), LogStart: MakeZxid(1, 4)})
	assert.Equal(t, []int64{2}, r.Snapshots, "a snapshot, not TRUNC to 0x100000002")
	assert.Equal(t, []LearnerSync{{Learner: 2, Method: SyncSnap, LearnerZxid: MakeZxid(1, 5), LeaderZxid: MakeZxid(1, 2)}}, r.Synced,
		"the driver is told, to log it")
	for _, b := range bodies(r.Send, 2) {
		_, isTrunc := b.(Trunc)
		assert.False(t, isTrunc)
	}

	// With a log that reaches back far enough, TRUNC it is.
	n = leaderOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1, LastZxid: MakeZxid(1, 2), Applied: MakeZxid(1, 2)},
		&memStorage{log: []Entry{{Zxid: MakeZxid(1, 1)}, {Zxid: MakeZxid(1, 2)}}})
	r = fromPeer(n, 2, FollowerInfo{AcceptedEpoch: 1, LastZxid: MakeZxid(1, 5)})
	n.Persisted(r.Persist[0].ID)
	n.Ready()
	r = fromPeer(n, 2, AckEpoch{CurrentEpoch: 0, LastZxid: MakeZxid(1, 5), LogStart: MakeZxid(1, 1)})
	assert.Contains(t, bodies(r.Send, 2), Body(Trunc{Zxid: MakeZxid(1, 2)}))
	assert.Equal(t, []LearnerSync{{Learner: 2, Method: SyncTruncDiff, LearnerZxid: MakeZxid(1, 5), LeaderZxid: MakeZxid(1, 2), TruncZxid: MakeZxid(1, 2)}}, r.Synced)
	assert.Equal(t, "TRUNC+DIFF", r.Synced[0].Method.String())
}

// ZOOKEEPER-335: a learner that already accepted an epoch answers a second
// leader proposing the same epoch with CurrentEpoch -1, which that leader
// does not count: two leaders can never both gather a quorum for one epoch
// (so no member logs two different transactions under one zxid).
func TestSecondLeaderOfAnEpochGetsNoAck(t *testing.T) {
	f := followerOf(t, DurableState{AcceptedEpoch: 3, CurrentEpoch: 2}, &memStorage{})
	r := step(f, LeaderInfo{NewEpoch: 3})
	assert.Equal(t, []Body{AckEpoch{CurrentEpoch: -1}}, bodies(r.Send, 1), "already accepted: not an acknowledgement")

	n := leaderOf(t, DurableState{AcceptedEpoch: 2, CurrentEpoch: 2}, &memStorage{})
	r = fromPeer(n, 2, FollowerInfo{AcceptedEpoch: 2})
	n.Persisted(r.Persist[0].ID)
	n.Ready()
	r = fromPeer(n, 2, AckEpoch{CurrentEpoch: -1})
	assert.Empty(t, r.Persist, "no quorum of acknowledgements: currentEpoch is not recorded")
	assert.Empty(t, bodies(r.Send, 2), "and nothing is synchronised")
}

// ZOOKEEPER-4685: the learner's ACK of NEWLEADER always precedes its ACK
// of any proposal (persistence is ordered), so the leader never sees them
// reordered and never steps down for it.
func TestNewLeaderAckPrecedesProposalAcks(t *testing.T) {
	n := followerOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1}, &memStorage{})
	step(n, LeaderInfo{NewEpoch: 1})
	step(n, Diff{})
	r := step(n, NewLeader{Zxid: MakeZxid(1, 0)})
	r2 := step(n, Proposal{Zxid: MakeZxid(1, 1)})
	ids := append(r.Persist, r2.Persist...)
	n.Persisted(ids[len(ids)-1].ID)
	assert.Equal(t, []Body{Ack{Zxid: MakeZxid(1, 0)}, Ack{Zxid: MakeZxid(1, 1)}}, bodies(n.Ready().Send, 1))
}

// ZOOKEEPER-3023: a COMMIT is applied only once its proposal is durable.
func TestCommitAppliedOnlyWhenDurable(t *testing.T) {
	n := servingFollower(t)
	r := step(n, Proposal{Zxid: MakeZxid(1, 1), Txn: []byte("a")})
	r2 := step(n, Commit{Zxid: MakeZxid(1, 1)})
	assert.Empty(t, r2.Commit, "not durable yet")
	n.Persisted(r.Persist[0].ID)
	assert.Equal(t, []Entry{{Zxid: MakeZxid(1, 1), Txn: []byte("a")}}, n.Ready().Commit)
}

// ZOOKEEPER-4712 / 4785: persistence a learner asked for before it left
// its leader completes later, but acknowledges nothing to anyone: only the
// current synchronisation's requests do.
func TestAbandonedSyncPersistenceAcksNothing(t *testing.T) {
	n := servingFollower(t)
	r := step(n, Proposal{Zxid: MakeZxid(1, 1), Txn: []byte("a")})
	n.Disconnected(1)
	n.Ready()
	n.becomeLearner(&Decision{Leader: 3, State: Following}, false)
	n.Ready()
	n.Persisted(r.Persist[0].ID)
	r = n.Ready()
	assert.Empty(t, bodies(r.Send, 1), "the old leader gets nothing")
	for _, b := range bodies(r.Send, 3) {
		_, isAck := b.(Ack)
		assert.False(t, isAck, "the new leader gets no ACK for it")
	}
	assert.Empty(t, r.Commit)
}

// ZOOKEEPER-4925: zxids are continuous everywhere; a proposal that skips
// one is a broken stream, whatever phase it arrives in.
func TestDiscontinuousSyncProposalRefused(t *testing.T) {
	n := followerOf(t, DurableState{AcceptedEpoch: 1, CurrentEpoch: 1}, &memStorage{})
	step(n, LeaderInfo{NewEpoch: 1})
	step(n, Diff{})
	step(n, Proposal{Zxid: MakeZxid(1, 1)})
	r := step(n, Proposal{Zxid: MakeZxid(1, 3)})
	assert.Equal(t, Looking, n.State())
	assert.NotEmpty(t, r.Errors)
}

// TLA+ issue 2: a proposal a joiner already received (a duplicate) is
// ignored, not logged twice.
func TestDuplicateProposalIgnored(t *testing.T) {
	n := servingFollower(t)
	r := step(n, Proposal{Zxid: MakeZxid(1, 1), Txn: []byte("a")})
	require.Len(t, r.Persist, 1)
	r = step(n, Proposal{Zxid: MakeZxid(1, 1), Txn: []byte("a")})
	assert.Empty(t, r.Persist)
	assert.Equal(t, Following, n.State())
}
