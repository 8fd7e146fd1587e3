package snapfile

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/vfs"
)

// TestCrashStates records writing a snapshot over an older one (into a new
// sub-directory tree for the first), then a purge, and checks every crash
// state the POSIX model allows (unsynced writes dropped, kept as prefixes
// or with holes, torn last sectors, directory entries lost or half-renamed):
// every snapshot under a final name verifies fully with the right payload,
// the older one survives until the purge starts, the newer one is there
// once Commit returned, and Purge then cleans up.
func TestCrashStates(t *testing.T) {
	const dir = "data/version-2"
	const bsize = 200
	oldData, newData := payload(1, 1500), payload(2, 2600)
	oldMeta, newMeta := meta(0x100000010), meta(0x100000020)
	want := map[int64][]byte{oldMeta.Zxid: oldData, newMeta.Zxid: newData}
	wantMeta := map[int64]Meta{oldMeta.Zxid: oldMeta, newMeta.Zxid: newMeta}

	rec := vfs.NewRecorder(vfs.NewMemFS())
	writeSnap(t, rec, dir, oldMeta, oldData, bsize)
	oldAt := rec.Len()
	writeSnap(t, rec, dir, newMeta, newData, bsize)
	newAt := rec.Len()
	removed, err := Purge(rec, dir, 1)
	require.NoError(t, err)
	require.Len(t, removed, 1)

	states, err := rec.Enumerate(vfs.EnumOptions{Limit: 3000, Seed: 1})
	require.NoError(t, err)
	require.Greater(t, len(states), 100)
	withNew, torn := 0, 0
	for _, st := range states {
		list, err := List(st.FS, dir)
		if st.Point < oldAt && err != nil {
			continue // the directory itself may not exist yet
		}
		require.NoError(t, err, st.Desc)
		seen := map[int64]bool{}
		for _, in := range list {
			m, got, err := readAll(st.FS, in.Path)
			require.NoError(t, err, "point %d: %s: %s", st.Point, st.Desc, in.Path)
			require.Equal(t, wantMeta[in.Zxid], m, st.Desc)
			require.Equal(t, want[in.Zxid], got, st.Desc)
			seen[in.Zxid] = true
		}
		if st.Point >= oldAt && st.Point < newAt {
			require.True(t, seen[oldMeta.Zxid], "point %d: %s: the older snapshot was lost", st.Point, st.Desc)
		}
		if st.Point >= newAt {
			require.True(t, seen[newMeta.Zxid], "point %d: %s: a committed snapshot was lost", st.Point, st.Desc)
			withNew++
		}
		if !seen[newMeta.Zxid] {
			if _, err := st.FS.Stat(dir + "/" + tmpName(newMeta.Zxid)); err == nil {
				torn++
			}
		}

		// Cleaning up after the crash leaves the newest snapshot and no
		// temporary file.
		_, err = Purge(st.FS, dir, 1)
		require.NoError(t, err, st.Desc)
		names, err := st.FS.ReadDir(dir)
		require.NoError(t, err)
		for _, name := range names {
			_, ok := ParseName(name)
			require.True(t, ok, "point %d: %s: %s left after Purge", st.Point, st.Desc, name)
		}
		if len(seen) > 0 {
			require.Len(t, names, 1, st.Desc)
		}
	}
	assert.Positive(t, withNew)
	assert.Positive(t, torn, "some states hold a partial temporary file")
	t.Logf("%d crash states over %d operations; %d with a partial temporary file", len(states), rec.Len(), torn)
}

// TestCrashMidWrite crashes a MemFS while a snapshot is being written,
// keeping random parts of the unsynced writes and tearing the last: never
// a snapshot under the final name, the older one intact.
func TestCrashMidWrite(t *testing.T) {
	for seed := int64(1); seed <= 40; seed++ {
		mem := vfs.NewMemFS()
		old := writeSnap(t, mem, "snap", meta(1), payload(1, 900), 256)
		w, err := create(mem, "snap", meta(2), 256)
		require.NoError(t, err)
		_, err = w.Write(payload(seed, int(seed*97)))
		require.NoError(t, err)
		after := mem.Crash(vfs.CrashOptions{
			Seed:   seed,
			Writes: vfs.KeepMode(seed % 4),
			DirOps: vfs.KeepMode(seed % 3),
			Tear:   vfs.TearMode(seed % 4),
		})
		list, err := List(after, "snap")
		require.NoError(t, err)
		require.Equal(t, []Info{old}, list, "seed %d", seed)
		_, err = Verify(after, old.Path)
		require.NoError(t, err)
	}
}
