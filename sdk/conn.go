package sdk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
	"github.com/warrenhq/warren/internal/fifo"
)

// State is a connection state reported on the States stream.
type State int

// Connection states.
const (
	// StateConnected: the session was established for the first time.
	StateConnected State = iota + 1
	// StateSuspended: the connection was lost; the session may still be
	// alive and the Conn is reconnecting. Calls fail with ErrConnectionLoss
	// or wait for the reconnection.
	StateSuspended
	// StateReconnected: the session was resumed on a new connection;
	// credentials and watches were re-sent.
	StateReconnected
	// StateExpired: the server reported the session expired. The Conn is
	// finished: every call fails with ErrSessionExpired.
	StateExpired
	// StateAuthFailed: the server rejected credentials (the connection is
	// closed by the server). After a failed SASL exchange (WithSASLDigest)
	// the Conn is finished: every call fails with an error matching
	// ErrAuthFailed.
	StateAuthFailed
	// StateClosed: Close was called.
	StateClosed
)

var stateNames = map[State]string{
	StateConnected: "connected", StateSuspended: "suspended", StateReconnected: "reconnected",
	StateExpired: "expired", StateAuthFailed: "auth failed", StateClosed: "closed",
}

func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Option configures Connect.
type Option func(*config)

type config struct {
	sessionTimeout time.Duration
	logger         *zap.Logger
	resolver       *net.Resolver
	maxFrame       int
	queueLen       int
	shuffle        bool
	dialer         net.Dialer
	sasl           *saslCreds // WithSASLDigest; nil: none
}

// WithSessionTimeout sets the requested session timeout (default 10 s); the
// server clamps it into its own bounds.
func WithSessionTimeout(d time.Duration) Option { return func(c *config) { c.sessionTimeout = d } }

// WithLogger sets the logger (default: none).
func WithLogger(l *zap.Logger) Option { return func(c *config) { c.logger = l } }

// WithResolver sets the resolver used to look hostnames up on every
// connection attempt (default net.DefaultResolver).
func WithResolver(r *net.Resolver) Option { return func(c *config) { c.resolver = r } }

// WithMaxFrame bounds the size of a reply frame (default 1 MiB - 1, ZooKeeper's
// jute.maxbuffer). A larger reply drops the connection.
func WithMaxFrame(n int) Option { return func(c *config) { c.maxFrame = n } }

// WithoutShuffle keeps the connect string's host order (default: shuffled
// once, then round-robin).
func WithoutShuffle() Option { return func(c *config) { c.shuffle = false } }

// call is one request in flight.
type call struct {
	ctx  context.Context
	op   proto.OpCode
	path string // chroot-relative, for errors
	xid  int32
	req  proto.Record
	resp proto.Record
	// onReply runs in the reader, under Conn.mu, before the next frame is
	// handled (watch registration happens there, so no event can overtake it).
	onReply func(code proto.Code)
	done    chan struct{}
	code    proto.Code
	err     error // transport-level failure (connection loss, closed, ...)
}

func (cl *call) finish(code proto.Code, err error) {
	cl.code, cl.err = code, err
	close(cl.done)
}

// wire is one TCP connection of the session.
type wire struct {
	nc       net.Conn
	pending  []*call // guarded by Conn.mu
	authWait []*call // guarded by Conn.mu
	dead     chan struct{}
	once     sync.Once
	cause    error
}

func (w *wire) fail(err error) {
	w.once.Do(func() {
		w.cause = err
		close(w.dead)
		_ = w.nc.Close()
	})
}

// Conn is a ZooKeeper session. See the package documentation for its
// concurrency model.
type Conn struct {
	cfg    config
	hosts  *hostList
	chroot string
	log    *zap.Logger

	reqs    chan *call
	closing chan struct{}
	done    chan struct{}

	mu        sync.Mutex
	state     State
	sessionID int64
	passwd    []byte
	timeout   time.Duration // negotiated
	lastZxid  int64
	xid       int32
	cur       *wire
	server    string        // address of cur
	up        chan struct{} // closed while connected; replaced on suspension
	finalErr  error         // set when the Conn is finished (closed or expired)
	closed    bool          // Close was called: no reconnection, no Suspended
	auths     []proto.AuthPacket
	watches   watchTable
	stateSubs []*fifo.Queue[State]
}

