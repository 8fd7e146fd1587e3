package proto

import (
	"github.com/warrenhq/warren/core/jute"
)

// Buffer ownership: every Decode method in this package copies the byte
// buffers it reads (Data, Passwd, Auth, Token) out of the input, so a decoded
// record never aliases the frame it came from and the caller may reuse the
// frame buffer at once. Strings are copies by construction. A null buffer
// (length -1) decodes to nil and an empty one to a non-nil empty slice, so
// the distinction survives a round trip.

// cloneBytes copies b, keeping nil as nil and empty as non-nil empty.
func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// ConnectRequest opens or resumes a session (§1.3). The trailing readOnly
// byte is optional on the wire: HasReadOnly reports that it was present when
// decoding and asks for it to be written when encoding.
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool
}

// Encode implements Record.
func (r *ConnectRequest) Encode(e *jute.Encoder) {
	e.Int(r.ProtocolVersion)
	e.Long(r.LastZxidSeen)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

// Decode implements Record. Like ZooKeeper's ProtocolManager it reads the
// five mandatory fields and then, if at least one byte remains, the readOnly
// flag; anything after that byte is ignored.
func (r *ConnectRequest) Decode(d *jute.Decoder) {
	r.ProtocolVersion = d.Int()
	r.LastZxidSeen = d.Long()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = cloneBytes(d.Buffer())
	r.ReadOnly, r.HasReadOnly = false, false
	if d.Err() == nil && d.Remaining() > 0 {
		r.ReadOnly = d.Bool()
		r.HasReadOnly = true
	}
}

// ConnectResponse answers a ConnectRequest (§1.4). ReadOnly is written only
// when HasReadOnly is set, which a server does exactly when the client sent
// the readOnly byte.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool
}

// Encode implements Record.
func (r *ConnectResponse) Encode(e *jute.Encoder) {
	e.Int(r.ProtocolVersion)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

// Decode implements Record; the readOnly byte is optional as in
// ConnectRequest.Decode.
func (r *ConnectResponse) Decode(d *jute.Decoder) {
	r.ProtocolVersion = d.Int()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = cloneBytes(d.Buffer())
	r.ReadOnly, r.HasReadOnly = false, false
	if d.Err() == nil && d.Remaining() > 0 {
		r.ReadOnly = d.Bool()
		r.HasReadOnly = true
	}
}

// MultiHeader precedes each operation and each result of a multi, and
// terminates the list (Done = true).
type MultiHeader struct {
	Type OpCode
	Done bool
	Err  Code
}

// Encode implements Record.
func (h *MultiHeader) Encode(e *jute.Encoder) {
	e.Int(int32(h.Type))
	e.Bool(h.Done)
	e.Int(int32(h.Err))
}

// Decode implements Record.
func (h *MultiHeader) Decode(d *jute.Decoder) {
	h.Type = OpCode(d.Int())
	h.Done = d.Bool()
	h.Err = Code(d.Int())
}

// AuthPacket is the body of an auth request (opcode 100, xid -4). Type is
// always 0 in practice.
type AuthPacket struct {
	Type   int32
	Scheme string
	Auth   []byte
}

// Encode implements Record.
func (r *AuthPacket) Encode(e *jute.Encoder) {
	e.Int(r.Type)
	e.String(r.Scheme)
	e.Buffer(r.Auth)
}

// Decode implements Record.
func (r *AuthPacket) Decode(d *jute.Decoder) {
	r.Type = d.Int()
	r.Scheme = d.String()
	r.Auth = cloneBytes(d.Buffer())
}

// SetWatches re-registers a client's one-shot watches after a reconnect
// (opcode 101).
type SetWatches struct {
	RelativeZxid int64
	DataWatches  []string
	ExistWatches []string
	ChildWatches []string
}

// Encode implements Record.
func (r *SetWatches) Encode(e *jute.Encoder) {
	e.Long(r.RelativeZxid)
	e.Strings(r.DataWatches)
	e.Strings(r.ExistWatches)
	e.Strings(r.ChildWatches)
}

// Decode implements Record.
func (r *SetWatches) Decode(d *jute.Decoder) {
	r.RelativeZxid = d.Long()
	r.DataWatches = d.Strings()
	r.ExistWatches = d.Strings()
	r.ChildWatches = d.Strings()
}

// SetWatches2 is SetWatches plus persistent and persistent-recursive watches
// (opcode 105).
type SetWatches2 struct {
	RelativeZxid               int64
	DataWatches                []string
	ExistWatches               []string
	ChildWatches               []string
	PersistentWatches          []string
	PersistentRecursiveWatches []string
}

// Encode implements Record.
func (r *SetWatches2) Encode(e *jute.Encoder) {
	e.Long(r.RelativeZxid)
	e.Strings(r.DataWatches)
	e.Strings(r.ExistWatches)
	e.Strings(r.ChildWatches)
	e.Strings(r.PersistentWatches)
	e.Strings(r.PersistentRecursiveWatches)
}

// Decode implements Record.
func (r *SetWatches2) Decode(d *jute.Decoder) {
	r.RelativeZxid = d.Long()
	r.DataWatches = d.Strings()
	r.ExistWatches = d.Strings()
	r.ChildWatches = d.Strings()
	r.PersistentWatches = d.Strings()
	r.PersistentRecursiveWatches = d.Strings()
}

// CreateRequest is the body of create (1), create2 (15) and createContainer
// (19). Data is copied on decode (the server stores it in the tree).
type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
}

