// Package peer is the TCP transport between ensemble members: it carries
// zab.Message frames (core/zab/wire.go) over one connection per pair of
// members, with per-peer outbound queues and reconnection with backoff. A
// member runs one Transport for its quorum port and one for its election
// port (Config.Election).
//
// Unlike the core packages it does I/O: it owns goroutines and sockets. The
// protocol logic stays in core/zab; this package only moves frames.
//
// # Connections
//
// There is exactly one connection per pair of members: the member with the
// higher id dials, the lower one accepts. An inbound connection from a lower
// id (or from itself) is refused after its Hello, so two members never hold
// duplicate links. If a dialer opens a new connection while the acceptor
// still holds an old one (the dialer restarted, or the old connection is
// half-open), the newer connection replaces the older.
//
// # Handshake
//
// The dialer sends a Hello frame (its id, zab.WireVersion, its config
// version and the Election flag) addressed to the member it believes it
// dialled. The acceptor reads it with a small frame limit (so garbage or a
// huge length prefix is refused at once), checks that the sender is a known
// member with a higher id, that the frame is addressed to it, that the wire
// version and the Election flag match, and answers with its own Hello; the
// dialer checks that answer the same way. Both steps run under
// Config.DialTimeout. A refused connection is closed, counted in
// Stats.Refused and logged: at warning level the first time a reason is
// seen, at debug level afterwards.
//
// # Streams
//
// After the handshake, one reader goroutine reads frames and calls deliver
// for each, in order; a frame not from the peer or not addressed to this
// member, a second Hello, a bad frame (checksum, version, length, body) or
// any read error closes the connection. One writer goroutine takes the
// queued frames in batches, writes them through a buffer and flushes when
// the queue is empty.
//
// A connection is a stream: the messages sent on it arrive in order, or the
// connection breaks and both sides receive Event{Connected: false}. Exactly:
//
//   - Send encodes the message at once (its errors do not depend on the
//     connection state) and appends the frame to the queue of the peer's
//     current connection.
//   - When the peer has no connection, the message is dropped and counted in
//     PeerStats.Dropped; it is not kept for a later connection, so a new
//     connection never carries messages meant for an older one. ZAB re-sends
//     what matters (election notifications, FOLLOWERINFO) on its ticks.
//   - When a connection breaks, or Disconnect closes it, whatever is still
//     queued on it (and what the writer buffered without a successful flush)
//     is discarded and counted as dropped. Messages Sent between the break
//     and the next Connected event are dropped too.
//   - A connection whose queue exceeds Config.QueueLimit frames or
//     Config.QueueBytes bytes is closed as too slow, with the same effect.
//
// # Events and callbacks
//
// events receives Event{Peer, Connected: true} when a connection to a peer
// is established and Event{Peer, Connected: false} when it ends. For one
// peer the events alternate, starting with Connected, and every message
// deliver receives from a peer comes between the Connected and the
// Disconnected event of the connection it arrived on. deliver and events
// run on transport goroutines (one per connection): they must not block
// long, and should hand the message to the caller's own loop. Close waits
// for callbacks in progress, so a callback must not wait for the goroutine
// that calls Close; once Close has begun no further callbacks start (not
// even Disconnected events for the connections Close tears down).
//
// # Reconnection and reconfiguration
//
// A dialer retries a failed dial or handshake with exponential backoff from
// Config.MinBackoff to Config.MaxBackoff, each wait drawn uniformly from
// its upper half (jitter); after an established connection ends it waits
// about MinBackoff before dialling again. SetPeers changes the member list
// at run time (dynamic reconfiguration). Backlog tells a sender of large
// transfers (snapshot parts) how much is still queued, so it can pace
// itself below the queue limits.
package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/zab"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultQueueLimit  = 10000
	DefaultQueueBytes  = 256 << 20
	DefaultDialTimeout = 5 * time.Second
	DefaultMinBackoff  = 50 * time.Millisecond
	DefaultMaxBackoff  = 2 * time.Second
)

// Errors returned by Send.
var (
	// ErrUnknownPeer is returned by Send for a message addressed to a member
	// that is not in the transport's peer list (or to itself).
	ErrUnknownPeer = errors.New("peer: unknown peer")
	// ErrClosed is returned by Send and Start after Close.
	ErrClosed = errors.New("peer: transport closed")
)

