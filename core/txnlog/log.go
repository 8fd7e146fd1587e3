// Package txnlog owns Warren's write-ahead transaction log: a directory of
// segment files (log.<first zxid in hex>), each a checksummed header and a
// run of length-framed, CRC32-C-checksummed records that carry one zxid and
// one encoded transaction each. It preallocates segments with zeros, rolls
// them at a size limit, commits in groups (many Appends, one fsync per
// Sync), enforces zxid continuity on append and on recovery, tells a torn
// tail (truncated and reported) from corruption (a typed error, never
// skipped), and serves the readers recovery and ZAB synchronisation need:
// an iterator after a zxid, TruncateAfter (ZAB TRUNC) and PurgeBefore
// (autopurge). All file access goes through internal/vfs.
//
// Durability rules the code follows (reliability.md §5.2):
//   - a record is acknowledged (LastSynced) only after the fsync that covers
//     it; an fsync or write error is sticky and the log refuses all later
//     writes (never retry an fsync and acknowledge);
//   - a segment is created with its header fsynced and the directory
//     fsynced before any record goes into it; the previous segment is cut
//     to its data and fsynced before the next one is created, so only the
//     last segment can ever end in a torn write;
//   - truncation removes segments newest first and purging oldest first,
//     each followed by a directory fsync, so a crash in the middle leaves a
//     continuous log.
package txnlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/internal/vfs"
)

// Defaults for Options.
const (
	DefaultSegmentSize      = 128 << 20
	DefaultPreallocSize     = 64 << 20 // ZooKeeper's zookeeper.preAllocSize
	DefaultMaxRecordSize    = 16 << 20
	DefaultFsyncWarningTime = time.Second // ZooKeeper's fsync.warningthresholdms
)

// Options configure a Log. Zero values take the defaults.
type Options struct {
	// SegmentSize is the size at which the log rolls to a new segment
	// (a single record larger than it still gets a segment of its own).
	SegmentSize int64
	// PreallocSize is the chunk in which a segment file is extended with
	// zeros ahead of the records, so that most fsyncs do not change the
	// file's size.
	PreallocSize int64
	// MaxRecordSize bounds a record's payload on append. Reading is bounded
	// by the file instead, so lowering it never turns an acknowledged
	// record into a "torn" one.
	MaxRecordSize int
	// NoForceSync makes Sync skip the fsync (ZooKeeper's forceSync=no):
	// faster and unsafe, for those who ask for it. Segment creation, rolls
	// and truncation still fsync.
	NoForceSync bool
	// ReadOnly opens the log for reading only, for inspection tools that
	// may run beside a live server: recovery verifies everything and
	// reports a torn tail without cutting it, nothing is created, written
	// or fsynced, and every write returns ErrReadOnly.
	ReadOnly bool
	// FsyncWarningTime logs a warning when one fsync takes longer.
	FsyncWarningTime time.Duration
	// Logger receives recovery, purge and slow-fsync messages; nil logs
	// nothing.
	Logger *zap.Logger
}

