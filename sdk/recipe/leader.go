package recipe

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"

	"github.com/warrenhq/warren/internal/fifo"
	"github.com/warrenhq/warren/sdk"
)

// LatchLockName is the name Curator's LeaderLatch gives its nodes.
const LatchLockName = "latch-"

// ErrLatchClosed is returned by LeaderLatch.Await after the latch stopped.
var ErrLatchClosed = errors.New("recipe: leader latch closed")

// LeaderLatch is a leader election with the layout of Apache Curator's
// LeaderLatch: every participant creates the ephemeral sequential node
// <path>/_c_<uuid>-latch-<seq> (protected) with its participant id as data,
// and the participant whose node sorts first is the leader. The others
// each watch the node before theirs. Go and Curator participants on the
// same path elect one leader between them.
//
// Failure behaviour, as Curator's default (ConnectionStateErrorPolicy
// standard): when the connection is lost (sdk.StateSuspended) the latch
// reports no leadership at once, since the session may be expiring; when
// the session resumes it checks its node's position again and may report
// leadership again; when the session expires or the Conn is closed the
// latch stops (Done is closed) and reports no leadership: a new Conn and a
// new LeaderLatch are needed to participate again. If its node disappears
// while the session lives, the latch creates a new one (Curator's reset).
//
// Leadership is reported by IsLeader, by the channels of Changes (every
// change in order) and by Await. A leader that writes to shared storage
// should pass the Fence of its node along, as a lock holder does.
type LeaderLatch struct {
	conn *sdk.Conn
	base string
	id   string

	mu        sync.Mutex
	leader    bool
	suspended bool // the connection is down (or the session ended)
	node      string
	stat      sdk.Stat
	changed   chan struct{}
	subs      []*fifo.Queue[bool]
	started   bool
	stopped   bool
	pending   []sdk.State

	wake  chan struct{}
	quit  chan struct{}
	done  chan struct{}
	unsub func()
	once  sync.Once
}

// NewLeaderLatch returns a latch on base for the participant id (stored as
// the node's data). Nothing is sent before Start.
func NewLeaderLatch(c *sdk.Conn, base, id string) *LeaderLatch {
	return &LeaderLatch{conn: c, base: base, id: id, changed: make(chan struct{}),
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
}

// Start joins the election: it creates the latch node (returning an error
// if that fails) and follows the election in a goroutine until Close or the
// end of the session.
func (l *LeaderLatch) Start(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return errors.New("recipe: leader latch already started")
	}
	l.started = true
	l.mu.Unlock()
	l.unsub = rcpWatchStates(l.conn, func(s sdk.State) {
		// Leadership ends at once on bad news, even while the follower
		// waits for a call; it resumes only after the follower checked
		// the node's position on the new connection.
		l.mu.Lock()
		l.pending = append(l.pending, s)
		switch s {
		case sdk.StateSuspended, sdk.StateAuthFailed, sdk.StateExpired, sdk.StateClosed:
			l.suspended = true
			l.setLeaderLocked(false)
		case sdk.StateReconnected, sdk.StateConnected:
			l.suspended = false
		}
		l.mu.Unlock()
		select {
		case l.wake <- struct{}{}:
		default:
		}
	})
	p, st, err := rcpCreateProtected(ctx, l.conn, l.base+"/"+LatchLockName, NewProtectedID(), []byte(l.id), sdk.CreateOptions{Mode: sdk.ModeEphemeralSequential})
	if err != nil {
		l.unsub()
		l.finish()
		return fmt.Errorf("recipe: leader latch %s: %w", l.base, err)
	}
	l.mu.Lock()
	l.node, l.stat = p, st
	l.mu.Unlock()
	go l.run()
	return nil
}

// ID returns the participant id.
func (l *LeaderLatch) ID() string { return l.id }

// Node returns the latch's current node ("" when it has none).
func (l *LeaderLatch) Node() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.node
}

// Fence returns the fencing token of the latch's node (valid while it
// leads).
func (l *LeaderLatch) Fence() Fence {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Fence{Path: l.node, Czxid: l.stat.Czxid, Seq: rcpSeq(l.node)}
}

