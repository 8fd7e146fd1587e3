package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// warrenStopGrace is how long Warren gets to exit after SIGTERM before it is
// killed.
const warrenStopGrace = 5 * time.Second

// WarrenOptions configures StartWarren.
type WarrenOptions struct {
	ServerConfig
	// Args are appended to "warren server --config <zoo.cfg>".
	Args []string
	// Env holds extra environment variables ("KEY=value").
	Env []string
}

// Warren is a running warren server built from this module.
type Warren struct {
	// Addr is the client address, "127.0.0.1:port".
	Addr string
	// Port is the client port.
	Port int
	// AdminAddr is the admin HTTP address, "127.0.0.1:port".
	AdminAddr string
	// Dir holds zoo.cfg, data/ and warren.log.
	Dir string
	// LogFile has the server's stdout and stderr.
	LogFile string

	t    testing.TB
	proc *process
}

var warrenBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// WarrenBinary builds ./cmd/warren once per test binary (from the module
// root found with `go env GOMOD`) and returns the path of the executable.
// When the tests run with -race, so does the binary: a data race in the
// server then fails the test that stops it (see Warren.Stop).
func WarrenBinary(t testing.TB) string {
	t.Helper()
	warrenBuild.once.Do(func() {
		warrenBuild.bin, warrenBuild.err = buildWarren()
	})
	if warrenBuild.err != nil {
		t.Fatalf("build warren: %v", warrenBuild.err)
	}
	return warrenBuild.bin
}

func buildWarren() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the warren module (go env GOMOD = %q)", gomod)
	}
	dir, err := os.MkdirTemp("", "warren-testbin-")
	if err != nil {
		return "", fmt.Errorf("temp dir for the warren binary: %w", err)
	}
	warrenBuild.dir = dir
	bin := filepath.Join(dir, "warren")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/warren")
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Dir(gomod)
	var outb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &outb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), cmd.Dir, err, outb.String())
	}
	return bin, nil
}

// RunTests runs a test binary's tests and then removes the warren binary
// WarrenBinary built, if any. Packages that start Warren use it from
// TestMain: func TestMain(m *testing.M) { os.Exit(testutil.RunTests(m)) }.
func RunTests(m *testing.M) int {
	code := m.Run()
	if warrenBuild.dir != "" {
		_ = os.RemoveAll(warrenBuild.dir)
	}
	return code
}

// StartWarren writes a zoo.cfg into t.TempDir() (client port and admin port
// on 127.0.0.1, free ports, 4lw.commands.whitelist=* unless opts say
// otherwise, plus opts), runs `warren server --config <cfg>` and returns once
// it serves clients (ruok, then a session). t.Cleanup stops it with SIGTERM,
// then SIGKILL.
func StartWarren(t testing.TB, opts WarrenOptions) *Warren {
	t.Helper()
	bin := WarrenBinary(t)
	dir := t.TempDir()
	w := &Warren{Dir: dir, LogFile: filepath.Join(dir, "warren.log"), t: t}

	proc, addr, port, adminPort := startServer(t, func(clientPort, adminPort, attempt int) (*process, string, error) {
		dataDir := filepath.Join(dir, fmt.Sprintf("data%d", attempt))
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, "", fmt.Errorf("warren: %w", err)
		}
		cfgPath := filepath.Join(dir, "zoo.cfg")
		writeFile(t, cfgPath, opts.zooCfg(dataDir, clientPort,
			"admin.serverAddress=127.0.0.1",
			fmt.Sprintf("admin.serverPort=%d", adminPort)))
		argv := append([]string{bin, "server", "--config", cfgPath}, opts.Args...)
		env := append([]string{}, opts.Env...)
		if props := opts.systemProperties(); len(props) > 0 {
			env = append(env, "SERVER_JVMFLAGS="+strings.Join(props, " "))
		}
		p, err := startProcess("warren", argv, env, dir, w.LogFile)
		return p, fmt.Sprintf("127.0.0.1:%d", clientPort), err
	})
	w.proc, w.Addr, w.Port = proc, addr, port
	w.AdminAddr = fmt.Sprintf("127.0.0.1:%d", adminPort)
	logOnFailure(t, proc, "warren "+addr)
	t.Cleanup(w.Stop)
	return w
}

// Stop sends SIGTERM, waits up to 5 s, then kills the process group, and
// reaps the server. If the binary was built with -race and the log reports
// a data race, the test fails. It is idempotent; t.Cleanup calls it too.
func (w *Warren) Stop() {
	w.proc.stop(syscall.SIGTERM, warrenStopGrace)
	if raceEnabled {
		if data, err := os.ReadFile(w.LogFile); err == nil && bytes.Contains(data, []byte("WARNING: DATA RACE")) {
			w.t.Errorf("warren %s reported a data race; see %s", w.Addr, w.LogFile)
		}
	}
}

// Exited reports whether the server process has ended.
func (w *Warren) Exited() bool { return w.proc.exited() }
