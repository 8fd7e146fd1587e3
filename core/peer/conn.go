package peer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/zab"
)

const (
	// helloLimit is the payload limit while reading a Hello: a Hello
	// payload is 21 bytes, so anything announcing more is refused before
	// it is read.
	helloLimit = 64
	// bufSize is the size of each connection's read and write buffers.
	bufSize = 64 << 10
)

// conn is one established (or establishing) connection to a peer. The
// fields under "guarded by p.mu" are shared with Send and Disconnect.
type conn struct {
	t    *Transport
	p    *peer
	nc   net.Conn
	br   *bufio.Reader
	ver  int64         // the peer's config version from its Hello
	done chan struct{} // closed when teardown (and its event) is complete

	writerDone chan struct{}
	wake       chan struct{} // capacity 1: the queue became non-empty
	killed     chan struct{} // closed by killLocked

	// guarded by p.mu
	dead       bool
	reason     error
	queue      [][]byte
	queueBytes int
}

func newConn(t *Transport, p *peer, nc net.Conn, br *bufio.Reader, ver int64) *conn {
	return &conn{
		t: t, p: p, nc: nc, br: br, ver: ver,
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		wake:       make(chan struct{}, 1),
		killed:     make(chan struct{}),
	}
}

// killLocked marks c dead, drops its queue and closes its socket, so its
// reader and writer stop. The first reason is kept. p.mu held.
func (c *conn) killLocked(reason error) {
	if c.dead {
		return
	}
	c.dead = true
	c.reason = reason
	c.p.dropped.Add(uint64(len(c.queue)))
	c.queue, c.queueBytes = nil, 0
	close(c.killed)
	_ = c.nc.Close() // unblocks the reader and the writer; the error is of no use
}

// kill is killLocked taking p.mu.
func (c *conn) kill(reason error) {
	c.p.mu.Lock()
	c.killLocked(reason)
	c.p.mu.Unlock()
}

// acceptLoop accepts inbound connections until the listener is closed.
func (t *Transport) acceptLoop(ln net.Listener) {
	defer t.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if t.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little.
			t.log.Warn("peer accept failed", zap.Error(err))
			select {
			case <-t.ctx.Done():
				return
			case <-time.After(t.cfg.MinBackoff):
			}
			continue
		}
		if !t.track(nc) {
			_ = nc.Close() // closing: refuse
			return
		}
		t.wg.Add(1)
		go t.serveInbound(nc)
	}
}

// serveInbound runs the acceptor's handshake and then the connection.
func (t *Transport) serveInbound(nc net.Conn) {
	defer t.wg.Done()
	c, err := t.acceptHandshake(nc)
	if err != nil {
		t.refused.Add(1)
		t.untrack(nc)
		return
	}
	if !t.register(c) {
		t.untrack(nc)
		return
	}
	t.run(c)
}

// acceptHandshake reads and checks the dialer's Hello and answers it.
// Refusals are logged here.
func (t *Transport) acceptHandshake(nc net.Conn) (*conn, error) {
	remote := nc.RemoteAddr().String()
	host, _, herr := net.SplitHostPort(remote)
	if herr != nil {
		host = remote
	}
	refuse := func(key string, err error) (*conn, error) {
		t.logOnce(key, "peer connection refused", zap.String("remote", remote), zap.Error(err))
		return nil, err
	}
	if err := nc.SetDeadline(time.Now().Add(t.cfg.DialTimeout)); err != nil {
		return nil, fmt.Errorf("peer: set handshake deadline: %w", err)
	}
	br := bufio.NewReaderSize(nc, bufSize)
	m, err := readHello(br)
	if err != nil {
		var fe *zab.FrameError
		if errors.As(err, &fe) {
			return refuse("bad hello "+fe.Reason+" from "+host, fmt.Errorf("peer: bad handshake frame: %w", err))
		}
		// A port probe or a dialer that gave up: not worth a warning.
		t.log.Debug("peer handshake failed", zap.String("remote", remote), zap.Error(err))
		return nil, fmt.Errorf("peer: read hello: %w", err)
	}
	h, err := t.checkHello(m)
	if err != nil {
		return refuse(err.Error(), err)
	}
	if h.ID < t.cfg.Self {
		err := fmt.Errorf("peer: member %d has a lower id than this member %d and must wait to be dialled", h.ID, t.cfg.Self)
		return refuse(err.Error(), err)
	}
	t.mu.RLock()
	p := t.peers[h.ID]
	t.mu.RUnlock()
	if p == nil && t.cfg.AcceptUnknown {
		p = t.adopt(h.ID)
	}
	if p == nil {
		err := fmt.Errorf("peer: member %d is not in this member's configuration: %w", h.ID, ErrUnknownPeer)
		return refuse(err.Error(), err)
	}
	if err := t.writeHello(nc, p.id); err != nil {
		t.log.Debug("peer handshake failed", zap.Int64("peer", p.id), zap.Error(err))
		return nil, err
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("peer: clear handshake deadline: %w", err)
	}
	return newConn(t, p, nc, br, h.ConfigVersion), nil
}

