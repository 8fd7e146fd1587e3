package znode

import (
	"fmt"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
)

// Header is carried by every transaction. The leader (or the standalone
// server) assigns Zxid and Time when it prepares the request; every replica
// applies the transaction with exactly these values.
type Header struct {
	Session int64        // the client session that issued the request (0 for server-internal txns)
	Cxid    int32        // the client's xid
	Zxid    int64        // the transaction id
	Time    int64        // wall-clock milliseconds at the leader
	Type    proto.OpCode // OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL, OpDelete, OpDeleteContainer, OpSetData, OpSetACL, OpCheck, OpMulti, OpCreateSession, OpCloseSession, OpError
}

func (h *Header) Encode(e *jute.Encoder) {
	e.Long(h.Session)
	e.Int(h.Cxid)
	e.Long(h.Zxid)
	e.Long(h.Time)
	e.Int(int32(h.Type))
}

func (h *Header) Decode(d *jute.Decoder) {
	h.Session = d.Long()
	h.Cxid = d.Int()
	h.Zxid = d.Long()
	h.Time = d.Long()
	h.Type = proto.OpCode(d.Int())
}

// Txn is the body of a transaction. Applying a Txn never validates: every
// check (paths, versions, ACLs, existence) happened when it was prepared,
// so a replica applies exactly what the leader decided.
type Txn interface {
	proto.Record
	isTxn()
}

// CreateTxn creates a node. Owner is the resolved ephemeralOwner: 0 for a
// persistent node, the session id for an ephemeral, proto.ContainerOwner for
// a container, proto.TTLOwnerMask|ttl for a TTL node. ParentCversion is the
// parent's cversion after this create (the prepared value).
type CreateTxn struct {
	Path           string
	Data           []byte
	ACL            []proto.ACL
	Owner          int64
	ParentCversion int32
}

// DeleteTxn deletes a node (header type OpDelete or OpDeleteContainer).
type DeleteTxn struct{ Path string }

// SetDataTxn replaces a node's data; Version is the node's new version.
type SetDataTxn struct {
	Path    string
	Data    []byte
	Version int32
}

// SetACLTxn replaces a node's ACL; Version is the node's new aversion.
type SetACLTxn struct {
	Path    string
	ACL     []proto.ACL
	Version int32
}

// CheckTxn is a version check inside a multi; applying it changes nothing.
type CheckTxn struct {
	Path    string
	Version int32
}

// ErrorTxn records a failed request (and a failed op inside a multi).
type ErrorTxn struct{ Err proto.Code }

// SubTxn is one operation of a MultiTxn; Type is the client's opcode for
// the op (it decides the result type in the multi reply) or OpError.
type SubTxn struct {
	Type proto.OpCode
	Txn  Txn
}

// MultiTxn applies all its ops atomically at one zxid. A multi that failed
// in preparation carries one ErrorTxn per op (with 0, the failing code and
// ErrRuntimeInconsistency as ZooKeeper reports them) and changes nothing.
type MultiTxn struct{ Ops []SubTxn }

// CreateSessionTxn registers a session with its negotiated timeout.
type CreateSessionTxn struct{ Timeout int32 }

// CloseSessionTxn ends a session; applying it deletes the session's
// ephemeral nodes.
type CloseSessionTxn struct{}

func (*CreateTxn) isTxn()        {}
func (*DeleteTxn) isTxn()        {}
func (*SetDataTxn) isTxn()       {}
func (*SetACLTxn) isTxn()        {}
func (*CheckTxn) isTxn()         {}
func (*ErrorTxn) isTxn()         {}
func (*MultiTxn) isTxn()         {}
func (*CreateSessionTxn) isTxn() {}
func (*CloseSessionTxn) isTxn()  {}

func (t *CreateTxn) Encode(e *jute.Encoder) {
	e.String(t.Path)
	e.Buffer(t.Data)
	proto.EncodeACLs(e, t.ACL)
	e.Long(t.Owner)
	e.Int(t.ParentCversion)
}

func (t *CreateTxn) Decode(d *jute.Decoder) {
	t.Path = d.String()
	t.Data = cloneBytes(d.Buffer())
	t.ACL = proto.DecodeACLs(d)
	t.Owner = d.Long()
	t.ParentCversion = d.Int()
}

func (t *DeleteTxn) Encode(e *jute.Encoder) { e.String(t.Path) }
func (t *DeleteTxn) Decode(d *jute.Decoder) { t.Path = d.String() }

func (t *SetDataTxn) Encode(e *jute.Encoder) {
	e.String(t.Path)
	e.Buffer(t.Data)
	e.Int(t.Version)
}

func (t *SetDataTxn) Decode(d *jute.Decoder) {
	t.Path = d.String()
	t.Data = cloneBytes(d.Buffer())
	t.Version = d.Int()
}

