package cli

import (
	"context"
	"runtime"
	"runtime/debug"
)

// buildVersion describes the running binary from the build information Go
// embeds: the main module's version ("(devel)" for a build from a
// checkout) and, when stamped, the VCS revision ("-dirty" when the tree
// had changes).
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	if v == "" {
		v = "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += "-" + rev
		if dirty {
			v += "-dirty"
		}
	}
	return v
}

// versionLine is what the version command prints, in zkCli's form
// ("ZooKeeper CLI version: 3.8.0-<commit>, built on <date>").
func (s *Shell) versionLine() string {
	v := s.cfg.Version
	if v == "" {
		v = buildVersion()
	}
	return "ZooKeeper CLI version: Warren " + v + ", built with " + runtime.Version()
}

func (s *Shell) cmdVersion(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "")
	if err != nil {
		return err
	}
	if len(f.args) > 1 {
		return usageErr(usageLine("version"))
	}
	s.println(s.versionLine())
	return nil
}
