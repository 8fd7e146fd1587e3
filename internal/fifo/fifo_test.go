package fifo

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forwarders counts the forwarder goroutines: those New started (whether
// they run yet or not, and whatever wraps the method call).
func forwarders() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "created by github.com/warrenhq/warren/internal/fifo.New[")
}

// noForwarders waits until no forwarder goroutine is left. The channel
// close it follows is the forwarder's last act, so the wait is short; the
// bound only turns a leak into a failure instead of a hang.
func noForwarders(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for forwarders() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d forwarder goroutines left", forwarders())
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func drain[T any](ch <-chan T) []T {
	var out []T
	for v := range ch {
		out = append(out, v)
	}
	return out
}

func TestOrderWithoutBlocking(t *testing.T) {
	q := New[int]()
	// Nobody reads yet: pushing must not block.
	for i := range 1000 {
		q.Push(i)
	}
	for i := range 500 {
		require.Equal(t, i, <-q.Out())
	}
	for i := 1000; i < 1500; i++ {
		q.Push(i)
	}
	q.Close()
	got := drain(q.Out())
	require.Len(t, got, 1000)
	for i, v := range got {
		require.Equal(t, 500+i, v)
	}
	noForwarders(t)
}

func TestConcurrentProducers(t *testing.T) {
	q := New[[2]int]()
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				q.Push([2]int{p, i})
			}
		}()
	}
	done := make(chan []([2]int))
	go func() { done <- drain(q.Out()) }()
	wg.Wait()
	q.Close()
	got := <-done
	require.Len(t, got, 800)
	next := map[int]int{}
	for _, v := range got {
		assert.Equal(t, next[v[0]], v[1], "each producer's values stay in order")
		next[v[0]] = v[1] + 1
	}
	noForwarders(t)
}

func TestCloseDeliversQueuedThenCloses(t *testing.T) {
	q := New[string]()
	q.Push("a")
	q.Push("b")
	q.Close()
	q.Push("c") // after Close: dropped
	q.Close()   // twice: harmless
	assert.Equal(t, []string{"a", "b"}, drain(q.Out()))
	q.Push("d")
	q.Abandon() // after Close: harmless
	noForwarders(t)
}

func TestCloseEmpty(t *testing.T) {
	q := New[int]()
	q.Close()
	assert.Empty(t, drain(q.Out()))
	noForwarders(t)
}

func TestAbandonDrops(t *testing.T) {
	q := New[int]()
	for i := range 10 {
		q.Push(i)
	}
	require.Equal(t, 0, <-q.Out())
	q.Abandon()
	q.Push(99) // after Abandon: dropped
	q.Close()
	// The forwarder may have been offering value 1 when Abandon came; it
	// gives up on it, and nothing pushed later arrives.
	rest := drain(q.Out())
	assert.LessOrEqual(t, len(rest), 1)
	for _, v := range rest {
		assert.Equal(t, 1, v)
	}
	q.Abandon() // twice: harmless
	noForwarders(t)
}

func TestAbandonUnread(t *testing.T) {
	// A consumer that never reads: Abandon still releases the forwarder.
	q := New[int]()
	q.Push(1)
	q.Push(2)
	require.Equal(t, 1, forwarders(), "the forwarder runs")
	q.Abandon()
	noForwarders(t)
	_, ok := <-q.Out()
	assert.False(t, ok)
}
