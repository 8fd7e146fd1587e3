package sasl

import (
	"crypto/md5"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// javaExchange is a DIGEST-MD5 exchange captured (with a TCP proxy) between
// ZooKeeper 3.8.0's Java client and server on OpenJDK 17.
type javaExchange struct {
	name      string
	users     map[string]string
	nonce     string // the server's nonce
	challenge string // the server's first token
	response  string // the client's second token
	rspauth   string // the server's last token; "" when it failed
	user      string
	wantErr   error
}

var javaExchanges = []javaExchange{
	{
		name:      "bob",
		users:     map[string]string{"super": "adminsecret", "bob": "bobsecret"},
		nonce:     "Ld2o5trTiCcVGammZGceWf0C+XpYOLCopeJ5zlWo",
		challenge: `realm="zk-sasl-md5",nonce="Ld2o5trTiCcVGammZGceWf0C+XpYOLCopeJ5zlWo",charset=utf-8,algorithm=md5-sess`,
		response:  `charset=utf-8,username="bob",realm="zk-sasl-md5",nonce="Ld2o5trTiCcVGammZGceWf0C+XpYOLCopeJ5zlWo",nc=00000001,cnonce="pbDtKeQkhVXnqYZoA1X9ZzTfUV13ZDba2FaJn0Nk",digest-uri="zookeeper/zk-sasl-md5",maxbuf=65536,response=5b94b41aede9873c04845fc660e1e3be,qop=auth,authzid="bob"`,
		rspauth:   "rspauth=830d2e5d9f07970d6ffdc6b5baf90661",
		user:      "bob",
	},
	{
		// The user name and password travel in UTF-8 but are hashed in
		// ISO 8859-1.
		name:      "latin-1 user and password",
		users:     map[string]string{"josé": "pässwörd"},
		nonce:     "l+LI1TQxXJxPTy7L9qx2VQOnanwuuADr1wFUUv8S",
		challenge: `realm="zk-sasl-md5",nonce="l+LI1TQxXJxPTy7L9qx2VQOnanwuuADr1wFUUv8S",charset=utf-8,algorithm=md5-sess`,
		response:  `charset=utf-8,username="josé",realm="zk-sasl-md5",nonce="l+LI1TQxXJxPTy7L9qx2VQOnanwuuADr1wFUUv8S",nc=00000001,cnonce="Qnk9pdqjAOzB8bmsThC9Wy/57I6nkgmi1TXdG6Fr",digest-uri="zookeeper/zk-sasl-md5",maxbuf=65536,response=ec57c929dfddc121237d560c219399f5,qop=auth,authzid="josé"`,
		rspauth:   "rspauth=47024639e9e056580e888dcfc6411fdf",
		user:      "josé",
	},
	{
		// The client's password was "wrong"; ZooKeeper answered
		// AUTHFAILED and closed the connection.
		name:      "wrong password",
		users:     map[string]string{"super": "adminsecret", "bob": "bobsecret"},
		nonce:     "fV4ddqnNwhQQIPX4W2gbAzk5XqkCZ5xSEPkeEhbd",
		challenge: `realm="zk-sasl-md5",nonce="fV4ddqnNwhQQIPX4W2gbAzk5XqkCZ5xSEPkeEhbd",charset=utf-8,algorithm=md5-sess`,
		response:  `charset=utf-8,username="bob",realm="zk-sasl-md5",nonce="fV4ddqnNwhQQIPX4W2gbAzk5XqkCZ5xSEPkeEhbd",nc=00000001,cnonce="Qypr9uDH3Jac8SCr1S+/HksVe+7D4MoPKZg7curR",digest-uri="zookeeper/zk-sasl-md5",maxbuf=65536,response=7c0d00f92d38b96b644dbebf0bafe38e,qop=auth,authzid="bob"`,
		wantErr:   ErrBadResponse,
	},
}

func fixedNonce(n string) func() string { return func() string { return n } }

func TestJavaCapturedExchanges(t *testing.T) {
	for _, tc := range javaExchanges {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(tc.users, fixedNonce(tc.nonce))
			reply, done, user, err := s.Step([]byte{})
			require.NoError(t, err)
			assert.False(t, done)
			assert.Empty(t, user)
			assert.Equal(t, tc.challenge, string(reply), "challenge must be byte-identical to the JDK's")

			reply, done, user, err = s.Step([]byte(tc.response))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.False(t, done)
				assert.Nil(t, reply)
				assert.Empty(t, user)
				return
			}
			require.NoError(t, err)
			assert.True(t, done)
			assert.Equal(t, tc.rspauth, string(reply))
			assert.Equal(t, tc.user, user)
		})
	}
}

