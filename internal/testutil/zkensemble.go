package testutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ZooKeeper ensemble defaults. The tick is longer than a Warren ensemble's
// (200 ms) so that a JVM starved of CPU on a loaded machine (C1 only, two
// cores shared with the test binaries) does not miss syncLimit and force a
// new election in the middle of a test; elections themselves do not wait
// for ticks, so starting is no slower.
const (
	defaultZKEnsembleTick      = 500 * time.Millisecond
	defaultZKEnsembleInitLimit = 10
	defaultZKEnsembleSyncLimit = 5
	zkQuorumCls                = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
)

// ZKEnsemble is a set of real Apache ZooKeeper 3.8 servers
// (QuorumPeerMain) that form one ensemble on 127.0.0.1, the oracle for
// what Warren's Ensemble does. t.Cleanup kills every member.
type ZKEnsemble struct {
	// Members are the members in server id order (ids 1..n).
	Members []*ZKMember
}

// ZKMember is one server of a ZKEnsemble.
type ZKMember struct {
	// ID is the member's server id (myid).
	ID int64
	// Addr is the client address, "127.0.0.1:port".
	Addr string
	// ClientPort, QuorumPort and ElectionPort are the member's ports.
	ClientPort, QuorumPort, ElectionPort int
	// Dir holds zoo.cfg (which ZooKeeper rewrites to point at the
	// zoo.cfg.dynamic.<version> files it writes next to it), data/ and the
	// logs.
	Dir string
	// LogFile is the server's log4j log; Dir/zookeeper.out has its stdout
	// and stderr.
	LogFile string

	proc *process
}

// StartZooKeeperEnsemble runs n real ZooKeeper 3.8 servers as one ensemble
// on 127.0.0.1: free ports in the range Warren ensembles use (see
// ensemblePorts), a data directory and myid each, and the same zoo.cfg
// form as StartEnsemble ("server.N=127.0.0.1:quorumPort:electionPort", no
// client address in the server lines), with standaloneEnabled=false so
// that even one member runs the quorum code. cfg applies to every member
// (cfg.Extra for reconfigEnabled and the like); its TickTime defaults to
// 500 ms here. It returns once every member serves clients and reports
// leader or follower, with exactly one leader. A member that could not
// bind one of its ports makes it start the whole ensemble again on fresh
// ports. t.Cleanup kills every member's process group.
func StartZooKeeperEnsemble(t testing.TB, n int, cfg ServerConfig) *ZKEnsemble {
	t.Helper()
	if n < 1 {
		t.Fatalf("zookeeper ensemble: %d members", n)
	}
	java := zkJava(t)
	if cfg.TickTime <= 0 {
		cfg.TickTime = defaultZKEnsembleTick
	}
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		e, err := launchZKEnsemble(t, java, n, cfg)
		if err == nil {
			err = e.waitReady(readyTimeout)
		}
		if err == nil {
			return e
		}
		if e != nil {
			e.Stop()
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("zookeeper ensemble: %v", lastErr)
	return nil
}

// launchZKEnsemble writes every member's configuration and starts it.
func launchZKEnsemble(t testing.TB, java string, n int, cfg ServerConfig) (*ZKEnsemble, error) {
	ports, err := ensemblePorts(3 * n)
	if err != nil {
		return nil, err
	}
	e := &ZKEnsemble{}
	var servers []string
	for i := 0; i < n; i++ {
		dir := t.TempDir()
		m := &ZKMember{
			ID: int64(i + 1), ClientPort: ports[3*i], QuorumPort: ports[3*i+1], ElectionPort: ports[3*i+2],
			Dir: dir, LogFile: filepath.Join(dir, "zookeeper.log"),
		}
		m.Addr = fmt.Sprintf("127.0.0.1:%d", m.ClientPort)
		servers = append(servers, fmt.Sprintf("server.%d=127.0.0.1:%d:%d", m.ID, m.QuorumPort, m.ElectionPort))
		e.Members = append(e.Members, m)
	}
	head := []string{
		fmt.Sprintf("initLimit=%d", defaultZKEnsembleInitLimit),
		fmt.Sprintf("syncLimit=%d", defaultZKEnsembleSyncLimit),
		"admin.enableServer=false",
		fmt.Sprintf("maxSessionTimeout=%d", defaultMaxSessionTimeout.Milliseconds()),
		"standaloneEnabled=false",
	}
	head = append(head, servers...)
	for _, m := range e.Members {
		dataDir := filepath.Join(m.Dir, "data")
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			e.Stop()
			return nil, fmt.Errorf("member %d: %w", m.ID, err)
		}
		writeFile(t, filepath.Join(dataDir, "myid"), fmt.Sprintf("%d\n", m.ID))
		cfgPath := filepath.Join(m.Dir, "zoo.cfg")
		writeFile(t, cfgPath, cfg.zooCfg(dataDir, m.ClientPort, head...))
		log4jPath := filepath.Join(m.Dir, "log4j.properties")
		writeFile(t, log4jPath, zkLog4j)
		argv := []string{java}
		argv = append(argv, zkJVMFlags...)
		argv = append(argv, "-Dzookeeper.log.dir="+m.Dir, "-Dlog4j.configuration=file:"+log4jPath)
		argv = append(argv, cfg.systemProperties()...)
		argv = append(argv, "-cp", strings.Join([]string{zkJar, slf4jLog4j, log4jJar}, ":"), zkQuorumCls, cfgPath)
		p, err := startProcess(fmt.Sprintf("zookeeper member %d", m.ID), argv, nil, m.Dir,
			filepath.Join(m.Dir, "zookeeper.out"), m.LogFile)
		if err != nil {
			e.Stop()
			return nil, err
		}
		m.proc = p
		logOnFailure(t, p, fmt.Sprintf("zookeeper member %d (%s)", m.ID, m.Addr))
	}
	t.Cleanup(e.Stop)
	return e, nil
}

