package znode

import (
	"hash/fnv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

type step struct {
	h   Header
	txn Txn
}

func build(t *testing.T, steps []step) *Tree {
	t.Helper()
	tr := NewTree()
	for _, s := range steps {
		mustApply(t, tr, s.h, s.txn)
	}
	require.Equal(t, tr.recomputeDigest(), tr.Digest(), "incremental digest matches a full recomputation")
	return tr
}

func TestDigestIgnoresHistory(t *testing.T) {
	base := []step{
		{at(1, proto.OpCreate), mkCreate("/a", []byte("a"), 0, 1)},
	}
	tests := []struct {
		name string
		x, y []step
	}{
		{
			"multi ops in another order (children slices differ)",
			append(base, step{at(5, proto.OpMulti), &MultiTxn{Ops: []SubTxn{
				{Type: proto.OpCreate, Txn: mkCreate("/a/x", []byte("1"), 0, 1)},
				{Type: proto.OpCreate, Txn: mkCreate("/a/y", []byte("2"), 0, 2)},
			}}}),
			append(base, step{at(5, proto.OpMulti), &MultiTxn{Ops: []SubTxn{
				{Type: proto.OpCreate, Txn: mkCreate("/a/y", []byte("2"), 0, 1)},
				{Type: proto.OpCreate, Txn: mkCreate("/a/x", []byte("1"), 0, 2)},
			}}}),
		},
		{
			"two setData vs one with the final values",
			append(base,
				step{at(2, proto.OpSetData), &SetDataTxn{Path: "/a", Data: []byte("first"), Version: 1}},
				step{at(3, proto.OpSetData), &SetDataTxn{Path: "/a", Data: []byte("second"), Version: 2}}),
			append(base,
				step{at(3, proto.OpSetData), &SetDataTxn{Path: "/a", Data: []byte("second"), Version: 2}}),
		},
		{
			"ACL changed away and back vs set once",
			append(base,
				step{at(2, proto.OpSetACL), &SetACLTxn{Path: "/a", ACL: digestACL, Version: 1}},
				step{at(3, proto.OpSetACL), &SetACLTxn{Path: "/a", ACL: proto.ReadACLUnsafe, Version: 2}}),
			append(base,
				step{at(7, proto.OpSetACL), &SetACLTxn{Path: "/a", ACL: proto.ReadACLUnsafe, Version: 2}}),
		},
		{
			"child created and deleted vs parent stats reached directly",
			append(base,
				step{at(2, proto.OpCreate), mkCreate("/a/tmp", []byte("t"), session1, 1)},
				step{at(3, proto.OpCloseSession), &CloseSessionTxn{}}),
			append(base,
				step{at(2, proto.OpCreate), mkCreate("/a/other", nil, 0, 1)},
				step{at(3, proto.OpDelete), &DeleteTxn{Path: "/a/other"}}),
		},
		{
			"ACL cache handles assigned in a different order",
			append(base,
				step{at(2, proto.OpCreate), &CreateTxn{Path: "/b", ACL: digestACL, ParentCversion: 2}},
				step{at(3, proto.OpCreate), &CreateTxn{Path: "/c", ACL: proto.ReadACLUnsafe, ParentCversion: 3}}),
			append(base,
				step{at(9, proto.OpCreate), mkCreate("/junk", nil, 0, 2)},
				step{at(9, proto.OpSetACL), &SetACLTxn{Path: "/junk", ACL: proto.ReadACLUnsafe}},
				step{at(3, proto.OpCreate), &CreateTxn{Path: "/c", ACL: proto.ReadACLUnsafe, ParentCversion: 3}},
				step{at(2, proto.OpCreate), &CreateTxn{Path: "/b", ACL: digestACL, ParentCversion: 2}},
				step{at(3, proto.OpDelete), &DeleteTxn{Path: "/junk"}}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, y := build(t, tt.x), build(t, tt.y)
			var dx, dy []string
			x.Walk("/", func(p string, m Meta) bool { dx = append(dx, p); return true })
			y.Walk("/", func(p string, m Meta) bool { dy = append(dy, p); return true })
			require.Equal(t, dx, dy)
			assert.Equal(t, x.Digest(), y.Digest())
		})
	}
}

func TestDigestSeesEveryField(t *testing.T) {
	base := func() []step {
		return []step{
			{at(1, proto.OpCreate), mkCreate("/a", []byte("data"), 0, 1)},
			{at(2, proto.OpCreate), mkCreate("/a/b", []byte("x"), 0, 1)},
		}
	}
	variants := map[string][]step{
		"base":           base(),
		"data byte":      append(base(), step{at(2, proto.OpSetData), &SetDataTxn{Path: "/a/b", Data: []byte("y")}}),
		"null data":      append(base(), step{at(2, proto.OpSetData), &SetDataTxn{Path: "/a/b", Data: nil}}),
		"empty data":     append(base(), step{at(2, proto.OpSetData), &SetDataTxn{Path: "/a/b", Data: []byte{}}}),
		"version":        append(base(), step{at(2, proto.OpSetData), &SetDataTxn{Path: "/a/b", Data: []byte("x"), Version: 1}}),
		"mzxid":          append(base(), step{at(3, proto.OpSetData), &SetDataTxn{Path: "/a/b", Data: []byte("x")}}),
		"mtime":          append(base(), step{Header{Zxid: 2, Time: 1, Type: proto.OpSetData}, &SetDataTxn{Path: "/a/b", Data: []byte("x")}}),
		"acl":            append(base(), step{at(2, proto.OpSetACL), &SetACLTxn{Path: "/a/b", ACL: proto.ReadACLUnsafe}}),
		"aversion":       append(base(), step{at(2, proto.OpSetACL), &SetACLTxn{Path: "/a/b", ACL: proto.OpenACLUnsafe, Version: 1}}),
		"cversion":       append(base(), step{at(2, proto.OpCreate), mkCreate("/a/b/c", nil, 0, 5)}, step{at(2, proto.OpDelete), &DeleteTxn{Path: "/a/b/c"}}),
		"pzxid":          append(base(), step{at(1, proto.OpCreate), mkCreate("/a/b/c", nil, 0, 0)}, step{at(4, proto.OpDelete), &DeleteTxn{Path: "/a/b/c"}}),
		"extra node":     append(base(), step{at(2, proto.OpCreate), mkCreate("/a/c", nil, 0, 0)}),
		"ephemeral":      {{at(1, proto.OpCreate), mkCreate("/a", []byte("data"), 0, 1)}, {at(2, proto.OpCreate), mkCreate("/a/b", []byte("x"), session1, 1)}},
		"renamed":        {{at(1, proto.OpCreate), mkCreate("/a", []byte("data"), 0, 1)}, {at(2, proto.OpCreate), mkCreate("/a/c", []byte("x"), 0, 1)}},
		"data moved":     {{at(1, proto.OpCreate), mkCreate("/a", []byte("x"), 0, 1)}, {at(2, proto.OpCreate), mkCreate("/a/b", []byte("data"), 0, 1)}},
		"czxid":          {{at(1, proto.OpCreate), mkCreate("/a", []byte("data"), 0, 1)}, {Header{Zxid: 3, Time: 2000}, mkCreate("/a/b", []byte("x"), 0, 1)}},
		"ctime":          {{at(1, proto.OpCreate), mkCreate("/a", []byte("data"), 0, 1)}, {Header{Zxid: 2, Time: 5}, mkCreate("/a/b", []byte("x"), 0, 1)}},
		"parent stat":    {{at(1, proto.OpCreate), mkCreate("/a", []byte("data"), 0, 1)}, {at(2, proto.OpCreate), mkCreate("/a/b", []byte("x"), 0, 2)}},
		"root data only": append(base(), step{at(2, proto.OpSetData), &SetDataTxn{Path: "/", Data: []byte{}}}),
	}
	seen := map[uint64]string{}
	for name, steps := range variants {
		d := build(t, steps).Digest()
		other, dup := seen[d]
		assert.False(t, dup, "%q and %q have the same digest", name, other)
		seen[d] = name
	}
	assert.NotEqual(t, NewTree().Digest(), build(t, base()).Digest())
}

// The inlined hash is FNV-1a, as in hash/fnv.
func TestInlinedHashIsFNV1a(t *testing.T) {
	for _, s := range []string{"", "/", "/zookeeper/config", "\x00\xff"} {
		h := fnv.New64a()
		_, _ = h.Write([]byte(s))
		assert.Equal(t, h.Sum64(), hashString(fnvOffset, s), "%q", s)
		assert.Equal(t, h.Sum64(), hashBytes(fnvOffset, []byte(s)), "%q", s)
	}
}
