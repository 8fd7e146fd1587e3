package zab

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

var writeCorpus = flag.Bool("write-corpus", false, "regenerate testdata/fuzz/FuzzDecodeFrame from wireSeeds")

// wireCases holds at least one message of every body type, with nil, empty
// and non-empty slices and extreme integers.
var wireCases = []struct {
	name string
	msg  Message
}{
	{"notification", Message{From: 1, To: 2, Body: Notification{State: Looking,
		Vote: Vote{Leader: 3, Zxid: MakeZxid(2, 9), PeerEpoch: 2}, ElectionEpoch: 5, ConfigVersion: 0x100000000}}},
	{"notification-config", Message{From: 3, To: 1, Body: Notification{State: Following, Vote: Vote{Leader: 2, Zxid: 7, PeerEpoch: 1},
		ElectionEpoch: 4, ConfigVersion: MakeZxid(1, 6), Config: []byte("server.2=a:1:2:participant\nversion=100000006")}}},
	{"notification-observing", Message{From: -1, To: 0, Body: Notification{State: Observing,
		Vote: Vote{Leader: -9223372036854775808, Zxid: -1, PeerEpoch: 9223372036854775807}}}},
	{"followerinfo", Message{From: 2, To: 1, Body: FollowerInfo{AcceptedEpoch: 4, LastZxid: MakeZxid(4, 17), ConfigVersion: 7}}},
	{"observerinfo", Message{From: 9, To: 1, Body: FollowerInfo{AcceptedEpoch: 4, Observer: true}}},
	{"leaderinfo", Message{From: 1, To: 2, Body: LeaderInfo{NewEpoch: 5}}},
	{"ackepoch", Message{From: 2, To: 1, Body: AckEpoch{CurrentEpoch: 4, LastZxid: MakeZxid(4, 17)}}},
	{"ackepoch-already", Message{From: 2, To: 1, Body: AckEpoch{CurrentEpoch: -1, LastZxid: MakeZxid(5, 0)}}},
	{"diff", Message{From: 1, To: 2, Body: Diff{LeaderZxid: MakeZxid(4, 20)}}},
	{"trunc", Message{From: 1, To: 2, Body: Trunc{Zxid: MakeZxid(3, 2)}}},
	{"snap", Message{From: 1, To: 2, Body: Snap{Zxid: MakeZxid(4, 20), Data: []byte("snapshot part")}}},
	{"snap-last-empty", Message{From: 1, To: 2, Body: Snap{Zxid: 1, Data: []byte{}, Last: true}}},
	{"snap-nil", Message{From: 1, To: 2, Body: Snap{Zxid: 1, Last: true}}},
	{"proposal", Message{From: 1, To: 2, Body: Proposal{Zxid: MakeZxid(5, 1), Txn: []byte{0, 1, 2, 0xff}}}},
	{"proposal-empty", Message{From: 1, To: 2, Body: Proposal{Zxid: MakeZxid(5, 2), Txn: []byte{}}}},
	{"proposal-nil", Message{From: 1, To: 2, Body: Proposal{Zxid: MakeZxid(5, 3)}}},
	{"ack", Message{From: 2, To: 1, Body: Ack{Zxid: MakeZxid(5, 1)}}},
	{"commit", Message{From: 1, To: 2, Body: Commit{Zxid: MakeZxid(5, 1)}}},
	{"inform", Message{From: 1, To: 9, Body: Inform{Zxid: MakeZxid(5, 1), Txn: []byte("txn")}}},
	{"inform-nil", Message{From: 1, To: 9, Body: Inform{Zxid: MakeZxid(5, 1)}}},
	{"newleader", Message{From: 1, To: 2, Body: NewLeader{Zxid: MakeZxid(5, 0), Config: []byte("server.1=a:2888:3888\n")}}},
	{"newleader-empty", Message{From: 1, To: 2, Body: NewLeader{Zxid: MakeZxid(5, 0), Config: []byte{}}}},
	{"newleader-nil", Message{From: 1, To: 2, Body: NewLeader{Zxid: MakeZxid(5, 0)}}},
	{"newleader-secret", Message{From: 1, To: 2, Body: NewLeader{Zxid: MakeZxid(5, 0), Secret: []byte{0xde, 0xad, 0xbe, 0xef}}}},
	{"uptodate", Message{From: 1, To: 2, Body: UpToDate{}}},
	{"ping-nil", Message{From: 1, To: 2, Body: Ping{Round: 7}}},
	{"ping-empty", Message{From: 2, To: 1, Body: Ping{Touched: []SessionTouch{}}}},
	{"ping", Message{From: 2, To: 1, Body: Ping{Touched: []SessionTouch{{Session: 0x100000001, Timeout: 30000}, {Session: -2, Timeout: -1}}}}},
	{"request", Message{From: 2, To: 1, Body: Request{Session: 0x100000001, Cxid: 4, Type: proto.OpCreate,
		Body: []byte("create body"), Auth: []proto.Id{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: "u:h"}}}}},
	{"request-empty", Message{From: 2, To: 1, Body: Request{Session: 1, Cxid: -2, Type: proto.OpCloseSession,
		Body: []byte{}, Auth: []proto.Id{}}}},
	{"request-nil", Message{From: 2, To: 1, Body: Request{Session: 1, Type: proto.OpCreateSession}}},
	{"request-empty-id", Message{From: 2, To: 1, Body: Request{Type: proto.OpSetData, Auth: []proto.Id{{}}}}},
	{"revalidate", Message{From: 2, To: 1, Body: Revalidate{Session: 0x100000001, Timeout: 4000}}},
	{"revalidatereply", Message{From: 1, To: 2, Body: RevalidateReply{Session: 0x100000001, Valid: true, Timeout: 4000}}},
	{"revalidatereply-invalid", Message{From: 1, To: 2, Body: RevalidateReply{Session: 0x100000001}}},
	{"syncrequest", Message{From: 2, To: 1, Body: SyncRequest{Session: 7, Cxid: 3, Path: "/a/b"}}},
	{"syncrequest-empty-path", Message{From: 2, To: 1, Body: SyncRequest{Session: 7, Cxid: 3}}},
	{"sync", Message{From: 1, To: 2, Body: Sync{Session: 7, Cxid: 3, Path: "/a/ü", Zxid: MakeZxid(5, 9)}}},
	{"hello-election", Message{From: 3, To: 1, Body: Hello{ID: 3, ProtocolVersion: WireVersion, ConfigVersion: 2, Election: true}}},
	{"hello-quorum", Message{From: 3, To: 1, Body: Hello{ID: 3, ProtocolVersion: WireVersion}}},
}

