package acl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

func digest(id string) proto.Id { return proto.Id{Scheme: SchemeDigest, ID: id} }
func ip(id string) proto.Id     { return proto.Id{Scheme: SchemeIP, ID: id} }
func sasl(id string) proto.Id   { return proto.Id{Scheme: SchemeSASL, ID: id} }

var (
	superID  = proto.Id{Scheme: SchemeSuper, ID: ""}
	anyone   = proto.WorldAnyone
	authOnly = proto.Id{Scheme: SchemeAuth, ID: ""}
)

func entry(perms int32, id proto.Id) proto.ACL { return proto.ACL{Perms: perms, ID: id} }

// Expected digests were printed by ZooKeeper 3.8.0's
// DigestAuthenticationProvider.generateDigest (jshell against
// /usr/share/java/zookeeper-3.8.0.jar).
func TestDigestIDKnownValues(t *testing.T) {
	tests := []struct{ in, want string }{
		{"super:superpw", "super:g9oN2HttPfn8MMWJZ2r45Np/LIA="},
		{"user:password", "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY="},
		{"u:p", "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ="},
		{"user:pa:ss", "user:eGYxmOtrfaj/35Fq9lW7ol9psVU="}, // user part ends at the first ':'
		{":", ":BaefBs8/Z/cm2uaNGKIpD2yaUMk="},
		{"nocolon", "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g="}, // no ':' at all: the whole text is the user
		{"ünï:cødé", "ünï:xQllqDAJT4MXfIfWHQyzwXoGn8M="},
		// Invalid UTF-8, decoded as Java's new String(bytes, UTF_8) does.
		{"u:\xffp", "u:ghEQQB1b5u7dWUIlrMXalYTnTqc="},
		{"u:\xe2\x82p", "u:ghEQQB1b5u7dWUIlrMXalYTnTqc="}, // a cut-short sequence is one U+FFFD
		{"u:\xe2\x82", "u:NP+S9gihaPOxs49p+sWDO0/R0ac="},
		{"u:\xf0\x9f\x98x", "u:S4dNrmWVdGA2oJvbuKzKAbsdmho="},
		{"u:\xed\xa0\x80", "u:NP+S9gihaPOxs49p+sWDO0/R0ac="}, // encoded surrogate: one U+FFFD in Java
		{"u:\xc0\xaf", "u:tBXHUAUzZXYCqAcMeZihzl82Xwo="},
		{"u:\xf4\x90\x80\x80", "u:HCZx0lTy+9lYQAH9rf604FmDKjw="},
		{"u:\xe0\x80\x80", "u:vEkuhjHdfUZNvfORkvAkZ7fhsck="},
		{"\x80:p", "\ufffd:CF2aQmKhCpl6NRwvXg6ky6/tkEA="},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, DigestID(tt.in), "DigestID(%q)", tt.in)
	}
}

func TestAuthenticate(t *testing.T) {
	const superDigest = "super:g9oN2HttPfn8MMWJZ2r45Np/LIA="
	tests := []struct {
		name        string
		scheme      string
		auth        string
		superDigest string
		want        []proto.Id
		code        proto.Code
	}{
		{"digest", "digest", "user:password", superDigest, []proto.Id{digest("user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=")}, proto.OK},
		{"digest super", "digest", "super:superpw", superDigest, []proto.Id{superID, digest(superDigest)}, proto.OK},
		{"digest super wrong password", "digest", "super:nope", superDigest, []proto.Id{digest(DigestID("super:nope"))}, proto.OK},
		{"digest super unset", "digest", "super:superpw", "", []proto.Id{digest(superDigest)}, proto.OK},
		{"digest empty", "digest", "", superDigest, []proto.Id{digest(":2jmj7l5rSw0yVb/vlWAYkK/YBwk=")}, proto.OK},
		{"ip adds nothing new", "ip", "whatever", superDigest, nil, proto.OK},
		{"world", "world", "anyone", superDigest, nil, proto.ErrAuthFailed},
		{"auth", "auth", "", superDigest, nil, proto.ErrAuthFailed},
		{"super", "super", "superpw", superDigest, nil, proto.ErrAuthFailed},
		{"sasl", "sasl", "x", superDigest, nil, proto.ErrAuthFailed},
		{"unknown", "kerberos", "x", superDigest, nil, proto.ErrAuthFailed},
		{"case sensitive", "Digest", "u:p", superDigest, nil, proto.ErrAuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, code := Authenticate(tt.scheme, []byte(tt.auth), tt.superDigest)
			assert.Equal(t, tt.code, code)
			assert.Equal(t, tt.want, ids)
		})
	}
}

