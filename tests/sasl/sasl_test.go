// Package sasl_test runs ZooKeeper 3.8's own Java client (zkCli.sh with a
// JAAS Client section) against a real `warren server` configured the way
// Kafka deployments secure ZooKeeper: SASL DIGEST-MD5 users in a JAAS file
// named by java.security.auth.login.config in SERVER_JVMFLAGS.
package sasl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunTests(m)) }

const serverJAAS = `Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_admin="adminsecret"
  user_bob="bobsecret"
  user_alice="alicesecret";
};
`

// cli runs one zkCli.sh command as a SASL user.
func cli(t *testing.T, addr, user, password, command string) string {
	t.Helper()
	return testutil.ZkCliSASL(t, addr, user, password, strings.Fields(command)...)
}

func TestSASLDigestWithJavaClient(t *testing.T) {
	if _, err := os.Stat(testutil.ZkCliPath); err != nil {
		t.Fatalf("%s is needed (%v): run scripts/test-deps.sh", testutil.ZkCliPath, err)
	}
	dir := t.TempDir()
	jaasPath := filepath.Join(dir, "server.jaas")
	require.NoError(t, os.WriteFile(jaasPath, []byte(serverJAAS), 0o600))
	w := testutil.StartWarren(t, testutil.WarrenOptions{
		ServerConfig: testutil.ServerConfig{Extra: []string{
			"authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
		}},
		Env: []string{"SERVER_JVMFLAGS=-Djava.security.auth.login.config=" + jaasPath + " -Dzookeeper.superUser=admin"},
	})

	out := cli(t, w.Addr, "bob", "bobsecret", "whoami")
	assert.Contains(t, out, "SaslAuthenticated")
	assert.Contains(t, out, "sasl: bob")

	out = cli(t, w.Addr, "bob", "wrong", "whoami")
	assert.Contains(t, out, "AuthFailed", "a wrong password fails the exchange")
	assert.NotContains(t, out, "sasl: bob")

	out = cli(t, w.Addr, "bob", "bobsecret", "create /kafka-secret x sasl:bob:cdrwa")
	assert.Contains(t, out, "Created /kafka-secret")
	out = cli(t, w.Addr, "alice", "alicesecret", "get /kafka-secret")
	assert.Contains(t, out, "Insufficient permission : /kafka-secret")
	out = cli(t, w.Addr, "bob", "bobsecret", "get /kafka-secret")
	assert.Contains(t, out, "\nx\n")
	out = cli(t, w.Addr, "admin", "adminsecret", "get /kafka-secret")
	assert.Contains(t, out, "\nx\n", "zookeeper.superUser bypasses ACLs")
}
