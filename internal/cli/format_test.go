package cli

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/sdk"
)

func TestSplitLine(t *testing.T) {
	for line, want := range map[string][]string{
		"ls /":                       {"ls", "/"},
		"  get   -s  /a ":            {"get", "-s", "/a"},
		`create /a "hello world"`:    {"create", "/a", "hello world"},
		`create /a 'x "y" z' acl`:    {"create", "/a", `x "y" z`, "acl"},
		`set /a ""`:                  {"set", "/a", ""},
		"create /a data digest:u:p=": {"create", "/a", "data", "digest:u:p="},
	} {
		assert.Equal(t, want, splitLine(line), line)
	}
	assert.Empty(t, splitLine("   "))
}

func TestParseFlags(t *testing.T) {
	f, err := parseFlags([]string{"ls", "-sw", "/a"}, "swR")
	require.NoError(t, err)
	assert.True(t, f.has('s') && f.has('w') && !f.has('R'))
	assert.Equal(t, []string{"ls", "/a"}, f.args)

	f, err = parseFlags([]string{"deleteall", "/a", "-b", "5"}, "b:")
	require.NoError(t, err)
	assert.Equal(t, "5", f.set['b'])
	assert.Equal(t, []string{"deleteall", "/a"}, f.args)

	f, err = parseFlags([]string{"set", "-v3", "/a", "x"}, "sv:")
	require.NoError(t, err)
	assert.Equal(t, "3", f.set['v'])

	f, err = parseFlags([]string{"set", "/a", "--", "-1"}, "sv:")
	require.NoError(t, err)
	assert.Equal(t, []string{"set", "/a", "-1"}, f.args)

	_, err = parseFlags([]string{"ls", "-x", "/"}, "swR")
	assert.EqualError(t, err, "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x")
	_, err = parseFlags([]string{"ls", "-sx", "/"}, "swR")
	assert.EqualError(t, err, "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x")
	_, err = parseFlags([]string{"create", "/a", "-t"}, "esct:")
	assert.EqualError(t, err, "org.apache.commons.cli.MissingArgumentException: Missing argument for option: t")
}

func TestParseACL(t *testing.T) {
	var warnings []string
	warn := func(m string) { warnings = append(warnings, m) }
	acl := parseACL("world:anyone:cdrwa,digest:u:abc=:rw,ip:10.0.0.1:x,bad", warn)
	assert.Equal(t, []sdk.ACL{
		{Perms: sdk.PermAll, ID: sdk.ID{Scheme: "world", ID: "anyone"}},
		{Perms: sdk.PermRead | sdk.PermWrite, ID: sdk.ID{Scheme: "digest", ID: "u:abc="}},
		{Perms: 0, ID: sdk.ID{Scheme: "ip", ID: "10.0.0.1"}},
	}, acl)
	assert.Equal(t, []string{"Unknown perm type: x", "bad does not have the form scheme:id:perm"}, warnings)
	assert.Equal(t, "cdrwa", permString(sdk.PermAll))
	assert.Equal(t, "rw", permString(sdk.PermRead|sdk.PermWrite))
	assert.Equal(t, "'digest,'u:abc%2C=\n: a", formatACL(sdk.ACL{Perms: sdk.PermAdmin, ID: sdk.ID{Scheme: "digest", ID: "u:abc,="}}))
}

func TestValidatePath(t *testing.T) {
	for p, want := range map[string]string{
		"/":       "",
		"/a/b":    "",
		"/a/.b":   "",
		"":        "Path length must be > 0",
		"a":       "Path must start with / character",
		"/a/":     "Path must not end with / character",
		"/a//b":   `Invalid path string "/a//b" caused by empty node name specified @3`,
		"/a/./b":  `Invalid path string "/a/./b" caused by relative paths not allowed @3`,
		"/a/..":   `Invalid path string "/a/.." caused by relative paths not allowed @4`,
		"/a\x01b": `Invalid path string "/a` + "\x01" + `b" caused by invalid character @2`,
	} {
		err := validatePath(p, false)
		if want == "" {
			assert.NoError(t, err, p)
		} else {
			assert.EqualError(t, err, want, p)
		}
	}
	assert.NoError(t, validatePath("/a/", true), "a sequential create may end with /")
}

func TestFormats(t *testing.T) {
	ms := time.Date(2026, 11, 24, 23, 21, 42, 0, time.Local).UnixMilli()
	st := sdk.Stat{Czxid: 2, Mzxid: 0x1f, Ctime: ms, Mtime: ms, Pzxid: 3, Cversion: 1, Version: 2, Aversion: 3,
		EphemeralOwner: -0x100000000000000, DataLength: 5, NumChildren: 0}
	date := time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006")
	assert.Equal(t, "cZxid = 0x2\nctime = "+date+"\nmZxid = 0x1f\nmtime = "+date+"\npZxid = 0x3\ncversion = 1\n"+
		"dataVersion = 2\naclVersion = 3\nephemeralOwner = 0xff00000000000000\ndataLength = 5\nnumChildren = 0\n", formatStat(st))
	assert.Equal(t, "[]", javaList(nil))
	assert.Equal(t, "[a, b]", javaList([]string{"a", "b"}))
	assert.Equal(t, "Node does not exist: /x", wrapperMessage(proto.ErrNoNode, "/x"))
	assert.Equal(t, "Insufficient permission : /x", wrapperMessage(proto.ErrNoAuth, "/x"))
	assert.Equal(t, "Acl is not valid : null", wrapperMessage(proto.ErrInvalidACL, ""))
	assert.Equal(t, "KeeperErrorCode = No such watcher for /x", wrapperMessage(proto.ErrNoWatcher, "/x"))
	assert.Equal(t, "KeeperErrorCode = AuthFailed", wrapperMessage(proto.ErrAuthFailed, ""))
	assert.Equal(t, "WatchedEvent state:SyncConnected type:NodeDataChanged path:/x", watchedEvent("SyncConnected", proto.EventNodeDataChanged, "/x"))
	assert.Equal(t, "WatchedEvent state:Closed type:None path:null", watchedEvent(keeperState(sdk.StateClosed), proto.EventNone, ""))
	assert.Equal(t, " ", configClientString(""))
	assert.Equal(t, "10000000a ,", configClientString("server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\nversion=10000000a"))
	// ConfigUtils.getClientConfigStr (checked with ZooKeeper 3.8's jar):
	// Properties order, a bare client port on 0.0.0.0.
	assert.Equal(t, "100000000 0.0.0.0:2182,127.0.0.1:2181",
		configClientString("server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\nserver.2=10.0.0.2:2888:3888:participant;2182\nversion=100000000"))
}
