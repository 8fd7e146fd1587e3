package txnlog

// Epoch is the high 32 bits of a zxid: the ZAB epoch of the leader that
// proposed it.
func Epoch(zxid int64) int64 { return int64(uint64(zxid) >> 32) }

// Counter is the low 32 bits of a zxid: the position of the transaction in
// its epoch, starting at 1.
func Counter(zxid int64) int64 { return zxid & 0xffffffff }

// MakeZxid combines an epoch and a counter.
func MakeZxid(epoch, counter int64) int64 { return epoch<<32 | counter&0xffffffff }

// IsNext reports whether next may directly follow prev in a log, which is
// the continuity rule this package enforces on Append and on recovery:
//
//   - within an epoch, the counter goes up by exactly one;
//   - a later epoch starts at counter 1 (ZooKeeper's leader sets its zxid to
//     (epoch, 0) for NEWLEADER, which is never logged, and its first proposal
//     takes (epoch, 1)); epochs may skip values (an elected leader may have
//     proposed nothing), but never go down;
//   - counter 0 is never a transaction.
//
// The first record of an empty log may carry any zxid with a non-zero
// counter (a log that starts after a snapshot or a purge starts anywhere);
// whether it joins the snapshot it follows is the caller's check.
func IsNext(prev, next int64) bool {
	if next <= prev || Counter(next) == 0 {
		return false
	}
	if Epoch(next) == Epoch(prev) {
		return next == prev+1
	}
	return Counter(next) == 1
}
