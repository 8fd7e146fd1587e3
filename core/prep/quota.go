package prep

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
)

// Quota enforcement, ZooKeeper 3.7+'s zookeeper.enforceQuota
// (ZooKeeperServer.checkQuota, called by PrepRequestProcessor):
//
//   - Only create (every create opcode: create, create2, createContainer,
//     createTTL) and setData are checked, inside a multi too; delete never
//     is. A create is checked after the parent, ACL, existence and
//     ephemeral-parent checks; a setData after the ACL check and before
//     the version check.
//   - Only the nearest quota is checked: the longest path among the
//     changed node and its ancestors (never "/") that has a
//     /zookeeper/quota/<path>/zookeeper_limits node. Other quotas further
//     up are neither checked nor (by the tree) updated.
//   - A create adds one to the count and its data length to the bytes; a
//     setData adds nothing to the count and the difference between the new
//     and the old data length to the bytes. Node names do not count. A
//     dimension whose change is zero is not checked (a create with empty
//     data never fails a byte limit, even over it), and neither is a
//     dimension whose limits are all -1.
//   - The limits node holds StatsTrack text: pairs split on runs of ',' and
//     ';', each "key=value" ("count=-1,bytes=-1=;countHardLimit=3" as
//     zkCli's setquota -N writes it; the old "count=3,bytes=-1" has no hard
//     fields). A missing key, or an empty value, reads as -1. count and
//     bytes are soft limits: exceeding them only makes ZooKeeper log. When
//     countHardLimit (byteHardLimit) is above -1 it replaces the soft limit
//     and the operation fails with ErrQuotaExceeded if the new usage, the
//     stats node's count (bytes) plus the change, is above it. 0 is a
//     limit; -1 is none. A setData that shrinks the data still fails while
//     the new usage stays above the hard limit.
//   - Nobody is exempt: the super user and skipACL are checked too.
//   - A limits or stats node that StatsTrack cannot read (a value that is
//     not an integer, a pair without '=') makes the operation fail with
//     ErrMarshallingError, a multi as a whole (ZooKeeper's parser throws a
//     runtime exception there). A quota without a stats node is not
//     checked.
//
// ZooKeeper reads the quota (which paths have one, their limits, their
// usage) from the applied tree, so pipelined writes can all pass a check
// that only the first should have. Warren reads it from the tree plus every
// transaction prepared before (the overlay), so its decision never depends
// on how far the tree has applied; within one multi it reads the quota as
// it stood before the multi, as ZooKeeper does, so a multi whose creates
// together pass a hard limit, each fitting on its own, succeeds in both.
// While the creation of a stats node is pending the tree has yet to count
// its subtree, and that quota is not checked.

const (
	limitsNode = "zookeeper_limits"
	statsNode  = "zookeeper_stats"
)

// usageKind says where a stats node state's usage comes from.
type usageKind uint8

const (
	usageFromData usageKind = iota // the node's data, applied or pending
	usageTracked                   // count and bytes: data plus pending changes
	usageUnknown                   // counted by the tree when its pending create applies
)

// usage is a quota's subtree usage, recorded on its stats node's state.
type usage struct {
	kind         usageKind
	count, bytes int64
}

// createdUsage is the usage of a node created at path: a stats node's is
// unknown until the tree counts the subtree.
func createdUsage(path string) usage {
	if znode.Base(path) == statsNode && strings.HasPrefix(path, znode.QuotaPath+"/") {
		return usage{kind: usageUnknown}
	}
	return usage{}
}

// statsTrack is ZooKeeper's StatsTrack: the four fields quotas use, -1
// when absent.
type statsTrack struct {
	count, bytes, countHard, bytesHard int64
}

var pairsSeparator = regexp.MustCompile(`[,;]+`)

// parseStatsTrack reads StatsTrack text as ZooKeeper 3.8 does; ok is false
// where ZooKeeper's parser throws.
func parseStatsTrack(b []byte) (statsTrack, bool) {
	st := statsTrack{-1, -1, -1, -1}
	if len(b) == 0 {
		return st, true
	}
	pairs := pairsSeparator.Split(string(b), -1)
	for len(pairs) > 0 && pairs[len(pairs)-1] == "" { // Java's split drops trailing empties
		pairs = pairs[:len(pairs)-1]
	}
	for _, pair := range pairs {
		kv := javaSplitEq(pair)
		if len(kv) < 2 {
			return statsTrack{}, false
		}
		v := int64(-1)
		if kv[1] != "" {
			n, err := strconv.ParseInt(kv[1], 10, 64)
			if err != nil {
				return statsTrack{}, false
			}
			v = n
		}
		switch kv[0] {
		case "count":
			st.count = v
		case "bytes":
			st.bytes = v
		case "countHardLimit":
			st.countHard = v
		case "byteHardLimit":
			st.bytesHard = v
		}
	}
	return st, true
}

