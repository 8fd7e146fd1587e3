package replica

import (
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
)

// PersistFailed reports that the proposals from fromZxid on will never be
// durable (the log could not take them: disk full) although the replica
// goes on serving. Every proposal with zxid >= fromZxid that is not yet
// applied is abandoned, those the driver has not taken yet included, since
// each was prepared against the pending changes of the ones before it:
//
//   - a client write is answered with code, in request order, and the
//     replies queued behind it on its connection follow; an error reply
//     that was decided against an abandoned transaction (a create refused
//     because an abandoned create of the same path was pending) is
//     answered with code too, since its reason never happened;
//   - a new session's connection is closed without a handshake reply, as
//     ZooKeeper closes a connection it cannot serve, so that the client
//     retries; the session never existed;
//   - a close (the client's closeSession or an expiry) is dropped and the
//     session, still marked closing, is rescheduled to expire again after
//     its timeout, when its close is proposed anew; a client's
//     closeSession is answered with code and its connection closed;
//   - a container or TTL node reap is dropped; the reaper finds the node
//     again.
//
// The preparer's pending changes from fromZxid on are discarded and the
// next proposal takes zxid fromZxid again, so zxids stay continuous and a
// failed create consumes no sequence number.
func (r *Replica) PersistFailed(fromZxid int64, code proto.Code, nowMs int64) {
	if fromZxid <= r.lastApplied {
		fromZxid = r.lastApplied + 1 // what is applied is durable
	}
	if fromZxid > r.lastProposed {
		return
	}
	k := 0
	for k < len(r.inflight) && r.inflight[k].Header.Zxid < fromZxid {
		k++
	}
	abandoned := append([]*proposal(nil), r.inflight[k:]...)
	clear(r.inflight[k:])
	r.inflight = r.inflight[:k]
	if k == 0 {
		r.inflight = nil
	}
	n := 0
	for n < len(r.unpersisted) && r.unpersisted[n].Header.Zxid < fromZxid {
		n++
	}
	r.unpersisted = r.unpersisted[:n]
	if n == 0 {
		r.unpersisted = nil
	}
	r.prep.Discard(fromZxid)
	r.lastProposed = fromZxid - 1

	r.rejudge(fromZxid, code)
	for _, p := range abandoned {
		r.abandon(p, code, nowMs)
	}
	r.drainWaiting()
}

// rejudge releases the error replies that wait for abandoned transactions:
// they now wait only for the ones before fromZxid, and those decided
// against pending changes get code.
func (r *Replica) rejudge(fromZxid int64, code proto.Code) {
	ids := make([]ConnID, 0, len(r.conns))
	for id := range r.conns {
		ids = append(ids, id)
	}
	sortConnIDs(ids)
	for _, id := range ids {
		cn := r.conns[id]
		for _, it := range cn.queue[cn.head:] {
			if it.kind != itemError || it.zxid < fromZxid {
				continue
			}
			it.zxid = fromZxid - 1
			if it.judged {
				it.err, it.body = code, nil
			}
		}
	}
}

// abandon undoes what proposing p did and answers its request.
func (r *Replica) abandon(p *proposal, code proto.Code, nowMs int64) {
	h := p.Header
	switch p.Txn.(type) {
	case *znode.CreateSessionTxn:
		r.sessions.Remove(h.Session)
		delete(r.closed, h.Session)
		if _, ok := r.conns[p.conn]; ok {
			r.dropConn(p.conn)
			r.sink.Close(p.conn)
		}
		return
	case *znode.CloseSessionTxn:
		delete(r.closed, h.Session)
		if s, ok := r.sessions.Get(h.Session); ok {
			// Still closing (it cannot be resumed or touched), but back in
			// an expiry bucket, so Tick proposes its close again.
			r.sessions.Add(h.Session, s.Timeout, nowMs)
		}
		if p.conn == 0 {
			r.stats.Expired--
		}
	}
	if h.Type == proto.OpDeleteContainer {
		r.stats.Reaped--
		r.reapBudget++
	}
	if p.conn == 0 {
		return
	}
	cn, ok := r.conns[p.conn]
	if !ok {
		return
	}
	for i := cn.head; i < len(cn.queue); i++ {
		it := cn.queue[i]
		if it.kind == itemWrite && !it.done && it.zxid == h.Zxid {
			it.done = true
			it.err, it.body = code, nil
			break
		}
	}
	r.drain(cn)
	if _, isClose := p.Txn.(*znode.CloseSessionTxn); isClose {
		if _, still := r.conns[cn.id]; still {
			r.dropConn(cn.id)
			r.sink.Close(cn.id)
		}
	}
}