// The ip, digest and sasl expectations for IPv4, digest and sasl were
// printed by ZooKeeper 3.8.0's providers (isValid). ZooKeeper 3.8.0 has no
// IPv6 support; the IPv6 cases follow the IPv6 parser ZooKeeper added later
// (IPAuthenticationProvider.v6addr2Bytes).
func TestValidID(t *testing.T) {
	tests := []struct {
		id   proto.Id
		want bool
	}{
		{anyone, true},
		{proto.Id{Scheme: "world", ID: "someone"}, false},
		{proto.Id{Scheme: "world", ID: ""}, false},
		{authOnly, false},
		{superID, false},
		{proto.Id{Scheme: "super", ID: "x"}, false},
		{proto.Id{Scheme: "x509", ID: "CN=a"}, false},
		{proto.Id{Scheme: "", ID: ""}, false},
		{proto.Id{Scheme: "DIGEST", ID: "user:abc"}, false},

		{digest("user:abc"), true},
		{digest("user:"), false},
		{digest("user"), false},
		{digest("a:b:c"), false},
		{digest(":abc"), true},
		{digest("a:b:"), true}, // Java's split drops trailing empty parts
		{digest("a:b::"), true},
		{digest(":"), false},
		{digest(""), false},
		{digest("::"), false},
		{digest("x:="), true},
		{digest("a::b"), false},

		{ip("10.0.0.1"), true},
		{ip("10.0.0.0/8"), true},
		{ip("10.0.0.0/33"), false},
		{ip("10.0.0.0/-1"), false},
		{ip("10.0.0.0/+8"), true},
		{ip("1.2.3.4/0"), true},
		{ip("1.2.3.4/08"), true},
		{ip("1.2.3.4/"), false},
		{ip("1.2.3.4/32/1"), false},
		{ip("1.2.3"), false},
		{ip("1.2.3.4.5"), false},
		{ip("256.1.1.1"), false},
		{ip("1.2.3.04"), true},
		{ip("1.2.3.+4"), true},
		{ip("1.2.3.-0"), true},
		{ip("1.2.3.-1"), false},
		{ip("1.2.3.+"), false},
		{ip("1.2..4"), false},
		{ip(" 1.2.3.4"), false},
		{ip("1.2.3.99999999999"), false},
		{ip("localhost"), false},
		{ip(""), false},
		{ip("/8"), false},

		{ip("::1"), true},
		{ip("::1/128"), true},
		{ip("::1/129"), false},
		{ip("::"), true},
		{ip("::/0"), true},
		{ip("fe80::1/64"), true},
		{ip("2001:db8::/32"), true},
		{ip("2001:DB8::1"), true},
		{ip("0:0:0:0:0:0:0:1"), true},
		{ip("0:0:0:0:0:0:0"), false},
		{ip("1:2:3:4:5:6:7:8:9"), false},
		{ip("1:2:3:4::5:6:7:8"), false}, // "::" must stand for at least one group
		{ip("1:2:3:4::5:6:7"), true},
		{ip("1::2::3"), false},
		{ip(":::"), false},
		{ip("1:::2"), false},
		{ip("12345::"), false},
		{ip("g::"), false},
		{ip("-1::"), true}, // Integer.parseInt("-1", 16): low 16 bits 0xffff
		{ip("::ffff:1.2.3.4"), false},
		{ip("2001:db8::1%eth0"), false},
		{ip("[::1]"), false},
		{ip("1:2"), false},

		{sasl(""), true},
		{sasl("a"), true},
		{sasl("a@B"), true},
		{sasl("a/b@C"), true},
		{sasl("a@b@c"), false},
		{sasl("a/b/c@D"), false},
		{sasl("@"), true},
		{sasl("a/b"), true},
		{sasl("/@"), true},
		{sasl("a/b/c"), true},
		{sasl("a@"), true},
		{sasl("a/@b"), true},
		{sasl("a//b@c"), false},
		{sasl("x y@Z"), true},
		{sasl("a@b/c"), false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, ValidID(tt.id), "ValidID(%s:%q)", tt.id.Scheme, tt.id.ID)
	}
}

