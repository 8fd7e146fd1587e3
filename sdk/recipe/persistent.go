package recipe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/internal/fifo"
	"github.com/warrenhq/warren/sdk"
)

// PersistentEventType is the kind of a PersistentNode event.
type PersistentEventType int

// PersistentNode event types.
const (
	// PersistentCreated: the node was created for the first time (Path,
	// Stat). WaitForInitialCreate returns after it.
	PersistentCreated PersistentEventType = iota + 1
	// PersistentRecreated: the node was created again after it went away
	// (deleted by another client, missing after a reconnection, or lost
	// with an expired session). Path is the new actual path: with a
	// protected or sequential node it differs from the previous one.
	PersistentRecreated
	// PersistentDeleted: the node was found deleted by someone else (its
	// watch fired, or it was missing after a reconnection). Path is the
	// path that went away; a PersistentRecreated follows.
	PersistentDeleted
	// PersistentSessionExpired: the session expired and the node, set up
	// WithPersistentSession, is getting a new one; a PersistentRecreated
	// (or, for a persistent node that survived, nothing) follows.
	PersistentSessionExpired
	// PersistentStopped is the last event: the node stopped (Err says
	// why; nil after Close).
	PersistentStopped
)

var persistentEventNames = map[PersistentEventType]string{
	PersistentCreated: "created", PersistentRecreated: "recreated", PersistentDeleted: "deleted",
	PersistentSessionExpired: "session expired", PersistentStopped: "stopped",
}

func (t PersistentEventType) String() string {
	if s, ok := persistentEventNames[t]; ok {
		return s
	}
	return fmt.Sprintf("PersistentEventType(%d)", int(t))
}

// PersistentEvent is one PersistentNode event.
type PersistentEvent struct {
	Type PersistentEventType
	// Path is the node's actual path (chroot-relative, with the sequence
	// suffix) for Created, Recreated and Deleted.
	Path string
	// Stat is the node's Stat after Created and Recreated.
	Stat sdk.Stat
	// Existing is set on Created and Recreated when the node was not
	// created by this value but found at its (non-protected,
	// non-sequential) path, and adopted: its data was set to ours.
	Existing bool
	// Err is set on PersistentSessionExpired, and on PersistentStopped
	// when the node stopped by itself.
	Err error
}

// ErrPersistentNodeClosed is returned by PersistentNode.Err after Close
// and by calls on a closed node.
var ErrPersistentNodeClosed = errors.New("recipe: persistent node: closed")

// PersistentNodeOption configures a PersistentNode.
type PersistentNodeOption func(*PersistentNode)

// WithPersistentSession makes the node outlive its session, as
// WithCacheSession does for a TreeCache: when the session expires, the
// node reports PersistentSessionExpired and calls connect (again, with a
// growing pause, until it succeeds or the node is closed) for a Conn with
// a new session, and creates the node there (an ephemeral node is gone
// with the old session; a persistent one is checked and recreated only if
// missing). The node owns the Conns connect returns: it closes each when
// it moves on to the next, and the last one on Close. Without this option
// an expiry stops the node (PersistentStopped with sdk.ErrSessionExpired).
func WithPersistentSession(connect func(ctx context.Context) (*sdk.Conn, error)) PersistentNodeOption {
	return func(n *PersistentNode) { n.renew = connect }
}

// WithPersistentACL sets the node's ACL (default sdk.OpenACL). Missing
// parents get sdk.OpenACL, as with Curator's default ACL provider.
func WithPersistentACL(acl []sdk.ACL) PersistentNodeOption {
	return func(n *PersistentNode) { n.acl = slices.Clone(acl) }
}

// WithPersistentTTL sets the TTL of a node created in one of the TTL modes
// (Curator's PersistentTtlNode keeps such a node alive by touching a
// child; this recipe only recreates it once the server removed it).
func WithPersistentTTL(d time.Duration) PersistentNodeOption {
	return func(n *PersistentNode) { n.ttl = d }
}

// WithPersistentProtection chooses protected mode (Curator's
// useProtection): the node's name becomes "_c_<uuid>-<name>" and a create
// lost with the connection is recognised by its UUID. The default is
// protection for the sequential modes (where a lost create would otherwise
// leave a duplicate) and none for the others, whose path is fixed: a
// repeated create fails with NodeExists and the node is recognised by its
// path (and, for an ephemeral node, its owner).
func WithPersistentProtection(on bool) PersistentNodeOption {
	return func(n *PersistentNode) { n.protect = on }
}

