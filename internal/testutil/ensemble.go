package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Ensemble defaults. A short tick makes elections, pings and sync limits
// fast; the session bounds are set wide so that tests choose any timeout.
const (
	defaultEnsembleTick      = 200 * time.Millisecond
	defaultEnsembleInitLimit = 10
	defaultEnsembleSyncLimit = 5
	defaultMaxSessionTimeout = 60 * time.Second
	// memberStopGrace is how long a member gets to exit after SIGTERM.
	memberStopGrace = 5 * time.Second
)

// EnsembleOptions configures StartEnsemble.
type EnsembleOptions struct {
	// Participants is the number of voting members (server.N lines without
	// a role); Observers follow them with ":observer".
	Participants, Observers int
	// TickTime is zoo.cfg tickTime; zero means 200 ms.
	TickTime time.Duration
	// InitLimit and SyncLimit are in ticks; zero means 10 and 5.
	InitLimit, SyncLimit int
	// MaxSessionTimeout is maxSessionTimeout; zero means 60 s, so that
	// tests are not bound by ZooKeeper's 20 ticks.
	MaxSessionTimeout time.Duration
	// Extra holds raw zoo.cfg lines ("key=value") for every member.
	Extra []string
}

// Ensemble is a set of Warren processes, built from this module, that form
// one ZooKeeper ensemble on 127.0.0.1. Each member keeps its ports and data
// directory across restarts, so a test can kill, pause and restart members
// as an operator would. t.Cleanup stops every member.
type Ensemble struct {
	// Members are the members in server id order (ids 1..n).
	Members []*Member
	t       testing.TB
}

// Member is one server of an Ensemble.
type Member struct {
	// ID is the member's server id (myid).
	ID int64
	// Observer is true for a non-voting member.
	Observer bool
	// Addr is the client address, "127.0.0.1:port".
	Addr string
	// ClientPort, QuorumPort and ElectionPort are the member's ports.
	ClientPort, QuorumPort, ElectionPort int
	// Dir holds zoo.cfg, data/ and warren.log.
	Dir string
	// LogFile has the output of every run of the member, each run
	// introduced by a "==== run N" line.
	LogFile string

	bin     string
	cfgPath string

	mu     sync.Mutex
	proc   *process
	paused bool
	runs   int
}

// StartEnsemble writes a zoo.cfg and myid for every member, starts them all
// and returns once every member serves clients (ruok, then a session),
// which in an ensemble means a leader was elected and every member synced
// with it.
func StartEnsemble(t testing.TB, opts EnsembleOptions) *Ensemble {
	t.Helper()
	if opts.Participants < 1 {
		t.Fatalf("ensemble: %d participants", opts.Participants)
	}
	e := NewEnsemble(t, opts)
	for _, m := range e.Members {
		if err := m.Start(); err != nil {
			t.Fatalf("%v", err)
		}
	}
	for _, m := range e.Members {
		if err := m.WaitServing(readyTimeout); err != nil {
			t.Fatalf("%v", err)
		}
	}
	return e
}

