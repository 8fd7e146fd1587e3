package snapfile

import (
	"errors"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/vfs"
)

func TestNames(t *testing.T) {
	for _, z := range []int64{0, 1, 0x100000001, 0x7fffffff_ffffffff} {
		name := FileName(z)
		assert.Len(t, name, len("snapshot.")+16)
		got, ok := ParseName(name)
		assert.True(t, ok, name)
		assert.Equal(t, z, got, name)
	}
	assert.Equal(t, "snapshot.0000000100000002", FileName(0x100000002))

	for _, tc := range []struct {
		name string
		zxid int64
		ok   bool
	}{
		{"snapshot.0000000000000010", 16, true},
		{"snapshot.00000000000000ff", 255, true},
		{"snapshot.00000000000000FF", 0, false},     // upper case
		{"snapshot.ff", 0, false},                   // ZooKeeper's unpadded names are not ours
		{"snapshot.0000000000000010.tmp", 0, false}, // temporary
		{"snapshot.000000000000001g", 0, false},     // not hex
		{"snapshot.8000000000000000", 0, false},     // negative zxid
		{"snapshot.-000000000000001", 0, false},     // sign
		{"log.0000000000000010", 0, false},          // a log segment
		{"xsnapshot.0000000000000010", 0, false},    // prefix
		{"snapshot.00000000000000100", 0, false},    // 17 digits
		{"snapshot.0000000000000010 ", 0, false},    // trailing space
		{"snapshot.+000000000000010", 0, false},     // sign
		{"snapshot.0x00000000000010", 0, false},     // prefix inside
		{"", 0, false},
	} {
		z, ok := ParseName(tc.name)
		assert.Equal(t, tc.ok, ok, tc.name)
		assert.Equal(t, tc.zxid, z, tc.name)
	}
	z, ok := parseTmpName(tmpName(42))
	assert.True(t, ok)
	assert.Equal(t, int64(42), z)
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		bsize int
	}{
		{"empty", 0, MaxBlockSize},
		{"one byte", 1, MaxBlockSize},
		{"small", 1000, MaxBlockSize},
		{"exactly one block", MaxBlockSize, MaxBlockSize},
		{"one block and a byte", MaxBlockSize + 1, MaxBlockSize},
		{"several MB", 5<<20 + 12345, MaxBlockSize},
		{"many small blocks", 10000, 100},
		{"one-byte blocks", 50, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewMemFS()
			data := payload(int64(tc.n), tc.n)
			m := meta(0x500000000 + int64(tc.n))
			info := writeSnap(t, mem, "data/snap", m, data, tc.bsize)

			path := filepath.Join("data/snap", FileName(m.Zxid))
			assert.Equal(t, Info{Path: path, Zxid: m.Zxid, Size: layout(tc.bsize, tc.n)[len(layout(tc.bsize, tc.n))-1].end}, info)
			st, err := mem.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, info.Size, st.Size)

			gotMeta, got, err := readAll(mem, path)
			require.NoError(t, err)
			assert.Equal(t, m, gotMeta)
			assert.Equal(t, len(data), len(got))
			assert.True(t, string(data) == string(got), "payload differs")

			vm, err := Verify(mem, path)
			require.NoError(t, err)
			assert.Equal(t, m, vm)

			list, err := List(mem, "data/snap")
			require.NoError(t, err)
			assert.Equal(t, []Info{info}, list)

			// The Reader behaves as an io.Reader must, with any buffer size.
			if tc.n <= 10000 {
				r, err := Open(mem, path)
				require.NoError(t, err)
				require.NoError(t, iotest.TestReader(r, data))
				require.NoError(t, r.Close())
				r, err = Open(mem, path)
				require.NoError(t, err)
				got, err := io.ReadAll(iotest.OneByteReader(r))
				require.NoError(t, err)
				assert.Equal(t, string(data), string(got))
				n, err := r.Read(make([]byte, 10))
				assert.Equal(t, 0, n)
				assert.Equal(t, io.EOF, err, "EOF is sticky")
				require.NoError(t, r.Close())
				_, err = r.Read(make([]byte, 10))
				assert.ErrorIs(t, err, ErrClosed)
				assert.NoError(t, r.Close(), "second Close")
			}
		})
	}
}

