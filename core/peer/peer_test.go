package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/warrenhq/warren/core/zab"
)

const waitFor = 10 * time.Second

// recorder collects what one transport delivers and reports.
type recorder struct {
	mu     sync.Mutex
	msgs   map[int64][]zab.Message
	events map[int64][]bool
	gate   chan struct{} // when set, deliver waits until it is closed
}

func newRecorder() *recorder {
	return &recorder{msgs: map[int64][]zab.Message{}, events: map[int64][]bool{}}
}

func (r *recorder) deliver(m zab.Message) {
	r.mu.Lock()
	g := r.gate
	r.mu.Unlock()
	if g != nil {
		<-g
	}
	r.mu.Lock()
	r.msgs[m.From] = append(r.msgs[m.From], m)
	r.mu.Unlock()
}

func (r *recorder) event(ev Event) {
	r.mu.Lock()
	r.events[ev.Peer] = append(r.events[ev.Peer], ev.Connected)
	r.mu.Unlock()
}

// eventsOf returns the Connected flags of the events about peer.
func (r *recorder) eventsOf(peer int64) []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bool(nil), r.events[peer]...)
}

func (r *recorder) linked(peer int64) bool {
	ev := r.eventsOf(peer)
	return len(ev) > 0 && ev[len(ev)-1]
}

func (r *recorder) from(peer int64) []zab.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]zab.Message(nil), r.msgs[peer]...)
}

func (r *recorder) setGate(g chan struct{}) {
	r.mu.Lock()
	r.gate = g
	r.mu.Unlock()
}

type node struct {
	id   int64
	tr   *Transport
	rec  *recorder
	addr string
}

func testConfig(t *testing.T, id int64, listen string, peers map[int64]string) Config {
	return Config{
		Self:        id,
		Listen:      listen,
		Peers:       peers,
		DialTimeout: 2 * time.Second,
		MinBackoff:  5 * time.Millisecond,
		MaxBackoff:  50 * time.Millisecond,
		Logger:      zaptest.NewLogger(t, zaptest.Level(zapcore.InfoLevel)),
	}
}

// startNode creates and starts a transport; it is closed at the end of the
// test.
func startNode(t *testing.T, cfg Config) *node {
	t.Helper()
	rec := newRecorder()
	tr, err := New(cfg, rec.deliver, rec.event)
	require.NoError(t, err)
	require.NoError(t, tr.Start())
	t.Cleanup(func() {
		rec.setGate(nil)
		assert.NoError(t, tr.Close())
	})
	n := &node{id: cfg.Self, tr: tr, rec: rec}
	if a := tr.Addr(); a != nil {
		n.addr = a.String()
	}
	return n
}

// freeAddrs reserves count loopback addresses.
func freeAddrs(t testing.TB, count int) []string {
	t.Helper()
	var out []string
	for range count {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		out = append(out, ln.Addr().String())
		require.NoError(t, ln.Close())
	}
	return out
}

// startCluster starts members 1..size on reserved loopback ports, all at
// once.
func startCluster(t *testing.T, size int, mod func(*Config)) []*node {
	t.Helper()
	addrs := freeAddrs(t, size)
	cfgs := make([]Config, size)
	for i := range size {
		peers := map[int64]string{}
		for j := range size {
			if j != i {
				peers[int64(j+1)] = addrs[j]
			}
		}
		cfgs[i] = testConfig(t, int64(i+1), addrs[i], peers)
		if mod != nil {
			mod(&cfgs[i])
		}
	}
	nodes := make([]*node, size)
	trs := make([]*Transport, size)
	for i := range size {
		rec := newRecorder()
		tr, err := New(cfgs[i], rec.deliver, rec.event)
		require.NoError(t, err)
		nodes[i] = &node{id: int64(i + 1), tr: tr, rec: rec, addr: addrs[i]}
		trs[i] = tr
		t.Cleanup(func() {
			rec.setGate(nil)
			assert.NoError(t, tr.Close())
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, size)
	for i := range size {
		wg.Go(func() { errs[i] = trs[i].Start() })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	return nodes
}

// waitLinked waits until every pair of nodes has seen Connected.
func waitLinked(t *testing.T, nodes ...*node) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, a := range nodes {
			for _, b := range nodes {
				if a != b && !a.rec.linked(b.id) {
					return false
				}
			}
		}
		return true
	}, waitFor, 2*time.Millisecond)
}

