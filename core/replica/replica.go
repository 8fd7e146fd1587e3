// Package replica is the whole server as one deterministic machine: it
// takes connection events, requests, ticks and persistence completions, and
// decides every reply, notification and transaction. It owns the data tree,
// the request preparer, the watch tables and the session table; it has no
// goroutines, clocks or I/O of its own, so a simulator can drive it from a
// seed and a real server (core/serve) drives it with sockets and time.
//
// Ordering rules it enforces (zk-protocol.md §4.4, §4.6):
//   - replies on a connection leave in request order: a read queued behind a
//     write of the same session waits until that write is applied;
//   - a write is applied only after the driver reports it persisted;
//   - notifications produced by applying a transaction are handed to the
//     sink before any later reply on any connection;
//   - an error reply to a write waits until every transaction prepared
//     before it is applied, since the error may depend on them.
package replica

import (
	"github.com/warrenhq/warren/core/acl"
	"github.com/warrenhq/warren/core/prep"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/sasl"
	"github.com/warrenhq/warren/core/session"
	"github.com/warrenhq/warren/core/watch"
	"github.com/warrenhq/warren/core/znode"
)

// ConnID identifies a client connection; it doubles as the watcher id.
type ConnID = watch.WatcherID

// Sink receives the replica's output. Calls happen synchronously inside the
// replica's methods, in the order the client must observe them; a sink must
// not call back into the replica.
type Sink interface {
	// Connected delivers the handshake reply of a connection.
	Connected(c ConnID, resp *proto.ConnectResponse)
	// Send delivers a reply or a notification (body may be nil).
	Send(c ConnID, hdr proto.ReplyHeader, body proto.Record)
	// Close closes a connection once what was sent before has been written.
	Close(c ConnID)
}

// Config holds the replica's settings (milliseconds throughout).
type Config struct {
	TickMs              int64
	MinSessionTimeoutMs int32
	MaxSessionTimeoutMs int32
	ServerID            int64
	Secret              []byte // session password key
	ExtendedTypes       bool   // TTL nodes (zookeeper.extendedTypesEnabled)
	SkipACL             bool
	EnforceQuota        bool // quota hard limits fail writes (zookeeper.enforceQuota)
	// ReadOnlyMode (readonlymode.enabled): an ensemble member cut off from
	// its quorum serves reads to clients that asked for a read-only
	// session and answers their writes with NOTREADONLY.
	ReadOnlyMode    bool
	SuperDigest     string // "super:<base64 sha1>"
	ReconfigEnabled bool
	// Reconfig computes membership changes for an ensemble member's
	// reconfig operation (nil: reconfig answers BADARGUMENTS).
	Reconfig ReconfigFunc

	// SASL enables DIGEST-MD5 authentication (opcode 102); nil answers
	// every SASL request with an empty token, as ZooKeeper does without a
	// JAAS configuration.
	SASL *SASLConfig

	ContainerCheckIntervalMs int64 // 0 disables the reaper
	ContainerMaxPerMinute    int
	ContainerMaxNeverUsedMs  int64
}

// prepConfig is what request preparation takes from the replica's settings.
func (c Config) prepConfig() prep.Config {
	return prep.Config{ExtendedTypes: c.ExtendedTypes, SkipACL: c.SkipACL, EnforceQuota: c.EnforceQuota}
}

// SASLConfig holds the DIGEST-MD5 users (from the JAAS server section) and
// the nonce source; injecting it keeps the replica deterministic.
type SASLConfig struct {
	Users      map[string]string
	SuperUsers []string // authenticated users that also get the super id
	Nonce      func() string
}

// Proposal is a prepared transaction waiting to be persisted.
type Proposal struct {
	Header znode.Header
	Txn    znode.Txn
}

type itemKind uint8

const (
	itemRead  itemKind = iota // executed when it reaches the head of the queue
	itemWrite                 // answered when its transaction is applied
	itemError                 // a failed write, answered once lastApplied >= zxid
	itemSync                  // an ensemble sync, answered once done and lastApplied >= zxid
)

