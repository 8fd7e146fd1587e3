package acl

import (
	"crypto/sha1"
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"github.com/warrenhq/warren/core/proto"
)

// DigestID returns the digest id of "user:password" as
// DigestAuthenticationProvider.generateDigest computes it: the text before
// the first ':' (all of it if there is none), a ':', and the standard
// base64 (with padding) of the SHA-1 of the whole text in UTF-8. Invalid
// UTF-8 is first decoded the way Java decodes bytes into a String, each
// maximal ill-formed subsequence becoming U+FFFD.
func DigestID(userPassword string) string {
	s := javaUTF8(userPassword)
	user := s
	if i := strings.IndexByte(s, ':'); i >= 0 {
		user = s[:i]
	}
	sum := sha1.Sum([]byte(s))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// Authenticate handles an AuthPacket (addauth) with the server's
// authentication providers and returns the ids to add to the session, in
// order. The "digest" scheme takes "user:password" and yields the digest
// id, preceded by super:"" when that id equals superDigest (the configured
// zookeeper.DigestAuthenticationProvider.superDigest, "super:<hash>"; empty
// disables it). The "ip" scheme succeeds and adds nothing new: the
// connection's ip id (IPID), which ZooKeeper adds again here, is already
// the session's. Every other scheme fails with proto.ErrAuthFailed, after
// which ZooKeeper closes the connection.
func Authenticate(scheme string, auth []byte, superDigest string) ([]proto.Id, proto.Code) {
	switch scheme {
	case SchemeDigest:
		id := DigestID(string(auth))
		if superDigest != "" && id == superDigest {
			return []proto.Id{{Scheme: SchemeSuper, ID: ""}, {Scheme: SchemeDigest, ID: id}}, proto.OK
		}
		return []proto.Id{{Scheme: SchemeDigest, ID: id}}, proto.OK
	case SchemeIP:
		return nil, proto.OK
	}
	return nil, proto.ErrAuthFailed
}

// javaUTF8 returns s unchanged if it is valid UTF-8, and otherwise the
// string Java's UTF-8 decoder makes of its bytes: every maximal prefix of
// a well-formed sequence that is cut short, and every byte that cannot
// start one, becomes one U+FFFD (Unicode's "maximal subpart" practice,
// except that Java also takes an encoded surrogate, 0xED 0xA0-0xBF ..., as
// one ill-formed sequence).
func javaUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || n > 1 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		b.WriteRune(utf8.RuneError)
		i += maximalSubpart(s[i:])
	}
	return b.String()
}

// maximalSubpart returns the length of the ill-formed sequence at the start
// of s: the lead byte and the continuation bytes that could still have
// completed it (for 0xED, any continuation byte, as in Java), at least 1.
func maximalSubpart(s string) int {
	c := s[0]
	var need int
	lo, hi := byte(0x80), byte(0xbf) // valid range of the second byte
	switch {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c == 0xe0:
		need, lo = 2, 0xa0
	case c >= 0xe1 && c <= 0xef:
		need = 2
	case c == 0xf0:
		need, lo = 3, 0x90
	case c == 0xf4:
		need, hi = 3, 0x8f
	case c >= 0xf1 && c <= 0xf3:
		need = 3
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(s); k++ {
		b := s[n]
		if k == 0 && (b < lo || b > hi) || k > 0 && (b < 0x80 || b > 0xbf) {
			break
		}
		n++
	}
	return n
}
