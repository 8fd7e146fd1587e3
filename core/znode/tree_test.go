package znode

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

// Test fixtures.
var (
	digestACL = []proto.ACL{{Perms: proto.PermAll, ID: proto.Id{Scheme: "digest", ID: "bob:x"}}}
	session1  = int64(1)<<56 | 0x10
	session2  = int64(1)<<56 | 0x20
	ttlOwner  = proto.TTLOwnerMask | 5000 // a TTL node with a 5 s ttl
)

// at is the header of a txn at zxid z; its time is 1000*z.
func at(z int64, typ proto.OpCode) Header {
	return Header{Session: session1, Zxid: z, Time: 1000 * z, Type: typ}
}

func mkCreate(path string, data []byte, owner int64, parentCversion int32) *CreateTxn {
	return &CreateTxn{Path: path, Data: data, ACL: proto.OpenACLUnsafe, Owner: owner, ParentCversion: parentCversion}
}

func mustApply(t *testing.T, tr *Tree, h Header, txn Txn) Result {
	t.Helper()
	r := tr.Apply(h, txn)
	require.Equal(t, proto.OK, r.Err, "apply %T at zxid %d", txn, h.Zxid)
	return r
}

func mustMeta(t *testing.T, tr *Tree, path string) Meta {
	t.Helper()
	m, ok := tr.Meta(path)
	require.True(t, ok, "node %s", path)
	return m
}

func childSet(t *testing.T, tr *Tree, path string) []string {
	t.Helper()
	names, _, ok := tr.Children(path)
	require.True(t, ok)
	return names
}

func TestNewTree(t *testing.T) {
	tr := NewTree()
	tests := []struct {
		path        string
		acl         []proto.ACL
		numChildren int32
		cversion    int32
		aversion    int32
		children    []string
	}{
		// Stats observed on Apache ZooKeeper 3.8.0 with zkCli "stat": the
		// stored cversions are 0, so the client sees 0*2 - numChildren.
		{"/", proto.OpenACLUnsafe, 1, -1, 0, []string{"zookeeper"}},
		{"/zookeeper", proto.OpenACLUnsafe, 2, -2, 0, []string{"config", "quota"}},
		{"/zookeeper/quota", proto.OpenACLUnsafe, 0, 0, 0, []string{}},
		{"/zookeeper/config", proto.ReadACLUnsafe, 0, 0, -1, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			data, m, ok := tr.Get(tt.path)
			require.True(t, ok)
			assert.NotNil(t, data)
			assert.Empty(t, data)
			assert.Equal(t, tt.acl, m.ACL)
			assert.Equal(t, proto.Stat{Cversion: tt.cversion, Aversion: tt.aversion, NumChildren: tt.numChildren}, m.Stat)
			assert.Equal(t, int32(0), m.CreateCount)
			assert.Equal(t, int64(0), m.Owner)
			assert.ElementsMatch(t, tt.children, childSet(t, tr, tt.path))
		})
	}
	assert.Equal(t, 4, tr.NodeCount())
	assert.Equal(t, int64(44), tr.ApproxDataSize(), "zk_approximate_data_size of a fresh ZooKeeper 3.8.0")
	assert.Equal(t, 0, tr.EphemeralCount())
	assert.Empty(t, tr.EphemeralSessions())
	assert.Equal(t, int64(0), tr.LastZxid())
	n, ok := tr.CountDescendants("/")
	require.True(t, ok)
	assert.Equal(t, 3, n)
	assert.Equal(t, tr.recomputeDigest(), tr.Digest())
	assert.Equal(t, NewTree().Digest(), tr.Digest())
	_, ok = tr.Meta("/missing")
	assert.False(t, ok)
}