type item struct {
	kind itemKind
	hdr  proto.RequestHeader
	req  proto.Record
	zxid int64
	err  proto.Code
	done bool
	body proto.Record
	// judged is set on an error reply decided against pending
	// transactions, which PersistFailed may abandon.
	judged bool
	// fwd marks a write a learner forwarded to the leader: it is answered
	// when the transaction with its session and xid commits.
	fwd bool
}

type conn struct {
	id        ConnID
	session   int64
	ip        string
	added     []proto.Id // authenticated ids in the order they were added
	ids       []proto.Id // the same, in ZooKeeper's iteration order (see zkOrder)
	readOnly  bool       // the client sent the readOnly flag byte
	ro        bool       // served in read-only mode (no quorum)
	connected bool
	queue     []*item
	head      int
	closing   bool
	sasl      *sasl.Server
}

type proposal struct {
	Proposal
	conn    ConnID
	connect *proto.ConnectRequest // createSession
	xid     int32
}

// Replica is the deterministic server machine.
type Replica struct {
	cfg      Config
	sink     Sink
	tree     *znode.Tree
	prep     *prep.Preparer
	watches  *watch.Manager
	sessions *session.Table

	conns  map[ConnID]*conn
	owner  map[int64]ConnID // session -> connection currently serving it
	closed map[int64]bool   // sessions whose close is prepared

	// waiting holds the connections whose queue head is an error reply
	// waiting for earlier transactions to apply; Persisted drains them.
	waiting map[ConnID]struct{}

	lastProposed int64
	lastApplied  int64
	unpersisted  []Proposal
	inflight     []*proposal // prepared, in zxid order, not yet applied

	lastReap   int64
	reapBudget int
	reapWindow int64

	stats Stats

	ens *ensemble // nil for a standalone server
}

// Stats counts what the replica did, for mntr and tests.
type Stats struct {
	Received      int64
	Sent          int64
	Notifications int64
	Expired       int64
	Reaped        int64
	Applied       int64 // transactions applied since start (not replayed ones)
}

// New builds a replica over an empty tree; startMs seeds session ids.
func New(cfg Config, sink Sink, startMs int64) *Replica {
	if cfg.TickMs <= 0 {
		cfg.TickMs = 2000
	}
	if cfg.MinSessionTimeoutMs <= 0 {
		cfg.MinSessionTimeoutMs = int32(2 * cfg.TickMs)
	}
	if cfg.MaxSessionTimeoutMs <= 0 {
		cfg.MaxSessionTimeoutMs = int32(20 * cfg.TickMs)
	}
	if cfg.ContainerMaxPerMinute <= 0 {
		cfg.ContainerMaxPerMinute = 10000
	}
	tree := znode.NewTree()
	r := &Replica{
		cfg:      cfg,
		sink:     sink,
		tree:     tree,
		watches:  watch.New(),
		sessions: session.New(cfg.TickMs, cfg.ServerID, startMs, cfg.Secret),
		conns:    make(map[ConnID]*conn),
		owner:    make(map[int64]ConnID),
		closed:   make(map[int64]bool),
		waiting:  make(map[ConnID]struct{}),
		lastReap: startMs,
	}
	r.prep = prep.New(tree, cfg.prepConfig())
	return r
}

// Tree exposes the data tree for read-only inspection (four-letter words,
// digests, tests). Callers must not modify it.
func (r *Replica) Tree() *znode.Tree { return r.tree }

// Watches exposes the watch tables for read-only inspection.
func (r *Replica) Watches() *watch.Manager { return r.watches }

// Sessions exposes the session table for read-only inspection.
func (r *Replica) Sessions() *session.Table { return r.sessions }

// LastApplied is the zxid of the last applied transaction.
func (r *Replica) LastApplied() int64 { return r.lastApplied }

// Outstanding is the number of requests queued but not yet answered.
func (r *Replica) Outstanding() int {
	n := 0
	for _, c := range r.conns {
		n += len(c.queue) - c.head
	}
	return n
}

// Stats returns counters.
func (r *Replica) Stats() Stats { return r.stats }

// SessionOf returns the session a connection serves (0 before the handshake).
func (r *Replica) SessionOf(c ConnID) int64 {
	if cn, ok := r.conns[c]; ok {
		return cn.session
	}
	return 0
}

