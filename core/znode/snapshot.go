package znode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"

	"github.com/warrenhq/warren/core/proto"
)

// Snapshots.
//
// A Snapshot is an exact image of the tree as it stood when BeginSnapshot
// was called (at LastZxid), produced a little at a time by Next while
// transactions keep being applied: the caller interleaves Next with Apply,
// so no step stalls writes for longer than one Next budget, and no copy of
// the tree is made.
//
// It stays exact by capturing pre-images. The walker visits node ids in
// arena order up to the arena's high-water mark at the start; before Apply
// changes a node (its data, stat, ACL or its existence) that the walker has
// not reached yet, the tree first encodes the node as it still is, which is
// as it was at the start, since this is its first change, and marks it
// done, so the walker skips it. Nodes created after the start are marked
// done when they are allocated and never appear. Children lists are not
// stored: every record names its parent, and the loader rebuilds the lists.
//
// Unlike ZooKeeper's fuzzy snapshots, the image never mixes states, so
// recovery does not depend on replaying transactions idempotently over a
// snapshot that already contains some of their effects.

// Snapshot stream layout (integers are uvarints unless noted, "v" marks a
// zig-zag varint, strings and byte slices are a uvarint length and bytes):
//
//	magic "WTREE1\n"
//	zxid v, digest (8 bytes, little-endian), nodes, id bound, acl lists
//	per ACL list: handle, count, then per entry perms v, scheme, id
//	records: tag 1, id, parent ref (0 for the root), name, data length v
//	  (-1 for null data), data, czxid v, ctime v, flags (bit 0: extension,
//	  bit 1: children record), [mzxid v, mtime v, owner v, version v,
//	  aversion v], [pzxid v, cversion v], ACL handle
//	end: tag 0, then the record count again
const snapMagic = "WTREE1\n"

const (
	snapTagEnd  = 0
	snapTagNode = 1

	snapFlagExt  = 1 << 0
	snapFlagKids = 1 << 1
)

// Snapshot produces the image of a tree at one zxid; see BeginSnapshot.
type Snapshot struct {
	t       *Tree
	zxid    int64
	digest  uint64
	nodes   int
	bound   nodeID   // arena high-water mark at the start
	cursor  nodeID   // the next id the walker looks at
	done    []uint64 // ids below bound already emitted or not part of the image
	pending []byte   // encoded pre-images waiting for Next
	header  []byte   // encoded header, until the first Next takes it
	emitted int
	// finished is set once the end marker went out.
	finished bool
}

// ErrSnapshotActive is returned by BeginSnapshot while another snapshot of
// the same tree is in progress.
var ErrSnapshotActive = errors.New("znode: a snapshot is already in progress")

// BeginSnapshot starts a snapshot of the tree as it is now. Until the
// snapshot finishes (Next reports done) or is aborted, Apply records
// pre-images for it, so the caller must drive it to the end or Abort it.
func (t *Tree) BeginSnapshot() (*Snapshot, error) {
	if t.snap != nil {
		return nil, ErrSnapshotActive
	}
	s := &Snapshot{
		t:      t,
		zxid:   t.lastZxid,
		digest: t.digest,
		nodes:  t.nodes.len(),
		bound:  t.nodes.arena.next,
	}
	s.done = make([]uint64, (int(s.bound)+63)/64)
	// The ACL lists in use now; handles are only meaningful inside this
	// stream, and a handle's list cannot change while a node still at its
	// start state holds it.
	b := append([]byte(nil), snapMagic...)
	b = binary.AppendVarint(b, s.zxid)
	b = binary.LittleEndian.AppendUint64(b, s.digest)
	b = binary.AppendUvarint(b, uint64(s.nodes))
	b = binary.AppendUvarint(b, uint64(s.bound))
	c := t.acls
	var live []aclHandle
	for h := range c.lists {
		if c.refs[h] > 0 {
			live = append(live, aclHandle(h))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(live)))
	for _, h := range live {
		b = binary.AppendUvarint(b, uint64(h))
		l := c.lists[h]
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, a := range l {
			b = binary.AppendVarint(b, int64(a.Perms))
			b = appendString(b, a.ID.Scheme)
			b = appendString(b, a.ID.ID)
		}
	}
	s.header = b
	t.snap = s
	return s, nil
}

// Zxid is the zxid of the state the snapshot holds.
func (s *Snapshot) Zxid() int64 { return s.zxid }

// Digest is the tree's digest at Zxid.
func (s *Snapshot) Digest() uint64 { return s.digest }

// NodeCount is the number of nodes the snapshot holds.
func (s *Snapshot) NodeCount() int { return s.nodes }