func (t *SetACLTxn) Encode(e *jute.Encoder) {
	e.String(t.Path)
	proto.EncodeACLs(e, t.ACL)
	e.Int(t.Version)
}

func (t *SetACLTxn) Decode(d *jute.Decoder) {
	t.Path = d.String()
	t.ACL = proto.DecodeACLs(d)
	t.Version = d.Int()
}

func (t *CheckTxn) Encode(e *jute.Encoder) {
	e.String(t.Path)
	e.Int(t.Version)
}

func (t *CheckTxn) Decode(d *jute.Decoder) {
	t.Path = d.String()
	t.Version = d.Int()
}

func (t *ErrorTxn) Encode(e *jute.Encoder) { e.Int(int32(t.Err)) }
func (t *ErrorTxn) Decode(d *jute.Decoder) { t.Err = proto.Code(d.Int()) }

func (t *CreateSessionTxn) Encode(e *jute.Encoder) { e.Int(t.Timeout) }
func (t *CreateSessionTxn) Decode(d *jute.Decoder) { t.Timeout = d.Int() }

func (t *CloseSessionTxn) Encode(*jute.Encoder) {}
func (t *CloseSessionTxn) Decode(*jute.Decoder) {}

func (t *MultiTxn) Encode(e *jute.Encoder) {
	e.Int(int32(len(t.Ops)))
	for _, op := range t.Ops {
		e.Int(int32(op.Type))
		e.Int(int32(TxnKind(op.Txn)))
		op.Txn.Encode(e)
	}
}

func (t *MultiTxn) Decode(d *jute.Decoder) {
	n := d.VectorLen(8)
	if n < 0 {
		t.Ops = nil
		return
	}
	t.Ops = make([]SubTxn, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		typ := proto.OpCode(d.Int())
		kind := Kind(d.Int())
		if kind == KindMulti {
			d.Fail(fmt.Errorf("znode: nested multi txn"))
			return
		}
		txn := NewTxn(kind)
		if txn == nil {
			d.Fail(fmt.Errorf("znode: unknown txn kind %d", kind))
			return
		}
		txn.Decode(d)
		t.Ops = append(t.Ops, SubTxn{Type: typ, Txn: txn})
	}
}

// Kind identifies a Txn's concrete record for encoding.
type Kind int32

// Txn kinds (stable: they are written to the log).
const (
	KindCreate        Kind = 1
	KindDelete        Kind = 2
	KindSetData       Kind = 3
	KindSetACL        Kind = 4
	KindCheck         Kind = 5
	KindError         Kind = 6
	KindMulti         Kind = 7
	KindCreateSession Kind = 8
	KindCloseSession  Kind = 9
)

// TxnKind returns the kind of t.
func TxnKind(t Txn) Kind {
	switch t.(type) {
	case *CreateTxn:
		return KindCreate
	case *DeleteTxn:
		return KindDelete
	case *SetDataTxn:
		return KindSetData
	case *SetACLTxn:
		return KindSetACL
	case *CheckTxn:
		return KindCheck
	case *ErrorTxn:
		return KindError
	case *MultiTxn:
		return KindMulti
	case *CreateSessionTxn:
		return KindCreateSession
	case *CloseSessionTxn:
		return KindCloseSession
	}
	panic(fmt.Sprintf("znode: unknown txn %T", t))
}

// NewTxn returns an empty Txn of the given kind, or nil for an unknown kind.
func NewTxn(k Kind) Txn {
	switch k {
	case KindCreate:
		return &CreateTxn{}
	case KindDelete:
		return &DeleteTxn{}
	case KindSetData:
		return &SetDataTxn{}
	case KindSetACL:
		return &SetACLTxn{}
	case KindCheck:
		return &CheckTxn{}
	case KindError:
		return &ErrorTxn{}
	case KindMulti:
		return &MultiTxn{}
	case KindCreateSession:
		return &CreateSessionTxn{}
	case KindCloseSession:
		return &CloseSessionTxn{}
	}
	return nil
}

// EncodeTxn writes a header and its body (with the body's kind) so that
// DecodeTxn can read it back; this is the log record payload.
func EncodeTxn(e *jute.Encoder, h *Header, t Txn) {
	h.Encode(e)
	e.Int(int32(TxnKind(t)))
	t.Encode(e)
}

// DecodeTxn reads what EncodeTxn wrote.
func DecodeTxn(d *jute.Decoder) (Header, Txn, error) {
	var h Header
	h.Decode(d)
	kind := Kind(d.Int())
	if err := d.Err(); err != nil {
		return h, nil, err
	}
	t := NewTxn(kind)
	if t == nil {
		return h, nil, fmt.Errorf("znode: unknown txn kind %d", kind)
	}
	t.Decode(d)
	if err := d.Err(); err != nil {
		return h, nil, err
	}
	return h, t, nil
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	out := make([]byte, len(b))
	copy(out, b)
	return out
}
