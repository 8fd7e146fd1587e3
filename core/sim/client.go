package sim

import (
	"fmt"
	"math"

	"github.com/anishathalye/porcupine"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/replica"
)

// client is one simulated ZooKeeper client: a session that connects to a
// random member, issues requests on the fixed keys (one at a time, or a
// few pipelined), and moves to another member, resuming its session, when
// its connection closes or a request takes too long.
type client struct {
	w      *World
	id     int
	state  clientState
	member int64
	inc    int // the member's incarnation when connected
	conn   replica.ConnID

	session  int64
	passwd   []byte
	lastZxid int64 // highest zxid seen in a reply (the session's view)
	xid      int32
	lastSent int64 // when the client last sent anything
	lastAt   int64 // when its last request reaches the member (FIFO)
	wait     int64 // no new action before this time

	// ops are the operations in flight, in request order: replies must
	// come in that order.
	ops     []*clientOp
	version map[string]int32 // last version seen per key, for conditional writes

	final     bool
	finalKeys []string
}

type clientState uint8

const (
	csIdle clientState = iota
	csConnecting
	csConnected
)

type clientOp struct {
	in      Input
	call    int64
	sentAt  int64
	xid     int32 // the request answering the operation
	syncXid int32 // a sync+get: the sync's xid (0 once answered)
	syncErr bool  // ... and it failed
	plain   bool  // a plain read: checked for session order only
	final   bool
}

const (
	connectTimeoutMs = 800
	requestTimeoutMs = 1500
)

func newClient(w *World, id int) *client {
	return &client{w: w, id: id, version: map[string]int32{}}
}

func (c *client) tracef(format string, args ...any) {
	c.w.tracef("client %d: "+format, append([]any{c.id}, args...)...)
}

// act moves the client on: connect, time out, ping, or issue requests.
func (c *client) act() {
	w := c.w
	switch c.state {
	case csIdle:
		if w.now < c.wait {
			return
		}
		c.connect()
	case csConnecting:
		if w.now-c.lastSent > connectTimeoutMs {
			c.tracef("handshake with %d timed out", c.member)
			c.abandon()
		}
	case csConnected:
		if len(c.ops) > 0 && w.now-c.ops[0].sentAt > requestTimeoutMs {
			c.tracef("request to %d timed out", c.member)
			c.abandon()
			return
		}
		if w.now-c.lastSent > 20*w.cfg.TickMs/3 {
			// Keep the session alive, as clients ping after a third of
			// the session timeout without traffic.
			c.send(proto.OpPing, proto.XidPing, nil)
		}
		if len(c.ops) > 0 || w.now < c.wait {
			return
		}
		if c.final {
			if len(c.finalKeys) > 0 {
				c.start(Input{Kind: OpRead, Key: c.finalKeys[0]}, false, true)
			}
			return
		}
		if w.quiet {
			return
		}
		n := 1
		if w.cfg.Pipeline > 1 {
			n = 1 + w.rng.intn(w.cfg.Pipeline)
		}
		for range n {
			c.next()
		}
		c.wait = w.now + w.rng.between(0, 30)
	}
}

// connect opens a connection to a random member, resuming the session.
func (c *client) connect() {
	w := c.w
	m := w.members[w.rng.intn(len(w.members))]
	c.member = m.id
	w.nextConn++
	c.conn = w.nextConn
	w.connOwner[c.conn] = c
	c.lastSent = w.now
	if !m.up {
		c.tracef("connection to %d refused", m.id)
		c.wait = w.now + w.rng.between(10, 100)
		return
	}
	c.state = csConnecting
	c.inc = m.inc
	req := &proto.ConnectRequest{LastZxidSeen: c.lastZxid, TimeOut: int32(20 * w.cfg.TickMs), SessionID: c.session, Passwd: c.passwd}
	c.tracef("connects to %d (conn %d, session 0x%x, lastZxid 0x%x)", m.id, c.conn, c.session, c.lastZxid)
	c.lastAt = w.now + w.rng.between(1, 3)
	w.push(envelope{at: c.lastAt, kind: envClientConnect, to: m.id, toInc: m.inc, conn: c.conn, creq: req})
}

