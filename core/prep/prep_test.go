package prep

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
)

var extended = Config{ExtendedTypes: true}

// fixture builds, applied:
//
//	/t          open, with child /t/child
//	/ro         READ for anyone, with child /ro/x (created by super)
//	/wo         WRITE for anyone
//	/e          ephemeral of anon
//	/cont       container
//
// so the root's next sequential suffix is 0000000005.
func fixture(t *testing.T, cfg Config) *env {
	e := newEnv(t, cfg)
	e.must(proto.OpCreate, create("/t", proto.ModePersistent, open), anon)
	e.must(proto.OpCreate, create("/t/child", proto.ModePersistent, open), anon)
	e.must(proto.OpCreate, create("/ro", proto.ModePersistent, readOnly), anon)
	e.must(proto.OpCreate, create("/ro/x", proto.ModePersistent, open), admin)
	e.must(proto.OpCreate, create("/wo", proto.ModePersistent, writeOnly), anon)
	e.must(proto.OpCreate, create("/e", proto.ModeEphemeral, open), anon)
	e.must(proto.OpCreateContainer, create("/cont", proto.ModeContainer, open), anon)
	e.applyAll()
	return e
}

// The expected codes of the cases marked "zk" were observed on ZooKeeper
// 3.8.0 with the same requests (extendedTypesEnabled as the case's
// configuration says), sent raw over the wire.
func TestCreateChecksInZooKeeperOrder(t *testing.T) {
	noExt := Config{}
	tests := []struct {
		name string
		cfg  *Config
		op   proto.OpCode
		req  any
		s    Session
		code proto.Code
		path string // created path on success
	}{
		{"zk: missing parent and invalid ACL", nil, proto.OpCreate, create("/nope/x", 0, badACL), anon, proto.ErrInvalidACL, ""},
		{"zk: missing parent and empty ACL", nil, proto.OpCreate, create("/nope/x", 0, nil), anon, proto.ErrInvalidACL, ""},
		{"zk: missing parent and auth ACL without auth", nil, proto.OpCreate, create("/nope/x", 0, creatorAll), anon, proto.ErrInvalidACL, ""},
		{"zk: bad flags and bad path", nil, proto.OpCreate, create("bad", 9, badACL), anon, proto.ErrBadArguments, ""},
		{"negative flags", nil, proto.OpCreate, create("/n", -1, open), anon, proto.ErrBadArguments, ""},
		{"zk: no slash and bad ACL", nil, proto.OpCreate, create("bad", 0, badACL), anon, proto.ErrBadArguments, ""},
		{"empty path", nil, proto.OpCreate, create("", 0, open), anon, proto.ErrBadArguments, ""},
		{"NUL before anything else", nil, proto.OpCreate, create("/nope/\x00", 0, badACL), anon, proto.ErrBadArguments, ""},
		{"zk: root exists", nil, proto.OpCreate, create("/", 0, open), anon, proto.ErrNodeExists, ""},
		{"zk: sequential at the root", nil, proto.OpCreate, create("/", proto.ModePersistentSequential, open), anon, proto.OK, "/0000000005"},
		{"zk: empty segment under root", nil, proto.OpCreate, create("//a", 0, open), anon, proto.ErrBadArguments, ""},
		{"zk: empty segment deeper: its parent is missing", nil, proto.OpCreate, create("/a//b", 0, open), anon, proto.ErrNoNode, ""},
		{"zk: trailing slash with sequence", nil, proto.OpCreate, create("/t/", proto.ModePersistentSequential, open), anon, proto.OK, "/t/0000000001"},
		{"zk: trailing slash", nil, proto.OpCreate, create("/t/", 0, open), anon, proto.ErrBadArguments, ""},
		{"zk: trailing slash, missing parent", nil, proto.OpCreate, create("/t/x/", 0, open), anon, proto.ErrNoNode, ""},
		{"invalid character", nil, proto.OpCreate, create("/t/\u0001", 0, open), anon, proto.ErrBadArguments, ""},
		{"dot segment", nil, proto.OpCreate, create("/t/..", 0, open), anon, proto.ErrBadArguments, ""},
		{"zk: no CREATE on parent", nil, proto.OpCreate, create("/ro/y", 0, open), anon, proto.ErrNoAuth, ""},
		{"no CREATE beats bad path", nil, proto.OpCreate, create("/ro/.", 0, open), anon, proto.ErrNoAuth, ""},
		{"no CREATE beats existing node", nil, proto.OpCreate, create("/ro/x", 0, open), anon, proto.ErrNoAuth, ""},
		{"zk: no CREATE, trailing slash: parent missing", nil, proto.OpCreate, create("/ro/y/", 0, open), anon, proto.ErrNoNode, ""},
		{"super may create anywhere", nil, proto.OpCreate, create("/ro/y", 0, open), admin, proto.OK, "/ro/y"},
		{"skipACL", &Config{SkipACL: true}, proto.OpCreate, create("/ro/y", 0, open), anon, proto.OK, "/ro/y"},
		{"node exists", nil, proto.OpCreate, create("/t/child", 0, open), anon, proto.ErrNodeExists, ""},
		{"zk: sequential under ephemeral", nil, proto.OpCreate, create("/e/x", proto.ModePersistentSequential, open), anon, proto.ErrNoChildrenForEphemerals, ""},
		{"zk: bad ACL under ephemeral", nil, proto.OpCreate, create("/e/x", 0, badACL), anon, proto.ErrInvalidACL, ""},
		{"zk: bad path under ephemeral", nil, proto.OpCreate, create("/e/x/", 0, open), anon, proto.ErrNoNode, ""},
		{"zk: under a container", nil, proto.OpCreate, create("/cont/x", 0, open), anon, proto.OK, "/cont/x"},
		{"auth ACL with digest", nil, proto.OpCreate, create("/au", 0, creatorAll), user, proto.OK, "/au"},

		{"zk: create2 with a TTL mode has no ttl", nil, proto.OpCreate2, create("/c", proto.ModePersistentWithTTL, open), anon, proto.ErrBadArguments, ""},
		{"zk: create2 with a TTL mode, extended types off", &noExt, proto.OpCreate2, create("/c", proto.ModePersistentWithTTL, open), anon, proto.ErrUnimplemented, ""},
		{"zk: ttl 0", nil, proto.OpCreateTTL, createTTL("/ttl", proto.ModePersistentWithTTL, 0), anon, proto.ErrBadArguments, ""},
		{"zk: ttl above max", nil, proto.OpCreateTTL, createTTL("/ttl", proto.ModePersistentWithTTL, proto.MaxTTL+1), anon, proto.ErrBadArguments, ""},
		{"ttl max", nil, proto.OpCreateTTL, createTTL("/ttl", proto.ModePersistentWithTTL, proto.MaxTTL), anon, proto.OK, "/ttl"},
		{"zk: ttl with a non-TTL mode", nil, proto.OpCreateTTL, createTTL("/ttl", proto.ModePersistent, 5), anon, proto.ErrBadArguments, ""},
		{"createTTL with a non-TTL mode and no ttl", nil, proto.OpCreateTTL, createTTL("/ttl", proto.ModePersistent, -1), anon, proto.ErrBadArguments, ""},
		{"zk: sequential TTL", nil, proto.OpCreateTTL, createTTL("/ttl", proto.ModePersistentSequentialWithTTL, 1000), anon, proto.OK, "/ttl0000000005"},
		{"zk: ttl checked before path and ACL", nil, proto.OpCreateTTL, &proto.CreateTTLRequest{Path: "/nope/ttl", ACL: badACL, Flags: proto.ModePersistentWithTTL, TTL: 0}, anon, proto.ErrBadArguments, ""},
		{"zk: createTTL, extended types off", &noExt, proto.OpCreateTTL, createTTL("/ttl", proto.ModePersistentWithTTL, 1000), anon, proto.ErrUnimplemented, ""},
		{"zk: createTTL, extended types off, non-TTL mode", &noExt, proto.OpCreateTTL, createTTL("/ttl", proto.ModePersistent, 1000), anon, proto.ErrBadArguments, ""},
		{"createContainer needs the container mode", nil, proto.OpCreateContainer, create("/c", proto.ModePersistent, open), anon, proto.ErrBadArguments, ""},
		{"createContainer with an ephemeral mode", nil, proto.OpCreateContainer, create("/c", proto.ModeEphemeral, open), anon, proto.ErrBadArguments, ""},
		{"zk: plain create with the container mode", nil, proto.OpCreate2, create("/c", proto.ModeContainer, open), anon, proto.OK, "/c"},
		{"request record of another type", nil, proto.OpCreate, del("/x", -1), anon, proto.ErrMarshallingError, ""},
		{"createTTL with a create record", nil, proto.OpCreateTTL, create("/x", proto.ModePersistentWithTTL, open), anon, proto.ErrMarshallingError, ""},

		{"data under MaxDataSize", &Config{MaxDataSize: 2}, proto.OpCreate, create("/big", 0, open), anon, proto.OK, "/big"},
		{"data over MaxDataSize", &Config{MaxDataSize: 1}, proto.OpCreate, &proto.CreateRequest{Path: "/big", Data: []byte("ab"), ACL: open}, anon, proto.ErrBadArguments, ""},
		{"existing node beats MaxDataSize", &Config{MaxDataSize: 1}, proto.OpCreate, &proto.CreateRequest{Path: "/t", Data: []byte("ab"), ACL: open}, anon, proto.ErrNodeExists, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := extended
			if tt.cfg != nil {
				cfg = *tt.cfg
			}
			e := fixture(t, cfg)
			if tt.code != proto.OK {
				txn := e.fail(tt.op, tt.req, tt.s, tt.code)
				assert.Equal(t, &znode.ErrorTxn{Err: tt.code}, txn)
				return
			}
			txn := e.must(tt.op, tt.req, tt.s)
			c, ok := txn.(*znode.CreateTxn)
			require.True(t, ok, "%T", txn)
			assert.Equal(t, tt.path, c.Path)
			e.applyAll()
			assert.True(t, e.exists(tt.path), "applied")
		})
	}
}

