package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zkwire"
)

func TestWaitForGet(t *testing.T) {
	srv := startZooKeeper(t)
	check := zkClient(t, srv.addr)
	const root = "/bench-test-wait"
	_, err := check.Create(root, nil, 0, gozk.WorldACL(gozk.PermAll))
	if err != nil && err != gozk.ErrNodeExists {
		require.NoError(t, err)
	}
	_, err = check.Create(root+"/ready", bytes.Repeat([]byte("v"), 20), 0, gozk.WorldACL(gozk.PermAll))
	if err != nil && err != gozk.ErrNodeExists {
		require.NoError(t, err)
	}
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	l.Close()

	tests := []struct {
		name      string
		cfg       WaitConfig
		later     string // a znode of 20 bytes created 300 ms into the wait
		wantErr   string
		wantFirst bool // the first attempt succeeds
	}{
		{name: "present", cfg: WaitConfig{Server: srv.addr, Path: root + "/ready", ValueSize: 20}, wantFirst: true},
		{name: "any size", cfg: WaitConfig{Server: srv.addr, Path: root + "/ready"}, wantFirst: true},
		{name: "created later", cfg: WaitConfig{Server: srv.addr, Path: root + "/later", ValueSize: 20, Poll: 20 * time.Millisecond}, later: root + "/later"},
		{name: "wrong size", cfg: WaitConfig{Server: srv.addr, Path: root + "/ready", ValueSize: 21, Timeout: 300 * time.Millisecond}, wantErr: "getdata reply of 92 bytes, want 93"},
		{name: "missing", cfg: WaitConfig{Server: srv.addr, Path: root + "/never", Timeout: 300 * time.Millisecond}, wantErr: "no node"},
		{name: "nobody listens", cfg: WaitConfig{Server: closed, Path: root + "/ready", Timeout: 300 * time.Millisecond}, wantErr: "dial"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.later != "" {
				go func() {
					time.Sleep(300 * time.Millisecond)
					_, _ = check.Create(tc.later, bytes.Repeat([]byte("w"), 20), 0, gozk.WorldACL(gozk.PermAll))
				}()
				t.Cleanup(func() { _ = check.Delete(tc.later, -1) })
			}
			before := time.Now()
			res, err := WaitForGet(context.Background(), tc.cfg)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, ErrWaitTimeout)
				assert.Contains(t, strings.ToLower(err.Error()), tc.wantErr)
				assert.Less(t, time.Since(before), 3*time.Second, "the timeout bounds the wait")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.cfg.Path, res.Path)
			assert.Equal(t, tc.cfg.Server, res.Server)
			ready := time.UnixMicro(res.ReadyUnixMicros)
			assert.False(t, ready.Before(before.Truncate(time.Microsecond)), "ready after the wait began")
			assert.False(t, ready.After(time.Now()))
			assert.InDelta(t, ready.Sub(before).Seconds(), res.Seconds, 0.01)
			if tc.wantFirst {
				// One attempt, or a few more when the first one outlasted
				// a poll on a busy machine; none of them failed.
				assert.LessOrEqual(t, res.Attempts, 2+int(res.Seconds/0.01))
				assert.Empty(t, res.LastError)
				return
			}
			assert.GreaterOrEqual(t, res.Seconds, 0.3, "not before the znode existed")
			// One attempt per 20 ms over 300 ms, give or take the machine's load.
			assert.Greater(t, res.Attempts, 3)
			assert.Less(t, res.Attempts, 30)
			assert.Contains(t, strings.ToLower(res.LastError), "no node")
		})
	}
}

