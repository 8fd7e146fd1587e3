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
		want                       string
		err                        string
	}{
		{name: "add", joining: "server.4=d:1:2;2181", want: "server.1=a:1:2:participant;a:2181\nserver.2=b:1:2:participant;b:2181\nserver.3=c:1:2:observer\nserver.4=d:1:2:participant;d:2181\n"},
		{name: "add several and remove", joining: " server.5=e:1:2:observer , server.4=[::1]:1:2", leaving: "3, 1",
			want: "server.2=b:1:2:participant;b:2181\nserver.4=[::1]:1:2:participant\nserver.5=e:1:2:observer\n"},
		{name: "replace an entry", joining: "server.2=z:5:6", want: "server.1=a:1:2:participant;a:2181\nserver.2=z:5:6:participant\nserver.3=c:1:2:observer\n"},
		{name: "new member list", newMembs: "server.7=g:1:2,server.8=h:1:2", want: "server.7=g:1:2:participant\nserver.8=h:1:2:participant\n"},
		{name: "new member list, zkCli -file form", newMembs: "server.7=g:1:2:participant;0.0.0.0:2181\nserver.8=h:1:2:participant\nversion=0",
			want: "server.7=g:1:2:participant;g:2181\nserver.8=h:1:2:participant\n"},
		{name: "new member list, other key", newMembs: "server.7=g:1:2\nclientPort=2181", err: "server.N"},
		{name: "unknown leaver", leaving: "9", err: "not a member"},
		{name: "bad leaver", leaving: "x", err: "not a server id"},
		{name: "bad spec", joining: "server.4=d:1", err: "server.4"},
		{name: "not a server line", joining: "d:1:2:3", err: "not a server.N"},
		{name: "no participant left", leaving: "1,2", err: "no participant"},
		{name: "alternates", joining: "server.4=d:1:2|e:3:4", err: "several addresses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Reconfigure(cur, tt.joining, tt.leaving, tt.newMembs)
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
