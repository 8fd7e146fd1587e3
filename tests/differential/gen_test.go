package differential_test

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/warrenhq/warren/internal/testutil"
)

type opKind int

const (
	opCreate opKind = iota
	opDelete
	opSet
	opExists
	opGet
	opChildren
	opGetACL
	opSetACL
	opSync
	opAuth
	opMulti
	opClose
)

var opNames = map[opKind]string{
	opCreate: "create", opDelete: "delete", opSet: "set", opExists: "exists", opGet: "get",
	opChildren: "children", opGetACL: "getACL", opSetACL: "setACL", opSync: "sync", opAuth: "addauth",
	opMulti: "multi", opClose: "close",
}

// op is one client operation of the stream.
type op struct {
	kind    opKind
	slot    int
	path    string
	data    []byte
	version int32
	flags   int32
	ttl     time.Duration
	acl     []zk.ACL
	watch   bool
	multi   []any // *zk.CreateRequest, *zk.DeleteRequest, *zk.SetDataRequest, *zk.CheckVersionRequest
}

func (o op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s as %s", opNames[o.kind], identities[o.slot].name)
	if o.kind == opMulti {
		for _, m := range o.multi {
			switch r := m.(type) {
			case *zk.CreateRequest:
				fmt.Fprintf(&b, " {create %q %q flags=%d acl=%s}", r.Path, r.Data, r.Flags, aclText(r.Acl))
			case *zk.DeleteRequest:
				fmt.Fprintf(&b, " {delete %q v=%d}", r.Path, r.Version)
			case *zk.SetDataRequest:
				fmt.Fprintf(&b, " {set %q %q v=%d}", r.Path, r.Data, r.Version)
			case *zk.CheckVersionRequest:
				fmt.Fprintf(&b, " {check %q v=%d}", r.Path, r.Version)
			}
		}
		return b.String()
	}
	if o.kind == opAuth {
		fmt.Fprintf(&b, " digest %q", o.data)
		return b.String()
	}
	fmt.Fprintf(&b, " %q", o.path)
	switch o.kind {
	case opCreate:
		fmt.Fprintf(&b, " %q flags=%d acl=%s", o.data, o.flags, aclText(o.acl))
		if o.flags == zk.FlagTTL || o.flags == zk.FlagPersistentSequentialWithTTL {
			fmt.Fprintf(&b, " ttl=%dms", o.ttl.Milliseconds())
		}
	case opSet:
		fmt.Fprintf(&b, " %q v=%d", o.data, o.version)
	case opDelete:
		fmt.Fprintf(&b, " v=%d", o.version)
	case opSetACL:
		fmt.Fprintf(&b, " %s v=%d", aclText(o.acl), o.version)
	}
	if o.watch {
		b.WriteString(" watch")
	}
	return b.String()
}

// maxTTL is the largest TTL ZooKeeper accepts (2^40-1 ms).
const maxTTL = time.Duration(1<<40-1) * time.Millisecond

// names make up the generated paths: a small alphabet under root, so that
// operations keep meeting each other's nodes.
var names = []string{"a", "b", "c"}

// badPaths are invalid paths (zk-protocol.md §4.1) that go-zookeeper
// would refuse to send as plain requests; they travel inside a multi, which
// it does not check, so that the server's own validation is compared.
var badPaths = []string{
	"", "d", root + "/", root + "//a", root + "/.", root + "/..", root + "/./a", root + "/../a",
	root + "/a\x00b", root + "/\x01", root + "/\x1f", root + "/\u007f", root + "/\u009f",
	root + "/\ue000", root + "/\uf8ff", root + "/\ufff0", root + "/\uffff",
}

// gen produces the seeded operation stream. It keeps a small model (the
// sequential nodes created so far) fed with the oracle's results, so the
// stream depends only on the seed as long as both servers agree.
type gen struct {
	rng      *rand.Rand
	seqNodes []string
	sessions int
	// ephemerals lists, per slot, the ephemeral nodes its current session
	// created (some may be deleted since).
	ephemerals map[int][]string
}

