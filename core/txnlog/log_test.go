package txnlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
	"github.com/warrenhq/warren/internal/vfs"
)

func TestIsNext(t *testing.T) {
	cases := []struct {
		prev, next int64
		want       bool
	}{
		{0, 1, true},
		{1, 2, true},
		{1, 3, false},
		{2, 2, false},
		{3, 2, false},
		{MakeZxid(1, 7), MakeZxid(1, 8), true},
		{MakeZxid(1, 7), MakeZxid(2, 1), true},
		{MakeZxid(1, 7), MakeZxid(5, 1), true}, // epochs may skip
		{MakeZxid(1, 7), MakeZxid(2, 2), false},
		{MakeZxid(1, 7), MakeZxid(2, 0), false}, // counter 0 is NEWLEADER, never logged
		{MakeZxid(2, 1), MakeZxid(1, 2), false},
		{MakeZxid(1, 0xffffffff), MakeZxid(2, 1), true},
		{0, MakeZxid(3, 1), true},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, IsNext(c.prev, c.next), "%#x -> %#x", c.prev, c.next)
	}
	assert.Equal(t, int64(3), Epoch(MakeZxid(3, 9)))
	assert.Equal(t, int64(9), Counter(MakeZxid(3, 9)))
}

func TestSegmentName(t *testing.T) {
	assert.Equal(t, "log.0000000100000001", SegmentName(MakeZxid(1, 1)))
	z, ok := parseSegmentName("log.0000000100000001")
	assert.True(t, ok)
	assert.Equal(t, MakeZxid(1, 1), z)
	for _, bad := range []string{"log.1", "log.00000001000000010", "log.000000010000000G", "log.000000010000000A", "snapshot.0000000100000001", "log.0000000100000001.tmp"} {
		_, ok := parseSegmentName(bad)
		assert.False(t, ok, bad)
	}
}

func TestRecordTxn(t *testing.T) {
	h := znode.Header{Session: 7, Cxid: 3, Zxid: MakeZxid(2, 5), Time: 99, Type: proto.OpCreate}
	txn := &znode.CreateTxn{Path: "/a", Data: []byte("x"), ACL: []proto.ACL{{Perms: 31, ID: proto.Id{Scheme: "world", ID: "anyone"}}}, ParentCversion: 1}
	r := NewRecord(&h, txn)
	assert.Equal(t, h.Zxid, r.Zxid)
	gh, gt, err := r.Txn()
	require.NoError(t, err)
	assert.Equal(t, h, gh)
	assert.Equal(t, txn, gt)

	r.Zxid++
	_, _, err = r.Txn()
	assert.ErrorContains(t, err, "carries a transaction")
	_, _, err = Record{Zxid: 1, Payload: []byte{1, 2}}.Txn()
	assert.Error(t, err)
}

func TestAppendContinuity(t *testing.T) {
	cases := []struct {
		name    string
		first   []int64 // appended and synced first
		next    []int64
		wantErr error
	}{
		{"empty log takes any first zxid", nil, []int64{MakeZxid(4, 17)}, nil},
		{"empty log refuses counter 0", nil, []int64{MakeZxid(4, 0)}, ErrNotContinuous},
		{"empty log refuses zxid 0", nil, []int64{0}, ErrNotContinuous},
		{"counter + 1", zxids(1, 1, 3), []int64{MakeZxid(1, 4)}, nil},
		{"gap", zxids(1, 1, 3), []int64{MakeZxid(1, 5)}, ErrNotContinuous},
		{"repeat", zxids(1, 1, 3), []int64{MakeZxid(1, 3)}, ErrNotContinuous},
		{"new epoch at 1", zxids(1, 1, 3), []int64{MakeZxid(2, 1)}, nil},
		{"new epoch not at 1", zxids(1, 1, 3), []int64{MakeZxid(2, 2)}, ErrNotContinuous},
		{"gap inside the batch refuses all of it", zxids(1, 1, 3), []int64{MakeZxid(1, 4), MakeZxid(1, 6)}, ErrNotContinuous},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := openLog(t, vfs.OS, t.TempDir(), smallOpts())
			if tc.first != nil {
				appendSync(t, l, tc.first)
			}
			before := l.LastZxid()
			err := l.Append(recs(tc.next))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Equal(t, before, l.LastZxid(), "a refused batch appends nothing")
				return
			}
			require.NoError(t, err)
			require.NoError(t, l.Sync())
			assert.Equal(t, tc.next[len(tc.next)-1], l.LastSynced())
		})
	}
	l := openLog(t, vfs.OS, t.TempDir(), Options{MaxRecordSize: 10})
	require.ErrorIs(t, l.Append(recs([]int64{1})), ErrTooLarge)
}

