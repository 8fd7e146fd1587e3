package recipe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/warrenhq/warren/sdk"
)

// QueueItemPrefix is the name prefix of queue items: Curator's
// DistributedQueue creates persistent sequential nodes <path>/queue-<seq>.
const QueueItemPrefix = "queue-"

// Curator's ItemSerializer envelope: a 4-byte version, then per item the
// opcode 0x01, a 4-byte big-endian length and the bytes, then 0x02.
const (
	queueEnvelopeVersion = 0x00010001
	queueOpItem          = 0x01
	queueOpEOF           = 0x02
)

// ErrQueueCorrupt is returned (wrapped) by Take and TakeNode for an item
// node whose data is not a Curator item envelope. The node has been
// removed from the queue; the error carries its name.
var ErrQueueCorrupt = errors.New("recipe: queue: corrupt item")

// Queue is a distributed FIFO queue with the node layout of Apache
// Curator's DistributedQueue (without lock safety): each Put creates a
// persistent sequential node <path>/queue-<10-digit sequence> whose data
// is Curator's item envelope (ItemSerializer: version 0x00010001, then
// 0x01 + 4-byte big-endian length + bytes per item, then 0x02). Item bytes
// are stored as given: a Curator producer or consumer on the same path
// must use a QueueSerializer that produces and accepts those bytes
// unchanged (Curator applies the serializer inside the envelope).
//
// Consumers take the node with the lowest sequence number: read it, then
// delete it with its version. A consumer whose delete finds the node gone
// (another consumer took it) moves on to the next, so no item is
// delivered twice. Nodes not named queue-* are ignored.
//
// Failure behaviour: a Put or a take that fails with sdk.ErrConnectionLoss
// may or may not have been executed (the item may have been created, or
// removed from the queue with nobody receiving it); the error says so and
// nothing is retried behind the caller's back. TakeNode lets the removal
// carry other operations in the same transaction (e.g. a receipt node), so
// a consumer that dies or loses its connection can check afterwards
// whether it took the item. A consumer process that dies between a
// successful Take and its own processing loses the item, as in Curator
// without lock safety. Session expiry fails the calls with
// sdk.ErrSessionExpired. A Queue is safe for concurrent use.
type Queue struct {
	conn *sdk.Conn
	path string

	mu      sync.Mutex
	pending [][]byte // items of a multi-item node taken by Take, not yet returned
}

// QueueNode is one item node taken from the queue: its name
// (queue-<seq>) and its items (one per Put argument).
type QueueNode struct {
	Name  string
	Items [][]byte
}

// NewQueue returns the queue at path. It does no I/O: the queue node (and
// its missing ancestors, as containers) is created on first use.
func NewQueue(conn *sdk.Conn, path string) *Queue {
	return &Queue{conn: conn, path: path}
}

// Put adds one node holding items (at least one) at the tail and returns
// its path.
func (q *Queue) Put(ctx context.Context, items ...[]byte) (string, error) {
	if len(items) == 0 {
		return "", fmt.Errorf("recipe: queue %s: put of no items: %w", q.path, sdk.ErrBadArguments)
	}
	data := QueueEncode(items...)
	for {
		p, _, err := q.conn.Create(ctx, p2Join(q.path, QueueItemPrefix), data, sdk.CreateOptions{Mode: sdk.ModePersistentSequential})
		if errors.Is(err, sdk.ErrNoNode) {
			if err := q.ensure(ctx); err != nil {
				return "", err
			}
			continue
		}
		if err != nil {
			return "", fmt.Errorf("recipe: queue %s: put: %w", q.path, err)
		}
		return p, nil
	}
}

