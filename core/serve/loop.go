package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/peer"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/txnlog"
	"github.com/warrenhq/warren/core/zab"
)

type eventKind uint8

const (
	evConnect eventKind = iota
	evRequest
	evDisconnect
	evMalformed // a request whose body did not decode
	evPersisted // a group-commit batch is durable (or failed)
	evCall      // run a function on the loop goroutine (four-letter words, admin)

	evZab          // a message from another ensemble member
	evPeer         // a quorum or election link came up or broke
	evZabPersisted // ZAB persistence requests are durable up to persistID
)

type event struct {
	kind    eventKind
	conn    replica.ConnID
	ip      string
	connect *proto.ConnectRequest
	hdr     proto.RequestHeader
	rec     proto.Record
	call    func(r *replica.Replica)
	zxid    int64 // evPersisted: the batch's last zxid
	err     error // evPersisted: why persisting failed

	msg       zab.Message
	peerEv    peer.Event
	election  bool   // evPeer: the election transport's event
	persistID uint64 // evZabPersisted
}

// inbox is a multi-producer queue drained in batches by the loop.
type inbox struct {
	mu     sync.Mutex
	events []event
	spare  []event
	wake   chan struct{}
}

func (q *inbox) init() { q.wake = make(chan struct{}, 1) }

func (q *inbox) put(evs ...event) {
	q.mu.Lock()
	q.events = append(q.events, evs...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *inbox) take() []event {
	q.mu.Lock()
	evs := q.events
	q.events = q.spare[:0]
	q.spare = nil
	q.mu.Unlock()
	return evs
}

func (q *inbox) recycle(evs []event) {
	for i := range evs {
		evs[i] = event{}
	}
	q.mu.Lock()
	if q.spare == nil {
		q.spare = evs[:0]
	}
	q.mu.Unlock()
}

// call runs fn on the loop goroutine and waits for it.
func (s *Server) call(ctx context.Context, fn func(r *replica.Replica)) bool {
	done := make(chan struct{})
	s.inbox.put(event{kind: evCall, call: func(r *replica.Replica) { fn(r); close(done) }})
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

func (s *Server) tickInterval() time.Duration {
	if s.ens != nil {
		// Election and failover timers (finalizeWait is 200 ms) need a
		// fine clock; a tick costs the node and the replica next to nothing.
		return 10 * time.Millisecond
	}
	d := time.Duration(s.cfg.TickTime) * time.Millisecond / 4
	if d > 250*time.Millisecond {
		d = 250 * time.Millisecond
	}
	if d < 10*time.Millisecond {
		d = 10 * time.Millisecond
	}
	return d
}

// loop owns the replica: every call into it happens here.
func (s *Server) loop(ctx context.Context) {
	ticker := time.NewTicker(s.tickInterval())
	defer ticker.Stop()
	r := s.rep
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			r.Tick(time.Now().UnixMilli())
		case <-s.inbox.wake:
			evs := s.inbox.take()
			now := time.Now().UnixMilli()
			for i := range evs {
				ev := &evs[i]
				switch ev.kind {
				case evConnect:
					r.Connect(ev.conn, ev.connect, ev.ip, now)
				case evRequest:
					r.Request(ev.conn, ev.hdr, ev.rec, now)
				case evMalformed:
					r.Malformed(ev.conn, ev.hdr, now)
				case evDisconnect:
					r.Disconnected(ev.conn)
				case evCall:
					ev.call(r)
				case evZab:
					if nt, ok := ev.msg.Body.(zab.Notification); ok && s.log.Core().Enabled(zap.DebugLevel) {
						s.log.Debug("election notification", zap.Int64("from", ev.msg.From), zap.Stringer("state", nt.State),
							zap.Int64("vote", nt.Vote.Leader), zap.String("zxid", fmt.Sprintf("0x%x", nt.Vote.Zxid)),
							zap.Int64("peerEpoch", nt.Vote.PeerEpoch), zap.Int64("round", nt.ElectionEpoch))
					}
					r.Step(ev.msg)
				case evPeer:
					s.ens.handlePeer(r, ev.peerEv, ev.election)
				case evZabPersisted:
					r.ZabPersisted(ev.persistID)
				case evPersisted:
					if ev.err != nil {
						var full *txnlog.DiskFullError
						if !errors.As(ev.err, &full) {
							s.fatal(ev.err)
							return
						}
						s.persistFailed(r, full, now)
						continue
					}
					before := r.LastApplied()
					r.Persisted(ev.zxid, now)
					s.gc.completed()
					if s.snaps != nil {
						// Standalone zxids are consecutive within the epoch.
						s.snaps.applied(int(r.LastApplied() - before))
					}
					if s.diskFull {
						s.diskFull = false
						s.log.Info("disk space available again, writes resumed",
							zap.String("zxid", fmt.Sprintf("0x%x", ev.zxid)))
					}
				}
			}
			s.inbox.recycle(evs)
		}
		s.commit(r)
		if s.ens != nil {
			applied := r.Stats().Applied
			s.ens.flush(r)
			if s.snaps != nil {
				s.snaps.applied(int(r.Stats().Applied - applied))
			}
		}
		if s.snaps != nil && r.Serving() {
			// A member snapshots only what is committed: while serving.
			s.snaps.step(r)
		}
	}
}

// persistFailed handles a batch the log could not take for lack of space:
// the batch and everything prepared after it are abandoned (their clients
// get ErrSystemError, see docs/compatibility.md), reads go on, and the next
// write tries the disk again. The episode is logged once, when it starts.
func (s *Server) persistFailed(r *replica.Replica, full *txnlog.DiskFullError, nowMs int64) {
	from := s.gc.failed()
	if !s.diskFull {
		s.diskFull = true
		s.log.Error("disk full: writes fail with a system error until space is freed; reads go on",
			zap.String("file", full.File), zap.Error(full.Err),
			zap.String("firstFailedZxid", fmt.Sprintf("0x%x", from)))
	}
	r.PersistFailed(from, proto.ErrSystemError, nowMs)
}

// commit hands what the replica proposed to the persister (group commit)
// and lets the replica apply it once durable. Without a persister a
// proposal counts as durable as soon as it exists.
func (s *Server) commit(r *replica.Replica) {
	props := r.TakeProposals()
	if len(props) == 0 {
		return
	}
	if s.gc == nil {
		r.Persisted(props[len(props)-1].Header.Zxid, time.Now().UnixMilli())
		return
	}
	s.gc.add(props)
}
