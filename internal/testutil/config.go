package testutil

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// ServerConfig holds the settings both ZooKeeper and Warren take from zoo.cfg
// (or, for ZooKeeper's system properties, from JVM flags), so one value
// configures either server identically.
type ServerConfig struct {
	// TickTime is zoo.cfg tickTime; zero means ZooKeeper's 2000 ms.
	TickTime time.Duration
	// ExtendedTypes sets extendedTypesEnabled=true, which allows TTL nodes.
	ExtendedTypes bool
	// FourLetterWords is 4lw.commands.whitelist; empty means "*".
	FourLetterWords string
	// SuperDigest is DigestAuthenticationProvider.superDigest, in the form
	// Digest returns ("super:<base64 sha1>"); empty means no super user.
	SuperDigest string
	// ContainerCheckInterval is how often the container/TTL reaper runs
	// (ZooKeeper's znode.container.checkIntervalMs); zero keeps the
	// server's default of 60 s. Suites that compare two servers set it
	// far beyond their run time so that reaping never races the test.
	ContainerCheckInterval time.Duration
	// Extra holds raw zoo.cfg lines ("key=value"), appended last.
	Extra []string
}

// Digest returns ZooKeeper's digest form of a user and password,
// "user:BASE64(SHA1(user:password))", as DigestAuthenticationProvider
// computes it. Use it in digest ACL ids ("digest:"+Digest(u, p)) and for
// ServerConfig.SuperDigest.
func Digest(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

func (c ServerConfig) tickMillis() int64 {
	if c.TickTime <= 0 {
		return 2000
	}
	return c.TickTime.Milliseconds()
}

func (c ServerConfig) whitelist() string {
	if c.FourLetterWords == "" {
		return "*"
	}
	return c.FourLetterWords
}

// zooCfg renders the zoo.cfg lines shared by both servers. head comes first
// (server-specific keys such as the admin server settings).
func (c ServerConfig) zooCfg(dataDir string, clientPort int, head ...string) string {
	var b strings.Builder
	lines := []string{
		fmt.Sprintf("tickTime=%d", c.tickMillis()),
		"dataDir=" + dataDir,
		fmt.Sprintf("clientPort=%d", clientPort),
		"clientPortAddress=127.0.0.1",
		"4lw.commands.whitelist=" + c.whitelist(),
	}
	lines = append(lines, head...)
	if c.ExtendedTypes {
		lines = append(lines, "extendedTypesEnabled=true")
	}
	if c.SuperDigest != "" {
		lines = append(lines, "DigestAuthenticationProvider.superDigest="+c.SuperDigest)
	}
	lines = append(lines, c.Extra...)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// systemProperties returns the -D flags for settings that ZooKeeper reads
// only as JVM system properties (and that Warren reads from
// SERVER_JVMFLAGS, as ZooKeeper's scripts pass them).
func (c ServerConfig) systemProperties() []string {
	var props []string
	if c.ContainerCheckInterval > 0 {
		props = append(props, fmt.Sprintf("-Dznode.container.checkIntervalMs=%d", c.ContainerCheckInterval.Milliseconds()))
	}
	return props
}
