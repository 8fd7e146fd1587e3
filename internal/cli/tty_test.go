package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/cli"
	"github.com/warrenhq/warren/internal/testutil"
)

// openPTY opens a pseudo-terminal pair (master, slave).
func openPTY(t *testing.T) (*os.File, *os.File) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	require.NoError(t, err)
	var unlock int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock)))
	require.Zero(t, errno, "unlockpt")
	var n uint32
	_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n)))
	require.Zero(t, errno, "ptsname")
	slave, err := os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	// An 80×24 window: readline does not complete on a terminal of width 0.
	size := [4]uint16{24, 80, 0, 0}
	_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&size)))
	require.Zero(t, errno, "TIOCSWINSZ")
	t.Cleanup(func() { _ = master.Close(); _ = slave.Close() })
	return master, slave
}

// testTerminal runs the binary on a terminal: prompt, line editing, and
// the history file in $HOME, and Tab completing a path.
func testTerminal(t *testing.T, addr string) {
	master, slave := openPTY(t)
	home := t.TempDir()
	cmd := exec.CommandContext(ctxT(t), testutil.WarrenBinary(t), "cli", "--server", addr)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	_ = slave.Close()

	var out syncBuffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			_, _ = out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(s string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), s) {
			require.True(t, time.Now().Before(deadline), "waiting for %q in:\n%s", s, out.String())
			time.Sleep(20 * time.Millisecond)
		}
	}
	prompt := "[zk: " + addr + "(CONNECTED) "
	waitFor(prompt + "0] ")
	// Tab completes "/tt" to the one child that matches.
	for i, line := range []string{"create /tty hello", "get /tt\t", "delete /tty"} {
		_, err := master.WriteString(line + "\r")
		require.NoError(t, err)
		waitFor(prompt + strconv.Itoa(i+1) + "] ")
	}
	_, err := master.WriteString("quit\r")
	require.NoError(t, err)
	require.NoError(t, cmd.Wait())
	text := out.String()
	assert.Contains(t, text, "Created /tty")
	assert.Contains(t, text, "hello")
	history, err := os.ReadFile(filepath.Join(home, cli.HistoryFile))
	require.NoError(t, err)
	assert.Equal(t, "create /tty hello\nget /tty\ndelete /tty\nquit\n", string(history))
}
