package testutil

import (
	"bufio"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoServer answers every line with the same line and reports each line
// it received on got.
func echoServer(t *testing.T) (addr string, got <-chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	ch := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					ch <- line
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), ch
}

func dialLine(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, bufio.NewReader(c)
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, line string) {
	t.Helper()
	_, err := c.Write([]byte(line))
	require.NoError(t, err)
	back, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, line, back)
}

func TestProxy(t *testing.T) {
	addr, got := echoServer(t)
	p := StartProxy(t, addr)

	// Relays both ways; injected bytes reach the client.
	c, r := dialLine(t, p.Addr())
	roundTrip(t, c, r, "one\n")
	assert.Equal(t, "one\n", <-got)
	p.Inject([]byte("injected\n"))
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "injected\n", line)

	// Pause holds the reply; Unpause delivers it.
	p.Pause()
	_, err = c.Write([]byte("two\n"))
	require.NoError(t, err)
	assert.Equal(t, "two\n", <-got, "client-to-server bytes flow while paused")
	p.Unpause()
	line, err = r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "two\n", line)

	// A reply held by Pause is lost with the connection on Cut.
	p.Pause()
	_, err = c.Write([]byte("three\n"))
	require.NoError(t, err)
	assert.Equal(t, "three\n", <-got)
	p.Cut()
	rest, err := io.ReadAll(r)
	assert.Empty(t, rest, "held bytes are dropped, not delivered")
	_ = err // EOF or reset: the connection is gone either way

	// Refused connections are closed at once; Accept relays again.
	p.Refuse()
	_, rr := dialLine(t, p.Addr())
	rest, _ = io.ReadAll(rr)
	assert.Empty(t, rest)
	p.Accept()
	c, r = dialLine(t, p.Addr())
	roundTrip(t, c, r, "four\n")

	// Close refuses new connections for good.
	p.Close()
	_, err = net.Dial("tcp", p.Addr())
	assert.Error(t, err)
}
