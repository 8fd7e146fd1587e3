package znode

import (
	"slices"
	"strings"

	"github.com/warrenhq/warren/core/proto"
)

// Result is the outcome of applying one transaction.
type Result struct {
	// Err is OK, the code of an ErrorTxn (for a failed multi: the first
	// non-OK code of its ops), or the code of a transaction that is
	// impossible against the current tree (which then changed nothing).
	Err proto.Code
	// Path is the path the op named (for a create: the created path).
	Path string
	// Stat is the client-visible stat after the op: the new node for a
	// create, the node for setData, setACL and check (zero if it is missing).
	Stat proto.Stat
	// Multi holds one result per op of a MultiTxn (nil otherwise).
	Multi []OpResult
	// Changes lists what watchers must be told, in order.
	Changes []Change
	// Closed lists, sorted, the ephemeral paths a CloseSessionTxn deleted.
	Closed []string
}

// OpResult is the result of one op of a multi. Type is the result type
// ZooKeeper's multi reply uses: OpCreate for create (1); OpCreate2 for
// create2, createContainer and createTTL; OpDelete for delete and
// deleteContainer; OpSetData, OpSetACL, OpCheck; and OpError, with Err, for
// every op of a multi that failed. Path and Stat are as in Result.
type OpResult struct {
	Type proto.OpCode
	Err  proto.Code
	Path string
	Stat proto.Stat
}

// Change is one event that watchers must be told about.
type Change struct {
	// Type is EventNodeCreated, EventNodeDeleted, EventNodeDataChanged or
	// EventNodeChildrenChanged.
	Type proto.EventType
	// Path is the node (for EventNodeChildrenChanged: the parent).
	Path string
	// ACL is the node's ACL when the change happened (for a deleted node,
	// its ACL before deletion), for filtering delivery by READ permission.
	// It is shared and immutable.
	ACL  []proto.ACL
	Zxid int64
}

// Apply applies one transaction with the zxid and time of h, which are the
// only sources of zxid and time. It never validates what preparation
// decided (versions, ACLs, path syntax); but a transaction that is
// impossible against the current tree (a create of an existing path or
// under a missing parent, a delete of a missing or non-empty node, a
// setData or setACL of a missing node), which can only come from a log
// replay bug, yields an error code and changes nothing. A multi is atomic:
// either all its ops apply or none does. LastZxid advances in every case.
func (t *Tree) Apply(h Header, txn Txn) Result {
	var r Result
	switch x := txn.(type) {
	case *CreateTxn:
		r.Path = x.Path
		if r.Err = t.canCreate(x.Path); r.Err == proto.OK {
			r.Stat = t.create(h, x, &r.Changes)
		}
	case *DeleteTxn:
		r.Path = x.Path
		if r.Err = t.canDelete(x.Path); r.Err == proto.OK {
			t.delete(h.Zxid, t.nodes.get(x.Path), x.Path, &r.Changes)
		}
	case *SetDataTxn:
		r.Path = x.Path
		if n, ok := t.lookup(x.Path); ok {
			r.Stat = t.setData(h, n, x, &r.Changes)
		} else {
			r.Err = proto.ErrNoNode
		}
	case *SetACLTxn:
		r.Path = x.Path
		if n, ok := t.lookup(x.Path); ok {
			r.Stat = t.setACL(n, x)
		} else {
			r.Err = proto.ErrNoNode
		}
	case *CheckTxn:
		r.Path = x.Path
		if n, ok := t.lookup(x.Path); ok {
			r.Stat = n.stat()
		}
	case *ErrorTxn:
		r.Err = x.Err
	case *CreateSessionTxn:
	case *CloseSessionTxn:
		r.Closed = t.closeSession(h, &r.Changes)
	case *MultiTxn:
		t.applyMulti(h, x, &r)
	default:
		r.Err = proto.ErrUnimplemented
	}
	if h.Zxid > t.lastZxid {
		t.lastZxid = h.Zxid
	}
	return r
}