func newGen(seed int64) *gen {
	return &gen{rng: rand.New(rand.NewSource(seed)), ephemerals: map[int][]string{}}
}

// takeEphemerals returns and forgets the ephemerals of a slot's session.
func (g *gen) takeEphemerals(slot int) []string {
	e := g.ephemerals[slot]
	delete(g.ephemerals, slot)
	return e
}

func isEphemeral(flags int32) bool {
	return flags == zk.FlagEphemeral || flags == zk.FlagEphemeralSequential
}

// newSession returns the next logical session number.
func (g *gen) newSession() int {
	g.sessions++
	return g.sessions
}

// observe updates the model with an operation's (oracle) result.
func (g *gen) observe(o op, res result) {
	switch {
	case o.kind == opCreate && isEphemeral(o.flags):
		g.ephemerals[o.slot] = append(g.ephemerals[o.slot], res.created...)
	case o.kind == opMulti:
		created := res.created
		for _, m := range o.multi {
			if c, ok := m.(*zk.CreateRequest); ok && len(created) > 0 {
				if isEphemeral(c.Flags) {
					g.ephemerals[o.slot] = append(g.ephemerals[o.slot], created[0])
				}
				created = created[1:]
			}
		}
	}
	for _, p := range res.created {
		if strings.HasPrefix(p, root+"/") && len(p) > 10 && isDigits(p[len(p)-10:]) {
			g.seqNodes = append(g.seqNodes, p)
		}
	}
	if o.kind == opDelete && res.text == "ok" {
		g.seqNodes = slices.DeleteFunc(g.seqNodes, func(p string) bool { return p == o.path })
	}
	if len(g.seqNodes) > 64 {
		g.seqNodes = g.seqNodes[len(g.seqNodes)-64:]
	}
}

func isDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

func (g *gen) pct(p int) bool { return g.rng.Intn(100) < p }

func (g *gen) pick(xs []string) string { return xs[g.rng.Intn(len(xs))] }

// path returns an existing-or-not node path: mostly under root up to three
// levels deep, sometimes a sequential node created earlier, rarely root,
// "/" or the reserved /zookeeper nodes.
func (g *gen) path() string {
	switch r := g.rng.Intn(100); {
	case r < 12 && len(g.seqNodes) > 0:
		return g.pick(g.seqNodes)
	case r < 15:
		return root
	case r < 16:
		return "/"
	case r < 17:
		return g.pick([]string{"/zookeeper", "/zookeeper/quota", "/zookeeper/config", "/zookeeper/x"})
	default:
		p := root
		for depth := 1 + g.rng.Intn(3); depth > 0; depth-- {
			p += "/" + g.pick(names)
		}
		return p
	}
}

// seqPath returns a path prefix for a sequential create: a parent under root
// plus "s-" or "" (a trailing slash is valid for sequential nodes).
func (g *gen) seqPath() string {
	parent := root
	if g.pct(60) {
		parent += "/" + g.pick(names)
	}
	return parent + "/" + g.pick([]string{"s-", "q", ""})
}

func (g *gen) data() []byte {
	switch r := g.rng.Intn(100); {
	case r < 10:
		return nil
	case r < 12:
		return []byte(strings.Repeat("x", 1000+g.rng.Intn(2000)))
	default:
		b := make([]byte, g.rng.Intn(9))
		for i := range b {
			b[i] = byte('a' + g.rng.Intn(26))
		}
		return b
	}
}

func (g *gen) version() int32 {
	switch r := g.rng.Intn(100); {
	case r < 45:
		return -1
	case r < 48:
		return -2
	default:
		return int32(g.rng.Intn(4))
	}
}

func (g *gen) perms() int32 { return int32(g.rng.Intn(32)) }