// Config configures a Transport.
type Config struct {
	// Self is this member's server id.
	Self int64
	// Listen is the host:port to accept connections on; "" means do not
	// listen (a member with the lowest id dials nobody and must listen).
	Listen string
	// Peers maps every other member's id to the host:port of the same kind
	// of port (quorum or election) as Listen. Only the addresses of members
	// with a lower id than Self are dialled; the others may be "".
	Peers map[int64]string
	// Election is true when this transport carries election traffic; the
	// Hello flags of both ends must match.
	Election bool
	// ConfigVersion is the version of the member list, sent in Hello.
	ConfigVersion int64
	// AcceptUnknown accepts connections from members not in Peers (which
	// have a higher id, since they dial): a server about to be added to
	// the ensemble by a reconfiguration talks to it before it is listed.
	// Such a peer is kept until the next SetPeers that does not list it.
	AcceptUnknown bool
	// MaxFrame caps the payload of a received frame; 0 means
	// zab.MaxFrameSize, which is also the ceiling.
	MaxFrame int
	// QueueLimit is the number of frames queued for one peer beyond which
	// its connection is closed as too slow; 0 means DefaultQueueLimit.
	QueueLimit int
	// QueueBytes is the same limit in bytes; 0 means DefaultQueueBytes.
	QueueBytes int
	// DialTimeout bounds a dial and each handshake; 0 means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between dial attempts; 0
	// means DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives the transport's logs; nil means no logging.
	Logger *zap.Logger
}

// Event reports a connection to Peer being established (Connected) or
// ending (not Connected). ConfigVersion is the version the peer announced
// in its Hello (0 for a Disconnected event).
type Event struct {
	Peer          int64
	Connected     bool
	ConfigVersion int64
}

// PeerStats are the counters of one peer.
type PeerStats struct {
	Connected bool   // a connection is established now
	Connects  uint64 // connections established so far
	Sent      uint64 // frames written and flushed to the socket
	Received  uint64 // frames received and delivered
	Dropped   uint64 // frames accepted by Send but never written (see the package doc)
	Queued    int    // frames waiting in the queue now
}

// Stats are the transport's counters.
type Stats struct {
	Peers   map[int64]PeerStats
	Refused uint64 // inbound connections refused, or lost, during the handshake
}

// Transport is the connection manager of one port kind (quorum or
// election). Its methods are safe for concurrent use.
type Transport struct {
	cfg     Config
	log     *zap.Logger
	deliver func(zab.Message)
	events  func(Event)

	ctx    context.Context // cancelled by Close; bounds dials
	cancel context.CancelFunc

	stopping  atomic.Bool // Close has begun: no more callbacks
	cfgVer    atomic.Int64
	refused   atomic.Uint64
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu      sync.RWMutex
	peers   map[int64]*peer
	ln      net.Listener
	started bool
	closed  bool
	live    map[net.Conn]struct{} // every open socket, closed by Close

	logMu  sync.Mutex
	logged map[string]bool // refusal reasons already logged at warning level
}

// maxLoggedReasons bounds the log-once memory.
const maxLoggedReasons = 1024

// peer is the state kept for one member.
type peer struct {
	id int64

	// regMu serialises connection registration and replacement, so events
	// for the peer alternate.
	regMu sync.Mutex

	mu      sync.Mutex
	addr    string
	cur     *conn // the registered connection, nil when none
	removed bool
	stop    chan struct{} // closed when the peer is removed

	connects atomic.Uint64
	sent     atomic.Uint64
	received atomic.Uint64
	dropped  atomic.Uint64
}

