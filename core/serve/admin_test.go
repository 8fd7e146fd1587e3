package serve

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/config"
)

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m), string(body))
	return resp.StatusCode, m
}

func TestAdminCommandsAsJSON(t *testing.T) {
	ts := startServer(t, nil)
	require.NotEmpty(t, ts.admin)
	dial(t, ts.addr, 5*time.Second)
	base := "http://" + ts.admin + "/commands"

	code, list := getJSON(t, base)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, list["commands"], "monitor")

	for _, name := range []string{"monitor", "mntr", "server_stats", "srvr", "stats", "connections", "configuration",
		"environment", "watch_summary", "watches", "watches_by_path", "dump", "is_read_only", "ruok", "dirs", "hash"} {
		code, m := getJSON(t, base+"/"+name)
		assert.Equal(t, http.StatusOK, code, name)
		assert.Nil(t, m["error"], name)
		assert.NotEmpty(t, m["command"], name)
	}
	_, srvr := getJSON(t, base+"/srvr")
	assert.Equal(t, "server_stats", srvr["command"], "aliases answer with the primary name")
	assert.Equal(t, "standalone", srvr["server_state"])
	_, mntr := getJSON(t, base+"/monitor")
	assert.Equal(t, "standalone", mntr["server_state"], "mntr keys without the zk_ prefix")
	_, conf := getJSON(t, base+"/conf")
	assert.Equal(t, "100", conf["tickTime"])
	_, ro := getJSON(t, base+"/is_read_only")
	assert.Equal(t, false, ro["read_only"])

	code, bad := getJSON(t, base+"/nosuch")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "Command not found: nosuch", bad["error"])
}

func TestAdminDisabled(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Admin.EnableServer = false })
	assert.Empty(t, ts.admin)
	assert.Nil(t, ts.srv.AdminAddr())
}

// TestMaxCnxns: maxCnxns caps the client connections in all (here all
// from one address, under a per-address cap that would allow more).
func TestMaxCnxns(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.MaxCnxns, c.MaxClientCnxns = 2, 10 })
	a, _ := handshake(t, ts.addr)
	b, _ := handshake(t, ts.addr)
	_ = b
	third, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	defer third.Close()
	expectClosed(t, third)
	a.Close()
	require.Eventually(t, func() bool { return ruok(ts.addr) }, 5*time.Second, 20*time.Millisecond, "closing one frees a slot")
	// mntr's zk_connection_rejected reads this counter (a mntr connection
	// here could itself be refused while the last ruok is being dropped).
	assert.GreaterOrEqual(t, ts.srv.stats.rejected.Load(), int64(1), "refusals are counted")
}

// ruok reports whether addr answers ruok with imok.
func ruok(addr string) bool {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return false
	}
	defer nc.Close()
	_, _ = nc.Write([]byte("ruok"))
	_ = nc.SetReadDeadline(time.Now().Add(time.Second))
	out, _ := io.ReadAll(nc)
	return string(out) == "imok"
}

func TestMaxClientCnxnsPerIP(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.MaxClientCnxns = 2 })
	a, _ := handshake(t, ts.addr)
	b, _ := handshake(t, ts.addr)
	_ = a
	_ = b
	third, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	defer third.Close()
	expectClosed(t, third)
	// Closing one frees a slot.
	a.Close()
	require.Eventually(t, func() bool { return ruok(ts.addr) }, 5*time.Second, 20*time.Millisecond)
}
