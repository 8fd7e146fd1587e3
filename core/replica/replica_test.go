package replica

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
)

// out is one thing the replica told a connection.
type out struct {
	conn    ConnID
	hdr     proto.ReplyHeader
	body    proto.Record
	connect *proto.ConnectResponse
	close   bool
}

type recSink struct{ outs []out }

func (s *recSink) Connected(c ConnID, r *proto.ConnectResponse) {
	s.outs = append(s.outs, out{conn: c, connect: r})
}
func (s *recSink) Send(c ConnID, h proto.ReplyHeader, b proto.Record) {
	s.outs = append(s.outs, out{conn: c, hdr: h, body: b})
}
func (s *recSink) Close(c ConnID) { s.outs = append(s.outs, out{conn: c, close: true}) }

func (s *recSink) take() []out {
	o := s.outs
	s.outs = nil
	return o
}

type harness struct {
	t    *testing.T
	r    *Replica
	sink *recSink
	now  int64
}

func newHarness(t *testing.T, cfg Config) *harness {
	if cfg.Secret == nil {
		cfg.Secret = []byte("test-secret")
	}
	if cfg.TickMs == 0 {
		cfg.TickMs = 2000
	}
	s := &recSink{}
	return &harness{t: t, r: New(cfg, s, 1_000_000), sink: s, now: 1_000_000}
}

// commit persists everything proposed so far, like a standalone server.
func (h *harness) commit() {
	props := h.r.TakeProposals()
	if len(props) > 0 {
		h.r.Persisted(props[len(props)-1].Header.Zxid, h.now)
	}
}

func (h *harness) connect(c ConnID, req *proto.ConnectRequest) *proto.ConnectResponse {
	h.r.Connect(c, req, "127.0.0.1", h.now)
	h.commit()
	for _, o := range h.sink.take() {
		if o.conn == c && o.connect != nil {
			return o.connect
		}
	}
	return nil
}

func (h *harness) session(c ConnID) *proto.ConnectResponse {
	resp := h.connect(c, &proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)})
	require.NotNil(h.t, resp)
	require.NotZero(h.t, resp.SessionID)
	return resp
}

func (h *harness) do(c ConnID, xid int32, op proto.OpCode, rec proto.Record) {
	h.r.Request(c, proto.RequestHeader{Xid: xid, Type: op}, rec, h.now)
}

func TestCreateSessionWaitsForCommit(t *testing.T) {
	h := newHarness(t, Config{})
	h.r.Connect(1, &proto.ConnectRequest{TimeOut: 1000, Passwd: make([]byte, 16), HasReadOnly: true}, "127.0.0.1", h.now)
	assert.Empty(t, h.sink.take(), "no handshake reply before the createSession txn is durable")
	h.commit()
	outs := h.sink.take()
	require.Len(t, outs, 1)
	resp := outs[0].connect
	require.NotNil(t, resp)
	assert.Equal(t, int32(4000), resp.TimeOut, "clamped to 2 ticks")
	assert.Len(t, resp.Passwd, 16)
	assert.True(t, resp.HasReadOnly, "readOnly echoed only when the client sent it")
	assert.Equal(t, int64(1), h.r.LastApplied())
}

func TestReadWaitsBehindOwnWrite(t *testing.T) {
	h := newHarness(t, Config{})
	h.session(1)
	h.do(1, 1, proto.OpCreate, &proto.CreateRequest{Path: "/a", Data: []byte("x"), ACL: proto.OpenACLUnsafe})
	h.do(1, 2, proto.OpGetData, &proto.GetDataRequest{Path: "/a"})
	assert.Empty(t, h.sink.take(), "the read must wait for the session's pending write")
	h.commit()
	outs := h.sink.take()
	require.Len(t, outs, 2)
	assert.Equal(t, int32(1), outs[0].hdr.Xid)
	assert.Equal(t, "/a", outs[0].body.(*proto.CreateResponse).Path)
	assert.Equal(t, int32(2), outs[1].hdr.Xid)
	assert.Equal(t, proto.OK, outs[1].hdr.Err)
	assert.Equal(t, []byte("x"), outs[1].body.(*proto.GetDataResponse).Data)
}

