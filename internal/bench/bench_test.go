package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"path"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

// zkClient opens an independent go-zookeeper session to check what the
// bench left behind.
func zkClient(t *testing.T, addr string) *gozk.Conn {
	t.Helper()
	c, _, err := gozk.Connect([]string{addr}, 5*time.Second, gozk.WithLogger(log.New(io.Discard, "", 0)))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func assertLatencyOrdered(t *testing.T, l Latency) {
	t.Helper()
	assert.Positive(t, l.Count)
	assert.LessOrEqual(t, l.MinUs, l.P50Us)
	assert.LessOrEqual(t, l.P50Us, l.P90Us)
	assert.LessOrEqual(t, l.P90Us, l.P99Us)
	assert.LessOrEqual(t, l.P99Us, l.P999Us)
	assert.LessOrEqual(t, l.P999Us, l.MaxUs)
	assert.Positive(t, l.MinUs, "a round trip takes time")
}

func TestRunAgainstZooKeeper(t *testing.T) {
	srv := startZooKeeper(t)
	check := zkClient(t, srv.addr)
	tests := []struct {
		workload Workload
		byOp     []string
	}{
		{workload: WorkloadCreate},
		{workload: WorkloadSet},
		{workload: WorkloadGet},
		{workload: WorkloadMixed, byOp: []string{"getData", "setData"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.workload), func(t *testing.T) {
			root := "/bench-test-" + string(tc.workload)
			res, err := Run(context.Background(), Config{
				Server: srv.addr, Label: "zookeeper", Workload: tc.workload, Conns: 2, InFlight: 8,
				Duration: 600 * time.Millisecond, Warmup: 200 * time.Millisecond, Keys: 50,
				ReadRatio: 0.5, ServerPID: srv.pid, Root: root,
			})
			require.NoError(t, err)
			assert.Equal(t, tc.workload, res.Workload)
			assert.Positive(t, res.Ops)
			assert.Zero(t, res.Errors, res.FirstError)
			assert.InDelta(t, 0.6, res.Seconds, 0.2)
			assert.InDelta(t, float64(res.Ops)/res.Seconds, res.OpsPerSec, 1e-6)
			assertLatencyOrdered(t, res.Latency)
			assert.GreaterOrEqual(t, res.Latency.Count, res.Ops)
			for _, op := range tc.byOp {
				require.Contains(t, res.ByOp, op)
				assertLatencyOrdered(t, res.ByOp[op])
			}
			if tc.byOp == nil {
				assert.Empty(t, res.ByOp)
			}
			assert.Positive(t, res.ClientCPUSeconds)
			require.NotNil(t, res.ServerProc)
			assert.Equal(t, srv.pid, res.ServerProc.PID)
			assert.Positive(t, res.ServerProc.RSSBytes)
			assert.GreaterOrEqual(t, res.ServerProc.PeakRSSBytes, res.ServerProc.RSSBytes)
			assert.GreaterOrEqual(t, res.ServerProc.CPUSeconds, 0.0)

			require.NotNil(t, res.Cleanup)
			if tc.workload == WorkloadCreate {
				// Every create sent, warm-up included, was deleted.
				assert.Greater(t, res.Cleanup.Deleted, res.Ops)
			} else {
				assert.Equal(t, uint64(50+1), res.Cleanup.Deleted)
			}
			ok, _, err := check.Exists(root)
			require.NoError(t, err)
			assert.False(t, ok, "%s left behind", root)
		})
	}
}

func TestPopulateKeepsAndCleansUp(t *testing.T) {
	srv := startZooKeeper(t)
	check := zkClient(t, srv.addr)
	tests := []struct {
		name  string
		count int
		keep  bool
	}{
		{name: "cleaned", count: 1500},
		{name: "kept", count: populateBucket + 1, keep: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := "/bench-test-populate-" + tc.name
			res, err := Run(context.Background(), Config{
				Server: srv.addr, Workload: WorkloadPopulate, Count: tc.count, ValueSize: 37,
				Conns: 3, InFlight: 32, ServerPID: srv.pid, Root: root, Keep: tc.keep,
			})
			require.NoError(t, err)
			assert.Equal(t, uint64(tc.count), res.Ops)
			assert.Zero(t, res.Errors, res.FirstError)
			assert.Equal(t, tc.count, res.Count)
			last := tc.count - 1
			assert.Equal(t, fmt.Sprintf("%s/b%d/n%d", res.Run, last/populateBucket, last%populateBucket), res.Last)
			assertLatencyOrdered(t, res.Latency)
			require.NotNil(t, res.ServerProc)
			assert.Positive(t, res.ServerProc.RSSBytes)
			if !tc.keep {
				require.NotNil(t, res.Cleanup)
				buckets := (tc.count + populateBucket - 1) / populateBucket
				assert.Equal(t, uint64(tc.count+buckets+1), res.Cleanup.Deleted)
				ok, _, err := check.Exists(root)
				require.NoError(t, err)
				assert.False(t, ok)
				return
			}
			assert.Nil(t, res.Cleanup)
			kids, _, err := check.Children(res.Run)
			require.NoError(t, err)
			sort.Strings(kids)
			assert.Equal(t, []string{"b0", "b1"}, kids)
			b0, st, err := check.Children(res.Run + "/b0")
			require.NoError(t, err)
			assert.Len(t, b0, populateBucket)
			assert.Equal(t, int32(populateBucket), st.NumChildren)
			data, _, err := check.Get(res.Run + "/b1/n0")
			require.NoError(t, err)
			assert.Len(t, data, 37)

			// Remove what was kept, with the bench's own pipelined client.
			c, err := Dial(context.Background(), srv.addr, ConnOptions{InFlight: 64})
			require.NoError(t, err)
			defer c.Close()
			var paths []string
			for _, b := range kids {
				kids, _, err := check.Children(res.Run + "/" + b)
				require.NoError(t, err)
				for _, k := range kids {
					paths = append(paths, res.Run+"/"+b+"/"+k)
				}
			}
			paths = append(paths, res.Run+"/b0", res.Run+"/b1", res.Run, root)
			for _, batch := range [][]string{paths[:len(paths)-4], paths[len(paths)-4 : len(paths)-2], paths[len(paths)-2:]} {
				rec := NewRecorder(0, time.Hour, -1)
				var next atomic.Int64
				gen := &listGen{next: &next, n: int64(len(batch)), op: proto.OpDelete, path: func(i int64) string { return batch[i] }}
				require.NoError(t, c.Do(context.Background(), gen, rec))
				require.Zero(t, rec.Errors, rec.FirstError)
				require.Equal(t, uint64(len(batch)), rec.Ops)
			}
			ok, _, err := check.Exists(root)
			require.NoError(t, err)
			assert.False(t, ok)
		})
	}
}

