package crash_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/internal/testutil"
)

// serverReadyTimeout bounds one restart: recovery plus opening the port.
const serverReadyTimeout = 30 * time.Second

// node is one Warren server that the test starts, SIGKILLs and restarts on
// the same data directories. Its output from every run goes to one log
// file, each run introduced by a marker line.
type node struct {
	bin      string
	dir      string
	cfgPath  string
	dataDir  string
	logDir   string // dataLogDir
	logPath  string
	cfgLines []string // zoo.cfg without clientPort

	port int
	cmd  *exec.Cmd
	done chan struct{}
	runs int
	// logStart is the size of the log file when the current run started.
	logStart int64
}

// newNode prepares the directories (removed at the end unless the test
// failed) and the fixed part of zoo.cfg. The snapshot and log directories
// are created up front so that the test can watch them from the first run
// on.
func newNode(t *testing.T, bin string, snapCount, preAllocKB int) *node {
	// Not t.TempDir: a failing run keeps its directories for a post-mortem.
	dir, err := os.MkdirTemp("", "warren-crash-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		}
	})
	n := &node{
		bin: bin, dir: dir, cfgPath: filepath.Join(dir, "zoo.cfg"),
		dataDir: filepath.Join(dir, "data"), logDir: filepath.Join(dir, "datalog"),
		logPath: filepath.Join(dir, "warren.log"),
	}
	for _, d := range []string{n.snapDir(), n.txnlogDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("create %s: %v", d, err)
		}
	}
	n.cfgLines = []string{
		"tickTime=1000",
		"dataDir=" + n.dataDir,
		"dataLogDir=" + n.logDir,
		"clientPortAddress=127.0.0.1",
		"4lw.commands.whitelist=*",
		"admin.enableServer=false",
		"snapCount=" + strconv.Itoa(snapCount),
		"preAllocSize=" + strconv.Itoa(preAllocKB),
		"forceSync=yes",
		// Purging runs at every start, so crashes land beside it too.
		"autopurge.snapRetainCount=3",
		"autopurge.purgeInterval=1",
	}
	return n
}

func (n *node) snapDir() string   { return filepath.Join(n.dataDir, "snapshot") }
func (n *node) txnlogDir() string { return filepath.Join(n.logDir, "txnlog") }
func (n *node) addr() string      { return fmt.Sprintf("127.0.0.1:%d", n.port) }

// config parses the zoo.cfg the server runs from, for InspectDataDir.
func (n *node) config() (*config.Config, error) {
	c, _, err := config.Load(n.cfgPath, func(string) string { return "" })
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", n.cfgPath, err)
	}
	return c, nil
}

// start runs the server and returns once it answers ruok. The client port
// stays the same across restarts unless someone else took it.
func (n *node) start() error {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if n.port == 0 || attempt > 0 {
			p, err := freePort()
			if err != nil {
				return err
			}
			n.port = p
		}
		err := n.startOnce()
		if err == nil {
			return nil
		}
		lastErr = err
		if !strings.Contains(n.logSince(n.logStart), "address already in use") {
			break
		}
	}
	return lastErr
}

