package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
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

func normalizeConfig(steps []testutil.CliStep) []testutil.CliStep {
	steps = testutil.NormalizeCli(steps)
	// The data version of /zookeeper/config in reconfig -s's Stat needs
	// no rewriting: a reconfiguration sets it to -1 (ZooKeeper's
	// transaction does, and so does Warren's).
	for i := range steps {
		for j, l := range steps[i].Output {
			l = configVersion.ReplaceAllString(l, "version=<zxid>")
			if steps[i].Cmd == "config -c" {
				l = clientConfigVersion.ReplaceAllString(l, "<zxid> ")
			}
			steps[i].Output[j] = l
		}
	}
	return steps
}

// compareSteps runs script through zkCli.sh and through the shell against
// addr, one after the other, compares what each command printed and
// returns zkCli's steps as printed.
func compareSteps(t *testing.T, addr string, script []string) []testutil.CliStep {
	t.Helper()
	raw := testutil.ZkCliSteps(t, addr, script...)
	zk := normalizeConfig(raw)
	ours := normalizeConfig(shellSteps(t, addr, script...))
	require.Len(t, ours, len(zk))
	for i := range zk {
		assert.Equal(t, zk[i].Output, ours[i].Output, "step %d: %s", i, zk[i].Cmd)
	}
	if t.Failed() || os.Getenv("CLI_TRANSCRIPT") != "" {
		t.Logf("zkCli:\n%s\nwarren cli:\n%s", testutil.FormatCli(zk), testutil.FormatCli(ours))
	}
	return raw
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

// ensembleMember is what the reconfig script needs to know of one member
// of either kind of ensemble.
type ensembleMember struct {
	id                       int64
	addr                     string
	client, quorum, election int
}

// reconfigRun is one run of the reconfig script on one ensemble: zkCli's
// steps as printed, and what normalizeEnsemble needs to compare them with
// another ensemble's.
type reconfigRun struct {
	zkCli []testutil.CliStep
	// roles names each member by its part in the script: "leader", "gone"
	// (the member the script removes and adds back) and "other".
	roles map[int64]string
	// ports maps every port the script and its output show to a name:
	// "<leader.quorum>", "<gone.client>", "<fake.election>", ...
	ports map[int]string
}

// TestReconfigEnsemble changes the membership of a 3-member ensemble with
// zkCli.sh's reconfig, then with the shell's, and compares the transcripts:
// a removal and additions (with -s), a bulk change from a dynamic
// configuration file and one back with -members, and the failures (no
// permission, and without it a stale version and a new configuration
// without a quorum, which ZooKeeper reports first; malformed specs, a
// configuration without voters, a joiner without a client address, the
// removal of a non-member). Each run leaves the ensemble as it found it.
//
// It does so on a Warren ensemble and on a real ZooKeeper 3.8 ensemble,
// side by side, and then compares zkCli's transcript on Warren with its
// transcript on ZooKeeper: the client is the same, so every difference
// that normalizeEnsemble does not explain is a difference between the
// servers.
func TestReconfigEnsemble(t *testing.T) {
	superDigest := testutil.Digest("super", "pw")
	var warren, zookeeper reconfigRun
	t.Run("servers", func(t *testing.T) {
		t.Run("warren", func(t *testing.T) {
			t.Parallel()
			e := testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: 3, Extra: []string{
				"reconfigEnabled=true", "DigestAuthenticationProvider.superDigest=" + superDigest,
			}})
			leader, err := e.WaitLeader(30 * time.Second)
			require.NoError(t, err)
			var members []ensembleMember
			for _, m := range e.Members {
				members = append(members, ensembleMember{m.ID, m.Addr, m.ClientPort, m.QuorumPort, m.ElectionPort})
			}
			warren = runReconfigScript(t, members, leader.ID)
		})
		t.Run("zookeeper", func(t *testing.T) {
			t.Parallel()
			e := testutil.StartZooKeeperEnsemble(t, 3, testutil.ServerConfig{
				SuperDigest: superDigest, Extra: []string{"reconfigEnabled=true"},
			})
			leader, err := e.Leader()
			require.NoError(t, err)
			var members []ensembleMember
			for _, m := range e.Members {
				members = append(members, ensembleMember{m.ID, m.Addr, m.ClientPort, m.QuorumPort, m.ElectionPort})
			}
			zookeeper = runReconfigScript(t, members, leader.ID)
		})
	})
	if t.Failed() {
		return
	}
	zk, ours := normalizeEnsemble(zookeeper), normalizeEnsemble(warren)
	require.Len(t, ours, len(zk))
	for i := range zk {
		assert.Equal(t, zk[i].Output, ours[i].Output, "step %d: %s", i, zk[i].Cmd)
	}
	if t.Failed() || os.Getenv("CLI_TRANSCRIPT") != "" {
		t.Logf("zkCli on ZooKeeper:\n%s\nzkCli on Warren:\n%s", testutil.FormatCli(zk), testutil.FormatCli(ours))
	}
}