// acl returns an ACL list: mostly open, sometimes restricted to a digest
// user, the creator (auth scheme), an IP, read-only or nothing; rarely
// invalid.
func (g *gen) acl() []zk.ACL {
	switch r := g.rng.Intn(100); {
	case r < 55:
		return zk.WorldACL(zk.PermAll)
	case r < 63:
		return zk.WorldACL(g.perms())
	case r < 70:
		return []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: testutil.Digest("alice", "pw")}, {Perms: zk.PermRead, Scheme: "world", ID: "anyone"}}
	case r < 75:
		return []zk.ACL{{Perms: g.perms(), Scheme: "digest", ID: testutil.Digest("bob", "pw")}}
	case r < 82:
		return []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: ""}}
	case r < 86:
		return []zk.ACL{{Perms: g.perms() | zk.PermRead, Scheme: "ip", ID: g.pick([]string{"127.0.0.1", "127.0.0.0/8", "10.0.0.0/8"})}}
	case r < 89:
		return []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: "anyone"}, {Perms: zk.PermAll, Scheme: "world", ID: "anyone"}}
	case r < 92:
		return []zk.ACL{}
	case r < 94:
		return []zk.ACL{{Perms: zk.PermAll, Scheme: "bogus", ID: "x"}}
	case r < 96:
		return []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: "nocolon"}}
	case r < 98:
		return []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "not-an-ip"}}
	default:
		return []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: "someone"}}
	}
}

func (g *gen) ttl() time.Duration {
	switch r := g.rng.Intn(100); {
	case r < 4:
		return 0
	case r < 7:
		return maxTTL + time.Millisecond
	case r < 9:
		return maxTTL
	default:
		return time.Duration(1+g.rng.Intn(600000)) * time.Millisecond
	}
}

// createOp returns a create of any mode.
func (g *gen) createOp(slot int) op {
	o := op{kind: opCreate, slot: slot, data: g.data(), acl: g.acl()}
	switch r := g.rng.Intn(100); {
	case r < 40:
		o.flags = zk.FlagPersistent
	case r < 55:
		o.flags = zk.FlagEphemeral
	case r < 67:
		o.flags = zk.FlagSequence
	case r < 77:
		o.flags = zk.FlagEphemeralSequential
	case r < 87:
		o.flags = zk.FlagContainer
	case r < 94:
		o.flags = zk.FlagTTL
	default:
		o.flags = zk.FlagPersistentSequentialWithTTL
	}
	switch o.flags {
	case zk.FlagSequence, zk.FlagEphemeralSequential, zk.FlagPersistentSequentialWithTTL:
		o.path = g.seqPath()
	default:
		o.path = g.path()
	}
	if o.flags == zk.FlagTTL || o.flags == zk.FlagPersistentSequentialWithTTL {
		o.ttl = g.ttl()
	}
	return o
}

