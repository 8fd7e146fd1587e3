package jaas

import (
	"errors"
	"fmt"
	"strings"
)

// DigestLoginModule is the login module class ZooKeeper's DIGEST-MD5
// server configuration uses.
const DigestLoginModule = "org.apache.zookeeper.server.auth.DigestLoginModule"

// DefaultServerSection is the section ZooKeeper reads its SASL users from.
// ZooKeeper names another one with the JVM property
// zookeeper.sasl.serverconfig (ServerSectionProperty).
const DefaultServerSection = "Server"

// ServerSectionProperty is the JVM system property that renames the server
// section.
const ServerSectionProperty = "zookeeper.sasl.serverconfig"

// userPrefix starts the option keys that define DIGEST-MD5 users.
const userPrefix = "user_"

// ErrNoSection reports that the configuration has no (or an empty) section
// of the requested name. ZooKeeper refuses to start in that case when a
// JAAS file is configured.
var ErrNoSection = errors.New("jaas: no such section")

// ErrNoDigestModule reports a section without a DigestLoginModule entry,
// for example one set up for Kerberos (Krb5LoginModule), which is not
// supported.
var ErrNoDigestModule = errors.New("jaas: section has no " + DigestLoginModule + " entry")

// DigestUsers returns the DIGEST-MD5 users of a ZooKeeper server section:
// every option "user_<name>"="<password>" of the section's
// DigestLoginModule entries, keyed by <name>. section "" means
// DefaultServerSection. Entries of other login modules are ignored. When
// several entries define the same user, the last one wins, as in
// ZooKeeper's SaslServerCallbackHandler. A section with DigestLoginModule
// entries but no users is not an error (every client then fails to
// authenticate).
func DigestUsers(cfg *Config, section string) (map[string]string, error) {
	if section == "" {
		section = DefaultServerSection
	}
	entries := cfg.Section(section)
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: %q in %s", ErrNoSection, section, cfg.Name)
	}
	users := map[string]string{}
	found := false
	for _, e := range entries {
		if e.Module != DigestLoginModule {
			continue
		}
		found = true
		for k, v := range e.Options {
			if name, ok := strings.CutPrefix(k, userPrefix); ok {
				users[name] = v
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: section %q of %s", ErrNoDigestModule, section, cfg.Name)
	}
	return users, nil
}
