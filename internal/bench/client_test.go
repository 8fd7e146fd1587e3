package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/internal/testutil"
)

// startWarren starts a Warren server for one test (t.Cleanup stops it).
func startWarren(t *testing.T) string {
	t.Helper()
	return testutil.TargetWarren.Start(t, testutil.ServerConfig{})
}

// TestClientsRunEveryWorkload runs each workload briefly with each client
// against a real Warren and checks that the counts agree with each other
// and with what the run left behind, and that the client CPU figures are
// non-zero and consistent.
func TestClientsRunEveryWorkload(t *testing.T) {
	addr := startWarren(t)
	check := zkClient(t, addr)
	for _, cl := range Clients {
		for _, wl := range []Workload{WorkloadCreate, WorkloadSet, WorkloadGet, WorkloadMixed, WorkloadPopulate} {
			t.Run(string(cl)+"/"+string(wl), func(t *testing.T) {
				root := "/bench-clients-" + string(cl) + "-" + string(wl)
				const keys, count = 20, 250
				res, err := Run(context.Background(), Config{
					Server: addr, Client: cl, Workload: wl, Conns: 2, InFlight: 4, ValueSize: 33,
					Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Keys: keys, Count: count,
					ReadRatio: 0.5, Root: root,
				})
				require.NoError(t, err)
				assert.Equal(t, cl, res.Client)
				assert.Zero(t, res.Errors, res.FirstError)
				assert.Positive(t, res.Ops)
				assertLatencyOrdered(t, res.Latency)
				// Every measured request was answered successfully, so
				// the histogram holds exactly the counted ops.
				assert.Equal(t, res.Ops, res.Latency.Count)
				if wl == WorkloadMixed {
					require.Contains(t, res.ByOp, "getData")
					require.Contains(t, res.ByOp, "setData")
					assert.Equal(t, res.Ops, res.ByOp["getData"].Count+res.ByOp["setData"].Count)
				} else {
					assert.Empty(t, res.ByOp)
				}
				assert.InDelta(t, float64(res.Ops)/res.Seconds, res.OpsPerSec, 1e-6)

				// Client CPU: non-zero, at most what the machine's cores
				// can give over the window (getrusage ticks allow some
				// slack), and the per-op figure is the total over the ops.
				assert.Positive(t, res.ClientCPUSeconds)
				assert.LessOrEqual(t, res.ClientCPUPercent, 100*float64(runtime.NumCPU())*1.5)
				assert.Positive(t, res.ClientCPUUsPerOp)
				assert.InEpsilon(t, res.ClientCPUSeconds*1e6/float64(res.Ops), res.ClientCPUUsPerOp, 1e-9)
				assert.Equal(t, res.ClientCPUMsPer1kOps, res.ClientCPUUsPerOp)
				assert.Less(t, res.ClientCPUUsPerOp, 100_000.0, "100 ms of CPU per request is not a measurement")

				require.NotNil(t, res.Cleanup)
				switch wl {
				case WorkloadCreate:
					// Every create sent, warm-up included, plus the run's znode.
					assert.Greater(t, res.Cleanup.Deleted, res.Ops+1)
				case WorkloadPopulate:
					assert.Equal(t, uint64(count), res.Ops)
					assert.Equal(t, uint64(count+1+1), res.Cleanup.Deleted) // one bucket, the run
				default:
					assert.Equal(t, uint64(keys+1), res.Cleanup.Deleted)
				}
				ok, _, err := check.Exists(root)
				require.NoError(t, err)
				assert.False(t, ok, "%s left behind", root)
			})
		}
	}
}

