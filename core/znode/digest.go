package znode

// The tree digest is the wrapping sum, over every node, of two 64-bit
// hashes: a content hash of (path, data, ACL) and a stat hash of (path,
// stored stat). Summing makes the digest independent of the order in which
// nodes were added, so equal trees have equal digests whatever their
// history, and each change costs O(size of the changed node): a create
// adds the child's two hashes and swaps the parent's stat hash, without
// rehashing the parent's data. Strings and data go through FNV-1a 64 (the
// algorithm of hash/fnv, inlined to avoid allocation), numbers through a
// word-at-a-time FNV-style step, and each hash ends in a 64-bit finalizer
// so that sums of similar inputs do not cancel.

const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

// Domain tags keep a content hash from ever colliding with a stat hash of
// the same path by construction.
const (
	tagContent byte = 'c'
	tagStat    byte = 's'
)

func hashByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func hashBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

// hashWord folds a whole 64-bit value in one FNV-style step (xor, then
// multiply by the FNV prime, then fold the high half down so later steps
// and the final mix see every bit). Numeric fields go through this rather
// than byte by byte: the stat hash runs on every create and delete.
func hashWord(h uint64, v uint64) uint64 {
	h = (h ^ v) * fnvPrime
	return h ^ h>>32
}

// mix is the murmur3 64-bit finalizer.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// pathHash is the common prefix of a node's two hashes.
func pathHash(path string) uint64 {
	return hashByte(hashString(fnvOffset, path), 0)
}

// contentHash covers the data (nil and empty are distinct, as they are on
// the wire) and the ACL list's content hash.
func contentHash(ph uint64, data []byte, aclHash uint64) uint64 {
	h := hashByte(ph, tagContent)
	if data == nil {
		h = hashWord(h, ^uint64(0))
	} else {
		h = hashWord(h, uint64(len(data)))
		h = hashBytes(h, data)
	}
	return mix(hashWord(h, aclHash))
}

// statHash covers every stored stat field.
func statHash(ph uint64, n *node) uint64 {
	h := hashByte(ph, tagStat)
	h = hashWord(h, uint64(n.czxid))
	h = hashWord(h, uint64(n.mzxid()))
	h = hashWord(h, uint64(n.pzxid()))
	h = hashWord(h, uint64(n.ctime))
	h = hashWord(h, uint64(n.mtime()))
	h = hashWord(h, uint64(n.owner()))
	h = hashWord(h, uint64(uint32(n.version()))|uint64(uint32(n.aversion()))<<32)
	h = hashWord(h, uint64(uint32(n.cversion())))
	return mix(h)
}

// nodeHash is the whole contribution to the digest of n, whose full path
// is path.
func (t *Tree) nodeHash(n *node, path string) uint64 {
	ph := pathHash(path)
	return contentHash(ph, n.data(), t.acls.hash(n.acl)) + statHash(ph, n)
}

// recomputeDigest computes the digest from scratch (for tests and checks).
func (t *Tree) recomputeDigest() uint64 {
	var d uint64
	t.nodes.each(func(n *node) {
		d += t.nodeHash(n, t.nodes.arena.path(n)) // addition commutes: index order does not matter
	})
	return d
}
