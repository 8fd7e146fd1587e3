package zkwire

import (
	"errors"
	"fmt"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
)

// ErrShortHeader reports a request frame shorter than its 8-byte
// RequestHeader. ZooKeeper closes the connection without a reply.
var ErrShortHeader = errors.New("zkwire: request frame shorter than its header")

// UnknownOpError reports a request whose opcode a client may not send (see
// proto.NewRequest). ZooKeeper answers with a reply header {xid, zxid -1,
// ZUNIMPLEMENTED} and no body, then closes the connection.
type UnknownOpError struct {
	Header proto.RequestHeader
}

func (e *UnknownOpError) Error() string {
	return fmt.Sprintf("zkwire: unknown opcode %d (xid %d)", int32(e.Header.Type), e.Header.Xid)
}

// Code is the error code a server answers with: proto.ErrUnimplemented.
func (e *UnknownOpError) Code() proto.Code { return proto.ErrUnimplemented }

// BodyError reports a request whose header decoded but whose body did not
// (truncated, an unreasonable length, an invalid multi sub-operation).
// ZooKeeper answers with a reply header carrying ZMARSHALLINGERROR and no
// body, and keeps the connection open, except for auth (opcode 100), whose
// undecodable packet makes it close the connection without a reply.
type BodyError struct {
	Header proto.RequestHeader
	Err    error
}

func (e *BodyError) Error() string {
	return fmt.Sprintf("zkwire: undecodable %s request (xid %d): %v", e.Header.Type, e.Header.Xid, e.Err)
}

// Unwrap returns the decoding error.
func (e *BodyError) Unwrap() error { return e.Err }

// Code is the error code a server answers with: proto.ErrMarshallingError.
func (e *BodyError) Code() proto.Code { return proto.ErrMarshallingError }

// DecodeRequest decodes a request frame payload (as returned by ReadFrame)
// into its header and body record; the record is nil for opcodes without a
// body (ping, closeSession, whoAmI). maxLen bounds every embedded length (<= 0
// means DefaultMaxFrame). Bytes after the record are ignored, as ZooKeeper
// ignores them. Decoded buffers are copies: the result does not alias frame.
//
// Errors: ErrShortHeader (close the connection), *UnknownOpError (reply
// ZUNIMPLEMENTED, then close), *BodyError (reply ZMARSHALLINGERROR; for auth,
// close). The header is returned with the latter two as well.
func DecodeRequest(frame []byte, maxLen int) (proto.RequestHeader, proto.Record, error) {
	var hdr proto.RequestHeader
	if len(frame) < 8 {
		return hdr, nil, ErrShortHeader
	}
	d := jute.NewDecoder(frame, maxLen)
	hdr.Decode(d)
	rec, ok := proto.NewRequest(hdr.Type)
	if !ok {
		return hdr, nil, &UnknownOpError{Header: hdr}
	}
	if rec == nil {
		return hdr, nil, nil
	}
	rec.Decode(d)
	if err := d.Err(); err != nil {
		return hdr, nil, &BodyError{Header: hdr, Err: err}
	}
	return hdr, rec, nil
}
