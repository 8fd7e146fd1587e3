package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
)

// OpKind is the kind of a recorded operation.
type OpKind int

const (
	// OpOpen is a successful OpenFile of Name with Flag, as open file Handle.
	OpOpen OpKind = iota
	// OpWrite is a write of Data at Off through Handle.
	OpWrite
	// OpTruncate is a truncate to size Off through Handle.
	OpTruncate
	// OpSync is a successful Sync of Handle.
	OpSync
	// OpSyncFailed is a Sync of Handle that failed: its unsynced writes
	// will never be durable (see FaultFS).
	OpSyncFailed
	// OpRename renames Name to NewName.
	OpRename
	// OpRemove removes Name.
	OpRemove
	// OpMkdirAll creates directory Name and its missing parents.
	OpMkdirAll
	// OpSyncDir is a successful SyncDir of Name.
	OpSyncDir
)

var opNames = [...]string{"open", "write", "truncate", "sync", "sync-failed", "rename", "remove", "mkdirall", "syncdir"}

func (k OpKind) String() string {
	if int(k) < len(opNames) {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op is one recorded operation.
type Op struct {
	Kind OpKind
	// Handle numbers the open file of OpOpen, OpWrite, OpTruncate, OpSync
	// and OpSyncFailed (from 1, in open order).
	Handle int
	// Name is the path operated on; for a file operation, the name the
	// handle was opened with.
	Name string
	// NewName is the target of OpRename.
	NewName string
	// Flag holds the os.O_* flags of OpOpen.
	Flag int
	// Off is the offset of OpWrite and the size of OpTruncate.
	Off int64
	// Data holds the bytes of OpWrite.
	Data []byte
}

func (o Op) String() string {
	switch o.Kind {
	case OpOpen:
		return fmt.Sprintf("open %s flag=%#x as #%d", o.Name, o.Flag, o.Handle)
	case OpWrite:
		return fmt.Sprintf("write #%d %s [%d,%d)", o.Handle, o.Name, o.Off, o.Off+int64(len(o.Data)))
	case OpTruncate:
		return fmt.Sprintf("truncate #%d %s %d", o.Handle, o.Name, o.Off)
	case OpSync, OpSyncFailed:
		return fmt.Sprintf("%s #%d %s", o.Kind, o.Handle, o.Name)
	case OpRename:
		return fmt.Sprintf("rename %s %s", o.Name, o.NewName)
	}
	return fmt.Sprintf("%s %s", o.Kind, o.Name)
}

// Recorder is an FS that passes every call to another FS and records, in
// order, every operation that changes what a crash could leave: opens,
// writes (with the file, absolute offset and bytes), truncates, syncs
// (including failed ones), renames, removes, mkdirs and directory syncs.
// Only operations that succeeded on the wrapped FS are recorded (a write
// that wrote part of its bytes is recorded with that part).
//
// The record is replayed onto a MemFS to enumerate crash states (see
// Enumerate). The replay starts from a copy of the wrapped FS's state at
// NewRecorder when it is (or wraps, through Unwrap) a *MemFS; otherwise
// from an empty file system to which every directory the workload uses but
// did not create (found with Stat when first needed) is added, as durable,
// and so is every file the workload opens, renames or removes that existed
// before the workload first used its name, with the content it had then.
//
// Mutating calls are serialized, so the record order is the order in which
// they reached the wrapped FS. A Recorder is safe for concurrent use.
type Recorder struct {
	inner FS

	mu      sync.Mutex
	base    *MemFS
	ops     []Op
	handles int
	known   map[string]bool // directories present in the model
	touched map[string]bool // names the recorded workload has used
	fromMem bool            // base is a copy of a MemFS
}

// NewRecorder returns a Recorder around fsys.
func NewRecorder(fsys FS) *Recorder {
	r := &Recorder{inner: fsys, known: map[string]bool{}, touched: map[string]bool{}}
	if m := findMem(fsys); m != nil {
		m.mu.Lock()
		r.base = m.clone()
		m.mu.Unlock()
		r.fromMem = true
	} else {
		r.base = NewMemFS()
	}
	return r
}

// findMem unwraps fsys down to a *MemFS, if there is one.
func findMem(fsys FS) *MemFS {
	for {
		switch f := fsys.(type) {
		case *MemFS:
			return f
		case interface{ Unwrap() FS }:
			fsys = f.Unwrap()
		default:
			return nil
		}
	}
}

// Unwrap returns the wrapped FS.
func (r *Recorder) Unwrap() FS { return r.inner }

// Ops returns a copy of the operations recorded so far.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops)
}

// Len is the number of operations recorded so far. A test that
// acknowledges something after a Sync notes Len then: every crash state
// with Point >= that Len must contain it.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ops)
}

func (r *Recorder) add(op Op) {
	r.ops = append(r.ops, op)
}

