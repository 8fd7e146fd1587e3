package vfs

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFaultFailSync checks that exactly the armed syncs fail, with EIO.
func TestFaultFailSync(t *testing.T) {
	for _, impl := range []fsUnderTest{
		{"OS", func(t *testing.T) (FS, string) { return OS, t.TempDir() }},
		{"MemFS", func(t *testing.T) (FS, string) { return NewMemFS(), "/" }},
	} {
		t.Run(impl.name, func(t *testing.T) {
			inner, dir := impl.make(t)
			ff := NewFaultFS(inner)
			f, err := ff.Create(filepath.Join(dir, "f"))
			require.NoError(t, err)
			defer f.Close()
			ff.FailSync(2)
			ff.FailSyncDir(1)
			var errs []error
			for range 4 {
				errs = append(errs, f.Sync())
			}
			assert.NoError(t, errs[0])
			assert.ErrorIs(t, errs[1], syscall.EIO)
			assert.NoError(t, errs[2])
			assert.NoError(t, errs[3])
			assert.ErrorIs(t, ff.SyncDir(dir), syscall.EIO)
			assert.NoError(t, ff.SyncDir(dir))
			files, dirs := ff.Syncs()
			assert.Equal(t, 4, files)
			assert.Equal(t, 2, dirs)
		})
	}
}

// TestFaultFsyncgate checks the MemFS model of a failed fsync: reads still
// see the data, but it never becomes durable, even after a later
// successful sync.
func TestFaultFsyncgate(t *testing.T) {
	m := NewMemFS()
	ff := NewFaultFS(m)
	writeFile(t, ff, "f", "base", true)
	require.NoError(t, ff.SyncDir("/"))
	f, err := ff.OpenFile("f", os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("+dropped"))
	require.NoError(t, err)
	ff.FailSync(1)
	require.ErrorIs(t, f.Sync(), syscall.EIO)
	_, err = f.Write([]byte("+later"))
	require.NoError(t, err)
	require.NoError(t, f.Sync(), "a later fsync succeeds, as on Linux")
	assert.Equal(t, map[string]string{"f": "base+dropped+later"}, tree(t, ff, "/"))
	got := tree(t, m.Crash(CrashOptions{}), "/")["f"]
	assert.Equal(t, "base\x00\x00\x00\x00\x00\x00\x00\x00+later", got)
}

// TestFaultFailedSyncDir checks that a failed SyncDir leaves the entries
// as undurable as they were.
func TestFaultFailedSyncDir(t *testing.T) {
	m := NewMemFS()
	ff := NewFaultFS(m)
	writeFile(t, ff, "f", "x", true)
	ff.FailSyncDir(1)
	require.Error(t, ff.SyncDir("/"))
	assert.Empty(t, tree(t, m.Crash(CrashOptions{}), "/"))
}

