package znode

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

var eventNames = map[proto.EventType]string{
	proto.EventNodeCreated:         "created",
	proto.EventNodeDeleted:         "deleted",
	proto.EventNodeDataChanged:     "data",
	proto.EventNodeChildrenChanged: "children",
}

func TestMultiApplies(t *testing.T) {
	tr := NewTree()
	mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/old", []byte("o"), 0, 1))
	mustApply(t, tr, at(2, proto.OpCreate), mkCreate("/gone", nil, 0, 2))

	multi := &MultiTxn{Ops: []SubTxn{
		{Type: proto.OpCreate, Txn: mkCreate("/p", []byte("p"), 0, 3)},
		{Type: proto.OpCreate2, Txn: mkCreate("/p/c", nil, 0, 1)}, // sees the parent created above
		{Type: proto.OpCreateContainer, Txn: mkCreate("/p/k", nil, proto.ContainerOwner, 2)},
		{Type: proto.OpCreateTTL, Txn: mkCreate("/p/t", nil, ttlOwner, 3)},
		{Type: proto.OpSetData, Txn: &SetDataTxn{Path: "/old", Data: []byte("new"), Version: 1}},
		{Type: proto.OpCheck, Txn: &CheckTxn{Path: "/old", Version: 1}},
		{Type: proto.OpDelete, Txn: &DeleteTxn{Path: "/gone"}},
		{Type: proto.OpDelete, Txn: &DeleteTxn{Path: "/p/k"}}, // created above
		{Type: proto.OpSetACL, Txn: &SetACLTxn{Path: "/p/c", ACL: digestACL, Version: 1}},
	}}
	r := mustApply(t, tr, at(10, proto.OpMulti), multi)

	require.Len(t, r.Multi, 9)
	types := make([]proto.OpCode, len(r.Multi))
	for i, op := range r.Multi {
		types[i] = op.Type
		assert.Equal(t, proto.OK, op.Err)
	}
	assert.Equal(t, []proto.OpCode{proto.OpCreate, proto.OpCreate2, proto.OpCreate2, proto.OpCreate2,
		proto.OpSetData, proto.OpCheck, proto.OpDelete, proto.OpDelete, proto.OpSetACL}, types)
	assert.Equal(t, "/p/c", r.Multi[1].Path)
	assert.Equal(t, proto.Stat{Czxid: 10, Mzxid: 10, Pzxid: 10, Ctime: 10000, Mtime: 10000}, r.Multi[1].Stat)
	assert.Equal(t, proto.Stat{Czxid: 1, Mzxid: 10, Pzxid: 1, Ctime: 1000, Mtime: 10000, Version: 1, DataLength: 3}, r.Multi[4].Stat)
	assert.Equal(t, r.Multi[4].Stat, r.Multi[5].Stat, "check reports the node as the earlier ops left it")
	assert.Equal(t, int32(1), r.Multi[8].Stat.Aversion)

	// Every op's events, in op order, all at the multi's zxid.
	var got []string
	for _, c := range r.Changes {
		assert.Equal(t, int64(10), c.Zxid)
		got = append(got, eventNames[c.Type]+" "+c.Path)
	}
	assert.Equal(t, []string{
		"created /p", "children /",
		"created /p/c", "children /p",
		"created /p/k", "children /p",
		"created /p/t", "children /p",
		"data /old",
		"deleted /gone", "children /",
		"deleted /p/k", "children /p",
	}, got)

	p := mustMeta(t, tr, "/p")
	assert.Equal(t, int32(3), p.CreateCount)
	assert.Equal(t, int32(2), p.Stat.NumChildren)
	assert.Equal(t, int32(4), p.Stat.Cversion)
	assert.ElementsMatch(t, []string{"c", "t"}, childSet(t, tr, "/p"))
	_, ok := tr.Meta("/gone")
	assert.False(t, ok)
	assert.Empty(t, tr.ExpiredContainers(10000, 0), "the ttl node is fresh")
	assert.Equal(t, []string{"/p/t"}, tr.ExpiredContainers(15001, 0))
	assert.Equal(t, int64(10), tr.LastZxid())
	assert.Equal(t, tr.recomputeDigest(), tr.Digest())
}