// NewEnsemble prepares an ensemble's configuration and directories without
// starting any member.
func NewEnsemble(t testing.TB, opts EnsembleOptions) *Ensemble {
	t.Helper()
	bin := WarrenBinary(t)
	n := opts.Participants + opts.Observers
	ports, err := ensemblePorts(3 * n)
	if err != nil {
		t.Fatalf("ensemble ports: %v", err)
	}
	e := &Ensemble{t: t}
	var servers []string
	for i := 0; i < n; i++ {
		dir := t.TempDir()
		m := &Member{
			ID: int64(i + 1), Observer: i >= opts.Participants,
			ClientPort: ports[3*i], QuorumPort: ports[3*i+1], ElectionPort: ports[3*i+2],
			Dir: dir, LogFile: filepath.Join(dir, "warren.log"), bin: bin, cfgPath: filepath.Join(dir, "zoo.cfg"),
		}
		m.Addr = fmt.Sprintf("127.0.0.1:%d", m.ClientPort)
		line := fmt.Sprintf("server.%d=127.0.0.1:%d:%d", m.ID, m.QuorumPort, m.ElectionPort)
		if m.Observer {
			line += ":observer"
		}
		servers = append(servers, line)
		e.Members = append(e.Members, m)
	}
	tick := opts.TickTime
	if tick <= 0 {
		tick = defaultEnsembleTick
	}
	initLimit, syncLimit := opts.InitLimit, opts.SyncLimit
	if initLimit <= 0 {
		initLimit = defaultEnsembleInitLimit
	}
	if syncLimit <= 0 {
		syncLimit = defaultEnsembleSyncLimit
	}
	maxSession := opts.MaxSessionTimeout
	if maxSession <= 0 {
		maxSession = defaultMaxSessionTimeout
	}
	for _, m := range e.Members {
		dataDir := filepath.Join(m.Dir, "data")
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			t.Fatalf("ensemble: %v", err)
		}
		writeFile(t, filepath.Join(dataDir, "myid"), fmt.Sprintf("%d\n", m.ID))
		lines := []string{
			fmt.Sprintf("tickTime=%d", tick.Milliseconds()),
			fmt.Sprintf("initLimit=%d", initLimit),
			fmt.Sprintf("syncLimit=%d", syncLimit),
			"dataDir=" + dataDir,
			fmt.Sprintf("clientPort=%d", m.ClientPort),
			"clientPortAddress=127.0.0.1",
			"admin.enableServer=false",
			"4lw.commands.whitelist=*",
			fmt.Sprintf("maxSessionTimeout=%d", maxSession.Milliseconds()),
		}
		lines = append(lines, servers...)
		lines = append(lines, opts.Extra...)
		writeFile(t, m.cfgPath, strings.Join(lines, "\n")+"\n")
	}
	t.Cleanup(func() {
		for _, m := range e.Members {
			m.Stop()
		}
		if t.Failed() {
			for _, m := range e.Members {
				t.Logf("member %d log (last %d lines):\n%s", m.ID, logTailLines, m.LogTail(logTailLines))
			}
		}
		if raceEnabled {
			for _, m := range e.Members {
				if strings.Contains(m.Log(), "WARNING: DATA RACE") {
					t.Errorf("member %d reported a data race; see %s", m.ID, m.LogFile)
				}
			}
		}
	})
	return e
}

// ensemblePorts returns n distinct ports that were free a moment ago, picked
// at random in 10000-19999. A member keeps its ports across restarts, so
// nothing else may take them while it is down: the range is below the
// kernel's ephemeral ports (outgoing connections, and FreePort) and below
// 20000-40000, where scripts/bench.sh and manual oracle runs pick theirs.
func ensemblePorts(n int) ([]int, error) {
	lo, hi := 10000, 20000
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(data)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > lo+2000 && v < hi {
				hi = v
			}
		}
	}
	seen := map[int]bool{}
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("no %d free ports in [%d, %d)", n, lo, hi)
		}
		p := lo + rand.IntN(hi-lo)
		if seen[p] {
			continue
		}
		seen[p] = true
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		if err := l.Close(); err != nil {
			return nil, fmt.Errorf("close probe listener: %w", err)
		}
		ports = append(ports, p)
	}
	return ports, nil
}

// Addrs returns every member's client address.
func (e *Ensemble) Addrs() []string {
	var out []string
	for _, m := range e.Members {
		out = append(out, m.Addr)
	}
	return out
}

// Running returns the members whose process runs (paused or not).
func (e *Ensemble) Running() []*Member {
	var out []*Member
	for _, m := range e.Members {
		if m.Running() {
			out = append(out, m)
		}
	}
	return out
}

// Leader returns the one running, unpaused member whose srvr says "Mode:
// leader"; an error when there is none or more than one.
func (e *Ensemble) Leader() (*Member, error) {
	return soleLeader(e.Members, func(m *Member) bool { return m.Running() && !m.Paused() },
		(*Member).Mode, func(m *Member) int64 { return m.ID })
}

// soleLeader returns the one member, of those up, whose srvr says "Mode:
// leader"; an error when there is none or more than one. Warren's and
// ZooKeeper's ensembles share it.
func soleLeader[M any](members []M, up func(M) bool, mode func(M) (string, error), id func(M) int64) (M, error) {
	var leaders []M
	for _, m := range members {
		if !up(m) {
			continue
		}
		if md, err := mode(m); err == nil && md == "leader" {
			leaders = append(leaders, m)
		}
	}
	var none M
	switch len(leaders) {
	case 1:
		return leaders[0], nil
	case 0:
		return none, errors.New("no member reports Mode: leader")
	}
	var ids []string
	for _, l := range leaders {
		ids = append(ids, strconv.FormatInt(id(l), 10))
	}
	return none, fmt.Errorf("members %s all report Mode: leader", strings.Join(ids, ", "))
}

