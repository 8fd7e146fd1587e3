package recipe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warrenhq/warren/sdk"
)

// barrierReadyNode is the name of the node the last entrant creates
// (Curator's DistributedDoubleBarrier uses the same name).
const barrierReadyNode = "ready"

// ErrBarrierNodeLost is returned by DoubleBarrier.Leave when the
// participant's ephemeral node vanished before Leave removed it: the
// session expired (or someone deleted it), so the barrier no longer counts
// this participant.
var ErrBarrierNodeLost = errors.New("recipe: barrier: participant node is gone")

// DoubleBarrier is a double barrier with the node layout of Apache
// Curator's DistributedDoubleBarrier: every participant owns an ephemeral
// node <path>/<random UUID>, and the participant that brings the count to
// N creates the persistent node <path>/ready. Enter blocks until N
// participants have entered; Leave blocks until every participant has
// left. N is a threshold, not a limit: more than N may enter.
//
// Failure behaviour: a connection loss is ridden out (calls are retried on
// the same session; watches survive reconnection). If the session expires
// the participant's node is gone: Enter and Leave return an error wrapping
// sdk.ErrSessionExpired (or ErrBarrierNodeLost when Leave finds the node
// missing). When ctx ends, Enter deletes the participant's node (best
// effort) and returns ctx's error; other participants may already have
// been released by it. Leave returning ctx's error leaves the barrier in
// the state reached so far. A barrier path may be reused for another
// round once every participant has returned from Leave (the last ones
// delete <path>/ready). A DoubleBarrier is one participant: use one per
// goroutine.
type DoubleBarrier struct {
	conn      *sdk.Conn
	path      string
	n         int
	ourName   string
	ourPath   string
	readyPath string
}

// NewDoubleBarrier returns a participant of the barrier at path that opens
// when n participants have entered. It does no I/O.
func NewDoubleBarrier(conn *sdk.Conn, path string, n int) (*DoubleBarrier, error) {
	if n <= 0 {
		return nil, fmt.Errorf("recipe: barrier %s: member count %d: %w", path, n, sdk.ErrBadArguments)
	}
	if !strings.HasPrefix(path, "/") || path == "/" || strings.HasSuffix(path, "/") {
		return nil, fmt.Errorf("recipe: barrier %q: %w", path, sdk.ErrInvalidPath)
	}
	name := barrierUUID()
	return &DoubleBarrier{conn: conn, path: path, n: n, ourName: name,
		ourPath: path + "/" + name, readyPath: path + "/" + barrierReadyNode}, nil
}

// Path returns the participant's node path.
func (b *DoubleBarrier) Path() string { return b.ourPath }

// Enter creates the participant's node and blocks until n participants
// have entered (the ready node exists).
func (b *DoubleBarrier) Enter(ctx context.Context) error {
	var ready <-chan sdk.Event
	var readyExists bool
	err := p2Retry(ctx, func() error {
		var err error
		_, readyExists, ready, err = b.conn.ExistsW(ctx, b.readyPath)
		return err
	})
	if err != nil {
		return fmt.Errorf("recipe: barrier %s: enter: %w", b.path, err)
	}
	if err := p2CreateRetry(ctx, b.conn, b.ourPath, nil, sdk.CreateOptions{Mode: sdk.ModeEphemeral, Parents: sdk.ParentsContainer}); err != nil {
		return fmt.Errorf("recipe: barrier %s: enter: %w", b.path, err)
	}
	if readyExists {
		return nil
	}
	for {
		var kids []string
		err := p2Retry(ctx, func() error {
			var err error
			kids, _, err = b.conn.Children(ctx, b.path)
			return err
		})
		if err != nil {
			return b.abandon(ctx, fmt.Errorf("recipe: barrier %s: enter: %w", b.path, err))
		}
		if len(barrierMembers(kids)) >= b.n {
			err := p2Retry(ctx, func() error {
				_, _, err := b.conn.Create(ctx, b.readyPath, nil, sdk.CreateOptions{})
				if errors.Is(err, sdk.ErrNodeExists) {
					return nil
				}
				return err
			})
			if err != nil {
				return b.abandon(ctx, fmt.Errorf("recipe: barrier %s: enter: create ready: %w", b.path, err))
			}
			return nil
		}
		select {
		case ev := <-ready:
			switch ev.Type {
			case sdk.EventNodeCreated:
				return nil
			case sdk.EventSession:
				return fmt.Errorf("recipe: barrier %s: enter: %w", b.path, p2SessionErr(ev.State))
			}
			// Any other event: set the watch again and look again.
			err := p2Retry(ctx, func() error {
				var err error
				_, readyExists, ready, err = b.conn.ExistsW(ctx, b.readyPath)
				return err
			})
			if err != nil {
				return b.abandon(ctx, fmt.Errorf("recipe: barrier %s: enter: %w", b.path, err))
			}
			if readyExists {
				return nil
			}
		case <-ctx.Done():
			return b.abandon(ctx, fmt.Errorf("recipe: barrier %s: enter: %w", b.path, ctx.Err()))
		}
	}
}