// TestRoundTripManySegments writes thousands of records across epochs in
// batches of varying size with small segments, reopens, and reads them all
// back with every payload intact.
func TestRoundTripManySegments(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, vfs.OS, dir, smallOpts())
	var want []int64
	z := int64(0)
	for epoch := int64(1); epoch <= 4; epoch++ {
		c := int64(1)
		for b := 1; b <= 40; b++ {
			n := b%7 + 1
			batch := zxids(epoch, c, n)
			c += int64(n)
			appendSync(t, l, batch)
			want = append(want, batch...)
			z = batch[len(batch)-1]
			assert.Equal(t, z, l.LastSynced())
		}
	}
	st := l.Stats()
	assert.Greater(t, st.Segments, 10)
	assert.EqualValues(t, len(want), st.Records)
	assert.Equal(t, want, readAll(t, l))
	require.NoError(t, l.Close())

	names := segFiles(t, dir)
	assert.Len(t, names, st.Segments)
	for _, n := range names {
		first, _ := parseSegmentName(n)
		spans := recordSpans(t, filepath.Join(dir, n))
		_, ok := spans[first]
		assert.True(t, ok, "%s starts with its own zxid", n)
	}

	l2 := openLog(t, vfs.OS, dir, smallOpts())
	rep := l2.Recovery()
	assert.Nil(t, rep.Truncated)
	assert.Equal(t, len(want), rep.Records)
	assert.Equal(t, want[0], rep.FirstZxid)
	assert.Equal(t, z, rep.LastZxid)
	assert.Equal(t, want[0], l2.FirstZxid())
	assert.Equal(t, want, readAll(t, l2))
	// A record larger than a segment gets a segment of its own.
	big := rec(MakeZxid(5, 1))
	big.Payload = append(big.Payload, make([]byte, 10<<10)...)
	require.NoError(t, l2.Append([]Record{big}))
	require.NoError(t, l2.Sync())
	it, err := l2.ReadAfter(z)
	require.NoError(t, err)
	require.True(t, it.Next())
	assert.Equal(t, big, it.Record())
	require.NoError(t, it.Close())
}

// TestGroupCommit: many appends, one Sync, one fsync; appends made while an
// fsync is in flight join the next group; LastSynced only moves on Sync.
func TestGroupCommit(t *testing.T) {
	ffs := &faultFS{FS: vfs.OS}
	l := openLog(t, ffs, t.TempDir(), Options{PreallocSize: 64 << 10})
	for i := int64(1); i <= 100; i++ {
		require.NoError(t, l.Append([]Record{rec(i)}))
	}
	assert.Equal(t, int64(100), l.LastZxid())
	assert.Equal(t, int64(0), l.LastSynced())
	ffs.set(func(f *faultFS) { f.syncs = 0 })
	require.NoError(t, l.Sync())
	assert.Equal(t, int64(100), l.LastSynced())
	st := l.Stats()
	assert.EqualValues(t, 1, st.Fsyncs)
	assert.EqualValues(t, 1, st.Syncs)
	ffs.mu.Lock()
	// The segment was created inside this Sync: its header fsync, then the
	// batch's fsync.
	assert.Equal(t, 2, ffs.syncs)
	ffs.mu.Unlock()
	require.NoError(t, l.Sync(), "an empty Sync is free")
	assert.EqualValues(t, 1, l.Stats().Fsyncs)

	// Concurrent writers and a syncer (run with -race).
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := int64(101)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				mu.Lock()
				err := l.Append([]Record{rec(next)})
				next++
				mu.Unlock()
				assert.NoError(t, err)
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for l.LastSynced() < 300 {
			assert.NoError(t, l.Sync())
		}
	}()
	wg.Wait()
	<-done
	assert.Equal(t, zxids(0, 1, 300), readAll(t, l))
	assert.Less(t, l.Stats().Fsyncs, int64(201), "fewer fsyncs than appends")
}