// New validates cfg, applies defaults and returns a transport that does
// nothing until Start. deliver receives every message from a peer and must
// not be nil; events receives connection events and may be nil.
func New(cfg Config, deliver func(zab.Message), events func(Event)) (*Transport, error) {
	if deliver == nil {
		return nil, errors.New("peer: deliver callback is nil")
	}
	if events == nil {
		events = func(Event) {}
	}
	if cfg.MaxFrame < 0 || cfg.MaxFrame > zab.MaxFrameSize {
		return nil, fmt.Errorf("peer: MaxFrame %d outside 0..%d", cfg.MaxFrame, zab.MaxFrameSize)
	}
	if cfg.MaxFrame == 0 {
		cfg.MaxFrame = zab.MaxFrameSize
	}
	if cfg.QueueLimit <= 0 {
		cfg.QueueLimit = DefaultQueueLimit
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	peers, err := checkPeers(cfg.Self, cfg.Peers)
	if err != nil {
		return nil, err
	}
	cfg.Peers = peers
	t := &Transport{
		cfg:     cfg,
		log:     cfg.Logger.With(zap.Int64("self", cfg.Self), zap.Bool("election", cfg.Election)),
		deliver: deliver,
		events:  events,
		peers:   make(map[int64]*peer, len(peers)),
		live:    map[net.Conn]struct{}{},
		logged:  map[string]bool{},
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.cfgVer.Store(cfg.ConfigVersion)
	for id, addr := range peers {
		t.peers[id] = &peer{id: id, addr: addr, stop: make(chan struct{})}
	}
	return t, nil
}

// checkPeers validates a peer list and returns a copy of it.
func checkPeers(self int64, peers map[int64]string) (map[int64]string, error) {
	out := make(map[int64]string, len(peers))
	for id, addr := range peers {
		if id == self {
			return nil, fmt.Errorf("peer: the peer list holds this member's own id %d", id)
		}
		if id < self && addr == "" {
			return nil, fmt.Errorf("peer: member %d has a lower id than %d and must have an address to dial", id, self)
		}
		out[id] = addr
	}
	return out, nil
}

// Start binds the listener (when Config.Listen is set) and starts dialling
// every peer with a lower id.
func (t *Transport) Start() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if t.started {
		return errors.New("peer: transport already started")
	}
	if t.cfg.Listen != "" {
		ln, err := net.Listen("tcp", t.cfg.Listen)
		if err != nil {
			return fmt.Errorf("peer: listen on %s: %w", t.cfg.Listen, err)
		}
		t.ln = ln
		t.wg.Add(1)
		go t.acceptLoop(ln)
		t.log.Info("peer transport listening", zap.String("addr", ln.Addr().String()))
	}
	t.started = true
	for _, p := range t.peers {
		t.startDialerLocked(p)
	}
	return nil
}

// adopt registers an unlisted member that dialled in (AcceptUnknown). It
// is never dialled (a higher id dials), so its address stays empty.
func (t *Transport) adopt(id int64) *peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || id == t.cfg.Self {
		return nil
	}
	if p := t.peers[id]; p != nil {
		return p
	}
	p := &peer{id: id, stop: make(chan struct{})}
	t.peers[id] = p
	return p
}

// startDialerLocked starts p's dialer if this member dials it. t.mu held.
func (t *Transport) startDialerLocked(p *peer) {
	if p.id < t.cfg.Self {
		t.wg.Add(1)
		go t.dialLoop(p)
	}
}

// Addr returns the listener's address, or nil before Start or without
// Config.Listen.
func (t *Transport) Addr() net.Addr {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.ln == nil {
		return nil
	}
	return t.ln.Addr()
}