// WaitLeader polls until exactly one member leads, for up to timeout.
func (e *Ensemble) WaitLeader(timeout time.Duration) (*Member, error) {
	deadline := time.Now().Add(timeout)
	for {
		l, err := e.Leader()
		if err == nil {
			return l, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(readyPoll)
	}
}

// Followers returns the running, unpaused members that report "Mode:
// follower".
func (e *Ensemble) Followers() []*Member {
	var out []*Member
	for _, m := range e.Members {
		if !m.Running() || m.Paused() {
			continue
		}
		if mode, err := m.Mode(); err == nil && mode == "follower" {
			out = append(out, m)
		}
	}
	return out
}

// Converged is the state every member reached in WaitConverged.
type Converged struct {
	Zxid   int64
	Digest uint64
}

// WaitConverged polls the `hash` word of the given members (every member
// when none are given) until all report the same zxid and digest, for up
// to timeout. The error lists what each member reported last.
func (e *Ensemble) WaitConverged(timeout time.Duration, members ...*Member) (Converged, error) {
	if len(members) == 0 {
		members = e.Members
	}
	deadline := time.Now().Add(timeout)
	for {
		var first Converged
		same := true
		var report []string
		for i, m := range members {
			zxid, digest, err := m.Hash()
			if err != nil {
				same = false
				report = append(report, fmt.Sprintf("member %d: %v", m.ID, err))
				continue
			}
			report = append(report, fmt.Sprintf("member %d: zxid 0x%x digest %d", m.ID, zxid, digest))
			if i == 0 {
				first = Converged{Zxid: zxid, Digest: digest}
			} else if zxid != first.Zxid || digest != first.Digest {
				same = false
			}
		}
		if same {
			return first, nil
		}
		if time.Now().After(deadline) {
			return Converged{}, fmt.Errorf("members did not converge within %v: %s", timeout, strings.Join(report, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Start launches the member's process without waiting for it to serve.
func (m *Member) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil && !m.proc.exited() {
		return fmt.Errorf("member %d is already running", m.ID)
	}
	m.runs++
	f, err := os.OpenFile(m.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("member %d: open log: %w", m.ID, err)
	}
	_, werr := fmt.Fprintf(f, "==== run %d of member %d\n", m.runs, m.ID)
	if err := f.Close(); err != nil || werr != nil {
		return fmt.Errorf("member %d: write log: %w", m.ID, errors.Join(werr, err))
	}
	p, err := startProcess(fmt.Sprintf("warren member %d", m.ID), []string{m.bin, "server", "--config", m.cfgPath},
		nil, m.Dir, m.LogFile)
	if err != nil {
		return err
	}
	m.proc, m.paused = p, false
	return nil
}

// WaitServing waits until the member serves clients, the process exits or
// timeout passes.
func (m *Member) WaitServing(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		m.mu.Lock()
		p := m.proc
		m.mu.Unlock()
		if p == nil || p.exited() {
			if strings.Contains(m.lastRunLog(), "address already in use") {
				return fmt.Errorf("member %d: %w (another process took one of its ports while it was down); log:\n%s",
					m.ID, errPortTaken, m.LogTail(logTailLines))
			}
			return fmt.Errorf("member %d is not running; log:\n%s", m.ID, m.LogTail(logTailLines))
		}
		if serving(m.Addr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("member %d did not serve %s within %v; log:\n%s", m.ID, m.Addr, timeout, m.LogTail(logTailLines))
		}
		time.Sleep(readyPoll)
	}
}

// portRetries is how often Restart tries again, a second apart, when
// another process holds one of the member's ports.
const portRetries = 10

// Restart starts the member again and waits until it serves. When another
// process took one of its ports meanwhile, it retries for a while: the
// member cannot move, since every other member's zoo.cfg names its ports.
func (m *Member) Restart(timeout time.Duration) error {
	var err error
	for attempt := 0; attempt < portRetries; attempt++ {
		if err = m.Start(); err != nil {
			return err
		}
		err = m.WaitServing(timeout)
		if !errors.Is(err, errPortTaken) {
			return err
		}
		time.Sleep(time.Second)
	}
	return err
}

// lastRunLog returns what the member's current (or last) run logged.
func (m *Member) lastRunLog() string {
	l := m.Log()
	if i := strings.LastIndex(l, "==== run"); i >= 0 {
		return l[i:]
	}
	return l
}

// Kill SIGKILLs the member's process group and reaps it (a paused member
// too). It does nothing when the member is not running.
func (m *Member) Kill() {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p != nil {
		p.stop(syscall.SIGKILL, 0)
	}
	m.mu.Lock()
	m.paused = false
	m.mu.Unlock()
}

// Stop shuts the member down with SIGTERM (SIGKILL after 5 s), resuming it
// first if it is paused.
func (m *Member) Stop() {
	m.mu.Lock()
	p, paused := m.proc, m.paused
	m.paused = false
	m.mu.Unlock()
	if p == nil {
		return
	}
	if paused {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGCONT)
	}
	p.stop(syscall.SIGTERM, memberStopGrace)
}

// Pause SIGSTOPs the member's process group: it keeps its sockets but
// answers nothing, as a member in a long GC pause or a stalled VM. It
// returns once every thread of the process has stopped (kill(2) returns
// before that, and a busy member could otherwise go on for a while).
func (m *Member) Pause() error {
	if err := m.signal(syscall.SIGSTOP, true); err != nil {
		return err
	}
	m.mu.Lock()
	pid := m.proc.cmd.Process.Pid
	m.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for !allStopped(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("member %d: not stopped 5 s after SIGSTOP", m.ID)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// allStopped reports whether every thread of pid is stopped (state T or t
// in /proc/<pid>/task/*/stat), or the process is gone.
func allStopped(pid int) bool {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return true
	}
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		// The state follows the command name, which is in parentheses.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 || i+2 >= len(data) {
			return false
		}
		if st := data[i+2]; st != 'T' && st != 't' && st != 'Z' && st != 'X' {
			return false
		}
	}
	return true
}

// Resume SIGCONTs a paused member.
func (m *Member) Resume() error { return m.signal(syscall.SIGCONT, false) }

func (m *Member) signal(sig syscall.Signal, paused bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil || m.proc.exited() {
		return fmt.Errorf("member %d is not running", m.ID)
	}
	if err := syscall.Kill(-m.proc.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("member %d: %v: %w", m.ID, sig, err)
	}
	m.paused = paused
	return nil
}

// Running reports whether the member's process runs (paused or not).
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc != nil && !m.proc.exited()
}

// Paused reports whether the member is SIGSTOPped.
func (m *Member) Paused() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paused
}