// abandon closes the connection from the client's side.
func (c *client) abandon() {
	w := c.w
	if m := w.member(c.member); m.up && m.inc == c.inc {
		w.push(envelope{at: max(c.lastAt, w.now+1), kind: envClientClose, to: m.id, toInc: m.inc, conn: c.conn})
	}
	c.closed("abandoned")
}

// closed handles the end of the connection: the writes in flight have
// unknown outcomes; the reads tell nothing.
func (c *client) closed(why string) {
	w := c.w
	for _, op := range c.ops {
		if op.in.Kind != OpRead {
			w.count("unknown outcomes", 1)
			w.history = append(w.history, porcupine.Operation{ClientId: c.id, Input: op.in, Call: op.call,
				Output: Output{Unknown: true}, Return: math.MaxInt64})
		}
	}
	c.ops = nil
	c.tracef("connection %d to %d closed (%s)", c.conn, c.member, why)
	delete(w.connOwner, c.conn)
	c.state = csIdle
	c.wait = w.now + w.rng.between(10, 100)
}

// next picks and sends a random operation.
func (c *client) next() {
	w := c.w
	key := w.keys[w.rng.intn(len(w.keys))]
	w.clock++
	data := fmt.Sprintf("c%d-%d", c.id, w.clock)
	version := int32(-1)
	if v, ok := c.version[key]; ok && w.rng.intn(2) == 0 {
		version = v
	}
	switch n := w.rng.intn(100); {
	case n < 25:
		c.start(Input{Kind: OpCreate, Key: key, Data: data}, false, false)
	case n < 50:
		c.start(Input{Kind: OpSet, Key: key, Data: data, Version: version}, false, false)
	case n < 60:
		c.start(Input{Kind: OpDelete, Key: key, Version: version}, false, false)
	case n < 80:
		c.start(Input{Kind: OpRead, Key: key}, true, false)
	default:
		c.start(Input{Kind: OpRead, Key: key}, false, false)
	}
}

// start invokes an operation (a sync+get sends both requests at once: the
// member answers the get only after the sync).
func (c *client) start(in Input, plain, final bool) {
	w := c.w
	w.clock++
	op := &clientOp{in: in, call: w.clock, plain: plain, final: final, sentAt: w.now}
	c.ops = append(c.ops, op)
	switch in.Kind {
	case OpCreate:
		op.xid = c.send(proto.OpCreate, 0, &proto.CreateRequest{Path: in.Key, Data: []byte(in.Data), ACL: proto.OpenACLUnsafe})
	case OpSet:
		op.xid = c.send(proto.OpSetData, 0, &proto.SetDataRequest{Path: in.Key, Data: []byte(in.Data), Version: in.Version})
	case OpDelete:
		op.xid = c.send(proto.OpDelete, 0, &proto.DeleteRequest{Path: in.Key, Version: in.Version})
	case OpRead:
		if !plain {
			op.syncXid = c.send(proto.OpSync, 0, &proto.SyncRequest{Path: in.Key})
		}
		op.xid = c.send(proto.OpGetData, 0, &proto.GetDataRequest{Path: in.Key})
	}
}

// send sends one request (xid 0: the next one) and returns its xid.
func (c *client) send(code proto.OpCode, xid int32, rec proto.Record) int32 {
	w := c.w
	if xid == 0 {
		c.xid++
		xid = c.xid
	}
	c.lastSent = w.now
	// One TCP connection: requests arrive in the order sent.
	c.lastAt = max(c.lastAt, w.now+w.rng.between(1, 3))
	w.push(envelope{at: c.lastAt, kind: envClientRequest, to: c.member, toInc: c.inc, conn: c.conn,
		hdr: proto.RequestHeader{Xid: xid, Type: code}, rec: rec})
	return xid
}

// dispatchClientEvents hands the members' output to the clients.
func (w *World) dispatchClientEvents() {
	for len(w.clientEvs) > 0 {
		evs := w.clientEvs
		w.clientEvs = nil
		for _, ev := range evs {
			c, ok := w.connOwner[ev.conn]
			if !ok || c.conn != ev.conn {
				continue // a connection the client gave up on
			}
			switch {
			case ev.resp != nil:
				c.connected(ev.resp)
			case ev.reply:
				c.reply(ev.hdr, ev.body)
			case ev.close:
				c.closed("closed by the member")
			}
		}
	}
}

