package znode

import (
	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
)

// aclHandle names an interned ACL list inside an aclCache.
type aclHandle uint32

// aclCache interns ACL lists so that nodes with identical lists share one
// immutable slice, as ZooKeeper's ReferenceCountedACLCache does: a node
// stores a 4-byte handle, and a list is dropped when its last node goes.
// Handles are an internal detail: they depend on history, so nothing
// observable (results, digest) may depend on their values.
type aclCache struct {
	byKey  map[string]aclHandle
	lists  [][]proto.ACL
	keys   []string
	hashes []uint64 // digest contribution of each list's content
	refs   []int64
	free   []aclHandle
	enc    jute.Encoder // scratch for keys
}

func newACLCache() *aclCache {
	return &aclCache{byKey: make(map[string]aclHandle)}
}

// intern returns the handle of acl's content, adding one reference. A nil
// list means OpenACLUnsafe, as in ZooKeeper (convertAcls(null)).
func (c *aclCache) intern(acl []proto.ACL) aclHandle {
	if acl == nil {
		acl = proto.OpenACLUnsafe
	}
	c.enc.Reset()
	proto.EncodeACLs(&c.enc, acl)
	if h, ok := c.byKey[string(c.enc.B)]; ok {
		c.refs[h]++
		return h
	}
	key := string(c.enc.B)
	list := make([]proto.ACL, len(acl))
	copy(list, acl)
	var h aclHandle
	if n := len(c.free); n > 0 {
		h = c.free[n-1]
		c.free = c.free[:n-1]
		c.lists[h], c.keys[h], c.hashes[h], c.refs[h] = list, key, hashString(fnvOffset, key), 1
	} else {
		h = aclHandle(len(c.lists))
		c.lists = append(c.lists, list)
		c.keys = append(c.keys, key)
		c.hashes = append(c.hashes, hashString(fnvOffset, key))
		c.refs = append(c.refs, 1)
	}
	c.byKey[key] = h
	return h
}

// release drops one reference to h.
func (c *aclCache) release(h aclHandle) {
	c.refs[h]--
	if c.refs[h] > 0 {
		return
	}
	delete(c.byKey, c.keys[h])
	c.lists[h], c.keys[h], c.hashes[h] = nil, "", 0
	c.free = append(c.free, h)
}

// list returns the shared, immutable list of h.
func (c *aclCache) list(h aclHandle) []proto.ACL { return c.lists[h] }

// hash returns the content hash of h's list.
func (c *aclCache) hash(h aclHandle) uint64 { return c.hashes[h] }

// size is the number of distinct lists in use.
func (c *aclCache) size() int { return len(c.byKey) }
