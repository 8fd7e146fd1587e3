// Package sasl_test runs ZooKeeper 3.8's own Java client (zkCli.sh with a
// JAAS Client section) against a real `warren server` configured the way
// Kafka deployments secure ZooKeeper: SASL DIGEST-MD5 users in a JAAS file
// named by java.security.auth.login.config in SERVER_JVMFLAGS.
package sasl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
)

const zkCli = "/usr/share/zookeeper/bin/zkCli.sh"

func TestMain(m *testing.M) { os.Exit(testutil.RunTests(m)) }

const serverJAAS = `Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_admin="adminsecret"
  user_bob="bobsecret"
  user_alice="alicesecret";
};
`

// cli runs one zkCli.sh command as a SASL user and returns its output.
func cli(t *testing.T, addr, user, password, command string) string {
	// zkCli.sh runs one command given as separate arguments.
	t.Helper()
	dir := t.TempDir()
	clientJAAS := filepath.Join(dir, "client.jaas")
	require.NoError(t, os.WriteFile(clientJAAS, []byte(fmt.Sprintf(
		"Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  username=%q\n  password=%q;\n};\n",
		user, password)), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, zkCli, append([]string{"-server", addr}, strings.Fields(command)...)...)
	cmd.Env = append(os.Environ(), "JVMFLAGS=",
		"CLIENT_JVMFLAGS=-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto"+
			" -Dzookeeper.sasl.client=true -Djava.security.auth.login.config="+clientJAAS)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "zkCli.sh timed out:\n%s", out.String())
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("zkCli.sh: %v\n%s", err, out.String())
	}
	return out.String()
}

func TestSASLDigestWithJavaClient(t *testing.T) {
	if _, err := os.Stat(zkCli); err != nil {
		t.Fatalf("%s is needed (%v): run scripts/test-deps.sh", zkCli, err)
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
