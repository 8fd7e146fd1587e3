package replica

import (
	"fmt"
	"slices"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/prep"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/session"
	"github.com/warrenhq/warren/core/watch"
	"github.com/warrenhq/warren/core/zab"
	"github.com/warrenhq/warren/core/znode"
)

// An ensemble member's replica drives a zab.Node. The leader prepares every
// write (its own clients' and those its learners forward), proposes it
// through the node and applies it when the node commits it; a learner
// serves reads locally, forwards writes, session creation, closes and syncs
// to the leader, and answers them when the leader's transaction commits
// (matched by session and xid), so each session's replies stay in request
// order. A write that fails preparation is committed as an error
// transaction when a learner forwarded it, so that learner can answer in
// order. Sessions are global: every member applies their creation and
// close, and only the leader expires them, kept alive by the sessions its
// learners report touched with each ping.
//
// The driver feeds the node's inputs through the replica (Step, Tick,
// Persisted, PeerConnected, ...) and then calls Flush, which applies what
// the node decided for the replica and returns what the driver must do.

// Reloader rebuilds r's state from durable storage up to zxid, as for a
// start (r has just been reset: LoadSnapshot and Replay). The replica calls
// it when the node asks for it (after a TRUNC or an installed snapshot);
// it is never serving clients then.
type Reloader func(r *Replica, zxid int64) error

type ensemble struct {
	node    *zab.Node
	reload  Reloader
	role    zab.Role
	serving bool

	// Learner side.
	pendingConnect map[int64]pendingConnect   // new sessions awaiting their commit
	pendingReval   map[int64][]pendingConnect // reattaching sessions awaiting the leader
	lastTouch      map[int64]int64            // session -> last time reported to the node

	// Leader side: local syncs by token.
	syncs     map[uint64]syncWaiter
	nextToken uint64

	proposeErr error
	config     []byte // /zookeeper/config's data

	// Read-only mode: since when the member is not serving, and the
	// sessions it created locally for read-only clients (never committed;
	// dropped when it serves again).
	notServingSince int64
	roSessions      map[int64]bool

	// reconfigZxid is the reconfiguration this leader proposed and has not
	// applied yet (0: none): one at a time.
	reconfigZxid int64
}

type pendingConnect struct {
	conn    ConnID
	req     *proto.ConnectRequest
	timeout int32
}

type syncWaiter struct {
	conn ConnID
	xid  int32
}

// EnsembleOutput is what the driver must do after Flush: persist (in
// order, reporting each completion with Persisted), send, stream snapshots
// to the listed learners, close the listed quorum connections, log the
// errors, and note the role change.
type EnsembleOutput struct {
	Persist    []zab.PersistRequest
	Send       []zab.Message
	Snapshots  []int64
	Disconnect []int64
	Errors     []error
	Role       *zab.Role
	// Membership is the member list now in force, when a reconfiguration
	// changed it: the driver updates its transports.
	Membership *zab.Membership
	// Synced says how the leader synchronised learners, for the log.
	Synced []zab.LearnerSync
}

// Join makes the replica an ensemble member driven by node. Call it after
// the start-up recovery and before node.Start.
func (r *Replica) Join(node *zab.Node, reload Reloader) {
	r.ens = &ensemble{
		node:           node,
		reload:         reload,
		pendingConnect: map[int64]pendingConnect{},
		pendingReval:   map[int64][]pendingConnect{},
		lastTouch:      map[int64]int64{},
		syncs:          map[uint64]syncWaiter{},
	}
}

// SetConfig sets /zookeeper/config to the ensemble's membership (the same
// bytes on every member) and keeps it there across reloads.
//
// A state whose /zookeeper/config a reconfiguration set keeps it: that
// member list, not the static one, is in force.
func (r *Replica) SetConfig(data []byte) {
	r.ens.config = append([]byte(nil), data...)
	if m, ok := ParseMembership(r.configData()); ok && m.Zxid > 0 {
		r.membershipChanged()
		return
	}
	r.notify(r.tree.SetConfig(data))
}

