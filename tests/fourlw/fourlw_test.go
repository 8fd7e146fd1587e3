// Package fourlw_test compares the shape of Warren's four-letter-word
// answers with Apache ZooKeeper 3.8's: the lines tools parse (zkServer.sh
// status greps "Mode:", exporters split mntr on tabs, kazoo compares isro's
// bytes) must have the same keys and layout; values naturally differ.
package fourlw_test

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunTests(m)) }

func word(t *testing.T, addr, w string) string {
	t.Helper()
	out, err := testutil.FourLetter(addr, w)
	require.NoError(t, err, w)
	return out
}

// keys returns the text before the separator on every non-empty line.
func keys(out, sep string) []string {
	var ks []string
	for _, line := range strings.Split(out, "\n") {
		if k, _, ok := strings.Cut(line, sep); ok && k != "" {
			ks = append(ks, k)
		}
	}
	return ks
}

func TestFourLetterWordShapes(t *testing.T) {
	cfg := testutil.ServerConfig{}
	zk := testutil.Oracle().Start(t, cfg)
	wr := testutil.TargetWarren.Start(t, cfg)

	// Exact answers.
	for _, w := range []string{"ruok", "isro"} {
		assert.Equal(t, word(t, zk, w), word(t, wr, w), w)
	}

	// srvr: the same lines in the same order.
	assert.Equal(t, keys(word(t, zk, "srvr"), ":"), keys(word(t, wr, "srvr"), ":"), "srvr line keys")
	assert.Contains(t, word(t, wr, "srvr"), "\nMode: standalone\n")
	assert.Regexp(t, regexp.MustCompile(`^Zookeeper version: 3\.8\.0-`), word(t, wr, "srvr"))

	// stat: Clients section, then the srvr lines.
	statKeys := func(out string) []string {
		var ks []string
		for _, k := range keys(out, ":") {
			if !strings.HasPrefix(k, " /") {
				ks = append(ks, k)
			}
		}
		return ks
	}
	assert.Equal(t, statKeys(word(t, zk, "stat")), statKeys(word(t, wr, "stat")), "stat line keys")

	// conf: the same key=value keys in the same order.
	assert.Equal(t, keys(word(t, zk, "conf"), "="), keys(word(t, wr, "conf"), "="), "conf keys")

	// envi: the same keys (values name the Go runtime instead of Java).
	assert.Equal(t, keys(word(t, zk, "envi"), "="), keys(word(t, wr, "envi"), "="), "envi keys")

	// wchs and dump: same layout.
	assert.Equal(t, word(t, zk, "wchs"), word(t, wr, "wchs"), "no watches on either")
	dumpHead := func(out string) string { return strings.SplitN(out, "\n", 3)[0] }
	assert.Equal(t, dumpHead(word(t, zk, "dump")), dumpHead(word(t, wr, "dump")))

	// mntr: every key that monitoring tools read is present, tab-separated.
	wanted := []string{"zk_version", "zk_server_state", "zk_avg_latency", "zk_max_latency", "zk_min_latency",
		"zk_packets_received", "zk_packets_sent", "zk_num_alive_connections", "zk_outstanding_requests",
		"zk_znode_count", "zk_watch_count", "zk_ephemerals_count", "zk_approximate_data_size",
		"zk_open_file_descriptor_count", "zk_max_file_descriptor_count", "zk_global_sessions", "zk_uptime"}
	zkKeys := keys(word(t, zk, "mntr"), "\t")
	wrKeys := keys(word(t, wr, "mntr"), "\t")
	sort.Strings(zkKeys)
	for _, k := range wanted {
		assert.Contains(t, zkKeys, k, "ZooKeeper itself reports %s", k)
		assert.Contains(t, wrKeys, k, "Warren reports %s", k)
	}
	// The node count of an empty server agrees (ZooKeeper counts the root twice).
	znodes := func(out string) string {
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, "zk_znode_count\t"); ok {
				return v
			}
		}
		return ""
	}
	assert.Equal(t, znodes(word(t, zk, "mntr")), znodes(word(t, wr, "mntr")))

	// A word outside the whitelist.
	limited := testutil.ServerConfig{FourLetterWords: "srvr"}
	zk2 := testutil.Oracle().Start(t, limited)
	wr2 := testutil.TargetWarren.Start(t, limited)
	assert.Equal(t, word(t, zk2, "ruok"), word(t, wr2, "ruok"))
	assert.Equal(t, word(t, zk2, "mntr"), word(t, wr2, "mntr"))
}