func TestCreateTxn(t *testing.T) {
	e := fixture(t, extended)
	root := e.meta("/")
	data := []byte("payload")

	txn := e.must(proto.OpCreate2, &proto.CreateRequest{Path: "/p", Data: data, ACL: creatorAll, Flags: proto.ModePersistent}, user)
	assert.Equal(t, &znode.CreateTxn{
		Path: "/p", Data: data, ACL: []proto.ACL{{Perms: proto.PermAll, ID: userDigest}},
		Owner: 0, ParentCversion: root.CreateCount + 1,
	}, txn)

	txn = e.must(proto.OpCreate, create("/p/e", proto.ModeEphemeralSequential, open), user)
	assert.Equal(t, &znode.CreateTxn{Path: "/p/e0000000000", Data: []byte("d"), ACL: open, Owner: user.ID, ParentCversion: 1}, txn)

	txn = e.must(proto.OpCreateContainer, create("/p/c", proto.ModeContainer, open), user)
	assert.Equal(t, proto.ContainerOwner, txn.(*znode.CreateTxn).Owner)
	assert.Equal(t, int32(2), txn.(*znode.CreateTxn).ParentCversion)

	txn = e.must(proto.OpCreateTTL, createTTL("/p/ttl", proto.ModePersistentSequentialWithTTL, 12345), user)
	assert.Equal(t, "/p/ttl0000000002", txn.(*znode.CreateTxn).Path)
	assert.Equal(t, proto.TTLOwnerMask|12345, txn.(*znode.CreateTxn).Owner)

	// A plain create with the container mode makes a persistent node, as
	// ZooKeeper's DataTree does with a CreateTxn.
	txn = e.must(proto.OpCreate, create("/p/notcontainer", proto.ModeContainer, open), user)
	assert.Zero(t, txn.(*znode.CreateTxn).Owner)

	e.applyAll()
	assert.Equal(t, user.ID, e.meta("/p/e0000000000").Stat.EphemeralOwner)
	assert.Equal(t, proto.ContainerOwner, e.meta("/p/c").Owner)
	ttl, ok := znode.TTLOf(e.meta("/p/ttl0000000002").Owner)
	require.True(t, ok)
	assert.Equal(t, int64(12345), ttl)
	assert.Equal(t, int32(4), e.meta("/p").CreateCount)
	assert.Equal(t, []proto.ACL{{Perms: proto.PermAll, ID: userDigest}}, e.meta("/p").ACL)
}