// Mode returns the "Mode:" value of the member's srvr answer (leader,
// follower, observer, looking, standalone).
func (m *Member) Mode() (string, error) { return srvrMode(m.Addr, m.ID) }

// srvrMode returns the "Mode:" value of the srvr answer at addr, member
// id's (for the error).
func srvrMode(addr string, id int64) (string, error) {
	out, err := FourLetter(addr, "srvr")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Mode:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("member %d: srvr has no Mode line: %q", id, out)
}

// Hash returns the zxid and digest of the member's applied state (the
// `hash` word's "zxid: digest" line).
func (m *Member) Hash() (zxid int64, digest uint64, err error) {
	out, err := FourLetter(m.Addr, "hash")
	if err != nil {
		return 0, 0, err
	}
	z, d, ok := strings.Cut(strings.TrimSpace(out), ": ")
	if !ok {
		return 0, 0, fmt.Errorf("member %d: hash: unexpected answer %q", m.ID, out)
	}
	if zxid, err = strconv.ParseInt(z, 16, 64); err != nil {
		return 0, 0, fmt.Errorf("member %d: hash: zxid in %q: %w", m.ID, out, err)
	}
	if digest, err = strconv.ParseUint(d, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("member %d: hash: digest in %q: %w", m.ID, out, err)
	}
	return zxid, digest, nil
}

// Log returns everything the member wrote so far, over all its runs.
func (m *Member) Log() string {
	data, err := os.ReadFile(m.LogFile)
	if err != nil {
		return ""
	}
	return string(data)
}

// LogTail returns the last n lines of the member's log.
func (m *Member) LogTail(n int) string {
	data, err := os.ReadFile(m.LogFile)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", m.LogFile, err)
	}
	return tailLines(bytes.TrimSpace(data), n)
}
