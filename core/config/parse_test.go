package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseString(t *testing.T, in string) (*Config, []Warning, error) {
	t.Helper()
	return Parse(strings.NewReader(in), "zoo.cfg")
}

func mustParse(t *testing.T, in string) (*Config, []Warning) {
	t.Helper()
	c, w, err := parseString(t, in)
	require.NoError(t, err)
	return c, w
}

// envMap turns a map into the env function Load takes.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "zoo.cfg")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func warningStrings(ws []Warning) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Level.String() + " " + w.String()
	}
	return out
}

func TestDefault(t *testing.T) {
	c := Default()
	assert.Equal(t, "", c.Source)
	assert.Equal(t, 3000, c.TickTime)
	assert.Equal(t, "./data", c.DataDir)
	assert.Equal(t, "./data", c.DataLogDir)
	assert.Equal(t, 2181, c.ClientPort)
	assert.Equal(t, "127.0.0.1", c.ClientPortAddress)
	assert.Equal(t, -1, c.ClientPortListenBacklog)
	assert.Equal(t, 60, c.MaxClientCnxns)
	assert.Equal(t, 6000, c.MinSessionTimeout)
	assert.Equal(t, 60000, c.MaxSessionTimeout)
	assert.Equal(t, []string{"*"}, c.FourLetterWhitelist, "embedded defaults bind loopback only and enable every word")
	assert.Equal(t, Admin{EnableServer: true, ServerAddress: "127.0.0.1", ServerPort: 2180,
		CommandURL: "/commands", IdleTimeout: 30000, SnapshotEnabled: true, RateLimiterIntervalMs: 300000}, c.Admin)
	assert.Equal(t, 0xfffff, c.JuteMaxBuffer)
	assert.False(t, c.ExtendedTypesEnabled)
	assert.False(t, c.SkipACL)
	assert.False(t, c.ReadOnlyMode)
	assert.Equal(t, 1000, c.GlobalOutstandingLimit)
	assert.Equal(t, int64(65536), c.PreAllocSize)
	assert.Equal(t, 100000, c.SnapCount)
	assert.True(t, c.ForceSync)
	assert.Equal(t, 3, c.AutopurgeSnapRetainCount)
	assert.Equal(t, 0, c.AutopurgePurgeInterval)
	assert.Equal(t, RoleParticipant, c.PeerType)
	assert.True(t, c.StandaloneEnabled)
	assert.False(t, c.ReconfigEnabled)
	assert.Equal(t, 60000, c.ContainerCheckIntervalMs)
	assert.Equal(t, 10000, c.ContainerMaxPerMinute)
	assert.Equal(t, 0, c.ContainerMaxNeverUsedIntervalMs)
	assert.Equal(t, "console", c.LogFormat)
	assert.Equal(t, "info", c.LogLevel)
	require.NoError(t, c.Validate())
}

func TestParseFollowsZooKeeperDefaults(t *testing.T) {
	c, w := mustParse(t, "tickTime=2000\ndataDir=/var/zk\nclientPort=2181\n")
	assert.Empty(t, w)
	assert.Equal(t, "zoo.cfg", c.Source)
	assert.Equal(t, "0.0.0.0", c.ClientPortAddress, "ZooKeeper binds all interfaces when clientPortAddress is unset")
	assert.Equal(t, "0.0.0.0", c.Admin.ServerAddress)
	assert.Equal(t, 2180, c.Admin.ServerPort)
	assert.Equal(t, "/var/zk", c.DataLogDir, "dataLogDir defaults to dataDir")
	assert.Equal(t, 4000, c.MinSessionTimeout, "2*tickTime")
	assert.Equal(t, 40000, c.MaxSessionTimeout, "20*tickTime")

	c, _ = mustParse(t, "dataDir=/d\nclientPort=1\nminSessionTimeout=-1\nmaxSessionTimeout=-1\n")
	assert.Equal(t, 6000, c.MinSessionTimeout, "tickTime unset means 3000")
	assert.Equal(t, 60000, c.MaxSessionTimeout)
}