func encode(t testing.TB, m Message) []byte {
	t.Helper()
	b, err := AppendFrame(nil, m)
	require.NoError(t, err)
	return b
}

// rawFrame builds a frame around any payload with a correct checksum.
func rawFrame(version byte, kind Kind, payload []byte) []byte {
	b := []byte{'W', 'Z', version, byte(kind)}
	b = binary.BigEndian.AppendUint64(b, 1)
	b = binary.BigEndian.AppendUint64(b, 2)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	crc := crc32.Checksum(append(slices.Clone(b), payload...), crc32.MakeTable(crc32.Castagnoli))
	b = binary.BigEndian.AppendUint32(b, crc)
	return append(b, payload...)
}

func TestEveryKindHasACase(t *testing.T) {
	kinds := map[Kind]bool{}
	for _, c := range wireCases {
		kinds[c.msg.Body.Kind()] = true
	}
	for _, k := range []Kind{KindNotification, KindRequest, KindProposal, KindAck, KindCommit, KindPing,
		KindRevalidate, KindSync, KindInform, KindNewLeader, KindFollowerInfo, KindUpToDate, KindDiff,
		KindTrunc, KindSnap, KindLeaderInfo, KindAckEpoch, KindRevalidateReply, KindSyncRequest, KindHello} {
		assert.True(t, kinds[k], "no round-trip case for %s", kindName(k))
		assert.NotContains(t, kindName(k), "kind ", "kind %d has no name", k)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range wireCases {
		t.Run(c.name, func(t *testing.T) {
			b := encode(t, c.msg)
			require.Equal(t, byte(c.msg.Body.Kind()), b[3])

			m, n, err := DecodeFrame(b, 0)
			require.NoError(t, err)
			require.Equal(t, len(b), n)
			require.Equal(t, c.msg, m) // nil stays nil, empty stays empty

			m, err = ReadFrame(bytes.NewReader(b), 0)
			require.NoError(t, err)
			require.Equal(t, c.msg, m)

			// Appending keeps what dst held, and trailing bytes after the
			// frame are left for the next decode.
			pre := []byte("prefix")
			b2, err := AppendFrame(pre, c.msg)
			require.NoError(t, err)
			require.Equal(t, pre, b2[:len(pre)])
			require.Equal(t, b, b2[len(pre):])
			m, n, err = DecodeFrame(append(slices.Clone(b), 'W'), 0)
			require.NoError(t, err)
			require.Equal(t, len(b), n)
			require.Equal(t, c.msg, m)
		})
	}
}

func TestDecodeFrameDoesNotAliasInput(t *testing.T) {
	b := encode(t, Message{Body: Proposal{Zxid: 1, Txn: []byte("abc")}})
	m, _, err := DecodeFrame(b, 0)
	require.NoError(t, err)
	for i := range b {
		b[i] = 0
	}
	require.Equal(t, []byte("abc"), m.Body.(Proposal).Txn)
}

// TestGoldenFrames pins the format: any change to the layout, field order
// or checksum breaks these hand-laid-out bytes.
func TestGoldenFrames(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		hex  []string // one line per field
	}{
		{
			name: "hello",
			msg:  Message{From: 3, To: 1, Body: Hello{ID: 3, ProtocolVersion: 1, ConfigVersion: 0x100000000, Election: true}},
			hex: []string{
				"575a",             // magic "WZ"
				"01",               // version 1
				"40",               // kind 64 (HELLO)
				"0000000000000003", // from 3
				"0000000000000001", // to 1
				"00000015",         // payload length 21
				"1e2fe46b",         // crc32c
				"0000000000000003", // ID 3
				"00000001",         // ProtocolVersion 1
				"0000000100000000", // ConfigVersion 1<<32
				"01",               // Election true
			},
		},
		{
			name: "request",
			msg: Message{From: 2, To: 1, Body: Request{Session: 0x0123456789abcdef, Cxid: 7, Type: proto.OpCreate,
				Body: []byte("ab"), Auth: []proto.Id{{Scheme: "ip", ID: "10.0.0.1"}}}},
			hex: []string{
				"575a",             // magic "WZ"
				"01",               // version 1
				"01",               // kind 1 (REQUEST)
				"0000000000000002", // from 2
				"0000000000000001", // to 1
				"0000002c",         // payload length 44
				"053e0e2a",         // crc32c
				"0123456789abcdef", // Session
				"00000007",         // Cxid 7
				"00000001",         // Type 1 (create)
				"00000002", "6162", // Body "ab"
				"00000001",         // 1 auth id
				"00000002", "6970", // scheme "ip"
				"00000008", "31302e302e302e31", // id "10.0.0.1"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := hex.DecodeString(strings.Join(tt.hex, ""))
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(encode(t, tt.msg)))
			m, n, err := DecodeFrame(want, 0)
			require.NoError(t, err)
			require.Equal(t, len(want), n)
			require.Equal(t, tt.msg, m)
		})
	}
}

