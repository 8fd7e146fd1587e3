package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
)

// ErrNoResume reports a failover run whose writes did not resume within
// FailoverConfig.Timeout of the kill.
var ErrNoResume = errors.New("bench: writes did not resume after the kill")

// FailoverConfig describes Failover: one session writing back to back to
// members of an ensemble while the leader is killed. Zero fields take the
// defaults shown.
type FailoverConfig struct {
	// Servers are the members the client may use, in the order it tries
	// them (host:port each): the followers, so that the client survives
	// the leader's death.
	Servers []string
	// Label names the server kind in reports (default: the first server).
	Label string
	// Kill kills the leader. It is called once, Steady after the first
	// write succeeded, from its own goroutine.
	Kill func() error
	// Dead, if set, reports whether the killed process is gone; it is
	// polled after Kill returns, and writes count as "after the kill" only
	// when sent after it first returned true. Without it, Kill's return
	// marks the death.
	Dead func() bool
	// Path is the znode written (created if missing, default
	// /warren-bench-failover).
	Path string
	// ValueSize is the size of every value written (default 100).
	ValueSize int
	// Steady is how long the client writes before the kill (default 1 s).
	Steady time.Duration
	// After is how long it keeps writing after writes resumed (default
	// 500 ms).
	After time.Duration
	// Timeout bounds the wait for writes to resume after the kill
	// (default 60 s).
	Timeout time.Duration
	// RetryInterval is the pause between connection attempts after the
	// first one that follows a lost connection (default 5 ms).
	RetryInterval time.Duration
	// SessionTimeout is asked of the server (default 10 s).
	SessionTimeout time.Duration
	// ConnectTimeout bounds one TCP connect plus handshake (default: the
	// session timeout divided by the number of servers, as ZooKeeper's
	// client does).
	ConnectTimeout time.Duration
	// OpTimeout bounds the wait for one reply; a write not answered in time
	// counts as a lost connection (default: two thirds of the negotiated
	// session timeout, ZooKeeper's client's read timeout).
	OpTimeout time.Duration
	// Logger receives progress messages (default: none).
	Logger *zap.Logger
}