func TestOtherSessionDoesNotSeeUncommittedWrite(t *testing.T) {
	h := newHarness(t, Config{})
	h.session(1)
	h.session(2)
	h.do(1, 1, proto.OpCreate, &proto.CreateRequest{Path: "/a", ACL: proto.OpenACLUnsafe})
	h.do(2, 1, proto.OpExists, &proto.ExistsRequest{Path: "/a"})
	outs := h.sink.take()
	require.Len(t, outs, 1)
	assert.Equal(t, ConnID(2), outs[0].conn)
	assert.Equal(t, proto.ErrNoNode, outs[0].hdr.Err, "reads see only applied state")
	// A conflicting write from session 2 sees the pending create, but its
	// error reply waits until that create is durable.
	h.do(2, 2, proto.OpCreate, &proto.CreateRequest{Path: "/a", ACL: proto.OpenACLUnsafe})
	assert.Empty(t, h.sink.take())
	h.commit()
	outs = h.sink.take()
	require.Len(t, outs, 2)
	assert.Equal(t, ConnID(1), outs[0].conn)
	assert.Equal(t, ConnID(2), outs[1].conn)
	assert.Equal(t, proto.ErrNodeExists, outs[1].hdr.Err)
}

func TestWatchNotificationBeforeLaterReply(t *testing.T) {
	h := newHarness(t, Config{})
	h.session(1)
	h.session(2)
	h.do(1, 1, proto.OpCreate, &proto.CreateRequest{Path: "/w", ACL: proto.OpenACLUnsafe})
	h.commit()
	h.sink.take()
	h.do(2, 1, proto.OpGetData, &proto.GetDataRequest{Path: "/w", Watch: true})
	h.sink.take()
	h.do(1, 2, proto.OpSetData, &proto.SetDataRequest{Path: "/w", Data: []byte("v"), Version: -1})
	h.commit()
	h.do(2, 2, proto.OpGetData, &proto.GetDataRequest{Path: "/w"})
	var conn2 []out
	for _, o := range h.sink.take() {
		if o.conn == 2 {
			conn2 = append(conn2, o)
		}
	}
	require.Len(t, conn2, 2)
	assert.Equal(t, proto.XidNotification, conn2[0].hdr.Xid)
	ev := conn2[0].body.(*proto.WatcherEvent)
	assert.Equal(t, proto.EventNodeDataChanged, ev.Type)
	assert.Equal(t, "/w", ev.Path)
	assert.Equal(t, []byte("v"), conn2[1].body.(*proto.GetDataResponse).Data)
}

func TestResumeSessionAndMoveOwnership(t *testing.T) {
	h := newHarness(t, Config{})
	resp := h.session(1)
	got := h.connect(2, &proto.ConnectRequest{TimeOut: 10000, SessionID: resp.SessionID, Passwd: resp.Passwd})
	require.NotNil(t, got)
	assert.Equal(t, resp.SessionID, got.SessionID)
	// The old connection was told to close.
	h.r.Connect(3, &proto.ConnectRequest{TimeOut: 10000, SessionID: resp.SessionID, Passwd: resp.Passwd}, "127.0.0.1", h.now)
	outs := h.sink.take()
	var closed2 bool
	for _, o := range outs {
		if o.conn == 2 && o.close {
			closed2 = true
		}
	}
	assert.True(t, closed2, "session ownership moves to the newest connection")
}

func TestBadPasswordGetsExpiredReply(t *testing.T) {
	h := newHarness(t, Config{})
	resp := h.session(1)
	bad := append([]byte(nil), resp.Passwd...)
	bad[0] ^= 1
	h.r.Connect(2, &proto.ConnectRequest{TimeOut: 10000, SessionID: resp.SessionID, Passwd: bad}, "127.0.0.1", h.now)
	outs := h.sink.take()
	require.Len(t, outs, 2)
	assert.Equal(t, int32(0), outs[0].connect.TimeOut)
	assert.Equal(t, int64(0), outs[0].connect.SessionID)
	assert.Equal(t, make([]byte, 16), outs[0].connect.Passwd)
	assert.True(t, outs[1].close)
}

func TestClientAheadOfServerIsRefused(t *testing.T) {
	h := newHarness(t, Config{})
	h.r.Connect(1, &proto.ConnectRequest{LastZxidSeen: 99, TimeOut: 10000, Passwd: make([]byte, 16)}, "127.0.0.1", h.now)
	h.commit()
	outs := h.sink.take()
	require.Len(t, outs, 1)
	assert.True(t, outs[0].close, "closed without a handshake reply")
}

