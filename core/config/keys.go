package config

import (
	"errors"
	"slices"
	"strings"
)

// spec describes one key (or one family of keys sharing a prefix).
type spec struct {
	// sys marks a ZooKeeper Java system property: it may also be written
	// with a "zookeeper." prefix and may come from -D options.
	sys bool
	// set stores the value; nil means the key is accepted but Warren does
	// not act on it.
	set func(p *parser, e *entry) error
	// check validates the value of an ignored key (nil: anything goes).
	check func(v string) error
	// insecure marks an ignored TLS/SASL/authentication setting: leaving it
	// out changes the server's security, so it gets a warning, not a note.
	insecure bool
}

// Setters and checkers, composed from the value parsers.

func intSetter(parse func(string) (int, error), min int, field func(*Config) *int) func(*parser, *entry) error {
	return func(p *parser, e *entry) error {
		n, err := parse(e.value)
		if err != nil {
			return err
		}
		if err := atLeast(n, min); err != nil {
			return err
		}
		*field(p.cfg) = n
		return nil
	}
}

func boolSetter(parse func(string) (bool, error), field func(*Config) *bool) func(*parser, *entry) error {
	return func(p *parser, e *entry) error {
		b, err := parse(e.value)
		if err != nil {
			return err
		}
		*field(p.cfg) = b
		return nil
	}
}

func stringSetter(field func(*Config) *string) func(*parser, *entry) error {
	return func(p *parser, e *entry) error {
		*field(p.cfg) = e.value
		return nil
	}
}

func hostSetter(field func(*Config) *string) func(*parser, *entry) error {
	return func(p *parser, e *entry) error {
		h, err := parseHost(e.value)
		if err != nil {
			return err
		}
		*field(p.cfg) = h
		return nil
	}
}

func portSetter(field func(*Config) *int) func(*parser, *entry) error {
	return func(p *parser, e *entry) error {
		n, err := parsePort(e.value)
		if err != nil {
			return err
		}
		*field(p.cfg) = n
		return nil
	}
}

func dirSetter(field func(*Config) *string) func(*parser, *entry) error {
	return func(p *parser, e *entry) error {
		if e.value == "" {
			return errors.New("is empty")
		}
		*field(p.cfg) = e.value
		return nil
	}
}

func checkInt(v string) error {
	_, err := parseInt(v)
	return err
}

func checkSysInt(v string) error {
	_, err := parseDecode(v, 64)
	return err
}

func checkBool(v string) error {
	_, err := parseBool(v)
	return err
}

func checkPort(v string) error {
	_, err := parsePort(v)
	return err
}

