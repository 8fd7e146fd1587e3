package recipe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	pathpkg "path"
	"sync"
	"time"

	"github.com/warrenhq/warren/internal/fifo"
	"github.com/warrenhq/warren/sdk"
)

// ErrCounterCorrupt is returned (wrapped) when a counter node holds bytes
// that are not a Curator-encoded value.
var ErrCounterCorrupt = errors.New("recipe: counter: corrupt value")

// VersionedCount is a SharedCount value with the node version it was read
// at; TrySetCount succeeds only if the node is still at that version.
type VersionedCount struct {
	Value   int32
	Version int32
}

// SharedCount is a shared int32 with the layout of Apache Curator's
// SharedCount: one node whose data is the value as 4 big-endian bytes
// (Java's ByteBuffer.putInt). It keeps the latest value it saw, watching
// the node, and reports every newer value it sees on Changes (values set
// in quick succession may be seen only as the last one).
//
// Failure behaviour: the watch rides out connection losses (one-shot
// watches are re-registered on reconnection and fire for anything missed).
// When the session ends (expiry or Close of the Conn) the watching stops,
// Changes is closed and Err reports why; Count keeps the last value seen.
// SetCount and TrySetCount return the Conn's errors; a call failing with
// sdk.ErrConnectionLoss may or may not have set the value.
type SharedCount struct {
	conn *sdk.Conn
	path string

	mu      sync.Mutex
	cur     VersionedCount
	err     error
	changes *fifo.Queue[VersionedCount]

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// NewSharedCount starts a SharedCount on path: it creates the node with
// seed if it does not exist (missing ancestors as containers, as Curator
// does), reads the value and watches the node until Close.
func NewSharedCount(ctx context.Context, conn *sdk.Conn, path string, seed int32) (*SharedCount, error) {
	s := &SharedCount{conn: conn, path: path, cur: VersionedCount{Value: seed, Version: -1},
		changes: fifo.New[VersionedCount](), stop: make(chan struct{}), done: make(chan struct{})}
	err := p2Retry(ctx, func() error {
		_, _, err := conn.Create(ctx, path, CountBytes(seed), sdk.CreateOptions{Parents: sdk.ParentsContainer})
		if errors.Is(err, sdk.ErrNodeExists) {
			return nil
		}
		return err
	})
	if err != nil {
		s.changes.Abandon()
		return nil, fmt.Errorf("recipe: shared count %s: %w", path, err)
	}
	ch, err := s.read(ctx)
	if err != nil {
		s.changes.Abandon()
		return nil, fmt.Errorf("recipe: shared count %s: %w", path, err)
	}
	go s.watch(ch)
	return s, nil
}

// read gets the value with a watch and records it.
func (s *SharedCount) read(ctx context.Context) (<-chan sdk.Event, error) {
	for {
		var data []byte
		var st sdk.Stat
		var ch <-chan sdk.Event
		err := p2Retry(ctx, func() error {
			var err error
			data, st, ch, err = s.conn.GetW(ctx, s.path)
			return err
		})
		if errors.Is(err, sdk.ErrNoNode) {
			// Deleted: wait for it to come back.
			var ok bool
			err = p2Retry(ctx, func() error {
				var err error
				_, ok, ch, err = s.conn.ExistsW(ctx, s.path)
				return err
			})
			if err == nil && ok {
				continue
			}
			return ch, err
		}
		if err != nil {
			return nil, err
		}
		if v, derr := CountFromBytes(data); derr == nil {
			s.update(VersionedCount{Value: v, Version: st.Version})
		}
		return ch, nil
	}
}

// update records v if it is newer than the value held, and reports it.
func (s *SharedCount) update(v VersionedCount) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.Version <= s.cur.Version {
		return
	}
	s.cur = v
	s.changes.Push(v)
}

func (s *SharedCount) watch(ch <-chan sdk.Event) {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	finish := func(err error) {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		s.changes.Close()
	}
	for {
		select {
		case ev, ok := <-ch:
			if !ok || ev.Type == sdk.EventSession {
				finish(p2SessionErr(ev.State))
				return
			}
		case <-s.stop:
			finish(nil)
			return
		}
		var err error
		ch, err = s.read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				finish(nil)
			} else {
				finish(err)
			}
			return
		}
	}
}

// Count returns the latest value seen.
func (s *SharedCount) Count() int32 { return s.VersionedCount().Value }

// VersionedCount returns the latest value seen with its node version.
func (s *SharedCount) VersionedCount() VersionedCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Changes returns the stream of newer values seen, in version order. It is
// closed after Close or when the session ends.
func (s *SharedCount) Changes() <-chan VersionedCount { return s.changes.Out() }