// Progress reports how far the walker is, as ids visited of the total.
func (s *Snapshot) Progress() (visited, total int) { return int(s.cursor), int(s.bound) }

// Next appends to dst the next part of the stream: captured pre-images,
// then the records of up to budget more node ids; it reports done once the
// whole stream has been produced (the tree stops tracking the snapshot
// then). A budget of 4096 ids takes well under a millisecond.
func (s *Snapshot) Next(dst []byte, budget int) ([]byte, bool) {
	if s.finished {
		return dst, true
	}
	if s.header != nil {
		dst = append(dst, s.header...)
		s.header = nil
	}
	dst = append(dst, s.pending...)
	s.pending = s.pending[:0]
	a := &s.t.nodes.arena
	for ; budget > 0 && s.cursor < s.bound; budget-- {
		id := s.cursor
		s.cursor++
		if s.isDone(id) {
			continue
		}
		n := a.at(id)
		if n.buf == nil { // a free slot
			continue
		}
		dst = s.appendNode(dst, id, n)
	}
	if s.cursor < s.bound {
		return dst, false
	}
	dst = append(dst, snapTagEnd)
	dst = binary.AppendUvarint(dst, uint64(s.emitted))
	s.finished = true
	s.t.snap = nil
	return dst, true
}

// Abort stops the snapshot; the tree no longer tracks it.
func (s *Snapshot) Abort() {
	if s.t.snap == s {
		s.t.snap = nil
	}
	s.finished = true
}

func (s *Snapshot) isDone(id nodeID) bool { return s.done[id/64]&(1<<(id%64)) != 0 }

func (s *Snapshot) markDone(id nodeID) { s.done[id/64] |= 1 << (id % 64) }

