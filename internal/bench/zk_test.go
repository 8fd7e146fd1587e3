package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
)

// zkServer is an Apache ZooKeeper 3.8 standalone server on loopback, shared
// by the tests of this package.
type zkServer struct {
	addr string
	pid  int
}

var (
	zkOnce sync.Once
	zk     *zkServer
	zkErr  error
	zkStop func()
)

func TestMain(m *testing.M) {
	// RunTests also removes the warren binary the ensemble tests build.
	code := testutil.RunTests(m)
	if zkStop != nil {
		zkStop()
	}
	os.Exit(code)
}

// startZooKeeper starts (once per test binary) a real ZooKeeper with a short
// tick so that session timeouts can be exercised quickly.
func startZooKeeper(t *testing.T) *zkServer {
	t.Helper()
	zkOnce.Do(func() { zk, zkErr = launchZooKeeper() })
	require.NoError(t, zkErr, "Apache ZooKeeper 3.8 is needed (scripts/test-deps.sh installs it)")
	return zk
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func launchZooKeeper() (*zkServer, error) {
	if _, err := os.Stat("/usr/share/java/zookeeper.jar"); err != nil {
		return nil, fmt.Errorf("zookeeper jar: %w", err)
	}
	dir, err := os.MkdirTemp("", "bench-zk-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf("tickTime=500\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"+
		"admin.enableServer=false\n4lw.commands.whitelist=*\nmaxClientCnxns=0\n", dir, port)
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "zk.out"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("java", "-Xmx512m", "-cp", "/etc/zookeeper/conf:/usr/share/java/*",
		"-Dzookeeper.log.dir="+dir, "org.apache.zookeeper.server.ZooKeeperServerMain", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start zookeeper: %w", err)
	}
	zkStop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		os.RemoveAll(dir)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		// ruok answers before the server takes sessions; srvr does not.
		if strings.Contains(fourLetter(addr, "srvr"), "Mode: standalone") {
			return &zkServer{addr: addr, pid: cmd.Process.Pid}, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("zookeeper on %s did not serve within 60 s (log in %s)", addr, logf.Name())
}

// fourLetter sends a four-letter word and returns the answer ("" on error).
func fourLetter(addr, word string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(word)); err != nil {
		return ""
	}
	b, _ := io.ReadAll(bufio.NewReader(c))
	return strings.TrimSpace(string(b))
}
