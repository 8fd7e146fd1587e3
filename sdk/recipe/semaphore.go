package recipe

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/warrenhq/warren/sdk"
)

// Names of Curator's InterProcessSemaphoreV2 layout.
const (
	SemaphoreLockParent  = "locks"
	SemaphoreLeaseParent = "leases"
	SemaphoreLeaseName   = "lease-"
)

// Semaphore is a counting semaphore with the layout of Apache Curator's
// InterProcessSemaphoreV2: at most maxLeases leases exist at a time. A
// contender takes the mutex <path>/locks (Mutex layout), creates its lease
// <path>/leases/_c_<uuid>-lease-<seq> (protected, ephemeral sequential),
// and while the leases outnumber maxLeases it waits for the leases to
// change; then it releases the mutex and holds the lease until Release.
// Curator processes using the same path and the same maxLeases share the
// count.
//
// Every Acquire gets its own Lease (there is no reentrancy). A lease lasts
// as long as its session: Lease.State, Lease.Lost and Lease.Fence report
// as a Mutex's do (see HoldState).
type Semaphore struct {
	conn *sdk.Conn
	base string
	max  int
	data []byte
}

// NewSemaphore returns a semaphore of maxLeases leases on base. Option
// WithNodeData sets the lease nodes' data.
func NewSemaphore(c *sdk.Conn, base string, maxLeases int, opts ...MutexOption) *Semaphore {
	var m Mutex
	for _, o := range opts {
		o(&m)
	}
	return &Semaphore{conn: c, base: base, max: maxLeases, data: m.data}
}

// Lease is one lease of a Semaphore.
type Lease struct {
	conn *sdk.Conn
	node string
	stat sdk.Stat
	hold *rcpHold
	once sync.Once
}

// Acquire blocks until a lease is granted, ctx ends or the session ends.
// A failed or cancelled Acquire leaves no lease node behind.
func (s *Semaphore) Acquire(ctx context.Context) (*Lease, error) {
	if s.max < 1 {
		return nil, fmt.Errorf("recipe: semaphore %s: %d leases: %w", s.base, s.max, sdk.ErrBadArguments)
	}
	lock := NewMutex(s.conn, s.base+"/"+SemaphoreLockParent)
	if err := lock.Acquire(ctx); err != nil {
		return nil, fmt.Errorf("recipe: semaphore %s: %w", s.base, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = lock.Release(rctx)
	}()
	leases := s.base + "/" + SemaphoreLeaseParent
	hold := rcpNewHold(s.conn)
	p, st, err := rcpCreateProtected(ctx, s.conn, leases+"/"+SemaphoreLeaseName, NewProtectedID(), s.data, sdk.CreateOptions{Mode: sdk.ModeEphemeralSequential})
	if err != nil {
		hold.stop()
		return nil, fmt.Errorf("recipe: semaphore %s: %w", s.base, err)
	}
	fail := func(err error) (*Lease, error) {
		hold.stop()
		rcpDeleteNode(ctx, s.conn, p)
		return nil, fmt.Errorf("recipe: semaphore %s: %w", s.base, err)
	}
	our := path.Base(p)
	var backoff rcpBackoff
	for {
		kids, _, ch, err := s.conn.ChildrenW(ctx, leases)
		if err != nil {
			if rcpRetryable(err) {
				if werr := backoff.wait(ctx); werr != nil {
					return fail(werr)
				}
				continue
			}
			return fail(err)
		}
		if indexOf(kids, our) < 0 {
			return fail(errNodeVanished)
		}
		if len(kids) <= s.max {
			break
		}
		select {
		case ev := <-ch:
			if ev.Type == sdk.EventSession {
				return fail(fmt.Errorf("session %v: %w", ev.State, sdk.ErrSessionExpired))
			}
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	l := &Lease{conn: s.conn, node: p, stat: st, hold: hold}
	hold.start(p)
	return l, nil
}

// Participants lists the lease nodes with their data (Curator's
// getParticipantNodes).
func (s *Semaphore) Participants(ctx context.Context) ([]Participant, error) {
	ps, err := rcpParticipants(ctx, s.conn, s.base+"/"+SemaphoreLeaseParent, rcpStandardSortKey(SemaphoreLeaseName))
	for i := range ps {
		ps[i].Leader = false
	}
	return ps, err
}

// Release returns the lease: it deletes the lease node (in the background
// while the connection is down, as Mutex.Release does). Only the first call
// does anything.
func (l *Lease) Release(ctx context.Context) error {
	err := errors.New("recipe: lease already released")
	l.once.Do(func() {
		l.hold.stop()
		err = rcpReleaseNode(ctx, l.conn, l.node)
	})
	return err
}

// Node returns the lease node's path.
func (l *Lease) Node() string { return l.node }

// State returns the lease's hold state and a channel closed at its next
// change.
func (l *Lease) State() (HoldState, <-chan struct{}) { return l.hold.status() }

// Lost returns a channel closed when the lease is lost for good.
func (l *Lease) Lost() <-chan struct{} { return l.hold.lost }

// Fence returns the lease's fencing values (leases do not exclude each
// other, so they do not order the holders).
func (l *Lease) Fence() Fence {
	return Fence{Path: l.node, Czxid: l.stat.Czxid, Seq: rcpSeq(l.node)}
}