func (o Options) withDefaults() Options {
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.PreallocSize <= 0 {
		o.PreallocSize = DefaultPreallocSize
	}
	if o.MaxRecordSize <= 0 {
		o.MaxRecordSize = DefaultMaxRecordSize
	}
	if o.FsyncWarningTime <= 0 {
		o.FsyncWarningTime = DefaultFsyncWarningTime
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o
}

// Stats counts the log's work since Open.
type Stats struct {
	Records  int64 // records written to segment files
	Bytes    int64 // record bytes written
	Syncs    int64 // Sync calls that wrote something
	Fsyncs   int64 // fsyncs of segment data issued by Sync
	Segments int   // segment files in the log now
}

// segment is one file of the log.
type segment struct {
	name  string
	first int64 // from the name and header
	last  int64 // zxid of the last record, 0 when the segment has none
	end   int64 // offset after the last record
}

type pendRec struct {
	zxid int64
	off  int // in Log.pend
	size int
}

// Log is a segmented write-ahead log. Its methods are safe for concurrent
// use; Append never waits for an fsync in progress, which is what lets
// records accumulate for the next group commit.
type Log struct {
	fs   vfs.FS
	dir  string
	opts Options
	log  *zap.Logger

	// Lock order: syncMu before mu. syncMu serializes the file writers
	// (Sync, TruncateAfter, PurgeBefore, Reset, Close) and is held across
	// Sync's fsync; mu guards the state below and is never held across a
	// Sync fsync, so Append and readers go on while one runs.
	syncMu sync.Mutex
	mu     sync.Mutex

	segs  []*segment
	f     vfs.File // the last segment, open for writing (nil when segs is empty)
	alloc int64    // size of f (data plus preallocated zeros)

	pend     []byte
	pendRecs []pendRec

	last     int64 // last appended zxid (pending included)
	anchored bool  // last is a real predecessor (false for a fresh empty log)
	written  int64 // last zxid written to a segment file
	synced   int64 // last zxid acknowledged by Sync
	durable  int64 // last zxid known to be fsynced (stamped into records)

	rollReq  bool
	truncs   []int64 // every truncation point since Open, for iterators
	purgeGen uint64  // bumped when segments are purged
	failed   *FailedError
	closed   bool

	report RecoveryReport
	stats  Stats
}

// Open opens (creating if needed) the log in dir and recovers it: every
// segment's header and records are verified, zxid continuity is checked
// within and across segments, and a torn tail of the last segment is cut
// (see Recovery). Damage that a crash cannot explain returns a
// *CorruptionError. What Open recovered is fsynced before it returns.
func Open(fsys vfs.FS, dir string, opts Options) (*Log, error) {
	opts = opts.withDefaults()
	if opts.ReadOnly {
		if st, err := fsys.Stat(dir); err != nil || !st.IsDir {
			return nil, fmt.Errorf("txnlog: open %s read-only: not a directory (%v)", dir, err)
		}
	} else if st, err := fsys.Stat(dir); err != nil || !st.IsDir {
		if err := fsys.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("txnlog: create %s: %w", dir, err)
		}
		// A new directory is an entry of its parent.
		if err := fsys.SyncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
			return nil, fmt.Errorf("txnlog: fsync %s: %w", filepath.Dir(dir), err)
		}
	}
	l := &Log{fs: fsys, dir: dir, opts: opts, log: opts.Logger}
	if err := l.recover(); err != nil {
		return nil, err
	}
	return l, nil
}

// Recovery reports what Open found.
func (l *Log) Recovery() RecoveryReport { return l.report }

func (l *Log) path(name string) string { return filepath.Join(l.dir, name) }

// usable returns the error every write must return, if any. Call with mu.
func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	if l.failed != nil {
		return l.failed
	}
	if l.opts.ReadOnly {
		return ErrReadOnly
	}
	return nil
}

// Append buffers records for the next Sync. Their zxids must continue the
// log (IsNext); the whole call is refused if any record does not, or is
// larger than MaxRecordSize. Nothing is durable until Sync returns.
func (l *Log) Append(recs []Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	prev, anchored := l.last, l.anchored
	for _, r := range recs {
		if len(r.Payload) > l.opts.MaxRecordSize {
			return fmt.Errorf("txnlog: record %#x has %d bytes (max %d): %w", r.Zxid, len(r.Payload), l.opts.MaxRecordSize, ErrTooLarge)
		}
		ok := IsNext(prev, r.Zxid)
		if !anchored {
			ok = r.Zxid > 0 && Counter(r.Zxid) != 0
		}
		if !ok {
			return fmt.Errorf("txnlog: append zxid %#x after %#x: %w", r.Zxid, prev, ErrNotContinuous)
		}
		prev, anchored = r.Zxid, true
	}
	for _, r := range recs {
		off := len(l.pend)
		l.pend = appendRecord(l.pend, r.Zxid, l.durable, r.Payload)
		l.pendRecs = append(l.pendRecs, pendRec{zxid: r.Zxid, off: off, size: len(l.pend) - off})
	}
	l.last, l.anchored = prev, anchored
	return nil
}