// IsLeader reports whether this participant leads now.
func (l *LeaderLatch) IsLeader() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leader
}

// Changes returns a new subscription to the leadership changes: true when
// this participant becomes leader, false when it stops being leader, in
// order, never dropped. The channel is closed when the latch stops.
func (l *LeaderLatch) Changes() <-chan bool {
	q := fifo.New[bool]()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		q.Close()
	} else {
		l.subs = append(l.subs, q)
	}
	return q.Out()
}

// Done returns a channel closed when the latch stopped (Close, or the
// session ended).
func (l *LeaderLatch) Done() <-chan struct{} { return l.done }

// Await blocks until this participant leads, ctx ends or the latch stops.
func (l *LeaderLatch) Await(ctx context.Context) error {
	for {
		l.mu.Lock()
		leader, ch := l.leader, l.changed
		l.mu.Unlock()
		if leader {
			return nil
		}
		select {
		case <-ch:
		case <-l.done:
			return ErrLatchClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Participants lists the participants in order, the first being the
// leader, with their ids (Curator's getParticipants).
func (l *LeaderLatch) Participants(ctx context.Context) ([]Participant, error) {
	return rcpParticipants(ctx, l.conn, l.base, rcpStandardSortKey(LatchLockName))
}

// Close leaves the election: it stops the latch, gives up leadership and
// deletes the node (in the background while the connection is down, as
// Mutex.Release does).
func (l *LeaderLatch) Close(ctx context.Context) error {
	l.mu.Lock()
	started := l.started
	l.started = true
	l.mu.Unlock()
	l.once.Do(func() { close(l.quit) })
	if !started {
		l.finish()
		return nil
	}
	<-l.done
	l.mu.Lock()
	node := l.node
	l.node = ""
	l.mu.Unlock()
	if node == "" {
		return nil
	}
	return rcpReleaseNode(ctx, l.conn, node)
}

func (l *LeaderLatch) setLeader(v bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v && l.suspended {
		return // the connection is down: checked again on reconnection
	}
	l.setLeaderLocked(v)
}

// setLeaderLocked publishes the leadership; l.mu must be held.
func (l *LeaderLatch) setLeaderLocked(v bool) {
	if l.leader == v || l.stopped {
		return
	}
	l.leader = v
	close(l.changed)
	l.changed = make(chan struct{})
	for _, q := range l.subs {
		q.Push(v)
	}
}

// finish reports no leadership and ends the subscriptions and Done.
func (l *LeaderLatch) finish() {
	l.setLeader(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.stopped = true
	for _, q := range l.subs {
		q.Close()
	}
	l.subs = nil
	close(l.done)
}

func (l *LeaderLatch) run() {
	defer l.finish()
	defer l.unsub()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-l.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	var backoff rcpBackoff
	// states handles the queued connection states (the callback already
	// acted on them); false ends the latch.
	states := func() bool {
		l.mu.Lock()
		ss := l.pending
		l.pending = nil
		l.mu.Unlock()
		for _, s := range ss {
			if s == sdk.StateExpired || s == sdk.StateClosed {
				return false
			}
		}
		return true
	}
	for {
		l.mu.Lock()
		suspended := l.suspended
		l.mu.Unlock()
		if suspended {
			select {
			case <-l.wake:
				if !states() {
					return
				}
			case <-l.quit:
				return
			}
			continue
		}
		l.mu.Lock()
		node := l.node
		l.mu.Unlock()
		ch, err := l.check(ctx, node)
		if err != nil {
			if !rcpRetryable(err) || backoff.wait(ctx) != nil {
				return
			}
			continue
		}
		if ch == nil {
			continue // re-check at once
		}
		select {
		case ev := <-ch:
			if ev.Type == sdk.EventSession {
				return
			}
		case <-l.wake:
			if !states() {
				return
			}
		case <-l.quit:
			return
		}
	}
}

// check looks at the latch's position once: it creates the node if the
// latch has none, sets the leadership and returns the watch to wait on
// (nil: check again at once).
func (l *LeaderLatch) check(ctx context.Context, node string) (<-chan sdk.Event, error) {
	if node == "" {
		p, st, err := rcpCreateProtected(ctx, l.conn, l.base+"/"+LatchLockName, NewProtectedID(), []byte(l.id), sdk.CreateOptions{Mode: sdk.ModeEphemeralSequential})
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.node, l.stat = p, st
		l.mu.Unlock()
		node = p
	}
	kids, _, err := l.conn.Children(ctx, l.base)
	if errors.Is(err, sdk.ErrNoNode) {
		kids, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	sorted := rcpSortNodes(kids, rcpStandardSortKey(LatchLockName))
	i := indexOf(sorted, path.Base(node))
	if i < 0 {
		// Our node is gone while the session lives: Curator's reset.
		l.setLeader(false)
		l.mu.Lock()
		l.node = ""
		l.mu.Unlock()
		return nil, nil
	}
	if i == 0 {
		l.setLeader(true)
		_, ok, ch, err := l.conn.ExistsW(ctx, node)
		if err == nil && !ok {
			return nil, nil
		}
		return ch, err
	}
	l.setLeader(false)
	_, _, ch, err := l.conn.GetW(ctx, l.base+"/"+sorted[i-1])
	if errors.Is(err, sdk.ErrNoNode) {
		return nil, nil
	}
	return ch, err
}

// LeaderSelector is a leader election with the layout of Apache Curator's
// LeaderSelector: it is a Mutex on the election path (nodes
// <path>/_c_<uuid>-lock-<seq>) whose nodes hold the participant id, and the
// holder of the mutex leads while its function runs. Go and Curator
// LeaderSelectors on one path take turns.
//
// Failure behaviour, as Curator's LeaderSelectorListenerAdapter: when the
// connection is lost (the hold becomes HoldSuspended) or the leadership is
// lost (HoldLost), the context passed to the leader's function is
// cancelled; the function should return promptly and stop acting as the
// leader.
//
// A LeaderSelector is one participant: call Lead from one goroutine at a
// time (concurrent calls would share the leadership, as a Mutex value's
// reentrant holds do); use one LeaderSelector per participant.
type LeaderSelector struct {
	m  *Mutex
	id string
}

// NewLeaderSelector returns a selector on base for the participant id.
func NewLeaderSelector(c *sdk.Conn, base, id string) *LeaderSelector {
	var opts []MutexOption
	if id != "" {
		opts = append(opts, WithNodeData([]byte(id)))
	}
	return &LeaderSelector{m: NewMutex(c, base, opts...), id: id}
}

// ID returns the participant id.
func (s *LeaderSelector) ID() string { return s.id }

// Lead waits for leadership, runs fn with a context that is cancelled when
// leadership may be lost (connection suspended, session expired) or ctx
// ends, then gives up leadership and returns fn's error. Call it again to
// requeue (Curator's autoRequeue).
func (s *LeaderSelector) Lead(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := s.m.Acquire(ctx); err != nil {
		return fmt.Errorf("recipe: leader selector: %w", err)
	}
	lctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			st, ch := s.m.State()
			if st != HoldHeld {
				cancel()
				return
			}
			select {
			case <-ch:
			case <-lctx.Done():
				return
			}
		}
	}()
	err := fn(lctx)
	cancel()
	<-watched
	rctx := context.WithoutCancel(ctx)
	if rerr := s.m.Release(rctx); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// IsLeader reports whether this participant leads now.
func (s *LeaderSelector) IsLeader() bool { return s.m.IsHeld() }

// Fence returns the fencing token of the current leadership.
func (s *LeaderSelector) Fence() (Fence, bool) { return s.m.Fence() }

// Participants lists the participants in order, the first being the
// leader, with their ids (Curator's getParticipants).
func (s *LeaderSelector) Participants(ctx context.Context) ([]Participant, error) {
	return s.m.Participants(ctx)
}
