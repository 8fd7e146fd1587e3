package zkwire

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
)

// connectPayload builds a ConnectRequest payload with a password of the
// given length (-1 = null) followed by extra bytes.
func connectPayload(passLen int, extra ...byte) []byte {
	e := jute.NewEncoder(nil)
	e.Int(0)
	e.Long(0x1234)
	e.Int(30000)
	e.Long(0x0100004e0ea50001)
	if passLen < 0 {
		e.Int(-1)
	} else {
		e.Buffer(make([]byte, passLen))
	}
	return append(e.Bytes(), extra...)
}

func TestParseConnectRequest(t *testing.T) {
	tests := []struct {
		name              string
		payload           []byte
		passwd            []byte
		hasReadOnly, ro   bool
		wantErr, wantSize bool
	}{
		// §1.3: Java/C/kazoo send 45 bytes, go-zookeeper 44.
		{name: "java with readOnly=false", payload: connectPayload(16, 0), passwd: make([]byte, 16), hasReadOnly: true},
		{name: "readOnly=true", payload: connectPayload(16, 1), passwd: make([]byte, 16), hasReadOnly: true, ro: true},
		{name: "go-zookeeper without readOnly", payload: connectPayload(16), passwd: make([]byte, 16)},
		// ZooKeeper 3.8.0 accepts these (verified against the real server):
		// it ignores the password of a new session and answers with 16 bytes.
		{name: "5-byte password", payload: connectPayload(5), passwd: make([]byte, 5)},
		{name: "empty password", payload: connectPayload(0, 1), passwd: []byte{}, hasReadOnly: true, ro: true},
		{name: "null password", payload: connectPayload(-1), passwd: nil},
		{name: "bytes after readOnly are ignored", payload: connectPayload(16, 0, 7, 7), passwd: make([]byte, 16), hasReadOnly: true},
		// Garbage: ZooKeeper closes the connection.
		{name: "empty", payload: nil, wantErr: true},
		{name: "truncated before the password", payload: connectPayload(16)[:20], wantErr: true},
		{name: "password longer than the frame", payload: connectPayload(16)[:30], wantErr: true},
		{name: "negative password length", payload: append(connectPayload(16)[:24], 0xff, 0xff, 0xff, 0xfe), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ParseConnectRequest(tc.payload)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrMalformedConnect)
				assert.Nil(t, req)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, int64(0x1234), req.LastZxidSeen)
			assert.Equal(t, int32(30000), req.TimeOut)
			assert.Equal(t, int64(0x0100004e0ea50001), req.SessionID)
			assert.Equal(t, tc.passwd, req.Passwd)
			assert.Equal(t, tc.hasReadOnly, req.HasReadOnly)
			assert.Equal(t, tc.ro, req.ReadOnly)
		})
	}
}

func TestParseConnectRequestDoesNotAlias(t *testing.T) {
	payload := connectPayload(16, 0)
	copy(payload[28:], "secretsecretsecr")
	req, err := ParseConnectRequest(payload)
	require.NoError(t, err)
	for i := range payload {
		payload[i] = 0
	}
	assert.Equal(t, []byte("secretsecretsecr"), req.Passwd)
}

func TestConnectResponseFrames(t *testing.T) {
	pw := []byte("0123456789abcdef")
	tests := []struct {
		name string
		resp proto.ConnectResponse
		len  uint32
	}{
		// §1.4: 37 bytes when the client sent readOnly, 36 otherwise.
		{"with readOnly", proto.ConnectResponse{TimeOut: 4000, SessionID: 7, Passwd: pw, HasReadOnly: true}, 37},
		{"without readOnly", proto.ConnectResponse{TimeOut: 4000, SessionID: 7, Passwd: pw}, 36},
		// §1.5: an expired session is answered with timeOut 0, id 0, zero password.
		{"expired", proto.ConnectResponse{Passwd: make([]byte, PasswordLen), HasReadOnly: true}, 37},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame := AppendConnectResponse(nil, &tc.resp)
			assert.Equal(t, tc.len, binary.BigEndian.Uint32(frame))
			require.Len(t, frame, int(tc.len)+4)
			got, err := ParseConnectResponse(frame[4:])
			require.NoError(t, err)
			assert.Equal(t, &tc.resp, got)
		})
	}
	_, err := ParseConnectResponse([]byte{0, 0, 0})
	assert.ErrorIs(t, err, ErrMalformedConnect)
}

func TestAppendConnectRequest(t *testing.T) {
	req := proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)}
	frame := AppendConnectRequest(nil, &req)
	assert.Equal(t, []byte{0, 0, 0, 44}, frame[:4], "go-zookeeper's 44-byte handshake")
	req.HasReadOnly = true
	frame = AppendConnectRequest(nil, &req)
	assert.Equal(t, []byte{0, 0, 0, 45}, frame[:4], "Java's 45-byte handshake")
	got, err := ParseConnectRequest(frame[4:])
	require.NoError(t, err)
	assert.Equal(t, &req, got)
}

func TestFourLetterWord(t *testing.T) {
	// ZooKeeper 3.8.0's FourLetterCommands.
	for _, w := range []string{"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro",
		"mntr", "ruok", "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs"} {
		t.Run(w, func(t *testing.T) {
			got, ok := FourLetterWord([4]byte([]byte(w)))
			assert.True(t, ok)
			assert.Equal(t, w, got)
		})
	}
	got, ok := FourLetterWord([4]byte{0xff, 0xf4, 0xff, 0xfd})
	assert.True(t, ok)
	assert.Equal(t, TelnetClose, got)

	for _, not := range [][4]byte{
		{0, 0, 0, 45}, {0, 0, 0, 44}, // ConnectRequest lengths
		[4]byte([]byte("RUOK")), [4]byte([]byte("ruo ")), [4]byte([]byte("GET ")),
		[4]byte([]byte("icfg")), [4]byte([]byte("sysp")), // not in 3.8
		{0xff, 0xff, 0xff, 0xff},
	} {
		_, ok := FourLetterWord(not)
		assert.False(t, ok, "%q", not[:])
	}
}
