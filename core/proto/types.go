// Package proto defines the records of the Apache ZooKeeper client protocol
// (headers, requests, responses, Stat, ACL, watch events), its opcodes and
// its error codes, with their jute encodings. It is pure: no I/O, no clocks.
package proto

import (
	"fmt"

	"github.com/warrenhq/warren/core/jute"
)

// Record is a protocol record with a jute encoding.
type Record interface {
	Encode(e *jute.Encoder)
	Decode(d *jute.Decoder)
}

// OpCode is a request type (ZooDefs.OpCode).
type OpCode int32

// Opcodes of the client protocol.
const (
	OpNotification         OpCode = 0
	OpCreate               OpCode = 1
	OpDelete               OpCode = 2
	OpExists               OpCode = 3
	OpGetData              OpCode = 4
	OpSetData              OpCode = 5
	OpGetACL               OpCode = 6
	OpSetACL               OpCode = 7
	OpGetChildren          OpCode = 8
	OpSync                 OpCode = 9
	OpPing                 OpCode = 11
	OpGetChildren2         OpCode = 12
	OpCheck                OpCode = 13
	OpMulti                OpCode = 14
	OpCreate2              OpCode = 15
	OpReconfig             OpCode = 16
	OpCheckWatches         OpCode = 17
	OpRemoveWatches        OpCode = 18
	OpCreateContainer      OpCode = 19
	OpDeleteContainer      OpCode = 20
	OpCreateTTL            OpCode = 21
	OpMultiRead            OpCode = 22
	OpAuth                 OpCode = 100
	OpSetWatches           OpCode = 101
	OpSASL                 OpCode = 102
	OpGetEphemerals        OpCode = 103
	OpGetAllChildrenNumber OpCode = 104
	OpSetWatches2          OpCode = 105
	OpAddWatch             OpCode = 106
	OpWhoAmI               OpCode = 107
	OpCreateSession        OpCode = -10
	OpCloseSession         OpCode = -11
	OpError                OpCode = -1
)

var opNames = map[OpCode]string{
	OpNotification: "notification", OpCreate: "create", OpDelete: "delete", OpExists: "exists",
	OpGetData: "getData", OpSetData: "setData", OpGetACL: "getACL", OpSetACL: "setACL",
	OpGetChildren: "getChildren", OpSync: "sync", OpPing: "ping", OpGetChildren2: "getChildren2",
	OpCheck: "check", OpMulti: "multi", OpCreate2: "create2", OpReconfig: "reconfig",
	OpCheckWatches: "checkWatches", OpRemoveWatches: "removeWatches", OpCreateContainer: "createContainer",
	OpDeleteContainer: "deleteContainer", OpCreateTTL: "createTTL", OpMultiRead: "multiRead",
	OpAuth: "auth", OpSetWatches: "setWatches", OpSASL: "sasl", OpGetEphemerals: "getEphemerals",
	OpGetAllChildrenNumber: "getAllChildrenNumber", OpSetWatches2: "setWatches2", OpAddWatch: "addWatch",
	OpWhoAmI: "whoAmI", OpCreateSession: "createSession", OpCloseSession: "closeSession", OpError: "error",
}

func (o OpCode) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", int32(o))
}

// Special xids.
const (
	XidNotification int32 = -1
	XidPing         int32 = -2
	XidAuth         int32 = -4
	XidSetWatches   int32 = -8
)

// Code is a ZooKeeper error code (KeeperException.Code). A non-zero Code is
// an error; errors.Is(err, proto.ErrNoNode) works on wrapped codes.
type Code int32

// Error codes.
const (
	OK                          Code = 0
	ErrSystemError              Code = -1
	ErrRuntimeInconsistency     Code = -2
	ErrDataInconsistency        Code = -3
	ErrConnectionLoss           Code = -4
	ErrMarshallingError         Code = -5
	ErrUnimplemented            Code = -6
	ErrOperationTimeout         Code = -7
	ErrBadArguments             Code = -8
	ErrUnknownSession           Code = -12
	ErrNewConfigNoQuorum        Code = -13
	ErrReconfigInProgress       Code = -14
	ErrAPIError                 Code = -100
	ErrNoNode                   Code = -101
	ErrNoAuth                   Code = -102
	ErrBadVersion               Code = -103
	ErrNoChildrenForEphemerals  Code = -108
	ErrNodeExists               Code = -110
	ErrNotEmpty                 Code = -111
	ErrSessionExpired           Code = -112
	ErrInvalidCallback          Code = -113
	ErrInvalidACL               Code = -114
	ErrAuthFailed               Code = -115
	ErrSessionMoved             Code = -118
	ErrNotReadOnly              Code = -119
	ErrEphemeralOnLocalSession  Code = -120
	ErrNoWatcher                Code = -121
	ErrRequestTimeout           Code = -122
	ErrReconfigDisabled         Code = -123
	ErrSessionClosedRequireSASL Code = -124
	ErrQuotaExceeded            Code = -125
	ErrThrottledOp              Code = -127
)