// Connect opens a session on one of the hosts of connectString and returns
// once it is established (or ctx ends). The Conn then keeps the session up
// until Close or expiry.
func Connect(ctx context.Context, connectString string, opts ...Option) (*Conn, error) {
	cs, err := ParseConnectString(connectString)
	if err != nil {
		return nil, err
	}
	cfg := config{sessionTimeout: 10 * time.Second, logger: zap.NewNop(), resolver: net.DefaultResolver,
		maxFrame: zkwire.DefaultMaxFrame, queueLen: 1024, shuffle: true}
	for _, o := range opts {
		o(&cfg)
	}
	c := &Conn{
		cfg: cfg, hosts: newHostList(cs.Hosts, cfg.shuffle), chroot: cs.Chroot, log: cfg.logger,
		reqs: make(chan *call, cfg.queueLen), closing: make(chan struct{}), done: make(chan struct{}),
		up: make(chan struct{}), passwd: make([]byte, zkwire.PasswordLen), timeout: cfg.sessionTimeout,
		watches: newWatchTable(),
	}
	up := c.up
	go c.manage()
	select {
	case <-up:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("sdk: connect %s: %w", connectString, c.terminalErr())
	case <-ctx.Done():
		_ = c.Close()
		return nil, fmt.Errorf("sdk: connect %s: %w", connectString, ctx.Err())
	}
}

// SessionID returns the session id (0 before the first connection).
func (c *Conn) SessionID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// Server returns the address of the server the Conn is connected to, or ""
// while it is not connected.
func (c *Conn) Server() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return ""
	}
	return c.server
}

// SessionTimeout returns the timeout negotiated with the server.
func (c *Conn) SessionTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeout
}

// LastZxid returns the highest zxid seen in a reply.
func (c *Conn) LastZxid() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastZxid
}

// State returns the current connection state.
func (c *Conn) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// States returns a new subscription to the state stream: every later state
// change, in order, never dropped. The channel is closed when the Conn is
// finished (after StateExpired, StateClosed, or a StateAuthFailed that
// ends it). The subscription lives as long as the Conn; a subscriber that
// stops earlier should use StatesContext, or keep reading until the
// channel closes.
func (c *Conn) States() <-chan State {
	return c.subscribe(nil)
}

// StatesContext is States with an end: when ctx is done the subscription
// is removed, states not yet read are dropped and the channel is closed.
// Recipes and caches that stop before their Conn use it so that nothing
// is left queued for a reader that is gone.
func (c *Conn) StatesContext(ctx context.Context) <-chan State {
	return c.subscribe(ctx)
}

func (c *Conn) subscribe(ctx context.Context) <-chan State {
	q := fifo.New[State]()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finalErr != nil {
		q.Close()
		return q.Out()
	}
	c.stateSubs = append(c.stateSubs, q)
	if ctx != nil {
		context.AfterFunc(ctx, func() {
			c.mu.Lock()
			c.stateSubs = slices.DeleteFunc(c.stateSubs, func(o *fifo.Queue[State]) bool { return o == q })
			c.mu.Unlock()
			q.Abandon()
		})
	}
	return q.Out()
}

// setState records and publishes a state; c.mu must be held.
func (c *Conn) setState(s State) {
	c.state = s
	for _, q := range c.stateSubs {
		q.Push(s)
	}
	c.log.Debug("zk state", zap.Stringer("state", s), zap.Int64("sessionId", c.sessionID))
}

func (c *Conn) terminalErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finalErr != nil {
		return c.finalErr
	}
	return ErrClosed
}

// Close closes the session (closeSession, waiting at most a second for the
// reply) and stops the Conn. Calls in flight fail with ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	connected := c.cur != nil && c.finalErr == nil
	c.closed = true
	c.mu.Unlock()
	if connected {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = c.do(ctx, proto.OpCloseSession, "", nil, nil, nil)
		cancel()
	}
	select {
	case <-c.closing:
	default:
		close(c.closing)
	}
	<-c.done
	return nil
}

