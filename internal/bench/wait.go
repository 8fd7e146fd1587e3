package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenhq/warren/core/proto"
)

// WaitConfig describes WaitForGet: poll a server that is starting until a
// getData of one znode succeeds. Zero fields take the defaults shown.
type WaitConfig struct {
	// Server is the host:port of the ZooKeeper-protocol server.
	Server string
	// Path is the znode to read.
	Path string
	// ValueSize, if positive, is the data length the reply must carry.
	ValueSize int
	// Poll is the time from the start of one attempt to the start of the
	// next (default 10 ms); a slower attempt is followed at once.
	Poll time.Duration
	// Timeout bounds the whole wait (default 120 s).
	Timeout time.Duration
	// AttemptTimeout bounds one attempt: TCP connect, handshake and the
	// getData (default 1 s). Attempts overlap, so it limits only how many
	// are outstanding at once (about AttemptTimeout/Poll).
	AttemptTimeout time.Duration
}

// WaitResult is the outcome of a successful WaitForGet.
type WaitResult struct {
	Server string `json:"server"`
	Path   string `json:"path"`
	// Attempts counts the connection attempts started, the successful one
	// included.
	Attempts int `json:"attempts"`
	// ReadyUnixMicros is the wall-clock time the successful reply arrived,
	// in microseconds since the Unix epoch, so that a caller can measure
	// from an event of its own (the exec of the server) without counting
	// this process's start or exit.
	ReadyUnixMicros int64 `json:"ready_unix_us"`
	// Seconds is the time from the start of the wait to the reply.
	Seconds float64 `json:"seconds"`
	// LastError is why the last failed attempt before the successful one
	// failed.
	LastError string `json:"last_error,omitempty"`
}

// ErrWaitTimeout reports a server that never answered the getData within
// WaitConfig.Timeout.
var ErrWaitTimeout = errors.New("bench: server did not answer in time")

// WaitForGet starts a fresh connection attempt (TCP connect, session
// handshake, one getData of Path) every Poll until one succeeds with a
// reply of ValueSize bytes of data: a server that answers it has loaded its
// state at least up to that znode, not merely opened its port. Attempts
// overlap: a new one starts every Poll whatever the earlier ones are doing,
// so a connection the server holds unanswered while it loads (ZooKeeper
// listens before it serves, and does not answer a handshake it received
// then) delays nothing. Connection failures, refused sessions, error
// replies (ZNONODE while the server is still loading), short data and
// attempts that outlast AttemptTimeout all count as "not yet".
func WaitForGet(ctx context.Context, cfg WaitConfig) (*WaitResult, error) {
	if cfg.Server == "" {
		cfg.Server = "127.0.0.1:2181"
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 10 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 120 * time.Second
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = time.Second
	}
	if len(cfg.Path) < 2 || cfg.Path[0] != '/' {
		return nil, fmt.Errorf("bench: wait path %q must be an absolute znode path other than /", cfg.Path)
	}
	start := time.Now()
	parent := ctx
	deadline := start.Add(cfg.Timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	type outcome struct {
		ready time.Time
		err   error
	}
	outcomes := make(chan outcome)
	var wg sync.WaitGroup
	pending := 0
	res := &WaitResult{Server: cfg.Server, Path: cfg.Path}
	var last error
	var ready time.Time
	t := time.NewTimer(0)
	defer t.Stop()
	next := start
loop:
	for {
		select {
		case <-t.C:
			res.Attempts++
			pending++
			wg.Go(func() {
				r, err := getOnce(ctx, cfg)
				outcomes <- outcome{ready: r, err: err}
			})
			next = next.Add(cfg.Poll)
			if now := time.Now(); next.Before(now) {
				next = now
			}
			t.Reset(time.Until(next))
		case o := <-outcomes:
			pending--
			if o.err == nil {
				ready = o.ready
				break loop
			}
			// An attempt cut short by the end of the wait says nothing
			// about the server: keep the reason an earlier one failed.
			if last == nil || ctx.Err() == nil && time.Now().Before(deadline) {
				last = o.err
			}
		case <-ctx.Done():
			break loop
		}
	}
	// Stop the other attempts and collect them.
	cancel()
	for ; pending > 0; pending-- {
		<-outcomes
	}
	wg.Wait()
	if !ready.IsZero() {
		res.ReadyUnixMicros = ready.UnixMicro()
		res.Seconds = ready.Sub(start).Seconds()
		if last != nil {
			res.LastError = last.Error()
		}
		return res, nil
	}
	if err := parent.Err(); err != nil {
		return nil, fmt.Errorf("bench: wait for %s on %s: %w", cfg.Path, cfg.Server, err)
	}
	return nil, fmt.Errorf("%w: no getData of %s succeeded on %s within %s (%d attempts; last: %v)",
		ErrWaitTimeout, cfg.Path, cfg.Server, cfg.Timeout, res.Attempts, last)
}

// getOnce dials, reads cfg.Path once and returns when the reply arrived.
func getOnce(ctx context.Context, cfg WaitConfig) (time.Time, error) {
	actx, cancel := context.WithTimeout(ctx, cfg.AttemptTimeout)
	defer cancel()
	c, err := Dial(actx, cfg.Server, ConnOptions{InFlight: 1, DialTimeout: cfg.AttemptTimeout})
	if err != nil {
		return time.Time{}, err
	}
	defer c.Close()
	bodyLen := -1
	if cfg.ValueSize > 0 {
		bodyLen = getBodyLen(cfg.ValueSize)
	}
	rec := NewRecorder(0, 1<<62, bodyLen)
	var next atomic.Int64
	gen := &listGen{next: &next, n: 1, op: proto.OpGetData, path: func(int64) string { return cfg.Path }}
	// Do waits for the reply unless the connection dies; closing the
	// connection when the attempt times out makes it return.
	stop := context.AfterFunc(actx, func() { _ = c.nc.Close() })
	err = c.Do(actx, gen, rec)
	ready := time.Now()
	stop()
	switch {
	case err != nil:
		return time.Time{}, err
	case rec.Errors > 0:
		return time.Time{}, fmt.Errorf("bench: %s", rec.FirstError)
	case rec.Ops != 1:
		return time.Time{}, fmt.Errorf("bench: no reply to getData %s", cfg.Path)
	}
	return ready, nil
}
