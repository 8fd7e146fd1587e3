package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
)

// ErrOutOfOrder reports a reply whose xid is not the oldest outstanding
// request's: the ZooKeeper protocol answers a session's requests in order,
// so this is a server bug (or a reply to a request never sent).
var ErrOutOfOrder = errors.New("bench: reply out of order")

// ErrSessionRefused reports a handshake answered with a zero timeout: the
// server refused or expired the session.
var ErrSessionRefused = errors.New("bench: session refused")

// ErrConnClosed is returned by Do and Close once the connection is gone.
var ErrConnClosed = errors.New("bench: connection closed")

const ioBufferSize = 64 << 10

// Generator produces the requests of one connection during Do. It is called
// from Do's goroutine only, so it needs no locking of its own.
type Generator interface {
	// Next encodes the body of the next request (without header) into e and
	// returns its opcode, or ok=false when there is nothing more to send.
	// now is the time since the connection's base (see ConnOptions.Base).
	Next(e *jute.Encoder, now time.Duration) (op proto.OpCode, ok bool)
}

// ConnOptions configures Dial.
type ConnOptions struct {
	// InFlight is the most requests outstanding at once (default 16).
	InFlight int
	// SessionTimeout is asked of the server in the handshake (default 10 s).
	SessionTimeout time.Duration
	// Base is the origin of the times handed to generators and recorders, so
	// that all connections of a run share one clock (default: Dial's time).
	Base time.Time
	// DialTimeout bounds the TCP connect and the handshake (default 10 s).
	DialTimeout time.Duration
}

// pending is one request awaiting its reply.
type pending struct {
	xid   int32
	op    proto.OpCode
	start time.Duration
	rec   *Recorder
}

// Conn is one ZooKeeper session on one TCP connection, pipelined: Do keeps
// up to InFlight requests outstanding while a reader goroutine matches the
// replies, in order, to the requests and records their latencies. While no
// Do is running, a background goroutine pings the server often enough that
// the session never expires.
type Conn struct {
	nc        net.Conn
	bw        *bufio.Writer
	sessionID int64
	timeout   time.Duration
	base      time.Time

	// writeMu is held by whoever writes to bw: Do, Close or the pinger.
	writeMu  sync.Mutex
	xid      int32
	enc      jute.Encoder
	lastSend atomic.Int64 // time since base of the last flush, in ns

	sem     chan struct{} // one token per request that may be sent
	pending chan pending  // requests in the order they were sent

	dead    chan struct{} // closed when the reader stops
	readErr error         // why the reader stopped; read after <-dead
	quit    chan struct{} // closed by Close to stop the pinger
	wg      sync.WaitGroup
}

// Dial connects to a ZooKeeper-protocol server at addr and opens a session.
func Dial(ctx context.Context, addr string, opts ConnOptions) (*Conn, error) {
	if opts.InFlight <= 0 {
		opts.InFlight = 16
	}
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = 10 * time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	if opts.Base.IsZero() {
		opts.Base = time.Now()
	}
	dctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: dial %s: %w", addr, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	c := &Conn{
		nc:      nc,
		bw:      bufio.NewWriterSize(nc, ioBufferSize),
		base:    opts.Base,
		sem:     make(chan struct{}, opts.InFlight),
		pending: make(chan pending, opts.InFlight),
		dead:    make(chan struct{}),
		quit:    make(chan struct{}),
	}
	for range opts.InFlight {
		c.sem <- struct{}{}
	}
	br := bufio.NewReaderSize(nc, ioBufferSize)
	if err := c.handshake(dctx, br, opts.SessionTimeout); err != nil {
		nc.Close()
		return nil, fmt.Errorf("bench: handshake with %s: %w", addr, err)
	}
	c.wg.Add(2)
	go c.readLoop(br)
	go c.pingLoop()
	return c, nil
}

func (c *Conn) handshake(ctx context.Context, br *bufio.Reader, timeout time.Duration) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(dl)
	}
	defer c.nc.SetDeadline(time.Time{})
	// A cancelled ctx ends a handshake the server does not answer.
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := &proto.ConnectRequest{
		TimeOut: int32(timeout / time.Millisecond),
		Passwd:  make([]byte, zkwire.PasswordLen),
	}
	if _, err := c.nc.Write(zkwire.AppendConnectRequest(nil, req)); err != nil {
		return fmt.Errorf("send connect request: %w", err)
	}
	frame, err := zkwire.ReadFrame(br, nil, zkwire.DefaultMaxFrame)
	if err != nil {
		return fmt.Errorf("read connect response: %w", err)
	}
	resp, err := zkwire.ParseConnectResponse(frame)
	if err != nil {
		return err
	}
	if resp.TimeOut <= 0 {
		return ErrSessionRefused
	}
	c.sessionID = resp.SessionID
	c.timeout = time.Duration(resp.TimeOut) * time.Millisecond
	return nil
}

// SessionID is the session the server assigned.
func (c *Conn) SessionID() int64 { return c.sessionID }

// SessionTimeout is the session timeout the server granted.
func (c *Conn) SessionTimeout() time.Duration { return c.timeout }

func (c *Conn) now() time.Duration { return time.Since(c.base) }

// err returns why the reader stopped.
func (c *Conn) err() error {
	if c.readErr != nil {
		return c.readErr
	}
	return ErrConnClosed
}

