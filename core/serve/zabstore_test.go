package serve

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/txnlog"
	"github.com/warrenhq/warren/core/zab"
	"github.com/warrenhq/warren/core/znode"
	"github.com/warrenhq/warren/internal/vfs"
)

// zabTxn is the transaction the test logs at zxid, and encodedTxn its
// bytes as znode.EncodeTxn produces them, built independently of the log.
func zabTxn(zxid int64) (*znode.Header, znode.Txn) {
	h := &znode.Header{Session: 0x77, Cxid: int32(zxid), Zxid: zxid, Time: 1700000000000, Type: proto.OpSetData}
	return h, &znode.SetDataTxn{Path: fmt.Sprintf("/zab/%x", zxid), Data: []byte("payload"), Version: 3}
}

func encodedTxn(zxid int64) []byte {
	var e jute.Encoder
	h, t := zabTxn(zxid)
	znode.EncodeTxn(&e, h, t)
	return e.Bytes()
}

func zxidOf(epoch, counter int64) int64 { return txnlog.MakeZxid(epoch, counter) }

// zabLog opens a log in a temporary directory with small segments and
// writes, as separate synced batches each followed by a roll (so that each
// batch is a segment of its own), the given zxid ranges.
func zabLog(t *testing.T, batches ...[]int64) *txnlog.Log {
	t.Helper()
	l, err := txnlog.Open(vfs.OS, t.TempDir(), txnlog.Options{SegmentSize: 64 << 10, PreallocSize: 4 << 10})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	for _, b := range batches {
		recs := make([]txnlog.Record, len(b))
		for i, zx := range b {
			recs[i] = txnlog.NewRecord(zabTxn(zx))
		}
		require.NoError(t, l.Append(recs))
		require.NoError(t, l.Sync())
		require.NoError(t, l.Roll())
	}
	return l
}

func zxidSpan(epoch, from, to int64) []int64 {
	var out []int64
	for c := from; c <= to; c++ {
		out = append(out, zxidOf(epoch, c))
	}
	return out
}

