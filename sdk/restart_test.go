package sdk_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

// resumeAcrossRestart sets a one-shot watch, a recursive watch and an
// ephemeral node, lets restart bring the server down and up again, and
// checks that the session, the ephemeral and both watches survived.
func resumeAcrossRestart(t *testing.T, addr string, restart func()) {
	ctx := ctxT(t)
	c := connect(t, addr)
	states := c.States()
	sid := c.SessionID()
	_, _, err := c.Create(ctx, "/rs", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	_, _, err = c.Create(ctx, "/rs/eph", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral})
	require.NoError(t, err)
	_, _, ch, err := c.GetW(ctx, "/rs")
	require.NoError(t, err)
	rw, err := c.AddWatch(ctx, "/rs", true)
	require.NoError(t, err)

	restart()
	waitState(t, states, sdk.StateSuspended)
	// A restarting server may accept connections before it serves (Apache
	// ZooKeeper closes them) and starts slowly on a loaded machine: the
	// client keeps trying within its 20 s session timeout.
	waitStateWithin(t, states, sdk.StateReconnected, 40*time.Second)
	assert.Equal(t, sid, c.SessionID(), "session resumed")

	other := connect(t, addr)
	_, ok, err := other.Exists(ctx, "/rs/eph")
	require.NoError(t, err)
	assert.True(t, ok, "the ephemeral survived the restart")
	_, err = other.Set(ctx, "/rs", []byte("x"), -1)
	require.NoError(t, err)
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeDataChanged, Path: "/rs"}, event(t, ch))
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeDataChanged, Path: "/rs"}, event(t, rw.Events()))
}

func TestResumeAfterWarrenRestart(t *testing.T) {
	e := testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: 1})
	m := e.Members[0]
	resumeAcrossRestart(t, m.Addr, func() {
		m.Kill()
		require.NoError(t, m.Restart(20*time.Second))
	})
}

func TestResumeAfterZooKeeperRestart(t *testing.T) {
	z := testutil.StartZooKeeper(t, testutil.ZKOptions{})
	resumeAcrossRestart(t, z.Addr, func() {
		z.Stop()
		restartZooKeeper(t, z)
	})
}

// restartZooKeeper starts ZooKeeper again on the stopped server's zoo.cfg
// (same port, same data); testutil has no restart for ZooKeeper.
func restartZooKeeper(t *testing.T, z *testutil.ZK) {
	_, err := startZooKeeperAgain(t, z)
	require.NoError(t, err)
}

// startZooKeeperAgain starts ZooKeeper on z's zoo.cfg and waits until it
// serves; it returns a function that SIGKILLs and reaps the process
// (t.Cleanup calls it too) and may be called from any goroutine.
func startZooKeeperAgain(t *testing.T, z *testutil.ZK) (func(), error) {
	cmd := exec.Command("java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Djava.net.preferIPv4Stack=true", "-Dzookeeper.forceSync=no",
		"-Dzookeeper.log.dir="+z.Dir, "-Dlog4j.configuration=file:"+filepath.Join(z.Dir, "log4j.properties"),
		"-cp", "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar",
		"org.apache.zookeeper.server.ZooKeeperServerMain", filepath.Join(z.Dir, "zoo.cfg"))
	out, err := os.OpenFile(filepath.Join(z.Dir, "zookeeper-restart.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return nil, err
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			_ = out.Close()
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := testutil.FourLetter(z.Addr, "ruok"); err == nil && resp == "imok" {
			return stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("ZooKeeper did not come back (see %s)", out.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMoveToAnotherMember kills the ensemble member the Conn is connected
// to: the Conn moves to another host of the connect string and resumes its
// session there, with its watch.
func TestMoveToAnotherMember(t *testing.T) {
	e := testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: 3})
	ctx := ctxT(t)
	c := connect(t, strings.Join(e.Addrs(), ","))
	states := c.States()
	sid := c.SessionID()
	_, _, err := c.Create(ctx, "/mv", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral})
	require.NoError(t, err)
	_, _, ch, err := c.GetW(ctx, "/mv")
	require.NoError(t, err)
	first := c.Server()
	for _, m := range e.Members {
		if m.Addr == first {
			m.Kill()
		}
	}
	waitState(t, states, sdk.StateSuspended)
	// A restarting server may accept connections before it serves (Apache
	// ZooKeeper closes them) and starts slowly on a loaded machine: the
	// client keeps trying within its 20 s session timeout.
	waitStateWithin(t, states, sdk.StateReconnected, 40*time.Second)
	assert.Equal(t, sid, c.SessionID())
	assert.NotEqual(t, first, c.Server())
	_, err = c.Set(ctx, "/mv", []byte("moved"), -1)
	require.NoError(t, err)
	assert.Equal(t, sdk.Event{Type: sdk.EventNodeDataChanged, Path: "/mv"}, event(t, ch))
}
