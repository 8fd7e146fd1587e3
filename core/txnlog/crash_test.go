package txnlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/vfs"
)

// crashOpts: segments of a few records so that workloads roll, and
// preallocation chunks smaller than a segment so that files grow.
var crashOpts = Options{SegmentSize: 1 << 10, PreallocSize: 512}

// event is what the workload did, at which point of the record.
type event struct {
	// "ack": every record up to zxid was acknowledged; "truncBegin" and
	// "trunc": TruncateAfter(zxid) was called and returned; "purgeBegin":
	// PurgeBefore(zxid) was called.
	kind string
	zxid int64
	at   int     // Recorder.Len() when the call returned
	recs []int64 // for "ack": the records of the batch; for "trunc": the records it removed
}

// checkCrashState opens a crashed file system and checks it against the
// workload's events: Open succeeds (a crash alone is never corruption),
// the records are continuous, every acknowledgement given by the crash
// point is there (less what a completed truncation or purge removed), a
// completed truncation stays done, and the log takes the next record.
func checkCrashState(t *testing.T, st vfs.CrashState, events []event) {
	t.Helper()
	l, err := Open(st.FS, "data", crashOpts)
	require.NoError(t, err, "point %d: %s", st.Point, st.Desc)
	got := readAll(t, l)
	var acked []int64
	purged := int64(0)
	for _, e := range events {
		if e.at > st.Point {
			break
		}
		switch e.kind {
		case "ack":
			acked = append(acked, e.recs...)
		case "truncBegin":
			// From here on the records after zxid may be gone.
			acked = slices.DeleteFunc(acked, func(z int64) bool { return z > e.zxid })
		case "trunc":
			for _, z := range e.recs {
				require.NotContains(t, got, z, "point %d: %s: a completed truncation came back", st.Point, st.Desc)
			}
		case "purgeBegin":
			purged = e.zxid
		}
	}
	for _, z := range acked {
		if z >= purged {
			require.Contains(t, got, z, "point %d: %s: acknowledged record lost", st.Point, st.Desc)
		}
	}
	last := l.LastZxid()
	next := last + 1
	if last == 0 {
		next = MakeZxid(9, 1)
	}
	require.NoError(t, l.Append(recs([]int64{next})), "point %d: %s", st.Point, st.Desc)
	require.NoError(t, l.Sync())
	require.NoError(t, l.Close())
	l2, err := Open(st.FS, "data", crashOpts)
	require.NoError(t, err)
	assert.Nil(t, l2.Recovery().Truncated)
	assert.Equal(t, next, l2.LastZxid())
	require.NoError(t, l2.Close())
}

// TestCrashStates records a workload of group commits across segment rolls
// and an epoch change, then recovers from every crash state the POSIX model
// allows at every point (dropped unsynced writes, kept prefixes, later
// writes kept without earlier ones, torn last sectors, lost directory
// entries).
func TestCrashStates(t *testing.T) {
	rec := vfs.NewRecorder(vfs.NewMemFS())
	l, err := Open(rec, "data", crashOpts)
	require.NoError(t, err)
	var events []event
	sizes := []int{1, 3, 5, 2, 8, 1, 4, 6, 12, 1, 2, 7, 3, 9, 1, 1, 5, 10, 2, 4}
	c, epoch := int64(1), int64(1)
	for i, n := range sizes {
		if i == 8 || i == 15 { // new leaders
			epoch, c = epoch+1, 1
		}
		zs := zxids(epoch, c, n)
		c += int64(n)
		require.NoError(t, l.Append(recs(zs)))
		require.NoError(t, l.Sync())
		events = append(events, event{kind: "ack", zxid: zs[len(zs)-1], at: rec.Len(), recs: zs})
	}
	require.NoError(t, l.Close())
	require.Greater(t, l.Stats().Segments, 5, "the workload rolls segments")

	states, err := rec.Enumerate(vfs.EnumOptions{Limit: 4000, Seed: 1})
	require.NoError(t, err)
	require.Greater(t, len(states), 100)
	for _, st := range states {
		checkCrashState(t, st, events)
	}
	t.Logf("%d crash states over %d operations", len(states), rec.Len())
}