func TestSessionKeptAliveByPings(t *testing.T) {
	srv := startZooKeeper(t)
	// The test server's tickTime is 500 ms, so the smallest session timeout
	// is 1 s: idling 2.5 s would expire a session that was not pinged.
	c, err := Dial(context.Background(), srv.addr, ConnOptions{InFlight: 4, SessionTimeout: time.Second})
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, time.Second, c.SessionTimeout())
	time.Sleep(2500 * time.Millisecond)
	rec := NewRecorder(0, time.Hour, -1)
	var next atomic.Int64
	gen := &listGen{next: &next, n: 10, op: proto.OpGetData, path: func(int64) string { return "/" }}
	require.NoError(t, c.Do(context.Background(), gen, rec))
	assert.Zero(t, rec.Errors, rec.FirstError)
	assert.Equal(t, uint64(10), rec.Ops)
}

func TestCommandJSON(t *testing.T) {
	srv := startZooKeeper(t)
	tests := []struct {
		name string
		args []string
		want func(t *testing.T, res *Result)
	}{
		{
			name: "get",
			args: []string{"--workload", "get", "--conns", "1", "--inflight", "4", "--keys", "10", "--value-size", "12",
				"--duration", "300ms", "--warmup", "0s", "--root", "/bench-test-cmd"},
			want: func(t *testing.T, res *Result) {
				assert.Equal(t, WorkloadGet, res.Workload)
				assert.Equal(t, 1, res.Conns)
				assert.Equal(t, 4, res.InFlight)
				assert.Equal(t, 12, res.ValueSize)
				assert.Equal(t, 10, res.Keys)
				assert.Equal(t, 1.0, res.ReadRatio)
				assert.Zero(t, res.WarmupSeconds)
				assert.Nil(t, res.ServerProc)
			},
		},
		{
			name: "populate",
			args: []string{"--workload", "populate", "--count", "200", "--label", "zk", "--server-pid", "0", "--root", "/bench-test-cmd"},
			want: func(t *testing.T, res *Result) {
				assert.Equal(t, "zk", res.Label)
				assert.Equal(t, uint64(200), res.Ops)
				assert.Equal(t, 100, res.ValueSize)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := Command()
			var out, errOut bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs(append([]string{"--server", srv.addr, "--json"}, tc.args...))
			require.NoError(t, cmd.ExecuteContext(context.Background()), errOut.String())
			var res Result
			require.NoError(t, json.Unmarshal(out.Bytes(), &res), out.String())
			assert.Zero(t, res.Errors)
			assert.Positive(t, res.Ops)
			assert.NotNil(t, res.Cleanup)
			assert.Contains(t, errOut.String(), "cleaned up")
			tc.want(t, &res)
		})
	}
}

