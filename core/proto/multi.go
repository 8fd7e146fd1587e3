package proto

import (
	"fmt"

	"github.com/warrenhq/warren/core/jute"
)

// MaxMultiOps bounds the number of operations (or results) a multi may
// carry. Every operation takes at least 17 bytes on the wire (a 9-byte
// MultiHeader and an 8-byte body), so no frame within ZooKeeper's default
// jute.maxbuffer can exceed it; the bound only matters when a larger frame
// limit is configured.
const MaxMultiOps = 1 << 16

// MultiTypeError reports a multi operation or result whose type is not
// allowed there. ZooKeeper rejects such a request with a marshalling error.
type MultiTypeError struct {
	Type   OpCode
	Result bool // true when decoding a MultiResponse
}

func (e *MultiTypeError) Error() string {
	if e.Result {
		return fmt.Sprintf("proto: invalid multi result type %s", e.Type)
	}
	return fmt.Sprintf("proto: invalid multi operation type %s", e.Type)
}

// MultiCountError reports a multi with more than MaxMultiOps entries.
type MultiCountError struct {
	Max int
}

func (e *MultiCountError) Error() string {
	return fmt.Sprintf("proto: multi has more than %d operations", e.Max)
}

// multiTerminator ends both the request and the reply lists.
var multiTerminator = MultiHeader{Type: OpError, Done: true, Err: ErrSystemError}

// MultiOp is one operation of a multi (14) or multiRead (22). Req is
// *CreateRequest for types 1, 15 and 19, *CreateTTLRequest for 21,
// *DeleteRequest for 2, *SetDataRequest for 5, *CheckVersionRequest for 13,
// *GetDataRequest for 4 and *GetChildrenRequest for 8.
type MultiOp struct {
	Type OpCode
	Req  Record
}

// newMultiSubRequest returns the empty request record for a multi operation
// type, or nil if the type is not allowed in a multi. These are exactly the
// types ZooKeeper's MultiOperationRecord accepts.
func newMultiSubRequest(t OpCode) Record {
	switch t {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}
	case OpCreateTTL:
		return &CreateTTLRequest{}
	case OpDelete:
		return &DeleteRequest{}
	case OpSetData:
		return &SetDataRequest{}
	case OpCheck:
		return &CheckVersionRequest{}
	case OpGetData:
		return &GetDataRequest{}
	case OpGetChildren:
		return &GetChildrenRequest{}
	}
	return nil
}

// MultiRequest is the body of multi (14) and multiRead (22): a list of
// operations, each preceded by a MultiHeader{Type, false, -1}, terminated by
// MultiHeader{-1, true, -1}.
//
// Decoding accepts the same sub-operation types as ZooKeeper (1, 2, 4, 5, 8,
// 13, 15, 19, 21) and fails with a *MultiTypeError on any other type; which
// of them a multi or a multiRead may actually execute is the server's
// decision. Like ZooKeeper, the decoder ends the list at the first header
// with Done set, whatever its type and error, and ignores the error field of
// operation headers; Encode always writes the canonical headers.
//
// Type keeps the wire value so that a request re-encodes exactly. Note that
// ZooKeeper 3.8 does not execute a create sub-operation by its wire type: it
// rebuilds it from the flags (Op.create), so 1, 15, 19 and 21 all run as
// createTTL if the flags are a TTL mode, as createContainer if they are
// CONTAINER, and otherwise as a plain create (unknown flags count as
// PERSISTENT). A 15 with persistent flags therefore yields a type-1
// CreateResponse result, as verified against the real server.
type MultiRequest struct {
	Ops []MultiOp
}

// Encode implements Record. An operation whose Req is nil is written as a
// bare header.
func (m *MultiRequest) Encode(e *jute.Encoder) {
	for i := range m.Ops {
		h := MultiHeader{Type: m.Ops[i].Type, Done: false, Err: ErrSystemError}
		h.Encode(e)
		if m.Ops[i].Req != nil {
			m.Ops[i].Req.Encode(e)
		}
	}
	multiTerminator.Encode(e)
}

