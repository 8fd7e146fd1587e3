package proto

import (
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/jute"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

var sampleStat = Stat{
	Czxid: 0x100000002, Mzxid: 0x100000003, Ctime: 1700000000000, Mtime: 1700000000123,
	Version: 2, Cversion: 3, Aversion: 1, EphemeralOwner: 0x0100004e0ea50000,
	DataLength: 5, NumChildren: 1, Pzxid: 0x100000004,
}

var digestACL = []ACL{
	{Perms: PermAll, ID: WorldAnyone},
	{Perms: PermRead | PermWrite, ID: Id{Scheme: "digest", ID: "user:HASH="}},
}

// newEmpty returns a new zero value of the record type r points to.
func newEmpty(r Record) Record {
	return reflect.New(reflect.TypeOf(r).Elem()).Interface().(Record)
}

// everyRecord is one populated value of every record type of records.go and
// multi.go, with nil-versus-empty variants where the encoding differs.
func everyRecord() map[string]Record {
	return map[string]Record{
		"ConnectRequest/readOnly": &ConnectRequest{ProtocolVersion: 0, LastZxidSeen: 0x1f, TimeOut: 30000,
			SessionID: 0x0100004e0ea50001, Passwd: []byte("0123456789abcdef"), ReadOnly: true, HasReadOnly: true},
		"ConnectRequest/noReadOnly": &ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)},
		"ConnectRequest/nullPasswd": &ConnectRequest{TimeOut: 10000, HasReadOnly: true},
		"ConnectResponse/readOnly": &ConnectResponse{TimeOut: 4000, SessionID: -5,
			Passwd: []byte("fedcba9876543210"), ReadOnly: false, HasReadOnly: true},
		"ConnectResponse/noReadOnly": &ConnectResponse{TimeOut: 0, SessionID: 0, Passwd: make([]byte, 16)},
		"MultiHeader":                &MultiHeader{Type: OpCreate, Done: false, Err: ErrSystemError},
		"AuthPacket":                 &AuthPacket{Type: 0, Scheme: "digest", Auth: []byte("u:p")},
		"AuthPacket/emptyAuth":       &AuthPacket{Scheme: "ip", Auth: []byte{}},
		"SetWatches": &SetWatches{RelativeZxid: 77, DataWatches: []string{"/a", "/b"},
			ExistWatches: []string{}, ChildWatches: []string{"/"}},
		"SetWatches/null": &SetWatches{RelativeZxid: -1},
		"SetWatches2": &SetWatches2{RelativeZxid: 9, DataWatches: []string{"/a"}, ExistWatches: []string{"/x"},
			ChildWatches: []string{}, PersistentWatches: []string{"/p"}, PersistentRecursiveWatches: []string{"/r", "/r2"}},
		"CreateRequest":         &CreateRequest{Path: "/a/b", Data: []byte("data"), ACL: digestACL, Flags: ModeEphemeralSequential},
		"CreateRequest/nilData": &CreateRequest{Path: "/n", ACL: OpenACLUnsafe},
		"CreateRequest/nilACL":  &CreateRequest{Path: "/n", Data: []byte{}},
		"CreateTTLRequest": &CreateTTLRequest{Path: "/t", Data: []byte("t"), ACL: OpenACLUnsafe,
			Flags: ModePersistentWithTTL, TTL: 3600000},
		"CreateResponse":               &CreateResponse{Path: "/a/seq-0000000007"},
		"Create2Response":              &Create2Response{Path: "/a", Stat: sampleStat},
		"DeleteRequest":                &DeleteRequest{Path: "/a", Version: -1},
		"ExistsRequest":                &ExistsRequest{Path: "/a", Watch: true},
		"ExistsResponse":               &ExistsResponse{Stat: sampleStat},
		"GetDataRequest":               &GetDataRequest{Path: "/a", Watch: false},
		"GetDataResponse":              &GetDataResponse{Data: []byte("hi"), Stat: sampleStat},
		"GetDataResponse/nil":          &GetDataResponse{Stat: sampleStat},
		"SetDataRequest":               &SetDataRequest{Path: "/a", Data: []byte("v"), Version: 4},
		"SetDataResponse":              &SetDataResponse{Stat: sampleStat},
		"GetACLRequest":                &GetACLRequest{Path: "/a"},
		"GetACLResponse":               &GetACLResponse{ACL: digestACL, Stat: sampleStat},
		"SetACLRequest":                &SetACLRequest{Path: "/a", ACL: ReadACLUnsafe, Version: 0},
		"SetACLResponse":               &SetACLResponse{Stat: sampleStat},
		"GetChildrenRequest":           &GetChildrenRequest{Path: "/", Watch: true},
		"GetChildrenResponse":          &GetChildrenResponse{Children: []string{"zookeeper", "a"}},
		"GetChildrenResponse/":         &GetChildrenResponse{Children: []string{}},
		"GetChildren2Request":          &GetChildren2Request{Path: "/", Watch: false},
		"GetChildren2Response":         &GetChildren2Response{Children: []string{"x"}, Stat: sampleStat},
		"CheckVersionRequest":          &CheckVersionRequest{Path: "/c", Version: 7},
		"SyncRequest":                  &SyncRequest{Path: "/s"},
		"SyncResponse":                 &SyncResponse{Path: "/s"},
		"CheckWatchesRequest":          &CheckWatchesRequest{Path: "/w", Type: WatcherData},
		"RemoveWatchesRequest":         &RemoveWatchesRequest{Path: "/w", Type: WatcherAny},
		"AddWatchRequest":              &AddWatchRequest{Path: "/w", Mode: AddWatchPersistentRecursive},
		"ErrorResponse":                &ErrorResponse{Err: ErrNoNode},
		"GetEphemeralsRequest":         &GetEphemeralsRequest{PrefixPath: "/e"},
		"GetEphemeralsResponse":        &GetEphemeralsResponse{Ephemerals: []string{"/e/1", "/e/2"}},
		"GetAllChildrenNumberRequest":  &GetAllChildrenNumberRequest{Path: "/"},
		"GetAllChildrenNumberResponse": &GetAllChildrenNumberResponse{TotalNumber: 12},
		"ClientInfo":                   &ClientInfo{AuthScheme: "ip", User: "127.0.0.1"},
		"WhoAmIResponse": &WhoAmIResponse{ClientInfo: []ClientInfo{{AuthScheme: "ip", User: "127.0.0.1"},
			{AuthScheme: "digest", User: "u"}}},
		"WhoAmIResponse/null": &WhoAmIResponse{},
		"ReconfigRequest": &ReconfigRequest{JoiningServers: "server.4=h:2888:3888;2181",
			LeavingServers: "3", CurConfigID: -1},
		"SetSASLRequest":  &SetSASLRequest{Token: []byte{1, 2, 3}},
		"GetSASLRequest":  &GetSASLRequest{Token: []byte{}},
		"SetSASLResponse": &SetSASLResponse{Token: []byte{9}},
		"MultiRequest": &MultiRequest{Ops: []MultiOp{
			{Type: OpCreate, Req: &CreateRequest{Path: "/m", Data: []byte("1"), ACL: OpenACLUnsafe}},
			{Type: OpCreate2, Req: &CreateRequest{Path: "/m2", ACL: OpenACLUnsafe}},
			{Type: OpCreateContainer, Req: &CreateRequest{Path: "/c", ACL: OpenACLUnsafe, Flags: ModeContainer}},
			{Type: OpCreateTTL, Req: &CreateTTLRequest{Path: "/t", ACL: OpenACLUnsafe, Flags: ModePersistentWithTTL, TTL: 5}},
			{Type: OpSetData, Req: &SetDataRequest{Path: "/m", Data: []byte("2"), Version: -1}},
			{Type: OpCheck, Req: &CheckVersionRequest{Path: "/m", Version: 1}},
			{Type: OpDelete, Req: &DeleteRequest{Path: "/m", Version: -1}},
			{Type: OpGetData, Req: &GetDataRequest{Path: "/g", Watch: true}},
			{Type: OpGetChildren, Req: &GetChildrenRequest{Path: "/g"}},
		}},
		"MultiRequest/empty": &MultiRequest{},
		"MultiResponse": &MultiResponse{Results: []MultiResult{
			{Type: OpCreate, Path: "/m"},
			{Type: OpCreate2, Path: "/m2", Stat: sampleStat},
			{Type: OpSetData, Stat: sampleStat},
			{Type: OpCheck},
			{Type: OpDelete},
			{Type: OpGetData, Data: []byte("d"), Stat: sampleStat},
			{Type: OpGetData, Stat: sampleStat},
			{Type: OpGetChildren, Children: []string{"a", "b"}},
			{Type: OpError, Err: ErrNoNode},
		}},
		"MultiResponse/failed": &MultiResponse{Results: []MultiResult{
			{Type: OpError, Err: OK}, {Type: OpError, Err: ErrNodeExists}, {Type: OpError, Err: ErrRuntimeInconsistency},
		}},
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	for name, rec := range everyRecord() {
		t.Run(name, func(t *testing.T) {
			b := Encode(rec)
			got := newEmpty(rec)
			require.NoError(t, Decode(b, 0, got))
			assert.Equal(t, rec, got)
			assert.Equal(t, b, Encode(got), "re-encoding changed the bytes")

			// Every proper prefix is rejected as truncated, except where the
			// record legitimately ends early (the optional readOnly byte).
			for i := range len(b) {
				err := Decode(b[:i], 0, newEmpty(rec))
				if i == len(b)-1 && strings.HasPrefix(name, "Connect") && strings.HasSuffix(name, "/readOnly") {
					assert.NoError(t, err)
					continue
				}
				if strings.HasPrefix(name, "ConnectRequest/nullPasswd") && i == len(b)-1 {
					assert.NoError(t, err)
					continue
				}
				assert.Error(t, err, "prefix of %d/%d bytes decoded", i, len(b))
			}
		})
	}
}

