package snapfile

import (
	"errors"
	"fmt"
)

// CorruptionError reports a snapshot file whose content is not what a
// complete, undamaged snapshot holds: a bad checksum, an impossible length,
// a missing trailer (a truncated file), a trailer that disagrees with the
// blocks, bytes after the trailer. Nothing read from such a file may be
// used. File-system errors are never reported as corruption.
type CorruptionError struct {
	File   string // the snapshot file (the path it was opened with)
	Offset int64  // byte offset in File of the frame where the damage was found
	Reason string
}

// Error names the file and offset and says how to recover.
func (e *CorruptionError) Error() string {
	return fmt.Sprintf("snapfile: corrupt snapshot %s at offset %d: %s; "+
		"this snapshot must not be loaded. To recover, start from an older snapshot "+
		"plus the transaction log after it (the server falls back to one by itself "+
		"when the log still holds the transactions since), or restore the data "+
		"directory from a backup (in an ensemble, let this server resync from the others)",
		e.File, e.Offset, e.Reason)
}

var (
	// ErrClosed is returned by a Writer after Commit, Abort or a failed
	// Write or Commit, and by a Reader after Close.
	ErrClosed = errors.New("snapfile: snapshot file is closed")
	// ErrInvalidMeta is returned (wrapped) by Create for a Meta that no
	// snapshot can have (a negative zxid or count).
	ErrInvalidMeta = errors.New("snapfile: invalid snapshot meta")
)

func corrupt(file string, off int64, format string, args ...any) *CorruptionError {
	return &CorruptionError{File: file, Offset: off, Reason: fmt.Sprintf(format, args...)}
}
