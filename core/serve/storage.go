package serve

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/snapfile"
	"github.com/warrenhq/warren/core/txnlog"
	"github.com/warrenhq/warren/core/znode"
	"github.com/warrenhq/warren/internal/vfs"
)

// Layout under dataDir / dataLogDir. Warren's formats are its own, so it
// does not reuse ZooKeeper's version-2 directory.
const (
	txnlogDirName  = "txnlog"
	secretFileName = "session.secret"
	secretLen      = 32
)

// storage is the durable state of a standalone server: the snapshots under
// dataDir/snapshot, the write-ahead log under dataLogDir/txnlog that every
// transaction goes through before it is applied and acknowledged, and the
// key session passwords derive from (so sessions survive a restart).
type storage struct {
	fs       vfs.FS
	log      *txnlog.Log
	snapDir  string
	secret   []byte
	readOnly bool
	zl       *zap.Logger

	// The snapshot recovery started from (nil: none).
	snap     *snapfile.Info
	snapMeta snapfile.Meta
}

// storageOptions tune openStorage.
type storageOptions struct {
	// readOnly opens for inspection: nothing is created, truncated or
	// written (a torn log tail is reported, not cut).
	readOnly bool
}

// openStorage opens the storage under c's directories; files are reached
// through fsys (vfs.OS in a real run, a fault-injecting FS in tests).
func openStorage(c *config.Config, fsys vfs.FS, zl *zap.Logger, opts ...storageOptions) (*storage, error) {
	var o storageOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	st := &storage{fs: fsys, zl: zl, readOnly: o.readOnly, snapDir: filepath.Join(c.DataDir, snapDirName)}
	dir := filepath.Join(c.DataLogDir, txnlogDirName)
	if !o.readOnly {
		for _, d := range []string{c.DataDir, c.DataLogDir, dir} {
			if err := vfs.EnsureDir(fsys, d); err != nil {
				return nil, fmt.Errorf("data directory: %w", err)
			}
		}
		secret, err := loadSecret(fsys, filepath.Join(c.DataDir, secretFileName))
		if err != nil {
			return nil, err
		}
		st.secret = secret
	}
	var segmentSize int64 // the log's default
	if c.TxnLogSizeLimitKB > 0 {
		segmentSize = int64(c.TxnLogSizeLimitKB) * 1024
	}
	l, err := txnlog.Open(fsys, dir, txnlog.Options{
		SegmentSize:  segmentSize,
		NoForceSync:  !c.ForceSync,
		PreallocSize: c.PreAllocSize * 1024,
		Logger:       zl,
		ReadOnly:     o.readOnly,
	})
	if err != nil {
		return nil, fmt.Errorf("transaction log %s: %w", dir, err)
	}
	st.log = l
	rep := l.Recovery()
	if t := rep.Truncated; t != nil {
		zl.Warn("cut a torn tail off the transaction log (a write interrupted by a crash, never acknowledged)",
			zap.Any("tornTail", t))
	}
	zl.Info("transaction log opened", zap.String("dir", dir), zap.Int("records", rep.Records),
		zap.Int("segments", rep.Segments), zap.String("lastZxid", fmt.Sprintf("0x%x", rep.LastZxid)),
		zap.Bool("forceSync", c.ForceSync))
	return st, nil
}

// recoveryReport says what recovery did.
type recoveryReport struct {
	Snapshot     string // the snapshot loaded ("" for none)
	SnapshotZxid int64
	Damaged      []string // newer snapshots that failed verification and were passed over
	Replayed     int      // log records replayed after the snapshot
}

// recover rebuilds a fresh replica from the newest valid snapshot and the
// log after it. A damaged snapshot is reported and passed over for an
// older one (the log still holds what it held, as purging keeps the log
// back to the oldest retained snapshot); damage in the log, a log that does
// not continue the snapshot, or an I/O error stops recovery with an error
// naming the file.
func (st *storage) recover(r *replica.Replica, nowMs int64) (recoveryReport, error) {
	return st.recoverTo(r, nowMs, math.MaxInt64)
}

