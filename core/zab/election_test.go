package zab

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVoteBeats(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Vote
		want bool
	}{
		{"higher epoch wins over higher zxid", Vote{1, 5, 3}, Vote{2, 9, 2}, true},
		{"lower epoch loses", Vote{3, 9, 1}, Vote{1, 0, 2}, false},
		{"same epoch, higher zxid", Vote{1, MakeZxid(2, 7), 2}, Vote{3, MakeZxid(2, 6), 2}, true},
		{"same epoch, lower zxid", Vote{3, MakeZxid(2, 6), 2}, Vote{1, MakeZxid(2, 7), 2}, false},
		{"tie broken by higher id", Vote{3, 10, 1}, Vote{2, 10, 1}, true},
		{"tie lost by lower id", Vote{2, 10, 1}, Vote{3, 10, 1}, false},
		{"equal votes do not beat", Vote{2, 10, 1}, Vote{2, 10, 1}, false},
		{"anything beats no vote", Vote{1, 0, 0}, noVote, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.a.Beats(tc.b))
		})
	}
}

func TestIsMajority(t *testing.T) {
	for _, tc := range []struct {
		voters []int64
		acks   []int64
		want   bool
	}{
		{[]int64{1}, []int64{1}, true},
		{[]int64{1}, nil, false},
		{[]int64{1, 2}, []int64{1}, false},
		{[]int64{1, 2}, []int64{1, 2}, true},
		{[]int64{1, 2, 3}, []int64{3}, false},
		{[]int64{1, 2, 3}, []int64{1, 3}, true},
		{[]int64{1, 2, 3, 4}, []int64{1, 2}, false},
		{[]int64{1, 2, 3, 4}, []int64{1, 2, 4}, true},
		{[]int64{1, 2, 3, 4, 5}, []int64{2, 4}, false},
		{[]int64{1, 2, 3, 4, 5}, []int64{2, 4, 5}, true},
		{[]int64{1, 2, 3}, []int64{7, 8, 9}, false}, // non-voters never count
		{nil, []int64{1}, false},
	} {
		t.Run(fmt.Sprint(tc.voters, tc.acks), func(t *testing.T) {
			got := isMajority(tc.voters, func(id int64) bool { return slices.Contains(tc.acks, id) })
			assert.Equal(t, tc.want, got)
		})
	}
}

// --- unit tests on one Election ---

func newTestElection(self int64, voters ...int64) *Election {
	return NewElection(ElectionConfig{Self: self, Voters: voters})
}

// sentTo returns the notifications in msgs addressed to id.
func sentTo(msgs []Message, id int64) []Notification {
	var out []Notification
	for _, m := range msgs {
		if m.To == id {
			out = append(out, m.Body.(Notification))
		}
	}
	return out
}

func looking(v Vote, round int64) Notification {
	return Notification{State: Looking, Vote: v, ElectionEpoch: round}
}

func TestStartVotesForSelfAndNotifiesOtherVoters(t *testing.T) {
	e := NewElection(ElectionConfig{Self: 2, Voters: []int64{3, 1, 2, 2}, ConfigVersion: 7})
	e.Start(MakeZxid(1, 4), 1, 0)
	rd := e.Ready()
	require.Nil(t, rd.Decision)
	want := Notification{State: Looking, Vote: Vote{2, MakeZxid(1, 4), 1}, ElectionEpoch: 1, ConfigVersion: 7}
	require.Equal(t, []Message{{From: 2, To: 1, Body: want}, {From: 2, To: 3, Body: want}}, rd.Send)
	assert.Equal(t, Looking, e.State())
	assert.Equal(t, int64(1), e.Round())
	assert.Empty(t, e.Ready().Send, "Ready clears what it returned")

	e.Start(MakeZxid(1, 4), 1, 1000)
	assert.Equal(t, int64(2), e.Round(), "each Start is a new round")
}

func TestStepBeforeStartIsIgnored(t *testing.T) {
	e := newTestElection(1, 1, 2, 3)
	e.Step(2, looking(Vote{2, 9, 9}, 4), 0)
	e.Tick(100000)
	rd := e.Ready()
	assert.Empty(t, rd.Send)
	assert.Nil(t, rd.Decision)
}

