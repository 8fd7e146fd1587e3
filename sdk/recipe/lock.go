package recipe

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warrenhq/warren/sdk"
)

// MutexLockName is the name Curator's InterProcessMutex gives its lock
// nodes (after the protected prefix, before the sequence number).
const MutexLockName = "lock-"

// ErrNotHeld is returned by Release on a lock the value does not hold.
var ErrNotHeld = errors.New("recipe: lock not held")

// errNodeVanished reports that a contender's own node disappeared while it
// waited (deleted by someone else, or the session ended).
var errNodeVanished = errors.New("recipe: lock node vanished while waiting")

// HoldState is the state of a held lock, lease or leadership as the holder
// knows it.
type HoldState int

// Hold states.
const (
	// HoldNone: not held.
	HoldNone HoldState = iota
	// HoldHeld: held, and the session is connected.
	HoldHeld
	// HoldSuspended: the connection was lost. The session may still be
	// alive (then the node and the lock survive and the state returns to
	// HoldHeld) or may expire (HoldLost). A holder should stop acting as
	// the holder until it returns to HoldHeld, as Curator's
	// ConnectionStateListener treats SUSPENDED.
	HoldSuspended
	// HoldLost: the lock is lost for good: the session expired or was
	// closed, or the node was deleted. Another contender may hold it now.
	HoldLost
)

var holdNames = map[HoldState]string{HoldNone: "none", HoldHeld: "held", HoldSuspended: "suspended", HoldLost: "lost"}

func (s HoldState) String() string {
	if n, ok := holdNames[s]; ok {
		return n
	}
	return fmt.Sprintf("hold(%d)", int(s))
}

// Fence is the fencing token of a holder: values that grow with each new
// holder of the same lock path, which a storage system can compare to
// reject writes from an older holder that does not know yet that it lost
// the lock (a paused process, a suspended session).
type Fence struct {
	// Path is the holder's lock node.
	Path string
	// Czxid is the zxid of the transaction that created the lock node. It
	// is the recommended token: each holder's node was created after the
	// previous holder's, so it has a larger Czxid, even when the lock's
	// parent (a container node) was removed and re-created meanwhile.
	Czxid int64
	// Seq is the node's sequence number. It grows from one holder to the
	// next only while the parent node lives: a removed and re-created
	// parent restarts the numbering.
	Seq int64
}

// Participant is one contender of a lock or election, in queue order.
type Participant struct {
	// Node is the contender's node path.
	Node string
	// ID is the node's data as text: the participant id in Curator's
	// LeaderSelector and LeaderLatch, the lock node data otherwise.
	ID string
	// Leader is true for the first contender (the holder, the leader).
	Leader bool
}

// MutexOption configures a Mutex.
type MutexOption func(*Mutex)

// WithNodeData sets the data stored in the lock nodes (Curator's lock node
// bytes; LeaderSelector stores the participant id there). Default: empty.
func WithNodeData(data []byte) MutexOption {
	return func(m *Mutex) { m.data = append([]byte(nil), data...) }
}

// Mutex is a distributed lock with the layout of Apache Curator's
// InterProcessMutex: each contender creates the ephemeral sequential node
// <path>/_c_<uuid>-lock-<seq10> (protected mode), and the contender whose
// node sorts first holds the lock; the others each watch the node just
// before theirs and re-check when it is deleted, so a release wakes one
// contender. A Go Mutex and a Java InterProcessMutex on the same path
// exclude each other.
//
// Ownership is per Mutex value, as Curator's is per thread: Acquire on a
// Mutex that already holds the lock succeeds at once and counts, and the
// lock is released when Release was called as many times. Goroutines that
// must exclude each other use distinct Mutex values (on the same Conn or
// not). Acquire and Release on one value are serialised.
//
// Failure behaviour: the lock lives as long as the holder's session. When
// the connection is lost the holder's state becomes HoldSuspended (the lock
// may be lost: stop acting as the holder); when the session resumes and the
// node is still there it returns to HoldHeld; when the session expires, the
// Conn is closed or the node is deleted, it becomes HoldLost and Lost() is
// closed, and another contender can acquire the lock (after the server
// expired the session). Use Fence to protect the guarded resource from a
// holder that does not know yet.
type Mutex struct {
	conn     *sdk.Conn
	base     string
	lockName string
	data     []byte
	sortKey  func(string) string
	gets     func(sorted []string, our string) (bool, string, error)

	acq chan struct{} // one Acquire or Release at a time

	mu    sync.Mutex
	node  string
	stat  sdk.Stat
	count int
	hold  *rcpHold
}