// Send queues m for its peer, m.To, without blocking. m.From must be
// Config.Self. It returns an error, and sends nothing, when m cannot be
// encoded, is addressed to an unknown member, or the transport is closed.
// Otherwise the message is queued on the peer's connection, or dropped and
// counted when there is none (see the package doc for exactly when queued
// messages are lost). The message's byte slices are copied; the caller may
// reuse them when Send returns.
func (t *Transport) Send(m zab.Message) error {
	if m.From != t.cfg.Self {
		return fmt.Errorf("peer: message from %d handed to the transport of member %d", m.From, t.cfg.Self)
	}
	if _, ok := m.Body.(zab.Hello); ok {
		return errors.New("peer: Hello frames are the transport's own")
	}
	t.mu.RLock()
	p, closed := t.peers[m.To], t.closed
	t.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if p == nil {
		return fmt.Errorf("peer: send to member %d: %w", m.To, ErrUnknownPeer)
	}
	frame, err := zab.AppendFrame(nil, m)
	if err != nil {
		return fmt.Errorf("peer: send to member %d: %w", m.To, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.cur
	if c == nil || c.dead {
		p.dropped.Add(1)
		return nil
	}
	if len(c.queue) >= t.cfg.QueueLimit || c.queueBytes+len(frame) > t.cfg.QueueBytes {
		p.dropped.Add(1)
		c.killLocked(fmt.Errorf("outbound queue over its limit (%d frames, %d bytes): peer too slow",
			len(c.queue), c.queueBytes))
		return nil
	}
	c.queue = append(c.queue, frame)
	c.queueBytes += len(frame)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// Disconnect closes the connection to peer now, dropping what is queued on
// it (ZAB's Ready.Disconnect); a Disconnected event follows. A new
// connection is established later by the dialling rule. It does nothing
// when there is no connection or the peer is unknown.
func (t *Transport) Disconnect(peer int64) {
	t.mu.RLock()
	p := t.peers[peer]
	t.mu.RUnlock()
	if p == nil {
		return
	}
	p.mu.Lock()
	if c := p.cur; c != nil {
		c.killLocked(errors.New("disconnected by the caller"))
	}
	p.mu.Unlock()
}

// Backlog returns the frames and bytes queued for peer and not yet taken by
// its writer (0, 0 without a connection), for a sender that paces large
// transfers such as snapshots.
func (t *Transport) Backlog(peer int64) (frames, bytes int) {
	t.mu.RLock()
	p := t.peers[peer]
	t.mu.RUnlock()
	if p == nil {
		return 0, 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.cur; c != nil && !c.dead {
		return len(c.queue), c.queueBytes
	}
	return 0, 0
}

// SetPeers replaces the peer list (after a reconfiguration) and the config
// version announced in later Hellos. Removed members' connections are
// closed (with a Disconnected event) and their dialers stopped; added ones
// are dialled when their id is lower; a member whose address changed is
// redialled at the new address.
func (t *Transport) SetPeers(peers map[int64]string, configVersion int64) error {
	peers, err := checkPeers(t.cfg.Self, peers)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	t.cfgVer.Store(configVersion)
	for id, p := range t.peers {
		addr, keep := peers[id]
		p.mu.Lock()
		switch {
		case !keep:
			p.removed = true
			close(p.stop)
			if p.cur != nil {
				p.cur.killLocked(errors.New("member removed from the configuration"))
			}
		case addr != p.addr:
			p.addr = addr
			if p.cur != nil && id < t.cfg.Self {
				p.cur.killLocked(fmt.Errorf("member's address changed to %s", addr))
			}
		}
		p.mu.Unlock()
		if !keep {
			delete(t.peers, id)
		}
	}
	for id, addr := range peers {
		if t.peers[id] == nil {
			p := &peer{id: id, addr: addr, stop: make(chan struct{})}
			t.peers[id] = p
			if t.started {
				t.startDialerLocked(p)
			}
		}
	}
	return nil
}

// Stats returns the counters of every peer.
func (t *Transport) Stats() Stats {
	t.mu.RLock()
	ps := make([]*peer, 0, len(t.peers))
	for _, p := range t.peers {
		ps = append(ps, p)
	}
	t.mu.RUnlock()
	sort.Slice(ps, func(i, j int) bool { return ps[i].id < ps[j].id })
	st := Stats{Peers: make(map[int64]PeerStats, len(ps)), Refused: t.refused.Load()}
	for _, p := range ps {
		p.mu.Lock()
		s := PeerStats{
			Connects: p.connects.Load(),
			Sent:     p.sent.Load(),
			Received: p.received.Load(),
			Dropped:  p.dropped.Load(),
		}
		if c := p.cur; c != nil && !c.dead {
			s.Connected = true
			s.Queued = len(c.queue)
		}
		p.mu.Unlock()
		st.Peers[p.id] = s
	}
	return st
}

// Close stops listening and dialling, closes every connection and waits for
// every goroutine of the transport to end, including callbacks in progress.
// No callback starts once Close has begun. Close is idempotent.
func (t *Transport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		t.stopping.Store(true)
		t.mu.Lock()
		t.closed = true
		t.cancel()
		if t.ln != nil {
			if cerr := t.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
				err = fmt.Errorf("peer: close listener: %w", cerr)
			}
		}
		for nc := range t.live {
			_ = nc.Close() // the owning goroutine sees the error and cleans up
		}
		for _, p := range t.peers {
			p.mu.Lock()
			if !p.removed {
				p.removed = true
				close(p.stop)
			}
			if p.cur != nil {
				p.cur.killLocked(ErrClosed)
			}
			p.mu.Unlock()
		}
		t.mu.Unlock()
		t.wg.Wait()
	})
	return err
}

// track records an open socket so Close can close it; it reports false
// (and the caller must close nc) when the transport is closed.
func (t *Transport) track(nc net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.live[nc] = struct{}{}
	return true
}

// untrack closes nc and forgets it.
func (t *Transport) untrack(nc net.Conn) {
	_ = nc.Close() // nothing useful to do with a close error here
	t.mu.Lock()
	delete(t.live, nc)
	t.mu.Unlock()
}

// emit calls the events callback unless Close has begun.
func (t *Transport) emit(ev Event) {
	if !t.stopping.Load() {
		t.events(ev)
	}
}

// logOnce logs msg at warning level the first time key is seen and at
// debug level afterwards.
func (t *Transport) logOnce(key, msg string, fields ...zap.Field) {
	t.logMu.Lock()
	first := !t.logged[key] && len(t.logged) < maxLoggedReasons
	if first {
		t.logged[key] = true
	}
	t.logMu.Unlock()
	if first {
		t.log.Warn(msg, fields...)
	} else {
		t.log.Debug(msg, fields...)
	}
}