// recoverTo is recover up to zxid upto and no further: the newest valid
// snapshot at or below it, then the log up to it (what an ensemble member
// reloads after a TRUNC or an installed snapshot, when its log may already
// hold later, not yet committed, transactions). Only the start-up form
// (upto = MaxInt64) may reset a log that ends before the snapshot.
func (st *storage) recoverTo(r *replica.Replica, nowMs, upto int64) (recoveryReport, error) {
	var rep recoveryReport
	infos, err := snapfile.List(st.fs, st.snapDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return rep, fmt.Errorf("snapshots: %w", err)
	}
	for i := range infos {
		in := infos[i]
		if in.Zxid > upto {
			continue
		}
		meta, lerr := st.loadSnapshot(r, in.Path, nowMs)
		if lerr == nil {
			st.snap, st.snapMeta = &in, meta
			rep.Snapshot, rep.SnapshotZxid = in.Path, in.Zxid
			break
		}
		var sc *snapfile.CorruptionError
		var ze *znode.SnapshotError
		if !errors.As(lerr, &sc) && !errors.As(lerr, &ze) {
			return rep, fmt.Errorf("snapshot %s: %w", in.Path, lerr)
		}
		st.zl.Error("snapshot is damaged; passing over it for an older snapshot and more of the log",
			zap.String("file", in.Path), zap.Error(lerr))
		rep.Damaged = append(rep.Damaged, in.Path)
	}

	if len(infos) == 0 && st.log.LastZxid() == 0 && !st.readOnly && upto == math.MaxInt64 {
		// A fresh data directory: start it with a snapshot of the empty
		// state at zxid 0, so that a log without a base snapshot always
		// means lost snapshots (ZOOKEEPER-2325), whatever epoch it starts in.
		info, err := st.writeSnapshot(r)
		if err != nil {
			return rep, fmt.Errorf("initial snapshot: %w", err)
		}
		st.snap = &info
		rep.Snapshot, rep.SnapshotZxid = info.Path, info.Zxid
	}

	from := rep.SnapshotZxid
	var it *txnlog.Iterator
	switch last := st.log.LastZxid(); {
	case rep.Snapshot == "":
		if first := st.log.FirstZxid(); first > 1 && len(rep.Damaged) == 0 {
			return rep, fmt.Errorf("transaction log starts at zxid 0x%x but there is no snapshot to start from "+
				"(were the snapshots in %s removed?): restore the data directory from a backup", first, st.snapDir)
		} else if first > 1 {
			return rep, fmt.Errorf("every snapshot in %s is damaged (%s) and the transaction log starts at zxid 0x%x, "+
				"so the state cannot be rebuilt: restore the data directory from a backup", st.snapDir, strings.Join(rep.Damaged, ", "), first)
		}
		it, err = st.log.ReadAll()
	case last == 0 || last <= from:
		// A snapshot and no log after it: a restore into an empty
		// directory, or a log that lost unsynced records (forceSync=no)
		// the snapshot already holds. The log continues from the snapshot.
		if last != 0 && last < from {
			st.zl.Warn("the transaction log ends before the snapshot; continuing from the snapshot",
				zap.String("logLastZxid", fmt.Sprintf("0x%x", last)), zap.String("snapshotZxid", fmt.Sprintf("0x%x", from)))
		}
		if !st.readOnly && last != from && upto == math.MaxInt64 {
			if err := st.log.Reset(from); err != nil {
				return rep, fmt.Errorf("transaction log: %w", err)
			}
		}
		return rep, nil
	default:
		it, err = st.log.ReadAfter(from)
		if errors.Is(err, txnlog.ErrPurged) || errors.Is(err, txnlog.ErrNotFound) {
			return rep, fmt.Errorf("transaction log does not continue snapshot %s (zxid 0x%x; log holds 0x%x..0x%x): "+
				"restore the data directory from a backup: %w", rep.Snapshot, from, st.log.FirstZxid(), last, err)
		}
	}
	if err != nil {
		return rep, fmt.Errorf("transaction log: %w", err)
	}
	defer it.Close()
	for it.Next() {
		if it.Record().Zxid > upto {
			break
		}
		h, txn, err := it.Record().Txn()
		if err != nil {
			return rep, fmt.Errorf("transaction log: record 0x%x: %w", it.Record().Zxid, err)
		}
		if err := r.Replay(h, txn, nowMs); err != nil {
			return rep, err
		}
		rep.Replayed++
	}
	if err := it.Err(); err != nil {
		return rep, fmt.Errorf("transaction log: %w", err)
	}
	return rep, nil
}

