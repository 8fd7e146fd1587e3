package snapfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/vfs"
)

// FuzzOpen writes arbitrary bytes as a file and reads it as a snapshot.
// It must never panic, and an invalid file must never read as complete:
// either Open or Read fails with a *CorruptionError (a MemFS has no I/O
// errors), or the file is sound, and then Verify agrees, reading through
// short reads gives the same bytes, and flipping any one of a spread of
// bits or cutting the file anywhere makes it fail.
func FuzzOpen(f *testing.F) {
	// The seed corpus is in testdata/fuzz/FuzzOpen: sound files (empty
	// payload, one block, several small blocks) and damaged ones.
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := vfs.NewMemFS()
		const path = "snap.bin"
		copyFile(t, mem, path, data)
		m, got, err := readAll(mem, path)
		if err != nil {
			var ce *CorruptionError
			require.True(t, errors.As(err, &ce), "not a CorruptionError: %v", err)
			require.Equal(t, path, ce.File)
			require.True(t, ce.Offset >= 0 && ce.Offset <= int64(len(data)), "offset %d outside the file", ce.Offset)
			return
		}
		require.True(t, len(got) < len(data), "payload larger than the file")
		vm, err := Verify(mem, path)
		require.NoError(t, err)
		require.Equal(t, m, vm)

		short := vfs.NewFaultFS(mem)
		short.SetShortReads(3)
		_, got2, err := readAll(short, path)
		require.NoError(t, err)
		require.True(t, bytes.Equal(got, got2))

		bad := func(b []byte) bool {
			copyFile(t, mem, path, b)
			r, err := Open(mem, path)
			if err == nil {
				_, err = io.Copy(io.Discard, r)
				r.Close()
			}
			var ce *CorruptionError
			return errors.As(err, &ce)
		}
		step := max(1, len(data)/64)
		for off := 0; off < len(data); off += step {
			b := bytes.Clone(data)
			b[off] ^= 1 << (off % 8)
			require.True(t, bad(b), "flipping a bit of byte %d goes unnoticed", off)
			require.True(t, bad(data[:off]), "cutting at %d goes unnoticed", off)
		}
		require.True(t, bad(append(bytes.Clone(data), 0)), "a byte after the trailer goes unnoticed")
	})
}

// TestFuzzSeedsSound keeps the seed corpus meaningful: its valid_* files
// are sound snapshots (so the fuzzer starts from the success path) and the
// others are not.
func TestFuzzSeedsSound(t *testing.T) {
	dir := "testdata/fuzz/FuzzOpen"
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, names)
	valid := 0
	for _, e := range names {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		text := strings.TrimSpace(strings.TrimPrefix(string(raw), "go test fuzz v1\n"))
		lit, ok := strings.CutPrefix(text, "[]byte(")
		require.True(t, ok, e.Name())
		s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		require.NoError(t, err, e.Name())
		mem := vfs.NewMemFS()
		copyFile(t, mem, "f", []byte(s))
		_, err = Verify(mem, "f")
		if strings.HasPrefix(e.Name(), "valid_") {
			require.NoError(t, err, e.Name())
			valid++
		} else {
			var ce *CorruptionError
			require.True(t, errors.As(err, &ce), "%s: %v", e.Name(), err)
		}
	}
	require.GreaterOrEqual(t, valid, 3)
}