func TestWriterLifecycle(t *testing.T) {
	t.Run("invisible until commit", func(t *testing.T) {
		mem := vfs.NewMemFS()
		w, err := Create(mem, "snap", meta(5))
		require.NoError(t, err)
		_, err = w.Write(payload(1, 3*MaxBlockSize))
		require.NoError(t, err)
		list, err := List(mem, "snap")
		require.NoError(t, err)
		assert.Empty(t, list)
		names, err := mem.ReadDir("snap")
		require.NoError(t, err)
		assert.Equal(t, []string{FileName(5) + ".tmp"}, names)
		_, err = mem.Stat("snap/" + FileName(5))
		assert.ErrorIs(t, err, fs.ErrNotExist)

		info, err := w.Commit()
		require.NoError(t, err)
		names, err = mem.ReadDir("snap")
		require.NoError(t, err)
		assert.Equal(t, []string{FileName(5)}, names)
		assert.Equal(t, "snap/"+FileName(5), info.Path)

		_, err = w.Write([]byte("x"))
		assert.ErrorIs(t, err, ErrClosed)
		_, err = w.Commit()
		assert.ErrorIs(t, err, ErrClosed)
		assert.NoError(t, w.Abort(), "Abort after Commit does nothing")
		_, err = Verify(mem, info.Path)
		assert.NoError(t, err)
	})
	t.Run("abort", func(t *testing.T) {
		mem := vfs.NewMemFS()
		w, err := Create(mem, "snap", meta(5))
		require.NoError(t, err)
		_, err = w.Write([]byte("partial"))
		require.NoError(t, err)
		require.NoError(t, w.Abort())
		names, err := mem.ReadDir("snap")
		require.NoError(t, err)
		assert.Empty(t, names)
		_, err = w.Write([]byte("x"))
		assert.ErrorIs(t, err, ErrClosed)
		_, err = w.Commit()
		assert.ErrorIs(t, err, ErrClosed)
		assert.NoError(t, w.Abort())
	})
	t.Run("invalid meta", func(t *testing.T) {
		mem := vfs.NewMemFS()
		for _, m := range []Meta{{Zxid: -1}, {Zxid: 1, Nodes: -1}, {Zxid: 1, Sessions: -2}} {
			_, err := Create(mem, "snap", m)
			assert.ErrorIs(t, err, ErrInvalidMeta, "%+v", m)
		}
	})
	t.Run("dir is a file", func(t *testing.T) {
		mem := vfs.NewMemFS()
		copyFile(t, mem, "snap", []byte("x"))
		_, err := Create(mem, "snap", meta(1))
		assert.Error(t, err)
	})
	t.Run("overwrites leftover tmp and replaces same zxid", func(t *testing.T) {
		mem := vfs.NewMemFS()
		require.NoError(t, mem.MkdirAll("snap", 0o755))
		copyFile(t, mem, "snap/"+tmpName(9), payload(3, 5000))
		writeSnap(t, mem, "snap", meta(9), []byte("first"), MaxBlockSize)
		writeSnap(t, mem, "snap", meta(9), []byte("second"), MaxBlockSize)
		_, got, err := readAll(mem, "snap/"+FileName(9))
		require.NoError(t, err)
		assert.Equal(t, "second", string(got))
		names, err := mem.ReadDir("snap")
		require.NoError(t, err)
		assert.Equal(t, []string{FileName(9)}, names)
	})
	t.Run("committed snapshot survives a crash", func(t *testing.T) {
		mem := vfs.NewMemFS()
		info := writeSnap(t, mem, "a/b/snap", meta(77), payload(7, 1000), 300)
		after := mem.Crash(vfs.CrashOptions{})
		m, err := Verify(after, info.Path)
		require.NoError(t, err)
		assert.Equal(t, meta(77), m)
	})
}

