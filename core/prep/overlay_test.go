package prep

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
)

// errorOps is the MultiTxn of a multi whose op failed with code after ok
// successful ops, followed by rest ops.
func errorOps(ok int, code proto.Code, rest int) *znode.MultiTxn {
	var m znode.MultiTxn
	add := func(c proto.Code) {
		m.Ops = append(m.Ops, znode.SubTxn{Type: proto.OpError, Txn: &znode.ErrorTxn{Err: c}})
	}
	for range ok {
		add(proto.OK)
	}
	add(code)
	for range rest {
		add(proto.ErrRuntimeInconsistency)
	}
	return &m
}

func TestMultiFailurePattern(t *testing.T) {
	tests := []struct {
		name string
		req  *proto.MultiRequest
		code proto.Code
		want *znode.MultiTxn
	}{
		{"zk: create parent, child, duplicate, then more", multi(
			op(proto.OpCreate, create("/m", 0, open)),
			op(proto.OpCreate, create("/m/c", proto.ModePersistentSequential, open)),
			op(proto.OpCreate, create("/m", 0, open)),
			op(proto.OpDelete, del("/m/x", -1)),
		), proto.ErrNodeExists, errorOps(2, proto.ErrNodeExists, 1)},
		{"zk: check of a missing node", multi(op(proto.OpCheck, check("/nope", -1))), proto.ErrNoNode, errorOps(0, proto.ErrNoNode, 0)},
		{"first op fails", multi(
			op(proto.OpSetData, setData("/t", "x", 3)),
			op(proto.OpCreate, create("/ok", 0, open)),
			op(proto.OpCreate, create("/ok2", 0, open)),
		), proto.ErrBadVersion, errorOps(0, proto.ErrBadVersion, 2)},
		{"last op fails", multi(
			op(proto.OpCreate, create("/ok", 0, open)),
			op(proto.OpSetData, setData("/ok", "x", 0)),
			op(proto.OpSetData, setData("/ok", "x", 0)),
		), proto.ErrBadVersion, errorOps(2, proto.ErrBadVersion, 0)},
		{"ACL failure", multi(
			op(proto.OpCreate, create("/ro/y", 0, open)),
		), proto.ErrNoAuth, errorOps(0, proto.ErrNoAuth, 0)},
		{"delete of a node created in the same multi, then its parent twice", multi(
			op(proto.OpCreate, create("/d", 0, open)),
			op(proto.OpCreate, create("/d/x", 0, open)),
			op(proto.OpDelete, del("/d/x", -1)),
			op(proto.OpDelete, del("/d", 0)),
			op(proto.OpDelete, del("/d", -1)),
		), proto.ErrNoNode, errorOps(4, proto.ErrNoNode, 0)},
		{"a TTL op with extended types on but a bad ttl", multi(
			op(proto.OpCreate, create("/ok", 0, open)),
			op(proto.OpCreateTTL, createTTL("/ttl", proto.ModePersistentWithTTL, 0)),
		), proto.ErrBadArguments, errorOps(1, proto.ErrBadArguments, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fixture(t, extended)
			// Something already pending must survive the failed multi.
			e.must(proto.OpCreate, create("/pending", 0, open), anon)
			txn := e.fail(proto.OpMulti, tt.req, anon, tt.code)
			assert.Equal(t, tt.want, txn)
			assert.Len(t, txn.(*znode.MultiTxn).Ops, len(tt.req.Ops))
			e.fail(proto.OpCreate, create("/pending", 0, open), anon, proto.ErrNodeExists)
			e.must(proto.OpCreate, create("/ok", 0, open), anon) // nothing of the multi was recorded
			e.applyAll()
		})
	}
}

