package testutil

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDigestMatchesZooKeeper(t *testing.T) {
	// Expected values printed by ZooKeeper 3.8's own
	// DigestAuthenticationProvider main.
	for _, tc := range []struct{ user, password, want string }{
		{"super", "secret", "super:lK75jTNcA+U9vtVEw5vB51mj/w4="},
		{"alice", "pw", "alice:V55/p2T0OpjQ+low3NVAH4aLvm0="},
	} {
		assert.Equal(t, tc.want, Digest(tc.user, tc.password))
	}
}

func TestServerConfigRendering(t *testing.T) {
	cfg := ServerConfig{
		TickTime:               500e6, // 500 ms
		ExtendedTypes:          true,
		FourLetterWords:        "ruok,srvr",
		SuperDigest:            "super:x=",
		ContainerCheckInterval: 3e9,
		Extra:                  []string{"maxClientCnxns=7"},
	}
	got := cfg.zooCfg("/d", 1234, "admin.enableServer=false")
	assert.Equal(t, strings.Join([]string{
		"tickTime=500", "dataDir=/d", "clientPort=1234", "clientPortAddress=127.0.0.1",
		"4lw.commands.whitelist=ruok,srvr", "admin.enableServer=false", "extendedTypesEnabled=true",
		"DigestAuthenticationProvider.superDigest=super:x=", "maxClientCnxns=7", "",
	}, "\n"), got)
	assert.Equal(t, []string{"-Dznode.container.checkIntervalMs=3000"}, cfg.systemProperties())

	def := ServerConfig{}.zooCfg("/d", 1)
	assert.Contains(t, def, "tickTime=2000\n")
	assert.Contains(t, def, "4lw.commands.whitelist=*\n")
	assert.NotContains(t, def, "extendedTypesEnabled")
	assert.Empty(t, ServerConfig{}.systemProperties())
}

// b builds the barrier lines zkCli prints after a command.
func b(result string) string { return result + "\nprintwatches is on\n" }

const preamble = "SLF4J: Failed to load class \"org.slf4j.impl.StaticLoggerBinder\".\n" +
	"Connecting to 127.0.0.1:1\nWelcome to ZooKeeper!\nJLine support is disabled\n" +
	"\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n"