// readHello reads the first frame of an inbound connection. Bytes that
// cannot begin a frame (an HTTP request, a port scanner's probe) are
// refused as soon as they arrive, without waiting for a whole header.
func readHello(br *bufio.Reader) (zab.Message, error) {
	if _, err := br.Peek(1); err == nil {
		head, _ := br.Peek(br.Buffered()) // cannot fail: the bytes are buffered
		var fe *zab.FrameError
		if _, _, err := zab.DecodeFrame(head, helloLimit); errors.As(err, &fe) {
			return zab.Message{}, err
		}
	}
	return zab.ReadFrame(br, helloLimit)
}

// checkHello checks a received handshake frame against this transport.
func (t *Transport) checkHello(m zab.Message) (zab.Hello, error) {
	h, ok := m.Body.(zab.Hello)
	switch {
	case !ok:
		return h, fmt.Errorf("peer: first frame is %T, not a Hello", m.Body)
	case m.From != h.ID:
		return h, fmt.Errorf("peer: Hello from member %d in a frame from %d", h.ID, m.From)
	case m.To != t.cfg.Self:
		return h, fmt.Errorf("peer: member %d dialled member %d but reached member %d (wrong address in its configuration?)",
			h.ID, m.To, t.cfg.Self)
	case h.ProtocolVersion != zab.WireVersion:
		return h, fmt.Errorf("peer: member %d speaks protocol version %d, this member speaks %d",
			h.ID, h.ProtocolVersion, zab.WireVersion)
	case h.Election != t.cfg.Election:
		return h, fmt.Errorf("peer: member %d sent election=%v traffic to a port with election=%v (quorum and election ports swapped?)",
			h.ID, h.Election, t.cfg.Election)
	}
	return h, nil
}

// writeHello writes this member's Hello addressed to peer.
func (t *Transport) writeHello(nc net.Conn, to int64) error {
	frame, err := zab.AppendFrame(nil, zab.Message{From: t.cfg.Self, To: to, Body: zab.Hello{
		ID:              t.cfg.Self,
		ProtocolVersion: zab.WireVersion,
		ConfigVersion:   t.cfgVer.Load(),
		Election:        t.cfg.Election,
	}})
	if err != nil {
		return fmt.Errorf("peer: encode hello: %w", err)
	}
	if _, err := nc.Write(frame); err != nil {
		return fmt.Errorf("peer: write hello: %w", err)
	}
	return nil
}

