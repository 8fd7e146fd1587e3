package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/serve"
)

// liveServer is a Warren server running in-process on loopback.
type liveServer struct {
	client string // host:port
	admin  string // host:port
	stop   func()
}

// startLive runs a server on dir with its admin endpoint on a free port;
// stop (also run at cleanup) shuts it down.
func startLive(t *testing.T, dir string) *liveServer {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.DataLogDir = dir, dir
	cfg.ClientPort, cfg.Admin.ServerPort = 0, 0
	cfg.Admin.RateLimiterIntervalMs = 0 // the test saves twice
	cfg.TickTime = 100
	cfg.SnapCount = 1_000_000 // only the admin command takes snapshots
	srv, err := serve.New(cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("server did not shut down")
		}
	}
	t.Cleanup(stop)
	return &liveServer{client: srv.ClientAddr().String(), admin: srv.AdminAddr().String(), stop: stop}
}

func connect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, ev, err := zk.Connect([]string{addr}, 5*time.Second, zk.WithLogger(quietZK{}))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.State == zk.StateHasSession {
				return c
			}
		case <-deadline:
			t.Fatal("no session within 10s")
		}
	}
}

type quietZK struct{}

func (quietZK) Printf(string, ...any) {}

// adminJSON GETs an admin command and decodes its reply, numbers kept exact.
func adminJSON(t *testing.T, admin, command string) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/commands/" + command)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

// liveHash is the server's `hash`: its last zxid and tree digest.
func liveHash(t *testing.T, admin string) (int64, uint64) {
	t.Helper()
	list, ok := adminJSON(t, admin, "hash")["result"].([]any)
	require.True(t, ok)
	require.Len(t, list, 1)
	h := list[0].(map[string]any)
	zxid, err := strconv.ParseInt(h["zxid"].(string), 16, 64)
	require.NoError(t, err)
	digest, err := strconv.ParseUint(string(h["digest"].(json.Number)), 10, 64)
	require.NoError(t, err)
	return zxid, digest
}

func decodeState(t *testing.T, out string) serve.State {
	t.Helper()
	var st serve.State
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	return st
}

