package serve

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/snapfile"
	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/internal/vfs"
)

func snapshotsIn(t *testing.T, dir string) []snapfile.Info {
	t.Helper()
	infos, err := snapfile.List(vfs.OS, filepath.Join(dir, snapDirName))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return infos
}

// openForRecovery opens dir's storage and recovers a replica from it, as
// Listen does, and returns the server (not listening) and the report.
func openForRecovery(t *testing.T, inDir func(*config.Config)) (*Server, recoveryReport, error) {
	t.Helper()
	cfg := config.Default()
	inDir(cfg)
	srv, err := New(cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	st, err := openStorage(cfg, vfs.OS, zap.NewNop())
	if err != nil {
		return srv, recoveryReport{}, err
	}
	t.Cleanup(func() { st.close() })
	rc, err := srv.replicaConfig(st.secret)
	require.NoError(t, err)
	srv.rep = replica.New(rc, (*sink)(srv), time.Now().UnixMilli())
	rep, err := st.recover(srv.rep, time.Now().UnixMilli())
	return srv, rep, err
}

func TestBackgroundSnapshotsAndRecovery(t *testing.T) {
	dir := t.TempDir()
	inDir := func(c *config.Config) { c.DataDir, c.DataLogDir = dir, dir; c.SnapCount = 40 }
	ts := startServer(t, inDir)
	c, _ := dial(t, ts.addr, 5*time.Second)
	acl := zk.WorldACL(zk.PermAll)
	for i := 0; i < 300; i++ {
		_, err := c.Create(fmt.Sprintf("/n%03d", i), []byte(strconv.Itoa(i)), 0, acl)
		require.NoError(t, err)
		if i%3 == 0 {
			_, err = c.Set(fmt.Sprintf("/n%03d", i), []byte("set"), 0)
			require.NoError(t, err)
		}
	}
	require.Eventually(t, func() bool { return len(snapshotsIn(t, dir)) >= 3 }, 10*time.Second, 20*time.Millisecond,
		"snapCount=40 over 400 transactions takes several snapshots")
	mntr, err := testutil.FourLetter(ts.addr, "mntr")
	require.NoError(t, err)
	assert.Regexp(t, `warren_snapshots_taken\t[1-9][0-9]*\n`, mntr)
	assert.Contains(t, mntr, "warren_snapshots_failed\t0\n")
	_, st, err := c.Get("/n299")
	require.NoError(t, err)
	last := st.Mzxid
	c.Close()
	ts.stop(t)

	srv, rep, err := openForRecovery(t, inDir)
	require.NoError(t, err)
	assert.NotEmpty(t, rep.Snapshot, "recovery starts from a snapshot")
	assert.Less(t, rep.Replayed, 300, "and replays only the log after it")
	assert.GreaterOrEqual(t, srv.rep.LastApplied(), last)

	ts2 := startServer(t, inDir)
	c2, _ := dial(t, ts2.addr, 5*time.Second)
	for i := 0; i < 300; i++ {
		data, _, err := c2.Get(fmt.Sprintf("/n%03d", i))
		require.NoError(t, err)
		want := strconv.Itoa(i)
		if i%3 == 0 {
			want = "set"
		}
		require.Equal(t, want, string(data))
	}
}

func TestDamagedSnapshotFallsBackToOlder(t *testing.T) {
	dir := t.TempDir()
	inDir := func(c *config.Config) { c.DataDir, c.DataLogDir = dir, dir; c.SnapCount = 30 }
	ts := startServer(t, inDir)
	c, _ := dial(t, ts.addr, 5*time.Second)
	for i := 0; i < 200; i++ {
		_, err := c.Create(fmt.Sprintf("/n%03d", i), []byte("x"), 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(snapshotsIn(t, dir)) >= 2 }, 10*time.Second, 20*time.Millisecond)
	c.Close()
	ts.stop(t)
	_, want, err := openForRecovery(t, inDir)
	require.NoError(t, err)
	wantDigest := digestOf(t, inDir)

	snaps := snapshotsIn(t, dir)
	require.NoError(t, vfs.FlipBit(vfs.OS, snaps[0].Path, snaps[0].Size/2, 5))
	_, rep, err := openForRecovery(t, inDir)
	require.NoError(t, err)
	assert.Equal(t, []string{snaps[0].Path}, rep.Damaged, "the damage is reported")
	assert.Equal(t, snaps[1].Path, rep.Snapshot, "and the older snapshot plus more log used")
	assert.Greater(t, rep.Replayed, want.Replayed)
	assert.Equal(t, wantDigest, digestOf(t, inDir), "the same state")
}

func digestOf(t *testing.T, inDir func(*config.Config)) uint64 {
	t.Helper()
	srv, _, err := openForRecovery(t, inDir)
	require.NoError(t, err)
	return srv.rep.Tree().Digest()
}

func TestMissingSnapshotsWithPurgedLogRefuse(t *testing.T) {
	dir := t.TempDir()
	inDir := func(c *config.Config) { c.DataDir, c.DataLogDir = dir, dir; c.SnapCount = 20; c.PreAllocSize = 4 }
	ts := startServer(t, inDir)
	c, _ := dial(t, ts.addr, 5*time.Second)
	for i := 0; i < 150; i++ {
		_, err := c.Create(fmt.Sprintf("/n%03d", i), []byte("x"), 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(snapshotsIn(t, dir)) >= 4 }, 10*time.Second, 20*time.Millisecond)
	c.Close()
	ts.stop(t)

	// Purge keeping three snapshots drops the log they do not need.
	cfg := config.Default()
	inDir(cfg)
	st, err := openStorage(cfg, vfs.OS, zap.NewNop())
	require.NoError(t, err)
	before := st.log.FirstZxid()
	require.NoError(t, st.purge(3))
	assert.Len(t, snapshotsIn(t, dir), 3)
	assert.Greater(t, st.log.FirstZxid(), before, "log segments older than the oldest kept snapshot go")
	require.NoError(t, st.close())
	digest := digestOf(t, inDir)

	// With every snapshot gone the log alone cannot rebuild the state.
	require.NoError(t, os.RemoveAll(filepath.Join(dir, snapDirName)))
	_, _, err = openForRecovery(t, inDir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no snapshot")
	_ = digest
}

func TestAdminSnapshotStreamsAConsistentSnapshot(t *testing.T) {
	dir := t.TempDir()
	inDir := func(c *config.Config) { c.DataDir, c.DataLogDir = dir, dir; c.Admin.RateLimiterIntervalMs = 0 }
	ts := startServer(t, inDir)
	c, _ := dial(t, ts.addr, 5*time.Second)
	for i := 0; i < 50; i++ {
		_, err := c.Create(fmt.Sprintf("/n%02d", i), []byte("x"), 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
	}
	_, st, err := c.Exists("/n49")
	require.NoError(t, err)

	get := func() (*http.Response, []byte) {
		resp, err := http.Get("http://" + ts.admin + "/commands/snapshot")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, b
	}
	resp, body := get()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	zx, err := strconv.ParseInt(resp.Header.Get("X-Warren-Snapshot-Zxid"), 0, 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, zx, st.Czxid, "the snapshot holds every acknowledged write")

	// The body is a complete snapshot file.
	out := filepath.Join(t.TempDir(), snapfile.FileName(zx))
	require.NoError(t, os.WriteFile(out, body, 0o644))
	meta, err := snapfile.Verify(vfs.OS, out)
	require.NoError(t, err)
	assert.Equal(t, zx, meta.Zxid)
	assert.Equal(t, int64(54), meta.Nodes, "50 nodes plus /, /zookeeper, its quota and config nodes")

	// Nothing changed: the same snapshot again, no new file.
	n := len(snapshotsIn(t, dir))
	resp2, _ := get()
	assert.Equal(t, resp.Header.Get("X-Warren-Snapshot-Zxid"), resp2.Header.Get("X-Warren-Snapshot-Zxid"))
	assert.Len(t, snapshotsIn(t, dir), n)
}

func TestInspectAndRestore(t *testing.T) {
	dir := t.TempDir()
	inDir := func(c *config.Config) {
		c.DataDir, c.DataLogDir = dir, dir
		c.SnapCount = 25
		c.Admin.RateLimiterIntervalMs = 0
	}
	ts := startServer(t, inDir)
	c, _ := dial(t, ts.addr, 5*time.Second)
	for i := 0; i < 60; i++ {
		_, err := c.Create(fmt.Sprintf("/n%02d", i), []byte("x"), 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
	}
	resp, err := http.Get("http://" + ts.admin + "/commands/snapshot")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	c.Close()
	ts.stop(t)

	cfg := config.Default()
	inDir(cfg)
	live, err := InspectDataDir(cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, 64, live.Nodes)
	assert.NotEmpty(t, live.Snapshot)

	// Restore the streamed snapshot into an empty directory.
	dir2 := t.TempDir()
	cfg2 := config.Default()
	cfg2.DataDir, cfg2.DataLogDir = dir2, dir2
	got, err := RestoreSnapshot(cfg2, bytes.NewReader(body), nil)
	require.NoError(t, err)
	assert.Equal(t, live.Digest, got.Digest, "the backup holds the live state")
	one, err := InspectSnapshot(got.Snapshot)
	require.NoError(t, err)
	assert.Equal(t, got.Digest, one.Digest)
	_, err = RestoreSnapshot(cfg2, bytes.NewReader(body), nil)
	require.ErrorIs(t, err, ErrNotEmpty, "never over existing state")

	// A damaged copy is refused and installs nothing.
	dir3 := t.TempDir()
	cfg3 := config.Default()
	cfg3.DataDir, cfg3.DataLogDir = dir3, dir3
	bad := bytes.Clone(body)
	bad[len(bad)/2] ^= 1
	_, err = RestoreSnapshot(cfg3, bytes.NewReader(bad), nil)
	require.Error(t, err)
	assert.Empty(t, snapshotsIn(t, dir3))

	// The restored directory serves the data and takes new writes.
	ts2 := startServer(t, func(c *config.Config) { c.DataDir, c.DataLogDir = dir2, dir2 })
	c2, _ := dial(t, ts2.addr, 5*time.Second)
	data, _, err := c2.Get("/n59")
	require.NoError(t, err)
	assert.Equal(t, "x", string(data))
	_, err = c2.Create("/after", nil, 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	c2.Close()
	ts2.stop(t)
	after, err := InspectDataDir(&config.Config{DataDir: dir2, DataLogDir: dir2, TickTime: 2000, ForceSync: true}, nil)
	require.NoError(t, err)
	assert.Equal(t, 65, after.Nodes)
	assert.Equal(t, got.Zxid+3, after.Zxid, "a session, a create and the session's close after the snapshot")
}

// TestAdminSnapshotGuards: like ZooKeeper 3.9's snapshot command, Warren's
// needs ALL on "/" (digest credentials in an Authorization header), is
// rate limited, and can be disabled.
func TestAdminSnapshotGuards(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Admin.RateLimiterIntervalMs = 60000 })
	c, _ := dial(t, ts.addr, 5*time.Second)
	require.NoError(t, c.AddAuth("digest", []byte("admin:secret")))
	_, err := c.SetACL("/", zk.DigestACL(zk.PermAll, "admin", "secret"), -1)
	require.NoError(t, err)
	get := func(auth string) int {
		req, err := http.NewRequest(http.MethodGet, "http://"+ts.admin+"/commands/snapshot", nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, get(""))
	assert.Equal(t, http.StatusForbidden, get("digest admin:wrong"))
	assert.Equal(t, http.StatusOK, get("digest admin:secret"))
	assert.Equal(t, http.StatusTooManyRequests, get("digest admin:secret"), "one per interval")

	off := startServer(t, func(c *config.Config) { c.Admin.SnapshotEnabled = false })
	resp, err := http.Get("http://" + off.admin + "/commands/snapshot")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// TestAutopurgeAtStart: with autopurge.purgeInterval set, the server purges
// at start (then every interval), keeping snapRetainCount snapshots and
// the log they need; the state is untouched.
func TestAutopurgeAtStart(t *testing.T) {
	dir := t.TempDir()
	inDir := func(c *config.Config) { c.DataDir, c.DataLogDir = dir, dir; c.SnapCount = 20 }
	ts := startServer(t, inDir)
	c, _ := dial(t, ts.addr, 5*time.Second)
	for i := 0; i < 150; i++ {
		_, err := c.Create(fmt.Sprintf("/n%03d", i), []byte("x"), 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(snapshotsIn(t, dir)) >= 5 }, 10*time.Second, 20*time.Millisecond)
	c.Close()
	ts.stop(t)
	want := digestOf(t, inDir)

	ts2 := startServer(t, func(cfg *config.Config) {
		inDir(cfg)
		cfg.AutopurgePurgeInterval, cfg.AutopurgeSnapRetainCount = 1, 3
	})
	require.Eventually(t, func() bool { return len(snapshotsIn(t, dir)) == 3 }, 10*time.Second, 20*time.Millisecond)
	ts2.stop(t)
	assert.Equal(t, want, digestOf(t, inDir))
}

// TestTxnLogSizeLimit: zookeeper.txnLogSizeLimitInKb bounds the transaction
// log's files: the log rolls before one would grow past the limit, and the
// state survives a restart across the many files.
func TestTxnLogSizeLimit(t *testing.T) {
	dir := t.TempDir()
	inDir := func(c *config.Config) {
		c.DataDir, c.DataLogDir = dir, dir
		c.TxnLogSizeLimitKB = 4
		c.SnapCount = 100000 // no snapshot, so no roll at one
	}
	ts := startServer(t, inDir)
	c, _ := dial(t, ts.addr, 5*time.Second)
	for i := 0; i < 100; i++ {
		_, err := c.Create(fmt.Sprintf("/n%03d", i), bytes.Repeat([]byte("x"), 200), 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
	}
	c.Close()
	ts.stop(t)
	want := digestOf(t, inDir)

	files, err := filepath.Glob(filepath.Join(dir, txnlogDirName, "log.*"))
	require.NoError(t, err)
	assert.Greater(t, len(files), 4, "100 records of ~300 bytes fill several 4 KiB files")
	for _, f := range files {
		st, err := os.Stat(f)
		require.NoError(t, err)
		assert.LessOrEqual(t, st.Size(), int64(4096), f)
	}
	ts2 := startServer(t, inDir)
	ts2.stop(t)
	assert.Equal(t, want, digestOf(t, inDir))
}
