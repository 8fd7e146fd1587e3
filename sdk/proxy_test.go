package sdk_test

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// proxy is a TCP relay between the client and a server that a test can cut,
// pause (server-to-client bytes are held) and inject bytes into.
type proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	links  []*link
	paused bool
	refuse bool
	resume chan struct{}
}

type link struct {
	client, server net.Conn
	wmu            sync.Mutex // serialises writes to client
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: target, resume: make(chan struct{})}
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
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
		l := &link{client: c, server: s}
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

func (p *proxy) serverToClient(l *link) {
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

// cut closes every relayed connection.
func (p *proxy) cut() {
	p.mu.Lock()
	links := p.links
	p.links = nil
	p.mu.Unlock()
	// Close before releasing a paused relay, so that bytes held back are
	// dropped with the connection instead of reaching the client.
	for _, l := range links {
		_ = l.client.Close()
		_ = l.server.Close()
	}
	p.mu.Lock()
	if p.paused {
		p.paused = false
		close(p.resume)
		p.resume = make(chan struct{})
	}
	p.mu.Unlock()
}

// pause holds server-to-client bytes until unpause or cut.
func (p *proxy) pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

func (p *proxy) unpause() {
	p.mu.Lock()
	if p.paused {
		p.paused = false
		close(p.resume)
		p.resume = make(chan struct{})
	}
	p.mu.Unlock()
}

// inject writes raw bytes to every client connection.
func (p *proxy) inject(b []byte) {
	p.mu.Lock()
	links := append([]*link(nil), p.links...)
	p.mu.Unlock()
	for _, l := range links {
		l.wmu.Lock()
		_, _ = l.client.Write(b)
		l.wmu.Unlock()
	}
}

// setRefuse makes the proxy close new connections at once (true) or relay
// them again (false).
func (p *proxy) setRefuse(on bool) {
	p.mu.Lock()
	p.refuse = on
	p.mu.Unlock()
}
