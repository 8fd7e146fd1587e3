package prep

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
)

var enforcing = Config{EnforceQuota: true, ExtendedTypes: true}

func createData(path, data string) *proto.CreateRequest {
	return &proto.CreateRequest{Path: path, Data: []byte(data), ACL: open, Flags: proto.ModePersistent}
}

// quotaEnv is a tree with /q (no data), /q/a ("abc") and /q/ro (no data,
// read-only) under a quota whose limits node holds limits, as zkCli's
// setquota leaves it: usage count=3,bytes=3.
func quotaEnv(t *testing.T, cfg Config, limits string) *env {
	t.Helper()
	e := newEnv(t, cfg)
	e.must(proto.OpCreate, createData("/q", ""), anon)
	e.must(proto.OpCreate, createData("/q/a", "abc"), anon)
	e.must(proto.OpCreate, &proto.CreateRequest{Path: "/q/ro", ACL: readOnly}, anon)
	e.must(proto.OpCreate, createData("/other", ""), anon)
	e.must(proto.OpCreate, createData("/zookeeper/quota/q", ""), anon)
	e.must(proto.OpCreate, createData("/zookeeper/quota/q/zookeeper_limits", limits), anon)
	e.must(proto.OpCreate, createData("/zookeeper/quota/q/zookeeper_stats", "count=0,bytes=0"), anon)
	e.applyAll()
	require.Equal(t, "count=3,bytes=3", e.stats("/q"))
	return e
}

func (e *env) stats(path string) string {
	e.t.Helper()
	d, _, ok := e.tree.Get("/zookeeper/quota" + path + "/zookeeper_stats")
	require.True(e.t, ok)
	return string(d)
}