// TestResponseValueRFC2831 checks the digest arithmetic with the IMAP
// example of RFC 2831 section 4 (its realm and service differ from
// ZooKeeper's, so it can only be checked below the Server).
func TestResponseValueRFC2831(t *testing.T) {
	k := digestKeys{
		username: "chris", realm: "elwood.innosoft.com", password: "secret",
		nonce: "OA6MG9tEQGm2hh", cnonce: "OA6MHXh6VqTrRk", qop: "auth",
		digestURI: "imap/elwood.innosoft.com",
	}
	assert.Equal(t, "d388dad90d4bbd760a152321f2143af7", string(responseValue(k, "AUTHENTICATE")))
	assert.Equal(t, "ea40f60335c427b5527b84dbabcdfffd", string(responseValue(k, "")))
}

// refClient computes a DIGEST-MD5 client response and the expected rspauth
// straight from RFC 2831's formulas, independently of responseValue. user,
// realm and pass are the exact bytes hashed into A1.
type refClient struct {
	user, realm, pass string
	nonce, cnonce     string
	uri, qop          string
	authzid           *string
}

func (c refClient) value(method string) string {
	h := func(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }
	inner := md5.Sum([]byte(c.user + ":" + c.realm + ":" + c.pass))
	a1 := string(inner[:]) + ":" + c.nonce + ":" + c.cnonce
	if c.authzid != nil {
		a1 += ":" + *c.authzid
	}
	a2 := method + ":" + c.uri
	return h(h(a1) + ":" + c.nonce + ":00000001:" + c.cnonce + ":" + c.qop + ":" + h(a2))
}

func strp(s string) *string { return &s }

const testNonce = "N0nce+/="

// token builds a digest-response like the Java client's, with the digest
// computed by refClient; mutate edits the directives before joining.
func token(c refClient, wireUser string, mutate func(d []string) []string) string {
	d := []string{
		"charset=utf-8",
		`username="` + wireUser + `"`,
		`realm="zk-sasl-md5"`,
		`nonce="` + c.nonce + `"`,
		"nc=00000001",
		`cnonce="` + c.cnonce + `"`,
		`digest-uri="` + c.uri + `"`,
		"maxbuf=65536",
		"response=" + c.value("AUTHENTICATE"),
		"qop=" + c.qop,
	}
	if c.authzid != nil {
		d = append(d, `authzid="`+*c.authzid+`"`)
	}
	if mutate != nil {
		d = mutate(d)
	}
	return strings.Join(d, ",")
}

func bob() refClient {
	return refClient{user: "bob", realm: Realm, pass: "bobsecret", nonce: testNonce, cnonce: "c-nonce",
		uri: DigestURI, qop: "auth", authzid: strp("bob")}
}

var testUsers = map[string]string{
	"bob":                  "bobsecret",
	"super":                "adminsecret",
	"snow☃":                "frosty",
	"quote\"d":             "q",
	"svc/host@EXAMPLE.COM": "svcsecret",
	"bad@x@y":              "bad",
	"empty":                "",
}

