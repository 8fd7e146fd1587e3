package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
	"github.com/warrenhq/warren/sdk/recipe"
)

// TestRecipesAgainstServers runs every recipe against Warren and Apache
// ZooKeeper 3.8 with the same expectations.
func TestRecipesAgainstServers(t *testing.T) {
	runAgainstServers(t, []serverTest{
		{"Mutex", testMutex},
		{"MutexContention", testMutexContention},
		{"RWLock", testRWLock},
		{"Semaphore", testSemaphore},
		{"LeaderLatch", testLeaderLatch},
		{"LeaderSelector", testLeaderSelector},
		{"ProtectedCreateAfterConnectionLoss", testProtected},
		{"SuspendedHoldResumes", testSuspendResume},
		{"ClosedConn", testClosedConn},
		{"ExpiryLosesLock", testExpiry},
		{"KilledProcesses", testKilledProcesses},
		{"Curator", testCurator},
	})
}

func testMutex(t *testing.T, addr string) {
	ctx := testCtx(t)
	c1, c2 := connect(t, addr, 0), connect(t, addr, 0)
	const base = "/mutex/basic"
	m1 := recipe.NewMutex(c1, base, recipe.WithNodeData([]byte("one")))
	st, ch := m1.State()
	assert.Equal(t, recipe.HoldNone, st)
	assert.Nil(t, ch)
	require.NoError(t, m1.Acquire(ctx))
	node := m1.Node()
	require.Regexp(t, `^/mutex/basic/_c_`+uuidPattern+`-lock-\d{10}$`, node)
	assert.True(t, recipe.IsProtected(path.Base(node)))
	assert.Equal(t, "lock-"+node[len(node)-10:], recipe.StripProtected(path.Base(node)))
	assert.True(t, m1.IsHeld())
	f1, ok := m1.Fence()
	require.True(t, ok)
	_, nst, err := c2.Get(ctx, node)
	require.NoError(t, err)
	assert.Equal(t, nst.Czxid, f1.Czxid)
	assert.Equal(t, node, f1.Path)
	seq, _ := strconv.ParseInt(node[len(node)-10:], 10, 64)
	assert.Equal(t, seq, f1.Seq)
	assert.Equal(t, c1.SessionID(), nst.EphemeralOwner)
	// Both ancestors are containers, as Curator creates them.
	_, pst, err := c2.Get(ctx, base)
	require.NoError(t, err)
	assert.Zero(t, pst.EphemeralOwner)

	// Reentrant per value.
	require.NoError(t, m1.Acquire(ctx))
	assert.Equal(t, node, m1.Node())
	require.NoError(t, m1.Release(ctx))
	_, ok, err = c2.Exists(ctx, node)
	require.NoError(t, err)
	assert.True(t, ok, "one Release of two keeps the lock")

	// A waiter whose context ends leaves no node.
	m2 := recipe.NewMutex(c2, base, recipe.WithNodeData([]byte("two")))
	wctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- m2.Acquire(wctx) }()
	waitChildren(t, c1, base, childCount(2))
	ps, err := m1.Participants(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, recipe.Participant{Node: node, ID: "one", Leader: true}, ps[0])
	assert.Equal(t, "two", ps[1].ID)
	assert.False(t, ps[1].Leader)
	notDone(t, errc, "second Acquire")
	cancel()
	assert.ErrorIs(t, awaitResult(t, errc), context.Canceled)
	kids, _, err := c1.Children(ctx, base)
	require.NoError(t, err)
	assert.Equal(t, []string{path.Base(node)}, kids, "the cancelled waiter deleted its node")

	// Hand-off: the waiter gets the lock when the holder releases it, with
	// a larger fencing token.
	go func() { errc <- m2.Acquire(ctx) }()
	waitChildren(t, c1, base, childCount(2))
	notDone(t, errc, "second Acquire")
	require.NoError(t, m1.Release(ctx))
	assert.ErrorIs(t, m1.Release(ctx), recipe.ErrNotHeld)
	assert.False(t, m1.IsHeld())
	require.NoError(t, awaitResult(t, errc))
	f2, ok := m2.Fence()
	require.True(t, ok)
	assert.Greater(t, f2.Czxid, f1.Czxid)
	assert.Greater(t, f2.Seq, f1.Seq)
	require.NoError(t, m2.Release(ctx))
	kids, _, err = c1.Children(ctx, base)
	require.NoError(t, err)
	assert.Empty(t, kids)
}