// A multi that holds an operation a multi cannot carry fails as a whole,
// like ZooKeeper's MultiOperationRecord, with nothing of it recorded.
func TestMultiRejectsForeignOps(t *testing.T) {
	tests := []struct {
		name string
		req  *proto.MultiRequest
	}{
		{"zk: getData", multi(op(proto.OpCreate, create("/mg", 0, open)), op(proto.OpGetData, &proto.GetDataRequest{Path: "/"}))},
		{"getChildren", multi(op(proto.OpGetChildren, &proto.GetChildrenRequest{Path: "/"}))},
		{"setACL", multi(op(proto.OpCreate, create("/mg", 0, open)), op(proto.OpSetACL, setACL("/t", open, -1)))},
		{"deleteContainer", multi(op(proto.OpDeleteContainer, del("/cont", -1)))},
		{"nested multi", multi(op(proto.OpMulti, multi()))},
		{"record of the wrong type", multi(op(proto.OpCreate, del("/t", -1)))},
		{"createTTL with a create record", multi(op(proto.OpCreateTTL, create("/x", proto.ModePersistentWithTTL, open)))},
		{"nil record", multi(op(proto.OpDelete, nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fixture(t, extended)
			txn := e.fail(proto.OpMulti, tt.req, anon, proto.ErrMarshallingError)
			assert.Equal(t, &znode.ErrorTxn{Err: proto.ErrMarshallingError}, txn)
			e.must(proto.OpCreate, create("/mg", 0, open), anon)
		})
	}
}

func TestMultiSuccess(t *testing.T) {
	e := fixture(t, extended)
	req := multi(
		op(proto.OpCreate, create("/m", 0, open)),
		op(proto.OpCreate, create("/m/c", proto.ModePersistentSequential, open)),
		op(proto.OpCreate2, create("/m/c", proto.ModePersistentSequential, open)),
		op(proto.OpSetData, setData("/m", "a", 0)),
		op(proto.OpSetData, setData("/m", "b", 1)),
		op(proto.OpCheck, check("/m", 2)),
		op(proto.OpDelete, del("/m/c0000000000", 0)),
		op(proto.OpCreateContainer, create("/m/cc", proto.ModeContainer, open)),
		op(proto.OpCreateTTL, createTTL("/m/tt", proto.ModePersistentWithTTL, 100000)),
		op(proto.OpCreate, create("/m/e", proto.ModeEphemeral, open)),
	)
	txn := e.must(proto.OpMulti, req, user)
	m, ok := txn.(*znode.MultiTxn)
	require.True(t, ok)
	types := make([]proto.OpCode, len(m.Ops))
	for i, o := range m.Ops {
		types[i] = o.Type
	}
	assert.Equal(t, []proto.OpCode{
		proto.OpCreate, proto.OpCreate, proto.OpCreate2, proto.OpSetData, proto.OpSetData,
		proto.OpCheck, proto.OpDelete, proto.OpCreateContainer, proto.OpCreateTTL, proto.OpCreate,
	}, types, "sub-txn types are the clients' opcodes")
	assert.Equal(t, "/m/c0000000000", m.Ops[1].Txn.(*znode.CreateTxn).Path)
	assert.Equal(t, "/m/c0000000001", m.Ops[2].Txn.(*znode.CreateTxn).Path)
	assert.Equal(t, &znode.SetDataTxn{Path: "/m", Data: []byte("b"), Version: 2}, m.Ops[4].Txn)
	assert.Equal(t, &znode.CheckTxn{Path: "/m", Version: 2}, m.Ops[5].Txn)
	assert.Equal(t, user.ID, m.Ops[9].Txn.(*znode.CreateTxn).Owner)

	// A pipelined request sees the whole multi.
	e.fail(proto.OpSetData, setData("/m", "c", 1), anon, proto.ErrBadVersion)
	e.fail(proto.OpDelete, del("/m", -1), anon, proto.ErrNotEmpty)
	seq := e.must(proto.OpCreate, create("/m/s", proto.ModePersistentSequential, open), anon)
	assert.Equal(t, "/m/s0000000005", seq.(*znode.CreateTxn).Path)

	e.applyAll()
	// ZooKeeper 3.8.0 reports version 2, cversion 5 (4 creates*2 - 3
	// children) after the same multi without the ephemeral.
	st := e.meta("/m").Stat
	assert.Equal(t, int32(2), st.Version)
	assert.Equal(t, int32(5), st.NumChildren)
	assert.Equal(t, int32(6*2-5), st.Cversion)
	assert.False(t, e.exists("/m/c0000000000"))
}

func TestEmptyMulti(t *testing.T) {
	e := newEnv(t, extended)
	txn := e.must(proto.OpMulti, multi(), anon)
	assert.Equal(t, &znode.MultiTxn{Ops: []znode.SubTxn{}}, txn)
	assert.Zero(t, e.p.Pending())
	e.applyAll()
}

func TestPipelinedRequestsSeeEachOther(t *testing.T) {
	e := newEnv(t, extended)
	e.must(proto.OpCreate, create("/a", 0, open), anon)
	e.fail(proto.OpCreate, create("/a", 0, open), anon, proto.ErrNodeExists)
	e.must(proto.OpCreate, create("/a/b", 0, open), anon)
	e.fail(proto.OpDelete, del("/a", -1), anon, proto.ErrNotEmpty)
	e.must(proto.OpSetData, setData("/a", "1", 0), anon)
	e.fail(proto.OpSetData, setData("/a", "2", 0), anon, proto.ErrBadVersion)
	e.must(proto.OpSetData, setData("/a", "2", 1), anon)
	e.fail(proto.OpCheck, check("/a", 1), anon, proto.ErrBadVersion)
	e.must(proto.OpCheck, check("/a", 2), anon)
	e.must(proto.OpDelete, del("/a/b", 0), anon)
	e.fail(proto.OpDelete, del("/a/b", -1), anon, proto.ErrNoNode)
	e.must(proto.OpDelete, del("/a", 2), anon)
	e.fail(proto.OpCreate, create("/a/b", 0, open), anon, proto.ErrNoNode)
	// Re-create: a fresh node, versions from zero.
	e.must(proto.OpCreate, create("/a", 0, open), anon)
	e.must(proto.OpSetData, setData("/a", "x", 0), anon)
	// setACL takes effect for later requests.
	e.must(proto.OpSetACL, setACL("/a", readOnly, 0), anon)
	e.fail(proto.OpCreate, create("/a/c", 0, open), anon, proto.ErrNoAuth)
	e.fail(proto.OpSetACL, setACL("/a", open, 1), anon, proto.ErrNoAuth)
	e.must(proto.OpSetACL, setACL("/a", open, 1), admin)
	e.must(proto.OpCreate, create("/a/c", 0, open), anon)
	// A pending ephemeral cannot get children.
	e.must(proto.OpCreate, create("/eph", proto.ModeEphemeral, open), anon)
	e.fail(proto.OpCreate, create("/eph/x", 0, open), anon, proto.ErrNoChildrenForEphemerals)
	// A pending container can be reaped only while empty.
	e.must(proto.OpCreateContainer, create("/box", proto.ModeContainer, open), anon)
	e.must(proto.OpCreate, create("/box/x", 0, open), anon)
	e.fail(proto.OpDeleteContainer, del("/box", -1), Session{}, proto.ErrNotEmpty)

	e.applyAll()
	m := e.meta("/a")
	assert.Equal(t, int32(1), m.Stat.Version)
	assert.Equal(t, int32(2), m.Stat.Aversion)
	assert.Equal(t, open, m.ACL)
	assert.True(t, e.exists("/a/c"))
	assert.False(t, e.exists("/a/b"))
}

func TestSequentialNumberingAcrossPendingCreates(t *testing.T) {
	e := newEnv(t, extended)
	e.must(proto.OpCreate, create("/q", 0, open), anon)
	name := func() string {
		return e.must(proto.OpCreate, create("/q/n-", proto.ModeEphemeralSequential, open), anon).(*znode.CreateTxn).Path
	}
	assert.Equal(t, "/q/n-0000000000", name())
	assert.Equal(t, "/q/n-0000000001", name())
	e.applyN(2) // /q and the first child applied
	assert.Equal(t, "/q/n-0000000002", name())
	// A delete does not give a number back; a failed create takes none.
	e.must(proto.OpDelete, del("/q/n-0000000000", -1), anon)
	e.fail(proto.OpCreate, create("/q/n-0000000001", 0, open), anon, proto.ErrNodeExists)
	e.fail(proto.OpCreate, create("/q/x", 0, badACL), anon, proto.ErrInvalidACL)
	assert.Equal(t, "/q/n-0000000003", name())
	// A manual create takes a number too (the counter counts creates).
	e.must(proto.OpCreate, create("/q/n-0000000005", 0, open), anon)
	e.fail(proto.OpCreate, create("/q/n-", proto.ModePersistentSequential, open), anon, proto.ErrNodeExists)
	// The failure took no number, so the next try collides again until
	// some other create moves the counter on.
	e.fail(proto.OpCreate, create("/q/n-", proto.ModePersistentSequential, open), anon, proto.ErrNodeExists)
	e.must(proto.OpCreate, create("/q/other", 0, open), anon)
	assert.Equal(t, "/q/n-0000000006", e.must(proto.OpCreate, create("/q/n-", proto.ModePersistentSequential, open), anon).(*znode.CreateTxn).Path)
	e.applyAll()
	assert.Equal(t, int32(7), e.meta("/q").CreateCount)
	// The applied tree continues the same sequence.
	assert.Equal(t, "/q/n-0000000007", name())
	e.applyAll()
}

func TestAppliedKeepsNewerRecords(t *testing.T) {
	e := newEnv(t, extended)
	e.must(proto.OpCreate, create("/a", 0, open), anon)   // zxid 1: records / and /a
	e.must(proto.OpSetData, setData("/a", "x", 0), anon)  // zxid 2: /a
	e.must(proto.OpCreate, create("/b", 0, open), anon)   // zxid 3: / and /b
	e.must(proto.OpSetData, setData("/b", "x", -1), anon) // zxid 4: /b
	assert.Equal(t, 6, e.p.Pending())

	e.applyN(1)
	assert.Equal(t, 4, e.p.Pending())
	// /a's newest record (zxid 2) is still in force over the tree.
	e.fail(proto.OpSetData, setData("/a", "y", 0), anon, proto.ErrBadVersion)
	e.applyN(1)
	assert.Equal(t, 3, e.p.Pending())
	e.must(proto.OpSetData, setData("/a", "y", 1), anon) // zxid 6 (5 was the failure)
	e.applyAll()
	assert.Equal(t, int32(2), e.meta("/a").Stat.Version)
	assert.Equal(t, int32(1), e.meta("/b").Stat.Version)

	// Applied with a zxid beyond everything is harmless.
	e.p.Applied(1 << 40)
	assert.Zero(t, e.p.Pending())
}

func TestReset(t *testing.T) {
	e := newEnv(t, extended)
	e.must(proto.OpCreate, create("/a", 0, open), anon)
	e.must(proto.OpCreate, create("/a/b", 0, open), anon)
	require.Equal(t, 4, e.p.Pending(), "/ and /a, then /a and /a/b")
	e.p.Reset()
	e.pending = nil // the prepared transactions will never be applied
	assert.Zero(t, e.p.Pending())
	e.fail(proto.OpCreate, create("/a/b", 0, open), anon, proto.ErrNoNode)
	e.must(proto.OpCreate, create("/a", 0, open), anon)
	e.applyAll()
	assert.True(t, e.exists("/a"))
}

func TestPrepareCloseSession(t *testing.T) {
	e := newEnv(t, extended)
	e.must(proto.OpCreate, create("/p", 0, open), anon)
	e.must(proto.OpCreate, create("/p/applied", proto.ModeEphemeral, open), user)
	e.must(proto.OpCreate, create("/p/gone", proto.ModeEphemeral, open), user)
	e.must(proto.OpCreate, create("/p/taken", proto.ModeEphemeral, open), user)
	e.must(proto.OpCreate, create("/q", proto.ModeEphemeral, open), anon)
	e.applyAll()
	require.Equal(t, []string{"/p/applied", "/p/gone", "/p/taken"}, e.tree.Ephemerals(user.ID))

	// Pending: a new ephemeral, a delete, and a node of the session replaced
	// by another session's.
	e.must(proto.OpCreate, create("/p/pending", proto.ModeEphemeral, open), user)
	e.must(proto.OpDelete, del("/p/gone", -1), anon)
	e.must(proto.OpDelete, del("/p/taken", -1), anon)
	e.must(proto.OpCreate, create("/p/taken", proto.ModeEphemeral, open), anon)

	txn := e.closeSession(user)
	assert.Equal(t, &znode.CloseSessionTxn{}, txn)

	// Later requests see the session's ephemerals gone, and only those.
	e.must(proto.OpCreate, create("/p/applied", 0, open), anon)
	e.must(proto.OpCreate, create("/p/pending", 0, open), anon)
	e.fail(proto.OpCreate, create("/p/taken", 0, open), anon, proto.ErrNodeExists)
	e.must(proto.OpDelete, del("/p/applied", -1), anon)
	e.must(proto.OpDelete, del("/p/pending", -1), anon)
	e.must(proto.OpDelete, del("/p/taken", -1), anon)
	e.must(proto.OpDelete, del("/p", -1), anon) // its children count went down with the close

	e.applyAll()
	assert.False(t, e.exists("/p"))
	assert.Empty(t, e.tree.Ephemerals(user.ID))
	assert.Equal(t, []string{"/q"}, e.tree.Ephemerals(anon.ID))
}

func TestPrepareCloseSessionWithNothingToDelete(t *testing.T) {
	e := newEnv(t, extended)
	assert.Equal(t, &znode.CloseSessionTxn{}, e.closeSession(user))
	assert.Zero(t, e.p.Pending())
	// A stale list naming nodes the session no longer owns changes nothing.
	e.must(proto.OpCreate, create("/x", 0, open), anon)
	h := e.header(proto.OpCloseSession, user)
	e.p.PrepareCloseSession(h, []string{"/x", "/missing", "bad"})
	assert.Equal(t, 2, e.p.Pending())
	e.must(proto.OpDelete, del("/x", -1), anon)
}

// The overlay's answers must not depend on when the tree catches up: for a
// fixed script, every prefix of applied transactions yields the same codes
// and transactions.
func TestOverlayIndependentOfApplyTiming(t *testing.T) {
	type req struct {
		op  proto.OpCode
		req any
		s   Session
	}
	script := []req{
		{proto.OpCreate, create("/a", 0, open), anon},
		{proto.OpCreate, create("/a/s", proto.ModeEphemeralSequential, open), user},
		{proto.OpCreate, create("/a/s", proto.ModePersistentSequential, open), anon},
		{proto.OpSetData, setData("/a", "1", 0), anon},
		{proto.OpSetData, setData("/a", "2", 0), anon},
		{proto.OpDelete, del("/a/s0000000001", -1), anon},
		{proto.OpMulti, multi(op(proto.OpCheck, check("/a", 1)), op(proto.OpCreate, create("/a/m", 0, open))), anon},
		{proto.OpMulti, multi(op(proto.OpCreate, create("/a/m", 0, open))), anon},
		{proto.OpSetACL, setACL("/a", readOnly, 0), anon},
		{proto.OpCreate, create("/a/denied", 0, open), anon},
		{proto.OpCloseSession, nil, user},
		{proto.OpCreate, create("/a/s", proto.ModePersistentSequential, open), admin},
		{proto.OpDelete, del("/a/s0000000003", -1), admin},
	}
	run := func(applyEvery int) ([]znode.Txn, []proto.Code, uint64) {
		e := newEnv(t, extended)
		var txns []znode.Txn
		var codes []proto.Code
		for i, r := range script {
			if r.op == proto.OpCloseSession {
				txns = append(txns, e.closeSession(r.s))
				codes = append(codes, proto.OK)
			} else {
				txn, code := e.prep(r.op, r.req, r.s)
				txns = append(txns, txn)
				codes = append(codes, code)
			}
			if applyEvery > 0 && (i+1)%applyEvery == 0 {
				e.applyAll()
			}
		}
		e.applyAll()
		return txns, codes, e.tree.Digest()
	}
	wantTxns, wantCodes, wantDigest := run(0)
	assert.Equal(t, []proto.Code{
		proto.OK, proto.OK, proto.OK, proto.OK, proto.ErrBadVersion, proto.OK, proto.OK,
		proto.ErrNodeExists, proto.OK, proto.ErrNoAuth, proto.OK, proto.OK, proto.OK,
	}, wantCodes)
	for every := 1; every <= len(script); every++ {
		txns, codes, digest := run(every)
		assert.Equal(t, wantCodes, codes, "apply every %d", every)
		assert.Equal(t, wantTxns, txns, "apply every %d", every)
		assert.Equal(t, wantDigest, digest, "apply every %d", every)
	}
}
