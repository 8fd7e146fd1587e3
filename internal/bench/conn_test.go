package bench

import (
	"bufio"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
)

// fakeServer answers the handshake and then every request with reply,
// which returns the frames to send back for a request header.
func fakeServer(t *testing.T, reply func(h proto.RequestHeader) [][]byte) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		nc, err := l.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		if _, err := zkwire.ReadFrame(br, nil, zkwire.DefaultMaxFrame); err != nil {
			return
		}
		resp := &proto.ConnectResponse{TimeOut: 10000, SessionID: 42, Passwd: make([]byte, 16)}
		if _, err := nc.Write(zkwire.AppendConnectResponse(nil, resp)); err != nil {
			return
		}
		bw := bufio.NewWriter(nc)
		for {
			frame, err := zkwire.ReadFrame(br, nil, zkwire.DefaultMaxFrame)
			if err != nil {
				return
			}
			h, _, err := zkwire.DecodeRequest(frame, zkwire.DefaultMaxFrame)
			if err != nil {
				return
			}
			for _, f := range reply(h) {
				_, _ = bw.Write(f)
			}
			if br.Buffered() == 0 {
				if bw.Flush() != nil {
					return
				}
			}
			if h.Type == proto.OpCloseSession {
				return
			}
		}
	}()
	return l.Addr().String()
}

func replyFrame(xid int32, code proto.Code, body proto.Record) []byte {
	return zkwire.AppendFrame(nil, &proto.ReplyHeader{Xid: xid, Zxid: 1, Err: code}, body)
}

func notification() []byte {
	return replyFrame(proto.XidNotification, proto.OK, &proto.WatcherEvent{Type: proto.EventNodeDataChanged, State: proto.StateSyncConnected, Path: "/x"})
}

func TestConnMatchesReplies(t *testing.T) {
	tests := []struct {
		name      string
		reply     func(h proto.RequestHeader) [][]byte
		wantErr   error
		wantOps   uint64
		wantFails uint64
	}{
		{
			name: "in order, with notifications and stray pings between replies",
			reply: func(h proto.RequestHeader) [][]byte {
				return [][]byte{notification(), replyFrame(proto.XidPing, proto.OK, nil),
					replyFrame(h.Xid, proto.OK, &proto.GetDataResponse{Data: []byte("abc")})}
			},
			wantOps: 20,
		},
		{
			name: "error codes are counted, not fatal",
			reply: func(h proto.RequestHeader) [][]byte {
				if h.Xid%2 == 0 {
					return [][]byte{replyFrame(h.Xid, proto.ErrNoNode, nil)}
				}
				return [][]byte{replyFrame(h.Xid, proto.OK, &proto.GetDataResponse{Data: []byte("abc")})}
			},
			wantOps:   10,
			wantFails: 10,
		},
		{
			name: "wrong length of data is an error",
			reply: func(h proto.RequestHeader) [][]byte {
				return [][]byte{replyFrame(h.Xid, proto.OK, &proto.GetDataResponse{Data: []byte("abcd")})}
			},
			wantFails: 20,
		},
		{
			name: "out of order",
			reply: func(h proto.RequestHeader) [][]byte {
				return [][]byte{replyFrame(h.Xid+1, proto.OK, &proto.GetDataResponse{Data: []byte("abc")})}
			},
			wantErr: ErrOutOfOrder,
		},
		{
			name: "reply to nothing",
			reply: func(h proto.RequestHeader) [][]byte {
				r := replyFrame(h.Xid, proto.OK, &proto.GetDataResponse{Data: []byte("abc")})
				return [][]byte{r, replyFrame(7777, proto.OK, nil)}
			},
			wantErr: ErrOutOfOrder,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeServer(t, tc.reply)
			c, err := Dial(context.Background(), addr, ConnOptions{InFlight: 4})
			require.NoError(t, err)
			defer c.Close()
			assert.Equal(t, int64(42), c.SessionID())
			assert.Equal(t, 10*time.Second, c.SessionTimeout())
			rec := NewRecorder(0, time.Hour, getBodyLen(3))
			var next atomic.Int64
			gen := &listGen{next: &next, n: 20, op: proto.OpGetData, path: func(int64) string { return "/k" }}
			err = c.Do(context.Background(), gen, rec)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantOps, rec.Ops)
			assert.Equal(t, tc.wantFails, rec.Errors)
			assert.Equal(t, uint64(20), rec.Total)
			if tc.wantFails > 0 {
				assert.NotEmpty(t, rec.FirstError)
			}
			// The connection is reusable after Do.
			next.Store(0)
			require.NoError(t, c.Do(context.Background(), gen, rec))
			assert.Equal(t, uint64(40), rec.Total)
		})
	}
}

func TestConnDoStopsOnContext(t *testing.T) {
	addr := fakeServer(t, func(h proto.RequestHeader) [][]byte {
		return [][]byte{replyFrame(h.Xid, proto.OK, &proto.GetDataResponse{Data: []byte("abc")})}
	})
	c, err := Dial(context.Background(), addr, ConnOptions{InFlight: 2})
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	rec := NewRecorder(0, time.Hour, -1)
	var next atomic.Int64
	gen := &listGen{next: &next, n: 1 << 62, op: proto.OpGetData, path: func(int64) string { return "/k" }}
	require.NoError(t, c.Do(ctx, gen, rec), "a cancelled Do drains and returns")
	assert.Positive(t, rec.Total)
	assert.Equal(t, next.Load(), int64(rec.Total), "every request sent was answered")
}

func TestDialFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	go func() {
		nc, err := l.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		_, _ = zkwire.ReadFrame(br, nil, zkwire.DefaultMaxFrame)
		_, _ = nc.Write(zkwire.AppendConnectResponse(nil, &proto.ConnectResponse{Passwd: make([]byte, 16)}))
	}()
	_, err = Dial(context.Background(), addr, ConnOptions{})
	require.ErrorIs(t, err, ErrSessionRefused)
	l.Close()
	_, err = Dial(context.Background(), addr, ConnOptions{DialTimeout: time.Second})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dial")
}
