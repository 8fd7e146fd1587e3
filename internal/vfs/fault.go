package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// ErrShortRead is returned (wrapped) by ReadAt on a FaultFS file whose
// reads are cut short by SetShortReads.
var ErrShortRead = errors.New("vfs: injected short read")

// FaultFS is an FS that passes every call to another FS and injects the
// disk faults storage code must survive:
//
//   - a failing fsync (FailSync, FailSyncDir): the call returns EIO without
//     syncing. As on Linux after an fsync error (fsyncgate), the data is
//     not guaranteed: on a MemFS underneath, the file's unsynced writes are
//     marked as never to become durable, although reads still see them;
//   - a full disk (SetFree): writes that would grow files beyond the free
//     space write what fits and fail with ENOSPC; space comes back when
//     files shrink or are removed, or when SetFree raises it;
//   - short reads (SetShortReads) and failing reads (FailReads).
//
// Bit flips and zeroed blocks are applied to the stored content with
// FlipBit and ZeroRange. A FaultFS is safe for concurrent use.
type FaultFS struct {
	inner FS

	mu         sync.Mutex
	syncs      int // successful and failed File.Sync calls so far
	dirSyncs   int
	failSyncAt map[int]bool
	failDirAt  map[int]bool
	free       int64 // -1: unlimited
	shortReads int   // 0: off
	readFaults []readFault
}

type readFault struct {
	name   string
	off, n int64
}

// NewFaultFS returns a FaultFS around inner with no faults armed and
// unlimited space.
func NewFaultFS(inner FS) *FaultFS {
	return &FaultFS{inner: inner, failSyncAt: map[int]bool{}, failDirAt: map[int]bool{}, free: -1}
}

// Unwrap returns the wrapped FS.
func (f *FaultFS) Unwrap() FS { return f.inner }

// FailSync makes the n-th File.Sync from now (n >= 1; counting every file)
// fail with EIO.
func (f *FaultFS) FailSync(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failSyncAt[f.syncs+n] = true
}

// FailSyncDir makes the n-th SyncDir from now (n >= 1) fail with EIO; the
// directory's entries stay as durable as they were.
func (f *FaultFS) FailSyncDir(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failDirAt[f.dirSyncs+n] = true
}

// Syncs reports how many File.Sync and SyncDir calls have been made.
func (f *FaultFS) Syncs() (files, dirs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs, f.dirSyncs
}

// SetFree sets the free space in bytes; a negative value means unlimited
// (the default). A write costs the bytes by which it grows its file;
// truncating a file shorter, removing it or renaming over it gives its bytes
// back. Growing a file with Truncate costs nothing (it makes a hole).
func (f *FaultFS) SetFree(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.free = n
}

// Free reports the free space in bytes, or -1 when unlimited.
func (f *FaultFS) Free() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.free
}

// SetShortReads makes every Read return at most n bytes (with no error, as
// a POSIX read may) and every ReadAt return at most n bytes (with
// ErrShortRead when that is less than asked). 0 turns it off.
func (f *FaultFS) SetShortReads(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shortReads = n
}

// FailReads makes reads of file name that touch bytes [off, off+n) fail
// with EIO, as a bad block does. The name is compared, cleaned, with the
// name later files are opened with.
func (f *FaultFS) FailReads(name string, off, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readFaults = append(f.readFaults, readFault{name: filepath.Clean(name), off: off, n: n})
}

// Reset disarms every fault and makes space unlimited again.
func (f *FaultFS) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failSyncAt = map[int]bool{}
	f.failDirAt = map[int]bool{}
	f.free = -1
	f.shortReads = 0
	f.readFaults = nil
}

// Create creates or truncates a file for reading and writing.
func (f *FaultFS) Create(name string) (File, error) {
	return f.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

// Open opens a file for reading.
func (f *FaultFS) Open(name string) (File, error) { return f.OpenFile(name, os.O_RDONLY, 0) }

// OpenFile opens a file; O_TRUNC gives the file's bytes back to the free
// space.
func (f *FaultFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var size int64
	if f.free >= 0 && flag&os.O_TRUNC != 0 {
		if st, err := f.inner.Stat(name); err == nil && !st.IsDir {
			size = st.Size
		}
	}
	inner, err := f.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if f.free >= 0 {
		f.free += size
	}
	return &faultFile{fs: f, f: inner, name: filepath.Clean(name), append: flag&os.O_APPEND != 0}, nil
}

// Rename renames; a replaced file's bytes go back to the free space.
func (f *FaultFS) Rename(oldname, newname string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var size int64
	if f.free >= 0 {
		if st, err := f.inner.Stat(newname); err == nil && !st.IsDir {
			size = st.Size
		}
	}
	if err := f.inner.Rename(oldname, newname); err != nil {
		return err
	}
	if f.free >= 0 {
		f.free += size
	}
	return nil
}

// Remove removes; a removed file's bytes go back to the free space.
func (f *FaultFS) Remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var size int64
	if f.free >= 0 {
		if st, err := f.inner.Stat(name); err == nil && !st.IsDir {
			size = st.Size
		}
	}
	if err := f.inner.Remove(name); err != nil {
		return err
	}
	if f.free >= 0 {
		f.free += size
	}
	return nil
}

