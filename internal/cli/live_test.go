package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/cli"
	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

// syncBuffer is a bytes.Buffer safe for the shell's event goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// interruptSignal stops `warren cli watch`.
var interruptSignal = os.Interrupt

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// runShell runs script (one command a line) in one in-process shell
// against addr, stdout and stderr in one buffer, and returns what it
// printed after connecting and the status of the last command.
func runShell(t *testing.T, addr, script string) (string, int) {
	t.Helper()
	var out syncBuffer
	s := cli.New(cli.Config{Server: addr, Timeout: 20 * time.Second, Stdout: &out, Stderr: &out, Quiet: true})
	require.NoError(t, s.Connect(ctxT(t), ""))
	code := s.RunScript(ctxT(t), strings.NewReader(script))
	s.Close()
	return out.String(), code
}

// The barrier RunZkCli puts around every command (see testutil/zkcli.go):
// its two lines end a step.
var (
	barrier        = "sync /\nprintwatches\n"
	barrierResult  = regexp.MustCompile(`^(Sync is OK|Sync has failed\. rc=-?\d+|Not connected)$`)
	barrierMarker  = regexp.MustCompile(`^printwatches is (on|off)$`)
	eventLine      = regexp.MustCompile(`^WatchedEvent (.*)$`)
	connectionLine = regexp.MustCompile(` type:None `)
)

// shellSteps runs commands in one in-process shell, with the barrier
// around each as RunZkCli does, and splits the output into steps the same
// way. Event lines go to the step where they were printed.
func shellSteps(t *testing.T, addr string, commands ...string) []testutil.CliStep {
	t.Helper()
	var out syncBuffer
	s := cli.New(cli.Config{Server: addr, Timeout: 20 * time.Second, Stdout: &out, Stderr: &out})
	require.NoError(t, s.Connect(ctxT(t), ""))
	var script strings.Builder
	script.WriteString(barrier)
	for _, c := range commands {
		script.WriteString(strings.ReplaceAll(c, "$ADDR", addr) + "\n" + barrier)
	}
	s.RunScript(ctxT(t), strings.NewReader(script.String()))
	s.Close()

	type line struct {
		text  string
		event bool
	}
	var lines []line
	raw := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for i, l := range raw {
		next := ""
		if i+1 < len(raw) {
			next = raw[i+1]
		}
		switch {
		case l == "" && (next == "WATCHER::" || eventLine.MatchString(next)):
		case l == "WATCHER::":
		case eventLine.MatchString(l):
			lines = append(lines, line{text: eventLine.FindStringSubmatch(l)[1], event: true})
		default:
			lines = append(lines, line{text: l})
		}
	}
	var segments [][]line
	var cur []line
	lastMain := -1
	notConnected := false
	for _, l := range lines {
		if !l.event && notConnected {
			notConnected = false
			if l.text == "Not connected" {
				continue
			}
		}
		if !l.event && barrierMarker.MatchString(l.text) && lastMain >= 0 && barrierResult.MatchString(cur[lastMain].text) {
			notConnected = cur[lastMain].text == "Not connected"
			segments = append(segments, append(append([]line{}, cur[:lastMain]...), cur[lastMain+1:]...))
			cur, lastMain = nil, -1
			continue
		}
		cur = append(cur, l)
		if !l.event {
			lastMain = len(cur) - 1
		}
	}
	require.Len(t, segments, len(commands)+1, "barriers in:\n%s", out.String())
	steps := make([]testutil.CliStep, len(commands))
	for i, c := range commands {
		st := testutil.CliStep{Cmd: c, Output: []string{}, Events: []string{}}
		for _, l := range segments[i+1] {
			switch {
			case l.event && connectionLine.MatchString(l.text):
			case l.event:
				st.Events = append(st.Events, l.text)
			default:
				st.Output = append(st.Output, l.text)
			}
		}
		steps[i] = st
	}
	return steps
}

