package sdk

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
)

func TestHandleFrameRejectsBadReplies(t *testing.T) {
	frame := func(h proto.ReplyHeader, body proto.Record) []byte { return zkwire.AppendFrame(nil, &h, body)[4:] }
	getData := frame(proto.ReplyHeader{Xid: 1, Zxid: 9}, &proto.GetDataResponse{Data: []byte("d")})
	cases := []struct {
		name    string
		frame   []byte
		wantErr bool
		done    bool // the first call completed
		kept    bool // the first call is still pending (failing the wire fails it)
		code    proto.Code
		err     error
	}{
		{name: "in order", frame: getData, done: true},
		{name: "server error", frame: frame(proto.ReplyHeader{Xid: 1, Zxid: 9, Err: proto.ErrNoNode}, nil), done: true, code: proto.ErrNoNode},
		{name: "out of order", frame: frame(proto.ReplyHeader{Xid: 2, Zxid: 9}, &proto.GetDataResponse{}), wantErr: true, kept: true},
		{name: "unknown xid", frame: frame(proto.ReplyHeader{Xid: 77}, nil), wantErr: true, kept: true},
		{name: "short", frame: getData[:10], wantErr: true, kept: true},
		{name: "truncated body", frame: getData[:len(getData)-3], wantErr: true, kept: true},
		{name: "auth reply nobody waits for", frame: frame(proto.ReplyHeader{Xid: proto.XidAuth}, nil), wantErr: true, kept: true},
		{name: "bad notification", frame: frame(proto.ReplyHeader{Xid: proto.XidNotification}, nil), wantErr: true, kept: true},
		{name: "ping", frame: frame(proto.ReplyHeader{Xid: proto.XidPing}, nil), kept: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Conn{cfg: config{maxFrame: zkwire.DefaultMaxFrame}, log: zap.NewNop(), watches: newWatchTable()}
			first := &call{op: proto.OpGetData, xid: 1, resp: &proto.GetDataResponse{}, done: make(chan struct{})}
			second := &call{op: proto.OpGetData, xid: 2, resp: &proto.GetDataResponse{}, done: make(chan struct{})}
			w := &wire{pending: []*call{first, second}, dead: make(chan struct{})}
			err := c.handleFrame(w, tc.frame)
			if tc.wantErr {
				require.ErrorIs(t, err, errProtocol)
			} else {
				require.NoError(t, err)
			}
			select {
			case <-first.done:
				require.True(t, tc.done, "first call completed")
				assert.Equal(t, tc.code, first.code)
				assert.Equal(t, tc.err, first.err)
				if tc.err == nil && tc.code == proto.OK {
					assert.Equal(t, []byte("d"), first.resp.(*proto.GetDataResponse).Data)
					assert.Equal(t, int64(9), c.lastZxid)
				}
			default:
				require.False(t, tc.done, "first call not completed")
			}
			assert.Equal(t, tc.kept, len(w.pending) == 2 && w.pending[0] == first, "first call still pending")
		})
	}
}
