package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStartZooKeeperEnsemble starts a 3-member ZooKeeper ensemble with
// reconfig enabled and checks what StartZooKeeperEnsemble promises: one
// leader, followers elsewhere, the server lines in the configuration, and
// the dynamic configuration file ZooKeeper writes next to zoo.cfg.
func TestStartZooKeeperEnsemble(t *testing.T) {
	e := StartZooKeeperEnsemble(t, 3, ServerConfig{Extra: []string{"reconfigEnabled=true"}})
	require.Len(t, e.Members, 3)
	leader, err := e.Leader()
	require.NoError(t, err)
	for i, m := range e.Members {
		assert.Equal(t, int64(i+1), m.ID)
		assert.True(t, strings.HasPrefix(m.Addr, "127.0.0.1:"), m.Addr)
		mode, err := m.Mode()
		require.NoError(t, err)
		if m == leader {
			assert.Equal(t, "leader", mode)
		} else {
			assert.Equal(t, "follower", mode)
		}
		out, err := FourLetter(m.Addr, "conf")
		require.NoError(t, err)
		assert.Contains(t, out, "tickTime=500")
		for _, o := range e.Members {
			assert.Contains(t, out, "server."+itoa(o.ID)+"=127.0.0.1:"+itoa(int64(o.QuorumPort))+":"+itoa(int64(o.ElectionPort))+":participant")
		}
	}
	// With reconfig enabled, ZooKeeper moves the server lines out of
	// zoo.cfg into zoo.cfg.dynamic.<version> next to it (the version is
	// the zxid that established it, here the new leader's first) and
	// points zoo.cfg at it; each member has done so before it serves.
	for _, m := range e.Members {
		dyn, err := filepath.Glob(filepath.Join(m.Dir, "zoo.cfg.dynamic.*"))
		require.NoError(t, err)
		require.Len(t, dyn, 1, "member %d", m.ID)
		data, err := os.ReadFile(dyn[0])
		require.NoError(t, err)
		assert.Contains(t, string(data), "server.1=127.0.0.1:")
		data, err = os.ReadFile(filepath.Join(m.Dir, "zoo.cfg"))
		require.NoError(t, err)
		assert.Contains(t, string(data), "dynamicConfigFile="+dyn[0])
	}

	e.Stop()
	for _, m := range e.Members {
		assert.True(t, m.Exited())
	}
	e.Stop() // idempotent
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