// Decode implements Record.
func (m *MultiRequest) Decode(d *jute.Decoder) {
	m.Ops = nil
	for d.Err() == nil {
		var h MultiHeader
		h.Decode(d)
		if d.Err() != nil || h.Done {
			return
		}
		if len(m.Ops) >= MaxMultiOps {
			d.Fail(&MultiCountError{Max: MaxMultiOps})
			return
		}
		req := newMultiSubRequest(h.Type)
		if req == nil {
			d.Fail(&MultiTypeError{Type: h.Type})
			return
		}
		req.Decode(d)
		m.Ops = append(m.Ops, MultiOp{Type: h.Type, Req: req})
	}
}

// MultiResult is one result of a multi or multiRead. Which fields are
// meaningful depends on Type:
//
//	OpCreate (1)       Path                  (CreateResponse)
//	OpCreate2 (15)     Path, Stat            (Create2Response)
//	OpDelete (2)       nothing
//	OpCheck (13)       nothing
//	OpSetData (5)      Stat                  (SetDataResponse)
//	OpGetData (4)      Data, Stat            (GetDataResponse)
//	OpGetChildren (8)  Children              (GetChildrenResponse)
//	OpError (-1)       Err                   (ErrorResponse; header err = Err)
//
// ZooKeeper reports createContainer and createTTL sub-operations as type 15;
// the encoder also writes types 19 and 21 with a Create2Response body, but a
// server should use 15. Any other type is written as a bare header. Data is
// copied on decode.
type MultiResult struct {
	Type     OpCode
	Err      Code
	Path     string
	Stat     Stat
	Data     []byte
	Children []string
}

// MultiResponse is the reply body of multi (14) and multiRead (22). The reply
// header's err is 0 even when an operation failed; failures are per result.
type MultiResponse struct {
	Results []MultiResult
}

// Encode implements Record.
func (m *MultiResponse) Encode(e *jute.Encoder) {
	for i := range m.Results {
		r := &m.Results[i]
		h := MultiHeader{Type: r.Type}
		if r.Type == OpError {
			h.Err = r.Err
		}
		h.Encode(e)
		switch r.Type {
		case OpCreate:
			e.String(r.Path)
		case OpCreate2, OpCreateContainer, OpCreateTTL:
			e.String(r.Path)
			r.Stat.Encode(e)
		case OpSetData:
			r.Stat.Encode(e)
		case OpGetData:
			e.Buffer(r.Data)
			r.Stat.Encode(e)
		case OpGetChildren:
			e.Strings(r.Children)
		case OpError:
			e.Int(int32(r.Err))
		}
	}
	multiTerminator.Encode(e)
}

// Decode implements Record. Result types other than those listed on
// MultiResult fail with a *MultiTypeError; like ZooKeeper's client, the error
// of a failed result is taken from its ErrorResponse body.
func (m *MultiResponse) Decode(d *jute.Decoder) {
	m.Results = nil
	for d.Err() == nil {
		var h MultiHeader
		h.Decode(d)
		if d.Err() != nil || h.Done {
			return
		}
		if len(m.Results) >= MaxMultiOps {
			d.Fail(&MultiCountError{Max: MaxMultiOps})
			return
		}
		r := MultiResult{Type: h.Type}
		switch h.Type {
		case OpCreate:
			r.Path = d.String()
		case OpCreate2:
			r.Path = d.String()
			r.Stat.Decode(d)
		case OpDelete, OpCheck:
		case OpSetData:
			r.Stat.Decode(d)
		case OpGetData:
			r.Data = cloneBytes(d.Buffer())
			r.Stat.Decode(d)
		case OpGetChildren:
			r.Children = d.Strings()
		case OpError:
			r.Err = Code(d.Int())
		default:
			d.Fail(&MultiTypeError{Type: h.Type, Result: true})
			return
		}
		m.Results = append(m.Results, r)
	}
}