func TestSequentialSuffixFormat(t *testing.T) {
	tests := []struct {
		count  int32
		path   string
		nextCV int32
	}{
		{0, "/s0000000000", 1},
		{5, "/s0000000005", 6},
		{1234567890, "/s1234567890", 1234567891},
		{math.MaxInt32, "/s2147483647", math.MinInt32}, // Java int overflow
		{math.MinInt32, "/s-2147483648", math.MinInt32 + 1},
		{-5, "/s-000000005", -4},
	}
	for _, tt := range tests {
		view := fakeView{"/": {ACL: open, CreateCount: tt.count}}
		p := New(view, extended)
		txn, code := p.Prepare(znode.Header{Zxid: 1, Type: proto.OpCreate}, create("/s", proto.ModePersistentSequential, open), anon)
		require.Equal(t, proto.OK, code)
		assert.Equal(t, tt.path, txn.(*znode.CreateTxn).Path)
		assert.Equal(t, tt.nextCV, txn.(*znode.CreateTxn).ParentCversion)
	}
}

func TestDeleteChecksInZooKeeperOrder(t *testing.T) {
	tests := []struct {
		name string
		req  *proto.DeleteRequest
		s    Session
		code proto.Code
	}{
		{"zk: no DELETE on parent beats missing node", del("/ro/missing", -1), anon, proto.ErrNoAuth},
		{"no DELETE on parent", del("/ro/x", -1), anon, proto.ErrNoAuth},
		{"super", del("/ro/x", -1), admin, proto.OK},
		{"zk: root", del("/", -1), admin, proto.ErrBadArguments},
		{"zk: /zookeeper", del("/zookeeper", -1), admin, proto.ErrBadArguments},
		{"zk: /zookeeper/config", del("/zookeeper/config", -1), admin, proto.ErrBadArguments},
		{"zk: /zookeeper/quota", del("/zookeeper/quota", -1), admin, proto.ErrBadArguments},
		{"zk: trailing slash is not validated, just missing", del("/t/", -1), anon, proto.ErrNoNode},
		{"zk: no slash", del("nope", -1), anon, proto.ErrBadArguments},
		{"empty path", del("", -1), anon, proto.ErrBadArguments},
		{"NUL", del("/t\x00", -1), anon, proto.ErrBadArguments},
		{"missing parent", del("/nope/x", -1), anon, proto.ErrNoNode},
		{"missing node", del("/t/nope", -1), anon, proto.ErrNoNode},
		{"zk: bad version beats children", del("/t", 5), anon, proto.ErrBadVersion},
		{"zk: children", del("/t", -1), anon, proto.ErrNotEmpty},
		{"matching version", del("/t/child", 0), anon, proto.OK},
		{"bad version", del("/t/child", 1), anon, proto.ErrBadVersion},
		{"ephemeral of another session", del("/e", -1), user, proto.OK},
		{"container", del("/cont", -1), anon, proto.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fixture(t, extended)
			if tt.code != proto.OK {
				e.fail(proto.OpDelete, tt.req, tt.s, tt.code)
				return
			}
			txn := e.must(proto.OpDelete, tt.req, tt.s)
			assert.Equal(t, &znode.DeleteTxn{Path: tt.req.Path}, txn)
			e.applyAll()
			assert.False(t, e.exists(tt.req.Path))
		})
	}
}

