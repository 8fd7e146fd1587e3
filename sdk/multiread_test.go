package sdk_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/sdk"
)

// testMultiRead: reads answered together, each with its own result or
// error; writes refused before sending; chroot applied.
func testMultiRead(t *testing.T, addr string) {
	ctx := ctxT(t)
	c := connect(t, addr)
	_, _, err := c.Create(ctx, "/mr", []byte("top"), sdk.CreateOptions{})
	require.NoError(t, err)
	for _, p := range []string{"/mr/a", "/mr/b"} {
		_, _, err := c.Create(ctx, p, []byte(p), sdk.CreateOptions{})
		require.NoError(t, err)
	}
	res, err := c.MultiRead(ctx, c.GetOp("/mr/a"), c.ChildrenOp("/mr"), c.GetOp("/mr/missing"), c.ChildrenOp("/mr/nothere"))
	require.NoError(t, err)
	require.Len(t, res, 4)
	assert.NoError(t, res[0].Err)
	assert.Equal(t, []byte("/mr/a"), res[0].Data)
	assert.Equal(t, int32(len("/mr/a")), res[0].Stat.DataLength)
	assert.NoError(t, res[1].Err)
	kids := slices.Clone(res[1].Children)
	slices.Sort(kids)
	assert.Equal(t, []string{"a", "b"}, kids)
	assert.ErrorIs(t, res[2].Err, sdk.ErrNoNode)
	assert.ErrorIs(t, res[3].Err, sdk.ErrNoNode)

	_, err = c.MultiRead(ctx, c.GetOp("/mr"), c.SetOp("/mr", nil, -1))
	assert.ErrorIs(t, err, sdk.ErrBadArguments, "a write in a multiRead is refused client-side")
	_, err = c.MultiRead(ctx, c.GetOp("relative"))
	assert.ErrorIs(t, err, sdk.ErrInvalidPath)

	rooted := connect(t, addr+"/mr")
	res, err = rooted.MultiRead(ctx, rooted.GetOp("/"), rooted.ChildrenOp("/"), rooted.GetOp("/b"))
	require.NoError(t, err)
	assert.Equal(t, []byte("top"), res[0].Data)
	assert.Len(t, res[1].Children, 2)
	assert.Equal(t, []byte("/mr/b"), res[2].Data)
}