func TestParseDebianSample(t *testing.T) {
	paths := []string{"testdata/debian.cfg"}
	if _, err := os.Stat("/etc/zookeeper/conf/zoo.cfg"); err == nil {
		paths = append(paths, "/etc/zookeeper/conf/zoo.cfg")
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			c, w, err := Load(p, nil)
			require.NoError(t, err)
			assert.Empty(t, w, "a stock Debian zoo.cfg must produce no warnings")
			assert.Equal(t, 2000, c.TickTime)
			assert.Equal(t, 10, c.InitLimit)
			assert.Equal(t, 5, c.SyncLimit)
			assert.Equal(t, "/tmp/zookeeper", c.DataDir)
			assert.Equal(t, 2181, c.ClientPort)
			assert.Equal(t, 60, c.MaxClientCnxns)
			assert.Equal(t, p, c.Source)
		})
	}
}

func TestMaxCnxns(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int
		err  string
	}{
		{"", 0, ""},
		{"maxCnxns=500", 500, ""},
		{"zookeeper.maxCnxns=7", 7, ""},
		{"maxCnxns=0", 0, ""},
		{"maxCnxns=-1", 0, "maxCnxns"},
		{"maxCnxns=lots", 0, "maxCnxns"},
	} {
		p := filepath.Join(t.TempDir(), "zoo.cfg")
		require.NoError(t, os.WriteFile(p, []byte("tickTime=2000\ndataDir="+t.TempDir()+"\nclientPort=2181\n"+tc.line+"\n"), 0o600))
		c, _, err := Load(p, nil)
		if tc.err != "" {
			require.Error(t, err, tc.line)
			assert.Contains(t, err.Error(), tc.err, tc.line)
			continue
		}
		require.NoError(t, err, tc.line)
		assert.Equal(t, tc.want, c.MaxCnxns, tc.line)
	}
}

func TestTxnLogSizeLimit(t *testing.T) {
	assert.Equal(t, -1, Default().TxnLogSizeLimitKB, "off by default, as in ZooKeeper")
	p := filepath.Join(t.TempDir(), "zoo.cfg")
	require.NoError(t, os.WriteFile(p, []byte("tickTime=2000\ndataDir="+t.TempDir()+"\nclientPort=2181\ntxnLogSizeLimitInKb=65536\n"), 0o600))
	c, w, err := Load(p, nil)
	require.NoError(t, err)
	assert.Empty(t, w, "a key Warren acts on")
	assert.Equal(t, 65536, c.TxnLogSizeLimitKB)
}

func TestParseKafkaConfig(t *testing.T) {
	c, w, err := Load("testdata/kafka.cfg", nil)
	require.NoError(t, err)
	assert.Equal(t, 0, c.MaxClientCnxns, "0 means unlimited")
	assert.False(t, c.Admin.EnableServer)
	assert.Equal(t, []string{"conf", "mntr", "ruok", "srvr"}, c.FourLetterWhitelist)
	assert.Equal(t, 24, c.AutopurgePurgeInterval)
	assert.True(t, c.SASLACLEnabled(), "authProvider.1=...SASLAuthenticationProvider registers the sasl scheme")
	assert.Equal(t, []string{
		"warn testdata/kafka.cfg: TLS and SASL settings are not supported yet and are ignored: requireClientAuthScheme",
		"info testdata/kafka.cfg: ZooKeeper settings accepted but not acted on: jaasLoginRenew, kerberos.removeHostFromPrincipal, kerberos.removeRealmFromPrincipal",
	}, warningStrings(w))
}

func TestParseServers(t *testing.T) {
	// testdata/ensemble.cfg names /var/lib/zookeeper; read it with a dataDir
	// of our own that holds myid (same line numbers).
	raw, err := os.ReadFile("testdata/ensemble.cfg")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "myid"), []byte("4\n"), 0o600))
	in := strings.Replace(string(raw), "dataDir=/var/lib/zookeeper", "dataDir="+dir, 1)
	c, w, err := Parse(strings.NewReader(in), "testdata/ensemble.cfg")
	require.NoError(t, err)
	assert.True(t, c.Distributed())
	assert.Equal(t, int64(4), c.ServerID)
	assert.Equal(t, RoleObserver, c.PeerType, "server.4 is an observer")
	require.Len(t, c.Servers, 4)
	assert.Equal(t, Server{ID: 1, Host: "zk1.example.com", QuorumPort: 2888, ElectionPort: 3888,
		Role: RoleParticipant, Line: 6}, c.Servers[0])
	assert.Equal(t, "0.0.0.0:2181", c.Servers[1].ClientAddr)
	assert.Equal(t, Server{ID: 3, Host: "fd00::3", QuorumPort: 2888, ElectionPort: 3888,
		Role: RoleParticipant, ClientAddr: "10.0.0.3:2181", Line: 8}, c.Servers[2])
	assert.Equal(t, RoleObserver, c.Servers[3].Role)
	assert.Empty(t, warningStrings(w))

	dir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "myid"), []byte("1"), 0o600))
	c, _ = mustParse(t, "dataDir="+dir+"\nclientPort=2181\nmultiAddress.enabled=true\ninitLimit=5\nsyncLimit=2\n"+
		"server.2=a:1:2|b:3:4;[::1]:2181\nserver.1=c:1:2\n")
	require.Len(t, c.Servers, 2)
	assert.Equal(t, int64(1), c.Servers[0].ID, "sorted by id")
	assert.Equal(t, []PeerAddress{{Host: "b", QuorumPort: 3, ElectionPort: 4}}, c.Servers[1].Alternates)
	assert.Equal(t, "[::1]:2181", c.Servers[1].ClientAddr)
}

