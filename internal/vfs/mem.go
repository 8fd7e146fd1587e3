package vfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// ErrCrashed is returned by every operation on a MemFS, and on its open
// files, after MemFS.Crash: the process that used them is gone.
var ErrCrashed = errors.New("vfs: file system has crashed")

// errWriteAtInAppendMode mirrors the error os.File.WriteAt returns for a file
// opened with O_APPEND.
var errWriteAtInAppendMode = errors.New("os: invalid use of WriteAt on file opened with O_APPEND")

// MemFS is an in-memory FS that models a POSIX file system with a page cache
// in front of a disk, so that a test can crash it and see only what a real
// disk would be guaranteed to hold.
//
// Every file has volatile content (what reads see) and durable content (as
// of its last successful Sync); the unsynced writes and truncates between
// the two are kept in order. Every directory has volatile entries (what
// lookups see) and durable entries (as of its last SyncDir); the unsynced
// creates, renames and removes between the two are kept in order, per
// directory. In particular a file that was created and fsynced but whose
// directory was never synced may vanish on a crash, a rename not followed by
// SyncDir may be undone, and a removed file may come back. A new directory
// made by MkdirAll is itself an entry of its parent and needs SyncDir of the
// parent.
//
// Names are cleaned with filepath.Clean and are relative to the MemFS root;
// a leading "/" is ignored, so "/a/b" and "a/b" are the same file.
// Permissions are accepted and ignored. Errors are *os.PathError or
// *os.LinkError wrapping the errno the Linux kernel would return, so
// errors.Is(err, fs.ErrNotExist) and friends work as with the OS.
//
// A MemFS is safe for concurrent use.
type MemFS struct {
	mu     sync.Mutex
	root   *inode
	nextID uint64
	dead   bool
}

// inode is a file or a directory.
type inode struct {
	id  uint64
	dir bool

	// Files.
	data    []byte   // volatile content: what reads see
	durable []byte   // content as of the last successful Sync
	pending []fileOp // unsynced writes and truncates since then, in order

	// Directories.
	ents     map[string]*inode // volatile entries
	dents    map[string]*inode // durable entries
	dpending []dirOp           // unsynced entry changes since the last SyncDir, in order
}

// fileOp is one unsynced change to a file's content.
type fileOp struct {
	trunc bool
	off   int64  // write offset, or the new size of a truncate
	data  []byte // the bytes written
}

// dirOp is one unsynced change to a directory entry: name now refers to
// node, or is removed when node is nil.
type dirOp struct {
	name string
	node *inode
}

// NewMemFS returns an empty MemFS whose root directory exists and is
// durable.
func NewMemFS() *MemFS {
	m := &MemFS{}
	m.root = m.newDir()
	return m
}

func (m *MemFS) newDir() *inode {
	m.nextID++
	return &inode{id: m.nextID, dir: true, ents: map[string]*inode{}, dents: map[string]*inode{}}
}

func (m *MemFS) newFile() *inode {
	m.nextID++
	return &inode{id: m.nextID}
}

// applyOp applies a file operation to buf and returns the result; buf may be
// modified in place.
func applyOp(buf []byte, op fileOp) []byte {
	if op.trunc {
		return resize(buf, op.off)
	}
	end := op.off + int64(len(op.data))
	if end > int64(len(buf)) {
		buf = resize(buf, end)
	}
	copy(buf[op.off:], op.data)
	return buf
}

// resize cuts buf or extends it with zeros to size bytes.
func resize(buf []byte, size int64) []byte {
	if size <= int64(len(buf)) {
		return buf[:size]
	}
	if size <= int64(cap(buf)) {
		old := len(buf)
		buf = buf[:size]
		clear(buf[old:])
		return buf
	}
	return append(buf, make([]byte, size-int64(len(buf)))...)
}

// do records op as unsynced and applies it to the volatile content.
func (n *inode) do(op fileOp) {
	n.data = applyOp(n.data, op)
	n.pending = append(n.pending, op)
}

// sync makes the unsynced operations durable.
func (n *inode) sync() {
	if n.dir {
		for _, op := range n.dpending {
			if op.node == nil {
				delete(n.dents, op.name)
			} else {
				n.dents[op.name] = op.node
			}
		}
		n.dpending = nil
		return
	}
	for _, op := range n.pending {
		n.durable = applyOp(n.durable, op)
	}
	n.pending = nil
}

// failSync models a failed fsync on Linux (fsyncgate): the dirty pages are
// marked clean, so the unsynced operations will never become durable, while
// reads keep seeing them until the cache is dropped.
func (n *inode) failSync() {
	if n.dir {
		return
	}
	n.pending = nil
}

// setEnt changes a directory entry and records the change as unsynced.
func (n *inode) setEnt(name string, child *inode) {
	if child == nil {
		delete(n.ents, name)
	} else {
		n.ents[name] = child
	}
	n.dpending = append(n.dpending, dirOp{name: name, node: child})
}