// javaSplitEq is Java's s.split("="): trailing empty fields are dropped,
// and a string of only separators splits into nothing.
func javaSplitEq(s string) []string {
	f := strings.Split(s, "=")
	for len(f) > 0 && f[len(f)-1] == "" {
		f = f[:len(f)-1]
	}
	if len(f) == 0 && s == "" {
		return []string{""}
	}
	return f
}

// decideQuota is checkQuota's decision for one quota with the given limits
// and current usage, for a change of dCount nodes and dBytes bytes.
func decideQuota(limits, cur statsTrack, dCount, dBytes int64) proto.Code {
	if dCount != 0 && limits.countHard > -1 && cur.count+dCount > limits.countHard {
		return proto.ErrQuotaExceeded
	}
	if dBytes != 0 && limits.bytesHard > -1 && cur.bytes+dBytes > limits.bytesHard {
		return proto.ErrQuotaExceeded
	}
	return proto.OK
}

// checked reports whether checkQuota reads the usage at all for this
// change: only for a changed dimension with some limit (soft or hard).
func checked(limits statsTrack, dCount, dBytes int64) bool {
	return dCount != 0 && (limits.count > -1 || limits.countHard > -1) ||
		dBytes != 0 && (limits.bytes > -1 || limits.bytesHard > -1)
}

// quotaPrefix returns the nearest quota of path under get, which gives
// node states: the longest of path and its ancestors, "/" excluded, with a
// limits node.
func quotaPrefix(get func(string) state, path string) (string, bool) {
	if get(znode.QuotaPath).numChildren == 0 {
		return "", false
	}
	for p := path; p != "" && p != znode.RootPath; p = znode.Parent(p) {
		if get(znode.QuotaPath + p + "/" + limitsNode).exists {
			return p, true
		}
	}
	return "", false
}

// dataOf returns the data of the node at path whose state is st.
func (p *Preparer) dataOf(path string, st state) []byte {
	if st.hasData {
		return st.data
	}
	data, _, _ := p.view.Get(path)
	return data
}

// checkQuota applies enforcement to a change of dCount nodes and dBytes
// bytes at path, reading the quota as it stood before this batch.
func (b *batch) checkQuota(path string, dCount, dBytes int64) proto.Code {
	p := b.p
	if !p.cfg.EnforceQuota {
		return proto.OK
	}
	prefix, ok := quotaPrefix(p.lookup, path)
	if !ok {
		return proto.OK
	}
	limitsPath := znode.QuotaPath + prefix + "/" + limitsNode
	limits, ok := parseStatsTrack(p.dataOf(limitsPath, p.lookup(limitsPath)))
	if !ok {
		return proto.ErrMarshallingError
	}
	if !checked(limits, dCount, dBytes) {
		return proto.OK
	}
	statsPath := znode.QuotaPath + prefix + "/" + statsNode
	st := p.lookup(statsPath)
	if !st.exists {
		return proto.OK
	}
	var cur statsTrack
	switch st.usage.kind {
	case usageUnknown:
		return proto.OK
	case usageTracked:
		cur = statsTrack{count: st.usage.count, bytes: st.usage.bytes}
	default:
		if cur, ok = parseStatsTrack(p.dataOf(statsPath, st)); !ok {
			return proto.ErrMarshallingError
		}
	}
	return decideQuota(limits, cur, dCount, dBytes)
}

// trackQuota records, on the stats node of path's nearest quota as this
// batch leaves it, the usage the tree will compute when it applies a
// change of dCount nodes and dBytes bytes at path.
func (b *batch) trackQuota(path string, dCount, dBytes int64) {
	if !b.p.cfg.EnforceQuota {
		return
	}
	prefix, ok := quotaPrefix(b.get, path)
	if !ok {
		return
	}
	statsPath := znode.QuotaPath + prefix + "/" + statsNode
	st := b.get(statsPath)
	if !st.exists || st.usage.kind == usageUnknown {
		return
	}
	if st.usage.kind == usageFromData {
		// The tree reads its stats leniently (znode.ParseQuotaStats):
		// what it cannot read counts as 0.
		c, by := znode.ParseQuotaStats(b.p.dataOf(statsPath, st))
		st.usage = usage{kind: usageTracked, count: c, bytes: by}
	}
	st.usage.count += dCount
	st.usage.bytes += dBytes
	b.put(statsPath, st)
}