func TestJVMFlags(t *testing.T) {
	env := envMap(map[string]string{
		"SERVER_JVMFLAGS": "-Xmx1g -Djute.maxbuffer=0x400000 -Dzookeeper.skipACL=yes -Dlog4j.configuration=file:/x " +
			"-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU= " +
			"-Djava.security.auth.login.config=/etc/kafka/zookeeper_jaas.conf -Dreadonlymode.enabled=true " +
			"-Dzookeeper.extendedTypesEnabled=true -Dzookeeper.clientPort=1 -Dzookeeper.4lw.commands.whitelist=ruok",
		"JVMFLAGS": "-Djute.maxbuffer=2000000 -Dzookeeper.log.dir=/var/log/zookeeper",
	})
	path := writeFile(t, "dataDir=/d\nclientPort=2181\nextendedTypesEnabled=false\n")
	c, w, err := Load(path, env)
	require.NoError(t, err)
	assert.Equal(t, 2000000, c.JuteMaxBuffer, "JVMFLAGS comes after SERVER_JVMFLAGS on the java command line")
	assert.True(t, c.SkipACL)
	assert.Equal(t, "super:D/InIHSb7yEEbrWz8b9l71RjZJU=", c.SuperDigest)
	assert.Equal(t, "/etc/kafka/zookeeper_jaas.conf", c.JAASConfig)
	assert.True(t, c.ReadOnlyMode)
	assert.True(t, c.FourLetterWordAllowed("isro"), "isro is allowed when read-only mode is on")
	assert.True(t, c.FourLetterWordAllowed("ruok"))
	assert.False(t, c.ExtendedTypesEnabled, "zoo.cfg overrides -D, as QuorumPeerConfig's System.setProperty does")
	assert.Equal(t, 2181, c.ClientPort, "zoo.cfg keys are not system properties")
	assert.Equal(t, []string{
		"info " + path + ":3: extendedTypesEnabled: overrides -Dzookeeper.extendedTypesEnabled=true from SERVER_JVMFLAGS",
	}, warningStrings(w), "unrelated -D options and -X flags are ignored quietly")

	t.Run("bad value names the variable", func(t *testing.T) {
		_, _, err := Load(path, envMap(map[string]string{"SERVER_JVMFLAGS": "-Djute.maxbuffer=lots"}))
		require.EqualError(t, err, `SERVER_JVMFLAGS: jute.maxbuffer: "lots" is not a valid integer`)
	})
	t.Run("bad value overridden by zoo.cfg is not read", func(t *testing.T) {
		p := writeFile(t, "dataDir=/d\nclientPort=2181\njute.maxbuffer=4096\n")
		c, _, err := Load(p, envMap(map[string]string{"SERVER_JVMFLAGS": "-Djute.maxbuffer=lots"}))
		require.NoError(t, err)
		assert.Equal(t, 4096, c.JuteMaxBuffer)
	})
	t.Run("without zoo.cfg", func(t *testing.T) {
		c, w, err := LoadDefault(env)
		require.NoError(t, err)
		assert.Empty(t, w)
		assert.Equal(t, 2000000, c.JuteMaxBuffer)
		assert.True(t, c.ExtendedTypesEnabled)
		assert.Equal(t, "127.0.0.1", c.ClientPortAddress)
		assert.Equal(t, "./data", c.DataDir)
	})
	t.Run("nil env", func(t *testing.T) {
		c, w, err := LoadDefault(nil)
		require.NoError(t, err)
		assert.Empty(t, w)
		assert.Equal(t, Default(), c)
	})
}

