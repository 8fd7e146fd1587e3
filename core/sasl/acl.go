package sasl

// Scheme is the ACL scheme of SASL identities: a session that completed
// the exchange as user U holds the id sasl:U.
const Scheme = "sasl"

// SuperUser is the sasl id that every sasl ACL entry admits.
const SuperUser = "super"

// MatchACL reports whether a session's sasl id (the user Step returned)
// satisfies an ACL entry sasl:aclID, as ZooKeeper's
// SASLAuthenticationProvider decides: the ids are equal, or the session's
// id is "super" (which therefore passes every sasl entry, though not entries
// of other schemes), or anyUser is non-empty and equals aclID (the JVM
// property zookeeper.letAnySaslUserDoX: an entry naming that value admits
// every sasl-authenticated session).
func MatchACL(id, aclID, anyUser string) bool {
	return id == SuperUser || id == aclID || anyUser != "" && aclID == anyUser
}

// ValidACLID reports whether id is acceptable in a sasl ACL entry of a
// create or setACL request (otherwise ZooKeeper answers INVALIDACL): any
// name without '@', or a Kerberos principal service[/host]@realm with no
// further '/' or '@'.
func ValidACLID(id string) bool { return validPrincipal(id) }
