package sasl

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/internal/jaas"
	"github.com/warrenhq/warren/internal/testutil"
)

// zkCliPath is Debian's zkCli.sh (ZooKeeper 3.8), installed by
// scripts/test-deps.sh.
const zkCliPath = testutil.ZkCliPath

// serverJAAS is the Server section the test server takes its users from.
const serverJAAS = `Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret"
       user_bob="bobsecret"
       user_josé="pässwörd";
};
`

// outcome is how one connection's SASL exchange ended on the test server.
type outcome struct {
	user string // authenticated user, "" if none
	err  error  // Step's error, nil if none
}

// miniZK speaks just enough of the ZooKeeper client protocol for zkCli's
// "whoami" with SASL: the connect handshake, sasl, whoAmI, ping and
// closeSession. It wires Server the way a real server must (see the
// package documentation).
type miniZK struct {
	t        *testing.T
	users    map[string]string
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
	outcomes []outcome
}

func startMiniZK(t *testing.T, users map[string]string) *miniZK {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	z := &miniZK{t: t, users: users, ln: ln, conns: map[net.Conn]bool{}}
	z.wg.Add(1)
	go z.accept()
	t.Cleanup(func() {
		ln.Close()
		z.mu.Lock()
		for c := range z.conns {
			c.Close()
		}
		z.mu.Unlock()
		z.wg.Wait()
	})
	return z
}

func (z *miniZK) addr() string { return z.ln.Addr().String() }

func (z *miniZK) results() []outcome {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]outcome(nil), z.outcomes...)
}

func (z *miniZK) accept() {
	defer z.wg.Done()
	for {
		c, err := z.ln.Accept()
		if err != nil {
			return
		}
		z.mu.Lock()
		z.conns[c] = true
		z.mu.Unlock()
		z.wg.Add(1)
		go func() {
			defer z.wg.Done()
			defer func() {
				c.Close()
				z.mu.Lock()
				delete(z.conns, c)
				z.mu.Unlock()
			}()
			if err := z.serve(c); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				z.t.Logf("miniZK connection: %v", err)
			}
		}()
	}
}

