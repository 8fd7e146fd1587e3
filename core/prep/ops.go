package prep

import (
	"fmt"
	"slices"
	"strings"

	"github.com/warrenhq/warren/core/acl"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
)

// Prepare turns one client write request into a transaction. h carries the
// session, xid, zxid, time and the request's opcode (Type); req is the
// decoded request body:
//
//	OpCreate, OpCreate2, OpCreateContainer  *proto.CreateRequest
//	OpCreateTTL                             *proto.CreateTTLRequest
//	OpDelete                                *proto.DeleteRequest
//	OpDeleteContainer                       *proto.DeleteRequest (Version ignored; from the container reaper)
//	OpSetData                               *proto.SetDataRequest
//	OpSetACL                                *proto.SetACLRequest
//	OpCheck                                 *proto.CheckVersionRequest
//	OpMulti                                 *proto.MultiRequest
//
// Checks run in ZooKeeper's order and fail with its codes. On success the
// transaction's effects are recorded in the overlay under h.Zxid and the
// code is OK. On failure nothing is recorded and the code says why; the
// transaction is then a *znode.ErrorTxn with that code, except for a multi
// whose operations were checked: that yields a *znode.MultiTxn of
// ErrorTxns (OK for the operations before the failing one, its code for
// it, ErrRuntimeInconsistency after it), which is what the client is told.
// A multi carrying an operation a multi cannot hold (reads, setACL, a
// request record of the wrong type) fails as a whole with
// ErrMarshallingError, as in ZooKeeper. An opcode that is not a write
// fails with ErrUnimplemented, a body of the wrong type with
// ErrMarshallingError.
//
// The transaction shares the request's data slice.
func (p *Preparer) Prepare(h znode.Header, req any, s Session) (znode.Txn, proto.Code) {
	if h.Type == proto.OpMulti {
		m, ok := as[proto.MultiRequest](req)
		if !ok {
			return errorTxn(proto.ErrMarshallingError)
		}
		return p.prepareMulti(h, m, s)
	}
	b := p.newBatch(h.Zxid)
	txn, code := b.op(h.Type, req, s)
	if code != proto.OK {
		return errorTxn(code)
	}
	b.commit()
	return txn, proto.OK
}

func errorTxn(code proto.Code) (znode.Txn, proto.Code) {
	return &znode.ErrorTxn{Err: code}, code
}

// multiOp reports whether a multi may carry an operation of type t with
// request record req (MultiOperationRecord accepts exactly these writes).
func multiOp(t proto.OpCode, req proto.Record) bool {
	switch t {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer:
		_, ok := as[proto.CreateRequest](req)
		return ok
	case proto.OpCreateTTL:
		_, ok := as[proto.CreateTTLRequest](req)
		return ok
	case proto.OpDelete:
		_, ok := as[proto.DeleteRequest](req)
		return ok
	case proto.OpSetData:
		_, ok := as[proto.SetDataRequest](req)
		return ok
	case proto.OpCheck:
		_, ok := as[proto.CheckVersionRequest](req)
		return ok
	}
	return false
}

// as returns req as a non-nil *T.
func as[T any](req any) (*T, bool) {
	r, ok := req.(*T)
	return r, ok && r != nil
}

func (p *Preparer) prepareMulti(h znode.Header, m *proto.MultiRequest, s Session) (znode.Txn, proto.Code) {
	for _, op := range m.Ops {
		if !multiOp(op.Type, op.Req) {
			return errorTxn(proto.ErrMarshallingError)
		}
	}
	b := p.newBatch(h.Zxid)
	ops := make([]znode.SubTxn, len(m.Ops))
	for i, op := range m.Ops {
		txn, code := b.op(op.Type, op.Req, s)
		if code == proto.ErrMarshallingError {
			// Only an unreadable quota node gets here (multiOp vetted
			// the records); ZooKeeper's StatsTrack then throws out of
			// the whole multi, which fails as one.
			return errorTxn(code)
		}
		if code != proto.OK {
			for j := range ops {
				e := proto.OK
				switch {
				case j == i:
					e = code
				case j > i:
					e = proto.ErrRuntimeInconsistency
				}
				ops[j] = znode.SubTxn{Type: proto.OpError, Txn: &znode.ErrorTxn{Err: e}}
			}
			return &znode.MultiTxn{Ops: ops}, code
		}
		ops[i] = znode.SubTxn{Type: op.Type, Txn: txn}
	}
	b.commit()
	return &znode.MultiTxn{Ops: ops}, proto.OK
}

