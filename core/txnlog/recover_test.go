package txnlog

import (
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/vfs"
)

// recordSpans parses a segment file and returns each record's [start, end).
func recordSpans(t testing.TB, path string) map[int64][2]int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[int64][2]int64{}
	for off := int64(segHeaderSize); off+recHeaderSize <= int64(len(b)); {
		h := parseRecHead(b[off:])
		if h.length == 0 {
			break
		}
		out[h.zxid] = [2]int64{off, off + h.size()}
		off += h.size()
	}
	return out
}

// writeSegment writes a hand-made segment: a header for first and records
// with the given zxids and durable stamps.
func writeSegment(t testing.TB, dir string, first int64, zs []int64, durable []int64) string {
	t.Helper()
	b := encodeSegHeader(first)
	for i, z := range zs {
		b = appendRecord(b, z, durable[i], rec(z).Payload)
	}
	p := filepath.Join(dir, SegmentName(first))
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func mutate(t testing.TB, path string, fn func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, fn(b), 0o644))
}

func flip(off int64) func([]byte) []byte {
	return func(b []byte) []byte { b[off] ^= 0x10; return b }
}

// TestTornTailEveryOffset cuts the last record at every byte offset, with
// the rest of the file zeros (preallocated), garbage, or missing, and flips
// every byte of it: Open always keeps the records before it, reports the
// cut at the record's start, and the log takes the record again.
func TestTornTailEveryOffset(t *testing.T) {
	opts := Options{SegmentSize: 1 << 20, PreallocSize: 8 << 10}
	base := t.TempDir()
	l := openLog(t, vfs.OS, base, opts)
	appendSync(t, l, zxids(1, 1, 5), zxids(1, 6, 4), zxids(1, 10, 1))
	require.NoError(t, l.Close())
	segs := segFiles(t, base)
	require.Len(t, segs, 1)
	span := recordSpans(t, filepath.Join(base, segs[0]))[MakeZxid(1, 10)]
	start, end := span[0], span[1]

	type variant struct {
		name  string
		apply func(b []byte, c int64) []byte
	}
	variants := []variant{
		{"zeros", func(b []byte, c int64) []byte {
			for i := c; i < end; i++ {
				b[i] = 0
			}
			return b
		}},
		{"garbage", func(b []byte, c int64) []byte {
			for i := c; i < int64(len(b)); i++ {
				b[i] = byte(0xA5 ^ i)
			}
			return b
		}},
		{"short file", func(b []byte, c int64) []byte { return b[:c] }},
		{"bit flip", func(b []byte, c int64) []byte { b[c] ^= 0x01; return b }},
	}
	for _, v := range variants {
		for c := start; c < end; c++ {
			dir := copyDir(t, base)
			p := filepath.Join(dir, segs[0])
			// When what is left of the record is all zeros (the first bytes
			// of a big-endian length are zero), the file is byte for byte a
			// clean end: nothing to report.
			clean := false
			mutate(t, p, func(b []byte) []byte {
				b = v.apply(b, c)
				clean = allZero(b[start:min(end, int64(len(b)))])
				return b
			})
			l, err := Open(vfs.OS, dir, opts)
			require.NoError(t, err, "%s at %d", v.name, c)
			rep := l.Recovery()
			if clean {
				assert.Nil(t, rep.Truncated, "%s at %d", v.name, c)
			} else if assert.NotNil(t, rep.Truncated, "%s at %d", v.name, c) {
				assert.Equal(t, p, rep.Truncated.File)
				assert.Contains(t, rep.Truncated.String(), p)
				assert.Equal(t, start, rep.Truncated.Offset, "%s at %d", v.name, c)
				assert.False(t, rep.Truncated.FileRemoved)
			}
			require.Equal(t, MakeZxid(1, 9), l.LastZxid(), "%s at %d", v.name, c)
			require.Equal(t, zxids(1, 1, 9), readAll(t, l))
			appendSync(t, l, zxids(1, 10, 2))
			require.NoError(t, l.Close())
			l2, err := Open(vfs.OS, dir, opts)
			require.NoError(t, err)
			require.Nil(t, l2.Recovery().Truncated)
			require.Equal(t, zxids(1, 1, 11), readAll(t, l2))
			require.NoError(t, l2.Close())
		}
	}
}

