// Package sasl owns server-side SASL authentication of ZooKeeper clients:
// the DIGEST-MD5 mechanism (RFC 2831) exactly as a ZooKeeper server runs it
// (the JDK's com.sun.security.sasl.digest.DigestMD5Server created by
// ZooKeeper with protocol "zookeeper" and server name "zk-sasl-md5"), and
// the semantics of the resulting "sasl" ACL scheme. Users and passwords
// come from the Server section of a JAAS file (see internal/jaas).
//
// The package is pure: it does no I/O, and the one source of randomness, the
// server nonce, is injected.
//
// # Message flow (observed between ZooKeeper 3.8.0 and its Java client)
//
// After the ConnectResponse, a client configured for SASL sends, before any
// other request, sasl requests (opcode 102, ordinary increasing xids) whose
// body is GetSASLRequest{token}. The server answers each with ReplyHeader
// {xid, zxid 0, err 0} and SetSASLResponse{token}:
//
//	C: sasl  token ""                      (DIGEST-MD5 has no initial response)
//	S: ok    token `realm="zk-sasl-md5",nonce="…",charset=utf-8,algorithm=md5-sess`
//	C: sasl  token `charset=utf-8,username="bob",realm="zk-sasl-md5",nonce="…",nc=00000001,
//	               cnonce="…",digest-uri="zookeeper/zk-sasl-md5",maxbuf=65536,
//	               response=<32 hex>,qop=auth,authzid="bob"`
//	S: ok    token "rspauth=<32 hex>"       (the session now has the id sasl:bob)
//
// The client holds its other requests until the exchange ends. Feed each
// token to Server.Step and send back what it returns; on an error, answer
// ReplyHeader{xid, 0, AUTHFAILED (-115)} with SetSASLResponse{null token}
// and close the connection; the session is not closed and expires as after
// any disconnect. A server with no JAAS configuration answers every sasl
// request with err 0 and a null token and keeps the connection; the Java
// client then reports AuthFailed locally but goes on working.
//
// # Identities
//
// A completed exchange adds Id{"sasl", user} to the connection's
// identities. ZooKeeper also adds Id{"super", ""} (bypassing every ACL) when
// user equals the value of a JVM property zookeeper.superUser or
// zookeeper.superUser.<anything>. Independently, the sasl id "super" passes
// every sasl ACL entry (MatchACL). The "sasl" scheme takes part in ACL
// checks and ACL validation only when ZooKeeper's SASLAuthenticationProvider
// is configured (authProvider.N in zoo.cfg); the id is added either way.
package sasl