// badPath reports a path that cannot name a creatable node at all: not
// absolute, the root, ending in '/', or with an empty first segment (which
// Parent would take for a child of the root, unlike an empty segment
// further down, whose parent path names no node).
func badPath(path string) bool {
	return len(path) < 2 || path[0] != '/' || path[1] == '/' || path[len(path)-1] == '/'
}

func (t *Tree) canCreate(path string) proto.Code {
	if badPath(path) {
		return proto.ErrBadArguments
	}
	if _, ok := t.lookup(path); ok {
		return proto.ErrNodeExists
	}
	if _, ok := t.lookup(Parent(path)); !ok {
		return proto.ErrNoNode
	}
	return proto.OK
}

func (t *Tree) canDelete(path string) proto.Code {
	n, ok := t.lookup(path)
	switch {
	case !ok:
		return proto.ErrNoNode
	case path == RootPath:
		return proto.ErrBadArguments
	case n.numChildren() > 0:
		return proto.ErrNotEmpty
	}
	return proto.OK
}

// create adds the node c describes; canCreate must have passed. The node
// stores a copy of the name and data, never aliasing the txn's buffers.
func (t *Tree) create(h Header, c *CreateTxn, changes *[]Change) proto.Stat {
	parentPath := Parent(c.Path)
	pid, p := t.nodes.find(parentPath)
	t.snapTouch(pid)
	id, n := t.nodes.insert(c.Path, refOf(pid), Base(c.Path), c.Data)
	t.snapBorn(id)
	n.acl = t.acls.intern(c.ACL)
	n.czxid, n.ctime = h.Zxid, h.Time
	if c.Owner != 0 {
		n.extension().owner = c.Owner
	}
	t.dataSize += int64(len(c.Path) + n.size())
	t.digest += t.nodeHash(n, c.Path)

	ph := pathHash(parentPath)
	t.digest -= statHash(ph, p)
	cv := c.ParentCversion
	if cv == -1 { // ZooKeeper's marker for "parent's cversion + 1"
		cv = p.cversion() + 1
	}
	p.addChild(n, id, parentPath)
	// Only move forward: replaying a create over a newer snapshot must not
	// take cversion and pzxid back (DataTree.createNode).
	if k := p.kids(); cv > k.cversion {
		k.cversion = cv
		k.pzxid = h.Zxid
	}
	t.digest += statHash(ph, p)

	t.trackOwner(n)
	st := n.stat() // taken before quota bookkeeping, as ZooKeeper copies it
	t.quotaCreated(n, c.Path)
	*changes = append(*changes,
		Change{Type: proto.EventNodeCreated, Path: c.Path, ACL: t.acls.list(n.acl), Zxid: h.Zxid},
		Change{Type: proto.EventNodeChildrenChanged, Path: parentPath, ACL: t.acls.list(p.acl), Zxid: h.Zxid})
	return st
}

// trackOwner registers n with its session's ephemerals or with the
// reapable containers and TTL nodes, as its stored owner says.
func (t *Tree) trackOwner(n *node) {
	switch owner := n.owner(); kindOf(owner) {
	case ownerEphemeral:
		set := t.ephemerals[owner]
		if set == nil {
			set = make(map[*node]struct{})
			t.ephemerals[owner] = set
		}
		set[n] = struct{}{}
		t.nEphemeral++
	case ownerContainer, ownerTTL:
		t.reapable[n] = struct{}{}
	}
}