func prop(from, to int64, zxid int64) zab.Message {
	return zab.Message{From: from, To: to, Body: zab.Proposal{Zxid: zxid, Txn: []byte(fmt.Sprintf("txn %d", zxid))}}
}

// sendAndWait sends one marker from a to b and waits for it.
func sendAndWait(t *testing.T, a, b *node, zxid int64) {
	t.Helper()
	require.NoError(t, a.tr.Send(prop(a.id, b.id, zxid)))
	require.Eventually(t, func() bool {
		for _, m := range b.rec.from(a.id) {
			if m.Body.(zab.Proposal).Zxid == zxid {
				return true
			}
		}
		return false
	}, waitFor, 2*time.Millisecond)
}

func TestExchangeFIFO(t *testing.T) {
	const n = 3000
	nodes := startCluster(t, 3, nil)
	waitLinked(t, nodes...)

	var wg sync.WaitGroup
	for _, a := range nodes {
		for _, b := range nodes {
			if a == b {
				continue
			}
			wg.Go(func() {
				for i := 1; i <= n; i++ {
					assert.NoError(t, a.tr.Send(prop(a.id, b.id, int64(i))))
				}
			})
		}
	}
	wg.Wait()
	for _, b := range nodes {
		for _, a := range nodes {
			if a == b {
				continue
			}
			require.Eventually(t, func() bool { return len(b.rec.from(a.id)) == n }, waitFor, 5*time.Millisecond,
				"%d -> %d", a.id, b.id)
			for i, m := range b.rec.from(a.id) {
				require.Equal(t, prop(a.id, b.id, int64(i+1)), m, "%d -> %d message %d", a.id, b.id, i)
			}
		}
	}
	for _, a := range nodes {
		st := a.tr.Stats()
		require.Len(t, st.Peers, 2)
		for id, ps := range st.Peers {
			assert.True(t, ps.Connected, "%d -> %d", a.id, id)
			assert.Equal(t, uint64(1), ps.Connects, "%d -> %d", a.id, id)
			assert.Equal(t, uint64(n), ps.Received, "%d -> %d", a.id, id)
			assert.Zero(t, ps.Dropped, "%d -> %d", a.id, id)
		}
		require.Eventually(t, func() bool {
			for _, ps := range a.tr.Stats().Peers {
				if ps.Sent != n {
					return false
				}
			}
			return true
		}, waitFor, 5*time.Millisecond)
	}
}

func TestOneConnectionPerPair(t *testing.T) {
	// Every member starts dialling at the same moment.
	nodes := startCluster(t, 4, nil)
	waitLinked(t, nodes...)
	time.Sleep(150 * time.Millisecond) // several backoff periods: no second connection appears
	for _, a := range nodes {
		for _, b := range nodes {
			if a == b {
				continue
			}
			assert.Equal(t, []bool{true}, a.rec.eventsOf(b.id), "events of %d about %d", a.id, b.id)
			assert.Equal(t, uint64(1), a.tr.Stats().Peers[b.id].Connects, "%d -> %d", a.id, b.id)
		}
		assert.Zero(t, a.tr.Stats().Refused, "member %d refused a connection", a.id)
	}
}