func TestNoForceSync(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, vfs.OS, dir, Options{NoForceSync: true, PreallocSize: 64 << 10})
	appendSync(t, l, zxids(1, 1, 10), zxids(1, 11, 10))
	assert.Equal(t, MakeZxid(1, 20), l.LastSynced())
	assert.EqualValues(t, 0, l.Stats().Fsyncs)
	require.NoError(t, l.Close())
	l2 := openLog(t, vfs.OS, dir, Options{})
	assert.Equal(t, zxids(1, 1, 20), readAll(t, l2))
}

func TestReadAfter(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, vfs.OS, dir, smallOpts())
	appendSync(t, l, zxids(1, 5, 60), zxids(2, 1, 40))
	all := append(zxids(1, 5, 60), zxids(2, 1, 40)...)

	collect := func(it *Iterator) []int64 {
		var out []int64
		for it.Next() {
			out = append(out, it.Record().Zxid)
		}
		require.NoError(t, it.Err())
		return out
	}
	cases := []struct {
		name    string
		after   int64
		want    []int64
		wantErr error
	}{
		{"predecessor of the first record", MakeZxid(1, 4), all, nil},
		{"first record", MakeZxid(1, 5), all[1:], nil},
		{"middle, across segments", MakeZxid(1, 30), all[26:], nil},
		{"end of an epoch", MakeZxid(1, 64), all[60:], nil},
		{"last record", MakeZxid(2, 40), nil, nil},
		{"purged: records before the log", MakeZxid(1, 2), nil, ErrPurged},
		{"not a zxid of the log", MakeZxid(1, 70), nil, ErrNotFound},
		{"beyond the end", MakeZxid(2, 41), nil, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it, err := l.ReadAfter(tc.after)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			defer it.Close()
			assert.Equal(t, tc.want, collect(it))
		})
	}

	// An iterator at the end continues once more records are synced, and
	// never sees unsynced ones.
	it, err := l.ReadAfter(MakeZxid(2, 40))
	require.NoError(t, err)
	defer it.Close()
	assert.Empty(t, collect(it))
	require.NoError(t, l.Append(recs(zxids(2, 41, 3))))
	assert.Empty(t, collect(it), "appended but not synced")
	require.NoError(t, l.Sync())
	assert.Equal(t, zxids(2, 41, 3), collect(it))

	// Purging the segment under an iterator ends it with ErrPurged.
	it2, err := l.ReadAfter(MakeZxid(1, 5))
	require.NoError(t, err)
	defer it2.Close()
	require.True(t, it2.Next())
	_, err = l.PurgeBefore(MakeZxid(2, 1))
	require.NoError(t, err)
	assert.False(t, it2.Next())
	assert.ErrorIs(t, it2.Err(), ErrPurged)
}

