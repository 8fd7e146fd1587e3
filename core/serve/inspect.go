package serve

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/snapfile"
	"github.com/warrenhq/warren/internal/vfs"
)

// State summarises durable state: a data directory's after recovery, or
// one snapshot file's.
type State struct {
	Zxid         int64    `json:"zxid"`
	Digest       uint64   `json:"digest"`
	Nodes        int      `json:"nodes"`
	Sessions     int      `json:"sessions"`
	Snapshot     string   `json:"snapshot,omitempty"` // the snapshot recovery started from
	SnapshotZxid int64    `json:"snapshotZxid"`
	Snapshots    int      `json:"snapshots"` // snapshot files in the directory
	LogFirstZxid int64    `json:"logFirstZxid"`
	LogLastZxid  int64    `json:"logLastZxid"`
	LogReplayed  int      `json:"logReplayed"` // log records replayed after the snapshot
	Damaged      []string `json:"damaged,omitempty"`
}

// InspectDataDir rebuilds the state held by c's data directories exactly
// as the server does at start (newest valid snapshot plus the log), without
// writing anything, and summarises it. It fails as start-up would on
// damage, with the file and offset.
func InspectDataDir(c *config.Config, zl *zap.Logger) (State, error) {
	if zl == nil {
		zl = zap.NewNop()
	}
	st, err := openStorage(c, vfs.OS, zl, storageOptions{readOnly: true})
	if err != nil {
		return State{}, err
	}
	defer st.close()
	r := replica.New(replica.Config{TickMs: int64(c.TickTime)}, discardSink{}, time.Now().UnixMilli())
	rep, err := st.recover(r, time.Now().UnixMilli())
	if err != nil {
		return State{}, err
	}
	infos, _ := snapfile.List(vfs.OS, st.snapDir)
	return State{
		Zxid: r.LastApplied(), Digest: r.Tree().Digest(), Nodes: r.Tree().NodeCount(), Sessions: r.Sessions().Len(),
		Snapshot: rep.Snapshot, SnapshotZxid: rep.SnapshotZxid, Snapshots: len(infos),
		LogFirstZxid: st.log.FirstZxid(), LogLastZxid: st.log.LastZxid(), LogReplayed: rep.Replayed, Damaged: rep.Damaged,
	}, nil
}

// InspectSnapshot verifies one snapshot file completely (every block, the
// trailer, the structure of the image and its digest) and summarises it.
func InspectSnapshot(path string) (State, error) {
	st := &storage{fs: vfs.OS, zl: zap.NewNop()}
	r := replica.New(replica.Config{}, discardSink{}, time.Now().UnixMilli())
	meta, err := st.loadSnapshot(r, path, time.Now().UnixMilli())
	if err != nil {
		return State{}, err
	}
	return State{Zxid: meta.Zxid, Digest: r.Tree().Digest(), Nodes: r.Tree().NodeCount(), Sessions: r.Sessions().Len(),
		Snapshot: path, SnapshotZxid: meta.Zxid, Snapshots: 1}, nil
}

// ErrNotEmpty is returned by RestoreSnapshot when the data directories
// already hold state.
var ErrNotEmpty = errors.New("the data directory already holds snapshots or transactions")

// RestoreSnapshot installs the snapshot read from src (a file written by
// the admin `snapshot` command or copied from a snapshot directory) as the
// state of c's data directories, which must hold no snapshot and no
// transaction yet. The snapshot is verified completely before it is
// installed (temp file, fsync, rename), so a bad copy never becomes the
// state; the server started on the directory continues from it.
func RestoreSnapshot(c *config.Config, src io.Reader, zl *zap.Logger) (State, error) {
	if zl == nil {
		zl = zap.NewNop()
	}
	snapDir := filepath.Join(c.DataDir, snapDirName)
	if infos, err := snapfile.List(vfs.OS, snapDir); err == nil && len(infos) > 0 {
		return State{}, fmt.Errorf("%s holds %d snapshots: %w", snapDir, len(infos), ErrNotEmpty)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return State{}, err
	}
	st, err := openStorage(c, vfs.OS, zl)
	if err != nil {
		return State{}, err
	}
	defer st.close()
	if last := st.log.LastZxid(); last != 0 {
		return State{}, fmt.Errorf("the transaction log in %s reaches zxid 0x%x: %w", c.DataLogDir, last, ErrNotEmpty)
	}
	// Copy to a temporary file beside the snapshots, verify, then install.
	if err := vfs.OS.MkdirAll(snapDir, 0o755); err != nil {
		return State{}, err
	}
	tmp := filepath.Join(snapDir, "restore.tmp")
	f, err := vfs.OS.Create(tmp)
	if err != nil {
		return State{}, err
	}
	defer vfs.OS.Remove(tmp)
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return State{}, fmt.Errorf("copying the snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return State{}, err
	}
	if err := f.Close(); err != nil {
		return State{}, err
	}
	state, err := InspectSnapshot(tmp)
	if err != nil {
		return State{}, fmt.Errorf("the snapshot does not verify, nothing was restored: %w", err)
	}
	final := filepath.Join(snapDir, snapfile.FileName(state.Zxid))
	if err := vfs.OS.Rename(tmp, final); err != nil {
		return State{}, err
	}
	if err := vfs.OS.SyncDir(snapDir); err != nil {
		return State{}, err
	}
	// The log continues after the snapshot.
	if err := st.log.Reset(state.Zxid); err != nil {
		return State{}, err
	}
	state.Snapshot = final
	return state, nil
}

// discardSink drops the output of a replica that serves no one.
type discardSink struct{}

func (discardSink) Connected(replica.ConnID, *proto.ConnectResponse)     {}
func (discardSink) Send(replica.ConnID, proto.ReplyHeader, proto.Record) {}
func (discardSink) Close(replica.ConnID)                                 {}
