package txnlog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"go.uber.org/zap"
)

// RecoveryReport is what Open found and did.
type RecoveryReport struct {
	Segments  int   // segment files in the log after recovery
	Records   int   // records recovered
	FirstZxid int64 // 0 for an empty log
	LastZxid  int64 // 0 for an empty log
	// Truncated is the torn tail Open cut from the last segment (with
	// ReadOnly: found and left in place, and not read), nil when the log
	// ended cleanly. The server should log it.
	Truncated *TornTail
}

// TornTail is damage at the end of the last segment that a crash explains:
// a partial or checksum-failing record (or segment header) after which no
// intact record proves that the damaged one had been fsynced. It was never
// acknowledged, so Open cut the segment there.
type TornTail struct {
	File   string
	Offset int64
	Reason string
	// DroppedRecords counts intact records found after the damage; they
	// were written in the same unsynced window and are dropped with it.
	DroppedRecords int
	// FileRemoved is set when the segment held no intact record and was
	// removed instead of cut.
	FileRemoved bool
}

// String describes the cut for a log line.
func (t *TornTail) String() string {
	return fmt.Sprintf("torn tail in %s at offset %d: %s (%d unsynced records dropped, file removed: %v)",
		t.File, t.Offset, t.Reason, t.DroppedRecords, t.FileRemoved)
}

// recover scans every segment and sets up the log's state.
func (l *Log) recover() error {
	names, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("txnlog: list %s: %w", l.dir, err)
	}
	var segs []*segment
	for _, n := range names {
		if first, ok := parseSegmentName(n); ok {
			if first <= 0 || Counter(first) == 0 {
				return &CorruptionError{File: l.path(n), Reason: fmt.Sprintf("file name carries an impossible zxid %#x", first)}
			}
			segs = append(segs, &segment{name: n, first: first})
		}
	}
	var (
		prevLast int64
		records  int
		torn     *TornTail
	)
	for i, seg := range segs {
		isLast := i == len(segs)-1
		n, t, err := l.scanSegment(seg, prevLast, isLast)
		if err != nil {
			return err
		}
		records += n
		torn = t
		if seg.last != 0 {
			prevLast = seg.last
		}
	}
	if l.opts.ReadOnly {
		if torn != nil && segs[len(segs)-1].last == 0 {
			segs = segs[:len(segs)-1]
		}
		l.segs = segs
	} else if err := l.repair(segs, torn); err != nil {
		return err
	}
	l.last, l.written, l.synced, l.durable = prevLast, prevLast, prevLast, prevLast
	l.anchored = prevLast != 0
	l.report = RecoveryReport{Segments: len(l.segs), Records: records, LastZxid: prevLast, Truncated: torn}
	if len(l.segs) > 0 {
		l.report.FirstZxid = l.segs[0].first
	}
	return nil
}

// repair cuts a torn tail (or removes a segment without records) and opens
// the last segment for writing, durably: the file and the directory are
// fsynced even when nothing was cut.
func (l *Log) repair(segs []*segment, torn *TornTail) error {
	if torn != nil {
		seg := segs[len(segs)-1]
		p := l.path(seg.name)
		if seg.last == 0 {
			torn.FileRemoved = true
			if err := l.fs.Remove(p); err != nil {
				return fmt.Errorf("txnlog: remove torn segment %s: %w", p, err)
			}
			if err := l.fs.SyncDir(l.dir); err != nil {
				return fmt.Errorf("txnlog: fsync %s: %w", l.dir, err)
			}
			segs = segs[:len(segs)-1]
		} else {
			f, err := l.fs.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				return fmt.Errorf("txnlog: open %s: %w", p, err)
			}
			err = f.Truncate(seg.end)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("txnlog: cut torn tail of %s at %d: %w", p, seg.end, err)
			}
		}
		l.log.Warn("transaction log: truncated a torn tail (unacknowledged writes lost in a crash)",
			zap.String("file", torn.File), zap.Int64("offset", torn.Offset), zap.String("reason", torn.Reason),
			zap.Int("droppedRecords", torn.DroppedRecords), zap.Bool("fileRemoved", torn.FileRemoved))
	}
	l.segs = segs
	if len(segs) > 0 {
		seg := segs[len(segs)-1]
		p := l.path(seg.name)
		f, err := l.fs.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("txnlog: open %s: %w", p, err)
		}
		st, err := l.fs.Stat(p)
		if err == nil {
			// What a crashed process left in the page cache is durable
			// only after this.
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("txnlog: open %s: %w", p, err)
		}
		l.f, l.alloc = f, st.Size
	}
	// Likewise for the directory: a process that crashed between removing
	// or creating a segment and fsyncing the directory left a listing that
	// a later power loss could undo under records appended from now on.
	if err := l.fs.SyncDir(l.dir); err != nil {
		if l.f != nil {
			l.f.Close()
			l.f = nil
		}
		return fmt.Errorf("txnlog: fsync %s: %w", l.dir, err)
	}
	return nil
}