var codeNames = map[Code]string{
	OK: "ok", ErrSystemError: "system error", ErrRuntimeInconsistency: "runtime inconsistency",
	ErrDataInconsistency: "data inconsistency", ErrConnectionLoss: "connection loss",
	ErrMarshallingError: "marshalling error", ErrUnimplemented: "unimplemented",
	ErrOperationTimeout: "operation timeout", ErrBadArguments: "bad arguments",
	ErrUnknownSession: "unknown session", ErrNewConfigNoQuorum: "new config has no quorum",
	ErrReconfigInProgress: "reconfig in progress", ErrAPIError: "api error",
	ErrNoNode: "no node", ErrNoAuth: "not authenticated", ErrBadVersion: "bad version",
	ErrNoChildrenForEphemerals: "ephemerals cannot have children", ErrNodeExists: "node exists",
	ErrNotEmpty: "directory not empty", ErrSessionExpired: "session expired",
	ErrInvalidCallback: "invalid callback", ErrInvalidACL: "invalid ACL", ErrAuthFailed: "authentication failed",
	ErrSessionMoved: "session moved", ErrNotReadOnly: "not a read-only call",
	ErrEphemeralOnLocalSession: "ephemeral on local session", ErrNoWatcher: "no watcher",
	ErrRequestTimeout: "request timeout", ErrReconfigDisabled: "reconfig disabled",
	ErrSessionClosedRequireSASL: "session closed: SASL authentication required",
	ErrQuotaExceeded:            "quota exceeded", ErrThrottledOp: "operation throttled",
}

func (c Code) Error() string {
	if s, ok := codeNames[c]; ok {
		return "zk: " + s
	}
	return fmt.Sprintf("zk: error %d", int32(c))
}

// Perms are ACL permission bits.
const (
	PermRead   int32 = 1
	PermWrite  int32 = 2
	PermCreate int32 = 4
	PermDelete int32 = 8
	PermAdmin  int32 = 16
	PermAll    int32 = 31
)

// CreateMode flags.
const (
	ModePersistent                  int32 = 0
	ModeEphemeral                   int32 = 1
	ModePersistentSequential        int32 = 2
	ModeEphemeralSequential         int32 = 3
	ModeContainer                   int32 = 4
	ModePersistentWithTTL           int32 = 5
	ModePersistentSequentialWithTTL int32 = 6
)

// EventType of a WatcherEvent.
type EventType int32

// Watch event types.
const (
	EventNone                   EventType = -1
	EventNodeCreated            EventType = 1
	EventNodeDeleted            EventType = 2
	EventNodeDataChanged        EventType = 3
	EventNodeChildrenChanged    EventType = 4
	EventDataWatchRemoved       EventType = 5
	EventChildWatchRemoved      EventType = 6
	EventPersistentWatchRemoved EventType = 7
)

// KeeperState values carried in WatcherEvent.State.
const (
	StateDisconnected      int32 = 0
	StateSyncConnected     int32 = 3
	StateAuthFailed        int32 = 4
	StateConnectedReadOnly int32 = 5
	StateExpired           int32 = -112
	StateClosed            int32 = 7
)

// WatcherType for checkWatches/removeWatches.
const (
	WatcherChildren            int32 = 1
	WatcherData                int32 = 2
	WatcherAny                 int32 = 3
	WatcherPersistent          int32 = 4
	WatcherPersistentRecursive int32 = 5
)

// AddWatch modes.
const (
	AddWatchPersistent          int32 = 0
	AddWatchPersistentRecursive int32 = 1
)

// EphemeralOwner markers.
const (
	ContainerOwner int64 = -0x8000000000000000 // Long.MIN_VALUE
	TTLOwnerMask   int64 = -0x0100000000000000 // 0xFF00_0000_0000_0000
	MaxTTL         int64 = 1<<40 - 1
)