// op prepares one operation into the batch.
func (b *batch) op(t proto.OpCode, req any, s Session) (znode.Txn, proto.Code) {
	switch t {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer:
		r, ok := as[proto.CreateRequest](req)
		if !ok {
			return nil, proto.ErrMarshallingError
		}
		return b.create(t, r.Path, r.Data, r.ACL, r.Flags, -1, s)
	case proto.OpCreateTTL:
		r, ok := as[proto.CreateTTLRequest](req)
		if !ok {
			return nil, proto.ErrMarshallingError
		}
		return b.create(t, r.Path, r.Data, r.ACL, r.Flags, r.TTL, s)
	case proto.OpDelete:
		r, ok := as[proto.DeleteRequest](req)
		if !ok {
			return nil, proto.ErrMarshallingError
		}
		return b.delete(r.Path, r.Version, s)
	case proto.OpDeleteContainer:
		r, ok := as[proto.DeleteRequest](req)
		if !ok {
			return nil, proto.ErrMarshallingError
		}
		return b.deleteContainer(r.Path)
	case proto.OpSetData:
		r, ok := as[proto.SetDataRequest](req)
		if !ok {
			return nil, proto.ErrMarshallingError
		}
		return b.setData(r.Path, r.Data, r.Version, s)
	case proto.OpSetACL:
		r, ok := as[proto.SetACLRequest](req)
		if !ok {
			return nil, proto.ErrMarshallingError
		}
		return b.setACL(r.Path, r.ACL, r.Version, s)
	case proto.OpCheck:
		r, ok := as[proto.CheckVersionRequest](req)
		if !ok {
			return nil, proto.ErrMarshallingError
		}
		return b.check(r.Path, r.Version, s)
	}
	return nil, proto.ErrUnimplemented
}

func (b *batch) allowed(nodeACL []proto.ACL, perm int32, s Session) bool {
	return b.p.cfg.Allowed(nodeACL, perm, s.Ids)
}

// Node kinds by stored ephemeralOwner, as ZooKeeper's EphemeralType sees
// them: TTL markers are only recognised with extended types enabled.
func (b *batch) isTTL(owner int64) bool {
	_, ok := znode.TTLOf(owner)
	return ok && b.p.cfg.ExtendedTypes
}

func (b *batch) isEphemeral(owner int64) bool {
	return owner != 0 && owner != proto.ContainerOwner && !b.isTTL(owner)
}

// checkVersion is ZooKeeper's checkAndIncVersion: -1 matches anything;
// the new version wraps like a Java int.
func checkVersion(current, expected int32) (int32, proto.Code) {
	if expected != -1 && expected != current {
		return 0, proto.ErrBadVersion
	}
	return current + 1, proto.OK
}

// parentOf is ZooKeeper's validatePathForCreate: the text before the last
// '/', rejecting paths without one and paths holding NUL. The parent of a
// child of the root is "", which lookups take as the root.
func parentOf(path string) (string, bool) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 || strings.IndexByte(path, 0) >= 0 {
		return "", false
	}
	return path[:i], true
}

// special reports the nodes ZooKeeper never lets a client delete.
func special(path string) bool {
	switch path {
	case znode.RootPath, znode.ZooKeeperPath, znode.QuotaPath, znode.ConfigPath:
		return true
	}
	return false
}