func TestCreateStats(t *testing.T) {
	tests := []struct {
		name       string
		typ        proto.OpCode
		owner      int64
		data       []byte
		wantOwner  int64 // client-visible
		ephemeral  bool
		reapable   bool
		dataLength int32
	}{
		{"persistent", proto.OpCreate, 0, []byte("hello"), 0, false, false, 5},
		{"persistent create2", proto.OpCreate2, 0, []byte("hello"), 0, false, false, 5},
		{"ephemeral", proto.OpCreate, session1, []byte("e"), session1, true, false, 1},
		{"container shows owner 0", proto.OpCreateContainer, proto.ContainerOwner, []byte{}, 0, false, true, 0},
		{"ttl shows owner 0", proto.OpCreateTTL, ttlOwner, nil, 0, false, true, 0},
		{"null data", proto.OpCreate, 0, nil, 0, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTree()
			mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/p", []byte("parent"), 0, 1))
			before := mustMeta(t, tr, "/p")

			r := mustApply(t, tr, at(7, tt.typ), mkCreate("/p/c", tt.data, tt.owner, 1))
			want := proto.Stat{
				Czxid: 7, Mzxid: 7, Pzxid: 7, Ctime: 7000, Mtime: 7000,
				EphemeralOwner: tt.wantOwner, DataLength: tt.dataLength,
			}
			assert.Equal(t, want, r.Stat)
			assert.Equal(t, "/p/c", r.Path)
			assert.Nil(t, r.Multi)
			assert.Nil(t, r.Closed)
			assert.Equal(t, []Change{
				{Type: proto.EventNodeCreated, Path: "/p/c", ACL: proto.OpenACLUnsafe, Zxid: 7},
				{Type: proto.EventNodeChildrenChanged, Path: "/p", ACL: proto.OpenACLUnsafe, Zxid: 7},
			}, r.Changes)

			data, m, ok := tr.Get("/p/c")
			require.True(t, ok)
			assert.Equal(t, tt.data, data)
			assert.Equal(t, tt.data == nil, data == nil, "null data stays null, empty stays empty")
			assert.Equal(t, want, m.Stat)
			assert.Equal(t, tt.owner, m.Owner)
			assert.Equal(t, int32(0), m.CreateCount)

			// Parent: stored cversion 1, pzxid 7; mzxid, mtime, version unchanged.
			p := mustMeta(t, tr, "/p")
			assert.Equal(t, int32(1), p.CreateCount)
			assert.Equal(t, proto.Stat{
				Czxid: 1, Mzxid: before.Stat.Mzxid, Ctime: 1000, Mtime: before.Stat.Mtime, Version: before.Stat.Version,
				Cversion: 1, Pzxid: 7, NumChildren: 1, DataLength: 6,
			}, p.Stat)

			if tt.ephemeral {
				assert.Equal(t, []string{"/p/c"}, tr.Ephemerals(tt.owner))
				assert.Equal(t, []int64{tt.owner}, tr.EphemeralSessions())
				assert.Equal(t, 1, tr.EphemeralCount())
			} else {
				assert.Empty(t, tr.EphemeralSessions())
				assert.Equal(t, 0, tr.EphemeralCount())
			}
			assert.Equal(t, tt.reapable, len(tr.reapable) == 1)
			assert.Equal(t, int64(7), tr.LastZxid())
			assert.Equal(t, 6, tr.NodeCount())
			assert.Equal(t, int64(44+2+6+4+len(tt.data)), tr.ApproxDataSize())
			assert.Equal(t, tr.recomputeDigest(), tr.Digest())
		})
	}
}

// The scenario verified on ZooKeeper 3.8.0: create a, create b, delete a
// leaves the parent at cversion 3 with the next sequential suffix 2.
func TestCversionTranslation(t *testing.T) {
	tr := NewTree()
	mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/p", nil, 0, 1))
	steps := []struct {
		name        string
		txn         Txn
		typ         proto.OpCode
		cversion    int32
		createCount int32
		numChildren int32
		pzxid       int64
	}{
		{"create a", mkCreate("/p/s0000000000", nil, 0, 1), proto.OpCreate, 1, 1, 1, 2},
		{"create b", mkCreate("/p/s0000000001", nil, 0, 2), proto.OpCreate, 2, 2, 2, 3},
		{"delete a", &DeleteTxn{Path: "/p/s0000000000"}, proto.OpDelete, 3, 2, 1, 4},
		{"delete b", &DeleteTxn{Path: "/p/s0000000001"}, proto.OpDelete, 4, 2, 0, 5},
		{"create c", mkCreate("/p/s0000000002", nil, 0, 3), proto.OpCreate, 5, 3, 1, 6},
	}
	for i, s := range steps {
		mustApply(t, tr, at(int64(i+2), s.typ), s.txn)
		m := mustMeta(t, tr, "/p")
		assert.Equal(t, s.cversion, m.Stat.Cversion, s.name)
		assert.Equal(t, s.createCount, m.CreateCount, s.name)
		assert.Equal(t, s.numChildren, m.Stat.NumChildren, s.name)
		assert.Equal(t, s.pzxid, m.Stat.Pzxid, s.name)
		assert.Equal(t, int64(1), m.Stat.Mzxid, s.name)
		assert.Equal(t, tr.recomputeDigest(), tr.Digest(), s.name)
	}
}

func TestParentCversionOnlyMovesForward(t *testing.T) {
	tests := []struct {
		name         string
		parentCv     int32
		wantCount    int32
		wantPzxid    int64
		wantCversion int32
	}{
		{"prepared value", 4, 4, 9, 6},
		{"minus one means current+1", -1, 4, 9, 6},
		{"stale value keeps cversion and pzxid", 2, 3, 5, 4},
		{"equal value keeps cversion and pzxid", 3, 3, 5, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTree()
			mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/p", nil, 0, 1))
			mustApply(t, tr, at(5, proto.OpCreate), mkCreate("/p/x", nil, 0, 3)) // jumps to 3
			mustApply(t, tr, at(9, proto.OpCreate), mkCreate("/p/y", nil, 0, tt.parentCv))
			m := mustMeta(t, tr, "/p")
			assert.Equal(t, tt.wantCount, m.CreateCount)
			assert.Equal(t, tt.wantPzxid, m.Stat.Pzxid)
			assert.Equal(t, tt.wantCversion, m.Stat.Cversion)
			assert.Equal(t, int32(2), m.Stat.NumChildren)
			assert.Equal(t, tr.recomputeDigest(), tr.Digest())
		})
	}
}

