package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// jvmFlagVars are the environment variables whose -D options are read, in
// the order zkServer.sh passes them to java (so the later one wins).
var jvmFlagVars = []string{"SERVER_JVMFLAGS", "JVMFLAGS"}

// entry is one setting from zoo.cfg or a -D option.
type entry struct {
	key     string // as written, trimmed
	canon   string // merge key: system properties without "zookeeper."
	value   string
	file    string // zoo.cfg name or environment variable
	line    int    // 0 for environment variables
	fromEnv bool
	spec    *spec
}

type parser struct {
	cfg      *Config
	file     string
	warnings []Warning
	errs     []error
	ignored  []string // keys accepted but not acted on, as written
	insecure []string // ignored security settings
	final    map[string]*entry
	// readFile reads dataDir/myid (os.ReadFile).
	readFile func(string) ([]byte, error)
}

func (p *parser) warn(level Level, e *entry, msg string) {
	w := Warning{Level: level, Message: msg}
	if e != nil {
		w.File, w.Line, w.Key = e.file, e.line, e.key
	}
	p.warnings = append(p.warnings, w)
}

func (p *parser) fail(e *entry, reason error) {
	var ke keyError
	p.errs = append(p.errs, &Error{
		File: e.file, Line: e.line, Key: e.key,
		Value: e.value, HasValue: !errors.As(reason, &ke), Reason: reason.Error(),
	})
}

func (p *parser) failKey(e *entry, key, reason string) {
	err := &Error{File: p.file, Key: key, Reason: reason}
	if e != nil {
		err.File, err.Line = e.file, e.line
	}
	p.errs = append(p.errs, err)
}

// Parse reads a zoo.cfg from r; name is used in messages (usually the path).
// It starts from ZooKeeper's defaults, so dataDir is required and listeners
// bind all interfaces unless the file says otherwise. No environment is
// consulted: Load adds SERVER_JVMFLAGS/JVMFLAGS. When server.N lines are
// present it reads dataDir/myid, as ZooKeeper does (see the package
// documentation, "Ensembles").
//
// On failure the error joins one *Error per problem found.
func Parse(r io.Reader, name string) (*Config, []Warning, error) {
	return parse(r, name, nil)
}

// Load reads the zoo.cfg at path and merges the ZooKeeper system properties
// given as -D options in the environment variables SERVER_JVMFLAGS and
// JVMFLAGS, read through env (os.Getenv in production; nil means none).
// See the package documentation for precedence.
func Load(path string, env func(string) string) (*Config, []Warning, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, &Error{File: path, Reason: "cannot be read", Err: err}
	}
	defer f.Close()
	return parse(f, path, env)
}

// LoadDefault returns Warren's embedded defaults (see Default) with the
// ZooKeeper system properties from SERVER_JVMFLAGS and JVMFLAGS applied: the
// configuration of a server run without a zoo.cfg.
func LoadDefault(env func(string) string) (*Config, []Warning, error) {
	p := &parser{cfg: Default(), final: map[string]*entry{}}
	entries := envEntries(env)
	p.run(entries)
	p.cfg.resolve()
	p.finishSessionTimeouts()
	p.report()
	if len(p.errs) > 0 {
		return nil, p.warnings, errors.Join(p.errs...)
	}
	return p.cfg, p.warnings, nil
}

func parse(r io.Reader, name string, env func(string) string) (*Config, []Warning, error) {
	props, err := ReadProperties(r)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = name
			return nil, nil, ce
		}
		return nil, nil, &Error{File: name, Reason: "cannot be read", Err: err}
	}
	p := &parser{cfg: zooKeeperDefaults(), file: name, final: map[string]*entry{}, readFile: os.ReadFile}
	p.cfg.Source = name
	entries := envEntries(env)
	for _, pr := range props {
		entries = append(entries, &entry{
			key: javaTrim(pr.Key), value: javaTrim(pr.Value), file: name, line: pr.Line,
		})
	}
	p.run(entries)
	p.finish()
	p.report()
	if len(p.errs) > 0 {
		return nil, p.warnings, errors.Join(p.errs...)
	}
	return p.cfg, p.warnings, nil
}

// envEntries collects -Dkey=value tokens. The variables are split on blanks
// as the shell splits an unquoted $JVMFLAGS in zkServer.sh: quotes are not
// special. "-Dkey" alone sets the empty string, as in Java.
func envEntries(env func(string) string) []*entry {
	if env == nil {
		return nil
	}
	var out []*entry
	for _, name := range jvmFlagVars {
		for _, tok := range strings.Fields(env(name)) {
			rest, ok := strings.CutPrefix(tok, "-D")
			if !ok || rest == "" {
				continue
			}
			k, v, _ := strings.Cut(rest, "=")
			out = append(out, &entry{key: k, value: v, file: name, fromEnv: true})
		}
	}
	return out
}

