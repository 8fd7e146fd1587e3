package txnlog

import (
	"fmt"
	"hash/crc32"

	"github.com/warrenhq/warren/internal/vfs"
)

// Iterator reads a log's synced records in zxid order, checking each
// record's checksum and the continuity of zxids as it goes. It is safe to
// use while the log is written: Next returning false means "no more synced
// records for now" (check Err); calling it again after a later Sync
// continues. Truncation below its position and purging of the segment it
// needs end it with an error.
type Iterator struct {
	l        *Log
	any      bool   // no predecessor check for the first record (ReadAll)
	last     int64  // zxid of the last record returned (or the starting point)
	purgeGen uint64 // l.purgeGen when positioned
	truncGen int    // len(l.truncs) when positioned
	idx      int    // segment index in l.segs
	off      int64
	f        vfs.File
	rec      Record
	err      error
	buf      []byte
}

// ReadAfter returns an iterator over the records after zxid: the
// continuation of a snapshot taken at zxid, or a ZAB DIFF from a follower's
// last zxid. zxid must be a record of the log, its last synced zxid, or the
// direct predecessor of its first record (IsNext); otherwise the records
// that follow it are not all here and ReadAfter returns ErrPurged (below the
// log) or ErrNotFound (not one of its zxids, or beyond LastSynced).
func (l *Log) ReadAfter(zxid int64) (*Iterator, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	it := &Iterator{l: l, last: zxid}
	if err := it.seekLocked(); err != nil {
		return nil, err
	}
	return it, nil
}

// ReadAll returns an iterator over every synced record from the first.
func (l *Log) ReadAll() (*Iterator, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	it := &Iterator{l: l, any: true}
	if err := it.seekLocked(); err != nil {
		return nil, err
	}
	return it, nil
}

// seekLocked positions the iterator after it.last (or at the first record
// when it.any and nothing was returned yet).
func (it *Iterator) seekLocked() error {
	l := it.l
	it.closeFile()
	it.purgeGen, it.truncGen = l.purgeGen, len(l.truncs)
	it.idx, it.off = 0, segHeaderSize
	z := it.last
	if it.any && z == 0 {
		return nil
	}
	if z > l.synced {
		return fmt.Errorf("txnlog: read after %#x (last synced %#x): %w", z, l.synced, ErrNotFound)
	}
	if len(l.segs) == 0 || l.segs[0].last == 0 {
		if z != l.synced {
			return fmt.Errorf("txnlog: read after %#x of an empty log: %w", z, ErrPurged)
		}
		return nil
	}
	if z < l.segs[0].first {
		if !IsNext(z, l.segs[0].first) {
			return fmt.Errorf("txnlog: read after %#x, log starts at %#x: %w", z, l.segs[0].first, ErrPurged)
		}
		return nil
	}
	i := l.segIndexLocked(z)
	seg := l.segs[i]
	f, err := l.fs.Open(l.path(seg.name))
	if err != nil {
		return fmt.Errorf("txnlog: open %s: %w", l.path(seg.name), err)
	}
	off, last, err := seekAfter(f, seg, z)
	if err != nil {
		f.Close()
		return fmt.Errorf("txnlog: read %s: %w", l.path(seg.name), err)
	}
	if last != z {
		f.Close()
		return fmt.Errorf("txnlog: read after %#x: %w", z, ErrNotFound)
	}
	it.idx, it.off, it.f = i, off, f
	return nil
}

func (it *Iterator) closeFile() {
	if it.f != nil {
		it.f.Close()
		it.f = nil
	}
}

// Next advances to the next synced record and reports whether there is one.
func (it *Iterator) Next() bool {
	l := it.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if it.err != nil {
		return false
	}
	if l.closed {
		it.err = ErrClosed
		return false
	}
	if len(l.truncs) != it.truncGen {
		low := l.truncs[it.truncGen]
		for _, z := range l.truncs[it.truncGen:] {
			low = min(low, z)
		}
		if it.last > low {
			it.err = fmt.Errorf("txnlog: iterator at %#x, log truncated after %#x: %w", it.last, low, ErrTruncated)
			return false
		}
		if it.err = it.seekLocked(); it.err != nil {
			return false
		}
	} else if l.purgeGen != it.purgeGen {
		if it.err = it.seekLocked(); it.err != nil {
			return false
		}
	}
	for {
		if it.last >= l.synced || it.idx >= len(l.segs) {
			return false
		}
		seg := l.segs[it.idx]
		if it.off >= seg.end {
			if it.idx+1 >= len(l.segs) {
				return false
			}
			it.idx++
			it.off = segHeaderSize
			it.closeFile()
			continue
		}
		p := l.path(seg.name)
		if it.f == nil {
			f, err := l.fs.Open(p)
			if err != nil {
				it.err = fmt.Errorf("txnlog: open %s: %w", p, err)
				return false
			}
			it.f = f
		}
		var hb [recHeaderSize]byte
		if _, err := it.f.ReadAt(hb[:], it.off); err != nil {
			it.err = fmt.Errorf("txnlog: read %s at %d: %w", p, it.off, err)
			return false
		}
		h := parseRecHead(hb[:])
		if h.length < recFixed || it.off+h.size() > seg.end {
			it.err = &CorruptionError{File: p, Offset: it.off, Reason: fmt.Sprintf("record length %d out of range on read", h.length)}
			return false
		}
		plen := int(h.length) - recFixed
		payload := make([]byte, plen)
		if _, err := it.f.ReadAt(payload, it.off+recHeaderSize); err != nil {
			it.err = fmt.Errorf("txnlog: read %s at %d: %w", p, it.off, err)
			return false
		}
		if crc32.Update(crc32.Checksum(hb[8:], castagnoli), castagnoli, payload) != h.crc {
			it.err = &CorruptionError{File: p, Offset: it.off, Reason: "record checksum mismatch on read"}
			return false
		}
		if !(it.any && it.last == 0) && !IsNext(it.last, h.zxid) {
			it.err = &CorruptionError{File: p, Offset: it.off, Reason: fmt.Sprintf("zxid %#x does not follow %#x on read", h.zxid, it.last)}
			return false
		}
		it.rec = Record{Zxid: h.zxid, Payload: payload}
		it.last = h.zxid
		it.off += h.size()
		return true
	}
}

// Record is the record Next advanced to. Its payload is the caller's.
func (it *Iterator) Record() Record { return it.rec }

// Err is the error that ended the iteration, nil at the end of the log.
func (it *Iterator) Err() error {
	it.l.mu.Lock()
	defer it.l.mu.Unlock()
	return it.err
}

// Close releases the iterator's file.
func (it *Iterator) Close() error {
	it.l.mu.Lock()
	defer it.l.mu.Unlock()
	it.closeFile()
	return nil
}