func TestCversionWrapsLikeJava(t *testing.T) {
	tr := NewTree()
	mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/p", nil, 0, 1))
	mustApply(t, tr, at(2, proto.OpCreate), mkCreate("/p/a", nil, 0, math.MaxInt32))
	m := mustMeta(t, tr, "/p")
	assert.Equal(t, int32(math.MaxInt32), m.CreateCount)
	assert.Equal(t, int32(-3), m.Stat.Cversion, "MaxInt32*2 - 1 in 32-bit arithmetic")
}

func TestDelete(t *testing.T) {
	tr := NewTree()
	mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/p", nil, 0, 1))
	mustApply(t, tr, at(2, proto.OpCreate), &CreateTxn{Path: "/p/c", Data: []byte("abc"), ACL: digestACL, Owner: session1, ParentCversion: 1})
	mustApply(t, tr, at(3, proto.OpSetACL), &SetACLTxn{Path: "/p", ACL: proto.ReadACLUnsafe, Version: 1})
	size := tr.ApproxDataSize()

	r := mustApply(t, tr, at(10, proto.OpDeleteContainer), &DeleteTxn{Path: "/p/c"})
	assert.Equal(t, "/p/c", r.Path)
	assert.Equal(t, []Change{
		{Type: proto.EventNodeDeleted, Path: "/p/c", ACL: digestACL, Zxid: 10},
		{Type: proto.EventNodeChildrenChanged, Path: "/p", ACL: proto.ReadACLUnsafe, Zxid: 10},
	}, r.Changes)
	_, ok := tr.Meta("/p/c")
	assert.False(t, ok)
	p := mustMeta(t, tr, "/p")
	assert.Equal(t, proto.Stat{Czxid: 1, Mzxid: 1, Ctime: 1000, Mtime: 1000, Cversion: 2, Aversion: 1, Pzxid: 10}, p.Stat)
	assert.Equal(t, int32(1), p.CreateCount, "deletes leave the stored cversion alone")
	assert.Equal(t, size-int64(len("/p/c")+3), tr.ApproxDataSize())
	assert.Empty(t, tr.Ephemerals(session1))
	assert.Empty(t, tr.EphemeralSessions())
	assert.Equal(t, 0, tr.EphemeralCount())
	assert.Equal(t, int64(2), tr.acls.refs[tr.acls.byKey[aclKey(proto.ReadACLUnsafe)]], "/p and /zookeeper/config share the read-only list")
	_, stillCached := tr.acls.byKey[aclKey(digestACL)]
	assert.False(t, stillCached, "an ACL list leaves the cache with its last node")
	assert.Equal(t, tr.recomputeDigest(), tr.Digest())

	// A delete replayed with an older zxid does not take pzxid back.
	mustApply(t, tr, at(11, proto.OpCreate), mkCreate("/p/d", nil, 0, 2))
	mustApply(t, tr, at(8, proto.OpDelete), &DeleteTxn{Path: "/p/d"})
	assert.Equal(t, int64(11), mustMeta(t, tr, "/p").Stat.Pzxid)
	assert.Equal(t, int64(11), tr.LastZxid(), "LastZxid is the highest zxid applied")
}

func aclKey(acl []proto.ACL) string {
	c := newACLCache()
	c.intern(acl)
	for k := range c.byKey {
		return k
	}
	return ""
}

func TestSetData(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		version int32
	}{
		{"new data", []byte("new value"), 1},
		{"version comes from the txn", []byte("x"), 42},
		{"empty", []byte{}, 1},
		{"null", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTree()
			mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/n", []byte("old"), 0, 1))
			old, _, _ := tr.Get("/n")
			r := mustApply(t, tr, at(4, proto.OpSetData), &SetDataTxn{Path: "/n", Data: tt.data, Version: tt.version})
			want := proto.Stat{Czxid: 1, Mzxid: 4, Pzxid: 1, Ctime: 1000, Mtime: 4000, Version: tt.version, DataLength: int32(len(tt.data))}
			assert.Equal(t, want, r.Stat)
			assert.Equal(t, []Change{{Type: proto.EventNodeDataChanged, Path: "/n", ACL: proto.OpenACLUnsafe, Zxid: 4}}, r.Changes)
			data, m, _ := tr.Get("/n")
			assert.Equal(t, tt.data, data)
			assert.Equal(t, tt.data == nil, data == nil)
			assert.Equal(t, want, m.Stat)
			assert.Equal(t, []byte("old"), old, "a slice returned earlier is never modified")
			assert.Equal(t, int64(44+2+len(tt.data)), tr.ApproxDataSize())
			assert.Equal(t, tr.recomputeDigest(), tr.Digest())
		})
	}
}