// waitReady polls until every member serves clients and exactly one leads.
func (e *ZKEnsemble) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ready := true
		var last error
		for _, m := range e.Members {
			if m.proc.exited() {
				if strings.Contains(strings.ToLower(m.proc.logTail(200)), "address already in use") {
					return fmt.Errorf("member %d: %w", m.ID, errPortTaken)
				}
				return fmt.Errorf("member %d exited before serving %s (%v); logs:\n%s",
					m.ID, m.Addr, m.proc.waitErr, m.proc.logTail(logTailLines))
			}
			if !serving(m.Addr) {
				ready, last = false, fmt.Errorf("member %d does not serve %s", m.ID, m.Addr)
				break
			}
			if mode, err := m.Mode(); err != nil || (mode != "leader" && mode != "follower") {
				ready, last = false, fmt.Errorf("member %d: mode %q (%v)", m.ID, mode, err)
				break
			}
		}
		if ready {
			_, err := e.Leader()
			if err == nil {
				return nil
			}
			last = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v: %w", timeout, last)
		}
		time.Sleep(readyPoll)
	}
}

// Addrs returns every member's client address.
func (e *ZKEnsemble) Addrs() []string {
	var out []string
	for _, m := range e.Members {
		out = append(out, m.Addr)
	}
	return out
}

// Leader returns the one running member whose srvr says "Mode: leader"; an
// error when there is none or more than one.
func (e *ZKEnsemble) Leader() (*ZKMember, error) {
	return soleLeader(e.Members, func(m *ZKMember) bool { return !m.Exited() },
		(*ZKMember).Mode, func(m *ZKMember) int64 { return m.ID })
}

// Stop kills every member now (SIGKILL to its process group). It is
// idempotent; t.Cleanup calls it too.
func (e *ZKEnsemble) Stop() {
	for _, m := range e.Members {
		m.Stop()
	}
}

// Mode returns the "Mode:" value of the member's srvr answer (leader,
// follower, observer); an error while it does not serve.
func (m *ZKMember) Mode() (string, error) { return srvrMode(m.Addr, m.ID) }

// Stop kills the member now (SIGKILL to its process group) and reaps it.
// It is idempotent.
func (m *ZKMember) Stop() {
	if m.proc != nil {
		m.proc.stop(syscall.SIGKILL, 0)
	}
}

// Exited reports whether the member's process has ended.
func (m *ZKMember) Exited() bool { return m.proc == nil || m.proc.exited() }