func TestRounds(t *testing.T) {
	own := Vote{1, MakeZxid(2, 5), 2}
	better := Vote{3, MakeZxid(2, 9), 2}
	worse := Vote{2, MakeZxid(1, 9), 1}
	for _, tc := range []struct {
		name      string
		from      int64
		n         Notification
		wantRound int64
		wantVote  Vote
		wantTo    map[int64]int // notifications sent, by recipient
	}{
		{"higher round with a better vote is adopted with that vote", 3, looking(better, 5), 5, better, map[int64]int{2: 1, 3: 1}},
		{"higher round with a worse vote is adopted with our own vote", 2, looking(worse, 5), 5, own, map[int64]int{2: 1, 3: 1}},
		{"lower round is ignored but the peer is told our vote", 3, looking(better, 0), 1, own, map[int64]int{3: 1}},
		{"same round, better vote is adopted and re-broadcast", 3, looking(better, 1), 1, better, map[int64]int{2: 1, 3: 1}},
		{"same round, worse vote: ours is told to that peer alone", 2, looking(worse, 1), 1, own, map[int64]int{2: 1}},
		{"a vote for a non-voter is ignored", 3, looking(Vote{9, MakeZxid(9, 9), 9}, 1), 1, own, map[int64]int{}},
		{"a non-voter's vote is ignored; it is answered", 9, looking(Vote{9, MakeZxid(9, 9), 9}, 8), 1, own, map[int64]int{9: 1}},
		{"a FOLLOWING report of another round does not move us", 3, Notification{State: Following, Vote: better, ElectionEpoch: 7}, 1, own, map[int64]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestElection(1, 1, 2, 3)
			e.Start(own.Zxid, own.PeerEpoch, 0)
			e.Ready()
			e.Step(tc.from, tc.n, 10)
			rd := e.Ready()
			assert.Nil(t, rd.Decision)
			assert.Equal(t, tc.wantRound, e.Round())
			assert.Equal(t, tc.wantVote, e.Vote())
			got := map[int64]int{}
			for _, m := range rd.Send {
				got[m.To]++
				n := m.Body.(Notification)
				assert.Equal(t, Looking, n.State)
				assert.Equal(t, tc.wantVote, n.Vote)
				assert.Equal(t, tc.wantRound, n.ElectionEpoch)
			}
			assert.Equal(t, tc.wantTo, got)
		})
	}
}

func TestHigherRoundClearsVotes(t *testing.T) {
	// Node 1 has node 2's agreeing vote in round 1; round 2 arrives from
	// node 3 with a worse vote: the round-1 vote must not count in round 2.
	e := newTestElection(1, 1, 2, 3, 4, 5)
	own := Vote{1, 10, 1}
	e.Start(own.Zxid, own.PeerEpoch, 0)
	e.Step(2, looking(own, 1), 1)
	e.Step(3, looking(Vote{3, 5, 1}, 2), 2)
	e.Step(4, looking(own, 2), 3)
	e.Tick(1000)
	assert.Nil(t, e.Ready().Decision, "only 1 and 4 vote for 1 in round 2")
	e.Step(2, looking(own, 2), 1001)
	e.Tick(1100)
	assert.Nil(t, e.Ready().Decision, "quorum reached at 1001; waiting")
	e.Tick(1201)
	d := e.Ready().Decision
	require.NotNil(t, d)
	assert.Equal(t, Decision{Leader: 1, State: Leading, Vote: own, ElectionEpoch: 2}, *d)
}