func (r *Replica) configData() []byte {
	data, _, _ := r.tree.Get(znode.ConfigPath)
	return data
}

// Node is the member's ZAB node (nil when standalone).
func (r *Replica) Node() *zab.Node {
	if r.ens == nil {
		return nil
	}
	return r.ens.node
}

// Role is the member's role as last reported by its node.
func (r *Replica) Role() (zab.Role, bool) {
	if r.ens == nil {
		return zab.Role{}, false
	}
	return r.ens.role, true
}

// Serving reports whether clients may be served: always for a standalone
// server; for a member, once its leader is established or it is up to date.
func (r *Replica) Serving() bool { return r.ens == nil || r.ens.serving }

func (e *ensemble) leading() bool { return e.role.State == zab.Leading }

// Step hands the node a message from another member.
func (r *Replica) Step(m zab.Message) { r.ens.node.Step(m) }

// ZabPersisted reports that the node's persistence requests up to id are
// durable.
func (r *Replica) ZabPersisted(id uint64) { r.ens.node.Persisted(id) }

// PeerConnected and PeerDisconnected report quorum links coming up or
// breaking.
func (r *Replica) PeerConnected(id int64) { r.ens.node.Connected(id) }

// PeerDisconnected reports that the link to member id broke.
func (r *Replica) PeerDisconnected(id int64) { r.ens.node.Disconnected(id) }

// Flush applies what the node decided for the replica (reloads, commits,
// role changes, forwarded requests, sync answers) and returns what the
// driver must do. An error means the member's state can no longer be
// trusted (a reload failed, a committed transaction does not decode): the
// driver must stop.
func (r *Replica) Flush(nowMs int64) (EnsembleOutput, error) {
	var out EnsembleOutput
	e := r.ens
	for {
		rd := e.node.Ready()
		out.Persist = append(out.Persist, rd.Persist...)
		out.Send = append(out.Send, rd.Send...)
		out.Snapshots = append(out.Snapshots, rd.Snapshots...)
		out.Disconnect = append(out.Disconnect, rd.Disconnect...)
		out.Errors = append(out.Errors, rd.Errors...)
		out.Synced = append(out.Synced, rd.Synced...)
		if rd.Reload {
			r.closeAll(nowMs)
			r.reset(nowMs)
			if err := e.reload(r, rd.ReloadZxid); err != nil {
				return out, fmt.Errorf("replica: reload to 0x%x: %w", rd.ReloadZxid, err)
			}
			if m, ok := ParseMembership(r.configData()); ok && m.Zxid > 0 {
				r.membershipChanged()
			} else if e.config != nil {
				r.tree.SetConfig(e.config)
			}
			if r.lastApplied != rd.ReloadZxid {
				return out, fmt.Errorf("replica: reload to 0x%x reached 0x%x", rd.ReloadZxid, r.lastApplied)
			}
		}
		for _, ent := range rd.Commit {
			if err := r.commit(ent, nowMs); err != nil {
				return out, err
			}
		}
		if len(rd.Commit) > 0 {
			r.drainWaiting()
		}
		if rd.Membership != nil {
			m := *rd.Membership
			out.Membership = &m
		}
		if rd.LeaderConfig != nil {
			r.leaderConfig(rd.LeaderConfig)
		}
		if rd.Secret != nil {
			r.cfg.Secret = append([]byte(nil), rd.Secret...)
			r.sessions.SetSecret(rd.Secret)
		}
		if rd.Role != nil {
			role := *rd.Role
			out.Role = &role
			r.setRole(role, nowMs)
		}
		for _, m := range rd.Requests {
			r.zabRequest(m, nowMs)
		}
		for _, t := range rd.SyncsDone {
			r.syncDone(t)
		}
		if e.proposeErr != nil {
			out.Errors = append(out.Errors, e.proposeErr)
			e.proposeErr = nil
		}
		if !rd.Reload && rd.Secret == nil && rd.Membership == nil && rd.LeaderConfig == nil && len(rd.Persist)+len(rd.Send)+len(rd.Commit)+len(rd.Requests)+len(rd.SyncsDone)+
			len(rd.Snapshots)+len(rd.Disconnect)+len(rd.Errors)+len(rd.Synced) == 0 && rd.Role == nil {
			return out, nil
		}
	}
}