func TestTreeDoesNotAliasTxnBuffers(t *testing.T) {
	tr := NewTree()
	data := []byte("abc")
	acl := []proto.ACL{{Perms: proto.PermRead, ID: proto.Id{Scheme: "ip", ID: "10.0.0.1"}}}
	mustApply(t, tr, at(1, proto.OpCreate), &CreateTxn{Path: "/n", Data: data, ACL: acl, ParentCversion: 1})
	data[0] = 'X'
	acl[0].Perms = proto.PermAll
	got, m, _ := tr.Get("/n")
	assert.Equal(t, []byte("abc"), got)
	assert.Equal(t, proto.PermRead, m.ACL[0].Perms)
	assert.Equal(t, tr.recomputeDigest(), tr.Digest())
}

func TestSetACL(t *testing.T) {
	tr := NewTree()
	mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/a", []byte("1"), 0, 1))
	mustApply(t, tr, at(2, proto.OpCreate), mkCreate("/b", []byte("2"), 0, 2))
	lists := tr.acls.size()

	r := mustApply(t, tr, at(5, proto.OpSetACL), &SetACLTxn{Path: "/a", ACL: digestACL, Version: 1})
	assert.Equal(t, proto.Stat{Czxid: 1, Mzxid: 1, Pzxid: 1, Ctime: 1000, Mtime: 1000, Aversion: 1, DataLength: 1}, r.Stat, "mzxid does not move")
	assert.Empty(t, r.Changes, "setACL fires no watch")
	assert.Equal(t, lists+1, tr.acls.size())

	r = mustApply(t, tr, at(6, proto.OpSetACL), &SetACLTxn{Path: "/b", ACL: []proto.ACL{digestACL[0]}, Version: 7})
	assert.Equal(t, int32(7), r.Stat.Aversion)
	ma, mb := mustMeta(t, tr, "/a"), mustMeta(t, tr, "/b")
	assert.Equal(t, digestACL, mb.ACL)
	assert.Same(t, &ma.ACL[0], &mb.ACL[0], "equal lists are interned into one slice")
	assert.Equal(t, lists+1, tr.acls.size())

	// Setting the same list again keeps it cached; replacing the last user drops it.
	mustApply(t, tr, at(7, proto.OpSetACL), &SetACLTxn{Path: "/a", ACL: digestACL, Version: 2})
	assert.Equal(t, lists+1, tr.acls.size())
	mustApply(t, tr, at(8, proto.OpSetACL), &SetACLTxn{Path: "/a", ACL: proto.OpenACLUnsafe, Version: 3})
	mustApply(t, tr, at(9, proto.OpSetACL), &SetACLTxn{Path: "/b", ACL: nil, Version: 8})
	assert.Equal(t, lists, tr.acls.size())
	assert.Equal(t, proto.OpenACLUnsafe, mustMeta(t, tr, "/b").ACL, "a null list means OPEN_ACL_UNSAFE, as in ZooKeeper")
	assert.Equal(t, tr.recomputeDigest(), tr.Digest())
}

func TestImpossibleTxnsChangeNothing(t *testing.T) {
	tests := []struct {
		name string
		typ  proto.OpCode
		txn  Txn
		want proto.Code
	}{
		{"create existing", proto.OpCreate, mkCreate("/p/c", nil, 0, 9), proto.ErrNodeExists},
		{"create root", proto.OpCreate, mkCreate("/", nil, 0, 9), proto.ErrBadArguments},
		{"create without parent", proto.OpCreate, mkCreate("/missing/c", nil, 0, 1), proto.ErrNoNode},
		{"create relative", proto.OpCreate, mkCreate("p/x", nil, 0, 1), proto.ErrBadArguments},
		{"create trailing slash", proto.OpCreate2, mkCreate("/p/", nil, 0, 1), proto.ErrBadArguments},
		{"create empty path", proto.OpCreate, mkCreate("", nil, 0, 1), proto.ErrBadArguments},
		{"create empty first segment", proto.OpCreate, mkCreate("//x", nil, 0, 1), proto.ErrBadArguments},
		{"create empty inner segment", proto.OpCreate, mkCreate("/p//x", nil, 0, 1), proto.ErrNoNode},
		{"delete missing", proto.OpDelete, &DeleteTxn{Path: "/nope"}, proto.ErrNoNode},
		{"delete non-empty", proto.OpDelete, &DeleteTxn{Path: "/p"}, proto.ErrNotEmpty},
		{"delete root", proto.OpDelete, &DeleteTxn{Path: "/"}, proto.ErrBadArguments},
		{"setData missing", proto.OpSetData, &SetDataTxn{Path: "/nope", Data: []byte("x"), Version: 1}, proto.ErrNoNode},
		{"setACL missing", proto.OpSetACL, &SetACLTxn{Path: "/nope", ACL: digestACL, Version: 1}, proto.ErrNoNode},
		{"error txn", proto.OpError, &ErrorTxn{Err: proto.ErrBadVersion}, proto.ErrBadVersion},
		{"nil txn", proto.OpCreate, nil, proto.ErrUnimplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTree()
			mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/p", []byte("d"), 0, 1))
			mustApply(t, tr, at(2, proto.OpCreate), mkCreate("/p/c", []byte("e"), session1, 1))
			digest, count, size := tr.Digest(), tr.NodeCount(), tr.ApproxDataSize()
			pm := mustMeta(t, tr, "/p")

			r := tr.Apply(at(3, tt.typ), tt.txn)
			assert.Equal(t, tt.want, r.Err)
			assert.Empty(t, r.Changes)
			assert.Equal(t, digest, tr.Digest())
			assert.Equal(t, count, tr.NodeCount())
			assert.Equal(t, size, tr.ApproxDataSize())
			assert.Equal(t, pm, mustMeta(t, tr, "/p"))
			assert.Equal(t, []string{"/p/c"}, tr.Ephemerals(session1))
			assert.Equal(t, int64(3), tr.LastZxid(), "a failed txn still consumes its zxid")
		})
	}
}

