package recipe_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/sdk/recipe"
)

// testCuratorPart2: Apache Curator 5.4 (Java) and the Go recipes on the
// same paths: queue items cross both ways, a DistributedAtomicLong and Go
// increments add up, SharedCount values are read on both sides, and a
// barrier holds one Curator and two Go members.
func testCuratorPart2(t *testing.T, addr string) {
	cp := javaClasspath(t)
	ctx := testCtx(t)
	j := startJava(t, cp, "P2Curator", addr)
	j.expect("READY")
	c := connect(t, addr, longSession)

	// Go producer, Curator consumer.
	gq := recipe.NewQueue(c, "/p2/cur/q1")
	for i := range 5 {
		_, err := gq.Put(ctx, fmt.Appendf(nil, "g-%d", i))
		require.NoError(t, err)
	}
	j.send("take /p2/cur/q1 5")
	var got []string
	for range 5 {
		got = append(got, j.expect("ITEM "))
	}
	j.expect("TAKEN")
	slices.Sort(got)
	assert.Equal(t, []string{"g-0", "g-1", "g-2", "g-3", "g-4"}, got)

	// Curator producer, Go consumer: in order.
	j.send("put /p2/cur/q2 5")
	j.expect("PUT")
	cq := recipe.NewQueue(c, "/p2/cur/q2")
	for i := range 5 {
		b, err := cq.Take(ctx)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("j-%d", i), string(b))
	}

	// DistributedAtomicLong and AtomicCounter increments add up.
	j.send("incr /p2/cur/long 40")
	var wg sync.WaitGroup
	for range 2 {
		a := recipe.NewAtomicCounter(connect(t, addr, longSession), "/p2/cur/long")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := a.Increment(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	j.expect("INCREMENTED")
	v, err := recipe.NewAtomicCounter(c, "/p2/cur/long").Get(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(80), v)
	j.send("get /p2/cur/long")
	assert.Equal(t, "80", j.expect("VALUE "))

	// SharedCount: Curator reads Go's value and sets the next one.
	sc, err := recipe.NewSharedCount(ctx, c, "/p2/cur/shared", 41)
	require.NoError(t, err)
	defer sc.Close()
	j.send("shared /p2/cur/shared")
	assert.Equal(t, "41 true", j.expect("SHARED "))
	p2WaitCount(t, sc, 42)

	// A barrier of one Curator and two Go members.
	j.send("enter /p2/cur/barrier 3")
	entered := make(chan error, 2)
	left := make(chan error, 2)
	leave := make(chan struct{})
	for range 2 {
		b, err := recipe.NewDoubleBarrier(connect(t, addr, longSession), "/p2/cur/barrier", 3)
		require.NoError(t, err)
		go func() {
			if err := b.Enter(ctx); err != nil {
				entered <- err
				return
			}
			entered <- nil
			<-leave
			left <- b.Leave(ctx)
		}()
	}
	j.expect("ENTERED")
	for range 2 {
		require.NoError(t, <-entered)
	}
	close(leave)
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-left:
		t.Fatalf("a Go member left before the Curator member (err %v)", err)
	default:
	}
	j.send("leave")
	j.expect("LEFT")
	for range 2 {
		require.NoError(t, <-left)
	}
}
