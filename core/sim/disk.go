package sim

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/zab"
	"github.com/warrenhq/warren/core/znode"
)

// disk is a member's durable state, as core/serve keeps it in files: the
// transaction log (entries after base, the zxid the log continues from),
// the snapshots (replica snapshot streams, by zxid) and the epoch files.
// Only what a persistence request completed is here; a request still in
// flight is in member.pending and is lost (or, for the one being written,
// partly kept) when the member crashes.
type disk struct {
	base          int64
	log           []zab.Entry
	snaps         []snapFile // ascending zxid
	acceptedEpoch int64
	currentEpoch  int64
}

type snapFile struct {
	zxid int64
	data []byte
}

// last is the zxid the log ends at.
func (d *disk) last() int64 {
	if len(d.log) == 0 {
		return d.base
	}
	return d.log[len(d.log)-1].Zxid
}

// Entries implements zab.Storage over the durable log.
func (d *disk) Entries(after, upto int64) ([]zab.Entry, bool) {
	i := 0
	if after != d.base {
		k, ok := slices.BinarySearchFunc(d.log, after, func(e zab.Entry, z int64) int { return cmp.Compare(e.Zxid, z) })
		if !ok {
			return nil, false
		}
		i = k + 1
	}
	var out []zab.Entry
	for ; i < len(d.log) && d.log[i].Zxid <= upto; i++ {
		out = append(out, d.log[i])
	}
	if upto > after && (len(out) == 0 || out[len(out)-1].Zxid != upto) {
		return nil, false
	}
	return out, true
}

// appendEntries logs entries; they must continue the log.
func (d *disk) appendEntries(es []zab.Entry) error {
	for _, e := range es {
		if last := d.last(); !follows(last, e.Zxid) {
			return fmt.Errorf("log append of 0x%x after 0x%x is not continuous", e.Zxid, last)
		}
		d.log = append(d.log, zab.Entry{Zxid: e.Zxid, Txn: slices.Clone(e.Txn)})
	}
	return nil
}

// follows reports whether z may follow prev in a log: the next counter in
// the same epoch, or the first of a later epoch (0 starts anything).
func follows(prev, z int64) bool {
	if z <= prev || zab.CounterOf(z) == 0 {
		return false
	}
	if prev != 0 && zab.EpochOf(z) == zab.EpochOf(prev) {
		return z == prev+1
	}
	return zab.CounterOf(z) == 1
}

// holds reports whether the disk holds zxid durably: in the log, or in a
// snapshot at or after it (the other invariants keep histories one).
func (d *disk) holds(zxid int64) bool {
	if _, ok := slices.BinarySearchFunc(d.log, zxid, func(e zab.Entry, z int64) int { return cmp.Compare(e.Zxid, z) }); ok {
		return true
	}
	return len(d.snaps) > 0 && d.snaps[len(d.snaps)-1].zxid >= zxid
}

// truncate removes every logged entry after zxid and every snapshot beyond
// it, as zabDisk.truncate does.
func (d *disk) truncate(zxid int64) {
	k := len(d.log)
	for k > 0 && d.log[k-1].Zxid > zxid {
		k--
	}
	d.log = d.log[:k]
	if d.base > zxid {
		d.base = zxid
	}
	d.removeSnapshotsAfter(zxid)
}

func (d *disk) removeSnapshotsAfter(zxid int64) {
	k := len(d.snaps)
	for k > 0 && d.snaps[k-1].zxid > zxid {
		k--
	}
	d.snaps = d.snaps[:k]
}

// addSnapshot records a snapshot (replacing one at the same zxid).
func (d *disk) addSnapshot(zxid int64, data []byte) {
	i, found := slices.BinarySearchFunc(d.snaps, zxid, func(s snapFile, z int64) int { return cmp.Compare(s.zxid, z) })
	if found {
		d.snaps[i].data = data
		return
	}
	d.snaps = slices.Insert(d.snaps, i, snapFile{zxid: zxid, data: data})
}

