package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/cli"
	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

// configVersion is the version line of a dynamic configuration, which is
// the zxid that committed it.
var configVersion = regexp.MustCompile(`^version=[0-9a-f]+$`)

// clientConfigVersion is the version that starts config -c's line.
var clientConfigVersion = regexp.MustCompile(`^[0-9a-f]+ `)

// configDataVersion is the data version of /zookeeper/config in a Stat;
// every reconfig bumps it, so zkCli's run and the shell's see different
// ones.
var configDataVersion = regexp.MustCompile(`^dataVersion = \d+$`)

func normalizeConfig(steps []testutil.CliStep) []testutil.CliStep {
	steps = testutil.NormalizeCli(steps)
	for i := range steps {
		reconfig := strings.HasPrefix(steps[i].Cmd, "reconfig ")
		for j, l := range steps[i].Output {
			l = configVersion.ReplaceAllString(l, "version=<zxid>")
			if steps[i].Cmd == "config -c" {
				l = clientConfigVersion.ReplaceAllString(l, "<zxid> ")
			}
			if reconfig {
				l = configDataVersion.ReplaceAllString(l, "dataVersion = <n>")
			}
			steps[i].Output[j] = l
		}
	}
	return steps
}

// compareSteps runs script through zkCli.sh and through the shell against
// addr, one after the other, and compares what each command printed.
func compareSteps(t *testing.T, addr string, script []string) {
	t.Helper()
	zk := normalizeConfig(testutil.ZkCliSteps(t, addr, script...))
	ours := normalizeConfig(shellSteps(t, addr, script...))
	require.Len(t, ours, len(zk))
	for i := range zk {
		assert.Equal(t, zk[i].Output, ours[i].Output, "step %d: %s", i, zk[i].Cmd)
	}
	if t.Failed() || os.Getenv("CLI_TRANSCRIPT") != "" {
		t.Logf("zkCli:\n%s\nwarren cli:\n%s", testutil.FormatCli(zk), testutil.FormatCli(ours))
	}
}

// TestReconfigStandalone: with reconfigEnabled, a standalone server
// answers Unimplemented to every reconfig, before it checks the permission
// on /zookeeper/config (ZooKeeper 3.8 and Warren alike).
func TestReconfigStandalone(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			t.Parallel()
			addr := tg.Start(t, testutil.ServerConfig{
				SuperDigest: testutil.Digest("super", "pw"),
				Extra:       []string{"reconfigEnabled=true"},
			})
			compareSteps(t, addr, []string{
				"reconfig -remove 3",
				"addauth digest super:pw",
				"reconfig -remove 3",
				"reconfig -s -members server.1=127.0.0.1:1:2;3",
				"reconfig -v 1 -add server.2=127.0.0.1:4:5;6",
			})
		})
	}
}

