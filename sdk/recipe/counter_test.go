package recipe_test

import (
	"context"
	"errors"
	"log"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
	"github.com/warrenhq/warren/sdk/recipe"
)

// p2WaitCount waits until the SharedCount reports v on Changes.
func p2WaitCount(t *testing.T, sc *recipe.SharedCount, v int32) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case got, ok := <-sc.Changes():
			require.True(t, ok, "changes closed before %d", v)
			if got.Value == v {
				return
			}
		case <-deadline:
			t.Fatalf("value %d never seen (holding %d)", v, sc.Count())
		}
	}
}

// testSharedCount: Curator's 4-byte layout, versioned TrySetCount, change
// notification across clients, Curator-formatted bytes written raw.
func testSharedCount(t *testing.T, addr string) {
	ctx := testCtx(t)
	c1, c2 := connect(t, addr, longSession), connect(t, addr, longSession)
	const path = "/p2/count/shared"
	s1, err := recipe.NewSharedCount(ctx, c1, path, 7)
	require.NoError(t, err)
	defer s1.Close()
	s2, err := recipe.NewSharedCount(ctx, c2, path, 99)
	require.NoError(t, err)
	defer s2.Close()
	assert.Equal(t, int32(7), s1.Count())
	assert.Equal(t, int32(7), s2.Count(), "the seed only applies to a new node")
	data, _, err := c1.Get(ctx, path)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 7}, data)

	stale := s2.VersionedCount()
	ok, err := s1.TrySetCount(ctx, s1.VersionedCount(), 8)
	require.NoError(t, err)
	assert.True(t, ok)
	p2WaitCount(t, s2, 8)
	ok, err = s2.TrySetCount(ctx, stale, 9)
	require.NoError(t, err)
	assert.False(t, ok, "a stale version loses")
	assert.Equal(t, int32(8), s2.Count())
	ok, err = s2.TrySetCount(ctx, s2.VersionedCount(), 9)
	require.NoError(t, err)
	assert.True(t, ok)
	p2WaitCount(t, s1, 9)

	// A Curator client writes -2 as ByteBuffer.putInt does.
	_, err = c2.Set(ctx, path, []byte{0xff, 0xff, 0xff, 0xfe}, -1)
	require.NoError(t, err)
	p2WaitCount(t, s1, -2)
	require.NoError(t, s1.SetCount(ctx, 1000))
	p2WaitCount(t, s2, 1000)

	s1.Close()
	for range s1.Changes() {
	}
	assert.NoError(t, s1.Err())
}

// testAtomicCounter: Curator's 8-byte layout, missing node reads 0,
// CompareAndSet, Initialize, a value written raw by a Curator client.
func testAtomicCounter(t *testing.T, addr string) {
	ctx := testCtx(t)
	c := connect(t, addr, longSession)
	a := recipe.NewAtomicCounter(c, "/p2/count/atomic/long")
	v, err := a.Get(ctx)
	require.NoError(t, err)
	assert.Zero(t, v)
	v, err = a.Increment(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), v)
	data, _, err := c.Get(ctx, "/p2/count/atomic/long")
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 1}, data)
	pre, post, err := a.Add(ctx, -5)
	require.NoError(t, err)
	assert.Equal(t, [2]int64{1, -4}, [2]int64{pre, post})
	ok, err := a.CompareAndSet(ctx, 3, 10)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = a.CompareAndSet(ctx, -4, 10)
	require.NoError(t, err)
	assert.True(t, ok)
	created, err := a.Initialize(ctx, 50)
	require.NoError(t, err)
	assert.False(t, created)

	// DistributedAtomicLong's bytes for 2^32+2, written raw.
	_, err = c.Set(ctx, "/p2/count/atomic/long", []byte{0, 0, 0, 1, 0, 0, 0, 2}, -1)
	require.NoError(t, err)
	v, err = a.Get(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1<<32+2), v)
	v, err = a.Decrement(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1<<32+1), v)
	require.NoError(t, a.Set(ctx, 0))

	_, err = c.Set(ctx, "/p2/count/atomic/long", []byte{1, 2}, -1)
	require.NoError(t, err)
	_, err = a.Get(ctx)
	assert.ErrorIs(t, err, recipe.ErrCounterCorrupt)

	b := recipe.NewAtomicCounter(c, "/p2/count/atomic/init")
	created, err = b.Initialize(ctx, 42)
	require.NoError(t, err)
	assert.True(t, created)
	v, err = b.Get(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(42), v)
}

