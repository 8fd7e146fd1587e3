package zkwire

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
)

func TestDecodeRequestGolden(t *testing.T) {
	// §3.6 worked examples, as whole frames.
	tests := []struct {
		name  string
		frame string
		hdr   proto.RequestHeader
		rec   proto.Record
	}{
		{"ping", "00000008 FFFFFFFE 0000000B", proto.RequestHeader{Xid: proto.XidPing, Type: proto.OpPing}, nil},
		{"getData /a watch", "0000000F 00000001 00000004 00000002 2F61 01",
			proto.RequestHeader{Xid: 1, Type: proto.OpGetData}, &proto.GetDataRequest{Path: "/a", Watch: true}},
		{"auth digest u:p", "0000001D FFFFFFFC 00000064 00000000 00000006 646967657374 00000003 753A70",
			proto.RequestHeader{Xid: proto.XidAuth, Type: proto.OpAuth}, &proto.AuthPacket{Scheme: "digest", Auth: []byte("u:p")}},
		{"closeSession", "00000008 00000007 FFFFFFF5", proto.RequestHeader{Xid: 7, Type: proto.OpCloseSession}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame := unhex(t, tc.frame)
			payload, err := ReadFrame(reader(frame), nil, DefaultMaxFrame)
			require.NoError(t, err)
			hdr, rec, err := DecodeRequest(payload, DefaultMaxFrame)
			require.NoError(t, err)
			assert.Equal(t, tc.hdr, hdr)
			assert.Equal(t, tc.rec, rec)
			assert.Equal(t, frame, AppendRequest(nil, &hdr, rec))
		})
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	check := jute.NewEncoder(nil)
	(&proto.MultiHeader{Type: proto.OpExists, Err: -1}).Encode(check)
	(&proto.ExistsRequest{Path: "/"}).Encode(check)
	(&proto.MultiHeader{Type: proto.OpError, Done: true, Err: -1}).Encode(check)
	multiWithExists := append(unhex(t, "00000001 0000000E"), check.Bytes()...)

	tests := []struct {
		name     string
		payload  []byte
		short    bool
		unknown  bool
		body     bool
		wantHdr  proto.RequestHeader
		inner    error
		typeErr  bool
		validRec proto.Record
	}{
		// ZooKeeper 3.8.0 closes without a reply on these two.
		{name: "empty frame", payload: []byte{}, short: true},
		{name: "half a header", payload: unhex(t, "00000001"), short: true},
		// ... answers ZUNIMPLEMENTED then closes on these.
		{name: "opcode 50", payload: unhex(t, "00000001 00000032"), unknown: true, wantHdr: proto.RequestHeader{Xid: 1, Type: 50}},
		{name: "notification opcode", payload: unhex(t, "00000002 00000000"), unknown: true, wantHdr: proto.RequestHeader{Xid: 2, Type: 0}},
		{name: "createSession from a client", payload: unhex(t, "00000003 FFFFFFF6 00007530"), unknown: true,
			wantHdr: proto.RequestHeader{Xid: 3, Type: proto.OpCreateSession}},
		{name: "deleteContainer from a client", payload: unhex(t, "00000004 00000014 00000001 2F"), unknown: true,
			wantHdr: proto.RequestHeader{Xid: 4, Type: proto.OpDeleteContainer}},
		// ... answers ZMARSHALLINGERROR and keeps the connection on these.
		{name: "truncated getData body", payload: unhex(t, "00000001 00000004 0000000A 2F61"), body: true,
			wantHdr: proto.RequestHeader{Xid: 1, Type: proto.OpGetData}, inner: jute.ErrShort},
		{name: "getData without body", payload: unhex(t, "00000001 00000004"), body: true,
			wantHdr: proto.RequestHeader{Xid: 1, Type: proto.OpGetData}, inner: jute.ErrShort},
		{name: "setWatches with a short vector", payload: unhex(t, "00000005 00000065 0000000000000000 00000005"), body: true,
			wantHdr: proto.RequestHeader{Xid: 5, Type: proto.OpSetWatches}},
		{name: "multi with an exists sub-op", payload: multiWithExists, body: true, typeErr: true,
			wantHdr: proto.RequestHeader{Xid: 1, Type: proto.OpMulti}},
		{name: "multi without terminator", payload: unhex(t, "00000001 0000000E 0000000D 00 FFFFFFFF 00000001 2F FFFFFFFF"), body: true,
			wantHdr: proto.RequestHeader{Xid: 1, Type: proto.OpMulti}, inner: jute.ErrShort},
		// ... and tolerates trailing bytes.
		{name: "trailing bytes after getData", payload: unhex(t, "00000001 00000004 00000001 2F 00 6761726261676565"),
			wantHdr: proto.RequestHeader{Xid: 1, Type: proto.OpGetData}, validRec: &proto.GetDataRequest{Path: "/"}},
		{name: "trailing bytes after whoAmI", payload: unhex(t, "00000001 0000006B 7878"),
			wantHdr: proto.RequestHeader{Xid: 1, Type: proto.OpWhoAmI}},
		{name: "watch byte 2 is true", payload: unhex(t, "00000001 00000003 00000001 2F 02"),
			wantHdr: proto.RequestHeader{Xid: 1, Type: proto.OpExists}, validRec: &proto.ExistsRequest{Path: "/", Watch: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr, rec, err := DecodeRequest(tc.payload, DefaultMaxFrame)
			switch {
			case tc.short:
				assert.ErrorIs(t, err, ErrShortHeader)
				assert.Nil(t, rec)
				return
			case tc.unknown:
				var ue *UnknownOpError
				require.ErrorAs(t, err, &ue)
				assert.Equal(t, tc.wantHdr, ue.Header)
				assert.Equal(t, proto.ErrUnimplemented, ue.Code())
			case tc.body:
				var be *BodyError
				require.ErrorAs(t, err, &be)
				assert.Equal(t, tc.wantHdr, be.Header)
				assert.Equal(t, proto.ErrMarshallingError, be.Code())
				if tc.inner != nil {
					assert.ErrorIs(t, err, tc.inner)
				}
				if tc.typeErr {
					var te *proto.MultiTypeError
					require.ErrorAs(t, err, &te)
					assert.Equal(t, proto.OpExists, te.Type)
				}
			default:
				require.NoError(t, err)
				assert.Equal(t, tc.validRec, rec)
			}
			assert.Equal(t, tc.wantHdr, hdr)
			if err != nil {
				assert.Nil(t, rec)
			}
		})
	}
}