func TestFinalizeWait(t *testing.T) {
	mine := Vote{3, 20, 1}
	t.Run("decides after a quiet wait", func(t *testing.T) {
		e := newTestElection(3, 1, 2, 3)
		e.Start(mine.Zxid, mine.PeerEpoch, 0)
		e.Step(1, looking(mine, 1), 50)
		e.Tick(249)
		assert.Nil(t, e.Ready().Decision)
		e.Step(2, looking(Vote{2, 1, 1}, 1), 240) // not better: the wait starts over
		e.Tick(439)
		assert.Nil(t, e.Ready().Decision)
		e.Tick(440)
		d := e.Ready().Decision
		require.NotNil(t, d)
		assert.Equal(t, Decision{Leader: 3, State: Leading, Vote: mine, ElectionEpoch: 1}, *d)
		assert.Equal(t, Leading, e.State())
	})
	t.Run("a better vote during the wait wins", func(t *testing.T) {
		e := newTestElection(2, 1, 2, 3)
		e.Start(10, 1, 0)
		e.Step(1, looking(Vote{2, 10, 1}, 1), 10)
		e.Step(3, looking(Vote{3, 30, 1}, 1), 100)
		rd := e.Ready()
		assert.Nil(t, rd.Decision)
		assert.Equal(t, Vote{3, 30, 1}, e.Vote())
		assert.Len(t, sentTo(rd.Send, 1), 2, "start, then the adopted vote")
		e.Tick(1000)
		d := e.Ready().Decision
		require.NotNil(t, d)
		assert.Equal(t, int64(3), d.Leader, "2 and 3 now vote for 3")
	})
	t.Run("follows once the better vote has a quorum", func(t *testing.T) {
		e := newTestElection(2, 1, 2, 3)
		e.Start(10, 1, 0)
		e.Step(1, looking(Vote{2, 10, 1}, 1), 10)
		e.Step(3, looking(Vote{3, 30, 1}, 1), 100)
		e.Tick(299)
		assert.Nil(t, e.Ready().Decision)
		e.Tick(300)
		d := e.Ready().Decision
		require.NotNil(t, d)
		assert.Equal(t, Decision{Leader: 3, State: Following, Vote: Vote{3, 30, 1}, ElectionEpoch: 1}, *d)
	})
}

func TestSingleVoterElectsItself(t *testing.T) {
	e := newTestElection(1, 1)
	e.Start(5, 1, 0)
	rd := e.Ready()
	assert.Empty(t, rd.Send)
	e.Tick(200)
	d := e.Ready().Decision
	require.NotNil(t, d)
	assert.Equal(t, Leading, d.State)
}

func TestBackoff(t *testing.T) {
	e := newTestElection(1, 1, 2, 3)
	e.Start(0, 0, 0)
	var at []int64
	if len(e.Ready().Send) > 0 {
		at = append(at, 0)
	}
	for now := int64(1); now <= 300000; now++ {
		e.Tick(now)
		rd := e.Ready()
		require.Nil(t, rd.Decision)
		if len(rd.Send) > 0 {
			require.Len(t, rd.Send, 2, "to both other voters")
			at = append(at, now)
		}
	}
	var gaps []int64
	for i := 1; i < len(at); i++ {
		gaps = append(gaps, at[i]-at[i-1])
	}
	want := []int64{200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000, 60000}
	require.GreaterOrEqual(t, len(gaps), len(want))
	assert.Equal(t, want, gaps[:len(want)])

	t.Run("news resets the quiet period, not the interval", func(t *testing.T) {
		e := newTestElection(1, 1, 2, 3)
		e.Start(5, 1, 0)
		e.Tick(200) // resend; interval now 400
		e.Ready()
		e.Step(2, looking(Vote{2, 0, 1}, 1), 500) // a worse vote: news, but no quorum
		assert.Len(t, e.Ready().Send, 1, "our better vote goes back to that peer at once")
		e.Tick(899)
		assert.Empty(t, e.Ready().Send)
		e.Tick(900)
		assert.Len(t, e.Ready().Send, 2)
		e.Tick(1699)
		assert.Empty(t, e.Ready().Send)
		e.Tick(1700)
		assert.Len(t, e.Ready().Send, 2)
	})
	t.Run("custom bounds", func(t *testing.T) {
		e := NewElection(ElectionConfig{Self: 1, Voters: []int64{1, 2}, MinNotificationIntervalMs: 50, MaxNotificationIntervalMs: 120})
		e.Start(0, 0, 0)
		e.Ready()
		var at []int64
		for now := int64(1); now <= 500; now++ {
			e.Tick(now)
			if len(e.Ready().Send) > 0 {
				at = append(at, now)
			}
		}
		assert.Equal(t, []int64{50, 150, 270, 390}, at)
	})
}

