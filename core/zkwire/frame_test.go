package zkwire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func reader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    string
		wantErr error
		sizeErr *FrameSizeError
	}{
		{name: "ping", in: "00000008 FFFFFFFE 0000000B", max: DefaultMaxFrame, want: "FFFFFFFE 0000000B"},
		{name: "empty frame", in: "00000000", max: DefaultMaxFrame, want: ""},
		{name: "exactly max", in: "00000003 010203", max: 3, want: "010203"},
		{name: "over max", in: "00000004 01020304", max: 3, sizeErr: &FrameSizeError{Len: 4, Max: 3}},
		{name: "negative", in: "FFFFFFFF", max: DefaultMaxFrame, sizeErr: &FrameSizeError{Len: -1, Max: DefaultMaxFrame}},
		{name: "over jute.maxbuffer", in: "00100000", max: DefaultMaxFrame, sizeErr: &FrameSizeError{Len: 0x100000, Max: DefaultMaxFrame}},
		{name: "four-letter word is not a frame", in: hex.EncodeToString([]byte("ruok")), max: DefaultMaxFrame,
			sizeErr: &FrameSizeError{Len: 0x72756f6b, Max: DefaultMaxFrame}},
		{name: "HTTP GET", in: hex.EncodeToString([]byte("GET / HTTP/1.1\r\n")), max: DefaultMaxFrame, wantErr: ErrHTTP},
		{name: "HTTP GET even under a huge limit", in: hex.EncodeToString([]byte("GET / HTTP/1.1\r\n")), max: 1 << 31, wantErr: ErrHTTP},
		{name: "HTTP POST", in: hex.EncodeToString([]byte("POST /x HTTP/1.1\r\n")), max: DefaultMaxFrame, wantErr: ErrHTTP},
		{name: "TLS client hello", in: "16030100 a5010000a10303", max: DefaultMaxFrame, wantErr: ErrTLS},
		{name: "clean EOF", in: "", max: DefaultMaxFrame, wantErr: io.EOF},
		{name: "EOF inside the length", in: "0000", max: DefaultMaxFrame, wantErr: io.ErrUnexpectedEOF},
		{name: "EOF before the body", in: "00000004", max: DefaultMaxFrame, wantErr: io.ErrUnexpectedEOF},
		{name: "EOF inside the body", in: "00000004 0102", max: DefaultMaxFrame, wantErr: io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadFrame(reader(unhex(t, tc.in)), nil, tc.max)
			switch {
			case tc.sizeErr != nil:
				var se *FrameSizeError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, tc.sizeErr, se)
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
				if tc.wantErr == io.EOF {
					assert.Equal(t, io.EOF, err, "a clean EOF is returned unwrapped")
				}
			default:
				require.NoError(t, err)
				assert.Equal(t, unhex(t, tc.want), got)
			}
		})
	}
}

func TestReadFrameSequenceAndBufferReuse(t *testing.T) {
	stream := unhex(t, "00000002 AAAA 00000003 BBBBBB 00000001 CC")
	r := bufio.NewReader(iotest.OneByteReader(bytes.NewReader(stream)))
	buf := make([]byte, 0, 8)
	var frames [][]byte
	for {
		f, err := ReadFrame(r, buf, 16)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		assert.Equal(t, &buf[:1][0], &f[:1][0], "a frame that fits is read into the caller's buffer")
		frames = append(frames, append([]byte(nil), f...))
	}
	assert.Equal(t, [][]byte{{0xAA, 0xAA}, {0xBB, 0xBB, 0xBB}, {0xCC}}, frames)
}

func TestReadFrameLargeFrame(t *testing.T) {
	payload := bytes.Repeat([]byte{7}, 3*growChunk+5)
	frame := AppendRequest(nil, &proto.RequestHeader{Xid: 1, Type: proto.OpSetData},
		&proto.SetDataRequest{Path: "/a", Data: payload, Version: -1})
	got, err := ReadFrame(reader(frame), make([]byte, 0, 16), DefaultMaxFrame)
	require.NoError(t, err)
	assert.Equal(t, frame[4:], got)
}

// A peer announcing a large frame and sending a few bytes must not make the
// reader allocate the announced size.
func TestReadFrameAllocatesAsBytesArrive(t *testing.T) {
	in := append(unhex(t, "000FFFFF"), make([]byte, 100)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 10 {
		_, err := ReadFrame(reader(in), nil, DefaultMaxFrame)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	}
	runtime.ReadMemStats(&after)
	perCall := (after.TotalAlloc - before.TotalAlloc) / 10
	assert.Less(t, perCall, uint64(DefaultMaxFrame/4), "allocated %d bytes for a 100-byte partial frame announcing 1 MB", perCall)
}

func TestAppendFrameGolden(t *testing.T) {
	stat := proto.Stat{}
	tests := []struct {
		name string
		hdr  proto.ReplyHeader
		body proto.Record
		want string
	}{
		// §3.6 worked examples (zxid 0x0102030405060708 where the doc says <zxid:8>).
		{"ping reply", proto.ReplyHeader{Xid: proto.XidPing, Zxid: 0x0102030405060708}, nil,
			"00000010 FFFFFFFE 0102030405060708 00000000"},
		{"getData reply with data hi", proto.ReplyHeader{Xid: 1, Zxid: 0x0102030405060708},
			&proto.GetDataResponse{Data: []byte("hi"), Stat: stat},
			"0000005A 00000001 0102030405060708 00000000 00000002 6869" + strings.Repeat("00", proto.StatSize)},
		{"getData on a missing node", proto.ReplyHeader{Xid: 1, Zxid: 0x0102030405060708, Err: proto.ErrNoNode}, nil,
			"00000010 00000001 0102030405060708 FFFFFF9B"},
		{"NodeDataChanged notification", proto.ReplyHeader{Xid: proto.XidNotification, Zxid: 0x0102030405060708},
			&proto.WatcherEvent{Type: proto.EventNodeDataChanged, State: proto.StateSyncConnected, Path: "/a"},
			"0000001E FFFFFFFF 0102030405060708 00000000 00000003 00000003 00000002 2F61"},
		{"auth success", proto.ReplyHeader{Xid: proto.XidAuth}, nil,
			"00000010 FFFFFFFC 0000000000000000 00000000"},
		{"closeSession reply", proto.ReplyHeader{Xid: 7, Zxid: 0x0102030405060708}, nil,
			"00000010 00000007 0102030405060708 00000000"},
		{"addWatch reply", proto.ReplyHeader{Xid: 9, Zxid: 0x0102030405060708}, &proto.ErrorResponse{},
			"00000014 00000009 0102030405060708 00000000 00000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("keep")
			got := AppendFrame(append([]byte(nil), prefix...), &tc.hdr, tc.body)
			assert.Equal(t, prefix, got[:4], "AppendFrame appends")
			assert.Equal(t, unhex(t, tc.want), got[4:])
		})
	}
}