// TakeProposals returns the transactions prepared since the last call, in
// zxid order; the driver persists them and then calls Persisted.
func (r *Replica) TakeProposals() []Proposal {
	p := r.unpersisted
	r.unpersisted = nil
	return p
}

func (r *Replica) propose(p *proposal) {
	r.inflight = append(r.inflight, p)
	if r.ens != nil {
		r.ens.propose(p)
		return
	}
	r.unpersisted = append(r.unpersisted, p.Proposal)
}

func (r *Replica) nextHeader(sessionID int64, xid int32, op proto.OpCode, nowMs int64) znode.Header {
	return znode.Header{Session: sessionID, Cxid: xid, Zxid: r.lastProposed + 1, Time: nowMs, Type: op}
}

// Connect handles a ConnectRequest on a new connection from remoteIP.
func (r *Replica) Connect(c ConnID, req *proto.ConnectRequest, remoteIP string, nowMs int64) {
	cn := &conn{id: c, ip: remoteIP, readOnly: req.HasReadOnly}
	cn.addIDs(acl.IPID(remoteIP))
	r.conns[c] = cn
	if r.ens != nil && !r.ens.serving {
		if r.readOnlyActive(nowMs) && req.HasReadOnly && req.ReadOnly && req.LastZxidSeen <= r.lastApplied {
			r.readOnlyConnect(cn, req, nowMs)
			return
		}
		// Not part of a serving quorum: the client must try another
		// member, as ZooKeeper closes connections it cannot serve.
		r.dropConn(c)
		r.sink.Close(c)
		return
	}
	if req.LastZxidSeen > r.lastApplied {
		// The client has seen a newer state than ours: it must try another
		// server. ZooKeeper closes without a reply.
		r.dropConn(c)
		r.sink.Close(c)
		return
	}
	timeout := session.Negotiate(req.TimeOut, r.cfg.MinSessionTimeoutMs, r.cfg.MaxSessionTimeoutMs)
	if r.ens != nil && !r.ens.leading() {
		r.learnerConnect(cn, req, timeout, nowMs)
		return
	}
	if req.SessionID == 0 {
		id := r.sessions.NextID()
		r.sessions.Add(id, timeout, nowMs) // tracked from now, so it expires even if never used
		cn.session = id
		h := r.nextHeader(id, 0, proto.OpCreateSession, nowMs)
		r.lastProposed++
		r.propose(&proposal{Proposal: Proposal{Header: h, Txn: &znode.CreateSessionTxn{Timeout: timeout}}, conn: c, connect: req})
		return
	}
	s, ok := r.sessions.Get(req.SessionID)
	if !ok || s.Closing || r.closed[req.SessionID] || !r.sessions.CheckPassword(req.SessionID, req.Passwd) {
		r.sink.Connected(c, &proto.ConnectResponse{TimeOut: 0, SessionID: 0, Passwd: make([]byte, session.PasswordLen), HasReadOnly: req.HasReadOnly})
		r.dropConn(c)
		r.sink.Close(c)
		return
	}
	r.attach(cn, req, timeout, nowMs)
}

// attach makes cn serve the existing session req.SessionID and answers the
// handshake.
func (r *Replica) attach(cn *conn, req *proto.ConnectRequest, timeout int32, nowMs int64) {
	if old, ok := r.owner[req.SessionID]; ok && old != cn.id {
		// The session moves to the newest connection; the old one stops
		// serving it.
		r.dropConn(old)
		r.sink.Close(old)
	}
	cn.session = req.SessionID
	cn.connected = true
	r.owner[req.SessionID] = cn.id
	r.sessions.SetTimeout(req.SessionID, timeout, nowMs)
	r.sink.Connected(cn.id, &proto.ConnectResponse{TimeOut: timeout, SessionID: req.SessionID, Passwd: r.sessions.Password(req.SessionID), HasReadOnly: req.HasReadOnly})
}

// Disconnected tells the replica a connection is gone. Its session lives on
// until it expires or is resumed elsewhere.
func (r *Replica) Disconnected(c ConnID) { r.dropConn(c) }

func (r *Replica) dropConn(c ConnID) {
	cn, ok := r.conns[c]
	if !ok {
		return
	}
	delete(r.conns, c)
	r.watches.RemoveWatcher(c)
	if cn.session != 0 && r.owner[cn.session] == c {
		delete(r.owner, cn.session)
	}
}