// TestReconfigEnsemble changes the membership of a 3-member Warren
// ensemble with zkCli.sh's reconfig, then with the shell's, and compares
// the transcripts: a removal and an addition (with -s), a bulk change from
// a dynamic configuration file and one back with -members, and the
// failures (no permission, a stale version, a new configuration without a
// quorum, one that changes nothing). Each run leaves the ensemble as it
// found it.
func TestReconfigEnsemble(t *testing.T) {
	e := testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: 3, Extra: []string{
		"reconfigEnabled=true", "DigestAuthenticationProvider.superDigest=" + testutil.Digest("super", "pw"),
	}})
	leader, err := e.WaitLeader(30 * time.Second)
	require.NoError(t, err)
	var gone *testutil.Member
	var stay []string
	for _, m := range e.Members {
		if m != leader && gone == nil {
			gone = m
			continue
		}
		stay = append(stay, m.Addr)
	}
	addr := strings.Join(stay, ",")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := sdk.Connect(ctx, addr)
	require.NoError(t, err)
	defer c.Close()
	cfg, _, err := c.GetConfig(ctx)
	require.NoError(t, err)
	// The members' specs, and a dynamic configuration file that gives
	// them their client addresses.
	specs := map[int64]string{}
	var all []string
	var file strings.Builder
	file.WriteString("# the ensemble with client addresses\n")
	for _, l := range strings.Split(string(cfg), "\n") {
		for _, m := range e.Members {
			if strings.HasPrefix(l, fmt.Sprintf("server.%d=", m.ID)) {
				specs[m.ID] = l
				all = append(all, l)
				key, value, _ := strings.Cut(l, "=")
				file.WriteString(key + " = " + strings.TrimSuffix(value, ":participant") + ";" + m.Addr + "\n")
			}
		}
	}
	require.Len(t, specs, 3, "config %q", cfg)
	for _, l := range all {
		require.NotContains(t, l, ";", "the ensemble's zoo.cfg gives no client addresses")
	}
	dyn := filepath.Join(t.TempDir(), "zoo.cfg.dynamic")
	require.NoError(t, os.WriteFile(dyn, []byte(file.String()), 0o600))
	fake := fmt.Sprintf("server.9=127.0.0.1:%d:%d:participant;127.0.0.1:%d",
		testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t))

	script := []string{
		fmt.Sprintf("reconfig -remove %d", gone.ID),
		"addauth digest super:pw",
		fmt.Sprintf("reconfig -v 1 -remove %d", gone.ID),
		fmt.Sprintf("reconfig -remove %d", gone.ID),
		"config",
		"reconfig -s -add " + specs[gone.ID],
		"reconfig -members " + specs[leader.ID] + "," + fake,
		"reconfig -members " + strings.Join(all, ","),
		"reconfig -file " + dyn,
		"config -c",
		"reconfig -s -members " + strings.Join(all, ","),
		"config -c",
	}
	compareSteps(t, addr, script)

	got, _, err := c.GetConfig(ctx)
	require.NoError(t, err)
	for _, s := range specs {
		assert.Contains(t, string(got), s, "the ensemble is whole again")
	}
}

// TestVersion: zkCli prints its version as "ZooKeeper CLI version: ...";
// the shell prints Warren's, from the build information or as given.
func TestVersion(t *testing.T) {
	addr := testutil.TargetWarren.Start(t, testutil.ServerConfig{})
	zk := testutil.ZkCliSteps(t, addr, "version")
	require.Len(t, zk[0].Output, 1)
	assert.True(t, strings.HasPrefix(zk[0].Output[0], "ZooKeeper CLI version: "), zk[0].Output[0])

	out, code := runShell(t, addr, "version\n")
	assert.Equal(t, cli.ExitOK, code)
	assert.Regexp(t, `^ZooKeeper CLI version: Warren \S+, built with go\S+\n$`, out)

	var buf syncBuffer
	s := cli.New(cli.Config{Server: addr, Stdout: &buf, Stderr: &buf, Quiet: true, Version: "1.2.3-abc"})
	require.NoError(t, s.Connect(ctxT(t), ""))
	assert.Equal(t, cli.ExitOK, s.ExecLine(ctxT(t), "version"))
	assert.Equal(t, cli.ExitUsage, s.ExecLine(ctxT(t), "version now"))
	s.Close()
	assert.Regexp(t, `^ZooKeeper CLI version: Warren 1\.2\.3-abc, built with go\S+\nversion \n$`, buf.String())
}

// TestUsageMatchesZkCli: an unknown command prints the command list; the
// shell's is zkCli 3.8's plus its help command.
func TestUsageMatchesZkCli(t *testing.T) {
	addr := testutil.TargetWarren.Start(t, testutil.ServerConfig{})
	zk := testutil.ZkCliSteps(t, addr, "foo")
	ours := shellSteps(t, addr, "foo")
	var without []string
	for _, l := range ours[0].Output {
		if l != "\thelp " {
			without = append(without, l)
		}
	}
	assert.Equal(t, zk[0].Output, without)
	assert.Contains(t, ours[0].Output, "\treconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | "+
		"[-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]")
}
