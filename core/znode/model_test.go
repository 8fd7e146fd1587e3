package znode

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

// This file checks Tree against a deliberately naive model: a map from path
// to a struct of stored fields, with children found by scanning every path,
// multis applied to a deep copy that is kept or thrown away, and no
// interning, index or incremental bookkeeping. Random seeded op sequences
// run against both and every observable result is compared.

type mnode struct {
	data                                     []byte
	acl                                      []proto.ACL
	czxid, mzxid, pzxid, ctime, mtime, owner int64
	version, cversion, aversion              int32
}

type model struct {
	nodes map[string]*mnode
	last  int64
}

func newModel() *model {
	m := &model{nodes: map[string]*mnode{}}
	for _, p := range []string{"/", "/zookeeper", "/zookeeper/quota"} {
		m.nodes[p] = &mnode{data: []byte{}, acl: proto.OpenACLUnsafe}
	}
	m.nodes["/zookeeper/config"] = &mnode{data: []byte{}, acl: proto.ReadACLUnsafe, aversion: -1}
	return m
}

func (m *model) clone() *model {
	c := &model{nodes: make(map[string]*mnode, len(m.nodes)), last: m.last}
	for p, n := range m.nodes {
		cp := *n
		c.nodes[p] = &cp
	}
	return c
}

func mParent(p string) string {
	i := strings.LastIndex(p, "/")
	if i == 0 {
		return "/"
	}
	return p[:i]
}

func mDepth(p string) int { return strings.Count(p, "/") }