func (n *node) startOnce() error {
	if err := n.launch(); err != nil {
		return err
	}
	deadline := time.Now().Add(serverReadyTimeout)
	for {
		select {
		case <-n.done:
			return fmt.Errorf("the server exited during start-up (%v)", n.cmd.ProcessState)
		default:
		}
		if out, err := testutil.FourLetter(n.addr(), "ruok"); err == nil && out == "imok" {
			return nil
		}
		if time.Now().After(deadline) {
			n.kill()
			return fmt.Errorf("the server did not answer ruok on %s within %v", n.addr(), serverReadyTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// launch starts the server process without waiting for it to serve.
func (n *node) launch() error {
	lines := append(append([]string{}, n.cfgLines...), fmt.Sprintf("clientPort=%d", n.port))
	if err := os.WriteFile(n.cfgPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("write zoo.cfg: %w", err)
	}
	logFile, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	defer logFile.Close()
	n.runs++
	fmt.Fprintf(logFile, "==== crash test: run %d of the server (port %d)\n", n.runs, n.port)
	if fi, err := logFile.Stat(); err == nil {
		n.logStart = fi.Size()
	}
	cmd := exec.Command(n.bin, "server", "--config", n.cfgPath)
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	n.cmd, n.done = cmd, done
	return nil
}

// kill SIGKILLs the server's process group and waits until it is gone.
func (n *node) kill() {
	if n.cmd == nil {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	<-n.done
	n.cmd = nil
}

// stop shuts the server down gracefully (SIGTERM, then SIGKILL after 10 s).
func (n *node) stop() {
	if n.cmd == nil {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
	}
	n.kill()
}

// logSince returns the server log from byte offset off on.
func (n *node) logSince(off int64) string {
	data, err := os.ReadFile(n.logPath)
	if err != nil || off > int64(len(data)) {
		return ""
	}
	return string(data[off:])
}

// logTail returns the last lines of the server log.
func (n *node) logTail(lines int) string {
	data, err := os.ReadFile(n.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", n.logPath, err)
	}
	ls := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return string(bytes.Join(ls, []byte("\n")))
}

// hash asks the server for its zxid and digest (the `hash` word).
func (n *node) hash() (zxid int64, digest uint64, err error) {
	out, err := testutil.FourLetter(n.addr(), "hash")
	if err != nil {
		return 0, 0, err
	}
	z, d, ok := strings.Cut(strings.TrimSpace(out), ": ")
	if !ok {
		return 0, 0, fmt.Errorf("hash: unexpected answer %q", out)
	}
	if zxid, err = strconv.ParseInt(z, 16, 64); err != nil {
		return 0, 0, fmt.Errorf("hash: zxid in %q: %w", out, err)
	}
	if digest, err = strconv.ParseUint(d, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("hash: digest in %q: %w", out, err)
	}
	return zxid, digest, nil
}

// mntrValue returns one key of the `mntr` word.
func (n *node) mntrValue(key string) (string, error) {
	out, err := testutil.FourLetter(n.addr(), "mntr")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "\t"); ok && k == key {
			return v, nil
		}
	}
	return "", fmt.Errorf("mntr has no %s", key)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// proxy stands between the writers and the server. While it is shut,
// connections are refused, so nothing reaches a restarted server before
// the test has compared it with the on-disk state; go-zookeeper would
// otherwise send requests it queued while disconnected the moment the
// port opens. Shutting it also cuts every connection it carries.
type proxy struct {
	ln net.Listener

	mu      sync.Mutex
	backend string
	open    bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

func newProxy(t *testing.T) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &proxy{ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		open, backend := p.open, p.backend
		p.mu.Unlock()
		if !open {
			c.Close()
			continue
		}
		s, err := net.DialTimeout("tcp", backend, time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if !p.open {
			p.mu.Unlock()
			c.Close()
			s.Close()
			continue
		}
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

// pipe copies from one side to the other and closes both when either ends.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
	dst.Close()
	src.Close()
}

// setOpen opens the proxy towards backend, or shuts it (backend ignored),
// cutting every connection.
func (p *proxy) setOpen(open bool, backend string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open = open
	if open {
		p.backend = backend
		return
	}
	for c := range p.conns {
		c.Close()
	}
}

func (p *proxy) close() {
	p.setOpen(false, "")
	p.ln.Close()
	p.wg.Wait()
}

// fsEvent is a file created in (or renamed into) a watched directory.
type fsEvent struct {
	dir  string
	name string
}

// dirWatcher reports files created in the snapshot and log directories
// (inotify), so a kill can land right as a snapshot file or a new log
// segment appears.
type dirWatcher struct {
	f      *os.File
	dirs   map[int32]string
	events chan fsEvent
	done   chan struct{}
}

func newDirWatcher(dirs ...string) (*dirWatcher, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w := &dirWatcher{dirs: map[int32]string{}, events: make(chan fsEvent, 1024), done: make(chan struct{})}
	for _, d := range dirs {
		wd, err := syscall.InotifyAddWatch(fd, d, syscall.IN_CREATE|syscall.IN_MOVED_TO)
		if err != nil {
			syscall.Close(fd)
			return nil, fmt.Errorf("inotify watch %s: %w", d, err)
		}
		w.dirs[int32(wd)] = d
	}
	w.f = os.NewFile(uintptr(fd), "inotify")
	go w.run()
	return w, nil
}

func (w *dirWatcher) run() {
	defer close(w.done)
	buf := make([]byte, 64*1024)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			continue
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			wd := int32(nativeUint32(buf[off:]))
			nameLen := int(nativeUint32(buf[off+12:]))
			nameBytes := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+nameLen]
			name := string(bytes.TrimRight(nameBytes, "\x00"))
			off += syscall.SizeofInotifyEvent + nameLen
			select {
			case w.events <- fsEvent{dir: w.dirs[wd], name: name}:
			default: // nobody is waiting for this many events
			}
		}
	}
}

// drain forgets the events reported so far.
func (w *dirWatcher) drain() {
	for {
		select {
		case <-w.events:
		default:
			return
		}
	}
}

func (w *dirWatcher) close() {
	w.f.Close()
	<-w.done
}

func nativeUint32(b []byte) uint32 {
	// inotify events are in host byte order; every platform this test runs
	// on (Linux amd64 and arm64) is little-endian.
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
