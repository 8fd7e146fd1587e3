// Package recipe implements coordination recipes on top of package sdk,
// with the node layouts of Apache Curator 5.x, so that a Go process and a
// Java process using Curator on the same path cooperate (a Go Mutex and a
// Curator InterProcessMutex exclude each other, a Go LeaderLatch and a
// Curator LeaderLatch elect one leader between them).
//
// # Recipes
//
//   - Mutex: Curator's InterProcessMutex, <path>/_c_<uuid>-lock-<seq>.
//   - RWLock: Curator's InterProcessReadWriteLock, nodes named __READ__ and
//     __WRIT__; readers share, writers exclude everyone, the write holder
//     may also take the read lock.
//   - Semaphore: Curator's InterProcessSemaphoreV2, a mutex at
//     <path>/locks and leases <path>/leases/_c_<uuid>-lease-<seq>; at most
//     N leases at a time.
//   - LeaderLatch: Curator's LeaderLatch, <path>/_c_<uuid>-latch-<seq>
//     with the participant id as data; the first node leads.
//   - LeaderSelector: Curator's LeaderSelector, an election on the Mutex
//     layout (nodes named lock-, participant id as data) that runs a
//     function while leading.
//   - DoubleBarrier: Curator's DistributedDoubleBarrier, participant nodes
//     <path>/<uuid> and <path>/ready; Enter waits for N participants,
//     Leave for all of them to leave.
//   - Queue: Curator's DistributedQueue, persistent sequential
//     <path>/queue-<seq> nodes holding Curator's item envelope.
//   - SharedCount and AtomicCounter: Curator's SharedCount (an int32 node,
//     watched) and DistributedAtomicLong (an int64 node updated with
//     versioned writes).
//   - TreeCache: Curator's CuratorCache, a local view of a subtree kept
//     current with one persistent-recursive watch, with events for every
//     change.
//   - PersistentNode: Curator's PersistentNode, a node (typically an
//     ephemeral registration) kept present while its owner lives:
//     recreated when deleted, re-checked after a reconnection, and, with
//     WithPersistentSession, recreated under a new session after expiry.
//   - CreateProtected: Curator's protected-mode create, with which the
//     locks, the semaphore and the elections create their nodes.
//
// # Protected mode
//
// A create that fails with ErrConnectionLoss may or may not have been
// executed. Every lock, lease and latch node is created in protected mode
// (as Curator does): its name starts with "_c_" + a random UUID + "-"; after a connection loss the creator
// lists the parent's children and recognises its node by the UUID instead
// of creating a second one, so no node is left behind that its creator does
// not know about (an orphan lock node would block the lock until the
// session ends).
//
// # Failure behaviour
//
// Locks, leases and leadership are ephemeral nodes: they last as long as
// the holder's session. The holder learns about the session through the
// Conn's states, as Curator's ConnectionStateListener does:
//
//   - sdk.StateSuspended (connection lost, session may be alive): the hold
//     becomes HoldSuspended, the lock may be lost. A holder must stop acting
//     as the holder; LeaderLatch reports no leadership and LeaderSelector
//     cancels the leader's context, as Curator does by default.
//   - sdk.StateReconnected: the recipe checks that its node still exists
//     and belongs to the session; the hold returns to HoldHeld (a latch
//     re-checks its position).
//   - sdk.StateExpired or a closed Conn, or the node deleted: HoldLost, for
//     good. Another contender acquires once the server expired the
//     session (after the session timeout). An expired sdk.Conn is never
//     reused: to contend again, connect a new Conn and make new recipe
//     values.
//
// Between the loss of the connection and the report of the state there is
// a window in which a holder believes it holds the lock while the server
// already gave it to another contender (a process paused by the garbage
// collector, a slow network). The lock alone cannot close it: pass the
// Fence of the hold (the lock node's creation zxid, which grows with every
// new holder) to the guarded storage and let it reject writes carrying a
// smaller token than one it already saw.
//
// A failed or cancelled Acquire deletes its node; Release deletes the node
// and keeps retrying in the background while the connection is lost
// (Curator's guaranteed delete).
//
// Every type is safe for concurrent use; ownership of a lock belongs to
// the value (a Mutex, an RWLock, a Lease), where Curator's belongs to a
// thread.
package recipe