func TestNoOpTxns(t *testing.T) {
	tr := NewTree()
	mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/n", []byte("d"), 0, 1))
	digest := tr.Digest()

	r := mustApply(t, tr, at(2, proto.OpCreateSession), &CreateSessionTxn{Timeout: 30000})
	assert.Equal(t, Result{}, r)

	r = mustApply(t, tr, at(3, proto.OpCheck), &CheckTxn{Path: "/n", Version: 0})
	assert.Equal(t, "/n", r.Path)
	assert.Equal(t, mustMeta(t, tr, "/n").Stat, r.Stat)
	assert.Empty(t, r.Changes)

	r = mustApply(t, tr, at(4, proto.OpCheck), &CheckTxn{Path: "/missing", Version: 3})
	assert.Equal(t, proto.Stat{}, r.Stat, "check never validates")

	r = mustApply(t, tr, at(5, proto.OpCloseSession), &CloseSessionTxn{})
	assert.Nil(t, r.Closed, "a session without ephemerals deletes nothing")
	assert.Equal(t, digest, tr.Digest())
	assert.Equal(t, int64(5), tr.LastZxid())
}

func TestCloseSession(t *testing.T) {
	tr := NewTree()
	mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/locks", nil, 0, 1))
	mustApply(t, tr, at(2, proto.OpCreate), mkCreate("/locks/b", nil, session1, 1))
	mustApply(t, tr, at(3, proto.OpCreate), mkCreate("/locks/a", nil, session1, 2))
	mustApply(t, tr, at(4, proto.OpCreate), mkCreate("/e", nil, session1, 2))
	mustApply(t, tr, at(5, proto.OpCreate), mkCreate("/locks/other", nil, session2, 3))
	assert.Equal(t, []string{"/e", "/locks/a", "/locks/b"}, tr.Ephemerals(session1))
	assert.Equal(t, []int64{session1, session2}, tr.EphemeralSessions())
	assert.Equal(t, 4, tr.EphemeralCount())

	r := mustApply(t, tr, Header{Session: session1, Zxid: 9, Time: 9000, Type: proto.OpCloseSession}, &CloseSessionTxn{})
	assert.Equal(t, []string{"/e", "/locks/a", "/locks/b"}, r.Closed)
	// Deepest first, then in path order; each delete fires its two events.
	assert.Equal(t, []Change{
		{Type: proto.EventNodeDeleted, Path: "/locks/a", ACL: proto.OpenACLUnsafe, Zxid: 9},
		{Type: proto.EventNodeChildrenChanged, Path: "/locks", ACL: proto.OpenACLUnsafe, Zxid: 9},
		{Type: proto.EventNodeDeleted, Path: "/locks/b", ACL: proto.OpenACLUnsafe, Zxid: 9},
		{Type: proto.EventNodeChildrenChanged, Path: "/locks", ACL: proto.OpenACLUnsafe, Zxid: 9},
		{Type: proto.EventNodeDeleted, Path: "/e", ACL: proto.OpenACLUnsafe, Zxid: 9},
		{Type: proto.EventNodeChildrenChanged, Path: "/", ACL: proto.OpenACLUnsafe, Zxid: 9},
	}, r.Changes)
	assert.Empty(t, tr.Ephemerals(session1))
	assert.Equal(t, []int64{session2}, tr.EphemeralSessions())
	assert.Equal(t, 1, tr.EphemeralCount())
	assert.Equal(t, []string{"other"}, childSet(t, tr, "/locks"))
	locks := mustMeta(t, tr, "/locks")
	assert.Equal(t, int64(9), locks.Stat.Pzxid)
	assert.Equal(t, int32(3), locks.CreateCount)
	assert.Equal(t, tr.recomputeDigest(), tr.Digest())
}