// TestFaultDiskFull checks ENOSPC accounting on both implementations.
func TestFaultDiskFull(t *testing.T) {
	for _, impl := range []fsUnderTest{
		{"OS", func(t *testing.T) (FS, string) { return OS, t.TempDir() }},
		{"MemFS", func(t *testing.T) (FS, string) { return NewMemFS(), "/" }},
	} {
		t.Run(impl.name, func(t *testing.T) {
			inner, dir := impl.make(t)
			ff := NewFaultFS(inner)
			assert.Equal(t, int64(-1), ff.Free(), "unlimited by default")
			p := filepath.Join(dir, "f")
			f, err := ff.Create(p)
			require.NoError(t, err)
			defer f.Close()
			ff.SetFree(10)

			n, err := f.Write([]byte("123456"))
			require.NoError(t, err)
			assert.Equal(t, 6, n)
			assert.Equal(t, int64(4), ff.Free())

			n, err = f.Write([]byte("abcdef"))
			assert.ErrorIs(t, err, syscall.ENOSPC)
			assert.Equal(t, 4, n, "what fits is written")
			assert.Equal(t, int64(0), ff.Free())

			n, err = f.WriteAt([]byte("XY"), 0)
			require.NoError(t, err, "overwriting in place needs no space")
			assert.Equal(t, 2, n)

			n, err = f.WriteAt([]byte("z"), 10)
			assert.ErrorIs(t, err, syscall.ENOSPC)
			assert.Zero(t, n)

			require.NoError(t, f.Truncate(7), "shrinking frees space")
			assert.Equal(t, int64(3), ff.Free())
			_, err = f.Seek(0, io.SeekEnd)
			require.NoError(t, err)
			_, err = f.Write([]byte("789"))
			require.NoError(t, err)
			data, err := ReadFile(ff, p)
			require.NoError(t, err)
			assert.Equal(t, "XY3456a789", string(data))

			require.NoError(t, f.Close())
			require.NoError(t, ff.Remove(p), "removing frees space")
			assert.Equal(t, int64(10), ff.Free())

			ff.SetFree(0)
			g, err := ff.OpenFile(filepath.Join(dir, "g"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			require.NoError(t, err, "creating an empty file needs no space")
			_, err = g.Write([]byte("x"))
			assert.ErrorIs(t, err, syscall.ENOSPC)
			ff.SetFree(-1)
			_, err = g.Write([]byte("x"))
			require.NoError(t, err, "writes succeed again when space returns")
			require.NoError(t, g.Close())

			writeFile(t, ff, filepath.Join(dir, "h"), "hhhh", false)
			ff.SetFree(0)
			require.NoError(t, ff.Rename(filepath.Join(dir, "h"), filepath.Join(dir, "g")))
			assert.Equal(t, int64(1), ff.Free(), "the replaced file's byte came back")
			h, err := ff.OpenFile(filepath.Join(dir, "g"), os.O_WRONLY|os.O_TRUNC, 0)
			require.NoError(t, err)
			require.NoError(t, h.Close())
			assert.Equal(t, int64(5), ff.Free(), "O_TRUNC gives the bytes back")
		})
	}
}

// TestFaultShortReads checks that short reads are legal for Read (a
// careful reader still gets everything) and flagged for ReadAt.
func TestFaultShortReads(t *testing.T) {
	m := NewMemFS()
	ff := NewFaultFS(m)
	writeFile(t, ff, "f", "0123456789", false)
	ff.SetShortReads(3)
	f, err := ff.Open("f")
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 10)
	n, err := f.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	_, err = f.Seek(0, io.SeekStart)
	require.NoError(t, err)
	data, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.Equal(t, "0123456789", string(data))

	n, err = f.ReadAt(buf, 2)
	assert.Equal(t, 3, n)
	assert.ErrorIs(t, err, ErrShortRead)
	assert.Equal(t, "234", string(buf[:n]))

	n, err = f.ReadAt(buf[:2], 0)
	require.NoError(t, err, "a read within the limit is whole")
	assert.Equal(t, 2, n)

	ff.Reset()
	n, err = f.ReadAt(buf, 0)
	require.NoError(t, err)
	assert.Equal(t, 10, n)
}

// TestFaultFailReads checks EIO on reads that touch a bad range only.
func TestFaultFailReads(t *testing.T) {
	ff := NewFaultFS(NewMemFS())
	writeFile(t, ff, "f", "0123456789", false)
	writeFile(t, ff, "g", "0123456789", false)
	ff.FailReads("f", 4, 2)
	f, err := ff.Open("f")
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 4)
	_, err = f.ReadAt(buf, 0)
	require.NoError(t, err, "[0,4) misses [4,6)")
	_, err = f.ReadAt(buf, 2)
	assert.ErrorIs(t, err, syscall.EIO)
	_, err = f.ReadAt(buf, 6)
	require.NoError(t, err)
	_, err = f.Read(buf)
	require.NoError(t, err)
	_, err = f.Read(buf)
	assert.ErrorIs(t, err, syscall.EIO, "sequential read reaching the bad range")
	data, err := ReadFile(ff, "g")
	require.NoError(t, err, "other files are fine")
	assert.Equal(t, "0123456789", string(data))
}