// dialLoop keeps a connection to p (which has a lower id) until p is
// removed or the transport closes.
func (t *Transport) dialLoop(p *peer) {
	defer t.wg.Done()
	backoff := t.cfg.MinBackoff
	for {
		select {
		case <-p.stop:
			return
		case <-t.ctx.Done():
			return
		default:
		}
		if t.dialOnce(p) {
			backoff = t.cfg.MinBackoff // the connection was up; start over
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		if backoff < t.cfg.MaxBackoff {
			backoff = min(2*backoff, t.cfg.MaxBackoff)
		}
		timer := time.NewTimer(wait)
		select {
		case <-p.stop:
			timer.Stop()
			return
		case <-t.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// dialOnce dials p, runs the handshake and, when it succeeds, the
// connection until it ends. It reports whether a connection was
// established.
func (t *Transport) dialOnce(p *peer) bool {
	p.mu.Lock()
	addr := p.addr
	p.mu.Unlock()
	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	nc, err := d.DialContext(t.ctx, "tcp", addr)
	if err != nil {
		t.log.Debug("peer dial failed", zap.Int64("peer", p.id), zap.String("addr", addr), zap.Error(err))
		return false
	}
	if !t.track(nc) {
		_ = nc.Close() // closing
		return false
	}
	c, err := t.dialHandshake(nc, p)
	if err != nil {
		t.untrack(nc)
		return false
	}
	if !t.register(c) {
		t.untrack(nc)
		return false
	}
	t.run(c)
	return true
}

// dialHandshake sends this member's Hello and checks the answer.
func (t *Transport) dialHandshake(nc net.Conn, p *peer) (*conn, error) {
	if err := nc.SetDeadline(time.Now().Add(t.cfg.DialTimeout)); err != nil {
		return nil, fmt.Errorf("peer: set handshake deadline: %w", err)
	}
	if err := t.writeHello(nc, p.id); err != nil {
		t.log.Debug("peer handshake failed", zap.Int64("peer", p.id), zap.Error(err))
		return nil, err
	}
	br := bufio.NewReaderSize(nc, bufSize)
	m, err := zab.ReadFrame(br, helloLimit)
	if err != nil {
		// The acceptor closes without a word when it refuses us; its log
		// says why. A FrameError (another wire version) is worth a warning.
		var fe *zab.FrameError
		if errors.As(err, &fe) {
			t.logOnce(fmt.Sprintf("dial %d: %s", p.id, fe.Reason), "peer handshake refused",
				zap.Int64("peer", p.id), zap.Error(err))
		} else {
			t.log.Debug("peer handshake failed", zap.Int64("peer", p.id), zap.Error(err))
		}
		return nil, fmt.Errorf("peer: read hello from %d: %w", p.id, err)
	}
	h, err := t.checkHello(m)
	if err == nil && h.ID != p.id {
		err = fmt.Errorf("peer: dialled member %d at %s but member %d answered", p.id, nc.RemoteAddr(), h.ID)
	}
	if err != nil {
		t.logOnce(err.Error(), "peer handshake refused", zap.Int64("peer", p.id), zap.Error(err))
		return nil, err
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("peer: clear handshake deadline: %w", err)
	}
	return newConn(t, p, nc, br, h.ConfigVersion), nil
}

// register makes c the peer's connection, replacing (and waiting for the
// teardown of) an older one, and emits Connected. It reports false when
// the peer was removed or the transport closed.
func (t *Transport) register(c *conn) bool {
	p := c.p
	p.regMu.Lock()
	defer p.regMu.Unlock()
	p.mu.Lock()
	old := p.cur
	if old != nil {
		old.killLocked(errors.New("replaced by a newer connection"))
	}
	p.mu.Unlock()
	if old != nil {
		<-old.done
	}
	p.mu.Lock()
	if p.removed || t.stopping.Load() {
		p.mu.Unlock()
		return false
	}
	p.cur = c
	p.mu.Unlock()
	p.connects.Add(1)
	t.log.Info("peer connected", zap.Int64("peer", p.id), zap.String("remote", c.nc.RemoteAddr().String()),
		zap.Int64("peerConfigVersion", c.ver))
	t.emit(Event{Peer: p.id, Connected: true, ConfigVersion: c.ver})
	return true
}

// run starts c's writer, reads and delivers until the connection fails,
// then tears it down and emits Disconnected.
func (t *Transport) run(c *conn) {
	t.wg.Add(1)
	go t.writeLoop(c)
	err := t.readLoop(c)
	p := c.p
	p.mu.Lock()
	c.killLocked(err)
	reason := c.reason
	if p.cur == c {
		p.cur = nil
	}
	p.mu.Unlock()
	<-c.writerDone
	t.untrack(c.nc)
	if !t.stopping.Load() {
		t.log.Info("peer disconnected", zap.Int64("peer", p.id), zap.NamedError("reason", reason))
	}
	t.emit(Event{Peer: p.id})
	close(c.done)
}

// readLoop delivers c's frames in order until an error.
func (t *Transport) readLoop(c *conn) error {
	for {
		m, err := zab.ReadFrame(c.br, t.cfg.MaxFrame)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("closed by the peer")
			}
			return fmt.Errorf("read: %w", err)
		}
		if m.From != c.p.id || m.To != t.cfg.Self {
			return fmt.Errorf("frame from %d to %d on the connection from %d to %d", m.From, m.To, c.p.id, t.cfg.Self)
		}
		if m.Body.Kind() == zab.KindHello {
			return errors.New("a second Hello on an established connection")
		}
		if t.stopping.Load() {
			return ErrClosed
		}
		c.p.received.Add(1)
		t.deliver(m)
	}
}

// writeLoop writes c's queued frames in batches, flushing when the queue
// is empty, until c is killed or a write fails.
func (t *Transport) writeLoop(c *conn) {
	defer t.wg.Done()
	defer close(c.writerDone)
	p := c.p
	bw := bufio.NewWriterSize(c.nc, bufSize)
	var batch [][]byte
	unflushed := 0 // frames written to bw since the last successful flush
	fail := func(err error, lost int) {
		p.dropped.Add(uint64(lost))
		c.kill(fmt.Errorf("write: %w", err))
	}
	for {
		p.mu.Lock()
		for len(c.queue) == 0 && !c.dead {
			p.mu.Unlock()
			if unflushed > 0 {
				if err := bw.Flush(); err != nil {
					fail(err, unflushed)
					return
				}
				p.sent.Add(uint64(unflushed))
				unflushed = 0
			}
			select {
			case <-c.wake:
			case <-c.killed:
			}
			p.mu.Lock()
		}
		if c.dead {
			p.mu.Unlock()
			p.dropped.Add(uint64(unflushed))
			return
		}
		clear(batch)
		batch, c.queue = c.queue, batch[:0]
		c.queueBytes = 0
		p.mu.Unlock()
		for i, f := range batch {
			if _, err := bw.Write(f); err != nil {
				fail(err, unflushed+len(batch)-i)
				return
			}
			unflushed++
		}
	}
}