func readFrame(r *bufio.Reader) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(l[:])
	if n > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeFrame(w io.Writer, recs ...proto.Record) error {
	var body []byte
	for _, r := range recs {
		body = append(body, proto.Encode(r)...)
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	_, err := w.Write(append(frame, body...))
	return err
}

func (z *miniZK) serve(c net.Conn) error {
	r := bufio.NewReader(c)
	first, err := readFrame(r)
	if err != nil {
		return err
	}
	var creq proto.ConnectRequest
	if err := proto.Decode(first, 0, &creq); err != nil {
		return err
	}
	err = writeFrame(c, &proto.ConnectResponse{
		TimeOut: creq.TimeOut, SessionID: 0x1234, Passwd: make([]byte, 16), HasReadOnly: creq.HasReadOnly,
	})
	if err != nil {
		return err
	}
	const zxid = 1
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	ids := []proto.ClientInfo{{AuthScheme: "ip", User: host}}
	var exchange *Server
	for {
		b, err := readFrame(r)
		if err != nil {
			return err
		}
		var hdr proto.RequestHeader
		if err := proto.Decode(b, 0, &hdr); err != nil {
			return err
		}
		body := b[8:]
		switch hdr.Type {
		case proto.OpSASL:
			var req proto.GetSASLRequest
			if err := proto.Decode(body, 0, &req); err != nil {
				return err
			}
			if exchange == nil {
				exchange = NewServer(z.users, func() string {
					raw := make([]byte, NonceLen)
					_, _ = rand.Read(raw)
					return EncodeNonce(raw)
				})
			}
			reply, done, user, stepErr := exchange.Step(req.Token)
			if stepErr != nil {
				z.record(outcome{err: stepErr})
				// ZooKeeper: AUTHFAILED with a null token, then close.
				_ = writeFrame(c, &proto.ReplyHeader{Xid: hdr.Xid, Err: proto.ErrAuthFailed}, &proto.SetSASLResponse{})
				return nil
			}
			if done {
				z.record(outcome{user: user})
				ids = append([]proto.ClientInfo{{AuthScheme: Scheme, User: user}}, ids...)
			}
			// SASL replies carry zxid 0.
			if err := writeFrame(c, &proto.ReplyHeader{Xid: hdr.Xid}, &proto.SetSASLResponse{Token: reply}); err != nil {
				return err
			}
		case proto.OpWhoAmI:
			if err := writeFrame(c, &proto.ReplyHeader{Xid: hdr.Xid, Zxid: zxid}, &proto.WhoAmIResponse{ClientInfo: ids}); err != nil {
				return err
			}
		case proto.OpPing:
			if err := writeFrame(c, &proto.ReplyHeader{Xid: hdr.Xid, Zxid: zxid}); err != nil {
				return err
			}
		case proto.OpCloseSession:
			_ = writeFrame(c, &proto.ReplyHeader{Xid: hdr.Xid, Zxid: zxid})
			return nil
		default:
			if err := writeFrame(c, &proto.ReplyHeader{Xid: hdr.Xid, Zxid: zxid, Err: proto.ErrUnimplemented}); err != nil {
				return err
			}
		}
	}
}

func (z *miniZK) record(o outcome) {
	z.mu.Lock()
	z.outcomes = append(z.outcomes, o)
	z.mu.Unlock()
}

// runZkCli runs `zkCli.sh -server addr whoami` with a JAAS Client section
// for user/password and returns what it printed.
func runZkCli(t *testing.T, addr, user, password string) string {
	t.Helper()
	return testutil.ZkCliSASL(t, addr, user, password, "whoami")
}

// TestJavaClientInterop authenticates ZooKeeper 3.8's own Java client
// (zkCli.sh with a JAAS Client section) against Server, wired into a
// minimal ZooKeeper server as a real one must be, and checks what both
// sides saw: the client's SaslAuthenticated or AuthFailed event and the
// identities whoami reports, the server's Step outcome.
func TestJavaClientInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs zkCli.sh (a JVM)")
	}
	if _, err := os.Stat(zkCliPath); err != nil {
		t.Fatalf("%s is needed (%v): run `make test-deps`", zkCliPath, err)
	}
	cfg, err := jaas.Parse(strings.NewReader(serverJAAS), "server.jaas")
	require.NoError(t, err)
	users, err := jaas.DigestUsers(cfg, "")
	require.NoError(t, err)

	tests := []struct {
		name, user, password string
		wantUser             string // "" when authentication must fail
		wantErr              error
	}{
		{name: "bob", user: "bob", password: "bobsecret", wantUser: "bob"},
		{name: "non-ASCII user and password", user: "josé", password: "pässwörd", wantUser: "josé"},
		{name: "wrong password", user: "bob", password: "wrong", wantErr: ErrBadResponse},
		{name: "unknown user", user: "eve", password: "bobsecret", wantErr: ErrUnknownUser},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			z := startMiniZK(t, users)
			out := runZkCli(t, z.addr(), tc.user, tc.password)
			t.Logf("zkCli.sh output:\n%s", out)
			results := z.results()
			require.Len(t, results, 1, "one SASL exchange expected; zkCli output:\n%s", out)
			if tc.wantErr != nil {
				assert.ErrorIs(t, results[0].err, tc.wantErr)
				assert.Contains(t, out, "state:AuthFailed", "zkCli output:\n%s", out)
				assert.NotContains(t, out, "SaslAuthenticated")
				assert.NotContains(t, out, "sasl: ")
				return
			}
			require.NoError(t, results[0].err)
			assert.Equal(t, tc.wantUser, results[0].user)
			// The client checked our rspauth (else it reports AuthFailed)
			// and whoami lists the id the server added.
			assert.Contains(t, out, "state:SaslAuthenticated", "zkCli output:\n%s", out)
			assert.NotContains(t, out, "AuthFailed")
			assert.Contains(t, strings.Split(out, "\n"), "sasl: "+tc.wantUser, "zkCli output:\n%s", out)
		})
	}
}