import (
	"bytes"
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Parameters ZooKeeper creates its DIGEST-MD5 server with.
const (
	// Mechanism is the only SASL mechanism implemented.
	Mechanism = "DIGEST-MD5"
	// Protocol is the SASL service name ZooKeeper uses.
	Protocol = "zookeeper"
	// ServerName is the fixed server name ZooKeeper uses for DIGEST-MD5;
	// it is also the only realm offered.
	ServerName = "zk-sasl-md5"
	// Realm is the realm offered in the challenge.
	Realm = ServerName
	// DigestURI is the digest-uri clients must use (compared ignoring case).
	DigestURI = Protocol + "/" + ServerName
	// MaxResponseLen is the longest token accepted, as in the JDK.
	MaxResponseLen = 4096
	// NonceLen is the number of random bytes EncodeNonce expects for a
	// nonce like the JDK's (30 bytes, 40 base64 characters).
	NonceLen = 30
)

// Errors returned by Step. Every error means the authentication failed and
// the exchange is over; the server answers AUTHFAILED and closes.
var (
	// ErrMalformed: the client's token violates RFC 2831 or does not match
	// the challenge (wrong nonce, realm, digest-uri, qop, charset…).
	ErrMalformed = errors.New("sasl: malformed DIGEST-MD5 response")
	// ErrUnknownUser: the username is not one of the configured users.
	ErrUnknownUser = errors.New("sasl: unknown user")
	// ErrBadResponse: the response digest is wrong (normally a wrong
	// password).
	ErrBadResponse = errors.New("sasl: DIGEST-MD5 response does not match the password")
	// ErrState: a token arrived after the exchange ended (successfully or
	// not).
	ErrState = errors.New("sasl: DIGEST-MD5 exchange already finished")
	// ErrNoNonce: the injected nonce function returned an empty nonce.
	ErrNoNonce = errors.New("sasl: empty server nonce")
)

// EncodeNonce turns random bytes into a nonce as the JDK does: standard
// base64. Give it NonceLen bytes from a cryptographic source.
func EncodeNonce(random []byte) string { return base64.StdEncoding.EncodeToString(random) }

// step is where a Server is in the exchange.
type step int

const (
	stepChallenge step = iota // next token is the (empty) initial response
	stepResponse              // next token is the digest-response
	stepFinished              // done or failed; no more tokens
)

// Server runs one DIGEST-MD5 exchange on one connection. It is not safe for
// concurrent use; a connection handles its requests in order anyway.
type Server struct {
	users    map[string]string
	newNonce func() string
	step     step
	nonce    string
}

// NewServer starts an exchange. users maps user names to passwords (the
// user_<name> options of the JAAS Server section); it is read, never
// modified, and may be shared by many Servers as long as nobody modifies
// it. nonce is called once, for the challenge, and must return a fresh
// unpredictable string, e.g. EncodeNonce of NonceLen bytes from crypto/rand.
func NewServer(users map[string]string, nonce func() string) *Server {
	return &Server{users: users, newNonce: nonce}
}

// Step consumes the client's next token. The first call (the client sends
// an empty token; a non-empty one is ignored, as JDK 17's server does)
// returns the challenge with done false. The second returns
// "rspauth=…", done true and user, the authorization id to add to the
// session as Id{"sasl", user}. Any error ends the exchange: the caller
// answers AUTHFAILED and closes the connection.
//
// user is the authenticated user name exactly as the client sent it: the
// client's authzid, if any, is ignored, because ZooKeeper's callback
// handler canonicalises the authorization id from the authentication id.
func (s *Server) Step(token []byte) (reply []byte, done bool, user string, err error) {
	if len(token) > MaxResponseLen {
		s.step = stepFinished
		return nil, false, "", fmt.Errorf("%w: token of %d bytes exceeds %d", ErrMalformed, len(token), MaxResponseLen)
	}
	switch s.step {
	case stepChallenge:
		s.step = stepFinished
		s.nonce = s.newNonce()
		if s.nonce == "" {
			return nil, false, "", ErrNoNonce
		}
		s.step = stepResponse
		return s.challenge(), false, "", nil
	case stepResponse:
		s.step = stepFinished
		reply, user, err := s.verify(token)
		if err != nil {
			return nil, false, "", err
		}
		return reply, true, user, nil
	default:
		return nil, false, "", ErrState
	}
}

// challenge is the digest-challenge, byte for byte as the JDK writes it for
// ZooKeeper (no qop directive: "auth" is the default).
func (s *Server) challenge() []byte {
	var b bytes.Buffer
	b.WriteString(`realm="`)
	writeQuoted(&b, Realm)
	b.WriteString(`",nonce="`)
	writeQuoted(&b, s.nonce)
	b.WriteString(`",charset=utf-8,algorithm=md5-sess`)
	return b.Bytes()
}

// writeQuoted writes v as the content of a quoted-string, escaping '"',
// '\', DEL and control characters other than CR, LF and HT, as the JDK
// does.
func writeQuoted(b *bytes.Buffer, v string) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' || c == '\\' || c == 127 || c <= 31 && c != '\r' && c != '\t' && c != '\n' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
}

