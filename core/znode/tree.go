// Package znode owns the data tree: the znodes with their data, Stat, ACLs,
// sequence counters, ephemeral owners, containers and TTL nodes; the
// transaction records that change it (txn.go) and Tree.Apply, which applies
// one prepared transaction deterministically and reports its result and the
// changes watchers must hear about; an incrementally maintained digest of
// the whole tree; and the path rules shared with request preparation.
//
// The package is pure: no I/O, clocks or goroutines, and its results never
// depend on randomness. Tree is not safe for concurrent use: reads may run
// concurrently with each other, but not with Apply.
package znode

import (
	"encoding/binary"
	"slices"
	"strings"
	"unsafe"

	"github.com/warrenhq/warren/core/proto"
)

// node is one znode, laid out for a small footprint (48 bytes on amd64,
// in a slab of the index's arena, plus one allocation for its name and
// data):
//   - a node stores only its name (the last path segment), not its full
//     path: the parent's children record holds the parent's path, and
//     operations on a node take its path from the transaction;
//   - the name and the data share one allocation (buf: the name's length
//     as a uvarint, the name's bytes, then the data's), so a node costs one
//     allocation of its own; a setData allocates a new buffer and never
//     writes to the old one, so the data slices handed out by Get stay
//     immutable;
//   - the parent is a 4-byte reference into the arena; the ACL is a 4-byte
//     handle into the tree's interning cache; the node does not cache its
//     index hash, which the index recomputes from the parent's path and the
//     name on the rare resize;
//   - the stat fields that most nodes never change from their creation
//     values (mzxid, mtime, version, aversion) and the ephemeralOwner, which
//     persistent nodes leave 0, live in an extension record that only nodes
//     which were set, had their ACL set or have an owner allocate;
//   - the children list, with pzxid and the stored cversion (which only
//     move when children do), lives in a children record that only nodes
//     which ever had a child allocate;
//   - one pointer (more) holds whichever of the two records the node has,
//     or a nodeMore with both, tagged by two bits of its position in its
//     parent's children list.
type node struct {
	buf *byte // uvarint name length, name bytes, data bytes
	// more is the node's extension record, its children record, both (a
	// nodeMore) or nil, as the tag bits of pos say: nil until the node
	// gets a child or leaves the creation values of the extension's fields.
	more    unsafe.Pointer
	czxid   int64
	ctime   int64
	parent  nodeRef // noNode for the root
	dataLen int32   // -1 for null data
	pos     uint32  // position in the parent's children list, | the tag of more
	acl     aclHandle
}

// Tag bits of node.pos saying what node.more points to; the other bits
// hold the position in the parent's children list, so a node can have at
// most maxChildren children (which would take some 60 GB of nodes).
const (
	moreExt     uint32 = 1 << 30 // more holds an extension
	moreKids    uint32 = 1 << 31 // more holds a children record
	moreTags           = moreExt | moreKids
	maxChildren        = 1 << 30
)

// nodeMore is a node's extension and children records in one, for the
// nodes that have both.
type nodeMore struct {
	kids children
	ext  nodeExt
}

// ext returns n's extension record, or nil.
func (n *node) ext() *nodeExt {
	switch n.pos & moreTags {
	case moreExt:
		return (*nodeExt)(n.more)
	case moreExt | moreKids:
		return &(*nodeMore)(n.more).ext
	}
	return nil
}

// kids returns n's children record, or nil.
func (n *node) kids() *children {
	switch n.pos & moreTags {
	case moreKids:
		return (*children)(n.more)
	case moreExt | moreKids:
		return &(*nodeMore)(n.more).kids
	}
	return nil
}

// idx is n's position in its parent's children list.
func (n *node) idx() int32 { return int32(n.pos &^ moreTags) }

func (n *node) setIdx(i int32) { n.pos = n.pos&moreTags | uint32(i) }

// nodeExt holds the stat fields that a node without one has at their
// creation values: mzxid = czxid, mtime = ctime, version = aversion = 0,
// owner = 0.
type nodeExt struct {
	mzxid    int64
	mtime    int64
	owner    int64 // stored ephemeralOwner: session, ContainerOwner, TTLOwnerMask|ttl or 0
	version  int32
	aversion int32
}