// compareScript exercises most commands, their flags and their errors;
// $R is the test's root node.
var compareScript = []string{
	"create $R",
	"create $R/a hello",
	"create $R/a again",
	"get $R/a",
	"get -s $R/a",
	"stat $R/a",
	"ls $R",
	"ls -s $R",
	"set $R/a world",
	"set -s $R/a x",
	"set -v 7 $R/a y",
	"set $R/a",
	"get $R/missing",
	"stat $R/missing",
	"delete $R/missing",
	"create $R/a/b",
	"delete $R/a",
	"create $R/n",
	"get $R/n",
	"delete -v 3 $R/n",
	"delete -v 0 $R/n",
	`create $R/q "hello world"`,
	"get $R/q",
	"create -e $R/eph",
	"create -e $R/eph/c",
	"create -s $R/seq- x",
	"create -e -s $R/eseq- y",
	"create -c $R/cont",
	"create -c -e $R/x",
	"create -t 5000 $R/ttl",
	"create -t abc $R/ttl2",
	"create -t 1000 -e $R/ttl3",
	"create -t",
	"create $R/acl1 x world:anyone",
	"create $R/acl2 x world:anyone:r",
	"getAcl $R/acl2",
	"set $R/acl2 y",
	"getEphemerals $R",
	"getEphemerals $R/nothing",
	"getAllChildrenNumber $R",
	"getAllChildrenNumber $R/missing",
	"ls -R $R",
	"ls -R $R/missing",
	"sync $R",
	"getAcl $R/a",
	"getAcl -s $R/a",
	"getAcl $R/missing",
	"setAcl -s -v 0 $R/a world:anyone:cdrwa",
	"setAcl -v 9 $R/a world:anyone:cdrwa",
	"setAcl $R/a world:anyone",
	"setAcl $R/a foo:bar:r",
	"setAcl $R/a world:anyone:cdrw",
	"getAcl $R/a",
	"setAcl $R/a world:anyone:cdrwa",
	"create $R/r",
	"create $R/r/s",
	"setAcl -R $R/r world:anyone:r",
	"getAcl $R/r/s",
	"set $R/r/s data",
	"addauth digest u:p",
	"create $R/d x digest:" + testutil.Digest("u", "p") + ":cdrwa",
	"getAcl $R/d",
	"get $R/d",
	"whoami",
	"printwatches",
	"printwatches off",
	"printwatches",
	"printwatches on",
	"get -w $R/a",
	"set $R/a w1",
	"ls -w $R/a",
	"create $R/a/w",
	"stat -w $R/nw",
	"create $R/nw",
	"addWatch $R/pw",
	"create $R/pw",
	"create $R/pw/c",
	"set $R/pw/c 1",
	"delete $R/pw/c",
	"removewatches $R/pw",
	"removewatches $R/pw",
	"removewatches $R/none",
	"addWatch -m PERSISTENT $R/p2",
	"create $R/p2",
	"create $R/p2/c",
	"set $R/p2 v",
	"removewatches $R/p2 -a",
	"get -w $R/a",
	"removewatches $R/a -d",
	"set $R/a w2",
	"ls -w $R/a",
	"removewatches $R/a -c",
	"removewatches $R/a -x",
	"addWatch -m FOO $R/a",
	"deleteall $R/a -b x",
	"deleteall $R/a -b 2",
	"deleteall $R/missing",
	"deleteall",
	"ls $R",
	"config",
	"config -c",
	"config -s",
	"config -w",
	"getEphemerals",
	"ls $R/q watch",
	"create $R/q/child",
	"stat -w $R/q",
	"set -s -v 0 $R/q z",
	"get $R/q w",
	"delete $R/q/child 0",
	"ls -R -w $R/p2",
	"create $R/p2/c/d",
	"sync nopath",
	"create $R/dd",
	"get -w $R/dd",
	"stat -w $R/dd",
	"ls -w $R/dd",
	"set $R/dd x",
	"get -w $R/dd",
	"ls -w $R/dd",
	"delete $R/dd",
	"stat -w $R/dd",
	"create $R/dd",
	"ls -x $R",
	"ls",
	"get",
	"stat",
	"delete",
	"sync",
	"getAllChildrenNumber",
	"addauth",
	"removewatches",
	"addWatch",
	"ls nopath",
	"create nopath",
	"get $R//a",
	// Quotas: ZooKeeper's layout under /zookeeper/quota, the usage the
	// server keeps in zookeeper_stats, the checks and messages.
	"create $R/qt q",
	"create $R/qt/a abc",
	"create $R/qt/a/b",
	"listquota $R/qt",
	"setquota $R/qt",
	"setquota -n 5",
	"setquota -n 5 -b 10 $R/qt",
	"setquota -n 0 $R/qt",
	"setquota -N -3 $R/qt",
	"setquota -n x $R/qt",
	"setquota -b -1 $R/qt",
	"setquota -B 12345678901234567890 $R/qt",
	"setquota -n 5 /zookeeper/quota/x",
	"setquota -n 5 $R/nothing",
	"setquota -n 5 nopath",
	"setquota -n 2 /",
	"setquota -n 5 $R/qt/a",
	"listquota $R/qt/a",
	"get /zookeeper/quota$R/qt/a/zookeeper_limits",
	"get /zookeeper/quota$R/qt/a/zookeeper_stats",
	"ls -R /zookeeper/quota$R",
	"setquota -n 1 $R/qt",
	"setquota -b 1 $R/qt/a/b",
	"setquota -b 2 $R/qt/a",
	"setquota -N 1 $R/qt/a",
	"setquota -B 100 $R/qt/a",
	"listquota $R/qt/a",
	"create $R/qt/a/c 12345",
	"set $R/qt/a/b 1234567",
	"listquota $R/qt/a",
	"delete $R/qt/a/c",
	"listquota $R/qt/a",
	"delquota -n -b $R/qt/a",
	"delquota -x $R/qt/a",
	"delquota -n $R/qt/a",
	"listquota $R/qt/a",
	"delquota -B $R/qt/a",
	"get /zookeeper/quota$R/qt/a/zookeeper_limits",
	"delquota $R/qt/a",
	"listquota $R/qt/a",
	"ls /zookeeper/quota$R",
	"delquota $R/qt/a",
	"setquota -b 10 $R/qt/a/b",
	"setquota -n 3 $R/qt",
	"delquota $R/qt/a/b",
	"ls /zookeeper/quota$R/qt",
	"delquota -N $R/qt",
	"delquota $R/qt",
	"delquota",
	"listquota",
	"listquota nopath",
	"listquota /",
	"delquota nopath",
	"delquota $R/",
	// reconfig on a standalone server without reconfigEnabled, and its
	// parse errors.
	"reconfig",
	"reconfig -remove 3",
	"reconfig -s -v 100000000 -add server.5=127.0.0.1:1:2;3",
	"reconfig -v zz -remove 3",
	"reconfig -add x -members y",
	"reconfig -file a -members b",
	"reconfig -file /nonexistent/dynamic.cfg",
	"reconfig -add",
	"reconfig -add -remove 2",
	"reconfig -x",
	"version x",
	"close",
	"version",
	"ls $R",
	"connect $ADDR",
	"ls $R/a",
	"ls $R/q",
}

