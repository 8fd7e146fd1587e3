package sdk

import "sync"

// queue delivers values to a channel in order without ever blocking the
// producer: values wait in an unbounded slice until the consumer reads
// them. One goroutine per queue forwards them; close ends the channel
// after the values already queued were delivered (or dropped on stop).
type queue[T any] struct {
	mu       sync.Mutex
	items    []T
	closed   bool
	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	out      chan T
}

func newQueue[T any]() *queue[T] {
	q := &queue[T]{wake: make(chan struct{}, 1), stop: make(chan struct{}), out: make(chan T)}
	go q.run()
	return q
}

// push appends v; it does nothing after close.
func (q *queue[T]) push(v T) {
	q.mu.Lock()
	if !q.closed {
		q.items = append(q.items, v)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close ends the stream once the queued values are delivered.
func (q *queue[T]) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// abandon ends the stream at once, dropping what is queued.
func (q *queue[T]) abandon() {
	q.mu.Lock()
	q.closed = true
	q.items = nil
	q.mu.Unlock()
	q.stopOnce.Do(func() { close(q.stop) })
}

func (q *queue[T]) run() {
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
		q.items[0] = zero
		q.items = q.items[1:]
		q.mu.Unlock()
		select {
		case q.out <- v:
		case <-q.stop:
			return
		}
	}
}
