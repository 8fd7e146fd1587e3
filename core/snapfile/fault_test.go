package snapfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/vfs"
)

// damaged is a committed snapshot to corrupt: its payload, block size and
// frame layout.
type damaged struct {
	name  string
	data  []byte
	bsize int
	fr    []frame
}

func damageCases() []damaged {
	var out []damaged
	for _, c := range []struct {
		name     string
		n, bsize int
	}{
		{"empty payload", 0, MaxBlockSize},
		{"small blocks", 3000, 512},
		{"multi-block", 2<<20 + 777, MaxBlockSize},
	} {
		out = append(out, damaged{name: c.name, data: payload(int64(c.n), c.n), bsize: c.bsize, fr: layout(c.bsize, c.n)})
	}
	return out
}

// offsets picks the bytes to damage in a file: every byte of a small
// file; in a large one every byte of the header, of each block's frame
// header and of the trailer, and a few payload bytes of each block.
func (d damaged) offsets() []int64 {
	size := d.fr[len(d.fr)-1].end
	if size <= 8<<10 {
		out := make([]int64, size)
		for i := range out {
			out[i] = int64(i)
		}
		return out
	}
	var out []int64
	for i, f := range d.fr {
		switch {
		case i == 0 || i == len(d.fr)-1:
			for o := f.start; o < f.end; o++ {
				out = append(out, o)
			}
		default:
			for o := f.start; o < f.start+blockHeadSize; o++ {
				out = append(out, o)
			}
			for _, o := range []int64{f.start + blockHeadSize, (f.start + f.end) / 2, f.end - 1} {
				out = append(out, o)
			}
		}
	}
	return out
}

// checkDamage reads a damaged file both with Open+ReadAll and with Verify
// (also through short reads) and requires a *CorruptionError at want,
// never data beyond a prefix of the true payload.
func checkDamage(t *testing.T, fsys vfs.FS, path string, data []byte, want int64, what string) {
	t.Helper()
	_, got, err := readAll(fsys, path)
	ce := requireCorrupt(t, err, path, want, what)
	require.True(t, bytes.HasPrefix(data, got), "%s: returned bytes that are not the payload", what)
	_, err = Verify(fsys, path)
	ce2 := requireCorrupt(t, err, path, want, what)
	require.Equal(t, ce.Reason, ce2.Reason)
}

// TestFlipBit flips one bit at many offsets of committed files (header,
// block headers, payload, trailer): every flip is detected, reported in
// the frame that holds it.
func TestFlipBit(t *testing.T) {
	for _, d := range damageCases() {
		t.Run(d.name, func(t *testing.T) {
			mem := vfs.NewMemFS()
			info := writeSnap(t, mem, "snap", meta(0x100000007), d.data, d.bsize)
			short := vfs.NewFaultFS(mem)
			short.SetShortReads(5)
			offs := d.offsets()
			for i, off := range offs {
				bit := uint(off+int64(i)) % 8
				require.NoError(t, vfs.FlipBit(mem, info.Path, off, bit))
				what := fmt.Sprintf("bit %d of byte %d", bit, off)
				want := frameAt(d.fr, off).start
				checkDamage(t, mem, info.Path, d.data, want, what)
				if i%5 == 0 {
					checkDamage(t, short, info.Path, d.data, want, what+" (short reads)")
				}
				require.NoError(t, vfs.FlipBit(mem, info.Path, off, bit))
			}
			_, err := Verify(mem, info.Path)
			require.NoError(t, err, "restored")
			t.Logf("%d flips", len(offs))
		})
	}
}

