package sdk_test

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/sasl"
	"github.com/warrenhq/warren/core/zkwire"
	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

const saslServerJAAS = `Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_admin="adminsecret"
  user_bob="bobsecret"
  user_alice="alicesecret";
};
`

const saslAuthProvider = "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"

// startSASLServer starts a Warren or a ZooKeeper 3.8 server configured as
// Kafka deployments secure ZooKeeper: DIGEST-MD5 users in a JAAS Server
// section, the sasl ACL scheme enabled, admin as super user.
func startSASLServer(t *testing.T, tg testutil.Target) string {
	t.Helper()
	jaas := filepath.Join(t.TempDir(), "server.jaas")
	require.NoError(t, os.WriteFile(jaas, []byte(saslServerJAAS), 0o600))
	cfg := testutil.ServerConfig{Extra: []string{saslAuthProvider}}
	if tg == testutil.TargetZooKeeper {
		return testutil.StartZooKeeper(t, testutil.ZKOptions{ServerConfig: cfg,
			JVMFlags: []string{"-Djava.security.auth.login.config=" + jaas, "-Dzookeeper.superUser=admin"}}).Addr
	}
	return testutil.StartWarren(t, testutil.WarrenOptions{ServerConfig: cfg,
		Env: []string{"SERVER_JVMFLAGS=-Djava.security.auth.login.config=" + jaas + " -Dzookeeper.superUser=admin"}}).Addr
}

func saslConnect(t *testing.T, addr, user, password string) *sdk.Conn {
	t.Helper()
	return connect(t, addr, sdk.WithSASLDigest(user, password))
}

var bobACL = []sdk.ACL{{Perms: sdk.PermAll, ID: sdk.ID{Scheme: "sasl", ID: "bob"}}}

func TestSASLDigest(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			addr := startSASLServer(t, tg)
			t.Run("whoami", func(t *testing.T) {
				c := saslConnect(t, addr, "bob", "bobsecret")
				ids, err := c.WhoAmI(ctxT(t))
				require.NoError(t, err)
				assert.Contains(t, ids, sdk.ClientInfo{AuthScheme: "sasl", User: "bob"})
			})
			t.Run("acl", func(t *testing.T) { testSASLACL(t, addr) })
			t.Run("wrong password", func(t *testing.T) {
				for _, up := range [][2]string{{"bob", "wrong"}, {"nobody", "x"}} {
					c, err := sdk.Connect(ctxT(t), addr, sdk.WithSASLDigest(up[0], up[1]))
					require.ErrorIs(t, err, sdk.ErrAuthFailed, "user %s", up[0])
					assert.Nil(t, c)
					assert.Contains(t, err.Error(), up[0])
				}
			})
			t.Run("reconnect", func(t *testing.T) { testSASLReconnect(t, addr) })
			if tg == testutil.TargetWarren {
				t.Run("zkCli reads what the SDK created", func(t *testing.T) { testSASLInterop(t, addr) })
			}
		})
	}
}

// testSASLACL: a node with ACL sasl:bob:cdrwa is bob's only.
func testSASLACL(t *testing.T, addr string) {
	ctx := ctxT(t)
	bob := saslConnect(t, addr, "bob", "bobsecret")
	alice := saslConnect(t, addr, "alice", "alicesecret")
	anon := connect(t, addr)
	_, _, err := bob.Create(ctx, "/sasl-acl", []byte("x"), sdk.CreateOptions{ACL: bobACL})
	require.NoError(t, err)
	data, _, err := bob.Get(ctx, "/sasl-acl")
	require.NoError(t, err)
	assert.Equal(t, []byte("x"), data)
	_, _, err = alice.Get(ctx, "/sasl-acl")
	assert.ErrorIs(t, err, sdk.ErrNoAuth)
	_, _, err = anon.Get(ctx, "/sasl-acl")
	assert.ErrorIs(t, err, sdk.ErrNoAuth)
	admin := saslConnect(t, addr, "admin", "adminsecret")
	_, _, err = admin.Get(ctx, "/sasl-acl")
	require.NoError(t, err, "zookeeper.superUser bypasses ACLs")
	require.NoError(t, admin.Delete(ctx, "/sasl-acl", -1))
}

// testSASLReconnect: after a cut, the exchange runs again on the new
// connection and the resumed session is still sasl:bob.
func testSASLReconnect(t *testing.T, addr string) {
	ctx := ctxT(t)
	px := testutil.StartProxy(t, addr)
	c := saslConnect(t, px.Addr(), "bob", "bobsecret")
	states := c.States()
	sid := c.SessionID()
	_, _, err := c.Create(ctx, "/sasl-rc", []byte("y"), sdk.CreateOptions{ACL: bobACL})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Delete(ctxT(t), "/sasl-rc", -1) })

	px.Cut()
	waitState(t, states, sdk.StateSuspended)
	waitState(t, states, sdk.StateReconnected)
	assert.Equal(t, sid, c.SessionID(), "session resumed")
	ids, err := c.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Contains(t, ids, sdk.ClientInfo{AuthScheme: "sasl", User: "bob"})
	data, _, err := c.Get(ctx, "/sasl-rc")
	require.NoError(t, err)
	assert.Equal(t, []byte("y"), data)
}

// testSASLInterop: a node the SDK created as sasl:bob is readable by
// ZooKeeper's Java client (zkCli.sh) authenticated as bob, and not by alice.
func testSASLInterop(t *testing.T, addr string) {
	if _, err := os.Stat(testutil.ZkCliPath); err != nil {
		t.Fatalf("%s is needed (%v): run scripts/test-deps.sh", testutil.ZkCliPath, err)
	}
	c := saslConnect(t, addr, "bob", "bobsecret")
	_, _, err := c.Create(ctxT(t), "/sasl-interop", []byte("from-go"), sdk.CreateOptions{ACL: bobACL})
	require.NoError(t, err)
	out := testutil.ZkCliSASL(t, addr, "bob", "bobsecret", "get", "/sasl-interop")
	assert.Contains(t, out, "\nfrom-go\n")
	out = testutil.ZkCliSASL(t, addr, "alice", "alicesecret", "get", "/sasl-interop")
	assert.Contains(t, out, "Insufficient permission : /sasl-interop")
}

