package znode

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

func TestQuotaStatsFollowTheSubtree(t *testing.T) {
	tr := NewTree()
	zxid := int64(0)
	apply := func(txn Txn) Result {
		zxid++
		op := proto.OpCreate
		switch txn.(type) {
		case *DeleteTxn:
			op = proto.OpDelete
		case *SetDataTxn:
			op = proto.OpSetData
		}
		r := tr.Apply(Header{Zxid: zxid, Time: zxid, Type: op}, txn)
		require.Equal(t, proto.OK, r.Err)
		return r
	}
	create := func(path, data string) {
		apply(&CreateTxn{Path: path, Data: []byte(data), ACL: proto.OpenACLUnsafe, ParentCversion: -1})
	}
	stats := func() string {
		d, _, ok := tr.Get("/zookeeper/quota/m/q/zookeeper_stats")
		require.True(t, ok)
		return string(d)
	}
	create("/m", "x")
	create("/m/q", "")
	create("/m/q/1", "abc")
	// What zkCli's setquota creates.
	create("/zookeeper/quota/m", "")
	create("/zookeeper/quota/m/q", "")
	create("/zookeeper/quota/m/q/zookeeper_limits", "count=3,bytes=-1")
	create("/zookeeper/quota/m/q/zookeeper_stats", "count=0,bytes=0")
	assert.Equal(t, "count=2,bytes=3", stats(), "computed when the stats node appears")
	before, _ := tr.Meta("/zookeeper/quota/m/q/zookeeper_stats")

	create("/m/q/2", "x")
	create("/m/q/2/deep", "yy")
	assert.Equal(t, "count=4,bytes=6", stats())
	create("/m/other", "zzzz")
	assert.Equal(t, "count=4,bytes=6", stats(), "outside the quota subtree")
	apply(&SetDataTxn{Path: "/m/q/1", Data: []byte("a"), Version: 1})
	assert.Equal(t, "count=4,bytes=4", stats())
	apply(&DeleteTxn{Path: "/m/q/2/deep"})
	assert.Equal(t, "count=3,bytes=2", stats())

	after, _ := tr.Meta("/zookeeper/quota/m/q/zookeeper_stats")
	assert.Equal(t, before.Stat.Version, after.Stat.Version, "updated in place: no new version")
	assert.Equal(t, before.Stat.Mzxid, after.Stat.Mzxid)
	assert.Equal(t, tr.recomputeDigest(), tr.Digest(), "the digest follows the in-place update")

	apply(&DeleteTxn{Path: "/zookeeper/quota/m/q/zookeeper_limits"})
	create("/m/q/3", "zzz")
	assert.Equal(t, "count=3,bytes=2", stats(), "no tracking once the limits node is gone")
}

func TestParseQuotaStats(t *testing.T) {
	c, b := ParseQuotaStats([]byte("count=3,bytes=-1=;byteHardLimit=-1;countHardLimit=5"))
	assert.Equal(t, int64(3), c)
	assert.Equal(t, int64(-1), b)
	c, b = ParseQuotaStats([]byte("garbage"))
	assert.Zero(t, c)
	assert.Zero(t, b)
}