func TestDecodeRequestLimit(t *testing.T) {
	payload := AppendRequest(nil, &proto.RequestHeader{Xid: 1, Type: proto.OpSetData},
		&proto.SetDataRequest{Path: "/a", Data: make([]byte, 2000), Version: -1})[4:]
	_, _, err := DecodeRequest(payload, 1000)
	var le *jute.LengthError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, int32(2000), le.Len)
	_, rec, err := DecodeRequest(payload, 0)
	require.NoError(t, err)
	assert.Len(t, rec.(*proto.SetDataRequest).Data, 2000)
}

// Decoding is bounded by the input: a hostile count or length never makes
// DecodeRequest allocate far beyond the frame it was given.
func TestDecodeRequestAllocationBounded(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
	}{
		{"huge string vector", unhex(t, "00000001 00000065 0000000000000000 000FFFFF 00000000")},
		{"huge ACL vector", unhex(t, "00000001 00000001 00000001 2F FFFFFFFF 000FFFFF 0000001F")},
		{"huge path", unhex(t, "00000001 00000004 000FFFFF 2F")},
		{"endless multi of bare headers", append(unhex(t, "00000001 0000000E"), make([]byte, 4096)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range 10 {
				_, _, _ = DecodeRequest(tc.payload, DefaultMaxFrame)
			}
			runtime.ReadMemStats(&after)
			perCall := (after.TotalAlloc - before.TotalAlloc) / 10
			assert.Less(t, perCall, uint64(16*len(tc.payload)+4096), "allocated %d bytes for %d", perCall, len(tc.payload))
		})
	}
}
