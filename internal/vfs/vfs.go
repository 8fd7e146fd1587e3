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
	"io"
	"os"
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