func TestEveryBitFlipIsRejected(t *testing.T) {
	msgs := []Message{
		{From: 3, To: 1, Body: Hello{ID: 3, ProtocolVersion: 1, Election: true}},
		{From: 1, To: 2, Body: Proposal{Zxid: MakeZxid(5, 1), Txn: []byte("a transaction")}},
		{From: 2, To: 1, Body: Request{Session: 1, Cxid: 2, Type: proto.OpDelete, Body: []byte("x"),
			Auth: []proto.Id{{Scheme: "ip", ID: "10.0.0.1"}}}},
		{From: 1, To: 2, Body: UpToDate{}},
	}
	for _, m := range msgs {
		good := encode(t, m)
		for bit := range len(good) * 8 {
			b := slices.Clone(good)
			b[bit/8] ^= 1 << (bit % 8)
			_, _, err := DecodeFrame(b, 0)
			require.Error(t, err, "%s: flip of bit %d accepted", kindName(m.Body.Kind()), bit)
			_, rerr := ReadFrame(bytes.NewReader(b), 0)
			require.Error(t, rerr, "%s: flip of bit %d accepted by ReadFrame", kindName(m.Body.Kind()), bit)
			if off := bit / 8; off < 20 || off >= 24 {
				// Outside the length field the frame is whole, so the
				// damage must be reported as such.
				var fe *FrameError
				require.ErrorAs(t, err, &fe, "bit %d", bit)
				require.ErrorAs(t, rerr, &fe, "bit %d", bit)
				if off >= 3 {
					require.Contains(t, fe.Reason, "checksum", "bit %d", bit)
				}
			}
		}
	}
}