// MkdirAll creates directories.
func (f *FaultFS) MkdirAll(dir string, perm os.FileMode) error { return f.inner.MkdirAll(dir, perm) }

// ReadDir lists a directory.
func (f *FaultFS) ReadDir(dir string) ([]string, error) { return f.inner.ReadDir(dir) }

// Stat reports on a file.
func (f *FaultFS) Stat(name string) (FileInfo, error) { return f.inner.Stat(name) }

// SyncDir syncs a directory, or fails with EIO when armed to.
func (f *FaultFS) SyncDir(dir string) error {
	f.mu.Lock()
	f.dirSyncs++
	fail := f.failDirAt[f.dirSyncs]
	delete(f.failDirAt, f.dirSyncs)
	f.mu.Unlock()
	if fail {
		return &os.PathError{Op: "sync", Path: dir, Err: syscall.EIO}
	}
	return f.inner.SyncDir(dir)
}

// faultFile is a file opened through a FaultFS.
type faultFile struct {
	fs     *FaultFS
	f      File
	name   string
	append bool
}

func (f *faultFile) Name() string { return f.f.Name() }
func (f *faultFile) Close() error { return f.f.Close() }

func (f *faultFile) Seek(offset int64, whence int) (int64, error) { return f.f.Seek(offset, whence) }

// readFault reports whether a read of n bytes at off hits a bad block.
func (f *faultFile) readFault(off int64, n int) bool {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	for _, rf := range f.fs.readFaults {
		if rf.name == f.name && off < rf.off+rf.n && rf.off < off+int64(n) {
			return true
		}
	}
	return false
}

func (f *faultFile) limit(p []byte) []byte {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.shortReads > 0 && len(p) > f.fs.shortReads {
		return p[:f.fs.shortReads]
	}
	return p
}

func (f *faultFile) Read(p []byte) (int, error) {
	q := f.limit(p)
	f.fs.mu.Lock()
	faulty := len(f.fs.readFaults) > 0
	f.fs.mu.Unlock()
	if faulty {
		pos, err := f.f.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, err
		}
		if f.readFault(pos, len(q)) {
			return 0, &os.PathError{Op: "read", Path: f.f.Name(), Err: syscall.EIO}
		}
	}
	return f.f.Read(q)
}

func (f *faultFile) ReadAt(p []byte, off int64) (int, error) {
	if f.readFault(off, len(p)) {
		return 0, &os.PathError{Op: "read", Path: f.f.Name(), Err: syscall.EIO}
	}
	q := f.limit(p)
	n, err := f.f.ReadAt(q, off)
	if err == nil && n < len(p) {
		err = fmt.Errorf("vfs: %s: read %d of %d bytes at %d: %w", f.f.Name(), n, len(p), off, ErrShortRead)
	}
	return n, err
}

// room returns how many of n bytes written at off fit in the free space
// and charges them; f.fs.mu is held.
func (f *faultFile) room(off int64, n int) (int, error) {
	if f.fs.free < 0 {
		return n, nil
	}
	cur, err := f.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	end, err := f.f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if _, err := f.f.Seek(cur, io.SeekStart); err != nil {
		return 0, err
	}
	if off < 0 {
		off = end // O_APPEND
	}
	grow := off + int64(n) - end
	if grow <= 0 {
		return n, nil
	}
	if grow > f.fs.free {
		n -= int(grow - f.fs.free)
		grow = f.fs.free
		if n < 0 {
			n = 0
		}
	}
	f.fs.free -= grow
	return n, nil
}

func (f *faultFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	if f.fs.free < 0 {
		f.fs.mu.Unlock()
		return f.f.Write(p)
	}
	defer f.fs.mu.Unlock()
	off := int64(-1)
	if !f.append {
		cur, err := f.f.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, err
		}
		off = cur
	}
	k, err := f.room(off, len(p))
	if err != nil {
		return 0, err
	}
	n, err := f.f.Write(p[:k])
	if err == nil && k < len(p) {
		err = &os.PathError{Op: "write", Path: f.f.Name(), Err: syscall.ENOSPC}
	}
	return n, err
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	if f.fs.free < 0 || f.append || off < 0 {
		f.fs.mu.Unlock()
		return f.f.WriteAt(p, off)
	}
	defer f.fs.mu.Unlock()
	k, err := f.room(off, len(p))
	if err != nil {
		return 0, err
	}
	n, err := f.f.WriteAt(p[:k], off)
	if err == nil && k < len(p) {
		err = &os.PathError{Op: "write", Path: f.f.Name(), Err: syscall.ENOSPC}
	}
	return n, err
}