// reset empties the state for a reload.
func (r *Replica) reset(nowMs int64) {
	r.tree = znode.NewTree()
	r.prep = prep.New(r.tree, r.cfg.prepConfig())
	r.watches = watch.New()
	r.sessions = session.New(r.cfg.TickMs, r.cfg.ServerID, nowMs, r.cfg.Secret)
	r.closed = make(map[int64]bool)
	r.inflight, r.unpersisted = nil, nil
	r.lastApplied, r.lastProposed = 0, 0
}

// closeAll closes every client connection and forgets what was in flight
// for them: the member stopped serving (or reloads), so its clients move
// to another member, where their sessions live on.
func (r *Replica) closeAll(nowMs int64) {
	e := r.ens
	if len(r.inflight) > 0 {
		// A leader's proposals not yet committed: the next leader commits
		// them or not; this member learns which as a learner.
		r.PersistFailed(r.lastApplied+1, proto.ErrConnectionLoss, nowMs)
	}
	// Closes this member decided as leader and did not commit are the next
	// leader's to decide: the sessions are open again here (or a client
	// reattaching through this member would be told they expired).
	for _, s := range r.sessions.List() {
		if s.Closing && !r.closed[s.ID] {
			r.sessions.Reopen(s.ID, nowMs)
		}
	}
	r.prep.Reset()
	r.lastProposed = r.lastApplied
	e.reconfigZxid = 0
	ids := make([]ConnID, 0, len(r.conns))
	for id := range r.conns {
		ids = append(ids, id)
	}
	sortConnIDs(ids)
	for _, id := range ids {
		r.dropConn(id)
		r.sink.Close(id)
	}
	clear(r.waiting)
	clear(e.pendingConnect)
	clear(e.pendingReval)
	clear(e.syncs)
	clear(e.lastTouch)
}

func (r *Replica) setRole(role zab.Role, nowMs int64) {
	e := r.ens
	was := e.serving
	e.role = role
	e.serving = role.Serving
	if !role.Serving && (was || e.notServingSince == 0) {
		e.notServingSince = nowMs
	}
	if !role.Serving || !was {
		// Stopped serving, or serving again after a stretch in which only
		// read-only clients could connect: their connections close (their
		// clients reconnect for read-write sessions) and their local
		// sessions go.
		r.closeAll(nowMs)
		for _, id := range sortedSessions(e.roSessions) {
			r.sessions.Remove(id)
		}
		clear(e.roSessions)
	}
	if role.Serving && role.State == zab.Leading {
		next, err := e.node.NextZxid()
		if err == nil {
			r.lastProposed = next - 1
		}
		// The new leader owns expiry: every session gets a full timeout
		// from now, as ZooKeeper's leader does when it loads them.
		for _, s := range r.sessions.List() {
			r.sessions.Touch(s.ID, nowMs)
		}
	}
}

// touch reports a session's activity at a learner to the leader, at most
// once per half tick per session (sessions time out after two ticks or
// more, and a learner answers a ping every half tick).
func (r *Replica) touch(session int64, nowMs int64) {
	e := r.ens
	if e.leading() || session == 0 {
		return
	}
	if last, ok := e.lastTouch[session]; ok && nowMs-last < r.cfg.TickMs/2 {
		return
	}
	e.lastTouch[session] = nowMs
	timeout := int32(0)
	if s, ok := r.sessions.Get(session); ok {
		timeout = s.Timeout
	}
	e.node.Touch(session, timeout)
}