func TestPeerRestart(t *testing.T) {
	tests := []struct {
		name    string
		restart int // index of the member that restarts
	}{
		{"acceptor (lowest id)", 0},
		{"dialer (highest id)", 2},
		{"both roles", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes := startCluster(t, 3, nil)
			waitLinked(t, nodes...)
			old := nodes[tc.restart]
			require.NoError(t, old.tr.Close())
			require.NoError(t, old.tr.Close(), "Close is idempotent")
			for _, o := range nodes {
				if o == old {
					continue
				}
				require.Eventually(t, func() bool { return !o.rec.linked(old.id) }, waitFor, 2*time.Millisecond)
				// While it is down, messages to it are dropped and counted.
				before := o.tr.Stats().Peers[old.id].Dropped
				require.NoError(t, o.tr.Send(prop(o.id, old.id, 99)))
				assert.Equal(t, before+1, o.tr.Stats().Peers[old.id].Dropped)
			}

			peers := map[int64]string{}
			for _, o := range nodes {
				if o != old {
					peers[o.id] = o.addr
				}
			}
			fresh := startNode(t, testConfig(t, old.id, old.addr, peers))
			nodes[tc.restart] = fresh
			waitLinked(t, nodes...)
			for _, o := range nodes {
				if o == fresh {
					continue
				}
				assert.Equal(t, []bool{true, false, true}, o.rec.eventsOf(fresh.id), "events of %d", o.id)
				sendAndWait(t, o, fresh, 1000+o.id)
				sendAndWait(t, fresh, o, 2000+o.id)
				assert.Equal(t, []zab.Message{prop(o.id, fresh.id, 1000+o.id)}, fresh.rec.from(o.id),
					"nothing sent to the old incarnation reaches the new one")
			}
		})
	}
}

func TestDisconnectDropsQueue(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	a, b := nodes[0], nodes[1] // b dials a
	waitLinked(t, a, b)

	// a stops reading, so b's queue grows.
	gate := make(chan struct{})
	a.rec.setGate(gate)
	big := make([]byte, 256<<10)
	var frames, bytes int
	require.Eventually(t, func() bool {
		assert.NoError(t, b.tr.Send(zab.Message{From: 2, To: 1, Body: zab.Proposal{Zxid: 1, Txn: big}}))
		frames, bytes = b.tr.Backlog(1)
		return frames >= 5
	}, waitFor, time.Millisecond)
	assert.Greater(t, bytes, frames*len(big), "Backlog counts frame bytes")

	b.tr.Disconnect(1)
	f, by := b.tr.Backlog(1)
	assert.Zero(t, f, "the queue is dropped at once")
	assert.Zero(t, by)
	st := b.tr.Stats().Peers[1]
	assert.GreaterOrEqual(t, st.Dropped, uint64(frames))
	assert.False(t, st.Connected)
	close(gate)
	a.rec.setGate(nil)

	// The link comes back by itself and carries messages again.
	require.Eventually(t, func() bool {
		return len(b.rec.eventsOf(1)) == 3 && len(a.rec.eventsOf(2)) == 3 && b.rec.linked(1) && a.rec.linked(2)
	}, waitFor, 2*time.Millisecond)
	assert.Equal(t, []bool{true, false, true}, b.rec.eventsOf(1))
	assert.Equal(t, []bool{true, false, true}, a.rec.eventsOf(2))
	sendAndWait(t, b, a, 77)
	sendAndWait(t, a, b, 78)

	// Disconnect on the accepting side works the same way.
	a.tr.Disconnect(2)
	require.Eventually(t, func() bool { return len(a.rec.eventsOf(2)) == 5 && a.rec.linked(2) }, waitFor, 2*time.Millisecond)
	sendAndWait(t, a, b, 79)
	a.tr.Disconnect(42) // unknown: nothing happens
}

func TestSlowPeerDropped(t *testing.T) {
	nodes := startCluster(t, 2, func(c *Config) { c.QueueLimit = 20 })
	a, b := nodes[0], nodes[1]
	waitLinked(t, a, b)
	gate := make(chan struct{})
	b.rec.setGate(gate)
	big := make([]byte, 128<<10)
	require.Eventually(t, func() bool {
		assert.NoError(t, a.tr.Send(zab.Message{From: 1, To: 2, Body: zab.Proposal{Zxid: 1, Txn: big}}))
		return !a.rec.linked(2)
	}, waitFor, time.Millisecond, "a connection whose queue overflows is closed")
	assert.Positive(t, a.tr.Stats().Peers[2].Dropped)
	close(gate)
	b.rec.setGate(nil)
	require.Eventually(t, func() bool { return a.rec.linked(2) && b.rec.linked(1) && len(a.rec.eventsOf(2)) == 3 },
		waitFor, 2*time.Millisecond)
	sendAndWait(t, a, b, 5)
}