// run resolves every entry's key, merges duplicates (the later one wins) and
// applies the survivors in order.
func (p *parser) run(entries []*entry) {
	var kept []*entry
	for _, e := range entries {
		canon, sp := lookup(e.key, e.fromEnv)
		if sp == nil {
			if !e.fromEnv { // -D carries unrelated JVM settings; skip those quietly
				p.warn(LevelWarn, e, "unknown key (ignored)")
			}
			continue
		}
		e.canon, e.spec = canon, sp
		if prev := p.final[canon]; prev != nil {
			kept = slices.DeleteFunc(kept, func(x *entry) bool { return x == prev })
			switch {
			case prev.fromEnv && !e.fromEnv:
				p.warn(LevelInfo, e, fmt.Sprintf("overrides -D%s=%s from %s", prev.key, prev.value, prev.file))
			case !prev.fromEnv:
				p.warn(LevelWarn, e, fmt.Sprintf("set again; overrides line %d (the last value wins)", prev.line))
			}
		}
		p.final[canon] = e
		kept = append(kept, e)
	}
	for _, e := range kept {
		sp := e.spec
		if sp.set == nil {
			if sp.check != nil {
				if err := sp.check(e.value); err != nil {
					p.fail(e, err)
					continue
				}
			}
			if sp.insecure {
				p.insecure = append(p.insecure, e.key)
			} else {
				p.ignored = append(p.ignored, e.key)
			}
			continue
		}
		if err := sp.set(p, e); err != nil {
			p.fail(e, err)
		}
	}
}

// finish applies ZooKeeper's checks that span several keys, in
// QuorumPeerConfig's order, and fills derived defaults.
func (p *parser) finish() {
	c := p.cfg
	if c.DataDir == "" && p.final["dataDir"] == nil {
		p.failKey(nil, "dataDir", "is not set (ZooKeeper requires it in zoo.cfg)")
	}
	if c.AutopurgeSnapRetainCount < DefaultSnapRetainCount {
		p.warn(LevelWarn, p.final["autopurge.snapRetainCount"],
			fmt.Sprintf("%d is below the minimum; using %d", c.AutopurgeSnapRetainCount, DefaultSnapRetainCount))
		c.AutopurgeSnapRetainCount = DefaultSnapRetainCount
	}
	if p.final["clientPort"] == nil {
		if e := p.final["clientPortAddress"]; e != nil {
			p.failKey(e, "clientPortAddress", "is set but clientPort is not")
		} else {
			p.warn(LevelWarn, &entry{file: p.file, key: "clientPort"},
				fmt.Sprintf("not set; listening on %d", c.ClientPort))
		}
	}
	p.finishSessionTimeouts()
	if p.finishServers() {
		p.finishEnsemble()
	}
	c.resolve()
}

func (p *parser) finishSessionTimeouts() {
	c := p.cfg
	lo, hi := c.effectiveTimeouts()
	if lo > hi {
		e := p.final["minSessionTimeout"]
		if e == nil {
			e = p.final["maxSessionTimeout"]
		}
		p.failKey(e, "minSessionTimeout",
			fmt.Sprintf("(%d) must not be larger than maxSessionTimeout (%d)", lo, hi))
	}
}

// finishServers sorts and checks the server.N lines; it reports whether
// they are sound enough for finishEnsemble.
func (p *parser) finishServers() bool {
	c := p.cfg
	if len(c.Servers) == 0 {
		return true
	}
	errs := len(p.errs)
	slices.SortFunc(c.Servers, func(a, b Server) int {
		if a.ID != b.ID {
			if a.ID < b.ID {
				return -1
			}
			return 1
		}
		return a.Line - b.Line
	})
	participants := 0
	for i, s := range c.Servers {
		if i > 0 && c.Servers[i-1].ID == s.ID {
			p.errs = append(p.errs, &Error{File: p.file, Line: s.Line, Key: "server." + strconv.FormatInt(s.ID, 10),
				Reason: fmt.Sprintf("repeats server id %d (also on line %d)", s.ID, c.Servers[i-1].Line)})
		}
		if len(s.Alternates) > 0 && !c.MultiAddress {
			p.errs = append(p.errs, &Error{File: p.file, Line: s.Line, Key: "server." + strconv.FormatInt(s.ID, 10),
				Reason: "lists several addresses but multiAddress.enabled is not true"})
		}
		if s.Role == RoleParticipant {
			participants++
		}
	}
	if participants == 0 {
		p.errs = append(p.errs, &Error{File: p.file, Key: "server.N",
			Reason: "lists only observers; an ensemble needs participants"})
	}
	for _, s := range c.Servers {
		if len(s.Alternates) > 0 {
			p.warnings = append(p.warnings, Warning{Level: LevelWarn, File: p.file, Line: s.Line, Key: "server." + strconv.FormatInt(s.ID, 10),
				Message: "lists several addresses; Warren connects to the first one only (multi-address failover is not supported)"})
		}
	}
	return len(p.errs) == errs
}

// report adds the aggregated notes about ignored keys.
func (p *parser) report() {
	if len(p.insecure) > 0 {
		p.warnings = append(p.warnings, Warning{Level: LevelWarn, File: p.file,
			Message: "TLS and SASL settings are not supported yet and are ignored: " + strings.Join(p.insecure, ", ")})
	}
	if len(p.ignored) > 0 {
		p.warnings = append(p.warnings, Warning{Level: LevelInfo, File: p.file,
			Message: "ZooKeeper settings accepted but not acted on: " + strings.Join(p.ignored, ", ")})
	}
}