func (f *faultFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	var end int64 = -1
	if f.fs.free >= 0 {
		cur, err := f.f.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		if end, err = f.f.Seek(0, io.SeekEnd); err != nil {
			return err
		}
		if _, err := f.f.Seek(cur, io.SeekStart); err != nil {
			return err
		}
	}
	if err := f.f.Truncate(size); err != nil {
		return err
	}
	if end > size {
		f.fs.free += end - size
	}
	return nil
}

// Sync syncs the file, or fails with EIO when armed to; see FaultFS.
func (f *faultFile) Sync() error {
	f.fs.mu.Lock()
	f.fs.syncs++
	fail := f.fs.failSyncAt[f.fs.syncs]
	delete(f.fs.failSyncAt, f.fs.syncs)
	f.fs.mu.Unlock()
	if fail {
		f.failSync()
		return &os.PathError{Op: "sync", Path: f.f.Name(), Err: syscall.EIO}
	}
	return f.f.Sync()
}

// failSync passes a failed Sync down to a file that models it.
func (f *faultFile) failSync() {
	if sf, ok := f.f.(syncFailer); ok {
		sf.failSync()
	}
}

// FlipBit inverts bit (0 = least significant) of the byte at offset in
// file name, in place, as silent media corruption does. Wrappers (anything
// with Unwrap() FS, such as Recorder and FaultFS) are bypassed, so nothing
// is recorded or faulted. On a MemFS it changes both the durable and the
// cached content and leaves unsynced writes pending; on any other FS it
// rewrites the byte and syncs the file.
func FlipBit(fsys FS, name string, offset int64, bit uint) error {
	if bit > 7 {
		return fmt.Errorf("vfs: flip bit %d of %s: bit out of range", bit, name)
	}
	return corrupt(fsys, name, offset, 1, func(b []byte) { b[0] ^= 1 << bit })
}

// ZeroRange overwrites n bytes of file name from off with zeros, in place,
// as a lost or zeroed block does; like FlipBit it bypasses a MemFS's page
// cache. The range must lie inside the file.
func ZeroRange(fsys FS, name string, off, n int64) error {
	return corrupt(fsys, name, off, n, func(b []byte) { clear(b) })
}

// corrupt applies fn to bytes [off, off+n) of a file.
func corrupt(fsys FS, name string, off, n int64, fn func([]byte)) error {
	if off < 0 || n < 0 {
		return fmt.Errorf("vfs: corrupt %s: negative range [%d,+%d)", name, off, n)
	}
	if m := findMem(fsys); m != nil {
		return m.corrupt(name, off, n, fn)
	}
	// Go under any wrapper, so that a Recorder does not record the
	// corruption as a write and a FaultFS does not fault it.
	for {
		u, ok := fsys.(interface{ Unwrap() FS })
		if !ok {
			break
		}
		fsys = u.Unwrap()
	}
	st, err := fsys.Stat(name)
	if err != nil {
		return fmt.Errorf("vfs: corrupt %s: %w", name, err)
	}
	if off+n > st.Size {
		return fmt.Errorf("vfs: corrupt %s: range [%d,%d) beyond size %d", name, off, off+n, st.Size)
	}
	f, err := fsys.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("vfs: corrupt %s: %w", name, err)
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off); err != nil {
		f.Close()
		return fmt.Errorf("vfs: corrupt %s: %w", name, err)
	}
	fn(buf)
	if _, err := f.WriteAt(buf, off); err != nil {
		f.Close()
		return fmt.Errorf("vfs: corrupt %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("vfs: corrupt %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("vfs: corrupt %s: %w", name, err)
	}
	return nil
}

// corrupt applies fn to bytes [off, off+n) of a file's volatile content and
// to the part of them its durable content holds.
func (m *MemFS) corrupt(name string, off, n int64, fn func([]byte)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return pathErr("corrupt", name, ErrCrashed)
	}
	node, err := m.walk(split(name))
	if err != nil {
		return pathErr("corrupt", name, err)
	}
	if node.dir {
		return pathErr("corrupt", name, syscall.EISDIR)
	}
	if off+n > int64(len(node.data)) {
		return fmt.Errorf("vfs: corrupt %s: range [%d,%d) beyond size %d", name, off, off+n, len(node.data))
	}
	fn(node.data[off : off+n])
	if off < int64(len(node.durable)) {
		end := min(off+n, int64(len(node.durable)))
		fn(node.durable[off:end])
	}
	return nil
}