// Encode implements Record.
func (r *CreateRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.Flags)
}

// Decode implements Record.
func (r *CreateRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Data = cloneBytes(d.Buffer())
	r.ACL = DecodeACLs(d)
	r.Flags = d.Int()
}

// CreateTTLRequest is the body of createTTL (21). Data is copied on decode.
type CreateTTLRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64
}

// Encode implements Record.
func (r *CreateTTLRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.Flags)
	e.Long(r.TTL)
}

// Decode implements Record.
func (r *CreateTTLRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Data = cloneBytes(d.Buffer())
	r.ACL = DecodeACLs(d)
	r.Flags = d.Int()
	r.TTL = d.Long()
}

// CreateResponse answers create (1): the created path (with its sequential
// suffix, if any).
type CreateResponse struct {
	Path string
}

// Encode implements Record.
func (r *CreateResponse) Encode(e *jute.Encoder) { e.String(r.Path) }

// Decode implements Record.
func (r *CreateResponse) Decode(d *jute.Decoder) { r.Path = d.String() }

// Create2Response answers create2 (15), createContainer (19) and createTTL
// (21): the created path and the new node's Stat.
type Create2Response struct {
	Path string
	Stat Stat
}

// Encode implements Record.
func (r *Create2Response) Encode(e *jute.Encoder) {
	e.String(r.Path)
	r.Stat.Encode(e)
}

// Decode implements Record.
func (r *Create2Response) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Stat.Decode(d)
}

// DeleteRequest is the body of delete (2). Version -1 matches any version.
type DeleteRequest struct {
	Path    string
	Version int32
}

// Encode implements Record.
func (r *DeleteRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Int(r.Version)
}

// Decode implements Record.
func (r *DeleteRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Version = d.Int()
}

// ExistsRequest is the body of exists (3).
type ExistsRequest struct {
	Path  string
	Watch bool
}

// Encode implements Record.
func (r *ExistsRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Bool(r.Watch)
}

// Decode implements Record.
func (r *ExistsRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Watch = d.Bool()
}

// ExistsResponse answers exists (3) when the node exists.
type ExistsResponse struct {
	Stat Stat
}

// Encode implements Record.
func (r *ExistsResponse) Encode(e *jute.Encoder) { r.Stat.Encode(e) }

// Decode implements Record.
func (r *ExistsResponse) Decode(d *jute.Decoder) { r.Stat.Decode(d) }

// GetDataRequest is the body of getData (4).
type GetDataRequest struct {
	Path  string
	Watch bool
}

