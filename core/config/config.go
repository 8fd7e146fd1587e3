// Package config owns Warren's server configuration: the Config struct with
// ZooKeeper's defaults, reading an unmodified ZooKeeper zoo.cfg (Java
// .properties syntax, read the way java.util.Properties and ZooKeeper's
// QuorumPeerConfig read it), merging the ZooKeeper system properties given as
// -D options in SERVER_JVMFLAGS/JVMFLAGS, validation with errors that name the
// file, line, key and value, and rendering the `conf` four-letter word.
//
// # Sources and precedence
//
// Settings come from, lowest precedence first:
//
//  1. defaults: ZooKeeper's when a zoo.cfg is read (Parse, Load), Warren's
//     embedded ones otherwise (Default, LoadDefault: loopback-only listeners,
//     data under ./data);
//  2. -Dkey=value tokens in $SERVER_JVMFLAGS, then in $JVMFLAGS (zkServer.sh
//     runs java with "$SERVER_JVMFLAGS $JVMFLAGS", and the JVM keeps the last
//     of two equal -D options);
//  3. zoo.cfg, where the last of two equal keys wins (a Hashtable).
//
// zoo.cfg wins over -D because that is what ZooKeeper does: QuorumPeerConfig
// copies every zoo.cfg key it does not know itself into the system property
// "zookeeper.<key>", overwriting whatever -D had set before the server reads
// it. Only ZooKeeper's system properties are taken from -D (zoo.cfg keys such
// as clientPort are not system properties, in ZooKeeper or here); other -D
// options (-Dlog4j..., -Dcom.sun.management...) are ignored silently.
//
// A system property may be written with or without its "zookeeper." prefix
// in either place: skipACL, zookeeper.skipACL, -Dzookeeper.skipACL and
// -DskipACL are the same setting. ZooKeeper itself is narrower for the few
// properties whose real name has no prefix (jute.maxbuffer,
// readonlymode.enabled, java.security.auth.login.config,
// znode.container.*): it reads those only from -D, and a zoo.cfg line
// silently does nothing. Warren honours them in zoo.cfg too, since that is
// what an operator writing them there means.
//
// # Keys
//
// Every key ZooKeeper 3.8 documents is accepted. Keys Warren acts on fill
// Config; keys it knows but does not act on yet are accepted and listed in
// one info-level Warning; security-relevant ones that are ignored (TLS, SASL)
// get a warn-level Warning each; unknown keys get a warn-level Warning. None
// of these fail. A malformed value fails with an *Error.
//
// # Ensembles
//
// server.N lines make the server a member of an ensemble exactly when
// ZooKeeper 3.8 would run it as one (Config.Distributed): more than one
// participant, or standaloneEnabled=false. A single participant line with
// standaloneEnabled=true (the default) runs standalone, as ZooKeeper does
// for HBase's one-line configurations. An ensemble member reads its server
// id from dataDir/myid (MyIDFile: a decimal number on the first line,
// surrounding blanks allowed) into Config.ServerID; a missing or malformed
// file, or an id no server.N line lists, fails with an *Error naming the
// file. initLimit and syncLimit must then be set, and the member's own
// server.N line decides whether it is a participant or an observer.
//
// Warren's own settings live under the "warren." prefix (warren.log.format,
// warren.log.level) so they can never collide with a ZooKeeper key.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Defaults shared by ZooKeeper and Warren.
const (
	// DefaultTickTime is ZooKeeper's tickTime when unset
	// (ZooKeeperServer.DEFAULT_TICK_TIME, 3000 ms). ZooKeeper's sample
	// zoo.cfg sets 2000, which most real configurations keep.
	DefaultTickTime = 3000
	// DefaultClientPort is the client port.
	DefaultClientPort = 2181
	// DefaultMaxClientCnxns is the per-IP connection cap (0 = unlimited).
	DefaultMaxClientCnxns = 60
	// DefaultJuteMaxBuffer is jute.maxbuffer: the largest frame, 0xfffff.
	DefaultJuteMaxBuffer = 0xfffff
	// DefaultGlobalOutstandingLimit is zookeeper.globalOutstandingLimit.
	DefaultGlobalOutstandingLimit = 1000
	// DefaultPreAllocSize is zookeeper.preAllocSize in kilobytes (64 MiB).
	DefaultPreAllocSize = 64 * 1024
	// DefaultSnapCount is zookeeper.snapCount.
	DefaultSnapCount = 100000
	// DefaultSnapSizeLimitKB is zookeeper.snapSizeLimitInKb (4 GiB of log
	// between snapshots).
	DefaultSnapSizeLimitKB = 4194304
	// DefaultSnapshotWriteRateMBps is warren.snapshot.writeRateMBps.
	DefaultSnapshotWriteRateMBps = 40
	// DefaultSnapRetainCount is autopurge.snapRetainCount, also its minimum.
	DefaultSnapRetainCount = 3
	// DefaultContainerCheckIntervalMs is znode.container.checkIntervalMs.
	DefaultContainerCheckIntervalMs = 60000
	// DefaultContainerMaxPerMinute is znode.container.maxPerMinute.
	DefaultContainerMaxPerMinute = 10000
	// DefaultAdminPort is Warren's admin.serverPort. ZooKeeper's 8080
	// collides with every other Java service (Kafka ships with the
	// AdminServer disabled because of it, KAFKA-8792; Pulsar moved it to
	// 9990), and 9181 is ClickHouse Keeper's client port, a clash with
	// exactly the people who run ZooKeeper-compatible servers. 2180 sits
	// next to the client port, which makes it easy to remember, and no
	// common service uses it.
	DefaultAdminPort = 2180
	// DefaultAdminIdleTimeout is admin.idleTimeout in milliseconds.
	DefaultAdminIdleTimeout = 30000
	// DefaultCommandURL is admin.commandURL.
	DefaultCommandURL = "/commands"
	// DefaultDataDir is where Warren keeps data when run without a zoo.cfg.
	DefaultDataDir = "./data"
	// LoopbackAddress is Warren's embedded listen address: without a zoo.cfg
	// nothing is exposed beyond the host.
	LoopbackAddress = "127.0.0.1"
	// WildcardAddress is ZooKeeper's listen address when a zoo.cfg leaves
	// clientPortAddress or admin.serverAddress unset: all interfaces.
	WildcardAddress = "0.0.0.0"
)