func (c FailoverConfig) normalize() (FailoverConfig, error) {
	if len(c.Servers) == 0 {
		return c, fmt.Errorf("bench: failover needs at least one server")
	}
	if c.Kill == nil {
		return c, fmt.Errorf("bench: failover needs a way to kill the leader (--kill-pid)")
	}
	if c.Label == "" {
		c.Label = c.Servers[0]
	}
	if c.Path == "" {
		c.Path = "/warren-bench-failover"
	}
	if c.ValueSize == 0 {
		c.ValueSize = 100
	}
	if c.Steady == 0 {
		c.Steady = time.Second
	}
	if c.After == 0 {
		c.After = 500 * time.Millisecond
	}
	if c.Timeout == 0 {
		c.Timeout = 60 * time.Second
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = 5 * time.Millisecond
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = c.SessionTimeout / time.Duration(len(c.Servers))
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	switch {
	case c.ValueSize < 1 || c.ValueSize > 1<<20-1024:
		return c, fmt.Errorf("bench: value size %d out of range [1, %d]", c.ValueSize, 1<<20-1024)
	case c.Steady < 0 || c.After < 0 || c.Timeout < 0 || c.RetryInterval < 0 || c.OpTimeout < 0 ||
		c.SessionTimeout < 0 || c.ConnectTimeout < 0:
		return c, fmt.Errorf("bench: negative failover duration")
	case len(c.Path) < 2 || c.Path[0] != '/' || c.Path[len(c.Path)-1] == '/':
		return c, fmt.Errorf("bench: failover path %q must be an absolute znode path other than /", c.Path)
	}
	return c, nil
}

// FailoverEvent is one step of the client's way through the failover.
type FailoverEvent struct {
	// Ms is the time of the event relative to the kill, in milliseconds
	// (negative before it).
	Ms float64 `json:"ms"`
	// What happened.
	What string `json:"what"`
}

// FailoverResult is the outcome of Failover.
type FailoverResult struct {
	Label   string   `json:"label"`
	Servers []string `json:"servers"`
	// SteadyWrites counts the writes completed before the kill, and
	// SteadyLatency their latency.
	SteadyWrites  int     `json:"steady_writes"`
	SteadyLatency Latency `json:"steady_latency"`
	// KilledUnixMicros is the wall-clock time of the kill.
	KilledUnixMicros int64 `json:"killed_unix_us"`
	// DeadMs is the time from the kill to the process being gone.
	DeadMs float64 `json:"dead_ms"`
	// GapMs is the write gap: the time from the kill to the completion of
	// the first successful write sent after the killed process was gone.
	GapMs float64 `json:"gap_ms"`
	// OutageMs is the longest time between two successive successful
	// write completions (or the last one before the kill and the first
	// after): the stall as the application saw it.
	OutageMs float64 `json:"outage_ms"`
	// ResumedOn is the server that answered the first write after the kill.
	ResumedOn string `json:"resumed_on"`
	// ConnectionsLost counts connections that failed or closed under the
	// client after the kill; ConnectAttempts counts the connection attempts
	// that followed (the successful ones included) and Reconnects the
	// successful handshakes.
	ConnectionsLost int `json:"connections_lost"`
	ConnectAttempts int `json:"connect_attempts"`
	Reconnects      int `json:"reconnects"`
	// SessionResumed is true when the client reconnected and every
	// reconnect resumed the original session (id + password + last zxid
	// seen); NewSession is true when the session was refused as expired and
	// a new one opened.
	SessionResumed bool  `json:"session_resumed"`
	NewSession     bool  `json:"new_session"`
	SessionID      int64 `json:"session_id"`
	// RetriedWrites counts writes whose outcome was unknown (connection
	// lost or error reply) and that were sent again.
	RetriedWrites int `json:"retried_writes"`
	// WritesAfter counts the writes completed after writes resumed.
	WritesAfter int `json:"writes_after"`
	// Events is the client's timeline from the kill on (and any connection
	// trouble before it).
	Events []FailoverEvent `json:"events"`
}

// fsession is the failover client's session: one connection at a time,
// one request in flight, resumed across connections like a real client.
type fsession struct {
	cfg       FailoverConfig
	nc        net.Conn
	br        *bufio.Reader
	addr      string
	xid       int32
	sessionID int64
	passwd    []byte
	lastZxid  int64
	timeout   time.Duration
	buf       []byte
	frame     []byte
}

// errExpired reports a handshake refused: the session expired.
var errExpired = errors.New("session expired")

// connect opens a connection to addr and establishes the session on it:
// a new one when none exists yet, else the current one resumed.
func (s *fsession) connect(ctx context.Context, addr string) error {
	dctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	dl, _ := dctx.Deadline()
	_ = nc.SetDeadline(dl)
	passwd := s.passwd
	if passwd == nil {
		passwd = make([]byte, zkwire.PasswordLen)
	}
	req := &proto.ConnectRequest{
		LastZxidSeen: s.lastZxid,
		TimeOut:      int32(s.cfg.SessionTimeout / time.Millisecond),
		SessionID:    s.sessionID,
		Passwd:       passwd,
		HasReadOnly:  true,
	}
	if _, err := nc.Write(zkwire.AppendConnectRequest(nil, req)); err != nil {
		nc.Close()
		return fmt.Errorf("send connect request: %w", err)
	}
	br := bufio.NewReaderSize(nc, 4096)
	frame, err := zkwire.ReadFrame(br, nil, zkwire.DefaultMaxFrame)
	if err != nil {
		nc.Close()
		return fmt.Errorf("read connect response: %w", err)
	}
	resp, err := zkwire.ParseConnectResponse(frame)
	if err != nil {
		nc.Close()
		return err
	}
	if resp.TimeOut <= 0 {
		nc.Close()
		return errExpired
	}
	_ = nc.SetDeadline(time.Time{})
	s.nc, s.br, s.addr = nc, br, addr
	s.sessionID, s.passwd = resp.SessionID, resp.Passwd
	s.timeout = time.Duration(resp.TimeOut) * time.Millisecond
	return nil
}

func (s *fsession) close() {
	if s.nc != nil {
		s.nc.Close()
		s.nc = nil
	}
}

// do sends one request and waits for its reply, skipping pings and
// notifications. It returns the reply's error code, or an error if the
// connection failed or the reply did not come within the op timeout.
func (s *fsession) do(op proto.OpCode, body proto.Record) (proto.Code, error) {
	s.xid++
	if s.xid <= 0 {
		s.xid = 1
	}
	if s.nc == nil {
		return 0, ErrConnClosed
	}
	s.buf = zkwire.AppendRequest(s.buf[:0], &proto.RequestHeader{Xid: s.xid, Type: op}, body)
	opTimeout := s.cfg.OpTimeout
	if opTimeout == 0 {
		opTimeout = s.timeout * 2 / 3
	}
	_ = s.nc.SetDeadline(time.Now().Add(opTimeout))
	if _, err := s.nc.Write(s.buf); err != nil {
		return 0, fmt.Errorf("send %s: %w", op, err)
	}
	for {
		frame, err := zkwire.ReadFrame(s.br, s.frame, zkwire.DefaultMaxFrame)
		if err != nil {
			return 0, fmt.Errorf("read %s reply: %w", op, err)
		}
		s.frame = frame[:cap(frame)]
		var hdr proto.ReplyHeader
		d := jute.NewDecoder(frame, len(frame))
		hdr.Decode(d)
		if d.Err() != nil {
			return 0, fmt.Errorf("%s reply header: %w", op, d.Err())
		}
		if hdr.Zxid > s.lastZxid {
			s.lastZxid = hdr.Zxid
		}
		switch hdr.Xid {
		case s.xid:
			return hdr.Err, nil
		case proto.XidNotification, proto.XidPing, proto.XidAuth, proto.XidSetWatches:
			continue
		}
		return 0, fmt.Errorf("%w: got xid %d, want %d", ErrOutOfOrder, hdr.Xid, s.xid)
	}
}

// killState is shared between the killer goroutine and the writer.
type killState struct {
	mu     sync.Mutex
	killed time.Time // when Kill was called
	dead   time.Time // when the process was seen gone
	err    error
}

func (k *killState) get() (killed, dead time.Time, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.killed, k.dead, k.err
}

// Failover measures how long writes stall when an ensemble's leader dies.
// It opens one session on the first of cfg.Servers, creates cfg.Path if
// needed and writes it (setData) back to back, one request in flight. After
// cfg.Steady it calls cfg.Kill. A connection that fails or closes, or a
// write not answered within the op timeout, makes the client reconnect at
// once to the next server in the list (round robin, every RetryInterval
// after the first attempt), resuming its session with its id, password and
// the last zxid it saw; a session refused as expired is replaced by a new
// one. A write whose outcome is unknown is sent again. The result's GapMs
// is the time from the kill to the first successful write sent after the
// killed process was gone.
func Failover(ctx context.Context, cfg FailoverConfig) (*FailoverResult, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	res := &FailoverResult{Label: cfg.Label, Servers: cfg.Servers}
	s := &fsession{cfg: cfg}
	defer s.close()
	value := make([]byte, cfg.ValueSize)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}

	// The first session, on the first server that takes it.
	idx := 0
	for {
		err := s.connect(ctx, cfg.Servers[idx])
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bench: failover: connect: %w", ctx.Err())
		}
		if idx == len(cfg.Servers)-1 {
			return nil, fmt.Errorf("bench: failover: no server took a session: %w", err)
		}
		idx++
	}
	res.SessionID = s.sessionID
	log.Info("session open", zap.String("server", s.addr), zap.String("session", "0x"+strconv.FormatInt(s.sessionID, 16)))
	code, err := s.do(proto.OpCreate, &proto.CreateRequest{Path: cfg.Path, Data: value, ACL: proto.OpenACLUnsafe})
	if err != nil {
		return nil, fmt.Errorf("bench: failover: create %s: %w", cfg.Path, err)
	}
	if code != proto.OK && code != proto.ErrNodeExists {
		return nil, fmt.Errorf("bench: failover: create %s: %s", cfg.Path, code.Error())
	}

	ks := &killState{}
	start := time.Now()
	var killWG sync.WaitGroup
	defer killWG.Wait()
	killCtx, stopKiller := context.WithCancel(ctx)
	defer stopKiller()
	killWG.Go(func() {
		t := time.NewTimer(cfg.Steady)
		defer t.Stop()
		select {
		case <-t.C:
		case <-killCtx.Done():
			return
		}
		ks.mu.Lock()
		ks.killed = time.Now()
		ks.mu.Unlock()
		err := cfg.Kill()
		now := time.Now()
		ks.mu.Lock()
		if err != nil {
			ks.err = err
		} else if cfg.Dead == nil {
			ks.dead = now
		}
		ks.mu.Unlock()
		if err != nil || cfg.Dead == nil {
			return
		}
		for !cfg.Dead() {
			if killCtx.Err() != nil {
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
		now = time.Now()
		ks.mu.Lock()
		ks.dead = now
		ks.mu.Unlock()
	})

	steady := NewHistogram()
	var (
		lastOK     = start // completion of the last successful write
		resumedAt  time.Time
		lost       bool // the connection is gone; reconnect
		attempts   int  // connection attempts since the loss
		unknown    bool // the last write's outcome is unknown
		retryTimer = time.NewTimer(0)
	)
	defer retryTimer.Stop()
	<-retryTimer.C
	event := func(what string) {
		killed, _, _ := ks.get()
		var ms float64
		if !killed.IsZero() {
			ms = float64(time.Since(killed).Microseconds()) / 1e3
		} else {
			ms = -float64(time.Since(start).Microseconds()) / 1e3
		}
		res.Events = append(res.Events, FailoverEvent{Ms: ms, What: what})
		log.Info("failover", zap.Float64("ms", ms), zap.String("event", what))
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("bench: failover: %w", err)
		}
		killed, dead, kerr := ks.get()
		if kerr != nil {
			return nil, fmt.Errorf("bench: failover: kill: %w", kerr)
		}
		if !killed.IsZero() && resumedAt.IsZero() && time.Since(killed) > cfg.Timeout {
			return nil, fmt.Errorf("%w: no successful write within %s (events: %v)", ErrNoResume, cfg.Timeout, res.Events)
		}
		if !resumedAt.IsZero() && time.Since(resumedAt) >= cfg.After {
			break
		}
		if lost {
			if attempts > 0 {
				retryTimer.Reset(cfg.RetryInterval)
				select {
				case <-retryTimer.C:
				case <-ctx.Done():
					continue
				}
			}
			attempts++
			res.ConnectAttempts++
			addr := cfg.Servers[idx]
			before := s.sessionID
			err := s.connect(ctx, addr)
			switch {
			case errors.Is(err, errExpired):
				event(fmt.Sprintf("%s refused session 0x%x as expired: opening a new session", addr, before))
				res.NewSession = true
				s.sessionID, s.passwd, s.lastZxid = 0, nil, 0
				continue // a new session on the same server at once
			case err != nil:
				if attempts <= 3 || attempts%100 == 0 {
					event(fmt.Sprintf("connect to %s failed (attempt %d): %v", addr, attempts, err))
				}
				idx = (idx + 1) % len(cfg.Servers)
				continue
			}
			res.Reconnects++
			lost, attempts = false, 0
			if before == 0 {
				event(fmt.Sprintf("new session 0x%x on %s", s.sessionID, addr))
				res.SessionID = s.sessionID
			} else {
				event(fmt.Sprintf("session 0x%x resumed on %s (last zxid seen 0x%x)", s.sessionID, addr, s.lastZxid))
			}
		}
		if unknown {
			res.RetriedWrites++
		}
		sent := time.Now()
		code, err := s.do(proto.OpSetData, &proto.SetDataRequest{Path: cfg.Path, Data: value, Version: -1})
		done := time.Now()
		if err != nil {
			event(fmt.Sprintf("connection to %s lost: %v", s.addr, err))
			s.close()
			res.ConnectionsLost++
			lost, unknown = true, true
			idx = (idx + 1) % len(cfg.Servers)
			continue
		}
		if code == proto.ErrSessionExpired {
			event(fmt.Sprintf("%s answered setData with session expired: opening a new session", s.addr))
			s.close()
			res.NewSession = true
			s.sessionID, s.passwd, s.lastZxid = 0, nil, 0
			lost, unknown = true, true
			continue
		}
		if code != proto.OK {
			event(fmt.Sprintf("%s answered setData with %s", s.addr, code.Error()))
			unknown = true
			retryTimer.Reset(cfg.RetryInterval)
			select {
			case <-retryTimer.C:
			case <-ctx.Done():
			}
			continue
		}
		unknown = false
		if gap := done.Sub(lastOK); gap.Seconds()*1e3 > res.OutageMs && !killed.IsZero() {
			res.OutageMs = float64(gap.Microseconds()) / 1e3
		}
		lastOK = done
		switch {
		case killed.IsZero() || sent.Before(killed):
			if killed.IsZero() {
				res.SteadyWrites++
				steady.Record(int64(done.Sub(sent)))
			}
		case !dead.IsZero() && !sent.Before(dead) && resumedAt.IsZero():
			resumedAt = done
			res.GapMs = float64(done.Sub(killed).Microseconds()) / 1e3
			res.DeadMs = float64(dead.Sub(killed).Microseconds()) / 1e3
			res.ResumedOn = s.addr
			res.KilledUnixMicros = killed.UnixMicro()
			event(fmt.Sprintf("first write after the kill succeeded on %s (sent at +%.3f ms)",
				s.addr, float64(sent.Sub(killed).Microseconds())/1e3))
		case !resumedAt.IsZero():
			res.WritesAfter++
		}
	}
	res.SessionResumed = res.Reconnects > 0 && !res.NewSession
	res.SteadyLatency = summarize(steady)
	if res.SteadyWrites == 0 {
		return nil, fmt.Errorf("bench: failover: no write completed in the %s before the kill", cfg.Steady)
	}
	// The client is done with the session: close it, if it is connected,
	// so that it does not linger until it expires.
	if s.nc != nil {
		if code, err := s.do(proto.OpCloseSession, nil); err != nil || code != proto.OK {
			log.Warn("close session", zap.Error(err), zap.Int32("code", int32(code)))
		}
	}
	return res, nil
}

// KillPID returns a FailoverConfig Kill that SIGKILLs pid, and a Dead that
// reports it gone: no longer in /proc, or a zombie its parent has not
// reaped yet whose other threads have exited too (the main thread of a
// multi-threaded process turns zombie before the last of its threads has
// released the process's memory and closed its sockets).
func KillPID(pid int) (kill func() error, dead func() bool) {
	kill = func() error {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill %d: %w", pid, err)
		}
		return nil
	}
	dead = func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		st, ok := procState(b)
		if ok && st != 'Z' && st != 'X' {
			return false
		}
		tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		return err != nil || len(tasks) <= 1
	}
	return kill, dead
}