// Sync writes every appended record to the segment files and fsyncs them
// (one fsync for the whole group), then advances LastSynced. With
// NoForceSync it writes without the fsync. A *DiskFullError drops the
// unsynced records (LastZxid falls back to LastSynced) and leaves the log
// usable; any other write or fsync error is a sticky *FailedError.
func (l *Log) Sync() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()

	l.mu.Lock()
	if err := l.usable(); err != nil {
		l.mu.Unlock()
		return err
	}
	if len(l.pendRecs) == 0 {
		l.mu.Unlock()
		return nil
	}
	buf, recs := l.pend, l.pendRecs
	l.pend, l.pendRecs = nil, nil
	if err := l.writeLocked(buf, recs); err != nil {
		err = l.undoBatchLocked(err)
		l.mu.Unlock()
		return err
	}
	l.stats.Syncs++
	// The batch is in the file now: its buffers take the next group.
	l.pend, l.pendRecs = buf[:0], recs[:0]
	f, name, target := l.f, l.segs[len(l.segs)-1].name, l.written
	l.mu.Unlock()

	// The fsync runs without mu so that Append keeps filling the next group.
	var err error
	if !l.opts.NoForceSync {
		start := time.Now()
		err = f.Sync()
		if d := time.Since(start); d > l.opts.FsyncWarningTime {
			l.log.Warn("fsync of the transaction log was slow", zap.String("file", l.path(name)),
				zap.Duration("took", d), zap.Duration("threshold", l.opts.FsyncWarningTime))
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.opts.NoForceSync {
		l.stats.Fsyncs++
	}
	if err != nil {
		l.failed = &FailedError{Op: "fsync", File: l.path(name), Err: err}
		return l.failed
	}
	l.synced = target
	if !l.opts.NoForceSync {
		l.durable = target
	}
	return nil
}

// undoBatchLocked handles a write error from writeLocked: disk full drops
// the batch from the files (durably) and from memory; anything else is
// sticky.
func (l *Log) undoBatchLocked(err error) error {
	var full *DiskFullError
	if !errors.As(err, &full) {
		if l.failed == nil {
			var fe *FailedError
			if !errors.As(err, &fe) {
				fe = &FailedError{Op: "write", File: l.dir, Err: err}
			}
			l.failed = fe
		}
		return l.failed
	}
	// Records appended after the failed batch continue it, so they go too.
	l.pend, l.pendRecs = nil, nil
	if terr := l.truncateFilesLocked(l.synced); terr != nil {
		return terr
	}
	l.last, l.written = l.synced, l.synced
	l.anchored = l.synced != 0
	l.durable = min(l.durable, l.synced)
	l.log.Warn("transaction log write failed: disk full", zap.String("file", full.File), zap.Error(full.Err))
	return err
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// writeLocked writes encoded records to the segments, rolling as needed.
func (l *Log) writeLocked(buf []byte, recs []pendRec) error {
	for i := 0; i < len(recs); {
		if l.f == nil || l.needRoll(int64(recs[i].size)) {
			if err := l.rollLocked(recs[i].zxid); err != nil {
				return err
			}
		}
		seg := l.segs[len(l.segs)-1]
		j, n := i, int64(0)
		for j < len(recs) && (j == i || seg.end+n+int64(recs[j].size) <= l.opts.SegmentSize) {
			n += int64(recs[j].size)
			j++
		}
		if err := l.ensureAlloc(seg, seg.end+n); err != nil {
			return err
		}
		data := buf[recs[i].off : recs[j-1].off+recs[j-1].size]
		if _, err := l.f.WriteAt(data, seg.end); err != nil {
			if isNoSpace(err) {
				return &DiskFullError{File: l.path(seg.name), Err: err}
			}
			return &FailedError{Op: "write", File: l.path(seg.name), Err: err}
		}
		seg.end += n
		seg.last = recs[j-1].zxid
		l.written = seg.last
		l.stats.Records += int64(j - i)
		l.stats.Bytes += n
		i = j
	}
	return nil
}

func (l *Log) needRoll(size int64) bool {
	seg := l.segs[len(l.segs)-1]
	if seg.last == 0 {
		return false
	}
	return l.rollReq || seg.end+size > l.opts.SegmentSize
}

var zeros = make([]byte, 1<<20)

// ensureAlloc extends the active file with zeros, in PreallocSize chunks,
// so that it holds at least need bytes.
func (l *Log) ensureAlloc(seg *segment, need int64) error {
	if need <= l.alloc {
		return nil
	}
	chunk := l.opts.PreallocSize
	target := (need + chunk - 1) / chunk * chunk
	if limit := max(l.opts.SegmentSize, need); target > limit {
		target = limit
	}
	for off := l.alloc; off < target; {
		n := min(int64(len(zeros)), target-off)
		if _, err := l.f.WriteAt(zeros[:n], off); err != nil {
			if isNoSpace(err) {
				return &DiskFullError{File: l.path(seg.name), Err: err}
			}
			return &FailedError{Op: "preallocate", File: l.path(seg.name), Err: err}
		}
		off += n
		l.alloc = off
	}
	return nil
}

// rollLocked finishes the active segment (cut to its data, fsynced) and
// creates a new one whose first record will be first, durably (header
// fsynced, directory fsynced) before any record is written into it.
func (l *Log) rollLocked(first int64) error {
	if l.f != nil {
		seg := l.segs[len(l.segs)-1]
		if l.alloc > seg.end {
			if err := l.f.Truncate(seg.end); err != nil {
				return &FailedError{Op: "truncate", File: l.path(seg.name), Err: err}
			}
			l.alloc = seg.end
		}
		if err := l.f.Sync(); err != nil {
			return &FailedError{Op: "fsync", File: l.path(seg.name), Err: err}
		}
		l.durable = max(l.durable, seg.last)
		if err := l.f.Close(); err != nil {
			return &FailedError{Op: "close", File: l.path(seg.name), Err: err}
		}
		l.f = nil
	}
	name := SegmentName(first)
	p := l.path(name)
	f, err := l.fs.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		if isNoSpace(err) {
			return &DiskFullError{File: p, Err: err}
		}
		return &FailedError{Op: "create", File: p, Err: err}
	}
	seg := &segment{name: name, first: first, end: segHeaderSize}
	fail := func(op string, err error) error {
		f.Close()
		if isNoSpace(err) {
			// Nothing of it was acknowledged; remove it so that the
			// directory holds only complete segments.
			if rerr := l.fs.Remove(p); rerr == nil {
				if serr := l.fs.SyncDir(l.dir); serr != nil {
					return &FailedError{Op: "fsync directory", File: l.dir, Err: serr}
				}
			}
			return &DiskFullError{File: p, Err: err}
		}
		return &FailedError{Op: op, File: p, Err: err}
	}
	if _, err := f.WriteAt(encodeSegHeader(first), 0); err != nil {
		return fail("write header", err)
	}
	l.f, l.alloc = f, segHeaderSize
	if err := l.ensureAlloc(seg, segHeaderSize+1); err != nil {
		l.f, l.alloc = nil, 0
		var full *DiskFullError
		if errors.As(err, &full) {
			return fail("preallocate", full.Err)
		}
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		l.f, l.alloc = nil, 0
		f.Close()
		return &FailedError{Op: "fsync", File: p, Err: err}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		l.f, l.alloc = nil, 0
		f.Close()
		return &FailedError{Op: "fsync directory", File: l.dir, Err: err}
	}
	l.segs = append(l.segs, seg)
	l.rollReq = false
	l.log.Debug("transaction log segment created", zap.String("file", p))
	return nil
}

// truncateFilesLocked removes every record after z from the files,
// durably: later segments first (newest first, then a directory fsync),
// then the segment holding z is cut after z and fsynced. It works for any
// z; callers validate. Errors are sticky.
func (l *Log) truncateFilesLocked(z int64) error {
	l.truncs = append(l.truncs, z)
	removed := false
	for len(l.segs) > 0 && l.segs[len(l.segs)-1].first > z {
		seg := l.segs[len(l.segs)-1]
		if l.f != nil {
			l.f.Close()
			l.f, l.alloc = nil, 0
		}
		if err := l.fs.Remove(l.path(seg.name)); err != nil {
			l.failed = &FailedError{Op: "remove", File: l.path(seg.name), Err: err}
			return l.failed
		}
		l.segs = l.segs[:len(l.segs)-1]
		removed = true
	}
	if removed {
		if err := l.fs.SyncDir(l.dir); err != nil {
			l.failed = &FailedError{Op: "fsync directory", File: l.dir, Err: err}
			return l.failed
		}
	}
	if len(l.segs) == 0 {
		return nil
	}
	seg := l.segs[len(l.segs)-1]
	p := l.path(seg.name)
	if l.f == nil {
		f, err := l.fs.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			l.failed = &FailedError{Op: "open", File: p, Err: err}
			return l.failed
		}
		st, err := l.fs.Stat(p)
		if err != nil {
			f.Close()
			l.failed = &FailedError{Op: "stat", File: p, Err: err}
			return l.failed
		}
		l.f, l.alloc = f, st.Size
	}
	if seg.last <= z && seg.end == l.alloc {
		return nil
	}
	off, last, err := seekAfter(l.f, seg, z)
	if err != nil {
		l.failed = &FailedError{Op: "read", File: p, Err: err}
		return l.failed
	}
	if err := l.f.Truncate(off); err != nil {
		l.failed = &FailedError{Op: "truncate", File: p, Err: err}
		return l.failed
	}
	if err := l.f.Sync(); err != nil {
		l.failed = &FailedError{Op: "fsync", File: p, Err: err}
		return l.failed
	}
	seg.end, seg.last, l.alloc = off, last, off
	return nil
}