// Err returns why the watching stopped (nil while it runs or after Close).
func (s *SharedCount) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// SetCount sets the value whatever it was.
func (s *SharedCount) SetCount(ctx context.Context, v int32) error {
	st, err := s.conn.Set(ctx, s.path, CountBytes(v), -1)
	if err != nil {
		return fmt.Errorf("recipe: shared count %s: set: %w", s.path, err)
	}
	s.update(VersionedCount{Value: v, Version: st.Version})
	return nil
}

// TrySetCount sets the value to v if the node is still at prev.Version
// (prev comes from VersionedCount). It returns false if someone changed
// it since; the held value is then refreshed.
func (s *SharedCount) TrySetCount(ctx context.Context, prev VersionedCount, v int32) (bool, error) {
	st, err := s.conn.Set(ctx, s.path, CountBytes(v), prev.Version)
	if errors.Is(err, sdk.ErrBadVersion) {
		data, st, gerr := s.conn.Get(ctx, s.path)
		if gerr == nil {
			if n, derr := CountFromBytes(data); derr == nil {
				s.update(VersionedCount{Value: n, Version: st.Version})
			}
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recipe: shared count %s: try set: %w", s.path, err)
	}
	s.update(VersionedCount{Value: v, Version: st.Version})
	return true, nil
}

// Close stops watching and closes Changes.
func (s *SharedCount) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

// CountBytes encodes a SharedCount value as Curator does (4 bytes,
// big-endian).
func CountBytes(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// CountFromBytes decodes a SharedCount value (the first 4 bytes,
// big-endian, as Java's ByteBuffer.getInt reads them).
func CountFromBytes(b []byte) (int32, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("%w: %d bytes for an int32", ErrCounterCorrupt, len(b))
	}
	return int32(binary.BigEndian.Uint32(b)), nil
}

// AtomicCounter is a distributed int64 counter with the layout of Apache
// Curator's DistributedAtomicLong: one node whose data is the value as 8
// big-endian bytes; a missing node or empty data reads as 0. Updates are
// optimistic: read the node with its version, write the new value with
// that version (or create the node), and try again after a conflict, with
// a short random pause, until the update lands or ctx ends. With
// WithPromotedToLock, a client that keeps losing races takes a Mutex (the
// InterProcessMutex layout Curator's PromotedToLock uses) and goes on
// trying while holding it, so promoted clients stop competing with each
// other.
//
// Failure behaviour: reads are retried across connection losses; a write
// that fails with sdk.ErrConnectionLoss is not retried (it may have been
// applied) and its error is returned. Missing ancestors are created as
// containers (Curator 5's EnsurePathContainers).
type AtomicCounter struct {
	conn *sdk.Conn
	path string
	// lockPath and promoteAfter: see WithPromotedToLock.
	lockPath     string
	promoteAfter int
}

// CounterOption configures an AtomicCounter.
type CounterOption func(*AtomicCounter)

// WithPromotedToLock makes an update that lost the race after attempts
// take the Mutex at lockPath (Curator's PromotedToLock: Java and Go
// clients configured with the same lock path share it) and finish while
// holding it; the lock is released when the update returns. after 0 takes
// the lock before the first attempt. Clients without the option still
// update optimistically and may still win races against the lock holder,
// which then simply tries again.
func WithPromotedToLock(lockPath string, after int) CounterOption {
	return func(a *AtomicCounter) { a.lockPath, a.promoteAfter = lockPath, max(after, 0) }
}

// NewAtomicCounter returns the counter at path. It does no I/O.
func NewAtomicCounter(conn *sdk.Conn, path string, opts ...CounterOption) *AtomicCounter {
	a := &AtomicCounter{conn: conn, path: path}
	for _, o := range opts {
		o(a)
	}
	return a
}

// get reads the value and version; exists is false for a missing node.
func (a *AtomicCounter) get(ctx context.Context) (v int64, version int32, exists bool, err error) {
	var data []byte
	var st sdk.Stat
	err = p2Retry(ctx, func() error {
		var err error
		data, st, err = a.conn.Get(ctx, a.path)
		return err
	})
	if errors.Is(err, sdk.ErrNoNode) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	v, err = CounterFromBytes(data)
	return v, st.Version, true, err
}

// Get returns the current value (0 if the node does not exist).
func (a *AtomicCounter) Get(ctx context.Context) (int64, error) {
	v, _, _, err := a.get(ctx)
	if err != nil {
		return 0, fmt.Errorf("recipe: atomic counter %s: %w", a.path, err)
	}
	return v, nil
}

// Add adds delta and returns the values before and after.
func (a *AtomicCounter) Add(ctx context.Context, delta int64) (pre, post int64, err error) {
	pre, post, err = a.update(ctx, func(v int64) int64 { return v + delta })
	return pre, post, err
}

// Increment adds one and returns the new value.
func (a *AtomicCounter) Increment(ctx context.Context) (int64, error) {
	_, post, err := a.Add(ctx, 1)
	return post, err
}

// Decrement subtracts one and returns the new value.
func (a *AtomicCounter) Decrement(ctx context.Context) (int64, error) {
	_, post, err := a.Add(ctx, -1)
	return post, err
}

// Set sets the value whatever it was (through the same optimistic loop).
func (a *AtomicCounter) Set(ctx context.Context, v int64) error {
	_, _, err := a.update(ctx, func(int64) int64 { return v })
	return err
}

// CompareAndSet sets the value to v if it is expected (an existing node
// only, as in Curator) and reports whether it did.
func (a *AtomicCounter) CompareAndSet(ctx context.Context, expected, v int64) (bool, error) {
	cur, version, exists, err := a.get(ctx)
	if err != nil {
		return false, fmt.Errorf("recipe: atomic counter %s: %w", a.path, err)
	}
	if !exists || cur != expected {
		return false, nil
	}
	_, err = a.conn.Set(ctx, a.path, CounterBytes(v), version)
	if errors.Is(err, sdk.ErrBadVersion) || errors.Is(err, sdk.ErrNoNode) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recipe: atomic counter %s: %w", a.path, err)
	}
	return true, nil
}