// Keys ZooKeeper's QuorumPeerConfig reads from zoo.cfg itself. Some of them
// are also system properties (sys: true).
var zooKeys = map[string]*spec{
	"dataDir":    {set: dirSetter(func(c *Config) *string { return &c.DataDir })},
	"dataLogDir": {set: dirSetter(func(c *Config) *string { return &c.DataLogDir })},
	"clientPort": {set: portSetter(func(c *Config) *int { return &c.ClientPort })},
	"clientPortAddress": {set: hostSetter(func(c *Config) *string {
		return &c.ClientPortAddress
	})},
	"clientPortListenBacklog": {set: func(p *parser, e *entry) error {
		n, err := parseInt(e.value)
		if err != nil {
			return err
		}
		if n != -1 && n < 1 {
			return errors.New("must be positive (or -1 for the OS default)")
		}
		p.cfg.ClientPortListenBacklog = n
		return nil
	}},
	"tickTime":          {set: intSetter(parseInt, 1, func(c *Config) *int { return &c.TickTime })},
	"maxClientCnxns":    {set: intSetter(parseInt, 0, func(c *Config) *int { return &c.MaxClientCnxns })},
	"minSessionTimeout": {set: intSetter(parseInt, -1, func(c *Config) *int { return &c.MinSessionTimeout })},
	"maxSessionTimeout": {set: intSetter(parseInt, -1, func(c *Config) *int { return &c.MaxSessionTimeout })},
	"initLimit":         {set: intSetter(parseInt, 0, func(c *Config) *int { return &c.InitLimit })},
	"syncLimit":         {set: intSetter(parseInt, 0, func(c *Config) *int { return &c.SyncLimit })},
	"peerType": {set: func(p *parser, e *entry) error {
		switch strings.ToLower(e.value) {
		case "participant":
			p.cfg.PeerType = RoleParticipant
		case "observer":
			p.cfg.PeerType = RoleObserver
		default:
			return errors.New("is not a valid peerType (participant or observer)")
		}
		return nil
	}},
	// electionAlg=3 (fast leader election) is the only algorithm ZooKeeper
	// 3.6+ has, so the one valid value needs nothing stored.
	"electionAlg": {set: func(_ *parser, e *entry) error {
		if n, err := parseInt(e.value); err != nil || n != 3 {
			return errors.New("is not supported: only 3 (fast leader election) is, as in ZooKeeper 3.6+")
		}
		return nil
	}},
	"autopurge.snapRetainCount": {set: intSetter(parseInt, -(1 << 31), func(c *Config) *int { return &c.AutopurgeSnapRetainCount })},
	"autopurge.purgeInterval":   {set: intSetter(parseInt, -(1 << 31), func(c *Config) *int { return &c.AutopurgePurgeInterval })},
	"standaloneEnabled":         {set: boolSetter(parseBool, func(c *Config) *bool { return &c.StandaloneEnabled })},
	"reconfigEnabled":           {set: boolSetter(parseBool, func(c *Config) *bool { return &c.ReconfigEnabled })},
	"quorumListenOnAllIPs":      {set: boolSetter(parseBool, func(c *Config) *bool { return &c.QuorumListenOnAllIPs })},
	"electionPortBindRetry":     {set: intSetter(parseSysInt, 0, func(c *Config) *int { return &c.ElectionPortBindRetry })},
	"multiAddress.enabled":      {sys: true, set: boolSetter(parseBool, func(c *Config) *bool { return &c.MultiAddress })},
	"metricsProvider.className": {set: stringSetter(func(c *Config) *string { return &c.MetricsProvider })},

	// Known, not acted on yet.
	"localSessionsEnabled":                    {check: checkBool},
	"localSessionsUpgradingEnabled":           {check: checkBool},
	"secureClientPort":                        {check: checkPort, insecure: true},
	"secureClientPortAddress":                 {insecure: true},
	"observerMasterPort":                      {check: checkInt},
	"connectToLearnerMasterLimit":             {sys: true, check: checkInt},
	"syncEnabled":                             {check: checkBool},
	"dynamicConfigFile":                       {},
	"sslQuorum":                               {sys: true, check: checkBool, insecure: true},
	"portUnification":                         {check: checkBool, insecure: true},
	"sslQuorumReloadCertFiles":                {check: checkBool, insecure: true},
	"quorum.cnxn.threads.size":                {check: checkInt},
	"jvm.pause.info-threshold.ms":             {check: checkSysInt},
	"jvm.pause.warn-threshold.ms":             {check: checkSysInt},
	"jvm.pause.sleep.time.ms":                 {check: checkSysInt},
	"jvm.pause.monitor":                       {check: checkBool},
	"multiAddress.reachabilityCheckTimeoutMs": {sys: true, check: checkInt},
	"multiAddress.reachabilityCheckEnabled":   {sys: true, check: checkBool},
	"oraclePath":                              {},
}