func replace(d []string, prefix, with string) []string {
	out := []string{}
	for _, x := range d {
		if strings.HasPrefix(x, prefix) {
			if with != "" {
				out = append(out, with)
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

func TestStepAccepts(t *testing.T) {
	tests := []struct {
		name     string
		client   refClient
		wireUser string
		mutate   func([]string) []string
		wantUser string
	}{
		{name: "java-like response", client: bob(), wireUser: "bob", wantUser: "bob"},
		{name: "no authzid", client: func() refClient { c := bob(); c.authzid = nil; return c }(), wireUser: "bob", wantUser: "bob"},
		{
			name:   "authzid of another user is ignored: the id is the authenticated user",
			client: func() refClient { c := bob(); c.authzid = strp("super"); return c }(), wireUser: "bob", wantUser: "bob",
		},
		{
			name:   "digest-uri in another case is accepted and hashed as sent",
			client: func() refClient { c := bob(); c.uri = "ZooKeeper/ZK-SASL-MD5"; return c }(), wireUser: "bob", wantUser: "bob",
		},
		{
			name:     "non-latin-1 user name is hashed in UTF-8",
			client:   refClient{user: "snow☃", realm: Realm, pass: "frosty", nonce: testNonce, cnonce: "x", uri: DigestURI, qop: "auth"},
			wireUser: "snow☃", wantUser: "snow☃",
		},
		{
			name:     "escaped quote in a quoted value",
			client:   refClient{user: `quote"d`, realm: Realm, pass: "q", nonce: testNonce, cnonce: "x", uri: DigestURI, qop: "auth"},
			wireUser: `quote\"d`, wantUser: `quote"d`,
		},
		{
			name:     "kerberos-style name is kept whole",
			client:   refClient{user: "svc/host@EXAMPLE.COM", realm: Realm, pass: "svcsecret", nonce: testNonce, cnonce: "x", uri: DigestURI, qop: "auth"},
			wireUser: "svc/host@EXAMPLE.COM", wantUser: "svc/host@EXAMPLE.COM",
		},
		{
			name:     "empty password",
			client:   refClient{user: "empty", realm: Realm, pass: "", nonce: testNonce, cnonce: "", uri: DigestURI, qop: "auth"},
			wireUser: "empty", wantUser: "empty",
		},
		{
			name:   "qop, charset, nc and maxbuf omitted; white space and empty elements",
			client: bob(), wireUser: "bob", wantUser: "bob",
			mutate: func(d []string) []string {
				d = replace(d, "qop=", "")
				d = replace(d, "charset=", "")
				d = replace(d, "maxbuf=", "")
				d = replace(d, "nc=", "")
				return append([]string{" , "}, strings.Join(d, " ,\r\n\t"), "", "")
			},
		},
		{
			name:   "directive names in upper case, unknown directives and nonce-count=1",
			client: bob(), wireUser: "bob", wantUser: "bob",
			mutate: func(d []string) []string {
				for i := range d {
					k, v, _ := strings.Cut(d[i], "=")
					d[i] = strings.ToUpper(k) + "=" + v
				}
				return append(d, `x-extension="a,b"`, "nonce-count=00000001", "auth-param=z", "cipher=rc4")
			},
		},
		{
			name:   "nc other than 1 is not checked (the JDK ignores nc)",
			client: bob(), wireUser: "bob", wantUser: "bob",
			mutate: func(d []string) []string { return replace(d, "nc=", "nc=00000002") },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(testUsers, fixedNonce(testNonce))
			_, _, _, err := s.Step(nil)
			require.NoError(t, err)
			reply, done, user, err := s.Step([]byte(token(tc.client, tc.wireUser, tc.mutate)))
			require.NoError(t, err)
			assert.True(t, done)
			assert.Equal(t, tc.wantUser, user)
			assert.Equal(t, "rspauth="+tc.client.value(""), string(reply))
		})
	}
}

func TestStepRejects(t *testing.T) {
	tests := []struct {
		name    string
		tok     string
		wantErr error
		wantMsg string
	}{
		{name: "wrong password", tok: token(func() refClient { c := bob(); c.pass = "nope"; return c }(), "bob", nil), wantErr: ErrBadResponse},
		{name: "unknown user", tok: token(func() refClient { c := bob(); c.user = "eve"; return c }(), "eve", nil), wantErr: ErrUnknownUser},
		{
			name:    "user name that is not a valid principal",
			tok:     token(refClient{user: "bad@x@y", realm: Realm, pass: "bad", nonce: testNonce, cnonce: "x", uri: DigestURI, qop: "auth"}, "bad@x@y", nil),
			wantErr: ErrMalformed, wantMsg: "not a valid Kerberos-style name",
		},
		{
			name: "authzid not covered by the digest", wantErr: ErrBadResponse,
			tok: token(func() refClient { c := bob(); c.authzid = nil; return c }(), "bob", func(d []string) []string { return append(d, `authzid="super"`) }),
		},
		{
			name: "upper-case hex response", wantErr: ErrBadResponse,
			tok: token(bob(), "bob", func(d []string) []string {
				return replace(d, "response=", "response="+strings.ToUpper(bob().value("AUTHENTICATE")))
			}),
		},
		{name: "missing username", wantErr: ErrMalformed, wantMsg: "missing username", tok: token(bob(), "bob", func(d []string) []string { return replace(d, "username=", "") })},
		{name: "missing realm", wantErr: ErrMalformed, wantMsg: `nonexistent realm ""`, tok: token(bob(), "bob", func(d []string) []string { return replace(d, "realm=", "") })},
		{name: "other realm", wantErr: ErrMalformed, wantMsg: `nonexistent realm "ZK-SASL-MD5"`, tok: token(bob(), "bob", func(d []string) []string { return replace(d, "realm=", `realm="ZK-SASL-MD5"`) })},
		{name: "missing nonce", wantErr: ErrMalformed, wantMsg: "missing nonce", tok: token(bob(), "bob", func(d []string) []string { return replace(d, "nonce=", "") })},
		{name: "other nonce", wantErr: ErrMalformed, wantMsg: "mismatched nonce", tok: token(func() refClient { c := bob(); c.nonce = "stale"; return c }(), "bob", nil)},
		{name: "missing cnonce", wantErr: ErrMalformed, wantMsg: "missing cnonce", tok: token(bob(), "bob", func(d []string) []string { return replace(d, "cnonce=", "") })},
		{name: "nonce-count 2", wantErr: ErrMalformed, wantMsg: "nonce count", tok: token(bob(), "bob", func(d []string) []string { return append(d, "nonce-count=2") })},
		{name: "qop auth-int", wantErr: ErrMalformed, wantMsg: `qop "auth-int" not offered`, tok: token(func() refClient { c := bob(); c.qop = "auth-int"; return c }(), "bob", nil)},
		{name: "qop auth-conf", wantErr: ErrMalformed, wantMsg: `qop "auth-conf" not offered`, tok: token(func() refClient { c := bob(); c.qop = "auth-conf"; return c }(), "bob", nil)},
		{name: "unknown qop", wantErr: ErrMalformed, wantMsg: `invalid qop "AUTH"`, tok: token(func() refClient { c := bob(); c.qop = "AUTH"; return c }(), "bob", nil)},
		{name: "missing digest-uri", wantErr: ErrMalformed, wantMsg: "mismatched digest-uri", tok: token(bob(), "bob", func(d []string) []string { return replace(d, "digest-uri=", "") })},
		{name: "other digest-uri", wantErr: ErrMalformed, wantMsg: "mismatched digest-uri", tok: token(func() refClient { c := bob(); c.uri = "zookeeper/localhost"; return c }(), "bob", nil)},
		{name: "missing response", wantErr: ErrMalformed, wantMsg: "missing response", tok: token(bob(), "bob", func(d []string) []string { return replace(d, "response=", "") })},
		{name: "charset other than utf-8", wantErr: ErrMalformed, wantMsg: "incompatible charset", tok: token(bob(), "bob", func(d []string) []string { return replace(d, "charset=", "charset=UTF-8") })},
		{name: "maxbuf not a number", wantErr: ErrMalformed, wantMsg: "invalid maxbuf", tok: token(bob(), "bob", func(d []string) []string { return replace(d, "maxbuf=", "maxbuf=lots") })},
		{name: "duplicate username", wantErr: ErrMalformed, wantMsg: "more than one username", tok: token(bob(), "bob", func(d []string) []string { return append(d, `USERNAME="bob"`) })},
		{name: "invalid UTF-8", wantErr: ErrMalformed, wantMsg: "username is not valid UTF-8", tok: token(bob(), "b\xffb", nil)},
		{name: "unterminated quote", wantErr: ErrMalformed, wantMsg: "unterminated quoted value", tok: `username="bob`},
		{name: "trailing escape", wantErr: ErrMalformed, wantMsg: "unterminated quoted value", tok: `username="bob\`},
		{name: "text after a quoted value", wantErr: ErrMalformed, wantMsg: "expected ','", tok: `username="bob"x,realm="zk-sasl-md5"`},
		{name: "comma in a key", wantErr: ErrMalformed, wantMsg: "contains ','", tok: `user,name="bob"`},
		{name: "empty key", wantErr: ErrMalformed, wantMsg: "empty directive key", tok: `="bob"`},
		{name: "no value", wantErr: ErrMalformed, wantMsg: "has no value", tok: `username=  `},
		{name: "no equals after key", wantErr: ErrMalformed, wantMsg: "'=' expected", tok: `username "bob"`},
		{name: "empty token", wantErr: ErrMalformed, wantMsg: "missing username", tok: ``},
		{name: "too long", wantErr: ErrMalformed, wantMsg: "exceeds 4096", tok: `username="` + strings.Repeat("b", MaxResponseLen) + `"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(testUsers, fixedNonce(testNonce))
			_, _, _, err := s.Step([]byte{})
			require.NoError(t, err)
			reply, done, user, err := s.Step([]byte(tc.tok))
			require.ErrorIs(t, err, tc.wantErr)
			if tc.wantMsg != "" {
				assert.Contains(t, err.Error(), tc.wantMsg)
			}
			assert.Nil(t, reply)
			assert.False(t, done)
			assert.Empty(t, user)

			// A failed exchange cannot be retried on the same Server.
			_, _, _, err = s.Step([]byte(token(bob(), "bob", nil)))
			assert.ErrorIs(t, err, ErrState)
		})
	}
}

func TestStepSequence(t *testing.T) {
	t.Run("initial response is ignored and the nonce drawn once", func(t *testing.T) {
		calls := 0
		s := NewServer(testUsers, func() string { calls++; return testNonce })
		reply, done, _, err := s.Step([]byte("username=\"bob\""))
		require.NoError(t, err)
		assert.False(t, done)
		assert.Equal(t, `realm="zk-sasl-md5",nonce="`+testNonce+`",charset=utf-8,algorithm=md5-sess`, string(reply))
		_, done, user, err := s.Step([]byte(token(bob(), "bob", nil)))
		require.NoError(t, err)
		assert.True(t, done)
		assert.Equal(t, "bob", user)
		assert.Equal(t, 1, calls)

		_, _, _, err = s.Step(nil)
		assert.ErrorIs(t, err, ErrState, "no step after completion")
	})
	t.Run("oversized first token", func(t *testing.T) {
		s := NewServer(testUsers, fixedNonce(testNonce))
		_, _, _, err := s.Step(make([]byte, MaxResponseLen+1))
		require.ErrorIs(t, err, ErrMalformed)
		_, _, _, err = s.Step(nil)
		assert.ErrorIs(t, err, ErrState)
	})
	t.Run("empty nonce", func(t *testing.T) {
		s := NewServer(testUsers, fixedNonce(""))
		_, _, _, err := s.Step(nil)
		require.ErrorIs(t, err, ErrNoNonce)
		_, _, _, err = s.Step([]byte(token(bob(), "bob", nil)))
		assert.ErrorIs(t, err, ErrState)
	})
	t.Run("nonce with characters that need quoting", func(t *testing.T) {
		s := NewServer(testUsers, fixedNonce("a\"b\\c\x01d\te"))
		reply, _, _, err := s.Step(nil)
		require.NoError(t, err)
		assert.Equal(t, `realm="zk-sasl-md5",nonce="a\"b\\c`+"\\\x01d\te"+`",charset=utf-8,algorithm=md5-sess`, string(reply))
		d, err := parseDirectives(reply)
		require.NoError(t, err)
		assert.Equal(t, "a\"b\\c\x01d\te", d[dirNonce], "the quoted nonce parses back to itself")
	})
}

func TestEncodeNonce(t *testing.T) {
	raw := make([]byte, NonceLen)
	for i := range raw {
		raw[i] = byte(i * 37)
	}
	n := EncodeNonce(raw)
	assert.Len(t, n, 40, "30 bytes make 40 base64 characters, like the JDK's nonces")
	assert.Equal(t, "ACVKb5S53gMoTXKXvOEGK1B1mr/kCS5TeJ3C5wwx", n)
	assert.NotContains(t, n, "=")
}

func TestMatchACL(t *testing.T) {
	tests := []struct {
		id, aclID, anyUser string
		want               bool
	}{
		{"bob", "bob", "", true},
		{"bob", "alice", "", false},
		{"bob", "Bob", "", false},
		{"super", "alice", "", true},
		{"alice", "super", "", false},
		{"bob", "anyone", "anyone", true},
		{"bob", "alice", "anyone", false},
		{"bob", "", "", false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, MatchACL(tc.id, tc.aclID, tc.anyUser), "MatchACL(%q, %q, %q)", tc.id, tc.aclID, tc.anyUser)
	}
}

func TestValidACLID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"bob", true},
		{"", true},
		{"a/b/c", true},
		{"bob@EXAMPLE.COM", true},
		{"zookeeper/host.example.com@EXAMPLE.COM", true},
		{"@", true},
		{"a@b@c", false},
		{"a/b/c@R", false},
		{"a@R/x", false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, ValidACLID(tc.id), "ValidACLID(%q)", tc.id)
	}
}