// TestCorruption checks FlipBit and ZeroRange on the OS, on a MemFS
// (including its durable content), and through wrappers, which must not
// record the corruption as a write.
func TestCorruption(t *testing.T) {
	type target struct {
		name  string
		setup func(t *testing.T) (fsys FS, dir string, after func(t *testing.T) map[string]string)
	}
	for _, tg := range []target{
		{"OS", func(t *testing.T) (FS, string, func(*testing.T) map[string]string) {
			dir := t.TempDir()
			return OS, dir, func(t *testing.T) map[string]string { return tree(t, OS, dir) }
		}},
		{"Recorder(FaultFS(OS))", func(t *testing.T) (FS, string, func(*testing.T) map[string]string) {
			dir := t.TempDir()
			r := NewRecorder(NewFaultFS(OS))
			return r, dir, func(t *testing.T) map[string]string {
				for _, op := range r.Ops() {
					if op.Kind == OpWrite {
						assert.Equal(t, int64(0), op.Off, "only the setup write is recorded")
					}
				}
				return tree(t, OS, dir)
			}
		}},
		{"MemFS after crash", func(t *testing.T) (FS, string, func(*testing.T) map[string]string) {
			m := NewMemFS()
			return m, "/", func(t *testing.T) map[string]string { return tree(t, m.Crash(CrashOptions{}), "/") }
		}},
		{"Recorder(FaultFS(MemFS))", func(t *testing.T) (FS, string, func(*testing.T) map[string]string) {
			m := NewMemFS()
			r := NewRecorder(NewFaultFS(m))
			return r, "/", func(t *testing.T) map[string]string {
				for _, op := range r.Ops() {
					if op.Kind == OpWrite {
						assert.Equal(t, int64(0), op.Off, "only the setup write is recorded")
					}
				}
				return tree(t, m.Crash(CrashOptions{}), "/")
			}
		}},
	} {
		t.Run(tg.name, func(t *testing.T) {
			fsys, dir, after := tg.setup(t)
			p := filepath.Join(dir, "f")
			writeFile(t, fsys, p, "AAAAAAAA", true)
			require.NoError(t, fsys.SyncDir(dir))
			require.NoError(t, FlipBit(fsys, p, 1, 0))
			require.NoError(t, FlipBit(fsys, p, 2, 7))
			require.NoError(t, ZeroRange(fsys, p, 5, 3))
			want := "A@\xc1AA\x00\x00\x00"
			data, err := ReadFile(fsys, p)
			require.NoError(t, err)
			assert.Equal(t, want, string(data), "reads see it")
			assert.Equal(t, map[string]string{"f": want}, after(t), "the disk holds it")
		})
	}
}

// TestCorruptionErrors checks the refusals.
func TestCorruptionErrors(t *testing.T) {
	for _, impl := range []fsUnderTest{
		{"OS", func(t *testing.T) (FS, string) { return OS, t.TempDir() }},
		{"MemFS", func(t *testing.T) (FS, string) { return NewMemFS(), "/" }},
	} {
		t.Run(impl.name, func(t *testing.T) {
			fsys, dir := impl.make(t)
			p := filepath.Join(dir, "f")
			writeFile(t, fsys, p, "abc", true)
			assert.Error(t, FlipBit(fsys, p, 3, 0), "beyond the end")
			assert.Error(t, FlipBit(fsys, p, 0, 8), "bit out of range")
			assert.Error(t, ZeroRange(fsys, p, 2, 2), "beyond the end")
			assert.Error(t, ZeroRange(fsys, p, -1, 1), "negative")
			assert.ErrorIs(t, FlipBit(fsys, filepath.Join(dir, "nope"), 0, 0), os.ErrNotExist)
			data, err := ReadFile(fsys, p)
			require.NoError(t, err)
			assert.Equal(t, "abc", string(data), "nothing changed")
		})
	}
}

// TestCorruptionKeepsUnsyncedWritesPending checks that corrupting a MemFS
// file does not sync its unsynced writes.
func TestCorruptionKeepsUnsyncedWritesPending(t *testing.T) {
	m := NewMemFS()
	writeFile(t, m, "f", "AAAA", true)
	require.NoError(t, m.SyncDir("/"))
	appendFile(t, m, "f", "BBBB", false)
	require.NoError(t, ZeroRange(m, "f", 0, 6))
	data, err := ReadFile(m, "f")
	require.NoError(t, err)
	assert.Equal(t, "\x00\x00\x00\x00\x00\x00BB", string(data))
	assert.Equal(t, map[string]string{"f": "\x00\x00\x00\x00"}, tree(t, m.Crash(CrashOptions{}), "/"))
}

// TestFaultConcurrent exercises the FaultFS locking under -race.
func TestFaultConcurrent(t *testing.T) {
	ff := NewFaultFS(NewMemFS())
	ff.SetFree(1 << 20)
	done := make(chan struct{})
	for i := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			f, err := ff.Create(string(rune('a' + i)))
			if !assert.NoError(t, err) {
				return
			}
			for range 50 {
				_, err := f.Write([]byte("0123456789"))
				assert.NoError(t, err)
				assert.NoError(t, f.Sync())
				_, err = f.ReadAt(make([]byte, 5), 0)
				assert.NoError(t, err)
			}
			assert.NoError(t, f.Close())
		}()
	}
	for range 4 {
		<-done
	}
	assert.Equal(t, int64(1<<20-4*500), ff.Free())
}