// cliRoots are the roots of zkCli's and the shell's runs; normalize maps
// both to one name.
const zkRoot, shellRoot, anyRoot = "/cmpzk", "/cmpwc", "/cmpR"

func withRoot(script []string, root string) []string {
	out := make([]string, len(script))
	for i, c := range script {
		out[i] = strings.ReplaceAll(c, "$R", root)
	}
	return out
}

func normalize(steps []testutil.CliStep, root string) []testutil.CliStep {
	steps = testutil.NormalizeCli(steps)
	for i := range steps {
		steps[i].Cmd = strings.ReplaceAll(steps[i].Cmd, root, anyRoot)
		for j, l := range steps[i].Output {
			steps[i].Output[j] = strings.ReplaceAll(l, root, anyRoot)
		}
		for j, l := range steps[i].Events {
			steps[i].Events[j] = strings.ReplaceAll(l, root, anyRoot)
		}
	}
	return steps
}

func allEvents(steps []testutil.CliStep) []string {
	var evs []string
	for _, s := range steps {
		evs = append(evs, s.Events...)
	}
	slices.Sort(evs)
	return evs
}

// testMatchesZkCli runs compareScript through the real zkCli.sh and
// through the shell against the same server and compares what each
// command printed (zxids, times and session ids normalized), and the watch
// events over the whole session (the step an event prints in is racy in
// both: events come from another goroutine).
func testMatchesZkCli(t *testing.T, addr string) {
	zk := normalize(testutil.ZkCliSteps(t, addr, withRoot(compareScript, zkRoot)...), zkRoot)
	ours := normalize(shellSteps(t, addr, withRoot(compareScript, shellRoot)...), shellRoot)
	require.Len(t, ours, len(zk))
	for i := range zk {
		assert.Equal(t, zk[i].Output, ours[i].Output, "step %d: %s", i, zk[i].Cmd)
	}
	assert.Equal(t, allEvents(zk), allEvents(ours), "watch events")
	if t.Failed() || os.Getenv("CLI_TRANSCRIPT") != "" {
		t.Logf("zkCli:\n%s\nwarren cli:\n%s", testutil.FormatCli(zk), testutil.FormatCli(ours))
	}
}