func (e *ensemble) propose(p *proposal) {
	var enc jute.Encoder
	znode.EncodeTxn(&enc, &p.Header, p.Txn)
	if err := e.node.Propose(zab.Entry{Zxid: p.Header.Zxid, Txn: enc.Bytes()}); err != nil && e.proposeErr == nil {
		e.proposeErr = err
	}
}

// learnerConnect handles a handshake at a learner: a new session is
// created by the leader; an existing one is checked locally and then
// revalidated with the leader, which owns expiry.
func (r *Replica) learnerConnect(cn *conn, req *proto.ConnectRequest, timeout int32, nowMs int64) {
	e := r.ens
	if req.SessionID == 0 {
		id := r.sessions.NextID()
		for {
			if _, used := e.pendingConnect[id]; !used {
				break
			}
			id = r.sessions.NextID()
		}
		cn.session = id
		var enc jute.Encoder
		enc.Int(timeout)
		if !e.node.Forward(zab.Request{Session: id, Type: proto.OpCreateSession, Body: enc.Bytes()}) {
			r.dropConn(cn.id)
			r.sink.Close(cn.id)
			return
		}
		e.pendingConnect[id] = pendingConnect{conn: cn.id, req: req, timeout: timeout}
		return
	}
	s, ok := r.sessions.Get(req.SessionID)
	if !ok || s.Closing || !r.sessions.CheckPassword(req.SessionID, req.Passwd) {
		r.refuseSession(cn, req)
		return
	}
	if !e.node.Forward(zab.Revalidate{Session: req.SessionID, Timeout: timeout}) {
		r.dropConn(cn.id)
		r.sink.Close(cn.id)
		return
	}
	e.pendingReval[req.SessionID] = append(e.pendingReval[req.SessionID], pendingConnect{conn: cn.id, req: req, timeout: timeout})
}

// refuseSession answers a handshake for an expired or unknown session the
// way ZooKeeper does (timeout 0) and closes the connection.
func (r *Replica) refuseSession(cn *conn, req *proto.ConnectRequest) {
	r.sink.Connected(cn.id, &proto.ConnectResponse{TimeOut: 0, SessionID: 0, Passwd: make([]byte, session.PasswordLen), HasReadOnly: req.HasReadOnly})
	r.dropConn(cn.id)
	r.sink.Close(cn.id)
}

// forward sends a learner's client write (or close) to the leader; the
// reply waits for its commit.
func (r *Replica) forward(cn *conn, hdr proto.RequestHeader, rec proto.Record) {
	var body []byte
	if rec != nil {
		body = proto.Encode(rec)
	}
	if !r.ens.node.Forward(zab.Request{Session: cn.session, Cxid: hdr.Xid, Type: hdr.Type, Body: body, Auth: cn.ids}) {
		r.dropConn(cn.id)
		r.sink.Close(cn.id)
		return
	}
	cn.queue = append(cn.queue, &item{kind: itemWrite, hdr: hdr, fwd: true})
}

// sync queues a client's sync: the leader answers it once every write
// before it is committed and a quorum confirmed its leadership; a learner
// then also waits until it applied up to the leader's answer.
func (r *Replica) sync(cn *conn, hdr proto.RequestHeader, rec proto.Record) {
	e := r.ens
	path := ""
	if req, ok := rec.(*proto.SyncRequest); ok {
		path = req.Path
	}
	it := &item{kind: itemSync, hdr: hdr, body: &proto.SyncResponse{Path: path}}
	if e.leading() {
		e.nextToken++
		if !e.node.LocalSync(e.nextToken) {
			r.dropConn(cn.id)
			r.sink.Close(cn.id)
			return
		}
		e.syncs[e.nextToken] = syncWaiter{conn: cn.id, xid: hdr.Xid}
	} else if !e.node.Forward(zab.SyncRequest{Session: cn.session, Cxid: hdr.Xid, Path: path}) {
		r.dropConn(cn.id)
		r.sink.Close(cn.id)
		return
	}
	r.enqueue(cn, it)
}