// Log formats for LogFormat.
const (
	LogFormatConsole = "console"
	LogFormatJSON    = "json"
)

// FourLetterWords are the four-letter words ZooKeeper 3.8 knows, sorted.
var FourLetterWords = []string{
	"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro",
	"mntr", "ruok", "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs",
}

// Role is a quorum member's role in a server.N entry.
type Role string

// Roles a server.N entry can give.
const (
	RoleParticipant Role = "participant"
	RoleObserver    Role = "observer"
)

// PeerAddress is one quorum address of a server: host, quorum (follower to
// leader) port and election port.
type PeerAddress struct {
	Host         string
	QuorumPort   int
	ElectionPort int
}

// Server is one server.N entry: "host:quorumPort:electionPort[:role]", any
// number of further addresses after '|' (multiAddress.enabled), then an
// optional ";[clientHost:]clientPort".
type Server struct {
	ID           int64
	Host         string // first address
	QuorumPort   int
	ElectionPort int
	Role         Role
	// ClientAddr is "host:port" from the part after ';' ("0.0.0.0:port"
	// when only a port is given), empty when absent.
	ClientAddr string
	// Alternates are the addresses after the first, in order.
	Alternates []PeerAddress
	Line       int // zoo.cfg line, for messages
}

// Admin configures the AdminServer HTTP endpoint.
type Admin struct {
	EnableServer  bool
	ServerAddress string
	ServerPort    int // 0 picks a free port (tests)
	CommandURL    string
	IdleTimeout   int // milliseconds
	// SnapshotEnabled is admin.snapshot.enabled: whether the snapshot
	// command (a full copy of the data) may be used (default true, as in
	// ZooKeeper 3.9).
	SnapshotEnabled bool
	// RateLimiterIntervalMs is admin.rateLimiterIntervalInMS: at most one
	// snapshot command per interval (default 300000, ZooKeeper's).
	RateLimiterIntervalMs int
}

