package serve

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/warrenhq/warren/core/acl"
	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/zkwire"
)

// freeTCPPort picks a bindable port below Linux's ephemeral range, so that
// no socket the tests open meanwhile (client port 0, outgoing
// connections) can take it before the member binds it.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	for {
		port := 20000 + int(portSeq.Add(1)%12000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			ln.Close()
			return port
		}
	}
}

// portSeq walks the port range from a per-process start.
var portSeq = func() *atomic.Int64 {
	var a atomic.Int64
	a.Store(int64(os.Getpid()) * 7919)
	return &a
}()

// startEnsemble starts n in-process members on loopback (the last
// `observers` of them observers) and returns them by server id - 1.
func startEnsemble(t *testing.T, n, observers int, mutate func(c *config.Config)) []*testServer {
	t.Helper()
	servers := memberList(t, n, observers)
	out := make([]*testServer, n)
	for i := range n {
		out[i] = startMember(t, servers, int64(i+1), mutate)
	}
	return out
}

// memberList makes the server.N entries of an n-member ensemble on free
// loopback ports.
func memberList(t *testing.T, n, observers int) []config.Server {
	var servers []config.Server
	for i := 1; i <= n; i++ {
		role := config.RoleParticipant
		if i > n-observers {
			role = config.RoleObserver
		}
		servers = append(servers, config.Server{ID: int64(i), Host: "127.0.0.1",
			QuorumPort: freeTCPPort(t), ElectionPort: freeTCPPort(t), Role: role,
			ClientAddr: "127.0.0.1:" + strconv.Itoa(20000+i)})
	}
	return servers
}

// startMember starts member id of the ensemble servers lists.
func startMember(t *testing.T, servers []config.Server, id int64, mutate func(c *config.Config)) *testServer {
	t.Helper()
	return startServerWithLogger(t, zaptest.NewLogger(t).Named(fmt.Sprint(id)), func(c *config.Config) {
		c.Servers = servers
		c.ServerID = id
		for _, s := range servers {
			if s.ID == id {
				c.PeerType = s.Role
			}
		}
		c.InitLimit, c.SyncLimit = 10, 5
		if mutate != nil {
			mutate(c)
		}
	})
}

// waitModes polls until every member serves, and returns the srvr modes.
func waitModes(t *testing.T, ts []*testServer) map[string]int {
	t.Helper()
	var got map[string]int
	require.Eventually(t, func() bool {
		got = map[string]int{}
		for _, s := range ts {
			if s == nil {
				continue
			}
			if !strings.HasSuffix(mntrValue(t, s.addr, "zk_peer_state"), " - broadcast") {
				return false
			}
			for _, line := range strings.Split(fourLetter(t, s.addr, "srvr"), "\n") {
				if m, ok := strings.CutPrefix(line, "Mode: "); ok {
					got[m]++
				}
			}
		}
		return got["looking"] == 0 && got["leader"] == 1
	}, 10*time.Second, 20*time.Millisecond)
	return got
}

func stopServer(t *testing.T, ts *testServer) {
	t.Helper()
	ts.cancel()
	select {
	case err := <-ts.done:
		ts.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("member did not stop")
	}
}

func mntrValue(t *testing.T, addr, key string) string {
	for _, line := range strings.Split(fourLetter(t, addr, "mntr"), "\n") {
		if k, v, ok := strings.Cut(line, "\t"); ok && k == key {
			return v
		}
	}
	return ""
}