// syncDone completes a leader's local sync.
func (r *Replica) syncDone(token uint64) {
	w, ok := r.ens.syncs[token]
	if !ok {
		return
	}
	delete(r.ens.syncs, token)
	r.completeSync(w.conn, w.xid, r.lastApplied)
}

func (r *Replica) completeSync(c ConnID, xid int32, zxid int64) {
	cn, ok := r.conns[c]
	if !ok {
		return
	}
	for _, it := range cn.queue[cn.head:] {
		if it.kind == itemSync && !it.done && it.hdr.Xid == xid {
			it.done, it.zxid = true, zxid
			break
		}
	}
	r.drain(cn)
}

// zabRequest handles a message the node passed to the replica.
func (r *Replica) zabRequest(m zab.Message, nowMs int64) {
	e := r.ens
	switch b := m.Body.(type) {
	case zab.Request:
		if e.leading() && e.serving {
			r.forwarded(b, nowMs)
		}
	case zab.Revalidate:
		if !e.leading() {
			return
		}
		s, ok := r.sessions.Get(b.Session)
		valid := ok && !s.Closing && !r.closed[b.Session]
		timeout := int32(0)
		if valid {
			timeout = b.Timeout
			r.sessions.SetTimeout(b.Session, timeout, nowMs)
		}
		e.node.Reply(m.From, zab.RevalidateReply{Session: b.Session, Valid: valid, Timeout: timeout})
	case zab.RevalidateReply:
		waiters := e.pendingReval[b.Session]
		delete(e.pendingReval, b.Session)
		for _, w := range waiters {
			cn, ok := r.conns[w.conn]
			if !ok {
				continue
			}
			if !b.Valid {
				r.refuseSession(cn, w.req)
				continue
			}
			r.attach(cn, w.req, w.timeout, nowMs)
		}
	case zab.Ping:
		if e.leading() {
			for _, t := range b.Touched {
				r.sessions.Touch(t.Session, nowMs)
			}
		}
	case zab.Sync:
		if c, ok := r.owner[b.Session]; ok {
			r.completeSync(c, b.Cxid, b.Zxid)
		}
	}
}

// forwarded prepares and proposes a request a learner forwarded. A
// failure becomes an error transaction, so the learner answers in order.
func (r *Replica) forwarded(q zab.Request, nowMs int64) {
	h := r.nextHeader(q.Session, q.Cxid, q.Type, nowMs)
	fail := func(code proto.Code) {
		r.lastProposed++
		r.propose(&proposal{Proposal: Proposal{Header: h, Txn: &znode.ErrorTxn{Err: code}}})
	}
	if q.Type == proto.OpCreateSession {
		d := jute.NewDecoder(q.Body, len(q.Body))
		timeout := d.Int()
		if d.Err() != nil {
			fail(proto.ErrMarshallingError)
			return
		}
		if _, used := r.sessions.Get(q.Session); used {
			fail(proto.ErrSessionMoved)
			return
		}
		r.sessions.Add(q.Session, timeout, nowMs)
		r.lastProposed++
		r.propose(&proposal{Proposal: Proposal{Header: h, Txn: &znode.CreateSessionTxn{Timeout: timeout}}})
		return
	}
	if _, ok := r.sessions.Get(q.Session); !ok || r.closed[q.Session] {
		fail(proto.ErrSessionExpired)
		return
	}
	if q.Type == proto.OpCloseSession {
		r.proposeClose(q.Session, 0, q.Cxid, nowMs)
		return
	}
	if q.Type == proto.OpReconfig {
		rec := &proto.ReconfigRequest{}
		if proto.Decode(q.Body, len(q.Body)+1, rec) != nil {
			fail(proto.ErrMarshallingError)
			return
		}
		if code := r.leaderReconfig(h, rec, q.Auth, 0); code != proto.OK {
			fail(code)
		}
		return
	}
	rec, ok := proto.NewRequest(q.Type)
	if !ok || rec == nil || proto.Decode(q.Body, len(q.Body)+1, rec) != nil {
		fail(proto.ErrMarshallingError)
		return
	}
	if m, isMulti := rec.(*proto.MultiRequest); isMulti && !normalizeMulti(m) {
		fail(proto.ErrMarshallingError)
		return
	}
	txn, code := r.prep.Prepare(h, rec, prep.Session{ID: q.Session, Ids: q.Auth})
	if code != proto.OK {
		if m, ok := txn.(*znode.MultiTxn); ok && q.Type == proto.OpMulti {
			r.lastProposed++
			r.propose(&proposal{Proposal: Proposal{Header: h, Txn: m}})
			return
		}
		fail(code)
		return
	}
	r.lastProposed++
	r.propose(&proposal{Proposal: Proposal{Header: h, Txn: txn}})
}

