package sdk_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

// TestStatesContext: a subscription made with StatesContext ends when its
// context does (channel closed, nothing more delivered), while States
// subscriptions go on receiving; after Close both kinds are closed.
func TestStatesContext(t *testing.T) {
	addr := testutil.TargetWarren.Start(t, testutil.ServerConfig{})
	c := connect(t, addr)
	all := c.States()
	ctx, cancel := context.WithCancel(context.Background())
	scoped := c.StatesContext(ctx)
	cancel()
	for range scoped {
		// Drain whatever was queued before the cancel took effect; the
		// channel must close without further states.
	}
	require.NoError(t, c.Close())
	var got []sdk.State
	for s := range all {
		got = append(got, s)
	}
	assert.Equal(t, []sdk.State{sdk.StateClosed}, got, "the unscoped subscription sees the close")

	done, stop := context.WithCancel(context.Background())
	defer stop()
	_, open := <-c.StatesContext(done)
	assert.False(t, open, "a subscription to a finished Conn is closed at once")
}
