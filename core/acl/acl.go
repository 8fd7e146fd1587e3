// Package acl owns ZooKeeper's access control: the permission check of a
// node's ACL against a session's authenticated ids (ZooKeeperServer.checkACL
// with the world, digest, ip and sasl providers), the fix-up of an ACL list
// a client sends with create or setACL (PrepRequestProcessor.fixupACL),
// digest ids and the AuthPacket handling of addauth, the ip id of a
// connection, and the masking of digest ids that getACL applies to callers
// without ADMIN permission.
//
// The package is pure: it does no I/O and keeps no state. Where ZooKeeper
// parses text with Java library routines (String.split, Integer.parseInt,
// regular expressions) the functions here reproduce the Java results, so
// that ids and ACLs ZooKeeper accepts are accepted here and vice versa.
package acl

import (
	"strings"

	"github.com/warrenhq/warren/core/proto"
)

// Authentication schemes.
const (
	SchemeWorld  = "world"  // world:anyone, everyone
	SchemeAuth   = "auth"   // placeholder in create/setACL for the caller's authenticated ids
	SchemeDigest = "digest" // user:BASE64(SHA1(user:password))
	SchemeIP     = "ip"     // client address, or an address with a prefix length in an ACL
	SchemeSASL   = "sasl"   // SASL (Kerberos) principal
	SchemeSuper  = "super"  // session id that bypasses every ACL check
)

// Anyone is the id of the world scheme.
const Anyone = "anyone"

// Check reports whether a session holding ids may perform an operation
// needing perm (one or more permission bits; any of them suffices) on a
// node whose ACL is acl, as ZooKeeperServer.checkACL decides: an empty ACL
// allows everything; a "super" id allows everything; otherwise some entry
// must carry one of the bits and name world:anyone or match one of the ids
// of the same scheme. Digest ids match exactly; ip ids match an address or
// a prefix (IPAuthenticationProvider.matches, IPv4 and IPv6); sasl ids
// match exactly, and the sasl id "super" matches every sasl entry. Entries
// of other schemes never match.
//
// Check does not know about zookeeper.skipACL; callers that honour it skip
// the call.
func Check(acl []proto.ACL, perm int32, ids []proto.Id) bool {
	if len(acl) == 0 {
		return true
	}
	for _, id := range ids {
		if id.Scheme == SchemeSuper {
			return true
		}
	}
	for _, a := range acl {
		if a.Perms&perm == 0 {
			continue
		}
		if a.ID.Scheme == SchemeWorld && a.ID.ID == Anyone {
			return true
		}
		match := matcher(a.ID.Scheme)
		if match == nil {
			continue
		}
		for _, id := range ids {
			if id.Scheme == a.ID.Scheme && match(id.ID, a.ID.ID) {
				return true
			}
		}
	}
	return false
}

// matcher returns the match function of a scheme's authentication
// provider, or nil if the scheme has none.
func matcher(scheme string) func(id, expr string) bool {
	switch scheme {
	case SchemeDigest:
		return func(id, expr string) bool { return id == expr }
	case SchemeIP:
		return ipMatches
	case SchemeSASL:
		return func(id, expr string) bool { return id == "super" || id == expr }
	}
	return nil
}

// authenticated reports whether ids of scheme are real authentications
// that an "auth" ACL entry expands to (the provider's isAuthenticated).
// The ip provider is not: its id comes with every connection. "super" and
// "world" have no provider.
func authenticated(scheme string) bool {
	return scheme == SchemeDigest || scheme == SchemeSASL
}

// ValidID reports whether id may appear in a stored ACL: world:anyone, or an
// id its scheme's provider accepts (isValid). A digest id must split on ':'
// into exactly two parts the way Java's String.split counts them (so
// "user:hash" and ":hash" pass, "user:" and "a:b:c" do not); an ip id is an
// IPv4 or IPv6 address with an optional "/bits" prefix length; a sasl id is
// a Kerberos principal (KerberosName). Every other scheme, "auth" and
// "super" included, is invalid.
func ValidID(id proto.Id) bool {
	switch id.Scheme {
	case SchemeWorld:
		return id.ID == Anyone
	case SchemeDigest:
		return javaSplitCount(id.ID, ':') == 2
	case SchemeIP:
		return ipValid(id.ID)
	case SchemeSASL:
		return kerberosValid(id.ID)
	}
	return false
}

