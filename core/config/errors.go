package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is a configuration problem that stops the server from starting. It
// names where the bad setting came from (a file and line, or an environment
// variable such as SERVER_JVMFLAGS), the key, the value and why it is wrong:
//
//	zoo.cfg:12: clientPort: "abc" is not a valid port
type Error struct {
	File     string // file name or environment variable; may be empty
	Line     int    // 1-based line, 0 when unknown
	Key      string // the key as written, empty for file-level problems
	Value    string // the offending value, meaningful when HasValue
	HasValue bool
	Reason   string // why, phrased to follow the value ("is not a valid port")
	Err      error  // underlying cause, if any
}

// Error renders the problem on one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(location(e.File, e.Line))
	if e.Key != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Key)
		if e.HasValue {
			b.WriteString(": ")
			b.WriteString(strconv.Quote(e.Value))
		}
		b.WriteString(" ")
	} else if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Level says how loudly a Warning should be logged.
type Level int

const (
	// LevelWarn marks something the operator should look at: an unknown
	// key, a value ZooKeeper would read differently, a setting Warren cannot
	// honour yet.
	LevelWarn Level = iota
	// LevelInfo marks a note: keys ZooKeeper knows that Warren accepts but
	// does not act on, a JVM flag overridden by zoo.cfg.
	LevelInfo
)

// String names the level as zap does ("warn", "info").
func (l Level) String() string {
	if l == LevelInfo {
		return "info"
	}
	return "warn"
}

// Warning is a configuration finding that does not stop the server.
type Warning struct {
	Level   Level
	File    string
	Line    int
	Key     string
	Message string
}

// String renders the warning like an Error: "zoo.cfg:3: foo: unknown key".
func (w Warning) String() string {
	var b strings.Builder
	b.WriteString(location(w.File, w.Line))
	if w.Key != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(w.Key)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(w.Message)
	return b.String()
}

func location(file string, line int) string {
	switch {
	case file == "" && line == 0:
		return ""
	case file == "":
		return fmt.Sprintf("line %d", line)
	case line == 0:
		return file
	default:
		return fmt.Sprintf("%s:%d", file, line)
	}
}

// keyError is a setter's complaint about the key itself rather than its
// value; the resulting Error does not quote the value.
type keyError string

func (e keyError) Error() string { return string(e) }