// subOp returns one operation for a multi; bad makes it one that fails.
func (g *gen) subOp(bad bool) any {
	if bad {
		switch g.rng.Intn(5) {
		case 0:
			return &zk.CheckVersionRequest{Path: root, Version: 1000}
		case 1:
			return &zk.DeleteRequest{Path: root + "/missing", Version: -1}
		case 2:
			return &zk.CreateRequest{Path: root, Data: nil, Acl: zk.WorldACL(zk.PermAll), Flags: zk.FlagPersistent}
		case 3:
			return &zk.SetDataRequest{Path: root + "/missing", Data: []byte("x"), Version: -1}
		default:
			return &zk.CreateRequest{Path: root + "/missing/child", Data: nil, Acl: zk.WorldACL(zk.PermAll), Flags: zk.FlagPersistent}
		}
	}
	if g.pct(40) {
		// Operations that usually succeed, so that whole multis commit too.
		switch g.rng.Intn(3) {
		case 0:
			return &zk.CreateRequest{Path: root + "/" + g.pick([]string{"m-", ""}), Data: g.data(), Acl: zk.WorldACL(zk.PermAll),
				Flags: []int32{zk.FlagSequence, zk.FlagEphemeralSequential}[g.rng.Intn(2)]}
		case 1:
			return &zk.SetDataRequest{Path: root, Data: g.data(), Version: -1}
		default:
			return &zk.CheckVersionRequest{Path: root, Version: -1}
		}
	}
	switch g.rng.Intn(4) {
	case 0:
		flags := []int32{zk.FlagPersistent, zk.FlagEphemeral, zk.FlagSequence, zk.FlagEphemeralSequential, zk.FlagContainer}[g.rng.Intn(5)]
		p := g.path()
		if flags == zk.FlagSequence || flags == zk.FlagEphemeralSequential {
			p = g.seqPath()
		}
		return &zk.CreateRequest{Path: p, Data: g.data(), Acl: g.acl(), Flags: flags}
	case 1:
		return &zk.DeleteRequest{Path: g.path(), Version: g.version()}
	case 2:
		return &zk.SetDataRequest{Path: g.path(), Data: g.data(), Version: g.version()}
	default:
		return &zk.CheckVersionRequest{Path: g.path(), Version: g.version()}
	}
}

// badPathOp returns a multi with one operation on an invalid path, at a
// random position among valid ones.
func (g *gen) badPathOp(slot int) op {
	o := op{kind: opMulti, slot: slot}
	n := 1 + g.rng.Intn(3)
	at := g.rng.Intn(n)
	for i := range n {
		if i != at {
			o.multi = append(o.multi, g.subOp(false))
			continue
		}
		p := g.pick(badPaths)
		switch g.rng.Intn(4) {
		case 0:
			flags := []int32{zk.FlagPersistent, zk.FlagSequence}[g.rng.Intn(2)]
			o.multi = append(o.multi, &zk.CreateRequest{Path: p, Data: []byte("x"), Acl: zk.WorldACL(zk.PermAll), Flags: flags})
		case 1:
			o.multi = append(o.multi, &zk.DeleteRequest{Path: p, Version: -1})
		case 2:
			o.multi = append(o.multi, &zk.SetDataRequest{Path: p, Data: []byte("x"), Version: -1})
		default:
			o.multi = append(o.multi, &zk.CheckVersionRequest{Path: p, Version: -1})
		}
	}
	return o
}

