package recipe_test

import (
	"context"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/sdk"
	"github.com/warrenhq/warren/sdk/recipe"
)

// testCurator runs Apache Curator 5.4 (Java) against the same server and
// paths as the Go recipes: a Curator InterProcessMutex and Go Mutexes
// exclude each other, each side queues behind the other's nodes, a
// Curator LeaderLatch and Go LeaderLatches elect one leader between them,
// a Curator LeaderSelector and a Go LeaderSelector take turns, and the
// read-write lock and the semaphore count Go and Curator holders alike.
func testCurator(t *testing.T, addr string) {
	cp := javaClasspath(t)
	t.Run("MutexContention", func(t *testing.T) { testCuratorCount(t, addr, cp) })
	t.Run("MutexQueue", func(t *testing.T) { testCuratorQueue(t, addr, cp) })
	t.Run("LeaderLatch", func(t *testing.T) { testCuratorLatch(t, addr, cp) })
	t.Run("LeaderSelector", func(t *testing.T) { testCuratorSelector(t, addr, cp) })
	t.Run("RWLock", func(t *testing.T) { testCuratorRW(t, addr, cp) })
	t.Run("Semaphore", func(t *testing.T) { testCuratorSemaphore(t, addr, cp) })
}

// testCuratorCount: Java and two Go contenders increment one counter under
// one lock path while the Java side runs; every holder checks exclusivity
// with the ephemeral holder node (Java exits with a VIOLATION otherwise).
func testCuratorCount(t *testing.T, addr, cp string) {
	ctx := testCtx(t)
	c0 := connect(t, addr, 0)
	_, _, err := c0.Create(ctx, "/cur", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	_, _, err = c0.Create(ctx, "/cur/counter", []byte("0"), sdk.CreateOptions{})
	require.NoError(t, err)
	const javaRounds = 25
	j := startJava(t, cp, "CuratorRecipes", "count", addr, "/cur/lock", "/cur/counter", "/cur/holder", strconv.Itoa(javaRounds))
	j.expect("READY")
	javaDone := make(chan struct{})
	var wg sync.WaitGroup
	counts := make([]int, 2)
	errc := make(chan error, 2)
	for i := range counts {
		c := connect(t, addr, 0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := recipe.NewMutex(c, "/cur/lock")
			// Keep contending for as long as the Java side does.
			for {
				select {
				case <-javaDone:
					if counts[i] >= 5 {
						return
					}
				default:
				}
				if err := lkIncrementUnder(ctx, c, m.Acquire, m.Release, "/cur"); err != nil {
					errc <- err
					return
				}
				counts[i]++
			}
		}()
	}
	j.expect("DONE")
	close(javaDone)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	data, _, err := c0.Get(ctx, "/cur/counter")
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(javaRounds+counts[0]+counts[1]), string(data), "go rounds %v", counts)
}

// testCuratorQueue: a Java contender queues behind a Go holder and a Go
// contender behind a Java holder; each side lists the other's node as a
// contender in the same order.
func testCuratorQueue(t *testing.T, addr, cp string) {
	ctx := testCtx(t)
	const base = "/cur/queue"
	c := connect(t, addr, 0)
	goLock := recipe.NewMutex(c, base, recipe.WithNodeData([]byte("go")))
	require.NoError(t, goLock.Acquire(ctx))
	j := startJava(t, cp, "CuratorRecipes", "hold", addr, base)
	j.expect("READY")
	waitChildren(t, c, base, childCount(2))
	ps, err := goLock.Participants(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, goLock.Node(), ps[0].Node)
	javaNode := ps[1].Node
	require.Regexp(t, `^/cur/queue/_c_`+uuidPattern+`-lock-\d{10}$`, javaNode, "Curator's node has the same layout")
	j.notSeen("HELD")
	require.NoError(t, goLock.Release(ctx))
	assert.Equal(t, javaNode, j.expect("HELD"), "Curator takes the lock after Go's release")

	// Now Go waits behind Java.
	goLock2 := recipe.NewMutex(c, base)
	errc := make(chan error, 1)
	go func() { errc <- goLock2.Acquire(ctx) }()
	kids := waitChildren(t, c, base, childCount(2))
	j.send("list")
	nodes := strings.Split(j.expect("PARTICIPANTS"), ",")
	require.Len(t, nodes, 2, "Curator lists the Go contender")
	assert.Equal(t, javaNode, nodes[0])
	assert.Contains(t, kids, path.Base(nodes[1]))
	notDone(t, errc, "Go Acquire behind Curator")
	j.send("release")
	j.expect("RELEASED")
	require.NoError(t, awaitResult(t, errc))
	assert.Equal(t, nodes[1], goLock2.Node())
	require.NoError(t, goLock2.Release(ctx))
}