// WithPersistentLogger sets the logger for the errors the node skips over.
func WithPersistentLogger(l *zap.Logger) PersistentNodeOption {
	return func(n *PersistentNode) { n.log = l }
}

// Lifecycle of a PersistentNode.
const (
	persistentLatent = iota
	persistentStarted
	persistentClosed
)

// PersistentNode is a node that stays present while its owner lives, like
// Apache Curator's PersistentNode (and PersistentEphemeralNode), for
// service registration and membership: Start creates it, a goroutine keeps
// it, Close deletes it.
//
// Creation: missing parents are created as container nodes (Curator's
// creatingParentContainersIfNeeded). Sequential modes use protected mode
// by default (see WithPersistentProtection), so that a create lost with
// the connection leaves no duplicate node behind.
//
// Keeping it: the node sets an exists watch on its actual path. When the
// node is deleted by another client it reports PersistentDeleted and
// creates it again (PersistentRecreated; a protected or sequential node
// gets a new path, which ActualPath returns from then on); the new node
// carries the data last given to SetData. A data change by someone else
// only re-arms the watch: the node does not restore its data.
//
// Failure behaviour:
//
//   - Connection lost (sdk.StateSuspended): nothing is done; the session
//     may be alive and with it an ephemeral node. On sdk.StateReconnected
//     the node checks its path again and recreates the node if it went
//     away meanwhile (PersistentDeleted, PersistentRecreated). Creates and
//     checks cut by a connection loss are tried again; a protected create
//     recognises its own node by its UUID.
//   - An existing node at a non-protected, non-sequential path (made by
//     another client, or by an earlier session of the same owner that has
//     not expired yet): as Curator does, the node adopts it, sets its data
//     and watches it (event Existing set). It does not delete another
//     session's ephemeral node, which may belong to a live owner: when that
//     node goes (its session expires) the watch fires and the node creates
//     its own. Close deletes an adopted persistent node, never an
//     ephemeral node owned by another session.
//   - Session expired: without WithPersistentSession the node stops
//     (PersistentStopped, Err sdk.ErrSessionExpired); an ephemeral node is
//     gone with the session, a persistent one stays (Close cannot delete
//     it any more). With it, the node reports PersistentSessionExpired,
//     gets a new Conn and recreates the node under the new session.
//   - Conn closed: the node stops with sdk.ErrClosed.
//   - Any other error of a create (sdk.ErrNoAuth, a missing chroot, a bad
//     path): the node stops with it, and WaitForInitialCreate returns it.
//
// Events are delivered on an unbounded stream (Events): read it to its end
// after Close, or it holds a goroutine; the node never waits for its
// reader. A PersistentNode is safe for concurrent use.
type PersistentNode struct {
	base    string
	mode    sdk.CreateMode
	acl     []sdk.ACL
	ttl     time.Duration
	protect bool
	renew   func(ctx context.Context) (*sdk.Conn, error)
	log     *zap.Logger

	// wmu serialises the writes of the node's data (creates, adoptions,
	// SetData), so that a recreate never carries older data than the
	// last SetData.
	wmu chan struct{}

	mu      sync.Mutex
	conn    *sdk.Conn // current session (run changes it on renewal)
	owned   *sdk.Conn // the Conn from renew in use, closed by the node
	path    string    // actual path, "" before the first create
	maybe   bool      // a create of base with an unknown outcome
	data    []byte
	state   int
	err     error
	created bool // run only: a Created event was sent

	events      *fifo.Queue[PersistentEvent]
	initial     chan struct{} // closed at the first create
	ctx         context.Context
	cancel      context.CancelFunc
	done        chan struct{} // closed when run ended (or by Close if never started)
	closeOnce   sync.Once
	closeErr    error
	initialOnce sync.Once
}

// NewPersistentNode returns a node at path (the base path: with protected
// or sequential modes the actual path differs) with the given data and
// mode. Nothing is sent before Start.
func NewPersistentNode(conn *sdk.Conn, path string, data []byte, mode sdk.CreateMode, opts ...PersistentNodeOption) *PersistentNode {
	ctx, cancel := context.WithCancel(context.Background())
	n := &PersistentNode{base: path, mode: mode, log: zap.NewNop(), wmu: make(chan struct{}, 1),
		conn: conn, data: slices.Clone(data), events: fifo.New[PersistentEvent](),
		initial: make(chan struct{}), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	n.protect = mode == sdk.ModePersistentSequential || mode == sdk.ModeEphemeralSequential ||
		mode == sdk.ModePersistentSequentialWithTTL
	for _, o := range opts {
		o(n)
	}
	return n
}

// Start begins creating and keeping the node in the background and
// returns at once; WaitForInitialCreate waits for the first create.
func (n *PersistentNode) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch n.state {
	case persistentStarted:
		return fmt.Errorf("recipe: persistent node %s: already started", n.base)
	case persistentClosed:
		return fmt.Errorf("recipe: persistent node %s: %w", n.base, ErrPersistentNodeClosed)
	}
	n.state = persistentStarted
	// Subscribe before the first call so that no reconnection is missed;
	// the subscription ends with the node.
	states := n.conn.StatesContext(n.ctx)
	go n.run(n.conn, states)
	return nil
}