func TestChildrenAndDescendants(t *testing.T) {
	tr := NewTree()
	paths := []string{"/a", "/a/b", "/a/b/c", "/a/b/d", "/a/e", "/f"}
	for i, p := range paths {
		mustApply(t, tr, at(int64(i+1), proto.OpCreate), mkCreate(p, nil, 0, -1))
	}
	tests := []struct {
		path        string
		children    []string
		descendants int
	}{
		{"/", []string{"a", "f", "zookeeper"}, 9},
		{"/a", []string{"b", "e"}, 4},
		{"/a/b", []string{"c", "d"}, 2},
		{"/a/b/c", []string{}, 0},
		{"/zookeeper", []string{"config", "quota"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			names, m, ok := tr.Children(tt.path)
			require.True(t, ok)
			assert.ElementsMatch(t, tt.children, names)
			assert.Equal(t, int32(len(tt.children)), m.Stat.NumChildren)
			n, ok := tr.CountDescendants(tt.path)
			require.True(t, ok)
			assert.Equal(t, tt.descendants, n)
		})
	}
	_, _, ok := tr.Children("/missing")
	assert.False(t, ok)
	_, ok = tr.CountDescendants("/missing")
	assert.False(t, ok)
}

func TestWalk(t *testing.T) {
	tr := NewTree()
	for i, p := range []string{"/b", "/a", "/a/z", "/a/y", "/a/y/1", "/c"} {
		mustApply(t, tr, at(int64(i+1), proto.OpCreate), mkCreate(p, nil, 0, -1))
	}
	var seen []string
	tr.Walk("/", func(path string, m Meta) bool {
		seen = append(seen, path)
		assert.Equal(t, mustMeta(t, tr, path), m)
		return true
	})
	assert.Equal(t, []string{"/", "/a", "/a/y", "/a/y/1", "/a/z", "/b", "/c",
		"/zookeeper", "/zookeeper/config", "/zookeeper/quota"}, seen)

	seen = nil
	tr.Walk("/a", func(path string, _ Meta) bool {
		seen = append(seen, path)
		return path != "/a/y"
	})
	assert.Equal(t, []string{"/a", "/a/y"}, seen, "returning false stops the walk")

	tr.Walk("/missing", func(string, Meta) bool {
		t.Fatal("no node, no call")
		return true
	})
}

func TestExpiredContainers(t *testing.T) {
	tr := NewTree()
	// zxid z happens at time 1000*z.
	mustApply(t, tr, at(1, proto.OpCreateContainer), mkCreate("/used", nil, proto.ContainerOwner, 1))
	mustApply(t, tr, at(2, proto.OpCreate), mkCreate("/used/child", nil, 0, 1))
	mustApply(t, tr, at(3, proto.OpDelete), &DeleteTxn{Path: "/used/child"})
	mustApply(t, tr, at(4, proto.OpCreateContainer), mkCreate("/fresh", nil, proto.ContainerOwner, 2))
	mustApply(t, tr, at(5, proto.OpCreateContainer), mkCreate("/busy", nil, proto.ContainerOwner, 3))
	mustApply(t, tr, at(6, proto.OpCreate), mkCreate("/busy/child", nil, 0, 1))
	mustApply(t, tr, at(10, proto.OpCreateTTL), mkCreate("/ttl", nil, ttlOwner, 4)) // 5 s ttl, mtime 10000
	mustApply(t, tr, at(11, proto.OpCreateTTL), mkCreate("/ttl-parent", nil, proto.TTLOwnerMask|1, 5))
	mustApply(t, tr, at(12, proto.OpCreate), mkCreate("/ttl-parent/c", nil, 0, 1))
	mustApply(t, tr, at(13, proto.OpCreateTTL), mkCreate("/ttl-zero", nil, proto.TTLOwnerMask, 6))
	mustApply(t, tr, at(14, proto.OpCreate), mkCreate("/plain", nil, 0, 7))
	mustApply(t, tr, at(15, proto.OpCreate), mkCreate("/eph", nil, session1, 8))

	tests := []struct {
		name       string
		now        int64
		neverUsed  int64
		setDataTTL bool
		want       []string
	}{
		{"used empty container goes at once", 10000, 0, false, []string{"/used"}},
		{"ttl not yet elapsed", 15000, 0, false, []string{"/used"}},
		{"ttl elapsed (strictly greater)", 15001, 0, false, []string{"/ttl", "/used"}},
		{"never-used container after maxNeverUsed", 15001, 11000, false, []string{"/fresh", "/ttl", "/used"}},
		{"never-used container not yet", 15000, 11000, false, []string{"/used"}},
		{"setData refreshes a ttl", 20000, 0, true, []string{"/used"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setDataTTL {
				mustApply(t, tr, at(19, proto.OpSetData), &SetDataTxn{Path: "/ttl", Data: []byte("x"), Version: 1})
			}
			assert.Equal(t, tt.want, tr.ExpiredContainers(tt.now, tt.neverUsed))
		})
	}
	mustApply(t, tr, at(20, proto.OpDeleteContainer), &DeleteTxn{Path: "/used"})
	assert.Empty(t, tr.ExpiredContainers(20000, 0))
	assert.Len(t, tr.reapable, 5, "deleted containers leave the reaper's set")
}

