// Package logging builds Warren's zap loggers: a console encoder for people
// (ISO 8601 times, levels coloured only on a terminal) and a JSON encoder
// for log pipelines. It only constructs loggers; callers pass them on
// explicitly, and nothing here installs a global logger.
package logging

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Formats accepted by Options.Format.
const (
	FormatConsole = "console"
	FormatJSON    = "json"
)

// Color modes accepted by Options.Color.
const (
	ColorAuto   = "auto"   // colour when the output is a terminal
	ColorAlways = "always" // colour regardless
	ColorNever  = "never"  // never colour
)

// Options configures New. The zero value logs info and above to stderr with
// the console encoder.
type Options struct {
	// Format is "console" (default) or "json".
	Format string
	// Level is "debug", "info" (default), "warn" or "error".
	Level string
	// Output receives the log. When nil, Path is opened; when Path is empty
	// too, os.Stderr is used.
	Output io.Writer
	// Path is a file to append to (created 0644 if missing). The file stays
	// open for the life of the process, as a server's log does.
	Path string
	// Color applies to the console format: "auto" (default), "always" or
	// "never". JSON is never coloured.
	Color string
}

// New builds a logger from opts.
func New(opts Options) (*zap.Logger, error) {
	level := zapcore.InfoLevel
	if opts.Level != "" {
		l, err := zapcore.ParseLevel(strings.ToLower(opts.Level))
		if err != nil {
			return nil, fmt.Errorf("logging: level %q: %w", opts.Level, err)
		}
		level = l
	}
	out, err := output(opts)
	if err != nil {
		return nil, err
	}
	var enc zapcore.Encoder
	switch strings.ToLower(opts.Format) {
	case "", FormatConsole:
		color, err := useColor(opts.Color, out)
		if err != nil {
			return nil, err
		}
		enc = zapcore.NewConsoleEncoder(consoleEncoderConfig(color))
	case FormatJSON:
		enc = zapcore.NewJSONEncoder(jsonEncoderConfig())
	default:
		return nil, fmt.Errorf("logging: format %q: want console or json", opts.Format)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(out)), level)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.DPanicLevel)), nil
}

func output(opts Options) (io.Writer, error) {
	switch {
	case opts.Output != nil:
		return opts.Output, nil
	case opts.Path != "":
		f, err := os.OpenFile(opts.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("logging: open %s: %w", opts.Path, err)
		}
		return f, nil
	default:
		return os.Stderr, nil
	}
}

// useColor decides whether console output gets ANSI colours.
func useColor(mode string, out io.Writer) (bool, error) {
	switch strings.ToLower(mode) {
	case "", ColorAuto:
		return isTerminal(out), nil
	case ColorAlways:
		return true, nil
	case ColorNever:
		return false, nil
	}
	return false, errors.New("logging: color " + mode + ": want auto, always or never")
}

// isTerminal reports whether w is a character device (a terminal). Files,
// pipes and buffers are not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	if err != nil {
		return false
	}
	return info.Mode()&os.ModeCharDevice != 0
}

func consoleEncoderConfig(color bool) zapcore.EncoderConfig {
	cfg := zap.NewDevelopmentEncoderConfig()
	cfg.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.EncodeDuration = zapcore.StringDurationEncoder
	cfg.EncodeCaller = zapcore.ShortCallerEncoder
	cfg.EncodeLevel = zapcore.CapitalLevelEncoder
	if color {
		cfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
	}
	return cfg
}

func jsonEncoderConfig() zapcore.EncoderConfig {
	cfg := zap.NewProductionEncoderConfig()
	cfg.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.EncodeDuration = zapcore.MillisDurationEncoder
	return cfg
}