func TestTruncateAfter(t *testing.T) {
	build := func(t *testing.T) (*Log, string) {
		dir := t.TempDir()
		l := openLog(t, vfs.OS, dir, smallOpts())
		appendSync(t, l, zxids(1, 1, 100), zxids(2, 1, 50))
		return l, dir
	}
	all := append(zxids(1, 1, 100), zxids(2, 1, 50)...)
	cases := []struct {
		name    string
		after   int64
		want    []int64
		wantErr error
	}{
		{"middle of a segment", MakeZxid(1, 37), zxids(1, 1, 37), nil},
		{"end of an epoch", MakeZxid(1, 100), zxids(1, 1, 100), nil},
		{"first record", MakeZxid(1, 1), zxids(1, 1, 1), nil},
		{"below the first record", 0, nil, nil},
		{"last record: nothing to do", MakeZxid(2, 50), all, nil},
		{"not a zxid of the log", MakeZxid(1, 150), nil, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := build(t)
			before := segFiles(t, dir)
			err := l.TruncateAfter(tc.after)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Equal(t, all, readAll(t, l), "a refused truncation changes nothing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, readAll(t, l))
			assert.Equal(t, tc.after, l.LastZxid())
			assert.Equal(t, tc.after, l.LastSynced())
			after := segFiles(t, dir)
			assert.LessOrEqual(t, len(after), len(before))
			for _, n := range after {
				first, _ := parseSegmentName(n)
				assert.LessOrEqual(t, first, max(tc.after, 1), "no segment starts after the truncation point")
			}
			// ZAB TRUNC is followed by the new leader's history.
			appendSync(t, l, zxids(7, 1, 5))
			want := append(append([]int64(nil), tc.want...), zxids(7, 1, 5)...)
			assert.Equal(t, want, readAll(t, l))
			require.NoError(t, l.Close())
			l2 := openLog(t, vfs.OS, dir, smallOpts())
			assert.Nil(t, l2.Recovery().Truncated)
			assert.Equal(t, want, readAll(t, l2))
		})
	}

	t.Run("pending records", func(t *testing.T) {
		l, _ := build(t)
		require.NoError(t, l.Append(recs(zxids(2, 51, 10))))
		require.NoError(t, l.TruncateAfter(MakeZxid(2, 55)))
		assert.Equal(t, MakeZxid(2, 55), l.LastZxid())
		require.NoError(t, l.Sync())
		assert.Equal(t, append(append([]int64(nil), all...), zxids(2, 51, 5)...), readAll(t, l))
		require.ErrorIs(t, l.TruncateAfter(MakeZxid(1, 200)), ErrNotFound)
	})

	t.Run("iterator past the truncation point", func(t *testing.T) {
		l, _ := build(t)
		it, err := l.ReadAfter(MakeZxid(1, 90))
		require.NoError(t, err)
		defer it.Close()
		for i := 0; i < 5; i++ {
			require.True(t, it.Next())
		}
		require.NoError(t, l.TruncateAfter(MakeZxid(1, 92)))
		assert.False(t, it.Next())
		assert.ErrorIs(t, it.Err(), ErrTruncated)

		it2, err := l.ReadAfter(MakeZxid(1, 80))
		require.NoError(t, err)
		defer it2.Close()
		require.True(t, it2.Next())
		require.NoError(t, l.TruncateAfter(MakeZxid(1, 85)))
		var got []int64
		for it2.Next() {
			got = append(got, it2.Record().Zxid)
		}
		require.NoError(t, it2.Err())
		assert.Equal(t, zxids(1, 82, 4), got, "an iterator below the truncation point reads on to it")
	})
}

func TestPurgeBefore(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, vfs.OS, dir, smallOpts())
	appendSync(t, l, zxids(1, 1, 200))
	names := segFiles(t, dir)
	require.Greater(t, len(names), 4)
	third, _ := parseSegmentName(names[2])

	removed, err := l.PurgeBefore(third + 1)
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, names[0]), filepath.Join(dir, names[1])}, removed)
	assert.Equal(t, third, l.FirstZxid(), "the segment holding the zxid stays")
	assert.Equal(t, zxids(1, Counter(third), int(201-Counter(third))), readAll(t, l))

	removed, err = l.PurgeBefore(third)
	require.NoError(t, err)
	assert.Empty(t, removed)

	removed, err = l.PurgeBefore(MakeZxid(9, 1))
	require.NoError(t, err)
	assert.Len(t, removed, len(names)-3)
	assert.Len(t, segFiles(t, dir), 1, "the last segment always stays")
	last, _ := parseSegmentName(names[len(names)-1])
	require.NoError(t, l.Close())

	l2 := openLog(t, vfs.OS, dir, smallOpts())
	assert.Equal(t, last, l2.FirstZxid())
	assert.Equal(t, MakeZxid(1, 200), l2.LastZxid())
	_, err = l2.ReadAfter(0)
	assert.ErrorIs(t, err, ErrPurged)
}

func TestRoll(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, vfs.OS, dir, Options{PreallocSize: 64 << 10})
	appendSync(t, l, zxids(1, 1, 10))
	require.NoError(t, l.Roll())
	appendSync(t, l, zxids(1, 11, 10))
	assert.Equal(t, []string{SegmentName(MakeZxid(1, 1)), SegmentName(MakeZxid(1, 11))}, segFiles(t, dir))
	assert.Equal(t, zxids(1, 1, 20), readAll(t, l))
}

