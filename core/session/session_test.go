package session

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIDAllocationMatchesZooKeeperLayout(t *testing.T) {
	tb := New(2000, 1, 0x0123456789, []byte("s"))
	id := tb.NextID()
	assert.Equal(t, int64(1), id>>56, "server id in the top byte")
	assert.Equal(t, int64(uint64(int64(0x0123456789)<<24)>>8)|1<<56, id)
	assert.Equal(t, id+1, tb.NextID())
}

func TestNextIDSkipsUsedAndReserved(t *testing.T) {
	tb := New(2000, 0, 0, []byte("s"))
	tb.nextID = -0x8000000000000000
	id := tb.NextID()
	assert.NotEqual(t, int64(-0x8000000000000000), id)
	tb.Add(id+1, 4000, 0)
	assert.Equal(t, id+2, tb.NextID())
}

func TestPasswords(t *testing.T) {
	a := New(2000, 1, 1, []byte("secret"))
	b := New(2000, 2, 99, []byte("secret"))
	c := New(2000, 1, 1, []byte("other"))
	p := a.Password(42)
	require.Len(t, p, PasswordLen)
	assert.True(t, b.CheckPassword(42, p), "servers sharing a secret validate each other's sessions")
	assert.False(t, c.CheckPassword(42, p))
	assert.False(t, a.CheckPassword(43, p))
	assert.False(t, a.CheckPassword(42, p[:15]))
}

func TestNegotiate(t *testing.T) {
	assert.Equal(t, int32(4000), Negotiate(100, 4000, 40000))
	assert.Equal(t, int32(40000), Negotiate(60000, 4000, 40000))
	assert.Equal(t, int32(18000), Negotiate(18000, 4000, 40000))
}

func TestExpiryBucketsAndTouch(t *testing.T) {
	tb := New(1000, 1, 0, []byte("s"))
	tb.Add(1, 4000, 0)  // bucket 5000
	tb.Add(2, 4000, 10) // bucket 5000
	tb.Add(3, 6000, 0)  // bucket 7000
	assert.Equal(t, int64(5000), tb.ExpiresAt(1))
	assert.Empty(t, tb.Expired(4999))
	require.True(t, tb.Touch(2, 2500)) // -> 7000
	assert.Equal(t, []int64{1}, tb.Expired(5000))
	s, ok := tb.Get(1)
	require.True(t, ok)
	assert.True(t, s.Closing)
	assert.False(t, tb.Touch(1, 5001), "a closing session cannot be touched back to life")
	assert.Equal(t, []int64{2, 3}, tb.Expired(7000))
	tb.Remove(1)
	tb.Remove(2)
	tb.Remove(3)
	assert.Equal(t, 0, tb.Len())
	assert.Empty(t, tb.ExpiryBuckets())
}

func TestMarkClosingPreventsExpiry(t *testing.T) {
	tb := New(1000, 1, 0, []byte("s"))
	tb.Add(7, 2000, 0)
	tb.MarkClosing(7)
	assert.Empty(t, tb.Expired(100000))
	assert.Equal(t, 1, tb.Len())
}

func TestExpiredIsSortedAndDeterministic(t *testing.T) {
	tb := New(1000, 1, 0, []byte("s"))
	for _, id := range []int64{9, 3, 7, 1, 5} {
		tb.Add(id, 2000, int64(id)*100)
	}
	assert.Equal(t, []int64{1, 3, 5, 7, 9}, tb.Expired(10000))
}

func TestReopenUndoesMarkClosing(t *testing.T) {
	tb := New(100, 1, 0, []byte("k"))
	tb.Add(7, 1000, 0)
	tb.MarkClosing(7)
	assert.Empty(t, tb.Expired(5000), "a closing session is not expired again")
	assert.False(t, tb.Touch(7, 100))
	tb.Reopen(7, 200)
	s, ok := tb.Get(7)
	require.True(t, ok)
	assert.False(t, s.Closing)
	assert.True(t, tb.Touch(7, 300), "touched again")
	assert.Empty(t, tb.Expired(1000))
	assert.Equal(t, []int64{7}, tb.Expired(1500), "and expires again after its timeout")
	tb.Reopen(8, 0) // unknown: nothing happens
}