// Request handles one request on an established connection. rec is the
// decoded body (nil for bodiless requests). An unknown opcode is answered
// with ZUNIMPLEMENTED and the connection is closed, as ZooKeeper does.
func (r *Replica) Request(c ConnID, hdr proto.RequestHeader, rec proto.Record, nowMs int64) {
	cn, ok := r.conns[c]
	if !ok || !cn.connected || cn.closing {
		return
	}
	r.stats.Received++
	r.sessions.Touch(cn.session, nowMs)
	if r.ens != nil {
		if cn.ro {
			r.readOnlyRequest(cn, hdr, rec)
			return
		}
		r.touch(cn.session, nowMs)
	}
	switch hdr.Type {
	case proto.OpAuth:
		r.auth(cn, hdr, rec)
		return
	case proto.OpSASL:
		r.saslStep(cn, hdr, rec)
		return
	case proto.OpMulti:
		m, _ := rec.(*proto.MultiRequest)
		if m == nil || !normalizeMulti(m) {
			// A read inside a multi: ZooKeeper answers a marshalling error.
			r.enqueue(cn, &item{kind: itemError, hdr: hdr, zxid: r.lastProposed, err: proto.ErrMarshallingError})
			return
		}
		r.write(cn, hdr, rec, nowMs)
	case proto.OpMultiRead:
		m, _ := rec.(*proto.MultiRequest)
		if m == nil || !onlyReads(m) {
			// A write inside a multiRead: -5 with an empty multi body, as
			// ZooKeeper 3.8 replies.
			r.enqueue(cn, &item{kind: itemError, hdr: hdr, zxid: r.lastProposed, err: proto.ErrMarshallingError, body: &proto.MultiResponse{}})
			return
		}
		r.enqueue(cn, &item{kind: itemRead, hdr: hdr, req: rec})
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL,
		proto.OpDelete, proto.OpSetData, proto.OpSetACL, proto.OpCheck:
		r.write(cn, hdr, rec, nowMs)
	case proto.OpCloseSession:
		if r.ens != nil && !r.ens.leading() {
			cn.closing = true
			r.forward(cn, hdr, nil)
			return
		}
		r.closeSession(cn, hdr, nowMs)
	case proto.OpSync:
		if r.ens != nil {
			r.sync(cn, hdr, rec)
			return
		}
		r.enqueue(cn, &item{kind: itemRead, hdr: hdr, req: rec})
	case proto.OpReconfig:
		if r.ens != nil {
			r.ensembleReconfig(cn, hdr, rec, nowMs)
			return
		}
		// As ZooKeeper's PrepRequestProcessor: RECONFIGDISABLED unless
		// reconfigEnabled; then a standalone server answers
		// UNIMPLEMENTED, since membership changes need an ensemble; the
		// WRITE check on /zookeeper/config comes after that, so it never
		// decides a standalone server's answer.
		code := proto.ErrReconfigDisabled
		if r.cfg.ReconfigEnabled {
			code = proto.ErrUnimplemented
		}
		r.enqueue(cn, &item{kind: itemError, hdr: hdr, zxid: r.lastProposed, err: code})
	case proto.OpPing, proto.OpExists, proto.OpGetData, proto.OpGetACL, proto.OpGetChildren,
		proto.OpGetChildren2, proto.OpGetEphemerals, proto.OpGetAllChildrenNumber,
		proto.OpWhoAmI, proto.OpCheckWatches, proto.OpRemoveWatches, proto.OpAddWatch,
		proto.OpSetWatches, proto.OpSetWatches2:
		r.enqueue(cn, &item{kind: itemRead, hdr: hdr, req: rec})
	default:
		r.sink.Send(c, proto.ReplyHeader{Xid: hdr.Xid, Zxid: r.lastApplied, Err: proto.ErrUnimplemented}, nil)
		r.stats.Sent++
		r.dropConn(c)
		r.sink.Close(c)
	}
}