// Config is a Warren server's configuration. Times are in milliseconds.
// Parse, Load and Default return it resolved: MinSessionTimeout and
// MaxSessionTimeout hold numbers, never -1.
type Config struct {
	// Source is the file the configuration was read from, "" for defaults.
	Source string

	TickTime   int
	DataDir    string
	DataLogDir string // defaults to DataDir

	ClientPort        int    // 0 picks a free port (tests; not accepted in zoo.cfg)
	ClientPortAddress string // IP or host name
	// ClientPortListenBacklog is clientPortListenBacklog, -1 for the OS default.
	ClientPortListenBacklog int
	MaxClientCnxns          int // per client IP; 0 = unlimited
	// MaxCnxns is zookeeper.maxCnxns: client connections in all; 0 =
	// unlimited (the default).
	MaxCnxns int

	// MinSessionTimeout and MaxSessionTimeout bound negotiated session
	// timeouts; -1 means 2*TickTime and 20*TickTime.
	MinSessionTimeout int
	MaxSessionTimeout int

	// FourLetterWhitelist is 4lw.commands.whitelist: lower-case known words,
	// or "*" for all. srvr is always allowed, and isro when ReadOnlyMode is
	// on; use FourLetterWordAllowed. ZooKeeper splits the list on commas only
	// and matches case-sensitively; Warren also splits on blanks and ignores
	// case, so "stat ruok" or "Stat" mean what the operator meant.
	FourLetterWhitelist []string

	Admin Admin

	JuteMaxBuffer        int    // jute.maxbuffer: largest frame in bytes
	ExtendedTypesEnabled bool   // zookeeper.extendedTypesEnabled: TTL nodes
	SuperDigest          string // zookeeper.DigestAuthenticationProvider.superDigest, "super:<base64 sha1>"
	SkipACL              bool   // zookeeper.skipACL=yes
	EnforceQuota         bool   // zookeeper.enforceQuota: quota hard limits fail writes with QUOTAEXCEEDED
	ReadOnlyMode         bool   // readonlymode.enabled
	JAASConfig           string // java.security.auth.login.config (path)
	// SASL (DIGEST-MD5 users come from the JAAS file's server section).
	SASLServerSection string            // zookeeper.sasl.serverconfig (default "Server")
	SASLSuperPassword string            // zookeeper.SASLAuthenticationProvider.superPassword
	SuperUsers        []string          // zookeeper.superUser and zookeeper.superUser.*: SASL users who get the super id
	AuthProviders     map[string]string // zookeeper.authProvider.N = class name

	GlobalOutstandingLimit int
	PreAllocSize           int64 // kilobytes
	SnapCount              int
	SnapSizeLimitKB        int // zookeeper.snapSizeLimitInKb; <= 0 disables the size trigger
	// TxnLogSizeLimitKB is zookeeper.txnLogSizeLimitInKb: the transaction
	// log rolls to a new file before one would grow past it; <= 0 (the
	// default, -1) keeps Warren's 128 MiB segments.
	TxnLogSizeLimitKB int
	// SnapshotWriteRateMBps (warren.snapshot.writeRateMBps) caps how fast a
	// background snapshot is written, so its write-back does not crowd out
	// the write-ahead log's fsyncs on a shared disk; 0 means no cap.
	SnapshotWriteRateMBps int
	ForceSync             bool // zookeeper.forceSync (false only for "no")

	AutopurgeSnapRetainCount int
	AutopurgePurgeInterval   int // hours; 0 disables

	InitLimit         int // ticks
	SyncLimit         int // ticks
	PeerType          Role
	Servers           []Server // sorted by ID
	ServerID          int64    // this server's id (dataDir/myid) when Distributed; 0 when standalone
	StandaloneEnabled bool
	ReconfigEnabled   bool
	MultiAddress      bool // multiAddress.enabled
	// QuorumListenOnAllIPs binds the quorum and election ports on every
	// interface rather than on the member's own server.N host.
	QuorumListenOnAllIPs bool
	// ElectionPortBindRetry is how many times binding the election port is
	// tried, a second apart (zookeeper.electionPortBindRetry, default 3;
	// 0 retries forever).
	ElectionPortBindRetry int

	MetricsProvider       string            // metricsProvider.className
	MetricsProviderConfig map[string]string // other metricsProvider.* keys, prefix removed

	ContainerCheckIntervalMs        int // 0 disables the container reaper
	ContainerMaxPerMinute           int
	ContainerMaxNeverUsedIntervalMs int // 0: never-used containers are kept

	LogFormat string // warren.log.format: "console" or "json"
	LogLevel  string // warren.log.level: debug, info, warn, error
}