// Initialize creates the node with v if it does not exist and reports
// whether it did.
func (a *AtomicCounter) Initialize(ctx context.Context, v int64) (bool, error) {
	created, err := a.create(ctx, v)
	if err != nil {
		return false, fmt.Errorf("recipe: atomic counter %s: %w", a.path, err)
	}
	return created, nil
}

// create creates the node with v (and missing ancestors); false if it
// exists.
func (a *AtomicCounter) create(ctx context.Context, v int64) (bool, error) {
	for {
		_, _, err := a.conn.Create(ctx, a.path, CounterBytes(v), sdk.CreateOptions{})
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, sdk.ErrNodeExists):
			return false, nil
		case errors.Is(err, sdk.ErrNoNode):
			// Only the ancestors are retried: a create of the node itself
			// lost with the connection may have succeeded, and the
			// update loop must not then take our own seed for another's.
			if err := p2Retry(ctx, func() error { return rcpEnsureContainers(ctx, a.conn, pathpkg.Dir(a.path)) }); err != nil {
				return false, err
			}
		default:
			return false, err
		}
	}
}

// update runs the optimistic loop: next maps the current value to the new
// one.
func (a *AtomicCounter) update(ctx context.Context, next func(int64) int64) (pre, post int64, err error) {
	var lock *Mutex
	defer func() {
		if lock != nil {
			// Release keeps deleting the node in the background if the
			// connection is lost meanwhile.
			_ = lock.Release(context.WithoutCancel(ctx))
		}
	}()
	for attempt := 0; ; attempt++ {
		if a.lockPath != "" && lock == nil && attempt >= a.promoteAfter {
			m := NewMutex(a.conn, a.lockPath)
			if err := m.Acquire(ctx); err != nil {
				return 0, 0, fmt.Errorf("recipe: atomic counter %s: promoted to lock %s: %w", a.path, a.lockPath, err)
			}
			lock = m
		}
		cur, version, exists, err := a.get(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("recipe: atomic counter %s: %w", a.path, err)
		}
		nv := next(cur)
		if !exists {
			created, err := a.create(ctx, nv)
			if err != nil {
				return 0, 0, fmt.Errorf("recipe: atomic counter %s: %w", a.path, err)
			}
			if created {
				return cur, nv, nil
			}
		} else {
			_, err = a.conn.Set(ctx, a.path, CounterBytes(nv), version)
			if err == nil {
				return cur, nv, nil
			}
			if !errors.Is(err, sdk.ErrBadVersion) && !errors.Is(err, sdk.ErrNoNode) {
				return 0, 0, fmt.Errorf("recipe: atomic counter %s: %w", a.path, err)
			}
		}
		// Lost a race: pause a little (randomly, so that contenders spread
		// out) and try again.
		pause := time.Duration(rand.Int64N(int64(min(attempt+1, 10)) * int64(2*time.Millisecond)))
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, 0, fmt.Errorf("recipe: atomic counter %s: %w", a.path, ctx.Err())
		}
	}
}

// CounterBytes encodes an AtomicCounter value as Curator does (8 bytes,
// big-endian).
func CounterBytes(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// CounterFromBytes decodes an AtomicCounter value: empty data is 0,
// otherwise the first 8 bytes, big-endian (Java's ByteBuffer.getLong).
func CounterFromBytes(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) < 8 {
		return 0, fmt.Errorf("%w: %d bytes for an int64", ErrCounterCorrupt, len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}
