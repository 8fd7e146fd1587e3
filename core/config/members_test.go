package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReconfigure(t *testing.T) {
	cur := []byte("server.1=a:1:2:participant;a:2181\nserver.2=b:1:2:participant;0.0.0.0:2181\nserver.3=c:1:2:observer\nversion=100000002")
	tests := []struct {
		name                       string
		joining, leaving, newMembs string
		standalone                 bool
		want                       string
		err                        string
	}{
		{name: "joiner without a client address", joining: "server.4=d:1:2", err: "no client address"},
		{name: "joiner on another's address", joining: "server.4=a:2181:7;d:2181", err: "a:2181 of server.4 conflicts with a:2181 of server.1"},
		{name: "joiner on another's quorum port", joining: "server.4=d:5:6;b:1", err: "b:1 of server.4 conflicts with b:1 of server.2"},
		{name: "replacing itself is no conflict", joining: "server.1=a:1:2;a:2181", want: "server.1=a:1:2:participant;a:2181\nserver.2=b:1:2:participant;b:2181\nserver.3=c:1:2:observer\n"},
		{name: "loopback and wildcard are shared", joining: "server.4=127.0.0.1:1:2;0.0.0.0:2181,server.5=127.0.0.1:1:2;2181", want: "server.1=a:1:2:participant;a:2181\nserver.2=b:1:2:participant;b:2181\nserver.3=c:1:2:observer\nserver.4=127.0.0.1:1:2:participant;127.0.0.1:2181\nserver.5=127.0.0.1:1:2:participant;127.0.0.1:2181\n"},
		{name: "one voter, standalone enabled", leaving: "1", standalone: true, err: "at least 2"},
		{name: "two voters, standalone enabled", leaving: "3", standalone: true, want: "server.1=a:1:2:participant;a:2181\nserver.2=b:1:2:participant;b:2181\n"},
		{name: "add", joining: "server.4=d:1:2;2181", want: "server.1=a:1:2:participant;a:2181\nserver.2=b:1:2:participant;b:2181\nserver.3=c:1:2:observer\nserver.4=d:1:2:participant;d:2181\n"},
		{name: "add several and remove", joining: " server.5=e:1:2:observer;e:2181 , server.4=[::1]:1:2;[::1]:2181", leaving: "3, 1",
			want: "server.2=b:1:2:participant;b:2181\nserver.4=[::1]:1:2:participant;[::1]:2181\nserver.5=e:1:2:observer;e:2181\n"},
		{name: "replace an entry", joining: "server.2=z:5:6;z:1", want: "server.1=a:1:2:participant;a:2181\nserver.2=z:5:6:participant;z:1\nserver.3=c:1:2:observer\n"},
		{name: "new member list", newMembs: "server.7=g:1:2,server.8=h:1:2", want: "server.7=g:1:2:participant\nserver.8=h:1:2:participant\n"},
		{name: "new member list, zkCli -file form", newMembs: "server.7=g:1:2:participant;0.0.0.0:2181\nserver.8=h:1:2:participant\nversion=0",
			want: "server.7=g:1:2:participant;g:2181\nserver.8=h:1:2:participant\n"},
		{name: "new member list, other key", newMembs: "server.7=g:1:2\nclientPort=2181", err: "server.N"},
		{name: "unknown leaver", leaving: "9", want: "server.1=a:1:2:participant;a:2181\nserver.2=b:1:2:participant;b:2181\nserver.3=c:1:2:observer\n"},
		{name: "bad leaver", leaving: "x", err: "not a server id"},
		{name: "bad spec", joining: "server.4=d:1", err: "server.4"},
		{name: "new member list needs no client address", newMembs: "server.7=g:1:2,server.8=h:1:2", standalone: true, want: "server.7=g:1:2:participant\nserver.8=h:1:2:participant\n"},
		{name: "not a server line", joining: "d:1:2:3", err: "not a server.N"},
		{name: "no participant left", leaving: "1,2", err: "no participant"},
		{name: "alternates", joining: "server.4=d:1:2|e:3:4;2181", err: "several addresses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Reconfigure(cur, tt.joining, tt.leaving, tt.newMembs, tt.standalone)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}
