package testutil

import (
	"os"
	"testing"
)

// Target names a server implementation that the compatibility suites
// (tests/zkcli, tests/differential) can run against.
type Target string

// The targets.
const (
	// TargetZooKeeper is Apache ZooKeeper 3.8, started by StartZooKeeper.
	TargetZooKeeper Target = "zookeeper"
	// TargetWarren is this module's server, built and started by StartWarren.
	TargetWarren Target = "warren"
)

// CandidateEnv names the environment variable that overrides
// DefaultCandidate for one run, e.g.
//
//	WARREN_COMPAT_CANDIDATE=warren go test ./tests/...
const CandidateEnv = "WARREN_COMPAT_CANDIDATE"

// DefaultCandidate is the target the compatibility suites compare with the
// ZooKeeper oracle when CandidateEnv is unset: Warren. Setting the variable
// to "zookeeper" runs a second ZooKeeper instead, which proves the harness
// itself (two ZooKeepers must agree).
const DefaultCandidate = TargetWarren

// Oracle returns the reference implementation: always ZooKeeper.
func Oracle() Target { return TargetZooKeeper }

// Candidate returns the implementation under test: CandidateEnv if set,
// otherwise DefaultCandidate. An unknown name fails the test.
func Candidate(t testing.TB) Target {
	t.Helper()
	name := Target(os.Getenv(CandidateEnv))
	switch name {
	case "":
		return DefaultCandidate
	case TargetZooKeeper, TargetWarren:
		return name
	default:
		t.Fatalf("%s=%q: want %q or %q", CandidateEnv, name, TargetZooKeeper, TargetWarren)
		return ""
	}
}

// Start starts a server of this target with cfg and returns its client
// address; t.Cleanup stops it.
func (tg Target) Start(t testing.TB, cfg ServerConfig) string {
	t.Helper()
	switch tg {
	case TargetZooKeeper:
		return StartZooKeeper(t, ZKOptions{ServerConfig: cfg}).Addr
	case TargetWarren:
		return StartWarren(t, WarrenOptions{ServerConfig: cfg}).Addr
	default:
		t.Fatalf("unknown target %q", tg)
		return ""
	}
}
