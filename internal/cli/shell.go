package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/sdk"
)

// Exit statuses of `warren cli` (one-shot mode, and script mode for the
// last command).
const (
	// ExitOK: the command succeeded.
	ExitOK = 0
	// ExitFailed: the server failed the command (no node, bad version,
	// no permission, node exists, ...).
	ExitFailed = 1
	// ExitUsage: the command line was wrong (unknown command or option,
	// missing argument, malformed path or number); nothing was sent.
	ExitUsage = 2
	// ExitConnect: no session: the server could not be reached, or the
	// connection or session was lost during the command.
	ExitConnect = 3
)

// DefaultServer is the server the shell connects to without --server.
const DefaultServer = "127.0.0.1:2181"

// DefaultTimeout is the session timeout (zkCli's default, 30 s); Connect
// waits as long for the first session.
const DefaultTimeout = 30 * time.Second

// cliError is a failed command: what to print and the exit status.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

func usageErr(msg string) error { return &cliError{code: ExitUsage, msg: msg} }

// Config configures a Shell.
type Config struct {
	// Server is the connect string ("host:port[,host:port][/chroot]");
	// empty means DefaultServer.
	Server string
	// Timeout is the session timeout; zero means DefaultTimeout.
	Timeout time.Duration
	// Stdout and Stderr receive what zkCli prints on each (nil: discard).
	Stdout, Stderr io.Writer
	// Logger receives the client's logs (nil: none).
	Logger *zap.Logger
	// Quiet turns printwatches off at the start and never prints the
	// connection events (one-shot mode).
	Quiet bool
	// Version is the version the version command reports; empty means
	// the one in the binary's build information.
	Version string
}

// Shell is one zkCli-style session: a connection, its watches, the
// command history. Commands run one at a time (ExecLine, RunArgs and
// RunScript are not safe for concurrent use); watch and connection events
// are printed from other goroutines.
type Shell struct {
	cfg Config

	outMu  sync.Mutex // serializes writes to out and errw
	out    io.Writer
	errw   io.Writer
	events atomic.Bool // printwatches

	conn       *sdk.Conn
	live       atomic.Pointer[sdk.Conn] // conn, for Tab completion's goroutine
	host       string
	statesDone chan struct{}  // closed when conn's state stream ended
	wg         sync.WaitGroup // event goroutines

	regs       chan pendingWatch // one-shot watches for dispatch
	stop       chan struct{}     // ends dispatch
	dispatched chan struct{}     // closed when dispatch returned
	closeOnce  sync.Once

	history map[int]string
	count   int
	quit    bool
}

// New returns a shell; it connects on Connect. Close releases it.
func New(cfg Config) *Shell {
	if cfg.Server == "" {
		cfg.Server = DefaultServer
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	s := &Shell{cfg: cfg, out: cfg.Stdout, errw: cfg.Stderr, history: map[int]string{},
		regs: make(chan pendingWatch), stop: make(chan struct{}), dispatched: make(chan struct{})}
	go s.dispatch()
	s.events.Store(!cfg.Quiet)
	return s
}

// setOutput replaces the writers (readline's, which redraw the prompt).
func (s *Shell) setOutput(out, errw io.Writer) {
	s.outMu.Lock()
	s.out, s.errw = out, errw
	s.outMu.Unlock()
}

func (s *Shell) println(a ...any) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprintln(s.out, a...)
}

func (s *Shell) print(text string) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprint(s.out, text)
}

func (s *Shell) eprintln(a ...any) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprintln(s.errw, a...)
}

// printEvent prints a watch or connection event as zkCli's default
// watcher does, when printwatches is on.
func (s *Shell) printEvent(state string, typ proto.EventType, path string) {
	if !s.events.Load() {
		return
	}
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprint(s.out, "\nWATCHER::\n\n"+watchedEvent(state, typ, path)+"\n")
}

// Connect opens a session on server (the configured one when empty),
// closing the current one first, and waits for it up to the timeout.
func (s *Shell) Connect(ctx context.Context, server string) error {
	s.closeConn()
	if server == "" {
		server = s.cfg.Server
	}
	s.host = server
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	conn, err := sdk.Connect(ctx, server, sdk.WithSessionTimeout(s.cfg.Timeout), sdk.WithLogger(s.cfg.Logger))
	if err != nil {
		if _, perr := sdk.ParseConnectString(server); perr != nil {
			return usageErr(perr.Error())
		}
		return &cliError{code: ExitConnect, msg: "Unable to connect to " + server + ": " + err.Error()}
	}
	s.conn = conn
	s.live.Store(conn)
	states := conn.States()
	if !s.cfg.Quiet {
		s.printEvent("SyncConnected", proto.EventNone, "")
	}
	done := make(chan struct{})
	s.statesDone = done
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		for st := range states {
			if !s.cfg.Quiet {
				s.printEvent(keeperState(st), proto.EventNone, "")
			}
		}
	}()
	return nil
}

