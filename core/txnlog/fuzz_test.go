package txnlog

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/vfs"
)

// FuzzRecover writes arbitrary bytes as a segment file (after a valid
// header for zxid 1 when withHeader is set, and as the last segment after
// a valid one when afterValid is set) and opens the log. Open must never
// panic; it either returns a *CorruptionError or recovers a continuous
// prefix that reads back cleanly and that a second Open finds unchanged.
func FuzzRecover(f *testing.F) {
	// The seed corpus is in testdata/fuzz/FuzzRecover.
	opts := Options{SegmentSize: 1 << 20, PreallocSize: 4 << 10, MaxRecordSize: 64 << 10}
	f.Fuzz(func(t *testing.T, data []byte, withHeader, afterValid bool) {
		mem := vfs.NewMemFS()
		const dir = "data"
		require.NoError(t, mem.MkdirAll(dir, 0o755))
		write := func(name string, b []byte) {
			f, err := mem.Create(dir + "/" + name)
			require.NoError(t, err)
			_, err = f.Write(b)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}
		first := int64(1)
		if afterValid {
			b := encodeSegHeader(1)
			for z := int64(1); z <= 2; z++ {
				b = appendRecord(b, z, 0, rec(z).Payload)
			}
			write(SegmentName(1), b)
			first = 3
		}
		if withHeader {
			data = append(encodeSegHeader(first), data...)
		}
		write(SegmentName(first), data)

		l, err := Open(mem, dir, opts)
		if err != nil {
			var ce *CorruptionError
			require.True(t, errors.As(err, &ce), "Open failed with %v", err)
			return
		}
		got := fuzzRead(t, l)
		rep := l.Recovery()
		require.Equal(t, rep.Records, len(got))
		require.Equal(t, rep.LastZxid, l.LastZxid())
		require.NoError(t, l.Close())

		l2, err := Open(mem, dir, opts)
		require.NoError(t, err, "a recovered log opens again")
		require.Nil(t, l2.Recovery().Truncated, "recovery is idempotent")
		require.Equal(t, got, fuzzRead(t, l2))
		require.NoError(t, l2.Close())
	})
}

// fuzzRead reads every record (payloads are arbitrary bytes here) and
// checks continuity.
func fuzzRead(t *testing.T, l *Log) []int64 {
	it, err := l.ReadAll()
	require.NoError(t, err)
	defer it.Close()
	var out []int64
	for it.Next() {
		z := it.Record().Zxid
		if len(out) > 0 {
			require.True(t, IsNext(out[len(out)-1], z))
		}
		out = append(out, z)
	}
	require.NoError(t, it.Err())
	return out
}
