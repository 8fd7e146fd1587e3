package znode

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

// buildFlat fills a new tree with count nodes of dataLen bytes spread over
// parents parents (/p0 ... /pN), the shape of the memory benchmark. The
// txns are built the way decoding builds them: a fresh path string and a
// fresh data slice per node.
func buildFlat(tb testing.TB, count, parents, dataLen int) *Tree {
	tb.Helper()
	t := NewTree()
	zxid := int64(0)
	for p := 0; p < parents; p++ {
		zxid++
		r := t.Apply(Header{Zxid: zxid, Time: zxid, Type: proto.OpCreate},
			&CreateTxn{Path: fmt.Sprintf("/p%d", p), Data: []byte{}, ACL: proto.OpenACLUnsafe, ParentCversion: int32(p + 1)})
		require.Equal(tb, proto.OK, r.Err)
	}
	for i := 0; i < count; i++ {
		p := i % parents
		zxid++
		data := make([]byte, dataLen)
		data[0] = byte(i)
		r := t.Apply(Header{Zxid: zxid, Time: zxid, Type: proto.OpCreate},
			&CreateTxn{Path: fmt.Sprintf("/p%d/node-%010d", p, i/parents), Data: data,
				ACL: proto.OpenACLUnsafe, ParentCversion: int32(i/parents + 1)})
		if r.Err != proto.OK {
			tb.Fatalf("create %d: %v", i, r.Err)
		}
	}
	return t
}

// heapBytes returns the live heap after a full collection.
func heapBytes() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// measure reports the live heap bytes per node of a tree of count nodes of
// dataLen bytes.
func measure(tb testing.TB, count, dataLen int) float64 {
	before := heapBytes()
	t := buildFlat(tb, count, 4, dataLen)
	after := heapBytes()
	require.Equal(tb, count+4+4, t.NodeCount())
	runtime.KeepAlive(t)
	return float64(after-before) / float64(count)
}

// BenchmarkMemory1M builds 1,000,000 znodes of 100 bytes under 4 parents
// and reports the live heap per znode, total and beyond the data. Run with
//
//	go test -run '^$' -bench Memory1M -benchtime 1x ./core/znode/
func BenchmarkMemory1M(b *testing.B) {
	const count, dataLen = 1_000_000, 100
	for b.Loop() {
		perNode := measure(b, count, dataLen)
		b.ReportMetric(perNode, "heap-B/znode")
		b.ReportMetric(perNode-dataLen, "overhead-B/znode")
	}
}

// TestNodeLayout pins the node struct to the 112-byte size class.
func TestNodeLayout(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(node{}), uintptr(112))
	require.LessOrEqual(t, unsafe.Sizeof(children{}), uintptr(32))
}

// TestMemoryPerNode is a scaled-down version of BenchmarkMemory1M that
// keeps the footprint from regressing.
func TestMemoryPerNode(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
	const count, dataLen = 100_000, 100
	perNode := measure(t, count, dataLen)
	t.Logf("%.0f heap bytes per znode (%.0f beyond the data)", perNode, perNode-dataLen)
	require.Less(t, perNode-dataLen, 220.0)
}

// BenchmarkApplyCreateDelete measures a create and a delete of a
// sequential-style child under a parent that keeps 10,000 children.
func BenchmarkApplyCreateDelete(b *testing.B) {
	t := buildFlat(b, 10_000, 1, 100)
	data := make([]byte, 100)
	paths := make([]string, 1024)
	for i := range paths {
		paths[i] = fmt.Sprintf("/p0/bench-%010d", i)
	}
	zxid := int64(1 << 32)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		zxid++
		p := paths[i%len(paths)]
		i++
		if r := t.Apply(Header{Zxid: zxid, Time: zxid, Type: proto.OpCreate},
			&CreateTxn{Path: p, Data: data, ACL: proto.OpenACLUnsafe, ParentCversion: -1}); r.Err != proto.OK {
			b.Fatal(r.Err)
		}
		zxid++
		if r := t.Apply(Header{Zxid: zxid, Time: zxid, Type: proto.OpDelete}, &DeleteTxn{Path: p}); r.Err != proto.OK {
			b.Fatal(r.Err)
		}
	}
}

// BenchmarkGet measures a data read with its Meta.
func BenchmarkGet(b *testing.B) {
	t := buildFlat(b, 100_000, 4, 100)
	paths := make([]string, 1024)
	for i := range paths {
		paths[i] = fmt.Sprintf("/p%d/node-%010d", i%4, i*7)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, ok := t.Get(paths[i%len(paths)]); !ok {
			b.Fatal("missing")
		}
		i++
	}
}