func TestSettledAnswersLookingPeers(t *testing.T) {
	e := newTestElection(2, 1, 2, 3)
	e.Start(10, 1, 0)
	e.Ready()
	leader := Vote{3, 30, 2}
	e.Settled(Following, leader, 4)
	assert.Equal(t, Following, e.State())
	assert.Equal(t, leader, e.Vote())
	assert.Equal(t, int64(4), e.Round())

	e.Step(1, looking(Vote{1, 50, 9}, 1), 10)
	rd := e.Ready()
	require.Equal(t, []Message{{From: 2, To: 1, Body: Notification{State: Following, Vote: leader, ElectionEpoch: 4}}}, rd.Send)

	e.Step(3, Notification{State: Leading, Vote: leader, ElectionEpoch: 4}, 20)
	e.Tick(1e6)
	assert.Empty(t, e.Ready().Send, "settled members answer only LOOKING peers and do not resend")

	e.Step(9, looking(noVote, 1), 30)
	assert.Len(t, e.Ready().Send, 1, "a LOOKING observer is answered")
	e.Step(9, Notification{State: Observing, Vote: leader, ElectionEpoch: 4}, 30)
	assert.Empty(t, e.Ready().Send, "an OBSERVING one is not")

	e.Settled(Looking, leader, 5)
	assert.Equal(t, Following, e.State(), "Settled(Looking) does nothing")
}

func TestLateJoinerFollowsReports(t *testing.T) {
	leader := Vote{1, MakeZxid(3, 0), 3} // epoch updated after discovery
	following := func(v Vote, r int64) Notification { return Notification{State: Following, Vote: v, ElectionEpoch: r} }
	leading := func(v Vote, r int64) Notification { return Notification{State: Leading, Vote: v, ElectionEpoch: r} }
	t.Run("other round: needs a quorum and the leader itself", func(t *testing.T) {
		e := newTestElection(5, 1, 2, 3, 4, 5)
		e.Start(MakeZxid(2, 99), 2, 0) // a better vote than the leader's
		e.Step(2, following(leader, 7), 1)
		e.Step(3, following(Vote{1, MakeZxid(2, 40), 3}, 6), 2) // zxid and round differ: still agrees
		e.Step(4, following(leader, 7), 3)
		assert.Nil(t, e.Ready().Decision, "a quorum reports 1, but 1 has not said it leads")
		e.Step(1, leading(leader, 7), 4)
		d := e.Ready().Decision
		require.NotNil(t, d)
		assert.Equal(t, Decision{Leader: 1, State: Following, Vote: leader, ElectionEpoch: 7}, *d)
		assert.Equal(t, int64(7), e.Round())
	})
	t.Run("a leader without a quorum is not followed", func(t *testing.T) {
		e := newTestElection(5, 1, 2, 3, 4, 5)
		e.Start(0, 0, 0)
		e.Step(1, leading(leader, 7), 1)
		e.Step(2, following(leader, 7), 2)
		e.Step(3, following(Vote{1, leader.Zxid, 2}, 7), 3) // an older epoch of 1's: not the same leadership
		e.Tick(100000)
		assert.Nil(t, e.Ready().Decision)
		assert.Equal(t, Looking, e.State())
	})
	t.Run("same round: decided from this round's votes", func(t *testing.T) {
		e := newTestElection(3, 1, 2, 3)
		e.Start(0, 0, 0)
		e.Step(1, leading(leader, 1), 1)
		d := e.Ready().Decision
		require.Nil(t, d, "one report is not a quorum")
		e.Step(2, following(leader, 1), 2)
		d = e.Ready().Decision
		require.NotNil(t, d)
		assert.Equal(t, Following, d.State)
		assert.Equal(t, int64(1), d.Leader)
	})
	t.Run("reports naming us lead only in our own round", func(t *testing.T) {
		me := Vote{3, 0, 0}
		e := newTestElection(3, 1, 2, 3)
		e.Start(0, 0, 0) // round 1
		e.Step(1, following(me, 4), 1)
		e.Step(2, following(me, 4), 2)
		assert.Nil(t, e.Ready().Decision)
		e.Step(1, following(me, 1), 3)
		e.Step(2, following(me, 1), 4)
		d := e.Ready().Decision
		require.NotNil(t, d)
		assert.Equal(t, Leading, d.State)
	})
}