func TestRecordsIgnoreTrailingBytes(t *testing.T) {
	for name, rec := range everyRecord() {
		if strings.HasPrefix(name, "Connect") {
			continue // the trailing byte is the optional readOnly flag; see TestConnectReadOnlyOptional
		}
		t.Run(name, func(t *testing.T) {
			b := append(Encode(rec), 0xde, 0xad, 0xbe, 0xef)
			got := newEmpty(rec)
			require.NoError(t, Decode(b, 0, got))
			assert.Equal(t, rec, got)
		})
	}
}

func TestConnectReadOnlyOptional(t *testing.T) {
	base := unhex(t, "00000000 0000000000000010 00007530 0000000000000000 00000010 00000000000000000000000000000000")
	tests := []struct {
		name    string
		extra   []byte
		has, ro bool
	}{
		{"absent (go-zookeeper)", nil, false, false},
		{"false", []byte{0}, true, false},
		{"true", []byte{1}, true, true},
		{"non-zero is true", []byte{2}, true, true},
		{"trailing bytes after the flag are ignored", []byte{1, 9, 9}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req ConnectRequest
			require.NoError(t, Decode(append(append([]byte{}, base...), tc.extra...), 0, &req))
			assert.Equal(t, tc.has, req.HasReadOnly)
			assert.Equal(t, tc.ro, req.ReadOnly)
			assert.Equal(t, int64(0x10), req.LastZxidSeen)
			assert.Equal(t, int32(30000), req.TimeOut)
			assert.Len(t, req.Passwd, 16)
		})
	}
}