func TestSystemPropertiesWithOrWithoutPrefix(t *testing.T) {
	c, w := mustParse(t, "dataDir=/d\nclientPort=2181\n"+
		"zookeeper.snapCount=5000\nskipACL=yes\nforceSync=no\nglobalOutstandingLimit=#10\n"+
		"preAllocSize=010\nzookeeper.jute.maxbuffer=0x100000\nznode.container.checkIntervalMs=1000\n"+
		"zookeeper.znode.container.maxPerMinute=5\nznode.container.maxNeverUsedIntervalMs=7\n"+
		"admin.serverPort=9990\nadmin.serverAddress=::1\nadmin.commandURL=/cmd\nadmin.idleTimeout=5000\n"+
		"DigestAuthenticationProvider.superDigest=super:x\nreadonlymode.enabled=TRUE\nzookeeper.enforceQuota=true\n")
	assert.Empty(t, w)
	assert.Equal(t, 5000, c.SnapCount)
	assert.True(t, c.SkipACL)
	assert.False(t, c.ForceSync)
	assert.Equal(t, 16, c.GlobalOutstandingLimit, "Integer.decode reads #10 as hex")
	assert.Equal(t, int64(8), c.PreAllocSize, "Long.decode reads 010 as octal")
	assert.Equal(t, 0x100000, c.JuteMaxBuffer)
	assert.Equal(t, 1000, c.ContainerCheckIntervalMs)
	assert.Equal(t, 5, c.ContainerMaxPerMinute)
	assert.Equal(t, 7, c.ContainerMaxNeverUsedIntervalMs)
	assert.Equal(t, Admin{EnableServer: true, ServerAddress: "::1", ServerPort: 9990, CommandURL: "/cmd", IdleTimeout: 5000, SnapshotEnabled: true, RateLimiterIntervalMs: 300000}, c.Admin)
	assert.Equal(t, "super:x", c.SuperDigest)
	assert.True(t, c.ReadOnlyMode)
	assert.True(t, c.EnforceQuota)
	assert.False(t, Default().EnforceQuota)
}