func TestObserverElection(t *testing.T) {
	t.Run("observer votes for nobody and talks only to voters", func(t *testing.T) {
		e := NewElection(ElectionConfig{Self: 9, Voters: []int64{1, 2, 3, 9}, Observer: true})
		e.Start(MakeZxid(9, 9), 9, 0)
		rd := e.Ready()
		require.Len(t, rd.Send, 3)
		for _, m := range rd.Send {
			assert.NotEqual(t, int64(9), m.To)
			assert.Equal(t, noVote, m.Body.(Notification).Vote)
		}
		// A voter in an older round is not answered by a non-voter.
		e.Step(1, looking(Vote{1, 0, 0}, 0), 1)
		assert.Empty(t, e.Ready().Send)
	})
	t.Run("observer observes what a quorum of voters votes", func(t *testing.T) {
		e := NewElection(ElectionConfig{Self: 9, Voters: []int64{1, 2, 3}, Observer: true})
		e.Start(MakeZxid(9, 9), 9, 0)
		e.Ready()
		v := Vote{3, 7, 1}
		e.Step(1, looking(v, 2), 10)
		e.Tick(1000)
		assert.Nil(t, e.Ready().Decision, "one voter is no quorum; the observer itself does not count")
		e.Step(2, looking(v, 2), 1001)
		e.Tick(1201)
		d := e.Ready().Decision
		require.NotNil(t, d)
		assert.Equal(t, Decision{Leader: 3, State: Observing, Vote: v, ElectionEpoch: 2}, *d)
	})
	t.Run("voters ignore observer votes and votes for observers", func(t *testing.T) {
		e := newTestElection(1, 1, 2, 3)
		own := Vote{1, 5, 1}
		e.Start(own.Zxid, own.PeerEpoch, 0)
		e.Ready()
		e.Step(9, looking(Vote{9, 100, 100}, 1), 1)
		e.Step(2, looking(Vote{9, 100, 100}, 1), 2)
		e.Step(9, Notification{State: Leading, Vote: Vote{9, 100, 100}, ElectionEpoch: 1}, 3)
		e.Tick(10000)
		rd := e.Ready()
		assert.Nil(t, rd.Decision)
		assert.Equal(t, own, e.Vote())
		assert.Len(t, sentTo(rd.Send, 9), 1, "the LOOKING observer is answered once")
	})
}

// --- simulated ensembles ---

type simMember struct {
	id       int64
	observer bool
	e        *Election
	init     Vote  // its own candidacy (zxid, epoch)
	startAt  int64 // notYet: not scheduled
	started  bool
	late     bool // starts after a leader is established

	decision  *Decision // the latest, while not established
	decidedAt int64
	decisions int
	est       bool // joined the established leadership
}

type inflight struct {
	at, seq int64
	m       Message
}

type simOpts struct {
	voters    int
	observer  bool
	maxDelay  int64   // per message, 1..maxDelay ms
	drop, dup float64 // per message
	startJit  int64   // members start at 0..startJit ms
	late      int64   // if >0, the best voter (and the observer) start this long after a leader is established
	minority  int     // voters cut off from the rest (both ways)
	initLimit int64   // ms a decided member waits for its leader before looking again
}

type sim struct {
	seed    int64
	opts    simOpts
	rng     *rand.Rand
	now     int64
	members []*simMember
	byID    map[int64]*simMember
	voters  []int64
	cut     map[int64]bool // members on the minority side
	queue   []inflight
	seq     int64

	leader    int64 // established leader, 0 before
	leaderVot Vote
	estAt     int64
	restarts  int
	log       []string // decisions, for the determinism check
	trace     func(now int64, m Message)
}

