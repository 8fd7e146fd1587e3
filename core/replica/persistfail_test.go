package replica

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

// describe renders the sink's output compactly: "<conn> xid=<xid>
// err=<code>", "<conn> close" or "<conn> connected".
func describe(outs []out) []string {
	var s []string
	for _, o := range outs {
		switch {
		case o.close:
			s = append(s, fmt.Sprintf("%d close", o.conn))
		case o.connect != nil:
			s = append(s, fmt.Sprintf("%d connected", o.conn))
		default:
			s = append(s, fmt.Sprintf("%d xid=%d err=%d", o.conn, o.hdr.Xid, o.hdr.Err))
		}
	}
	return s
}

// failTaken takes the proposals made so far and reports them failed, as
// the server does when the log's disk is full; it returns the first
// abandoned zxid.
func (h *harness) failTaken() int64 {
	h.t.Helper()
	props := h.r.TakeProposals()
	require.NotEmpty(h.t, props)
	from := props[0].Header.Zxid
	h.r.PersistFailed(from, proto.ErrSystemError, h.now)
	return from
}

// commitFirst persists what is proposed and returns its first zxid.
func (h *harness) commitFirst() int64 {
	h.t.Helper()
	props := h.r.TakeProposals()
	require.NotEmpty(h.t, props)
	h.r.Persisted(props[len(props)-1].Header.Zxid, h.now)
	return props[0].Header.Zxid
}

func createReq(path string, flags int32) *proto.CreateRequest {
	return &proto.CreateRequest{Path: path, Data: []byte("d"), ACL: proto.OpenACLUnsafe, Flags: flags}
}

