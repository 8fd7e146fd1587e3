package ensemble_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"
)

// Client-side helpers shared by the tests.

const (
	// connectTimeout bounds how long a new client may take to get a session.
	connectTimeout = 20 * time.Second
	// longSession is a session timeout far beyond any failover in a test,
	// so a session must survive every fault the tests inject.
	longSession = 30 * time.Second
)

var openACL = zk.WorldACL(zk.PermAll)

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// orderedHosts is a go-zookeeper HostProvider that tries its addresses in
// the given order, cycling, with a short pause after each full round (the
// default provider shuffles them and waits a second per round). A test
// thereby decides which member a client talks to first and where it goes
// when that member fails.
type orderedHosts struct {
	mu    sync.Mutex
	addrs []string
	next  int
}

func (h *orderedHosts) Init([]string) error { return nil }
func (h *orderedHosts) Len() int            { return len(h.addrs) }
func (h *orderedHosts) Connected()          {}
func (h *orderedHosts) Next() (string, bool) {
	h.mu.Lock()
	i := h.next
	h.next++
	h.mu.Unlock()
	if i > 0 && i%len(h.addrs) == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	return h.addrs[i%len(h.addrs)], i > 0 && i%len(h.addrs) == 0
}

// dial connects a client to addrs (tried in order) with the given session
// timeout and waits for its session. The client is closed at cleanup.
func dial(t testing.TB, timeout time.Duration, addrs ...string) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	conn, events, err := zk.Connect(addrs, timeout,
		zk.WithHostProvider(&orderedHosts{addrs: addrs}), zk.WithLogger(nopLogger{}))
	require.NoError(t, err, "connect to %v", addrs)
	t.Cleanup(conn.Close)
	require.NoError(t, waitSession(conn, connectTimeout), "connect to %v", addrs)
	return conn, events
}

// waitSession waits until conn has a session.
func waitSession(conn *zk.Conn, d time.Duration) error {
	deadline := time.Now().Add(d)
	for conn.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			return fmt.Errorf("no session within %v (state %v)", d, conn.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// syncedGet syncs conn's member with the leader, then reads path: the
// read then reflects every write committed before the sync.
func syncedGet(conn *zk.Conn, path string) ([]byte, *zk.Stat, error) {
	if _, err := conn.Sync(path); err != nil {
		return nil, nil, fmt.Errorf("sync %s: %w", path, err)
	}
	data, stat, err := conn.Get(path)
	if err != nil {
		return nil, nil, fmt.Errorf("get %s: %w", path, err)
	}
	return data, stat, nil
}

// syncedExists is syncedGet for exists.
func syncedExists(conn *zk.Conn, path string) (bool, *zk.Stat, error) {
	if _, err := conn.Sync(path); err != nil {
		return false, nil, fmt.Errorf("sync %s: %w", path, err)
	}
	ok, stat, err := conn.Exists(path)
	if err != nil {
		return false, nil, fmt.Errorf("exists %s: %w", path, err)
	}
	return ok, stat, nil
}

// cutProxy forwards connections to one backend until cut, after which it
// refuses new connections and has closed every open one: a client behind
// it is cut off from the ensemble without closing its session.
type cutProxy struct {
	ln      net.Listener
	backend string

	mu    sync.Mutex
	conns []net.Conn
	cut   bool
}

func newCutProxy(t testing.TB, backend string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, backend: backend}
	go p.accept()
	t.Cleanup(p.Cut)
	return p
}

func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

func (p *cutProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.DialTimeout("tcp", p.backend, time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go pipe(c, s)
		go pipe(s, c)
	}
}

func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// Cut closes the listener and every connection.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return
	}
	p.cut = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

// eventually polls f every 50 ms until it returns nil or d passes, and
// returns the last error.
func eventually(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isNoNode reports a NONODE reply, possibly wrapped.
func isNoNode(err error) bool { return errors.Is(err, zk.ErrNoNode) }