// TestSessionCodes checks that the sdk and go-zookeeper sessions report
// the server's error codes as the raw client sees them, so that the
// recorders count and tolerate them alike.
func TestSessionCodes(t *testing.T) {
	addr := startWarren(t)
	ctx := context.Background()
	for _, cl := range []Client{ClientSDK, ClientGoZK} {
		t.Run(string(cl), func(t *testing.T) {
			d, err := dialDriver(ctx, Config{Server: addr, Client: cl, Conns: 1, InFlight: 1, SessionTimeout: 10 * time.Second}, time.Now())
			require.NoError(t, err)
			defer func() { assert.NoError(t, d.close()) }()
			s := d.(*callDriver).sessions[0]
			p := "/bench-codes-" + string(cl)
			steps := []struct {
				req     request
				code    proto.Code
				getBody int
			}{
				{req: request{op: proto.OpCreate, path: p, data: []byte("abc")}, code: proto.OK},
				{req: request{op: proto.OpCreate, path: p}, code: proto.ErrNodeExists},
				{req: request{op: proto.OpCreate, path: p + "/c"}, code: proto.OK},
				{req: request{op: proto.OpDelete, path: p}, code: proto.ErrNotEmpty},
				{req: request{op: proto.OpGetData, path: p}, code: proto.OK, getBody: getBodyLen(3)},
				{req: request{op: proto.OpSetData, path: p, data: []byte("abcdef")}, code: proto.OK},
				{req: request{op: proto.OpGetData, path: p}, code: proto.OK, getBody: getBodyLen(6)},
				{req: request{op: proto.OpSync, path: p}, code: proto.OK},
				{req: request{op: proto.OpDelete, path: p + "/c"}, code: proto.OK},
				{req: request{op: proto.OpDelete, path: p}, code: proto.OK},
				{req: request{op: proto.OpGetData, path: p}, code: proto.ErrNoNode},
				{req: request{op: proto.OpSetData, path: p, data: []byte("x")}, code: proto.ErrNoNode},
				{req: request{op: proto.OpDelete, path: p}, code: proto.ErrNoNode},
			}
			for i, st := range steps {
				code, body, err := s.call(ctx, st.req)
				require.NoError(t, err, "step %d", i)
				assert.Equal(t, st.code, code, "step %d: %s %s", i, st.req.op, st.req.path)
				if st.req.op == proto.OpGetData && st.code == proto.OK {
					assert.Equal(t, st.getBody, body, "step %d", i)
				}
			}
		})
	}
}

// TestLaneStopsOnClosedSession: a session closed under a run makes the run
// fail instead of counting errors forever.
func TestLaneStopsOnClosedSession(t *testing.T) {
	addr := startWarren(t)
	ctx := context.Background()
	for _, cl := range []Client{ClientSDK, ClientGoZK} {
		t.Run(string(cl), func(t *testing.T) {
			d, err := dialDriver(ctx, Config{Server: addr, Client: cl, Conns: 1, InFlight: 2, SessionTimeout: 10 * time.Second}, time.Now())
			require.NoError(t, err)
			require.NoError(t, d.close())
			recs := []*Recorder{NewRecorder(0, 1<<62, -1), NewRecorder(0, 1<<62, -1)}
			gens := []reqGen{
				&keyGen{keys: []string{"/"}, readRatio: 1, rng: rand.New(rand.NewPCG(1, 1)), deadline: 1 << 62},
				&keyGen{keys: []string{"/"}, readRatio: 1, rng: rand.New(rand.NewPCG(1, 1)), deadline: 1 << 62},
			}
			runCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			err = d.run(runCtx, gens, recs)
			require.Error(t, err)
			assert.NotErrorIs(t, err, context.DeadlineExceeded, "the run ended only at the test's deadline")
		})
	}
}

func TestCommandClientFlag(t *testing.T) {
	addr := startWarren(t)
	for _, cl := range Clients {
		t.Run(string(cl), func(t *testing.T) {
			cmd := Command()
			var out, errOut bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs([]string{"--server", addr, "--client", string(cl), "--workload", "get", "--conns", "1", "--inflight", "3",
				"--keys", "5", "--duration", "200ms", "--warmup", "0s", "--root", "/bench-cmd-" + string(cl), "--json", "--quiet"})
			require.NoError(t, cmd.ExecuteContext(context.Background()), errOut.String())
			var res Result
			require.NoError(t, json.Unmarshal(out.Bytes(), &res), out.String())
			assert.Equal(t, cl, res.Client)
			assert.Zero(t, res.Errors, res.FirstError)
			assert.Positive(t, res.ClientCPUUsPerOp)
			assert.Contains(t, out.String(), `"client_cpu_us_per_op"`)
		})
	}
	t.Run("text", func(t *testing.T) {
		cmd := Command()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs([]string{"--server", addr, "--workload", "set", "--conns", "1", "--inflight", "2", "--keys", "5",
			"--duration", "200ms", "--warmup", "0s", "--root", "/bench-cmd-text", "--quiet"})
		require.NoError(t, cmd.Execute())
		for _, want := range []string{"set against 127.0.0.1:", "sdk client, 1 conns x 2 in flight", "ops/s, client CPU ", " µs/op, 0 errors", "µs per op"} {
			assert.Contains(t, out.String(), want)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown", []string{"--client", "curl"}, `unknown client "curl"`},
		{"failover", []string{"--client", "sdk", "--workload", "failover", "--kill-pid", "1"}, "raw client only"},
		{"wait-get", []string{"--client", "go-zookeeper", "--wait-get", "/x"}, "raw client only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := Command()
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SetArgs(append([]string{"--server", addr, "--quiet", "--duration", "100ms", "--warmup", "0s"}, tc.args...))
			err := cmd.Execute()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
