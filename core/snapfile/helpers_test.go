package snapfile

import (
	"errors"
	"io"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/vfs"
)

// payload returns n bytes from a fixed seed.
func payload(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// meta is a Meta for zxid with recognisable other fields.
func meta(zxid int64) Meta {
	return Meta{Zxid: zxid, Digest: uint64(zxid)*0x9e3779b97f4a7c15 + 1, Nodes: zxid%1000 + 7, Sessions: zxid % 13, Created: 1_700_000_000_000 + zxid}
}

// writeSnap writes and commits a snapshot with blocks of bsize bytes,
// feeding the payload in writes of varying sizes.
func writeSnap(t *testing.T, fsys vfs.FS, dir string, m Meta, data []byte, bsize int) Info {
	t.Helper()
	w, err := create(fsys, dir, m, bsize)
	require.NoError(t, err)
	for i, rest := 0, data; len(rest) > 0; i++ {
		k := min(len(rest), 1+(i*7919)%(3*bsize))
		n, err := w.Write(rest[:k])
		require.NoError(t, err)
		require.Equal(t, k, n)
		rest = rest[k:]
	}
	info, err := w.Commit()
	require.NoError(t, err)
	return info
}

// readAll opens path and reads the whole payload.
func readAll(fsys vfs.FS, path string) (Meta, []byte, error) {
	r, err := Open(fsys, path)
	if err != nil {
		return Meta{}, nil, err
	}
	data, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return r.Meta(), data, err
}

// frame is a byte range of a snapshot file: the header, a block or the
// trailer.
type frame struct{ start, end int64 }

// layout is where the frames of a file written with blocks of bsize bytes
// and a payload of n bytes lie.
func layout(bsize, n int) []frame {
	fr := []frame{{0, headerSize}}
	off := int64(headerSize)
	for rest := n; rest > 0; rest -= bsize {
		size := int64(blockHeadSize + min(rest, bsize))
		fr = append(fr, frame{off, off + size})
		off += size
	}
	return append(fr, frame{off, off + trailerSize})
}

// frameAt returns the frame holding byte off, or, past the end, an empty
// frame at the end.
func frameAt(fr []frame, off int64) frame {
	for _, f := range fr {
		if off >= f.start && off < f.end {
			return f
		}
	}
	end := fr[len(fr)-1].end
	return frame{end, end}
}

// requireCorrupt checks that err is a *CorruptionError for file at offset.
func requireCorrupt(t *testing.T, err error, file string, offset int64, msgAndArgs ...any) *CorruptionError {
	t.Helper()
	var ce *CorruptionError
	require.True(t, errors.As(err, &ce), append([]any{"want *CorruptionError, got %v"}, err)...)
	require.Equal(t, file, ce.File, msgAndArgs...)
	require.Equal(t, offset, ce.Offset, append(msgAndArgs, ce.Reason)...)
	return ce
}

// copyFile writes data to name on fsys.
func copyFile(t *testing.T, fsys vfs.FS, name string, data []byte) {
	t.Helper()
	f, err := fsys.Create(name)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
