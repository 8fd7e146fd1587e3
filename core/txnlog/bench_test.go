package txnlog

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
	"github.com/warrenhq/warren/internal/vfs"
)

// BenchmarkAppendSync measures group commit on the OS file system with the
// default options (64 MiB preallocation, fsync on): each iteration appends
// a batch of setData records with 100-byte values and syncs it once. It
// reports records/s and fsyncs/s; records/s over fsyncs/s is the batch.
//
//	go test -run '^$' -bench AppendSync ./core/txnlog/
func BenchmarkAppendSync(b *testing.B) {
	value := make([]byte, 100)
	for _, batch := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			l := openLog(b, vfs.OS, b.TempDir(), Options{})
			z := int64(1)
			mk := func() []Record {
				out := make([]Record, batch)
				for i := range out {
					h := znode.Header{Session: 0x1234, Zxid: z, Time: 1700000000000, Type: proto.OpSetData}
					out[i] = NewRecord(&h, &znode.SetDataTxn{Path: "/bench/key-0000000042", Data: value, Version: int32(z)})
					z++
				}
				return out
			}
			// The first Sync creates and preallocates the segment.
			require.NoError(b, l.Append(mk()))
			require.NoError(b, l.Sync())
			start := l.Stats()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := l.Append(mk()); err != nil {
					b.Fatal(err)
				}
				if err := l.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			st := l.Stats()
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(st.Records-start.Records)/sec, "records/s")
			b.ReportMetric(float64(st.Fsyncs-start.Fsyncs)/sec, "fsyncs/s")
			b.SetBytes(int64(batch) * int64(recHeaderSize+len(mk()[0].Payload)))
		})
	}
}
