package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnsembleAndMyID(t *testing.T) {
	const (
		limits = "initLimit=5\nsyncLimit=2\n"
		three  = "server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n"
	)
	const noFile = "\x00" // myid value meaning "do not create the file"
	tests := []struct {
		name string
		cfg  string // after "dataDir=<tmp>\nclientPort=2181\n" (lines 1-2)
		myid string // noFile, or the content of dataDir/myid
		dir  bool   // make myid a directory

		distributed bool
		serverID    int64
		peerType    Role
		err         string // substrings of the error, "<dir>" replaced
		warn        string // a substring of some warning
	}{
		{name: "no servers is standalone", cfg: "", myid: noFile, peerType: RoleParticipant},
		{name: "no servers ignores a stray myid", cfg: "", myid: "junk", peerType: RoleParticipant},
		{name: "no servers and standaloneEnabled=false", cfg: "standaloneEnabled=false\n", myid: noFile,
			err: "zoo.cfg:3: standaloneEnabled is false, but no server.N line lists a participant"},
		{name: "single participant runs standalone", cfg: "server.1=a:2888:3888\n", myid: noFile,
			peerType: RoleParticipant, warn: "zoo.cfg:3: server.1: is the only server listed; running standalone"},
		{name: "single participant with a valid myid stays standalone", cfg: "server.1=a:2888:3888\n", myid: "1\n",
			peerType: RoleParticipant},
		{name: "single participant checks a present myid", cfg: "server.1=a:2888:3888\n", myid: "one\n",
			err: `<dir>/myid: holds "one", which is not a server id`},
		{name: "single participant with observers", cfg: "server.1=a:2888:3888\nserver.2=b:2888:3888:observer\n", myid: "1",
			err: "zoo.cfg: server.N lists observers but a single participant, which runs standalone"},
		{name: "single participant, standaloneEnabled=false", cfg: limits + "standaloneEnabled=false\nserver.1=a:2888:3888\n",
			myid: "1\n", distributed: true, serverID: 1, peerType: RoleParticipant},
		{name: "three participants", cfg: limits + three, myid: "2\n", distributed: true, serverID: 2, peerType: RoleParticipant},
		{name: "blanks around the id", cfg: limits + three, myid: "\n  3 \r\n\n", distributed: true, serverID: 3,
			peerType: RoleParticipant},
		{name: "only the first line counts", cfg: limits + three, myid: "3\n9\n", distributed: true, serverID: 3,
			peerType: RoleParticipant},
		{name: "observer member", cfg: limits + three + "server.4=d:2888:3888:observer\n", myid: "4",
			distributed: true, serverID: 4, peerType: RoleObserver},
		{name: "peerType disagrees with the server line", cfg: limits + "peerType=observer\n" + three, myid: "1",
			distributed: true, serverID: 1, peerType: RoleParticipant,
			warn: "zoo.cfg:5: peerType: is observer, but this server's line (server.1, line 6) says participant"},
		{name: "myid missing", cfg: limits + three, myid: noFile,
			err: "<dir>/myid: is missing: zoo.cfg lists an ensemble (server ids 1, 2, 3), so this member needs its id here; write this server's N into it (echo N > <dir>/myid)"},
		{name: "myid empty", cfg: limits + three, myid: " \n",
			err: "<dir>/myid: is empty: write this server's N into it, one of the server.N ids of zoo.cfg (1, 2, 3)"},
		{name: "myid not a number", cfg: limits + three, myid: "zk1\n",
			err: `<dir>/myid: holds "zk1", which is not a server id (a non-negative decimal number)`},
		{name: "myid negative", cfg: limits + three, myid: "-1",
			err: `<dir>/myid: holds "-1", which is not a server id`},
		{name: "myid hexadecimal", cfg: limits + three, myid: "0x2",
			err: `<dir>/myid: holds "0x2", which is not a server id`},
		{name: "myid not among the servers", cfg: limits + three, myid: "7\n",
			err: "<dir>/myid: holds server id 7, which no server.N line of zoo.cfg lists (ids: 1, 2, 3): write this server's N into it, or add a server.7 line"},
		{name: "myid unreadable", cfg: limits + three, dir: true,
			err: "<dir>/myid: cannot be read: read <dir>/myid: is a directory"},
		{name: "ensemble needs initLimit and syncLimit", cfg: three, myid: "1",
			err: "zoo.cfg: initLimit is not set; an ensemble member needs it (in ticks, e.g. initLimit=10)\n" +
				"zoo.cfg: syncLimit is not set; an ensemble member needs it (in ticks, e.g. syncLimit=5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			switch {
			case tt.dir:
				require.NoError(t, os.Mkdir(filepath.Join(dir, "myid"), 0o700))
			case tt.myid != noFile:
				require.NoError(t, os.WriteFile(filepath.Join(dir, "myid"), []byte(tt.myid), 0o600))
			}
			c, w, err := parseString(t, "dataDir="+dir+"\nclientPort=2181\n"+tt.cfg)
			if tt.err != "" {
				require.Error(t, err)
				assert.Nil(t, c)
				assert.Contains(t, err.Error(), strings.ReplaceAll(tt.err, "<dir>", dir))
				var ce *Error
				require.ErrorAs(t, err, &ce)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.distributed, c.Distributed())
			assert.Equal(t, tt.serverID, c.ServerID)
			assert.Equal(t, tt.peerType, c.PeerType)
			if tt.distributed {
				self, ok := c.Self()
				require.True(t, ok)
				assert.Equal(t, tt.serverID, self.ID)
			}
			if tt.warn != "" {
				assert.Contains(t, strings.Join(warningStrings(w), "\n"), tt.warn)
			}
		})
	}
}

func TestMyIDMissingWrapsNotExist(t *testing.T) {
	dir := t.TempDir()
	_, _, err := parseString(t, "dataDir="+dir+"\nclientPort=2181\ninitLimit=5\nsyncLimit=2\n"+
		"server.1=a:2888:3888\nserver.2=b:2888:3888\n")
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist, "callers can tell a missing myid from a bad one")
}

func TestParseMyID(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1", 1, true},
		{"1\n", 1, true},
		{" 42 \n", 42, true},
		{"+5", 5, true}, // Long.parseLong accepts a plus sign too
		{"0", 0, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false},
		{"", 0, false},
		{"1 2", 0, false},
		{"1.0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseMyID([]byte(tt.in))
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