func TestSetDataChecks(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		req     *proto.SetDataRequest
		s       Session
		code    proto.Code
		version int32
	}{
		{"zk: no WRITE beats bad version", extended, setData("/ro", "x", 7), anon, proto.ErrNoAuth, 0},
		{"zk: bad version", extended, setData("/t", "x", 7), anon, proto.ErrBadVersion, 0},
		{"zk: invalid path", extended, setData("/t/", "x", -1), anon, proto.ErrBadArguments, 0},
		{"missing", extended, setData("/nope", "x", -1), anon, proto.ErrNoNode, 0},
		{"invalid path beats missing", extended, setData("nope", "x", -1), anon, proto.ErrBadArguments, 0},
		{"any version", extended, setData("/t", "x", -1), anon, proto.OK, 1},
		{"matching version", extended, setData("/t", "x", 0), anon, proto.OK, 1},
		{"write-only node", extended, setData("/wo", "x", 0), anon, proto.OK, 1},
		{"super", extended, setData("/ro", "x", -1), admin, proto.OK, 1},
		{"skipACL", Config{SkipACL: true}, setData("/ro", "x", -1), anon, proto.OK, 1},
		{"data too large", Config{MaxDataSize: 2}, setData("/t", "abc", 99), anon, proto.ErrBadArguments, 0},
		{"data at the limit", Config{MaxDataSize: 3}, setData("/t", "abc", 0), anon, proto.OK, 1},
		{"no WRITE beats too large", Config{MaxDataSize: 2}, setData("/ro", "abc", 0), anon, proto.ErrNoAuth, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fixture(t, tt.cfg)
			if tt.code != proto.OK {
				e.fail(proto.OpSetData, tt.req, tt.s, tt.code)
				return
			}
			txn := e.must(proto.OpSetData, tt.req, tt.s)
			assert.Equal(t, &znode.SetDataTxn{Path: tt.req.Path, Data: tt.req.Data, Version: tt.version}, txn)
			e.applyAll()
			assert.Equal(t, tt.version, e.meta(tt.req.Path).Stat.Version)
		})
	}
}