// TestRecoveryCases is the table of damage Open must classify: a torn tail
// is cut and reported; everything else is a *CorruptionError naming the
// file and offset.
func TestRecoveryCases(t *testing.T) {
	seg := func(n int) func(dir string) string { // the n-th segment's path
		return func(dir string) string { return filepath.Join(dir, segFiles(t, dir)[n]) }
	}
	lastSeg := func(dir string) string { s := segFiles(t, dir); return filepath.Join(dir, s[len(s)-1]) }
	// standard: batches of 10 records in small segments (several segments).
	standard := func(t *testing.T, dir string) {
		l := openLog(t, vfs.OS, dir, smallOpts())
		for i := 0; i < 12; i++ {
			appendSync(t, l, zxids(1, int64(i*10+1), 10))
		}
		require.NoError(t, l.Close())
	}
	type want struct {
		corrupt    bool
		file       func(dir string) string
		offset     func(dir string) int64 // nil: not checked
		torn       bool
		dropped    int
		removed    bool
		last       int64
		reasonPart string
	}
	cases := []struct {
		name   string
		build  func(t *testing.T, dir string)
		damage func(t *testing.T, dir string)
		want   want
	}{
		{
			name:   "clean log",
			build:  standard,
			damage: func(*testing.T, string) {},
			want:   want{last: MakeZxid(1, 120)},
		},
		{
			name: "zero-filled preallocation tail",
			build: func(t *testing.T, dir string) {
				l := openLog(t, vfs.OS, dir, Options{PreallocSize: 64 << 10})
				appendSync(t, l, zxids(2, 1, 30))
				require.NoError(t, l.Close())
			},
			damage: func(t *testing.T, dir string) {
				st, err := os.Stat(lastSeg(dir))
				require.NoError(t, err)
				require.EqualValues(t, 64<<10, st.Size(), "the segment is preallocated")
			},
			want: want{last: MakeZxid(2, 30)},
		},
		{
			name:  "bit flip in a middle record of the last segment",
			build: standard,
			damage: func(t *testing.T, dir string) {
				p := lastSeg(dir)
				spans := recordSpans(t, p)
				first, _ := parseSegmentName(filepath.Base(p))
				mutate(t, p, flip(spans[first+1][0]+30))
			},
			want: want{corrupt: true, file: lastSeg, offset: func(dir string) int64 {
				p := lastSeg(dir)
				first, _ := parseSegmentName(filepath.Base(p))
				return recordSpans(t, p)[first+1][0]
			}, reasonPart: "checksum"},
		},
		{
			name:  "bit flip in a record of a middle segment",
			build: standard,
			damage: func(t *testing.T, dir string) {
				p := seg(1)(dir)
				first, _ := parseSegmentName(filepath.Base(p))
				mutate(t, p, flip(recordSpans(t, p)[first+2][0]+40))
			},
			want: want{corrupt: true, file: seg(1), offset: func(dir string) int64 {
				p := seg(1)(dir)
				first, _ := parseSegmentName(filepath.Base(p))
				return recordSpans(t, p)[first+2][0]
			}, reasonPart: "not the last"},
		},
		{
			name:  "missing middle segment",
			build: standard,
			damage: func(t *testing.T, dir string) {
				require.NoError(t, os.Remove(seg(1)(dir)))
			},
			want: want{corrupt: true, file: seg(1), offset: func(string) int64 { return 0 }, reasonPart: "zxid gap"},
		},
		{
			name:  "header corruption in a middle segment",
			build: standard,
			damage: func(t *testing.T, dir string) {
				mutate(t, seg(1)(dir), flip(9))
			},
			want: want{corrupt: true, file: seg(1), offset: func(string) int64 { return 0 }, reasonPart: "header"},
		},
		{
			name:  "header corruption in the last segment with records",
			build: standard,
			damage: func(t *testing.T, dir string) {
				mutate(t, lastSeg(dir), flip(2))
			},
			want: want{corrupt: true, file: lastSeg, offset: func(string) int64 { return 0 }, reasonPart: "intact record"},
		},
		{
			name: "torn header of a new last segment",
			build: func(t *testing.T, dir string) {
				standard(t, dir)
				require.NoError(t, os.WriteFile(filepath.Join(dir, SegmentName(MakeZxid(1, 121))), []byte("WTX"), 0o644))
			},
			damage: func(*testing.T, string) {},
			want:   want{torn: true, removed: true, last: MakeZxid(1, 120)},
		},
		{
			name: "empty last segment",
			build: func(t *testing.T, dir string) {
				standard(t, dir)
				writeSegment(t, dir, MakeZxid(2, 1), nil, nil)
			},
			damage: func(*testing.T, string) {},
			want:   want{torn: true, removed: true, last: MakeZxid(1, 120)},
		},
		{
			name:  "segment renamed",
			build: standard,
			damage: func(t *testing.T, dir string) {
				p := seg(1)(dir)
				first, _ := parseSegmentName(filepath.Base(p))
				require.NoError(t, os.Rename(p, filepath.Join(dir, SegmentName(first+1))))
			},
			want: want{corrupt: true, file: seg(1), offset: func(string) int64 { return 0 }, reasonPart: "file name says"},
		},
		{
			name: "zxid gap inside a segment",
			build: func(t *testing.T, dir string) {
				writeSegment(t, dir, 1, []int64{1, 2, 4, 5}, []int64{0, 0, 2, 2})
			},
			damage: func(*testing.T, string) {},
			want: want{corrupt: true, file: seg(0), offset: func(dir string) int64 {
				return recordSpans(t, seg(0)(dir))[4][0]
			}, reasonPart: "does not follow"},
		},
		{
			name: "new epoch not starting at counter 1",
			build: func(t *testing.T, dir string) {
				writeSegment(t, dir, 1, []int64{1, 2, MakeZxid(2, 2)}, []int64{0, 0, 0})
			},
			damage: func(*testing.T, string) {},
			want:   want{corrupt: true, file: seg(0), reasonPart: "does not follow"},
		},
		{
			name: "zxid gap between segments",
			build: func(t *testing.T, dir string) {
				writeSegment(t, dir, 1, []int64{1, 2, 3}, []int64{0, 0, 0})
				writeSegment(t, dir, 5, []int64{5, 6}, []int64{3, 3})
			},
			damage: func(*testing.T, string) {},
			want:   want{corrupt: true, file: seg(1), offset: func(string) int64 { return 0 }, reasonPart: "zxid gap"},
		},
		{
			name: "epochs jump across segments",
			build: func(t *testing.T, dir string) {
				writeSegment(t, dir, 1, []int64{1, 2, 3}, []int64{0, 0, 0})
				writeSegment(t, dir, MakeZxid(4, 1), []int64{MakeZxid(4, 1), MakeZxid(4, 2)}, []int64{3, 3})
			},
			damage: func(*testing.T, string) {},
			want:   want{last: MakeZxid(4, 2)},
		},
		{
			name: "zeroed block followed by records written after it was durable",
			build: func(t *testing.T, dir string) {
				writeSegment(t, dir, 1, []int64{1, 2, 3, 4, 5, 6}, []int64{0, 0, 0, 3, 3, 5})
			},
			damage: func(t *testing.T, dir string) {
				p := seg(0)(dir)
				s := recordSpans(t, p)[3]
				mutate(t, p, func(b []byte) []byte {
					for i := s[0]; i < s[1]; i++ {
						b[i] = 0
					}
					return b
				})
			},
			want: want{corrupt: true, file: seg(0), offset: func(string) int64 {
				return segHeaderSize + 2*int64(recHeaderSize+len(rec(1).Payload))
			}, reasonPart: "durable"},
		},
		{
			name: "damaged record in the last unsynced batch with intact records after it",
			build: func(t *testing.T, dir string) {
				// 1-3 synced; 4-7 written in one batch (stamped 3) that a
				// crash tore in the middle.
				writeSegment(t, dir, 1, []int64{1, 2, 3, 4, 5, 6, 7}, []int64{0, 0, 0, 3, 3, 3, 3})
			},
			damage: func(t *testing.T, dir string) {
				p := seg(0)(dir)
				s := recordSpans(t, p)[5]
				mutate(t, p, func(b []byte) []byte {
					for i := s[0]; i < s[1]; i++ {
						b[i] = 0
					}
					return b
				})
			},
			want: want{torn: true, dropped: 2, last: 4},
		},
		{
			name: "record claiming its own durability",
			build: func(t *testing.T, dir string) {
				writeSegment(t, dir, 1, []int64{1, 2}, []int64{0, 2})
			},
			damage: func(*testing.T, string) {},
			want:   want{corrupt: true, file: seg(0), reasonPart: "claims durability"},
		},
		{
			name:  "garbage after the end of a middle segment",
			build: standard,
			damage: func(t *testing.T, dir string) {
				mutate(t, seg(0)(dir), func(b []byte) []byte { return append(b, 0, 0, 0, 0, 1, 2, 3) })
			},
			want: want{corrupt: true, file: seg(0), reasonPart: "non-zero bytes"},
		},
		{
			name:  "junk instead of preallocated zeros after the last record",
			build: standard,
			damage: func(t *testing.T, dir string) {
				rng := rand.New(rand.NewSource(7))
				junk := make([]byte, 2<<20)
				rng.Read(junk)
				mutate(t, lastSeg(dir), func(b []byte) []byte { return append(b, junk...) })
			},
			want: want{torn: true, last: MakeZxid(1, 120)},
		},
		{
			name: "file name with counter 0",
			build: func(t *testing.T, dir string) {
				writeSegment(t, dir, MakeZxid(1, 0), nil, nil)
			},
			damage: func(*testing.T, string) {},
			want:   want{corrupt: true, file: seg(0), reasonPart: "impossible zxid"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.build(t, dir)
			tc.damage(t, dir)
			var file string
			if tc.want.file != nil {
				file = tc.want.file(dir)
			}
			var offset int64 = -1
			if tc.want.offset != nil {
				offset = tc.want.offset(dir)
			}
			l, err := Open(vfs.OS, dir, smallOpts())
			if tc.want.corrupt {
				var ce *CorruptionError
				require.True(t, errors.As(err, &ce), "want a CorruptionError, got %v", err)
				assert.Equal(t, file, ce.File)
				if offset >= 0 {
					assert.Equal(t, offset, ce.Offset)
				}
				assert.Contains(t, ce.Reason, tc.want.reasonPart)
				assert.Contains(t, ce.Error(), "restore")
				assert.Contains(t, ce.Error(), file)
				return
			}
			require.NoError(t, err)
			defer l.Close()
			rep := l.Recovery()
			if tc.want.torn {
				require.NotNil(t, rep.Truncated)
				assert.Equal(t, tc.want.dropped, rep.Truncated.DroppedRecords)
				assert.Equal(t, tc.want.removed, rep.Truncated.FileRemoved)
			} else {
				assert.Nil(t, rep.Truncated)
			}
			assert.Equal(t, tc.want.last, l.LastZxid())
			assert.Equal(t, tc.want.last, rep.LastZxid)
			got := readAll(t, l)
			require.NotEmpty(t, got)
			assert.Equal(t, tc.want.last, got[len(got)-1])
			// A recovered log takes the next record and opens cleanly again.
			next := tc.want.last + 1
			appendSync(t, l, []int64{next})
			require.NoError(t, l.Close())
			l2, err := Open(vfs.OS, dir, smallOpts())
			require.NoError(t, err)
			assert.Nil(t, l2.Recovery().Truncated)
			assert.Equal(t, next, l2.LastZxid())
			require.NoError(t, l2.Close())
		})
	}
}