// Encode implements Record.
func (r *GetDataRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Bool(r.Watch)
}

// Decode implements Record.
func (r *GetDataRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Watch = d.Bool()
}

// GetDataResponse answers getData (4) and reconfig (16). Data is copied on
// decode; nil encodes as the null buffer.
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

// Encode implements Record.
func (r *GetDataResponse) Encode(e *jute.Encoder) {
	e.Buffer(r.Data)
	r.Stat.Encode(e)
}

// Decode implements Record.
func (r *GetDataResponse) Decode(d *jute.Decoder) {
	r.Data = cloneBytes(d.Buffer())
	r.Stat.Decode(d)
}

// SetDataRequest is the body of setData (5). Data is copied on decode (the
// server stores it in the tree).
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

// Encode implements Record.
func (r *SetDataRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	e.Int(r.Version)
}

// Decode implements Record.
func (r *SetDataRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Data = cloneBytes(d.Buffer())
	r.Version = d.Int()
}

// SetDataResponse answers setData (5) and a standalone check (13).
type SetDataResponse struct {
	Stat Stat
}

// Encode implements Record.
func (r *SetDataResponse) Encode(e *jute.Encoder) { r.Stat.Encode(e) }

// Decode implements Record.
func (r *SetDataResponse) Decode(d *jute.Decoder) { r.Stat.Decode(d) }

// GetACLRequest is the body of getACL (6).
type GetACLRequest struct {
	Path string
}

// Encode implements Record.
func (r *GetACLRequest) Encode(e *jute.Encoder) { e.String(r.Path) }

// Decode implements Record.
func (r *GetACLRequest) Decode(d *jute.Decoder) { r.Path = d.String() }

// GetACLResponse answers getACL (6).
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

// Encode implements Record.
func (r *GetACLResponse) Encode(e *jute.Encoder) {
	EncodeACLs(e, r.ACL)
	r.Stat.Encode(e)
}

// Decode implements Record.
func (r *GetACLResponse) Decode(d *jute.Decoder) {
	r.ACL = DecodeACLs(d)
	r.Stat.Decode(d)
}

// SetACLRequest is the body of setACL (7); Version is checked against the
// node's aversion.
type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

// Encode implements Record.
func (r *SetACLRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	EncodeACLs(e, r.ACL)
	e.Int(r.Version)
}

// Decode implements Record.
func (r *SetACLRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.ACL = DecodeACLs(d)
	r.Version = d.Int()
}

// SetACLResponse answers setACL (7).
type SetACLResponse struct {
	Stat Stat
}

// Encode implements Record.
func (r *SetACLResponse) Encode(e *jute.Encoder) { r.Stat.Encode(e) }

// Decode implements Record.
func (r *SetACLResponse) Decode(d *jute.Decoder) { r.Stat.Decode(d) }

// GetChildrenRequest is the body of getChildren (8).
type GetChildrenRequest struct {
	Path  string
	Watch bool
}

// Encode implements Record.
func (r *GetChildrenRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Bool(r.Watch)
}

// Decode implements Record.
func (r *GetChildrenRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Watch = d.Bool()
}

// GetChildrenResponse answers getChildren (8).
type GetChildrenResponse struct {
	Children []string
}

// Encode implements Record.
func (r *GetChildrenResponse) Encode(e *jute.Encoder) { e.Strings(r.Children) }

// Decode implements Record.
func (r *GetChildrenResponse) Decode(d *jute.Decoder) { r.Children = d.Strings() }

// GetChildren2Request is the body of getChildren2 (12).
type GetChildren2Request struct {
	Path  string
	Watch bool
}

// Encode implements Record.
func (r *GetChildren2Request) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Bool(r.Watch)
}

// Decode implements Record.
func (r *GetChildren2Request) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Watch = d.Bool()
}

// GetChildren2Response answers getChildren2 (12).
type GetChildren2Response struct {
	Children []string
	Stat     Stat
}

// Encode implements Record.
func (r *GetChildren2Response) Encode(e *jute.Encoder) {
	e.Strings(r.Children)
	r.Stat.Encode(e)
}