// ZooKeeper's system properties, by their name without the "zookeeper."
// prefix (jute.maxbuffer, readonlymode.enabled,
// java.security.auth.login.config and znode.container.* have none in
// ZooKeeper either).
var sysKeys = map[string]*spec{
	"jute.maxbuffer":       {set: intSetter(parseSysInt, 1, func(c *Config) *int { return &c.JuteMaxBuffer })},
	"extendedTypesEnabled": {set: boolSetter(parseBool, func(c *Config) *bool { return &c.ExtendedTypesEnabled })},
	"DigestAuthenticationProvider.superDigest": {set: func(p *parser, e *entry) error {
		user, hash, ok := strings.Cut(e.value, ":")
		if !ok || user == "" || hash == "" {
			return errors.New(`is not a valid digest ("user:base64(sha1(user:password))")`)
		}
		p.cfg.SuperDigest = e.value
		return nil
	}},
	"skipACL":                         {set: boolSetter(parseYesNo, func(c *Config) *bool { return &c.SkipACL })},
	"enforceQuota":                    {set: boolSetter(parseBool, func(c *Config) *bool { return &c.EnforceQuota })},
	"maxCnxns":                        {set: intSetter(parseSysInt, 0, func(c *Config) *int { return &c.MaxCnxns })},
	"readonlymode.enabled":            {set: boolSetter(parseBool, func(c *Config) *bool { return &c.ReadOnlyMode })},
	"java.security.auth.login.config": {set: stringSetter(func(c *Config) *string { return &c.JAASConfig })},
	"4lw.commands.whitelist":          {set: setWhitelist},
	"admin.enableServer":              {set: boolSetter(parseBool, func(c *Config) *bool { return &c.Admin.EnableServer })},
	"admin.serverAddress":             {set: hostSetter(func(c *Config) *string { return &c.Admin.ServerAddress })},
	"admin.serverPort":                {set: portSetter(func(c *Config) *int { return &c.Admin.ServerPort })},
	"admin.commandURL": {set: func(p *parser, e *entry) error {
		if !strings.HasPrefix(e.value, "/") {
			return errors.New("must start with /")
		}
		p.cfg.Admin.CommandURL = e.value
		return nil
	}},
	"admin.snapshot.enabled":        {set: boolSetter(parseBool, func(c *Config) *bool { return &c.Admin.SnapshotEnabled })},
	"admin.rateLimiterIntervalInMS": {set: intSetter(parseSysInt, 0, func(c *Config) *int { return &c.Admin.RateLimiterIntervalMs })},
	"admin.idleTimeout":             {set: intSetter(parseSysInt, 1, func(c *Config) *int { return &c.Admin.IdleTimeout })},
	"globalOutstandingLimit":        {set: intSetter(parseSysInt, 1, func(c *Config) *int { return &c.GlobalOutstandingLimit })},
	"preAllocSize": {set: func(p *parser, e *entry) error {
		n, err := parseDecode(e.value, 64)
		if err != nil {
			return err
		}
		if n < 1 {
			return errors.New("must be at least 1 (kilobytes)")
		}
		p.cfg.PreAllocSize = n
		return nil
	}},
	"snapCount":                              {set: intSetter(parseSysInt, 2, func(c *Config) *int { return &c.SnapCount })},
	"snapSizeLimitInKb":                      {set: intSetter(parseSysInt, -(1 << 31), func(c *Config) *int { return &c.SnapSizeLimitKB })},
	"txnLogSizeLimitInKb":                    {set: intSetter(parseSysInt, -(1 << 31), func(c *Config) *int { return &c.TxnLogSizeLimitKB })},
	"forceSync":                              {set: boolSetter(parseYesNo, func(c *Config) *bool { return &c.ForceSync })},
	"znode.container.checkIntervalMs":        {set: intSetter(parseSysInt, 0, func(c *Config) *int { return &c.ContainerCheckIntervalMs })},
	"znode.container.maxPerMinute":           {set: intSetter(parseSysInt, 1, func(c *Config) *int { return &c.ContainerMaxPerMinute })},
	"znode.container.maxNeverUsedIntervalMs": {set: intSetter(parseSysInt, 0, func(c *Config) *int { return &c.ContainerMaxNeverUsedIntervalMs })},

	// Known, not acted on yet.
	"commitLogCount":                           {check: checkSysInt},
	"serverCnxnFactory":                        {},
	"flushDelay":                               {check: checkSysInt},
	"maxWriteQueuePollTime":                    {check: checkSysInt},
	"maxBatchSize":                             {check: checkSysInt},
	"requestThrottleLimit":                     {check: checkSysInt},
	"requestThrottleStallTime":                 {check: checkSysInt},
	"requestThrottleDropStale":                 {},
	"requestStaleLatencyCheck":                 {},
	"requestStaleConnectionCheck":              {},
	"request_throttle_max_requests":            {check: checkSysInt},
	"request_throttle_stall_time":              {check: checkSysInt},
	"request_throttle_drop_stale":              {},
	"request_stale_latency_check":              {},
	"request_stale_connection_check":           {},
	"request_throttler.shutdownTimeout":        {check: checkSysInt},
	"advancedFlowControlEnabled":               {},
	"enableEagerACLCheck":                      {},
	"maxConcurrentSnapSyncs":                   {check: checkSysInt},
	"maxConcurrentDiffSyncs":                   {check: checkSysInt},
	"digest.enabled":                           {},
	"largeRequestMaxBytes":                     {check: checkSysInt},
	"largeRequestThreshold":                    {check: checkSysInt},
	"outstandingHandshake.limit":               {check: checkSysInt},
	"throttledOpWaitTime":                      {check: checkSysInt},
	"throttled_op_wait_time":                   {check: checkSysInt},
	"fsync.warningthresholdms":                 {check: checkSysInt},
	"maxResponseCacheSize":                     {check: checkSysInt},
	"maxGetChildrenResponseCacheSize":          {check: checkSysInt},
	"emulate353TTLNodes":                       {},
	"watchManagerName":                         {},
	"watcherCleanThreadsNum":                   {check: checkSysInt},
	"watcherCleanThreshold":                    {check: checkSysInt},
	"watcherCleanIntervalInSeconds":            {check: checkSysInt},
	"maxInProcessingDeadWatchers":              {check: checkSysInt},
	"bitHashCacheSize":                         {check: checkSysInt},
	"connectionMaxTokens":                      {check: checkSysInt},
	"connectionTokenFillTime":                  {check: checkSysInt},
	"connectionTokenFillCount":                 {check: checkSysInt},
	"connectionFreezeTime":                     {check: checkSysInt},
	"connectionDropIncrease":                   {},
	"connectionDropDecrease":                   {},
	"connectionDecreaseRatio":                  {},
	"maxTimeToWaitForEpoch":                    {check: checkSysInt},
	"leaderServes":                             {},
	"cnxTimeout":                               {check: checkSysInt},
	"quorumCnxnTimeoutMs":                      {check: checkSysInt},
	"tcpKeepAlive":                             {},
	"clientTcpKeepAlive":                       {},
	"jute.maxbuffer.extrasize":                 {check: checkSysInt},
	"datadir.autocreate":                       {},
	"db.autocreate":                            {},
	"closeSessionTxn.enabled":                  {},
	"serializeLastProcessedZxid.enabled":       {},
	"ensembleAuthName":                         {},
	"superUser":                                {set: func(p *parser, e *entry) error { p.cfg.SuperUsers = append(p.cfg.SuperUsers, e.value); return nil }},
	"SASLAuthenticationProvider.superPassword": {set: stringSetter(func(c *Config) *string { return &c.SASLSuperPassword })},
	"allowSaslFailedClients":                   {},
	"jaasLoginRenew":                           {check: checkSysInt},
	"fips-mode":                                {},
	"DigestAuthenticationProvider.digestAlg":   {},
	"X509AuthenticationProvider.superUser":     {insecure: true},
	"sessionRequireClientSASLAuth":             {insecure: true},
	"requireClientAuthScheme":                  {insecure: true},
	"client.portUnification":                   {insecure: true},
	"client.secure":                            {insecure: true},
	"sasl.serverconfig":                        {set: stringSetter(func(c *Config) *string { return &c.SASLServerSection })},
	"admin.portUnification":                    {},
	"admin.forceHttps":                         {},
	"admin.needClientAuth":                     {},
	"admin.snapshot.intervalInMS":              {check: checkSysInt},
	"admin.restore.enabled":                    {},
}

