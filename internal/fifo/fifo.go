// Package fifo provides an unbounded in-order queue that hands its values
// to a channel: the producer never blocks, the consumer reads at its own
// pace. The sdk uses it for state subscriptions and watch events, and the
// recipes for their change and event streams.
package fifo

import "sync"

// Queue delivers the values pushed to it, in order, on the channel Out.
// Values wait in an unbounded slice until the consumer reads them; one
// goroutine per queue forwards them. Close ends the channel once the
// values already queued were delivered; Abandon ends it at once and drops
// them. The goroutine exits when the channel is closed, so a queue must be
// either closed and drained or abandoned to release it.
type Queue[T any] struct {
	mu       sync.Mutex
	items    []T
	closed   bool
	wake     chan struct{} // one pending wake-up for the forwarder
	stop     chan struct{} // closed by Abandon
	stopOnce sync.Once
	out      chan T
}

// New returns an open queue and starts its forwarding goroutine.
func New[T any]() *Queue[T] {
	q := &Queue[T]{wake: make(chan struct{}, 1), stop: make(chan struct{}), out: make(chan T)}
	go q.run()
	return q
}

// Out is the channel the values arrive on; it is closed after Close (once
// the queued values were delivered) or Abandon.
func (q *Queue[T]) Out() <-chan T { return q.out }

// Push appends v without blocking; it does nothing after Close or Abandon.
func (q *Queue[T]) Push(v T) {
	q.mu.Lock()
	if !q.closed {
		q.items = append(q.items, v)
	}
	q.mu.Unlock()
	q.poke()
}

// Close ends the stream once the queued values are delivered. Closing
// twice, or after Abandon, is harmless.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.poke()
}

// Abandon ends the stream at once, dropping what is queued (and a value
// the forwarder is offering but nobody reads).
func (q *Queue[T]) Abandon() {
	q.mu.Lock()
	q.closed = true
	q.items = nil
	q.mu.Unlock()
	q.stopOnce.Do(func() { close(q.stop) })
}

func (q *Queue[T]) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *Queue[T]) run() {
	defer close(q.out)
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			closed := q.closed
			q.mu.Unlock()
			if closed {
				return
			}
			select {
			case <-q.wake:
			case <-q.stop:
				return
			}
			continue
		}
		v := q.items[0]
		var zero T
		q.items[0] = zero // let the value be collected once delivered
		q.items = q.items[1:]
		q.mu.Unlock()
		select {
		case q.out <- v:
		case <-q.stop:
			return
		}
	}
}
