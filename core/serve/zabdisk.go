package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/snapfile"
	"github.com/warrenhq/warren/core/txnlog"
	"github.com/warrenhq/warren/core/zab"
	"github.com/warrenhq/warren/internal/vfs"
)

// zabDisk carries out an ensemble member's ZAB persistence requests
// (zab.Ready.Persist) on its storage, one at a time and in order: log
// appends (one fsync per request: the group commit), truncations, installs
// of a snapshot received from the leader, and the epoch files. The member's
// driver calls Do from its persistence goroutine and reports completion to
// the node with Persisted(req.ID); an error is final, as for a standalone
// server's log (the process stops rather than acknowledge what may be lost).
type zabDisk struct {
	st     *storage
	epochs *EpochStore
	// replicaConfig builds the replica used to verify a received snapshot.
	replicaConfig replica.Config
	zl            *zap.Logger
	secretPath    string // the session-password key's file
}

// Do performs one persistence request durably.
func (d *zabDisk) Do(req zab.PersistRequest) error {
	switch req.Kind {
	case zab.PersistAppend:
		if err := d.appendEntries(req.Entries); err != nil {
			return err
		}
		return d.st.log.Sync()
	case zab.PersistTruncate:
		return d.truncate(req.Zxid)
	case zab.PersistSnapshot:
		return d.install(req.Zxid, req.Data)
	case zab.PersistAcceptedEpoch:
		return d.epochs.SetAccepted(req.Epoch)
	case zab.PersistCurrentEpoch:
		return d.epochs.SetCurrent(req.Epoch)
	case zab.PersistSecret:
		if len(req.Data) != 1 || len(req.Data[0]) == 0 {
			return fmt.Errorf("zab persistence: a secret request without a secret")
		}
		return vfs.WriteFileAtomic(d.st.fs, d.secretPath, req.Data[0], 0o600)
	}
	return fmt.Errorf("zab persistence: unknown request kind %v", req.Kind)
}

// appendEntries writes entries to the log without making them durable
// (the caller syncs, once for a run of appends).
func (d *zabDisk) appendEntries(es []zab.Entry) error {
	recs := make([]txnlog.Record, len(es))
	for i, e := range es {
		recs[i] = txnlog.Record{Zxid: e.Zxid, Payload: e.Txn}
	}
	return d.st.log.Append(recs)
}

// truncate removes every logged transaction after zxid, and every snapshot
// beyond it (a snapshot holding transactions the leader never committed
// would otherwise bring them back at the next start: ZOOKEEPER-1549).
func (d *zabDisk) truncate(zxid int64) error {
	err := d.st.log.TruncateAfter(zxid)
	if errors.Is(err, txnlog.ErrNotFound) {
		// zxid is not one of ours (our log diverged before it): cut after
		// the last transaction we hold below it.
		var floor int64
		floor, err = d.floor(zxid)
		if err == nil {
			err = d.st.log.TruncateAfter(floor)
		}
	}
	if err != nil {
		return fmt.Errorf("truncate the log after 0x%x: %w", zxid, err)
	}
	return d.removeSnapshotsAfter(zxid)
}

// floor is the largest logged zxid at most z (0 if none).
func (d *zabDisk) floor(z int64) (int64, error) {
	it, err := d.st.log.ReadAll()
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var f int64
	for it.Next() && it.Record().Zxid <= z {
		f = it.Record().Zxid
	}
	return f, it.Err()
}

// removeSnapshotsAfter deletes the snapshots of state beyond zxid.
func (d *zabDisk) removeSnapshotsAfter(zxid int64) error {
	infos, err := snapfile.List(d.st.fs, d.st.snapDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	removed := false
	for _, in := range infos {
		if in.Zxid > zxid {
			if err := d.st.fs.Remove(in.Path); err != nil {
				return fmt.Errorf("remove snapshot %s beyond 0x%x: %w", in.Path, zxid, err)
			}
			d.zl.Info("removed a snapshot beyond the leader's history", zap.String("file", in.Path))
			removed = true
		}
	}
	if removed {
		return d.st.fs.SyncDir(d.st.snapDir)
	}
	return nil
}

// install verifies a snapshot stream received from the leader (it must
// load, with its digest, and hold zxid), writes it as a snapshot file,
// removes any snapshot beyond it and empties the log, which then continues
// from zxid.
func (d *zabDisk) install(zxid int64, parts [][]byte) error {
	stream := bytes.Join(parts, nil)
	r := replica.New(d.replicaConfig, discardSink{}, time.Now().UnixMilli())
	info, err := r.LoadSnapshot(bytesReader(stream), time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("snapshot from the leader at 0x%x: %w", zxid, err)
	}
	if info.Zxid != zxid {
		return fmt.Errorf("snapshot from the leader holds 0x%x, announced 0x%x", info.Zxid, zxid)
	}
	if _, err := d.st.writeStream(snapfile.Meta{Zxid: info.Zxid, Digest: info.Digest,
		Nodes: int64(info.Nodes), Sessions: int64(info.Sessions), Created: time.Now().UnixMilli()}, stream); err != nil {
		return err
	}
	if err := d.removeSnapshotsAfter(zxid); err != nil {
		return err
	}
	return d.st.log.Reset(zxid)
}

// reload rebuilds a replica from disk up to zxid (zab.Ready.Reload).
func (d *zabDisk) reload(r *replica.Replica, zxid int64) error {
	_, err := d.st.recoverTo(r, time.Now().UnixMilli(), zxid)
	return err
}

// bytesReader adapts a byte slice to what the snapshot loaders read from.
func bytesReader(b []byte) interface {
	io.Reader
	io.ByteReader
} {
	return bytes.NewReader(b)
}
