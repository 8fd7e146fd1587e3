// Package prep owns request preparation, ZooKeeper's PrepRequestProcessor:
// it checks a client's write request (path syntax, create modes and TTLs,
// existence, ACLs, versions) against the tree as it will be once every
// transaction already prepared has been applied, and turns it into the
// transaction (core/znode) that every replica applies verbatim.
//
// Transactions prepared but not yet applied live in an overlay of pending
// node states, keyed by path and ordered by zxid, so that pipelined
// requests and the operations of one multi see each other's effects (a
// create of a parent then of its child, sequential numbering across
// pending creates, a version check after a pending setData). The owner
// tells the Preparer when the tree has applied a zxid, and the overlay
// forgets what the tree now shows.
//
// Where ZooKeeper 3.8 accepts a request that makes an inconsistent node,
// preparation refuses it with ErrBadArguments: createContainer must use the
// container mode and createTTL a TTL mode (ZooKeeper takes the node kind
// from the opcode whatever the mode says). The container reaper's
// deleteContainer also refuses a node that is no longer a container or TTL
// node (ZooKeeper only refuses ephemerals). Session checks (expired,
// moved, local sessions) are the caller's.
//
// The package is pure and deterministic; a Preparer is not safe for
// concurrent use.
package prep

import (
	"github.com/warrenhq/warren/core/acl"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
)

// View is the applied tree as preparation sees it (a *znode.Tree).
type View interface {
	// Meta returns the metadata of the node at path, if it exists.
	Meta(path string) (znode.Meta, bool)
	// Get returns the node's data with its metadata; quota enforcement
	// reads the limits and stats nodes through it.
	Get(path string) ([]byte, znode.Meta, bool)
}

// Config holds the server settings preparation depends on.
type Config struct {
	// ExtendedTypes enables TTL nodes (zookeeper.extendedTypesEnabled).
	// Without it createTTL and the TTL create modes fail with
	// ErrUnimplemented.
	ExtendedTypes bool
	// SkipACL disables every permission check (zookeeper.skipACL).
	SkipACL bool
	// MaxDataSize, when positive, bounds the data of create and setData;
	// larger data fails with ErrBadArguments. ZooKeeper has no such check
	// (only jute.maxbuffer bounds the whole request), so it is off by
	// default.
	MaxDataSize int
	// EnforceQuota (zookeeper.enforceQuota) makes create and setData fail
	// with ErrQuotaExceeded when they would take the subtree of the
	// nearest quota past a hard limit (see quota.go).
	EnforceQuota bool
}

// Allowed reports whether a session holding ids may perform an operation
// needing perm (any of its bits) on a node with the given ACL, honouring
// SkipACL.
func (c Config) Allowed(nodeACL []proto.ACL, perm int32, ids []proto.Id) bool {
	return c.SkipACL || acl.Check(nodeACL, perm, ids)
}

// GetACL applies getACL's rules to a node's ACL: the caller needs READ or
// ADMIN (else ErrNoAuth), and a caller without ADMIN sees digest ids
// masked (acl.MaskForGetACL).
func (c Config) GetACL(nodeACL []proto.ACL, ids []proto.Id) ([]proto.ACL, proto.Code) {
	if !c.Allowed(nodeACL, proto.PermRead|proto.PermAdmin, ids) {
		return nil, proto.ErrNoAuth
	}
	return acl.MaskForGetACL(nodeACL, c.Allowed(nodeACL, proto.PermAdmin, ids)), proto.OK
}

// Session is what preparation needs of the session issuing a request.
type Session struct {
	// ID owns the ephemeral nodes the session creates.
	ID int64
	// Ids are the session's authenticated ids: its connection's ip id,
	// digest ids from addauth, super.
	Ids []proto.Id
}

// state is what preparation knows of one node, pending or applied.
type state struct {
	exists      bool
	version     int32
	aversion    int32
	createCount int32 // stored cversion: the next sequential suffix
	numChildren int32
	owner       int64 // stored ephemeralOwner, container and TTL markers included
	acl         []proto.ACL
	dataLen     int32
	// data is the node's data once a pending transaction set it (hasData);
	// otherwise the view has it. Only quota enforcement reads it.
	data    []byte
	hasData bool
	// usage is the quota usage a quota's stats node holds (quota.go).
	usage usage
}