// do sends one request and waits for its reply. It returns the call's
// error: a transport failure, the context's error, or an *Error.
func (c *Conn) do(ctx context.Context, op proto.OpCode, path string, req, resp proto.Record, onReply func(proto.Code)) error {
	cl := &call{ctx: ctx, op: op, path: path, req: req, resp: resp, onReply: onReply, done: make(chan struct{})}
	if err := c.enqueue(ctx, cl); err != nil {
		return err
	}
	select {
	case <-cl.done:
	case <-ctx.Done():
		// The call may still be written and answered; its result is dropped.
		return fmt.Errorf("%s %s: %w", op, path, ctx.Err())
	case <-c.done:
		select {
		case <-cl.done:
		default:
			return fmt.Errorf("%s %s: %w", op, path, c.terminalErr())
		}
	}
	if cl.err != nil {
		return fmt.Errorf("%s %s: %w", op, path, cl.err)
	}
	if cl.code != proto.OK {
		return codeErr(op, path, cl.code)
	}
	return nil
}

func (c *Conn) enqueue(ctx context.Context, cl *call) error {
	c.mu.Lock()
	fin := c.finalErr
	c.mu.Unlock()
	if fin != nil {
		return fmt.Errorf("%s %s: %w", cl.op, cl.path, fin)
	}
	select {
	case c.reqs <- cl:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s %s: %w", cl.op, cl.path, ctx.Err())
	case <-c.done:
		return fmt.Errorf("%s %s: %w", cl.op, cl.path, c.terminalErr())
	}
}

// manage dials, runs one connection at a time and re-dials until the Conn
// is closed or the session expires.
func (c *Conn) manage() {
	defer close(c.done)
	backoff := 50 * time.Millisecond
	for {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed {
			// Close sends closeSession first: the server then drops the
			// connection, which must not be mistaken for a loss.
			<-c.closing
		}
		select {
		case <-c.closing:
			c.finish(StateClosed, ErrClosed)
			return
		default:
		}
		entry, roundDone := c.hosts.pick()
		w, expired, err := c.dial(entry)
		if expired {
			c.finish(StateExpired, ErrSessionExpired)
			return
		}
		var authErr *saslError
		if errors.As(err, &authErr) {
			c.log.Warn("zk SASL authentication failed", zap.String("host", entry), zap.Error(err))
			c.finish(StateAuthFailed, err)
			return
		}
		if err != nil {
			c.log.Debug("zk connect failed", zap.String("host", entry), zap.Error(err))
			if roundDone {
				select {
				case <-time.After(backoff):
				case <-c.closing:
				}
				backoff = min(2*backoff, time.Second)
			}
			continue
		}
		backoff = 50 * time.Millisecond
		c.run(w)
	}
}