// scanSegment verifies one segment, setting seg.last and seg.end. prevLast
// is the previous segment's last zxid (0 for the first segment). For the
// last segment it may return a torn tail (seg.end is then where to cut).
func (l *Log) scanSegment(seg *segment, prevLast int64, isLast bool) (int, *TornTail, error) {
	p := l.path(seg.name)
	corrupt := func(off int64, format string, args ...any) error {
		return &CorruptionError{File: p, Offset: off, Reason: fmt.Sprintf(format, args...)}
	}
	st, err := l.fs.Stat(p)
	if err != nil {
		return 0, nil, fmt.Errorf("txnlog: stat %s: %w", p, err)
	}
	f, err := l.fs.Open(p)
	if err != nil {
		return 0, nil, fmt.Errorf("txnlog: open %s: %w", p, err)
	}
	defer f.Close()
	size := st.Size

	// bad handles damage at off: corruption unless this is the last
	// segment and nothing after off proves the damage had been fsynced.
	var (
		prev     = prevLast
		lastGood = seg.first - 1
		count    int
	)
	if prevLast != 0 {
		lastGood = prevLast
	}
	bad := func(off int64, threshold int64, reason string) (int, *TornTail, error) {
		if !isLast {
			return 0, nil, corrupt(off, "%s (in a segment that is not the last one)", reason)
		}
		rest := make([]byte, size-off)
		if n, err := f.ReadAt(rest, off); err != nil && !(errors.Is(err, io.EOF) && n == len(rest)) {
			return 0, nil, fmt.Errorf("txnlog: read %s: %w", p, err)
		}
		ev := scanLost(rest, lastGood, threshold)
		if ev.undecided {
			return 0, nil, corrupt(off, "%s, followed by bytes that are neither zeros nor records", reason)
		}
		if ev.found {
			return 0, nil, corrupt(off, "%s, but the intact record at offset %d (zxid %#x) was written after it had been made durable",
				reason, off+int64(ev.off), ev.zxid)
		}
		seg.end = off
		if count > 0 {
			seg.last = prev
		}
		return count, &TornTail{File: p, Offset: off, Reason: reason, DroppedRecords: ev.intact}, nil
	}

	hdr := make([]byte, segHeaderSize)
	n, err := f.ReadAt(hdr, 0)
	if err != nil && !(errors.Is(err, io.EOF) && int64(n) == size) {
		// An I/O error is not damage: never cut a log on it.
		return 0, nil, fmt.Errorf("txnlog: read %s: %w", p, err)
	}
	if reason := checkSegHeader(hdr[:n], seg.first); reason != "" {
		// A segment's header is fsynced before any record goes in, so an
		// intact record anywhere after a bad header is corruption.
		return bad(0, math.MinInt64, reason)
	}
	if prevLast != 0 && !IsNext(prevLast, seg.first) {
		return 0, nil, corrupt(0, "zxid gap: the previous segment ends at %#x and this one starts at %#x (a segment is missing or damaged)", prevLast, seg.first)
	}

	r := bufio.NewReaderSize(io.NewSectionReader(f, segHeaderSize, size-segHeaderSize), 1<<20)
	off := int64(segHeaderSize)
	var head [recHeaderSize]byte
	var payload []byte
	for off < size {
		left := size - off
		hn, err := io.ReadFull(r, head[:min(int64(recHeaderSize), left)])
		if err != nil {
			return 0, nil, fmt.Errorf("txnlog: read %s at %d: %w", p, off, err)
		}
		h := head[:hn]
		if hn < 4 || binary.BigEndian.Uint32(h) == 0 {
			// End of the written data: the rest must be zeros.
			zero, err := restZero(r)
			if err != nil {
				return 0, nil, fmt.Errorf("txnlog: read %s at %d: %w", p, off, err)
			}
			if allZero(h) && zero {
				break
			}
			return bad(off, lastGood+1, "non-zero bytes after the end of the log data")
		}
		if hn < recHeaderSize {
			return bad(off, lastGood+1, "incomplete record header")
		}
		rh := parseRecHead(h)
		if rh.length < recFixed || rh.size() > left {
			return bad(off, lastGood+1, fmt.Sprintf("record length %d out of range", rh.length))
		}
		plen := int(rh.length) - recFixed
		if cap(payload) < plen {
			payload = make([]byte, plen)
		}
		payload = payload[:plen]
		if _, err := io.ReadFull(r, payload); err != nil {
			return 0, nil, fmt.Errorf("txnlog: read %s at %d: %w", p, off, err)
		}
		crc := crc32.Update(crc32.Checksum(h[8:], castagnoli), castagnoli, payload)
		if crc != rh.crc {
			return bad(off, lastGood+1, "record checksum mismatch")
		}
		if count == 0 && rh.zxid != seg.first {
			return 0, nil, corrupt(off, "first record has zxid %#x but the segment is named for %#x", rh.zxid, seg.first)
		}
		if prev != 0 && !IsNext(prev, rh.zxid) {
			return 0, nil, corrupt(off, "zxid %#x does not follow %#x", rh.zxid, prev)
		}
		if rh.durable >= rh.zxid {
			return 0, nil, corrupt(off, "record %#x claims durability up to %#x", rh.zxid, rh.durable)
		}
		prev, lastGood = rh.zxid, rh.zxid
		count++
		off += rh.size()
	}
	seg.end = off
	seg.last = prev
	if count == 0 {
		seg.last = 0
		if !isLast {
			return 0, nil, corrupt(segHeaderSize, "segment holds no records but later segments exist")
		}
		return 0, &TornTail{File: p, Offset: segHeaderSize, Reason: "segment holds no records (a crash right after it was created)"}, nil
	}
	return count, nil, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// restZero reports whether everything left in r is zero.
func restZero(r *bufio.Reader) (bool, error) {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if !allZero(buf[:n]) {
			return false, nil
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// evidence is what scanLost found after a damaged point.
type evidence struct {
	found     bool
	undecided bool  // the bytes were too costly to classify (found is set too)
	off       int   // offset of the proving record
	zxid      int64 // its zxid
	intact    int   // intact records seen before it (or in all, if none proves anything)
}

// scanLost looks through the bytes after a damaged point for intact
// records, which must carry zxids above after. A record whose durable
// stamp is at least threshold was written after a record at or beyond the
// damaged point had been fsynced: then the damage is not a torn write but
// corruption of acknowledged data. Candidates are filtered on their header
// before their checksum is computed, and checksumming is bounded: junk that
// would cost more is reported as undecided (the caller refuses it as
// corruption rather than guess).
func scanLost(b []byte, after, threshold int64) evidence {
	var ev evidence
	budget := 64*int64(len(b)) + 64<<20
	for p := 0; p+recHeaderSize <= len(b); {
		if b[p] == 0 && b[p+1] == 0 && b[p+2] == 0 && b[p+3] == 0 {
			p++
			continue
		}
		h := parseRecHead(b[p:])
		end := p + int(h.size())
		if h.length < recFixed || end > len(b) || end <= p ||
			h.zxid <= after || Counter(h.zxid) == 0 || h.durable < 0 || h.durable >= h.zxid {
			p++
			continue
		}
		if budget -= int64(h.length); budget < 0 {
			ev.found, ev.undecided, ev.off = true, true, p
			return ev
		}
		if verifyRecord(b[p:end]) {
			if h.durable >= threshold {
				ev.found, ev.off, ev.zxid = true, p, h.zxid
				return ev
			}
			ev.intact++
			p = end
			continue
		}
		p++
	}
	return ev
}
