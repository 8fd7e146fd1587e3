package txnlog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/vfs"
)

func TestSmoke(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, vfs.OS, dir, smallOpts())
	appendSync(t, l, zxids(1, 1, 50), zxids(1, 51, 50), zxids(3, 1, 10))
	require.Equal(t, MakeZxid(3, 10), l.LastSynced())
	want := append(zxids(1, 1, 100), zxids(3, 1, 10)...)
	require.Equal(t, want, readAll(t, l))
	require.NoError(t, l.Close())
	l2 := openLog(t, vfs.OS, dir, smallOpts())
	require.Nil(t, l2.Recovery().Truncated)
	require.Equal(t, want, readAll(t, l2))
	t.Log(segFiles(t, dir), l2.Recovery())
}
