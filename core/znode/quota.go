package znode

import (
	"strconv"
	"strings"
)

// Quotas, as ZooKeeper's DataTree keeps them: a path P has a quota when the
// node /zookeeper/quota/P/zookeeper_limits exists (clients write the limits
// there, e.g. zkCli's setquota). The tree then maintains the usage of P's
// subtree in /zookeeper/quota/P/zookeeper_stats as "count=N,bytes=M": it
// computes it when that node is created and adjusts it on every create,
// delete and setData under P (the nearest quota ancestor wins). The stats
// node's data changes in place, without a new version or a watch event,
// exactly as in ZooKeeper; every replica computes the same bytes.

const (
	quotaLimitNode = "zookeeper_limits"
	quotaStatNode  = "zookeeper_stats"
)

// quotaCreated updates quota bookkeeping after n was created at path.
func (t *Tree) quotaCreated(n *node, path string) {
	parent := Parent(path)
	if strings.HasPrefix(parent, QuotaPath) {
		switch n.name() {
		case quotaLimitNode:
			t.quotas[strings.TrimPrefix(parent, QuotaPath)] = struct{}{}
		case quotaStatNode:
			t.recountQuota(strings.TrimPrefix(parent, QuotaPath))
		}
	}
	if p, ok := t.quotaPrefix(path); ok {
		t.adjustQuota(p, 1, int64(n.size()))
	}
}

// quotaDeleted updates quota bookkeeping after n (with its data) was
// deleted from path.
func (t *Tree) quotaDeleted(n *node, path string) {
	parent := Parent(path)
	if strings.HasPrefix(parent, ZooKeeperPath) && n.name() == quotaLimitNode {
		delete(t.quotas, strings.TrimPrefix(parent, QuotaPath))
	}
	if p, ok := t.quotaPrefix(path); ok {
		t.adjustQuota(p, -1, -int64(n.size()))
	}
}

// quotaDataChanged accounts for a setData that changed a node's size.
func (t *Tree) quotaDataChanged(path string, diff int64) {
	if p, ok := t.quotaPrefix(path); ok {
		t.adjustQuota(p, 0, diff)
	}
}

// quotaPrefix returns the longest quota path that is path or one of its
// ancestors; the root never counts (ZooKeeper keeps no quota on "/").
func (t *Tree) quotaPrefix(path string) (string, bool) {
	if len(t.quotas) == 0 {
		return "", false
	}
	for p := path; p != "" && p != RootPath; p = Parent(p) {
		if _, ok := t.quotas[p]; ok {
			return p, true
		}
	}
	return "", false
}

// recountQuota computes the usage of path's subtree (the node itself
// included) into its stats node.
func (t *Tree) recountQuota(path string) {
	var count, bytes int64
	if n, ok := t.lookup(path); ok {
		var walk func(n *node)
		walk = func(n *node) {
			count++
			bytes += int64(n.size())
			if k := n.kids(); k != nil {
				for _, c := range k.list {
					walk(t.nodes.arena.at(c))
				}
			}
		}
		walk(n)
	}
	t.setQuotaStats(path, count, bytes)
}

// adjustQuota adds to the usage recorded in path's stats node.
func (t *Tree) adjustQuota(path string, dCount, dBytes int64) {
	n, ok := t.lookup(QuotaPath + path + "/" + quotaStatNode)
	if !ok {
		return // ZooKeeper logs and carries on
	}
	count, bytes := ParseQuotaStats(n.data())
	t.setQuotaStats(path, count+dCount, bytes+dBytes)
}

func (t *Tree) setQuotaStats(path string, count, bytes int64) {
	statPath := QuotaPath + path + "/" + quotaStatNode
	n, ok := t.lookup(statPath)
	if !ok {
		return
	}
	t.snapTouchPath(statPath)
	data := []byte("count=" + strconv.FormatInt(count, 10) + ",bytes=" + strconv.FormatInt(bytes, 10))
	ph := pathHash(statPath)
	aclHash := t.acls.hash(n.acl)
	t.digest -= contentHash(ph, n.data(), aclHash)
	t.dataSize += int64(len(data) - n.size())
	n.setData(data)
	t.digest += contentHash(ph, n.data(), aclHash)
}

// ParseQuotaStats reads count and bytes from StatsTrack text
// ("count=N,bytes=M", possibly followed by "=;key=value;..." extras) as
// the tree does when it updates a stats node: what it cannot read counts
// as 0. Quota enforcement (core/prep) uses it to predict the tree's stats.
func ParseQuotaStats(b []byte) (count, bytes int64) {
	for _, field := range strings.FieldsFunc(string(b), func(r rune) bool { return r == ',' || r == ';' }) {
		parts := strings.Split(field, "=")
		if len(parts) < 2 {
			continue
		}
		v, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			continue
		}
		switch parts[0] {
		case "count":
			count = v
		case "bytes":
			bytes = v
		}
	}
	return count, bytes
}