// testMutexContention has 12 contenders (three Conns, four Mutex values on
// each) increment a counter node with unversioned read-modify-writes
// guarded only by the lock; each holder also creates an ephemeral "holder"
// node, which fails if another contender holds the lock at the same time.
func testMutexContention(t *testing.T, addr string) {
	ctx := testCtx(t)
	const conns, perConn, rounds = 3, 4, 5
	c0 := connect(t, addr, 0)
	_, _, err := c0.Create(ctx, "/contend", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	_, _, err = c0.Create(ctx, "/contend/counter", []byte("0"), sdk.CreateOptions{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errc := make(chan error, conns*perConn)
	for i := 0; i < conns; i++ {
		c := connect(t, addr, 0)
		for j := 0; j < perConn; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := recipe.NewMutex(c, "/contend/lock")
				for r := 0; r < rounds; r++ {
					if err := lkIncrementUnder(ctx, c, m.Acquire, m.Release, "/contend"); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	data, _, err := c0.Get(ctx, "/contend/counter")
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(conns*perConn*rounds), string(data))
}

// lkIncrementUnder takes a lock, checks exclusivity with an ephemeral
// <dir>/holder node, adds one to <dir>/counter without a version check,
// and releases the lock.
func lkIncrementUnder(ctx context.Context, c *sdk.Conn, acquire, release func(context.Context) error, dir string) error {
	if err := acquire(ctx); err != nil {
		return err
	}
	if _, _, err := c.Create(ctx, dir+"/holder", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral}); err != nil {
		return fmt.Errorf("two holders at once: %w", err)
	}
	data, _, err := c.Get(ctx, dir+"/counter")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(string(data))
	if err != nil {
		return err
	}
	if _, err := c.Set(ctx, dir+"/counter", []byte(strconv.Itoa(n+1)), -1); err != nil {
		return err
	}
	if err := c.Delete(ctx, dir+"/holder", -1); err != nil {
		return err
	}
	return release(ctx)
}

func testRWLock(t *testing.T, addr string) {
	ctx := testCtx(t)
	c1, c2, c3 := connect(t, addr, 0), connect(t, addr, 0), connect(t, addr, 0)
	const base = "/rw/basic"
	r1 := recipe.NewRWLock(c1, base).ReadLock()
	r2 := recipe.NewRWLock(c2, base).ReadLock()
	// Readers share the lock.
	require.NoError(t, r1.Acquire(ctx))
	require.NoError(t, r2.Acquire(ctx))
	require.Regexp(t, `^/rw/basic/_c_`+uuidPattern+`-__READ__\d{10}$`, r1.Node())

	// A writer waits for the readers, and a later reader waits behind it.
	wl := recipe.NewRWLock(c3, base)
	werr := make(chan error, 1)
	go func() { werr <- wl.WriteLock().Acquire(ctx) }()
	kids := waitChildren(t, c1, base, childCount(3))
	assert.Equal(t, 1, len(slices.DeleteFunc(kids, func(k string) bool {
		return !regexp.MustCompile(`^_c_` + uuidPattern + `-__WRIT__\d{10}$`).MatchString(k)
	})))
	r3 := recipe.NewRWLock(c1, base).ReadLock()
	rerr := make(chan error, 1)
	go func() { rerr <- r3.Acquire(ctx) }()
	waitChildren(t, c1, base, childCount(4))
	notDone(t, werr, "writer")
	notDone(t, rerr, "reader behind a writer")
	require.NoError(t, r1.Release(ctx))
	notDone(t, werr, "writer")
	require.NoError(t, r2.Release(ctx))
	require.NoError(t, awaitResult(t, werr))
	notDone(t, rerr, "reader behind a writer")

	// The write holder may take the read lock; releasing the write lock
	// keeps it (downgrade), shared with the waiting reader.
	require.NoError(t, wl.ReadLock().Acquire(ctx))
	require.NoError(t, wl.WriteLock().Release(ctx))
	require.NoError(t, awaitResult(t, rerr))
	assert.True(t, wl.ReadLock().IsHeld())
	assert.True(t, r3.IsHeld())
	require.NoError(t, wl.ReadLock().Release(ctx))
	require.NoError(t, r3.Release(ctx))

	// Contention: readers never overlap a writer, writers never overlap.
	var (
		mu               sync.Mutex
		readers, writers int
		violations       []string
		wg               sync.WaitGroup
	)
	enter := func(write bool) {
		mu.Lock()
		defer mu.Unlock()
		if write {
			if readers > 0 || writers > 0 {
				violations = append(violations, fmt.Sprintf("writer entered with %d readers, %d writers", readers, writers))
			}
			writers++
		} else {
			if writers > 0 {
				violations = append(violations, fmt.Sprintf("reader entered with %d writers", writers))
			}
			readers++
		}
	}
	leave := func(write bool) {
		mu.Lock()
		defer mu.Unlock()
		if write {
			writers--
		} else {
			readers--
		}
	}
	errc := make(chan error, 6)
	for i := 0; i < 6; i++ {
		c := []*sdk.Conn{c1, c2, c3}[i%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := recipe.NewRWLock(c, "/rw/contend")
			for r := 0; r < 4; r++ {
				write := (i+r)%3 == 0
				m := l.ReadLock()
				if write {
					m = l.WriteLock()
				}
				if err := m.Acquire(ctx); err != nil {
					errc <- err
					return
				}
				enter(write)
				_, _, err := c.Exists(ctx, "/rw/contend") // some work while holding
				leave(write)
				if err == nil {
					err = m.Release(ctx)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	assert.Empty(t, violations)
}

func testSemaphore(t *testing.T, addr string) {
	ctx := testCtx(t)
	c1, c2 := connect(t, addr, 0), connect(t, addr, 0)
	s1 := recipe.NewSemaphore(c1, "/sem/basic", 2)
	l1, err := s1.Acquire(ctx)
	require.NoError(t, err)
	l2, err := s1.Acquire(ctx)
	require.NoError(t, err)
	require.Regexp(t, `^/sem/basic/leases/_c_`+uuidPattern+`-lease-\d{10}$`, l1.Node())
	st, _ := l1.State()
	assert.Equal(t, recipe.HoldHeld, st)

	// A third contender waits (its lease node exists, the leases outnumber
	// the limit) until a lease is returned.
	s2 := recipe.NewSemaphore(c2, "/sem/basic", 2)
	got := make(chan *recipe.Lease, 1)
	errc := make(chan error, 1)
	go func() {
		l, err := s2.Acquire(ctx)
		got <- l
		errc <- err
	}()
	waitChildren(t, c1, "/sem/basic/leases", childCount(3))
	notDone(t, errc, "third lease")
	ps, err := s1.Participants(ctx)
	require.NoError(t, err)
	assert.Len(t, ps, 3)
	require.NoError(t, l1.Release(ctx))
	l3 := <-got
	require.NoError(t, awaitResult(t, errc))
	require.NoError(t, l2.Release(ctx))
	require.NoError(t, l3.Release(ctx))
	assert.Error(t, l3.Release(ctx), "a lease is returned once")

	// Contention: never more than 2 holders.
	var (
		mu         sync.Mutex
		active     int
		violations []int
		wg         sync.WaitGroup
	)
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		c := []*sdk.Conn{c1, c2}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := recipe.NewSemaphore(c, "/sem/contend", 2)
			for r := 0; r < 3; r++ {
				l, err := s.Acquire(ctx)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				active++
				if active > 2 {
					violations = append(violations, active)
				}
				mu.Unlock()
				_, _, err = c.Exists(ctx, "/sem/contend")
				mu.Lock()
				active--
				mu.Unlock()
				if err == nil {
					err = l.Release(ctx)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Empty(t, violations)
}

// testProtected loses the reply of a protected create: the proxy holds the
// server's bytes while the create executes, then cuts the connection. The
// create must return the node the server made, not make a second one. An
// unprotected create in the same situation fails and leaves a node behind,
// which is what protected mode is for.
func testProtected(t *testing.T, addr string) {
	ctx := testCtx(t)
	p := testutil.StartProxy(t, addr)
	c := connect(t, p.Addr(), 0)
	obs := connect(t, addr, 0)
	_, _, err := obs.Create(ctx, "/prot", nil, sdk.CreateOptions{})
	require.NoError(t, err)

	lose := func(create func() (string, error)) (string, error, []string) {
		before, _, err := obs.Children(ctx, "/prot")
		require.NoError(t, err)
		// A call through the proxy returns once the client is connected
		// (after the previous cut): pausing during its handshake would
		// hold the create back instead of its reply.
		_, _, err = c.Exists(ctx, "/prot")
		require.NoError(t, err)
		p.Pause()
		type res struct {
			path string
			err  error
		}
		resc := make(chan res, 1)
		go func() {
			path, err := create()
			resc <- res{path, err}
		}()
		// The server executed the create; its reply is held by the proxy.
		waitChildren(t, obs, "/prot", childCount(len(before)+1))
		p.Cut()
		var r res
		select {
		case r = <-resc:
		case <-ctx.Done():
			t.Fatal("create never returned")
		}
		kids, _, err := obs.Children(ctx, "/prot")
		require.NoError(t, err)
		return r.path, r.err, kids
	}

	_, err, kids := lose(func() (string, error) {
		path, _, err := c.Create(ctx, "/prot/plain-", nil, sdk.CreateOptions{Mode: sdk.ModeEphemeralSequential})
		return path, err
	})
	require.ErrorIs(t, err, sdk.ErrConnectionLoss, "an unprotected create whose reply is lost fails")
	assert.Len(t, kids, 1, "and its node exists: an orphan its creator does not know")

	got, err, kids := lose(func() (string, error) {
		path, _, err := recipe.CreateProtected(ctx, c, "/prot/lock-", []byte("x"), sdk.CreateOptions{Mode: sdk.ModeEphemeralSequential})
		return path, err
	})
	require.NoError(t, err)
	require.Regexp(t, `^/prot/_c_`+uuidPattern+`-lock-\d{10}$`, got)
	assert.Len(t, kids, 2, "exactly one protected node was created")
	assert.Contains(t, kids, path.Base(got), "the create returned the node the server made")

	// The same through a Mutex: the lock is held by the node the server
	// made, and there is no other.
	for _, k := range kids {
		require.NoError(t, obs.Delete(ctx, "/prot/"+k, -1))
	}
	m := recipe.NewMutex(c, "/prot")
	_, err, kids = lose(func() (string, error) {
		err := m.Acquire(ctx)
		return m.Node(), err
	})
	require.NoError(t, err)
	assert.Equal(t, []string{path.Base(m.Node())}, kids)
	require.NoError(t, m.Release(ctx))
}

// testExpiry cuts a lock holder (also an election leader) off the server
// for longer than its 2 s session: the holder is told the lock may be lost
// (suspended) and the leader that it does not lead, another contender
// acquires and another participant leads once the server expired the
// session, and the holder is told the lock is lost (and the latch stops)
// when it learns about the expiry.
func testExpiry(t *testing.T, addr string) {
	ctx := testCtx(t)
	p := testutil.StartProxy(t, addr)
	hc := connect(t, p.Addr(), 2*time.Second)
	oc := connect(t, addr, 0)
	holder := recipe.NewMutex(hc, "/expiry/lock")
	require.NoError(t, holder.Acquire(ctx))
	fh, _ := holder.Fence()
	st, changed := holder.State()
	require.Equal(t, recipe.HoldHeld, st)

	other := recipe.NewMutex(oc, "/expiry/lock")
	errc := make(chan error, 1)
	go func() { errc <- other.Acquire(ctx) }()
	waitChildren(t, oc, "/expiry/lock", childCount(2))
	// The same session leads an election.
	hl := recipe.NewLeaderLatch(hc, "/expiry/latch", "holder")
	hchanges := hl.Changes()
	require.NoError(t, hl.Start(ctx))
	require.NoError(t, hl.Await(ctx))
	require.Equal(t, lkOpen(true), lkNext(t, hchanges))
	ol := recipe.NewLeaderLatch(oc, "/expiry/latch", "other")
	require.NoError(t, ol.Start(ctx))
	defer func() { _ = ol.Close(ctx) }()

	p.Refuse()
	p.Cut()
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("holder never left HoldHeld")
	}
	st, _ = holder.State()
	assert.Equal(t, recipe.HoldSuspended, st, "a lost connection suspends the hold")
	assert.Equal(t, lkOpen(false), lkNext(t, hchanges), "a suspended leader is told it may not lead")
	assert.False(t, hl.IsLeader())
	require.NoError(t, awaitResult(t, errc), "the other contender acquires after the expiry")
	require.NoError(t, ol.Await(ctx), "the other participant leads after the expiry")
	fo, _ := other.Fence()
	assert.Greater(t, fo.Czxid, fh.Czxid, "the new holder's token is larger")

	p.Accept() // the holder reconnects and hears its session expired
	select {
	case <-holder.Lost():
	case <-ctx.Done():
		t.Fatal("holder never told the lock is lost")
	}
	st, _ = holder.State()
	assert.Equal(t, recipe.HoldLost, st)
	select {
	case <-hl.Done():
	case <-ctx.Done():
		t.Fatal("the expired latch never stopped")
	}
	assert.Equal(t, lkClosed, lkNext(t, hchanges), "the expired latch's changes end")
	require.ErrorIs(t, hl.Await(ctx), recipe.ErrLatchClosed)
	assert.False(t, holder.IsHeld())
	require.NoError(t, holder.Release(ctx), "releasing a lost lock is fine")
	assert.True(t, other.IsHeld())
	require.NoError(t, other.Release(ctx))
}

// lkAwaitHold waits until the Mutex reaches the hold state want.
func lkAwaitHold(t *testing.T, m *recipe.Mutex, want recipe.HoldState) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		st, ch := m.State()
		if st == want {
			return
		}
		require.NotNil(t, ch, "not held")
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("hold state %v, never %v", st, want)
		}
	}
}

// testSuspendResume cuts a lock holder (also an election leader and a
// selector's leader) off the server for a moment, well within its session:
// the hold is suspended, leadership reported lost and the selector's leader
// function cancelled while the connection is down; once the session
// resumes with the node in place the lock is held again (same node, same
// fence) and the latch leads again.
func testSuspendResume(t *testing.T, addr string) {
	ctx := testCtx(t)
	p := testutil.StartProxy(t, addr)
	hc := connect(t, p.Addr(), 20*time.Second)
	m := recipe.NewMutex(hc, "/resume/lock")
	require.NoError(t, m.Acquire(ctx))
	f1, _ := m.Fence()
	l := recipe.NewLeaderLatch(hc, "/resume/latch", "holder")
	changes := l.Changes()
	require.NoError(t, l.Start(ctx))
	require.Equal(t, lkOpen(true), lkNext(t, changes))
	sel := recipe.NewLeaderSelector(hc, "/resume/selector", "holder")
	leading := make(chan struct{})
	selErr := make(chan error, 1)
	go func() {
		selErr <- sel.Lead(ctx, func(lctx context.Context) error {
			close(leading)
			<-lctx.Done() // lead until leadership may be lost
			return errors.New("leadership suspended")
		})
	}()
	select {
	case <-leading:
	case err := <-selErr:
		t.Fatalf("Lead: %v", err)
	}

	p.Refuse()
	p.Cut()
	lkAwaitHold(t, m, recipe.HoldSuspended)
	assert.Equal(t, lkOpen(false), lkNext(t, changes), "no leadership while suspended")
	require.EqualError(t, awaitResult(t, selErr), "leadership suspended", "the selector cancels the leader's context")
	assert.False(t, m.IsHeld())
	p.Accept()
	lkAwaitHold(t, m, recipe.HoldHeld)
	assert.Equal(t, lkOpen(true), lkNext(t, changes), "leadership again once the session resumed")
	f2, ok := m.Fence()
	require.True(t, ok)
	assert.Equal(t, f1, f2, "the same node still holds the lock")
	select {
	case <-m.Lost():
		t.Fatal("a resumed hold is not lost")
	default:
	}
	require.NoError(t, m.Release(ctx))
	require.NoError(t, l.Close(ctx))
}

// testClosedConn: a holder whose Conn is closed loses its lock and
// leadership; recipes on a closed Conn fail at once.
func testClosedConn(t *testing.T, addr string) {
	ctx := testCtx(t)
	c := connect(t, addr, 0)
	m := recipe.NewMutex(c, "/closed/lock")
	require.NoError(t, m.Acquire(ctx))
	l := recipe.NewLeaderLatch(c, "/closed/latch", "x")
	require.NoError(t, l.Start(ctx))
	require.NoError(t, l.Await(ctx))
	require.NoError(t, c.Close())
	select {
	case <-m.Lost():
	case <-ctx.Done():
		t.Fatal("lock not lost after Close")
	}
	select {
	case <-l.Done():
	case <-ctx.Done():
		t.Fatal("latch not stopped after Close")
	}
	assert.False(t, l.IsLeader())
	require.NoError(t, m.Release(ctx))

	assert.ErrorIs(t, recipe.NewMutex(c, "/closed/lock").Acquire(ctx), sdk.ErrClosed)
	l2 := recipe.NewLeaderLatch(c, "/closed/latch", "y")
	assert.ErrorIs(t, l2.Start(ctx), sdk.ErrClosed)
	select {
	case <-l2.Done():
	default:
		t.Error("a latch that failed to start is stopped")
	}
	_, err := recipe.NewSemaphore(c, "/closed/sem", 1).Acquire(ctx)
	assert.ErrorIs(t, err, sdk.ErrClosed)
}
