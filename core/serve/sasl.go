package serve

import (
	"crypto/rand"
	"fmt"
	"os"
	"strings"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/sasl"
	"github.com/warrenhq/warren/internal/jaas"
)

// loadSASL reads the DIGEST-MD5 users from the JAAS file named by
// java.security.auth.login.config. Without one, SASL is off. As in
// ZooKeeper, a JAAS file without the server section stops the server.
func loadSASL(c *config.Config) (*replica.SASLConfig, error) {
	if c.JAASConfig == "" {
		return nil, nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(c.JAASConfig, "="), "file:")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("java.security.auth.login.config: %w", err)
	}
	defer f.Close()
	jc, err := jaas.Parse(f, path)
	if err != nil {
		return nil, fmt.Errorf("java.security.auth.login.config: %w", err)
	}
	section := c.SASLServerSection
	if section == "" {
		section = jaas.DefaultServerSection
	}
	users, err := jaas.DigestUsers(jc, section)
	if err != nil {
		return nil, fmt.Errorf("java.security.auth.login.config %s: %w", path, err)
	}
	if c.SASLSuperPassword != "" {
		if _, ok := users[sasl.SuperUser]; ok {
			users[sasl.SuperUser] = c.SASLSuperPassword
		}
	}
	return &replica.SASLConfig{Users: users, SuperUsers: c.SuperUsers, Nonce: randomNonce}, nil
}

func randomNonce() string {
	b := make([]byte, sasl.NonceLen)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on Linux; an empty nonce makes the
		// exchange fail safely (sasl.ErrNoNonce) rather than weakly.
		return ""
	}
	return sasl.EncodeNonce(b)
}
