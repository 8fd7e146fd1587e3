package sdk_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

// TestTreeAgainstServers: Create with Parents and DeleteAll, against
// Warren and Apache ZooKeeper 3.8, on servers that reap empty containers
// every 100 ms so container parents can be seen to go.
func TestTreeAgainstServers(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			t.Parallel()
			addr := tg.Start(t, testutil.ServerConfig{ContainerCheckInterval: 100 * time.Millisecond})
			t.Run("Parents", func(t *testing.T) { testParents(t, addr) })
			t.Run("DeleteAll", func(t *testing.T) { testDeleteAll(t, addr) })
		})
	}
}

func exists(t *testing.T, c *sdk.Conn, path string) bool {
	t.Helper()
	_, ok, err := c.Exists(ctxT(t), path)
	require.NoError(t, err)
	return ok
}

func testParents(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)

	_, _, err := c.Create(ctx, "/pp/a/b", nil, sdk.CreateOptions{})
	assert.ErrorIs(t, err, sdk.ErrNoNode, "no Parents: ZooKeeper's own answer")

	p, st, err := c.Create(ctx, "/pp/a/b", []byte("x"), sdk.CreateOptions{Mode: sdk.ModeEphemeral, Parents: sdk.ParentsPersistent})
	require.NoError(t, err)
	assert.Equal(t, "/pp/a/b", p)
	assert.Equal(t, c.SessionID(), st.EphemeralOwner, "the node itself has its own mode")
	for _, anc := range []string{"/pp", "/pp/a"} {
		data, st, err := c.Get(ctx, anc)
		require.NoError(t, err, anc)
		assert.Empty(t, data, anc)
		assert.Zero(t, st.EphemeralOwner, anc)
		acl, _, err := c.GetACL(ctx, anc)
		require.NoError(t, err)
		assert.Equal(t, sdk.OpenACL, acl, "%s: ParentACL nil means OpenACL", anc)
	}
	// Some ancestors there already; a sequential node.
	p, _, err = c.Create(ctx, "/pp/a/c/seq-", nil, sdk.CreateOptions{Mode: sdk.ModePersistentSequential, Parents: sdk.ParentsPersistent})
	require.NoError(t, err)
	assert.Equal(t, "/pp/a/c/seq-0000000000", p)
	// An existing node is still NodeExists; an ephemeral parent refuses.
	_, _, err = c.Create(ctx, "/pp/a/b", nil, sdk.CreateOptions{Parents: sdk.ParentsPersistent})
	assert.ErrorIs(t, err, sdk.ErrNodeExists)
	_, _, err = c.Create(ctx, "/pp/a/b/x/y", nil, sdk.CreateOptions{Parents: sdk.ParentsPersistent})
	assert.ErrorIs(t, err, sdk.ErrNoChildrenForEphemerals)
	// Parents cannot go in a multi.
	_, err = c.Multi(ctx, c.CreateOp("/pp/m/n", nil, sdk.CreateOptions{Parents: sdk.ParentsPersistent}))
	assert.ErrorIs(t, err, sdk.ErrBadArguments)
	assert.False(t, exists(t, c, "/pp/m"))

	// Container parents with their own ACL; they go once emptied.
	readCreate := []sdk.ACL{{Perms: sdk.PermRead | sdk.PermCreate | sdk.PermDelete, ID: sdk.ID{Scheme: "world", ID: "anyone"}}}
	p, _, err = c.Create(ctx, "/pc/x/y/reg", []byte("r"), sdk.CreateOptions{Mode: sdk.ModeEphemeral, Parents: sdk.ParentsContainer, ParentACL: readCreate})
	require.NoError(t, err)
	assert.Equal(t, "/pc/x/y/reg", p)
	acl, _, err := c.GetACL(ctx, "/pc/x")
	require.NoError(t, err)
	assert.Equal(t, readCreate, acl)
	acl, _, err = c.GetACL(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, sdk.OpenACL, acl, "the node's own ACL (nil: OpenACL)")
	require.NoError(t, c.Delete(ctx, p, -1))
	assert.Eventually(t, func() bool { return !exists(t, c, "/pc") }, waitFor, 50*time.Millisecond,
		"the empty containers are reaped, bottom up")
	assert.True(t, exists(t, c, "/pp/a"), "persistent parents stay")

	// Under a chroot, the ancestors are the chroot's.
	j := connect(t, addr+"/pp")
	p, _, err = j.Create(ctx, "/deep/er", nil, sdk.CreateOptions{Parents: sdk.ParentsPersistent})
	require.NoError(t, err)
	assert.Equal(t, "/deep/er", p)
	assert.True(t, exists(t, c, "/pp/deep/er"))
	// A missing chroot is not created.
	m := connect(t, addr+"/nochroot")
	_, _, err = m.Create(ctx, "/a/b/c", nil, sdk.CreateOptions{Parents: sdk.ParentsPersistent})
	assert.ErrorIs(t, err, sdk.ErrNoNode)
	assert.False(t, exists(t, c, "/nochroot"))
}

func testDeleteAll(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)
	for _, p := range []string{"/da/a/1", "/da/a/2/x", "/da/b", "/da/c/d/e/f"} {
		_, _, err := c.Create(ctx, p, nil, sdk.CreateOptions{Parents: sdk.ParentsPersistent})
		require.NoError(t, err)
	}
	_, _, err := c.Create(ctx, "/da/a/eph", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral})
	require.NoError(t, err)
	require.NoError(t, c.DeleteAll(ctx, "/da/a/2/x"), "a leaf")
	assert.True(t, exists(t, c, "/da/a/2"))
	require.NoError(t, c.DeleteAll(ctx, "/da"))
	assert.False(t, exists(t, c, "/da"))
	assert.ErrorIs(t, c.DeleteAll(ctx, "/da"), sdk.ErrNoNode)
	assert.ErrorIs(t, c.DeleteAll(ctx, "da"), sdk.ErrBadArguments)

	// No delete permission half-way down: it stops there and says why,
	// having deleted what it could.
	noDelete := []sdk.ACL{{Perms: sdk.PermRead | sdk.PermCreate, ID: sdk.ID{Scheme: "world", ID: "anyone"}}}
	_, _, err = c.Create(ctx, "/dn", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	_, _, err = c.Create(ctx, "/dn/locked", nil, sdk.CreateOptions{ACL: noDelete})
	require.NoError(t, err)
	_, _, err = c.Create(ctx, "/dn/locked/kid", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	_, _, err = c.Create(ctx, "/dn/open/kid", nil, sdk.CreateOptions{Parents: sdk.ParentsPersistent})
	require.NoError(t, err)
	assert.ErrorIs(t, c.DeleteAll(ctx, "/dn"), sdk.ErrNoAuth)
	assert.True(t, exists(t, c, "/dn/locked/kid"))
}
