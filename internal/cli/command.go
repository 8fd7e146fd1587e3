package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/chzyer/readline"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/internal/logging"
	"github.com/warrenhq/warren/sdk"
)

// ExitError carries the exit status of `warren cli`; the message, if any,
// has been printed already.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// HistoryFile is where the interactive shell keeps its history, relative
// to the home directory.
const HistoryFile = ".warren_cli_history"

// Command returns the `warren cli` command (and its `watch` subcommand).
// It returns an *ExitError for a non-zero exit status. Its version command
// reports the version in the binary's build information; see
// CommandWithVersion.
func Command() *cobra.Command { return CommandWithVersion("") }

// CommandWithVersion is Command whose version command reports version
// (the binary's linked-in version, e.g. "1.2.0-<commit>").
func CommandWithVersion(version string) *cobra.Command {
	cfg := Config{Version: version}
	cmd := &cobra.Command{
		Use:   "cli [flags] [command [args...]]",
		Short: "Interactive ZooKeeper shell (zkCli.sh compatible); one-shot commands for scripts",
		Long: `cli is a ZooKeeper shell in the spirit of zkCli.sh: the same commands, flags, output
formats and error messages (ls, get, stat, set, create, delete, deleteall, getAcl, setAcl,
addauth, sync, whoami, getEphemerals, getAllChildrenNumber, addWatch, removewatches, config,
reconfig, setquota, listquota, delquota, version, printwatches, connect, close, quit, history,
redo, help).

Without a command it reads commands from stdin: with line editing, history
(~/.warren_cli_history) and Tab completion of commands and znode paths on a terminal, line by line otherwise (scripts can pipe commands in;
the exit status is then the last command's).

With a command it runs that one command and exits:
  0  success
  1  the server failed the command (no node, bad version, no permission, ...)
  2  usage: unknown command or option, missing or malformed argument
  3  cannot connect, or the connection or session was lost`,
		Example: `  warren cli --server 127.0.0.1:2181
  warren cli --server 127.0.0.1:2181 get -s /config
  echo 'ls -R /' | warren cli --server 127.0.0.1:2181
  warren cli watch --server 127.0.0.1:2181 /services`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			stdin := c.InOrStdin()
			if len(args) > 0 {
				return runOneShot(ctx, cfg, c.OutOrStdout(), c.ErrOrStderr(), args)
			}
			return interactive(ctx, cfg, stdin, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	cmd.Flags().SetInterspersed(false)
	addConnFlags(cmd, &cfg)
	cmd.AddCommand(watchCommand())
	return cmd
}

func addConnFlags(cmd *cobra.Command, cfg *Config) {
	cmd.Flags().StringVar(&cfg.Server, "server", DefaultServer, "connect string: host:port[,host:port...][/chroot]")
	cmd.Flags().DurationVar(&cfg.Timeout, "timeout", DefaultTimeout, "session timeout (also how long to wait for the first connection)")
	var level string
	cmd.Flags().StringVar(&level, "log-level", "", "log the client's connection handling to stderr at this level (debug, info, warn, error); none by default")
	prev := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if level != "" {
			l, err := logging.New(logging.Options{Level: level, Output: c.ErrOrStderr()})
			if err != nil {
				fmt.Fprintln(c.ErrOrStderr(), err.Error())
				return &ExitError{Code: ExitUsage}
			}
			cfg.Logger = l
		}
		if prev != nil {
			return prev(c, args)
		}
		return nil
	}
}

func exitErr(code int) error {
	if code == ExitOK {
		return nil
	}
	return &ExitError{Code: code}
}

// runOneShot runs one command and returns its status.
func runOneShot(ctx context.Context, cfg Config, stdout, stderr io.Writer, args []string) error {
	cfg.Stdout, cfg.Stderr, cfg.Quiet = stdout, stderr, true
	s := New(cfg)
	defer s.Close()
	if _, ok := commands[args[0]]; !ok {
		return exitErr(s.RunArgs(ctx, args))
	}
	if len(args) == 1 && args[0] == "version" {
		// The shell asks for a session first, as zkCli does; a script
		// asking which client it runs needs no server.
		s.println(s.versionLine())
		return nil
	}
	if err := s.Connect(ctx, ""); err != nil {
		fmt.Fprintln(stderr, err.Error())
		return exitErr(codeOf(err))
	}
	return exitErr(s.RunArgs(ctx, args))
}

func codeOf(err error) int {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce.code
	}
	return ExitFailed
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && readline.IsTerminal(int(f.Fd()))
}

