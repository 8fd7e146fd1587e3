// Package limits_test checks Warren's connection limits against Apache
// ZooKeeper 3.8's: the same zoo.cfg, the same connections refused.
package limits_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunTests(m)) }

// ruok sends ruok on a new connection and returns the answer: "imok", or
// "" when the server closed the connection without one. A server that
// closes a refused connection with our ruok unread makes the kernel reset
// it, and one that closes it at once may fail the connect itself (EPIPE):
// those are refusals too; only a timeout is a failure.
func ruok(t *testing.T, addr string) string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return ""
	}
	defer nc.Close()
	_, _ = nc.Write([]byte("ruok"))
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	out, err := io.ReadAll(nc)
	if errors.Is(err, syscall.ECONNRESET) {
		return string(out)
	}
	assert.NoError(t, err, "closed, not timed out") // not require: Eventually calls it on its own goroutine
	return string(out)
}

// TestMaxCnxns: with maxCnxns=2 (zookeeper.maxCnxns, which ZooKeeper takes
// from zoo.cfg as a system property) a third client connection is closed
// at once, whatever maxClientCnxns allows, until one of the two goes.
func TestMaxCnxns(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			t.Parallel()
			addr := tg.Start(t, testutil.ServerConfig{Extra: []string{"maxCnxns=2", "maxClientCnxns=10"}})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a, err := sdk.Connect(ctx, addr)
			require.NoError(t, err)
			b, err := sdk.Connect(ctx, addr)
			require.NoError(t, err)
			defer b.Close()
			assert.Equal(t, "", ruok(t, addr), "a third connection is refused")
			require.NoError(t, a.Close())
			assert.Eventually(t, func() bool { return ruok(t, addr) == "imok" }, 10*time.Second, 50*time.Millisecond,
				"a slot is free again")
		})
	}
}