// testLocalCommands covers what the zkCli comparison cannot: history,
// redo, help, quit, and the usage list.
func testLocalCommands(t *testing.T, addr string) {
	out, code := runShell(t, addr, strings.Join([]string{
		"create /hist a",
		"get /hist",
		"set /hist b",
		"history",
		"redo 1",
		"redo 3",
		"redo 99",
		"redo x",
		"redo 6",
		"help",
		"foo",
		"quit",
		"get /hist",
	}, "\n"))
	assert.Equal(t, cli.ExitOK, code, "the last command run is quit")
	assert.Contains(t, out, "Created /hist\na\n0 - create /hist a\n1 - get /hist\n2 - set /hist b\n3 - history\nb\n"+
		"0 - create /hist a\n1 - get /hist\n2 - set /hist b\n3 - history\n4 - get /hist\n5 - history\n"+
		"Command index out of range\nredo cmdno: cmdno must be a number\nNo redoing redos\n")
	assert.Contains(t, out, "ZooKeeper -server host:port -client-configuration properties-file cmd args\n\taddWatch [-m mode] path")
	assert.Contains(t, out, "\tsetAcl [-s] [-v version] [-R] path acl\n")
	assert.True(t, strings.HasSuffix(out, "Command not found: Command not found foo\n"), "quit stops the script:\n%s", out)

	// zkCli 3.8 prints this message or nothing (its batched deletes race
	// their callbacks); the shell always prints it and fails.
	out, code = runShell(t, addr, "create /da\ncreate /da/x\nsetAcl /da world:anyone:r\ndeleteall /da\n")
	assert.Equal(t, cli.ExitFailed, code)
	assert.Equal(t, "Created /da\nCreated /da/x\nFailed to delete some node(s) in the subtree!\n", out)

	// The status of a script is the last command's.
	_, code = runShell(t, addr, "get /hist\nget /nothing-here\n")
	assert.Equal(t, cli.ExitFailed, code)
	_, code = runShell(t, addr, "get /nothing-here\nls\n")
	assert.Equal(t, cli.ExitUsage, code)
}

type oneShotCase struct {
	args   []string
	code   int
	stdout string
	stderr string
}

// testOneShot runs the binary in one-shot mode and checks statuses and
// output.
func testOneShot(t *testing.T, addr string) {
	bin := testutil.WarrenBinary(t)
	dead := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	for _, c := range []oneShotCase{
		{args: []string{"create", "/one", "x"}, stderr: "Created /one\n"},
		{args: []string{"get", "/one"}, stdout: "x\n"},
		{args: []string{"set", "-v", "0", "/one", "y"}},
		{args: []string{"set", "-v", "0", "/one", "z"}, code: cli.ExitFailed, stderr: "version No is not valid : /one\n"},
		{args: []string{"get", "/one/missing"}, code: cli.ExitFailed, stderr: "Node does not exist: /one/missing\n"},
		{args: []string{"create", "/one"}, code: cli.ExitFailed, stderr: "Node already exists: /one\n"},
		{args: []string{"ls", "/one"}, stdout: "[]\n"},
		{args: []string{"setquota", "-n", "2", "/one"}},
		{args: []string{"listquota", "/one"}, stderr: "absolute path is /zookeeper/quota/one/zookeeper_limits\n",
			stdout: "Output quota for /one count=2,bytes=-1=;byteHardLimit=-1;countHardLimit=-1\nOutput stat for /one count=1,bytes=1\n"},
		{args: []string{"setquota", "-n", "0", "/one"}, code: cli.ExitUsage, stderr: "the num quota must be greater than zero\n"},
		{args: []string{"setquota", "-b", "9", "/one/missing"}, code: cli.ExitFailed, stderr: "/one/missing does not exist.\n"},
		{args: []string{"delquota", "/one"}},
		{args: []string{"delquota", "/one"}, stdout: "Quota does not exist for /one\n"},
		{args: []string{"listquota", "/one"}, code: cli.ExitFailed,
			stderr: "absolute path is /zookeeper/quota/one/zookeeper_limits\nquota for /one does not exist.\n"},
		{args: []string{"reconfig", "-remove", "3"}, code: cli.ExitFailed, stderr: "KeeperErrorCode = Reconfig is disabled\n"},
		{args: []string{"reconfig", "-s"}, code: cli.ExitUsage, stderr: "reconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | " +
			"[-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]\n"},
		{args: []string{"get"}, code: cli.ExitUsage, stderr: "get [-s] [-w] path\n"},
		{args: []string{"ls", "-x", "/"}, code: cli.ExitUsage, stderr: "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x\n"},
		{args: []string{"get", "one"}, code: cli.ExitUsage, stderr: "Path must start with / character\n"},
		{args: []string{"set", "-v", "x", "/one", "y"}, code: cli.ExitUsage, stderr: "-v argument must be an int value\n"},
		{args: []string{"delete", "-v", "x", "/one"}, code: cli.ExitUsage, stderr: "-v argument must be an int value\n"},
		{args: []string{"deleteall", "/one"}},
		{args: []string{"stat", "/one"}, code: cli.ExitFailed, stderr: "Node does not exist: /one\n"},
	} {
		t.Run(strings.Join(c.args, "_"), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctxT(t), bin, append([]string{"cli", "--server", addr}, c.args...)...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, c.code, code, "stderr: %s", stderr.String())
			assert.Equal(t, c.stdout, stdout.String())
			assert.Equal(t, c.stderr, stderr.String())
		})
	}
	// An unknown command needs no server; an unreachable server is 3.
	cmd := exec.CommandContext(ctxT(t), bin, "cli", "--server", dead, "frobnicate", "/x")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, cli.ExitUsage, ee.ExitCode())
	assert.Contains(t, string(out), "Command not found: Command not found frobnicate")

	cmd = exec.CommandContext(ctxT(t), bin, "cli", "--server", dead, "--timeout", "1s", "ls", "/")
	out, err = cmd.CombinedOutput()
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, cli.ExitConnect, ee.ExitCode())
	assert.Contains(t, string(out), "Unable to connect to "+dead)

	// A script piped in: no prompt, zkCli's output, the last status.
	cmd = exec.CommandContext(ctxT(t), bin, "cli", "--server", addr)
	cmd.Stdin = strings.NewReader("create /piped p\nget /piped\ndelete /piped\nget /piped\n")
	out, err = cmd.CombinedOutput()
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, cli.ExitFailed, ee.ExitCode())
	assert.Contains(t, string(out), "Created /piped\np\nNode does not exist: /piped\n")
}

