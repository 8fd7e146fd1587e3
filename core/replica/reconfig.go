package replica

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/zab"
	"github.com/warrenhq/warren/core/znode"
)

// Dynamic reconfiguration (ZooKeeper 3.5+'s reconfig operation). The
// member list lives in /zookeeper/config, part of the replicated state: a
// reconfiguration is a transaction that sets it (with version=<its zxid>),
// proposed by the leader through zab.Node.ProposeReconfig, so it commits
// only with a quorum of the old voters and one of the new; every member
// switches when it applies it, and after a reload or a restart the member
// list is whatever the state holds.

// ReconfigFunc computes a reconfiguration from the current
// /zookeeper/config data and the request (incremental joining/leaving, or
// a whole new member list): the new member lines (each
// "server.N=host:quorumPort:electionPort:role[;client]\n", no version
// line), or a code (ErrBadArguments for a malformed server spec). The
// driver supplies it (core/config parses server specs); it must be a pure
// function.
type ReconfigFunc func(current []byte, req *proto.ReconfigRequest) (lines []byte, code proto.Code)

// ParseMembership reads the member ids and roles, and the version, from
// /zookeeper/config data in the form Warren writes it. ok is false when
// the data lists no member (a standalone server's empty node).
func ParseMembership(data []byte) (m zab.Membership, ok bool) {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if v, found := strings.CutPrefix(line, "version="); found {
			z, err := strconv.ParseUint(v, 16, 64)
			if err == nil {
				m.Zxid = int64(z)
			}
			continue
		}
		rest, found := strings.CutPrefix(line, "server.")
		if !found {
			continue
		}
		idStr, spec, found := strings.Cut(rest, "=")
		if !found {
			continue
		}
		id, err := strconv.ParseInt(idStr, 10, 64)
		if err != nil {
			continue
		}
		addr, _, _ := strings.Cut(spec, ";")
		if strings.HasSuffix(addr, ":observer") {
			m.Observers = append(m.Observers, id)
		} else {
			m.Voters = append(m.Voters, id)
		}
	}
	m.Data = append([]byte(nil), data...)
	return m, len(m.Voters) > 0
}

// prepareReconfig checks a reconfig request as ZooKeeper's leader does, in
// its order (the permission last), and returns the transaction and the
// membership it sets.
func (r *Replica) prepareReconfig(h znode.Header, rec proto.Record, ids []proto.Id) (znode.Txn, zab.Membership, proto.Code) {
	var none zab.Membership
	req, _ := rec.(*proto.ReconfigRequest)
	if !r.cfg.ReconfigEnabled {
		return nil, none, proto.ErrReconfigDisabled
	}
	data, meta, ok := r.tree.Get(znode.ConfigPath)
	if !ok {
		return nil, none, proto.ErrNoNode
	}
	if req == nil || r.cfg.Reconfig == nil {
		return nil, none, proto.ErrBadArguments
	}
	e := r.ens
	if e.reconfigZxid != 0 {
		return nil, none, proto.ErrReconfigInProgress
	}
	cur, _ := ParseMembership(data)
	if req.CurConfigID != -1 && req.CurConfigID != cur.Zxid {
		return nil, none, proto.ErrBadVersion
	}
	lines, code := r.cfg.Reconfig(data, req)
	if code != proto.OK {
		return nil, none, code
	}
	next, ok := ParseMembership(lines)
	if !ok {
		return nil, none, proto.ErrBadArguments
	}
	// A member keeps its role: turning a voter into an observer (or back)
	// is a removal and then an addition.
	for _, id := range next.Voters {
		if containsID(cur.Observers, id) {
			return nil, none, proto.ErrBadArguments
		}
	}
	for _, id := range next.Observers {
		if containsID(cur.Voters, id) {
			return nil, none, proto.ErrBadArguments
		}
	}
	// The new voters must include a quorum already synchronised with this
	// leader, or the ensemble could not commit anything after the change.
	synced := 0
	for _, id := range next.Voters {
		if containsID(e.node.SyncedVoters(), id) {
			synced++
		}
	}
	if synced <= len(next.Voters)/2 {
		return nil, none, proto.ErrNewConfigNoQuorum
	}
	// ZooKeeper's leader checks the permission last, so a caller without
	// it still learns of a stale version or a new configuration without a
	// quorum.
	if !r.canRead(meta.ACL, ids, proto.PermWrite) {
		return nil, none, proto.ErrNoAuth
	}
	next.Zxid = h.Zxid
	full := append(bytes.TrimRight(lines, "\n"), fmt.Sprintf("\nversion=%x", h.Zxid)...)
	next.Data = full
	// ZooKeeper's reconfiguration transaction sets the node's data version
	// to -1 (its SetDataTxn carries -1), whatever it was.
	return &znode.SetDataTxn{Path: znode.ConfigPath, Data: full, Version: -1}, next, proto.OK
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// leaderReconfig prepares and proposes a reconfiguration (a client of the
// leader, or one a learner forwarded when c is 0). It reports the failure
// code, or OK once proposed.
func (r *Replica) leaderReconfig(h znode.Header, rec proto.Record, ids []proto.Id, c ConnID) proto.Code {
	txn, m, code := r.prepareReconfig(h, rec, ids)
	if code != proto.OK {
		return code
	}
	r.lastProposed++
	p := &proposal{Proposal: Proposal{Header: h, Txn: txn}, conn: c, xid: h.Cxid}
	r.inflight = append(r.inflight, p)
	var enc jute.Encoder
	znode.EncodeTxn(&enc, &p.Header, p.Txn)
	if err := r.ens.node.ProposeReconfig(zab.Entry{Zxid: h.Zxid, Txn: enc.Bytes()}, m); err != nil && r.ens.proposeErr == nil {
		r.ens.proposeErr = err
	}
	r.ens.reconfigZxid = h.Zxid
	return proto.OK
}

// membershipChanged runs after the state's /zookeeper/config changed (a
// reconfiguration applied, or a reload): the node switches to the member
// list the state holds.
func (r *Replica) membershipChanged() {
	e := r.ens
	data, _, _ := r.tree.Get(znode.ConfigPath)
	m, ok := ParseMembership(data)
	if !ok || m.Zxid == 0 {
		return
	}
	if e.reconfigZxid != 0 && e.reconfigZxid <= m.Zxid {
		e.reconfigZxid = 0
	}
	e.node.SetMembership(m)
}