// install verifies a snapshot stream received from the leader, writes it,
// removes any snapshot beyond it and empties the log, which continues from
// zxid (zabDisk.install).
func (d *disk) install(zxid int64, parts [][]byte, cfg replica.Config, nowMs int64) error {
	stream := bytes.Join(parts, nil)
	scratch := replica.New(cfg, nopSink{}, nowMs)
	info, err := scratch.LoadSnapshot(bytes.NewReader(stream), nowMs)
	if err != nil {
		return fmt.Errorf("snapshot from the leader at 0x%x: %w", zxid, err)
	}
	if info.Zxid != zxid {
		return fmt.Errorf("snapshot from the leader holds 0x%x, announced 0x%x", info.Zxid, zxid)
	}
	if info.Digest != scratch.Tree().Digest() {
		return fmt.Errorf("snapshot from the leader at 0x%x: digest %d, loaded %d", zxid, info.Digest, scratch.Tree().Digest())
	}
	d.removeSnapshotsAfter(zxid)
	d.addSnapshot(zxid, stream)
	d.log, d.base = nil, zxid
	return nil
}

// load rebuilds r (fresh or just reset) from the newest snapshot at most
// upto and the log after it up to upto, as serve's recoverTo does; it
// returns the zxid of the snapshot used.
func (d *disk) load(r *replica.Replica, upto int64, nowMs int64) (int64, error) {
	k := len(d.snaps) - 1
	for k >= 0 && d.snaps[k].zxid > upto {
		k--
	}
	if k < 0 {
		return 0, fmt.Errorf("no snapshot at or below 0x%x (snapshots %v)", upto, d.snapZxids())
	}
	s := d.snaps[k]
	if _, err := r.LoadSnapshot(bytes.NewReader(s.data), nowMs); err != nil {
		return 0, fmt.Errorf("snapshot 0x%x: %w", s.zxid, err)
	}
	prev := s.zxid
	for _, e := range d.log {
		if e.Zxid <= s.zxid {
			continue
		}
		if e.Zxid > upto {
			break
		}
		if !follows(prev, e.Zxid) {
			return 0, fmt.Errorf("log does not continue snapshot 0x%x: 0x%x after 0x%x (log base 0x%x)", s.zxid, e.Zxid, prev, d.base)
		}
		h, txn, err := znode.DecodeTxn(jute.NewDecoder(e.Txn, len(e.Txn)))
		if err != nil {
			return 0, fmt.Errorf("log entry 0x%x: %w", e.Zxid, err)
		}
		if err := r.Replay(h, txn, nowMs); err != nil {
			return 0, err
		}
		prev = e.Zxid
	}
	if prev < s.zxid || (upto != maxZxid && prev != upto) {
		return 0, fmt.Errorf("state rebuilt to 0x%x, wanted 0x%x (snapshot 0x%x, log base 0x%x, last 0x%x)", prev, upto, s.zxid, d.base, d.last())
	}
	return s.zxid, nil
}

const maxZxid = int64(^uint64(0) >> 1)

// logStart is the lowest zxid the disk can rebuild the state at: the
// oldest snapshot the log continues from (serve's storage.logStart).
func (d *disk) logStart() int64 {
	if len(d.snaps) == 0 {
		return d.last()
	}
	if len(d.log) == 0 {
		return d.snaps[len(d.snaps)-1].zxid // no log after the newest snapshot: only it
	}
	first := d.log[0].Zxid
	for _, s := range d.snaps { // oldest first
		if s.zxid >= first || follows(s.zxid, first) {
			return s.zxid
		}
	}
	return d.snaps[len(d.snaps)-1].zxid
}

// purge keeps the newest retain snapshots and removes the log entries the
// oldest kept one holds (serve's autopurge, to the transaction).
func (d *disk) purge(retain int) (removed int) {
	if len(d.snaps) <= retain {
		return 0
	}
	drop := len(d.snaps) - retain
	d.snaps = slices.Delete(d.snaps, 0, drop)
	oldest := d.snaps[0].zxid
	k := 0
	for k < len(d.log) && d.log[k].Zxid <= oldest {
		k++
	}
	if k > 0 {
		d.log = slices.Delete(d.log, 0, k)
		d.base = max(d.base, oldest)
	}
	return drop
}

func (d *disk) snapZxids() []string {
	var out []string
	for _, s := range d.snaps {
		out = append(out, fmt.Sprintf("0x%x", s.zxid))
	}
	return out
}