func newSim(seed int64, o simOpts) *sim {
	s := &sim{seed: seed, opts: o, rng: rand.New(rand.NewSource(seed)), byID: map[int64]*simMember{}, cut: map[int64]bool{}}
	if s.opts.initLimit == 0 {
		s.opts.initLimit = 2000
	}
	for i := 1; i <= o.voters; i++ {
		s.voters = append(s.voters, int64(i))
	}
	ids := slices.Clone(s.voters)
	if o.observer {
		ids = append(ids, 100)
	}
	for _, id := range ids {
		// Few distinct epochs and zxids, so ties on (epoch, zxid) are common.
		epoch := int64(1 + s.rng.Intn(2))
		zxid := MakeZxid(epoch, int64(s.rng.Intn(3)))
		m := &simMember{id: id, observer: id == 100, init: Vote{id, zxid, epoch}, startAt: s.rng.Int63n(o.startJit + 1)}
		m.e = NewElection(ElectionConfig{Self: id, Voters: s.voters, Observer: m.observer})
		s.members = append(s.members, m)
		s.byID[id] = m
	}
	if o.late > 0 {
		for _, m := range s.members {
			if m.id == s.best(s.voters) || m.observer {
				m.late, m.startAt = true, notYet
			}
		}
	}
	perm := s.rng.Perm(o.voters)
	for _, i := range perm[:o.minority] {
		s.cut[s.voters[i]] = true
	}
	return s
}

// best is the voter with the best own vote among ids.
func (s *sim) best(ids []int64) int64 {
	var b *simMember
	for _, id := range ids {
		m := s.byID[id]
		if !m.observer && (b == nil || m.init.Beats(b.init)) {
			b = m
		}
	}
	return b.id
}

func (s *sim) linked(a, b int64) bool { return s.cut[a] == s.cut[b] }

func (s *sim) flush(m *simMember) error {
	rd := m.e.Ready()
	for _, msg := range rd.Send {
		if msg.From != m.id || msg.To == m.id {
			return fmt.Errorf("member %d sent %d->%d", m.id, msg.From, msg.To)
		}
		if !s.linked(msg.From, msg.To) || s.rng.Float64() < s.opts.drop {
			continue
		}
		copies := 1
		if s.rng.Float64() < s.opts.dup {
			copies = 2
		}
		for range copies {
			s.seq++
			s.queue = append(s.queue, inflight{at: s.now + 1 + s.rng.Int63n(s.opts.maxDelay), seq: s.seq, m: msg})
		}
	}
	if d := rd.Decision; d != nil {
		if d.Leader == 100 || !slices.Contains(s.voters, d.Leader) {
			return fmt.Errorf("member %d elected non-voter %d", m.id, d.Leader)
		}
		wantState := Following
		switch {
		case m.observer:
			wantState = Observing
		case d.Leader == m.id:
			wantState = Leading
		}
		if d.State != wantState {
			return fmt.Errorf("member %d decided %v for leader %d", m.id, d.State, d.Leader)
		}
		if m.est {
			return fmt.Errorf("member %d decided again (%d) after joining leader %d", m.id, d.Leader, s.leader)
		}
		m.decision, m.decidedAt = d, s.now
		m.decisions++
		s.log = append(s.log, fmt.Sprintf("%d: %d %v %d r%d", s.now, m.id, d.State, d.Leader, d.ElectionEpoch))
	}
	return nil
}

// discover stands in for discovery and sync: a leader that a connected
// quorum decided to follow becomes established, and its followers settle
// on its vote with the new epoch; a member whose leader does not get
// established within initLimit looks again.
func (s *sim) discover() error {
	for _, l := range s.members {
		if l.decision == nil || l.decision.State != Leading || l.id == s.leader {
			continue
		}
		var group []*simMember
		for _, m := range s.members {
			if m.decision != nil && m.decision.Leader == l.id && s.linked(m.id, l.id) {
				group = append(group, m)
			}
		}
		if !isMajority(s.voters, func(id int64) bool {
			return slices.ContainsFunc(group, func(m *simMember) bool { return m.id == id })
		}) {
			continue
		}
		if s.leader != 0 {
			return fmt.Errorf("leaders %d and %d both have a quorum", s.leader, l.id)
		}
		newEpoch := int64(0)
		for _, m := range group {
			newEpoch = max(newEpoch, m.init.PeerEpoch)
		}
		s.leader, s.estAt = l.id, s.now
		for _, m := range s.members {
			if m.late {
				m.startAt = s.now + s.opts.late
			}
		}
		s.leaderVot = Vote{l.id, l.init.Zxid, newEpoch + 1}
	}
	for _, m := range s.members {
		if m.decision == nil || m.est {
			continue
		}
		if s.leader != 0 && m.decision.Leader == s.leader && s.linked(m.id, s.leader) {
			m.e.Settled(m.decision.State, s.leaderVot, m.decision.ElectionEpoch)
			m.est = true
			continue
		}
		if s.now-m.decidedAt >= s.opts.initLimit {
			m.decision = nil
			s.restarts++
			m.e.Start(m.init.Zxid, m.init.PeerEpoch, s.now)
			if err := s.flush(m); err != nil {
				return err
			}
		}
	}
	return nil
}

