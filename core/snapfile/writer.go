package snapfile

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/warrenhq/warren/internal/vfs"
)

// Writer writes one snapshot file. It buffers the payload and writes it in
// checksummed blocks of MaxBlockSize bytes to a temporary file; Commit
// makes it durable and visible under its final name. After a failed Write
// or Commit the temporary file is gone and every later call returns the
// same error. A Writer is not safe for concurrent use.
type Writer struct {
	fs    vfs.FS
	dir   string
	tmp   string // path of the temporary file
	final string // path of the committed file
	meta  Meta
	f     vfs.File

	buf    []byte // frame head, then up to bsize payload bytes
	bsize  int
	n      int    // payload bytes in buf
	blocks uint64 // blocks written
	length uint64 // payload bytes written in blocks
	crc    uint32 // CRC of the payload written in blocks
	size   int64  // bytes written to the file

	err  error // sticky failure
	done bool  // committed, aborted or failed
}

// Create starts writing a snapshot of the state at meta.Zxid into dir
// (created, and its parent fsynced, if missing), as a temporary file whose
// name ends in ".tmp"; nothing is visible under the final name,
// FileName(meta.Zxid), until Commit. A leftover temporary file of the same
// zxid (from a crash) is overwritten.
func Create(fsys vfs.FS, dir string, meta Meta) (*Writer, error) {
	return create(fsys, dir, meta, MaxBlockSize)
}

// create is Create with a block size (tests use small blocks to get many
// of them cheaply).
func create(fsys vfs.FS, dir string, meta Meta, bsize int) (*Writer, error) {
	if r := meta.check(); r != "" {
		return nil, fmt.Errorf("%w: %s", ErrInvalidMeta, r)
	}
	if bsize < 1 || bsize > MaxBlockSize {
		return nil, fmt.Errorf("snapfile: block size %d out of range [1, %d]", bsize, MaxBlockSize)
	}
	if err := ensureDir(fsys, dir); err != nil {
		return nil, err
	}
	w := &Writer{
		fs:    fsys,
		dir:   dir,
		tmp:   filepath.Join(dir, tmpName(meta.Zxid)),
		final: filepath.Join(dir, FileName(meta.Zxid)),
		meta:  meta,
		bsize: bsize,
	}
	f, err := fsys.OpenFile(w.tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("snapfile: create %s: %w", w.tmp, err)
	}
	w.f = f
	if err := w.write(encodeHeader(meta)); err != nil {
		return nil, w.fail(err)
	}
	w.buf = make([]byte, blockHeadSize, blockHeadSize+bsize)
	return w, nil
}

// ensureDir creates dir durably (vfs.EnsureDir).
func ensureDir(fsys vfs.FS, dir string) error {
	if err := vfs.EnsureDir(fsys, dir); err != nil {
		return fmt.Errorf("snapfile: %w", err)
	}
	return nil
}

// Meta returns the meta the snapshot is written with.
func (w *Writer) Meta() Meta { return w.meta }

// usable returns the error a call on a finished Writer gets.
func (w *Writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return ErrClosed
	}
	return nil
}

// Write buffers p as payload and writes every full block. On error
// (ENOSPC, EIO) the temporary file is removed and the snapshot abandoned;
// errors.Is(err, syscall.ENOSPC) holds for a full disk.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		k := min(len(p), w.bsize-w.n)
		w.buf = append(w.buf, p[:k]...)
		w.n += k
		p = p[k:]
		written += k
		if w.n == w.bsize {
			if err := w.flush(); err != nil {
				return written, w.fail(err)
			}
		}
	}
	return written, nil
}