// create prepares create, create2, createContainer and createTTL (ttl is
// -1 for a CreateRequest), with PrepRequestProcessor's checks in its order:
// mode, TTL, parent path, ACL, parent exists, CREATE on the parent,
// sequence suffix and full path, node exists, ephemeral parent.
func (b *batch) create(t proto.OpCode, path string, data []byte, reqACL []proto.ACL, flags int32, ttl int64, s Session) (znode.Txn, proto.Code) {
	cfg := b.p.cfg
	if flags < proto.ModePersistent || flags > proto.ModePersistentSequentialWithTTL {
		return nil, proto.ErrBadArguments
	}
	ttlMode := flags == proto.ModePersistentWithTTL || flags == proto.ModePersistentSequentialWithTTL
	if ttlMode && !cfg.ExtendedTypes {
		return nil, proto.ErrUnimplemented
	}
	if ttlMode && (ttl <= 0 || ttl > proto.MaxTTL) || !ttlMode && ttl >= 0 {
		return nil, proto.ErrBadArguments
	}
	// ZooKeeper takes the node kind from the opcode and never checks that
	// it agrees with the mode; a mismatch there makes a node of the
	// opcode's kind (or a TTL txn with an invalid TTL). Reject it.
	if t == proto.OpCreateContainer && flags != proto.ModeContainer || t == proto.OpCreateTTL && !ttlMode {
		return nil, proto.ErrBadArguments
	}
	parentPath, ok := parentOf(path)
	if !ok {
		return nil, proto.ErrBadArguments
	}
	fixed, code := acl.FixupACL(reqACL, s.Ids)
	if code != proto.OK {
		return nil, code
	}
	parent := b.get(parentPath)
	if !parent.exists {
		return nil, proto.ErrNoNode
	}
	if !b.allowed(parent.acl, proto.PermCreate, s) {
		return nil, proto.ErrNoAuth
	}
	if flags&proto.ModePersistentSequential != 0 { // modes 2, 3 and 6
		path += fmt.Sprintf("%010d", parent.createCount)
	}
	if znode.ValidatePath(path) != nil {
		return nil, proto.ErrBadArguments
	}
	if b.get(path).exists {
		return nil, proto.ErrNodeExists
	}
	if b.isEphemeral(parent.owner) {
		return nil, proto.ErrNoChildrenForEphemerals
	}
	if cfg.MaxDataSize > 0 && len(data) > cfg.MaxDataSize {
		return nil, proto.ErrBadArguments
	}
	if code := b.checkQuota(path, 1, int64(len(data))); code != proto.OK {
		return nil, code
	}
	var owner int64
	switch {
	case t == proto.OpCreateContainer:
		owner = proto.ContainerOwner
	case t == proto.OpCreateTTL:
		owner = proto.TTLOwnerMask | ttl
	case flags == proto.ModeEphemeral || flags == proto.ModeEphemeralSequential:
		owner = s.ID
	}
	// Like ZooKeeper's DataTree, a plain create with the container mode
	// makes a persistent node: only createContainer makes containers.
	parent.createCount++
	parent.numChildren++
	b.put(parentPath, parent)
	b.put(path, state{exists: true, owner: owner, acl: fixed, dataLen: int32(len(data)), data: data, hasData: true, usage: createdUsage(path)})
	b.trackQuota(path, 1, int64(len(data)))
	return &znode.CreateTxn{Path: path, Data: data, ACL: fixed, Owner: owner, ParentCversion: parent.createCount}, proto.OK
}

func (b *batch) delete(path string, version int32, s Session) (znode.Txn, proto.Code) {
	parentPath, ok := parentOf(path)
	if !ok || special(path) {
		return nil, proto.ErrBadArguments
	}
	parent := b.get(parentPath)
	if !parent.exists {
		return nil, proto.ErrNoNode
	}
	if !b.allowed(parent.acl, proto.PermDelete, s) {
		return nil, proto.ErrNoAuth
	}
	n := b.get(path)
	if !n.exists {
		return nil, proto.ErrNoNode
	}
	if _, code := checkVersion(n.version, version); code != proto.OK {
		return nil, code
	}
	if n.numChildren > 0 {
		return nil, proto.ErrNotEmpty
	}
	b.remove(parentPath, parent, path)
	return &znode.DeleteTxn{Path: path}, proto.OK
}

// remove marks path deleted and takes it off its parent's child count.
func (b *batch) remove(parentPath string, parent state, path string) {
	dataLen := b.get(path).dataLen
	parent.numChildren--
	b.put(parentPath, parent)
	b.put(path, state{})
	b.trackQuota(path, -1, -int64(dataLen))
}