// WaitForInitialCreate waits until the node was created (or adopted) for
// the first time. It fails if the node stopped first (with the reason),
// or when ctx ends.
func (n *PersistentNode) WaitForInitialCreate(ctx context.Context) error {
	n.mu.Lock()
	latent := n.state == persistentLatent
	n.mu.Unlock()
	if latent {
		return fmt.Errorf("recipe: persistent node %s: not started", n.base)
	}
	select {
	case <-n.initial:
		return nil
	case <-n.done:
		select {
		case <-n.initial:
			return nil
		default:
		}
		return fmt.Errorf("recipe: persistent node %s: %w", n.base, n.Err())
	case <-ctx.Done():
		return fmt.Errorf("recipe: persistent node %s: waiting for the initial create: %w", n.base, ctx.Err())
	}
}

// ActualPath returns the node's path (chroot-relative, with the protected
// prefix and the sequence suffix): "" before the first create, then the
// path of the last node created or adopted (during a recreation, the path
// of the one that went away).
func (n *PersistentNode) ActualPath() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.path
}

// Data returns the data the node is (re)created with.
func (n *PersistentNode) Data() []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.data)
}

// Conn returns the Conn the node is on now (a new one after a renewal).
func (n *PersistentNode) Conn() *sdk.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conn
}

// Events returns the event stream; it is closed after PersistentStopped.
func (n *PersistentNode) Events() <-chan PersistentEvent { return n.events.Out() }

// Err returns why the node stopped: nil while it runs,
// ErrPersistentNodeClosed after Close, otherwise the error that stopped it.
func (n *PersistentNode) Err() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}

// SetData sets the node's data and remembers it for the recreations. It
// waits for a create in progress, and retries while the connection is
// lost. Before the first create, or while the node is missing, the data is
// only remembered: the create uses it. After the node stopped it fails.
func (n *PersistentNode) SetData(ctx context.Context, data []byte) error {
	select {
	case n.wmu <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("recipe: persistent node %s: set data: %w", n.base, ctx.Err())
	}
	defer func() { <-n.wmu }()
	data = slices.Clone(data)
	n.mu.Lock()
	if n.state == persistentClosed || n.err != nil {
		err := n.err
		n.mu.Unlock()
		if err == nil {
			err = ErrPersistentNodeClosed
		}
		return fmt.Errorf("recipe: persistent node %s: set data: %w", n.base, err)
	}
	n.data = data
	conn, p := n.conn, n.path
	n.mu.Unlock()
	if p == "" {
		return nil
	}
	err := p2Retry(ctx, func() error {
		_, err := conn.Set(ctx, p, data, -1)
		return err
	})
	switch {
	case err == nil, errors.Is(err, sdk.ErrNoNode):
		// Missing: the recreation carries the new data.
		return nil
	case errors.Is(err, sdk.ErrSessionExpired) && n.renew != nil:
		// The node moves to a new session with the new data.
		return nil
	}
	return fmt.Errorf("recipe: persistent node %s: set data: %w", n.base, err)
}

// Close stops the node, deletes it (Curator deletes on close; an
// ephemeral node owned by another session is left alone), closes a Conn
// obtained WithPersistentSession, and ends the event stream after a final
// PersistentStopped. A delete cut by a connection loss is retried until
// ctx ends. Closing again returns the first result.
func (n *PersistentNode) Close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		started := n.state == persistentStarted
		n.state = persistentClosed
		n.mu.Unlock()
		n.cancel()
		if !started {
			n.stop(nil)
			close(n.done)
			return
		}
		<-n.done
		n.closeErr = n.deleteNode(ctx)
		n.mu.Lock()
		owned := n.owned
		n.mu.Unlock()
		if owned != nil {
			_ = owned.Close()
		}
	})
	return n.closeErr
}