func TestTruncation(t *testing.T) {
	for _, c := range wireCases {
		b := encode(t, c.msg)
		for k := range len(b) {
			_, n, err := DecodeFrame(b[:k], 0)
			require.ErrorIs(t, err, ErrShortFrame, "%s cut at %d", c.name, k)
			require.Zero(t, n)
			_, err = ReadFrame(bytes.NewReader(b[:k]), 0)
			if k == 0 {
				require.ErrorIs(t, err, io.EOF)
				require.NotErrorIs(t, err, io.ErrUnexpectedEOF)
			} else {
				require.ErrorIs(t, err, io.ErrUnexpectedEOF, "%s cut at %d", c.name, k)
			}
		}
	}
}

// headerOnly is a reader that yields one header and then fails the read,
// so a reader that goes past the header reports errPastHeader.
type headerOnly struct {
	h   []byte
	off int
}

var errPastHeader = errors.New("read past the header")

func (r *headerOnly) Read(p []byte) (int, error) {
	if r.off == len(r.h) {
		return 0, errPastHeader
	}
	n := copy(p, r.h[r.off:])
	r.off += n
	return n, nil
}

func TestOversizeRejectedFromHeader(t *testing.T) {
	tests := []struct {
		name  string
		len   uint32
		limit int
	}{
		{"over caller limit", 101, 100},
		{"over default", MaxFrameSize + 1, 0},
		{"over MaxFrameSize despite larger limit", MaxFrameSize + 1, MaxFrameSize * 4},
		{"max uint32", 0xffffffff, 0},
		{"negative as int32", 0x80000000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := rawFrame(WireVersion, KindSnap, nil)
			binary.BigEndian.PutUint32(h[20:], tt.len)
			var fe *FrameError
			_, _, err := DecodeFrame(h, tt.limit)
			require.ErrorAs(t, err, &fe)
			require.Contains(t, fe.Reason, "exceeds the limit")
			_, err = ReadFrame(&headerOnly{h: h}, tt.limit)
			require.ErrorAs(t, err, &fe)
			require.NotErrorIs(t, err, errPastHeader)
		})
	}

	// At the limit is fine.
	b := encode(t, Message{Body: Snap{Data: make([]byte, 100-13)}})
	require.Len(t, b, FrameHeaderSize+100)
	_, _, err := DecodeFrame(b, 100)
	require.NoError(t, err)
	_, err = ReadFrame(bytes.NewReader(b), 100)
	require.NoError(t, err)
	_, _, err = DecodeFrame(b, 99)
	require.Error(t, err)
}

func TestReadFrameAllocatesAsBytesArrive(t *testing.T) {
	h := rawFrame(WireVersion, KindSnap, nil)
	binary.BigEndian.PutUint32(h[20:], 60<<20)
	in := append(h, make([]byte, 1000)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadFrame(bytes.NewReader(in), 0)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "a 60 MiB announcement with 1000 bytes sent")
}