// closeConn closes the session, if any; its watches end.
func (s *Shell) closeConn() {
	if s.conn == nil {
		return
	}
	s.live.Store(nil)
	s.endSession()
	s.conn = nil
}

// endSession closes the session and waits until its state changes
// (Closed last) are printed.
func (s *Shell) endSession() {
	_ = s.conn.Close()
	<-s.statesDone
}

// Close ends the session and waits for the event goroutines; the Shell
// cannot be used afterwards.
func (s *Shell) Close() {
	s.closeConn()
	s.wg.Wait()
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.dispatched
}

// connected reports whether commands can run (zkCli's "isAlive").
func (s *Shell) connected() bool {
	if s.conn == nil {
		return false
	}
	switch s.conn.State() {
	case sdk.StateClosed, sdk.StateExpired:
		return false
	}
	return true
}

// Prompt is zkCli's prompt: "[zk: host(CONNECTED) 3] ".
func (s *Shell) Prompt() string {
	state := "CLOSED"
	if s.conn != nil {
		state = promptState(s.conn.State())
	}
	return "[zk: " + s.host + "(" + state + ") " + strconv.Itoa(s.count) + "] "
}

// Quit reports whether the quit command ran.
func (s *Shell) Quit() bool { return s.quit }

// ExecLine runs one line typed at the shell (empty lines are ignored, as
// zkCli does) and records it in the history. It returns the command's
// exit status; the output and errors have been printed.
func (s *Shell) ExecLine(ctx context.Context, line string) int {
	if strings.TrimSpace(line) == "" {
		return ExitOK
	}
	words := splitLine(line)
	if len(words) == 0 {
		return ExitOK
	}
	s.history[s.count] = line
	code := s.run(ctx, words)
	s.count++
	return code
}

// RunArgs runs one command given as words (one-shot mode).
func (s *Shell) RunArgs(ctx context.Context, words []string) int {
	if len(words) == 0 {
		s.usage()
		s.eprintln("No command entered")
		return ExitUsage
	}
	s.history[s.count] = joinWords(words)
	code := s.run(ctx, words)
	s.count++
	return code
}

func (s *Shell) run(ctx context.Context, words []string) int {
	err := s.exec(ctx, words)
	if err == nil {
		return ExitOK
	}
	var ce *cliError
	if errors.As(err, &ce) {
		if ce.msg != "" {
			s.eprintln(ce.msg)
		}
		return ce.code
	}
	s.eprintln(err.Error())
	return ExitFailed
}

// RunScript reads commands from r line by line (no prompt, no line
// editing) until EOF or quit, and returns the status of the last command.
func (s *Shell) RunScript(ctx context.Context, r io.Reader) int {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	code := ExitOK
	for sc.Scan() {
		if ctx.Err() != nil {
			break
		}
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		code = s.ExecLine(ctx, sc.Text())
		if s.quit {
			break
		}
	}
	return code
}

// command is one zkCli command.
type command struct {
	usage string // option string, printed after the name
	run   func(s *Shell, ctx context.Context, words []string) error
	local bool // runs without a session
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"connect":              {usage: "host:port", local: true},
		"history":              {usage: "", local: true},
		"redo":                 {usage: "cmdno", local: true},
		"printwatches":         {usage: "on|off", local: true},
		"quit":                 {usage: "", local: true},
		"help":                 {usage: "", local: true},
		"close":                {usage: "", run: (*Shell).cmdClose},
		"create":               {usage: "[-s] [-e] [-c] [-t ttl] path [data] [acl]", run: (*Shell).cmdCreate},
		"delete":               {usage: "[-v version] path", run: (*Shell).cmdDelete},
		"deleteall":            {usage: "path [-b batch size]", run: (*Shell).cmdDeleteAll},
		"set":                  {usage: "[-s] [-v version] path data", run: (*Shell).cmdSet},
		"get":                  {usage: "[-s] [-w] path", run: (*Shell).cmdGet},
		"ls":                   {usage: "[-s] [-w] [-R] path", run: (*Shell).cmdLs},
		"getAcl":               {usage: "[-s] path", run: (*Shell).cmdGetACL},
		"setAcl":               {usage: "[-s] [-v version] [-R] path acl", run: (*Shell).cmdSetACL},
		"stat":                 {usage: "[-w] path", run: (*Shell).cmdStat},
		"sync":                 {usage: "path", run: (*Shell).cmdSync},
		"addauth":              {usage: "scheme auth", run: (*Shell).cmdAddAuth},
		"config":               {usage: "[-c] [-w] [-s]", run: (*Shell).cmdConfig},
		"removewatches":        {usage: "path [-c|-d|-a] [-l]", run: (*Shell).cmdRemoveWatches},
		"getEphemerals":        {usage: "path", run: (*Shell).cmdGetEphemerals},
		"getAllChildrenNumber": {usage: "path", run: (*Shell).cmdGetAllChildrenNumber},
		"addWatch":             {usage: "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE", run: (*Shell).cmdAddWatch},
		"whoami":               {usage: "", run: (*Shell).cmdWhoAmI},
		"version":              {usage: "", run: (*Shell).cmdVersion},
		"setquota":             {usage: "-n|-b|-N|-B val path", run: (*Shell).cmdSetQuota},
		"listquota":            {usage: "path", run: (*Shell).cmdListQuota},
		"delquota":             {usage: "[-n|-b|-N|-B] path", run: (*Shell).cmdDelQuota},
		"reconfig": {usage: "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | " +
			"[-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]", run: (*Shell).cmdReconfig},
	}
}