func TestVersionsWrapLikeJava(t *testing.T) {
	view := fakeView{
		"/":  {ACL: open},
		"/n": {ACL: open, Stat: proto.Stat{Version: math.MaxInt32, Aversion: math.MaxInt32}},
	}
	p := New(view, extended)
	txn, code := p.Prepare(znode.Header{Zxid: 1, Type: proto.OpSetData}, setData("/n", "x", math.MaxInt32), anon)
	require.Equal(t, proto.OK, code)
	assert.Equal(t, int32(math.MinInt32), txn.(*znode.SetDataTxn).Version)
	// The pending version is now MinInt32.
	_, code = p.Prepare(znode.Header{Zxid: 2, Type: proto.OpSetData}, setData("/n", "x", math.MinInt32), anon)
	require.Equal(t, proto.OK, code)

	txn, code = p.Prepare(znode.Header{Zxid: 3, Type: proto.OpSetACL}, setACL("/n", open, math.MaxInt32), anon)
	require.Equal(t, proto.OK, code)
	assert.Equal(t, int32(math.MinInt32), txn.(*znode.SetACLTxn).Version)
}

func TestSetACLChecks(t *testing.T) {
	tests := []struct {
		name    string
		req     *proto.SetACLRequest
		s       Session
		code    proto.Code
		acl     []proto.ACL
		version int32
	}{
		{"zk: missing and invalid ACL", setACL("/missing", badACL, -1), anon, proto.ErrInvalidACL, nil, 0},
		{"zk: missing", setACL("/missing", open, -1), anon, proto.ErrNoNode, nil, 0},
		{"zk: no ADMIN beats bad version", setACL("/ro", open, 3), anon, proto.ErrNoAuth, nil, 0},
		{"zk: bad version", setACL("/t", open, 3), anon, proto.ErrBadVersion, nil, 0},
		{"invalid path beats invalid ACL", setACL("/t/", badACL, -1), anon, proto.ErrBadArguments, nil, 0},
		{"auth without authenticated ids", setACL("/t", creatorAll, -1), anon, proto.ErrInvalidACL, nil, 0},
		{"auth expanded", setACL("/t", creatorAll, 0), user, proto.OK, []proto.ACL{{Perms: proto.PermAll, ID: userDigest}}, 1},
		{"duplicates removed", setACL("/t", append(append([]proto.ACL{}, readOnly...), readOnly...), -1), anon, proto.OK, readOnly, 1},
		{"super", setACL("/ro", open, -1), admin, proto.OK, open, 1},
		{"config node has aversion -1", setACL("/zookeeper/config", open, -1), admin, proto.OK, open, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fixture(t, extended)
			if tt.code != proto.OK {
				e.fail(proto.OpSetACL, tt.req, tt.s, tt.code)
				return
			}
			txn := e.must(proto.OpSetACL, tt.req, tt.s)
			assert.Equal(t, &znode.SetACLTxn{Path: tt.req.Path, ACL: tt.acl, Version: tt.version}, txn)
			e.applyAll()
			m := e.meta(tt.req.Path)
			assert.Equal(t, tt.version, m.Stat.Aversion)
			assert.Equal(t, tt.acl, m.ACL)
		})
	}
}

