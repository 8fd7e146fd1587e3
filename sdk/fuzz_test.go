package sdk

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
)

// fuzzConn is a Conn with one connection whose pending queue holds one call
// of type op with xid 1; handleFrame never touches the socket.
func fuzzConn(op proto.OpCode) (*Conn, *wire, *call) {
	c := &Conn{cfg: config{maxFrame: zkwire.DefaultMaxFrame}, log: zap.NewNop(), watches: newWatchTable(), chroot: "/r"}
	resp, _ := proto.NewResponse(op)
	cl := &call{op: op, xid: 1, resp: resp, done: make(chan struct{})}
	w := &wire{pending: []*call{cl}, dead: make(chan struct{})}
	ch := make(chan Event, 1)
	c.watches.add(watchKey{"/a", kindData}, &watcher{once: ch})
	return c, w, cl
}

// FuzzReply feeds arbitrary frames to the reply path (header, body decoder
// for the pending call's opcode, notifications, pings, auth): it must never
// panic, and it either accepts the frame or reports a protocol error; a
// call whose reply was consumed is always completed.
func FuzzReply(f *testing.F) {
	for _, seed := range [][]byte{
		zkwire.AppendFrame(nil, &proto.ReplyHeader{Xid: 1, Zxid: 5}, &proto.GetDataResponse{Data: []byte("x")})[4:],
		zkwire.AppendFrame(nil, &proto.ReplyHeader{Xid: 1, Zxid: 5, Err: proto.ErrNoNode}, nil)[4:],
		zkwire.AppendFrame(nil, &proto.ReplyHeader{Xid: -1, Zxid: 7}, &proto.WatcherEvent{Type: proto.EventNodeDeleted, State: 3, Path: "/r/a"})[4:],
		zkwire.AppendFrame(nil, &proto.ReplyHeader{Xid: -2}, nil)[4:],
		zkwire.AppendFrame(nil, &proto.ReplyHeader{Xid: 1}, &proto.MultiResponse{Results: []proto.MultiResult{{Type: proto.OpCreate, Path: "/r/x"}, {Type: proto.OpError, Err: proto.ErrNoNode}}})[4:],
	} {
		f.Add(seed, int32(proto.OpGetData))
		f.Add(seed, int32(proto.OpMulti))
	}
	f.Fuzz(func(t *testing.T, frame []byte, op int32) {
		if _, ok := proto.NewResponse(proto.OpCode(op)); !ok {
			op = int32(proto.OpGetData)
		}
		c, w, cl := fuzzConn(proto.OpCode(op))
		err := c.handleFrame(w, frame)
		consumed := len(w.pending) == 0
		if consumed {
			select {
			case <-cl.done:
			default:
				t.Fatal("a consumed call was not completed")
			}
		}
		if err == nil && len(frame) >= proto.ReplyHeaderSize {
			hdr, derr := decodeReply(frame, zkwire.DefaultMaxFrame, nil)
			require.NoError(t, derr)
			if hdr.Xid == 1 {
				require.True(t, consumed)
			}
		}
	})
}