// interactive runs the shell on stdin until EOF or quit.
func interactive(ctx context.Context, cfg Config, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg.Stdout, cfg.Stderr = stdout, stderr
	s := New(cfg)
	defer s.Close()
	fmt.Fprintln(stdout, "Connecting to "+cfg.Server)
	if err := s.Connect(ctx, ""); err != nil {
		// zkCli keeps going without a session; so does the shell
		// (commands print "Not connected"; connect retries).
		fmt.Fprintln(stderr, err.Error())
	}
	if !isTerminal(stdin) {
		return exitErr(s.RunScript(ctx, stdin))
	}
	fmt.Fprintln(stdout, "Welcome to Warren's ZooKeeper shell!")
	history := ""
	if home, err := os.UserHomeDir(); err == nil {
		history = filepath.Join(home, HistoryFile)
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          s.Prompt(),
		HistoryFile:     history,
		AutoComplete:    s.Completer(),
		InterruptPrompt: "^C",
		EOFPrompt:       "quit",
		Stdin:           io.NopCloser(stdin),
		Stdout:          stdout,
		Stderr:          stderr,
	})
	if err != nil {
		return fmt.Errorf("cli: readline: %w", err)
	}
	defer rl.Close()
	s.setOutput(rl.Stdout(), rl.Stderr())
	code := ExitOK
	for !s.Quit() {
		rl.SetPrompt(s.Prompt())
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if err != nil { // io.EOF (Ctrl-D)
			break
		}
		code = s.ExecLine(ctx, line)
	}
	return exitErr(code)
}

// watchCommand is `warren cli watch /path`.
func watchCommand() *cobra.Command {
	var cfg Config
	cmd := &cobra.Command{
		Use:   "watch [--server host:port] /path",
		Short: "Stream the events of a persistent-recursive watch on a path until interrupted",
		Long: `watch sets a persistent-recursive watch on /path (the node need not exist) and prints one
line per event until interrupted (SIGINT/SIGTERM):

  2026-11-24T23:40:01.123Z NodeDataChanged /path/a version=3 length=12
  2026-11-24T23:40:02.456Z NodeCreated /path/b
  2026-11-24T23:40:03.789Z NodeDeleted /path/b

For NodeCreated and NodeDataChanged the node's current data version and length are
fetched and shown (absent when the node is already gone). Connection changes print
"session suspended" / "session reconnected" lines; an expired session ends the
command with status 3.`,
		Args:          cobra.ExactArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(c *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return exitErr(Watch(ctx, cfg, args[0], c.OutOrStdout(), c.ErrOrStderr()))
		},
	}
	addConnFlags(cmd, &cfg)
	return cmd
}

// Watch streams the events of a persistent-recursive watch on path to out
// until ctx ends, and returns the exit status.
func Watch(ctx context.Context, cfg Config, path string, out, errw io.Writer) int {
	if err := validatePath(path, false); err != nil {
		fmt.Fprintln(errw, err.Error())
		return ExitUsage
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	conn, err := sdk.Connect(cctx, cfg.Server, sdk.WithSessionTimeout(cfg.Timeout), sdk.WithLogger(cfg.Logger))
	cancel()
	if err != nil {
		fmt.Fprintln(errw, "Unable to connect to "+cfg.Server+": "+err.Error())
		if ctx.Err() != nil {
			return ExitOK
		}
		return ExitConnect
	}
	defer conn.Close()
	states := conn.States()
	w, err := conn.AddWatch(ctx, path, true)
	if err != nil {
		fmt.Fprintln(errw, zkErr(err, path).Error())
		return codeOf(zkErr(err, path))
	}
	stamp := func() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00") }
	fmt.Fprintf(out, "%s watching %s (session 0x%x on %s)\n", stamp(), path, uint64(conn.SessionID()), conn.Server())
	for {
		select {
		case <-ctx.Done():
			return ExitOK
		case st, ok := <-states:
			if !ok {
				states = nil
				continue
			}
			fmt.Fprintf(out, "%s session %s\n", stamp(), st)
			if st == sdk.StateExpired {
				return ExitConnect
			}
		case ev, ok := <-w.Events():
			if !ok || ev.Type == sdk.EventSession {
				if ctx.Err() != nil {
					return ExitOK
				}
				// The session's end reaches the watch and the state
				// stream; whichever comes first reports it.
				why := "ended"
				if ok && ev.State != 0 {
					why = ev.State.String()
				}
				fmt.Fprintf(out, "%s session %s\n", stamp(), why)
				return ExitConnect
			}
			line := stamp() + " " + eventTypeName(ev.Type) + " " + ev.Path
			if ev.Type == proto.EventNodeCreated || ev.Type == proto.EventNodeDataChanged {
				if st, ok, err := conn.Exists(ctx, ev.Path); err == nil && ok {
					line += fmt.Sprintf(" version=%d length=%d", st.Version, st.DataLength)
				}
			}
			fmt.Fprintln(out, strings.TrimRight(line, " "))
		}
	}
}

// ExitCode returns the exit status an error from Command carries.
func ExitCode(err error) (int, bool) {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code, true
	}
	return 0, false
}
