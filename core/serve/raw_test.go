package serve

import (
	"net"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
)

// rawCall sends one request and returns the reply header and the rest of
// the frame, skipping notifications (which it returns separately).
func rawCall(t *testing.T, nc net.Conn, xid int32, op proto.OpCode, body proto.Record) (proto.ReplyHeader, *jute.Decoder, []proto.WatcherEvent) {
	t.Helper()
	_, err := nc.Write(zkwire.AppendRequest(nil, &proto.RequestHeader{Xid: xid, Type: op}, body))
	require.NoError(t, err)
	var events []proto.WatcherEvent
	for {
		b := readFrame(t, nc)
		d := jute.NewDecoder(b, 0)
		var h proto.ReplyHeader
		h.Decode(d)
		require.NoError(t, d.Err())
		if h.Xid == proto.XidNotification {
			var ev proto.WatcherEvent
			ev.Decode(d)
			require.NoError(t, d.Err())
			events = append(events, ev)
			continue
		}
		require.Equal(t, xid, h.Xid, "replies come in request order")
		return h, d, events
	}
}

func TestMultiReadPerOpResults(t *testing.T) {
	ts := startServer(t, nil)
	c, _ := dial(t, ts.addr, 5*time.Second)
	_, err := c.Create("/mr", []byte("data"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, err = c.Create("/mr/kid", nil, 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)

	nc, _ := handshake(t, ts.addr)
	req := &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpGetData, Req: &proto.GetDataRequest{Path: "/mr"}},
		{Type: proto.OpGetChildren, Req: &proto.GetChildrenRequest{Path: "/mr"}},
		{Type: proto.OpGetData, Req: &proto.GetDataRequest{Path: "/missing"}},
		{Type: proto.OpGetChildren, Req: &proto.GetChildrenRequest{Path: "/mr/kid"}},
	}}
	h, d, _ := rawCall(t, nc, 1, proto.OpMultiRead, req)
	require.Equal(t, proto.OK, h.Err)
	var resp proto.MultiResponse
	resp.Decode(d)
	require.NoError(t, d.Err())
	require.Len(t, resp.Results, 4)
	assert.Equal(t, proto.OpGetData, resp.Results[0].Type)
	assert.Equal(t, []byte("data"), resp.Results[0].Data)
	assert.Equal(t, proto.OpGetChildren, resp.Results[1].Type)
	assert.Equal(t, []string{"kid"}, resp.Results[1].Children)
	assert.Equal(t, proto.OpError, resp.Results[2].Type, "a failed read does not abort the others")
	assert.Equal(t, proto.ErrNoNode, resp.Results[2].Err)
	assert.Equal(t, proto.OpGetChildren, resp.Results[3].Type)
	assert.Empty(t, resp.Results[3].Children)

	// A write inside multiRead: -5 with an empty multi body, as ZooKeeper 3.8.
	bad := &proto.MultiRequest{Ops: []proto.MultiOp{{Type: proto.OpDelete, Req: &proto.DeleteRequest{Path: "/mr/kid", Version: -1}}}}
	h, d, _ = rawCall(t, nc, 2, proto.OpMultiRead, bad)
	assert.Equal(t, proto.ErrMarshallingError, h.Err)
	var empty proto.MultiResponse
	empty.Decode(d)
	require.NoError(t, d.Err())
	assert.Empty(t, empty.Results)
	ok, _, err := c.Exists("/mr/kid")
	require.NoError(t, err)
	assert.True(t, ok, "nothing was deleted")
}

func TestSetWatches2RestoresPersistentWatches(t *testing.T) {
	ts := startServer(t, nil)
	writer, _ := dial(t, ts.addr, 5*time.Second)
	acl := zk.WorldACL(zk.PermAll)
	_, err := writer.Create("/sw", []byte("0"), 0, acl)
	require.NoError(t, err)

	// First connection: a persistent-recursive watch on /sw and a data watch.
	nc, cr := handshake(t, ts.addr)
	h, d, _ := rawCall(t, nc, 1, proto.OpAddWatch, &proto.AddWatchRequest{Path: "/sw", Mode: proto.AddWatchPersistentRecursive})
	require.Equal(t, proto.OK, h.Err)
	var er proto.ErrorResponse
	er.Decode(d)
	require.NoError(t, d.Err(), "addWatch replies with a 4-byte ErrorResponse body")
	h, _, _ = rawCall(t, nc, 2, proto.OpGetData, &proto.GetDataRequest{Path: "/sw", Watch: true})
	require.Equal(t, proto.OK, h.Err)
	lastZxid := h.Zxid
	nc.Close()

	// While disconnected, /sw changes: the one-shot watch must catch up.
	_, err = writer.Set("/sw", []byte("1"), -1)
	require.NoError(t, err)

	// Reconnect with the same session and restore both watches.
	nc2, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	defer nc2.Close()
	_, err = nc2.Write(zkwire.AppendConnectRequest(nil, &proto.ConnectRequest{LastZxidSeen: lastZxid, TimeOut: 10000, SessionID: cr.SessionID, Passwd: cr.Passwd}))
	require.NoError(t, err)
	resumed, err := zkwire.ParseConnectResponse(readFrame(t, nc2))
	require.NoError(t, err)
	require.Equal(t, cr.SessionID, resumed.SessionID)
	h, _, events := rawCall(t, nc2, 3, proto.OpSetWatches2, &proto.SetWatches2{
		RelativeZxid:               lastZxid,
		DataWatches:                []string{"/sw"},
		ExistWatches:               []string{},
		ChildWatches:               []string{},
		PersistentWatches:          []string{},
		PersistentRecursiveWatches: []string{"/sw"},
	})
	require.Equal(t, proto.OK, h.Err)
	require.Len(t, events, 1, "the missed change is delivered before the setWatches2 reply")
	assert.Equal(t, proto.EventNodeDataChanged, events[0].Type)
	assert.Equal(t, "/sw", events[0].Path)

	// The persistent-recursive watch is live again: a descendant's creation
	// arrives before the reply to a later request.
	_, err = writer.Create("/sw/child", nil, 0, acl)
	require.NoError(t, err)
	_, _, events = rawCall(t, nc2, 4, proto.OpSync, &proto.SyncRequest{Path: "/"})
	require.Len(t, events, 1)
	assert.Equal(t, proto.EventNodeCreated, events[0].Type)
	assert.Equal(t, "/sw/child", events[0].Path)
}
