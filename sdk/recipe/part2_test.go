package recipe_test

import "testing"

// TestPart2AgainstServers runs the barrier, queue, counter and tree cache
// tests against Warren and Apache ZooKeeper 3.8 with the same expectations.
func TestPart2AgainstServers(t *testing.T) {
	runAgainstServers(t, []serverTest{
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
	})
}