func TestMalformedFrames(t *testing.T) {
	ack := encode(t, Message{Body: Ack{Zxid: 1}})
	tests := []struct {
		name   string
		frame  []byte
		reason string
	}{
		{"other version", rawFrame(2, KindAck, ack[FrameHeaderSize:]),
			"peer speaks wire version 2, this server speaks version 1"},
		{"version 0", rawFrame(0, KindAck, ack[FrameHeaderSize:]), "wire version 0"},
		{"bad magic", append([]byte("ZK"), ack[2:]...), "bad magic"},
		{"http", []byte("GET / HTTP/1.1\r\n\r\n"), "bad magic"},
		{"bad magic in a short prefix", []byte("X"), "bad magic"},
		{"other version in a short prefix", []byte("WZ\x07"), "wire version 7"},
		{"bad crc", func() []byte { b := slices.Clone(ack); b[24] ^= 0xff; return b }(), "checksum mismatch"},
		{"unknown kind", rawFrame(1, 99, nil), "unknown message kind 99"},
		{"commitandactivate is not spoken", rawFrame(1, 9, ack[FrameHeaderSize:]), "unknown message kind 9"},
		{"trailing byte", rawFrame(1, KindAck, append(slices.Clone(ack[FrameHeaderSize:]), 0)), "ACK payload: 1 trailing bytes"},
		{"uptodate with payload", rawFrame(1, KindUpToDate, []byte{0}), "trailing"},
		{"short body", rawFrame(1, KindAck, []byte{0, 0, 0}), "ACK payload: truncated"},
		{"bool 2", rawFrame(1, KindHello, slices.Concat(make([]byte, 20), []byte{2})), "neither 0 nor 1"},
		{"unknown peer state", rawFrame(1, KindNotification, slices.Concat([]byte{4}, make([]byte, 40))), "unknown peer state 4"},
		{"null path", rawFrame(1, KindSyncRequest, slices.Concat(make([]byte, 12), []byte{0xff, 0xff, 0xff, 0xff})), "length -1"},
		{"negative buffer length", rawFrame(1, KindProposal, slices.Concat(make([]byte, 8), []byte{0xff, 0xff, 0xff, 0xfe})), "length -2"},
		{"buffer longer than payload", rawFrame(1, KindProposal, slices.Concat(make([]byte, 8), []byte{0, 0, 0, 5}, []byte("abcd"))), "length 5 out of range"},
		{"huge ping vector", rawFrame(1, KindPing, []byte{0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3}), "out of range"},
		{"ping vector one element short", rawFrame(1, KindPing, slices.Concat([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2}, make([]byte, 23))), "length 2 out of range"},
		{"huge auth vector", rawFrame(1, KindRequest, slices.Concat(make([]byte, 16), []byte{0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0})), "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fe *FrameError
			_, n, err := DecodeFrame(tt.frame, 0)
			require.ErrorAs(t, err, &fe)
			require.Contains(t, fe.Reason, tt.reason)
			require.Contains(t, err.Error(), "zab: bad frame: ")
			require.Zero(t, n)
			_, err = ReadFrame(bytes.NewReader(tt.frame), 0)
			require.ErrorAs(t, err, &fe)
			require.Contains(t, fe.Reason, tt.reason)
		})
	}
}

type foreignBody struct{}

func (foreignBody) Kind() Kind { return KindAck }

func TestAppendFrameErrors(t *testing.T) {
	dst := []byte("kept")
	for _, m := range []Message{
		{},
		{Body: &Ack{Zxid: 1}},
		{Body: foreignBody{}},
	} {
		out, err := AppendFrame(dst, m)
		require.Error(t, err, "%T", m.Body)
		require.Equal(t, []byte("kept"), out)
	}

	out, err := appendFrameMax(dst, Message{Body: Proposal{Txn: make([]byte, 100)}}, 111)
	require.ErrorContains(t, err, "PROPOSAL payload of 112 bytes exceeds the 111 byte frame limit")
	require.Equal(t, []byte("kept"), out)
	_, err = appendFrameMax(nil, Message{Body: Proposal{Txn: make([]byte, 100)}}, 112)
	require.NoError(t, err)
}