// ensure creates the queue node (persistent) and its ancestors (containers).
func (q *Queue) ensure(ctx context.Context) error {
	err := p2Retry(ctx, func() error {
		_, _, err := q.conn.Create(ctx, q.path, nil, sdk.CreateOptions{Parents: sdk.ParentsContainer})
		if errors.Is(err, sdk.ErrNodeExists) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("recipe: queue %s: create queue node: %w", q.path, err)
	}
	return nil
}

// Len returns the number of item nodes in the queue (plus the items this
// Queue already took from a multi-item node and has not returned yet).
func (q *Queue) Len(ctx context.Context) (int, error) {
	kids, _, err := q.conn.Children(ctx, q.path)
	if errors.Is(err, sdk.ErrNoNode) {
		kids, err = nil, nil
	}
	if err != nil {
		return 0, fmt.Errorf("recipe: queue %s: len: %w", q.path, err)
	}
	q.mu.Lock()
	n := len(q.pending)
	q.mu.Unlock()
	return n + len(queueItems(kids)), nil
}

// Take removes the item at the head of the queue and returns it, waiting
// until there is one or ctx ends. When the head node holds several items
// (a Curator putMulti), Take returns the first and keeps the others for
// the next calls on this Queue.
func (q *Queue) Take(ctx context.Context) ([]byte, error) {
	for {
		q.mu.Lock()
		if len(q.pending) > 0 {
			it := q.pending[0]
			q.pending = q.pending[1:]
			q.mu.Unlock()
			return it, nil
		}
		q.mu.Unlock()
		node, err := q.TakeNode(ctx, nil)
		if err != nil {
			return nil, err
		}
		if len(node.Items) == 0 {
			continue
		}
		if len(node.Items) > 1 {
			q.mu.Lock()
			q.pending = append(q.pending, node.Items[1:]...)
			q.mu.Unlock()
		}
		return node.Items[0], nil
	}
}

// TakeNode removes the head node and returns it, waiting until there is
// one or ctx ends. If also is not nil, the operations it returns for the
// node are run in the same transaction as the removal: either the node is
// removed and they are applied, or neither (a failing operation of also
// fails TakeNode with its error and leaves the node in the queue).
func (q *Queue) TakeNode(ctx context.Context, also func(QueueNode) []sdk.Op) (QueueNode, error) {
	for {
		var kids []string
		err := p2Retry(ctx, func() error {
			var err error
			kids, _, err = q.conn.Children(ctx, q.path)
			return err
		})
		if errors.Is(err, sdk.ErrNoNode) {
			if err := q.ensure(ctx); err != nil {
				return QueueNode{}, err
			}
			continue
		}
		if err != nil {
			return QueueNode{}, fmt.Errorf("recipe: queue %s: take: %w", q.path, err)
		}
		for _, name := range queueItems(kids) {
			node, taken, err := q.tryTake(ctx, name, also)
			if err != nil || taken {
				return node, err
			}
		}
		// Empty (or everything listed was taken by others): watch and wait.
		var ch <-chan sdk.Event
		err = p2Retry(ctx, func() error {
			var err error
			kids, _, ch, err = q.conn.ChildrenW(ctx, q.path)
			return err
		})
		if errors.Is(err, sdk.ErrNoNode) {
			continue
		}
		if err != nil {
			return QueueNode{}, fmt.Errorf("recipe: queue %s: take: %w", q.path, err)
		}
		if len(queueItems(kids)) > 0 {
			continue
		}
		select {
		case ev := <-ch:
			if ev.Type == sdk.EventSession {
				return QueueNode{}, fmt.Errorf("recipe: queue %s: take: %w", q.path, p2SessionErr(ev.State))
			}
		case <-ctx.Done():
			return QueueNode{}, fmt.Errorf("recipe: queue %s: take: %w", q.path, ctx.Err())
		}
	}
}

// tryTake reads and removes one item node; taken is false when another
// consumer removed it first.
func (q *Queue) tryTake(ctx context.Context, name string, also func(QueueNode) []sdk.Op) (QueueNode, bool, error) {
	p := p2Join(q.path, name)
	var data []byte
	var st sdk.Stat
	err := p2Retry(ctx, func() error {
		var err error
		data, st, err = q.conn.Get(ctx, p)
		return err
	})
	if errors.Is(err, sdk.ErrNoNode) {
		return QueueNode{}, false, nil
	}
	if err != nil {
		return QueueNode{}, false, fmt.Errorf("recipe: queue %s: take %s: %w", q.path, name, err)
	}
	items, derr := QueueDecode(data)
	node := QueueNode{Name: name, Items: items}
	if also == nil {
		err = q.conn.Delete(ctx, p, st.Version)
		if errors.Is(err, sdk.ErrNoNode) || errors.Is(err, sdk.ErrBadVersion) {
			return QueueNode{}, false, nil
		}
	} else {
		ops := append([]sdk.Op{q.conn.DeleteOp(p, st.Version)}, also(node)...)
		var res []sdk.OpResult
		res, err = q.conn.Multi(ctx, ops...)
		if err != nil && len(res) > 0 && res[0].Err != nil &&
			(errors.Is(res[0].Err, sdk.ErrNoNode) || errors.Is(res[0].Err, sdk.ErrBadVersion)) {
			return QueueNode{}, false, nil
		}
	}
	if err != nil {
		if errors.Is(err, sdk.ErrConnectionLoss) {
			return QueueNode{}, false, fmt.Errorf("recipe: queue %s: take %s: outcome unknown (the item may have been removed): %w", q.path, name, err)
		}
		return QueueNode{}, false, fmt.Errorf("recipe: queue %s: take %s: %w", q.path, name, err)
	}
	if derr != nil {
		return node, true, fmt.Errorf("recipe: queue %s: take %s: %w", q.path, name, derr)
	}
	return node, true, nil
}

// queueItems returns the item node names among kids, oldest first.
func queueItems(kids []string) []string {
	out := make([]string, 0, len(kids))
	for _, k := range kids {
		if strings.HasPrefix(k, QueueItemPrefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// QueueEncode returns Curator's item envelope for items, the data of one
// queue node.
func QueueEncode(items ...[]byte) []byte {
	n := 5
	for _, it := range items {
		n += 5 + len(it)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, queueEnvelopeVersion)
	for _, it := range items {
		b = append(b, queueOpItem)
		b = binary.BigEndian.AppendUint32(b, uint32(len(it)))
		b = append(b, it...)
	}
	return append(b, queueOpEOF)
}

// QueueDecode parses Curator's item envelope. The error wraps
// ErrQueueCorrupt.
func QueueDecode(b []byte) ([][]byte, error) {
	bad := func(why string) ([][]byte, error) { return nil, fmt.Errorf("%w: %s", ErrQueueCorrupt, why) }
	if len(b) < 4 {
		return bad("short envelope")
	}
	if v := binary.BigEndian.Uint32(b); v != queueEnvelopeVersion {
		return bad(fmt.Sprintf("version %#x", v))
	}
	b = b[4:]
	var items [][]byte
	for {
		if len(b) == 0 {
			return bad("no end marker")
		}
		op := b[0]
		b = b[1:]
		switch op {
		case queueOpEOF:
			return items, nil
		case queueOpItem:
		default:
			return bad(fmt.Sprintf("opcode %#x", op))
		}
		if len(b) < 4 {
			return bad("short item length")
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if n > uint32(len(b)) {
			return bad(fmt.Sprintf("item length %d beyond data", n))
		}
		items = append(items, slices.Clone(b[:n]))
		b = b[n:]
	}
}