func TestTTLOf(t *testing.T) {
	tests := []struct {
		owner int64
		ttl   int64
		ok    bool
	}{
		{proto.TTLOwnerMask | 5000, 5000, true},
		{proto.TTLOwnerMask | proto.MaxTTL, proto.MaxTTL, true},
		{proto.TTLOwnerMask, 0, true},
		{proto.ContainerOwner, 0, false},
		{0, 0, false},
		{session1, 0, false},
		{proto.TTLOwnerMask | 1<<40, 0, false}, // another extended type
	}
	for _, tt := range tests {
		ttl, ok := TTLOf(tt.owner)
		assert.Equal(t, tt.ok, ok, "%#x", tt.owner)
		assert.Equal(t, tt.ttl, ttl, "%#x", tt.owner)
	}
}

// TestLookupComparesWholePath checks that a node, which stores only its
// name, is found by its exact full path and by no look-alike: the same name
// under another parent, a parent whose path is a prefix of another, or
// spellings with empty segments.
func TestLookupComparesWholePath(t *testing.T) {
	tr := NewTree()
	for i, p := range []string{"/a", "/ab", "/a/b", "/a/bb", "/ab/b", "/b", "/b/a", "/a/b/c"} {
		mustApply(t, tr, at(int64(i+1), proto.OpCreate), mkCreate(p, []byte(p), 0, -1))
	}
	tests := []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/a", true},
		{"/ab", true},
		{"/a/b", true},
		{"/a/bb", true},
		{"/ab/b", true},
		{"/b/a", true},
		{"/a/b/c", true},
		{"/zookeeper/quota", true},
		{"", false},
		{"a", false},
		{"//a", false},
		{"/a//b", false},
		{"/a/b/", false},
		{"/a/a", false},
		{"/b/b", false},
		{"/ab/bb", false},
		{"/a/b/c/d", false},
		{"/x/a/b", false},
		{"a/b", false},
		{"/quota", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			data, _, ok := tr.Get(tt.path)
			require.Equal(t, tt.ok, ok)
			if ok && tt.path != "/" && !strings.HasPrefix(tt.path, ZooKeeperPath) {
				assert.Equal(t, tt.path, string(data), "the node created with its path as data")
			}
		})
	}
}

// TestDataSlicesStayImmutable checks that data handed out by Get survives
// a later setData, and that appending to it cannot reach the node.
func TestDataSlicesStayImmutable(t *testing.T) {
	tr := NewTree()
	mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/n", []byte("first"), 0, -1))
	old, _, ok := tr.Get("/n")
	require.True(t, ok)
	require.Equal(t, len(old), cap(old), "no spare capacity after the data")
	_ = append(old, "tail"...)
	mustApply(t, tr, at(2, proto.OpSetData), &SetDataTxn{Path: "/n", Data: []byte("second!"), Version: 1})
	assert.Equal(t, "first", string(old), "the old slice is untouched")
	cur, _, _ := tr.Get("/n")
	assert.Equal(t, "second!", string(cur))
	names, _, _ := tr.Children("/")
	assert.Contains(t, names, "n", "the name survives the new buffer")
	assert.Equal(t, tr.recomputeDigest(), tr.Digest())
}