func stateOf(m znode.Meta) state {
	return state{
		exists:      true,
		version:     m.Stat.Version,
		aversion:    m.Stat.Aversion,
		createCount: m.CreateCount,
		numChildren: m.Stat.NumChildren,
		owner:       m.Owner,
		acl:         m.ACL,
		dataLen:     m.Stat.DataLength,
	}
}

// record is the state of one path after the transaction with zxid.
type record struct {
	zxid int64
	path string
	st   state
}

// Preparer prepares transactions against a View plus the overlay of
// transactions prepared but not yet applied to it.
type Preparer struct {
	view   View
	cfg    Config
	log    []*record          // pending records in zxid order
	latest map[string]*record // the newest pending record of each path
}

// New returns a Preparer over view with an empty overlay.
func New(view View, cfg Config) *Preparer {
	return &Preparer{view: view, cfg: cfg, latest: make(map[string]*record)}
}

// Applied tells the Preparer that the view now reflects every transaction
// up to zxid: overlay records of those transactions are dropped, unless a
// later pending transaction changed the same path. Transactions must have
// been prepared in increasing zxid order.
func (p *Preparer) Applied(zxid int64) {
	n := 0
	for n < len(p.log) && p.log[n].zxid <= zxid {
		r := p.log[n]
		if p.latest[r.path] == r {
			delete(p.latest, r.path)
		}
		p.log[n] = nil
		n++
	}
	p.log = p.log[n:]
	if len(p.log) == 0 {
		p.log = nil
	}
}

// Reset drops the whole overlay, for when the prepared transactions will
// never be applied (leadership lost) or the view was replaced.
func (p *Preparer) Reset() {
	p.log = nil
	p.latest = make(map[string]*record)
}

// Discard drops the overlay records of every transaction with a zxid at
// or after from, for when those transactions will never be applied (their
// write to the log failed) while earlier ones still may be: preparation
// then sees the tree as the earlier pending transactions leave it, so
// sequential suffixes and versions the discarded ones had taken are handed
// out again.
func (p *Preparer) Discard(from int64) {
	n := len(p.log)
	for n > 0 && p.log[n-1].zxid >= from {
		n--
		p.log[n] = nil
	}
	if n == len(p.log) {
		return
	}
	p.log = p.log[:n]
	if n == 0 {
		p.log = nil
	}
	p.latest = make(map[string]*record, len(p.log))
	for _, r := range p.log {
		p.latest[r.path] = r
	}
}

// Pending returns the number of overlay records: one per path changed by
// each prepared transaction not yet applied.
func (p *Preparer) Pending() int { return len(p.log) }

// lookup returns the state of path once every prepared transaction is
// applied.
func (p *Preparer) lookup(path string) state {
	if r, ok := p.latest[path]; ok {
		return r.st
	}
	if m, ok := p.view.Meta(path); ok {
		return stateOf(m)
	}
	return state{}
}

// batch collects the effects of one transaction, visible to its own later
// operations, until they are committed to the overlay together.
type batch struct {
	p      *Preparer
	zxid   int64
	order  []string
	staged map[string]state
}

func (p *Preparer) newBatch(zxid int64) *batch {
	return &batch{p: p, zxid: zxid}
}

// get returns the state of path as this batch's operations left it. The
// empty path, which ZooKeeper's parent computation yields for children of
// the root, names the root.
func (b *batch) get(path string) state {
	if path == "" {
		path = znode.RootPath
	}
	if st, ok := b.staged[path]; ok {
		return st
	}
	return b.p.lookup(path)
}

func (b *batch) put(path string, st state) {
	if path == "" {
		path = znode.RootPath
	}
	if b.staged == nil {
		b.staged = make(map[string]state)
	}
	if _, ok := b.staged[path]; !ok {
		b.order = append(b.order, path)
	}
	b.staged[path] = st
}

// commit records the batch's states in the overlay under its zxid, in the
// order the paths were first touched.
func (b *batch) commit() {
	p := b.p
	for _, path := range b.order {
		r := &record{zxid: b.zxid, path: path, st: b.staged[path]}
		p.log = append(p.log, r)
		p.latest[path] = r
	}
}