func TestDecodeCopiesBuffers(t *testing.T) {
	tests := []struct {
		rec  Record
		data func(Record) []byte
	}{
		{&CreateRequest{Path: "/a", Data: []byte("hello"), ACL: OpenACLUnsafe}, func(r Record) []byte { return r.(*CreateRequest).Data }},
		{&CreateTTLRequest{Path: "/a", Data: []byte("hello"), ACL: OpenACLUnsafe}, func(r Record) []byte { return r.(*CreateTTLRequest).Data }},
		{&SetDataRequest{Path: "/a", Data: []byte("hello")}, func(r Record) []byte { return r.(*SetDataRequest).Data }},
		{&GetDataResponse{Data: []byte("hello")}, func(r Record) []byte { return r.(*GetDataResponse).Data }},
		{&AuthPacket{Scheme: "digest", Auth: []byte("hello")}, func(r Record) []byte { return r.(*AuthPacket).Auth }},
		{&ConnectRequest{Passwd: []byte("hello")}, func(r Record) []byte { return r.(*ConnectRequest).Passwd }},
		{&ConnectResponse{Passwd: []byte("hello")}, func(r Record) []byte { return r.(*ConnectResponse).Passwd }},
		{&GetSASLRequest{Token: []byte("hello")}, func(r Record) []byte { return r.(*GetSASLRequest).Token }},
		{&SetSASLRequest{Token: []byte("hello")}, func(r Record) []byte { return r.(*SetSASLRequest).Token }},
		{&SetSASLResponse{Token: []byte("hello")}, func(r Record) []byte { return r.(*SetSASLResponse).Token }},
		{&MultiRequest{Ops: []MultiOp{{Type: OpSetData, Req: &SetDataRequest{Path: "/a", Data: []byte("hello")}}}},
			func(r Record) []byte { return r.(*MultiRequest).Ops[0].Req.(*SetDataRequest).Data }},
		{&MultiResponse{Results: []MultiResult{{Type: OpGetData, Data: []byte("hello")}}},
			func(r Record) []byte { return r.(*MultiResponse).Results[0].Data }},
	}
	for _, tc := range tests {
		t.Run(reflect.TypeOf(tc.rec).Elem().Name(), func(t *testing.T) {
			frame := Encode(tc.rec)
			got := newEmpty(tc.rec)
			require.NoError(t, Decode(frame, 0, got))
			for i := range frame {
				frame[i] = 'X' // the caller reuses its frame buffer
			}
			assert.Equal(t, []byte("hello"), tc.data(got))
		})
	}
}