// usageLine is "name options", as zkCli's usage errors print it.
func usageLine(name string) string { return name + " " + commands[name].usage }

// usage prints the command list, as zkCli's usage() does.
func (s *Shell) usage() {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("ZooKeeper -server host:port -client-configuration properties-file cmd args\n")
	for _, n := range names {
		b.WriteString("\t" + n + " " + commands[n].usage + "\n")
	}
	s.outMu.Lock()
	fmt.Fprint(s.errw, b.String())
	s.outMu.Unlock()
}

// exec runs one command (ZooKeeperMain.processZKCmd).
func (s *Shell) exec(ctx context.Context, words []string) error {
	name := words[0]
	cmd, ok := commands[name]
	if !ok {
		s.usage()
		return usageErr("Command not found: Command not found " + name)
	}
	var err error
	switch name {
	case "help":
		s.usage()
		return nil
	case "quit":
		s.closeConn()
		s.quit = true
		return nil
	case "connect":
		server := s.host
		if len(words) >= 2 {
			server = words[1]
		}
		return s.Connect(ctx, server)
	case "redo":
		if len(words) >= 2 {
			err = s.redo(ctx, words[1])
		}
	case "history":
		for i := s.count - 10; i <= s.count; i++ {
			if i >= 0 {
				s.println(strconv.Itoa(i) + " - " + s.history[i])
			}
		}
	case "printwatches":
		if len(words) == 1 {
			state := "off"
			if s.events.Load() {
				state = "on"
			}
			s.println("printwatches is " + state)
		} else {
			s.events.Store(words[1] == "on")
		}
	}
	if cmd.local {
		// zkCli checks the session after its local commands too.
		if err == nil && !s.connected() {
			s.println("Not connected")
		}
		return err
	}
	if !s.connected() {
		s.println("Not connected")
		return &cliError{code: ExitConnect}
	}
	return cmd.run(s, ctx, words)
}

func (s *Shell) redo(ctx context.Context, arg string) error {
	i, err := strconv.ParseInt(arg, 0, 32)
	if err != nil {
		return usageErr("redo cmdno: cmdno must be a number")
	}
	if int(i) >= s.count || i < 0 {
		return usageErr("Command index out of range")
	}
	line := s.history[int(i)]
	words := splitLine(line)
	if len(words) == 0 || words[0] == "redo" {
		return usageErr("No redoing redos")
	}
	s.history[s.count] = line
	return s.exec(ctx, words)
}

// zkErr converts an sdk error into zkCli's message and an exit status.
// path is the command's path, used when the error carries none.
func zkErr(err error, path string) error {
	if err == nil {
		return nil
	}
	var code proto.Code
	if !errors.As(err, &code) {
		if errors.Is(err, sdk.ErrClosed) {
			return &cliError{code: ExitConnect, msg: keeperMessage(proto.ErrConnectionLoss, path)}
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return &cliError{code: ExitConnect, msg: keeperMessage(proto.ErrOperationTimeout, path)}
		}
		return &cliError{code: ExitFailed, msg: err.Error()}
	}
	var se *sdk.Error
	if errors.As(err, &se) && se.Path != "" {
		path = se.Path
	}
	exit := ExitFailed
	switch code {
	case proto.ErrConnectionLoss, proto.ErrSessionExpired, proto.ErrSessionMoved, proto.ErrOperationTimeout:
		exit = ExitConnect
	}
	return &cliError{code: exit, msg: wrapperMessage(code, path)}
}