// zooKeeperDefaults is the configuration ZooKeeper starts from before reading
// a zoo.cfg. DataDir is empty: a zoo.cfg must set it.
func zooKeeperDefaults() *Config {
	return &Config{
		TickTime:                DefaultTickTime,
		ClientPort:              DefaultClientPort,
		ClientPortAddress:       WildcardAddress,
		ClientPortListenBacklog: -1,
		MaxClientCnxns:          DefaultMaxClientCnxns,
		MinSessionTimeout:       -1,
		MaxSessionTimeout:       -1,
		FourLetterWhitelist:     []string{"srvr"},
		Admin: Admin{
			EnableServer:  true,
			ServerAddress: WildcardAddress,
			ServerPort:    DefaultAdminPort,
			CommandURL:    DefaultCommandURL,
			IdleTimeout:   DefaultAdminIdleTimeout,

			SnapshotEnabled:       true,
			RateLimiterIntervalMs: 300000,
		},
		JuteMaxBuffer:            DefaultJuteMaxBuffer,
		GlobalOutstandingLimit:   DefaultGlobalOutstandingLimit,
		PreAllocSize:             DefaultPreAllocSize,
		SnapCount:                DefaultSnapCount,
		SnapSizeLimitKB:          DefaultSnapSizeLimitKB,
		TxnLogSizeLimitKB:        -1,
		SnapshotWriteRateMBps:    DefaultSnapshotWriteRateMBps,
		ForceSync:                true,
		AutopurgeSnapRetainCount: DefaultSnapRetainCount,
		PeerType:                 RoleParticipant,
		StandaloneEnabled:        true,
		ElectionPortBindRetry:    3,
		MetricsProviderConfig:    map[string]string{},
		SASLServerSection:        "Server",
		AuthProviders:            map[string]string{},
		ContainerCheckIntervalMs: DefaultContainerCheckIntervalMs,
		ContainerMaxPerMinute:    DefaultContainerMaxPerMinute,
		LogFormat:                LogFormatConsole,
		LogLevel:                 "info",
	}
}

// Default returns Warren's embedded configuration, used when the server runs
// without a zoo.cfg: ZooKeeper's defaults, except that the client port and
// the AdminServer listen on 127.0.0.1 only, every four-letter word is
// enabled, and data lives under ./data.
func Default() *Config {
	c := zooKeeperDefaults()
	c.DataDir = DefaultDataDir
	c.ClientPortAddress = LoopbackAddress
	c.Admin.ServerAddress = LoopbackAddress
	// Bound to loopback only, every four-letter word is safe to answer, and
	// health checks (ruok, mntr) work out of the box.
	c.FourLetterWhitelist = []string{"*"}
	c.resolve()
	return c
}

// resolve fills the settings whose defaults derive from others.
func (c *Config) resolve() {
	if c.DataLogDir == "" {
		c.DataLogDir = c.DataDir
	}
	if c.MinSessionTimeout == -1 {
		c.MinSessionTimeout = 2 * c.TickTime
	}
	if c.MaxSessionTimeout == -1 {
		c.MaxSessionTimeout = 20 * c.TickTime
	}
}