// testAtomicCounterContention: 6 clients increment concurrently; the sum
// is exact and every increment saw a distinct value (1..N each once).
func testAtomicCounterContention(t *testing.T, addr string) {
	t.Run("Optimistic", func(t *testing.T) { atomicContention(t, addr, "/p2/count/contended", false) })
	// Half the clients take a lock after one lost race (Curator's
	// PromotedToLock); the others stay optimistic. The lock's nodes are
	// gone afterwards.
	t.Run("PromotedToLock", func(t *testing.T) {
		atomicContention(t, addr, "/p2/count/promoted", true)
		kids, _, err := connect(t, addr, longSession).Children(testCtx(t), "/p2/count/promoted-lock")
		if !errors.Is(err, sdk.ErrNoNode) { // the container may be reaped
			require.NoError(t, err)
			assert.Empty(t, kids, "every promoted update released its lock")
		}
	})
	// A counter promoted from the start waits for the lock: while another
	// client holds the Mutex at the lock path, its update queues behind it
	// and lands once the holder releases.
	t.Run("WaitsForLock", func(t *testing.T) {
		ctx := testCtx(t)
		holder := recipe.NewMutex(connect(t, addr, longSession), "/p2/count/waits-lock")
		require.NoError(t, holder.Acquire(ctx))
		a := recipe.NewAtomicCounter(connect(t, addr, longSession), "/p2/count/waits", recipe.WithPromotedToLock("/p2/count/waits-lock", 0))
		done := make(chan error, 1)
		go func() { _, err := a.Increment(ctx); done <- err }()
		require.Eventually(t, func() bool {
			ps, err := holder.Participants(ctx)
			return err == nil && len(ps) == 2
		}, time.Minute, 10*time.Millisecond, "the update queues for the lock")
		v, err := a.Get(ctx)
		require.NoError(t, err)
		assert.Zero(t, v, "nothing written while the lock is held elsewhere")
		require.NoError(t, holder.Release(ctx))
		require.NoError(t, <-done)
		v, err = a.Get(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(1), v)
	})
}

func atomicContention(t *testing.T, addr, path string, promoted bool) {
	const clients, each = 6, 25
	ctx := testCtx(t)
	var mu sync.Mutex
	var posts []int64
	var wg sync.WaitGroup
	for i := range clients {
		var opts []recipe.CounterOption
		if promoted && i%2 == 0 {
			opts = append(opts, recipe.WithPromotedToLock(path+"-lock", 1))
		}
		a := recipe.NewAtomicCounter(connect(t, addr, longSession), path, opts...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				v, err := a.Increment(ctx)
				if err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
				mu.Lock()
				posts = append(posts, v)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	v, err := recipe.NewAtomicCounter(connect(t, addr, longSession), path).Get(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(clients*each), v)
	slices.Sort(posts)
	want := make([]int64, clients*each)
	for i := range want {
		want[i] = int64(i + 1)
	}
	assert.Equal(t, want, posts, "each increment saw its own value")
}

// testSharedCountCut: a value set while the client is cut off is seen
// after the reconnection (the one-shot watch is re-registered and fires
// for what was missed).
func testSharedCountCut(t *testing.T, addr string) {
	ctx := testCtx(t)
	px := testutil.StartProxy(t, addr)
	c := connect(t, px.Addr(), longSession)
	w := connect(t, addr, longSession)
	states := c.States()
	const path = "/p2/count/shared-cut"
	sc, err := recipe.NewSharedCount(ctx, c, path, 1)
	require.NoError(t, err)
	defer sc.Close()
	px.Refuse()
	px.Cut()
	waitState(t, states, sdk.StateSuspended)
	_, err = w.Set(ctx, path, recipe.CountBytes(77), -1)
	require.NoError(t, err)
	px.Accept()
	p2WaitCount(t, sc, 77)
	assert.NoError(t, sc.Err())
}

// Count requests across processes, and share a setting with change
// notifications.
func ExampleAtomicCounter() {
	ctx := context.Background()
	c, err := sdk.Connect(ctx, "127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	n, err := recipe.NewAtomicCounter(c, "/stats/requests").Increment(ctx)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("request #%d", n)

	limit, err := recipe.NewSharedCount(ctx, c, "/config/limit", 100)
	if err != nil {
		log.Fatal(err)
	}
	defer limit.Close()
	cur := limit.VersionedCount()
	if ok, err := limit.TrySetCount(ctx, cur, cur.Value*2); err != nil || !ok {
		log.Printf("someone else changed the limit (now %d)", limit.Count())
	}
	for v := range limit.Changes() {
		log.Printf("limit is now %d", v.Value)
	}
}