// seekAfter finds, in a segment, the offset of the first record with a
// zxid above z and the zxid of the record before it (0 if none).
func seekAfter(f io.ReaderAt, seg *segment, z int64) (off, last int64, err error) {
	off = segHeaderSize
	var hb [recHeaderSize]byte
	for off < seg.end {
		if _, err := f.ReadAt(hb[:], off); err != nil {
			return 0, 0, err
		}
		h := parseRecHead(hb[:])
		if h.zxid > z {
			break
		}
		last = h.zxid
		off += h.size()
	}
	return off, last, nil
}

// LastSynced is the zxid of the last record made durable by Sync (with
// NoForceSync: written by Sync), 0 for an empty log.
func (l *Log) LastSynced() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.synced
}

// LastZxid is the zxid of the last appended record, synced or not (after
// TruncateAfter below the first record, the zxid truncated to).
func (l *Log) LastZxid() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// FirstZxid is the zxid of the oldest record the log holds, 0 when empty.
func (l *Log) FirstZxid() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.segs) > 0 && l.segs[0].last != 0 {
		return l.segs[0].first
	}
	if len(l.pendRecs) > 0 {
		return l.pendRecs[0].zxid
	}
	return 0
}

// Stats returns counters of the log's work.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Segments = len(l.segs)
	return s
}

