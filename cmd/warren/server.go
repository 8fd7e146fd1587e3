package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/internal/logging"
)

// serverOptions are the flags of `warren server`.
type serverOptions struct {
	configPath string
	logFormat  string // "" = from the configuration
	logLevel   string // "" = from the configuration
}

func (a *app) serverCommand() *cobra.Command {
	var opts serverOptions
	cmd := &cobra.Command{
		Use:   "server [--config zoo.cfg]",
		Short: "Run a Warren server",
		Long: "Run a Warren server. With --config it reads an unmodified ZooKeeper zoo.cfg; ZooKeeper\n" +
			"system properties may also be given as -D options in SERVER_JVMFLAGS or JVMFLAGS\n" +
			"(zoo.cfg wins). Without --config it runs standalone on the embedded defaults:\n" +
			"data under ./data, clients on 127.0.0.1:2181, admin HTTP on 127.0.0.1:2180.\n" +
			"SIGINT or SIGTERM shuts it down gracefully.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return a.runServer(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.configPath, "config", "c", "", "ZooKeeper zoo.cfg to run from")
	f.StringVar(&opts.logFormat, "log-format", "", "log format: console or json (default from warren.log.format, else console)")
	f.StringVar(&opts.logLevel, "log-level", "", "log level: debug, info, warn or error (default from warren.log.level, else info)")
	_ = cmd.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions(
		[]string{config.LogFormatConsole, config.LogFormatJSON}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions(
		config.LogLevels, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("config", "cfg", "conf", "properties")
	return cmd
}

// runServer loads the configuration, builds the logger and runs the server
// until ctx is cancelled.
func (a *app) runServer(ctx context.Context, opts serverOptions) error {
	cfg, warnings, err := loadConfig(opts.configPath, a.env)
	if err != nil {
		return err
	}
	if opts.logFormat != "" {
		cfg.LogFormat = strings.ToLower(opts.logFormat)
	}
	if opts.logLevel != "" {
		cfg.LogLevel = strings.ToLower(opts.logLevel)
	}
	log, err := logging.New(logging.Options{Format: cfg.LogFormat, Level: cfg.LogLevel, Output: a.stderr})
	if err != nil {
		return &exitError{code: exitConfig, msg: "warren server", err: err}
	}
	defer func() { _ = log.Sync() }()

	logWarnings(log, warnings)
	source := cfg.Source
	if source == "" {
		source = "embedded defaults"
	}
	b := currentBuild()
	log.Info("starting warren",
		zap.String("version", b.Version), zap.String("commit", b.Commit),
		zap.String("config", source), zap.String("dataDir", cfg.DataDir),
		zap.String("clientAddress", fmt.Sprintf("%s:%d", cfg.ClientPortAddress, cfg.ClientPort)))

	if err := a.serve(ctx, cfg, log); err != nil {
		log.Error("server stopped", zap.Error(err))
		return &exitError{code: exitFail}
	}
	log.Info("server stopped")
	return nil
}

// loadConfig reads path (or the embedded defaults when path is empty) with
// the -D options from the environment. A bad configuration becomes an
// exitError listing every problem, one per line.
func loadConfig(path string, env func(string) string) (*config.Config, []config.Warning, error) {
	var (
		cfg      *config.Config
		warnings []config.Warning
		err      error
	)
	if path == "" {
		cfg, warnings, err = config.LoadDefault(env)
	} else {
		cfg, warnings, err = config.Load(path, env)
	}
	if err != nil {
		return nil, warnings, &exitError{code: exitConfig, msg: "Invalid configuration, exiting abnormally:\n" + err.Error()}
	}
	return cfg, warnings, nil
}

// logWarnings logs configuration findings at their level.
func logWarnings(log *zap.Logger, warnings []config.Warning) {
	for _, w := range warnings {
		fields := make([]zap.Field, 0, 3)
		if w.File != "" {
			fields = append(fields, zap.String("file", w.File))
		}
		if w.Line > 0 {
			fields = append(fields, zap.Int("line", w.Line))
		}
		if w.Key != "" {
			fields = append(fields, zap.String("key", w.Key))
		}
		if w.Level == config.LevelInfo {
			log.Info(w.Message, fields...)
		} else {
			log.Warn(w.Message, fields...)
		}
	}
}