func TestEnsembleServesThroughEveryMember(t *testing.T) {
	ts := startEnsemble(t, 4, 1, nil)
	modes := waitModes(t, ts)
	assert.Equal(t, map[string]int{"leader": 1, "follower": 2, "observer": 1}, modes)

	var leader *testServer
	var others []*testServer
	for _, s := range ts {
		if strings.Contains(fourLetter(t, s.addr, "srvr"), "Mode: leader") {
			leader = s
		} else {
			others = append(others, s)
		}
	}
	require.NotNil(t, leader)
	assert.Equal(t, "3", mntrValue(t, leader.addr, "zk_learners"))
	assert.Equal(t, "2", mntrValue(t, leader.addr, "zk_synced_followers"))
	assert.Equal(t, "1", mntrValue(t, leader.addr, "zk_synced_observers"))
	assert.Equal(t, "leading - broadcast", mntrValue(t, leader.addr, "zk_peer_state"))
	conf := fourLetter(t, leader.addr, "conf")
	assert.Contains(t, conf, "initLimit=10\nsyncLimit=5\nelectionAlg=3\n")
	assert.Contains(t, conf, "membership: \nserver.1=127.0.0.1:")
	assert.Contains(t, fourLetter(t, others[2].addr, "conf"), "peerType=1\n", "member 4 is the observer")

	// Writes through a follower and the observer; reads everywhere after sync.
	a, _ := dial(t, others[0].addr, 5*time.Second)
	b, bev := dial(t, others[2].addr, 5*time.Second)
	_, err := a.Create("/a", []byte("1"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, err = b.Create("/a/e", []byte("x"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, err = b.Set("/a", []byte("2"), 0)
	require.NoError(t, err)
	_, err = b.Create("/a", nil, 0, zk.WorldACL(zk.PermAll))
	assert.ErrorIs(t, err, zk.ErrNodeExists, "a failed write forwarded by a learner is answered with its error")
	ops, err := b.Multi(&zk.CreateRequest{Path: "/m", Data: nil, Acl: zk.WorldACL(zk.PermAll)}, &zk.DeleteRequest{Path: "/nope", Version: -1})
	assert.Error(t, err)
	require.Len(t, ops, 2)
	assert.ErrorIs(t, ops[1].Error, zk.ErrNoNode)
	_ = bev

	// A watch set through one member fires for a write through another.
	_, _, w, err := a.GetW("/a")
	require.NoError(t, err)
	_, err = b.Set("/a", []byte("3"), 1)
	require.NoError(t, err)
	select {
	case ev := <-w:
		assert.Equal(t, zk.EventNodeDataChanged, ev.Type)
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event")
	}

	for _, s := range ts {
		c, _ := dial(t, s.addr, 5*time.Second)
		_, err := c.Sync("/a")
		require.NoError(t, err)
		data, st, err := c.Get("/a")
		require.NoError(t, err)
		assert.Equal(t, "3", string(data))
		assert.EqualValues(t, 2, st.Version)
		kids, _, err := c.Children("/a")
		require.NoError(t, err)
		assert.Equal(t, []string{"e"}, kids)
		cfg, _, err := c.Get("/zookeeper/config")
		require.NoError(t, err)
		assert.Contains(t, string(cfg), "server.4=127.0.0.1:")
		assert.Contains(t, string(cfg), ":observer;127.0.0.1:20004\n")
		assert.True(t, strings.HasSuffix(string(cfg), "version=0"))
	}

	// The ephemeral goes everywhere when its session closes.
	b.Close()
	for _, s := range ts {
		c, _ := dial(t, s.addr, 5*time.Second)
		require.Eventually(t, func() bool {
			_, _ = c.Sync("/a")
			ok, _, err := c.Exists("/a/e")
			return err == nil && !ok
		}, 5*time.Second, 20*time.Millisecond)
	}

	requireSameState(t, ts)
}

// requireSameState waits until every member reports the same hash (zxid
// and digest), the joiner's /zookeeper/config included.
func requireSameState(t *testing.T, ts []*testServer) {
	t.Helper()
	require.Eventually(t, func() bool {
		var hashes []string
		for _, s := range ts {
			hashes = append(hashes, fourLetter(t, s.addr, "hash"))
		}
		for _, h := range hashes[1:] {
			if h != hashes[0] {
				return false
			}
		}
		return true
	}, 5*time.Second, 20*time.Millisecond)
}

func TestEnsembleSessionMovesBetweenMembers(t *testing.T) {
	ts := startEnsemble(t, 3, 0, func(c *config.Config) { c.TickTime = 200 })
	waitModes(t, ts)
	var follower *testServer
	for _, s := range ts {
		if strings.Contains(fourLetter(t, s.addr, "srvr"), "Mode: follower") {
			follower = s
			break
		}
	}
	nc, cr := handshake(t, follower.addr)
	h, _, _ := rawCall(t, nc, 1, proto.OpCreate, &proto.CreateRequest{Path: "/eph", ACL: proto.OpenACLUnsafe, Flags: proto.ModeEphemeral})
	require.Equal(t, proto.OK, h.Err)
	nc.Close()
	stopServer(t, follower)

	// The client comes back through another member with its session id
	// and password: the leader revalidates it, and its ephemeral is there.
	for _, s := range ts {
		if s == follower {
			continue
		}
		// A member that has not applied the client's last zxid yet closes
		// the connection (the client would try the next server): retry.
		var nc2 net.Conn
		var cr2 *proto.ConnectResponse
		require.Eventually(t, func() bool {
			var err error
			nc2, err = net.DialTimeout("tcp", s.addr, 5*time.Second)
			require.NoError(t, err)
			_, err = nc2.Write(zkwire.AppendConnectRequest(nil, &proto.ConnectRequest{TimeOut: 10000, SessionID: cr.SessionID, Passwd: cr.Passwd, LastZxidSeen: h.Zxid}))
			require.NoError(t, err)
			var lb [4]byte
			_ = nc2.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(nc2, lb[:]); err != nil {
				nc2.Close()
				return false
			}
			b := make([]byte, binary.BigEndian.Uint32(lb[:]))
			_, err = io.ReadFull(nc2, b)
			require.NoError(t, err)
			cr2, err = zkwire.ParseConnectResponse(b)
			require.NoError(t, err)
			return true
		}, 5*time.Second, 20*time.Millisecond)
		defer nc2.Close()
		assert.Equal(t, cr.SessionID, cr2.SessionID, "same session")
		assert.NotZero(t, cr2.TimeOut)
		h2, _, _ := rawCall(t, nc2, 1, proto.OpExists, &proto.ExistsRequest{Path: "/eph"})
		assert.Equal(t, proto.OK, h2.Err, "the ephemeral lives on")
		nc2.Close()
	}

	// A made-up session is refused with a zero timeout.
	nc3, err := net.DialTimeout("tcp", ts[0].addr, 5*time.Second)
	if ts[0] == follower {
		nc3, err = net.DialTimeout("tcp", ts[1].addr, 5*time.Second)
	}
	require.NoError(t, err)
	defer nc3.Close()
	_, err = nc3.Write(zkwire.AppendConnectRequest(nil, &proto.ConnectRequest{TimeOut: 10000, SessionID: cr.SessionID + 99, Passwd: cr.Passwd}))
	require.NoError(t, err)
	cr3, err := zkwire.ParseConnectResponse(readFrame(t, nc3))
	require.NoError(t, err)
	assert.Zero(t, cr3.TimeOut)
}

func TestEnsembleReadOnlyMode(t *testing.T) {
	ts := startEnsemble(t, 3, 0, func(c *config.Config) { c.ReadOnlyMode = true; c.TickTime = 200 })
	waitModes(t, ts)
	c, _ := dial(t, ts[0].addr, 5*time.Second)
	_, err := c.Create("/kept", []byte("v"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, err = c.Sync("/kept")
	require.NoError(t, err)
	c.Close()
	for _, s := range ts[1:] {
		stopServer(t, s)
	}
	survivor := ts[0].addr
	require.Eventually(t, func() bool { return fourLetter(t, survivor, "isro") == "ro" }, 10*time.Second, 50*time.Millisecond)
	before := fourLetter(t, survivor, "hash")
	assert.Contains(t, fourLetter(t, survivor, "srvr"), "Mode: read-only")

	// A client that did not ask for a read-only session is turned away.
	nc, err := net.DialTimeout("tcp", survivor, 5*time.Second)
	require.NoError(t, err)
	_, err = nc.Write(zkwire.AppendConnectRequest(nil, &proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)}))
	require.NoError(t, err)
	expectClosed(t, nc)

	// One that did gets a read-only session: reads work, writes are refused.
	nc, err = net.DialTimeout("tcp", survivor, 5*time.Second)
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write(zkwire.AppendConnectRequest(nil, &proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16), ReadOnly: true, HasReadOnly: true}))
	require.NoError(t, err)
	cr, err := zkwire.ParseConnectResponse(readFrame(t, nc))
	require.NoError(t, err)
	assert.NotZero(t, cr.SessionID)
	assert.True(t, cr.ReadOnly)
	h, d, _ := rawCall(t, nc, 1, proto.OpGetData, &proto.GetDataRequest{Path: "/kept"})
	require.Equal(t, proto.OK, h.Err)
	var gr proto.GetDataResponse
	gr.Decode(d)
	assert.Equal(t, "v", string(gr.Data))
	h, _, _ = rawCall(t, nc, 2, proto.OpCreate, &proto.CreateRequest{Path: "/new", ACL: proto.OpenACLUnsafe})
	assert.Equal(t, proto.ErrNotReadOnly, h.Err)
	// ZOOKEEPER-3526: read-only mode has no zxid source of its own; its
	// sessions are local and change nothing replicated.
	assert.Equal(t, before, fourLetter(t, survivor, "hash"))
}

func TestEnsembleReconfig(t *testing.T) {
	const superPw = "sup3r"
	all := memberList(t, 4, 0)
	mutate := func(c *config.Config) {
		c.TickTime = 200
		c.ReconfigEnabled = true
		c.SuperDigest = acl.DigestID("super:" + superPw)
	}
	ts := make([]*testServer, 4)
	for i := range 3 {
		ts[i] = startMember(t, all[:3], int64(i+1), mutate)
	}
	// Member 4 runs with a configuration that lists itself: it follows the
	// leader as a non-voting member until the reconfiguration adds it.
	ts[3] = startMember(t, all, 4, mutate)
	waitModes(t, ts)
	var leader, follower *testServer
	for _, s := range ts[:3] {
		if strings.Contains(fourLetter(t, s.addr, "srvr"), "Mode: leader") {
			leader = s
		} else {
			follower = s
		}
	}
	assert.Equal(t, "2", mntrValue(t, leader.addr, "zk_synced_followers"), "the joiner is not a voter yet")
	assert.Equal(t, "1", mntrValue(t, leader.addr, "zk_synced_non_voting_followers"))
	requireSameState(t, ts)

	c, _ := dial(t, follower.addr, 5*time.Second)
	_, err := c.IncrementalReconfig([]string{"server.4=127.0.0.1:1:2;127.0.0.1:3"}, nil, -1)
	assert.ErrorIs(t, err, zk.ErrNoAuth, "reconfig needs WRITE on /zookeeper/config")
	require.NoError(t, c.AddAuth("digest", []byte("super:"+superPw)))

	cfg, st, err := c.Get("/zookeeper/config")
	require.NoError(t, err)
	m, ok := replica.ParseMembership(cfg)
	require.True(t, ok)
	assert.Zero(t, m.Zxid)

	spec4 := fmt.Sprintf("server.4=127.0.0.1:%d:%d;%s", all[3].QuorumPort, all[3].ElectionPort, all[3].ClientAddr)
	_, err = c.IncrementalReconfig([]string{spec4}, nil, 12345)
	assert.ErrorIs(t, err, zk.ErrBadVersion, "the config version must match")
	_, err = c.IncrementalReconfig([]string{"server.5=nonsense"}, nil, -1)
	assert.ErrorIs(t, err, zk.ErrBadArguments)
	_, err = c.Reconfig([]string{"server.5=127.0.0.1:1:2", "server.6=127.0.0.1:3:4", "server.7=127.0.0.1:5:6"}, -1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unknown error: -13", "NEWCONFIGNOQUORUM: the new voters must hold a quorum of the leader's synced ones (go-zookeeper has no name for it)")

	// Forwarded through a follower: the joiner becomes a voter.
	st2, err := c.IncrementalReconfig([]string{spec4}, nil, st.Mzxid)
	require.NoError(t, err)
	assert.Greater(t, st2.Mzxid, st.Mzxid)
	require.Eventually(t, func() bool { return mntrValue(t, leader.addr, "zk_synced_followers") == "3" }, 5*time.Second, 20*time.Millisecond)
	for _, s := range ts {
		cs, _ := dial(t, s.addr, 5*time.Second)
		_, err := cs.Sync("/zookeeper/config")
		require.NoError(t, err)
		data, _, err := cs.Get("/zookeeper/config")
		require.NoError(t, err)
		assert.Contains(t, string(data), spec4[:strings.Index(spec4, ";")]+":participant;"+all[3].ClientAddr)
		assert.Contains(t, string(data), fmt.Sprintf("version=%x", st2.Mzxid))
	}

	// Removing the leader: it steps down after the commit, the others
	// elect among the new voters and go on.
	leaderID := int64(0)
	for i, s := range ts {
		if s == leader {
			leaderID = int64(i + 1)
		}
	}
	_, err = c.IncrementalReconfig(nil, []string{strconv.FormatInt(leaderID, 10)}, -1)
	require.NoError(t, err)
	var rest []*testServer
	for _, s := range ts {
		if s != leader {
			rest = append(rest, s)
		}
	}
	modes := waitModes(t, rest)
	assert.Equal(t, map[string]int{"leader": 1, "follower": 2}, modes)
	w, _ := dial(t, rest[0].addr, 5*time.Second)
	_, err = w.Create("/after", nil, 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
}

// electionPortBindRetry: a member whose election port is still held when
// it starts keeps trying, a second apart, and joins once the port frees.
func TestEnsembleElectionPortBindRetry(t *testing.T) {
	servers := memberList(t, 3, 0)
	held, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(servers[0].ElectionPort)))
	require.NoError(t, err)
	time.AfterFunc(1500*time.Millisecond, func() { held.Close() })
	ts := make([]*testServer, 3)
	for i := range 3 {
		ts[i] = startMember(t, servers, int64(i+1), func(c *config.Config) { c.TickTime = 200; c.ElectionPortBindRetry = 5 })
	}
	modes := waitModes(t, ts)
	assert.Equal(t, 1, modes["leader"])
	assert.Equal(t, 2, modes["follower"])
}