// NewMutex returns a Mutex on the lock path base (the parent of the lock
// nodes). Nothing is sent before Acquire.
func NewMutex(c *sdk.Conn, base string, opts ...MutexOption) *Mutex {
	m := rcpNewMutex(c, base, MutexLockName, rcpStandardSortKey(MutexLockName), nil)
	for _, o := range opts {
		o(m)
	}
	return m
}

func rcpNewMutex(c *sdk.Conn, base, lockName string, sortKey func(string) string, gets func([]string, string) (bool, string, error)) *Mutex {
	if gets == nil {
		gets = rcpMaxLeases(1)
	}
	return &Mutex{conn: c, base: strings.TrimSuffix(base, "/"), lockName: lockName, sortKey: sortKey, gets: gets, acq: make(chan struct{}, 1)}
}

// rcpStandardSortKey is Curator's standardFixForSorting: what follows the
// last occurrence of lockName, or the whole name when it has none.
func rcpStandardSortKey(lockName string) func(string) string {
	return func(s string) string {
		if i := strings.LastIndex(s, lockName); i >= 0 {
			return s[i+len(lockName):]
		}
		return s
	}
}

// rcpMaxLeases is StandardLockInternalsDriver.getsTheLock: the first max
// nodes hold; a waiter watches the node max places before its own.
func rcpMaxLeases(max int) func([]string, string) (bool, string, error) {
	return func(sorted []string, our string) (bool, string, error) {
		i := indexOf(sorted, our)
		if i < 0 {
			return false, "", errNodeVanished
		}
		if i < max {
			return true, "", nil
		}
		return false, sorted[i-max], nil
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// rcpSortNodes sorts names as Curator's LockInternals.getSortedChildren
// does (a stable sort by sortKey).
func rcpSortNodes(names []string, sortKey func(string) string) []string {
	out := append([]string(nil), names...)
	sort.SliceStable(out, func(i, j int) bool { return sortKey(out[i]) < sortKey(out[j]) })
	return out
}

// rcpSeq parses the sequence suffix of a sequential node name (-1 if none).
func rcpSeq(name string) int64 {
	if len(name) < 10 {
		return -1
	}
	n, err := strconv.ParseInt(name[len(name)-10:], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// Acquire blocks until the lock is held, ctx ends or the session ends. A
// failed or cancelled Acquire leaves no node behind (protected mode finds
// the node of a create whose reply was lost; a waiting contender deletes
// its node when ctx ends).
func (m *Mutex) Acquire(ctx context.Context) error {
	select {
	case m.acq <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("recipe: acquire %s: %w", m.base, ctx.Err())
	}
	defer func() { <-m.acq }()

	m.mu.Lock()
	if m.count > 0 {
		if m.hold.current() != HoldLost {
			m.count++
			m.mu.Unlock()
			return nil
		}
		// The previous hold was lost: start over.
		m.clearLocked()
	}
	m.mu.Unlock()

	for {
		hold := rcpNewHold(m.conn)
		p, st, err := rcpCreateProtected(ctx, m.conn, m.base+"/"+m.lockName, NewProtectedID(), m.data, sdk.CreateOptions{Mode: sdk.ModeEphemeralSequential})
		if err != nil {
			hold.stop()
			return fmt.Errorf("recipe: acquire %s: %w", m.base, err)
		}
		err = m.waitTurn(ctx, p)
		if errors.Is(err, errNodeVanished) && ctx.Err() == nil {
			// Curator retries when its node disappears while waiting.
			hold.stop()
			continue
		}
		if err != nil {
			hold.stop()
			rcpDeleteNode(ctx, m.conn, p)
			return fmt.Errorf("recipe: acquire %s: %w", m.base, err)
		}
		m.mu.Lock()
		m.node, m.stat, m.count, m.hold = p, st, 1, hold
		m.mu.Unlock()
		hold.start(p)
		return nil
	}
}

// waitTurn waits until the node p gets the lock.
func (m *Mutex) waitTurn(ctx context.Context, p string) error {
	our := path.Base(p)
	var backoff rcpBackoff
	for {
		kids, _, err := m.conn.Children(ctx, m.base)
		if err != nil {
			if rcpRetryable(err) {
				if werr := backoff.wait(ctx); werr != nil {
					return werr
				}
				continue
			}
			if errors.Is(err, sdk.ErrNoNode) {
				return errNodeVanished
			}
			return err
		}
		ok, prev, err := m.gets(rcpSortNodes(kids, m.sortKey), our)
		if err != nil || ok {
			return err
		}
		// Curator watches with getData rather than exists so that a
		// vanished predecessor leaves no watch behind.
		_, _, ch, err := m.conn.GetW(ctx, m.base+"/"+prev)
		switch {
		case errors.Is(err, sdk.ErrNoNode):
			continue
		case err != nil && rcpRetryable(err):
			if werr := backoff.wait(ctx); werr != nil {
				return werr
			}
			continue
		case err != nil:
			return err
		}
		select {
		case ev := <-ch:
			if ev.Type == sdk.EventSession {
				return fmt.Errorf("session %v: %w", ev.State, sdk.ErrSessionExpired)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Release releases one Acquire; the last one deletes the lock node. While
// the connection is down (sdk.StateSuspended), or if the delete cannot be
// done before ctx ends, the delete is left to a background goroutine that
// retries until it succeeds or the session ends, as Curator's guaranteed
// delete does; Release does not wait for the connection. The lock stays
// taken (by no one) until then. Release of a lost lock returns nil.
func (m *Mutex) Release(ctx context.Context) error {
	select {
	case m.acq <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("recipe: release %s: %w", m.base, ctx.Err())
	}
	defer func() { <-m.acq }()
	m.mu.Lock()
	if m.count == 0 {
		m.mu.Unlock()
		return fmt.Errorf("recipe: release %s: %w", m.base, ErrNotHeld)
	}
	m.count--
	if m.count > 0 {
		m.mu.Unlock()
		return nil
	}
	node := m.node
	m.clearLocked()
	m.mu.Unlock()
	return rcpReleaseNode(ctx, m.conn, node)
}

// clearLocked forgets the current hold; m.mu must be held.
func (m *Mutex) clearLocked() {
	if m.hold != nil {
		m.hold.stop()
	}
	m.node, m.stat, m.count, m.hold = "", sdk.Stat{}, 0, nil
}

// IsHeld reports whether this value holds the lock and its session is
// connected (HoldHeld).
func (m *Mutex) IsHeld() bool {
	s, _ := m.State()
	return s == HoldHeld
}

// isOwned reports whether this value holds the lock, whatever the
// connection does (Curator's isOwnedByCurrentThread).
func (m *Mutex) isOwned() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count > 0 && m.hold.current() != HoldLost
}

// State returns the hold state and a channel closed at its next change
// (nil when the lock is not held).
func (m *Mutex) State() (HoldState, <-chan struct{}) {
	m.mu.Lock()
	h := m.hold
	m.mu.Unlock()
	if h == nil {
		return HoldNone, nil
	}
	return h.status()
}

// Lost returns a channel closed when the current hold is lost for good
// (HoldLost); it is already closed when the lock is not held.
func (m *Mutex) Lost() <-chan struct{} {
	m.mu.Lock()
	h := m.hold
	m.mu.Unlock()
	if h == nil {
		return rcpClosed
	}
	return h.lost
}

// Node returns the holder's lock node path ("" when not held).
func (m *Mutex) Node() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.node
}

// Fence returns the fencing token of the current hold (false when the lock
// is not held).
func (m *Mutex) Fence() (Fence, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.count == 0 {
		return Fence{}, false
	}
	return Fence{Path: m.node, Czxid: m.stat.Czxid, Seq: rcpSeq(m.node)}, true
}

// Participants lists the lock's contenders in queue order, the first being
// the holder, with their node data as ID (Curator's getParticipantNodes;
// LeaderSelector.getParticipants). Nodes of any client using Curator's
// layout are listed.
func (m *Mutex) Participants(ctx context.Context) ([]Participant, error) {
	return rcpParticipants(ctx, m.conn, m.base, m.sortKey)
}

func rcpParticipants(ctx context.Context, c *sdk.Conn, base string, sortKey func(string) string) ([]Participant, error) {
	kids, _, err := c.Children(ctx, base)
	if errors.Is(err, sdk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recipe: participants %s: %w", base, err)
	}
	var out []Participant
	for _, k := range rcpSortNodes(kids, sortKey) {
		p := base + "/" + k
		data, _, err := c.Get(ctx, p)
		if errors.Is(err, sdk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("recipe: participants %s: %w", base, err)
		}
		out = append(out, Participant{Node: p, ID: string(data), Leader: len(out) == 0})
	}
	return out, nil
}

// rcpDeleteNode deletes a node, ignoring ctx's end (at most 5 s), for
// cleaning up after a failed acquire.
func rcpDeleteNode(ctx context.Context, c *sdk.Conn, p string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = rcpGuaranteedDelete(dctx, c, p)
}

// rcpReleaseNode deletes a held node: in the background when the
// connection is down, otherwise as rcpGuaranteedDelete.
func rcpReleaseNode(ctx context.Context, c *sdk.Conn, p string) error {
	if s := c.State(); s == sdk.StateSuspended || s == sdk.StateAuthFailed {
		go func() { _ = rcpDeleteRetrying(context.Background(), c, p) }()
		return nil
	}
	return rcpGuaranteedDelete(ctx, c, p)
}

// rcpGuaranteedDelete deletes p, retrying while the connection is lost; if
// ctx ends first it keeps retrying in a background goroutine until the
// delete succeeds or the session ends.
func rcpGuaranteedDelete(ctx context.Context, c *sdk.Conn, p string) error {
	err := rcpDeleteRetrying(ctx, c, p)
	if err != nil && ctx.Err() != nil {
		go func() { _ = rcpDeleteRetrying(context.Background(), c, p) }()
	}
	return err
}

func rcpDeleteRetrying(ctx context.Context, c *sdk.Conn, p string) error {
	var backoff rcpBackoff
	for {
		err := c.Delete(ctx, p, -1)
		switch {
		case err == nil, errors.Is(err, sdk.ErrNoNode):
			return nil
		case errors.Is(err, sdk.ErrSessionExpired), errors.Is(err, sdk.ErrClosed):
			// An ephemeral node ends with its session.
			return nil
		case rcpRetryable(err):
			if werr := backoff.wait(ctx); werr != nil {
				return fmt.Errorf("recipe: delete %s: %w", p, werr)
			}
		default:
			return fmt.Errorf("recipe: delete %s: %w", p, err)
		}
	}
}

var rcpClosed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// rcpHub fans one Conn's state stream out to the recipes that use the
// Conn (sdk.Conn.States subscriptions cannot be cancelled, so the package
// takes one per Conn).
type rcpHub struct {
	mu    sync.Mutex
	subs  map[uint64]func(sdk.State)
	next  uint64
	final sdk.State // set once the Conn finished
}

var rcpHubs = struct {
	sync.Mutex
	m map[*sdk.Conn]*rcpHub
}{m: map[*sdk.Conn]*rcpHub{}}

// rcpWatchStates calls fn with every later state of c, in order, from one
// goroutine; fn must not block. A finished Conn's final state is reported
// at once. cancel stops the calls.
func rcpWatchStates(c *sdk.Conn, fn func(sdk.State)) (cancel func()) {
	rcpHubs.Lock()
	h := rcpHubs.m[c]
	if h == nil {
		h = &rcpHub{subs: map[uint64]func(sdk.State){}}
		rcpHubs.m[c] = h
		go h.run(c, c.States())
	}
	rcpHubs.Unlock()
	h.mu.Lock()
	if h.final != 0 {
		f := h.final
		h.mu.Unlock()
		fn(f)
		return func() {}
	}
	id := h.next
	h.next++
	h.subs[id] = fn
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.subs, id)
		h.mu.Unlock()
	}
}

func (h *rcpHub) run(c *sdk.Conn, ch <-chan sdk.State) {
	for s := range ch {
		h.mu.Lock()
		for _, fn := range h.subs {
			fn(s)
		}
		if s == sdk.StateExpired || s == sdk.StateClosed {
			// Later subscribers get the final state at once.
			h.final = s
			h.subs = nil
		}
		h.mu.Unlock()
	}
	rcpHubs.Lock()
	if rcpHubs.m[c] == h {
		delete(rcpHubs.m, c)
	}
	rcpHubs.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.final == 0 {
		// The stream ended without a final state (the Conn had finished
		// before the subscription).
		h.final = c.State()
		if h.final != sdk.StateExpired {
			h.final = sdk.StateClosed
		}
		for _, fn := range h.subs {
			fn(h.final)
		}
		h.subs = nil
	}
}

// rcpHold follows one held node: the session's states and the node's
// existence, and publishes the HoldState.
type rcpHold struct {
	c *sdk.Conn

	mu      sync.Mutex
	state   HoldState
	changed chan struct{}
	lost    chan struct{}
	pending []sdk.State
	gen     uint64 // counts the states received

	wake     chan struct{}
	quit     chan struct{}
	quitOnce sync.Once
	unsub    func()
	started  bool
	done     chan struct{}
}

// rcpNewHold subscribes to c's states at once (before the node is
// created, so that no state change between the create and start is
// missed); start begins following the node.
func rcpNewHold(c *sdk.Conn) *rcpHold {
	h := &rcpHold{c: c, state: HoldHeld, changed: make(chan struct{}), lost: make(chan struct{}),
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	h.unsub = rcpWatchStates(c, func(s sdk.State) {
		// Bad news is published at once, even while the follower waits
		// for a call; a reconnection needs the follower to check the
		// node first.
		h.mu.Lock()
		h.gen++
		h.pending = append(h.pending, s)
		switch s {
		case sdk.StateSuspended, sdk.StateAuthFailed:
			h.setLocked(HoldSuspended)
		case sdk.StateExpired, sdk.StateClosed:
			h.setLocked(HoldLost)
		}
		h.mu.Unlock()
		select {
		case h.wake <- struct{}{}:
		default:
		}
	})
	return h
}

func (h *rcpHold) start(node string) {
	h.mu.Lock()
	h.started = true
	h.mu.Unlock()
	go h.follow(node)
}

// stop ends the following (on release); the state is left as it is.
func (h *rcpHold) stop() {
	h.quitOnce.Do(func() {
		close(h.quit)
		h.unsub()
	})
	h.mu.Lock()
	started := h.started
	h.mu.Unlock()
	if started {
		<-h.done
	}
}

func (h *rcpHold) current() HoldState {
	if h == nil {
		return HoldNone
	}
	s, _ := h.status()
	return s
}

func (h *rcpHold) status() (HoldState, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state, h.changed
}

func (h *rcpHold) set(s HoldState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setLocked(s)
}

// setHeldIf returns the hold to HoldHeld unless another state arrived
// since the generation gen was read.
func (h *rcpHold) setHeldIf(gen uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen == gen {
		h.setLocked(HoldHeld)
	}
}

// setLocked publishes a state; h.mu must be held. HoldLost is final.
func (h *rcpHold) setLocked(s HoldState) {
	if h.state == HoldLost || h.state == s {
		return
	}
	h.state = s
	close(h.changed)
	h.changed = make(chan struct{})
	if s == HoldLost {
		close(h.lost)
	}
}

func (h *rcpHold) follow(node string) {
	defer close(h.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-h.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	var watch <-chan sdk.Event
	arm := func() bool {
		_, ok, ch, err := h.c.ExistsW(ctx, node)
		switch {
		case err == nil && !ok:
			h.set(HoldLost)
			return false
		case err == nil:
			watch = ch
		case rcpRetryable(err):
			watch = nil // re-armed on reconnection
		case ctx.Err() != nil:
			return false
		default:
			h.set(HoldLost)
			return false
		}
		return true
	}
	if !arm() {
		return
	}
	for {
		select {
		case ev := <-watch:
			if ev.Type == sdk.EventNodeDeleted || ev.Type == sdk.EventSession {
				h.set(HoldLost)
				return
			}
			if !arm() {
				return
			}
		case <-h.wake:
			h.mu.Lock()
			states := h.pending
			h.pending = nil
			h.mu.Unlock()
			for _, s := range states {
				switch s {
				case sdk.StateReconnected:
					h.mu.Lock()
					gen := h.gen
					h.mu.Unlock()
					st, ok, err := h.c.Exists(ctx, node)
					switch {
					case err == nil && ok && st.EphemeralOwner == h.c.SessionID():
						h.setHeldIf(gen)
						if watch == nil && !arm() {
							return
						}
					case err == nil:
						h.set(HoldLost)
						return
					}
					// On an error the connection went away again: a
					// new Suspended follows.
				case sdk.StateExpired, sdk.StateClosed:
					return // HoldLost already
				}
			}
		case <-h.quit:
			return
		}
	}
}