// Malformed answers a request whose body could not be decoded with
// ZMARSHALLINGERROR, in order with the connection's other replies; the
// connection stays open, as in ZooKeeper.
func (r *Replica) Malformed(c ConnID, hdr proto.RequestHeader, nowMs int64) {
	cn, ok := r.conns[c]
	if !ok || !cn.connected || cn.closing {
		return
	}
	r.stats.Received++
	r.sessions.Touch(cn.session, nowMs)
	r.enqueue(cn, &item{kind: itemError, hdr: hdr, zxid: r.lastProposed, err: proto.ErrMarshallingError})
}

// normalizeMulti gives each create sub-op the opcode ZooKeeper derives from
// its flags (Op.create picks createTTL for TTL modes, createContainer for
// the container mode and plain create otherwise, whatever the wire type
// said), which decides its result type. It reports false when the multi
// holds a read.
func normalizeMulti(m *proto.MultiRequest) bool {
	for i := range m.Ops {
		op := &m.Ops[i]
		switch op.Type {
		case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
			var flags int32
			switch req := op.Req.(type) {
			case *proto.CreateRequest:
				flags = req.Flags
			case *proto.CreateTTLRequest:
				flags = req.Flags
			}
			switch flags {
			case proto.ModeContainer:
				op.Type = proto.OpCreateContainer
			case proto.ModePersistentWithTTL, proto.ModePersistentSequentialWithTTL:
				op.Type = proto.OpCreateTTL
				if cr, ok := op.Req.(*proto.CreateRequest); ok {
					// No TTL on the wire: the preparer rejects it as ZooKeeper does.
					op.Req = &proto.CreateTTLRequest{Path: cr.Path, Data: cr.Data, ACL: cr.ACL, Flags: cr.Flags, TTL: -1}
				}
			default:
				op.Type = proto.OpCreate
			}
		case proto.OpGetData, proto.OpGetChildren:
			return false
		}
	}
	return true
}

func onlyReads(m *proto.MultiRequest) bool {
	for _, op := range m.Ops {
		if op.Type != proto.OpGetData && op.Type != proto.OpGetChildren {
			return false
		}
	}
	return true
}

func (r *Replica) enqueue(cn *conn, it *item) {
	cn.queue = append(cn.queue, it)
	r.drain(cn)
}

func (r *Replica) auth(cn *conn, hdr proto.RequestHeader, rec proto.Record) {
	pkt, _ := rec.(*proto.AuthPacket)
	var ids []proto.Id
	code := proto.ErrAuthFailed
	if pkt != nil {
		ids, code = acl.Authenticate(pkt.Scheme, pkt.Auth, r.cfg.SuperDigest)
	}
	if code != proto.OK {
		r.sink.Send(cn.id, proto.ReplyHeader{Xid: hdr.Xid, Zxid: 0, Err: proto.ErrAuthFailed}, nil)
		r.stats.Sent++
		cn.closing = true
		r.dropConn(cn.id)
		r.sink.Close(cn.id)
		return
	}
	cn.addIDs(ids...)
	r.sink.Send(cn.id, proto.ReplyHeader{Xid: hdr.Xid, Zxid: 0, Err: proto.OK}, nil)
	r.stats.Sent++
}

// saslStep runs one DIGEST-MD5 step. Like ZooKeeper it answers at once
// with zxid 0; a failure answers AUTHFAILED and closes the connection (the
// session lives on and expires as after any disconnect).
func (r *Replica) saslStep(cn *conn, hdr proto.RequestHeader, rec proto.Record) {
	req, _ := rec.(*proto.GetSASLRequest)
	if r.cfg.SASL == nil {
		r.sink.Send(cn.id, proto.ReplyHeader{Xid: hdr.Xid, Zxid: 0, Err: proto.OK}, &proto.SetSASLResponse{})
		r.stats.Sent++
		return
	}
	if cn.sasl == nil {
		cn.sasl = sasl.NewServer(r.cfg.SASL.Users, r.cfg.SASL.Nonce)
	}
	var token []byte
	if req != nil {
		token = req.Token
	}
	reply, done, user, err := cn.sasl.Step(token)
	if err != nil {
		r.sink.Send(cn.id, proto.ReplyHeader{Xid: hdr.Xid, Zxid: 0, Err: proto.ErrAuthFailed}, &proto.SetSASLResponse{})
		r.stats.Sent++
		cn.closing = true
		r.dropConn(cn.id)
		r.sink.Close(cn.id)
		return
	}
	if done {
		ids := []proto.Id{{Scheme: sasl.Scheme, ID: user}}
		for _, su := range r.cfg.SASL.SuperUsers {
			if su == user {
				ids = append(ids, proto.Id{Scheme: "super", ID: ""})
			}
		}
		cn.addIDs(ids...)
	}
	r.sink.Send(cn.id, proto.ReplyHeader{Xid: hdr.Xid, Zxid: 0, Err: proto.OK}, &proto.SetSASLResponse{Token: reply})
	r.stats.Sent++
}