// TestSASLServerWithoutSASL: a server with no JAAS configuration answers
// the exchange with an empty token; the Conn refuses it.
func TestSASLServerWithoutSASL(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			addr := tg.Start(t, testutil.ServerConfig{})
			_, err := sdk.Connect(ctxT(t), addr, sdk.WithSASLDigest("bob", "bobsecret"))
			require.ErrorIs(t, err, sdk.ErrAuthFailed)
			assert.ErrorIs(t, err, sasl.ErrNoChallenge)
		})
	}
}

// fakeSASLServer is a scripted server: on connection i it runs a real
// sasl.Server exchange (or answers AUTHFAILED when i == failOn), answers
// exists with NONODE and setWatches2 with OK, and closes the connection
// after the first exists. It records the request opcodes of each
// connection.
type fakeSASLServer struct {
	ln     net.Listener
	failOn int
	mu     sync.Mutex
	ops    [][]proto.OpCode
}

func startFakeSASLServer(t *testing.T, failOn int) *fakeSASLServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeSASLServer{ln: ln, failOn: failOn}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.ops = append(f.ops, nil)
			f.mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); f.serve(nc, i) }()
		}
	}()
	return f
}

func (f *fakeSASLServer) opsOf(i int) []proto.OpCode {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.ops) {
		return nil
	}
	return slices.Clone(f.ops[i])
}

func (f *fakeSASLServer) serve(nc net.Conn, i int) {
	defer func() { _ = nc.Close() }()
	br := bufio.NewReader(nc)
	if _, err := zkwire.ReadFrame(br, nil, 1<<20); err != nil {
		return
	}
	resp := &proto.ConnectResponse{TimeOut: 20000, SessionID: 42, Passwd: make([]byte, 16)}
	if _, err := nc.Write(zkwire.AppendConnectResponse(nil, resp)); err != nil {
		return
	}
	srv := sasl.NewServer(map[string]string{"bob": "bobsecret"}, func() string { return "fake-nonce" })
	for {
		frame, err := zkwire.ReadFrame(br, nil, 1<<20)
		if err != nil {
			return
		}
		hdr, rec, err := zkwire.DecodeRequest(frame, 1<<20)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.ops[i] = append(f.ops[i], hdr.Type)
		f.mu.Unlock()
		var out []byte
		switch hdr.Type {
		case proto.OpSASL:
			if i == f.failOn {
				_, _ = nc.Write(zkwire.AppendFrame(nil, &proto.ReplyHeader{Xid: hdr.Xid, Err: proto.ErrAuthFailed}, &proto.SetSASLResponse{}))
				return
			}
			tok, _, _, err := srv.Step(rec.(*proto.GetSASLRequest).Token)
			if err != nil {
				return
			}
			out = zkwire.AppendFrame(nil, &proto.ReplyHeader{Xid: hdr.Xid}, &proto.SetSASLResponse{Token: tok})
		case proto.OpExists:
			_, _ = nc.Write(zkwire.AppendFrame(nil, &proto.ReplyHeader{Xid: hdr.Xid, Err: proto.ErrNoNode}, nil))
			return
		default:
			out = zkwire.AppendFrame(nil, &proto.ReplyHeader{Xid: hdr.Xid}, nil)
		}
		if _, err := nc.Write(out); err != nil {
			return
		}
	}
}

// TestSASLExchangeOrderAndLaterFailure: the exchange is the first thing on
// every connection (before setWatches and queued calls); a reconnection
// whose exchange fails ends the Conn with StateAuthFailed and
// ErrAuthFailed, as ZooKeeper's Java client stops on AuthFailed.
func TestSASLExchangeOrderAndLaterFailure(t *testing.T) {
	f := startFakeSASLServer(t, 2)
	ctx := ctxT(t)
	c := saslConnect(t, f.ln.Addr().String(), "bob", "bobsecret")
	states := c.States()

	_, ok, ch, err := c.ExistsW(ctx, "/w")
	require.NoError(t, err)
	require.False(t, ok)
	require.NotNil(t, ch)
	// The fake server closes the connection after the exists.
	waitState(t, states, sdk.StateSuspended)
	waitState(t, states, sdk.StateReconnected)
	_, _, err = c.Exists(ctx, "/w2")
	require.NoError(t, err)
	waitState(t, states, sdk.StateSuspended)
	waitState(t, states, sdk.StateAuthFailed)
	_, open := <-states
	assert.False(t, open, "the state stream ends with the Conn")
	assert.Equal(t, sdk.StateAuthFailed, c.State())
	_, _, err = c.Exists(ctx, "/w")
	require.ErrorIs(t, err, sdk.ErrAuthFailed)
	assert.Equal(t, sdk.Event{Type: sdk.EventSession, State: sdk.StateAuthFailed}, event(t, ch),
		"watches end with the AuthFailed session event")

	assert.Equal(t, []proto.OpCode{proto.OpSASL, proto.OpSASL, proto.OpExists}, f.opsOf(0))
	assert.Equal(t, []proto.OpCode{proto.OpSASL, proto.OpSASL, proto.OpSetWatches2, proto.OpExists}, f.opsOf(1))
	assert.Equal(t, []proto.OpCode{proto.OpSASL}, f.opsOf(2))
}
