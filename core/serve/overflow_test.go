package serve

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

func TestNonReadingClientIsDisconnected(t *testing.T) {
	ts := startServer(t, nil)
	old := maxQueuedPerConn
	maxQueuedPerConn = 8
	t.Cleanup(func() { maxQueuedPerConn = old })

	server, peer := net.Pipe() // the peer never reads: every write blocks
	defer peer.Close()
	c := newClient(ts.srv, 999, server, "127.0.0.1")
	go c.writeLoop()
	for i := 0; i < 100; i++ {
		c.push(outMsg{hdr: proto.ReplyHeader{Xid: proto.XidNotification, Zxid: -1}, body: &proto.WatcherEvent{Type: proto.EventNodeCreated, State: 3, Path: "/x"}})
	}
	select {
	case <-c.quit:
	case <-time.After(5 * time.Second):
		t.Fatal("a client whose queue overflowed was not disconnected")
	}
	c.mu.Lock()
	queued := len(c.out)
	c.mu.Unlock()
	require.LessOrEqual(t, queued, maxQueuedPerConn, "the queue never grows past the cap")
	assert.NotNil(t, c)
}