// paths returns every path, sorted.
func (m *model) paths() []string {
	out := make([]string, 0, len(m.nodes))
	for p := range m.nodes {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// kids scans the whole model for the children of p.
func (m *model) kids(p string) []string {
	var out []string
	for c := range m.nodes {
		if c != "/" && mParent(c) == p {
			out = append(out, c[strings.LastIndex(c, "/")+1:])
		}
	}
	slices.Sort(out)
	return out
}

func mIsTTL(owner int64) bool       { return uint64(owner)>>40 == 0xFF0000 }
func mIsContainer(owner int64) bool { return owner == math.MinInt64 }
func mIsEphemeral(owner int64) bool {
	return owner != 0 && !mIsContainer(owner) && !mIsTTL(owner)
}

func (m *model) stat(p string) proto.Stat {
	n := m.nodes[p]
	nc := int32(len(m.kids(p)))
	owner := n.owner
	if !mIsEphemeral(owner) {
		owner = 0
	}
	return proto.Stat{
		Czxid: n.czxid, Mzxid: n.mzxid, Ctime: n.ctime, Mtime: n.mtime,
		Version: n.version, Cversion: n.cversion*2 - nc, Aversion: n.aversion,
		EphemeralOwner: owner, DataLength: int32(len(n.data)), NumChildren: nc, Pzxid: n.pzxid,
	}
}

func copyBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func copyACL(acl []proto.ACL) []proto.ACL {
	if acl == nil {
		return proto.OpenACLUnsafe
	}
	return append([]proto.ACL{}, acl...)
}

// op applies one non-multi, non-session op, or reports why it cannot and
// changes nothing.
func (m *model) op(h Header, txn Txn, changes *[]Change) (string, proto.Stat, proto.Code) {
	switch x := txn.(type) {
	case *CreateTxn:
		p := x.Path
		if len(p) < 2 || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasSuffix(p, "/") {
			return p, proto.Stat{}, proto.ErrBadArguments
		}
		if m.nodes[p] != nil {
			return p, proto.Stat{}, proto.ErrNodeExists
		}
		parent := m.nodes[mParent(p)]
		if parent == nil {
			return p, proto.Stat{}, proto.ErrNoNode
		}
		m.nodes[p] = &mnode{data: copyBytes(x.Data), acl: copyACL(x.ACL), czxid: h.Zxid, mzxid: h.Zxid,
			pzxid: h.Zxid, ctime: h.Time, mtime: h.Time, owner: x.Owner}
		cv := x.ParentCversion
		if cv == -1 {
			cv = parent.cversion + 1
		}
		if cv > parent.cversion {
			parent.cversion, parent.pzxid = cv, h.Zxid
		}
		*changes = append(*changes,
			Change{Type: proto.EventNodeCreated, Path: p, ACL: m.nodes[p].acl, Zxid: h.Zxid},
			Change{Type: proto.EventNodeChildrenChanged, Path: mParent(p), ACL: parent.acl, Zxid: h.Zxid})
		return p, m.stat(p), proto.OK
	case *DeleteTxn:
		p := x.Path
		switch {
		case m.nodes[p] == nil:
			return p, proto.Stat{}, proto.ErrNoNode
		case p == "/":
			return p, proto.Stat{}, proto.ErrBadArguments
		case len(m.kids(p)) > 0:
			return p, proto.Stat{}, proto.ErrNotEmpty
		}
		m.remove(h.Zxid, p, changes)
		return p, proto.Stat{}, proto.OK
	case *SetDataTxn:
		n := m.nodes[x.Path]
		if n == nil {
			return x.Path, proto.Stat{}, proto.ErrNoNode
		}
		n.data, n.version, n.mzxid, n.mtime = copyBytes(x.Data), x.Version, h.Zxid, h.Time
		*changes = append(*changes, Change{Type: proto.EventNodeDataChanged, Path: x.Path, ACL: n.acl, Zxid: h.Zxid})
		return x.Path, m.stat(x.Path), proto.OK
	case *SetACLTxn:
		n := m.nodes[x.Path]
		if n == nil {
			return x.Path, proto.Stat{}, proto.ErrNoNode
		}
		n.acl, n.aversion = copyACL(x.ACL), x.Version
		return x.Path, m.stat(x.Path), proto.OK
	case *CheckTxn:
		if m.nodes[x.Path] == nil {
			return x.Path, proto.Stat{}, proto.OK
		}
		return x.Path, m.stat(x.Path), proto.OK
	}
	return "", proto.Stat{}, proto.ErrUnimplemented
}

func (m *model) remove(zxid int64, p string, changes *[]Change) {
	n, parent := m.nodes[p], m.nodes[mParent(p)]
	delete(m.nodes, p)
	if zxid > parent.pzxid {
		parent.pzxid = zxid
	}
	*changes = append(*changes,
		Change{Type: proto.EventNodeDeleted, Path: p, ACL: n.acl, Zxid: zxid},
		Change{Type: proto.EventNodeChildrenChanged, Path: mParent(p), ACL: parent.acl, Zxid: zxid})
}

func (m *model) apply(h Header, txn Txn) Result {
	if h.Zxid > m.last {
		m.last = h.Zxid
	}
	var r Result
	switch x := txn.(type) {
	case *ErrorTxn:
		r.Err = x.Err
	case *CreateSessionTxn:
	case *CloseSessionTxn:
		var victims []string
		for p, n := range m.nodes {
			if n.owner == h.Session && mIsEphemeral(n.owner) {
				victims = append(victims, p)
			}
		}
		slices.SortFunc(victims, func(a, b string) int {
			if mDepth(a) != mDepth(b) {
				return mDepth(b) - mDepth(a)
			}
			return strings.Compare(a, b)
		})
		for _, p := range victims {
			if len(m.kids(p)) == 0 {
				m.remove(h.Zxid, p, &r.Changes)
				r.Closed = append(r.Closed, p)
			}
		}
		slices.Sort(r.Closed)
	case *MultiTxn:
		r.Multi = make([]OpResult, len(x.Ops))
		failed := false
		for _, op := range x.Ops {
			if _, ok := op.Txn.(*ErrorTxn); ok {
				failed = true
			}
		}
		if failed {
			seen := false
			for i, op := range x.Ops {
				code := proto.OK
				if e, ok := op.Txn.(*ErrorTxn); ok {
					code, seen = e.Err, true
				} else if seen {
					code = proto.ErrRuntimeInconsistency
				}
				r.Multi[i] = OpResult{Type: proto.OpError, Err: code}
				if r.Err == proto.OK {
					r.Err = code
				}
			}
			return r
		}
		trial := m.clone()
		var changes []Change
		for i, op := range x.Ops {
			path, st, code := trial.op(h, op.Txn, &changes)
			if code != proto.OK {
				for j := range x.Ops {
					c := proto.OK
					if j == i {
						c = code
					} else if j > i {
						c = proto.ErrRuntimeInconsistency
					}
					r.Multi[j] = OpResult{Type: proto.OpError, Err: c}
				}
				r.Err = code
				return r
			}
			res := OpResult{Path: path, Stat: st}
			switch op.Txn.(type) {
			case *CreateTxn:
				res.Type = proto.OpCreate2
				if op.Type == proto.OpCreate {
					res.Type = proto.OpCreate
				}
			case *DeleteTxn:
				res.Type = proto.OpDelete
			case *SetDataTxn:
				res.Type = proto.OpSetData
			case *SetACLTxn:
				res.Type = proto.OpSetACL
			case *CheckTxn:
				res.Type = proto.OpCheck
			}
			r.Multi[i] = res
		}
		m.nodes = trial.nodes
		r.Changes = changes
	default:
		r.Path, r.Stat, r.Err = m.op(h, txn, &r.Changes)
		if r.Err != proto.OK {
			r.Stat, r.Changes = proto.Stat{}, nil
		}
	}
	return r
}

// gen produces random txns against the model's current state, the way a
// (sometimes buggy) preparation stage would.
type gen struct {
	r     *rand.Rand
	m     *model
	zxid  int64
	time  int64
	names []string
}

var (
	genSessions = []int64{session1, session2, 3}
	genACLs     = [][]proto.ACL{proto.OpenACLUnsafe, proto.ReadACLUnsafe, digestACL, nil,
		{{Perms: proto.PermRead | proto.PermWrite, ID: proto.Id{Scheme: "ip", ID: "10.0.0.0/8"}}, {Perms: proto.PermAdmin, ID: proto.WorldAnyone}}}
)

func (g *gen) pick(xs []string) string { return xs[g.r.Intn(len(xs))] }

// path returns an existing path, occasionally a missing or malformed one.
func (g *gen) path() string {
	switch x := g.r.Intn(20); {
	case x == 0:
		return g.pick([]string{"/missing", "/a/missing/deeper", "", "relative", "/trailing/"})
	case x < 8:
		// Prefer leaves, the usual target of deletes.
		hasKids := map[string]bool{}
		for p := range g.m.nodes {
			if p != "/" {
				hasKids[mParent(p)] = true
			}
		}
		var leaves []string
		for _, p := range g.m.paths() {
			if !hasKids[p] {
				leaves = append(leaves, p)
			}
		}
		if len(leaves) > 0 {
			return g.pick(leaves)
		}
	}
	return g.pick(g.m.paths())
}

func (g *gen) data() []byte {
	switch g.r.Intn(10) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	b := make([]byte, g.r.Intn(24))
	g.r.Read(b)
	return b
}

func (g *gen) create() (proto.OpCode, *CreateTxn) {
	parent := g.pick(g.m.paths())
	if g.r.Intn(25) == 0 {
		parent = "/missing"
	}
	pn := g.m.nodes[parent]
	cv := int32(0)
	if pn != nil {
		cv = pn.cversion
	}
	name := g.pick(g.names)
	if g.r.Intn(5) == 0 {
		name = fmt.Sprintf("%s%010d", name, cv) // sequential
	}
	path := parent + "/" + name
	if parent == "/" {
		path = "/" + name
	}
	c := &CreateTxn{Path: path, Data: g.data(), ACL: genACLs[g.r.Intn(len(genACLs))], ParentCversion: cv + 1}
	typ := proto.OpCreate
	switch x := g.r.Intn(20); {
	case x < 5:
		c.Owner = genSessions[g.r.Intn(len(genSessions))]
	case x < 7:
		c.Owner, typ = proto.ContainerOwner, proto.OpCreateContainer
	case x < 9:
		c.Owner, typ = proto.TTLOwnerMask|int64(g.r.Intn(20000)), proto.OpCreateTTL
	case x < 12:
		typ = proto.OpCreate2
	}
	switch g.r.Intn(10) {
	case 0:
		c.ParentCversion = -1
	case 1:
		c.ParentCversion = int32(g.r.Intn(int(cv) + 3)) // stale or ahead, as a replay could bring
	}
	return typ, c
}

func (g *gen) simple() SubTxn {
	switch x := g.r.Intn(100); {
	case x < 45:
		typ, c := g.create()
		return SubTxn{Type: typ, Txn: c}
	case x < 70:
		typ := proto.OpDelete
		if g.r.Intn(4) == 0 {
			typ = proto.OpDeleteContainer
		}
		return SubTxn{Type: typ, Txn: &DeleteTxn{Path: g.path()}}
	case x < 85:
		p := g.path()
		v := int32(g.r.Intn(5))
		if n := g.m.nodes[p]; n != nil {
			v = n.version + 1
		}
		return SubTxn{Type: proto.OpSetData, Txn: &SetDataTxn{Path: p, Data: g.data(), Version: v}}
	case x < 95:
		return SubTxn{Type: proto.OpSetACL, Txn: &SetACLTxn{Path: g.path(), ACL: genACLs[g.r.Intn(len(genACLs))], Version: int32(g.r.Intn(9))}}
	}
	return SubTxn{Type: proto.OpCheck, Txn: &CheckTxn{Path: g.path(), Version: int32(g.r.Intn(3))}}
}

func (g *gen) next() (Header, Txn) {
	g.zxid++
	g.time += int64(g.r.Intn(3000))
	h := Header{Session: genSessions[g.r.Intn(len(genSessions))], Cxid: int32(g.zxid), Zxid: g.zxid, Time: g.time}
	if g.r.Intn(10) == 0 {
		h.Zxid -= int64(g.r.Intn(30)) // a replayed, older zxid
	}
	var txn Txn
	switch x := g.r.Intn(100); {
	case x < 70:
		op := g.simple()
		h.Type, txn = op.Type, op.Txn
	case x < 82:
		ops := make([]SubTxn, 1+g.r.Intn(4))
		for i := range ops {
			ops[i] = g.simple()
		}
		if g.r.Intn(6) == 0 { // prepared as failed
			bad := g.r.Intn(len(ops))
			for i := range ops {
				code := proto.OK
				if i == bad {
					code = proto.ErrBadVersion
				} else if i > bad {
					code = proto.ErrRuntimeInconsistency
				}
				ops[i] = SubTxn{Type: proto.OpError, Txn: &ErrorTxn{Err: code}}
			}
		}
		h.Type, txn = proto.OpMulti, &MultiTxn{Ops: ops}
	case x < 86:
		h.Type, txn = proto.OpError, &ErrorTxn{Err: proto.ErrNodeExists}
	case x < 89:
		h.Type, txn = proto.OpCreateSession, &CreateSessionTxn{Timeout: 30000}
	default:
		h.Type, txn = proto.OpCloseSession, &CloseSessionTxn{}
	}
	return h, txn
}

// compareState checks every read of the tree against the model.
func compareState(t *testing.T, tr *Tree, m *model, now int64) {
	t.Helper()
	children := map[string][]string{}
	var ephemerals = map[int64][]string{}
	size := int64(0)
	for _, p := range m.paths() {
		if p != "/" {
			children[mParent(p)] = append(children[mParent(p)], p[strings.LastIndex(p, "/")+1:])
		}
		n := m.nodes[p]
		size += int64(len(p) + len(n.data))
		if mIsEphemeral(n.owner) {
			ephemerals[n.owner] = append(ephemerals[n.owner], p)
		}
	}
	var descendants func(p string) int
	descendants = func(p string) int {
		total := 0
		for _, c := range children[p] {
			cp := p + "/" + c
			if p == "/" {
				cp = "/" + c
			}
			total += 1 + descendants(cp)
		}
		return total
	}
	var walked []string
	tr.Walk("/", func(p string, _ Meta) bool {
		walked = append(walked, p)
		return true
	})
	slices.Sort(walked)
	require.Equal(t, m.paths(), walked)

	for _, p := range m.paths() {
		n := m.nodes[p]
		data, meta, ok := tr.Get(p)
		require.True(t, ok, p)
		require.Equal(t, n.data, data, p)
		require.Equal(t, n.data == nil, data == nil, p)
		nc := int32(len(children[p]))
		owner := n.owner
		if !mIsEphemeral(owner) {
			owner = 0
		}
		require.Equal(t, proto.Stat{
			Czxid: n.czxid, Mzxid: n.mzxid, Ctime: n.ctime, Mtime: n.mtime,
			Version: n.version, Cversion: n.cversion*2 - nc, Aversion: n.aversion,
			EphemeralOwner: owner, DataLength: int32(len(n.data)), NumChildren: nc, Pzxid: n.pzxid,
		}, meta.Stat, p)
		require.Equal(t, n.acl, meta.ACL, p)
		require.Equal(t, n.cversion, meta.CreateCount, p)
		require.Equal(t, n.owner, meta.Owner, p)
		names, _, _ := tr.Children(p)
		require.ElementsMatch(t, children[p], names, p)
		d, _ := tr.CountDescendants(p)
		require.Equal(t, descendants(p), d, p)
	}
	require.Equal(t, len(m.nodes), tr.NodeCount())
	require.Equal(t, size, tr.ApproxDataSize())
	count := 0
	sessions := []int64{}
	for s, ps := range ephemerals {
		sessions = append(sessions, s)
		slices.Sort(ps)
		require.Equal(t, ps, tr.Ephemerals(s))
		count += len(ps)
	}
	slices.Sort(sessions)
	require.Equal(t, sessions, tr.EphemeralSessions())
	require.Equal(t, count, tr.EphemeralCount())
	require.Equal(t, m.last, tr.LastZxid())
	for _, neverUsed := range []int64{0, 4000} {
		var want []string
		for _, p := range m.paths() {
			n := m.nodes[p]
			if len(children[p]) > 0 {
				continue
			}
			elapsed := now - n.mtime
			ttl := n.owner & (1<<40 - 1)
			if mIsContainer(n.owner) && (n.cversion > 0 || neverUsed > 0 && elapsed > neverUsed) ||
				mIsTTL(n.owner) && ttl != 0 && elapsed > ttl {
				want = append(want, p)
			}
		}
		require.Equal(t, want, tr.ExpiredContainers(now, neverUsed))
	}
	require.Equal(t, tr.recomputeDigest(), tr.Digest())
}

// rebuild constructs, through Apply, a tree holding exactly the model's
// content by a history unlike the one that produced it: nodes created in
// path order, then data, ACL, cversion and pzxid forced with txns whose
// versions and zxids preparation would never produce.
func rebuild(t *testing.T, m *model) *Tree {
	t.Helper()
	tr := NewTree()
	for _, p := range []string{ConfigPath, QuotaPath, ZooKeeperPath} {
		if m.nodes[p] == nil {
			mustApply(t, tr, Header{Type: proto.OpDelete}, &DeleteTxn{Path: p})
		}
	}
	for _, p := range m.paths() {
		if _, ok := tr.Meta(p); ok {
			continue // a node NewTree made
		}
		n := m.nodes[p]
		mustApply(t, tr, Header{Zxid: n.czxid, Time: n.ctime, Type: proto.OpCreate},
			&CreateTxn{Path: p, Data: n.data, ACL: n.acl, Owner: n.owner, ParentCversion: 0})
	}
	for _, p := range m.paths() {
		n := m.nodes[p]
		mustApply(t, tr, Header{Zxid: n.mzxid, Time: n.mtime, Type: proto.OpSetData},
			&SetDataTxn{Path: p, Data: n.data, Version: n.version})
		mustApply(t, tr, Header{Type: proto.OpSetACL}, &SetACLTxn{Path: p, ACL: n.acl, Version: n.aversion})
		if n.cversion == 0 && n.pzxid == n.czxid {
			continue
		}
		dummy := p + "/dummy"
		if p == "/" {
			dummy = "/dummy"
		}
		mustApply(t, tr, Header{Zxid: math.MinInt64, Type: proto.OpCreate}, &CreateTxn{Path: dummy, ParentCversion: n.cversion})
		mustApply(t, tr, Header{Zxid: n.pzxid, Type: proto.OpDelete}, &DeleteTxn{Path: dummy})
	}
	return tr
}

func TestTreeMatchesModel(t *testing.T) {
	ops := 3000
	if testing.Short() || raceEnabled {
		ops = 1500
	}
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			m := newModel()
			tr := NewTree()
			g := &gen{r: r, m: m, names: []string{"a", "b", "c", "d", "e"}}
			for i := 0; i < ops; i++ {
				h, txn := g.next()
				want := m.apply(h, txn)
				got := tr.Apply(h, txn)
				require.Equal(t, want, got, "op %d: %T %+v", i, txn, txn)
				if i%20 == 0 {
					compareState(t, tr, m, g.time)
				}
				if i%500 == 499 {
					other := rebuild(t, m)
					compareState(t, other, &model{nodes: m.nodes, last: other.LastZxid()}, g.time)
					require.Equal(t, tr.Digest(), other.Digest(), "same content, different history")
				}
			}
			compareState(t, tr, m, g.time)
			require.Greater(t, tr.NodeCount(), 10, "the run built a real tree")
		})
	}
}