// abandon deletes the participant's node after a failed Enter, with its own
// short deadline (ctx may be done), and returns err.
func (b *DoubleBarrier) abandon(ctx context.Context, err error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = p2Retry(dctx, func() error {
		err := b.conn.Delete(dctx, b.ourPath, -1)
		if errors.Is(err, sdk.ErrNoNode) {
			return nil
		}
		return err
	})
	return err
}

// Leave removes the participant's node and blocks until every
// participant's node is gone, following ZooKeeper's double-barrier recipe:
// the lowest node waits for the highest, the others delete theirs and wait
// for the lowest, which is deleted last.
func (b *DoubleBarrier) Leave(ctx context.Context) error {
	ours := true // our node should still exist
	for {
		var kids []string
		err := p2Retry(ctx, func() error {
			var err error
			kids, _, err = b.conn.Children(ctx, b.path)
			if errors.Is(err, sdk.ErrNoNode) {
				kids, err = nil, nil
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("recipe: barrier %s: leave: %w", b.path, err)
		}
		members := barrierMembers(kids)
		if len(members) == 0 {
			break
		}
		idx := slices.Index(members, b.ourName)
		if idx < 0 && ours {
			return fmt.Errorf("recipe: barrier %s: leave: %s: %w", b.path, b.ourName, ErrBarrierNodeLost)
		}
		if len(members) == 1 && idx == 0 {
			if err := b.deleteOurs(ctx); err != nil {
				return err
			}
			break
		}
		var watch string
		if idx == 0 {
			watch = b.path + "/" + members[len(members)-1]
		} else {
			if ours {
				if err := b.deleteOurs(ctx); err != nil {
					return err
				}
				ours = false
			}
			watch = b.path + "/" + members[0]
		}
		var ch <-chan sdk.Event
		var ok bool
		err = p2Retry(ctx, func() error {
			var err error
			_, ok, ch, err = b.conn.ExistsW(ctx, watch)
			return err
		})
		if err != nil {
			return fmt.Errorf("recipe: barrier %s: leave: %w", b.path, err)
		}
		if !ok {
			continue
		}
		select {
		case ev := <-ch:
			if ev.Type == sdk.EventSession {
				return fmt.Errorf("recipe: barrier %s: leave: %w", b.path, p2SessionErr(ev.State))
			}
		case <-ctx.Done():
			return fmt.Errorf("recipe: barrier %s: leave: %w", b.path, ctx.Err())
		}
	}
	err := p2Retry(ctx, func() error {
		err := b.conn.Delete(ctx, b.readyPath, -1)
		if errors.Is(err, sdk.ErrNoNode) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("recipe: barrier %s: leave: delete ready: %w", b.path, err)
	}
	return nil
}

func (b *DoubleBarrier) deleteOurs(ctx context.Context) error {
	err := p2Retry(ctx, func() error { return b.conn.Delete(ctx, b.ourPath, -1) })
	if errors.Is(err, sdk.ErrNoNode) {
		return fmt.Errorf("recipe: barrier %s: leave: %s: %w", b.path, b.ourName, ErrBarrierNodeLost)
	}
	if err != nil {
		return fmt.Errorf("recipe: barrier %s: leave: %w", b.path, err)
	}
	return nil
}

// barrierMembers returns the participant names (every child but ready),
// sorted.
func barrierMembers(kids []string) []string {
	out := make([]string, 0, len(kids))
	for _, k := range kids {
		if k != barrierReadyNode {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// barrierUUID returns a random version-4 UUID in canonical text form.
func barrierUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("recipe: crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// p2SessionErr maps the state of a session event to the error it means.
func p2SessionErr(s sdk.State) error {
	if s == sdk.StateClosed {
		return sdk.ErrClosed
	}
	return sdk.ErrSessionExpired
}

// p2Retry runs fn until it returns something other than a connection loss
// (the session may still live: the call is tried again once the Conn has
// reconnected), or ctx ends. Only idempotent calls go through it.
func p2Retry(ctx context.Context, fn func() error) error {
	d := 10 * time.Millisecond
	for {
		err := fn()
		if !errors.Is(err, sdk.ErrConnectionLoss) {
			return err
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after %w)", ctx.Err(), err)
		}
		d = min(2*d, 500*time.Millisecond)
	}
}

// p2CreateRetry creates a node whose name nobody else uses (a UUID), so a
// NodeExists after a connection loss means an earlier attempt succeeded.
// Missing ancestors are created as o.Parents says.
func p2CreateRetry(ctx context.Context, c *sdk.Conn, path string, data []byte, o sdk.CreateOptions) error {
	lost := false
	return p2Retry(ctx, func() error {
		_, _, err := c.Create(ctx, path, data, o)
		if errors.Is(err, sdk.ErrNodeExists) && lost {
			return nil
		}
		if errors.Is(err, sdk.ErrConnectionLoss) {
			lost = true
		}
		return err
	})
}

// p2Join joins a parent path and a child name.
func p2Join(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}
