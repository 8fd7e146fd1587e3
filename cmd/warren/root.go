package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/warrenhq/warren/internal/bench"
	"github.com/warrenhq/warren/internal/cli"
	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/config"
)

// Exit codes.
const (
	exitOK     = 0
	exitFail   = 1
	exitConfig = 2
)

// ServeFunc runs a server with a loaded configuration and logger until ctx
// is cancelled, then shuts it down.
type ServeFunc func(ctx context.Context, cfg *config.Config, log *zap.Logger) error

// app holds what the commands need from the process, so tests can run them
// in-process with buffers and a fake server.
type app struct {
	stdout io.Writer
	stderr io.Writer
	env    func(string) string
	serve  ServeFunc
}

// exitError carries an exit code; an empty msg means the command already
// printed what it had to say.
type exitError struct {
	code int
	msg  string
	err  error
}

func (e *exitError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *exitError) Unwrap() error { return e.err }

// run executes the command line args and returns the process exit code.
func (a *app) run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if code, ok := cli.ExitCode(err); ok {
		return code
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(a.stderr, ee.Error())
		}
		return ee.code
	}
	// Cobra's own errors: unknown command or flag, bad arguments.
	fmt.Fprintf(a.stderr, "warren: %v\nRun 'warren --help' for usage.\n", err)
	return exitConfig
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "warren",
		Short: "Warren, a ZooKeeper-compatible coordination server",
		Long: "Warren is a ZooKeeper-compatible coordination server. It runs from an unmodified\n" +
			"ZooKeeper zoo.cfg and speaks the ZooKeeper client protocol.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.AddCommand(a.serverCommand(), a.statusCommand(), a.snapshotCommand(), a.versionCommand(), bench.Command(), cli.CommandWithVersion(cliVersion(currentBuild())))
	return root
}