// TestZeroRange zeroes each 4 KiB block of committed files in turn (as a
// lost disk block does): detected, in the first frame the range touches.
func TestZeroRange(t *testing.T) {
	for _, d := range damageCases() {
		t.Run(d.name, func(t *testing.T) {
			mem := vfs.NewMemFS()
			info := writeSnap(t, mem, "snap", meta(0x100000007), d.data, d.bsize)
			orig, err := vfs.ReadFile(mem, info.Path)
			require.NoError(t, err)
			size := int64(len(orig))
			step := int64(1)
			if size > 64<<10 {
				step = 5 // every fifth block of a large file
			}
			n := 0
			for k := int64(0); k*4096 < size; k += step {
				start, end := k*4096, min((k+1)*4096, size)
				require.NoError(t, vfs.ZeroRange(mem, info.Path, start, end-start))
				checkDamage(t, mem, info.Path, d.data, frameAt(d.fr, start).start, fmt.Sprintf("zeroed [%d,%d)", start, end))
				copyFile(t, mem, info.Path, orig)
				n++
			}
			// Unaligned ranges that start inside a frame.
			for _, f := range d.fr {
				start := f.start + (f.end-f.start)/3
				end := min(start+4096, size)
				require.NoError(t, vfs.ZeroRange(mem, info.Path, start, end-start))
				checkDamage(t, mem, info.Path, d.data, f.start, fmt.Sprintf("zeroed [%d,%d)", start, end))
				copyFile(t, mem, info.Path, orig)
				n++
			}
			t.Logf("%d zeroed ranges", n)
		})
	}
}

// TestTruncated cuts committed files at many lengths: a truncated file is
// never read as complete; the error points at the frame that is cut.
func TestTruncated(t *testing.T) {
	for _, d := range damageCases() {
		t.Run(d.name, func(t *testing.T) {
			mem := vfs.NewMemFS()
			info := writeSnap(t, mem, "snap", meta(0x100000007), d.data, d.bsize)
			orig, err := vfs.ReadFile(mem, info.Path)
			require.NoError(t, err)
			lengths := d.offsets() // every cut of a small file, cuts at and around every frame of a large one
			for _, f := range d.fr {
				lengths = append(lengths, f.start, f.end-1)
			}
			for _, n := range lengths {
				copyFile(t, mem, info.Path, orig[:n])
				checkDamage(t, mem, info.Path, d.data, frameAt(d.fr, n).start, fmt.Sprintf("cut at %d", n))
			}
		})
	}
}

// TestShortReads: reads cut short by the file system give the same result,
// for a sound file and for a damaged one.
func TestShortReads(t *testing.T) {
	mem := vfs.NewMemFS()
	data := payload(9, 700<<10)
	info := writeSnap(t, mem, "snap", meta(3), data, MaxBlockSize)
	for _, n := range []int{1, 3, 7, 8, 1000, 4096} {
		ffs := vfs.NewFaultFS(mem)
		ffs.SetShortReads(n)
		m, got, err := readAll(ffs, info.Path)
		require.NoError(t, err, "short reads of %d", n)
		assert.Equal(t, meta(3), m)
		assert.True(t, bytes.Equal(data, got), "short reads of %d", n)
	}
	fr := layout(MaxBlockSize, len(data))
	require.NoError(t, vfs.FlipBit(mem, info.Path, fr[2].start+100, 3))
	_, _, want := readAll(mem, info.Path)
	requireCorrupt(t, want, info.Path, fr[2].start)
	for _, n := range []int{1, 7, 4096} {
		ffs := vfs.NewFaultFS(mem)
		ffs.SetShortReads(n)
		_, got, err := readAll(ffs, info.Path)
		assert.Equal(t, want.Error(), err.Error())
		assert.Len(t, got, MaxBlockSize, "only the first block was returned")
	}
}

// TestReadEIO: a failing read (a bad block) comes back as the file
// system's EIO, wrapped, never as corruption.
func TestReadEIO(t *testing.T) {
	mem := vfs.NewMemFS()
	data := payload(4, 3*MaxBlockSize/2)
	info := writeSnap(t, mem, "snap", meta(4), data, MaxBlockSize)
	fr := layout(MaxBlockSize, len(data))
	size := fr[len(fr)-1].end
	for _, tc := range []struct {
		name string
		off  int64
	}{
		{"header", 10},
		{"first block header", fr[1].start},
		{"first block payload", fr[1].start + 5000},
		{"second block header", fr[2].start + 4},
		{"last payload byte", fr[2].end - 1},
		{"trailer", fr[3].start + 20},
		{"last byte", size - 1},
		{"past the end", size},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ffs := vfs.NewFaultFS(mem)
			ffs.FailReads(info.Path, tc.off, 1)
			for _, read := range []func() error{
				func() error { _, _, err := readAll(ffs, info.Path); return err },
				func() error { _, err := Verify(ffs, info.Path); return err },
			} {
				err := read()
				require.Error(t, err)
				assert.ErrorIs(t, err, syscall.EIO)
				var ce *CorruptionError
				assert.False(t, errors.As(err, &ce), "EIO reported as corruption: %v", err)
				assert.Contains(t, err.Error(), info.Path)
			}
		})
	}
}