// extension returns n's extension record, allocating it with the creation
// values if n has none (moving a children record into a nodeMore).
func (n *node) extension() *nodeExt {
	switch n.pos & moreTags {
	case moreExt, moreExt | moreKids:
		return n.ext()
	case moreKids:
		m := &nodeMore{kids: *(*children)(n.more), ext: nodeExt{mzxid: n.czxid, mtime: n.ctime}}
		n.more = unsafe.Pointer(m)
		n.pos |= moreExt
		return &m.ext
	}
	e := &nodeExt{mzxid: n.czxid, mtime: n.ctime}
	n.more = unsafe.Pointer(e)
	n.pos |= moreExt
	return e
}

// makeKids gives n, whose full path is path, an empty children record if
// it has none (moving an extension into a nodeMore), and returns it.
func (n *node) makeKids(path string) *children {
	switch n.pos & moreTags {
	case moreKids, moreExt | moreKids:
		return n.kids()
	case moreExt:
		m := &nodeMore{kids: *newChildren(path, n.czxid), ext: *(*nodeExt)(n.more)}
		n.more = unsafe.Pointer(m)
		n.pos |= moreKids
		return &m.kids
	}
	c := newChildren(path, n.czxid)
	n.more = unsafe.Pointer(c)
	n.pos |= moreKids
	return c
}

func (n *node) mzxid() int64 {
	e := n.ext()
	if e == nil {
		return n.czxid
	}
	return e.mzxid
}

func (n *node) mtime() int64 {
	e := n.ext()
	if e == nil {
		return n.ctime
	}
	return e.mtime
}

// owner is the stored ephemeralOwner.
func (n *node) owner() int64 {
	e := n.ext()
	if e == nil {
		return 0
	}
	return e.owner
}

func (n *node) version() int32 {
	e := n.ext()
	if e == nil {
		return 0
	}
	return e.version
}

func (n *node) aversion() int32 {
	e := n.ext()
	if e == nil {
		return 0
	}
	return e.aversion
}

// cversion is the stored cversion: the number of child creates.
func (n *node) cversion() int32 {
	k := n.kids()
	if k == nil {
		return 0
	}
	return k.cversion
}

// setBuf stores name and a copy of data in a fresh buffer; nil data stays
// distinct from empty data.
func (n *node) setBuf(name string, data []byte) {
	n.dataLen = int32(len(data))
	if data == nil {
		n.dataLen = -1
	}
	var pre [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(pre[:], uint64(len(name)))
	b := make([]byte, k+len(name)+len(data))
	copy(b, pre[:k])
	copy(b[k+copy(b[k:], name):], data)
	n.buf = unsafe.SliceData(b)
}

// nameSpan returns the offset and length of the name in buf.
func (n *node) nameSpan() (off, length int) {
	if b := *n.buf; b < 0x80 { // names under 128 bytes
		return 1, int(b)
	}
	return n.longNameSpan()
}

// longNameSpan decodes the uvarint name length at the start of buf byte by
// byte (never reading past it).
func (n *node) longNameSpan() (off, length int) {
	var l uint64
	for i, shift := 0, uint(0); ; i, shift = i+1, shift+7 {
		b := *(*byte)(unsafe.Add(unsafe.Pointer(n.buf), i))
		l |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return i + 1, int(l)
		}
	}
}

// name is the node's last path segment ("" for the root). It shares the
// node's buffer, which is never modified, so it is a valid immutable string.
func (n *node) name() string {
	off, l := n.nameSpan()
	if l == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(n.buf), off)), l)
}

// data returns the node's data: nil for null data, a shared empty slice for
// empty data, else a slice of the node's buffer (whose capacity ends with
// the data, so an append by a caller always copies). It must not be
// modified.
func (n *node) data() []byte {
	switch {
	case n.dataLen < 0:
		return nil
	case n.dataLen == 0:
		return emptyData
	}
	off, l := n.nameSpan()
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(n.buf), off+l)), n.dataLen)
}

// size is the length of the node's data (0 for null data).
func (n *node) size() int { return max(int(n.dataLen), 0) }

// setData replaces the node's data with a copy of data.
func (n *node) setData(data []byte) { n.setBuf(n.name(), data) }

// hasPath reports whether path is the full path of n, a node of a: its
// name, preceded by its parent's path.
func (a *arena) hasPath(n *node, path string) bool {
	p := a.parentOf(n)
	if p == nil {
		return path == RootPath
	}
	name := n.name()
	cut := len(path) - len(name) - 1
	return cut >= 0 && path[cut] == '/' && path[cut+1:] == name && path[:cut] == p.kids().path()
}

// path returns the full path of n, a node of a, built from its parent's
// path and its name.
func (a *arena) path(n *node) string {
	p := a.parentOf(n)
	if p == nil {
		return RootPath
	}
	return p.kids().path() + "/" + n.name()
}

