package recipe_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Curator interoperability tests run Java programs from testdata
// (CuratorRecipes for the locks and elections, P2Curator for the queue,
// counters and barrier) against the server a Go test started, and talk to
// them over stdin and stdout: one command per line in, marker lines out.

// javaJars is the classpath of the Java side: Debian's Curator 5.4 and
// ZooKeeper client (scripts/test-deps.sh installs them).
var javaJars = []string{
	"curator-framework.jar", "curator-client.jar", "curator-recipes.jar",
	"zookeeper.jar", "zookeeper-jute.jar", "guava.jar", "slf4j-api.jar", "slf4j-nop.jar",
}

// javaSources are the programs compiled for the tests, in testdata.
var javaSources = []string{"CuratorRecipes.java", "P2Curator.java"}

// requireJava is set in CI (make test) where the Java side must run.
const requireJava = "WARREN_REQUIRE_JAVA"

// javaBuild holds the programs compiled once per test binary; TestMain
// removes the directory.
var javaBuild struct {
	sync.Once
	dir string
	cp  string
	err error
}

// javaClasspath compiles the Java programs (once per test binary) and
// returns the classpath to run them with. It skips the test when javac,
// java or the jars are missing, unless requireJava is set.
func javaClasspath(t *testing.T) string {
	t.Helper()
	var missing []string
	for _, bin := range []string{"javac", "java"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	var cp []string
	for _, j := range javaJars {
		p := filepath.Join("/usr/share/java", j)
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
		cp = append(cp, p)
	}
	if len(missing) > 0 {
		msg := "Curator interop needs " + strings.Join(missing, ", ") + " (run scripts/test-deps.sh)"
		if os.Getenv(requireJava) != "" {
			t.Fatalf("%s; %s is set", msg, requireJava)
		}
		t.Skip(msg)
	}
	javaBuild.Do(func() {
		dir, err := os.MkdirTemp("", "warren-curator")
		if err != nil {
			javaBuild.err = fmt.Errorf("java classes dir: %w", err)
			return
		}
		javaBuild.dir = dir
		args := []string{"-d", dir, "-cp", strings.Join(cp, ":")}
		for _, src := range javaSources {
			args = append(args, filepath.Join("testdata", src))
		}
		if out, err := exec.Command("javac", args...).CombinedOutput(); err != nil {
			javaBuild.err = fmt.Errorf("javac: %w: %s", err, out)
			return
		}
		javaBuild.cp = strings.Join(append(cp, dir), ":")
	})
	require.NoError(t, javaBuild.err)
	return javaBuild.cp
}

// removeJavaClasses removes the compiled programs (from TestMain).
func removeJavaClasses() {
	if javaBuild.dir != "" {
		_ = os.RemoveAll(javaBuild.dir)
	}
}

// javaProc is a running Java test program.
type javaProc struct {
	t     *testing.T
	stdin io.WriteCloser
	lines chan string
	mu    sync.Mutex
	all   []string
}

// startJava runs the program class with args; the test's cleanup kills it.
// Its output is logged when the test failed.
func startJava(t *testing.T, cp, class string, args ...string) *javaProc {
	t.Helper()
	cmd := exec.Command("java", append([]string{"-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
		"-Djava.net.preferIPv4Stack=true", "-cp", cp, class}, args...)...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	p := &javaProc{t: t, stdin: stdin, lines: make(chan string, 1000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.all = append(p.all, sc.Text())
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-done
		if t.Failed() {
			t.Logf("%s output:\n%s", class, p.output())
		}
	})
	return p
}

// expect waits for the next marker line with the given prefix (skipping
// other lines) and returns the rest of it. A "VIOLATION" line fails the
// test.
func (p *javaProc) expect(prefix string) string {
	p.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("java exited before %q; output:\n%s", prefix, p.output())
			}
			if strings.HasPrefix(l, "VIOLATION") {
				p.t.Fatalf("java: %s", l)
			}
			if strings.HasPrefix(l, prefix) {
				return strings.TrimSpace(strings.TrimPrefix(l, prefix))
			}
		case <-deadline:
			p.t.Fatalf("no %q from java; output:\n%s", prefix, p.output())
		}
	}
}

// notSeen fails if java already printed a line with the prefix.
func (p *javaProc) notSeen(prefix string) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.all {
		assert.False(p.t, strings.HasPrefix(l, prefix), "java printed %q too early", l)
	}
}

func (p *javaProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.all, "\n")
}

// send writes one command line to the program.
func (p *javaProc) send(cmd string) {
	p.t.Helper()
	_, err := io.WriteString(p.stdin, cmd+"\n")
	require.NoError(p.t, err)
}