func TestReadFrameStream(t *testing.T) {
	var stream []byte
	for _, c := range wireCases {
		var err error
		stream, err = AppendFrame(stream, c.msg)
		require.NoError(t, err)
	}
	for name, r := range map[string]io.Reader{
		"one byte":  iotest.OneByteReader(bytes.NewReader(stream)),
		"half":      iotest.HalfReader(bytes.NewReader(stream)),
		"data+eof":  iotest.DataErrReader(bytes.NewReader(stream)),
		"whole":     bytes.NewReader(stream),
		"byte-wise": iotest.OneByteReader(iotest.DataErrReader(bytes.NewReader(stream))),
	} {
		t.Run(name, func(t *testing.T) {
			for _, c := range wireCases {
				m, err := ReadFrame(r, 0)
				require.NoError(t, err, c.name)
				require.Equal(t, c.msg, m)
			}
			_, err := ReadFrame(r, 0)
			require.Equal(t, io.EOF, err)
		})
	}

	// DecodeFrame walks the same stream.
	for i := 0; len(stream) > 0; i++ {
		m, n, err := DecodeFrame(stream, 0)
		require.NoError(t, err)
		require.Equal(t, wireCases[i].msg, m)
		stream = stream[n:]
	}
}

func TestReadFrameReaderError(t *testing.T) {
	b := encode(t, Message{Body: Ack{Zxid: 1}})
	boom := errors.New("boom")
	_, err := ReadFrame(iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(b))), 0)
	require.ErrorIs(t, err, iotest.ErrTimeout)
	_, err = ReadFrame(io.MultiReader(bytes.NewReader(b[:FrameHeaderSize+2]), iotest.ErrReader(boom)), 0)
	require.ErrorIs(t, err, boom)
}

// wireSeeds are the committed seeds of FuzzDecodeFrame: valid frames of
// several kinds and broken ones.
func wireSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	for _, name := range []string{"ack", "hello-election", "proposal", "proposal-nil", "request", "ping",
		"notification", "sync", "snap-last-empty", "uptodate", "newleader-empty"} {
		for _, c := range wireCases {
			if c.name == name {
				seeds["valid-"+name] = encode(t, c.msg)
			}
		}
	}
	req := seeds["valid-request"]
	seeds["two-frames"] = slices.Concat(seeds["valid-ack"], seeds["valid-hello-election"], seeds["valid-proposal"])
	seeds["truncated-request"] = req[:len(req)-3]
	seeds["header-only"] = req[:FrameHeaderSize]
	badCRC := slices.Clone(req)
	badCRC[FrameHeaderSize+5] ^= 0x10
	seeds["bad-crc"] = badCRC
	seeds["version-2"] = rawFrame(2, KindAck, make([]byte, 8))
	seeds["bad-magic"] = append([]byte("ZW"), req[2:]...)
	seeds["unknown-kind"] = rawFrame(1, 200, []byte{1, 2, 3})
	seeds["trailing"] = rawFrame(1, KindCommit, make([]byte, 9))
	seeds["bool-2"] = rawFrame(1, KindRevalidateReply, slices.Concat(make([]byte, 8), []byte{2}, make([]byte, 4)))
	seeds["huge-vector"] = rawFrame(1, KindPing, []byte{0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff})
	huge := rawFrame(1, KindSnap, nil)
	binary.BigEndian.PutUint32(huge[20:], 0xfffffff0)
	seeds["huge-length"] = huge
	seeds["empty"] = []byte{}
	return seeds
}

func seedFile(name string, data []byte) (string, string) {
	sum := sha256.Sum256(data)
	return "seed-" + name + "-" + hex.EncodeToString(sum[:4]), fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
}

