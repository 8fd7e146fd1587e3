package bench

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
)

func TestFailoverConfigErrors(t *testing.T) {
	kill := func() error { return nil }
	tests := []struct {
		name string
		cfg  FailoverConfig
		want string
	}{
		{"no servers", FailoverConfig{Kill: kill}, "at least one server"},
		{"no kill", FailoverConfig{Servers: []string{"127.0.0.1:1"}}, "--kill-pid"},
		{"path", FailoverConfig{Servers: []string{"127.0.0.1:1"}, Kill: kill, Path: "x"}, "absolute znode path"},
		{"value", FailoverConfig{Servers: []string{"127.0.0.1:1"}, Kill: kill, ValueSize: -1}, "value size"},
		{"negative", FailoverConfig{Servers: []string{"127.0.0.1:1"}, Kill: kill, Steady: -time.Second}, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Failover(context.Background(), tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestKillPID(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	kill, dead := KillPID(cmd.Process.Pid)
	assert.False(t, dead(), "a sleeping process is alive")
	require.NoError(t, kill())
	// Unreaped, it is a zombie: gone for our purpose.
	require.Eventually(t, dead, 5*time.Second, time.Millisecond)
	_ = cmd.Wait()
	assert.True(t, dead(), "a reaped process is gone")
	assert.Error(t, kill(), "killing a reaped process fails")
}

// TestEnsembleSpreadAndFailover runs against a real 3-member Warren
// ensemble: a workload with its connections spread over every member, then
// a failover run that SIGKILLs the leader while the client writes through
// the followers.
func TestEnsembleSpreadAndFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-member ensemble")
	}
	e := testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: 3})
	leader, err := e.WaitLeader(10 * time.Second)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("spread", func(t *testing.T) {
		res, err := Run(ctx, Config{
			Server: strings.Join(e.Addrs(), ","), Workload: WorkloadGet, Conns: 3, InFlight: 4,
			Keys: 50, Duration: 300 * time.Millisecond, NoWarmup: true, Root: "/spread",
		})
		require.NoError(t, err)
		assert.Zero(t, res.Errors, res.FirstError)
		assert.Positive(t, res.Ops)
		require.NotNil(t, res.Cleanup)
	})

	var followers []string
	for _, m := range e.Followers() {
		followers = append(followers, m.Addr)
	}
	require.Len(t, followers, 2)
	res, err := Failover(ctx, FailoverConfig{
		Servers: followers,
		Label:   "warren",
		Kill: func() error {
			leader.Kill()
			return nil
		},
		Steady: 300 * time.Millisecond,
		After:  100 * time.Millisecond,
		// The ensemble's tick is 200 ms, so the session is allowed 4 s at least.
		SessionTimeout: 6 * time.Second,
		Timeout:        30 * time.Second,
	})
	require.NoError(t, err)
	t.Logf("write gap %.1f ms, stall %.1f ms, %d attempts; events %v", res.GapMs, res.OutageMs, res.ConnectAttempts, res.Events)
	assert.Positive(t, res.SteadyWrites, "writes before the kill")
	assert.Positive(t, res.GapMs, "the gap is measured")
	assert.GreaterOrEqual(t, res.OutageMs, 0.0)
	assert.NotZero(t, res.KilledUnixMicros)
	// A follower that loses its leader closes its clients' connections:
	// the client reconnected and resumed its session, on a follower.
	assert.GreaterOrEqual(t, res.ConnectionsLost, 1)
	assert.GreaterOrEqual(t, res.Reconnects, 1)
	assert.GreaterOrEqual(t, res.ConnectAttempts, res.Reconnects)
	assert.True(t, res.SessionResumed, "session resumed")
	assert.False(t, res.NewSession, "no new session")
	assert.True(t, slices.Contains(followers, res.ResumedOn), "resumed on %q", res.ResumedOn)
	resumed := slices.ContainsFunc(res.Events, func(ev FailoverEvent) bool {
		return strings.Contains(ev.What, "resumed on") && ev.Ms > 0
	})
	assert.True(t, resumed, "a resumption event after the kill: %v", res.Events)
	assert.GreaterOrEqual(t, res.RetriedWrites, 0)

	var text strings.Builder
	require.NoError(t, WriteFailoverText(&text, res))
	assert.Contains(t, text.String(), "write gap")
	assert.Contains(t, text.String(), "resumed on "+res.ResumedOn)
}

func TestCommandFailoverFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no kill pid", []string{"--workload", "failover", "--server", "127.0.0.1:1,127.0.0.1:2"}, "needs --kill-pid"},
		{"bad server pid", []string{"--server-pid", "12,x"}, "want process ids"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := Command()
			cmd.SetArgs(append(tc.args, "--quiet"))
			var out strings.Builder
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			err := cmd.Execute()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
