package znode

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

// benchRun is the parent of the benchmark nodes, shaped like the run node
// of `warren bench` (root "/warren-bench", then "run-" and a base-36 time).
const benchRun = "/warren-bench/run-dlr0k2x9q1c7m"

// benchBucket is the path of the b-th parent of the benchmark nodes.
func benchBucket(b int) string { return benchRun + "/b" + strconv.Itoa(b) }

// benchNode is the path of the i-th benchmark node, perParent to a parent,
// as `warren bench --workload populate` names them (perParent 1000 there).
func benchNode(i, perParent int) string {
	return benchBucket(i/perParent) + "/n" + strconv.Itoa(i%perParent)
}

// buildFlat fills a new tree with count nodes of dataLen bytes,
// perParent under each parent, in the shape of `warren bench --workload
// populate` (see benchNode). The txns are built the way decoding builds
// them: a fresh path string and a fresh data slice per node. The tree then
// holds count + buckets + 2 nodes beyond the 4 that NewTree creates.
func buildFlat(tb testing.TB, count, perParent, dataLen int) *Tree {
	tb.Helper()
	t := NewTree()
	zxid := int64(0)
	create := func(path string, data []byte, cv int32) {
		zxid++
		r := t.Apply(Header{Zxid: zxid, Time: zxid, Type: proto.OpCreate},
			&CreateTxn{Path: path, Data: data, ACL: proto.OpenACLUnsafe, ParentCversion: cv})
		if r.Err != proto.OK {
			tb.Fatalf("create %s: %v", path, r.Err)
		}
	}
	create(Parent(benchRun), []byte{}, -1)
	create(benchRun, []byte{}, -1)
	for b := 0; b*perParent < count; b++ {
		create(benchBucket(b), []byte{}, -1)
	}
	for i := 0; i < count; i++ {
		data := make([]byte, dataLen)
		data[0] = byte(i)
		create(benchNode(i, perParent), data, -1)
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
	t := buildFlat(tb, count, 1000, dataLen)
	after := heapBytes()
	require.Equal(tb, count+(count+999)/1000+2+4, t.NodeCount())
	runtime.KeepAlive(t)
	return float64(after-before) / float64(count)
}

// BenchmarkMemory1M builds 1,000,000 znodes of 100 bytes, 1000 under each
// of 1000 parents, as `warren bench --workload populate` does, and reports the live heap per znode, total and beyond the data. Run with
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

// TestNodeLayout pins the node struct (which lives in arena slabs, outside
// the allocator's size classes) to 48 bytes and its extension, children and
// combined records to the 32-, 48- and 80-byte size classes.
func TestNodeLayout(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(node{}), uintptr(48))
	require.LessOrEqual(t, unsafe.Sizeof(nodeExt{}), uintptr(32))
	require.LessOrEqual(t, unsafe.Sizeof(children{}), uintptr(48))
	require.LessOrEqual(t, unsafe.Sizeof(nodeMore{}), uintptr(80))
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
	require.Less(t, perNode-dataLen, 80.0)
}

// BenchmarkApplyCreateDelete measures a create and a delete of a
// sequential-style child under a parent that keeps 10,000 children.
func BenchmarkApplyCreateDelete(b *testing.B) {
	t := buildFlat(b, 10_000, 10_000, 100)
	data := make([]byte, 100)
	paths := make([]string, 1024)
	for i := range paths {
		paths[i] = fmt.Sprintf("%s/bench-%010d", benchBucket(0), i)
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
	t := buildFlat(b, 100_000, 1000, 100)
	paths := make([]string, 1024)
	for i := range paths {
		paths[i] = benchNode(i*97, 1000)
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