// testCuratorLatch: Go and Curator LeaderLatches on one path elect one
// leader, see each other's participant ids, and hand leadership over.
func testCuratorLatch(t *testing.T, addr, cp string) {
	ctx := testCtx(t)
	const base = "/cur/latch"
	c := connect(t, addr, 0)
	g := recipe.NewLeaderLatch(c, base, "go")
	require.NoError(t, g.Start(ctx))
	require.NoError(t, g.Await(ctx))
	j := startJava(t, cp, "CuratorRecipes", "latch", addr, base, "java")
	j.expect("STARTED")
	kids := waitChildren(t, c, base, childCount(2))
	for _, k := range kids {
		assert.Regexp(t, regexp.MustCompile(`^_c_`+uuidPattern+`-latch-\d{10}$`), k)
	}
	j.send("list")
	assert.Equal(t, "go:true,java:false", j.expect("PARTICIPANTS"), "Curator sees the Go leader")
	ps, err := g.Participants(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, []string{"go", "java"}, []string{ps[0].ID, ps[1].ID})
	j.notSeen("LEADER")

	// The Go leader leaves: Curator leads; a new Go participant follows.
	require.NoError(t, g.Close(ctx))
	j.expect("LEADER")
	g2 := recipe.NewLeaderLatch(c, base, "go2")
	require.NoError(t, g2.Start(ctx))
	j.send("list")
	assert.Equal(t, "java:true,go2:false", j.expect("PARTICIPANTS"))
	assert.False(t, g2.IsLeader())
	ps, err = g2.Participants(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, recipe.Participant{Node: ps[0].Node, ID: "java", Leader: true}, ps[0])
	j.send("close")
	j.expect("CLOSED")
	require.NoError(t, g2.Await(ctx), "Go leads after Curator leaves")
	require.NoError(t, g2.Close(ctx))
}

// testCuratorSelector: a Go and a Curator LeaderSelector on one path take
// turns leading and read each other's participant ids.
func testCuratorSelector(t *testing.T, addr, cp string) {
	ctx := testCtx(t)
	const base = "/cur/selector"
	c := connect(t, addr, 0)
	g := recipe.NewLeaderSelector(c, base, "go")
	leading := make(chan struct{})
	yield := make(chan struct{})
	errc := make(chan error, 1)
	lead := func() {
		errc <- g.Lead(ctx, func(context.Context) error {
			leading <- struct{}{}
			<-yield
			return nil
		})
	}
	waitLeading := func() {
		t.Helper()
		select {
		case <-leading:
		case err := <-errc:
			t.Fatalf("Lead returned before leading: %v", err)
		case <-ctx.Done():
			t.Fatal("Go never led")
		}
	}
	go lead()
	waitLeading()
	j := startJava(t, cp, "CuratorRecipes", "select", addr, base, "java")
	j.expect("STARTED")
	kids := waitChildren(t, c, base, childCount(2))
	for _, k := range kids {
		assert.Regexp(t, regexp.MustCompile(`^_c_`+uuidPattern+`-lock-\d{10}$`), k)
	}
	j.send("list")
	assert.Equal(t, "go:true,java:false", j.expect("PARTICIPANTS"), "Curator sees the Go leader and its id")
	ps, err := g.Participants(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, []string{"go", "java"}, []string{ps[0].ID, ps[1].ID})
	j.notSeen("LEADING")

	// Go yields: Curator leads; Go requeues behind it.
	yield <- struct{}{}
	require.NoError(t, awaitResult(t, errc))
	j.expect("LEADING")
	go lead()
	waitChildren(t, c, base, childCount(2))
	j.send("list")
	assert.Equal(t, "java:true,go:false", j.expect("PARTICIPANTS"))
	select {
	case <-leading:
		t.Fatal("Go leads while Curator does")
	default:
	}
	j.send("yield")
	j.expect("YIELDED")
	waitLeading()
	yield <- struct{}{}
	require.NoError(t, awaitResult(t, errc))
	j.send("close")
	j.expect("CLOSED")
}