func TestParseCliOutput(t *testing.T) {
	tests := []struct {
		name string
		cmds []string
		raw  string
		want []CliStep
	}{
		{
			name: "output and stderr lines keep their order",
			cmds: []string{"create /a x", "get /a"},
			raw:  preamble + b("Sync is OK") + "Created /a\n" + b("Sync is OK") + "x\n" + b("Sync is OK"),
			want: []CliStep{
				{Cmd: "create /a x", Output: []string{"Created /a"}, Events: []string{}},
				{Cmd: "get /a", Output: []string{"x"}, Events: []string{}},
			},
		},
		{
			name: "events interleaved anywhere are separated, their blank lines dropped, real blank output kept",
			cmds: []string{"set /a y", "get /empty"},
			raw: preamble + b("Sync is OK") +
				"\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/a\n" + b("Sync is OK") +
				"\n" + "\nWATCHER::\n" + "\nWatchedEvent state:SyncConnected type:NodeDeleted path:/b\n" + b("Sync is OK"),
			want: []CliStep{
				{Cmd: "set /a y", Output: []string{}, Events: []string{"state:SyncConnected type:NodeDataChanged path:/a"}},
				{Cmd: "get /empty", Output: []string{""}, Events: []string{"state:SyncConnected type:NodeDeleted path:/b"}},
			},
		},
		{
			name: "event printed between a command's output lines",
			cmds: []string{"create /w/x"},
			raw: preamble + b("Sync is OK") + "\nWATCHER::\n" + "Created /w/x\n" +
				"\nWatchedEvent state:SyncConnected type:NodeChildrenChanged path:/w\n" + b("Sync is OK"),
			want: []CliStep{
				{Cmd: "create /w/x", Output: []string{"Created /w/x"}, Events: []string{"state:SyncConnected type:NodeChildrenChanged path:/w"}},
			},
		},
		{
			name: "a user sync and a bare printwatches are not mistaken for barriers",
			cmds: []string{"sync /a", "printwatches", "printwatches off"},
			raw:  preamble + b("Sync is OK") + "Sync is OK\n" + b("Sync is OK") + "printwatches is on\n" + b("Sync is OK") + "Sync is OK\nprintwatches is off\n",
			want: []CliStep{
				{Cmd: "sync /a", Output: []string{"Sync is OK"}, Events: []string{}},
				{Cmd: "printwatches", Output: []string{"printwatches is on"}, Events: []string{}},
				{Cmd: "printwatches off", Output: []string{}, Events: []string{}},
			},
		},
		{
			name: "close, commands while closed, connect",
			cmds: []string{"close", "ls /", "connect 127.0.0.1:1", "ls /"},
			// Verbatim zkCli 3.8 output: while closed, printwatches prints
			// "Not connected" after its marker.
			raw: preamble + b("Sync is OK") +
				"\nWATCHER::\n\nWatchedEvent state:Closed type:None path:null\n" + b("Not connected") +
				"Not connected\nNot connected\n" + b("Not connected") +
				"Not connected\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n" + b("Sync is OK") +
				"[zookeeper]\n" + b("Sync is OK") +
				"\nWATCHER::\n\nWatchedEvent state:Closed type:None path:null\n",
			want: []CliStep{
				{Cmd: "close", Output: []string{}, Events: []string{}},
				{Cmd: "ls /", Output: []string{"Not connected"}, Events: []string{}},
				{Cmd: "connect 127.0.0.1:1", Output: []string{}, Events: []string{}},
				{Cmd: "ls /", Output: []string{"[zookeeper]"}, Events: []string{}},
			},
		},
		{
			name: "log records and SLF4J notices are dropped",
			cmds: []string{"ls /"},
			raw: preamble + b("Sync is OK") + "2026-01-02 03:04:05,678 [myid:] - INFO  [main:X@1] - hello\n" +
				"SLF4J: Defaulting to no-operation (NOP) logger implementation\n[zookeeper]\n" + b("Sync is OK"),
			want: []CliStep{{Cmd: "ls /", Output: []string{"[zookeeper]"}, Events: []string{}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCliOutput(tc.raw, tc.cmds)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseCliOutputErrors(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"missing barrier", preamble + b("Sync is OK") + "Created /a\n", "found 1 barriers, want 2"},
		{"no output at all", "", "found 0 barriers, want 2"},
		{"jline prompts", "JLine support is enabled\n" + b("Sync is OK") + b("Sync is OK"), "JLine"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCliOutput(tc.raw, []string{"create /a"})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestCheckCliCommand(t *testing.T) {
	for _, tc := range []struct {
		cmd string
		ok  bool
	}{
		{"ls /", true}, {"", true}, {"quit", false}, {"history", false}, {"redo 1", false}, {"ls /\nquit", false},
	} {
		err := checkCliCommand(tc.cmd)
		assert.Equal(t, tc.ok, err == nil, "%q: %v", tc.cmd, err)
	}
}

func TestFormatCli(t *testing.T) {
	got := FormatCli([]CliStep{
		{Cmd: "create /a", Output: []string{"Created /a"}},
		{Cmd: "set /a x", Events: []string{"state:SyncConnected type:NodeDataChanged path:/a"}},
	})
	assert.Equal(t, "> create /a\nCreated /a\n> set /a x\nWATCHER:: state:SyncConnected type:NodeDataChanged path:/a\n", got)
}

func TestNormalizeCli(t *testing.T) {
	in := []CliStep{
		{Cmd: "stat /a", Output: []string{
			"cZxid = 0x1f", "ctime = Tue Nov 24 16:15:57 UTC 2026", "mZxid = 0x20", "mtime = Tue Nov 24 16:15:58 UTC 2026",
			"pZxid = 0x1f", "ephemeralOwner = 0x10000513e440001", "dataLength = 1",
		}},
		{Cmd: "config -s", Output: []string{
			"cZxid = 0x0", "ctime = Thu Jan 01 00:00:00 UTC 1970", "ephemeralOwner = 0x0",
		}},
		{Cmd: "stat /b", Output: []string{
			"cZxid = 0x3", "ephemeralOwner = 0x20000513e440007", "ephemeralOwner = 0x10000513e440001",
			"ephemeralOwner = 0x8000000000000000", "ephemeralOwner = 0xff000000000003e8",
		}},
		{Cmd: "getEphemerals", Output: []string{"[/b, /a, /c]", "[]"}},
		{Cmd: "whoami", Output: []string{"Auth scheme: User", "ip: 127.0.0.1", "digest: u1"}},
		{Cmd: "deleteall /x", Events: []string{"type:NodeDeleted path:/x/b", "type:NodeDeleted path:/x/a"}},
		{Cmd: "removewatches /x", Events: []string{"type:PersistentWatchRemoved path:/x", "type:DataWatchRemoved path:/x"}},
		{Cmd: "version", Output: []string{"ZooKeeper CLI version: 3.8.0-abc, built on 2024-12-29 17:54 UTC"}},
		{Cmd: "get /a", Output: []string{"[/b, /a]"}, Events: []string{"type:NodeDeleted path:/z", "type:NodeDeleted path:/y"}},
	}
	want := []CliStep{
		{Cmd: "stat /a", Output: []string{
			"cZxid = z2", "ctime = <time>", "mZxid = z3", "mtime = <time>", "pZxid = z2", "ephemeralOwner = s1", "dataLength = 1",
		}, Events: nil},
		{Cmd: "config -s", Output: []string{"cZxid = 0x0", "ctime = Thu Jan 01 00:00:00 UTC 1970", "ephemeralOwner = 0x0"}},
		{Cmd: "stat /b", Output: []string{
			"cZxid = z1", "ephemeralOwner = s2", "ephemeralOwner = s1",
			"ephemeralOwner = 0x8000000000000000", "ephemeralOwner = 0xff000000000003e8",
		}},
		{Cmd: "getEphemerals", Output: []string{"[/a, /b, /c]", "[]"}},
		{Cmd: "whoami", Output: []string{"Auth scheme: User", "digest: u1", "ip: 127.0.0.1"}},
		{Cmd: "deleteall /x", Output: []string{}, Events: []string{"type:NodeDeleted path:/x/a", "type:NodeDeleted path:/x/b"}},
		{Cmd: "removewatches /x", Output: []string{}, Events: []string{"type:DataWatchRemoved path:/x", "type:PersistentWatchRemoved path:/x"}},
		{Cmd: "version", Output: []string{"ZooKeeper CLI version: 3.8.0-abc, built on <date>"}},
		{Cmd: "get /a", Output: []string{"[/b, /a]"}, Events: []string{"type:NodeDeleted path:/z", "type:NodeDeleted path:/y"}},
	}
	got := NormalizeCli(in)
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].Cmd, got[i].Cmd)
		assert.Equal(t, want[i].Output, got[i].Output, "step %d (%s) output", i, want[i].Cmd)
		assert.ElementsMatch(t, want[i].Events, got[i].Events, "step %d (%s) events", i, want[i].Cmd)
		if want[i].Cmd != "stat /a" {
			assert.Equal(t, want[i].Events, got[i].Events, "step %d (%s) event order", i, want[i].Cmd)
		}
	}
	// The input is not modified.
	assert.Equal(t, "cZxid = 0x1f", in[0].Output[0])
	assert.Equal(t, "[/b, /a, /c]", in[3].Output[0])
}

func TestTailLines(t *testing.T) {
	assert.Equal(t, "b\nc", tailLines([]byte("a\nb\nc\n"), 2))
	assert.Equal(t, "a\nb", tailLines([]byte("a\nb"), 5))
}
