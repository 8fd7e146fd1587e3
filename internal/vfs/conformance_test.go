package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conformanceCase is a behaviour every FS must show without a crash. It
// runs in an empty directory dir of fsys.
type conformanceCase struct {
	name string
	run  func(t *testing.T, fsys FS, dir string)
}

var conformanceCases = []conformanceCase{
	{"create write seek read", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		f, err := fsys.Create(p)
		require.NoError(t, err)
		defer f.Close()
		assert.Equal(t, p, f.Name())
		n, err := f.Write([]byte("hello world"))
		require.NoError(t, err)
		assert.Equal(t, 11, n)
		pos, err := f.Seek(6, io.SeekStart)
		require.NoError(t, err)
		assert.Equal(t, int64(6), pos)
		buf := make([]byte, 5)
		_, err = io.ReadFull(f, buf)
		require.NoError(t, err)
		assert.Equal(t, "world", string(buf))
		n, err = f.Read(buf)
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, io.EOF)
		st, err := fsys.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, FileInfo{Size: 11}, st)
	}},
	{"write past the end leaves a zero hole", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		f, err := fsys.Create(p)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte("xy"), 4)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		data, err := ReadFile(fsys, p)
		require.NoError(t, err)
		assert.Equal(t, "\x00\x00\x00\x00xy", string(data))
	}},
	{"read at and past the end", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		writeFile(t, fsys, p, "abc", false)
		f, err := fsys.Open(p)
		require.NoError(t, err)
		defer f.Close()
		buf := make([]byte, 4)
		n, err := f.ReadAt(buf, 1)
		assert.Equal(t, 2, n)
		assert.ErrorIs(t, err, io.EOF)
		assert.Equal(t, "bc", string(buf[:n]))
		n, err = f.ReadAt(buf, 10)
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, io.EOF)
		_, err = f.ReadAt(buf, -1)
		assert.Error(t, err)
	}},
	{"append mode writes at the end and refuses WriteAt", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		writeFile(t, fsys, p, "ab", false)
		f, err := fsys.OpenFile(p, os.O_RDWR|os.O_APPEND, 0)
		require.NoError(t, err)
		_, err = f.Seek(0, io.SeekStart)
		require.NoError(t, err)
		_, err = f.Write([]byte("cd"))
		require.NoError(t, err)
		pos, err := f.Seek(0, io.SeekCurrent)
		require.NoError(t, err)
		assert.Equal(t, int64(4), pos)
		_, err = f.WriteAt([]byte("zz"), 0)
		assert.Error(t, err)
		require.NoError(t, f.Close())
		data, err := ReadFile(fsys, p)
		require.NoError(t, err)
		assert.Equal(t, "abcd", string(data))
	}},
	{"create truncates, O_TRUNC truncates, plain open keeps", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		writeFile(t, fsys, p, "long content", false)
		f, err := fsys.OpenFile(p, os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = f.Write([]byte("LONG"))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		data, err := ReadFile(fsys, p)
		require.NoError(t, err)
		assert.Equal(t, "LONG content", string(data))
		f, err = fsys.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		st, err := fsys.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, int64(0), st.Size)
		writeFile(t, fsys, p, "x", false)
		data, err = ReadFile(fsys, p)
		require.NoError(t, err)
		assert.Equal(t, "x", string(data))
	}},
	{"exclusive create of an existing file", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		writeFile(t, fsys, p, "x", false)
		_, err := fsys.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		assert.ErrorIs(t, err, fs.ErrExist)
		f, err := fsys.OpenFile(filepath.Join(dir, "g"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}},
	{"missing files and directories", func(t *testing.T, fsys FS, dir string) {
		_, err := fsys.Open(filepath.Join(dir, "nope"))
		assert.ErrorIs(t, err, fs.ErrNotExist)
		_, err = fsys.OpenFile(filepath.Join(dir, "nope"), os.O_RDWR, 0)
		assert.ErrorIs(t, err, fs.ErrNotExist)
		_, err = fsys.Create(filepath.Join(dir, "nodir", "f"))
		assert.ErrorIs(t, err, fs.ErrNotExist)
		_, err = fsys.Stat(filepath.Join(dir, "nope"))
		assert.ErrorIs(t, err, fs.ErrNotExist)
		_, err = fsys.ReadDir(filepath.Join(dir, "nope"))
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.ErrorIs(t, fsys.Remove(filepath.Join(dir, "nope")), fs.ErrNotExist)
		assert.ErrorIs(t, fsys.Rename(filepath.Join(dir, "nope"), filepath.Join(dir, "x")), fs.ErrNotExist)
		assert.ErrorIs(t, fsys.SyncDir(filepath.Join(dir, "nope")), fs.ErrNotExist)
	}},
	{"a file is not a directory", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		writeFile(t, fsys, p, "x", false)
		_, err := fsys.Create(filepath.Join(p, "g"))
		assert.ErrorIs(t, err, syscall.ENOTDIR)
		assert.ErrorIs(t, fsys.MkdirAll(filepath.Join(p, "d"), 0o755), syscall.ENOTDIR)
		_, err = fsys.ReadDir(p)
		assert.ErrorIs(t, err, syscall.ENOTDIR)
	}},
	{"a directory is not a file", func(t *testing.T, fsys FS, dir string) {
		d := filepath.Join(dir, "d")
		require.NoError(t, fsys.MkdirAll(d, 0o755))
		_, err := fsys.OpenFile(d, os.O_RDWR, 0)
		assert.ErrorIs(t, err, syscall.EISDIR)
		_, err = fsys.Create(d)
		assert.ErrorIs(t, err, syscall.EISDIR)
		f, err := fsys.Open(d)
		require.NoError(t, err)
		_, err = f.Read(make([]byte, 4))
		assert.ErrorIs(t, err, syscall.EISDIR)
		assert.NoError(t, f.Sync(), "fsync of a directory descriptor")
		require.NoError(t, f.Close())
		st, err := fsys.Stat(d)
		require.NoError(t, err)
		assert.True(t, st.IsDir)
	}},
	{"access modes", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		writeFile(t, fsys, p, "abc", false)
		r, err := fsys.Open(p)
		require.NoError(t, err)
		_, err = r.Write([]byte("x"))
		assert.ErrorIs(t, err, syscall.EBADF)
		_, err = r.WriteAt([]byte("x"), 0)
		assert.ErrorIs(t, err, syscall.EBADF)
		require.NoError(t, r.Close())
		w, err := fsys.OpenFile(p, os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = w.Read(make([]byte, 1))
		assert.ErrorIs(t, err, syscall.EBADF)
		require.NoError(t, w.Close())
	}},
	{"truncate needs write access; O_TRUNC does not", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		writeFile(t, fsys, p, "abc", false)
		r, err := fsys.Open(p)
		require.NoError(t, err)
		assert.ErrorIs(t, r.Truncate(1), syscall.EINVAL)
		require.NoError(t, r.Close())
		r, err = fsys.OpenFile(p, os.O_RDONLY|os.O_TRUNC, 0)
		require.NoError(t, err)
		require.NoError(t, r.Close())
		st, err := fsys.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, int64(0), st.Size)
	}},
	{"closed files", func(t *testing.T, fsys FS, dir string) {
		f, err := fsys.Create(filepath.Join(dir, "f"))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		assert.ErrorIs(t, f.Close(), os.ErrClosed)
		_, err = f.Write([]byte("x"))
		assert.ErrorIs(t, err, os.ErrClosed)
		_, err = f.Read(make([]byte, 1))
		assert.ErrorIs(t, err, os.ErrClosed)
		assert.ErrorIs(t, f.Sync(), os.ErrClosed)
		assert.ErrorIs(t, f.Truncate(0), os.ErrClosed)
		_, err = f.Seek(0, io.SeekStart)
		assert.ErrorIs(t, err, os.ErrClosed)
	}},
	{"seek", func(t *testing.T, fsys FS, dir string) {
		f, err := fsys.Create(filepath.Join(dir, "f"))
		require.NoError(t, err)
		defer f.Close()
		_, err = f.Write([]byte("0123456789"))
		require.NoError(t, err)
		for _, c := range []struct {
			off    int64
			whence int
			want   int64
		}{{3, io.SeekStart, 3}, {2, io.SeekCurrent, 5}, {-1, io.SeekEnd, 9}, {5, io.SeekEnd, 15}} {
			pos, err := f.Seek(c.off, c.whence)
			require.NoError(t, err)
			assert.Equal(t, c.want, pos)
		}
		_, err = f.Seek(-1, io.SeekStart)
		assert.Error(t, err)
		_, err = f.Write([]byte("x")) // at 15: a hole from 10
		require.NoError(t, err)
		st, err := fsys.Stat(filepath.Join(dir, "f"))
		require.NoError(t, err)
		assert.Equal(t, int64(16), st.Size)
	}},
	{"truncate shrinks and grows with zeros", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		f, err := fsys.Create(p)
		require.NoError(t, err)
		_, err = f.Write([]byte("abcdef"))
		require.NoError(t, err)
		require.NoError(t, f.Truncate(2))
		require.NoError(t, f.Truncate(4))
		require.NoError(t, f.Close())
		data, err := ReadFile(fsys, p)
		require.NoError(t, err)
		assert.Equal(t, "ab\x00\x00", string(data))
	}},
	{"two handles share the content", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		a, err := fsys.Create(p)
		require.NoError(t, err)
		defer a.Close()
		b, err := fsys.Open(p)
		require.NoError(t, err)
		defer b.Close()
		_, err = a.Write([]byte("shared"))
		require.NoError(t, err)
		buf := make([]byte, 6)
		_, err = b.ReadAt(buf, 0)
		require.NoError(t, err)
		assert.Equal(t, "shared", string(buf))
	}},
	{"an open file outlives its name", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		f, err := fsys.Create(p)
		require.NoError(t, err)
		defer f.Close()
		require.NoError(t, fsys.Remove(p))
		_, err = f.Write([]byte("still here"))
		require.NoError(t, err)
		buf := make([]byte, 10)
		_, err = f.ReadAt(buf, 0)
		require.NoError(t, err)
		assert.Equal(t, "still here", string(buf))
		_, err = fsys.Stat(p)
		assert.ErrorIs(t, err, fs.ErrNotExist)
	}},
	{"rename replaces the target", func(t *testing.T, fsys FS, dir string) {
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		writeFile(t, fsys, a, "new", false)
		writeFile(t, fsys, b, "old", false)
		require.NoError(t, fsys.Rename(a, b))
		assert.Equal(t, map[string]string{"b": "new"}, tree(t, fsys, dir))
		require.NoError(t, fsys.Rename(b, b), "renaming a file to itself does nothing")
		assert.Equal(t, map[string]string{"b": "new"}, tree(t, fsys, dir))
	}},
	{"rename keeps an open handle's file", func(t *testing.T, fsys FS, dir string) {
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		f, err := fsys.Create(a)
		require.NoError(t, err)
		defer f.Close()
		require.NoError(t, fsys.Rename(a, b))
		_, err = f.Write([]byte("after"))
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"b": "after"}, tree(t, fsys, dir))
	}},
	{"rename of directories", func(t *testing.T, fsys FS, dir string) {
		d1, d2 := filepath.Join(dir, "d1"), filepath.Join(dir, "d2")
		require.NoError(t, fsys.MkdirAll(filepath.Join(d1, "sub"), 0o755))
		writeFile(t, fsys, filepath.Join(d1, "sub", "f"), "x", false)
		require.NoError(t, fsys.Rename(d1, d2))
		assert.Equal(t, map[string]string{"d2/": "", "d2/sub/": "", "d2/sub/f": "x"}, tree(t, fsys, dir))
		require.NoError(t, fsys.MkdirAll(d1, 0o755))
		assert.ErrorIs(t, fsys.Rename(filepath.Join(d2, "sub", "f"), d1), syscall.EEXIST, "a file over a directory")
		assert.ErrorIs(t, fsys.Rename(d2, filepath.Join(d2, "sub", "x")), syscall.EINVAL, "a directory into itself")
		writeFile(t, fsys, filepath.Join(dir, "g"), "g", false)
		assert.ErrorIs(t, fsys.Rename(d1, filepath.Join(dir, "g")), syscall.ENOTDIR, "a directory over a file")
	}},
	{"remove", func(t *testing.T, fsys FS, dir string) {
		d := filepath.Join(dir, "d")
		require.NoError(t, fsys.MkdirAll(d, 0o755))
		writeFile(t, fsys, filepath.Join(d, "f"), "x", false)
		assert.ErrorIs(t, fsys.Remove(d), syscall.ENOTEMPTY)
		require.NoError(t, fsys.Remove(filepath.Join(d, "f")))
		require.NoError(t, fsys.Remove(d))
		assert.Empty(t, tree(t, fsys, dir))
	}},
	{"mkdirall and readdir", func(t *testing.T, fsys FS, dir string) {
		require.NoError(t, fsys.MkdirAll(filepath.Join(dir, "a", "b", "c"), 0o755))
		require.NoError(t, fsys.MkdirAll(filepath.Join(dir, "a", "b"), 0o755), "idempotent")
		for _, n := range []string{"z", "m", "b0"} {
			writeFile(t, fsys, filepath.Join(dir, "a", n), n, false)
		}
		names, err := fsys.ReadDir(filepath.Join(dir, "a"))
		require.NoError(t, err)
		assert.Equal(t, []string{"b", "b0", "m", "z"}, names)
		names, err = fsys.ReadDir(filepath.Join(dir, "a", "b", "c"))
		require.NoError(t, err)
		assert.Empty(t, names)
	}},
	{"sync and syncdir succeed", func(t *testing.T, fsys FS, dir string) {
		p := filepath.Join(dir, "f")
		writeFile(t, fsys, p, "data", true)
		require.NoError(t, fsys.SyncDir(dir))
		assert.NoError(t, fsys.SyncDir(p), "fsync through a descriptor of a regular file")
		assert.Equal(t, map[string]string{"f": "data"}, tree(t, fsys, dir))
	}},
}