// prologue is the same for every seed: the edge cases a random stream
// reaches too rarely, stated once so that every run covers them.
func prologue() []op {
	open := zk.WorldACL(zk.PermAll)
	p := root + "/prologue"
	return []op{
		{kind: opCreate, slot: slotAnon, path: p, acl: open},
		{kind: opCreate, slot: slotAnon, path: p + "/eph", flags: zk.FlagEphemeral, acl: open},
		{kind: opCreate, slot: slotAnon, path: p + "/eph/child", acl: open},
		{kind: opCreate, slot: slotAnon, path: p + "/eph/", flags: zk.FlagSequence, acl: open},
		{kind: opCreate, slot: slotAnon, path: p + "/cont", flags: zk.FlagContainer, acl: open},
		{kind: opCreate, slot: slotAnon, path: p + "/cont/kid", acl: open},
		{kind: opDelete, slot: slotAnon, path: p + "/cont/kid", version: -1},
		{kind: opExists, slot: slotAnon, path: p + "/cont"},
		{kind: opCreate, slot: slotAnon, path: p + "/ttl", flags: zk.FlagTTL, ttl: time.Hour, acl: open},
		{kind: opCreate, slot: slotAnon, path: p + "/ttl0", flags: zk.FlagTTL, ttl: 0, acl: open},
		{kind: opCreate, slot: slotAnon, path: p + "/ttls-", flags: zk.FlagPersistentSequentialWithTTL, ttl: time.Minute, acl: open},
		{kind: opCreate, slot: slotAnon, path: p + "/s-", flags: zk.FlagSequence, acl: open},
		{kind: opCreate, slot: slotAnon, path: p + "/s-", flags: zk.FlagEphemeralSequential, acl: open},
		{kind: opDelete, slot: slotAnon, path: p + "/s-0000000005", version: -1},
		{kind: opCreate, slot: slotAnon, path: p + "/s-", flags: zk.FlagSequence, acl: open},
		{kind: opChildren, slot: slotAnon, path: p},
		{kind: opSet, slot: slotAnon, path: p, data: []byte("v1"), version: 0},
		{kind: opSet, slot: slotAnon, path: p, data: []byte("v2"), version: 0},
		{kind: opSetACL, slot: slotAnon, path: p, acl: open, version: 0},
		{kind: opSetACL, slot: slotAnon, path: p, acl: open, version: 0},
		{kind: opGetACL, slot: slotAnon, path: p},
		{kind: opCreate, slot: slotAlice, path: p + "/alice", acl: zk.AuthACL(zk.PermAll)},
		{kind: opCreate, slot: slotAnon, path: p + "/anon", acl: zk.AuthACL(zk.PermAll)},
		{kind: opGet, slot: slotBob, path: p + "/alice"},
		{kind: opGet, slot: slotSuper, path: p + "/alice"},
		{kind: opGetACL, slot: slotAlice, path: p + "/alice"},
		{kind: opGet, slot: slotBob, path: p + "/alice", watch: true},
		{kind: opExists, slot: slotBob, path: p + "/alice", watch: true},
		{kind: opChildren, slot: slotBob, path: p, watch: true},
		{kind: opSet, slot: slotAlice, path: p + "/alice", data: []byte("x"), version: -1},
		{kind: opDelete, slot: slotAlice, path: p + "/alice", version: -1},
		{kind: opDelete, slot: slotAnon, path: p, version: -1},
		{kind: opSync, slot: slotAnon, path: p},
	}
}

// next returns the next operation of the stream.
func (g *gen) next() op {
	slot := g.rng.Intn(len(identities))
	switch r := g.rng.Intn(1000); {
	case r < 230:
		return g.createOp(slot)
	case r < 330:
		p := g.path()
		if len(g.seqNodes) > 0 && g.pct(40) {
			p = g.pick(g.seqNodes)
		}
		return op{kind: opDelete, slot: slot, path: p, version: g.version()}
	case r < 430:
		return op{kind: opSet, slot: slot, path: g.path(), data: g.data(), version: g.version()}
	case r < 510:
		return op{kind: opExists, slot: slot, path: g.path(), watch: g.pct(50)}
	case r < 590:
		return op{kind: opGet, slot: slot, path: g.path(), watch: g.pct(50)}
	case r < 670:
		return op{kind: opChildren, slot: slot, path: g.path(), watch: g.pct(50)}
	case r < 710:
		return op{kind: opGetACL, slot: slot, path: g.path()}
	case r < 760:
		return op{kind: opSetACL, slot: slot, path: g.path(), acl: g.acl(), version: g.version()}
	case r < 790:
		return op{kind: opSync, slot: slot, path: g.path()}
	case r < 800:
		id := identities[g.rng.Intn(len(identities))]
		cred := id.user + ":" + id.password
		if id.user == "" || g.pct(30) {
			cred = "mallory:wrong"
		}
		return op{kind: opAuth, slot: slot, data: []byte(cred)}
	case r < 900:
		o := op{kind: opMulti, slot: slot}
		n := 1 + g.rng.Intn(5)
		bad := -1
		if g.pct(35) {
			bad = g.rng.Intn(n)
		}
		for i := range n {
			o.multi = append(o.multi, g.subOp(i == bad))
		}
		return o
	case r < 985:
		return g.badPathOp(slot)
	default:
		return op{kind: opClose, slot: slot}
	}
}