func (c *client) connected(resp *proto.ConnectResponse) {
	if c.state != csConnecting {
		c.w.failf("client %d: a handshake reply on an established connection", c.id)
	}
	if resp.TimeOut <= 0 || resp.SessionID == 0 {
		c.tracef("session 0x%x expired", c.session)
		c.w.count("sessions expired", 1)
		c.session, c.passwd = 0, nil
		return // the member closes the connection next
	}
	if c.session != 0 && resp.SessionID != c.session {
		c.w.failf("client %d resumed session 0x%x and got 0x%x", c.id, c.session, resp.SessionID)
	}
	c.session, c.passwd = resp.SessionID, append([]byte(nil), resp.Passwd...)
	c.state = csConnected
	c.lastSent = c.w.now
	c.tracef("connected to %d, session 0x%x", c.member, c.session)
}

// reply handles a reply: replies come in request order, and a session's
// view (the zxid in each reply) never goes back, across members too.
func (c *client) reply(hdr proto.ReplyHeader, body proto.Record) {
	w := c.w
	if hdr.Xid == proto.XidNotification {
		return
	}
	if hdr.Zxid < c.lastZxid {
		w.failf("client %d (session 0x%x): a reply (xid %d) from %d at zxid 0x%x after the session saw 0x%x",
			c.id, c.session, hdr.Xid, c.member, hdr.Zxid, c.lastZxid)
	}
	c.lastZxid = hdr.Zxid
	if hdr.Xid == proto.XidPing {
		return
	}
	if len(c.ops) == 0 {
		w.failf("client %d: a reply (xid %d) to no request", c.id, hdr.Xid)
	}
	op := c.ops[0]
	if op.syncXid != 0 {
		if hdr.Xid != op.syncXid {
			w.failf("client %d: reply xid %d, expected the sync's %d: replies out of request order", c.id, hdr.Xid, op.syncXid)
		}
		op.syncXid = 0
		op.syncErr = hdr.Err != proto.OK
		return
	}
	if hdr.Xid != op.xid {
		w.failf("client %d: reply xid %d, expected %d: replies out of request order", c.id, hdr.Xid, op.xid)
	}
	c.ops = c.ops[1:]
	w.clock++
	out := Output{}
	switch hdr.Err {
	case proto.OK:
		out.Code = ResOK
	case proto.ErrNoNode:
		out.Code = ResNoNode
	case proto.ErrNodeExists:
		out.Code = ResNodeExists
	case proto.ErrBadVersion:
		out.Code = ResBadVersion
	default:
		out.Unknown = true
	}
	if op.in.Kind == OpRead {
		if out.Unknown || op.syncErr {
			return // a failed read (or one after a failed sync) tells nothing
		}
		if r, ok := body.(*proto.GetDataResponse); ok && hdr.Err == proto.OK {
			out.Data, out.Version = string(r.Data), r.Stat.Version
			c.version[op.in.Key] = r.Stat.Version
		}
		if op.plain {
			w.count("plain reads", 1)
			return
		}
		w.count("client reads checked", 1)
		if op.final && len(c.finalKeys) > 0 {
			c.finalKeys = c.finalKeys[1:]
		}
	} else if !out.Unknown {
		if r, ok := body.(*proto.SetDataResponse); ok && op.in.Kind == OpSet && hdr.Err == proto.OK {
			out.Version = r.Stat.Version
			c.version[op.in.Key] = r.Stat.Version
		}
		if hdr.Err == proto.OK {
			w.count("client writes acknowledged", 1)
			w.acked = append(w.acked, [2]int64{c.session, int64(op.xid)})
			if op.in.Kind == OpCreate {
				c.version[op.in.Key] = 0
			}
		}
	}
	ret := w.clock
	if out.Unknown {
		w.count("unknown outcomes", 1)
		ret = math.MaxInt64
	}
	c.tracef("%s(%s %q v%d) -> %+v", op.in.Kind, op.in.Key, op.in.Data, op.in.Version, out)
	w.history = append(w.history, porcupine.Operation{ClientId: c.id, Input: op.in, Call: op.call, Output: out, Return: ret})
}