// noteDirs adds to the base state, once per directory, the deepest
// existing ancestor of dir (dir included): it existed before the recorded
// operations that use it; r.mu is held.
func (r *Recorder) noteDirs(dir string) {
	dir = filepath.Clean(dir)
	if r.known[dir] {
		return
	}
	for d := dir; ; d = filepath.Dir(d) {
		if r.known[d] {
			break
		}
		if st, err := r.inner.Stat(d); err == nil && st.IsDir {
			r.base.mu.Lock()
			err := r.base.ensureDirs(split(d))
			r.base.mu.Unlock()
			if err == nil {
				r.markKnown(d)
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
}

// noteFile adds to the base state a file that existed, on a wrapped FS
// other than a MemFS, before the workload first used its name; r.mu is
// held.
func (r *Recorder) noteFile(name string) error {
	clean := filepath.Clean(name)
	if r.fromMem || r.touched[clean] {
		return nil
	}
	r.touched[clean] = true
	st, err := r.inner.Stat(name)
	if err != nil || st.IsDir {
		return nil
	}
	data, err := ReadFile(r.inner, name)
	if err != nil {
		return fmt.Errorf("vfs: recorder cannot read pre-existing %s: %w", name, err)
	}
	r.base.mu.Lock()
	defer r.base.mu.Unlock()
	parts := split(name)
	if err := r.base.ensureDirs(parts[:len(parts)-1]); err != nil {
		return err
	}
	d, base, err := r.base.parent(parts)
	if err != nil {
		return fmt.Errorf("vfs: recorder cannot note pre-existing %s: %w", name, err)
	}
	n := r.base.newFile()
	n.data, n.durable = data, slices.Clone(data)
	d.ents[base], d.dents[base] = n, n
	return nil
}

// markKnown notes that dir and its parents exist in the model; r.mu is held.
func (r *Recorder) markKnown(dir string) {
	for d := filepath.Clean(dir); !r.known[d]; d = filepath.Dir(d) {
		r.known[d] = true
		if filepath.Dir(d) == d {
			break
		}
	}
}

// Create creates or truncates a file for reading and writing.
func (r *Recorder) Create(name string) (File, error) {
	return r.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

// Open opens a file for reading.
func (r *Recorder) Open(name string) (File, error) {
	return r.OpenFile(name, os.O_RDONLY, 0)
}

// OpenFile opens a file and records the open.
func (r *Recorder) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteDirs(filepath.Dir(name))
	if err := r.noteFile(name); err != nil {
		return nil, err
	}
	f, err := r.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	r.handles++
	r.add(Op{Kind: OpOpen, Handle: r.handles, Name: name, Flag: flag})
	return &recFile{r: r, f: f, handle: r.handles}, nil
}

// Rename renames and records the rename.
func (r *Recorder) Rename(oldname, newname string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteDirs(filepath.Dir(oldname))
	r.noteDirs(filepath.Dir(newname))
	if err := errors.Join(r.noteFile(oldname), r.noteFile(newname)); err != nil {
		return err
	}
	if err := r.inner.Rename(oldname, newname); err != nil {
		return err
	}
	r.add(Op{Kind: OpRename, Name: oldname, NewName: newname})
	if st, err := r.inner.Stat(newname); err == nil && st.IsDir {
		r.markKnown(newname)
	}
	return nil
}

// Remove removes and records the removal.
func (r *Recorder) Remove(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteDirs(filepath.Dir(name))
	if err := r.noteFile(name); err != nil {
		return err
	}
	if err := r.inner.Remove(name); err != nil {
		return err
	}
	r.add(Op{Kind: OpRemove, Name: name})
	delete(r.known, filepath.Clean(name))
	return nil
}

// MkdirAll creates directories and records it.
func (r *Recorder) MkdirAll(dir string, perm os.FileMode) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteDirs(dir)
	if err := r.inner.MkdirAll(dir, perm); err != nil {
		return err
	}
	r.add(Op{Kind: OpMkdirAll, Name: dir})
	r.markKnown(dir)
	return nil
}

// ReadDir lists a directory.
func (r *Recorder) ReadDir(dir string) ([]string, error) { return r.inner.ReadDir(dir) }

// Stat reports on a file.
func (r *Recorder) Stat(name string) (FileInfo, error) { return r.inner.Stat(name) }

// SyncDir syncs a directory and records it if it succeeded.
func (r *Recorder) SyncDir(dir string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteDirs(dir)
	if err := r.inner.SyncDir(dir); err != nil {
		return err
	}
	r.add(Op{Kind: OpSyncDir, Name: dir})
	return nil
}

// recFile is a file opened through a Recorder.
type recFile struct {
	r      *Recorder
	f      File
	handle int
}

func (f *recFile) Name() string                            { return f.f.Name() }
func (f *recFile) Read(p []byte) (int, error)              { return f.f.Read(p) }
func (f *recFile) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }
func (f *recFile) Close() error                            { return f.f.Close() }

func (f *recFile) Seek(offset int64, whence int) (int64, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	return f.f.Seek(offset, whence)
}

func (f *recFile) Write(p []byte) (int, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.f.Write(p)
	if n > 0 {
		// The offset after the write locates it, O_APPEND included.
		pos, serr := f.f.Seek(0, io.SeekCurrent)
		if serr != nil {
			return n, errors.Join(err, fmt.Errorf("vfs: recorder cannot locate a write to %s: %w", f.f.Name(), serr))
		}
		f.r.add(Op{Kind: OpWrite, Handle: f.handle, Name: f.f.Name(), Off: pos - int64(n), Data: slices.Clone(p[:n])})
	}
	return n, err
}

func (f *recFile) WriteAt(p []byte, off int64) (int, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.f.WriteAt(p, off)
	if n > 0 {
		f.r.add(Op{Kind: OpWrite, Handle: f.handle, Name: f.f.Name(), Off: off, Data: slices.Clone(p[:n])})
	}
	return n, err
}

func (f *recFile) Truncate(size int64) error {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	if err := f.f.Truncate(size); err != nil {
		return err
	}
	f.r.add(Op{Kind: OpTruncate, Handle: f.handle, Name: f.f.Name(), Off: size})
	return nil
}

func (f *recFile) Sync() error {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	if err := f.f.Sync(); err != nil {
		f.r.add(Op{Kind: OpSyncFailed, Handle: f.handle, Name: f.f.Name()})
		return err
	}
	f.r.add(Op{Kind: OpSync, Handle: f.handle, Name: f.f.Name()})
	return nil
}

// failSync records a Sync failed by a FaultFS above the recorder and passes
// the failure down.
func (f *recFile) failSync() {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	f.r.add(Op{Kind: OpSyncFailed, Handle: f.handle, Name: f.f.Name()})
	if fs, ok := f.f.(syncFailer); ok {
		fs.failSync()
	}
}

// syncFailer is a file on which a failed Sync can be modelled.
type syncFailer interface{ failSync() }

// replayer applies recorded operations to a MemFS model.
type replayer struct {
	m       *MemFS
	handles map[int]*inode
}

// ensureDirs creates the missing directories of parts as durable entries;
// m.mu is held.
func (m *MemFS) ensureDirs(parts []string) error {
	n := m.root
	for _, p := range parts {
		c, ok := n.ents[p]
		if !ok {
			c = m.newDir()
			n.ents[p] = c
			n.dents[p] = c
		} else if !c.dir {
			return fmt.Errorf("vfs: replay: %s is not a directory", p)
		}
		n = c
	}
	return nil
}

// apply applies one operation to the model.
func (rp *replayer) apply(op Op) error {
	m := rp.m
	wrap := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("vfs: replaying %v: %w", op, err)
	}
	switch op.Kind {
	case OpOpen:
		m.mu.Lock()
		defer m.mu.Unlock()
		n, err := m.open(op.Name, op.Flag)
		if errors.Is(err, syscall.ENOENT) && op.Flag&os.O_CREATE == 0 {
			// A file that existed before the record: durable and, as far
			// as the record knows, empty.
			parts := split(op.Name)
			if err := m.ensureDirs(parts[:len(parts)-1]); err != nil {
				return wrap(err)
			}
			d, base, err := m.parent(parts)
			if err != nil {
				return wrap(err)
			}
			n = m.newFile()
			d.ents[base], d.dents[base] = n, n
		} else if err != nil {
			return wrap(err)
		}
		rp.handles[op.Handle] = n
		return nil
	case OpWrite, OpTruncate, OpSync, OpSyncFailed:
		m.mu.Lock()
		defer m.mu.Unlock()
		n, ok := rp.handles[op.Handle]
		if !ok {
			return wrap(errors.New("unknown handle"))
		}
		switch op.Kind {
		case OpWrite:
			n.do(fileOp{off: op.Off, data: op.Data})
		case OpTruncate:
			n.do(fileOp{trunc: true, off: op.Off})
		case OpSync:
			n.sync()
		case OpSyncFailed:
			n.failSync()
		}
		return nil
	case OpRename:
		return wrap(m.Rename(op.Name, op.NewName))
	case OpRemove:
		return wrap(m.Remove(op.Name))
	case OpMkdirAll:
		return wrap(m.MkdirAll(op.Name, 0o755))
	case OpSyncDir:
		return wrap(m.SyncDir(op.Name))
	}
	return wrap(errors.New("unknown operation"))
}

// describe names the inodes of a model by one of their paths (volatile
// entries first, then durable, then pending), for crash-state descriptions;
// m.mu is held.
func (m *MemFS) describe() map[*inode]string {
	names := map[*inode]string{m.root: "/"}
	var walk func(n *inode, prefix string)
	walk = func(n *inode, prefix string) {
		var kids []*inode
		add := func(name string, c *inode) {
			if _, ok := names[c]; c != nil && !ok {
				names[c] = prefix + "/" + name
				kids = append(kids, c)
			}
		}
		for _, src := range []map[string]*inode{n.ents, n.dents} {
			keys := make([]string, 0, len(src))
			for k := range src {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				add(k, src[k])
			}
		}
		for _, op := range n.dpending {
			add(op.name, op.node)
		}
		for _, c := range kids {
			if c.dir {
				walk(c, names[c])
			}
		}
	}
	walk(m.root, "")
	return names
}
