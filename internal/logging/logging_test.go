package logging

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

var iso8601 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{4})`)

func TestConsole(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(Options{Output: &buf})
	require.NoError(t, err)
	log.Info("server started", zap.Int("clientPort", 2181), zap.Duration("tick", 2*time.Second))
	log.Debug("hidden at info")
	require.NoError(t, log.Sync())

	line := strings.TrimSpace(buf.String())
	require.Equal(t, 1, strings.Count(buf.String(), "\n"), "debug is below the default level")
	assert.Regexp(t, iso8601, line)
	fields := strings.Split(line, "\t")
	require.Len(t, fields, 5, "time, level, caller, message, fields")
	assert.Equal(t, "INFO", fields[1], "no colour when the output is not a terminal")
	assert.Regexp(t, `^logging/logging_test\.go:\d+$`, fields[2])
	assert.Equal(t, "server started", fields[3])
	assert.JSONEq(t, `{"clientPort": 2181, "tick": "2s"}`, fields[4])
	assert.NotContains(t, line, "\x1b[")
}

func TestConsoleColor(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(Options{Output: &buf, Color: ColorAlways, Level: "debug"})
	require.NoError(t, err)
	log.Info("hello")
	log.Error("bad")
	out := buf.String()
	assert.Contains(t, out, "\x1b[34mINFO\x1b[0m")
	assert.Contains(t, out, "\x1b[31mERROR\x1b[0m")

	buf.Reset()
	log, err = New(Options{Output: &buf, Color: ColorNever})
	require.NoError(t, err)
	log.Info("hello")
	assert.NotContains(t, buf.String(), "\x1b[")
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(Options{Output: &buf, Format: "JSON", Level: "warn", Color: ColorAlways})
	require.NoError(t, err)
	log.Info("dropped")
	log.Warn("unknown key", zap.String("key", "clientPrt"), zap.Int("line", 3))

	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec), buf.String())
	assert.Equal(t, "warn", rec["level"])
	assert.Equal(t, "unknown key", rec["msg"])
	assert.Equal(t, "clientPrt", rec["key"])
	assert.Equal(t, float64(3), rec["line"])
	assert.Regexp(t, iso8601, rec["ts"])
	assert.Regexp(t, `^logging/logging_test\.go:\d+$`, rec["caller"])
	assert.NotContains(t, buf.String(), "\x1b[", "JSON is never coloured")
}

func TestLevels(t *testing.T) {
	for _, tt := range []struct {
		level string
		want  []string
	}{
		{"debug", []string{"d", "i", "w", "e"}},
		{"", []string{"i", "w", "e"}},
		{"INFO", []string{"i", "w", "e"}},
		{"warn", []string{"w", "e"}},
		{"error", []string{"e"}},
	} {
		var buf bytes.Buffer
		log, err := New(Options{Output: &buf, Format: FormatJSON, Level: tt.level})
		require.NoError(t, err)
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		log.Error("e")
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var rec struct{ Msg string }
			require.NoError(t, json.Unmarshal([]byte(line), &rec))
			got = append(got, rec.Msg)
		}
		assert.Equal(t, tt.want, got, tt.level)
	}
}

func TestPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warren.log")
	require.NoError(t, os.WriteFile(path, []byte("earlier\n"), 0o600))
	log, err := New(Options{Path: path, Format: FormatJSON})
	require.NoError(t, err)
	log.Info("appended")
	require.NoError(t, log.Sync())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), "earlier\n"), "the file is appended to")
	assert.Contains(t, string(data), `"msg":"appended"`)

	_, err = New(Options{Path: filepath.Join(t.TempDir(), "missing", "x.log")})
	require.Error(t, err)
	assert.True(t, os.IsNotExist(err) || strings.Contains(err.Error(), "no such file"))
}

func TestBadOptions(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{Level: "loud"}, `logging: level "loud"`},
		{Options{Format: "xml"}, `logging: format "xml": want console or json`},
		{Options{Color: "sometimes"}, `logging: color sometimes: want auto, always or never`},
	} {
		_, err := New(tt.opts)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f), "a regular file")
	assert.False(t, isTerminal(&bytes.Buffer{}))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.False(t, isTerminal(w), "a pipe")
}
