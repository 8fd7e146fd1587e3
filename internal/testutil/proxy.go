package testutil

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP relay on 127.0.0.1 between clients and a server that a
// test can cut (close every relayed connection), pause (hold the bytes the
// server sends to clients), make refuse new connections, and use to inject
// bytes into the clients' streams. Tests use it to lose connections and
// replies at chosen moments.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	links  []*proxyLink
	paused bool
	refuse bool
	resume chan struct{} // closed to release relays held by Pause
}

type proxyLink struct {
	client, server net.Conn
	wmu            sync.Mutex // serialises writes to client
}

// StartProxy listens on a free loopback port and relays every connection
// it accepts to target. The test's cleanup closes the listener and cuts the
// relayed connections.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target, resume: make(chan struct{})}
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Close stops accepting connections and cuts the relayed ones.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.Cut()
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			_ = c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		l := &proxyLink{client: c, server: s}
		p.mu.Lock()
		p.links = append(p.links, l)
		p.mu.Unlock()
		go func() {
			_, _ = io.Copy(s, c)
			_ = s.Close()
		}()
		go p.serverToClient(l)
	}
}

func (p *Proxy) serverToClient(l *proxyLink) {
	buf := make([]byte, 32<<10)
	for {
		n, err := l.server.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.resume
			paused := p.paused
			p.mu.Unlock()
			if paused {
				<-gate
			}
			l.wmu.Lock()
			_, werr := l.client.Write(buf[:n])
			l.wmu.Unlock()
			if werr != nil {
				_ = l.server.Close()
				return
			}
		}
		if err != nil {
			_ = l.client.Close()
			return
		}
	}
}

// Cut closes every relayed connection; new connections are relayed again
// (unless refused). Bytes held by Pause are dropped, not delivered: the
// connections are closed before the held relays are released, so a test
// can hold a reply and then lose it with the connection.
func (p *Proxy) Cut() {
	p.mu.Lock()
	links := p.links
	p.links = nil
	p.mu.Unlock()
	for _, l := range links {
		_ = l.client.Close()
		_ = l.server.Close()
	}
	p.Unpause()
}

// Pause holds server-to-client bytes until Unpause or Cut. Client-to-server
// bytes still flow.
func (p *Proxy) Pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

// Unpause delivers the held bytes and relays normally again.
func (p *Proxy) Unpause() {
	p.mu.Lock()
	if p.paused {
		p.paused = false
		close(p.resume)
		p.resume = make(chan struct{})
	}
	p.mu.Unlock()
}

// Inject writes b to every relayed client connection, between whole
// writes of the server's bytes.
func (p *Proxy) Inject(b []byte) {
	p.mu.Lock()
	links := append([]*proxyLink(nil), p.links...)
	p.mu.Unlock()
	for _, l := range links {
		l.wmu.Lock()
		_, _ = l.client.Write(b)
		l.wmu.Unlock()
	}
}

// Refuse makes the proxy close new connections at once (existing ones are
// kept; Cut them to keep clients away from the server).
func (p *Proxy) Refuse() {
	p.mu.Lock()
	p.refuse = true
	p.mu.Unlock()
}

// Accept makes the proxy relay new connections again after Refuse.
func (p *Proxy) Accept() {
	p.mu.Lock()
	p.refuse = false
	p.mu.Unlock()
}
