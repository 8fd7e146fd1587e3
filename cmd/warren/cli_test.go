package main

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/warrenhq/warren/internal/cli"
	"github.com/warrenhq/warren/internal/testutil"
)

// TestCliWiring checks that `warren cli` is registered and that its exit
// statuses reach the process (internal/cli tests the shell itself).
func TestCliWiring(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	r := runCLI(ctx, t, nil, nil, "cli", "--help")
	assert.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stdout, "3  cannot connect")
	assert.Contains(t, r.stdout, "watch")

	r = runCLI(ctx, t, nil, nil, "cli", "frobnicate", "/x")
	assert.Equal(t, cli.ExitUsage, r.code)
	assert.Contains(t, r.stderr, "Command not found: Command not found frobnicate")

	dead := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	r = runCLI(ctx, t, nil, nil, "cli", "--server", dead, "--timeout", "500ms", "ls", "/")
	assert.Equal(t, cli.ExitConnect, r.code)
	assert.Contains(t, r.stderr, "Unable to connect to "+dead)

	r = runCLI(ctx, t, nil, nil, "cli", "--server", dead, "version")
	assert.Equal(t, exitOK, r.code, "version needs no server in one-shot mode")
	assert.Equal(t, "ZooKeeper CLI version: Warren "+cliVersion(currentBuild())+", built with "+runtime.Version()+"\n", r.stdout)

	r = runCLI(ctx, t, nil, nil, "cli", "watch")
	assert.Equal(t, exitConfig, r.code, "cobra's argument check")

	r = runCLI(ctx, t, nil, nil, "cli", "watch", "--server", dead, "relative")
	assert.Equal(t, cli.ExitUsage, r.code)
	assert.Equal(t, "Path must start with / character\n", r.stderr)
}

// TestCliOneShotAgainstZooKeeper runs one-shot commands in-process against
// Apache ZooKeeper 3.8.
func TestCliOneShotAgainstZooKeeper(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr := testutil.StartZooKeeper(t, testutil.ZKOptions{}).Addr

	r := runCLI(ctx, t, nil, nil, "cli", "--server", addr, "create", "/wired", "data")
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "Created /wired\n", r.stderr)

	r = runCLI(ctx, t, nil, nil, "cli", "--server", addr+"/wired", "get", "/")
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "data\n", r.stdout, "the chroot applies")

	r = runCLI(ctx, t, nil, nil, "cli", "--server", addr, "delete", "-v", "5", "/wired")
	assert.Equal(t, cli.ExitFailed, r.code)
	assert.Equal(t, "version No is not valid : /wired\n", r.stderr)
}
