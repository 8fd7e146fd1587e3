package serve

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
)

func frame(payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	return append(b, payload...)
}

func handshake(t *testing.T, addr string) (net.Conn, *proto.ConnectResponse) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	req := &proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)}
	_, err = nc.Write(zkwire.AppendConnectRequest(nil, req))
	require.NoError(t, err)
	resp := readFrame(t, nc)
	cr, err := zkwire.ParseConnectResponse(resp)
	require.NoError(t, err)
	require.NotZero(t, cr.SessionID)
	return nc, cr
}

func readFrame(t *testing.T, nc net.Conn) []byte {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var lb [4]byte
	_, err := io.ReadFull(nc, lb[:])
	require.NoError(t, err)
	b := make([]byte, binary.BigEndian.Uint32(lb[:]))
	_, err = io.ReadFull(nc, b)
	require.NoError(t, err)
	return b
}

func replyHeader(t *testing.T, b []byte) proto.ReplyHeader {
	var h proto.ReplyHeader
	d := jute.NewDecoder(b, 0)
	h.Decode(d)
	require.NoError(t, d.Err())
	return h
}

// expectClosed waits for the server to close the connection.
func expectClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(nc)
	assert.NoError(t, err, "the server closes cleanly (EOF), not by timeout")
}

func TestBadInputIsolated(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	ts := startServerWithLogger(t, zap.New(core), func(c *config.Config) { c.JuteMaxBuffer = 4096 })
	// A well-behaved client that must keep working throughout.
	good, _ := dial(t, ts.addr, 5*time.Second)
	_, err := good.Create("/ok", []byte("v"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	stillWorks := func() {
		t.Helper()
		data, _, err := good.Get("/ok")
		require.NoError(t, err)
		require.Equal(t, []byte("v"), data)
	}

	t.Run("oversized handshake frame", func(t *testing.T) {
		nc, err := net.Dial("tcp", ts.addr)
		require.NoError(t, err)
		defer nc.Close()
		_, _ = nc.Write(binary.BigEndian.AppendUint32(nil, 4097))
		expectClosed(t, nc)
		stillWorks()
	})
	t.Run("negative length", func(t *testing.T) {
		nc, err := net.Dial("tcp", ts.addr)
		require.NoError(t, err)
		defer nc.Close()
		_, _ = nc.Write([]byte{0xff, 0xff, 0xff, 0xf0, 1, 2, 3})
		expectClosed(t, nc)
		stillWorks()
	})
	t.Run("garbage instead of a handshake", func(t *testing.T) {
		nc, err := net.Dial("tcp", ts.addr)
		require.NoError(t, err)
		defer nc.Close()
		_, _ = nc.Write(frame([]byte("hello, this is not jute")))
		expectClosed(t, nc)
		stillWorks()
	})
	t.Run("http on the client port", func(t *testing.T) {
		nc, err := net.Dial("tcp", ts.addr)
		require.NoError(t, err)
		defer nc.Close()
		_, _ = nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		expectClosed(t, nc)
		stillWorks()
	})
	t.Run("oversized request after the handshake", func(t *testing.T) {
		nc, _ := handshake(t, ts.addr)
		_, _ = nc.Write(binary.BigEndian.AppendUint32(nil, 1<<30))
		expectClosed(t, nc)
		stillWorks()
	})
	t.Run("truncated request body", func(t *testing.T) {
		nc, _ := handshake(t, ts.addr)
		// getData with a path length running past the frame: ZooKeeper
		// answers ZMARSHALLINGERROR and keeps the connection.
		e := jute.NewEncoder(nil)
		(&proto.RequestHeader{Xid: 7, Type: proto.OpGetData}).Encode(e)
		e.Int(100)
		e.B = append(e.B, "/ok"...)
		_, err := nc.Write(frame(e.Bytes()))
		require.NoError(t, err)
		h := replyHeader(t, readFrame(t, nc))
		assert.Equal(t, int32(7), h.Xid)
		assert.Equal(t, proto.ErrMarshallingError, h.Err)
		// The same connection still serves a valid request.
		e.Reset()
		(&proto.RequestHeader{Xid: 8, Type: proto.OpExists}).Encode(e)
		(&proto.ExistsRequest{Path: "/ok"}).Encode(e)
		_, err = nc.Write(frame(e.Bytes()))
		require.NoError(t, err)
		h = replyHeader(t, readFrame(t, nc))
		assert.Equal(t, int32(8), h.Xid)
		assert.Equal(t, proto.OK, h.Err)
		stillWorks()
	})
	t.Run("unknown opcode", func(t *testing.T) {
		nc, _ := handshake(t, ts.addr)
		e := jute.NewEncoder(nil)
		(&proto.RequestHeader{Xid: 3, Type: 4242}).Encode(e)
		_, err := nc.Write(frame(e.Bytes()))
		require.NoError(t, err)
		h := replyHeader(t, readFrame(t, nc))
		assert.Equal(t, int32(3), h.Xid)
		assert.Equal(t, proto.ErrUnimplemented, h.Err)
		expectClosed(t, nc)
		stillWorks()
	})
	t.Run("bad path", func(t *testing.T) {
		nc, _ := handshake(t, ts.addr)
		e := jute.NewEncoder(nil)
		(&proto.RequestHeader{Xid: 4, Type: proto.OpCreate}).Encode(e)
		// ZooKeeper resolves the parent first ("/a//b" gives NONODE), so use a
		// path whose parent exists and whose last segment is illegal.
		(&proto.CreateRequest{Path: "/ok/..", ACL: proto.OpenACLUnsafe}).Encode(e)
		_, err := nc.Write(frame(e.Bytes()))
		require.NoError(t, err)
		h := replyHeader(t, readFrame(t, nc))
		assert.Equal(t, proto.ErrBadArguments, h.Err)
		stillWorks()
	})
	t.Run("short header", func(t *testing.T) {
		nc, _ := handshake(t, ts.addr)
		_, _ = nc.Write(frame([]byte{0, 0, 0}))
		expectClosed(t, nc)
		stillWorks()
	})
	// Each offence was logged once, as a warning naming the remote address.
	var bad int
	for _, e := range logs.All() {
		if e.Message == "closing connection on bad input" {
			bad++
			assert.Contains(t, e.ContextMap(), "remote")
		}
	}
	assert.Equal(t, 6, bad, "oversized handshake, negative length, garbage, http, oversized request, short header")
}