// TestStickyFsyncError: after a failed fsync the log refuses every write;
// only a reopen (reading what is on disk) brings it back.
func TestStickyFsyncError(t *testing.T) {
	dir := t.TempDir()
	ffs := &faultFS{FS: vfs.OS}
	l := openLog(t, ffs, dir, Options{PreallocSize: 64 << 10})
	appendSync(t, l, zxids(1, 1, 10))
	eio := &os.PathError{Op: "fsync", Path: "x", Err: syscall.EIO}
	ffs.set(func(f *faultFS) { f.syncErr = eio })
	require.NoError(t, l.Append(recs(zxids(1, 11, 5))))
	err := l.Sync()
	var fe *FailedError
	require.True(t, errors.As(err, &fe), "%v", err)
	assert.ErrorIs(t, err, syscall.EIO)
	assert.Equal(t, MakeZxid(1, 10), l.LastSynced(), "nothing acknowledged")

	ffs.set(func(f *faultFS) { f.syncErr = nil }) // the disk "recovers": still refused
	assert.Same(t, fe, errAs(l.Sync()))
	assert.Same(t, fe, errAs(l.Append(recs(zxids(1, 16, 1)))))
	assert.Same(t, fe, errAs(l.TruncateAfter(5)))
	_, err = l.PurgeBefore(5)
	assert.Same(t, fe, errAs(err))
	assert.Same(t, fe, errAs(l.Roll()))
	assert.Equal(t, MakeZxid(1, 10), l.LastSynced())
	require.NoError(t, l.Close())

	l2 := openLog(t, vfs.OS, dir, Options{})
	got := readAll(t, l2)
	assert.GreaterOrEqual(t, len(got), 10, "every acknowledged record is there")
	assert.Equal(t, zxids(1, 1, 10), got[:10])
}

func errAs(err error) *FailedError {
	var fe *FailedError
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

// TestDiskFull: a write that hits ENOSPC returns a *DiskFullError, leaves
// nothing of the batch behind (in memory or on disk), and the log takes
// writes again when space returns.
func TestDiskFull(t *testing.T) {
	for _, at := range []string{"records", "preallocation", "segment roll"} {
		t.Run(at, func(t *testing.T) {
			dir := t.TempDir()
			ffs := &faultFS{FS: vfs.OS}
			opts := Options{SegmentSize: 4 << 10, PreallocSize: 64 << 10}
			if at == "preallocation" {
				opts.PreallocSize = 512
			}
			l := openLog(t, ffs, dir, opts)
			appendSync(t, l, zxids(1, 1, 10))
			n := 5
			if at == "segment roll" {
				n = 60 // crosses SegmentSize
			}
			require.NoError(t, l.Append(recs(zxids(1, 11, n))))
			ffs.set(func(f *faultFS) { f.noSpace = true })
			err := l.Sync()
			var full *DiskFullError
			require.True(t, errors.As(err, &full), "%v", err)
			assert.ErrorIs(t, err, syscall.ENOSPC)
			assert.Contains(t, err.Error(), "disk full")
			assert.Equal(t, MakeZxid(1, 10), l.LastSynced())
			assert.Equal(t, MakeZxid(1, 10), l.LastZxid(), "the failed batch is dropped")
			assert.Equal(t, zxids(1, 1, 10), readAll(t, l))
			assert.Len(t, segFiles(t, dir), 1)

			// A restart now sees exactly the acknowledged records.
			l2, err := Open(vfs.OS, copyDir(t, dir), opts)
			require.NoError(t, err)
			assert.Nil(t, l2.Recovery().Truncated)
			assert.Equal(t, zxids(1, 1, 10), readAll(t, l2))
			require.NoError(t, l2.Close())

			// Space returns: the same zxids go in.
			ffs.set(func(f *faultFS) { f.noSpace = false })
			appendSync(t, l, zxids(1, 11, n))
			assert.Equal(t, zxids(1, 1, 10+n), readAll(t, l))
			require.NoError(t, l.Close())
			l3 := openLog(t, vfs.OS, dir, opts)
			assert.Nil(t, l3.Recovery().Truncated)
			assert.Equal(t, zxids(1, 1, 10+n), readAll(t, l3))
		})
	}
}

func TestClosed(t *testing.T) {
	l, err := Open(vfs.OS, t.TempDir(), Options{})
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.NoError(t, l.Close())
	assert.ErrorIs(t, l.Append(recs([]int64{1})), ErrClosed)
	assert.ErrorIs(t, l.Sync(), ErrClosed)
	_, err = l.ReadAll()
	assert.ErrorIs(t, err, ErrClosed)
}

func TestErrorMessages(t *testing.T) {
	ce := &CorruptionError{File: "/d/log.0000000000000001", Offset: 96, Reason: "record checksum mismatch"}
	assert.Equal(t, fmt.Sprintf("txnlog: corrupt transaction log /d/log.0000000000000001 at offset 96: record checksum mismatch; "+
		"refusing to go on rather than skip acknowledged transactions. To recover, restore the data directory from a backup "+
		"(or, in an ensemble, let this server resync from the others), or inspect the file and, if the loss is acceptable, "+
		"move it and every later log file out of the directory"), ce.Error())
}

// TestReset: a ZAB SNAP sync replaces the whole log; the next record
// follows the snapshot's zxid, whatever the log held before.
func TestReset(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, vfs.OS, dir, smallOpts())
	appendSync(t, l, zxids(1, 1, 80))
	it, err := l.ReadAfter(MakeZxid(1, 10))
	require.NoError(t, err)
	defer it.Close()
	require.True(t, it.Next())

	require.NoError(t, l.Reset(MakeZxid(3, 500)))
	assert.Empty(t, segFiles(t, dir))
	assert.Equal(t, MakeZxid(3, 500), l.LastZxid())
	assert.Equal(t, MakeZxid(3, 500), l.LastSynced())
	assert.False(t, it.Next())
	assert.ErrorIs(t, it.Err(), ErrTruncated)
	require.ErrorIs(t, l.Append(recs([]int64{MakeZxid(1, 81)})), ErrNotContinuous)

	appendSync(t, l, zxids(3, 501, 5))
	it2, err := l.ReadAfter(MakeZxid(3, 500))
	require.NoError(t, err)
	defer it2.Close()
	var got []int64
	for it2.Next() {
		got = append(got, it2.Record().Zxid)
	}
	require.NoError(t, it2.Err())
	assert.Equal(t, zxids(3, 501, 5), got)
	require.NoError(t, l.Close())

	l2 := openLog(t, vfs.OS, dir, smallOpts())
	assert.Equal(t, zxids(3, 501, 5), readAll(t, l2))
}