// payloadSeeds are the committed seeds of FuzzDecodePayload: the kind byte
// and payload of a valid message of every kind, and a few broken payloads.
func payloadSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	for _, c := range wireCases {
		b := encode(t, c.msg)
		seeds["valid-"+c.name] = append([]byte{b[3]}, b[FrameHeaderSize:]...)
	}
	seeds["unknown-kind"] = []byte{99, 0, 0}
	seeds["null-path"] = slices.Concat([]byte{byte(KindSync)}, make([]byte, 12), []byte{0xff, 0xff, 0xff, 0xff}, make([]byte, 8))
	seeds["short-auth"] = slices.Concat([]byte{byte(KindRequest)}, make([]byte, 16), []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2})
	return seeds
}

// TestSeedCorpus keeps testdata/fuzz/<target> equal to wireSeeds and
// payloadSeeds, so a format change cannot leave stale seeds behind;
// -write-corpus rewrites them.
func TestSeedCorpus(t *testing.T) {
	for target, seeds := range map[string]map[string][]byte{
		"FuzzDecodeFrame":   wireSeeds(t),
		"FuzzDecodePayload": payloadSeeds(t),
	} {
		t.Run(target, func(t *testing.T) { checkCorpus(t, target, seeds) })
	}
}

func checkCorpus(t *testing.T, target string, seeds map[string][]byte) {
	dir := filepath.Join("testdata", "fuzz", target)
	want := map[string]string{}
	for name, data := range seeds {
		file, content := seedFile(name, data)
		want[file] = content
	}
	if *writeCorpus {
		old, err := filepath.Glob(filepath.Join(dir, "seed-*"))
		require.NoError(t, err)
		for _, f := range old {
			require.NoError(t, os.Remove(f))
		}
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for file, content := range want {
			require.NoError(t, os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644))
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "seed-*"))
	require.NoError(t, err)
	got := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		got[filepath.Base(f)] = string(b)
	}
	require.Equal(t, want, got, "seed corpus is stale: go test ./core/zab -run TestSeedCorpus -write-corpus")
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(encode(f, Message{From: 1, To: 2, Body: Ack{Zxid: 5}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 20
		m, n, err := DecodeFrame(data, limit)
		rm, rerr := ReadFrame(bytes.NewReader(data), limit)
		if err != nil {
			var fe *FrameError
			if errors.Is(err, ErrShortFrame) {
				require.Zero(t, n)
				if len(data) == 0 {
					require.Equal(t, io.EOF, rerr)
				} else {
					require.ErrorIs(t, rerr, io.ErrUnexpectedEOF)
				}
				return
			}
			require.ErrorAs(t, err, &fe, "unexpected error %v", err)
			require.ErrorAs(t, rerr, &fe)
			require.Equal(t, err, rerr)
			return
		}
		require.NoError(t, rerr)
		require.Equal(t, m, rm)
		enc, err := AppendFrame(nil, m)
		require.NoError(t, err)
		require.Equal(t, data[:n], enc)
	})
}

// FuzzDecodePayload fuzzes the body decoders behind a valid checksum,
// which FuzzDecodeFrame rarely gets past: data is a kind byte and a
// payload.
func FuzzDecodePayload(f *testing.F) {
	f.Add([]byte{byte(KindAck), 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		frame := rawFrame(WireVersion, Kind(data[0]), data[1:])
		m, n, err := DecodeFrame(frame, 0)
		if err != nil {
			var fe *FrameError
			require.ErrorAs(t, err, &fe, "unexpected error %v", err)
			return
		}
		require.Equal(t, len(frame), n)
		enc, err := AppendFrame(nil, m)
		require.NoError(t, err)
		require.Equal(t, frame, enc)
	})
}

func benchProposal() Message {
	return Message{From: 1, To: 2, Body: Proposal{Zxid: MakeZxid(5, 1), Txn: bytes.Repeat([]byte{0x5a}, 200)}}
}

func BenchmarkProposal(b *testing.B) {
	m := benchProposal()
	frame := encode(b, m)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			var err error
			buf, err = AppendFrame(buf[:0], m)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			if _, _, err := DecodeFrame(frame, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		r := bytes.NewReader(frame)
		for b.Loop() {
			r.Reset(frame)
			if _, err := ReadFrame(r, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