// Decode implements Record.
func (r *GetChildren2Response) Decode(d *jute.Decoder) {
	r.Children = d.Strings()
	r.Stat.Decode(d)
}

// CheckVersionRequest is the body of check (13), normally inside a multi.
type CheckVersionRequest struct {
	Path    string
	Version int32
}

// Encode implements Record.
func (r *CheckVersionRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Int(r.Version)
}

// Decode implements Record.
func (r *CheckVersionRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Version = d.Int()
}

// SyncRequest is the body of sync (9).
type SyncRequest struct {
	Path string
}

// Encode implements Record.
func (r *SyncRequest) Encode(e *jute.Encoder) { e.String(r.Path) }

// Decode implements Record.
func (r *SyncRequest) Decode(d *jute.Decoder) { r.Path = d.String() }

// SyncResponse answers sync (9) with the requested path.
type SyncResponse struct {
	Path string
}

// Encode implements Record.
func (r *SyncResponse) Encode(e *jute.Encoder) { e.String(r.Path) }

// Decode implements Record.
func (r *SyncResponse) Decode(d *jute.Decoder) { r.Path = d.String() }

// CheckWatchesRequest is the body of checkWatches (17); Type is a Watcher*
// constant.
type CheckWatchesRequest struct {
	Path string
	Type int32
}

// Encode implements Record.
func (r *CheckWatchesRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Int(r.Type)
}

// Decode implements Record.
func (r *CheckWatchesRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Type = d.Int()
}

// RemoveWatchesRequest is the body of removeWatches (18); Type is a Watcher*
// constant.
type RemoveWatchesRequest struct {
	Path string
	Type int32
}

// Encode implements Record.
func (r *RemoveWatchesRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Int(r.Type)
}

// Decode implements Record.
func (r *RemoveWatchesRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Type = d.Int()
}

// AddWatchRequest is the body of addWatch (106); Mode is an AddWatch*
// constant.
type AddWatchRequest struct {
	Path string
	Mode int32
}

// Encode implements Record.
func (r *AddWatchRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Int(r.Mode)
}

// Decode implements Record.
func (r *AddWatchRequest) Decode(d *jute.Decoder) {
	r.Path = d.String()
	r.Mode = d.Int()
}

// ErrorResponse carries a bare error code: the success body of addWatch
// (106, always 0) and the body of a failed multi result.
type ErrorResponse struct {
	Err Code
}

// Encode implements Record.
func (r *ErrorResponse) Encode(e *jute.Encoder) { e.Int(int32(r.Err)) }

// Decode implements Record.
func (r *ErrorResponse) Decode(d *jute.Decoder) { r.Err = Code(d.Int()) }

// GetEphemeralsRequest is the body of getEphemerals (103).
type GetEphemeralsRequest struct {
	PrefixPath string
}

// Encode implements Record.
func (r *GetEphemeralsRequest) Encode(e *jute.Encoder) { e.String(r.PrefixPath) }

// Decode implements Record.
func (r *GetEphemeralsRequest) Decode(d *jute.Decoder) { r.PrefixPath = d.String() }

// GetEphemeralsResponse answers getEphemerals (103).
type GetEphemeralsResponse struct {
	Ephemerals []string
}

// Encode implements Record.
func (r *GetEphemeralsResponse) Encode(e *jute.Encoder) { e.Strings(r.Ephemerals) }

// Decode implements Record.
func (r *GetEphemeralsResponse) Decode(d *jute.Decoder) { r.Ephemerals = d.Strings() }

// GetAllChildrenNumberRequest is the body of getAllChildrenNumber (104).
type GetAllChildrenNumberRequest struct {
	Path string
}

// Encode implements Record.
func (r *GetAllChildrenNumberRequest) Encode(e *jute.Encoder) { e.String(r.Path) }

// Decode implements Record.
func (r *GetAllChildrenNumberRequest) Decode(d *jute.Decoder) { r.Path = d.String() }