const (
	simTickMs = 10
	notYet    = math.MaxInt64 // a member's start time before it is scheduled
)

// run drives the ensemble until every member the majority side holds has
// joined the established leader and the network is quiet, or until limit.
func (s *sim) run(limit int64) error {
	nextTick := int64(0)
	for s.now <= limit {
		for _, m := range s.members {
			if !m.started && m.startAt <= s.now {
				m.started = true
				m.e.Start(m.init.Zxid, m.init.PeerEpoch, s.now)
				if err := s.flush(m); err != nil {
					return err
				}
			}
		}
		slices.SortFunc(s.queue, func(a, b inflight) int {
			if a.at != b.at {
				return int(a.at - b.at)
			}
			return int(a.seq - b.seq)
		})
		for len(s.queue) > 0 && s.queue[0].at <= s.now {
			in := s.queue[0]
			s.queue = s.queue[1:]
			to := s.byID[in.m.To]
			if !to.started {
				// The sender's connection waits until the peer is up.
				if to.startAt != notYet {
					in.at = to.startAt
					s.queue = append(s.queue, in)
				}
				continue
			}
			if s.trace != nil {
				s.trace(s.now, in.m)
			}
			to.e.Step(in.m.From, in.m.Body.(Notification), s.now)
			if err := s.flush(to); err != nil {
				return err
			}
		}
		if s.now >= nextTick {
			for _, m := range s.members {
				if m.started {
					m.e.Tick(s.now)
					if err := s.flush(m); err != nil {
						return err
					}
				}
			}
			nextTick = s.now + simTickMs
		}
		if err := s.discover(); err != nil {
			return err
		}
		if s.done() {
			return nil
		}
		next := nextTick
		for _, m := range s.members {
			if !m.started {
				next = min(next, m.startAt)
			}
		}
		for _, in := range s.queue {
			next = min(next, in.at)
		}
		s.now = max(next, s.now+1)
	}
	return fmt.Errorf("not settled by %d ms (leader %d, restarts %d)", limit, s.leader, s.restarts)
}

func (s *sim) done() bool {
	if s.leader == 0 || len(s.queue) > 0 {
		return false
	}
	for _, m := range s.members {
		if !m.started || (!s.cut[m.id] && !m.est) {
			return false
		}
	}
	return true
}

// check asserts the outcome after run: one leader, which every member of
// the majority side follows; nobody on the minority side ever decided; the
// leader is as good as a quorum's own votes, and the best of the majority
// side when the network loses nothing.
func (s *sim) check(wantBest bool) error {
	var majority []int64
	for _, id := range s.voters {
		if !s.cut[id] {
			majority = append(majority, id)
		}
	}
	if wantBest {
		b := s.best(majority)
		if s.opts.late > 0 {
			b = s.best(slices.DeleteFunc(slices.Clone(majority), func(id int64) bool { return s.byID[id].late }))
		}
		if s.leader != b {
			return fmt.Errorf("elected %d, want %d", s.leader, b)
		}
	}
	lv := s.byID[s.leader].init
	if !isMajority(s.voters, func(id int64) bool { return !s.byID[id].init.Beats(lv) }) {
		return fmt.Errorf("leader %d %v is worse than a majority's own votes", s.leader, lv)
	}
	for _, m := range s.members {
		if s.cut[m.id] {
			if m.decisions > 0 || m.e.State() != Looking {
				return fmt.Errorf("minority member %d decided", m.id)
			}
			continue
		}
		want := Following
		switch {
		case m.observer:
			want = Observing
		case m.id == s.leader:
			want = Leading
		}
		if m.e.State() != want || m.e.Vote() != s.leaderVot {
			return fmt.Errorf("member %d is %v with %v, want %v with %v", m.id, m.e.State(), m.e.Vote(), want, s.leaderVot)
		}
	}
	return nil
}