// split cleans name into its path components; the root has none.
func split(name string) []string {
	p := filepath.ToSlash(filepath.Clean(name))
	p = strings.TrimLeft(p, "/")
	if p == "" || p == "." {
		return nil
	}
	return strings.Split(p, "/")
}

// walk resolves path components to an inode.
func (m *MemFS) walk(parts []string) (*inode, error) {
	n := m.root
	for _, p := range parts {
		if !n.dir {
			return nil, syscall.ENOTDIR
		}
		c, ok := n.ents[p]
		if !ok {
			return nil, syscall.ENOENT
		}
		n = c
	}
	return n, nil
}

// parent resolves the directory that holds the last component of parts.
func (m *MemFS) parent(parts []string) (*inode, string, error) {
	if len(parts) == 0 {
		return nil, "", syscall.EBUSY
	}
	d, err := m.walk(parts[:len(parts)-1])
	if err != nil {
		return nil, "", err
	}
	if !d.dir {
		return nil, "", syscall.ENOTDIR
	}
	return d, parts[len(parts)-1], nil
}

func pathErr(op, name string, err error) error {
	return &os.PathError{Op: op, Path: name, Err: err}
}

// Create creates or truncates a file for reading and writing.
func (m *MemFS) Create(name string) (File, error) {
	return m.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

// Open opens a file (or a directory) for reading.
func (m *MemFS) Open(name string) (File, error) {
	return m.OpenFile(name, os.O_RDONLY, 0)
}

// OpenFile opens a file with os.O_* flags (O_RDONLY, O_WRONLY, O_RDWR,
// O_CREATE, O_EXCL, O_TRUNC, O_APPEND); perm is ignored.
func (m *MemFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return nil, pathErr("open", name, ErrCrashed)
	}
	n, err := m.open(name, flag)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	acc := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	return &memFile{
		fs:     m,
		node:   n,
		name:   name,
		read:   acc == os.O_RDONLY || acc == os.O_RDWR,
		write:  acc == os.O_WRONLY || acc == os.O_RDWR,
		append: flag&os.O_APPEND != 0,
	}, nil
}

// open resolves or creates the inode for OpenFile; m.mu is held.
func (m *MemFS) open(name string, flag int) (*inode, error) {
	parts := split(name)
	writable := flag&(os.O_WRONLY|os.O_RDWR) != 0
	if len(parts) == 0 {
		if writable || flag&os.O_CREATE != 0 {
			return nil, syscall.EISDIR
		}
		return m.root, nil
	}
	d, base, err := m.parent(parts)
	if err != nil {
		return nil, err
	}
	n, ok := d.ents[base]
	switch {
	case !ok && flag&os.O_CREATE == 0:
		return nil, syscall.ENOENT
	case !ok:
		n = m.newFile()
		d.setEnt(base, n)
		return n, nil
	case flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, syscall.EEXIST
	case n.dir && (writable || flag&os.O_TRUNC != 0):
		return nil, syscall.EISDIR
	}
	if flag&os.O_TRUNC != 0 { // Linux truncates even a read-only open
		n.do(fileOp{trunc: true, off: 0})
	}
	return n, nil
}

// Rename atomically replaces newname with oldname. Both directory entries
// change at once for readers; for a crash, the new entry is recorded before
// the old one is removed, so a crash between SyncDir calls can leave both
// names (in the same directory: never neither).
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	lerr := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	if m.dead {
		return lerr(ErrCrashed)
	}
	op, np := split(oldname), split(newname)
	od, obase, err := m.parent(op)
	if err != nil {
		return lerr(err)
	}
	n, ok := od.ents[obase]
	if !ok {
		return lerr(syscall.ENOENT)
	}
	nd, nbase, err := m.parent(np)
	if err != nil {
		return lerr(err)
	}
	if old, ok := nd.ents[nbase]; ok {
		switch {
		case old == n:
			return nil
		case old.dir:
			// os.Rename refuses to replace a directory.
			return lerr(syscall.EEXIST)
		case n.dir:
			return lerr(syscall.ENOTDIR)
		}
	}
	if n.dir && len(np) > len(op) && slices.Equal(np[:len(op)], op) {
		return lerr(syscall.EINVAL)
	}
	nd.setEnt(nbase, n)
	od.setEnt(obase, nil)
	return nil
}

// Remove removes a file or an empty directory.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return pathErr("remove", name, ErrCrashed)
	}
	d, base, err := m.parent(split(name))
	if err != nil {
		return pathErr("remove", name, err)
	}
	n, ok := d.ents[base]
	if !ok {
		return pathErr("remove", name, syscall.ENOENT)
	}
	if n.dir && len(n.ents) > 0 {
		return pathErr("remove", name, syscall.ENOTEMPTY)
	}
	d.setEnt(base, nil)
	return nil
}