// children is an unsorted list of child nodes; each child knows its index,
// so removal is an O(1) swap with the last element. It also holds the
// parent's full path, from which a child's path follows (node.path), as
// few nodes are parents, and the parent's pzxid and stored cversion, which
// only children move.
type children struct {
	list     []nodeID // in the tree's arena
	pzxid    int64
	pathPtr  *byte // the full path of the node that owns the list; "" for the root
	pathLen  int32
	cversion int32 // stored cversion: number of child creates
}

// newChildren returns an empty children record for the node at path with
// the given pzxid; it keeps a copy of path.
func newChildren(path string, pzxid int64) *children {
	if path == RootPath {
		path = "" // the prefix of the root's children's paths
	}
	path = strings.Clone(path)
	return &children{pzxid: pzxid, pathPtr: unsafe.StringData(path), pathLen: int32(len(path))}
}

// path is the full path of the node that owns the list ("" for the root).
func (c *children) path() string { return unsafe.String(c.pathPtr, c.pathLen) }

// childPath is the full path of the child named name of the node at parent.
func childPath(parent, name string) string {
	if parent == RootPath {
		return "/" + name
	}
	return parent + "/" + name
}

func (n *node) pzxid() int64 {
	k := n.kids()
	if k == nil {
		return n.czxid
	}
	return k.pzxid
}

func (n *node) numChildren() int {
	k := n.kids()
	if k == nil {
		return 0
	}
	return len(k.list)
}

// addChild appends c, whose id is id, to n's children; path is n's full
// path.
func (n *node) addChild(c *node, id nodeID, path string) {
	k := n.makeKids(path)
	if len(k.list) >= maxChildren {
		panic("znode: too many children of " + path)
	}
	c.setIdx(int32(len(k.list)))
	k.list = append(k.list, id)
}

// removeChild removes c from n's children; a is the arena of both.
func (n *node) removeChild(c *node, a *arena) {
	k := n.kids()
	l := k.list
	last := len(l) - 1
	i := c.idx()
	l[i] = l[last]
	a.at(l[i]).setIdx(i)
	l = l[:last]
	// Give memory back after a large parent shrinks.
	if cap(l) > 64 && len(l) < cap(l)/4 {
		l = slices.Clip(slices.Clone(l))
	}
	k.list = l
}

// ownerKind classifies a stored ephemeralOwner as ZooKeeper's EphemeralType
// does with extended types enabled. An owner with the 0xFF marker but an
// unknown extended type counts as a session, as it does in ZooKeeper with
// extended types disabled.
type ownerKind uint8

const (
	ownerPersistent ownerKind = iota
	ownerEphemeral
	ownerContainer
	ownerTTL
)

// ttlTypeMask covers the 0xFF marker byte and the 16-bit extended type,
// which is 0 for TTL nodes.
const ttlTypeMask int64 = -0x0000010000000000 // 0xFFFF_FF00_0000_0000

func kindOf(owner int64) ownerKind {
	switch {
	case owner == 0:
		return ownerPersistent
	case owner == proto.ContainerOwner:
		return ownerContainer
	case owner&ttlTypeMask == proto.TTLOwnerMask:
		return ownerTTL
	}
	return ownerEphemeral
}

// TTLOf returns the TTL in milliseconds carried by a TTL node's stored
// ephemeralOwner, and false if owner does not denote a TTL node.
func TTLOf(owner int64) (int64, bool) {
	if kindOf(owner) != ownerTTL {
		return 0, false
	}
	return owner & proto.MaxTTL, true
}

// stat builds the client-visible Stat (DataNode.copyStat): dataLength and
// numChildren are computed, cversion is translated from the count of
// creates to the count of changes (creates*2 - children still present), and
// containers and TTL nodes show ephemeralOwner 0.
func (n *node) stat() proto.Stat {
	nc := int32(n.numChildren())
	owner := n.owner()
	if kindOf(owner) != ownerEphemeral {
		owner = 0
	}
	return proto.Stat{
		Czxid:          n.czxid,
		Mzxid:          n.mzxid(),
		Ctime:          n.ctime,
		Mtime:          n.mtime(),
		Version:        n.version(),
		Cversion:       n.cversion()*2 - nc,
		Aversion:       n.aversion(),
		EphemeralOwner: owner,
		DataLength:     int32(n.size()),
		NumChildren:    nc,
		Pzxid:          n.pzxid(),
	}
}