// addIDs adds authenticated ids (a set: duplicates are ignored) and
// refreshes their ZooKeeper-ordered view.
func (cn *conn) addIDs(ids ...proto.Id) {
	for _, id := range ids {
		if !hasID(cn.added, id) {
			cn.added = append(cn.added, id)
		}
	}
	cn.ids = zkOrder(cn.added)
}

func hasID(ids []proto.Id, id proto.Id) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (r *Replica) prepSession(cn *conn) prep.Session {
	return prep.Session{ID: cn.session, Ids: cn.ids}
}

func (r *Replica) write(cn *conn, hdr proto.RequestHeader, rec proto.Record, nowMs int64) {
	if r.ens != nil && !r.ens.leading() {
		r.forward(cn, hdr, rec)
		return
	}
	h := r.nextHeader(cn.session, hdr.Xid, hdr.Type, nowMs)
	txn, code := r.prep.Prepare(h, rec, r.prepSession(cn))
	if code != proto.OK {
		it := &item{kind: itemError, hdr: hdr, zxid: r.lastProposed, err: code, judged: true}
		if m, ok := txn.(*znode.MultiTxn); ok && hdr.Type == proto.OpMulti {
			it.err = proto.OK
			it.body = failedMultiResponse(m)
		}
		r.enqueue(cn, it)
		return
	}
	r.lastProposed++
	r.propose(&proposal{Proposal: Proposal{Header: h, Txn: txn}, conn: cn.id, xid: hdr.Xid})
	cn.queue = append(cn.queue, &item{kind: itemWrite, hdr: hdr, zxid: h.Zxid})
}

func failedMultiResponse(m *znode.MultiTxn) *proto.MultiResponse {
	resp := &proto.MultiResponse{Results: make([]proto.MultiResult, len(m.Ops))}
	for i, op := range m.Ops {
		code := proto.ErrRuntimeInconsistency
		if e, ok := op.Txn.(*znode.ErrorTxn); ok {
			code = e.Err
		}
		resp.Results[i] = proto.MultiResult{Type: proto.OpError, Err: code}
	}
	return resp
}

func (r *Replica) closeSession(cn *conn, hdr proto.RequestHeader, nowMs int64) {
	if r.closed[cn.session] {
		r.enqueue(cn, &item{kind: itemError, hdr: hdr, zxid: r.lastProposed, err: proto.OK, judged: true})
		cn.closing = true
		return
	}
	r.proposeClose(cn.session, cn.id, hdr.Xid, nowMs)
	cn.queue = append(cn.queue, &item{kind: itemWrite, hdr: hdr, zxid: r.lastProposed})
	cn.closing = true
}

func (r *Replica) proposeClose(sessionID int64, c ConnID, xid int32, nowMs int64) {
	r.sessions.MarkClosing(sessionID)
	r.closed[sessionID] = true
	h := r.nextHeader(sessionID, xid, proto.OpCloseSession, nowMs)
	txn := r.prep.PrepareCloseSession(h, r.tree.Ephemerals(sessionID))
	r.lastProposed++
	r.propose(&proposal{Proposal: Proposal{Header: h, Txn: txn}, conn: c, xid: xid})
}

// Tick advances time: it expires sessions and reaps empty containers and
// expired TTL nodes.
func (r *Replica) Tick(nowMs int64) {
	if r.ens != nil {
		r.ens.node.Tick(nowMs)
		if !r.ens.leading() || !r.ens.serving {
			return // the leader owns expiry and reaping
		}
	}
	for _, id := range r.sessions.Expired(nowMs) {
		if r.closed[id] {
			continue
		}
		r.stats.Expired++
		r.proposeClose(id, 0, 0, nowMs)
	}
	r.reap(nowMs)
}