// holdingServer accepts connections from the start but, like ZooKeeper
// loading its data, never answers one accepted before readyAfter; later
// ones get a session and a getData reply carrying data.
func holdingServer(t *testing.T, readyAfter time.Duration, data []byte) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	ready := time.Now().Add(readyAfter)
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, nc := range held {
			nc.Close()
		}
	})
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			if time.Now().Before(ready) {
				mu.Lock()
				held = append(held, nc) // never read, never answered
				mu.Unlock()
				continue
			}
			go func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				if _, err := zkwire.ReadFrame(br, nil, zkwire.DefaultMaxFrame); err != nil {
					return
				}
				resp := &proto.ConnectResponse{TimeOut: 10000, SessionID: 7, Passwd: make([]byte, 16)}
				if _, err := nc.Write(zkwire.AppendConnectResponse(nil, resp)); err != nil {
					return
				}
				for {
					frame, err := zkwire.ReadFrame(br, nil, zkwire.DefaultMaxFrame)
					if err != nil {
						return
					}
					h, _, err := zkwire.DecodeRequest(frame, zkwire.DefaultMaxFrame)
					if err != nil {
						return
					}
					if _, err := nc.Write(replyFrame(h.Xid, proto.OK, &proto.GetDataResponse{Data: data})); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

func TestWaitForGetOverlapsAttempts(t *testing.T) {
	tests := []struct {
		name       string
		readyAfter time.Duration
	}{
		{name: "ready at once", readyAfter: 0},
		{name: "held while loading", readyAfter: 300 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := holdingServer(t, tc.readyAfter, []byte("0123456789"))
			res, err := WaitForGet(context.Background(), WaitConfig{Server: addr, Path: "/p", ValueSize: 10, AttemptTimeout: 5 * time.Second})
			require.NoError(t, err)
			assert.GreaterOrEqual(t, res.Seconds, tc.readyAfter.Seconds())
			// The held attempts run until their 5 s timeout; the answer
			// comes from a later attempt, a poll or so after readiness.
			assert.Less(t, res.Seconds, tc.readyAfter.Seconds()+1, "held attempts did not delay the answer")
			if tc.readyAfter == 0 {
				assert.LessOrEqual(t, res.Attempts, 2+int(res.Seconds/0.01))
			} else {
				assert.Greater(t, res.Attempts, 5)
			}
		})
	}
}

func TestWaitForGetStops(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	l.Close()
	tests := []struct {
		name    string
		cfg     WaitConfig
		cancel  bool
		wantErr error
		wantMsg string
	}{
		{name: "relative path", cfg: WaitConfig{Path: "x"}, wantMsg: "absolute znode path"},
		{name: "root path", cfg: WaitConfig{Path: "/"}, wantMsg: "absolute znode path"},
		{name: "cancelled", cfg: WaitConfig{Server: closed, Path: "/x"}, cancel: true, wantErr: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancel {
				time.AfterFunc(100*time.Millisecond, cancel)
			}
			defer cancel()
			_, err := WaitForGet(ctx, tc.cfg)
			require.Error(t, err)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				assert.NotErrorIs(t, err, ErrWaitTimeout)
			}
			assert.Contains(t, err.Error(), tc.wantMsg)
		})
	}
}

func TestCommandWaitGet(t *testing.T) {
	srv := startZooKeeper(t)
	check := zkClient(t, srv.addr)
	_, err := check.Create("/bench-test-wait-cmd", []byte("12345"), 0, gozk.WorldACL(gozk.PermAll))
	if err != nil && err != gozk.ErrNodeExists {
		require.NoError(t, err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		want    string
	}{
		{name: "json", args: []string{"--json"}, want: `"attempts": `},
		{name: "text", want: "getData /bench-test-wait-cmd answered by"},
		{name: "size checked", args: []string{"--value-size", "5"}, want: " attempts)"},
		{name: "size mismatch", args: []string{"--value-size", "6", "--wait-timeout", "200ms"}, wantErr: "did not answer in time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := Command()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(io.Discard)
			cmd.SetArgs(append([]string{"--server", srv.addr, "--wait-get", "/bench-test-wait-cmd", "--quiet"}, tc.args...))
			err := cmd.Execute()
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Contains(t, out.String(), tc.want)
			if strings.HasPrefix(out.String(), "{") {
				var res WaitResult
				require.NoError(t, json.Unmarshal(out.Bytes(), &res))
				assert.Positive(t, res.ReadyUnixMicros)
			}
		})
	}
}