// TestStatFieldsWithoutExtension checks that a node keeps its rarely
// changed stat fields out of line only once they differ from their creation
// values, and that Stat and Meta are the same either way: a plain create
// allocates neither an extension nor a children record; an owner, a
// setData or a setACL allocates the extension; a child allocates the
// children record, which holds the stored cversion and pzxid; a node that
// needs both moves the one it had into a combined record.
func TestStatFieldsWithoutExtension(t *testing.T) {
	tests := []struct {
		name     string
		txns     []Txn
		wantExt  bool
		wantKids bool
		want     proto.Stat
		owner    int64
	}{
		{
			name: "plain create",
			txns: []Txn{mkCreate("/p", []byte("ab"), 0, -1)},
			want: proto.Stat{Czxid: 1, Mzxid: 1, Ctime: 1001, Mtime: 1001, DataLength: 2, Pzxid: 1},
		},
		{
			name:    "ephemeral",
			txns:    []Txn{mkCreate("/p", nil, 42, -1)},
			wantExt: true,
			want:    proto.Stat{Czxid: 1, Mzxid: 1, Ctime: 1001, Mtime: 1001, EphemeralOwner: 42, Pzxid: 1},
			owner:   42,
		},
		{
			name:    "container",
			txns:    []Txn{mkCreate("/p", nil, proto.ContainerOwner, -1)},
			wantExt: true,
			want:    proto.Stat{Czxid: 1, Mzxid: 1, Ctime: 1001, Mtime: 1001, Pzxid: 1},
			owner:   proto.ContainerOwner,
		},
		{
			name:    "set data",
			txns:    []Txn{mkCreate("/p", nil, 0, -1), &SetDataTxn{Path: "/p", Data: []byte("xyz"), Version: 1}},
			wantExt: true,
			want:    proto.Stat{Czxid: 1, Mzxid: 2, Ctime: 1001, Mtime: 1002, Version: 1, DataLength: 3, Pzxid: 1},
		},
		{
			name:    "set acl",
			txns:    []Txn{mkCreate("/p", nil, 0, -1), &SetACLTxn{Path: "/p", ACL: proto.ReadACLUnsafe, Version: 1}},
			wantExt: true,
			want:    proto.Stat{Czxid: 1, Mzxid: 1, Ctime: 1001, Mtime: 1001, Aversion: 1, Pzxid: 1},
		},
		{
			name:     "child created and deleted",
			txns:     []Txn{mkCreate("/p", nil, 0, -1), mkCreate("/p/c", nil, 0, -1), &DeleteTxn{Path: "/p/c"}},
			wantKids: true,
			want:     proto.Stat{Czxid: 1, Mzxid: 1, Ctime: 1001, Mtime: 1001, Cversion: 2, Pzxid: 3},
		},
		{
			name:     "set data, then a child",
			txns:     []Txn{mkCreate("/p", nil, 0, -1), &SetDataTxn{Path: "/p", Data: []byte("x"), Version: 1}, mkCreate("/p/c", nil, 0, -1)},
			wantExt:  true,
			wantKids: true,
			want: proto.Stat{Czxid: 1, Mzxid: 2, Ctime: 1001, Mtime: 1002, Version: 1, Cversion: 1,
				DataLength: 1, NumChildren: 1, Pzxid: 3},
		},
		{
			name:     "a child, then set data",
			txns:     []Txn{mkCreate("/p", nil, 0, -1), mkCreate("/p/c", nil, 0, -1), &SetDataTxn{Path: "/p", Data: []byte("x"), Version: 1}},
			wantExt:  true,
			wantKids: true,
			want: proto.Stat{Czxid: 1, Mzxid: 3, Ctime: 1001, Mtime: 1003, Version: 1, Cversion: 1,
				DataLength: 1, NumChildren: 1, Pzxid: 2},
		},
		{
			name: "a child, set acl, child deleted",
			txns: []Txn{mkCreate("/p", nil, 0, -1), mkCreate("/p/c", nil, 0, -1),
				&SetACLTxn{Path: "/p", ACL: proto.ReadACLUnsafe, Version: 1}, &DeleteTxn{Path: "/p/c"}},
			wantExt:  true,
			wantKids: true,
			want:     proto.Stat{Czxid: 1, Mzxid: 1, Ctime: 1001, Mtime: 1001, Aversion: 1, Cversion: 2, Pzxid: 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTree()
			for i, txn := range tt.txns {
				r := tr.Apply(Header{Zxid: int64(i + 1), Time: int64(1001 + i)}, txn)
				require.Equal(t, proto.OK, r.Err)
			}
			n, ok := tr.lookup("/p")
			require.True(t, ok)
			assert.Equal(t, tt.wantExt, n.ext() != nil, "extension allocated")
			assert.Equal(t, tt.wantKids, n.kids() != nil, "children record allocated")
			_, m, ok := tr.Get("/p")
			require.True(t, ok)
			assert.Equal(t, tt.want, m.Stat)
			assert.Equal(t, tt.owner, m.Owner)
			assert.Equal(t, tr.recomputeDigest(), tr.Digest())
		})
	}
}

// TestNameLengths checks names whose length prefix in the node's buffer
// takes one, two and three bytes, with null, empty and non-empty data.
func TestNameLengths(t *testing.T) {
	tests := []struct {
		nameLen int
		data    []byte
	}{
		{1, nil},
		{1, []byte{}},
		{1, []byte("d")},
		{127, []byte("data")},
		{128, nil},
		{128, []byte("data")},
		{300, []byte{}},
		{20000, []byte("data")},
	}
	tr := NewTree()
	mustApply(t, tr, at(1, proto.OpCreate), mkCreate("/p", nil, 0, -1))
	var names []string
	for i, tt := range tests {
		name := strings.Repeat(string(rune('a'+i)), tt.nameLen)
		names = append(names, name)
		mustApply(t, tr, at(int64(i+2), proto.OpCreate), mkCreate("/p/"+name, tt.data, 0, -1))
	}
	for i, tt := range tests {
		data, m, ok := tr.Get("/p/" + names[i])
		require.True(t, ok, "name length %d", tt.nameLen)
		assert.Equal(t, tt.data, data, "name length %d", tt.nameLen)
		assert.Equal(t, int32(len(tt.data)), m.Stat.DataLength)
	}
	got, _, ok := tr.Children("/p")
	require.True(t, ok)
	assert.ElementsMatch(t, names, got)
	var walked []string
	tr.Walk("/p", func(path string, _ Meta) bool {
		walked = append(walked, path)
		return true
	})
	require.Len(t, walked, len(names)+1)
	for i, name := range names {
		assert.Equal(t, "/p/"+name, walked[i+1])
	}
	assert.Equal(t, tr.recomputeDigest(), tr.Digest())
}
