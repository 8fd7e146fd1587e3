// Package archtest guards the architecture: the pure packages stay
// deterministic (no I/O, clocks, goroutine plumbing or randomness), and
// imports flow one way, as ../shared/DESIGN.md lays out.
package archtest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/warrenhq/warren/"

// pure lists the packages that must replay exactly from a seed.
var pure = []string{
	"core/jute", "core/proto", "core/znode", "core/session", "core/watch",
	"core/acl", "core/prep", "core/replica", "core/sasl", "core/zab", "core/sim",
}

// forbidden standard-library imports for pure packages. crypto/hmac and
// crypto/sha* are pure functions and allowed; crypto/rand is not.
var forbidden = []string{
	"net", "net/http", "os", "os/exec", "os/signal", "time", "math/rand", "math/rand/v2",
	"crypto/rand", "sync", "sync/atomic", "io/ioutil", "syscall", "runtime", "log",
	"go.uber.org/zap", "context",
}

type pkg struct {
	ImportPath string
	Imports    []string // direct imports: checked against the forbidden list
	Deps       []string // transitive: project packages must be pure too
}

func list(t *testing.T, pattern string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", pattern)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), errb.String())
	dec := json.NewDecoder(&out)
	var pkgs []pkg
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestPurePackagesStayPure(t *testing.T) {
	for _, rel := range pure {
		for _, p := range list(t, module+rel) {
			for _, dep := range p.Imports {
				for _, bad := range forbidden {
					require.NotEqual(t, bad, dep, "%s must stay pure but imports %s", p.ImportPath, dep)
				}
			}
			for _, dep := range p.Deps {
				if strings.HasPrefix(dep, module) {
					require.Contains(t, pure, strings.TrimPrefix(dep, module),
						"%s must import only pure project packages, not %s", p.ImportPath, dep)
				}
			}
		}
	}
}