// Meta is what request preparation and reads need about a node. Stat is the
// client-visible stat (with DataLength, NumChildren and the translated
// cversion). ACL slices are shared and immutable: callers must not modify
// them.
type Meta struct {
	Stat proto.Stat
	ACL  []proto.ACL
	// CreateCount is the stored cversion: the number of child creates so
	// far, which is also the next sequential suffix.
	CreateCount int32
	// Owner is the stored ephemeralOwner, with the container and TTL markers
	// that the client-visible Stat hides (Stat.EphemeralOwner is 0 for them).
	Owner int64
}

// Tree is the in-memory znode tree. The zero value is not usable; call
// NewTree.
type Tree struct {
	nodes      *index
	acls       *aclCache
	ephemerals map[int64]map[*node]struct{}
	nEphemeral int
	reapable   map[*node]struct{}  // containers and TTL nodes
	quotas     map[string]struct{} // paths with a zookeeper_limits node (see quota.go)
	dataSize   int64
	digest     uint64
	lastZxid   int64
	snap       *Snapshot // the snapshot in progress, which needs pre-images
}

// Special paths that the tree itself creates.
const (
	RootPath      = "/"
	ZooKeeperPath = "/zookeeper"
	QuotaPath     = "/zookeeper/quota"
	ConfigPath    = "/zookeeper/config"
)

// emptyData is the shared empty, non-nil data slice.
var emptyData = []byte{}

// NewTree returns a tree holding "/", "/zookeeper", "/zookeeper/quota" and
// "/zookeeper/config", all with empty data and zero stats, ACL
// OpenACLUnsafe except /zookeeper/config, which has ReadACLUnsafe and, as
// in ZooKeeper (whose constructor sets that ACL with version -1), aversion -1.
func NewTree() *Tree {
	t := &Tree{
		nodes:      newIndex(0),
		acls:       newACLCache(),
		ephemerals: make(map[int64]map[*node]struct{}),
		reapable:   make(map[*node]struct{}),
		quotas:     make(map[string]struct{}),
	}
	add := func(path string, acl []proto.ACL) *node {
		var parent *node
		var parentID nodeID
		ref, name := noNode, ""
		if p := Parent(path); p != "" {
			parentID, parent = t.nodes.find(p)
			ref, name = refOf(parentID), Base(path)
		}
		id, n := t.nodes.insert(path, ref, name, emptyData)
		n.acl = t.acls.intern(acl)
		if parent != nil {
			parent.addChild(n, id, Parent(path))
		}
		t.dataSize += int64(len(path))
		return n
	}
	add(RootPath, proto.OpenACLUnsafe)
	add(ZooKeeperPath, proto.OpenACLUnsafe)
	add(QuotaPath, proto.OpenACLUnsafe)
	add(ConfigPath, proto.ReadACLUnsafe).extension().aversion = -1
	t.digest = t.recomputeDigest()
	return t
}

// lookup returns the node at path.
func (t *Tree) lookup(path string) (*node, bool) {
	n := t.nodes.get(path)
	return n, n != nil
}

func (t *Tree) meta(n *node) Meta {
	return Meta{Stat: n.stat(), ACL: t.acls.list(n.acl), CreateCount: n.cversion(), Owner: n.owner()}
}

// Meta returns the metadata of the node at path.
func (t *Tree) Meta(path string) (Meta, bool) {
	n, ok := t.lookup(path)
	if !ok {
		return Meta{}, false
	}
	return t.meta(n), true
}

// Get returns the node's data and metadata. The data slice is never
// modified in place (setData replaces it), so callers may keep it, but must
// not modify it. Data is nil if the node was created or set with null data.
func (t *Tree) Get(path string) (data []byte, m Meta, ok bool) {
	n, ok := t.lookup(path)
	if !ok {
		return nil, Meta{}, false
	}
	return n.data(), t.meta(n), true
}

// Children returns the names (not full paths) of the node's children, in no
// particular order, and the node's metadata.
func (t *Tree) Children(path string) (names []string, m Meta, ok bool) {
	n, ok := t.lookup(path)
	if !ok {
		return nil, Meta{}, false
	}
	names = make([]string, 0, n.numChildren())
	if k := n.kids(); k != nil {
		for _, c := range k.list {
			names = append(names, t.nodes.arena.at(c).name())
		}
	}
	return names, t.meta(n), true
}

// CountDescendants returns the number of nodes below path, not counting the
// node itself (getAllChildrenNumber).
func (t *Tree) CountDescendants(path string) (int, bool) {
	n, ok := t.lookup(path)
	if !ok {
		return 0, false
	}
	if path == RootPath {
		return t.nodes.len() - 1, true
	}
	count := 0
	stack := []*node{n}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if k := top.kids(); k != nil {
			count += len(k.list)
			for _, c := range k.list {
				stack = append(stack, t.nodes.arena.at(c))
			}
		}
	}
	return count, true
}

