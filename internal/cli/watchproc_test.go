package cli_test

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
)

// watchProc is a running `warren cli watch` whose output lines a test reads.
type watchProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout io.Reader
	lines  *bufio.Scanner
	stderr syncBuffer
}

// startWatch runs `warren cli watch` with args; the test's cleanup kills
// it. The client's debug log goes to stderr, which a failed read shows.
func startWatch(t *testing.T, args ...string) *watchProc {
	t.Helper()
	cmd := exec.CommandContext(ctxT(t), testutil.WarrenBinary(t), append([]string{"cli", "watch", "--log-level", "debug"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	w := &watchProc{t: t, cmd: cmd, stdout: stdout, lines: bufio.NewScanner(stdout)}
	cmd.Stderr = &w.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return w
}

// next returns the next line without its leading time ("<time> <rest>").
func (w *watchProc) next() string {
	w.t.Helper()
	require.True(w.t, w.lines.Scan(), "watch ended; stderr: %s", w.stderr.String())
	_, rest, ok := strings.Cut(w.lines.Text(), " ")
	require.True(w.t, ok, w.lines.Text())
	return rest
}

// rest returns the remaining lines, without their times, until the command
// closes its output.
func (w *watchProc) rest() []string {
	var out []string
	for w.lines.Scan() {
		_, l, _ := strings.Cut(w.lines.Text(), " ")
		out = append(out, l)
	}
	return out
}