// rawFrame encodes m, failing the test on error.
func rawFrame(t *testing.T, m zab.Message) []byte {
	t.Helper()
	b, err := zab.AppendFrame(nil, m)
	require.NoError(t, err)
	return b
}

func hello(from, to int64, election bool) []byte {
	b, err := zab.AppendFrame(nil, zab.Message{From: from, To: to, Body: zab.Hello{
		ID: from, ProtocolVersion: zab.WireVersion, Election: election}})
	if err != nil {
		panic(err)
	}
	return b
}

func TestListenerRefusals(t *testing.T) {
	huge := make([]byte, zab.FrameHeaderSize)
	copy(huge, "WZ")
	huge[2], huge[3] = zab.WireVersion, byte(zab.KindHello)
	binary.BigEndian.PutUint64(huge[4:], 3)
	binary.BigEndian.PutUint64(huge[12:], 2)
	binary.BigEndian.PutUint32(huge[20:], 0xffffffff)
	otherVersion := append([]byte(nil), hello(3, 2, false)...)
	otherVersion[2] = zab.WireVersion + 1
	badCRC := append([]byte(nil), hello(3, 2, false)...)
	badCRC[len(badCRC)-1] ^= 1

	tests := []struct {
		name  string
		bytes []byte
	}{
		{"unknown id", hello(9, 2, false)},
		{"lower id must not dial", hello(1, 2, false)},
		{"own id", hello(2, 2, false)},
		{"wrong election flag", hello(3, 2, true)},
		{"addressed to another member", hello(3, 5, false)},
		{"garbage", []byte("GET / HTTP/1.0\r\n\r\n")},
		{"huge length prefix", huge},
		{"other wire version", otherVersion},
		{"bad checksum", badCRC},
		{"not a hello first", rawFrame(t, zab.Message{From: 3, To: 2, Body: zab.Ping{}})},
		{"closed mid-frame", hello(3, 2, false)[:10]},
	}

	core, logs := observer.New(zapcore.WarnLevel)
	nodes := startCluster(t, 3, func(c *Config) {
		if c.Self == 2 {
			c.Logger = zap.New(core)
		}
	})
	waitLinked(t, nodes...)
	target := nodes[1] // member 2 accepts from 3 only

	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := target.tr.Stats().Refused
			for range 2 { // the second time is logged at debug level only
				nc, err := net.Dial("tcp", target.addr)
				require.NoError(t, err)
				_, err = nc.Write(tc.bytes)
				require.NoError(t, err)
				if tc.name == "closed mid-frame" {
					require.NoError(t, nc.(*net.TCPConn).CloseWrite())
				}
				require.NoError(t, nc.SetReadDeadline(time.Now().Add(waitFor)))
				got, err := io.ReadAll(nc)
				var ne net.Error
				require.False(t, errors.As(err, &ne) && ne.Timeout(), "the listener must close the connection")
				assert.Empty(t, got, "a refused dialer gets no Hello")
				require.NoError(t, nc.Close())
			}
			require.Eventually(t, func() bool { return target.tr.Stats().Refused == before+2 }, waitFor, 2*time.Millisecond)
			// The established links are untouched.
			sendAndWait(t, nodes[2], target, int64(100+i))
			sendAndWait(t, target, nodes[0], int64(100+i))
		})
	}
	for _, n := range nodes {
		for _, o := range nodes {
			if n != o {
				assert.Equal(t, []bool{true}, n.rec.eventsOf(o.id), "events of %d about %d", n.id, o.id)
			}
		}
	}
	// One warning per reason, however often it recurs ("closed mid-frame"
	// is not worth one).
	assert.Equal(t, len(tests)-1, logs.FilterMessage("peer connection refused").Len())
}