// TestCrashStatesTruncatePurge does the same for TruncateAfter (ZAB TRUNC
// into an earlier segment, then the new leader's records) and PurgeBefore.
func TestCrashStatesTruncatePurge(t *testing.T) {
	rec := vfs.NewRecorder(vfs.NewMemFS())
	l, err := Open(rec, "data", crashOpts)
	require.NoError(t, err)
	var events []event
	add := func(zs []int64) {
		require.NoError(t, l.Append(recs(zs)))
		require.NoError(t, l.Sync())
		events = append(events, event{kind: "ack", zxid: zs[len(zs)-1], at: rec.Len(), recs: zs})
	}
	add(zxids(1, 1, 12))
	add(zxids(1, 13, 12))
	add(zxids(1, 25, 12))
	events = append(events, event{kind: "truncBegin", zxid: MakeZxid(1, 15), at: rec.Len()})
	require.NoError(t, l.TruncateAfter(MakeZxid(1, 15)))
	events = append(events, event{kind: "trunc", zxid: MakeZxid(1, 15), at: rec.Len(), recs: zxids(1, 16, 21)})
	add(zxids(2, 1, 10))
	events = append(events, event{kind: "purgeBegin", zxid: MakeZxid(1, 14), at: rec.Len()})
	_, err = l.PurgeBefore(MakeZxid(1, 14))
	require.NoError(t, err)
	add(zxids(2, 11, 3))
	require.NoError(t, l.Close())

	states, err := rec.Enumerate(vfs.EnumOptions{Limit: 3000, Seed: 2})
	require.NoError(t, err)
	require.Greater(t, len(states), 50)
	for _, st := range states {
		checkCrashState(t, st, events)
	}
	t.Logf("%d crash states over %d operations", len(states), rec.Len())
}

// TestMemFSFaults runs the fault cases on the in-memory disk: a failed
// fsync is sticky and what it covered is never acknowledged; a full disk
// fails the batch cleanly, a crash then recovers only acknowledged
// records, and writes resume when space returns.
func TestMemFSFaults(t *testing.T) {
	t.Run("fsync error", func(t *testing.T) {
		mem := vfs.NewMemFS()
		ffs := vfs.NewFaultFS(mem)
		l, err := Open(ffs, "data", crashOpts)
		require.NoError(t, err)
		appendSync(t, l, zxids(1, 1, 5))
		ffs.FailSync(1)
		require.NoError(t, l.Append(recs(zxids(1, 6, 3))))
		err = l.Sync()
		var fe *FailedError
		require.True(t, errors.As(err, &fe), "%v", err)
		assert.ErrorIs(t, err, syscall.EIO)
		assert.Same(t, fe, errAs(l.Sync()))
		assert.Same(t, fe, errAs(l.Append(recs(zxids(1, 9, 1)))))
		assert.Equal(t, MakeZxid(1, 5), l.LastSynced())

		crashed := mem.Crash(vfs.CrashOptions{Writes: vfs.KeepNone})
		l2, err := Open(crashed, "data", crashOpts)
		require.NoError(t, err)
		assert.Equal(t, zxids(1, 1, 5), readAll(t, l2), "the failed batch never became durable")
		require.NoError(t, l2.Close())
	})

	// fill appends batches until the disk is full and returns the log, the
	// first zxid of the failed batch and the last acknowledged one.
	fill := func(t *testing.T, mem *vfs.MemFS, free int64) (*Log, *vfs.FaultFS, int64, int64) {
		ffs := vfs.NewFaultFS(mem)
		l, err := Open(ffs, "data", crashOpts)
		require.NoError(t, err)
		appendSync(t, l, zxids(1, 1, 5))
		ffs.SetFree(free)
		z := int64(6)
		for {
			require.NoError(t, l.Append(recs(zxids(1, z, 4))))
			err := l.Sync()
			if err != nil {
				var full *DiskFullError
				require.True(t, errors.As(err, &full), "%v", err)
				assert.ErrorIs(t, err, syscall.ENOSPC)
				break
			}
			z += 4
		}
		acked := l.LastSynced()
		require.Equal(t, MakeZxid(1, z-1), acked)
		require.Equal(t, acked, l.LastZxid(), "the failed batch is dropped")
		require.Equal(t, zxids(1, 1, int(Counter(acked))), readAll(t, l))
		return l, ffs, z, acked
	}
	for _, free := range []int64{0, 100, 700, 1500} {
		t.Run(fmt.Sprintf("disk full with %d bytes free", free), func(t *testing.T) {
			for _, keep := range []vfs.KeepMode{vfs.KeepNone, vfs.KeepAll, vfs.KeepRandom, vfs.KeepSubset} {
				mem := vfs.NewMemFS()
				_, _, _, acked := fill(t, mem, free)
				crashed := mem.Crash(vfs.CrashOptions{Writes: keep, DirOps: keep, Seed: 3, Tear: vfs.TearSector})
				l2, err := Open(crashed, "data", crashOpts)
				require.NoError(t, err, "keep mode %d", keep)
				assert.Equal(t, zxids(1, 1, int(Counter(acked))), readAll(t, l2), "keep mode %d", keep)
				require.NoError(t, l2.Close())
			}

			mem := vfs.NewMemFS()
			l, ffs, z, _ := fill(t, mem, free)
			ffs.SetFree(-1)
			appendSync(t, l, zxids(1, z, 4))
			assert.Equal(t, zxids(1, 1, int(z+3)), readAll(t, l))
			require.NoError(t, l.Close())
			l3, err := Open(mem, "data", crashOpts)
			require.NoError(t, err)
			assert.Nil(t, l3.Recovery().Truncated)
			assert.Equal(t, zxids(1, 1, int(z+3)), readAll(t, l3))
			require.NoError(t, l3.Close())
		})
	}
}