// Ephemerals returns the sorted paths of the ephemeral nodes owned by
// session.
func (t *Tree) Ephemerals(session int64) []string {
	set := t.ephemerals[session]
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, t.nodes.arena.path(n))
	}
	slices.Sort(out)
	return out
}

// EphemeralSessions returns the sorted ids of the sessions that own at
// least one ephemeral node.
func (t *Tree) EphemeralSessions() []int64 {
	out := make([]int64, 0, len(t.ephemerals))
	for s := range t.ephemerals {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// NodeCount is the number of znodes, including "/" and the /zookeeper
// nodes. (ZooKeeper's zk_znode_count is one higher: its node map holds the
// root twice, under "" and "/".)
func (t *Tree) NodeCount() int { return t.nodes.len() }

// EphemeralCount is the number of ephemeral nodes.
func (t *Tree) EphemeralCount() int { return t.nEphemeral }

// ApproxDataSize is the sum over nodes of len(path)+len(data), as
// ZooKeeper's approximateDataSize (which counts UTF-16 units of the path
// where this counts bytes; equal for ASCII paths).
func (t *Tree) ApproxDataSize() int64 { return t.dataSize }

// Digest is a 64-bit digest of the whole tree content: every path, data,
// ACL and stored stat field. It is maintained incrementally and is equal
// for equal trees regardless of the history that built them.
func (t *Tree) Digest() uint64 { return t.digest }

// LastZxid is the highest zxid applied.
func (t *Tree) LastZxid() int64 { return t.lastZxid }

// Walk visits the subtree at path depth-first in pre-order, children sorted
// by name, calling fn for every node; the walk stops when fn returns false.
// fn must not modify the tree.
func (t *Tree) Walk(path string, fn func(path string, m Meta) bool) {
	n, ok := t.lookup(path)
	if !ok {
		return
	}
	// Each entry holds a node and its parent's path; the node's own path is
	// built when it is visited.
	type entry struct {
		n      *node
		parent string
	}
	stack := []entry{{n: n}}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p := path
		if top.n != n {
			p = childPath(top.parent, top.n.name())
		}
		if !fn(p, t.meta(top.n)) {
			return
		}
		k := top.n.kids()
		if k == nil || len(k.list) == 0 {
			continue
		}
		// Push in reverse order so the smallest name is visited first.
		start := len(stack)
		for _, c := range k.list {
			stack = append(stack, entry{n: t.nodes.arena.at(c), parent: p})
		}
		slices.SortFunc(stack[start:], func(a, b entry) int { return strings.Compare(b.n.name(), a.n.name()) })
	}
}

// ExpiredContainers returns, sorted, the paths the container reaper should
// delete at time now (ms), mirroring ZooKeeper's ContainerManager: every
// container with no children that either had a child once (CreateCount >
// 0) or, when maxNeverUsedMs > 0, was last modified more than
// maxNeverUsedMs ago; and every TTL node with no children whose ttl is
// non-zero and now - mtime > ttl.
func (t *Tree) ExpiredContainers(now int64, maxNeverUsedMs int64) []string {
	var out []string
	for n := range t.reapable {
		if n.numChildren() > 0 {
			continue
		}
		elapsed := now - n.mtime()
		owner := n.owner()
		switch kindOf(owner) {
		case ownerContainer:
			if n.cversion() > 0 || maxNeverUsedMs > 0 && elapsed > maxNeverUsedMs {
				out = append(out, t.nodes.arena.path(n))
			}
		case ownerTTL:
			if ttl := owner & proto.MaxTTL; ttl != 0 && elapsed > ttl {
				out = append(out, t.nodes.arena.path(n))
			}
		}
	}
	slices.Sort(out)
	return out
}

// SetConfig replaces the data of /zookeeper/config with an ensemble's
// membership, as ZooKeeper writes it outside the transaction log when a
// member starts (and after a reconfiguration): every member writes the
// same bytes, so their digests stay equal. The node's version and times
// are kept. It returns the change for the node's watchers.
func (t *Tree) SetConfig(data []byte) Change {
	n, ok := t.lookup(ConfigPath)
	if !ok {
		return Change{}
	}
	var changes []Change
	e := n.extension()
	t.setData(Header{Zxid: e.mzxid, Time: e.mtime}, n, &SetDataTxn{Path: ConfigPath, Data: cloneBytes(data), Version: e.version}, &changes)
	return changes[0]
}