// prefixSpec is a family of keys recognised by prefix.
type prefixSpec struct {
	prefix string
	spec   *spec
}

// zooPrefixes are families of zoo.cfg keys, longest prefix first where two
// overlap.
var zooPrefixes = []prefixSpec{
	{"server.", &spec{set: setServer}},
	{"group.", &spec{}},
	{"weight.", &spec{check: checkInt}},
	{"metricsProvider.", &spec{set: func(p *parser, e *entry) error {
		p.cfg.MetricsProviderConfig[strings.TrimPrefix(e.key, "metricsProvider.")] = e.value
		return nil
	}}},
	{"quorum.auth.", &spec{insecure: true}},
}

// sysPrefixes are families of system properties (names without "zookeeper.").
var sysPrefixes = []prefixSpec{
	{"ssl.", &spec{insecure: true}},
	{"authProvider.", &spec{set: func(p *parser, e *entry) error {
		p.cfg.AuthProviders[strings.TrimPrefix(e.key, "authProvider.")] = e.value
		return nil
	}}},
	{"superUser.", &spec{set: func(p *parser, e *entry) error { p.cfg.SuperUsers = append(p.cfg.SuperUsers, e.value); return nil }}},
	{"enforce.auth.", &spec{insecure: true}},
	{"kerberos.", &spec{}},
	{"connection_throttle_", &spec{}},
	{"commitProcessor.", &spec{}},
	{"nio.", &spec{}},
	{"netty.", &spec{}},
	{"fastleader.", &spec{}},
	{"leader.", &spec{}},
	{"learner.", &spec{}},
	{"observer.", &spec{}},
	{"audit.", &spec{}},
	{"snapshot.", &spec{}},
	{"messageTracker.", &spec{}},
}