// readLoop matches replies to outstanding requests until the connection
// fails or closes.
func (c *Conn) readLoop(br *bufio.Reader) {
	defer c.wg.Done()
	defer close(c.dead)
	buf := make([]byte, ioBufferSize)
	var hdr proto.ReplyHeader
	for {
		frame, err := zkwire.ReadFrame(br, buf, zkwire.DefaultMaxFrame)
		if err != nil {
			c.readErr = fmt.Errorf("bench: read reply: %w", err)
			return
		}
		d := jute.NewDecoder(frame, len(frame))
		hdr.Decode(d)
		if d.Err() != nil {
			c.readErr = fmt.Errorf("bench: reply header: %w", d.Err())
			return
		}
		switch hdr.Xid {
		case proto.XidNotification, proto.XidPing, proto.XidAuth, proto.XidSetWatches:
			continue // not a reply to anything Do sent
		}
		var p pending
		select {
		case p = <-c.pending:
		default:
			c.readErr = fmt.Errorf("%w: xid %d with nothing outstanding", ErrOutOfOrder, hdr.Xid)
			return
		}
		if p.xid != hdr.Xid {
			c.readErr = fmt.Errorf("%w: got xid %d, want %d", ErrOutOfOrder, hdr.Xid, p.xid)
			return
		}
		if p.rec != nil {
			p.rec.observe(p.op, hdr.Err, c.now()-p.start, p.start, len(frame)-proto.ReplyHeaderSize)
		}
		c.sem <- struct{}{}
	}
}

// pingLoop sends a ping whenever the connection has been quiet for a third
// of the session timeout and no Do is writing.
func (c *Conn) pingLoop() {
	defer c.wg.Done()
	every := c.timeout / 3
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-c.dead:
			return
		case <-t.C:
		}
		if c.now()-time.Duration(c.lastSend.Load()) < every || !c.writeMu.TryLock() {
			continue
		}
		c.writeRequest(proto.XidPing, proto.OpPing, nil)
		err := c.flush()
		c.writeMu.Unlock()
		if err != nil {
			return
		}
	}
}

// writeRequest encodes one request frame into bw; the caller holds writeMu.
// body, when non-nil, encodes the request body.
func (c *Conn) writeRequest(xid int32, op proto.OpCode, body func(e *jute.Encoder)) {
	c.enc.Reset()
	c.enc.Int(0)
	c.enc.Int(xid)
	c.enc.Int(int32(op))
	if body != nil {
		body(&c.enc)
	}
	b := c.enc.Bytes()
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	_, _ = c.bw.Write(b) // a write error resurfaces at flush
}

func (c *Conn) flush() error {
	c.lastSend.Store(int64(c.now()))
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("bench: send: %w", err)
	}
	return nil
}

func (c *Conn) nextXid() int32 {
	c.xid++
	if c.xid <= 0 {
		c.xid = 1
	}
	return c.xid
}

// Do sends gen's requests, keeping up to InFlight outstanding, until gen is
// exhausted or ctx is done, then waits for every reply. Each reply is
// handed to rec (which Do's caller must not touch until Do returns). It
// returns an error only if the connection failed; error codes in replies
// are rec's business.
func (c *Conn) Do(ctx context.Context, gen Generator, rec *Recorder) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	var genErr error
	e := &c.enc
	for {
		select {
		case <-c.sem:
		default:
			if err := c.flush(); err != nil {
				return err
			}
			select {
			case <-c.sem:
			case <-c.dead:
				return c.err()
			case <-ctx.Done():
				genErr = ctx.Err()
			}
		}
		if genErr != nil {
			break
		}
		start := c.now()
		e.Reset()
		e.Int(0)
		e.Int(0) // xid, patched below
		e.Int(0) // opcode, patched below
		op, ok := gen.Next(e, start)
		if !ok {
			c.sem <- struct{}{}
			break
		}
		xid := c.nextXid()
		b := e.Bytes()
		binary.BigEndian.PutUint32(b[0:], uint32(len(b)-4))
		binary.BigEndian.PutUint32(b[4:], uint32(xid))
		binary.BigEndian.PutUint32(b[8:], uint32(op))
		c.pending <- pending{xid: xid, op: op, start: start, rec: rec}
		if _, err := c.bw.Write(b); err != nil {
			return fmt.Errorf("bench: send: %w", err)
		}
	}
	if err := c.flush(); err != nil {
		return err
	}
	// Wait for every outstanding reply by collecting all tokens, then put
	// them back.
	n := cap(c.sem)
	for i := range n {
		select {
		case <-c.sem:
		case <-c.dead:
			for range i {
				c.sem <- struct{}{}
			}
			return c.err()
		}
	}
	for range n {
		c.sem <- struct{}{}
	}
	return nil
}

// Close ends the session (closeSession, waiting briefly for its reply) and
// the connection, and stops the connection's goroutines.
func (c *Conn) Close() error {
	select {
	case <-c.quit:
		return nil
	default:
	}
	close(c.quit)
	c.writeMu.Lock()
	select {
	case <-c.sem:
		xid := c.nextXid()
		c.pending <- pending{xid: xid, op: proto.OpCloseSession, start: c.now()}
		c.writeRequest(xid, proto.OpCloseSession, nil)
		if c.flush() == nil {
			select {
			case <-c.sem:
			case <-c.dead:
			case <-time.After(2 * time.Second):
			}
		}
	case <-c.dead:
	}
	c.writeMu.Unlock()
	err := c.nc.Close()
	c.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("bench: close: %w", err)
	}
	return nil
}