// MkdirAll creates a directory and its missing parents; each new directory
// is an unsynced entry of its parent.
func (m *MemFS) MkdirAll(dir string, perm os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return pathErr("mkdir", dir, ErrCrashed)
	}
	n := m.root
	for _, p := range split(dir) {
		c, ok := n.ents[p]
		if !ok {
			c = m.newDir()
			n.setEnt(p, c)
		} else if !c.dir {
			return pathErr("mkdir", dir, syscall.ENOTDIR)
		}
		n = c
	}
	return nil
}

// ReadDir lists a directory's entry names, sorted.
func (m *MemFS) ReadDir(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return nil, pathErr("open", dir, ErrCrashed)
	}
	n, err := m.walk(split(dir))
	if err != nil {
		return nil, pathErr("open", dir, err)
	}
	if !n.dir {
		return nil, pathErr("readdirent", dir, syscall.ENOTDIR)
	}
	names := make([]string, 0, len(n.ents))
	for name := range n.ents {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// Stat reports a file's size and whether it is a directory. A directory's
// size is 0.
func (m *MemFS) Stat(name string) (FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return FileInfo{}, pathErr("stat", name, ErrCrashed)
	}
	n, err := m.walk(split(name))
	if err != nil {
		return FileInfo{}, pathErr("stat", name, err)
	}
	if n.dir {
		return FileInfo{IsDir: true}, nil
	}
	return FileInfo{Size: int64(len(n.data))}, nil
}

// SyncDir makes the directory's entries durable. Like fsync on a file
// descriptor, on a regular file it makes the file's content durable instead.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return pathErr("open", dir, ErrCrashed)
	}
	n, err := m.walk(split(dir))
	if err != nil {
		return pathErr("open", dir, err)
	}
	n.sync()
	return nil
}

// memFile is an open MemFS file.
type memFile struct {
	fs                  *MemFS
	node                *inode
	name                string
	off                 int64
	read, write, append bool
	closed              bool
}

// check validates the handle for op; f.fs.mu is held.
func (f *memFile) check(op string) error {
	switch {
	case f.closed:
		return pathErr(op, f.name, os.ErrClosed)
	case f.fs.dead:
		return pathErr(op, f.name, ErrCrashed)
	}
	return nil
}

func (f *memFile) Name() string { return f.name }

func (f *memFile) Read(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	n, err := f.readAt("read", p, f.off)
	f.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if off < 0 {
		return 0, pathErr("readat", f.name, errors.New("negative offset"))
	}
	return f.readAt("read", p, off)
}

// readAt reads from the volatile content; f.fs.mu is held.
func (f *memFile) readAt(op string, p []byte, off int64) (int, error) {
	if err := f.check(op); err != nil {
		return 0, err
	}
	if f.node.dir {
		return 0, pathErr(op, f.name, syscall.EISDIR)
	}
	if !f.read {
		return 0, pathErr(op, f.name, syscall.EBADF)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	off := f.off
	if f.append {
		off = int64(len(f.node.data))
	}
	n, err := f.writeAt("write", p, off)
	f.off = off + int64(n)
	return n, err
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write"); err != nil {
		return 0, err
	}
	if f.append {
		return 0, errWriteAtInAppendMode
	}
	if off < 0 {
		return 0, pathErr("writeat", f.name, errors.New("negative offset"))
	}
	return f.writeAt("write", p, off)
}

// writeAt writes to the volatile content as an unsynced operation;
// f.fs.mu is held.
func (f *memFile) writeAt(op string, p []byte, off int64) (int, error) {
	if err := f.check(op); err != nil {
		return 0, err
	}
	if !f.write {
		return 0, pathErr(op, f.name, syscall.EBADF)
	}
	if len(p) == 0 {
		return 0, nil
	}
	f.node.do(fileOp{off: off, data: slices.Clone(p)})
	return len(p), nil
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("seek"); err != nil {
		return 0, err
	}
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.off
	case io.SeekEnd:
		base = int64(len(f.node.data))
	default:
		return 0, pathErr("seek", f.name, syscall.EINVAL)
	}
	if base+offset < 0 {
		return 0, pathErr("seek", f.name, syscall.EINVAL)
	}
	f.off = base + offset
	return f.off, nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return pathErr("close", f.name, os.ErrClosed)
	}
	f.closed = true
	return nil
}

// Sync makes the file's unsynced writes and truncates durable (all of them,
// through whichever handle they were made). On a directory it makes the
// directory's entries durable, like fsync on a directory descriptor.
func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync"); err != nil {
		return err
	}
	f.node.sync()
	return nil
}

// failSync applies the effect of a failed fsync (see inode.failSync); it is
// how FaultFS fails a Sync on a MemFS file.
func (f *memFile) failSync() {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.check("sync") == nil {
		f.node.failSync()
	}
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("truncate"); err != nil {
		return err
	}
	if f.node.dir {
		return pathErr("truncate", f.name, syscall.EISDIR)
	}
	if !f.write || size < 0 {
		return pathErr("truncate", f.name, syscall.EINVAL)
	}
	f.node.do(fileOp{trunc: true, off: size})
	return nil
}

// ReadFile reads a whole file of fsys.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return data, err
}