// Stat is the client-visible node metadata (68 bytes on the wire).
type Stat struct {
	Czxid          int64
	Mzxid          int64
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	DataLength     int32
	NumChildren    int32
	Pzxid          int64
}

// StatSize is the encoded size of a Stat.
const StatSize = 68

func (s *Stat) Encode(e *jute.Encoder) {
	e.Long(s.Czxid)
	e.Long(s.Mzxid)
	e.Long(s.Ctime)
	e.Long(s.Mtime)
	e.Int(s.Version)
	e.Int(s.Cversion)
	e.Int(s.Aversion)
	e.Long(s.EphemeralOwner)
	e.Int(s.DataLength)
	e.Int(s.NumChildren)
	e.Long(s.Pzxid)
}

func (s *Stat) Decode(d *jute.Decoder) {
	s.Czxid = d.Long()
	s.Mzxid = d.Long()
	s.Ctime = d.Long()
	s.Mtime = d.Long()
	s.Version = d.Int()
	s.Cversion = d.Int()
	s.Aversion = d.Int()
	s.EphemeralOwner = d.Long()
	s.DataLength = d.Int()
	s.NumChildren = d.Int()
	s.Pzxid = d.Long()
}

// Id is an authentication identity: scheme and id.
type Id struct {
	Scheme string
	ID     string
}

func (i *Id) Encode(e *jute.Encoder) {
	e.String(i.Scheme)
	e.String(i.ID)
}

func (i *Id) Decode(d *jute.Decoder) {
	i.Scheme = d.String()
	i.ID = d.String()
}

// ACL is one access-control entry.
type ACL struct {
	Perms int32
	ID    Id
}

func (a *ACL) Encode(e *jute.Encoder) {
	e.Int(a.Perms)
	a.ID.Encode(e)
}

func (a *ACL) Decode(d *jute.Decoder) {
	a.Perms = d.Int()
	a.ID.Decode(d)
}

// Well-known ACL lists (ZooDefs.Ids).
var (
	WorldAnyone   = Id{Scheme: "world", ID: "anyone"}
	OpenACLUnsafe = []ACL{{Perms: PermAll, ID: WorldAnyone}}
	ReadACLUnsafe = []ACL{{Perms: PermRead, ID: WorldAnyone}}
	CreatorAllACL = []ACL{{Perms: PermAll, ID: Id{Scheme: "auth", ID: ""}}}
)

// EncodeACLs writes a vector of ACL entries (nil as the null vector).
func EncodeACLs(e *jute.Encoder, acls []ACL) {
	if acls == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(acls)))
	for i := range acls {
		acls[i].Encode(e)
	}
}

// DecodeACLs reads a vector of ACL entries.
func DecodeACLs(d *jute.Decoder) []ACL {
	n := d.VectorLen(12)
	if n < 0 {
		return nil
	}
	out := make([]ACL, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		out[i].Decode(d)
	}
	return out
}

// RequestHeader precedes every client request.
type RequestHeader struct {
	Xid  int32
	Type OpCode
}

func (h *RequestHeader) Encode(e *jute.Encoder) {
	e.Int(h.Xid)
	e.Int(int32(h.Type))
}

func (h *RequestHeader) Decode(d *jute.Decoder) {
	h.Xid = d.Int()
	h.Type = OpCode(d.Int())
}

// ReplyHeader precedes every server reply and notification.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  Code
}

// ReplyHeaderSize is the encoded size of a ReplyHeader.
const ReplyHeaderSize = 16

func (h *ReplyHeader) Encode(e *jute.Encoder) {
	e.Int(h.Xid)
	e.Long(h.Zxid)
	e.Int(int32(h.Err))
}

func (h *ReplyHeader) Decode(d *jute.Decoder) {
	h.Xid = d.Int()
	h.Zxid = d.Long()
	h.Err = Code(d.Int())
}

// WatcherEvent is the body of a notification (xid -1).
type WatcherEvent struct {
	Type  EventType
	State int32
	Path  string
}

func (w *WatcherEvent) Encode(e *jute.Encoder) {
	e.Int(int32(w.Type))
	e.Int(w.State)
	e.String(w.Path)
}

func (w *WatcherEvent) Decode(d *jute.Decoder) {
	w.Type = EventType(d.Int())
	w.State = d.Int()
	w.Path = d.String()
}