// TestScanLostBounded: bytes crafted so that every offset looks like the
// header of a huge record cost a bounded amount of checksumming and are
// reported as undecided (refused as corruption) instead of hanging Open.
func TestScanLostBounded(t *testing.T) {
	b := make([]byte, 4<<20)
	for p := 0; p+recHeaderSize <= len(b); p += 4 {
		// length so that the record runs to the end; zxid 5, durable 1.
		binary.BigEndian.PutUint32(b[p:], uint32(len(b)-p-8))
		binary.BigEndian.PutUint64(b[p+8:], 5)
		binary.BigEndian.PutUint64(b[p+16:], 1)
	}
	ev := scanLost(b, 4, 5)
	assert.True(t, ev.undecided)
	assert.True(t, ev.found)

	// The same filters let real records through.
	rec := appendRecord(nil, 9, 3, []byte("payload"))
	ev = scanLost(append(make([]byte, 100), rec...), 4, 5)
	assert.False(t, ev.found)
	assert.Equal(t, 1, ev.intact)
	ev = scanLost(append(make([]byte, 100), rec...), 4, 3)
	assert.True(t, ev.found)
	assert.False(t, ev.undecided)
	assert.Equal(t, 100, ev.off)
	assert.Equal(t, int64(9), ev.zxid)
}