func TestCheckVersion(t *testing.T) {
	tests := []struct {
		name string
		req  *proto.CheckVersionRequest
		s    Session
		code proto.Code
	}{
		{"missing", check("/nope", -1), anon, proto.ErrNoNode},
		{"invalid path", check("/t/", -1), anon, proto.ErrBadArguments},
		{"no READ", check("/wo", 0), anon, proto.ErrNoAuth},
		{"no READ beats bad version", check("/wo", 9), anon, proto.ErrNoAuth},
		{"bad version", check("/t", 1), anon, proto.ErrBadVersion},
		{"any version", check("/t", -1), anon, proto.OK},
		{"matching version", check("/t", 0), anon, proto.OK},
		{"super reads everything", check("/wo", 0), admin, proto.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fixture(t, extended)
			if tt.code != proto.OK {
				e.fail(proto.OpCheck, tt.req, tt.s, tt.code)
				return
			}
			before := e.p.Pending()
			txn := e.must(proto.OpCheck, tt.req, tt.s)
			assert.Equal(t, &znode.CheckTxn{Path: tt.req.Path, Version: 0}, txn)
			assert.Equal(t, before, e.p.Pending(), "a check changes nothing")
		})
	}
}

func TestDeleteContainer(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		setup func(e *env)
		path  string
		code  proto.Code
	}{
		{"empty container", extended, nil, "/cont", proto.OK},
		{"container with a child", extended, func(e *env) { e.must(proto.OpCreate, create("/cont/x", 0, open), anon) }, "/cont", proto.ErrNotEmpty},
		{"container whose child is pending deletion", extended, func(e *env) {
			e.must(proto.OpCreate, create("/cont/x", 0, open), anon)
			e.applyAll()
			e.must(proto.OpDelete, del("/cont/x", -1), anon)
		}, "/cont", proto.OK},
		{"container no ACL applies", extended, func(e *env) {
			e.must(proto.OpCreateContainer, create("/ro/c", proto.ModeContainer, readOnly), admin)
		}, "/ro/c", proto.OK},
		{"TTL node", extended, func(e *env) { e.must(proto.OpCreateTTL, createTTL("/ttl", proto.ModePersistentWithTTL, 10), anon) }, "/ttl", proto.OK},
		{"persistent node", extended, nil, "/t/child", proto.ErrBadVersion},
		{"ephemeral node", extended, nil, "/e", proto.ErrBadVersion},
		{"missing", extended, nil, "/nope", proto.ErrNoNode},
		{"root", extended, nil, "/", proto.ErrBadArguments},
		{"no slash", extended, nil, "cont", proto.ErrBadArguments},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fixture(t, tt.cfg)
			if tt.setup != nil {
				tt.setup(e)
			}
			req := del(tt.path, 42) // the version is ignored
			if tt.code != proto.OK {
				e.fail(proto.OpDeleteContainer, req, Session{}, tt.code)
				return
			}
			assert.Equal(t, &znode.DeleteTxn{Path: tt.path}, e.must(proto.OpDeleteContainer, req, Session{}))
			e.applyAll()
			assert.False(t, e.exists(tt.path))
		})
	}
}