// commit applies one committed transaction: the leader's own proposal, or
// one decoded from the log or the leader's stream (answering the local
// client that forwarded it, if any).
func (r *Replica) commit(ent zab.Entry, nowMs int64) error {
	if ent.Zxid <= r.lastApplied {
		return nil // already in the state (replayed at start)
	}
	if len(r.inflight) > 0 && r.inflight[0].Header.Zxid == ent.Zxid {
		p := r.inflight[0]
		r.inflight[0] = nil
		r.inflight = r.inflight[1:]
		if len(r.inflight) == 0 {
			r.inflight = nil
		}
		r.apply(p, nowMs)
		return nil
	}
	h, txn, err := znode.DecodeTxn(jute.NewDecoder(ent.Txn, len(ent.Txn)))
	if err != nil {
		return fmt.Errorf("replica: committed transaction: %w", err)
	}
	if h.Zxid != ent.Zxid {
		return fmt.Errorf("replica: committed transaction 0x%x carries zxid 0x%x", ent.Zxid, h.Zxid)
	}
	p := &proposal{Proposal: Proposal{Header: h, Txn: txn}, xid: h.Cxid}
	e := r.ens
	if pc, ok := e.pendingConnect[h.Session]; ok && h.Type == proto.OpCreateSession {
		delete(e.pendingConnect, h.Session)
		p.conn, p.connect = pc.conn, pc.req
	} else if c, ok := r.owner[h.Session]; ok && h.Type != proto.OpCreateSession {
		if cn := r.conns[c]; cn != nil {
			for _, it := range cn.queue[cn.head:] {
				if it.kind == itemWrite && it.fwd && !it.done {
					if it.hdr.Xid == h.Cxid {
						it.zxid = h.Zxid
						p.conn = c
					}
					break
				}
			}
		}
	}
	if p.conn != 0 {
		if _, isErr := txn.(*znode.ErrorTxn); isErr && h.Type == proto.OpCloseSession {
			// A close the leader refused (the session had expired): answer
			// it, then close the connection as a close does.
			defer func(c ConnID) {
				if _, still := r.conns[c]; still {
					r.dropConn(c)
					r.sink.Close(c)
				}
			}(p.conn)
		}
	}
	r.apply(p, nowMs)
	if _, isClose := txn.(*znode.CloseSessionTxn); isClose {
		delete(e.lastTouch, h.Session)
	}
	return nil
}

// readOnlyActive reports whether read-only clients are served: the member
// has been without a serving quorum for max(2 s, tickTime), as ZooKeeper
// waits before it starts its read-only server.
func (r *Replica) readOnlyActive(nowMs int64) bool {
	e := r.ens
	return r.cfg.ReadOnlyMode && !e.serving && nowMs-e.notServingSince >= max(2000, r.cfg.TickMs)
}

// IsReadOnly reports whether the member serves read-only clients now (the
// isro four-letter word).
func (r *Replica) IsReadOnly(nowMs int64) bool { return r.ens != nil && r.readOnlyActive(nowMs) }

