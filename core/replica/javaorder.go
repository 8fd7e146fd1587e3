package replica

import (
	"sort"
	"unicode/utf16"

	"github.com/warrenhq/warren/core/proto"
)

// ZooKeeper keeps a connection's authenticated ids in a set backed by a
// java.util.concurrent.ConcurrentHashMap, and clients observe its iteration
// order twice: in the ACL that an "auth" entry expands to, and in whoAmI.
// zkOrder reproduces that order: ids sorted by their bucket in a table of
// the size the map would have grown to, ties kept in insertion order (how a
// bucket's list grows). Java's String.hashCode runs over UTF-16 units, and
// jute's generated Id.hashCode combines scheme and id as 37*(37*17+h1)+h2.

func javaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

func javaIDHash(id proto.Id) int32 {
	r := int32(17)
	r = 37*r + javaStringHash(id.Scheme)
	r = 37*r + javaStringHash(id.ID)
	return r
}

// chmTableSize is the table length of a ConcurrentHashMap built with the
// default constructor after n insertions: 16, doubled whenever the count
// reaches three quarters of the length.
func chmTableSize(n int) int {
	size := 16
	for n >= size*3/4 {
		size *= 2
	}
	return size
}

func chmBucket(h int32, size int) int {
	u := uint32(h)
	spread := (u ^ (u >> 16)) & 0x7fffffff
	return int(spread) & (size - 1)
}

// zkOrder returns ids (given in insertion order) in ZooKeeper's iteration
// order.
func zkOrder(ids []proto.Id) []proto.Id {
	size := chmTableSize(len(ids))
	type entry struct {
		id     proto.Id
		bucket int
		seq    int
	}
	es := make([]entry, len(ids))
	for i, id := range ids {
		es[i] = entry{id: id, bucket: chmBucket(javaIDHash(id), size), seq: i}
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].bucket < es[j].bucket })
	out := make([]proto.Id, len(es))
	for i, e := range es {
		out[i] = e.id
	}
	return out
}