// With extended types off, ZooKeeper's EphemeralType sees a TTL marker as
// an ordinary session id: the node is an ephemeral as far as preparation
// goes.
func TestTTLMarkerWithoutExtendedTypes(t *testing.T) {
	ttlOwner := proto.TTLOwnerMask | 100
	view := fakeView{
		"/":    {ACL: open},
		"/ttl": {ACL: open, Owner: ttlOwner},
	}
	on := New(view, extended)
	_, code := on.Prepare(znode.Header{Zxid: 1, Type: proto.OpCreate}, create("/ttl/x", 0, open), anon)
	assert.Equal(t, proto.OK, code)
	_, code = on.Prepare(znode.Header{Zxid: 2, Type: proto.OpDeleteContainer}, del("/ttl/x", -1), anon)
	assert.Equal(t, proto.ErrBadVersion, code)

	off := New(view, Config{})
	_, code = off.Prepare(znode.Header{Zxid: 1, Type: proto.OpCreate}, create("/ttl/x", 0, open), anon)
	assert.Equal(t, proto.ErrNoChildrenForEphemerals, code)
	_, code = off.Prepare(znode.Header{Zxid: 2, Type: proto.OpDeleteContainer}, del("/ttl", -1), anon)
	assert.Equal(t, proto.ErrBadVersion, code)
}

func TestPrepareRejectsOtherRequests(t *testing.T) {
	tests := []struct {
		op   proto.OpCode
		req  any
		code proto.Code
	}{
		{proto.OpGetData, &proto.GetDataRequest{Path: "/"}, proto.ErrUnimplemented},
		{proto.OpCreateSession, nil, proto.ErrUnimplemented},
		{proto.OpDelete, create("/x", 0, open), proto.ErrMarshallingError},
		{proto.OpDeleteContainer, nil, proto.ErrMarshallingError},
		{proto.OpSetData, del("/x", 0), proto.ErrMarshallingError},
		{proto.OpSetACL, setData("/x", "", 0), proto.ErrMarshallingError},
		{proto.OpCheck, setACL("/x", open, 0), proto.ErrMarshallingError},
		{proto.OpMulti, create("/x", 0, open), proto.ErrMarshallingError},
	}
	for _, tt := range tests {
		e := newEnv(t, extended)
		txn := e.fail(tt.op, tt.req, anon, tt.code)
		assert.Equal(t, &znode.ErrorTxn{Err: tt.code}, txn, "%s", tt.op)
	}
}

func TestConfigAllowedAndGetACL(t *testing.T) {
	acl := []proto.ACL{{Perms: proto.PermRead, ID: proto.WorldAnyone}, {Perms: proto.PermAll, ID: userDigest}}
	var cfg Config
	assert.True(t, cfg.Allowed(acl, proto.PermRead, anon.Ids))
	assert.False(t, cfg.Allowed(acl, proto.PermWrite, anon.Ids))
	assert.True(t, cfg.Allowed(acl, proto.PermWrite, user.Ids))
	assert.True(t, Config{SkipACL: true}.Allowed(acl, proto.PermWrite, anon.Ids))

	got, code := cfg.GetACL(acl, anon.Ids)
	require.Equal(t, proto.OK, code)
	assert.Equal(t, "u:x", got[1].ID.ID, "masked without ADMIN")
	got, code = cfg.GetACL(acl, user.Ids)
	require.Equal(t, proto.OK, code)
	assert.Equal(t, acl, got)

	adminOnly := []proto.ACL{{Perms: proto.PermAdmin, ID: proto.WorldAnyone}}
	got, code = cfg.GetACL(adminOnly, anon.Ids)
	require.Equal(t, proto.OK, code, "ADMIN alone lets getACL through")
	assert.Equal(t, adminOnly, got)

	_, code = cfg.GetACL(writeOnly, anon.Ids)
	assert.Equal(t, proto.ErrNoAuth, code)
	got, code = Config{SkipACL: true}.GetACL([]proto.ACL{{Perms: 0, ID: userDigest}}, anon.Ids)
	require.Equal(t, proto.OK, code)
	assert.Equal(t, userDigest, got[0].ID, "skipACL: everyone is admin")
}

func TestTypedNilRequests(t *testing.T) {
	e := newEnv(t, extended)
	e.fail(proto.OpCreate, (*proto.CreateRequest)(nil), anon, proto.ErrMarshallingError)
	e.fail(proto.OpMulti, (*proto.MultiRequest)(nil), anon, proto.ErrMarshallingError)
	e.fail(proto.OpMulti, multi(op(proto.OpSetData, (*proto.SetDataRequest)(nil))), anon, proto.ErrMarshallingError)
}