func TestZooKeeperKeysAndWarrenKeys(t *testing.T) {
	c, w := mustParse(t, "dataDir = /data/zk \ndataLogDir=/log/zk\nclientPort : 2182\nclientPortAddress=[::1]\n"+
		"tickTime=1000\nmaxClientCnxns=10\nminSessionTimeout=3000\nmaxSessionTimeout=9000\n"+
		"clientPortListenBacklog=128\ninitLimit=3\nsyncLimit=2\npeerType=OBSERVER\nstandaloneEnabled=TRUE\n"+
		"reconfigEnabled=true\nautopurge.snapRetainCount=5\nautopurge.purgeInterval=1\n"+
		"metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n"+
		"metricsProvider.httpPort=7000\nwarren.log.format=JSON\nwarren.log.level=debug\nelectionAlg=3\n")
	assert.Empty(t, w)
	assert.Equal(t, "/data/zk", c.DataDir, "values are trimmed as QuorumPeerConfig does")
	assert.Equal(t, "/log/zk", c.DataLogDir)
	assert.Equal(t, 2182, c.ClientPort)
	assert.Equal(t, "::1", c.ClientPortAddress, "brackets removed so net.JoinHostPort works")
	assert.Equal(t, 1000, c.TickTime)
	assert.Equal(t, 10, c.MaxClientCnxns)
	assert.Equal(t, 3000, c.MinSessionTimeout)
	assert.Equal(t, 9000, c.MaxSessionTimeout)
	assert.Equal(t, 128, c.ClientPortListenBacklog)
	assert.Equal(t, 3, c.InitLimit)
	assert.Equal(t, 2, c.SyncLimit)
	assert.Equal(t, RoleObserver, c.PeerType, "no server.N lines: peerType is kept as written")
	assert.True(t, c.StandaloneEnabled, "booleans ignore case, as Java's parseBoolean")
	assert.True(t, c.ReconfigEnabled)
	assert.Equal(t, 5, c.AutopurgeSnapRetainCount)
	assert.Equal(t, 1, c.AutopurgePurgeInterval)
	assert.Equal(t, "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider", c.MetricsProvider)
	assert.Equal(t, map[string]string{"httpPort": "7000"}, c.MetricsProviderConfig)
	assert.Equal(t, "json", c.LogFormat)
	assert.Equal(t, "debug", c.LogLevel)
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"unknown key", "dataDir=/d\nclientPort=1\nclientPrt=2181\n",
			[]string{"warn zoo.cfg:3: clientPrt: unknown key (ignored)"}},
		{"zookeeper. prefix on a zoo.cfg key is unknown", "dataDir=/d\nclientPort=1\nzookeeper.clientPort=2\n",
			[]string{"warn zoo.cfg:3: zookeeper.clientPort: unknown key (ignored)"}},
		{"duplicate", "dataDir=/d\nclientPort=1\nclientPort=2\n",
			[]string{"warn zoo.cfg:3: clientPort: set again; overrides line 2 (the last value wins)"}},
		{"duplicate through prefix", "dataDir=/d\nclientPort=1\nskipACL=yes\nzookeeper.skipACL=no\n",
			[]string{"warn zoo.cfg:4: zookeeper.skipACL: set again; overrides line 3 (the last value wins)"}},
		{"missing clientPort", "dataDir=/d\n",
			[]string{"warn zoo.cfg: clientPort: not set; listening on 2181"}},
		{"small snapRetainCount", "dataDir=/d\nclientPort=1\nautopurge.snapRetainCount=1\n",
			[]string{"warn zoo.cfg:3: autopurge.snapRetainCount: 1 is below the minimum; using 3"}},
		{"unknown four-letter words", "dataDir=/d\nclientPort=1\n4lw.commands.whitelist=stat, bogus,kill\n",
			[]string{"warn zoo.cfg:3: 4lw.commands.whitelist: unknown four-letter words ignored: bogus, kill"}},
		{"ignored TLS", "dataDir=/d\nclientPort=1\nsecureClientPort=2281\nssl.keyStore.location=/k\nzookeeper.ssl.clientAuth=need\n",
			[]string{"warn zoo.cfg: TLS and SASL settings are not supported yet and are ignored: secureClientPort, ssl.keyStore.location, zookeeper.ssl.clientAuth"}},
		{"ignored tuning", "dataDir=/d\nclientPort=1\nzookeeper.commitProcessor.numWorkerThreads=4\ngroup.1=1:2:3\nweight.1=1\n",
			[]string{"info zoo.cfg: ZooKeeper settings accepted but not acted on: zookeeper.commitProcessor.numWorkerThreads, group.1, weight.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, w := mustParse(t, tt.in)
			assert.Equal(t, tt.want, warningStrings(w))
		})
	}
}