// TestReadOnly: inspecting a log with a torn tail reports it and leaves
// every byte in place; writes are refused.
func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, vfs.OS, dir, smallOpts())
	appendSync(t, l, zxids(1, 1, 50))
	require.NoError(t, l.Close())
	last := filepath.Join(dir, segFiles(t, dir)[len(segFiles(t, dir))-1])
	cut := recordSpans(t, last)[MakeZxid(1, 50)][0] + 10
	mutate(t, last, func(b []byte) []byte { return b[:cut] })
	before, err := os.ReadFile(last)
	require.NoError(t, err)

	ro, err := Open(vfs.OS, dir, Options{SegmentSize: smallOpts().SegmentSize, ReadOnly: true})
	require.NoError(t, err)
	rep := ro.Recovery()
	require.NotNil(t, rep.Truncated)
	assert.Equal(t, last, rep.Truncated.File)
	assert.Equal(t, MakeZxid(1, 49), ro.LastZxid())
	assert.Equal(t, zxids(1, 1, 49), readAll(t, ro))
	assert.ErrorIs(t, ro.Append(recs(zxids(1, 50, 1))), ErrReadOnly)
	assert.ErrorIs(t, ro.Sync(), ErrReadOnly)
	assert.ErrorIs(t, ro.TruncateAfter(1), ErrReadOnly)
	_, err = ro.PurgeBefore(MakeZxid(1, 40))
	assert.ErrorIs(t, err, ErrReadOnly)
	require.NoError(t, ro.Close())
	after, err := os.ReadFile(last)
	require.NoError(t, err)
	assert.Equal(t, before, after, "read-only recovery changes nothing")

	_, err = Open(vfs.OS, filepath.Join(dir, "missing"), Options{ReadOnly: true})
	assert.Error(t, err)
}