func TestOpenErrors(t *testing.T) {
	mem := vfs.NewMemFS()
	info := writeSnap(t, mem, "snap", meta(0x20), payload(2, 700), 256)
	data, err := vfs.ReadFile(mem, info.Path)
	require.NoError(t, err)

	_, err = Open(mem, "snap/"+FileName(0x99))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	var ce *CorruptionError
	assert.False(t, errors.As(err, &ce), "a missing file is not corruption")

	// A sound file under another snapshot's name.
	copyFile(t, mem, "snap/"+FileName(0x21), data)
	_, err = Verify(mem, "snap/"+FileName(0x21))
	requireCorrupt(t, err, "snap/"+FileName(0x21), 8)

	// Under a name that is not a snapshot's, it is read as it is.
	copyFile(t, mem, "snap/backup.bin", data)
	m, err := Verify(mem, "snap/backup.bin")
	require.NoError(t, err)
	assert.Equal(t, meta(0x20), m)

	fr := layout(256, 700)
	for _, tc := range []struct {
		name   string
		data   []byte
		offset int64
	}{
		{"empty file", nil, 0},
		{"not a snapshot", []byte("WTXL0000000000000000000000000000000000000000000000000000000000000000000000000"), 0},
		{"bytes after trailer", append(append([]byte{}, data...), 0), int64(len(data))},
		{"zeros after trailer", append(append([]byte{}, data...), make([]byte, 4096)...), int64(len(data))},
		{"block missing", append(append([]byte{}, data[:fr[1].start]...), data[fr[2].start:]...), fr[4].start - (fr[2].start - fr[1].start)},
		{"blocks swapped", append(append(append(append([]byte{}, data[:fr[1].start]...), data[fr[2].start:fr[3].start]...), data[fr[1].start:fr[2].start]...), data[fr[3].start:]...), fr[4].start},
		{"trailer only", append(append([]byte{}, data[:headerSize]...), data[fr[len(fr)-1].start:]...), headerSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := "snap/" + tc.name
			copyFile(t, mem, p, tc.data)
			_, got, err := readAll(mem, p)
			ce := requireCorrupt(t, err, p, tc.offset)
			assert.Contains(t, ce.Error(), p)
			assert.Contains(t, ce.Error(), "older snapshot")
			assert.True(t, len(got) <= 700)
		})
	}
}

func TestList(t *testing.T) {
	mem := vfs.NewMemFS()
	_, err := List(mem, "nope")
	assert.ErrorIs(t, err, fs.ErrNotExist)

	require.NoError(t, mem.MkdirAll("snap/"+FileName(0x77), 0o755)) // a directory with a snapshot's name
	var want []Info
	for _, z := range []int64{0x10, 0x300000001, 0x5, 0x200000000} {
		want = append(want, writeSnap(t, mem, "snap", meta(z), payload(z, int(z%500)), 128))
	}
	copyFile(t, mem, "snap/"+tmpName(0x400000000), []byte("partial"))
	copyFile(t, mem, "snap/log.0000000000000001", []byte("log"))
	copyFile(t, mem, "snap/README", []byte("x"))
	list, err := List(mem, "snap")
	require.NoError(t, err)
	assert.Equal(t, []Info{want[1], want[3], want[0], want[2]}, list)

	// A snapshot removed between ReadDir and Stat (a purge running
	// meanwhile) is left out, not an error: CI saw a test's poll fail so.
	list, err = List(vanishing{mem, FileName(0x10)}, "snap")
	require.NoError(t, err)
	assert.Equal(t, []Info{want[1], want[3], want[2]}, list)
}