func TestSlowFsyncWarning(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	l := openLog(t, vfs.OS, t.TempDir(), Options{PreallocSize: 4 << 10, FsyncWarningTime: time.Nanosecond, Logger: zap.New(core)})
	appendSync(t, l, zxids(1, 1, 3))
	entries := logs.FilterMessage("fsync of the transaction log was slow").All()
	require.Len(t, entries, 1)
	assert.Contains(t, entries[0].ContextMap()["file"], SegmentName(MakeZxid(1, 1)))
}

// TestMaxRecordSizeOnlyOnAppend: reopening with a lower MaxRecordSize
// keeps records written under a higher one.
func TestMaxRecordSizeOnlyOnAppend(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, vfs.OS, dir, Options{PreallocSize: 4 << 10})
	appendSync(t, l, zxids(1, 1, 3))
	require.NoError(t, l.Close())
	l2 := openLog(t, vfs.OS, dir, Options{PreallocSize: 4 << 10, MaxRecordSize: 8})
	assert.Nil(t, l2.Recovery().Truncated)
	assert.Equal(t, zxids(1, 1, 3), readAll(t, l2))
	assert.ErrorIs(t, l2.Append(recs(zxids(1, 4, 1))), ErrTooLarge)
}

// TestConcurrentReadersAndWriter: one writer commits groups while readers
// follow the log from different points and a purger removes old segments;
// every reader sees a continuous sequence (checked by the iterator) and
// under -race nothing is shared unsafely.
func TestConcurrentReadersAndWriter(t *testing.T) {
	l := openLog(t, vfs.NewMemFS(), "data", smallOpts())
	const total = 600
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for c := int64(1); c <= total; c += 6 {
			if !assert.NoError(t, l.Append(recs(zxids(1, c, 6)))) || !assert.NoError(t, l.Sync()) {
				return
			}
		}
	}()
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var it *Iterator
			for {
				var err error
				if it, err = l.ReadAll(); err == nil {
					break
				}
			}
			defer it.Close()
			seen := int64(0)
			for seen < MakeZxid(1, total) {
				for it.Next() {
					seen = it.Record().Zxid
				}
				if err := it.Err(); err != nil {
					// Only the purger may end a reader, and only by purging.
					assert.ErrorIs(t, err, ErrPurged)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for l.LastSynced() < MakeZxid(1, total) {
			_, err := l.PurgeBefore(l.LastSynced() - 200)
			assert.NoError(t, err)
		}
	}()
	wg.Wait()
	assert.Equal(t, MakeZxid(1, total), l.LastSynced())
}