func (r *Replica) reap(nowMs int64) {
	if r.cfg.ContainerCheckIntervalMs <= 0 || nowMs-r.lastReap < r.cfg.ContainerCheckIntervalMs {
		return
	}
	r.lastReap = nowMs
	if nowMs-r.reapWindow >= 60000 {
		r.reapWindow = nowMs
		r.reapBudget = r.cfg.ContainerMaxPerMinute
	}
	for _, path := range r.tree.ExpiredContainers(nowMs, r.cfg.ContainerMaxNeverUsedMs) {
		if r.reapBudget <= 0 {
			return
		}
		h := r.nextHeader(0, 0, proto.OpDeleteContainer, nowMs)
		txn, code := r.prep.Prepare(h, &proto.DeleteRequest{Path: path, Version: -1}, prep.Session{Ids: []proto.Id{{Scheme: "super"}}})
		if code != proto.OK {
			continue
		}
		r.reapBudget--
		r.stats.Reaped++
		r.lastProposed++
		r.propose(&proposal{Proposal: Proposal{Header: h, Txn: txn}})
	}
}

// Persisted reports that every proposal up to zxid is durable; the replica
// applies them in order and answers their requests.
func (r *Replica) Persisted(zxid int64, nowMs int64) {
	n := 0
	for n < len(r.inflight) && r.inflight[n].Header.Zxid <= zxid {
		r.apply(r.inflight[n], nowMs)
		r.inflight[n] = nil
		n++
	}
	r.inflight = r.inflight[n:]
	if len(r.inflight) == 0 {
		r.inflight = nil
	}
	// Error replies that were waiting for these transactions.
	r.drainWaiting()
}

// drainWaiting drains the connections whose queue head is an error reply
// waiting for earlier transactions, in connection order.
func (r *Replica) drainWaiting() {
	if len(r.waiting) > 0 {
		ids := make([]ConnID, 0, len(r.waiting))
		for id := range r.waiting {
			ids = append(ids, id)
		}
		sortConnIDs(ids)
		for _, id := range ids {
			delete(r.waiting, id)
			if cn, ok := r.conns[id]; ok {
				r.drain(cn)
			}
		}
	}
}

func (r *Replica) apply(p *proposal, nowMs int64) {
	h := p.Header
	res := r.tree.Apply(h, p.Txn)
	r.stats.Applied++
	r.lastApplied = h.Zxid
	if r.ens != nil && h.Type == proto.OpReconfig {
		r.membershipChanged()
	}
	r.prep.Applied(h.Zxid)
	switch t := p.Txn.(type) {
	case *znode.CreateSessionTxn:
		r.sessions.Add(h.Session, t.Timeout, nowMs)
	case *znode.CloseSessionTxn:
		r.sessions.Remove(h.Session)
		delete(r.closed, h.Session)
	}
	for _, ch := range res.Changes {
		r.notify(ch)
	}
	if p.connect != nil {
		r.finishConnect(p, h)
		return
	}
	cn, ok := r.conns[p.conn]
	if !ok || p.conn == 0 {
		if _, isClose := p.Txn.(*znode.CloseSessionTxn); isClose {
			// An expired session: close the connection still attached to it.
			if c, ok := r.owner[h.Session]; ok {
				r.dropConn(c)
				r.sink.Close(c)
			}
		}
		return
	}
	for i := cn.head; i < len(cn.queue); i++ {
		it := cn.queue[i]
		if it.kind == itemWrite && !it.done {
			if it.zxid != h.Zxid {
				break // not ours: the connection moved on (cannot happen in order)
			}
			it.done = true
			it.err, it.body = writeReply(h.Type, res, r.tree, p.Txn)
			break
		}
	}
	r.drain(cn)
	if _, isClose := p.Txn.(*znode.CloseSessionTxn); isClose {
		r.dropConn(cn.id)
		r.sink.Close(cn.id)
	}
}