func TestParseStatsTrack(t *testing.T) {
	tests := []struct {
		in   string
		want statsTrack
		ok   bool
	}{
		{"", statsTrack{-1, -1, -1, -1}, true},
		{"count=3,bytes=-1", statsTrack{3, -1, -1, -1}, true},
		{"count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3", statsTrack{-1, -1, 3, -1}, true},
		{"count=1,bytes=2=;byteHardLimit=4;countHardLimit=3", statsTrack{1, 2, 3, 4}, true},
		{"countHardLimit=5", statsTrack{-1, -1, 5, -1}, true},
		{"count==5", statsTrack{-1, -1, -1, -1}, true}, // Java: the value is the empty field
		{"count=3=4;;,bytes=+7,,", statsTrack{3, 7, -1, -1}, true},
		{"other=1,count=2", statsTrack{2, -1, -1, -1}, true},
		{"count=1,count=2", statsTrack{2, -1, -1, -1}, true},
		{"count=", statsTrack{}, false},
		{"count", statsTrack{}, false},
		{",count=1", statsTrack{}, false}, // a leading empty pair
		{"count=x", statsTrack{}, false},
		{"count= 1", statsTrack{}, false},
		{"=", statsTrack{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStatsTrack([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		if tt.ok {
			assert.Equal(t, tt.want, got, "%q", tt.in)
		}
	}
}

func TestQuotaEnforcement(t *testing.T) {
	const (
		countFull = "count=-1,bytes=-1=;countHardLimit=3"
		countRoom = "count=-1,bytes=-1=;countHardLimit=4"
		byteHard3 = "count=-1,bytes=-1=;byteHardLimit=3"
		byteHard1 = "count=-1,bytes=-1=;byteHardLimit=1"
	)
	tests := []struct {
		name   string
		cfg    Config
		limits string
		op     proto.OpCode
		req    any
		s      Session
		code   proto.Code
	}{
		{"count hard reached", enforcing, countFull, proto.OpCreate, createData("/q/b", ""), anon, proto.ErrQuotaExceeded},
		{"count hard has room", enforcing, countRoom, proto.OpCreate, createData("/q/b", ""), anon, proto.OK},
		{"create2", enforcing, countFull, proto.OpCreate2, createData("/q/b", ""), anon, proto.ErrQuotaExceeded},
		{"container", enforcing, countFull, proto.OpCreateContainer, &proto.CreateRequest{Path: "/q/b", ACL: open, Flags: proto.ModeContainer}, anon, proto.ErrQuotaExceeded},
		{"ttl", enforcing, countFull, proto.OpCreateTTL, createTTL("/q/b", proto.ModePersistentWithTTL, 100), anon, proto.ErrQuotaExceeded},
		{"sequential", enforcing, countFull, proto.OpCreate, create("/q/s", proto.ModePersistentSequential, open), anon, proto.ErrQuotaExceeded},
		{"ephemeral", enforcing, countFull, proto.OpCreate, create("/q/e", proto.ModeEphemeral, open), anon, proto.ErrQuotaExceeded},
		{"deeper in the subtree", enforcing, countFull, proto.OpCreate, createData("/q/a/deep", ""), anon, proto.ErrQuotaExceeded},
		{"outside the quota", enforcing, countFull, proto.OpCreate, createData("/other/x", ""), anon, proto.OK},
		{"zero is a limit", enforcing, "countHardLimit=0", proto.OpCreate, createData("/q/b", ""), anon, proto.ErrQuotaExceeded},
		{"-1 is no limit", enforcing, "count=-1,bytes=-1=;countHardLimit=-1", proto.OpCreate, createData("/q/b", ""), anon, proto.OK},
		{"soft count only logs", enforcing, "count=1,bytes=-1", proto.OpCreate, createData("/q/b", ""), anon, proto.OK},
		{"hard replaces soft", enforcing, "count=1,bytes=-1=;countHardLimit=5", proto.OpCreate, createData("/q/b", ""), anon, proto.OK},
		{"soft bytes only logs", enforcing, "count=-1,bytes=1", proto.OpSetData, setData("/q/a", "abcdef", -1), anon, proto.OK},
		{"not enforced", Config{}, countFull, proto.OpCreate, createData("/q/b", ""), anon, proto.OK},
		{"super is not exempt", enforcing, countFull, proto.OpCreate, createData("/q/b", ""), admin, proto.ErrQuotaExceeded},
		{"skipACL is not exempt", Config{EnforceQuota: true, SkipACL: true}, countFull, proto.OpCreate, createData("/q/b", ""), anon, proto.ErrQuotaExceeded},
		{"existence first", enforcing, countFull, proto.OpCreate, createData("/q/a", ""), anon, proto.ErrNodeExists},
		{"missing parent first", enforcing, countFull, proto.OpCreate, createData("/q/x/y", ""), anon, proto.ErrNoNode},
		{"setData does not count nodes", enforcing, countFull, proto.OpSetData, setData("/q/a", "x", -1), anon, proto.OK},
		{"byte hard: create with data", enforcing, byteHard3, proto.OpCreate, createData("/q/b", "x"), anon, proto.ErrQuotaExceeded},
		{"byte hard: empty create unchecked", enforcing, byteHard3, proto.OpCreate, createData("/q/b", ""), anon, proto.OK},
		{"byte hard: the name does not count", enforcing, byteHard3, proto.OpCreate, createData("/q/a-very-long-name", ""), anon, proto.OK},
		{"byte hard: same size unchecked", enforcing, byteHard3, proto.OpSetData, setData("/q/a", "xyz", -1), anon, proto.OK},
		{"byte hard: delta counts", enforcing, byteHard3, proto.OpSetData, setData("/q/a", "abcd", -1), anon, proto.ErrQuotaExceeded},
		{"byte hard: quota root itself", enforcing, byteHard3, proto.OpSetData, setData("/q", "x", -1), anon, proto.ErrQuotaExceeded},
		{"byte hard: shrink within", enforcing, byteHard3, proto.OpSetData, setData("/q/a", "ab", -1), anon, proto.OK},
		{"byte hard: shrink still over", enforcing, byteHard1, proto.OpSetData, setData("/q/a", "ab", -1), anon, proto.ErrQuotaExceeded},
		{"byte hard: shrink under", enforcing, byteHard1, proto.OpSetData, setData("/q/a", "", -1), anon, proto.OK},
		{"quota before version", enforcing, byteHard3, proto.OpSetData, setData("/q/a", "abcd", 7), anon, proto.ErrQuotaExceeded},
		{"ACL before quota", enforcing, byteHard3, proto.OpSetData, setData("/q/ro", "abcd", -1), anon, proto.ErrNoAuth},
		{"both hard limits", enforcing, "countHardLimit=10;byteHardLimit=3", proto.OpCreate, createData("/q/b", "x"), anon, proto.ErrQuotaExceeded},
		{"unreadable limits", enforcing, "count=x", proto.OpCreate, createData("/q/b", ""), anon, proto.ErrMarshallingError},
		{"unreadable limits, even unlimited", enforcing, "count=", proto.OpSetData, setData("/q/a", "abc", -1), anon, proto.ErrMarshallingError},
		{"zk: a value of only '=' throws", enforcing, "countHardLimit==", proto.OpCreate, createData("/q/b", ""), anon, proto.ErrMarshallingError},
		{"unreadable limits, not enforced", Config{}, "count=x", proto.OpCreate, createData("/q/b", ""), anon, proto.OK},
		{"empty values read -1", enforcing, "count==5;countHardLimit==9", proto.OpCreate, createData("/q/b", ""), anon, proto.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := quotaEnv(t, tt.cfg, tt.limits)
			if tt.code == proto.OK {
				e.must(tt.op, tt.req, tt.s)
				e.applyAll()
				return
			}
			e.fail(tt.op, tt.req, tt.s, tt.code)
		})
	}
}

func TestQuotaNearestOnly(t *testing.T) {
	e := quotaEnv(t, enforcing, "countHardLimit=3")
	e.must(proto.OpCreate, createData("/zookeeper/quota/q/a", ""), anon)
	e.must(proto.OpCreate, createData("/zookeeper/quota/q/a/zookeeper_limits", "countHardLimit=5"), anon)
	e.must(proto.OpCreate, createData("/zookeeper/quota/q/a/zookeeper_stats", ""), anon)
	e.applyAll()
	e.must(proto.OpCreate, createData("/q/a/x", ""), anon) // /q is full, but /q/a is nearer
	e.fail(proto.OpCreate, createData("/q/y", ""), anon, proto.ErrQuotaExceeded)

	e.must(proto.OpDelete, del("/zookeeper/quota/q/zookeeper_stats", -1), anon)
	e.applyAll()
	e.must(proto.OpCreate, createData("/q/y", ""), anon) // no stats node: not checked
}

func TestQuotaInMulti(t *testing.T) {
	e := quotaEnv(t, enforcing, "countHardLimit=4")
	// As in ZooKeeper, each operation is checked against the quota as it
	// stood before the multi: both fit on their own, so both are made.
	e.must(proto.OpMulti, multi(op(proto.OpCreate, createData("/q/b", "")), op(proto.OpCreate, createData("/q/c", ""))), anon)
	e.applyAll()
	assert.Equal(t, "count=5,bytes=3", e.stats("/q"))
	txn := e.fail(proto.OpMulti, multi(op(proto.OpCheck, check("/q", -1)), op(proto.OpCreate, createData("/q/d", ""))), anon, proto.ErrQuotaExceeded)
	m := txn.(*znode.MultiTxn)
	assert.Equal(t, proto.OK, m.Ops[0].Txn.(*znode.ErrorTxn).Err)
	assert.Equal(t, proto.ErrQuotaExceeded, m.Ops[1].Txn.(*znode.ErrorTxn).Err)
	// A delete earlier in the multi does not make room either.
	e.fail(proto.OpMulti, multi(op(proto.OpDelete, del("/q/c", -1)), op(proto.OpCreate, createData("/q/d", ""))), anon, proto.ErrQuotaExceeded)
	e.must(proto.OpDelete, del("/q/c", -1), anon)
	e.must(proto.OpDelete, del("/q/b", -1), anon)
	e.applyAll()
	// setData's old size is the multi's own: the second set grows 1 byte.
	e.must(proto.OpSetData, setData("/zookeeper/quota/q/zookeeper_limits", "byteHardLimit=5", -1), anon)
	e.applyAll()
	e.must(proto.OpMulti, multi(op(proto.OpSetData, setData("/q/a", "abcde", -1)), op(proto.OpSetData, setData("/q/a", "abcdef", -1))), anon)
	e.applyAll()
	assert.Equal(t, "count=3,bytes=6", e.stats("/q"))

	e.must(proto.OpSetData, setData("/zookeeper/quota/q/zookeeper_limits", "count=zz", -1), anon)
	e.applyAll()
	txn = e.fail(proto.OpMulti, multi(op(proto.OpCheck, check("/q", -1)), op(proto.OpCreate, createData("/q/d", ""))), anon, proto.ErrMarshallingError)
	assert.Equal(t, proto.ErrMarshallingError, txn.(*znode.ErrorTxn).Err, "the whole multi fails")
}

func TestQuotaSeesPendingTransactions(t *testing.T) {
	e := quotaEnv(t, enforcing, "countHardLimit=5;byteHardLimit=6")
	e.must(proto.OpCreate, createData("/q/b", "x"), anon)
	e.must(proto.OpCreate, createData("/q/c", "y"), anon)
	e.fail(proto.OpCreate, createData("/q/d", ""), anon, proto.ErrQuotaExceeded)
	e.must(proto.OpDelete, del("/q/c", -1), anon)
	e.must(proto.OpCreate, createData("/q/d", ""), anon) // the pending delete made room
	e.must(proto.OpSetData, setData("/q/b", "xx", -1), anon)
	e.fail(proto.OpSetData, setData("/q/d", "zz", -1), anon, proto.ErrQuotaExceeded) // 3+2+2 > 6
	e.applyN(2)
	e.fail(proto.OpSetData, setData("/q/d", "zz", -1), anon, proto.ErrQuotaExceeded)
	e.applyAll()
	assert.Equal(t, "count=5,bytes=5", e.stats("/q"), "the tree counts what preparation predicted")
	e.fail(proto.OpCreate, createData("/q/e", ""), anon, proto.ErrQuotaExceeded)

	// A pending limits change applies at once.
	e.must(proto.OpSetData, setData("/zookeeper/quota/q/zookeeper_limits", "countHardLimit=6", -1), anon)
	e.must(proto.OpCreate, createData("/q/e", ""), anon)
	e.fail(proto.OpCreate, createData("/q/f", ""), anon, proto.ErrQuotaExceeded)
	// A pending delquota lifts it.
	e.must(proto.OpDelete, del("/zookeeper/quota/q/zookeeper_limits", -1), anon)
	e.must(proto.OpCreate, createData("/q/f", ""), anon)
	e.applyAll()

	// A pending setquota: the tree has yet to count the subtree, so the
	// quota is not checked until the stats node exists in the tree.
	e.must(proto.OpCreate, createData("/zookeeper/quota/q/zookeeper_limits", "countHardLimit=1"), anon)
	e.must(proto.OpDelete, del("/zookeeper/quota/q/zookeeper_stats", -1), anon)
	e.must(proto.OpCreate, createData("/zookeeper/quota/q/zookeeper_stats", "count=0,bytes=0"), anon)
	e.must(proto.OpCreate, createData("/q/g", ""), anon)
	e.applyAll()
	assert.Equal(t, "count=8,bytes=5", e.stats("/q"))
	e.fail(proto.OpCreate, createData("/q/h", ""), anon, proto.ErrQuotaExceeded)
}

func TestQuotaCountsClosedSessions(t *testing.T) {
	e := quotaEnv(t, enforcing, "countHardLimit=4")
	e.must(proto.OpCreate, create("/q/eph", proto.ModeEphemeral, open), user)
	e.applyAll()
	e.fail(proto.OpCreate, createData("/q/b", ""), anon, proto.ErrQuotaExceeded)
	e.closeSession(user)
	e.must(proto.OpCreate, createData("/q/b", ""), anon) // the pending close made room
	e.applyAll()
	assert.Equal(t, "count=4,bytes=3", e.stats("/q"))
}

func TestQuotaDiscardForgetsUsage(t *testing.T) {
	e := quotaEnv(t, enforcing, "countHardLimit=4")
	e.must(proto.OpCreate, createData("/q/b", ""), anon)
	e.fail(proto.OpCreate, createData("/q/c", ""), anon, proto.ErrQuotaExceeded)
	e.p.Discard(e.pending[0].h.Zxid)
	e.pending = nil
	e.must(proto.OpCreate, createData("/q/c", ""), anon)
	e.applyAll()
	assert.Equal(t, "count=4,bytes=3", e.stats("/q"))
}