// TestSnapshotBackupAndRestore backs up a running server, checks the
// backup against the live digest, restores it into an empty directory and
// starts a server on it.
func TestSnapshotBackupAndRestore(t *testing.T) {
	ctx := context.Background()
	srcDir := t.TempDir()
	src := startLive(t, srcDir)
	c := connect(t, src.client)
	acl := zk.WorldACL(zk.PermAll)
	_, err := c.Create("/app", []byte("root"), 0, acl)
	require.NoError(t, err)
	for i := 0; i < 50; i++ {
		_, err := c.Create(fmt.Sprintf("/app/c%03d", i), []byte("v"+strconv.Itoa(i)), 0, acl)
		require.NoError(t, err)
	}
	_, err = c.Set("/app/c007", []byte("changed"), 0)
	require.NoError(t, err)
	err = c.Delete("/app/c049", -1)
	require.NoError(t, err)
	_, err = c.Create("/app/eph", nil, zk.FlagEphemeral, acl)
	require.NoError(t, err)
	zxid, digest := liveHash(t, src.admin)
	znodes, err := strconv.Atoi(string(adminJSON(t, src.admin, "monitor")["znode_count"].(json.Number)))
	require.NoError(t, err)
	wantNodes := znodes - 1 // mntr counts the root twice, as ZooKeeper's DataTree does

	// save
	backup := filepath.Join(t.TempDir(), "backup.snap")
	r := runCLI(ctx, t, nil, nil, "snapshot", "save", backup, "--server", src.admin)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("Zxid:            0x%x\n", zxid))
	assert.Contains(t, r.stdout, fmt.Sprintf("Digest:          0x%016x (%d", digest, digest))
	assert.Contains(t, r.stdout, "Sessions:        1\n")
	assert.NoFileExists(t, backup+".tmp", "the temporary file is renamed")
	saved, err := os.ReadFile(backup)
	require.NoError(t, err)

	// save again, to standard output, with the admin address from a zoo.cfg
	_, port, err := splitHostPortDefault(src.admin, 0)
	require.NoError(t, err)
	cfgPath := writeConfig(t, "tickTime=2000\ndataDir="+srcDir+"\nclientPort=2181\nadmin.serverAddress=0.0.0.0\nadmin.serverPort="+strconv.Itoa(port)+"\n")
	r = runCLI(ctx, t, nil, nil, "snapshot", "save", "-", "--config", cfgPath)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, saved, []byte(r.stdout), "nothing changed: the same snapshot, verified, on standard output")
	assert.Contains(t, r.stderr, "to standard output")

	// inspect the backup
	r = runCLI(ctx, t, nil, nil, "snapshot", "inspect", backup, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	st := decodeState(t, r.stdout)
	assert.Equal(t, zxid, st.Zxid)
	assert.Equal(t, digest, st.Digest, "the backup's digest is the live server's hash")
	assert.Equal(t, wantNodes, st.Nodes)
	assert.Equal(t, 1, st.Sessions)
	r = runCLI(ctx, t, nil, nil, "snapshot", "inspect", backup)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Snapshot file:   "+backup+"\n")
	assert.Contains(t, r.stdout, "Nodes:           "+strconv.Itoa(wantNodes)+"\n")
	assert.Contains(t, r.stdout, "Verified:")

	// restore into an empty directory
	dstDir := filepath.Join(t.TempDir(), "restored")
	r = runCLI(ctx, t, nil, nil, "snapshot", "restore", backup, "--data-dir", dstDir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Restored "+backup+" into "+dstDir+"\n")
	assert.Contains(t, r.stdout, fmt.Sprintf("continues from zxid 0x%x", zxid))
	assert.Contains(t, r.stdout, "clients cannot resume the 1 session in the snapshot")

	// and not again over it
	r = runCLI(ctx, t, nil, nil, "snapshot", "restore", backup, "--data-dir", dstDir)
	assert.Equal(t, exitFail, r.code)
	assert.Contains(t, r.stderr, "refusing to restore into "+dstDir)
	assert.Contains(t, r.stderr, "Restore into an empty data directory")
	assert.Empty(t, r.stdout)

	// inspect the restored directory, read-only
	r = runCLI(ctx, t, nil, nil, "snapshot", "inspect", dstDir, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	st = decodeState(t, r.stdout)
	assert.Equal(t, zxid, st.Zxid)
	assert.Equal(t, digest, st.Digest)
	assert.Equal(t, wantNodes, st.Nodes)
	assert.Equal(t, 1, st.Snapshots)
	assert.Equal(t, filepath.Join(dstDir, "snapshot"), filepath.Dir(st.Snapshot))

	// a server on the restored directory serves the data
	dst := startLive(t, dstDir)
	c2 := connect(t, dst.client)
	data, _, err := c2.Get("/app/c007")
	require.NoError(t, err)
	assert.Equal(t, "changed", string(data))
	kids, _, err := c2.Children("/app")
	require.NoError(t, err)
	assert.Len(t, kids, 50, "c000..c048 and the ephemeral, whose session has not expired yet")
	_, digest2 := liveHash(t, dst.admin)
	assert.Equal(t, digest, digest2, "the restored tree is the saved one")

	// the source directory, once its server stopped, rebuilds to the same tree
	c.Close()
	var zxidEnd int64
	var digestEnd uint64
	require.Eventually(t, func() bool {
		zxidEnd, digestEnd = liveHash(t, src.admin)
		return zxidEnd > zxid
	}, 5*time.Second, 10*time.Millisecond, "the session close (and its ephemeral's removal) is applied")
	assert.NotEqual(t, digest, digestEnd)
	src.stop()
	r = runCLI(ctx, t, nil, nil, "snapshot", "inspect", "--data-dir", srcDir, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	st = decodeState(t, r.stdout)
	assert.Equal(t, zxidEnd, st.Zxid)
	assert.Equal(t, digestEnd, st.Digest)
	assert.Positive(t, st.LogReplayed, "the session close is replayed after the snapshot")
	r = runCLI(ctx, t, nil, nil, "snapshot", "inspect", srcDir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Data directory:  "+srcDir+"\n")
	assert.Regexp(t, `Transaction log: zxid 0x1 to 0x[0-9a-f]+, [1-9][0-9]* records? replayed after the snapshot\n`, r.stdout)

	// a damaged copy of the backup (header, a block, the trailer) is
	// reported with its name
	damaged := filepath.Join(t.TempDir(), "damaged.snap")
	for _, off := range []int{10, len(saved) / 2, len(saved) - 5} {
		bad := bytes.Clone(saved)
		bad[off] ^= 0x40
		require.NoError(t, os.WriteFile(damaged, bad, 0o600))
		r = runCLI(ctx, t, nil, nil, "snapshot", "inspect", damaged)
		assert.Equal(t, exitFail, r.code, "flip at %d", off)
		assert.Regexp(t, `corrupt snapshot `+regexp.QuoteMeta(damaged)+` at offset \d+`, r.stderr, "flip at %d", off)
		assert.Empty(t, r.stdout)
	}
	// and never restored
	r = runCLI(ctx, t, nil, nil, "snapshot", "restore", damaged, "--data-dir", filepath.Join(t.TempDir(), "d"))
	assert.Equal(t, exitFail, r.code)
	assert.Contains(t, r.stderr, "does not verify, nothing was restored")
}

// TestSnapshotSaveFailures covers an unreachable server, error replies and
// a reply that is not a valid snapshot: FILE is never written.
func TestSnapshotSaveFailures(t *testing.T) {
	validSnap := func(t *testing.T) []byte {
		// A snapshot of a fresh server, saved through the command.
		srv := startLive(t, t.TempDir())
		p := filepath.Join(t.TempDir(), "s")
		r := runCLI(context.Background(), t, nil, nil, "snapshot", "save", p, "--server", srv.admin)
		require.Equal(t, exitOK, r.code, r.stderr)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return b
	}(t)

	tests := []struct {
		name    string
		handler http.HandlerFunc // nil: nothing listens
		want    []string
	}{
		{name: "unreachable", want: []string{"cannot reach the admin server at http://127.0.0.1:"}},
		{
			name: "json error",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, `{"command":"snapshot","error":"this server keeps no snapshots"}`)
			},
			want: []string{"answered 503 Service Unavailable: this server keeps no snapshots"},
		},
		{
			name:    "not found",
			handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			want:    []string{"answered 404 Not Found", "is it a Warren server"},
		},
		{
			name:    "garbage",
			handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "not a snapshot at all") },
			want:    []string{"does not verify, nothing was saved"},
		},
		{
			name: "announced digest differs",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Warren-Snapshot-Digest", "0x0000000000000001")
				_, _ = w.Write(validSnap)
			},
			want: []string{"is not the one the server announced", "announced 0x0000000000000001"},
		},
		{
			name: "short body",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(validSnap)))
				_, _ = w.Write(validSnap[:len(validSnap)/2])
			},
			want: []string{"receiving the snapshot"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := "127.0.0.1:" + strconv.Itoa(closedPort(t))
			if tc.handler != nil {
				hs := httptest.NewServer(tc.handler)
				t.Cleanup(hs.Close)
				addr = strings.TrimPrefix(hs.URL, "http://")
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "backup.snap")
			r := runCLI(context.Background(), t, nil, nil, "snapshot", "save", file, "--server", addr)
			assert.Equal(t, exitFail, r.code)
			for _, w := range tc.want {
				assert.Contains(t, r.stderr, w)
			}
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "neither FILE nor FILE.tmp is left behind")
		})
	}
}

