package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatsTrack(t *testing.T) {
	for _, tt := range []struct{ in, out string }{
		{"", "count=-1,bytes=-1"},
		{"count=0,bytes=0", "count=0,bytes=0"},
		{"count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1", "count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1"},
		{"countHardLimit=3;count=2,,bytes=4=", "count=2,bytes=4=;countHardLimit=3"},
		{"count==5", "count=-1,bytes=-1"},
		{"bytes=7,foo=1", "count=-1,bytes=7=;foo=1"},
	} {
		st, err := parseStatsTrack(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.out, st.String(), tt.in)
	}
	for _, bad := range []string{"count", "count=x", ",count=1", "bytes="} {
		_, err := parseStatsTrack(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseFlagsGroup(t *testing.T) {
	f, err := parseFlagsGroup([]string{"setquota", "-N", "-3", "/a"}, "n:b:N:B:", quotaGroup, quotaRequired)
	require.NoError(t, err)
	assert.Equal(t, "-3", f.set['N'])
	assert.Equal(t, []string{"setquota", "/a"}, f.args)
	_, err = parseFlagsGroup([]string{"setquota", "-b", "1", "-n", "2", "/a"}, "n:b:N:B:", quotaGroup, quotaRequired)
	assert.EqualError(t, err, "org.apache.commons.cli.AlreadySelectedException: The option 'n' was specified but an option from this group has already been selected: 'b'")
	_, err = parseFlagsGroup([]string{"setquota", "/a"}, "n:b:N:B:", quotaGroup, quotaRequired)
	assert.EqualError(t, err, "org.apache.commons.cli.MissingOptionException: Missing required option: "+quotaRequired)
	f, err = parseFlagsGroup([]string{"delquota", "/a"}, "nbNB", quotaGroup, "")
	require.NoError(t, err)
	assert.Empty(t, f.set)
}

func TestParseReconfig(t *testing.T) {
	a, err := parseReconfig(strings.Fields("reconfig -s -v 1a -add Server.4=H:1:2;3 -remove 1,2 -add ignored"))
	require.NoError(t, err)
	assert.True(t, a.stat)
	assert.Equal(t, int64(0x1a), a.version)
	assert.Equal(t, "server.4=h:1:2;3", a.add, "values are lower-cased; the first of a repeated option wins")
	assert.Equal(t, "1,2", a.remove)
	a, err = parseReconfig(strings.Fields("reconfig -sv5 -members server.1=a:1:2"))
	require.NoError(t, err)
	assert.Equal(t, int64(5), a.version)
	assert.Equal(t, "server.1=a:1:2", a.members)
	a, err = parseReconfig(strings.Fields("reconfig -remove 3"))
	require.NoError(t, err)
	assert.Equal(t, int64(-1), a.version)
	for line, msg := range map[string]string{
		"reconfig -s":                   usageLine("reconfig"),
		"reconfig -v x -remove 1":       "-v must be followed by a long (configuration version)",
		"reconfig -v -remove 1":         "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v",
		"reconfig -remove":              "org.apache.commons.cli.MissingArgumentException: Missing argument for option: remove",
		"reconfig -q":                   "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -q",
		"reconfig -members a -remove 1": "Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)",
		"reconfig -members a -file b":   "Can't use -file and -members together (conflicting non-incremental modes)",
	} {
		_, err := parseReconfig(strings.Fields(line))
		assert.EqualError(t, err, msg, line)
	}
}

// TestReadDynamicConfig: the outputs and messages are those of ZooKeeper
// 3.8's QuorumPeerConfig.parseDynamicConfig(...).toString() on the same
// files (ReconfigCommand's -file).
func TestReadDynamicConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ name, in, out string }{
		{"servers", "server.17=127.0.0.1:1:2;3\nserver.1 = 127.0.0.1:4:5:observer;localhost:6\nserver.33=127.0.0.1:7:8:participant\nserver.2=[::1]:9:10;11\nversion=1a\n",
			"server.33=127.0.0.1:7:8:participant\nserver.1=127.0.0.1:4:5:observer;localhost:6\nserver.17=127.0.0.1:1:2:participant;0.0.0.0:3\nserver.2=[0:0:0:0:0:0:0:1]:9:10:participant;0.0.0.0:11\nversion=1a"},
		{"hierarchical", "server.1=127.0.0.1:1:2;3\nserver.2=127.0.0.1:4:5;6\nserver.3=127.0.0.1:7:8;9\nserver.17=127.0.0.1:7:8;9\ngroup.2=1:2\ngroup.1=3:17\nweight.1=1\nweight.2=1\nweight.3=2\nweight.17=0\n",
			"server.1=127.0.0.1:1:2:participant;0.0.0.0:3\nserver.17=127.0.0.1:7:8:participant;0.0.0.0:9\nserver.2=127.0.0.1:4:5:participant;0.0.0.0:6\nserver.3=127.0.0.1:7:8:participant;0.0.0.0:9\ngroup.1=17:3\ngroup.2=1:2\nweight.1=1\nweight.17=0\nweight.2=1\nweight.3=2\nversion=0"},
		{"default weights", "server.1=127.0.0.1:1:2;3\nserver.2=127.0.0.1:4:5;6\ngroup.1=1:2\n",
			"server.1=127.0.0.1:1:2:participant;0.0.0.0:3\nserver.2=127.0.0.1:4:5:participant;0.0.0.0:6\ngroup.1=1:2\nweight.1=1\nweight.2=1\nversion=0"},
		{"no group", "server.1=127.0.0.1:1:2;3\nserver.2=127.0.0.1:4:5;6\ngroup.1=1\nweight.1=1\n", "Server 2is not in a group"},
		{"bad weight", "server.1=127.0.0.1:1:2;3\nserver.2=127.0.0.1:4:5;6\ngroup.1=1:2\nweight.x=1\n", `For input string: "x"`},
		{"other key", "server.1=127.0.0.1:1:2\nclientPort=2181\n", "Unrecognised parameter: clientPort"},
		{"one port", "server.1=127.0.0.1:1\n", "127.0.0.1:1" + wrongFormat},
		{"peer type", "server.1=127.0.0.1:1:2:foo\n", "Unrecognised peertype: foo"},
		{"bad port", "server.1=127.0.0.1:x:2\n", "Address unresolved: 127.0.0.1:x"},
		{"observers only", "server.1=127.0.0.1:1:2:observer\n", "Observers w/o participants is an invalid configuration"},
		{"several addresses", "# comment\nserver.1=127.0.0.1:1:2;0.0.0.0:5\nserver.2=h:1:2|h2:3:4;6\n", "Multiple address feature is disabled, but multiple addresses were specified for sid 2"},
		{"bad id", "server.x=127.0.0.1:1:2\n", `For input string: "x"`},
		{"bad client", "server.1=127.0.0.1:1:2;a:b:c\n", "127.0.0.1:1:2;a:b:c" + wrongFormat},
		{"bad client port", "server.1=127.0.0.1:1:2;x\n", "Address unresolved: null:x"},
	} {
		p := filepath.Join(dir, tt.name)
		require.NoError(t, os.WriteFile(p, []byte(tt.in), 0o600))
		out, err := readDynamicConfig(p)
		if err != nil {
			out = err.Error()
		}
		assert.Equal(t, tt.out, out, tt.name)
	}
	_, err := readDynamicConfig(filepath.Join(dir, "missing"))
	assert.EqualError(t, err, filepath.Join(dir, "missing")+" (No such file or directory)")
}

// TestJavaMapOrder: the orders java.util.Properties and HashMap<Long, ...>
// iterate in (checked with a JDK 17).
func TestJavaMapOrder(t *testing.T) {
	assert.Equal(t, []string{"server.2", "server.1", "version"}, propertiesOrder([]string{"server.1", "server.2", "version"}))
	var keys []string
	for i := 1; i <= 20; i++ {
		keys = append(keys, fmt.Sprintf("server.%d", i))
	}
	keys = append(keys, "version")
	assert.Equal(t, strings.Fields("server.18 server.19 server.16 server.17 version server.10 server.11 server.20 server.2 server.14 "+
		"server.1 server.15 server.12 server.13 server.6 server.5 server.4 server.3 server.9 server.8 server.7"), propertiesOrder(keys),
		"the table grows twice")
	assert.Equal(t, strings.Fields("zeta sigma iota nu delta mu theta epsilon xi lambda eta omicron alpha rho pi kappa beta gamma"),
		propertiesOrder(strings.Fields("zeta alpha beta gamma delta epsilon eta theta iota kappa lambda mu nu xi omicron pi rho sigma")))
	assert.Equal(t, []int64{33, 1, 17, 2}, longMapOrder([]int64{33, 1, 17, 2}))
	assert.Equal(t, []int64{17, 1, 2, 3}, longMapOrder([]int64{17, 1, 3, 2}), "by bin (id mod 16), then insertion order")
}

// TestLoadProperties: keys, values and order as java.util.Properties.load
// gives them (checked with a JDK 17): separators, escapes, continuations,
// comments, a repeated key.
func TestLoadProperties(t *testing.T) {
	in := "a\\=b = c d  \n  key2 : v\\\n   continued\\\\\nk3 \\u0041\\t\\zx\n! comment \\\nk4\nk5   =   :v\na = again\nk6=tail\\"
	props, err := loadProperties(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, [][2]string{{"key2", "vcontinued\\"}, {"a", "again"}, {"a=b", "c d  "}, {"k3", "A\tzx"}, {"k4", ""}, {"k5", ":v"}, {"k6", "tail"}},
		javaOrder(props))
}