func TestErrors(t *testing.T) {
	const base = "dataDir=/d\nclientPort=2181\n"
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"port not a number", "dataDir=/d\nclientPort=abc\n", `zoo.cfg:2: clientPort: "abc" is not a valid port (1-65535)`},
		{"port too large", "dataDir=/d\nclientPort=70000\n", `zoo.cfg:2: clientPort: "70000" is not a valid port (1-65535)`},
		{"port zero", "dataDir=/d\nclientPort=0\n", `zoo.cfg:2: clientPort: "0" is not a valid port (1-65535)`},
		{"tickTime zero", base + "tickTime=0\n", `zoo.cfg:3: tickTime: "0" must be at least 1`},
		{"tickTime negative", base + "tickTime=-5\n", `zoo.cfg:3: tickTime: "-5" must be at least 1`},
		{"tickTime float", base + "tickTime=2.5\n", `zoo.cfg:3: tickTime: "2.5" is not a valid integer`},
		{"negative maxClientCnxns", base + "maxClientCnxns=-1\n", `zoo.cfg:3: maxClientCnxns: "-1" must be at least 0`},
		{"session timeouts", base + "tickTime=2000\nminSessionTimeout=50000\n",
			`zoo.cfg:4: minSessionTimeout (50000) must not be larger than maxSessionTimeout (40000)`},
		{"session timeouts, max set", base + "maxSessionTimeout=1000\n",
			`zoo.cfg:3: minSessionTimeout (6000) must not be larger than maxSessionTimeout (1000)`},
		{"session timeout below -1", base + "minSessionTimeout=-2\n", `zoo.cfg:3: minSessionTimeout: "-2" must be at least -1`},
		{"bad address", base + "clientPortAddress=not valid!\n", `zoo.cfg:3: clientPortAddress: "not valid!" is not a valid address or host name`},
		{"bad IPv4", base + "clientPortAddress=300.1.2.3\n", `zoo.cfg:3: clientPortAddress: "300.1.2.3" is not a valid address or host name`},
		{"bracketed IPv4", base + "clientPortAddress=[1.2.3.4]\n", `zoo.cfg:3: clientPortAddress: "[1.2.3.4]" is not a valid IPv6 address`},
		{"clientPortAddress without clientPort", "dataDir=/d\nclientPortAddress=127.0.0.1\n",
			`zoo.cfg:2: clientPortAddress is set but clientPort is not`},
		{"missing dataDir", "clientPort=2181\n", `zoo.cfg: dataDir is not set (ZooKeeper requires it in zoo.cfg)`},
		{"empty dataDir", "dataDir=\nclientPort=2181\n", `zoo.cfg:1: dataDir: "" is empty`},
		{"backlog", base + "clientPortListenBacklog=0\n", `zoo.cfg:3: clientPortListenBacklog: "0" must be positive (or -1 for the OS default)`},
		{"peerType", base + "peerType=leader\n", `zoo.cfg:3: peerType: "leader" is not a valid peerType (participant or observer)`},
		{"electionAlg", base + "electionAlg=1\n", `zoo.cfg:3: electionAlg: "1" is not supported: only 3 (fast leader election) is, as in ZooKeeper 3.6+`},
		{"boolean", base + "standaloneEnabled=maybe\n", `zoo.cfg:3: standaloneEnabled: "maybe" is not a valid boolean (true or false)`},
		{"system boolean", base + "extendedTypesEnabled=yes\n", `zoo.cfg:3: extendedTypesEnabled: "yes" is not a valid boolean (true or false)`},
		{"ignored key still checked", base + "localSessionsEnabled=1\n", `zoo.cfg:3: localSessionsEnabled: "1" is not a valid boolean (true or false)`},
		{"skipACL true", base + "skipACL=true\n", `zoo.cfg:3: skipACL: "true" is not "yes" or "no" (ZooKeeper reads only these)`},
		{"forceSync false", base + "zookeeper.forceSync=false\n", `zoo.cfg:3: zookeeper.forceSync: "false" is not "yes" or "no" (ZooKeeper reads only these)`},
		{"jute.maxbuffer", base + "jute.maxbuffer=1M\n", `zoo.cfg:3: jute.maxbuffer: "1M" is not a valid integer`},
		{"jute.maxbuffer zero", base + "jute.maxbuffer=0\n", `zoo.cfg:3: jute.maxbuffer: "0" must be at least 1`},
		{"jute.maxbuffer overflow", base + "jute.maxbuffer=0x80000000\n", `zoo.cfg:3: jute.maxbuffer: "0x80000000" is not a valid integer`},
		{"superDigest", base + "DigestAuthenticationProvider.superDigest=nocolon\n",
			`zoo.cfg:3: DigestAuthenticationProvider.superDigest: "nocolon" is not a valid digest ("user:base64(sha1(user:password))")`},
		{"admin port", base + "admin.serverPort=8o80\n", `zoo.cfg:3: admin.serverPort: "8o80" is not a valid port (1-65535)`},
		{"admin url", base + "admin.commandURL=commands\n", `zoo.cfg:3: admin.commandURL: "commands" must start with /`},
		{"admin enable", base + "admin.enableServer=off\n", `zoo.cfg:3: admin.enableServer: "off" is not a valid boolean (true or false)`},
		{"log format", base + "warren.log.format=xml\n", `zoo.cfg:3: warren.log.format: "xml" is not a valid log format (console or json)`},
		{"log level", base + "warren.log.level=loud\n", `zoo.cfg:3: warren.log.level: "loud" is not a valid log level (debug, info, warn or error)`},
		{"server syntax", base + "server.1=host:2888\n",
			`zoo.cfg:3: server.1: "host:2888" is not a valid server entry (` + serverFormat + `)`},
		{"server id", base + "server.x=h:1:2\n", `zoo.cfg:3: server.x has an id that is not a non-negative number (server.N)`},
		{"server role", base + "server.1=h:2888:3888:leader\n",
			`zoo.cfg:3: server.1: "h:2888:3888:leader" has an unknown role "leader" (participant or observer)`},
		{"server same ports", base + "server.1=h:2888:2888\n", `zoo.cfg:3: server.1: "h:2888:2888" uses the same port for quorum and election`},
		{"server bad port", base + "server.1=h:2888:99999\n",
			`zoo.cfg:3: server.1: "h:2888:99999" has an election port that is not a valid port (1-65535)`},
		{"server bad client port", base + "server.1=h:2888:3888;x\n",
			`zoo.cfg:3: server.1: "h:2888:3888;x" has a client port that is not a valid port (1-65535)`},
		{"server bad ipv6", base + "server.1=[::1:2888:3888\n",
			`zoo.cfg:3: server.1: "[::1:2888:3888" starts with '[' but has no matching ']:'`},
		{"server repeated id", base + "server.1=a:1:2\nserver.01=b:1:2\n", `zoo.cfg:4: server.1 repeats server id 1 (also on line 3)`},
		{"server multi address disabled", base + "server.1=a:1:2|b:3:4\n",
			`zoo.cfg:3: server.1 lists several addresses but multiAddress.enabled is not true`},
		{"observers only", base + "server.1=a:1:2:observer\n", `zoo.cfg: server.N lists only observers; an ensemble needs participants`},
		{"malformed escape", base + "dataLogDir=\\u00zz\n", `zoo.cfg:3: malformed \uxxxx encoding`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := parseString(t, tt.in)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Equal(t, tt.want, err.Error())
			var ce *Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "zoo.cfg", ce.File)
		})
	}
}