// GetAllChildrenNumberResponse answers getAllChildrenNumber (104) with the
// number of descendants.
type GetAllChildrenNumberResponse struct {
	TotalNumber int32
}

// Encode implements Record.
func (r *GetAllChildrenNumberResponse) Encode(e *jute.Encoder) { e.Int(r.TotalNumber) }

// Decode implements Record.
func (r *GetAllChildrenNumberResponse) Decode(d *jute.Decoder) { r.TotalNumber = d.Int() }

// ClientInfo is one authenticated identity reported by whoAmI.
type ClientInfo struct {
	AuthScheme string
	User       string
}

// Encode implements Record.
func (c *ClientInfo) Encode(e *jute.Encoder) {
	e.String(c.AuthScheme)
	e.String(c.User)
}

// Decode implements Record.
func (c *ClientInfo) Decode(d *jute.Decoder) {
	c.AuthScheme = d.String()
	c.User = d.String()
}

// WhoAmIResponse answers whoAmI (107).
type WhoAmIResponse struct {
	ClientInfo []ClientInfo
}

// Encode implements Record; a nil list is written as the null vector.
func (r *WhoAmIResponse) Encode(e *jute.Encoder) {
	if r.ClientInfo == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(r.ClientInfo)))
	for i := range r.ClientInfo {
		r.ClientInfo[i].Encode(e)
	}
}

// Decode implements Record.
func (r *WhoAmIResponse) Decode(d *jute.Decoder) {
	n := d.VectorLen(8)
	if n < 0 {
		r.ClientInfo = nil
		return
	}
	r.ClientInfo = make([]ClientInfo, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		r.ClientInfo[i].Decode(d)
	}
}

// ReconfigRequest is the body of reconfig (16). Java clients send absent
// arguments as null strings; this record maps the null string to "" on
// decode and writes "" back as the null string, so "" means "absent" (the
// only meaning ZooKeeper gives to these fields besides a value).
type ReconfigRequest struct {
	JoiningServers string
	LeavingServers string
	NewMembers     string
	CurConfigID    int64
}

func encodeOptString(e *jute.Encoder, s string) {
	if s == "" {
		e.NullString()
		return
	}
	e.String(s)
}

// Encode implements Record.
func (r *ReconfigRequest) Encode(e *jute.Encoder) {
	encodeOptString(e, r.JoiningServers)
	encodeOptString(e, r.LeavingServers)
	encodeOptString(e, r.NewMembers)
	e.Long(r.CurConfigID)
}

// Decode implements Record.
func (r *ReconfigRequest) Decode(d *jute.Decoder) {
	r.JoiningServers = d.String()
	r.LeavingServers = d.String()
	r.NewMembers = d.String()
	r.CurConfigID = d.Long()
}

// SetSASLRequest carries a SASL token. It is defined by ZooKeeper's jute
// schema but not sent by its clients (they send GetSASLRequest).
type SetSASLRequest struct {
	Token []byte
}

// Encode implements Record.
func (r *SetSASLRequest) Encode(e *jute.Encoder) { e.Buffer(r.Token) }

// Decode implements Record.
func (r *SetSASLRequest) Decode(d *jute.Decoder) { r.Token = cloneBytes(d.Buffer()) }

// GetSASLRequest is the body of sasl (102): the client's SASL token.
type GetSASLRequest struct {
	Token []byte
}

// Encode implements Record.
func (r *GetSASLRequest) Encode(e *jute.Encoder) { e.Buffer(r.Token) }

// Decode implements Record.
func (r *GetSASLRequest) Decode(d *jute.Decoder) { r.Token = cloneBytes(d.Buffer()) }

// SetSASLResponse answers sasl (102) with the server's SASL token.
type SetSASLResponse struct {
	Token []byte
}

// Encode implements Record.
func (r *SetSASLResponse) Encode(e *jute.Encoder) { e.Buffer(r.Token) }

// Decode implements Record.
func (r *SetSASLResponse) Decode(d *jute.Decoder) { r.Token = cloneBytes(d.Buffer()) }
