package prep

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
)

// discard drops the pending transactions from zxid from on, in the
// overlay and in the env, and rewinds the zxid counter to reuse them.
func (e *env) discard(from int64) {
	e.p.Discard(from)
	n := 0
	for n < len(e.pending) && e.pending[n].h.Zxid < from {
		n++
	}
	e.pending = e.pending[:n]
	if e.zxid >= from {
		e.zxid = from - 1
	}
}

func TestDiscard(t *testing.T) {
	seqPath := func(t *testing.T, txn znode.Txn) string {
		c, ok := txn.(*znode.CreateTxn)
		require.True(t, ok, "a create: %T", txn)
		return c.Path
	}
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"every pending transaction: sequence numbers and versions are handed out again", func(t *testing.T, e *env) {
			e.must(proto.OpCreate, create("/p", 0, open), anon)  // 1
			e.must(proto.OpSetData, setData("/p", "x", 0), anon) // 2
			e.applyAll()
			require.Equal(t, "/p/s-0000000000", seqPath(t, e.must(proto.OpCreate, create("/p/s-", proto.ModePersistentSequential, open), anon))) // 3
			e.must(proto.OpSetData, setData("/p", "y", 1), anon)                                                                                 // 4
			e.must(proto.OpCreate, create("/q", 0, open), anon)                                                                                  // 5
			e.discard(3)
			assert.Zero(t, e.p.Pending())
			e.fail(proto.OpSetData, setData("/p", "z", 2), anon, proto.ErrBadVersion)
			e.fail(proto.OpCreate, create("/q/c", 0, open), anon, proto.ErrNoNode)
			assert.Equal(t, "/p/s-0000000000", seqPath(t, e.must(proto.OpCreate, create("/p/s-", proto.ModePersistentSequential, open), anon)),
				"a discarded create does not consume the parent's counter")
			e.must(proto.OpSetData, setData("/p", "z", 1), anon)
			e.applyAll()
			assert.Equal(t, int32(2), e.meta("/p").Stat.Version)
			assert.Equal(t, int32(1), e.meta("/p").CreateCount)
			assert.False(t, e.exists("/q"))
		}},
		{"a suffix: earlier pending transactions stay visible", func(t *testing.T, e *env) {
			e.must(proto.OpCreate, create("/a", 0, open), anon)                                 // 1
			e.must(proto.OpCreate, create("/a/s-", proto.ModePersistentSequential, open), anon) // 2: s-0
			e.must(proto.OpCreate, create("/a/s-", proto.ModePersistentSequential, open), anon) // 3: s-1
			e.must(proto.OpCreate, create("/a/e", proto.ModeEphemeral, open), user)             // 4
			e.discard(3)
			assert.Equal(t, 4, e.p.Pending(), "/ and /a for zxid 1, /a and /a/s-0000000000 for zxid 2")
			e.fail(proto.OpCreate, create("/a", 0, open), anon, proto.ErrNodeExists)
			assert.Equal(t, "/a/s-0000000001", seqPath(t, e.must(proto.OpCreate, create("/a/s-", proto.ModePersistentSequential, open), anon)))
			e.must(proto.OpCreate, create("/a/e", proto.ModeEphemeral, open), user)
			e.applyAll()
			assert.Equal(t, int32(3), e.meta("/a").Stat.NumChildren)
			assert.Equal(t, int32(3), e.meta("/a").CreateCount)
		}},
		{"a path changed before and after the cut keeps its earlier pending state", func(t *testing.T, e *env) {
			e.must(proto.OpCreate, create("/v", 0, open), anon) // 1
			e.applyAll()
			e.must(proto.OpSetData, setData("/v", "1", 0), anon) // 2
			e.must(proto.OpSetData, setData("/v", "2", 1), anon) // 3
			e.discard(3)
			e.fail(proto.OpSetData, setData("/v", "2", 2), anon, proto.ErrBadVersion)
			e.must(proto.OpSetData, setData("/v", "2", 1), anon)
			e.applyAll()
			assert.Equal(t, int32(2), e.meta("/v").Stat.Version)
		}},
		{"nothing at or after the cut: no change", func(t *testing.T, e *env) {
			e.must(proto.OpCreate, create("/n", 0, open), anon) // 1
			before := e.p.Pending()
			e.discard(2)
			assert.Equal(t, before, e.p.Pending())
			e.fail(proto.OpCreate, create("/n", 0, open), anon, proto.ErrNodeExists)
			e.applyAll()
			assert.True(t, e.exists("/n"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newEnv(t, extended))
		})
	}
}