// testCuratorRW: Go and Curator readers share the lock; a Curator writer
// waits for a Go reader, and a Go reader queues behind the Curator writer.
func testCuratorRW(t *testing.T, addr, cp string) {
	ctx := testCtx(t)
	const base = "/cur/rw"
	c := connect(t, addr, 0)
	read := recipe.NewRWLock(c, base).ReadLock()
	require.NoError(t, read.Acquire(ctx))
	jr := startJava(t, cp, "CuratorRecipes", "rw", addr, base, "read")
	jr.expect("HELD") // readers share
	jw := startJava(t, cp, "CuratorRecipes", "rw", addr, base, "write")
	jw.expect("READY")
	kids := waitChildren(t, c, base, childCount(3))
	writers := 0
	for _, k := range kids {
		if regexp.MustCompile(`^_c_` + uuidPattern + `-__WRIT__\d{10}$`).MatchString(k) {
			writers++
		}
	}
	assert.Equal(t, 1, writers, "Curator's writer node has the same layout: %v", kids)
	// A Go reader arriving now queues behind the waiting Curator writer.
	read2 := recipe.NewRWLock(c, base).ReadLock()
	errc := make(chan error, 1)
	go func() { errc <- read2.Acquire(ctx) }()
	waitChildren(t, c, base, childCount(4))
	jr.send("release")
	jr.expect("RELEASED")
	jw.notSeen("HELD")
	notDone(t, errc, "Go reader behind a Curator writer")
	require.NoError(t, read.Release(ctx))
	jw.expect("HELD")
	notDone(t, errc, "Go reader behind a Curator writer")
	jw.send("release")
	jw.expect("RELEASED")
	require.NoError(t, awaitResult(t, errc))
	require.NoError(t, read2.Release(ctx))
}

// testCuratorSemaphore: Go and Curator leases count against one limit.
func testCuratorSemaphore(t *testing.T, addr, cp string) {
	ctx := testCtx(t)
	const base = "/cur/sem"
	c := connect(t, addr, 0)
	s := recipe.NewSemaphore(c, base, 2)
	l1, err := s.Acquire(ctx)
	require.NoError(t, err)
	l2, err := s.Acquire(ctx)
	require.NoError(t, err)
	j := startJava(t, cp, "CuratorRecipes", "semaphore", addr, base, "2")
	j.expect("READY")
	waitChildren(t, c, base+"/leases", childCount(3))
	j.notSeen("LEASED")
	require.NoError(t, l1.Release(ctx))
	j.expect("LEASED")
	// Go waits while Go and Curator hold the two leases.
	type res struct {
		l   *recipe.Lease
		err error
	}
	resc := make(chan res, 1)
	go func() {
		l, err := s.Acquire(ctx)
		resc <- res{l, err}
	}()
	waitChildren(t, c, base+"/leases", childCount(3))
	select {
	case r := <-resc:
		t.Fatalf("a third lease was granted: %v", r.err)
	default:
	}
	j.send("release")
	j.expect("RELEASED")
	var r res
	select {
	case r = <-resc:
	case <-ctx.Done():
		t.Fatal("no lease after Curator returned its lease")
	}
	require.NoError(t, r.err)
	require.NoError(t, r.l.Release(ctx))
	require.NoError(t, l2.Release(ctx))
}
