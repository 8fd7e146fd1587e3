package txnlog

import (
	"errors"
	"fmt"
)

// CorruptionError reports damage that is not a torn tail: a bad record with
// valid data after it, a damaged segment that is not the last one, a zxid
// gap, a missing or misnamed segment. The log refuses to open rather than
// skip anything; the message says how an operator recovers.
type CorruptionError struct {
	File   string // the segment file (full path)
	Offset int64  // byte offset of the damage in File
	Reason string
}

// Error names the file and offset and says how to recover.
func (e *CorruptionError) Error() string {
	return fmt.Sprintf("txnlog: corrupt transaction log %s at offset %d: %s; "+
		"refusing to go on rather than skip acknowledged transactions. To recover, "+
		"restore the data directory from a backup (or, in an ensemble, let this server "+
		"resync from the others), or inspect the file and, if the loss is acceptable, "+
		"move it and every later log file out of the directory", e.File, e.Offset, e.Reason)
}

// DiskFullError is returned by Sync when the file system has no space left
// (ENOSPC). The batch it was writing is dropped (nothing of it is
// acknowledged, and nothing of it survives a restart); the log stays usable,
// and the next Append must continue from LastSynced. Appending and syncing
// work again once space is available.
type DiskFullError struct {
	File string
	Err  error
}

// Error names the file being written.
func (e *DiskFullError) Error() string {
	return fmt.Sprintf("txnlog: disk full writing %s: %v", e.File, e.Err)
}

// Unwrap returns the file system's error (ENOSPC or EDQUOT).
func (e *DiskFullError) Unwrap() error { return e.Err }

// FailedError is sticky: after a failed fsync or write the log cannot know
// what reached the disk (a later fsync may report success for pages the
// kernel already dropped), so every later Append, Sync, TruncateAfter and
// PurgeBefore returns this error and the server must stop.
type FailedError struct {
	Op   string
	File string
	Err  error
}

// Error names the failed operation and file.
func (e *FailedError) Error() string {
	return fmt.Sprintf("txnlog: %s %s failed, the log refuses further writes (restart the server to recover from what is on disk): %v", e.Op, e.File, e.Err)
}

// Unwrap returns the file system's error.
func (e *FailedError) Unwrap() error { return e.Err }

var (
	// ErrNotContinuous is returned by Append for a zxid that does not follow
	// the last one (see IsNext).
	ErrNotContinuous = errors.New("txnlog: zxid does not continue the log")
	// ErrPurged is returned by ReadAfter when the records that follow the
	// requested zxid are no longer (or were never) in the log.
	ErrPurged = errors.New("txnlog: the log does not hold the records after this zxid")
	// ErrNotFound is returned when a zxid inside the log's range is not one
	// of its records.
	ErrNotFound = errors.New("txnlog: zxid is not in the log")
	// ErrTooLarge is returned by Append for a payload above MaxRecordSize.
	ErrTooLarge = errors.New("txnlog: record too large")
	// ErrReadOnly is returned by every write to a log opened ReadOnly.
	ErrReadOnly = errors.New("txnlog: log is open read-only")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("txnlog: log is closed")
	// ErrTruncated is returned by an iterator whose position was removed by
	// TruncateAfter while it was reading.
	ErrTruncated = errors.New("txnlog: the log was truncated under the iterator")
)
