package testutil

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFreePortIsBindable(t *testing.T) {
	port := FreePort(t)
	require.Greater(t, port, 0)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	require.NoError(t, err)
	require.NoError(t, l.Close())
}

func TestFourLetterErrors(t *testing.T) {
	_, err := FourLetter("127.0.0.1:1", "toolong")
	require.ErrorContains(t, err, "must be 4 bytes")
	_, err = FourLetter("127.0.0.1:"+strconv.Itoa(FreePort(t)), "ruok")
	require.Error(t, err, "nothing listens on a fresh free port")
}

// TestStartZooKeeperDefaults checks the defaults: loopback, all four-letter
// words, standalone, TTL nodes refused, and a clean stop.
func TestStartZooKeeperDefaults(t *testing.T) {
	zk := StartZooKeeper(t, ZKOptions{})
	assert.True(t, strings.HasPrefix(zk.Addr, "127.0.0.1:"), zk.Addr)

	out, err := FourLetter(zk.Addr, "ruok")
	require.NoError(t, err)
	assert.Equal(t, "imok", out)
	out, err = FourLetter(zk.Addr, "srvr")
	require.NoError(t, err)
	assert.Contains(t, out, "Zookeeper version: 3.8.")
	assert.Contains(t, out, "Mode: standalone")
	out, err = FourLetter(zk.Addr, "conf")
	require.NoError(t, err)
	assert.Contains(t, out, "tickTime=2000")
	assert.Contains(t, out, "clientPort="+strconv.Itoa(zk.Port))

	got := ZkCli(t, zk.Addr, "create -t 1000 /ttl x", "create /plain x", "whoami")
	assert.Equal(t, "> create -t 1000 /ttl x\n"+
		"KeeperErrorCode = Unimplemented for /ttl\n"+
		"> create /plain x\nCreated /plain\n"+
		"> whoami\nAuth scheme: User\nip: 127.0.0.1\n", got)

	zk.Stop()
	assert.True(t, zk.Exited())
	zk.Stop() // idempotent
	_, err = FourLetter(zk.Addr, "ruok")
	assert.Error(t, err, "a stopped server no longer answers")
}

// TestStartZooKeeperOptions checks that every ServerConfig field reaches
// the server.
func TestStartZooKeeperOptions(t *testing.T) {
	zk := StartZooKeeper(t, ZKOptions{ServerConfig: ServerConfig{
		TickTime:        500e6,
		ExtendedTypes:   true,
		FourLetterWords: "ruok,conf",
		SuperDigest:     Digest("super", "secret"),
		Extra:           []string{"maxClientCnxns=7"},
	}})
	out, err := FourLetter(zk.Addr, "conf")
	require.NoError(t, err)
	assert.Contains(t, out, "tickTime=500")
	assert.Contains(t, out, "maxClientCnxns=7")
	assert.Contains(t, out, "minSessionTimeout=1000")
	out, err = FourLetter(zk.Addr, "mntr") // (ZooKeeper always allows srvr)
	require.NoError(t, err)
	assert.Equal(t, "mntr is not executed because it is not in the whitelist.\n", out)

	got := ZkCli(t, zk.Addr,
		"create -t 1000 /ttl x",
		"create /locked secret digest:"+Digest("alice", "pw")+":cdrwa",
		"get /locked",
		"addauth digest super:secret",
		"get /locked",
	)
	assert.Equal(t, "> create -t 1000 /ttl x\nCreated /ttl\n"+
		"> create /locked secret digest:alice:V55/p2T0OpjQ+low3NVAH4aLvm0=:cdrwa\nCreated /locked\n"+
		"> get /locked\nInsufficient permission : /locked\n"+
		"> addauth digest super:secret\n"+
		"> get /locked\nsecret\n", got)
}

// TestZkCliWatchesAndBarriers checks that a watch event lands in the step
// of the command that caused it, on every run.
func TestZkCliWatchesAndBarriers(t *testing.T) {
	zk := StartZooKeeper(t, ZKOptions{})
	cmds := []string{
		"create /w a",
		"get -w /w",
		"set /w b",
		"ls -w /w",
		"create /w/c",
		"sync /w",
		"printwatches",
		"printwatches off",
		"get -w /w",
		"set /w c",
		"printwatches on",
		"close",
		"get /w",
		"connect $ADDR",
		"get /w",
	}
	want := "> create /w a\nCreated /w\n" +
		"> get -w /w\na\n" +
		"> set /w b\nWATCHER:: state:SyncConnected type:NodeDataChanged path:/w\n" +
		"> ls -w /w\n[]\n" +
		"> create /w/c\nCreated /w/c\nWATCHER:: state:SyncConnected type:NodeChildrenChanged path:/w\n" +
		"> sync /w\nSync is OK\n" +
		"> printwatches\nprintwatches is on\n" +
		"> printwatches off\n" +
		"> get -w /w\nb\n" +
		"> set /w c\n" +
		"> printwatches on\n" +
		"> close\n" +
		"> get /w\nNot connected\n" +
		"> connect " + zk.Addr + "\n" +
		"> get /w\nc\n"
	for run := 0; run < 2; run++ {
		assert.Equal(t, want, ZkCli(t, zk.Addr, cmds...), "run %d", run)
		ZkCli(t, zk.Addr, "deleteall /w")
	}
}

// TestStartWarren runs only when Warren is the candidate (see target.go):
// until then ./cmd/warren is allowed not to work.
func TestStartWarren(t *testing.T) {
	if Candidate(t) != TargetWarren {
		t.Skipf("candidate is %s; set %s=warren to test StartWarren", Candidate(t), CandidateEnv)
	}
	w := StartWarren(t, WarrenOptions{})
	out, err := FourLetter(w.Addr, "ruok")
	require.NoError(t, err)
	assert.Equal(t, "imok", out)
	w.Stop()
	assert.True(t, w.Exited())
}

func TestCandidate(t *testing.T) {
	t.Setenv(CandidateEnv, "")
	assert.Equal(t, DefaultCandidate, Candidate(t))
	t.Setenv(CandidateEnv, "warren")
	assert.Equal(t, TargetWarren, Candidate(t))
	t.Setenv(CandidateEnv, "zookeeper")
	assert.Equal(t, TargetZooKeeper, Candidate(t))
	assert.Equal(t, TargetZooKeeper, Oracle())
}