func TestSnapshotUsageErrors(t *testing.T) {
	snapFile := filepath.Join(t.TempDir(), "x.snap")
	require.NoError(t, os.WriteFile(snapFile, []byte("x"), 0o600))
	logFile := filepath.Join(t.TempDir(), "log.0000000000000001")
	require.NoError(t, os.WriteFile(logFile, []byte("x"), 0o600))
	noAdmin := writeConfig(t, "dataDir=/tmp/x\nclientPort=2181\nadmin.enableServer=false\n")
	empty := t.TempDir()
	snapSub := filepath.Join(t.TempDir(), "snapshot") // a dataDir's subdirectory, given by mistake
	require.NoError(t, os.Mkdir(snapSub, 0o755))
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"inspect two paths", []string{"inspect", "a", "b"}, exitConfig, "accepts at most 1 arg"},
		{"inspect file with flags", []string{"inspect", snapFile, "--data-dir", "/d"}, exitConfig, "a snapshot file is inspected on its own"},
		{"inspect dir and --data-dir", []string{"inspect", empty, "--data-dir", "/d"}, exitConfig, "not both"},
		{"inspect missing", []string{"inspect", filepath.Join(empty, "nope")}, exitFail, "no such file"},
		{"inspect no data", []string{"inspect", empty}, exitFail, "no Warren data in " + empty},
		{"inspect snapshot subdir", []string{"inspect", snapSub}, exitFail, "not its snapshot subdirectory"},
		{"inspect log segment", []string{"inspect", logFile}, exitFail, "is a transaction log segment"},
		{"inspect bad config", []string{"inspect", "--config", writeConfig(t, "clientPort=abc\n")}, exitConfig, "Invalid configuration"},
		{"save without file", []string{"save"}, exitConfig, "accepts 1 arg"},
		{"save admin disabled", []string{"save", "f", "--config", noAdmin}, exitConfig, "admin server is disabled"},
		{"save bad server", []string{"save", "f", "--server", "h:99999"}, exitConfig, "not a valid port"},
		{"save config and server", []string{"save", "f", "--server", "h:1", "--config", noAdmin}, exitConfig, "none of the others can be"},
		{"save bad command url", []string{"save", "f", "--server", "h:1", "--command-url", "x"}, exitConfig, "must start with /"},
		{"restore without file", []string{"restore"}, exitConfig, "accepts 1 arg"},
		{"restore missing file", []string{"restore", filepath.Join(empty, "nope"), "--data-dir", filepath.Join(empty, "d")}, exitFail, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(context.Background(), t, nil, nil, append([]string{"snapshot"}, tc.args...)...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
			assert.Empty(t, r.stdout)
		})
	}
}