// FixupACL turns the ACL list of a create or setACL request into the list
// to store, as PrepRequestProcessor.fixupACL does: duplicate entries are
// removed (keeping the first), an empty list is invalid, world:anyone is
// kept, an "auth" entry is replaced by one entry with its permissions for
// every authenticated id of the session (digest and sasl ids, in session
// order; it is invalid if there are none), and every other entry must pass
// ValidID. The result is a new slice; on failure it is nil and the code is
// proto.ErrInvalidACL.
func FixupACL(acl []proto.ACL, ids []proto.Id) ([]proto.ACL, proto.Code) {
	uniq := removeDuplicates(acl)
	if len(uniq) == 0 {
		return nil, proto.ErrInvalidACL
	}
	out := make([]proto.ACL, 0, len(uniq))
	for _, a := range uniq {
		switch {
		case a.ID.Scheme == SchemeWorld && a.ID.ID == Anyone:
			out = append(out, a)
		case a.ID.Scheme == SchemeAuth:
			found := false
			for _, id := range ids {
				if authenticated(id.Scheme) {
					found = true
					out = append(out, proto.ACL{Perms: a.Perms, ID: id})
				}
			}
			if !found {
				return nil, proto.ErrInvalidACL
			}
		default:
			if !ValidID(a.ID) {
				return nil, proto.ErrInvalidACL
			}
			out = append(out, a)
		}
	}
	return out, proto.OK
}

// removeDuplicates keeps the first occurrence of every entry.
func removeDuplicates(acl []proto.ACL) []proto.ACL {
	out := make([]proto.ACL, 0, len(acl))
outer:
	for _, a := range acl {
		for _, b := range out {
			if a == b {
				continue outer
			}
		}
		out = append(out, a)
	}
	return out
}

// AddID appends id to ids unless it is already there (ServerCnxn.addAuthInfo)
// and returns the result.
func AddID(ids []proto.Id, id proto.Id) []proto.Id {
	for _, have := range ids {
		if have == id {
			return ids
		}
	}
	return append(ids, id)
}

// MaskForGetACL returns the ACL getACL reports. A caller with ADMIN
// permission sees acl itself; any other caller sees every digest id with
// everything from its first ':' to the end of the line replaced by ":x"
// (Java's replaceAll(":.*", ":x")), so "user:hash" reads "user:x". The
// input is never modified.
func MaskForGetACL(acl []proto.ACL, canAdmin bool) []proto.ACL {
	if canAdmin {
		return acl
	}
	out := make([]proto.ACL, len(acl))
	for i, a := range acl {
		if a.ID.Scheme == SchemeDigest {
			a.ID.ID = maskDigest(a.ID.ID)
		}
		out[i] = a
	}
	return out
}

// maskDigest applies replaceAll(":.*", ":x"): in Java's regular
// expressions '.' matches anything but a line terminator, so each ':'
// starts a match that runs to the end of its line.
func maskDigest(id string) string {
	if !strings.Contains(id, ":") {
		return id
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(id, ':')
		if i < 0 {
			b.WriteString(id)
			return b.String()
		}
		b.WriteString(id[:i])
		b.WriteString(":x")
		id = id[i+1:]
		end := len(id)
		for j, r := range id {
			if isLineTerminator(r) {
				end = j
				break
			}
		}
		id = id[end:]
	}
}

// isLineTerminator reports the characters Java's '.' does not match.
func isLineTerminator(r rune) bool {
	return r == '\n' || r == '\r' || r == '\u0085' || r == '\u2028' || r == '\u2029'
}

// javaSplitCount returns len(s.split(String.valueOf(sep))) in Java: the
// number of parts once trailing empty parts are dropped (an empty s is one
// part).
func javaSplitCount(s string, sep byte) int {
	if s == "" {
		return 1
	}
	parts := strings.Split(s, string(sep))
	n := len(parts)
	for n > 0 && parts[n-1] == "" {
		n--
	}
	return n
}

// kerberosValid reports whether KerberosName accepts name: a name without
// '@' is a bare service name; one with '@' must read
// primary[/instance]@realm with no further '/' or '@'.
func kerberosValid(name string) bool {
	at := strings.IndexByte(name, '@')
	if at < 0 {
		return true
	}
	if strings.ContainsAny(name[at+1:], "/@") {
		return false
	}
	return strings.Count(name[:at], "/") <= 1
}