// Roll makes the next written record start a new segment (ZooKeeper starts
// a new log file after each snapshot, which lets purging free the space of
// everything the snapshot covers).
func (l *Log) Roll() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	l.rollReq = true
	return nil
}

// TruncateAfter removes every record after zxid, pending or written, and
// makes the removal durable before it returns (ZAB's TRUNC). zxid must be a
// record of the log, or below its first record (the log becomes empty and
// the next Append must follow zxid), or at or above its last (nothing to
// do).
func (l *Log) TruncateAfter(zxid int64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	if zxid >= l.last {
		return nil
	}
	// Pending records all come after the written ones.
	k := 0
	for k < len(l.pendRecs) && l.pendRecs[k].zxid <= zxid {
		k++
	}
	if zxid >= l.written {
		// Only pending records go; zxid must be one of them, the last
		// written record, or below everything.
		found := (k > 0 && l.pendRecs[k-1].zxid == zxid) || (zxid == l.written && l.written != 0) ||
			(l.written == 0 && len(l.pendRecs) > 0 && zxid < l.pendRecs[0].zxid)
		if !found {
			return fmt.Errorf("txnlog: truncate after %#x: %w", zxid, ErrNotFound)
		}
		if k < len(l.pendRecs) {
			l.pend = l.pend[:l.pendRecs[k].off]
			l.pendRecs = l.pendRecs[:k]
		}
		l.last, l.anchored = zxid, true
		return nil
	}
	if len(l.segs) > 0 && zxid >= l.segs[0].first {
		ok, err := l.containsLocked(zxid)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("txnlog: truncate after %#x: %w", zxid, ErrNotFound)
		}
	}
	l.pend, l.pendRecs = nil, nil
	if err := l.truncateFilesLocked(zxid); err != nil {
		return err
	}
	l.last, l.written = zxid, zxid
	l.synced = min(l.synced, zxid)
	l.durable = min(l.durable, zxid)
	l.anchored = true
	l.log.Info("transaction log truncated", zap.Int64("after", zxid))
	return nil
}