// runReconfigScript runs the reconfig script on an ensemble of 3 members
// through zkCli.sh and the shell (see compareSteps), connected to the
// leader and one follower; the other follower is the one it removes and
// adds back.
func runReconfigScript(t *testing.T, members []ensembleMember, leaderID int64) reconfigRun {
	run := reconfigRun{roles: map[int64]string{}, ports: map[int]string{}}
	var gone *ensembleMember
	var stay []string
	for i, m := range members {
		role := "other"
		switch {
		case m.id == leaderID:
			role = "leader"
		case gone == nil:
			role, gone = "gone", &members[i]
		}
		run.roles[m.id] = role
		run.ports[m.client] = "<" + role + ".client>"
		run.ports[m.quorum] = "<" + role + ".quorum>"
		run.ports[m.election] = "<" + role + ".election>"
		if role != "gone" {
			stay = append(stay, m.addr)
		}
	}
	require.NotNil(t, gone)
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
		for _, m := range members {
			if strings.HasPrefix(l, fmt.Sprintf("server.%d=", m.id)) {
				specs[m.id] = l
				all = append(all, l)
				key, value, _ := strings.Cut(l, "=")
				file.WriteString(key + " = " + strings.TrimSuffix(value, ":participant") + ";" + m.addr + "\n")
			}
		}
	}
	require.Len(t, specs, 3, "config %q", cfg)
	for _, l := range all {
		require.NotContains(t, l, ";", "the ensemble's zoo.cfg gives no client addresses")
	}
	dyn := filepath.Join(t.TempDir(), "zoo.cfg.dynamic")
	require.NoError(t, os.WriteFile(dyn, []byte(file.String()), 0o600))
	fakeQuorum, fakeElection, fakeClient := testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t)
	run.ports[fakeQuorum], run.ports[fakeElection], run.ports[fakeClient] = "<fake.quorum>", "<fake.election>", "<fake.client>"
	fake := fmt.Sprintf("server.9=127.0.0.1:%d:%d:participant;127.0.0.1:%d", fakeQuorum, fakeElection, fakeClient)

	script := []string{
		fmt.Sprintf("reconfig -remove %d", gone.id),
		// ZooKeeper checks the permission last: without it, a stale
		// version and a new configuration without a quorum still fail as
		// such.
		fmt.Sprintf("reconfig -v 1 -remove %d", gone.id),
		"reconfig -members " + specs[leaderID] + "," + fake,
		"addauth digest super:pw",
		fmt.Sprintf("reconfig -v 1 -remove %d", gone.id),
		fmt.Sprintf("reconfig -remove %d", gone.id),
		"config",
		// Malformed specs, and a configuration without voters.
		"reconfig -add server.5=nonsense;127.0.0.1:1",
		"reconfig -members server.5=nonsense",
		"reconfig -remove 1,2,3",
		// An incremental add wants the joiner's client address.
		"reconfig -add " + specs[gone.id],
		"reconfig -s -add " + specs[gone.id] + ";" + gone.addr,
		"reconfig -members " + specs[leaderID] + "," + fake,
		"reconfig -members " + strings.Join(all, ","),
		// Removing a server that is not a member changes nothing, which
		// is committed as a new configuration.
		"reconfig -remove 7",
		"reconfig -file " + dyn,
		"config -c",
		"reconfig -s -members " + strings.Join(all, ","),
		"config -c",
	}
	run.zkCli = compareSteps(t, addr, script)

	got, _, err := c.GetConfig(ctx)
	require.NoError(t, err)
	for _, s := range specs {
		assert.Contains(t, string(got), s, "the ensemble is whole again")
	}
	return run
}

var (
	// serverID is the id in a server line of a configuration.
	serverID = regexp.MustCompile(`^server\.(\d+)=`)
	// portNumber is a port in a server spec or a client address.
	portNumber = regexp.MustCompile(`:(\d+)`)
)

// normalizeEnsemble rewrites zkCli's steps of one run so that runs on two
// ensembles compare, on top of normalizeConfig's rewriting of zxids and
// versions:
//
//   - the ports, which each ensemble picks at random, become names by the
//     member's role ("<leader.quorum>", "<gone.client>", ...);
//   - server ids become roles too ("server.leader="): the script's roles
//     go by which member leads, and which id wins an election is each
//     server's own business (ZooKeeper's prefers the highest id among equals;
//     Warren need not), so the same role may have different ids;
//   - for the same reason, the server lines of a configuration are sorted
//     (servers print them in id order), and so are the client addresses of
//     config -c (which zkCli prints in the hash order of their server.N keys).
func normalizeEnsemble(run reconfigRun) []testutil.CliStep {
	steps := normalizeConfig(run.zkCli)
	for i := range steps {
		out := steps[i].Output
		for j, l := range out {
			l = serverID.ReplaceAllStringFunc(l, func(m string) string {
				id, err := strconv.ParseInt(serverID.FindStringSubmatch(m)[1], 10, 64)
				if role, ok := run.roles[id]; ok && err == nil {
					return "server." + role + "="
				}
				return m
			})
			l = portNumber.ReplaceAllStringFunc(l, func(m string) string {
				port, err := strconv.Atoi(m[1:])
				if name, ok := run.ports[port]; ok && err == nil {
					return ":" + name
				}
				return m
			})
			if steps[i].Cmd == "config -c" {
				if v, addrs, ok := strings.Cut(l, " "); ok {
					list := strings.Split(addrs, ",")
					sort.Strings(list)
					l = v + " " + strings.Join(list, ",")
				}
			}
			out[j] = l
		}
		for j := 0; j < len(out); {
			k := j
			for k < len(out) && strings.HasPrefix(out[k], "server.") {
				k++
			}
			sort.Strings(out[j:k])
			j = max(k, j+1)
		}
	}
	return steps
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