// writeSnapshot writes a snapshot of r's state at once (on the calling
// goroutine: for small states, like the initial empty one).
func (st *storage) writeSnapshot(r *replica.Replica) (snapfile.Info, error) {
	snap, err := r.BeginSnapshot()
	if err != nil {
		return snapfile.Info{}, err
	}
	var stream []byte
	for done := false; !done; {
		stream, done = snap.Next(stream, 1<<16)
	}
	meta := snapfile.Meta{Zxid: snap.Zxid(), Digest: snap.Digest(), Nodes: int64(snap.NodeCount()),
		Sessions: int64(snap.SessionCount()), Created: time.Now().UnixMilli()}
	st.snapMeta = meta
	return st.writeStream(meta, stream)
}

// writeStream writes a whole snapshot stream as a snapshot file.
func (st *storage) writeStream(meta snapfile.Meta, stream []byte) (snapfile.Info, error) {
	w, err := snapfile.Create(st.fs, st.snapDir, meta)
	if err != nil {
		return snapfile.Info{}, err
	}
	if _, err := w.Write(stream); err != nil {
		return snapfile.Info{}, err
	}
	return w.Commit()
}

// loadSnapshot loads one snapshot file into a fresh replica.
func (st *storage) loadSnapshot(r *replica.Replica, path string, nowMs int64) (snapfile.Meta, error) {
	f, err := snapfile.Open(st.fs, path)
	if err != nil {
		return snapfile.Meta{}, err
	}
	defer f.Close()
	meta := f.Meta()
	info, err := r.LoadSnapshot(bufio.NewReaderSize(f, 1<<20), nowMs)
	if err != nil {
		return meta, err
	}
	// The stream ends inside the last block; reading on verifies the
	// trailer, so a file cut after the stream's end is caught too.
	if n, err := f.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		if err == nil {
			err = &snapfile.CorruptionError{File: path, Reason: "data after the end of the snapshot stream"}
		}
		return meta, err
	}
	if info.Zxid != meta.Zxid || info.Digest != meta.Digest || int64(info.Nodes) != meta.Nodes {
		return meta, &snapfile.CorruptionError{File: path, Reason: fmt.Sprintf(
			"header says zxid 0x%x, %d nodes, digest 0x%x; the content holds zxid 0x%x, %d nodes, digest 0x%x",
			meta.Zxid, meta.Nodes, meta.Digest, info.Zxid, info.Nodes, info.Digest)}
	}
	return meta, nil
}

// Persist appends a group-commit batch and makes it durable with one fsync.
func (st *storage) Persist(props []replica.Proposal) error {
	recs := make([]txnlog.Record, len(props))
	for i := range props {
		recs[i] = txnlog.NewRecord(&props[i].Header, props[i].Txn)
	}
	if err := st.log.Append(recs); err != nil {
		return err
	}
	return st.log.Sync()
}

func (st *storage) close() error { return st.log.Close() }

// loadSecret reads the session-password key, creating it on first start
// (written to a temporary file, fsynced, renamed, directory fsynced).
func loadSecret(fsys vfs.FS, path string) ([]byte, error) {
	b, err := readFile(fsys, path)
	if err == nil {
		if len(b) != secretLen {
			return nil, fmt.Errorf("%s: %d bytes, want %d: restore it from a backup, or remove it (sessions then expire)", path, len(b), secretLen)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	b = make([]byte, secretLen)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	if err := vfs.WriteFileAtomic(fsys, path, b, 0o600); err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	return b, nil
}

// readFile reads a whole (small) file through fsys.
func readFile(fsys vfs.FS, path string) ([]byte, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}
