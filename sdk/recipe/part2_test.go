package recipe_test

import (
	"testing"
	"time"

	"github.com/warrenhq/warren/internal/testutil"
)

// TestPart2AgainstServers runs the barrier, queue, counter and tree cache
// tests against Warren and Apache ZooKeeper 3.8 with the same expectations.
func TestPart2AgainstServers(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			t.Parallel()
			// A short tick lets the expiry test use a 2 s session.
			addr := tg.Start(t, testutil.ServerConfig{TickTime: 500 * time.Millisecond, ContainerCheckInterval: time.Hour})
			for _, tc := range []struct {
				name string
				fn   func(t *testing.T, addr string)
			}{
				{"DoubleBarrier", testDoubleBarrier},
				{"DoubleBarrierCancel", testDoubleBarrierCancel},
				{"DoubleBarrierCut", testDoubleBarrierCut},
				{"Queue", testQueue},
				{"QueueContention", testQueueContention},
				{"QueueProcesses", testQueueProcesses},
				{"SharedCount", testSharedCount},
				{"SharedCountCut", testSharedCountCut},
				{"AtomicCounter", testAtomicCounter},
				{"AtomicCounterContention", testAtomicCounterContention},
				{"TreeCacheEvents", testTreeCacheEvents},
				{"TreeCacheChroot", testTreeCacheChroot},
				{"TreeCacheRandomWriter", testTreeCacheRandom},
				{"TreeCacheConnectionCut", testTreeCacheCut},
				{"TreeCacheExpiry", testTreeCacheExpiry},
				{"TreeCacheRenewSession", testTreeCacheRenew},
				{"Curator", testCuratorPart2},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, addr)
				})
			}
		})
	}
}