// delete removes n, whose full path is path; n must have no children and
// not be the root.
func (t *Tree) delete(zxid int64, n *node, path string, changes *[]Change) {
	p := t.nodes.arena.parentOf(n)
	parentPath := Parent(path)
	if t.snap != nil {
		t.snapTouch(nodeID(n.parent - 1))
		t.snapTouchPath(path)
	}
	ph := pathHash(parentPath)
	t.digest -= statHash(ph, p)
	p.removeChild(n, &t.nodes.arena)
	// The stored cversion counts creates and stays; pzxid only moves forward.
	if k := p.kids(); zxid > k.pzxid {
		k.pzxid = zxid
	}
	t.digest += statHash(ph, p)

	t.digest -= t.nodeHash(n, path)
	id := t.nodes.remove(n, path)
	t.dataSize -= int64(len(path) + n.size())
	acl := t.acls.list(n.acl)
	t.acls.release(n.acl)
	switch owner := n.owner(); kindOf(owner) {
	case ownerEphemeral:
		if set, ok := t.ephemerals[owner]; ok {
			if _, ok := set[n]; ok {
				delete(set, n)
				t.nEphemeral--
			}
			if len(set) == 0 {
				delete(t.ephemerals, owner)
			}
		}
	case ownerContainer, ownerTTL:
		delete(t.reapable, n)
	}
	t.quotaDeleted(n, path)
	t.nodes.arena.release(id) // last: n is zeroed and its slot reused
	*changes = append(*changes,
		Change{Type: proto.EventNodeDeleted, Path: path, ACL: acl, Zxid: zxid},
		Change{Type: proto.EventNodeChildrenChanged, Path: parentPath, ACL: t.acls.list(p.acl), Zxid: zxid})
}

// setData replaces the data of n, the node at s.Path.
func (t *Tree) setData(h Header, n *node, s *SetDataTxn, changes *[]Change) proto.Stat {
	t.snapTouchPath(s.Path)
	ph := pathHash(s.Path)
	aclHash := t.acls.hash(n.acl)
	t.digest -= contentHash(ph, n.data(), aclHash) + statHash(ph, n)
	oldLen := n.size()
	n.setData(s.Data)
	e := n.extension()
	e.version, e.mzxid, e.mtime = s.Version, h.Zxid, h.Time
	t.dataSize += int64(n.size() - oldLen)
	t.digest += contentHash(ph, n.data(), aclHash) + statHash(ph, n)
	t.quotaDataChanged(s.Path, int64(n.size()-oldLen))
	*changes = append(*changes,
		Change{Type: proto.EventNodeDataChanged, Path: s.Path, ACL: t.acls.list(n.acl), Zxid: h.Zxid})
	return n.stat()
}

// setACL replaces the ACL and aversion of n, the node at s.Path; mzxid
// does not change and no watcher hears of it.
func (t *Tree) setACL(n *node, s *SetACLTxn) proto.Stat {
	t.snapTouchPath(s.Path)
	t.digest -= t.nodeHash(n, s.Path)
	old := n.acl
	n.acl = t.acls.intern(s.ACL) // before release, so an unchanged list is not dropped and re-added
	t.acls.release(old)
	n.extension().aversion = s.Version
	t.digest += t.nodeHash(n, s.Path)
	return n.stat()
}

// closeSession deletes every ephemeral node of h.Session, deepest first and
// then in path order, and returns their paths sorted. A node that still has
// children (impossible unless the log is corrupt: ephemerals cannot have
// children) is left in place.
func (t *Tree) closeSession(h Header, changes *[]Change) []string {
	set := t.ephemerals[h.Session]
	if len(set) == 0 {
		return nil
	}
	type victim struct {
		n    *node
		path string
	}
	victims := make([]victim, 0, len(set))
	for n := range set {
		victims = append(victims, victim{n, t.nodes.arena.path(n)})
	}
	slices.SortFunc(victims, func(a, b victim) int {
		if da, db := strings.Count(a.path, "/"), strings.Count(b.path, "/"); da != db {
			return db - da
		}
		return strings.Compare(a.path, b.path)
	})
	closed := make([]string, 0, len(victims))
	for _, v := range victims {
		if v.n.numChildren() > 0 {
			continue
		}
		t.delete(h.Zxid, v.n, v.path, changes)
		closed = append(closed, v.path)
	}
	if len(closed) == 0 {
		return nil
	}
	slices.Sort(closed)
	return closed
}