func TestGoldenEncodings(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
		hex  string
	}{
		// §3.6: an ACL entry [ALL, world:anyone] is 23 bytes.
		{"acl entry", &OpenACLUnsafe[0], "0000001F 00000005 776F726C64 00000006 616E796F6E65"},
		// §3.6: the auth packet body for digest "u:p".
		{"auth packet", &AuthPacket{Scheme: "digest", Auth: []byte("u:p")}, "00000000 00000006 646967657374 00000003 753A70"},
		// §3.6: getData("/a", watch=true) body.
		{"getData request", &GetDataRequest{Path: "/a", Watch: true}, "00000002 2F61 01"},
		// §3.6: the getData reply body for data "hi" is 6 + 68 bytes.
		{"getData response", &GetDataResponse{Data: []byte("hi")}, "00000002 6869" + strings.Repeat("00", StatSize)},
		// §3.5: a multi request header and terminator.
		{"empty multi request", &MultiRequest{}, "FFFFFFFF 01 FFFFFFFF"},
		{"multi delete", &MultiRequest{Ops: []MultiOp{{Type: OpDelete, Req: &DeleteRequest{Path: "/a", Version: -1}}}},
			"00000002 00 FFFFFFFF 00000002 2F61 FFFFFFFF  FFFFFFFF 01 FFFFFFFF"},
		// §3.5: a failed result has header err = code and an ErrorResponse body.
		{"multi error result", &MultiResponse{Results: []MultiResult{{Type: OpError, Err: ErrNoNode}, {Type: OpDelete}}},
			"FFFFFFFF 00 FFFFFF9B FFFFFF9B  00000002 00 00000000  FFFFFFFF 01 FFFFFFFF"},
		// §0.7: addWatch's success body is a 4-byte 0.
		{"addWatch reply", &ErrorResponse{Err: OK}, "00000000"},
		// §1.4: the 37-byte connect response carrying readOnly.
		{"connect response", &ConnectResponse{TimeOut: 4000, SessionID: 1, Passwd: make([]byte, 16), HasReadOnly: true},
			"00000000 00000FA0 0000000000000001 00000010 00000000000000000000000000000000 00"},
		// A reconfig with absent arguments writes null strings, as Java does.
		{"reconfig absent args", &ReconfigRequest{LeavingServers: "2", CurConfigID: -1},
			"FFFFFFFF 00000001 32 FFFFFFFF FFFFFFFFFFFFFFFF"},
		{"whoAmI null", &WhoAmIResponse{}, "FFFFFFFF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.hex)
			assert.Equal(t, want, Encode(tc.rec))
			got := newEmpty(tc.rec)
			require.NoError(t, Decode(want, 0, got))
			assert.Equal(t, want, Encode(got))
		})
	}
	assert.Len(t, Encode(&OpenACLUnsafe[0]), 23)
	assert.Len(t, Encode(&ConnectResponse{Passwd: make([]byte, 16), HasReadOnly: true}), 37)
	assert.Len(t, Encode(&ConnectRequest{Passwd: make([]byte, 16), HasReadOnly: true}), 45)
	assert.Len(t, Encode(&ConnectRequest{Passwd: make([]byte, 16)}), 44)
}