// deleteNode deletes the node on Close, if it is ours.
func (n *PersistentNode) deleteNode(ctx context.Context) error {
	n.mu.Lock()
	conn, target := n.conn, n.path
	if target == "" && n.maybe {
		target = n.base
	}
	n.mu.Unlock()
	if target == "" {
		return nil
	}
	var st sdk.Stat
	var ok bool
	err := p2Retry(ctx, func() error {
		var err error
		st, ok, err = conn.Exists(ctx, target)
		return err
	})
	switch {
	case errors.Is(err, sdk.ErrSessionExpired), errors.Is(err, sdk.ErrClosed):
		return nil // an ephemeral node went with its session
	case err != nil:
		return fmt.Errorf("recipe: persistent node %s: close: %w", n.base, err)
	case !ok:
		return nil
	case persistentEphemeral(n.mode) && st.EphemeralOwner != conn.SessionID():
		return nil // not ours
	}
	if err := rcpDeleteRetrying(ctx, conn, target); err != nil {
		return fmt.Errorf("recipe: persistent node %s: close: %w", n.base, err)
	}
	return nil
}

func persistentEphemeral(m sdk.CreateMode) bool {
	return m == sdk.ModeEphemeral || m == sdk.ModeEphemeralSequential
}

// What run must do before it can wait again.
const (
	persistentNeedNone   = iota
	persistentNeedCreate // create the node (a new path if protected/sequential)
	persistentNeedCheck  // check the actual path, recreate if missing
)

// run creates and keeps the node until Close or a fatal error.
func (n *PersistentNode) run(conn *sdk.Conn, states <-chan sdk.State) {
	defer close(n.done)
	// Stopped by itself: release the state subscriptions at once.
	defer n.cancel()
	need := persistentNeedCreate
	var watch <-chan sdk.Event
	for {
		var err error
		if need != persistentNeedNone {
			watch, err = n.ensure(conn, need == persistentNeedCheck)
			if err == nil {
				need = persistentNeedNone
				continue
			}
		} else {
			select {
			case <-n.ctx.Done():
				err = n.ctx.Err()
			case ev := <-watch:
				switch ev.Type {
				case sdk.EventNodeDeleted:
					n.events.Push(PersistentEvent{Type: PersistentDeleted, Path: ev.Path})
					need = persistentNeedCreate
				case sdk.EventSession:
					err = p2SessionErr(ev.State)
				default:
					// Data changed, or the watch was removed: re-arm.
					need = persistentNeedCheck
				}
			case s, ok := <-states:
				switch {
				case !ok:
					err = p2SessionErr(conn.State())
				case s == sdk.StateReconnected:
					need = persistentNeedCheck
				case s == sdk.StateExpired, s == sdk.StateClosed:
					err = p2SessionErr(s)
				}
			}
		}
		if err == nil {
			continue
		}
		if n.ctx.Err() != nil {
			n.stop(nil)
			return
		}
		if n.renew == nil || !errors.Is(err, sdk.ErrSessionExpired) {
			n.stop(err)
			return
		}
		n.events.Push(PersistentEvent{Type: PersistentSessionExpired, Err: err})
		c, s, ok := n.renewSession()
		if !ok {
			n.stop(nil)
			return
		}
		conn, states, watch = c, s, nil
		need = persistentNeedCheck
		if persistentEphemeral(n.mode) {
			need = persistentNeedCreate // gone with the old session
		}
	}
}