// applyMulti applies the ops of m atomically at h's zxid and time.
func (t *Tree) applyMulti(h Header, m *MultiTxn, r *Result) {
	r.Multi = make([]OpResult, len(m.Ops))
	failed := slices.ContainsFunc(m.Ops, func(op SubTxn) bool {
		_, isErr := op.Txn.(*ErrorTxn)
		return isErr
	})
	if failed {
		// Prepared as failed: report each op as an error, as ZooKeeper does:
		// ops that are not ErrorTxns get OK before the first error and
		// ErrRuntimeInconsistency after it.
		seenErr := false
		for i, op := range m.Ops {
			code := proto.OK
			if e, ok := op.Txn.(*ErrorTxn); ok {
				code, seenErr = e.Err, true
			} else if seenErr {
				code = proto.ErrRuntimeInconsistency
			}
			r.Multi[i] = OpResult{Type: proto.OpError, Err: code}
			if code != proto.OK && r.Err == proto.OK {
				r.Err = code
			}
		}
		return
	}
	if at, code := t.checkMulti(m.Ops); code != proto.OK {
		for i := range m.Ops {
			c := proto.OK
			switch {
			case i == at:
				c = code
			case i > at:
				c = proto.ErrRuntimeInconsistency
			}
			r.Multi[i] = OpResult{Type: proto.OpError, Err: c}
		}
		r.Err = code
		return
	}
	for i, op := range m.Ops {
		r.Multi[i] = t.applyOp(h, op, &r.Changes)
	}
}

// checkMulti dry-runs ops against the tree with a small overlay of the
// paths they touch and returns the index and code of the first op that
// would be impossible, or (-1, OK).
func (t *Tree) checkMulti(ops []SubTxn) (int, proto.Code) {
	type sim struct {
		exists bool
		kids   int
	}
	overlay := make(map[string]*sim)
	get := func(path string) *sim {
		if s, ok := overlay[path]; ok {
			return s
		}
		s := &sim{}
		if n, ok := t.lookup(path); ok {
			s.exists, s.kids = true, n.numChildren()
		}
		overlay[path] = s
		return s
	}
	for i, op := range ops {
		switch x := op.Txn.(type) {
		case *CreateTxn:
			if badPath(x.Path) {
				return i, proto.ErrBadArguments
			}
			s := get(x.Path)
			if s.exists {
				return i, proto.ErrNodeExists
			}
			p := get(Parent(x.Path))
			if !p.exists {
				return i, proto.ErrNoNode
			}
			s.exists, s.kids = true, 0
			p.kids++
		case *DeleteTxn:
			s := get(x.Path)
			switch {
			case !s.exists:
				return i, proto.ErrNoNode
			case x.Path == RootPath:
				return i, proto.ErrBadArguments
			case s.kids > 0:
				return i, proto.ErrNotEmpty
			}
			s.exists = false
			get(Parent(x.Path)).kids--
		case *SetDataTxn:
			if !get(x.Path).exists {
				return i, proto.ErrNoNode
			}
		case *SetACLTxn:
			if !get(x.Path).exists {
				return i, proto.ErrNoNode
			}
		case *CheckTxn:
		default: // sessions and nested multis have no place in a multi
			return i, proto.ErrUnimplemented
		}
	}
	return -1, proto.OK
}

// applyOp applies one op of a multi that checkMulti accepted.
func (t *Tree) applyOp(h Header, op SubTxn, changes *[]Change) OpResult {
	switch x := op.Txn.(type) {
	case *CreateTxn:
		typ := proto.OpCreate2
		if op.Type == proto.OpCreate {
			typ = proto.OpCreate
		}
		return OpResult{Type: typ, Path: x.Path, Stat: t.create(h, x, changes)}
	case *DeleteTxn:
		t.delete(h.Zxid, t.nodes.get(x.Path), x.Path, changes)
		return OpResult{Type: proto.OpDelete, Path: x.Path}
	case *SetDataTxn:
		return OpResult{Type: proto.OpSetData, Path: x.Path, Stat: t.setData(h, t.nodes.get(x.Path), x, changes)}
	case *SetACLTxn:
		return OpResult{Type: proto.OpSetACL, Path: x.Path, Stat: t.setACL(t.nodes.get(x.Path), x)}
	case *CheckTxn:
		res := OpResult{Type: proto.OpCheck, Path: x.Path}
		if n, ok := t.lookup(x.Path); ok {
			res.Stat = n.stat()
		}
		return res
	}
	// checkMulti rejected every other kind.
	return OpResult{Type: proto.OpError, Err: proto.ErrUnimplemented}
}