const simSeeds = 500

func TestSimulatedElections(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     simOpts
		wantBest bool
		limit    int64 // simulated ms
	}{
		{"3 voters, reordering and duplicates", simOpts{voters: 3, maxDelay: 80, dup: 0.2, startJit: 50}, true, 5000},
		{"5 voters and an observer, reordering and duplicates", simOpts{voters: 5, observer: true, maxDelay: 80, dup: 0.2, startJit: 50}, true, 5000},
		{"5 voters and an observer, 2 cut off", simOpts{voters: 5, observer: true, maxDelay: 80, dup: 0.2, startJit: 50, minority: 2}, true, 5000},
		{"3 voters and an observer, 1 cut off", simOpts{voters: 3, observer: true, maxDelay: 80, dup: 0.2, startJit: 50, minority: 1}, true, 5000},
		{"3 voters and an observer, lossy", simOpts{voters: 3, observer: true, maxDelay: 150, drop: 0.2, dup: 0.2, startJit: 300}, false, 300000},
		{"5 voters and an observer, lossy", simOpts{voters: 5, observer: true, maxDelay: 150, drop: 0.2, dup: 0.2, startJit: 300}, false, 300000},
		{"5 voters and an observer, lossy, 2 cut off", simOpts{voters: 5, observer: true, maxDelay: 150, drop: 0.2, dup: 0.2, startJit: 300, minority: 2}, false, 300000},
		{"late best voter and observer join an established leader", simOpts{voters: 5, observer: true, maxDelay: 80, dup: 0.2, startJit: 50, late: 5000}, true, 10000},
		{"3 voters, late best voter joins an established leader", simOpts{voters: 3, maxDelay: 80, dup: 0.2, startJit: 50, late: 1000}, true, 5000},
		{"3 voters, late best voter joins, lossy", simOpts{voters: 3, maxDelay: 150, drop: 0.2, dup: 0.2, startJit: 50, late: 5000}, false, 300000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var worst int64
			for seed := int64(1); seed <= simSeeds; seed++ {
				s := newSim(seed, tc.opts)
				require.NoError(t, s.run(tc.limit), "seed %d\n%v", seed, s.log)
				require.NoError(t, s.check(tc.wantBest), "seed %d\n%v", seed, s.log)
				for _, m := range s.members {
					if !m.late {
						continue
					}
					require.Equal(t, 1, m.decisions, "seed %d: late member %d decided once", seed, m.id)
					require.NotEqual(t, Leading, m.decision.State, "seed %d: late member %d leads", seed, m.id)
					for _, o := range s.members {
						if !o.late {
							require.Less(t, o.decidedAt, m.startAt, "seed %d: member %d decided again after late member %d came", seed, o.id, m.id)
						}
					}
				}
				worst = max(worst, s.now)
			}
			t.Logf("%d seeds, slowest settled at %d simulated ms", simSeeds, worst)
		})
	}
}

func TestSimulationIsDeterministic(t *testing.T) {
	o := simOpts{voters: 5, observer: true, maxDelay: 150, drop: 0.2, dup: 0.2, startJit: 300}
	a, b := newSim(42, o), newSim(42, o)
	require.NoError(t, a.run(60000))
	require.NoError(t, b.run(60000))
	assert.Equal(t, a.log, b.log)
	assert.Equal(t, a.now, b.now)
}

func TestNoQuorumNoDecision(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts simOpts
	}{
		{"one voter of three and an observer", simOpts{voters: 3, observer: true, maxDelay: 50, minority: 1}},
		{"two voters of five and an observer", simOpts{voters: 5, observer: true, maxDelay: 50, minority: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := int64(1); seed <= 20; seed++ {
				s := newSim(seed, tc.opts)
				// Only the minority side runs, and the observer with it: it
				// must not make the minority a quorum.
				s.cut[100] = true
				for _, m := range s.members {
					if !s.cut[m.id] {
						m.startAt = notYet
					}
				}
				require.Error(t, s.run(120000), "seed %d", seed)
				for _, m := range s.members {
					assert.Zero(t, m.decisions, "seed %d: member %d decided", seed, m.id)
				}
			}
		})
	}
}
