package recipe_test

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// lkProxy (a copy of sdk/proxy_test.go's proxy) is a TCP relay between
// the client and a server that a test can cut, pause (server-to-client
// bytes are held) and refuse new connections on.
type lkProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	links  []*lkLink
	paused bool
	refuse bool
	resume chan struct{}
}

type lkLink struct {
	client, server net.Conn
	wmu            sync.Mutex // serialises writes to client
}

func lkStartProxy(t *testing.T, target string) *lkProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &lkProxy{ln: ln, target: target, resume: make(chan struct{})}
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
	})
	return p
}

func (p *lkProxy) addr() string { return p.ln.Addr().String() }

func (p *lkProxy) accept() {
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
		l := &lkLink{client: c, server: s}
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

func (p *lkProxy) serverToClient(l *lkLink) {
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

// cut closes every relayed connection. Held bytes are dropped: the
// connections are closed before the relays are released (sdk's copy
// releases them first, so a held reply can still reach the client).
func (p *lkProxy) cut() {
	p.mu.Lock()
	links := p.links
	p.links = nil
	p.mu.Unlock()
	for _, l := range links {
		_ = l.client.Close()
		_ = l.server.Close()
	}
	p.unpause()
}

// pause holds server-to-client bytes until unpause or cut.
func (p *lkProxy) pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

func (p *lkProxy) unpause() {
	p.mu.Lock()
	if p.paused {
		p.paused = false
		close(p.resume)
		p.resume = make(chan struct{})
	}
	p.mu.Unlock()
}

// setRefuse makes the lkProxy close new connections at once (true) or relay
// them again (false).
func (p *lkProxy) setRefuse(on bool) {
	p.mu.Lock()
	p.refuse = on
	p.mu.Unlock()
}
