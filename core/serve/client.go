package serve

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/zkwire"
)

// maxOutstandingPerConn bounds the requests a connection may have in flight
// before the server stops reading from it (back-pressure instead of memory).
const maxOutstandingPerConn = 1000

// maxQueuedPerConn bounds the messages waiting to be written to one
// connection. Replies are bounded by maxOutstandingPerConn, but watch
// notifications are not: a client that stops reading its socket while its
// watches keep firing is disconnected instead of growing the server's heap.
var maxQueuedPerConn = 1 << 17 // a variable so tests can lower it

type outMsg struct {
	hdr     proto.ReplyHeader
	body    proto.Record
	connect *proto.ConnectResponse
	close   bool
}

// client is one accepted connection.
type client struct {
	srv *Server
	id  replica.ConnID
	nc  net.Conn
	ip  string
	log *zap.Logger

	mu        sync.Mutex
	out       []outMsg
	spare     []outMsg
	recvTimes []int64
	wake      chan struct{}
	quit      chan struct{}
	quitOnce  sync.Once
	overflow  sync.Once
	slots     chan struct{}
	ready     chan struct{} // closed once the handshake reply is written

	established time.Time
	session     atomic.Int64
	timeout     atomic.Int32
	received    atomic.Int64
	sent        atomic.Int64
	lastOp      atomic.Int32
	lastCxid    atomic.Int32
	lastZxid    atomic.Int64
	lastLatency atomic.Int64
	minLatency  atomic.Int64
	maxLatency  atomic.Int64
	sumLatency  atomic.Int64
	numLatency  atomic.Int64
	lastResp    atomic.Int64
}

func newClient(s *Server, id replica.ConnID, nc net.Conn, ip string) *client {
	c := &client{
		srv:         s,
		id:          id,
		nc:          nc,
		ip:          ip,
		log:         s.log.With(zap.String("remote", nc.RemoteAddr().String())),
		wake:        make(chan struct{}, 1),
		quit:        make(chan struct{}),
		slots:       make(chan struct{}, maxOutstandingPerConn),
		ready:       make(chan struct{}),
		established: time.Now(),
	}
	c.minLatency.Store(-1)
	c.lastOp.Store(-1000)
	return c
}

func (c *client) push(m outMsg) {
	c.mu.Lock()
	if len(c.out) >= maxQueuedPerConn && !m.close {
		c.mu.Unlock()
		c.overflow.Do(func() {
			c.log.Warn("client is not reading its replies; closing the connection", zap.Int("queued", maxQueuedPerConn))
			c.stop()
		})
		return
	}
	c.out = append(c.out, m)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *client) stop() {
	c.quitOnce.Do(func() {
		close(c.quit)
		c.nc.Close()
	})
}

// serve is the reader goroutine; it owns the connection's lifetime.
func (c *client) serve() {
	defer func() {
		c.stop()
		c.srv.removeClient(c)
		c.srv.inbox.put(event{kind: evDisconnect, conn: c.id})
	}()
	br := bufio.NewReaderSize(c.nc, 64<<10)
	max := c.srv.cfg.JuteMaxBuffer
	_ = c.nc.SetReadDeadline(time.Now().Add(time.Duration(c.srv.cfg.TickTime) * time.Millisecond * 10))
	head, err := br.Peek(4)
	if err != nil {
		return
	}
	if word, ok := zkwire.FourLetterWord([4]byte(head)); ok {
		_, _ = br.Discard(4)
		c.fourLetter(word, br)
		return
	}
	frame, err := zkwire.ReadFrame(br, nil, max)
	if err != nil {
		c.badInput("handshake frame", err)
		return
	}
	req, err := zkwire.ParseConnectRequest(frame)
	if err != nil {
		c.badInput("handshake", err)
		return
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	go c.writeLoop()
	c.srv.inbox.put(event{kind: evConnect, conn: c.id, ip: c.ip, connect: req})
	select {
	case <-c.ready:
	case <-c.quit:
		return
	}
	c.readLoop(br, max)
}

func (c *client) readLoop(br *bufio.Reader, max int) {
	var buf []byte
	batch := make([]event, 0, 64)
	for {
		frame, err := zkwire.ReadFrame(br, buf, max)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.badInput("request frame", err)
			}
			return
		}
		buf = frame[:0] // decoded records never alias the frame
		hdr, rec, err := zkwire.DecodeRequest(frame, max)
		kind := evRequest
		var unknown *zkwire.UnknownOpError
		var body *zkwire.BodyError
		switch {
		case errors.As(err, &unknown):
			// The replica answers ZUNIMPLEMENTED and closes, as ZooKeeper does.
			c.log.Warn("unknown opcode; closing connection", zap.Int32("op", int32(hdr.Type)))
			rec = nil
		case errors.As(err, &body):
			if hdr.Type == proto.OpAuth {
				c.badInput("auth packet", err)
				return
			}
			// ZooKeeper answers ZMARSHALLINGERROR and keeps the connection.
			c.log.Warn("undecodable request body", zap.Stringer("op", hdr.Type), zap.Error(err))
			kind = evMalformed
		case err != nil:
			c.badInput("request", err)
			return
		}
		select {
		case c.slots <- struct{}{}:
		case <-c.quit:
			return
		}
		now := time.Now().UnixMilli()
		c.mu.Lock()
		c.recvTimes = append(c.recvTimes, now)
		c.mu.Unlock()
		c.received.Add(1)
		c.srv.stats.received.Add(1)
		c.lastOp.Store(int32(hdr.Type))
		c.lastCxid.Store(hdr.Xid)
		batch = append(batch, event{kind: kind, conn: c.id, hdr: hdr, rec: rec})
		// Hand over a batch once the socket has nothing more buffered.
		if br.Buffered() < 4 || len(batch) == cap(batch) {
			c.srv.inbox.put(batch...)
			batch = batch[:0]
		}
	}
}