func TestCommandText(t *testing.T) {
	srv := startZooKeeper(t)
	cmd := Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--server", srv.addr, "--workload", "mixed", "--duration", "300ms", "--warmup", "100ms",
		"--server-pid", fmt.Sprint(srv.pid), "--keys", "20", "--root", "/bench-test-text"})
	require.NoError(t, cmd.Execute())
	for _, want := range []string{"mixed against 127.0.0.1:", "4 conns x 16 in flight", " µs/op, 0 errors",
		"  getData", "  setData", "client CPU", "server CPU", "cleanup    deleted 21 znodes"} {
		assert.Contains(t, out.String(), want)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"workload", Config{Workload: "scan"}, `unknown workload "scan"`},
		{"conns", Config{Conns: -1}, "conns -1"},
		{"inflight", Config{InFlight: -3}, "inflight -3"},
		{"value", Config{ValueSize: 2 << 20}, "value size"},
		{"ratio", Config{Workload: WorkloadMixed, ReadRatio: 1.5}, "read ratio"},
		{"root relative", Config{Root: "bench"}, "absolute znode path"},
		{"root slash", Config{Root: "/"}, "absolute znode path"},
		{"root trailing", Config{Root: "/b/"}, "absolute znode path"},
		{"count", Config{Workload: WorkloadPopulate, Count: -1}, "count -1"},
		{"empty server in list", Config{Server: "127.0.0.1:1,,127.0.0.1:2"}, "empty address"},
		{"client", Config{Client: "curl"}, `unknown client "curl"`},
		{"server pid", Config{ServerPIDs: []int{0}}, "server pid 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{}.normalize()
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:2181", cfg.Server)
	assert.Equal(t, WorkloadSet, cfg.Workload)
	assert.Equal(t, ClientSDK, cfg.Client)
	assert.Equal(t, 4, cfg.Conns)
	assert.Equal(t, 16, cfg.InFlight)
	assert.Equal(t, 10*time.Second, cfg.Duration)
	assert.Equal(t, 2*time.Second, cfg.Warmup)
	assert.Equal(t, 1000, cfg.Keys)
	assert.Equal(t, 1_000_000, cfg.Count)
	assert.Equal(t, "/warren-bench", cfg.Root)
	assert.Equal(t, path.Clean(cfg.Root), cfg.Root)

	mixed, err := Config{Workload: WorkloadMixed, ReadRatio: 0.75}.normalize()
	require.NoError(t, err)
	assert.Equal(t, 0.75, mixed.ReadRatio)
	noWarm, err := Config{NoWarmup: true}.normalize()
	require.NoError(t, err)
	assert.Zero(t, noWarm.Warmup)
}
