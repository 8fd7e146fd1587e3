package snapfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"

	"github.com/warrenhq/warren/internal/vfs"
)

// Reader reads the payload of a snapshot file, verifying as it goes. Read
// returns a block's bytes only after its checksum has verified, and io.EOF
// only after the trailer has verified against every block and nothing
// follows it. Damage is a *CorruptionError; a file-system error is returned
// wrapped. Either is sticky. A Reader is not safe for concurrent use.
type Reader struct {
	f    vfs.File
	path string
	meta Meta

	off    int64  // file offset of the next frame
	buf    []byte // the current block's verified payload
	pos    int    // bytes of buf already returned
	blocks uint64
	length uint64
	crc    uint32

	err    error // sticky: io.EOF, a *CorruptionError or an I/O error
	closed bool
}

// Open opens a snapshot file and validates its header (magic, version,
// checksum, and the zxid against the file name when the name is a
// snapshot's). Meta is valid after Open.
func Open(fsys vfs.FS, path string) (*Reader, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("snapfile: open %s: %w", path, err)
	}
	r := &Reader{f: f, path: path}
	if err := r.readHeader(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *Reader) readHeader() error {
	b := make([]byte, headerSize)
	n, err := io.ReadFull(r.f, b)
	if err != nil {
		return r.readErr(err, 0, fmt.Sprintf("file ends after %d bytes, inside the %d-byte header", n, headerSize))
	}
	m, reason := decodeHeader(b)
	if reason != "" {
		return corrupt(r.path, 0, "%s", reason)
	}
	if z, ok := ParseName(filepath.Base(r.path)); ok && z != m.Zxid {
		return corrupt(r.path, 8, "header says zxid %#x, file name says %#x", m.Zxid, z)
	}
	r.meta = m
	r.off = headerSize
	return nil
}

// readErr turns an error of io.ReadFull on the frame at off into what the
// Reader reports: a premature end of file is corruption (a truncated file),
// anything else is the file system's error.
func (r *Reader) readErr(err error, off int64, truncated string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corrupt(r.path, off, "%s (the file is truncated)", truncated)
	}
	return fmt.Errorf("snapfile: read %s at offset %d: %w", r.path, off, err)
}

// Meta returns what the header says about the state in the snapshot.
func (r *Reader) Meta() Meta { return r.meta }

// Read returns verified payload bytes; see Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	for r.pos == len(r.buf) {
		if r.err != nil {
			return 0, r.err
		}
		if err := r.next(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.buf[r.pos:])
	r.pos += n
	return n, nil
}

// next reads and verifies the next frame: a block (whose payload becomes
// r.buf) or the trailer (after which it returns io.EOF).
func (r *Reader) next() error {
	start := r.off
	var head [blockHeadSize]byte
	n, err := io.ReadFull(r.f, head[:])
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return corrupt(r.path, start, "file ends after %d blocks without a trailer (the file is truncated)", r.blocks)
		}
		return r.readErr(err, start, fmt.Sprintf("file ends inside the frame header at offset %d", start))
	}
	length := binary.BigEndian.Uint32(head[:])
	if length == trailerMarker {
		return r.trailer(head[:])
	}
	switch {
	case length == 0:
		return corrupt(r.path, start, "block with zero length (zeroed data?)")
	case length > MaxBlockSize:
		return corrupt(r.path, start, "block length %d exceeds the maximum %d", length, MaxBlockSize)
	}
	if cap(r.buf) < int(length) {
		r.buf = make([]byte, length)
	}
	r.buf, r.pos = r.buf[:length], 0
	if _, err := io.ReadFull(r.f, r.buf); err != nil {
		r.buf = r.buf[:0]
		return r.readErr(err, start, fmt.Sprintf("file ends inside block %d of %d bytes at offset %d", r.blocks, length, start))
	}
	if blockCRC(head[:], r.buf) != binary.BigEndian.Uint32(head[4:]) {
		r.buf = r.buf[:0]
		return corrupt(r.path, start, "checksum mismatch in block %d (%d bytes)", r.blocks, length)
	}
	r.off += blockHeadSize + int64(length)
	r.blocks++
	r.length += uint64(length)
	r.crc = crc32.Update(r.crc, castagnoli, r.buf)
	return nil
}

// trailer verifies the trailer whose first 8 bytes are head, and that
// nothing follows it; it returns io.EOF when all is well.
func (r *Reader) trailer(head []byte) error {
	start := r.off
	b := make([]byte, trailerSize)
	copy(b, head)
	if _, err := io.ReadFull(r.f, b[blockHeadSize:]); err != nil {
		return r.readErr(err, start, fmt.Sprintf("file ends inside the trailer at offset %d", start))
	}
	t, reason := decodeTrailer(b)
	switch {
	case reason != "":
		return corrupt(r.path, start, "%s", reason)
	case t.zxid != r.meta.Zxid:
		return corrupt(r.path, start, "trailer says zxid %#x, header says %#x", t.zxid, r.meta.Zxid)
	case t.blocks != r.blocks:
		return corrupt(r.path, start, "trailer counts %d blocks, the file has %d", t.blocks, r.blocks)
	case t.length != r.length:
		return corrupt(r.path, start, "trailer counts %d payload bytes, the blocks hold %d", t.length, r.length)
	case t.crc != r.crc:
		return corrupt(r.path, start, "payload checksum mismatch (blocks reordered or replaced)")
	}
	end := start + trailerSize
	var extra [1]byte
	n, err := io.ReadFull(r.f, extra[:])
	switch {
	case n > 0:
		return corrupt(r.path, end, "unexpected bytes after the trailer")
	case !errors.Is(err, io.EOF):
		return fmt.Errorf("snapfile: read %s at offset %d: %w", r.path, end, err)
	}
	r.off = end
	return io.EOF
}

// Close closes the file. Closing twice returns nil.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.buf = nil
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("snapfile: close %s: %w", r.path, err)
	}
	return nil
}

// Verify reads the whole file and checks the header, every block and the
// trailer; it returns the header's Meta when all are sound.
func Verify(fsys vfs.FS, path string) (Meta, error) {
	r, err := Open(fsys, path)
	if err != nil {
		return Meta{}, err
	}
	_, err = io.Copy(io.Discard, r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Meta{}, err
	}
	return r.meta, nil
}