// renewSession gets a Conn with a new session from n.renew. It fails only
// when the node is closed meanwhile.
func (n *PersistentNode) renewSession() (*sdk.Conn, <-chan sdk.State, bool) {
	pause := 50 * time.Millisecond
	for {
		if n.ctx.Err() != nil {
			return nil, nil, false
		}
		c, err := n.renew(n.ctx)
		if err == nil {
			states := c.StatesContext(n.ctx)
			n.mu.Lock()
			old := n.owned
			n.conn, n.owned = c, c
			n.mu.Unlock()
			if old != nil {
				_ = old.Close()
			}
			return c, states, true
		}
		n.log.Debug("persistent node: new session failed", zap.String("path", n.base), zap.Error(err))
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-n.ctx.Done():
			t.Stop()
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// ensure makes sure the node exists (checking the actual path first when
// check is set, creating it otherwise or when missing) and returns an
// exists watch on it. It retries while the connection is lost; it returns
// an error when the session ends, on Close, or on a definite failure.
func (n *PersistentNode) ensure(conn *sdk.Conn, check bool) (<-chan sdk.Event, error) {
	var backoff rcpBackoff
	p := ""
	if check {
		p = n.ActualPath()
	}
	for {
		if p == "" {
			np, st, existing, err := n.createLocked(conn)
			if err != nil {
				return nil, err
			}
			typ := PersistentRecreated
			if !n.created {
				typ = PersistentCreated
			}
			n.created = true
			n.events.Push(PersistentEvent{Type: typ, Path: np, Stat: st, Existing: existing})
			n.initialOnce.Do(func() { close(n.initial) })
			p = np
		}
		st, ok, ch, err := conn.ExistsW(n.ctx, p)
		switch {
		case err == nil && ok:
			if persistentEphemeral(n.mode) != (st.EphemeralOwner != 0) {
				n.log.Warn("persistent node: the node's kind differs from the mode (made by someone else?)",
					zap.String("path", p), zap.Int64("ephemeralOwner", st.EphemeralOwner))
			}
			return ch, nil
		case err == nil:
			// Gone (while disconnected, or just after the create).
			n.events.Push(PersistentEvent{Type: PersistentDeleted, Path: p})
			p = ""
		case rcpRetryable(err):
			if werr := backoff.wait(n.ctx); werr != nil {
				return nil, werr
			}
		default:
			return nil, err
		}
	}
}

// createLocked runs create holding n.wmu, and records the new path before
// releasing it, so that a SetData waiting meanwhile writes the new node.
func (n *PersistentNode) createLocked(conn *sdk.Conn) (string, sdk.Stat, bool, error) {
	select {
	case n.wmu <- struct{}{}:
	case <-n.ctx.Done():
		return "", sdk.Stat{}, false, n.ctx.Err()
	}
	defer func() { <-n.wmu }()
	p, st, existing, err := n.create(conn)
	if err == nil {
		n.mu.Lock()
		n.path, n.maybe = p, false
		n.mu.Unlock()
	}
	return p, st, existing, err
}

// create creates the node (or adopts the one at its non-protected path)
// with the current data; n.wmu is held. It returns the actual path, its
// Stat, and whether an existing node was adopted.
func (n *PersistentNode) create(conn *sdk.Conn) (string, sdk.Stat, bool, error) {
	o := sdk.CreateOptions{Mode: n.mode, ACL: n.acl, TTL: n.ttl, Parents: sdk.ParentsContainer}
	data := n.Data()
	if n.protect {
		p, st, err := rcpCreateProtected(n.ctx, conn, n.base, NewProtectedID(), data, o)
		return p, st, false, err
	}
	var backoff rcpBackoff
	lost := false
	for {
		p, st, err := conn.Create(n.ctx, n.base, data, o)
		switch {
		case err == nil:
			return p, st, false, nil
		case errors.Is(err, sdk.ErrNodeExists):
			st, ok, err := conn.Exists(n.ctx, n.base)
			if err == nil && !ok {
				continue // deleted meanwhile: create again
			}
			if err == nil {
				// Ours if a lost create was executed; otherwise adopt it
				// and set our data, as Curator does.
				mine := lost && (!persistentEphemeral(n.mode) || st.EphemeralOwner == conn.SessionID())
				if mine {
					return n.base, st, false, nil
				}
				st, err = conn.Set(n.ctx, n.base, data, -1)
				if err == nil {
					return n.base, st, true, nil
				}
				if errors.Is(err, sdk.ErrNoNode) {
					continue
				}
			}
			if !rcpRetryable(err) {
				return "", sdk.Stat{}, false, n.createErr(err)
			}
		case rcpRetryable(err):
			lost = true
			n.mu.Lock()
			n.maybe = true
			n.mu.Unlock()
		default:
			if n.ctx.Err() != nil {
				// Abandoned: the create may still be executed; Close
				// looks at the path.
				n.mu.Lock()
				n.maybe = true
				n.mu.Unlock()
			}
			return "", sdk.Stat{}, false, n.createErr(err)
		}
		if werr := backoff.wait(n.ctx); werr != nil {
			return "", sdk.Stat{}, false, werr
		}
	}
}

func (n *PersistentNode) createErr(err error) error {
	if errors.Is(err, sdk.ErrSessionExpired) || errors.Is(err, sdk.ErrClosed) {
		return err
	}
	return fmt.Errorf("recipe: persistent node %s: create: %w", n.base, err)
}

// stop records why the node stopped, reports it and ends the stream.
func (n *PersistentNode) stop(err error) {
	n.mu.Lock()
	if err == nil {
		n.err = ErrPersistentNodeClosed
	} else {
		n.err = err
	}
	n.mu.Unlock()
	n.events.Push(PersistentEvent{Type: PersistentStopped, Err: err})
	n.events.Close()
}