// TestReadFaults: an I/O error while recovering is reported as an error and
// never mistaken for a torn tail (the log is not cut); damage that appears
// after Open is caught by the iterator's checksum instead of being
// returned as data.
func TestReadFaults(t *testing.T) {
	build := func(t *testing.T) (*vfs.MemFS, string) {
		mem := vfs.NewMemFS()
		l, err := Open(mem, "data", crashOpts)
		require.NoError(t, err)
		appendSync(t, l, zxids(1, 1, 6), zxids(1, 7, 6))
		require.NoError(t, l.Close())
		names, err := mem.ReadDir("data")
		require.NoError(t, err)
		return mem, "data/" + names[len(names)-1]
	}
	all := zxids(1, 1, 12)

	t.Run("EIO on a record", func(t *testing.T) {
		mem, last := build(t)
		ffs := vfs.NewFaultFS(mem)
		ffs.FailReads(last, segHeaderSize+10, 1)
		_, err := Open(ffs, "data", crashOpts)
		require.Error(t, err)
		assert.ErrorIs(t, err, syscall.EIO)
		var ce *CorruptionError
		assert.False(t, errors.As(err, &ce), "an I/O error is not corruption")
		ffs.Reset()
		l, err := Open(ffs, "data", crashOpts)
		require.NoError(t, err)
		assert.Nil(t, l.Recovery().Truncated, "nothing was cut")
		assert.Equal(t, all, readAll(t, l))
		require.NoError(t, l.Close())
	})

	t.Run("EIO on the header", func(t *testing.T) {
		mem, last := build(t)
		ffs := vfs.NewFaultFS(mem)
		ffs.FailReads(last, 0, 4)
		_, err := Open(ffs, "data", crashOpts)
		assert.ErrorIs(t, err, syscall.EIO)
		l, err := Open(mem, "data", crashOpts)
		require.NoError(t, err)
		assert.Equal(t, all, readAll(t, l))
		require.NoError(t, l.Close())
	})

	t.Run("short reads", func(t *testing.T) {
		mem, _ := build(t)
		ffs := vfs.NewFaultFS(mem)
		ffs.SetShortReads(7)
		l, err := Open(ffs, "data", crashOpts)
		if err == nil {
			// Short Reads are legal; recovery must still see every record.
			assert.Nil(t, l.Recovery().Truncated)
			assert.Equal(t, 12, l.Recovery().Records)
			it, err := l.ReadAll()
			require.NoError(t, err)
			assert.False(t, it.Next(), "a short ReadAt is an error, never a record")
			assert.ErrorIs(t, it.Err(), vfs.ErrShortRead)
			require.NoError(t, l.Close())
		} else {
			assert.ErrorIs(t, err, vfs.ErrShortRead)
		}
		ffs.Reset()
		l2, err := Open(ffs, "data", crashOpts)
		require.NoError(t, err)
		assert.Equal(t, all, readAll(t, l2))
		require.NoError(t, l2.Close())
	})

	t.Run("bit flip after open", func(t *testing.T) {
		mem, last := build(t)
		l, err := Open(mem, "data", crashOpts)
		require.NoError(t, err)
		defer l.Close()
		first, _ := parseSegmentName(last[len("data/"):])
		require.NoError(t, vfs.FlipBit(mem, last, segHeaderSize+recHeaderSize+3, 2))
		it, err := l.ReadAfter(first - 1)
		require.NoError(t, err)
		defer it.Close()
		assert.False(t, it.Next())
		var ce *CorruptionError
		require.True(t, errors.As(it.Err(), &ce), "%v", it.Err())
		assert.Equal(t, filepath.Join("data", last[len("data/"):]), ce.File)
		assert.EqualValues(t, segHeaderSize, ce.Offset)
	})

	t.Run("zeroed block in a middle segment", func(t *testing.T) {
		mem, _ := build(t)
		names, err := mem.ReadDir("data")
		require.NoError(t, err)
		require.Greater(t, len(names), 1)
		require.NoError(t, vfs.ZeroRange(mem, "data/"+names[0], segHeaderSize, 40))
		_, err = Open(mem, "data", crashOpts)
		var ce *CorruptionError
		require.True(t, errors.As(err, &ce), "%v", err)
		assert.Equal(t, filepath.Join("data", names[0]), ce.File)
		assert.EqualValues(t, segHeaderSize, ce.Offset)
	})
}

