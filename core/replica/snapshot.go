package replica

import (
	"encoding/binary"
	"fmt"

	"github.com/warrenhq/warren/core/prep"
	"github.com/warrenhq/warren/core/znode"
)

// Snapshot is the replica's durable state at one zxid, the session table
// and the data tree, produced as a byte stream a budget at a time while the
// replica keeps serving (see znode.Snapshot). The session table is small
// and copied when the snapshot begins; the tree is walked incrementally.
//
// Stream: magic "WREPL1\n", zxid (zig-zag varint), the session count
// (uvarint), per session its id and timeout (zig-zag varints), then the
// tree's stream.
type Snapshot struct {
	tree     *znode.Snapshot
	zxid     int64
	sessions int
	header   []byte
}

const replSnapMagic = "WREPL1\n"

// BeginSnapshot starts a snapshot of the state as of LastApplied. The
// caller must drive it to completion with Next or Abort it before starting
// another.
func (r *Replica) BeginSnapshot() (*Snapshot, error) {
	ts, err := r.tree.BeginSnapshot()
	if err != nil {
		return nil, err
	}
	s := &Snapshot{tree: ts, zxid: r.lastApplied}
	list := r.sessions.List() // sorted by id
	s.sessions = len(list)
	b := append([]byte(nil), replSnapMagic...)
	b = binary.AppendVarint(b, s.zxid)
	b = binary.AppendUvarint(b, uint64(len(list)))
	for _, se := range list {
		b = binary.AppendVarint(b, se.ID)
		b = binary.AppendVarint(b, int64(se.Timeout))
	}
	s.header = b
	return s, nil
}

// Zxid is the last transaction the snapshot's state includes.
func (s *Snapshot) Zxid() int64 { return s.zxid }

// Digest is the tree's digest at Zxid.
func (s *Snapshot) Digest() uint64 { return s.tree.Digest() }

// NodeCount is the number of znodes in the snapshot.
func (s *Snapshot) NodeCount() int { return s.tree.NodeCount() }

// SessionCount is the number of sessions in the snapshot.
func (s *Snapshot) SessionCount() int { return s.sessions }

// Progress reports how much of the tree the walker has visited.
func (s *Snapshot) Progress() (visited, total int) { return s.tree.Progress() }

// Next appends the next part of the stream to dst, walking at most budget
// node ids, and reports done when the stream is complete.
func (s *Snapshot) Next(dst []byte, budget int) ([]byte, bool) {
	if s.header != nil {
		dst = append(dst, s.header...)
		s.header = nil
	}
	return s.tree.Next(dst, budget)
}

// Abort abandons the snapshot.
func (s *Snapshot) Abort() { s.tree.Abort() }

// SnapshotInfo is what a loaded snapshot held.
type SnapshotInfo struct {
	Zxid     int64
	Digest   uint64
	Nodes    int
	Sessions int
}

// LoadSnapshot replaces the replica's state with a snapshot stream's,
// before serving starts (like Replay). Sessions start a fresh expiry clock
// at nowMs, so their clients have a full timeout to come back; the log
// after Zxid is then replayed with Replay.
func (r *Replica) LoadSnapshot(rd znode.ByteReader, nowMs int64) (SnapshotInfo, error) {
	var info SnapshotInfo
	if len(r.conns) > 0 || len(r.inflight) > 0 || r.lastApplied != 0 {
		return info, fmt.Errorf("replica: a snapshot can only be loaded into a fresh replica")
	}
	magic := make([]byte, len(replSnapMagic))
	for i := range magic {
		c, err := rd.ReadByte()
		if err != nil {
			return info, fmt.Errorf("replica: snapshot stream: %w", err)
		}
		magic[i] = c
	}
	if string(magic) != replSnapMagic {
		return info, &znode.SnapshotError{Offset: 0, Reason: "not a Warren replica snapshot (bad magic)"}
	}
	zxid, err := binary.ReadVarint(rd)
	if err != nil {
		return info, fmt.Errorf("replica: snapshot zxid: %w", err)
	}
	n, err := binary.ReadUvarint(rd)
	if err != nil {
		return info, fmt.Errorf("replica: snapshot session count: %w", err)
	}
	if n > 1<<26 {
		return info, &znode.SnapshotError{Reason: fmt.Sprintf("session count %d out of range", n)}
	}
	type sess struct {
		id      int64
		timeout int64
	}
	list := make([]sess, 0, min(n, 1<<16))
	for i := uint64(0); i < n; i++ {
		id, err := binary.ReadVarint(rd)
		if err != nil {
			return info, fmt.Errorf("replica: snapshot session: %w", err)
		}
		to, err := binary.ReadVarint(rd)
		if err != nil {
			return info, fmt.Errorf("replica: snapshot session: %w", err)
		}
		if to <= 0 || to > 1<<31-1 {
			return info, &znode.SnapshotError{Reason: fmt.Sprintf("session 0x%x has timeout %d", id, to)}
		}
		list = append(list, sess{id, to})
	}
	tree, ti, err := znode.LoadSnapshot(rd)
	if err != nil {
		return info, err
	}
	if ti.Zxid != zxid {
		return info, &znode.SnapshotError{Reason: fmt.Sprintf("tree zxid 0x%x differs from the replica's 0x%x", ti.Zxid, zxid)}
	}
	if r.sessions.Len() > 0 {
		return info, fmt.Errorf("replica: a snapshot can only be loaded into a fresh replica")
	}
	for _, s := range list {
		r.sessions.Add(s.id, int32(s.timeout), nowMs)
	}
	r.tree = tree
	r.prep = prep.New(tree, r.cfg.prepConfig())
	r.lastApplied, r.lastProposed = zxid, zxid
	return SnapshotInfo{Zxid: zxid, Digest: ti.Digest, Nodes: ti.Nodes, Sessions: len(list)}, nil
}