func TestMultiRequestRejects(t *testing.T) {
	hdr := func(t OpCode, done bool) []byte { return Encode(&MultiHeader{Type: t, Done: done, Err: -1}) }
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	check := Encode(&CheckVersionRequest{Path: "/", Version: 0})
	for _, op := range []OpCode{OpExists, OpGetACL, OpSetACL, OpSync, OpPing, OpGetChildren2, OpMulti, OpReconfig,
		OpCheckWatches, OpRemoveWatches, OpDeleteContainer, OpMultiRead, OpAuth, OpCloseSession, OpCreateSession, 99} {
		t.Run("type "+op.String(), func(t *testing.T) {
			var m MultiRequest
			err := Decode(cat(hdr(OpCheck, false), check, hdr(op, false), check, hdr(OpError, true)), 0, &m)
			var te *MultiTypeError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, op, te.Type)
			assert.False(t, te.Result)
		})
	}
	t.Run("missing terminator", func(t *testing.T) {
		var m MultiRequest
		assert.ErrorIs(t, Decode(cat(hdr(OpCheck, false), check), 0, &m), jute.ErrShort)
	})
	t.Run("truncated sub-request", func(t *testing.T) {
		var m MultiRequest
		assert.ErrorIs(t, Decode(cat(hdr(OpCheck, false), check[:5]), 0, &m), jute.ErrShort)
	})
	t.Run("too many ops", func(t *testing.T) {
		var b []byte
		for range MaxMultiOps + 1 {
			b = append(b, hdr(OpCheck, false)...)
			b = append(b, check...)
		}
		b = append(b, hdr(OpError, true)...)
		var m MultiRequest
		var ce *MultiCountError
		require.ErrorAs(t, Decode(b, len(b), &m), &ce)
		assert.Equal(t, MaxMultiOps, ce.Max)
	})
	t.Run("any done header terminates, as in ZooKeeper", func(t *testing.T) {
		var m MultiRequest
		odd := Encode(&MultiHeader{Type: OpSetData, Done: true, Err: 0})
		require.NoError(t, Decode(cat(Encode(&MultiHeader{Type: OpCheck, Err: 0}), check, odd), 0, &m))
		require.Len(t, m.Ops, 1)
		assert.Equal(t, &CheckVersionRequest{Path: "/", Version: 0}, m.Ops[0].Req)
		// Re-encoding writes the canonical headers.
		assert.Equal(t, cat(hdr(OpCheck, false), check, hdr(OpError, true)), Encode(&m))
	})
}

func TestMultiResponseDecode(t *testing.T) {
	t.Run("error result takes its code from the body", func(t *testing.T) {
		b := unhex(t, "FFFFFFFF 00 00000000 FFFFFF92  FFFFFFFF 01 FFFFFFFF")
		var m MultiResponse
		require.NoError(t, Decode(b, 0, &m))
		assert.Equal(t, []MultiResult{{Type: OpError, Err: ErrNodeExists}}, m.Results)
	})
	for _, op := range []OpCode{OpExists, OpCreateContainer, OpCreateTTL, OpSync, 42} {
		t.Run("rejects type "+op.String(), func(t *testing.T) {
			b := append(Encode(&MultiHeader{Type: op}), Encode(&MultiHeader{Type: OpError, Done: true, Err: -1})...)
			var m MultiResponse
			var te *MultiTypeError
			require.ErrorAs(t, Decode(b, 0, &m), &te)
			assert.True(t, te.Result)
			assert.Equal(t, op, te.Type)
		})
	}
	t.Run("container and TTL results encode as create2 bodies", func(t *testing.T) {
		for _, op := range []OpCode{OpCreateContainer, OpCreateTTL} {
			m := MultiResponse{Results: []MultiResult{{Type: op, Path: "/c", Stat: sampleStat}}}
			want := Encode(&MultiResponse{Results: []MultiResult{{Type: OpCreate2, Path: "/c", Stat: sampleStat}}})
			got := Encode(&m)
			assert.Equal(t, want[4:], got[4:], "body after the type field")
		}
	})
}

