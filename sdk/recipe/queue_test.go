package recipe_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/sdk"
	"github.com/warrenhq/warren/sdk/recipe"
)

// TestPart2Codecs checks the byte formats against Curator's: the queue's
// ItemSerializer envelope, SharedCount's 4 and DistributedAtomicLong's 8
// big-endian bytes.
func TestPart2Codecs(t *testing.T) {
	t.Parallel()
	// DataOutputStream: writeInt(0x00010001), writeByte(1), writeInt(3),
	// "abc", writeByte(1), writeInt(0), writeByte(2).
	env := []byte{0, 1, 0, 1, 1, 0, 0, 0, 3, 'a', 'b', 'c', 1, 0, 0, 0, 0, 2}
	assert.Equal(t, env, recipe.QueueEncode([]byte("abc"), nil))
	items, err := recipe.QueueDecode(env)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("abc"), {}}, items)
	for _, bad := range [][]byte{nil, {0, 1, 0, 2, 2}, {0, 1, 0, 1}, {0, 1, 0, 1, 1, 0, 0, 0, 9, 'x', 2}, {0, 1, 0, 1, 7, 2}} {
		_, err := recipe.QueueDecode(bad)
		assert.ErrorIs(t, err, recipe.ErrQueueCorrupt, "%x", bad)
	}

	assert.Equal(t, []byte{0xff, 0xff, 0xff, 0xfe}, recipe.CountBytes(-2))
	v, err := recipe.CountFromBytes([]byte{0, 0, 1, 0})
	require.NoError(t, err)
	assert.Equal(t, int32(256), v)
	_, err = recipe.CountFromBytes([]byte{1})
	assert.ErrorIs(t, err, recipe.ErrCounterCorrupt)

	assert.Equal(t, []byte{0, 0, 0, 1, 0, 0, 0, 2}, recipe.CounterBytes(1<<32+2))
	l, err := recipe.CounterFromBytes([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd})
	require.NoError(t, err)
	assert.Equal(t, int64(-3), l)
	l, err = recipe.CounterFromBytes(nil)
	require.NoError(t, err)
	assert.Zero(t, l, "Curator reads empty data as 0")
	_, err = recipe.CounterFromBytes([]byte{1, 2, 3})
	assert.ErrorIs(t, err, recipe.ErrCounterCorrupt)
}