func TestSnapshotURL(t *testing.T) {
	withURL := writeConfig(t, "dataDir=/d\nclientPort=2181\nadmin.serverAddress=10.1.2.3\nadmin.serverPort=9090\nadmin.commandURL=/admin/\n")
	tests := []struct {
		name string
		opts saveOptions
		want string
	}{
		{"defaults", saveOptions{}, "http://127.0.0.1:2180/commands/snapshot"},
		{"server", saveOptions{server: "zk1:8080"}, "http://zk1:8080/commands/snapshot"},
		{"bare host", saveOptions{server: "zk1"}, "http://zk1:2180/commands/snapshot"},
		{"ipv6", saveOptions{server: "[::1]:8080"}, "http://[::1]:8080/commands/snapshot"},
		{"config", saveOptions{configPath: withURL}, "http://10.1.2.3:9090/admin/snapshot"},
		{"command url", saveOptions{server: "zk1:1", commandURL: "/x"}, "http://zk1:1/x/snapshot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := snapshotURL(tc.opts, func(string) string { return "" })
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestSnapshotSaveAuth: with an ACL on "/", save needs --auth (or
// $WARREN_ADMIN_AUTH) with a digest user holding ALL there.
func TestSnapshotSaveAuth(t *testing.T) {
	ctx := context.Background()
	src := startLive(t, t.TempDir())
	c := connect(t, src.client)
	require.NoError(t, c.AddAuth("digest", []byte("admin:pw")))
	_, err := c.SetACL("/", zk.DigestACL(zk.PermAll, "admin", "pw"), -1)
	require.NoError(t, err)
	dir := t.TempDir()

	r := runCLI(ctx, t, nil, nil, "snapshot", "save", filepath.Join(dir, "a.snap"), "--server", src.admin)
	assert.Equal(t, exitFail, r.code)
	assert.Contains(t, r.stderr, "403")
	assert.NoFileExists(t, filepath.Join(dir, "a.snap"))

	r = runCLI(ctx, t, nil, nil, "snapshot", "save", filepath.Join(dir, "b.snap"), "--server", src.admin, "--auth", "admin:pw")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.FileExists(t, filepath.Join(dir, "b.snap"))

	r = runCLI(ctx, t, map[string]string{"WARREN_ADMIN_AUTH": "admin:pw"}, nil, "snapshot", "save", filepath.Join(dir, "c.snap"), "--server", src.admin)
	require.Equal(t, exitOK, r.code, r.stderr)
}
