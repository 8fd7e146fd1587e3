package zkwire

import (
	"errors"
	"fmt"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
)

// PasswordLen is the length of a session password in a ConnectResponse. The
// C client reads the response into a fixed structure sized for exactly this,
// so a server must always send 16 bytes (zeros when the session is invalid).
const PasswordLen = 16

// ErrMalformedConnect reports a ConnectRequest or ConnectResponse whose
// mandatory fields cannot be decoded. ZooKeeper closes the connection
// without a reply.
var ErrMalformedConnect = errors.New("zkwire: malformed connect record")

// ParseConnectRequest decodes the payload of the first frame of a session
// (§1.3). It accepts what ZooKeeper 3.8 accepts:
//
//   - the five mandatory fields must be present and well formed;
//   - one more byte, if present, is the readOnly flag (HasReadOnly is set and
//     the response must then carry the flag too); bytes after it are ignored;
//   - the password may have any length, or be null: ZooKeeper compares it
//     only when a session is resumed (against its 16-byte password, so any
//     other length simply fails that check) and ignores it for a new
//     session, always answering with a 16-byte password.
//
// The password is copied, so the result does not alias frame. Any failure
// wraps ErrMalformedConnect and the jute error.
func ParseConnectRequest(frame []byte) (*proto.ConnectRequest, error) {
	r := &proto.ConnectRequest{}
	d := jute.NewDecoder(frame, len(frame))
	r.Decode(d)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("%w: request: %w", ErrMalformedConnect, err)
	}
	return r, nil
}

// AppendConnectResponse appends the frame answering a ConnectRequest to dst.
// The readOnly byte is written only when r.HasReadOnly is set, which must
// mirror the request's HasReadOnly.
func AppendConnectResponse(dst []byte, r *proto.ConnectResponse) []byte {
	return appendRecords(dst, r)
}

// ParseConnectResponse decodes the payload of the first frame a server
// sends (§1.4), as a client does; the trailing readOnly byte is optional.
// Any failure wraps ErrMalformedConnect.
func ParseConnectResponse(frame []byte) (*proto.ConnectResponse, error) {
	r := &proto.ConnectResponse{}
	d := jute.NewDecoder(frame, len(frame))
	r.Decode(d)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("%w: response: %w", ErrMalformedConnect, err)
	}
	return r, nil
}

// AppendConnectRequest appends a ConnectRequest frame to dst, as a client
// sends it; the readOnly byte is written only when r.HasReadOnly is set.
func AppendConnectRequest(dst []byte, r *proto.ConnectRequest) []byte {
	return appendRecords(dst, r)
}