// badInput logs a protocol violation once and closes the connection.
func (c *client) badInput(what string, err error) {
	var fs *zkwire.FrameSizeError
	if errors.As(err, &fs) {
		c.srv.stats.largeRejected.Add(1)
	}
	c.log.Warn("closing connection on bad input", zap.String("stage", what), zap.Error(err))
}

func (c *client) writeLoop() {
	w := bufio.NewWriterSize(c.nc, 64<<10)
	var buf []byte
	max := c.srv.cfg.JuteMaxBuffer
	for {
		select {
		case <-c.wake:
		case <-c.quit:
			return
		}
		c.mu.Lock()
		msgs := c.out
		c.out = c.spare[:0]
		c.spare = nil
		c.mu.Unlock()
		closing := false
		for i := range msgs {
			m := &msgs[i]
			switch {
			case m.close:
				closing = true
			case m.connect != nil:
				buf = zkwire.AppendConnectResponse(buf[:0], m.connect)
				if m.connect.SessionID != 0 {
					c.session.Store(m.connect.SessionID)
					c.timeout.Store(m.connect.TimeOut)
				}
				if _, err := w.Write(buf); err != nil {
					c.stop()
					return
				}
				if err := w.Flush(); err != nil {
					c.stop()
					return
				}
				select {
				case <-c.ready:
				default:
					close(c.ready)
				}
			default:
				buf = zkwire.AppendFrame(buf[:0], &m.hdr, m.body)
				if len(buf)-4 > max {
					c.log.Warn("reply exceeds jute.maxbuffer; the client will drop the connection",
						zap.Int("bytes", len(buf)-4), zap.Int("max", max), zap.Int32("xid", m.hdr.Xid))
				}
				if _, err := w.Write(buf); err != nil {
					c.stop()
					return
				}
				c.sent.Add(1)
				c.srv.stats.sent.Add(1)
				c.srv.recordResponseSize(int64(len(buf) - 4))
				if m.hdr.Xid != proto.XidNotification {
					c.lastZxid.Store(m.hdr.Zxid)
					c.replied()
				}
			}
			*m = outMsg{}
			if closing {
				break
			}
		}
		c.mu.Lock()
		if c.spare == nil {
			c.spare = msgs[:0]
		}
		pending := len(c.out)
		c.mu.Unlock()
		if closing {
			_ = w.Flush()
			c.stop()
			return
		}
		if pending == 0 {
			if err := w.Flush(); err != nil {
				c.stop()
				return
			}
		}
	}
}

// replied accounts for one answered request: latency and a freed slot.
func (c *client) replied() {
	now := time.Now().UnixMilli()
	c.mu.Lock()
	var at int64 = -1
	if len(c.recvTimes) > 0 {
		at = c.recvTimes[0]
		c.recvTimes = c.recvTimes[1:]
	}
	c.mu.Unlock()
	if at >= 0 {
		lat := now - at
		c.lastLatency.Store(lat)
		c.lastResp.Store(now)
		c.sumLatency.Add(lat)
		c.numLatency.Add(1)
		if cur := c.minLatency.Load(); cur < 0 || lat < cur {
			c.minLatency.Store(lat)
		}
		if lat > c.maxLatency.Load() {
			c.maxLatency.Store(lat)
		}
		c.srv.recordLatency(lat)
	}
	select {
	case <-c.slots:
	default:
	}
}
