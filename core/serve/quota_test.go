package serve

import (
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/config"
)

// TestEnsembleEnforcesQuota: with enforceQuota the leader's preparation
// refuses writes past a hard limit whichever member the client uses, and
// every member ends with the same quota stats.
func TestEnsembleEnforcesQuota(t *testing.T) {
	ts := startEnsemble(t, 3, 0, func(c *config.Config) { c.EnforceQuota = true })
	waitModes(t, ts)
	var leader, follower *testServer
	for _, s := range ts {
		if strings.Contains(fourLetter(t, s.addr, "srvr"), "Mode: leader") {
			leader = s
		} else {
			follower = s
		}
	}
	require.NotNil(t, leader)
	require.NotNil(t, follower)
	f, _ := dial(t, follower.addr, 5*time.Second)
	l, _ := dial(t, leader.addr, 5*time.Second)
	acl := zk.WorldACL(zk.PermAll)
	create := func(c *zk.Conn, path, data string) error {
		_, err := c.Create(path, []byte(data), 0, acl)
		return err
	}
	exceeded := func(err error) bool { return err != nil && strings.Contains(err.Error(), "-125") }

	require.NoError(t, create(f, "/q", ""))
	require.NoError(t, create(f, "/zookeeper/quota/q", ""))
	require.NoError(t, create(f, "/zookeeper/quota/q/zookeeper_limits", "count=-1,bytes=-1=;byteHardLimit=4;countHardLimit=3"))
	require.NoError(t, create(f, "/zookeeper/quota/q/zookeeper_stats", "count=0,bytes=0"))
	require.NoError(t, create(f, "/q/a", "ab"))
	require.NoError(t, create(l, "/q/b", "c"))
	assert.True(t, exceeded(create(f, "/q/c", "")), "through a follower")
	assert.True(t, exceeded(create(l, "/q/c", "")), "through the leader")
	_, err := f.Set("/q/a", []byte("abcd"), -1)
	assert.True(t, exceeded(err), "a set past the byte limit")
	res, err := f.Multi(&zk.SetDataRequest{Path: "/q/a", Data: []byte("abc"), Version: -1}, &zk.CreateRequest{Path: "/q/m", Acl: acl})
	require.Error(t, err)
	require.Len(t, res, 2)
	assert.True(t, exceeded(res[1].Error), "%v", res[1].Error)
	require.NoError(t, l.Delete("/q/b", -1))
	require.NoError(t, create(f, "/q/c", "cd"))

	for _, s := range ts {
		c, _ := dial(t, s.addr, 5*time.Second)
		_, err := c.Sync("/q")
		require.NoError(t, err)
		d, _, err := c.Get("/zookeeper/quota/q/zookeeper_stats")
		require.NoError(t, err)
		assert.Equal(t, "count=3,bytes=4", string(d), "member %s", s.addr)
		kids, _, err := c.Children("/q")
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"a", "c"}, kids)
	}
}