// warrenKeys are Warren's own settings.
var warrenKeys = map[string]*spec{
	"warren.snapshot.writeRateMBps": {set: intSetter(parseSysInt, 0, func(c *Config) *int { return &c.SnapshotWriteRateMBps })},
	"warren.log.format": {set: func(p *parser, e *entry) error {
		v := strings.ToLower(e.value)
		if v != LogFormatConsole && v != LogFormatJSON {
			return errors.New("is not a valid log format (console or json)")
		}
		p.cfg.LogFormat = v
		return nil
	}},
	"warren.log.level": {set: func(p *parser, e *entry) error {
		v := strings.ToLower(e.value)
		if !slices.Contains(LogLevels, v) {
			return errors.New("is not a valid log level (debug, info, warn or error)")
		}
		p.cfg.LogLevel = v
		return nil
	}},
}

// LogLevels are the accepted values of warren.log.level.
var LogLevels = []string{"debug", "info", "warn", "error"}

// lookup finds the spec for a key and its canonical name (the name under
// which duplicates are merged: system properties lose their "zookeeper."
// prefix). fromEnv restricts the search to system properties.
func lookup(key string, fromEnv bool) (string, *spec) {
	if !fromEnv {
		if sp := zooKeys[key]; sp != nil {
			return key, sp
		}
		if sp := warrenKeys[key]; sp != nil {
			return key, sp
		}
		for _, ps := range zooPrefixes {
			if strings.HasPrefix(key, ps.prefix) && len(key) > len(ps.prefix) {
				return key, ps.spec
			}
		}
	}
	name := strings.TrimPrefix(key, "zookeeper.")
	if sp := sysKeys[name]; sp != nil {
		return name, sp
	}
	if sp := zooKeys[name]; sp != nil && sp.sys {
		return name, sp
	}
	for _, ps := range sysPrefixes {
		if strings.HasPrefix(name, ps.prefix) && len(name) > len(ps.prefix) {
			return name, ps.spec
		}
	}
	return "", nil
}

// setWhitelist reads 4lw.commands.whitelist. ZooKeeper splits on commas,
// trims, and matches case-sensitively; Warren also splits on blanks and
// ignores case, so "stat ruok" and "Stat" mean what they say. Unknown words
// are ignored as in ZooKeeper, with a warning.
func setWhitelist(p *parser, e *entry) error {
	var words, unknown []string
	for _, w := range strings.FieldsFunc(e.value, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\f' || r == '\n' || r == '\r'
	}) {
		lw := strings.ToLower(w)
		switch {
		case lw == "*" || slices.Contains(FourLetterWords, lw):
			if !slices.Contains(words, lw) {
				words = append(words, lw)
			}
		default:
			unknown = append(unknown, w)
		}
	}
	if len(unknown) > 0 {
		p.warn(LevelWarn, e, "unknown four-letter words ignored: "+strings.Join(unknown, ", "))
	}
	slices.Sort(words)
	p.cfg.FourLetterWhitelist = words
	return nil
}

func setServer(p *parser, e *entry) error {
	id, err := parseServerID(e.key)
	if err != nil {
		return err
	}
	s, err := parseServer(id, e.value)
	if err != nil {
		return err
	}
	s.Line = e.line
	p.cfg.Servers = append(p.cfg.Servers, s)
	return nil
}
