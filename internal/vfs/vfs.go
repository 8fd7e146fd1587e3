// Package vfs is the small file-system interface that Warren's storage
// (write-ahead log, snapshots) is written against, so the same code runs on
// the operating system's files and on an in-memory disk that can simulate a
// crash: losing whatever was written but not fsynced, keeping a prefix of
// it, or tearing the last write.
//
// The contract follows POSIX as storage engines must assume it: data written
// to a file is durable only after File.Sync; a newly created, renamed or
// removed directory entry is durable only after SyncDir on its directory.
//
// The package owns:
//   - OS, the operating system's file system;
//   - MemFS, an in-memory file system that keeps, per file and per
//     directory, the durable state and the unsynced operations since, and
//     whose Crash returns what a power loss may leave;
//   - Recorder, which records a workload's operations on any FS and
//     enumerates the crash states the POSIX model allows after each of
//     them (ALICE/CrashMonkey style);
//   - FaultFS, which injects failed fsyncs (with Linux's fsyncgate
//     semantics), a full disk, short and failing reads; and FlipBit and
//     ZeroRange, which corrupt stored content in place.
//
// Only the test doubles use randomness, always from an explicit seed.
package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FS is a file system.
type FS interface {
	// Create creates or truncates a file for writing and reading.
	Create(name string) (File, error)
	// OpenFile opens a file with os.O_* flags and a mode for creation.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Open opens a file for reading.
	Open(name string) (File, error)
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// MkdirAll creates a directory and its parents.
	MkdirAll(dir string, perm os.FileMode) error
	// ReadDir lists a directory's entry names, sorted.
	ReadDir(dir string) ([]string, error)
	// Stat reports a file's size and whether it is a directory.
	Stat(name string) (FileInfo, error)
	// SyncDir makes the directory's entries (creates, renames, removes)
	// durable.
	SyncDir(dir string) error
}

// File is an open file.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.WriterAt
	io.Seeker
	io.Closer
	// Sync makes everything written so far durable.
	Sync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Name is the name the file was opened with.
	Name() string
}

// FileInfo is what Stat reports.
type FileInfo struct {
	Size  int64
	IsDir bool
}

// EnsureDir creates dir when it is missing, with its missing parents, and
// makes every new directory entry durable: each is an entry of its parent,
// which is fsynced, so a crash cannot lose a directory whose files were
// fsynced.
func EnsureDir(fsys FS, dir string) error {
	dir = filepath.Clean(dir)
	var missing []string // dir and its missing ancestors, deepest first
	for d := dir; ; d = filepath.Dir(d) {
		st, err := fsys.Stat(d)
		if err == nil {
			if !st.IsDir {
				return fmt.Errorf("%s is not a directory", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("stat %s: %w", d, err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		parent := filepath.Dir(missing[i])
		if err := fsys.SyncDir(parent); err != nil {
			return fmt.Errorf("fsync %s: %w", parent, err)
		}
	}
	return nil
}

// WriteFileAtomic replaces path with data durably: the data is written to
// path+".tmp", fsynced, renamed over path, and the directory fsynced, so a
// crash leaves the old content or the new one, never a mix. On error the
// temporary file is removed (best effort) and path is untouched.
func WriteFileAtomic(fsys FS, path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	fail := func(step string, err error) error {
		_ = fsys.Remove(tmp) // a stale temporary file is never read
		return fmt.Errorf("write %s: %s: %w", path, step, err)
	}
	f, err := fsys.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fail("write", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fail("fsync", err)
	}
	if err := f.Close(); err != nil {
		return fail("close", err)
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return fail("rename", err)
	}
	dir := filepath.Dir(path)
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: fsync %s: %w", path, dir, err)
	}
	return nil
}
