package prep

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
)

// Sessions used throughout the tests.
var (
	userDigest = proto.Id{Scheme: "digest", ID: "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ="} // u:p
	anon       = Session{ID: 0x100, Ids: []proto.Id{{Scheme: "ip", ID: "127.0.0.1"}}}
	user       = Session{ID: 0x200, Ids: []proto.Id{{Scheme: "ip", ID: "127.0.0.1"}, userDigest}}
	admin      = Session{ID: 0x300, Ids: []proto.Id{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "super", ID: ""}}}
)

var (
	open       = proto.OpenACLUnsafe
	readOnly   = proto.ReadACLUnsafe
	writeOnly  = []proto.ACL{{Perms: proto.PermWrite, ID: proto.WorldAnyone}}
	badACL     = []proto.ACL{{Perms: proto.PermAll, ID: proto.Id{Scheme: "world", ID: "foo"}}}
	creatorAll = proto.CreatorAllACL
)

// proposal is a prepared transaction waiting to be applied.
type proposal struct {
	h   znode.Header
	txn znode.Txn
}

// env is a Preparer over a real tree, with the transactions it prepared
// waiting to be applied in zxid order, as the replica would.
type env struct {
	t       *testing.T
	tree    *znode.Tree
	p       *Preparer
	zxid    int64
	pending []proposal
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	tree := znode.NewTree()
	return &env{t: t, tree: tree, p: New(tree, cfg)}
}

func (e *env) header(op proto.OpCode, s Session) znode.Header {
	e.zxid++
	return znode.Header{Session: s.ID, Cxid: int32(e.zxid), Zxid: e.zxid, Time: 1000 + e.zxid, Type: op}
}

// prep prepares a request and queues it if it succeeded.
func (e *env) prep(op proto.OpCode, req any, s Session) (znode.Txn, proto.Code) {
	h := e.header(op, s)
	txn, code := e.p.Prepare(h, req, s)
	if code == proto.OK {
		e.pending = append(e.pending, proposal{h, txn})
	}
	return txn, code
}

// must prepares a request that has to succeed.
func (e *env) must(op proto.OpCode, req any, s Session) znode.Txn {
	e.t.Helper()
	txn, code := e.prep(op, req, s)
	require.Equal(e.t, proto.OK, code, "%s %+v", op, req)
	return txn
}

// fail prepares a request that has to fail with want and checks that it
// recorded nothing.
func (e *env) fail(op proto.OpCode, req any, s Session, want proto.Code) znode.Txn {
	e.t.Helper()
	before := e.p.Pending()
	txn, code := e.prep(op, req, s)
	require.Equal(e.t, want, code, "%s %+v", op, req)
	require.Equal(e.t, before, e.p.Pending(), "a failed request records nothing")
	return txn
}

// closeSession prepares the close of s.
func (e *env) closeSession(s Session) znode.Txn {
	h := e.header(proto.OpCloseSession, s)
	txn := e.p.PrepareCloseSession(h, e.tree.Ephemerals(s.ID))
	e.pending = append(e.pending, proposal{h, txn})
	return txn
}

// applyN applies the oldest n pending transactions.
func (e *env) applyN(n int) {
	e.t.Helper()
	for _, pr := range e.pending[:n] {
		res := e.tree.Apply(pr.h, pr.txn)
		require.Equal(e.t, proto.OK, res.Err, "apply %s %+v", pr.h.Type, pr.txn)
		e.p.Applied(pr.h.Zxid)
	}
	e.pending = e.pending[n:]
}

// applyAll applies every pending transaction; the overlay is then empty.
func (e *env) applyAll() {
	e.t.Helper()
	e.applyN(len(e.pending))
	require.Zero(e.t, e.p.Pending(), "overlay empty once everything is applied")
}

func (e *env) meta(path string) znode.Meta {
	e.t.Helper()
	m, ok := e.tree.Meta(path)
	require.True(e.t, ok, "node %s", path)
	return m
}

func (e *env) exists(path string) bool {
	_, ok := e.tree.Meta(path)
	return ok
}

func create(path string, flags int32, acl []proto.ACL) *proto.CreateRequest {
	return &proto.CreateRequest{Path: path, Data: []byte("d"), ACL: acl, Flags: flags}
}

func createTTL(path string, flags int32, ttl int64) *proto.CreateTTLRequest {
	return &proto.CreateTTLRequest{Path: path, Data: []byte("d"), ACL: open, Flags: flags, TTL: ttl}
}

func del(path string, version int32) *proto.DeleteRequest {
	return &proto.DeleteRequest{Path: path, Version: version}
}

func setData(path string, data string, version int32) *proto.SetDataRequest {
	return &proto.SetDataRequest{Path: path, Data: []byte(data), Version: version}
}

func setACL(path string, acl []proto.ACL, version int32) *proto.SetACLRequest {
	return &proto.SetACLRequest{Path: path, ACL: acl, Version: version}
}

func check(path string, version int32) *proto.CheckVersionRequest {
	return &proto.CheckVersionRequest{Path: path, Version: version}
}

func multi(ops ...proto.MultiOp) *proto.MultiRequest { return &proto.MultiRequest{Ops: ops} }

func op(t proto.OpCode, r proto.Record) proto.MultiOp { return proto.MultiOp{Type: t, Req: r} }

// fakeView serves fixed metadata, for states a real tree cannot reach
// quickly (counters at their limits).
type fakeView map[string]znode.Meta

func (f fakeView) Meta(path string) (znode.Meta, bool) {
	m, ok := f[path]
	return m, ok
}

func (f fakeView) Get(path string) ([]byte, znode.Meta, bool) {
	m, ok := f[path]
	return nil, m, ok
}