// deleteContainer is the reaper's delete: no ACL or version check, and it
// fails if the node gained a child (ErrNotEmpty) or is no longer a
// container or TTL node (ErrBadVersion; ZooKeeper only refuses ephemerals
// here, letting a persistent node that replaced a container go).
func (b *batch) deleteContainer(path string) (znode.Txn, proto.Code) {
	parentPath, ok := parentOf(path)
	if !ok || special(path) {
		return nil, proto.ErrBadArguments
	}
	n := b.get(path)
	if !n.exists {
		return nil, proto.ErrNoNode
	}
	if n.numChildren > 0 {
		return nil, proto.ErrNotEmpty
	}
	if n.owner != proto.ContainerOwner && !b.isTTL(n.owner) {
		return nil, proto.ErrBadVersion
	}
	parent := b.get(parentPath)
	if !parent.exists {
		return nil, proto.ErrNoNode
	}
	b.remove(parentPath, parent, path)
	return &znode.DeleteTxn{Path: path}, proto.OK
}

func (b *batch) setData(path string, data []byte, version int32, s Session) (znode.Txn, proto.Code) {
	if znode.ValidatePath(path) != nil {
		return nil, proto.ErrBadArguments
	}
	n := b.get(path)
	if !n.exists {
		return nil, proto.ErrNoNode
	}
	if !b.allowed(n.acl, proto.PermWrite, s) {
		return nil, proto.ErrNoAuth
	}
	if limit := b.p.cfg.MaxDataSize; limit > 0 && len(data) > limit {
		return nil, proto.ErrBadArguments
	}
	// ZooKeeper checks the quota before the version.
	if code := b.checkQuota(path, 0, int64(len(data))-int64(n.dataLen)); code != proto.OK {
		return nil, code
	}
	next, code := checkVersion(n.version, version)
	if code != proto.OK {
		return nil, code
	}
	diff := int64(len(data)) - int64(n.dataLen)
	n.version = next
	n.dataLen, n.data, n.hasData, n.usage = int32(len(data)), data, true, usage{}
	b.put(path, n)
	b.trackQuota(path, 0, diff)
	return &znode.SetDataTxn{Path: path, Data: data, Version: next}, proto.OK
}

func (b *batch) setACL(path string, reqACL []proto.ACL, version int32, s Session) (znode.Txn, proto.Code) {
	if znode.ValidatePath(path) != nil {
		return nil, proto.ErrBadArguments
	}
	fixed, code := acl.FixupACL(reqACL, s.Ids)
	if code != proto.OK {
		return nil, code
	}
	n := b.get(path)
	if !n.exists {
		return nil, proto.ErrNoNode
	}
	if !b.allowed(n.acl, proto.PermAdmin, s) {
		return nil, proto.ErrNoAuth
	}
	next, code := checkVersion(n.aversion, version)
	if code != proto.OK {
		return nil, code
	}
	n.aversion = next
	n.acl = fixed
	b.put(path, n)
	return &znode.SetACLTxn{Path: path, ACL: fixed, Version: next}, proto.OK
}

// check verifies a version; the txn carries the node's current version.
func (b *batch) check(path string, version int32, s Session) (znode.Txn, proto.Code) {
	if znode.ValidatePath(path) != nil {
		return nil, proto.ErrBadArguments
	}
	n := b.get(path)
	if !n.exists {
		return nil, proto.ErrNoNode
	}
	if !b.allowed(n.acl, proto.PermRead, s) {
		return nil, proto.ErrNoAuth
	}
	if _, code := checkVersion(n.version, version); code != proto.OK {
		return nil, code
	}
	return &znode.CheckTxn{Path: path, Version: n.version}, proto.OK
}

// PrepareCloseSession prepares the closing of session h.Session. ephemerals
// are the session's ephemeral nodes in the view (Tree.Ephemerals); the
// overlay adds those it created in pending transactions and removes those
// pending transactions deleted, and every one of them is recorded as
// deleted under h.Zxid, so that later requests see them gone (their
// parents can then be deleted). Applying the returned CloseSessionTxn
// deletes them from the tree.
func (p *Preparer) PrepareCloseSession(h znode.Header, ephemerals []string) znode.Txn {
	candidates := slices.Clone(ephemerals)
	for path, r := range p.latest {
		if r.st.exists && r.st.owner == h.Session {
			candidates = append(candidates, path)
		}
	}
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)
	b := p.newBatch(h.Zxid)
	for _, path := range candidates {
		n := b.get(path)
		if !n.exists || n.owner != h.Session || !b.isEphemeral(n.owner) {
			continue
		}
		parentPath, ok := parentOf(path)
		if !ok {
			continue
		}
		b.remove(parentPath, b.get(parentPath), path)
	}
	b.commit()
	return &znode.CloseSessionTxn{}
}