// Validate checks the cross-field rules and value ranges of a configuration
// built in code. Parse and Load run the same checks and report them with
// file and line.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, reason string) {
		errs = append(errs, &Error{File: c.Source, Key: key, Reason: reason})
	}
	if c.TickTime <= 0 {
		add("tickTime", "must be positive")
	}
	if c.DataDir == "" {
		add("dataDir", "is not set")
	}
	if c.ClientPort < 0 || c.ClientPort > 65535 {
		add("clientPort", "is not a valid port")
	}
	if err := checkHost(c.ClientPortAddress); err != nil {
		add("clientPortAddress", err.Error())
	}
	if c.MaxClientCnxns < 0 {
		add("maxClientCnxns", "must not be negative")
	}
	if c.MinSessionTimeout < -1 {
		add("minSessionTimeout", "must be -1 (default) or not negative")
	}
	if c.MaxSessionTimeout < -1 {
		add("maxSessionTimeout", "must be -1 (default) or not negative")
	}
	if lo, hi := c.effectiveTimeouts(); lo > hi {
		add("minSessionTimeout", fmt.Sprintf("(%d) must not be larger than maxSessionTimeout (%d)", lo, hi))
	}
	if c.Admin.EnableServer {
		if c.Admin.ServerPort < 0 || c.Admin.ServerPort > 65535 {
			add("admin.serverPort", "is not a valid port")
		}
		if err := checkHost(c.Admin.ServerAddress); err != nil {
			add("admin.serverAddress", err.Error())
		}
		if !strings.HasPrefix(c.Admin.CommandURL, "/") {
			add("admin.commandURL", "must start with /")
		}
	}
	if c.JuteMaxBuffer <= 0 {
		add("jute.maxbuffer", "must be positive")
	}
	if c.LogFormat != LogFormatConsole && c.LogFormat != LogFormatJSON {
		add("warren.log.format", "must be console or json")
	}
	if c.Distributed() {
		if _, ok := c.Self(); !ok {
			add("myid", fmt.Sprintf("%d is not among the server.N ids (%s)", c.ServerID, c.serverIDs()))
		}
		if c.InitLimit <= 0 {
			add("initLimit", "must be positive in an ensemble")
		}
		if c.SyncLimit <= 0 {
			add("syncLimit", "must be positive in an ensemble")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

func (c *Config) effectiveTimeouts() (int, int) {
	lo, hi := c.MinSessionTimeout, c.MaxSessionTimeout
	if lo == -1 {
		lo = 2 * c.TickTime
	}
	if hi == -1 {
		hi = 20 * c.TickTime
	}
	return lo, hi
}

// FourLetterWordAllowed reports whether the four-letter word may run, as
// ZooKeeper's FourLetterCommands.isEnabled decides: srvr always (zkServer.sh
// status needs it), isro when read-only mode is enabled, every known word
// when the whitelist holds "*", otherwise the listed words.
func (c *Config) FourLetterWordAllowed(word string) bool {
	if word == "srvr" || (word == "isro" && c.ReadOnlyMode) {
		return true
	}
	for _, w := range c.FourLetterWhitelist {
		if w == word || (w == "*" && slices.Contains(FourLetterWords, word)) {
			return true
		}
	}
	return false
}

// ConfLines renders the configuration as ZooKeeper 3.8's `conf` four-letter
// word does for a standalone server, one key=value per line in its order:
// clientPort, secureClientPort, dataDir, dataDirSize, dataLogDir,
// dataLogSize, tickTime, maxClientCnxns, minSessionTimeout,
// maxSessionTimeout, clientPortListenBacklog, serverId. Directories are
// absolute; the sizes are the bytes of the files under them, which costs a
// directory walk (0 when a directory does not exist). secureClientPort is
// -1: Warren has no TLS listener yet.
func (c *Config) ConfLines() []string {
	return c.confLines(true)
}

// String renders ConfLines without the directory sizes (no file-system
// walk), newline-separated, so a Config can be logged cheaply.
func (c *Config) String() string {
	return strings.Join(c.confLines(false), "\n")
}

func (c *Config) confLines(sizes bool) []string {
	lo, hi := c.effectiveTimeouts()
	dataDir, logDir := absPath(c.DataDir), absPath(c.DataLogDir)
	lines := []string{
		"clientPort=" + strconv.Itoa(c.ClientPort),
		"secureClientPort=-1",
		"dataDir=" + dataDir,
	}
	if sizes {
		lines = append(lines, "dataDirSize="+strconv.FormatInt(dirSize(dataDir), 10))
	}
	lines = append(lines, "dataLogDir="+logDir)
	if sizes {
		lines = append(lines, "dataLogSize="+strconv.FormatInt(dirSize(logDir), 10))
	}
	return append(lines,
		"tickTime="+strconv.Itoa(c.TickTime),
		"maxClientCnxns="+strconv.Itoa(c.MaxClientCnxns),
		"minSessionTimeout="+strconv.Itoa(lo),
		"maxSessionTimeout="+strconv.Itoa(hi),
		"clientPortListenBacklog="+strconv.Itoa(c.ClientPortListenBacklog),
		"serverId="+strconv.FormatInt(c.ServerID, 10),
	)
}

func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable entry counts as empty
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// parseHost accepts an IP literal (an IPv6 one optionally in brackets, which
// are removed) or a syntactically valid host name, and returns it ready for
// net.JoinHostPort.
func parseHost(h string) (string, error) {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		if ip := net.ParseIP(h[1 : len(h)-1]); ip == nil || ip.To4() != nil {
			return "", errors.New("is not a valid IPv6 address")
		}
		return h[1 : len(h)-1], nil
	}
	return h, checkHost(h)
}

// checkHost accepts an IP literal or a syntactically valid host name.
func checkHost(h string) error {
	if h == "" {
		return errors.New("is empty")
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	bad := errors.New("is not a valid address or host name")
	if len(h) > 253 {
		return bad
	}
	numeric := true
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return bad
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			switch {
			case ch >= '0' && ch <= '9':
			case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch == '-', ch == '_':
				numeric = false
			default:
				return bad
			}
		}
	}
	if numeric {
		return bad // digits and dots only, but not an IPv4 address
	}
	return nil
}

// SASLACLEnabled reports whether the sasl ACL scheme is registered: as in
// ZooKeeper, only when an authProvider.N names SASLAuthenticationProvider.
func (c *Config) SASLACLEnabled() bool {
	for _, cls := range c.AuthProviders {
		if strings.HasSuffix(cls, ".SASLAuthenticationProvider") || cls == "SASLAuthenticationProvider" {
			return true
		}
	}
	return false
}
