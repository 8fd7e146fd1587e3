package cli

import "sort"

// The iteration orders of the Java maps zkCli prints from, so that the
// shell lists entries in the order zkCli does.

// javaStringHash is String.hashCode (over UTF-16 code units).
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xd800+(r>>10))
			h = 31*h + int32(0xdc00+(r&0x3ff))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// propertiesOrder returns keys (distinct, in insertion order) in the order
// java.util.Properties (JDK 9+: a ConcurrentHashMap of initial capacity 8)
// iterates them: by table bin, each bin in insertion order, with the
// bins split as ConcurrentHashMap.transfer splits them when the table
// grows.
func propertiesOrder(keys []string) []string {
	const hashBits = 0x7fffffff
	type node struct {
		hash int32
		key  string
	}
	n := 16
	table := make([][]node, n)
	for i, k := range keys {
		h := javaStringHash(k)
		h = (h ^ int32(uint32(h)>>16)) & hashBits
		b := int(h) & (n - 1)
		table[b] = append(table[b], node{h, k})
		if size := i + 1; size >= n-n>>2 {
			next := make([][]node, 2*n)
			for b, bin := range table {
				if len(bin) == 0 {
					continue
				}
				// The nodes from lastRun on keep their order; the ones
				// before it are prepended one by one (reversed).
				runBit := int(bin[0].hash) & n
				last := 0
				for j := 1; j < len(bin); j++ {
					if bit := int(bin[j].hash) & n; bit != runBit {
						runBit, last = bit, j
					}
				}
				var lo, hi []node
				if runBit == 0 {
					lo = append(lo, bin[last:]...)
				} else {
					hi = append(hi, bin[last:]...)
				}
				for j := 0; j < last; j++ {
					if int(bin[j].hash)&n == 0 {
						lo = append([]node{bin[j]}, lo...)
					} else {
						hi = append([]node{bin[j]}, hi...)
					}
				}
				next[b], next[b+n] = lo, hi
			}
			table, n = next, 2*n
		}
	}
	out := make([]string, 0, len(keys))
	for _, bin := range table {
		for _, nd := range bin {
			out = append(out, nd.key)
		}
	}
	return out
}

// longMapOrder returns ids (distinct, in insertion order) in the order a
// java.util.HashMap<Long, ...> of default capacity iterates them: by
// bin in the final table, each bin in insertion order.
func longMapOrder(ids []int64) []int64 {
	n := 16
	for len(ids) > n*3/4 {
		n *= 2
	}
	bin := func(id int64) int {
		h := int32(id ^ int64(uint64(id)>>32))
		return int(h^int32(uint32(h)>>16)) & (n - 1)
	}
	out := append([]int64(nil), ids...)
	sort.SliceStable(out, func(i, j int) bool { return bin(out[i]) < bin(out[j]) })
	return out
}