func (r *Replica) finishConnect(p *proposal, h znode.Header) {
	cn, ok := r.conns[p.conn]
	if !ok {
		return // the client went away; its session expires in time
	}
	s, ok := r.sessions.Get(h.Session)
	if !ok {
		// The leader refused the session (an ensemble member only).
		r.dropConn(cn.id)
		r.sink.Close(cn.id)
		return
	}
	cn.connected = true
	r.owner[h.Session] = cn.id
	r.sink.Connected(cn.id, &proto.ConnectResponse{TimeOut: s.Timeout, SessionID: h.Session, Passwd: r.sessions.Password(h.Session), HasReadOnly: p.connect.HasReadOnly})
}

func writeReply(op proto.OpCode, res znode.Result, tree *znode.Tree, txn znode.Txn) (proto.Code, proto.Record) {
	if m, ok := txn.(*znode.MultiTxn); ok && op == proto.OpMulti && res.Err != proto.OK {
		// A multi that failed in preparation, committed by an ensemble
		// so that the learner that forwarded it can answer.
		return proto.OK, failedMultiResponse(m)
	}
	if res.Err != proto.OK {
		return res.Err, nil
	}
	switch op {
	case proto.OpCreate:
		return proto.OK, &proto.CreateResponse{Path: res.Path}
	case proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		return proto.OK, &proto.Create2Response{Path: res.Path, Stat: res.Stat}
	case proto.OpSetData:
		return proto.OK, &proto.SetDataResponse{Stat: res.Stat}
	case proto.OpSetACL:
		return proto.OK, &proto.SetACLResponse{Stat: res.Stat}
	case proto.OpCheck:
		var st proto.Stat
		if c, ok := txn.(*znode.CheckTxn); ok {
			if m, ok := tree.Meta(c.Path); ok {
				st = m.Stat
			}
		}
		return proto.OK, &proto.SetDataResponse{Stat: st}
	case proto.OpReconfig:
		if s, ok := txn.(*znode.SetDataTxn); ok {
			return proto.OK, &proto.GetDataResponse{Data: s.Data, Stat: res.Stat}
		}
		return proto.OK, nil
	case proto.OpMulti:
		resp := &proto.MultiResponse{Results: make([]proto.MultiResult, len(res.Multi))}
		for i, o := range res.Multi {
			resp.Results[i] = proto.MultiResult{Type: o.Type, Err: o.Err, Path: o.Path, Stat: o.Stat}
		}
		return proto.OK, resp
	}
	return proto.OK, nil
}

// notify delivers a change's notifications, filtered by READ permission on
// the node's ACL at trigger time.
func (r *Replica) notify(ch znode.Change) {
	for _, f := range r.watches.Trigger(watch.Change(ch)) {
		cn, ok := r.conns[f.W]
		if !ok {
			continue
		}
		if !r.cfg.SkipACL && !acl.Check(ch.ACL, proto.PermRead, cn.ids) {
			continue
		}
		ev := f.Event
		// ZooKeeper 3.8 sends every notification with zxid -1.
		r.sink.Send(cn.id, proto.ReplyHeader{Xid: proto.XidNotification, Zxid: -1, Err: proto.OK}, &ev)
		r.stats.Notifications++
	}
}

func (r *Replica) drain(cn *conn) {
	for cn.head < len(cn.queue) {
		it := cn.queue[cn.head]
		switch it.kind {
		case itemWrite:
			if !it.done {
				return
			}
		case itemError:
			if it.zxid > r.lastApplied {
				r.waiting[cn.id] = struct{}{}
				return
			}
		case itemRead:
			it.err, it.body = r.read(cn, it)
		case itemSync:
			if !it.done || it.zxid > r.lastApplied {
				r.waiting[cn.id] = struct{}{}
				return
			}
		}
		cn.queue[cn.head] = nil
		cn.head++
		r.reply(cn, it)
		if _, still := r.conns[cn.id]; !still {
			return
		}
	}
	cn.queue = cn.queue[:0]
	cn.head = 0
}

func (r *Replica) reply(cn *conn, it *item) {
	r.sink.Send(cn.id, proto.ReplyHeader{Xid: it.hdr.Xid, Zxid: r.lastApplied, Err: it.err}, it.body)
	r.stats.Sent++
}