// testQueue: layout, FIFO order, multi-item nodes, foreign nodes ignored,
// corrupt items reported, Take blocks until a Put.
func testQueue(t *testing.T, addr string) {
	ctx := testCtx(t)
	c := connect(t, addr, longSession)
	q := recipe.NewQueue(c, "/p2/queue/basic")
	p, err := q.Put(ctx, []byte("one"))
	require.NoError(t, err)
	assert.Equal(t, "/p2/queue/basic/queue-0000000000", p)
	data, _, err := c.Get(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, recipe.QueueEncode([]byte("one")), data, "Curator's envelope")
	_, err = q.Put(ctx, []byte("two"), []byte("three"))
	require.NoError(t, err)
	_, _, err = c.Create(ctx, "/p2/queue/basic/foreign", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	_, err = q.Put(ctx, []byte("four"))
	require.NoError(t, err)
	n, err := q.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, n)

	for _, want := range []string{"one", "two", "three", "four"} {
		got, err := q.Take(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
	kids, _, err := c.Children(ctx, "/p2/queue/basic")
	require.NoError(t, err)
	assert.Equal(t, []string{"foreign"}, kids)

	_, _, err = c.Create(ctx, "/p2/queue/basic/queue-", []byte("junk"), sdk.CreateOptions{Mode: sdk.ModePersistentSequential})
	require.NoError(t, err)
	_, err = q.Take(ctx)
	assert.ErrorIs(t, err, recipe.ErrQueueCorrupt)

	// Take waits for a Put from another client.
	other := recipe.NewQueue(connect(t, addr, longSession), "/p2/queue/basic")
	got := make(chan string, 1)
	go func() {
		b, err := q.Take(ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b)
	}()
	time.Sleep(100 * time.Millisecond)
	_, err = other.Put(ctx, []byte("late"))
	require.NoError(t, err)
	select {
	case s := <-got:
		assert.Equal(t, "late", s)
	case <-time.After(waitFor):
		t.Fatal("Take did not return")
	}

	// A cancelled Take returns the context's error.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = q.Take(cctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// p2Item names item j of producer i.
func p2Item(i, j int) string { return fmt.Sprintf("p%d-%03d", i, j) }

// p2ParseItem splits an item name into producer and index.
func p2ParseItem(t *testing.T, s string) (int, int) {
	t.Helper()
	var i, j int
	_, err := fmt.Sscanf(s, "p%d-%d", &i, &j)
	require.NoError(t, err, "item %q", s)
	return i, j
}

// p2CheckPerProducerOrder checks that, in one consumer's sequence, each
// producer's items come in the order they were put.
func p2CheckPerProducerOrder(t *testing.T, consumer string, seq []string) {
	t.Helper()
	last := map[int]int{}
	for _, s := range seq {
		i, j := p2ParseItem(t, s)
		if prev, ok := last[i]; ok {
			assert.Greater(t, j, prev, "consumer %s got producer %d's items out of order", consumer, i)
		}
		last[i] = j
	}
}

// testQueueContention: 3 producers and 3 consumers, each with its own
// Conn: every item is delivered exactly once, and each consumer sees each
// producer's items in order.
func testQueueContention(t *testing.T, addr string) {
	const producers, consumers, perProducer = 3, 3, 40
	const total = producers * perProducer
	const qpath = "/p2/queue/contention"
	ctx := testCtx(t)
	cctx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	var taken atomic.Int32
	got := make([][]string, consumers)
	var wg sync.WaitGroup
	for k := range consumers {
		q := recipe.NewQueue(connect(t, addr, longSession), qpath)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b, err := q.Take(cctx)
				if err != nil {
					if cctx.Err() == nil {
						t.Errorf("consumer %d: %v", k, err)
					}
					return
				}
				got[k] = append(got[k], string(b))
				if taken.Add(1) == total {
					stopConsumers()
				}
			}
		}()
	}
	var pwg sync.WaitGroup
	for i := range producers {
		q := recipe.NewQueue(connect(t, addr, longSession), qpath)
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for j := range perProducer {
				if _, err := q.Put(ctx, []byte(p2Item(i, j))); err != nil {
					t.Errorf("producer %d: %v", i, err)
					return
				}
			}
		}()
	}
	pwg.Wait()
	wg.Wait()
	seen := map[string]int{}
	for k, seq := range got {
		for _, s := range seq {
			seen[s]++
		}
		p2CheckPerProducerOrder(t, strconv.Itoa(k), seq)
	}
	assert.Len(t, seen, total, "every item delivered")
	for s, n := range seen {
		assert.Equal(t, 1, n, "item %s delivered %d times", s, n)
	}
	left, err := recipe.NewQueue(connect(t, addr, longSession), qpath).Len(ctx)
	require.NoError(t, err)
	assert.Zero(t, left)
}

// Environment of the helper processes.
const (
	p2HelperEnv   = "WARREN_RECIPE_P2_HELPER"
	p2HelperAddr  = "WARREN_RECIPE_P2_ADDR"
	p2HelperQueue = "WARREN_RECIPE_P2_QUEUE"
	p2HelperID    = "WARREN_RECIPE_P2_ID"
)

