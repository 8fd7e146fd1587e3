// Package sim is Warren's deterministic ensemble simulator: whole members
// (a replica.Replica driving a zab.Node, as core/serve runs them) with
// in-memory disks, a simulated network and simulated ZooKeeper clients, all
// driven from one seed. It owns the simulated world and the checks; it has
// no goroutines, clocks or I/O, and its only randomness is the injected
// Source (the tests use math/rand/v2's PCG), so a seed replays exactly.
//
// What it models:
//   - Members: 3 or 5 voters, sometimes an observer. Each has a disk
//     holding the transaction log, snapshots (replica snapshot streams) and
//     the epoch files. Persistence requests complete in order after a
//     random delay; a crash loses those still in flight, except that the
//     one being written may survive whole or, for a log append, in part.
//     A restart rebuilds the member from its disk alone (newest snapshot
//     plus the log after it, epochs; a fresh disk starts with a snapshot of
//     the empty state), as serve does, including serve's refusal of a log
//     ahead of both epoch files. A reload (after TRUNC or a snapshot
//     install) loads the newest snapshot at most the zxid and replays the
//     log up to it. An installed snapshot is verified by loading it into a
//     scratch replica. Serving members snapshot every SnapEvery applied
//     transactions, and with autopurge keep three snapshots and drop the
//     log they hold (telling the node its new log start, as serve does); a
//     leader streams its snapshot to learners in parts. Members have their
//     own clocks (offset and drift), and the whole ensemble may lose power
//     at once.
//   - Network: election notifications travel datagram-like (random delay,
//     loss, duplication, reordering). Quorum messages travel on one
//     connection per pair, FIFO, dropped while the connection is down; a
//     connection breaks on a crash, a partition or a member's Disconnect
//     (and at random), both ends hear PeerDisconnected and, once it comes
//     back, PeerConnected; frames of an older connection are dropped.
//     Every message goes through the wire codec. Partitions isolate a
//     member, cut one direction between two members, or split the
//     ensemble; pauses stop a member for a while (its messages wait).
//   - Clients: a few sessions, one request at a time or a few pipelined
//     (replies must follow request order), on four keys:
//     create, setData and delete (with version -1 or the last version the
//     client saw), getData, and sync followed by getData. A client connects
//     to a random member, resumes its session elsewhere when its
//     connection closes or a request times out, and starts a new session
//     when the old one expired.
//
// What it checks:
//   - After every step: at most one established leader per epoch; a zxid
//     names one transaction wherever it is logged, always after the same
//     predecessor (every log is a prefix of one history); a transaction
//     applied as committed is held durably by a quorum of voters (no ACK
//     before fsync, no COMMIT before a quorum); every member applies
//     zxids continuously (within an epoch, or the first of a later one),
//     only transactions it was given, and never goes back without a reload;
//     any two states at the same zxid have the same tree digest (so the
//     applied histories are prefixes of one another); a client's replies
//     come in request order and the zxid a session sees never decreases,
//     across members too; no two members follow each other for long.
//   - At the end, after healing every fault and letting the ensemble
//     settle: all members serve the same LastApplied and digest; every
//     acknowledged write was applied by a serving member and is in every
//     member's state; and the client history is linearizable (porcupine).
//
// Consistency model checked by porcupine: ZooKeeper serves reads from the
// member's local state, so a plain getData is only sequentially consistent
// and is not in the history (it is checked for session order only). The
// history holds every write (create, setData, delete; an unknown outcome,
// from a closed connection or an error that does not say whether it
// applied, may take effect at any time after its call) and every getData
// that follows a sync on the same session, as one read whose interval
// runs from the sync's call to the getData's return: Warren's sync is a
// quorum round answered once every write before it is committed, so that
// read is linearizable. The model is one znode per key (existence, data,
// version), partitioned by key.
//
// Entry points: Run simulates one Config (NewConfig derives one from a
// seed). go test ./core/sim runs 500 seeds (SIM_SEEDS=n for more,
// SIM_FIRST=s to start elsewhere, SIM_SEED=s to replay one with its whole
// trace) and requires every coverage counter to be non-zero over the batch.
package sim
