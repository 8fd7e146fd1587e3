package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gozk "github.com/go-zookeeper/zk"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/sdk"
)

// Client names the client library a run drives the server with.
type Client string

// The clients.
const (
	// ClientSDK is Warren's Go client (package sdk): --inflight goroutines
	// per connection issue synchronous calls on one shared sdk.Conn, which
	// pipelines them.
	ClientSDK Client = "sdk"
	// ClientGoZK is github.com/go-zookeeper/zk, driven the same way.
	ClientGoZK Client = "go-zookeeper"
	// ClientRaw is the bench's own protocol-level client (Conn): one
	// goroutine per connection keeps --inflight requests outstanding,
	// encoding them straight into its write buffer.
	ClientRaw Client = "raw"
)

// Clients lists every client, the default first.
var Clients = []Client{ClientSDK, ClientGoZK, ClientRaw}

func clientNames() string {
	s := make([]string, len(Clients))
	for i, c := range Clients {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// driver is the client side of one run: its sessions and the lanes that
// issue requests on them. A lane is an independent stream of requests with
// its own generator and recorder: one per raw connection (which keeps
// InFlight requests outstanding by itself), or one per goroutine calling a
// shared sdk or go-zookeeper session (InFlight of them per session).
type driver interface {
	// lanes is the number of lanes.
	lanes() int
	// run drives lane i with gens[i] into recs[i], for the first
	// len(gens) lanes concurrently, until every generator is exhausted. It
	// fails only when a session is lost for good or ctx ends; error codes
	// in replies are the recorders' business.
	run(ctx context.Context, gens []reqGen, recs []*Recorder) error
	// syncAll issues one sync of path on every session and fails if one
	// fails.
	syncAll(ctx context.Context, path string) error
	// close ends every session.
	close() error
}

// dialDriver opens cfg.Conns sessions with cfg.Client, connection i to
// member i modulo the number of servers listed.
func dialDriver(ctx context.Context, cfg Config, base time.Time) (driver, error) {
	addrs := strings.Split(cfg.Server, ",")
	if cfg.Client == ClientRaw {
		d := &rawDriver{}
		for i := range cfg.Conns {
			addr := addrs[i%len(addrs)]
			c, err := Dial(ctx, addr, ConnOptions{InFlight: cfg.InFlight, SessionTimeout: cfg.SessionTimeout, Base: base})
			if err != nil {
				_ = d.close()
				return nil, fmt.Errorf("bench: connection %d to %s: %w", i, addr, err)
			}
			d.conns = append(d.conns, c)
		}
		return d, nil
	}
	d := &callDriver{base: base, perSession: cfg.InFlight}
	for i := range cfg.Conns {
		addr := addrs[i%len(addrs)]
		var s session
		var err error
		switch cfg.Client {
		case ClientSDK:
			s, err = dialSDK(ctx, addr, cfg.SessionTimeout)
		case ClientGoZK:
			s, err = dialGoZK(ctx, addr, cfg.SessionTimeout)
		default:
			err = fmt.Errorf("unknown client %q", cfg.Client)
		}
		if err != nil {
			_ = d.close()
			return nil, fmt.Errorf("bench: connection %d to %s: %w", i, addr, err)
		}
		d.sessions = append(d.sessions, s)
	}
	return d, nil
}

// rawDriver drives the raw client: one lane per connection.
type rawDriver struct {
	conns []*Conn
}

func (d *rawDriver) lanes() int { return len(d.conns) }

func (d *rawDriver) run(ctx context.Context, gens []reqGen, recs []*Recorder) error {
	errs := make([]error, len(gens))
	var wg sync.WaitGroup
	for i := range gens {
		wg.Go(func() { errs[i] = d.conns[i].Do(ctx, rawGen{gens[i]}, recs[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

func (d *rawDriver) syncAll(ctx context.Context, path string) error {
	gens := make([]reqGen, len(d.conns))
	recs := make([]*Recorder, len(d.conns))
	for i := range d.conns {
		recs[i] = NewRecorder(0, 1<<62, -1)
		gens[i] = &listGen{next: new(atomic.Int64), n: 1, op: proto.OpSync, path: func(int64) string { return path }}
	}
	if err := d.run(ctx, gens, recs); err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.Errors > 0 {
			return errors.New(rec.FirstError)
		}
	}
	return nil
}

func (d *rawDriver) close() error {
	var errs []error
	for _, c := range d.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// session is one session of a synchronous client, shared by the lanes
// that call it.
type session interface {
	// call issues req and waits for its reply. It returns the reply's
	// code (OK, a ZooKeeper error, or ConnectionLoss when the client lost
	// the connection under the call) and, for a successful getData, the
	// size of the reply body the data makes (as the raw client sees it).
	// An error means the session is unusable (closed or expired) or ctx
	// ended.
	call(ctx context.Context, req request) (code proto.Code, getBody int, err error)
	close() error
}

// callDriver drives sdk or go-zookeeper sessions: perSession goroutines
// per session, lane i on session i modulo their number.
type callDriver struct {
	base       time.Time
	sessions   []session
	perSession int
}

func (d *callDriver) lanes() int { return len(d.sessions) * d.perSession }

func (d *callDriver) run(parent context.Context, gens []reqGen, recs []*Recorder) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	errs := make([]error, len(gens))
	var wg sync.WaitGroup
	for i := range gens {
		s := d.sessions[i%len(d.sessions)]
		wg.Go(func() {
			if errs[i] = d.lane(ctx, s, gens[i], recs[i]); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		// A lane stopped by another's failure reports the cancellation.
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return parent.Err()
}

// lane issues gen's requests one after the other on s.
func (d *callDriver) lane(ctx context.Context, s session, gen reqGen, rec *Recorder) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Since(d.base)
		req, ok := gen.nextReq(start)
		if !ok {
			return nil
		}
		code, body, err := s.call(ctx, req)
		if err != nil {
			return err
		}
		rec.observe(req.op, code, time.Since(d.base)-start, start, body)
	}
}

func (d *callDriver) syncAll(ctx context.Context, path string) error {
	errs := make([]error, len(d.sessions))
	var wg sync.WaitGroup
	for i, s := range d.sessions {
		wg.Go(func() {
			code, _, err := s.call(ctx, request{op: proto.OpSync, path: path})
			if err == nil && code != proto.OK {
				err = code
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (d *callDriver) close() error {
	var errs []error
	for _, s := range d.sessions {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// sdkSession is a session of Warren's Go client.
type sdkSession struct{ c *sdk.Conn }

func dialSDK(ctx context.Context, addr string, timeout time.Duration) (*sdkSession, error) {
	c, err := sdk.Connect(ctx, addr, sdk.WithSessionTimeout(timeout), sdk.WithoutShuffle())
	if err != nil {
		return nil, err
	}
	return &sdkSession{c: c}, nil
}

func (s *sdkSession) call(ctx context.Context, req request) (proto.Code, int, error) {
	var err error
	body := -1
	switch req.op {
	case proto.OpCreate:
		_, _, err = s.c.Create(ctx, req.path, req.data, sdk.CreateOptions{})
	case proto.OpDelete:
		err = s.c.Delete(ctx, req.path, -1)
	case proto.OpSetData:
		_, err = s.c.Set(ctx, req.path, req.data, -1)
	case proto.OpSync:
		err = s.c.Sync(ctx, req.path)
	default:
		var data []byte
		data, _, err = s.c.Get(ctx, req.path)
		body = getBodyLen(len(data))
	}
	if err == nil {
		return proto.OK, body, nil
	}
	var code proto.Code
	if errors.As(err, &code) && code != proto.ErrSessionExpired {
		return code, body, nil
	}
	return 0, body, fmt.Errorf("bench: sdk: %w", err)
}

func (s *sdkSession) close() error { return s.c.Close() }

// goZKSession is a session of github.com/go-zookeeper/zk. Its calls take
// no context: one in flight when ctx ends runs to its reply.
type goZKSession struct {
	c *gozk.Conn
	// closed is set by close: go-zookeeper then fails every call with the
	// ErrConnectionClosed it also returns for a transient loss.
	closed atomic.Bool
}

// goZKCodes maps go-zookeeper's errors back to the protocol's codes.
var goZKCodes = map[error]proto.Code{
	gozk.ErrConnectionClosed:        proto.ErrConnectionLoss,
	gozk.ErrAPIError:                proto.ErrAPIError,
	gozk.ErrNoNode:                  proto.ErrNoNode,
	gozk.ErrNoAuth:                  proto.ErrNoAuth,
	gozk.ErrBadVersion:              proto.ErrBadVersion,
	gozk.ErrNoChildrenForEphemerals: proto.ErrNoChildrenForEphemerals,
	gozk.ErrNodeExists:              proto.ErrNodeExists,
	gozk.ErrNotEmpty:                proto.ErrNotEmpty,
	gozk.ErrInvalidACL:              proto.ErrInvalidACL,
	gozk.ErrAuthFailed:              proto.ErrAuthFailed,
	gozk.ErrSessionMoved:            proto.ErrSessionMoved,
	gozk.ErrBadArguments:            proto.ErrBadArguments,
	gozk.ErrUnknown:                 proto.ErrSystemError,
}

// nopLogger silences go-zookeeper.
type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func dialGoZK(ctx context.Context, addr string, timeout time.Duration) (*goZKSession, error) {
	c, events, err := gozk.Connect([]string{addr}, timeout, gozk.WithLogger(nopLogger{}))
	if err != nil {
		return nil, fmt.Errorf("go-zookeeper: %w", err)
	}
	// Connect returns at once; the session exists at StateHasSession.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		select {
		case ev := <-events:
			switch ev.State {
			case gozk.StateHasSession:
				go func() { // events are dropped when nobody reads them; read them anyway
					for range events {
					}
				}()
				return &goZKSession{c: c}, nil
			case gozk.StateExpired, gozk.StateAuthFailed:
				c.Close()
				return nil, fmt.Errorf("go-zookeeper: %s", ev.State)
			}
		case <-ctx.Done():
			c.Close()
			return nil, fmt.Errorf("go-zookeeper: no session: %w", ctx.Err())
		}
	}
}

func (s *goZKSession) call(ctx context.Context, req request) (proto.Code, int, error) {
	var err error
	body := -1
	switch req.op {
	case proto.OpCreate:
		_, err = s.c.Create(req.path, req.data, 0, gozk.WorldACL(gozk.PermAll))
	case proto.OpDelete:
		err = s.c.Delete(req.path, -1)
	case proto.OpSetData:
		_, err = s.c.Set(req.path, req.data, -1)
	case proto.OpSync:
		_, err = s.c.Sync(req.path)
	default:
		var data []byte
		data, _, err = s.c.Get(req.path)
		body = getBodyLen(len(data))
	}
	if err == nil {
		return proto.OK, body, nil
	}
	if code, ok := goZKCodes[err]; ok {
		switch {
		case code != proto.ErrConnectionLoss:
		case s.closed.Load():
			return 0, body, fmt.Errorf("bench: go-zookeeper: session closed: %w", err)
		case ctx.Err() != nil:
			return 0, body, ctx.Err()
		}
		return code, body, nil
	}
	return 0, body, fmt.Errorf("bench: go-zookeeper: %w", err)
}

func (s *goZKSession) close() error {
	s.closed.Store(true)
	s.c.Close()
	return nil
}