func TestMultiPreparedFailure(t *testing.T) {
	tr := NewTree()
	mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/n", []byte("d"), 0, 1))
	digest := tr.Digest()

	// What preparation produces for a multi whose second op failed: an
	// ErrorTxn per op with OK before the failure and
	// RuntimeInconsistency after it.
	multi := &MultiTxn{Ops: []SubTxn{
		{Type: proto.OpError, Txn: &ErrorTxn{Err: proto.OK}},
		{Type: proto.OpError, Txn: &ErrorTxn{Err: proto.ErrBadVersion}},
		{Type: proto.OpError, Txn: &ErrorTxn{Err: proto.ErrRuntimeInconsistency}},
	}}
	r := tr.Apply(at(2, proto.OpMulti), multi)
	assert.Equal(t, proto.ErrBadVersion, r.Err)
	assert.Equal(t, []OpResult{
		{Type: proto.OpError, Err: proto.OK},
		{Type: proto.OpError, Err: proto.ErrBadVersion},
		{Type: proto.OpError, Err: proto.ErrRuntimeInconsistency},
	}, r.Multi)
	assert.Empty(t, r.Changes)
	assert.Equal(t, digest, tr.Digest())
	assert.Equal(t, int64(2), tr.LastZxid())

	// Ops left as real txns next to an ErrorTxn are not applied either: they
	// are reported as ZooKeeper's DataTree does.
	multi = &MultiTxn{Ops: []SubTxn{
		{Type: proto.OpSetData, Txn: &SetDataTxn{Path: "/n", Data: []byte("x"), Version: 1}},
		{Type: proto.OpError, Txn: &ErrorTxn{Err: proto.ErrNoNode}},
		{Type: proto.OpCreate, Txn: mkCreate("/m", nil, 0, 2)},
	}}
	r = tr.Apply(at(3, proto.OpMulti), multi)
	assert.Equal(t, proto.ErrNoNode, r.Err)
	assert.Equal(t, []OpResult{
		{Type: proto.OpError, Err: proto.OK},
		{Type: proto.OpError, Err: proto.ErrNoNode},
		{Type: proto.OpError, Err: proto.ErrRuntimeInconsistency},
	}, r.Multi)
	assert.Equal(t, digest, tr.Digest())
	data, _, _ := tr.Get("/n")
	assert.Equal(t, []byte("d"), data)
}

func TestMultiImpossibleOpRollsBackNothingApplied(t *testing.T) {
	tests := []struct {
		name string
		ops  []SubTxn
		at   int
		want proto.Code
	}{
		{"create existing after valid ops", []SubTxn{
			{Type: proto.OpCreate, Txn: mkCreate("/a", nil, 0, 2)},
			{Type: proto.OpSetData, Txn: &SetDataTxn{Path: "/n", Data: []byte("x"), Version: 1}},
			{Type: proto.OpCreate, Txn: mkCreate("/a", nil, 0, 3)},
		}, 2, proto.ErrNodeExists},
		{"delete of a node created then deleted", []SubTxn{
			{Type: proto.OpCreate, Txn: mkCreate("/a", nil, 0, 2)},
			{Type: proto.OpDelete, Txn: &DeleteTxn{Path: "/a"}},
			{Type: proto.OpDelete, Txn: &DeleteTxn{Path: "/a"}},
		}, 2, proto.ErrNoNode},
		{"delete of a parent that gained a child", []SubTxn{
			{Type: proto.OpCreate, Txn: mkCreate("/n/c", nil, 0, 1)},
			{Type: proto.OpDelete, Txn: &DeleteTxn{Path: "/n"}},
		}, 1, proto.ErrNotEmpty},
		{"create under a parent deleted earlier", []SubTxn{
			{Type: proto.OpDelete, Txn: &DeleteTxn{Path: "/n"}},
			{Type: proto.OpCreate, Txn: mkCreate("/n/c", nil, 0, 1)},
		}, 1, proto.ErrNoNode},
		{"setData of a missing node", []SubTxn{
			{Type: proto.OpCheck, Txn: &CheckTxn{Path: "/n"}},
			{Type: proto.OpSetData, Txn: &SetDataTxn{Path: "/zz"}},
		}, 1, proto.ErrNoNode},
		{"setACL of a deleted node", []SubTxn{
			{Type: proto.OpDelete, Txn: &DeleteTxn{Path: "/n"}},
			{Type: proto.OpSetACL, Txn: &SetACLTxn{Path: "/n", ACL: digestACL}},
		}, 1, proto.ErrNoNode},
		{"bad path", []SubTxn{
			{Type: proto.OpCreate, Txn: mkCreate("/a/", nil, 0, 2)},
		}, 0, proto.ErrBadArguments},
		{"delete root", []SubTxn{
			{Type: proto.OpDelete, Txn: &DeleteTxn{Path: "/"}},
		}, 0, proto.ErrBadArguments},
		{"session txn inside a multi", []SubTxn{
			{Type: proto.OpCreate, Txn: mkCreate("/a", nil, 0, 2)},
			{Type: proto.OpCloseSession, Txn: &CloseSessionTxn{}},
			{Type: proto.OpCheck, Txn: &CheckTxn{Path: "/n"}},
		}, 1, proto.ErrUnimplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTree()
			mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/n", []byte("d"), 0, 1))
			digest, count := tr.Digest(), tr.NodeCount()

			r := tr.Apply(at(2, proto.OpMulti), &MultiTxn{Ops: tt.ops})
			assert.Equal(t, tt.want, r.Err)
			require.Len(t, r.Multi, len(tt.ops))
			for i, op := range r.Multi {
				want := proto.OK
				switch {
				case i == tt.at:
					want = tt.want
				case i > tt.at:
					want = proto.ErrRuntimeInconsistency
				}
				assert.Equal(t, OpResult{Type: proto.OpError, Err: want}, op, "op %d", i)
			}
			assert.Empty(t, r.Changes)
			assert.Equal(t, digest, tr.Digest())
			assert.Equal(t, count, tr.NodeCount())
			data, _, _ := tr.Get("/n")
			assert.Equal(t, []byte("d"), data)
		})
	}
}

func TestEmptyMulti(t *testing.T) {
	tr := NewTree()
	r := mustApply(t, tr, at(1, proto.OpMulti), &MultiTxn{})
	assert.NotNil(t, r.Multi)
	assert.Empty(t, r.Multi)
	assert.Equal(t, int64(1), tr.LastZxid())
}