func TestHandshakeMismatchOnDialSide(t *testing.T) {
	addrs := freeAddrs(t, 1)
	// Member 2 believes member 1 is at addrs[0], but an election port is
	// there.
	a := startNode(t, func() Config {
		c := testConfig(t, 1, addrs[0], map[int64]string{2: ""})
		c.Election = true
		return c
	}())
	b := startNode(t, testConfig(t, 2, "", map[int64]string{1: addrs[0]}))
	require.Eventually(t, func() bool { return a.tr.Stats().Refused >= 2 }, waitFor, 2*time.Millisecond,
		"the dialer keeps retrying and is refused each time")
	assert.Empty(t, a.rec.eventsOf(2))
	assert.Empty(t, b.rec.eventsOf(1))
	assert.Nil(t, b.tr.Addr(), "no listener without Config.Listen")
}

func TestSendErrors(t *testing.T) {
	addrs := freeAddrs(t, 1)
	n := startNode(t, testConfig(t, 1, addrs[0], map[int64]string{2: ""}))
	tests := []struct {
		name string
		m    zab.Message
		want error
	}{
		{"unknown peer", prop(1, 7, 1), ErrUnknownPeer},
		{"to itself", prop(1, 1, 1), ErrUnknownPeer},
		{"wrong sender", prop(3, 2, 1), nil},
		{"no body", zab.Message{From: 1, To: 2}, nil},
		{"hello", zab.Message{From: 1, To: 2, Body: zab.Hello{ID: 1}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := n.tr.Send(tc.m)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
		})
	}
	assert.Zero(t, n.tr.Stats().Peers[2].Dropped, "refused messages are not counted as dropped")

	// Not connected: accepted and dropped.
	require.NoError(t, n.tr.Send(prop(1, 2, 1)))
	assert.Equal(t, uint64(1), n.tr.Stats().Peers[2].Dropped)

	require.NoError(t, n.tr.Close())
	require.ErrorIs(t, n.tr.Send(prop(1, 2, 1)), ErrClosed)
	require.ErrorIs(t, n.tr.Start(), ErrClosed)
}

func TestNewValidates(t *testing.T) {
	nop := func(zab.Message) {}
	tests := []struct {
		name    string
		cfg     Config
		deliver func(zab.Message)
	}{
		{"nil deliver", Config{Self: 1}, nil},
		{"self in peers", Config{Self: 1, Peers: map[int64]string{1: "x:1"}}, nop},
		{"lower id without address", Config{Self: 2, Peers: map[int64]string{1: ""}}, nop},
		{"frame limit too large", Config{Self: 1, MaxFrame: zab.MaxFrameSize + 1}, nop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, tc.deliver, nil)
			require.Error(t, err)
		})
	}
	tr, err := New(Config{Self: 1, Peers: map[int64]string{2: ""}}, nop, nil)
	require.NoError(t, err)
	assert.Equal(t, zab.MaxFrameSize, tr.cfg.MaxFrame)
	assert.Equal(t, DefaultQueueLimit, tr.cfg.QueueLimit)
	assert.Equal(t, DefaultMinBackoff, tr.cfg.MinBackoff)
	require.NoError(t, tr.Start())
	require.Error(t, tr.Start(), "Start twice")
	require.NoError(t, tr.Close())
}

func TestSetPeers(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	a, b := nodes[0], nodes[1]
	waitLinked(t, a, b)

	// Member 3 joins: the others learn of it, and it dials them.
	addr3 := freeAddrs(t, 1)[0]
	require.NoError(t, a.tr.SetPeers(map[int64]string{2: "", 3: ""}, 5))
	require.NoError(t, b.tr.SetPeers(map[int64]string{1: a.addr, 3: ""}, 5))
	c := startNode(t, testConfig(t, 3, addr3, map[int64]string{1: a.addr, 2: b.addr}))
	waitLinked(t, a, b, c)
	sendAndWait(t, c, a, 1)
	sendAndWait(t, a, c, 2)

	// Member 3 leaves member 1's configuration: the link drops and member
	// 3's redials are refused.
	require.NoError(t, a.tr.SetPeers(map[int64]string{2: ""}, 6))
	require.Eventually(t, func() bool { return !a.rec.linked(3) && !c.rec.linked(1) }, waitFor, 2*time.Millisecond)
	require.Eventually(t, func() bool { return a.tr.Stats().Refused > 0 }, waitFor, 2*time.Millisecond)
	require.ErrorIs(t, a.tr.Send(prop(1, 3, 3)), ErrUnknownPeer)
	_, known := a.tr.Stats().Peers[3]
	assert.False(t, known)
	sendAndWait(t, b, a, 4) // other links unaffected
	assert.Equal(t, []bool{true}, a.rec.eventsOf(2))
}

func TestCloseStopsGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		addrs := freeAddrs(t, 3)
		var trs []*Transport
		for i := range 3 {
			peers := map[int64]string{}
			for j := range 3 {
				if j != i {
					peers[int64(j+1)] = addrs[j]
				}
			}
			rec := newRecorder()
			tr, err := New(testConfig(t, int64(i+1), addrs[i], peers), rec.deliver, rec.event)
			require.NoError(t, err)
			require.NoError(t, tr.Start())
			trs = append(trs, tr)
		}
		// A connection stuck in its handshake must not keep Close waiting.
		nc, err := net.Dial("tcp", addrs[0])
		require.NoError(t, err)
		defer func() { _ = nc.Close() }()
		require.Eventually(t, func() bool {
			for _, tr := range trs {
				for _, ps := range tr.Stats().Peers {
					if !ps.Connected {
						return false
					}
				}
			}
			return true
		}, waitFor, 2*time.Millisecond)
		for i, tr := range trs {
			for j := range 3 {
				if j != i {
					require.NoError(t, tr.Send(prop(int64(i+1), int64(j+1), 1)))
				}
			}
		}
		start := time.Now()
		for _, tr := range trs {
			require.NoError(t, tr.Close())
		}
		assert.Less(t, time.Since(start), time.Second, "Close does not wait for handshake deadlines")
	}()
	// Polled rather than checked at once: a goroutine that has signalled
	// its end to Close may not have returned yet. (Polled here, not with
	// Eventually, whose own goroutines would count.)
	left := runtime.NumGoroutine()
	for deadline := time.Now().Add(waitFor); left > base && time.Now().Before(deadline); left = runtime.NumGoroutine() {
		time.Sleep(5 * time.Millisecond)
	}
	require.LessOrEqual(t, left, base, "goroutines left after Close")
}

func TestCloseWaitsForCallbacks(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	a, b := nodes[0], nodes[1]
	waitLinked(t, a, b)
	gate := make(chan struct{})
	a.rec.setGate(gate)
	require.NoError(t, b.tr.Send(prop(2, 1, 1)))
	require.Eventually(t, func() bool { return a.tr.Stats().Peers[2].Received == 1 }, waitFor, time.Millisecond,
		"deliver is in progress")

	closed := make(chan struct{})
	go func() {
		assert.NoError(t, a.tr.Close())
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while deliver was in progress")
	case <-time.After(50 * time.Millisecond):
	}
	evs := len(a.rec.eventsOf(2))
	close(gate)
	select {
	case <-closed:
	case <-time.After(waitFor):
		t.Fatal("Close did not return after deliver did")
	}
	require.Len(t, a.rec.from(2), 1, "the delivery in progress completed")
	assert.Len(t, a.rec.eventsOf(2), evs, "no Disconnected event once Close has begun")
	require.Eventually(t, func() bool { return !b.rec.linked(1) }, waitFor, time.Millisecond, "the peer saw the link close")
}