func TestPersistFailed(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"a batch from several sessions, with reads behind the writes", func(t *testing.T, h *harness) {
			h.session(1)
			h.session(2)
			h.session(3)
			h.do(1, 1, proto.OpCreate, createReq("/base", 0))
			h.commit() // zxid 4
			h.sink.take()
			h.do(1, 2, proto.OpCreate, createReq("/a", 0))
			h.do(1, 3, proto.OpGetData, &proto.GetDataRequest{Path: "/base"})
			h.do(2, 1, proto.OpSetData, &proto.SetDataRequest{Path: "/base", Data: []byte("v"), Version: -1})
			h.do(3, 1, proto.OpDelete, &proto.DeleteRequest{Path: "/base", Version: -1})
			h.do(3, 2, proto.OpExists, &proto.ExistsRequest{Path: "/base"})
			assert.Empty(t, h.sink.take(), "everything waits for the batch")
			from := h.failTaken()
			assert.Equal(t, int64(5), from)
			outs := h.sink.take()
			assert.Equal(t, []string{"1 xid=2 err=-1", "1 xid=3 err=0", "2 xid=1 err=-1", "3 xid=1 err=-1", "3 xid=2 err=0"}, describe(outs))
			assert.Equal(t, []byte("d"), outs[1].body.(*proto.GetDataResponse).Data, "the read sees the tree without the failed writes")
			assert.Equal(t, int32(0), outs[4].body.(*proto.ExistsResponse).Stat.Version)
			assert.Equal(t, int64(4), h.r.LastApplied())
			assert.Zero(t, h.r.Outstanding())
			_, ok := h.r.Tree().Meta("/a")
			assert.False(t, ok)

			// Writes resume with the abandoned zxids.
			h.do(1, 4, proto.OpCreate, createReq("/a", 0))
			assert.Equal(t, from, h.commitFirst(), "zxids stay continuous")
			assert.Equal(t, []string{"1 xid=4 err=0"}, describe(h.sink.take()))
		}},
		{"a new session in the failed range is closed without a handshake", func(t *testing.T, h *harness) {
			h.session(1)
			h.do(1, 1, proto.OpCreate, createReq("/a", 0))
			h.r.Connect(2, &proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)}, "127.0.0.1", h.now)
			h.do(1, 2, proto.OpCreate, createReq("/b", 0))
			h.failTaken()
			assert.Equal(t, []string{"1 xid=1 err=-1", "2 close", "1 xid=2 err=-1"}, describe(h.sink.take()))
			assert.Equal(t, 1, h.r.Sessions().Len(), "the session never existed")
			h.session(3)
			assert.Equal(t, int64(2), h.r.LastApplied(), "the next session takes the abandoned zxid")
		}},
		{"sequential and ephemeral creates prepared after the failure point", func(t *testing.T, h *harness) {
			h.session(1)
			s2 := h.session(2)
			h.do(1, 1, proto.OpCreate, createReq("/p", 0))
			h.commit() // zxid 3
			h.sink.take()
			h.do(1, 2, proto.OpCreate, createReq("/p/s-", proto.ModePersistentSequential))
			taken := h.r.TakeProposals() // the batch that fails
			require.Len(t, taken, 1)
			h.do(2, 1, proto.OpCreate, createReq("/p/e-", proto.ModeEphemeralSequential))
			h.do(1, 3, proto.OpCreate, createReq("/p/s-", proto.ModePersistentSequential))
			h.r.PersistFailed(taken[0].Header.Zxid, proto.ErrSystemError, h.now)
			assert.Equal(t, []string{"1 xid=2 err=-1", "2 xid=1 err=-1", "1 xid=3 err=-1"}, describe(h.sink.take()))
			assert.Empty(t, h.r.TakeProposals(), "proposals not yet taken are abandoned too")

			h.do(2, 2, proto.OpCreate, createReq("/p/e-", proto.ModeEphemeralSequential))
			h.do(1, 4, proto.OpCreate, createReq("/p/s-", proto.ModePersistentSequential))
			assert.Equal(t, int64(4), h.commitFirst())
			outs := h.sink.take()
			require.Equal(t, []string{"2 xid=2 err=0", "1 xid=4 err=0"}, describe(outs))
			assert.Equal(t, "/p/e-0000000000", outs[0].body.(*proto.CreateResponse).Path, "failed creates consume no sequence number")
			assert.Equal(t, "/p/s-0000000001", outs[1].body.(*proto.CreateResponse).Path)
			m, ok := h.r.Tree().Meta("/p")
			require.True(t, ok)
			assert.Equal(t, int32(2), m.Stat.NumChildren)
			assert.Equal(t, int32(2), m.CreateCount)
			assert.Equal(t, []string{"/p/e-0000000000"}, h.r.Tree().Ephemerals(s2.SessionID))
		}},
		{"an earlier batch still in flight is kept", func(t *testing.T, h *harness) {
			h.session(1)
			h.do(1, 1, proto.OpCreate, createReq("/x", 0))
			first := h.r.TakeProposals()
			h.do(1, 2, proto.OpCreate, createReq("/y", 0))
			h.do(1, 3, proto.OpCreate, createReq("/x/z", 0))
			assert.Equal(t, int64(3), h.failTaken())
			assert.Empty(t, h.sink.take(), "replies keep their order behind the pending write")
			h.r.Persisted(first[0].Header.Zxid, h.now)
			assert.Equal(t, []string{"1 xid=1 err=0", "1 xid=2 err=-1", "1 xid=3 err=-1"}, describe(h.sink.take()))
			h.do(1, 4, proto.OpCreate, createReq("/x/z", 0))
			assert.Equal(t, int64(3), h.commitFirst())
			assert.Equal(t, []string{"1 xid=4 err=0"}, describe(h.sink.take()))
		}},
		{"errors decided against an abandoned write", func(t *testing.T, h *harness) {
			h.session(1)
			h.session(2)
			h.do(1, 1, proto.OpCreate, createReq("/x", 0))
			h.do(2, 1, proto.OpCreate, createReq("/x", 0)) // NODEEXISTS against the pending create
			h.do(2, 2, proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
				{Type: proto.OpGetData, Req: &proto.GetDataRequest{Path: "/x"}},
			}}) // a read in a multi: an error that depends on nothing pending
			h.do(2, 3, proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
				{Type: proto.OpCreate, Req: createReq("/x/c", 0)},
				{Type: proto.OpDelete, Req: &proto.DeleteRequest{Path: "/x", Version: 5}},
			}}) // fails its delete on the pending /x's version
			assert.Empty(t, h.sink.take())
			h.failTaken()
			outs := h.sink.take()
			assert.Equal(t, []string{"1 xid=1 err=-1", "2 xid=1 err=-1", "2 xid=2 err=-5", "2 xid=3 err=-1"}, describe(outs))
			assert.Nil(t, outs[3].body, "no per-op results for a multi that was not judged on the real tree")
			h.do(2, 4, proto.OpCreate, createReq("/x", 0))
			h.commit()
			assert.Equal(t, []string{"2 xid=4 err=0"}, describe(h.sink.take()))
		}},
		{"a client's closeSession: answered, connection closed, the session expires later", func(t *testing.T, h *harness) {
			s1 := h.session(1)
			h.do(1, 1, proto.OpCreate, createReq("/e", proto.ModeEphemeral))
			h.commit()
			h.sink.take()
			h.do(1, 2, proto.OpCloseSession, nil)
			h.failTaken()
			assert.Equal(t, []string{"1 xid=2 err=-1", "1 close"}, describe(h.sink.take()))
			_, ok := h.r.Sessions().Get(s1.SessionID)
			require.True(t, ok, "the close did not happen")
			_, ok = h.r.Tree().Meta("/e")
			assert.True(t, ok)
			// Still closing: it cannot be resumed.
			h.r.Connect(2, &proto.ConnectRequest{TimeOut: 10000, SessionID: s1.SessionID, Passwd: s1.Passwd}, "127.0.0.1", h.now)
			assert.Equal(t, []string{"2 connected", "2 close"}, describe(h.sink.take()))

			h.r.Tick(h.now + 2000)
			assert.Empty(t, h.r.TakeProposals(), "not before its timeout")
			h.now += 12000
			h.r.Tick(h.now)
			h.commit()
			assert.Zero(t, h.r.Sessions().Len())
			_, ok = h.r.Tree().Meta("/e")
			assert.False(t, ok, "its ephemeral goes with the close proposed again")
		}},
		{"an expiry's close is proposed again by a later tick", func(t *testing.T, h *harness) {
			s1 := h.session(1)
			h.session(2)
			h.do(1, 1, proto.OpCreate, createReq("/e", proto.ModeEphemeral))
			h.commit()
			h.sink.take()
			h.now += 12000
			h.do(2, -2, proto.OpPing, nil)
			h.r.Tick(h.now)
			h.sink.take()
			h.failTaken()
			assert.Empty(t, h.sink.take())
			assert.Zero(t, h.r.Stats().Expired, "the expiry did not happen")
			_, ok := h.r.Sessions().Get(s1.SessionID)
			require.True(t, ok)
			assert.Equal(t, []string{"/e"}, h.r.Tree().Ephemerals(s1.SessionID))

			h.now += 12000
			h.do(2, -2, proto.OpPing, nil)
			h.r.Tick(h.now)
			h.commit()
			assert.Equal(t, int64(1), h.r.Stats().Expired)
			assert.Empty(t, h.r.Tree().Ephemerals(s1.SessionID))
			_, ok = h.r.Sessions().Get(s1.SessionID)
			assert.False(t, ok)
		}},
		{"nothing pending from the given zxid: no effect", func(t *testing.T, h *harness) {
			h.session(1)
			h.do(1, 1, proto.OpCreate, createReq("/a", 0))
			h.r.PersistFailed(h.r.LastApplied()+5, proto.ErrSystemError, h.now)
			assert.Empty(t, h.sink.take())
			h.commit()
			assert.Equal(t, []string{"1 xid=1 err=0"}, describe(h.sink.take()))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newHarness(t, Config{}))
		})
	}
}
