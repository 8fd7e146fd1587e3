package proto

import (
	"github.com/warrenhq/warren/core/jute"
)

// NewRequest returns an empty request record for a client opcode. Opcodes
// whose requests have no body (ping, closeSession, whoAmI) give (nil, true).
// Opcodes a client may not send give (nil, false): unknown values, the
// notification and error markers, and the server-internal createSession
// (-10) and deleteContainer (20). A server answers those with
// ErrUnimplemented and closes the connection.
func NewRequest(op OpCode) (Record, bool) {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}, true
	case OpCreateTTL:
		return &CreateTTLRequest{}, true
	case OpDelete:
		return &DeleteRequest{}, true
	case OpExists:
		return &ExistsRequest{}, true
	case OpGetData:
		return &GetDataRequest{}, true
	case OpSetData:
		return &SetDataRequest{}, true
	case OpGetACL:
		return &GetACLRequest{}, true
	case OpSetACL:
		return &SetACLRequest{}, true
	case OpGetChildren:
		return &GetChildrenRequest{}, true
	case OpSync:
		return &SyncRequest{}, true
	case OpGetChildren2:
		return &GetChildren2Request{}, true
	case OpCheck:
		return &CheckVersionRequest{}, true
	case OpMulti, OpMultiRead:
		return &MultiRequest{}, true
	case OpReconfig:
		return &ReconfigRequest{}, true
	case OpCheckWatches:
		return &CheckWatchesRequest{}, true
	case OpRemoveWatches:
		return &RemoveWatchesRequest{}, true
	case OpAuth:
		return &AuthPacket{}, true
	case OpSetWatches:
		return &SetWatches{}, true
	case OpSASL:
		return &GetSASLRequest{}, true
	case OpGetEphemerals:
		return &GetEphemeralsRequest{}, true
	case OpGetAllChildrenNumber:
		return &GetAllChildrenNumberRequest{}, true
	case OpSetWatches2:
		return &SetWatches2{}, true
	case OpAddWatch:
		return &AddWatchRequest{}, true
	case OpPing, OpCloseSession, OpWhoAmI:
		return nil, true
	}
	return nil, false
}

// NewResponse returns an empty record for the success body of the reply to
// a request of type op (§3.4). Replies without a body (delete, ping, auth,
// setWatches, checkWatches, removeWatches, closeSession) give (nil, true);
// opcodes NewRequest does not accept give (nil, false). A reply whose header
// carries a non-zero error has no body at all, whatever the opcode.
func NewResponse(op OpCode) (Record, bool) {
	switch op {
	case OpCreate:
		return &CreateResponse{}, true
	case OpCreate2, OpCreateContainer, OpCreateTTL:
		return &Create2Response{}, true
	case OpExists:
		return &ExistsResponse{}, true
	case OpGetData, OpReconfig:
		return &GetDataResponse{}, true
	case OpSetData, OpCheck:
		return &SetDataResponse{}, true
	case OpGetACL:
		return &GetACLResponse{}, true
	case OpSetACL:
		return &SetACLResponse{}, true
	case OpGetChildren:
		return &GetChildrenResponse{}, true
	case OpSync:
		return &SyncResponse{}, true
	case OpGetChildren2:
		return &GetChildren2Response{}, true
	case OpMulti, OpMultiRead:
		return &MultiResponse{}, true
	case OpSASL:
		return &SetSASLResponse{}, true
	case OpGetEphemerals:
		return &GetEphemeralsResponse{}, true
	case OpGetAllChildrenNumber:
		return &GetAllChildrenNumberResponse{}, true
	case OpAddWatch:
		return &ErrorResponse{}, true
	case OpWhoAmI:
		return &WhoAmIResponse{}, true
	case OpDelete, OpPing, OpAuth, OpSetWatches, OpSetWatches2, OpCheckWatches,
		OpRemoveWatches, OpCloseSession:
		return nil, true
	}
	return nil, false
}

// Encode returns the jute encoding of r.
func Encode(r Record) []byte {
	e := jute.NewEncoder(nil)
	r.Encode(e)
	return e.Bytes()
}

// Decode decodes r from b, bounding embedded lengths by limit (<= 0 means
// jute.DefaultMaxBuffer), and returns the first decoding error. Bytes after
// the record are ignored, as ZooKeeper's BinaryInputArchive ignores them.
func Decode(b []byte, limit int, r Record) error {
	d := jute.NewDecoder(b, limit)
	r.Decode(d)
	return d.Err()
}
