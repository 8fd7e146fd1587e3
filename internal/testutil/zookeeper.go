package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Where Debian's zookeeper package (and its dependencies libzookeeper-java,
// libslf4j-java, liblog4j1.2-java) put things. zookeeper.jar's manifest
// Class-Path names the rest of its dependencies, so these three jars are
// the whole class path: one log binding (log4j 1.2, whose configuration we
// control) instead of the several that /usr/share/java/* would bring.
const (
	zkJar       = "/usr/share/java/zookeeper.jar"
	slf4jLog4j  = "/usr/share/java/slf4j-log4j12.jar"
	log4jJar    = "/usr/share/java/log4j-1.2.jar"
	zkServerCls = "org.apache.zookeeper.server.ZooKeeperServerMain"
	depsHint    = "run scripts/test-deps.sh (as root) to install Apache ZooKeeper 3.8 and a JRE"
)

// zkJVMFlags start a small server quickly: a small heap, the serial GC, the
// C1 compiler only (the servers live seconds, not hours), no fsync (the
// oracle's durability is not under test), and no JMX log4j registration.
var zkJVMFlags = []string{
	"-Xmx256m", "-Xss512k", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
	"-Djava.net.preferIPv4Stack=true",
	"-Dzookeeper.forceSync=no",
	"-Dzookeeper.jmx.log4j.disable=true",
}

// zkLog4j sends everything at INFO and above to one file in the server's
// directory.
const zkLog4j = `log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=${zookeeper.log.dir}/zookeeper.log
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
`

// ZKOptions configures StartZooKeeper.
type ZKOptions struct {
	ServerConfig
	// JVMFlags are appended to the default JVM flags (so they win), e.g.
	// "-Dzookeeper.skipACL=yes".
	JVMFlags []string
}

// ZK is a running Apache ZooKeeper 3.8 standalone server.
type ZK struct {
	// Addr is the client address, "127.0.0.1:port".
	Addr string
	// Port is the client port.
	Port int
	// Dir holds zoo.cfg, data/ and the logs.
	Dir string
	// LogFile is the server's log4j log; Dir/zookeeper.out has its stdout
	// and stderr.
	LogFile string

	proc *process
}

// StartZooKeeper runs the real Apache ZooKeeper 3.8 standalone
// (ZooKeeperServerMain) on 127.0.0.1 and a free port, with its data and logs
// in t.TempDir(), and returns once it serves clients (it answers ruok and
// grants a session). t.Cleanup kills the
// server's process group and reaps it. A missing JRE or ZooKeeper is a test
// failure that names scripts/test-deps.sh.
func StartZooKeeper(t testing.TB, opts ZKOptions) *ZK {
	t.Helper()
	java := zkJava(t)

	dir := t.TempDir()
	z := &ZK{Dir: dir, LogFile: filepath.Join(dir, "zookeeper.log")}
	log4jPath := filepath.Join(dir, "log4j.properties")
	writeFile(t, log4jPath, zkLog4j)

	proc, addr, port, _ := startServer(t, func(clientPort, _ int, attempt int) (*process, string, error) {
		dataDir := filepath.Join(dir, fmt.Sprintf("data%d", attempt))
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, "", fmt.Errorf("zookeeper: %w", err)
		}
		cfgPath := filepath.Join(dir, "zoo.cfg")
		writeFile(t, cfgPath, opts.zooCfg(dataDir, clientPort, "admin.enableServer=false"))
		argv := []string{java}
		argv = append(argv, zkJVMFlags...)
		argv = append(argv,
			"-Dzookeeper.log.dir="+dir,
			"-Dlog4j.configuration=file:"+log4jPath,
		)
		argv = append(argv, opts.systemProperties()...)
		argv = append(argv, opts.JVMFlags...)
		argv = append(argv, "-cp", strings.Join([]string{zkJar, slf4jLog4j, log4jJar}, ":"), zkServerCls, cfgPath)
		p, err := startProcess("zookeeper", argv, nil, dir, filepath.Join(dir, "zookeeper.out"), z.LogFile)
		return p, fmt.Sprintf("127.0.0.1:%d", clientPort), err
	})
	z.proc, z.Addr, z.Port = proc, addr, port
	logOnFailure(t, proc, "zookeeper "+addr)
	t.Cleanup(z.Stop)
	return z
}

// Stop kills the server now (SIGKILL to its process group) and reaps it.
// It is idempotent; t.Cleanup calls it too.
func (z *ZK) Stop() {
	z.proc.stop(syscall.SIGKILL, 0)
}

// Exited reports whether the server process has ended.
func (z *ZK) Exited() bool { return z.proc.exited() }

// zkJava returns the java binary, having checked that ZooKeeper's jars are
// installed; either missing fails the test with a hint to test-deps.sh.
func zkJava(t testing.TB) string {
	t.Helper()
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("java not found (%v): %s", err, depsHint)
	}
	for _, jar := range []string{zkJar, slf4jLog4j, log4jJar} {
		if _, err := os.Stat(jar); err != nil {
			t.Fatalf("ZooKeeper jar missing (%v): %s", err, depsHint)
		}
	}
	return java
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}