func TestLogStorageEntries(t *testing.T) {
	// Segments: (1,1)..(1,30) | (1,31)..(1,60) | (2,1)..(2,20).
	full := zabLog(t, zxidSpan(1, 1, 30), zxidSpan(1, 31, 60), zxidSpan(2, 1, 20))
	require.Equal(t, 3, full.Stats().Segments)
	// The same history with its first segment purged.
	purged := zabLog(t, zxidSpan(1, 1, 30), zxidSpan(1, 31, 60), zxidSpan(2, 1, 20))
	removed, err := purged.PurgeBefore(zxidOf(1, 45))
	require.NoError(t, err)
	require.Len(t, removed, 1)
	// A log whose first record is not at counter 1 (it continues a snapshot
	// at (3,9)).
	late := zabLog(t, zxidSpan(3, 10, 15))

	tests := []struct {
		name        string
		log         *txnlog.Log
		after, upto int64
		want        []int64 // nil with ok: no entries
		ok          bool
	}{
		{"from the start", full, 0, zxidOf(1, 5), zxidSpan(1, 1, 5), true},
		{"from the epoch's counter 0", full, zxidOf(1, 0), zxidOf(1, 3), zxidSpan(1, 1, 3), true},
		{"inside one segment", full, zxidOf(1, 3), zxidOf(1, 10), zxidSpan(1, 4, 10), true},
		{"up to a segment's end", full, zxidOf(1, 20), zxidOf(1, 30), zxidSpan(1, 21, 30), true},
		{"from a segment's end", full, zxidOf(1, 30), zxidOf(1, 33), zxidSpan(1, 31, 33), true},
		{"across a roll", full, zxidOf(1, 25), zxidOf(1, 40), zxidSpan(1, 25+1, 40), true},
		{"across an epoch change", full, zxidOf(1, 55), zxidOf(2, 5), append(zxidSpan(1, 56, 60), zxidSpan(2, 1, 5)...), true},
		{"the whole log", full, 0, zxidOf(2, 20), append(append(zxidSpan(1, 1, 30), zxidSpan(1, 31, 60)...), zxidSpan(2, 1, 20)...), true},
		{"after the last record", full, zxidOf(2, 20), zxidOf(2, 20), nil, true},
		{"upto below after", full, zxidOf(1, 10), zxidOf(1, 5), nil, true},
		{"upto beyond the end", full, zxidOf(2, 10), zxidOf(2, 21), nil, false},
		{"after the last, upto beyond", full, zxidOf(2, 20), zxidOf(2, 21), nil, false},
		{"upto not a logged zxid", full, zxidOf(1, 50), zxidOf(2, 0), nil, false},
		{"after not a logged zxid", full, zxidOf(2, 0), zxidOf(2, 3), nil, false},
		{"after beyond the log", full, zxidOf(2, 30), zxidOf(2, 31), nil, false},
		{"purged start", purged, 0, zxidOf(1, 40), nil, false},
		{"purged after", purged, zxidOf(1, 10), zxidOf(1, 40), nil, false},
		{"just before the first kept record", purged, zxidOf(1, 30), zxidOf(1, 33), zxidSpan(1, 31, 33), true},
		{"just before a purged record", purged, zxidOf(1, 29), zxidOf(1, 33), nil, false},
		{"kept part of a purged log", purged, zxidOf(1, 59), zxidOf(2, 2), []int64{zxidOf(1, 60), zxidOf(2, 1), zxidOf(2, 2)}, true},
		{"0 before a log starting mid-epoch", late, 0, zxidOf(3, 12), nil, false},
		{"the snapshot a log continues", late, zxidOf(3, 9), zxidOf(3, 12), zxidSpan(3, 10, 12), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NewLogStorage(tt.log, nil).Entries(tt.after, tt.upto)
			require.Equal(t, tt.ok, ok)
			if !tt.ok {
				assert.Nil(t, got)
				return
			}
			want := make([]zab.Entry, 0, len(tt.want))
			for _, zx := range tt.want {
				want = append(want, zab.Entry{Zxid: zx, Txn: encodedTxn(zx)})
			}
			if len(want) == 0 {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, want, got, "zxids in order, each with znode.EncodeTxn's bytes")
		})
	}
}

// TestLogStorageOnlySynced checks that records appended but not yet synced
// are not handed out: zab must only send what is durable.
func TestLogStorageOnlySynced(t *testing.T) {
	l := zabLog(t, zxidSpan(1, 1, 5))
	require.NoError(t, l.Append([]txnlog.Record{txnlog.NewRecord(zabTxn(zxidOf(1, 6)))}))
	s := NewLogStorage(l, nil)
	_, ok := s.Entries(zxidOf(1, 4), zxidOf(1, 6))
	assert.False(t, ok, "(1,6) is not synced yet")
	require.NoError(t, l.Sync())
	got, ok := s.Entries(zxidOf(1, 4), zxidOf(1, 6))
	require.True(t, ok)
	assert.Equal(t, []zab.Entry{{Zxid: zxidOf(1, 5), Txn: encodedTxn(zxidOf(1, 5))}, {Zxid: zxidOf(1, 6), Txn: encodedTxn(zxidOf(1, 6))}}, got)
}

// TestLogStorageReadErrors checks that a missing range is silent while a
// real read failure (here: a closed log) is logged, and both answer false.
func TestLogStorageReadErrors(t *testing.T) {
	tests := []struct {
		name   string
		after  int64
		close  bool
		logged int
	}{
		{"purged or unknown zxid", zxidOf(1, 99), false, 0},
		{"closed log", zxidOf(1, 1), true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := zabLog(t, zxidSpan(1, 1, 5))
			if tt.close {
				require.NoError(t, l.Close())
			}
			core, logs := observer.New(zap.WarnLevel)
			_, ok := NewLogStorage(l, zap.New(core)).Entries(tt.after, zxidOf(1, 5))
			assert.False(t, ok)
			assert.Equal(t, tt.logged, logs.Len())
		})
	}
}