// readOnlyConnect serves a read-only client while the member has no
// quorum: an existing session it knows is attached; a new one is created
// locally (it lives until the member serves again).
func (r *Replica) readOnlyConnect(cn *conn, req *proto.ConnectRequest, nowMs int64) {
	e := r.ens
	timeout := session.Negotiate(req.TimeOut, r.cfg.MinSessionTimeoutMs, r.cfg.MaxSessionTimeoutMs)
	cn.ro = true
	if req.SessionID != 0 {
		s, ok := r.sessions.Get(req.SessionID)
		if !ok || s.Closing || !r.sessions.CheckPassword(req.SessionID, req.Passwd) {
			r.refuseSession(cn, req)
			return
		}
		r.attach(cn, req, timeout, nowMs)
		return
	}
	id := r.sessions.NextID()
	r.sessions.Add(id, timeout, nowMs)
	if e.roSessions == nil {
		e.roSessions = map[int64]bool{}
	}
	e.roSessions[id] = true
	cn.session = id
	cn.connected = true
	r.owner[id] = cn.id
	r.sink.Connected(cn.id, &proto.ConnectResponse{TimeOut: timeout, SessionID: id, Passwd: r.sessions.Password(id), ReadOnly: true, HasReadOnly: true})
}

// readOnlyRequest answers a read-only client: reads as usual, writes with
// NOTREADONLY, a close by closing.
func (r *Replica) readOnlyRequest(cn *conn, hdr proto.RequestHeader, rec proto.Record) {
	switch hdr.Type {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL, proto.OpDelete,
		proto.OpSetData, proto.OpSetACL, proto.OpCheck, proto.OpMulti, proto.OpReconfig:
		r.enqueue(cn, &item{kind: itemError, hdr: hdr, err: proto.ErrNotReadOnly})
	case proto.OpCloseSession:
		if r.ens.roSessions[cn.session] {
			delete(r.ens.roSessions, cn.session)
			r.sessions.Remove(cn.session)
		}
		r.enqueue(cn, &item{kind: itemError, hdr: hdr, err: proto.OK})
		if _, ok := r.conns[cn.id]; ok {
			r.dropConn(cn.id)
			r.sink.Close(cn.id)
		}
	case proto.OpSync:
		r.enqueue(cn, &item{kind: itemRead, hdr: hdr, req: rec})
	case proto.OpAuth:
		r.auth(cn, hdr, rec)
	case proto.OpSASL:
		r.saslStep(cn, hdr, rec)
	default:
		r.enqueue(cn, &item{kind: itemRead, hdr: hdr, req: rec})
	}
}

func sortedSessions(m map[int64]bool) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// ensembleReconfig handles a client's reconfig: the leader prepares it, a
// learner forwards it.
func (r *Replica) ensembleReconfig(cn *conn, hdr proto.RequestHeader, rec proto.Record, nowMs int64) {
	if !r.ens.leading() {
		r.forward(cn, hdr, rec)
		return
	}
	h := r.nextHeader(cn.session, hdr.Xid, proto.OpReconfig, nowMs)
	if code := r.leaderReconfig(h, rec, cn.ids, cn.id); code != proto.OK {
		r.enqueue(cn, &item{kind: itemError, hdr: hdr, zxid: r.lastProposed, err: code})
		return
	}
	cn.queue = append(cn.queue, &item{kind: itemWrite, hdr: hdr, zxid: h.Zxid})
}

// leaderConfig shows the leader's static member list in /zookeeper/config,
// as long as no reconfiguration set it: the members' states are then
// equal even where a server's own list differs (one about to be added).
func (r *Replica) leaderConfig(data []byte) {
	lm, ok := ParseMembership(data)
	if !ok || lm.Zxid != 0 {
		return
	}
	if cur, ok := ParseMembership(r.configData()); ok && cur.Zxid != 0 {
		return
	}
	r.ens.config = append([]byte(nil), data...)
	if string(r.configData()) != string(data) {
		r.notify(r.tree.SetConfig(data))
	}
}