func TestSessionExpiryDeletesEphemeralsAndFiresWatches(t *testing.T) {
	h := newHarness(t, Config{})
	h.session(1)
	h.session(2)
	h.do(1, 1, proto.OpCreate, &proto.CreateRequest{Path: "/e", ACL: proto.OpenACLUnsafe, Flags: proto.ModeEphemeral})
	h.commit()
	h.do(2, 1, proto.OpExists, &proto.ExistsRequest{Path: "/e", Watch: true})
	h.sink.take()
	// Session 2 keeps pinging; session 1 goes silent.
	for i := 0; i < 10; i++ {
		h.now += 2000
		h.do(2, -2, proto.OpPing, nil)
		h.r.Tick(h.now)
		h.commit()
	}
	_, ok := h.r.Tree().Meta("/e")
	assert.False(t, ok, "the expired session's ephemeral is gone")
	var deleted bool
	for _, o := range h.sink.take() {
		if ev, ok := o.body.(*proto.WatcherEvent); ok && o.conn == 2 && ev.Type == proto.EventNodeDeleted && ev.Path == "/e" {
			deleted = true
		}
	}
	assert.True(t, deleted)
	assert.Equal(t, int64(1), h.r.Stats().Expired)
}

func TestFailedMultiReportsPerOpResults(t *testing.T) {
	h := newHarness(t, Config{})
	h.session(1)
	h.do(1, 1, proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: "/m", ACL: proto.OpenACLUnsafe}},
		{Type: proto.OpDelete, Req: &proto.DeleteRequest{Path: "/missing", Version: -1}},
		{Type: proto.OpSetData, Req: &proto.SetDataRequest{Path: "/m", Version: -1}},
	}})
	h.commit()
	outs := h.sink.take()
	require.Len(t, outs, 1)
	assert.Equal(t, proto.OK, outs[0].hdr.Err, "a multi's header carries no error")
	res := outs[0].body.(*proto.MultiResponse).Results
	require.Len(t, res, 3)
	assert.Equal(t, []proto.Code{proto.OK, proto.ErrNoNode, proto.ErrRuntimeInconsistency}, []proto.Code{res[0].Err, res[1].Err, res[2].Err})
	for _, r := range res {
		assert.Equal(t, proto.OpError, r.Type)
	}
	_, ok := h.r.Tree().Meta("/m")
	assert.False(t, ok)
}

func TestUnknownOpcodeClosesConnection(t *testing.T) {
	h := newHarness(t, Config{})
	h.session(1)
	h.do(1, 5, proto.OpCode(999), nil)
	outs := h.sink.take()
	require.Len(t, outs, 2)
	assert.Equal(t, proto.ErrUnimplemented, outs[0].hdr.Err)
	assert.True(t, outs[1].close)
}

func TestAuthFailureClosesConnection(t *testing.T) {
	h := newHarness(t, Config{})
	h.session(1)
	h.do(1, proto.XidAuth, proto.OpAuth, &proto.AuthPacket{Scheme: "nosuch", Auth: []byte("x")})
	outs := h.sink.take()
	require.Len(t, outs, 2)
	assert.Equal(t, proto.ErrAuthFailed, outs[0].hdr.Err)
	assert.True(t, outs[1].close)
}

func TestCloseSessionRepliesThenCloses(t *testing.T) {
	h := newHarness(t, Config{})
	h.session(1)
	h.do(1, 1, proto.OpCreate, &proto.CreateRequest{Path: "/e", ACL: proto.OpenACLUnsafe, Flags: proto.ModeEphemeral})
	h.do(1, 2, proto.OpCloseSession, nil)
	h.commit()
	outs := h.sink.take()
	require.Len(t, outs, 3)
	assert.Equal(t, int32(2), outs[1].hdr.Xid)
	assert.True(t, outs[2].close)
	_, ok := h.r.Tree().Meta("/e")
	assert.False(t, ok)
	assert.Equal(t, 0, h.r.Sessions().Len())
}

func TestReconfigStandalone(t *testing.T) {
	req := &proto.ReconfigRequest{LeavingServers: "1", CurConfigID: -1}
	h := newHarness(t, Config{})
	h.session(1)
	h.do(1, 1, proto.OpReconfig, req)
	outs := h.sink.take()
	require.Len(t, outs, 1)
	assert.Equal(t, proto.ErrReconfigDisabled, outs[0].hdr.Err)

	h = newHarness(t, Config{ReconfigEnabled: true, SuperDigest: "super:g9oN2HttPfn8MMWJZ2r45Np/LIA="})
	h.session(1)
	h.do(1, 1, proto.OpReconfig, req)
	outs = h.sink.take()
	require.Len(t, outs, 1)
	assert.Equal(t, proto.ErrUnimplemented, outs[0].hdr.Err, "ZooKeeper refuses a standalone reconfig before it checks the ACL")
	h.do(1, proto.XidAuth, proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("super:superpw")})
	h.do(1, 2, proto.OpReconfig, req)
	outs = h.sink.take()
	require.Len(t, outs, 2)
	assert.Equal(t, proto.OK, outs[0].hdr.Err)
	assert.Equal(t, proto.ErrUnimplemented, outs[1].hdr.Err, "a standalone server cannot change membership, as in ZooKeeper")
}