// fsUnderTest builds an FS and an empty directory in it.
type fsUnderTest struct {
	name string
	make func(t *testing.T) (FS, string)
}

var implementations = []fsUnderTest{
	{"OS", func(t *testing.T) (FS, string) { return OS, t.TempDir() }},
	{"MemFS", func(t *testing.T) (FS, string) {
		m := NewMemFS()
		require.NoError(t, m.MkdirAll("/work", 0o755))
		return m, "/work"
	}},
	{"Recorder(MemFS)", func(t *testing.T) (FS, string) {
		m := NewMemFS()
		return NewRecorder(m), "/"
	}},
	{"FaultFS(OS)", func(t *testing.T) (FS, string) { return NewFaultFS(OS), t.TempDir() }},
	{"FaultFS(MemFS) with space accounting", func(t *testing.T) (FS, string) {
		f := NewFaultFS(NewMemFS())
		f.SetFree(1 << 20)
		return f, "."
	}},
}

// TestConformance runs the same behaviour on the OS and on every in-memory
// implementation and wrapper.
func TestConformance(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			for _, c := range conformanceCases {
				t.Run(c.name, func(t *testing.T) {
					fsys, dir := impl.make(t)
					c.run(t, fsys, dir)
				})
			}
		})
	}
}

// TestConformanceErrorsArePathErrors checks the error types callers may
// inspect.
func TestConformanceErrorsArePathErrors(t *testing.T) {
	for _, impl := range implementations[:2] {
		t.Run(impl.name, func(t *testing.T) {
			fsys, dir := impl.make(t)
			_, err := fsys.Open(filepath.Join(dir, "nope"))
			var pe *os.PathError
			assert.True(t, errors.As(err, &pe), "%T", err)
			err = fsys.Rename(filepath.Join(dir, "nope"), filepath.Join(dir, "x"))
			var le *os.LinkError
			assert.True(t, errors.As(err, &le), "%T", err)
		})
	}
}