func TestNewRequestAndResponse(t *testing.T) {
	tests := []struct {
		op        OpCode
		req, resp Record
		ok        bool
	}{
		{OpCreate, &CreateRequest{}, &CreateResponse{}, true},
		{OpCreate2, &CreateRequest{}, &Create2Response{}, true},
		{OpCreateContainer, &CreateRequest{}, &Create2Response{}, true},
		{OpCreateTTL, &CreateTTLRequest{}, &Create2Response{}, true},
		{OpDelete, &DeleteRequest{}, nil, true},
		{OpExists, &ExistsRequest{}, &ExistsResponse{}, true},
		{OpGetData, &GetDataRequest{}, &GetDataResponse{}, true},
		{OpSetData, &SetDataRequest{}, &SetDataResponse{}, true},
		{OpGetACL, &GetACLRequest{}, &GetACLResponse{}, true},
		{OpSetACL, &SetACLRequest{}, &SetACLResponse{}, true},
		{OpGetChildren, &GetChildrenRequest{}, &GetChildrenResponse{}, true},
		{OpSync, &SyncRequest{}, &SyncResponse{}, true},
		{OpPing, nil, nil, true},
		{OpGetChildren2, &GetChildren2Request{}, &GetChildren2Response{}, true},
		{OpCheck, &CheckVersionRequest{}, &SetDataResponse{}, true},
		{OpMulti, &MultiRequest{}, &MultiResponse{}, true},
		{OpMultiRead, &MultiRequest{}, &MultiResponse{}, true},
		{OpReconfig, &ReconfigRequest{}, &GetDataResponse{}, true},
		{OpCheckWatches, &CheckWatchesRequest{}, nil, true},
		{OpRemoveWatches, &RemoveWatchesRequest{}, nil, true},
		{OpAuth, &AuthPacket{}, nil, true},
		{OpSetWatches, &SetWatches{}, nil, true},
		{OpSASL, &GetSASLRequest{}, &SetSASLResponse{}, true},
		{OpGetEphemerals, &GetEphemeralsRequest{}, &GetEphemeralsResponse{}, true},
		{OpGetAllChildrenNumber, &GetAllChildrenNumberRequest{}, &GetAllChildrenNumberResponse{}, true},
		{OpSetWatches2, &SetWatches2{}, nil, true},
		{OpAddWatch, &AddWatchRequest{}, &ErrorResponse{}, true},
		{OpWhoAmI, nil, &WhoAmIResponse{}, true},
		{OpCloseSession, nil, nil, true},
		{OpNotification, nil, nil, false},
		{OpDeleteContainer, nil, nil, false},
		{OpCreateSession, nil, nil, false},
		{OpError, nil, nil, false},
		{10, nil, nil, false},
		{23, nil, nil, false},
		{108, nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.op.String(), func(t *testing.T) {
			req, ok := NewRequest(tc.op)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.req, req)
			resp, ok := NewResponse(tc.op)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.resp, resp)
		})
	}
	// Each call returns a fresh record.
	a, _ := NewRequest(OpCreate)
	b, _ := NewRequest(OpCreate)
	assert.NotSame(t, a, b)
}

func TestUnreasonableLengthsRejected(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
		b    string
	}{
		{"path longer than the input", &GetDataRequest{}, "00000100 2F"},
		{"negative path length", &GetDataRequest{}, "FFFFFFFE 2F"},
		{"data over the limit", &SetDataRequest{}, "00000001 2F 7FFFFFFF"},
		{"huge child count", &GetChildrenResponse{}, "7FFFFFFF"},
		{"huge ACL count", &GetACLResponse{}, "00100000 00000000"},
		{"huge whoAmI count", &WhoAmIResponse{}, "00001000 00000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Error(t, Decode(unhex(t, tc.b), 1024, tc.rec))
		})
	}
}