// verify validates a digest-response in the JDK's order of checks and
// returns the response-auth token and the authorization id.
func (s *Server) verify(token []byte) ([]byte, string, error) {
	d, err := parseDirectives(token)
	if err != nil {
		return nil, "", err
	}
	if v, ok := d[dirCharset]; ok && v != "utf-8" {
		return nil, "", fmt.Errorf("%w: incompatible charset %q", ErrMalformed, v)
	}
	if v, ok := d[dirMaxbuf]; ok {
		if _, err := strconv.ParseInt(v, 10, 32); err != nil {
			return nil, "", fmt.Errorf("%w: invalid maxbuf %q", ErrMalformed, v)
		}
	}
	username, ok := d[dirUsername]
	if !ok {
		return nil, "", fmt.Errorf("%w: missing username", ErrMalformed)
	}
	if realm := d[dirRealm]; realm != Realm {
		return nil, "", fmt.Errorf("%w: nonexistent realm %q", ErrMalformed, realm)
	}
	nonce, ok := d[dirNonce]
	if !ok {
		return nil, "", fmt.Errorf("%w: missing nonce", ErrMalformed)
	}
	if nonce != s.nonce {
		return nil, "", fmt.Errorf("%w: mismatched nonce", ErrMalformed)
	}
	cnonce, ok := d[dirCnonce]
	if !ok {
		return nil, "", fmt.Errorf("%w: missing cnonce", ErrMalformed)
	}
	// The JDK looks for a "nonce-count" directive, not RFC 2831's "nc", so
	// it never checks nc and always computes with nonce count 1.
	if v, ok := d[dirNonceCount]; ok {
		if n, err := strconv.ParseInt(v, 16, 32); err != nil || n != 1 {
			return nil, "", fmt.Errorf("%w: nonce count %q is not 1", ErrMalformed, v)
		}
	}
	qop, ok := d[dirQop]
	if !ok {
		qop = "auth"
	}
	switch qop {
	case "auth":
	case "auth-int", "auth-conf":
		return nil, "", fmt.Errorf("%w: qop %q not offered", ErrMalformed, qop)
	default:
		return nil, "", fmt.Errorf("%w: invalid qop %q", ErrMalformed, qop)
	}
	uri, ok := d[dirDigestURI]
	if !ok || !strings.EqualFold(uri, DigestURI) {
		return nil, "", fmt.Errorf("%w: mismatched digest-uri %q, expecting %q", ErrMalformed, uri, DigestURI)
	}
	response, ok := d[dirResponse]
	if !ok {
		return nil, "", fmt.Errorf("%w: missing response", ErrMalformed)
	}
	authzid, hasAuthzid := d[dirAuthzid]
	password, ok := s.users[username]
	if !ok {
		return nil, "", fmt.Errorf("%w: %q", ErrUnknownUser, username)
	}
	var az *string
	if hasAuthzid {
		az = &authzid
	}
	k := digestKeys{username: username, realm: Realm, password: password, nonce: nonce, cnonce: cnonce, authzid: az, qop: qop, digestURI: uri}
	want := responseValue(k, "AUTHENTICATE")
	if subtle.ConstantTimeCompare([]byte(response), want) != 1 {
		return nil, "", fmt.Errorf("%w: user %q", ErrBadResponse, username)
	}
	if !validPrincipal(username) {
		// ZooKeeper's callback handler throws on such names and drops
		// the connection.
		return nil, "", fmt.Errorf("%w: user name %q is not a valid Kerberos-style name", ErrMalformed, username)
	}
	return append([]byte("rspauth="), responseValue(k, "")...), username, nil
}

// digestKeys are the inputs of an RFC 2831 response-value.
type digestKeys struct {
	username, realm, password string
	nonce, cnonce             string
	authzid                   *string // nil: no authzid directive
	qop                       string
	digestURI                 string
}

// nonceCount is the only nonce count the JDK's server accepts.
const nonceCount = "00000001"

// responseValue computes RFC 2831's response-value (section 2.1.2.1):
// authMethod "AUTHENTICATE" gives the client's response, "" the server's
// rspauth. Only qop "auth" is supported (A2 has no security-layer suffix).
func responseValue(k digestKeys, authMethod string) []byte {
	inner := md5.New()
	inner.Write(latin1OrUTF8(k.username))
	inner.Write([]byte{':'})
	inner.Write(latin1OrUTF8(k.realm))
	inner.Write([]byte{':'})
	inner.Write(latin1OrUTF8(k.password))

	a1 := md5.New()
	a1.Write(inner.Sum(nil))
	a1.Write([]byte(":" + k.nonce + ":" + k.cnonce))
	if k.authzid != nil {
		a1.Write([]byte(":" + *k.authzid))
	}
	ha2 := md5.Sum([]byte(authMethod + ":" + k.digestURI))

	kd := md5.Sum([]byte(hex.EncodeToString(a1.Sum(nil)) + ":" + k.nonce + ":" + nonceCount + ":" +
		k.cnonce + ":" + k.qop + ":" + hex.EncodeToString(ha2[:])))
	return []byte(hex.EncodeToString(kd[:]))
}

// latin1OrUTF8 encodes s in ISO 8859-1 when every character fits, else in
// UTF-8: RFC 2831's rule for the user name, realm and password when
// charset=utf-8 is negotiated, and what the JDK does.
func latin1OrUTF8(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return []byte(s)
		}
		out = append(out, byte(r))
	}
	return out
}

// validPrincipal reports whether ZooKeeper's KerberosName accepts name: a
// name with an '@' must have the form service[/host]@realm, with no other
// '/' or '@'.
func validPrincipal(name string) bool {
	at := strings.IndexByte(name, '@')
	if at < 0 {
		return true
	}
	if strings.IndexByte(name[at+1:], '@') >= 0 || strings.IndexByte(name[at+1:], '/') >= 0 {
		return false
	}
	return strings.Count(name[:at], "/") <= 1
}