// IPv4 expectations were printed by ZooKeeper 3.8.0's
// IPAuthenticationProvider.matches; IPv6 follows the later IPv6 parser.
func TestIPMatches(t *testing.T) {
	tests := []struct {
		id, expr string
		want     bool
	}{
		{"10.1.2.3", "10.0.0.0/8", true},
		{"11.1.2.3", "10.0.0.0/8", false},
		{"10.1.2.3", "10.1.2.3", true},
		{"10.1.2.3", "10.1.2.4", false},
		{"10.1.2.3", "0.0.0.0/0", true},
		{"10.1.2.3", "10.1.2.0/25", true},
		{"10.1.2.200", "10.1.2.0/25", false},
		{"10.1.2.127", "10.1.2.0/25", true},
		{"10.1.2.128", "10.1.2.128/25", true},
		{"10.1.2.3", "10.0.0.0/33", false},
		{"10.1.2.3", "10.1.2.3/32", true},
		{"10.1.2.3", "10.1.2.255/30", false},
		{"10.1.2.3", "10.1.2.1/30", true}, // the expression's host bits are masked too
		{"10.1.2.3", "10.1.2.3/x", false},
		{"10.1.2.3", "bogus", false},
		{"bogus", "0.0.0.0/0", false},
		{"010.001.002.003", "10.1.2.3", true},
		{"1.2.3.4", "::ffff:1.2.3.4", false},
		{"1.2.3.4", "::/0", false}, // families never match each other
		{"::1", "0.0.0.0/0", false},
		{"::1", "::1", true},
		{"0:0:0:0:0:0:0:1", "::1", true},
		{"::1", "0:0:0:0:0:0:0:1", true},
		{"::1", "::1/128", true},
		{"::2", "::1/127", false},
		{"::3", "::2/127", true},
		{"2001:db8::5", "2001:db8::/32", true},
		{"2001:db9::5", "2001:db8::/32", false},
		{"2001:DB8::1", "2001:db8::1", true},
		{"2001:db8:0:0:0:0:0:1", "2001:db8::/64", true},
		{"fe80::1%eth0", "fe80::/10", false}, // scoped ids do not parse
		{"fe80::1", "fe80::/10", true},
		{"febf::1", "fe80::/10", true},
		{"fec0::1", "fe80::/10", false},
		{"::1", "::/0", true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, ipMatches(tt.id, tt.expr), "ipMatches(%q, %q)", tt.id, tt.expr)
	}
}

func TestCheck(t *testing.T) {
	userID := digest("user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=")
	tests := []struct {
		name string
		acl  []proto.ACL
		perm int32
		ids  []proto.Id
		want bool
	}{
		{"nil acl allows", nil, proto.PermAdmin, nil, true},
		{"empty acl allows", []proto.ACL{}, proto.PermWrite, nil, true},
		{"world anyone", proto.OpenACLUnsafe, proto.PermDelete, nil, true},
		{"world anyone lacks bit", proto.ReadACLUnsafe, proto.PermWrite, []proto.Id{ip("127.0.0.1")}, false},
		{"world other id", []proto.ACL{entry(proto.PermAll, proto.Id{Scheme: "world", ID: "x"})}, proto.PermRead, []proto.Id{{Scheme: "world", ID: "x"}}, false},
		{"super bypasses", []proto.ACL{entry(proto.PermRead, userID)}, proto.PermAdmin, []proto.Id{ip("1.2.3.4"), superID}, true},
		{"super id value ignored", []proto.ACL{entry(0, userID)}, proto.PermAdmin, []proto.Id{{Scheme: "super", ID: "whatever"}}, true},
		{"digest match", []proto.ACL{entry(proto.PermWrite, userID)}, proto.PermWrite, []proto.Id{ip("1.2.3.4"), userID}, true},
		{"digest other user", []proto.ACL{entry(proto.PermWrite, userID)}, proto.PermWrite, []proto.Id{digest("other:x")}, false},
		{"digest wrong bit", []proto.ACL{entry(proto.PermRead, userID)}, proto.PermWrite, []proto.Id{userID}, false},
		{"either bit suffices", []proto.ACL{entry(proto.PermAdmin, userID)}, proto.PermRead | proto.PermAdmin, []proto.Id{userID}, true},
		{"scheme must agree", []proto.ACL{entry(proto.PermAll, digest("1.2.3.4"))}, proto.PermRead, []proto.Id{ip("1.2.3.4")}, false},
		{"ip exact", []proto.ACL{entry(proto.PermRead, ip("127.0.0.1"))}, proto.PermRead, []proto.Id{ip("127.0.0.1")}, true},
		{"ip cidr", []proto.ACL{entry(proto.PermRead, ip("127.0.0.0/8"))}, proto.PermRead, []proto.Id{ip("127.1.2.3")}, true},
		{"ip cidr miss", []proto.ACL{entry(proto.PermRead, ip("10.0.0.0/8"))}, proto.PermRead, []proto.Id{ip("127.1.2.3")}, false},
		{"ip v6", []proto.ACL{entry(proto.PermRead, ip("::1"))}, proto.PermRead, []proto.Id{ip("0:0:0:0:0:0:0:1")}, true},
		{"sasl exact", []proto.ACL{entry(proto.PermRead, sasl("kafka"))}, proto.PermRead, []proto.Id{sasl("kafka")}, true},
		{"sasl other", []proto.ACL{entry(proto.PermRead, sasl("kafka"))}, proto.PermRead, []proto.Id{sasl("bob")}, false},
		{"sasl super principal", []proto.ACL{entry(proto.PermRead, sasl("kafka"))}, proto.PermRead, []proto.Id{sasl("super")}, true},
		{"unknown scheme never matches", []proto.ACL{entry(proto.PermAll, proto.Id{Scheme: "x509", ID: "CN=a"})}, proto.PermRead, []proto.Id{{Scheme: "x509", ID: "CN=a"}}, false},
		{"second entry matches", []proto.ACL{entry(proto.PermRead, userID), entry(proto.PermWrite, ip("1.2.3.4"))}, proto.PermWrite, []proto.Id{ip("1.2.3.4")}, true},
		{"no ids", []proto.ACL{entry(proto.PermAll, userID)}, proto.PermRead, nil, false},
		{"zero perm asks nothing", proto.OpenACLUnsafe, 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Check(tt.acl, tt.perm, tt.ids))
		})
	}
}

