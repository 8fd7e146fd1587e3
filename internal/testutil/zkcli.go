package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ZkCliPath is Debian's zkCli.sh (ZooKeeper 3.8's command-line client).
const ZkCliPath = "/usr/share/zookeeper/bin/zkCli.sh"

// zkCliJVMFlags make the client JVM start quickly; zkCli.sh passes
// CLIENT_JVMFLAGS to java.
const zkCliJVMFlags = "-Xmx128m -Xss512k -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto"

// The barrier ZkCliSteps runs before the first and after every command.
// zkCli's sync is asynchronous and its callback runs on the client's event
// thread after every watch event that arrived before the sync reply, so once
// "Sync is OK" is printed, the events caused by the previous command have
// been printed too. printwatches (no argument) then prints a marker line
// from the main thread. The barrier's two lines end a step.
var barrier = []string{"sync /", "printwatches"}

var (
	// barrierResult is the first line of a barrier: the sync's outcome.
	barrierResult = regexp.MustCompile(`^(Sync is OK|Sync has failed\. rc=-?\d+|Not connected)$`)
	// barrierMarker is the second line of a barrier.
	barrierMarker = regexp.MustCompile(`^printwatches is (on|off)$`)
	// logLine matches a log record that leaked onto the console.
	logLine = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}`)
)

// CliStep is one zkCli command and what it printed.
type CliStep struct {
	// Cmd is the command as sent (after $ADDR substitution).
	Cmd string
	// Output has the lines the command printed, stdout and stderr in order.
	Output []string
	// Events has the watch events delivered while the command ran, in order,
	// as zkCli prints them without the "WatchedEvent " prefix
	// ("state:SyncConnected type:NodeDataChanged path:/a"). Connection-state
	// events (type:None) are dropped: when they print relative to other
	// output is racy, and the suites test sessions through other means.
	Events []string
}

// ZkCli runs commands in one zkCli.sh session against addr and returns the
// cleaned transcript (see FormatCli).
func ZkCli(t testing.TB, addr string, commands ...string) string {
	t.Helper()
	return FormatCli(ZkCliSteps(t, addr, commands...))
}

// ZkCliSteps runs commands in one zkCli.sh session (one JVM, commands on
// stdin) against addr and returns what each printed; any problem fails the
// test. See RunZkCli.
func ZkCliSteps(t testing.TB, addr string, commands ...string) []CliStep {
	t.Helper()
	steps, err := RunZkCli(context.Background(), addr, commands...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return steps
}

// RunZkCli runs commands in one zkCli.sh session (one JVM, commands on
// stdin) against addr and returns what each printed. "$ADDR" in a command is
// replaced by addr (for connect). The session ends with quit, which RunZkCli
// appends; quit, history and redo may not appear in commands (history and
// redo would see the barrier commands). It reports problems as errors, so
// it may run on any goroutine.
//
// The transcript is deterministic: a barrier after every command (see
// barrier) waits for the command's watch events, event lines are separated
// from command output, and log noise (SLF4J notices, JLine and connection
// banners) is removed.
func RunZkCli(ctx context.Context, addr string, commands ...string) ([]CliStep, error) {
	if _, err := os.Stat(ZkCliPath); err != nil {
		return nil, fmt.Errorf("zkCli.sh missing (%w): %s", err, depsHint)
	}
	cmds := make([]string, len(commands))
	var script strings.Builder
	script.WriteString(strings.Join(barrier, "\n") + "\n")
	for i, c := range commands {
		c = strings.ReplaceAll(c, "$ADDR", addr)
		if err := checkCliCommand(c); err != nil {
			return nil, fmt.Errorf("zkCli command %d: %w", i, err)
		}
		cmds[i] = c
		script.WriteString(c + "\n")
		script.WriteString(strings.Join(barrier, "\n") + "\n")
	}
	script.WriteString("quit\n")

	timeout := 60*time.Second + time.Duration(len(cmds))*time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ZkCliPath, "-server", addr)
	cmd.Env = append(os.Environ(), "CLIENT_JVMFLAGS="+zkCliJVMFlags, "JVMFLAGS=")
	cmd.Stdin = strings.NewReader(script.String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out // one pipe keeps stdout and stderr in order
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("zkCli.sh -server %s: %w; output:\n%s", addr, ctx.Err(), out.String())
	}
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		return nil, fmt.Errorf("zkCli.sh -server %s: %w", addr, runErr)
	}
	// A non-zero exit status only reflects the last command's outcome.
	steps, err := parseCliOutput(out.String(), cmds)
	if err != nil {
		return nil, fmt.Errorf("zkCli.sh -server %s: %w\nraw output:\n%s", addr, err, out.String())
	}
	return steps, nil
}

func checkCliCommand(c string) error {
	if strings.ContainsAny(c, "\r\n") {
		return fmt.Errorf("%q: one line per command", c)
	}
	switch strings.Fields(c + " x")[0] {
	case "quit":
		return fmt.Errorf("%q: ZkCliSteps ends the session itself", c)
	case "history", "redo":
		return fmt.Errorf("%q: would see ZkCliSteps' barrier commands", c)
	}
	return nil
}

type cliLine struct {
	text  string
	event bool
}

// parseCliOutput splits zkCli's combined output into one step per command.
func parseCliOutput(raw string, cmds []string) ([]CliStep, error) {
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	var lines []cliLine
	for _, l := range strings.Split(strings.TrimSuffix(raw, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "SLF4J: "), logLine.MatchString(l):
			continue
		case l == "JLine support is enabled":
			return nil, errors.New("zkCli.sh started JLine (prompts would pollute the transcript); expected Debian's JLine-less class path")
		case l == "WATCHER::", strings.HasPrefix(l, "WatchedEvent "):
			// The event thread prints "\nWATCHER::" and "\n<event>" with one
			// println each, so the blank line right before belongs to it.
			if n := len(lines); n > 0 && !lines[n-1].event && lines[n-1].text == "" {
				lines = lines[:n-1]
			}
			if l != "WATCHER::" {
				lines = append(lines, cliLine{text: strings.TrimPrefix(l, "WatchedEvent "), event: true})
			}
		default:
			lines = append(lines, cliLine{text: l})
		}
	}

	// segments[0] is the preamble (banners, the connection event); segment
	// i+1 belongs to cmds[i]. A segment ends at a barrier result line
	// followed by the barrier marker.
	//
	// zkCli checks the connection after printwatches too, so while the
	// session is closed the barrier's printwatches also prints "Not
	// connected" right after its marker; that line is the barrier's, not the
	// next command's.
	var segments [][]cliLine
	var cur []cliLine
	lastMain := -1 // index in cur of the latest non-event line
	barrierNotConnected := false
	for _, l := range lines {
		if !l.event && barrierNotConnected {
			barrierNotConnected = false
			if l.text == "Not connected" {
				continue
			}
		}
		if !l.event && barrierMarker.MatchString(l.text) && lastMain >= 0 && barrierResult.MatchString(cur[lastMain].text) {
			barrierNotConnected = cur[lastMain].text == "Not connected"
			seg := append(append([]cliLine{}, cur[:lastMain]...), cur[lastMain+1:]...)
			segments = append(segments, seg)
			cur, lastMain = nil, -1
			continue
		}
		cur = append(cur, l)
		if !l.event {
			lastMain = len(cur) - 1
		}
	}
	if len(segments) != len(cmds)+1 {
		return nil, fmt.Errorf("found %d barriers, want %d: did a command end the session or hang?", len(segments), len(cmds)+1)
	}

	steps := make([]CliStep, len(cmds))
	for i, c := range cmds {
		step := CliStep{Cmd: c, Output: []string{}, Events: []string{}}
		for _, l := range segments[i+1] {
			switch {
			case l.event && strings.Contains(l.text, " type:None "):
			case l.event:
				step.Events = append(step.Events, l.text)
			default:
				step.Output = append(step.Output, l.text)
			}
		}
		steps[i] = step
	}
	return steps, nil
}

// FormatCli renders steps as a transcript: each command on a line starting
// with "> ", then its output lines, then its events as "WATCHER:: <event>".
func FormatCli(steps []CliStep) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString("> " + s.Cmd + "\n")
		for _, l := range s.Output {
			b.WriteString(l + "\n")
		}
		for _, e := range s.Events {
			b.WriteString("WATCHER:: " + e + "\n")
		}
	}
	return b.String()
}

// ZkCliSASL runs one zkCli.sh command (given as its words) as a SASL
// DIGEST-MD5 user: the JVM gets a JAAS Client section for user/password and
// zookeeper.sasl.client=true. It returns everything zkCli printed; a
// non-zero exit is not an error (zkCli exits 1 when a command fails).
func ZkCliSASL(t testing.TB, addr, user, password string, words ...string) string {
	t.Helper()
	jaasPath := filepath.Join(t.TempDir(), "client.jaas")
	src := fmt.Sprintf("Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  username=%q\n  password=%q;\n};\n", user, password)
	if err := os.WriteFile(jaasPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ZkCliPath, append([]string{"-server", addr}, words...)...)
	cmd.Env = append(os.Environ(), "JVMFLAGS=",
		"CLIENT_JVMFLAGS="+zkCliJVMFlags+" -Dzookeeper.sasl.client=true -Djava.security.auth.login.config="+jaasPath)
	// zkCli.sh starts java as a child: kill the whole process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("zkCli.sh timed out; output:\n%s", out.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("zkCli.sh: %v\n%s", err, out.String())
	}
	return out.String()
}