func TestErrorsAreAllReported(t *testing.T) {
	_, _, err := parseString(t, "clientPort=abc\ntickTime=x\n")
	require.Error(t, err)
	assert.Equal(t, `zoo.cfg:1: clientPort: "abc" is not a valid port (1-65535)
zoo.cfg:2: tickTime: "x" is not a valid integer
zoo.cfg: dataDir is not set (ZooKeeper requires it in zoo.cfg)`, err.Error())
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 1, ce.Line)
	assert.Equal(t, "clientPort", ce.Key)
	assert.Equal(t, "abc", ce.Value)
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "nope.cfg"), nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist))
	assert.Contains(t, err.Error(), "nope.cfg: cannot be read")
}

func TestFourLetterWordAllowed(t *testing.T) {
	tests := []struct {
		name     string
		cfg      string
		allowed  []string
		rejected []string
	}{
		{"default is srvr only", "", []string{"srvr"}, []string{"ruok", "stat", "isro", "conf"}},
		{"list, any separator and case", "4lw.commands.whitelist=stat, RUOK conf\n",
			[]string{"srvr", "stat", "ruok", "conf"}, []string{"mntr", "isro"}},
		{"srvr cannot be removed", "4lw.commands.whitelist=ruok\n", []string{"srvr", "ruok"}, []string{"stat"}},
		{"star", "4lw.commands.whitelist=*\n", FourLetterWords, []string{"kill", "RUOK", ""}},
		{"read-only adds isro", "readonlymode.enabled=true\n", []string{"srvr", "isro"}, []string{"ruok"}},
		{"empty list", "4lw.commands.whitelist=\n", []string{"srvr"}, []string{"ruok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustParse(t, "dataDir=/d\nclientPort=1\n"+tt.cfg)
			for _, w := range tt.allowed {
				assert.True(t, c.FourLetterWordAllowed(w), w)
			}
			for _, w := range tt.rejected {
				assert.False(t, c.FourLetterWordAllowed(w), w)
			}
		})
	}
}