// testWatchMode runs `warren cli watch`, changes the tree with the sdk and
// reads the lines the command prints, then interrupts it.
func testWatchMode(t *testing.T, addr string) {
	w := startWatch(t, "--server", addr, "/wm")
	assert.Contains(t, w.next(), "watching /wm (session 0x")

	c, err := sdk.Connect(ctxT(t), addr)
	require.NoError(t, err)
	defer c.Close()
	ctx := ctxT(t)
	_, _, err = c.Create(ctx, "/wm", []byte("abc"), sdk.CreateOptions{})
	require.NoError(t, err)
	_, _, err = c.Create(ctx, "/wm/child", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Set(ctx, "/wm/child", []byte("12345"), -1)
	require.NoError(t, err)
	require.NoError(t, c.Delete(ctx, "/wm/child", -1))
	_, err = c.Set(ctx, "/other", nil, -1) // outside the watch: no line
	require.ErrorIs(t, err, sdk.ErrNoNode)
	require.NoError(t, c.Delete(ctx, "/wm", -1))

	// The version and length of a created or changed node are read after
	// the event, so a later change may already show; the event lines are
	// exact.
	assert.Regexp(t, `^NodeCreated /wm( version=\d+ length=\d+)?$`, w.next())
	assert.Regexp(t, `^NodeCreated /wm/child( version=\d+ length=\d+)?$`, w.next())
	assert.Regexp(t, `^NodeDataChanged /wm/child( version=1 length=5)?$`, w.next())
	assert.Equal(t, "NodeDeleted /wm/child", w.next())
	assert.Equal(t, "NodeDeleted /wm", w.next())

	require.NoError(t, w.cmd.Process.Signal(interruptSignal))
	require.NoError(t, w.cmd.Wait(), "an interrupted watch exits 0; stderr: %s", w.stderr.String())
	_, _ = io.Copy(io.Discard, w.stdout)
}

// TestAgainstServers runs every suite against Warren and Apache ZooKeeper
// 3.8.
func TestAgainstServers(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			t.Parallel()
			addr := tg.Start(t, testutil.ServerConfig{ExtendedTypes: true, ContainerCheckInterval: time.Hour})
			t.Run("MatchesZkCli", func(t *testing.T) { testMatchesZkCli(t, addr) })
			t.Run("LocalCommands", func(t *testing.T) { testLocalCommands(t, addr) })
			t.Run("OneShot", func(t *testing.T) { testOneShot(t, addr) })
			t.Run("WatchMode", func(t *testing.T) { testWatchMode(t, addr) })
			t.Run("Reconnect", func(t *testing.T) { testReconnect(t, addr) })
			t.Run("Expiry", func(t *testing.T) { testExpiry(t, addr) })
			t.Run("Terminal", func(t *testing.T) { testTerminal(t, addr) })
			t.Run("Complete", func(t *testing.T) { testComplete(t, addr) })
		})
	}
}