func TestFixupACL(t *testing.T) {
	userID := digest("user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=")
	otherID := digest("other:abc")
	session := []proto.Id{ip("127.0.0.1"), userID, superID, sasl("kafka"), otherID}
	tests := []struct {
		name string
		acl  []proto.ACL
		ids  []proto.Id
		want []proto.ACL
		code proto.Code
	}{
		{"nil", nil, session, nil, proto.ErrInvalidACL},
		{"empty", []proto.ACL{}, session, nil, proto.ErrInvalidACL},
		{"open", proto.OpenACLUnsafe, nil, proto.OpenACLUnsafe, proto.OK},
		{"duplicates removed, order kept",
			[]proto.ACL{entry(proto.PermRead, anyone), entry(proto.PermAll, userID), entry(proto.PermRead, anyone), entry(proto.PermAll, userID)},
			nil,
			[]proto.ACL{entry(proto.PermRead, anyone), entry(proto.PermAll, userID)}, proto.OK},
		{"same id different perms both kept",
			[]proto.ACL{entry(proto.PermRead, anyone), entry(proto.PermWrite, anyone)}, nil,
			[]proto.ACL{entry(proto.PermRead, anyone), entry(proto.PermWrite, anyone)}, proto.OK},
		{"auth expands to digest and sasl ids in session order",
			proto.CreatorAllACL, session,
			[]proto.ACL{entry(proto.PermAll, userID), entry(proto.PermAll, sasl("kafka")), entry(proto.PermAll, otherID)}, proto.OK},
		{"auth id text ignored", []proto.ACL{entry(proto.PermRead, proto.Id{Scheme: "auth", ID: "whatever"})}, []proto.Id{userID},
			[]proto.ACL{entry(proto.PermRead, userID)}, proto.OK},
		{"auth with only ip and super", proto.CreatorAllACL, []proto.Id{ip("127.0.0.1"), superID}, nil, proto.ErrInvalidACL},
		{"auth with no ids", proto.CreatorAllACL, nil, nil, proto.ErrInvalidACL},
		{"auth expansion may duplicate an explicit entry",
			[]proto.ACL{entry(proto.PermAll, userID), entry(proto.PermAll, authOnly)}, []proto.Id{userID},
			[]proto.ACL{entry(proto.PermAll, userID), entry(proto.PermAll, userID)}, proto.OK},
		{"world other", []proto.ACL{entry(proto.PermAll, proto.Id{Scheme: "world", ID: "everyone"})}, nil, nil, proto.ErrInvalidACL},
		{"unknown scheme", []proto.ACL{entry(proto.PermAll, anyone), entry(proto.PermAll, proto.Id{Scheme: "x509", ID: "CN=a"})}, nil, nil, proto.ErrInvalidACL},
		{"super scheme has no provider", []proto.ACL{entry(proto.PermAll, superID)}, session, nil, proto.ErrInvalidACL},
		{"bad digest", []proto.ACL{entry(proto.PermAll, digest("user"))}, nil, nil, proto.ErrInvalidACL},
		{"bad ip", []proto.ACL{entry(proto.PermAll, ip("10.0.0.0/40"))}, nil, nil, proto.ErrInvalidACL},
		{"ip cidr ok", []proto.ACL{entry(proto.PermRead, ip("10.0.0.0/8"))}, nil, []proto.ACL{entry(proto.PermRead, ip("10.0.0.0/8"))}, proto.OK},
		{"bad sasl", []proto.ACL{entry(proto.PermAll, sasl("a@b@c"))}, nil, nil, proto.ErrInvalidACL},
		{"perms not validated", []proto.ACL{entry(0, anyone), entry(-1, userID)}, nil, []proto.ACL{entry(0, anyone), entry(-1, userID)}, proto.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, code := FixupACL(tt.acl, tt.ids)
			assert.Equal(t, tt.code, code)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFixupACLDoesNotAliasInput(t *testing.T) {
	in := []proto.ACL{entry(proto.PermAll, anyone)}
	out, code := FixupACL(in, nil)
	require.Equal(t, proto.OK, code)
	out[0].Perms = 0
	assert.Equal(t, proto.PermAll, in[0].Perms)
}

// Expectations were printed by Java's String.replaceAll(":.*", ":x").
func TestMaskForGetACL(t *testing.T) {
	masked := []struct{ in, want string }{
		{"user:abc", "user:x"},
		{"user", "user"},
		{"a:b:c", "a:x"},
		{"u:ab\ncd", "u:x\ncd"},
		{"u:a\n:b", "u:x\n:x"},
		{"u:a\r\n:b", "u:x\r\n:x"},
		{":", ":x"},
		{"u:a\u2028b", "u:x\u2028b"},
		{"u:a\u0085:b", "u:x\u0085:x"},
	}
	for _, tt := range masked {
		in := []proto.ACL{entry(proto.PermRead, digest(tt.in))}
		got := MaskForGetACL(in, false)
		assert.Equal(t, []proto.ACL{entry(proto.PermRead, digest(tt.want))}, got, "mask %q", tt.in)
		assert.Equal(t, tt.in, in[0].ID.ID, "input untouched")
	}

	acl := []proto.ACL{entry(proto.PermAll, digest("u:hash")), entry(proto.PermRead, ip("1.2.3.4")), entry(proto.PermRead, sasl("a:b")), entry(proto.PermRead, anyone)}
	assert.Equal(t, acl, MaskForGetACL(acl, true), "admins see everything")
	assert.Equal(t, []proto.ACL{entry(proto.PermAll, digest("u:x")), acl[1], acl[2], acl[3]}, MaskForGetACL(acl, false),
		"only digest ids are masked")
	assert.Empty(t, MaskForGetACL(nil, false))
}

func TestIPID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:5000", "127.0.0.1"},
		{"127.0.0.1", "127.0.0.1"},
		{"[::1]:2181", "0:0:0:0:0:0:0:1"},
		{"::1", "0:0:0:0:0:0:0:1"},
		{"[::ffff:10.1.2.3]:99", "10.1.2.3"},
		{"[2001:db8::a:0:1]:1", "2001:db8:0:0:0:a:0:1"},
		{"[fe80::1%eth0]:1", "fe80:0:0:0:0:0:0:1%eth0"},
		{"not an address", "not an address"},
	}
	for _, tt := range tests {
		assert.Equal(t, proto.Id{Scheme: "ip", ID: tt.want}, IPID(tt.in), "IPID(%q)", tt.in)
	}
	// A connection's own id passes an ACL on its address.
	assert.True(t, Check([]proto.ACL{entry(proto.PermRead, ip("::1"))}, proto.PermRead, []proto.Id{IPID("[::1]:1")}))
}

func TestAddID(t *testing.T) {
	ids := AddID(nil, ip("1.2.3.4"))
	ids = AddID(ids, digest("u:x"))
	ids = AddID(ids, ip("1.2.3.4"))
	ids = AddID(ids, digest("u:x"))
	ids = AddID(ids, superID)
	assert.Equal(t, []proto.Id{ip("1.2.3.4"), digest("u:x"), superID}, ids)
}