func TestConfLines(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "snap"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "snap", "a"), make([]byte, 10), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b"), make([]byte, 5), 0o600))
	c, _ := mustParse(t, "tickTime=2000\ndataDir="+dir+"\nclientPort=22337\n")
	// The order and keys of ZooKeeper 3.8.0's `conf` on a standalone server.
	assert.Equal(t, []string{
		"clientPort=22337",
		"secureClientPort=-1",
		"dataDir=" + dir,
		"dataDirSize=15",
		"dataLogDir=" + dir,
		"dataLogSize=15",
		"tickTime=2000",
		"maxClientCnxns=60",
		"minSessionTimeout=4000",
		"maxSessionTimeout=40000",
		"clientPortListenBacklog=-1",
		"serverId=0",
	}, c.ConfLines())
	assert.Equal(t, strings.Join([]string{
		"clientPort=22337", "secureClientPort=-1", "dataDir=" + dir, "dataLogDir=" + dir,
		"tickTime=2000", "maxClientCnxns=60", "minSessionTimeout=4000", "maxSessionTimeout=40000",
		"clientPortListenBacklog=-1", "serverId=0",
	}, "\n"), c.String())

	d := Default()
	abs, err := filepath.Abs("./data")
	require.NoError(t, err)
	assert.Contains(t, d.ConfLines(), "dataDir="+abs, "relative directories are shown absolute, as ZooKeeper does")
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"tick", func(c *Config) { c.TickTime = 0 }, "tickTime must be positive"},
		{"data dir", func(c *Config) { c.DataDir = "" }, "dataDir is not set"},
		{"port", func(c *Config) { c.ClientPort = 70000 }, "clientPort is not a valid port"},
		{"address", func(c *Config) { c.ClientPortAddress = "a b" }, "clientPortAddress is not a valid address or host name"},
		{"cnxns", func(c *Config) { c.MaxClientCnxns = -1 }, "maxClientCnxns must not be negative"},
		{"timeouts", func(c *Config) { c.MinSessionTimeout, c.MaxSessionTimeout = 10, 5 },
			"minSessionTimeout (10) must not be larger than maxSessionTimeout (5)"},
		{"admin port", func(c *Config) { c.Admin.ServerPort = -1 }, "admin.serverPort is not a valid port"},
		{"admin url", func(c *Config) { c.Admin.CommandURL = "x" }, "admin.commandURL must start with /"},
		{"max timeout", func(c *Config) { c.MaxSessionTimeout = -2 },
			"maxSessionTimeout must be -1 (default) or not negative\nminSessionTimeout (6000) must not be larger than maxSessionTimeout (-2)"},
		{"jute", func(c *Config) { c.JuteMaxBuffer = 0 }, "jute.maxbuffer must be positive"},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, "warren.log.format must be console or json"},
		{"ensemble member not listed", func(c *Config) {
			c.Servers = []Server{{ID: 1, Role: RoleParticipant}, {ID: 2, Role: RoleParticipant}}
			c.ServerID, c.InitLimit, c.SyncLimit = 3, 10, 5
		}, "myid 3 is not among the server.N ids (1, 2)"},
		{"ensemble limits", func(c *Config) {
			c.Servers = []Server{{ID: 1, Role: RoleParticipant}}
			c.StandaloneEnabled, c.ServerID = false, 1
		}, "initLimit must be positive in an ensemble\nsyncLimit must be positive in an ensemble"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(c)
			assert.EqualError(t, c.Validate(), tt.want)
		})
	}
	c := Default()
	c.ClientPort, c.Admin.ServerPort = 0, 0
	c.MinSessionTimeout, c.MaxSessionTimeout = -1, -1
	assert.NoError(t, c.Validate(), "port 0 (any free port) and -1 timeouts are valid in code")
	c.Admin.EnableServer, c.Admin.ServerPort = false, -5
	assert.NoError(t, c.Validate(), "a disabled admin server is not checked")
}

func TestParseDecode(t *testing.T) {
	tests := []struct {
		in   string
		bits int
		want int64
		ok   bool
	}{
		{"1048575", 32, 1048575, true},
		{"0xfffff", 32, 0xfffff, true},
		{"0XFF", 32, 255, true},
		{"#ff", 32, 255, true},
		{"010", 32, 8, true},
		{"0", 32, 0, true},
		{"-0x10", 32, -16, true},
		{"+7", 32, 7, true},
		{"2147483647", 32, 2147483647, true},
		{"-2147483648", 32, -2147483648, true},
		{"2147483648", 32, 0, false},
		{"2147483648", 64, 2147483648, true},
		{"08", 32, 0, false},
		{"0x", 32, 0, false},
		{"--1", 32, 0, false},
		{"1_000", 32, 0, false},
		{"", 32, 0, false},
	}
	for _, tt := range tests {
		got, err := parseDecode(tt.in, tt.bits)
		if tt.ok {
			assert.NoError(t, err, tt.in)
			assert.Equal(t, tt.want, got, tt.in)
		} else {
			assert.Error(t, err, tt.in)
		}
	}
}