func TestNewerConnectionReplacesOlder(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	waitLinked(t, nodes...)
	one, three := nodes[0], nodes[2]

	// Something speaking for member 3 (member 3 restarted while member 1
	// still holds the old link, say) dials member 1: the newer connection
	// wins.
	nc, err := net.Dial("tcp", one.addr)
	require.NoError(t, err)
	defer func() { _ = nc.Close() }()
	_, err = nc.Write(hello(3, 1, false))
	require.NoError(t, err)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(waitFor)))
	m, err := zab.ReadFrame(nc, 0)
	require.NoError(t, err)
	require.Equal(t, zab.Message{From: 1, To: 3, Body: zab.Hello{ID: 1, ProtocolVersion: zab.WireVersion}}, m)
	_, err = nc.Write(rawFrame(t, prop(3, 1, 500)))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		msgs := one.rec.from(3)
		return len(msgs) > 0 && msgs[len(msgs)-1].Body.(zab.Proposal).Zxid == 500
	}, waitFor, time.Millisecond)
	ev := one.rec.eventsOf(3)
	require.GreaterOrEqual(t, len(ev), 3)
	assert.Equal(t, []bool{true, false, true}, ev[:3], "the old link ends before the new one starts")

	// The real member 3 lost its link, redials and replaces the impostor,
	// whose connection is closed.
	require.Eventually(t, func() bool { return len(three.rec.eventsOf(1)) >= 3 && three.rec.linked(1) }, waitFor, time.Millisecond)
	_, err = zab.ReadFrame(nc, 0)
	require.ErrorIs(t, err, io.EOF)
	require.Eventually(t, func() bool { return one.rec.linked(3) }, waitFor, time.Millisecond)
	sendAndWait(t, three, one, 501)
	sendAndWait(t, one, three, 502)
	ev = one.rec.eventsOf(3)
	for i, c := range ev {
		assert.Equal(t, i%2 == 0, c, "events alternate: %v", ev)
	}
	assert.Equal(t, []bool{true}, one.rec.eventsOf(2), "member 2's link is untouched")
}

func TestMisaddressedFrameDropsConnection(t *testing.T) {
	tests := []struct {
		name string
		m    zab.Message
	}{
		{"from another member", prop(2, 1, 1)},
		{"to another member", prop(3, 2, 1)},
		{"second hello", zab.Message{From: 3, To: 1, Body: zab.Hello{ID: 3, ProtocolVersion: zab.WireVersion}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addrs := freeAddrs(t, 1)
			one := startNode(t, testConfig(t, 1, addrs[0], map[int64]string{2: "", 3: ""}))
			nc, err := net.Dial("tcp", one.addr)
			require.NoError(t, err)
			defer func() { _ = nc.Close() }()
			_, err = nc.Write(hello(3, 1, false))
			require.NoError(t, err)
			require.NoError(t, nc.SetReadDeadline(time.Now().Add(waitFor)))
			_, err = zab.ReadFrame(nc, 0)
			require.NoError(t, err)
			_, err = nc.Write(append(rawFrame(t, prop(3, 1, 7)), rawFrame(t, tc.m)...))
			require.NoError(t, err)
			_, err = zab.ReadFrame(nc, 0)
			require.ErrorIs(t, err, io.EOF, "member 1 closes the connection")
			require.Eventually(t, func() bool { return len(one.rec.eventsOf(3)) == 2 }, waitFor, time.Millisecond)
			assert.Equal(t, []bool{true, false}, one.rec.eventsOf(3))
			assert.Equal(t, []zab.Message{prop(3, 1, 7)}, one.rec.from(3), "only the well-addressed frame is delivered")
		})
	}
}

// ZOOKEEPER-2355: a connection that breaks anywhere inside a frame (here a
// closeSession proposal) delivers nothing of it: the member sees the link
// go down, never a partial or garbled message, and the next connection
// works.
func TestConnectionCutInsideAFrame(t *testing.T) {
	addrs := freeAddrs(t, 1)
	one := startNode(t, testConfig(t, 1, addrs[0], map[int64]string{3: ""}))
	whole := rawFrame(t, zab.Message{From: 3, To: 1, Body: zab.Proposal{Zxid: zab.MakeZxid(1, 9), Txn: []byte("closeSession txn bytes")}})
	for cut := 0; cut < len(whole); cut++ {
		nc, err := net.Dial("tcp", one.addr)
		require.NoError(t, err)
		_, err = nc.Write(hello(3, 1, false))
		require.NoError(t, err)
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(waitFor)))
		_, err = zab.ReadFrame(nc, 0)
		require.NoError(t, err)
		_, err = nc.Write(whole[:cut])
		require.NoError(t, err)
		require.NoError(t, nc.Close())
		want := 2 * (cut + 1)
		require.Eventually(t, func() bool { return len(one.rec.eventsOf(3)) == want }, waitFor, time.Millisecond,
			"cut at byte %d: connected then disconnected", cut)
	}
	assert.Empty(t, one.rec.from(3), "no partial frame was ever delivered")
}