// TestFailedErrors: every write-path failure other than a full disk is
// sticky, names the operation and file, acknowledges nothing it covered,
// and leaves what was acknowledged recoverable.
func TestFailedErrors(t *testing.T) {
	cases := []struct {
		name string
		arm  func(mem *vfs.MemFS) (vfs.FS, func())
		op   string
	}{
		{"fsync of the full segment at a roll", func(mem *vfs.MemFS) (vfs.FS, func()) {
			ffs := vfs.NewFaultFS(mem)
			return ffs, func() { ffs.FailSync(1) }
		}, "fsync"},
		{"directory fsync at segment creation", func(mem *vfs.MemFS) (vfs.FS, func()) {
			ffs := vfs.NewFaultFS(mem)
			return ffs, func() { ffs.FailSyncDir(1) }
		}, "fsync directory"},
		{"EIO on write", func(mem *vfs.MemFS) (vfs.FS, func()) {
			ffs := &faultFS{FS: mem}
			return ffs, func() {
				ffs.set(func(f *faultFS) { f.writeErr = &os.PathError{Op: "write", Path: "x", Err: syscall.EIO} })
			}
		}, "write"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewMemFS()
			fsys, arm := tc.arm(mem)
			l, err := Open(fsys, "data", crashOpts)
			require.NoError(t, err)
			appendSync(t, l, zxids(1, 1, 6)) // nearly fills the first segment
			arm()
			require.NoError(t, l.Append(recs(zxids(1, 7, 8)))) // rolls
			err = l.Sync()
			var fe *FailedError
			require.True(t, errors.As(err, &fe), "%v", err)
			assert.Equal(t, tc.op, fe.Op)
			assert.Contains(t, err.Error(), "refuses further writes")
			assert.Contains(t, fe.File, "data")
			assert.Equal(t, MakeZxid(1, 6), l.LastSynced())
			assert.Same(t, fe, errAs(l.Append(recs(zxids(1, 7, 1)))))
			assert.Same(t, fe, errAs(l.Sync()))

			l2, err := Open(mem.Crash(vfs.CrashOptions{}), "data", crashOpts)
			require.NoError(t, err)
			got := readAll(t, l2)
			assert.Equal(t, zxids(1, 1, 6), got[:6])
			require.NoError(t, l2.Close())
		})
	}
}

// TestDoubleCrashAfterUnsyncedRemove: a TruncateAfter whose directory
// fsync failed leaves the removal of later segments volatile. After a
// restart Open makes the listing durable, so records appended then are not
// followed, after a power loss, by resurrected segments of the old history.
func TestDoubleCrashAfterUnsyncedRemove(t *testing.T) {
	mem := vfs.NewMemFS()
	ffs := vfs.NewFaultFS(mem)
	l, err := Open(ffs, "data", crashOpts)
	require.NoError(t, err)
	appendSync(t, l, zxids(1, 1, 30))
	require.Greater(t, l.Stats().Segments, 2)
	ffs.FailSyncDir(1)
	var fe *FailedError
	require.True(t, errors.As(l.TruncateAfter(MakeZxid(1, 3)), &fe))

	// The process restarts on the same (uncrashed) disk.
	l2, err := Open(mem, "data", crashOpts)
	require.NoError(t, err)
	want := append(zxids(1, 1, 3), zxids(2, 1, 4)...)
	require.Less(t, l2.LastZxid(), MakeZxid(1, 30))
	require.NoError(t, l2.TruncateAfter(MakeZxid(1, 3)))
	appendSync(t, l2, zxids(2, 1, 4))

	l3, err := Open(mem.Crash(vfs.CrashOptions{}), "data", crashOpts)
	require.NoError(t, err)
	assert.Equal(t, want, readAll(t, l3))
	require.NoError(t, l3.Close())
}