// Reset removes every segment and every pending record, durably (newest
// segment first, then a directory fsync), and makes the next Append follow
// after: what a follower does when ZAB syncs it with a SNAP, or a restore
// into a data directory, once the snapshot at after is durable. LastZxid
// and LastSynced become after.
func (l *Log) Reset(after int64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	if after < 0 {
		return fmt.Errorf("txnlog: reset after negative zxid %#x: %w", after, ErrNotContinuous)
	}
	l.pend, l.pendRecs = nil, nil
	if err := l.truncateFilesLocked(0); err != nil {
		return err
	}
	l.last, l.written, l.synced, l.durable = after, after, after, 0
	l.anchored = true
	l.log.Info("transaction log reset", zap.Int64("after", after))
	return nil
}

// containsLocked reports whether zxid is a written record.
func (l *Log) containsLocked(zxid int64) (bool, error) {
	i := l.segIndexLocked(zxid)
	if i < 0 {
		return false, nil
	}
	seg := l.segs[i]
	f, err := l.fs.Open(l.path(seg.name))
	if err != nil {
		return false, fmt.Errorf("txnlog: open %s: %w", l.path(seg.name), err)
	}
	defer f.Close()
	_, last, err := seekAfter(f, seg, zxid)
	if err != nil {
		return false, fmt.Errorf("txnlog: read %s: %w", l.path(seg.name), err)
	}
	return last == zxid, nil
}

// segIndexLocked is the index of the last segment whose first zxid is at
// most zxid, or -1.
func (l *Log) segIndexLocked(zxid int64) int {
	i := len(l.segs) - 1
	for i >= 0 && l.segs[i].first > zxid {
		i--
	}
	return i
}

// PurgeBefore removes the segments whose records are all below zxid (the
// segment holding zxid, and the last segment, stay), oldest first, and
// fsyncs the directory. It returns the removed files' paths.
func (l *Log) PurgeBefore(zxid int64) ([]string, error) {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return nil, err
	}
	var removed []string
	var err error
	for len(l.segs) > 1 && l.segs[1].first <= zxid {
		p := l.path(l.segs[0].name)
		if rerr := l.fs.Remove(p); rerr != nil {
			err = fmt.Errorf("txnlog: purge %s: %w", p, rerr)
			break
		}
		l.segs = l.segs[1:]
		removed = append(removed, p)
	}
	if len(removed) > 0 {
		l.purgeGen++
		if serr := l.fs.SyncDir(l.dir); serr != nil && err == nil {
			err = fmt.Errorf("txnlog: purge: fsync %s: %w", l.dir, serr)
		}
		l.log.Info("transaction log purged", zap.Int64("before", zxid), zap.Strings("removed", removed))
	}
	return removed, err
}

// Close closes the log. Records appended but not synced are discarded.
func (l *Log) Close() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.pend, l.pendRecs = nil, nil
	if l.f != nil {
		err := l.f.Close()
		l.f = nil
		if err != nil {
			return fmt.Errorf("txnlog: close: %w", err)
		}
	}
	return nil
}
