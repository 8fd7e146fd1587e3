package replica

import (
	"fmt"

	"github.com/warrenhq/warren/core/znode"
)

// Replay applies a transaction recovered from durable storage (the
// write-ahead log after a snapshot) while the server starts, before any
// client connects: it rebuilds the tree and the session table and sends
// nothing, since no connection exists yet. Sessions found in the log start
// a fresh expiry clock at nowMs, as ZooKeeper's do on load, so their clients
// have a full timeout to come back; their ephemerals go when they expire.
// Transactions must come in strictly increasing zxid order.
func (r *Replica) Replay(h znode.Header, txn znode.Txn, nowMs int64) error {
	if len(r.conns) > 0 || len(r.inflight) > 0 {
		return fmt.Errorf("replica: replay after serving began (zxid 0x%x)", h.Zxid)
	}
	if h.Zxid <= r.lastApplied {
		return fmt.Errorf("replica: replayed zxid 0x%x does not follow 0x%x", h.Zxid, r.lastApplied)
	}
	r.tree.Apply(h, txn)
	r.lastApplied = h.Zxid
	r.lastProposed = h.Zxid
	switch t := txn.(type) {
	case *znode.CreateSessionTxn:
		r.sessions.Add(h.Session, t.Timeout, nowMs)
	case *znode.CloseSessionTxn:
		r.sessions.Remove(h.Session)
	}
	return nil
}