// TestDiskFull: ENOSPC at every stage of writing a snapshot (header,
// blocks, trailer) fails the write recognisably, leaves no temporary file
// behind and gives its space back, and leaves the older snapshot intact;
// once space returns, a snapshot can be written.
func TestDiskFull(t *testing.T) {
	const bsize = 512
	data := payload(5, 3000)
	size := layout(bsize, len(data))[len(layout(bsize, len(data)))-1].end
	for _, free := range []int64{0, 1, headerSize - 1, headerSize, headerSize + 100, 1500, size - trailerSize, size - 1, size} {
		t.Run(fmt.Sprint(free), func(t *testing.T) {
			mem := vfs.NewMemFS()
			old := writeSnap(t, mem, "snap", meta(1), payload(1, 2000), bsize)
			ffs := vfs.NewFaultFS(mem)
			ffs.SetFree(free)

			err := func() error {
				w, err := create(ffs, "snap", meta(2), bsize)
				if err != nil {
					return err
				}
				defer w.Abort()
				if _, err := w.Write(data); err != nil {
					_, cerr := w.Commit()
					assert.Equal(t, err, cerr, "the failure is sticky")
					return err
				}
				_, err = w.Commit()
				return err
			}()
			names, rerr := mem.ReadDir("snap")
			require.NoError(t, rerr)
			if free >= size {
				require.NoError(t, err)
				assert.Equal(t, []string{FileName(1), FileName(2)}, names)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, syscall.ENOSPC)
			assert.Equal(t, []string{FileName(1)}, names, "no temporary file left")
			assert.Equal(t, free, ffs.Free(), "the space is given back")
			m, err := Verify(ffs, old.Path)
			require.NoError(t, err)
			assert.Equal(t, meta(1), m)

			ffs.SetFree(-1)
			info := writeSnap(t, ffs, "snap", meta(2), data, bsize)
			_, got, err := readAll(ffs, info.Path)
			require.NoError(t, err)
			assert.Equal(t, data, got)
		})
	}
}

// TestFsyncFailure: a failed fsync of the file or the directory fails
// Commit and leaves no new snapshot and no temporary file.
func TestFsyncFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		arm  func(*vfs.FaultFS)
	}{
		{"file", func(f *vfs.FaultFS) { f.FailSync(1) }},
		{"dir", func(f *vfs.FaultFS) { f.FailSyncDir(1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewMemFS()
			old := writeSnap(t, mem, "snap", meta(1), payload(1, 100), 64)
			ffs := vfs.NewFaultFS(mem)
			w, err := Create(ffs, "snap", meta(2))
			require.NoError(t, err)
			_, err = w.Write(payload(2, 1000))
			require.NoError(t, err)
			tc.arm(ffs)
			_, err = w.Commit()
			assert.ErrorIs(t, err, syscall.EIO)
			_, err2 := w.Commit()
			assert.Equal(t, err, err2, "sticky")
			assert.NoError(t, w.Abort())

			names, err := mem.ReadDir("snap")
			require.NoError(t, err)
			assert.Equal(t, []string{FileName(1)}, names)
			_, err = Verify(mem, old.Path)
			require.NoError(t, err)
		})
	}
	t.Run("new directory", func(t *testing.T) {
		ffs := vfs.NewFaultFS(vfs.NewMemFS())
		ffs.FailSyncDir(1)
		_, err := Create(ffs, "a/snap", meta(1))
		assert.ErrorIs(t, err, syscall.EIO)
		_, err = ffs.Stat("a/snap/" + tmpName(1))
		assert.ErrorIs(t, err, fs.ErrNotExist)
	})
}