// TestReplayRebuildsState records everything one replica persisted and
// replays it into a fresh one, as start-up recovery from the log will.
// logHarness keeps every persisted proposal, as a write-ahead log would.
type logHarness struct {
	*harness
	log []Proposal
}

func newLogHarness(t *testing.T) *logHarness {
	return &logHarness{harness: newHarness(t, Config{})}
}

// commit persists what was proposed, keeping it in the log.
func (h *logHarness) commit() {
	props := h.r.TakeProposals()
	h.log = append(h.log, props...)
	if len(props) > 0 {
		h.r.Persisted(props[len(props)-1].Header.Zxid, h.now)
	}
}

// connect opens a session on connection c and returns its id.
func (h *logHarness) connect(c ConnID) int64 {
	h.r.Connect(c, &proto.ConnectRequest{TimeOut: 6000, Passwd: make([]byte, 16)}, "127.0.0.1", h.now)
	h.commit()
	for _, o := range h.sink.take() {
		if o.connect != nil {
			return o.connect.SessionID
		}
	}
	h.t.Fatal("no session")
	return 0
}

func TestReplayRebuildsState(t *testing.T) {
	lh := newLogHarness(t)
	h, commit, connect := lh.harness, lh.commit, lh.connect
	s1 := connect(1)
	connect(2)
	h.do(1, 1, proto.OpCreate, &proto.CreateRequest{Path: "/a", Data: []byte("x"), ACL: proto.OpenACLUnsafe})
	h.do(1, 2, proto.OpCreate, &proto.CreateRequest{Path: "/a/e", ACL: proto.OpenACLUnsafe, Flags: proto.ModeEphemeralSequential})
	h.do(2, 1, proto.OpSetData, &proto.SetDataRequest{Path: "/a", Data: []byte("y"), Version: -1})
	h.do(2, 2, proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: "/b", ACL: proto.OpenACLUnsafe}},
		{Type: proto.OpDelete, Req: &proto.DeleteRequest{Path: "/b", Version: -1}},
	}})
	h.do(2, 3, proto.OpCloseSession, nil)
	commit()

	fresh := newHarness(t, Config{})
	for _, p := range lh.log {
		require.NoError(t, fresh.r.Replay(p.Header, p.Txn, fresh.now))
	}
	assert.Empty(t, fresh.sink.take(), "replay sends nothing")
	assert.Equal(t, h.r.Tree().Digest(), fresh.r.Tree().Digest(), "the same tree")
	assert.Equal(t, h.r.LastApplied(), fresh.r.LastApplied())
	assert.Equal(t, 1, fresh.r.Sessions().Len(), "the closed session stays closed")
	_, ok := fresh.r.Sessions().Get(s1)
	assert.True(t, ok)
	assert.Equal(t, []string{"/a/e0000000000"}, fresh.r.Tree().Ephemerals(s1))

	// Out-of-order input is refused, and new proposals continue the zxids.
	assert.Error(t, fresh.r.Replay(lh.log[0].Header, lh.log[0].Txn, fresh.now))
	resp := fresh.connect(9, &proto.ConnectRequest{TimeOut: 6000, Passwd: make([]byte, 16)})
	require.NotNil(t, resp)
	assert.Equal(t, h.r.LastApplied()+1, fresh.r.LastApplied(), "the next session's txn follows the replayed log")
	assert.Error(t, fresh.r.Replay(znode.Header{Zxid: 1000}, &znode.CheckTxn{}, fresh.now), "no replay once serving began")

	// The recovered session expires on its own if its client never returns.
	for i := 0; i < 5; i++ {
		fresh.now += 2000
		fresh.do(9, -2, proto.OpPing, nil)
		fresh.r.Tick(fresh.now)
		fresh.commit()
	}
	assert.Empty(t, fresh.r.Tree().Ephemerals(s1), "its ephemerals go with it")
}
