package serve

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/snapfile"
	"github.com/warrenhq/warren/core/txnlog"
	"github.com/warrenhq/warren/core/zab"
	"github.com/warrenhq/warren/core/znode"
	"github.com/warrenhq/warren/internal/vfs"
)

func openZabDisk(t *testing.T, dir string) *zabDisk {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.DataLogDir = dir, dir
	st, err := openStorage(cfg, vfs.OS, zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { st.close() })
	// Start-up recovery, which gives a fresh directory its base snapshot.
	_, err = st.recover(replica.New(replica.Config{}, discardSink{}, 0), 0)
	require.NoError(t, err)
	return &zabDisk{st: st, epochs: NewEpochStore(vfs.OS, dir), zl: zap.NewNop()}
}

// createEntry is a logged create of /n<counter> in the zxid's epoch.
func createEntry(zxid int64) zab.Entry {
	h := znode.Header{Zxid: zxid, Time: 1000, Type: proto.OpCreate}
	rec := txnlog.NewRecord(&h, &znode.CreateTxn{Path: fmt.Sprintf("/n%d_%d", zab.EpochOf(zxid), zab.CounterOf(zxid)), Data: []byte("d"), ParentCversion: -1})
	return zab.Entry{Zxid: zxid, Txn: rec.Payload}
}

func entries(epoch int64, from, to int64) []zab.Entry {
	var out []zab.Entry
	for c := from; c <= to; c++ {
		out = append(out, createEntry(zab.MakeZxid(epoch, c)))
	}
	return out
}

func TestZabDiskAppendTruncateAndEpochs(t *testing.T) {
	dir := t.TempDir()
	d := openZabDisk(t, dir)
	require.NoError(t, d.Do(zab.PersistRequest{Kind: zab.PersistAppend, Entries: entries(1, 1, 10)}))
	assert.Equal(t, zab.MakeZxid(1, 10), d.st.log.LastSynced())

	// TRUNC to a zxid we hold.
	require.NoError(t, d.Do(zab.PersistRequest{Kind: zab.PersistTruncate, Zxid: zab.MakeZxid(1, 5)}))
	assert.Equal(t, zab.MakeZxid(1, 5), d.st.log.LastZxid())

	// TRUNC to a zxid we never had (our log diverged before it): cut after
	// the last one we hold below it.
	require.NoError(t, d.Do(zab.PersistRequest{Kind: zab.PersistAppend, Entries: entries(2, 1, 3)}))
	require.NoError(t, d.Do(zab.PersistRequest{Kind: zab.PersistTruncate, Zxid: zab.MakeZxid(1, 7)}))
	assert.Equal(t, zab.MakeZxid(1, 5), d.st.log.LastZxid())

	require.NoError(t, d.Do(zab.PersistRequest{Kind: zab.PersistAcceptedEpoch, Epoch: 3}))
	require.NoError(t, d.Do(zab.PersistRequest{Kind: zab.PersistCurrentEpoch, Epoch: 2}))
	e, err := d.epochs.Load()
	require.NoError(t, err)
	assert.Equal(t, Epochs{Accepted: 3, Current: 2}, e)

	// Reload up to a point replays no further.
	r := replica.New(replica.Config{}, discardSink{}, 0)
	require.NoError(t, d.reload(r, zab.MakeZxid(1, 3)))
	assert.Equal(t, zab.MakeZxid(1, 3), r.LastApplied())
	_, ok := r.Tree().Meta("/n1_4")
	assert.False(t, ok)
}

// TestZabDiskInstallsLeaderSnapshot: a snapshot stream from the leader is
// verified, written as a snapshot file, newer snapshots and the log go, and
// the log continues from it; a damaged stream installs nothing.
func TestZabDiskInstallsLeaderSnapshot(t *testing.T) {
	// The leader's state and its snapshot stream, in two parts.
	leader := replica.New(replica.Config{}, discardSink{}, 0)
	for _, e := range entries(1, 1, 20) {
		h, txn, err := txnlog.Record{Zxid: e.Zxid, Payload: e.Txn}.Txn()
		require.NoError(t, err)
		require.NoError(t, leader.Replay(h, txn, 0))
	}
	snap, err := leader.BeginSnapshot()
	require.NoError(t, err)
	var stream []byte
	for done := false; !done; {
		stream, done = snap.Next(stream, 3)
	}
	at := snap.Zxid()
	parts := [][]byte{stream[:len(stream)/2], stream[len(stream)/2:]}

	dir := t.TempDir()
	d := openZabDisk(t, dir)
	// A follower with a diverged log and a snapshot beyond the leader's.
	require.NoError(t, d.Do(zab.PersistRequest{Kind: zab.PersistAppend, Entries: entries(1, 1, 25)}))
	w, err := snapfile.Create(vfs.OS, filepath.Join(dir, snapDirName), snapfile.Meta{Zxid: zab.MakeZxid(1, 25)})
	require.NoError(t, err)
	_, err = w.Commit()
	require.NoError(t, err)

	bad := [][]byte{append([]byte(nil), stream...)}
	bad[0][len(bad[0])/2] ^= 0x40
	require.Error(t, d.Do(zab.PersistRequest{Kind: zab.PersistSnapshot, Zxid: at, Data: bad}))

	require.NoError(t, d.Do(zab.PersistRequest{Kind: zab.PersistSnapshot, Zxid: at, Data: parts}))
	infos, err := snapfile.List(vfs.OS, filepath.Join(dir, snapDirName))
	require.NoError(t, err)
	require.Len(t, infos, 2, "the snapshot beyond the leader's history is gone")
	assert.Equal(t, at, infos[0].Zxid)
	assert.Equal(t, int64(0), infos[1].Zxid, "the base snapshot of the fresh directory stays")
	assert.Equal(t, at, d.st.log.LastZxid(), "the log continues from the snapshot")

	require.NoError(t, d.Do(zab.PersistRequest{Kind: zab.PersistAppend, Entries: entries(2, 1, 2)}))
	r := replica.New(replica.Config{}, discardSink{}, 0)
	require.NoError(t, d.reload(r, at))
	assert.Equal(t, leader.Tree().Digest(), r.Tree().Digest())
	r2 := replica.New(replica.Config{}, discardSink{}, 0)
	require.NoError(t, d.reload(r2, zab.MakeZxid(2, 2)))
	assert.Equal(t, zab.MakeZxid(2, 2), r2.LastApplied())
}