// flush writes the buffered payload as one block.
func (w *Writer) flush() error {
	if w.n == 0 {
		return nil
	}
	payload := w.buf[blockHeadSize:]
	binary.BigEndian.PutUint32(w.buf, uint32(w.n))
	binary.BigEndian.PutUint32(w.buf[4:], blockCRC(w.buf, payload))
	if err := w.write(w.buf); err != nil {
		return err
	}
	w.blocks++
	w.length += uint64(w.n)
	w.crc = crc32.Update(w.crc, castagnoli, payload)
	w.buf = w.buf[:blockHeadSize]
	w.n = 0
	return nil
}

// write appends b to the temporary file.
func (w *Writer) write(b []byte) error {
	n, err := w.f.Write(b)
	w.size += int64(n)
	if err == nil && n < len(b) {
		err = fmt.Errorf("short write of %d of %d bytes", n, len(b))
	}
	if err != nil {
		return fmt.Errorf("snapfile: write %s: %w", w.tmp, err)
	}
	return nil
}

// fail abandons the snapshot after err: the file is closed and removed,
// and err becomes sticky.
func (w *Writer) fail(err error) error {
	w.err = err
	w.done = true
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	// Best effort: if the name stays (the remove fails, or a crash undoes
	// it), Purge removes it later and List never reports it.
	w.fs.Remove(w.tmp)
	return err
}

// Sync makes what was written so far reach the disk, without finishing
// the snapshot. A writer of a large snapshot calls it every few megabytes,
// so the file's dirty pages are written back a little at a time instead of
// in one burst at Commit that would stall the write-ahead log's fsyncs
// (which share the disk and, on most file systems, the journal).
func (w *Writer) Sync() error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return w.fail(fmt.Errorf("snapfile: fsync %s: %w", w.tmp, err))
	}
	return nil
}

// Size is the number of bytes written to the file so far.
func (w *Writer) Size() int64 { return w.size }

// Commit writes the last block and the trailer, fsyncs and closes the
// file, renames it to FileName(zxid) and fsyncs the directory. Only after
// Commit returns without error is the snapshot durable. On error nothing
// new is left under either name (except what a crash may leave, which
// List, Open and Purge handle), and older snapshots are untouched.
func (w *Writer) Commit() (Info, error) {
	if err := w.usable(); err != nil {
		return Info{}, err
	}
	if err := w.flush(); err != nil {
		return Info{}, w.fail(err)
	}
	t := encodeTrailer(trailer{blocks: w.blocks, length: w.length, crc: w.crc, zxid: w.meta.Zxid})
	if err := w.write(t); err != nil {
		return Info{}, w.fail(err)
	}
	if err := w.f.Sync(); err != nil {
		return Info{}, w.fail(fmt.Errorf("snapfile: fsync %s: %w", w.tmp, err))
	}
	f := w.f
	w.f = nil
	if err := f.Close(); err != nil {
		return Info{}, w.fail(fmt.Errorf("snapfile: close %s: %w", w.tmp, err))
	}
	if err := w.fs.Rename(w.tmp, w.final); err != nil {
		return Info{}, w.fail(fmt.Errorf("snapfile: rename %s to %s: %w", w.tmp, w.final, err))
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		// The snapshot is complete but its name may not be durable; take
		// it back so that an error always means "no new snapshot".
		err = fmt.Errorf("snapfile: fsync %s: %w", w.dir, err)
		w.err, w.done = err, true
		w.fs.Remove(w.final)
		return Info{}, err
	}
	w.done = true
	return Info{Path: w.final, Zxid: w.meta.Zxid, Size: w.size}, nil
}

// Abort closes and removes the temporary file. It returns nil, doing
// nothing, after Commit or a failed Write or Commit, so it can be
// deferred.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.err = ErrClosed
	var err error
	if cerr := w.f.Close(); cerr != nil {
		err = fmt.Errorf("snapfile: close %s: %w", w.tmp, cerr)
	}
	w.f = nil
	if rerr := w.fs.Remove(w.tmp); rerr != nil && err == nil {
		err = fmt.Errorf("snapfile: remove %s: %w", w.tmp, rerr)
	}
	return err
}