func (s *Snapshot) appendNode(b []byte, id nodeID, n *node) []byte {
	s.emitted++
	b = append(b, snapTagNode)
	b = binary.AppendUvarint(b, uint64(id))
	b = binary.AppendUvarint(b, uint64(n.parent))
	b = appendString(b, n.name())
	b = binary.AppendVarint(b, int64(n.dataLen))
	b = append(b, n.data()...)
	b = binary.AppendVarint(b, n.czxid)
	b = binary.AppendVarint(b, n.ctime)
	var flags byte
	e, k := n.ext(), n.kids()
	if e != nil {
		flags |= snapFlagExt
	}
	if k != nil {
		flags |= snapFlagKids
	}
	b = append(b, flags)
	if e != nil {
		b = binary.AppendVarint(b, e.mzxid)
		b = binary.AppendVarint(b, e.mtime)
		b = binary.AppendVarint(b, e.owner)
		b = binary.AppendVarint(b, int64(e.version))
		b = binary.AppendVarint(b, int64(e.aversion))
	}
	if k != nil {
		b = binary.AppendVarint(b, k.pzxid)
		b = binary.AppendVarint(b, int64(k.cversion))
	}
	return binary.AppendUvarint(b, uint64(n.acl))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// snapTouch captures the pre-image of the node named id before Apply
// changes it, if a snapshot still needs it.
func (t *Tree) snapTouch(id nodeID) {
	s := t.snap
	if s == nil || id < s.cursor || id >= s.bound || s.isDone(id) {
		return // already emitted by the walker or here, or not in the image
	}
	s.markDone(id)
	if n := t.nodes.arena.at(id); n.buf != nil {
		s.pending = s.appendNode(s.pending, id, n)
	}
}

// snapTouchPath is snapTouch for the node at path (if any).
func (t *Tree) snapTouchPath(path string) {
	if t.snap == nil {
		return
	}
	if id, n := t.nodes.find(path); n != nil {
		t.snapTouch(id)
	}
}

// snapBorn marks a node allocated after the snapshot began: it is not part
// of the image.
func (t *Tree) snapBorn(id nodeID) {
	if s := t.snap; s != nil && id < s.bound {
		s.markDone(id)
	}
}

// SnapshotError reports a snapshot stream that cannot be loaded.
type SnapshotError struct {
	Offset int64 // byte offset in the stream
	Reason string
}

func (e *SnapshotError) Error() string {
	return fmt.Sprintf("znode: bad snapshot stream at byte %d: %s", e.Offset, e.Reason)
}

// SnapshotInfo is what a snapshot stream's header says.
type SnapshotInfo struct {
	Zxid   int64
	Digest uint64
	Nodes  int
}

// Stream limits: a loader never allocates from an unchecked length.
const (
	maxSnapString = 1 << 20  // names and ACL ids
	maxSnapData   = 64 << 20 // a node's data (jute.maxbuffer is far lower)
	maxSnapACLs   = 1 << 24
)

// snapReader decodes the stream from an io.ByteReader-like source with
// bounded allocations.
type snapReader struct {
	r   ByteReader
	off int64
	err error
}

// ByteReader is what LoadSnapshot reads from: bufio.Reader satisfies it.
type ByteReader interface {
	ReadByte() (byte, error)
	Read(p []byte) (int, error)
}

func (d *snapReader) fail(reason string, args ...any) {
	if d.err == nil {
		d.err = &SnapshotError{Offset: d.off, Reason: fmt.Sprintf(reason, args...)}
	}
}

func (d *snapReader) ioErr(err error) {
	if d.err != nil {
		return
	}
	var se *SnapshotError
	if errors.As(err, &se) {
		d.err = err
		return
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		d.fail("stream ends early")
		return
	}
	d.err = fmt.Errorf("znode: reading snapshot at byte %d: %w", d.off, err)
}

func (d *snapReader) ReadByte() (byte, error) {
	if d.err != nil {
		return 0, d.err
	}
	c, err := d.r.ReadByte()
	if err != nil {
		d.ioErr(err)
		return 0, d.err
	}
	d.off++
	return c, nil
}

func (d *snapReader) byte() byte {
	c, _ := d.ReadByte()
	return c
}

func (d *snapReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(d)
	if err != nil && d.err == nil {
		d.fail("bad varint")
	}
	return v
}

func (d *snapReader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(d)
	if err != nil && d.err == nil {
		d.fail("bad varint")
	}
	return v
}

func (d *snapReader) full(p []byte) {
	for len(p) > 0 && d.err == nil {
		n, err := d.r.Read(p)
		d.off += int64(n)
		p = p[n:]
		if err != nil && len(p) > 0 {
			d.ioErr(err)
		}
		if n == 0 && err == nil {
			d.fail("reader returned no data")
		}
	}
}

func (d *snapReader) length(limit uint64, what string) int {
	v := d.uvarint()
	if v > limit {
		d.fail("%s length %d exceeds %d", what, v, limit)
		return 0
	}
	return int(v)
}

func (d *snapReader) string(what string) string {
	n := d.length(maxSnapString, what)
	if d.err != nil || n == 0 {
		return ""
	}
	b := make([]byte, n)
	d.full(b)
	return string(b)
}

// loadRec is one node record while loading.
type loadRec struct {
	buf     *byte // the node's buffer (name and data), as node.buf
	dataLen int32
	parent  nodeRef
	czxid   int64
	ctime   int64
	ext     *nodeExt
	kids    bool
	pzxid   int64
	cv      int32
	acl     uint64
	first   int32 // first child (index into recs), -1 for none
	sibling int32 // next sibling, -1 for none
}

// LoadSnapshot reads a whole snapshot stream and returns the tree it
// holds, with LastZxid set to the snapshot's zxid. It checks the stream's
// structure (one root, every parent present, no cycles, valid names, the
// record count) and that the loaded tree's digest equals the one recorded,
// so an image that was damaged or produced wrongly is refused rather than
// served. Errors are *SnapshotError for a bad stream, or the reader's own.
func LoadSnapshot(r ByteReader) (*Tree, SnapshotInfo, error) {
	d := &snapReader{r: r}
	var info SnapshotInfo
	magic := make([]byte, len(snapMagic))
	d.full(magic)
	if d.err == nil && string(magic) != snapMagic {
		d.fail("not a Warren tree snapshot (bad magic)")
	}
	info.Zxid = d.varint()
	var dig [8]byte
	d.full(dig[:])
	info.Digest = binary.LittleEndian.Uint64(dig[:])
	nodes := d.uvarint()
	if nodes > 1<<32 {
		d.fail("node count %d out of range", nodes)
		return nil, info, d.err
	}
	info.Nodes = int(nodes)
	bound := d.uvarint()
	if bound > 1<<32 || bound < nodes {
		d.fail("id bound %d out of range", bound)
		return nil, info, d.err
	}
	nACL := d.length(maxSnapACLs, "ACL table")
	acls := make(map[uint64][]proto.ACL, min(nACL, 1<<10))
	for i := 0; i < nACL && d.err == nil; i++ {
		h := d.uvarint()
		cnt := d.length(1<<16, "ACL list")
		list := make([]proto.ACL, 0, min(cnt, 64))
		for j := 0; j < cnt && d.err == nil; j++ {
			perms := d.varint()
			scheme := d.string("ACL scheme")
			id := d.string("ACL id")
			list = append(list, proto.ACL{Perms: int32(perms), ID: proto.Id{Scheme: scheme, ID: id}})
		}
		if _, dup := acls[h]; dup {
			d.fail("ACL handle %d listed twice", h)
		}
		acls[h] = list
	}
	if d.err != nil {
		return nil, info, d.err
	}

	// Records, and where each id of the image landed among them.
	recs := make([]loadRec, 0, min(info.Nodes, 1<<20))
	ids := newIDMap(bound, info.Nodes)
	var name []byte
	ended := false
	for d.err == nil {
		tag := d.byte()
		if d.err != nil {
			break
		}
		if tag == snapTagEnd {
			ended = true
			break
		}
		if tag != snapTagNode {
			d.fail("unknown record tag %d", tag)
			break
		}
		if len(recs) >= info.Nodes {
			d.fail("more node records than the %d the header announces", info.Nodes)
			break
		}
		at := d.off
		id := d.uvarint()
		var rec loadRec
		parent := d.uvarint()
		if parent > 1<<32 {
			d.fail("parent reference %d out of range", parent)
		}
		rec.parent = nodeRef(parent)
		nameLen := d.length(maxSnapString, "name")
		name = append(name[:0], make([]byte, nameLen)...)
		d.full(name)
		dl := d.varint()
		if dl < -1 || dl > maxSnapData {
			d.fail("data length %d out of range", dl)
			break
		}
		if d.err != nil {
			break
		}
		if id >= bound {
			d.err = &SnapshotError{Offset: at, Reason: fmt.Sprintf("node id %d is beyond the id bound %d", id, bound)}
			break
		}
		if (rec.parent == noNode) != (nameLen == 0) || bytes.ContainsAny(name, "/\x00") {
			d.err = &SnapshotError{Offset: at, Reason: fmt.Sprintf("node id %d has an invalid name %q", id, name)}
			break
		}
		// The node's buffer as setBuf lays it out, filled in place.
		var pre [binary.MaxVarintLen64]byte
		k := binary.PutUvarint(pre[:], uint64(nameLen))
		buf := make([]byte, k+nameLen+max(int(dl), 0))
		copy(buf[k:], name)
		copy(buf, pre[:k])
		d.full(buf[k+nameLen:])
		rec.buf, rec.dataLen = unsafe.SliceData(buf), int32(dl)
		rec.czxid = d.varint()
		rec.ctime = d.varint()
		flags := d.byte()
		if flags&^(snapFlagExt|snapFlagKids) != 0 {
			d.fail("unknown record flags 0x%x", flags)
		}
		if flags&snapFlagExt != 0 {
			rec.ext = &nodeExt{mzxid: d.varint(), mtime: d.varint(), owner: d.varint(),
				version: int32(d.varint()), aversion: int32(d.varint())}
		}
		if flags&snapFlagKids != 0 {
			rec.kids = true
			rec.pzxid = d.varint()
			rec.cv = int32(d.varint())
		}
		rec.acl = d.uvarint()
		if d.err != nil {
			break
		}
		if _, ok := acls[rec.acl]; !ok {
			d.fail("node id %d refers to ACL handle %d, which the table does not hold", id, rec.acl)
			break
		}
		if !ids.put(id, int32(len(recs))) {
			d.err = &SnapshotError{Offset: at, Reason: fmt.Sprintf("node id %d appears twice", id)}
			break
		}
		rec.first, rec.sibling = -1, -1
		recs = append(recs, rec)
	}
	if d.err == nil && ended {
		if count := d.uvarint(); d.err == nil && count != uint64(len(recs)) {
			d.fail("end marker counts %d records, the stream holds %d", count, len(recs))
		}
	}
	if d.err != nil {
		return nil, info, d.err
	}
	if len(recs) != info.Nodes {
		return nil, info, &SnapshotError{Offset: d.off, Reason: fmt.Sprintf("header announces %d nodes, the stream holds %d", info.Nodes, len(recs))}
	}
	t, err := buildTree(recs, ids, acls, d.off)
	if err != nil {
		return nil, info, err
	}
	t.lastZxid = info.Zxid
	if t.digest != info.Digest {
		return nil, info, &SnapshotError{Offset: d.off, Reason: fmt.Sprintf(
			"the loaded tree's digest 0x%016x differs from the recorded 0x%016x", t.digest, info.Digest)}
	}
	return t, info, nil
}

// buildTree links the records into a tree, parents before children.
func buildTree(recs []loadRec, ids *idMap, lists map[uint64][]proto.ACL, off int64) (*Tree, error) {
	bad := func(format string, args ...any) error {
		return &SnapshotError{Offset: off, Reason: fmt.Sprintf(format, args...)}
	}
	root := int32(-1)
	for i := range recs {
		r := &recs[i]
		if r.parent == noNode {
			if root >= 0 {
				return nil, bad("two roots")
			}
			root = int32(i)
			continue
		}
		p, ok := ids.get(uint64(r.parent - 1))
		if !ok {
			return nil, bad("node id %d has a parent id %d that is not in the snapshot", i, r.parent-1)
		}
		if !recs[p].kids {
			return nil, bad("node id %d has a parent without a children record", i)
		}
		r.sibling = recs[p].first
		recs[p].first = int32(i)
	}
	if root < 0 {
		return nil, bad("no root node")
	}

	t := &Tree{
		nodes:      newIndex(len(recs)),
		acls:       newACLCache(),
		ephemerals: make(map[int64]map[*node]struct{}),
		reapable:   make(map[*node]struct{}),
		quotas:     make(map[string]struct{}),
	}
	handles := make(map[uint64]aclHandle, len(lists))
	for h, l := range lists {
		handles[h] = t.acls.intern(l)
	}
	type queued struct {
		rec    int32
		parent nodeID
	}
	// Breadth-first from the root: a node's parent is always in place
	// before it, with the children record that holds the parent's path.
	queue := []queued{{rec: root}}
	placed := 0
	for head := 0; head < len(queue); head++ {
		if head > 4096 && head > len(queue)/2 { // drop the consumed front
			queue = append(queue[:0], queue[head:]...)
			head = 0
		}
		q := queue[head]
		r := &recs[q.rec]
		nm := (&node{buf: r.buf}).name()
		var path string
		var p *node
		ref := noNode
		if r.parent == noNode {
			path = RootPath
		} else {
			p = t.nodes.arena.at(q.parent)
			path = childPath(orRoot(p.kids().path()), nm)
			ref = refOf(q.parent)
			if t.nodes.get(path) != nil {
				return nil, bad("node %s appears twice", path)
			}
		}
		id, n := t.nodes.insertBuf(path, ref, r.buf, r.dataLen)
		r.buf = nil
		n.czxid, n.ctime = r.czxid, r.ctime
		h := handles[r.acl]
		t.acls.refs[h]++
		n.acl = h
		if r.ext != nil {
			*n.extension() = *r.ext
		}
		if r.kids {
			k := n.makeKids(path)
			k.pzxid, k.cversion = r.pzxid, r.cv
		}
		if p != nil {
			p.addChild(n, id, orRoot(p.kids().path()))
		}
		t.dataSize += int64(len(path) + n.size())
		t.digest += t.nodeHash(n, path)
		t.trackOwner(n)
		if parent := Parent(path); nm == quotaLimitNode && strings.HasPrefix(parent, QuotaPath) {
			t.quotas[strings.TrimPrefix(parent, QuotaPath)] = struct{}{}
		}
		placed++
		for c := r.first; c >= 0; c = recs[c].sibling {
			queue = append(queue, queued{rec: c, parent: id})
		}
	}
	if placed != len(recs) {
		return nil, bad("%d of %d nodes are not reachable from the root (a parent cycle)", len(recs)-placed, len(recs))
	}
	for _, h := range handles {
		t.acls.release(h) // drop the reference interning took
	}
	return t, nil
}

// idMap maps the ids of an image to record indexes: a slice when the id
// space is not much larger than the node count, else a map.
type idMap struct {
	dense  []int32 // -1 for none
	sparse map[uint64]int32
}

func newIDMap(bound uint64, nodes int) *idMap {
	if bound <= 8*uint64(nodes)+1<<16 {
		d := make([]int32, bound)
		for i := range d {
			d[i] = -1
		}
		return &idMap{dense: d}
	}
	return &idMap{sparse: make(map[uint64]int32, min(nodes, 1<<20))}
}

// put records id at index i; false if id is already present.
func (m *idMap) put(id uint64, i int32) bool {
	if m.dense != nil {
		if m.dense[id] >= 0 {
			return false
		}
		m.dense[id] = i
		return true
	}
	if _, ok := m.sparse[id]; ok {
		return false
	}
	m.sparse[id] = i
	return true
}

func (m *idMap) get(id uint64) (int32, bool) {
	if m.dense != nil {
		if id >= uint64(len(m.dense)) || m.dense[id] < 0 {
			return 0, false
		}
		return m.dense[id], true
	}
	i, ok := m.sparse[id]
	return i, ok
}

// orRoot maps the root's children-record path ("") back to "/".
func orRoot(p string) string {
	if p == "" {
		return RootPath
	}
	return p
}