// TestHelperProcessPart2 is a queue consumer when run by
// testQueueProcesses (it does nothing otherwise): it takes items one by
// one, each in one transaction with a receipt node
// <queue>-receipts/<item> holding "<consumer id>:<take index>", so a
// consumer killed at any point either took an item with its receipt or
// left it in the queue.
func TestHelperProcessPart2(t *testing.T) {
	if os.Getenv(p2HelperEnv) != "queue-consumer" {
		t.Skip("helper process for testQueueProcesses")
	}
	ctx := context.Background()
	c, err := sdk.Connect(ctx, os.Getenv(p2HelperAddr), sdk.WithSessionTimeout(4*time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	qpath, id := os.Getenv(p2HelperQueue), os.Getenv(p2HelperID)
	q := recipe.NewQueue(c, qpath)
	for k := 0; ; k++ {
		_, err := q.TakeNode(ctx, func(n recipe.QueueNode) []sdk.Op {
			return []sdk.Op{c.CreateOp(qpath+"-receipts/"+string(n.Items[0]), fmt.Appendf(nil, "%s:%d", id, k), sdk.CreateOptions{})}
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
}

// testQueueProcesses: consumers in 3 processes, one SIGKILLed after it
// took a few items; every item is taken exactly once (one receipt each,
// created atomically with the removal), none is lost, and each consumer
// saw each producer's items in order.
func testQueueProcesses(t *testing.T, addr string) {
	const producers, perProducer = 2, 60
	const total = producers * perProducer
	qpath := "/p2/queue/processes"
	ctx := testCtx(t)
	c := connect(t, addr, longSession)
	p2Ensure(t, ctx, c, "/p2", "/p2/queue", "/p2/queue/processes-receipts")

	// Put half of the items first so that the victim has work at once.
	var pwg sync.WaitGroup
	put := func(from, to int) {
		for i := range producers {
			q := recipe.NewQueue(connect(t, addr, longSession), qpath)
			pwg.Add(1)
			go func() {
				defer pwg.Done()
				for j := from; j < to; j++ {
					if _, err := q.Put(ctx, []byte(p2Item(i, j))); err != nil {
						t.Errorf("producer %d: %v", i, err)
						return
					}
				}
			}()
		}
	}
	put(0, perProducer/2)
	pwg.Wait()

	cmds := make([]*exec.Cmd, 3)
	for k := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessPart2$")
		cmd.Env = append(os.Environ(), p2HelperEnv+"=queue-consumer", p2HelperAddr+"="+addr,
			p2HelperQueue+"="+qpath, p2HelperID+"=c"+strconv.Itoa(k))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		cmds[k] = cmd
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() && stderr.Len() > 0 {
				t.Logf("consumer c%d: %s", k, stderr.String())
			}
		})
	}
	// Kill consumer c0 once it took 5 items.
	receipts := func() map[string]string {
		kids, _, err := c.Children(ctx, qpath+"-receipts")
		require.NoError(t, err)
		out := map[string]string{}
		for _, k := range kids {
			data, _, err := c.Get(ctx, qpath+"-receipts/"+k)
			require.NoError(t, err)
			out[k] = string(data)
		}
		return out
	}
	for {
		n := 0
		for _, who := range receipts() {
			if strings.HasPrefix(who, "c0:") {
				n++
			}
		}
		if n >= 5 {
			break
		}
		require.NoError(t, ctx.Err(), "consumer c0 never took 5 items")
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmds[0].Process.Kill())
	put(perProducer/2, perProducer)
	pwg.Wait()

	// Wait for all the receipts.
	for {
		_, st, ch, err := c.ChildrenW(ctx, qpath+"-receipts")
		require.NoError(t, err)
		if st.NumChildren == total {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("only %d of %d items taken", st.NumChildren, total)
		}
	}
	got := receipts()
	require.Len(t, got, total)
	seqs := map[string][]string{}
	idx := map[string]map[string]int{}
	for item, who := range got {
		p2ParseItem(t, item)
		cid, k, ok := strings.Cut(who, ":")
		require.True(t, ok, who)
		n, err := strconv.Atoi(k)
		require.NoError(t, err)
		seqs[cid] = append(seqs[cid], item)
		if idx[cid] == nil {
			idx[cid] = map[string]int{}
		}
		idx[cid][item] = n
	}
	assert.NotEmpty(t, seqs["c0"], "the victim took items before it died")
	for cid, seq := range seqs {
		slices.SortFunc(seq, func(a, b string) int { return idx[cid][a] - idx[cid][b] })
		p2CheckPerProducerOrder(t, cid, seq)
	}
	left, err := recipe.NewQueue(c, qpath).Len(ctx)
	require.NoError(t, err)
	assert.Zero(t, left, "queue drained")
}

// A producer and a consumer; TakeNode records a receipt in the same
// transaction as the removal, so a consumer that dies never loses an item
// silently.
func ExampleQueue() {
	ctx := context.Background()
	c, err := sdk.Connect(ctx, "127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	q := recipe.NewQueue(c, "/work/queue")
	if _, err := q.Put(ctx, []byte("job-1")); err != nil {
		log.Fatal(err)
	}
	item, err := q.Take(ctx) // blocks until there is an item
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("took %s", item)

	node, err := q.TakeNode(ctx, func(n recipe.QueueNode) []sdk.Op {
		return []sdk.Op{c.CreateOp("/work/done/"+n.Name, n.Items[0], sdk.CreateOptions{})}
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("took %s with its receipt", node.Name)
}