// vanishing removes name from the directory after a ReadDir lists it.
type vanishing struct {
	vfs.FS
	name string
}

func (v vanishing) ReadDir(dir string) ([]string, error) {
	names, err := v.FS.ReadDir(dir)
	if err == nil {
		err = v.FS.Remove(filepath.Join(dir, v.name))
	}
	return names, err
}

func TestPurge(t *testing.T) {
	zxids := []int64{0x100000005, 0x100000001, 0x300000000, 0x200000010, 0x100000009}
	setup := func(t *testing.T) *vfs.MemFS {
		mem := vfs.NewMemFS()
		for _, z := range zxids {
			writeSnap(t, mem, "snap", meta(z), payload(z, 100), 64)
		}
		copyFile(t, mem, "snap/"+tmpName(0x400000000), []byte("crashed mid-write"))
		copyFile(t, mem, "snap/"+tmpName(0x1), []byte("older leftover"))
		copyFile(t, mem, "snap/log.0000000100000001", []byte("not ours"))
		copyFile(t, mem, "snap/other.tmp", []byte("not ours either"))
		return mem
	}
	for _, tc := range []struct {
		retain int
		keep   []int64
	}{
		{1, []int64{0x300000000}},
		{2, []int64{0x300000000, 0x200000010}},
		{3, []int64{0x300000000, 0x200000010, 0x100000009}},
		{5, []int64{0x300000000, 0x200000010, 0x100000009, 0x100000005, 0x100000001}},
		{9, []int64{0x300000000, 0x200000010, 0x100000009, 0x100000005, 0x100000001}},
	} {
		t.Run("retain "+string(rune('0'+tc.retain)), func(t *testing.T) {
			mem := setup(t)
			removed, err := Purge(mem, "snap", tc.retain)
			require.NoError(t, err)
			var wantRemoved []string
			wantRemoved = append(wantRemoved, "snap/"+tmpName(0x1), "snap/"+tmpName(0x400000000))
			// Oldest first.
			for _, z := range []int64{0x100000001, 0x100000005, 0x100000009, 0x200000010} {
				keep := false
				for _, k := range tc.keep {
					keep = keep || k == z
				}
				if !keep {
					wantRemoved = append(wantRemoved, "snap/"+FileName(z))
				}
			}
			assert.Equal(t, wantRemoved, removed)

			// Durable: a crash right after keeps the result.
			after := mem.Crash(vfs.CrashOptions{})
			list, err := List(after, "snap")
			require.NoError(t, err)
			var got []int64
			for _, in := range list {
				got = append(got, in.Zxid)
				_, err := Verify(after, in.Path)
				require.NoError(t, err)
			}
			assert.Equal(t, tc.keep, got)
			names, err := after.ReadDir("snap")
			require.NoError(t, err)
			assert.Contains(t, names, "log.0000000100000001")
			assert.Contains(t, names, "other.tmp")
			assert.NotContains(t, names, tmpName(0x400000000))
		})
	}
	t.Run("nothing to do", func(t *testing.T) {
		mem := vfs.NewMemFS()
		writeSnap(t, mem, "snap", meta(1), nil, 64)
		removed, err := Purge(mem, "snap", 1)
		require.NoError(t, err)
		assert.Empty(t, removed)
	})
	t.Run("bad retain", func(t *testing.T) {
		mem := setup(t)
		for _, n := range []int{0, -1, math.MinInt} {
			_, err := Purge(mem, "snap", n)
			assert.Error(t, err)
		}
		list, err := List(mem, "snap")
		require.NoError(t, err)
		assert.Len(t, list, len(zxids), "nothing removed")
	})
	t.Run("fsync error reported", func(t *testing.T) {
		ffs := vfs.NewFaultFS(setup(t))
		ffs.FailSyncDir(1)
		removed, err := Purge(ffs, "snap", 1)
		assert.Error(t, err)
		assert.Len(t, removed, 6)
	})
}
