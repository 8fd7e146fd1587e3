package cli_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/cli"
)

// complete returns what Tab offers at the end of line, as whole words.
func complete(s *cli.Shell, line string) []string {
	rest, n := s.Completer().Do([]rune(line), len([]rune(line)))
	var out []string
	for _, r := range rest {
		out = append(out, string([]rune(line)[len([]rune(line))-n:])+string(r))
	}
	return out
}

// testComplete: Tab completes command names and the children of the node
// a path names so far, under a chroot too; nothing for other words.
func testComplete(t *testing.T, addr string) {
	s := cli.New(cli.Config{Server: addr, Timeout: 20 * time.Second})
	defer s.Close()
	assert.Equal(t, []string{"delete ", "deleteall ", "delquota "}, complete(s, "del"), "commands, before connecting")
	assert.Empty(t, complete(s, "get /"), "no session, no paths")

	require.NoError(t, s.Connect(ctxT(t), ""))
	for _, line := range []string{"create /cpl", "create /cpl/alpha", "create /cpl/alps", "create /cpl/beta", "create /cpl/alpha/x"} {
		require.Equal(t, cli.ExitOK, s.ExecLine(ctxT(t), line))
	}
	assert.Equal(t, []string{"getAcl ", "getAllChildrenNumber "}, complete(s, "  getA"))
	assert.Contains(t, complete(s, "ls /"), "cpl")
	assert.Equal(t, []string{"alpha", "alps", "beta"}, complete(s, "ls -s /cpl/"))
	assert.Equal(t, []string{"alpha", "alps"}, complete(s, "get -s /cpl/al"))
	assert.Equal(t, []string{"alpha"}, complete(s, "set /cpl/alph"))
	assert.Equal(t, []string{"x"}, complete(s, "stat /cpl/alpha/"))
	assert.Empty(t, complete(s, "get /cpl/gone/"), "no such node")
	assert.Empty(t, complete(s, "get cpl"), "not a path")
	assert.Empty(t, complete(s, "set /cpl/alpha "), "a new word that is not a path")

	c := cli.New(cli.Config{Server: addr + "/cpl", Timeout: 20 * time.Second})
	defer c.Close()
	require.NoError(t, c.Connect(ctxT(t), ""))
	assert.Equal(t, []string{"alpha", "alps", "beta"}, complete(c, "ls /"), "under the chroot")
	require.Equal(t, cli.ExitOK, s.ExecLine(ctxT(t), "deleteall /cpl"))
}