// dial opens a connection to one host entry and performs the handshake.
func (c *Conn) dial(entry string) (*wire, bool, error) {
	c.mu.Lock()
	req := &proto.ConnectRequest{LastZxidSeen: c.lastZxid, TimeOut: int32(c.cfg.sessionTimeout.Milliseconds()),
		SessionID: c.sessionID, Passwd: append([]byte(nil), c.passwd...), HasReadOnly: true}
	timeout := c.timeout
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), max(timeout/time.Duration(len(c.hosts.hosts)), time.Second))
	defer cancel()
	go func() {
		select {
		case <-c.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	addrs, err := resolve(ctx, c.cfg.resolver, entry)
	if err != nil {
		return nil, false, err
	}
	var nc net.Conn
	var addr string
	for _, addr = range addrs {
		if nc, err = c.cfg.dialer.DialContext(ctx, "tcp", addr); err == nil {
			break
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("sdk: dial %s: %w", entry, err)
	}
	deadline, _ := ctx.Deadline()
	_ = nc.SetDeadline(deadline)
	if _, err := nc.Write(zkwire.AppendConnectRequest(nil, req)); err != nil {
		_ = nc.Close()
		return nil, false, fmt.Errorf("sdk: handshake with %s: %w", entry, err)
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	frame, err := zkwire.ReadFrame(br, nil, c.cfg.maxFrame)
	if err != nil {
		_ = nc.Close()
		return nil, false, fmt.Errorf("sdk: handshake with %s: %w", entry, err)
	}
	resp, err := zkwire.ParseConnectResponse(frame)
	if err != nil {
		_ = nc.Close()
		return nil, false, fmt.Errorf("sdk: handshake with %s: %w", entry, err)
	}
	if resp.TimeOut <= 0 {
		_ = nc.Close()
		return nil, true, nil
	}
	c.mu.Lock()
	c.server = addr
	first := c.sessionID == 0
	c.sessionID, c.passwd = resp.SessionID, resp.Passwd
	c.timeout = time.Duration(resp.TimeOut) * time.Millisecond
	c.mu.Unlock()
	c.log.Debug("zk session", zap.String("host", entry), zap.Int64("sessionId", resp.SessionID),
		zap.Int32("timeoutMs", resp.TimeOut), zap.Bool("new", first))
	if c.cfg.sasl != nil {
		// Before anything else on the connection, as the Java client:
		// other requests wait behind the exchange.
		if err := c.saslExchange(nc, br, c.cfg.sasl); err != nil {
			_ = nc.Close()
			return nil, false, fmt.Errorf("sdk: %s: %w", entry, err)
		}
	}
	_ = nc.SetDeadline(time.Time{})
	w := &wire{nc: nc, dead: make(chan struct{})}
	go c.reader(w, br, time.Duration(resp.TimeOut)*time.Millisecond)
	return w, false, nil
}

// run serves one established connection until it dies or the Conn closes.
func (c *Conn) run(w *wire) {
	c.mu.Lock()
	first := c.state == 0
	c.cur = w
	// Credentials first, then watches, then queued calls: the writer sends
	// the initial frames before it reads c.reqs.
	var initial [][]byte
	for i := range c.auths {
		a := c.auths[i]
		cl := &call{op: proto.OpAuth, done: make(chan struct{})}
		w.authWait = append(w.authWait, cl)
		initial = append(initial, zkwire.AppendRequest(nil, &proto.RequestHeader{Xid: proto.XidAuth, Type: proto.OpAuth}, &a))
	}
	for _, sw := range c.watches.setWatches(c.lastZxid, c.chroot) {
		cl := &call{op: proto.OpSetWatches2, xid: proto.XidSetWatches, done: make(chan struct{})}
		w.pending = append(w.pending, cl)
		initial = append(initial, zkwire.AppendRequest(nil, &proto.RequestHeader{Xid: proto.XidSetWatches, Type: proto.OpSetWatches2}, sw))
	}
	if first {
		c.setState(StateConnected)
	} else {
		c.setState(StateReconnected)
	}
	close(c.up)
	timeout := c.timeout
	c.mu.Unlock()

	go c.writer(w, initial, timeout)
	select {
	case <-w.dead:
	case <-c.closing:
		w.fail(ErrClosed)
	}
	c.mu.Lock()
	c.cur = nil
	c.up = make(chan struct{})
	pending, auths := w.pending, w.authWait
	w.pending, w.authWait = nil, nil
	closing := c.closed
	if !closing {
		c.setState(StateSuspended)
	}
	c.mu.Unlock()
	c.log.Debug("zk connection lost", zap.Error(w.cause))
	failErr := ErrConnectionLoss
	if closing {
		failErr = ErrClosed
	}
	for _, cl := range pending {
		cl.finish(0, failErr)
	}
	for _, cl := range auths {
		cl.finish(0, failErr)
	}
}

// finish ends the Conn: fails queued calls, fires the watches with a
// session event and closes the state streams.
func (c *Conn) finish(s State, err error) {
	c.mu.Lock()
	c.finalErr = err
	c.setState(s)
	for _, q := range c.stateSubs {
		q.Close()
	}
	c.stateSubs = nil
	c.watches.finish(s)
	c.mu.Unlock()
	for {
		select {
		case cl := <-c.reqs:
			cl.finish(0, err)
		default:
			return
		}
	}
}

// writer sends the initial frames, then queued calls and pings.
func (c *Conn) writer(w *wire, initial [][]byte, timeout time.Duration) {
	pingEvery := timeout / 3
	write := func(b []byte) bool {
		_ = w.nc.SetWriteDeadline(time.Now().Add(timeout))
		if _, err := w.nc.Write(b); err != nil {
			w.fail(fmt.Errorf("sdk: write: %w", err))
			return false
		}
		return true
	}
	for _, b := range initial {
		if !write(b) {
			return
		}
	}
	ping := zkwire.AppendRequest(nil, &proto.RequestHeader{Xid: proto.XidPing, Type: proto.OpPing}, nil)
	ticker := time.NewTicker(pingEvery)
	defer ticker.Stop()
	lastSend := time.Now()
	var buf []byte
	for {
		select {
		case <-w.dead:
			return
		case <-ticker.C:
			if time.Since(lastSend) >= pingEvery-pingEvery/10 {
				if !write(ping) {
					return
				}
				lastSend = time.Now()
			}
		case cl := <-c.reqs:
			// The calls already queued behind cl go out in the same write
			// (up to writeBatch bytes): one system call per burst of
			// pipelined calls rather than one per call.
			buf = buf[:0]
			yielded := false
			for cl != nil {
				var ok bool
				if buf, ok = c.appendCall(w, buf, cl); !ok {
					return
				}
				cl = nil
				if len(buf) < writeBatch {
					select {
					case cl = <-c.reqs:
					default:
						if !yielded {
							// Callers just woken by replies are about to
							// queue their next calls: let them, once.
							yielded = true
							runtime.Gosched()
							select {
							case cl = <-c.reqs:
							default:
							}
						}
					}
				}
			}
			if len(buf) == 0 {
				continue
			}
			if !write(buf) {
				return
			}
			lastSend = time.Now()
		}
	}
}

// writeBatch is the size past which the writer stops adding queued calls
// to a write.
const writeBatch = 64 << 10

// appendCall assigns cl its xid, queues it for its reply on w and appends
// its frame to buf. A call whose context has ended is failed and left out.
// It returns false when w is dead (cl is then failed with
// ErrConnectionLoss).
func (c *Conn) appendCall(w *wire, buf []byte, cl *call) ([]byte, bool) {
	if cl.ctx.Err() != nil {
		cl.finish(0, cl.ctx.Err())
		return buf, true
	}
	c.mu.Lock()
	select {
	case <-w.dead:
		c.mu.Unlock()
		cl.finish(0, ErrConnectionLoss)
		return buf, false
	default:
	}
	c.xid++
	if c.xid <= 0 {
		c.xid = 1
	}
	cl.xid = c.xid
	hdr := proto.RequestHeader{Xid: cl.xid, Type: cl.op}
	if cl.op == proto.OpAuth {
		hdr.Xid = proto.XidAuth
		w.authWait = append(w.authWait, cl)
	} else {
		w.pending = append(w.pending, cl)
	}
	c.mu.Unlock()
	return zkwire.AppendRequest(buf, &hdr, cl.req), true
}

// reader reads replies and notifications until the connection fails.
func (c *Conn) reader(w *wire, br *bufio.Reader, timeout time.Duration) {
	buf := make([]byte, 64<<10)
	// The read deadline is two thirds of the session timeout after the
	// last frame. Moving it is not free, so under a stream of replies it
	// moves only when it is a tenth of the timeout stale: a silent server
	// is still noticed within 2/3 of the timeout.
	limit, refresh := timeout*2/3, timeout/10
	var deadline time.Time
	for {
		if now := time.Now(); deadline.Sub(now) < limit-refresh {
			deadline = now.Add(limit)
			_ = w.nc.SetReadDeadline(deadline)
		}
		frame, err := zkwire.ReadFrame(br, buf, c.cfg.maxFrame)
		if err != nil {
			w.fail(fmt.Errorf("sdk: read: %w", err))
			return
		}
		if err := c.handleFrame(w, frame); err != nil {
			c.log.Warn("zk bad reply, dropping connection", zap.Error(err))
			w.fail(err)
			return
		}
	}
}

// errProtocol marks bad input from the server.
var errProtocol = errors.New("sdk: protocol violation")

// decodeReply splits a reply frame into its header and, when the header
// carries no error and a body record is given, decodes the body into it.
// It is the whole reply decoder (fuzzed by FuzzReply).
func decodeReply(frame []byte, maxLen int, body proto.Record) (proto.ReplyHeader, error) {
	var hdr proto.ReplyHeader
	if len(frame) < proto.ReplyHeaderSize {
		return hdr, fmt.Errorf("%w: reply of %d bytes", errProtocol, len(frame))
	}
	d := jute.NewDecoder(frame, maxLen)
	hdr.Decode(d)
	if hdr.Err == proto.OK && body != nil {
		body.Decode(d)
	}
	if err := d.Err(); err != nil {
		return hdr, fmt.Errorf("%w: xid %d: %w", errProtocol, hdr.Xid, err)
	}
	return hdr, nil
}

// handleFrame dispatches one frame from the server.
func (c *Conn) handleFrame(w *wire, frame []byte) error {
	if len(frame) < proto.ReplyHeaderSize {
		return fmt.Errorf("%w: reply of %d bytes", errProtocol, len(frame))
	}
	xid := int32(uint32(frame[0])<<24 | uint32(frame[1])<<16 | uint32(frame[2])<<8 | uint32(frame[3]))
	switch xid {
	case proto.XidNotification:
		var ev proto.WatcherEvent
		if _, err := decodeReply(frame, c.cfg.maxFrame, &ev); err != nil {
			return err
		}
		c.mu.Lock()
		c.watches.dispatch(ev, c.chroot)
		c.mu.Unlock()
		return nil
	case proto.XidPing:
		_, err := decodeReply(frame, c.cfg.maxFrame, nil)
		return err
	case proto.XidAuth:
		hdr, err := decodeReply(frame, c.cfg.maxFrame, nil)
		if err != nil {
			return err
		}
		c.mu.Lock()
		if len(w.authWait) == 0 {
			c.mu.Unlock()
			return fmt.Errorf("%w: unexpected auth reply", errProtocol)
		}
		cl := w.authWait[0]
		w.authWait = w.authWait[1:]
		if hdr.Err == proto.ErrAuthFailed {
			c.setState(StateAuthFailed)
		}
		c.mu.Unlock()
		cl.finish(hdr.Err, nil)
		return nil
	}
	// Only this goroutine removes from w.pending (the writer appends), so
	// the head seen here stays the head while its body is decoded without
	// the lock.
	c.mu.Lock()
	if len(w.pending) == 0 || w.pending[0].xid != xid {
		want := int32(0)
		if len(w.pending) > 0 {
			want = w.pending[0].xid
		}
		c.mu.Unlock()
		return fmt.Errorf("%w: reply xid %d, expected %d", errProtocol, xid, want)
	}
	cl := w.pending[0]
	c.mu.Unlock()
	hdr, err := decodeReply(frame, c.cfg.maxFrame, cl.resp)
	if err != nil {
		// Left at the head of w.pending: failing the wire fails it with
		// connection loss, with the calls behind it.
		return err
	}
	c.mu.Lock()
	if len(w.pending) == 0 || w.pending[0] != cl {
		// The wire failed meanwhile (a write error, Close): its calls,
		// this one included, were failed with connection loss.
		c.mu.Unlock()
		return nil
	}
	w.pending = w.pending[1:]
	if hdr.Zxid > c.lastZxid {
		c.lastZxid = hdr.Zxid
	}
	if cl.onReply != nil {
		cl.onReply(hdr.Err)
	}
	c.mu.Unlock()
	cl.finish(hdr.Err, nil)
	return nil
}
