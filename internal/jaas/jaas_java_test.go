package jaas

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// javaResult is what the JDK's parser read from one file.
type javaResult struct {
	err      string
	sections map[string][]Entry // nil entries: the JDK returned null
}

// TestParseMatchesJDK runs every parse and error case through the JDK's own
// JAAS parser (testdata/JaasDump.java, one java process for all files) and
// checks that Parse reads the same entries, and rejects exactly the files
// the JDK rejects except those marked javaAccepts.
func TestParseMatchesJDK(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM")
	}
	java, err := exec.LookPath("java")
	require.NoError(t, err, "java is needed to compare with the JDK's parser: run `make test-deps`")

	dir := t.TempDir()
	var args []string
	write := func(i int, src string, sections []string) {
		path := filepath.Join(dir, fmt.Sprintf("case%d.jaas", i))
		require.NoError(t, os.WriteFile(path, []byte(src), 0o600))
		args = append(args, strings.Join(append([]string{path}, sections...), "|"))
	}
	for i, tc := range parseCases {
		var names []string
		for name := range tc.want {
			names = append(names, name)
		}
		write(i, tc.src, append(names, "NoSuchSection"))
	}
	for i, tc := range errorCases {
		write(len(parseCases)+i, tc.src, nil)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, java, "-Xshare:auto", "-XX:TieredStopAtLevel=1",
		"-Dwarren.test.dir="+testProps["warren.test.dir"], "-Dwarren.test.empty=",
		filepath.Join("testdata", "JaasDump.java"))
	cmd.Args = append(cmd.Args, args...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "java JaasDump: %s", out)
	results := parseDump(t, string(out))
	require.Len(t, results, len(parseCases)+len(errorCases), "output:\n%s", out)

	for i, tc := range parseCases {
		t.Run("parse/"+tc.name, func(t *testing.T) {
			got := results[i]
			require.Empty(t, got.err, "the JDK rejected the file")
			assert.Nil(t, got.sections["NoSuchSection"])
			for name, want := range tc.want {
				jdk, ok := got.sections[name]
				require.True(t, ok, "section %q not queried", name)
				if len(want) == 0 {
					assert.Nil(t, jdk, "the JDK reports an empty section as missing")
					continue
				}
				stripped := make([]Entry, len(want))
				for j, e := range want {
					e.Line = 0
					stripped[j] = e
				}
				assert.Equal(t, stripped, jdk, "section %q", name)
			}
		})
	}
	for i, tc := range errorCases {
		t.Run("error/"+tc.name, func(t *testing.T) {
			got := results[len(parseCases)+i]
			if tc.javaAccepts {
				assert.Empty(t, got.err, "the JDK was expected to accept this file")
			} else {
				assert.NotEmpty(t, got.err, "the JDK accepts a file Parse rejects")
			}
		})
	}
}

func unhex(t *testing.T, s string) string {
	t.Helper()
	require.True(t, strings.HasPrefix(s, "x"), "field %q", s)
	b, err := hex.DecodeString(s[1:])
	require.NoError(t, err)
	return string(b)
}

func parseDump(t *testing.T, out string) []javaResult {
	t.Helper()
	var (
		results []javaResult
		cur     *javaResult
		section string
	)
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "FILE":
			results = append(results, javaResult{sections: map[string][]Entry{}})
			cur = &results[len(results)-1]
		case "ERROR":
			cur.err = unhex(t, f[1])
		case "SECTION":
			section = unhex(t, f[1])
			n, err := strconv.Atoi(f[2])
			require.NoError(t, err)
			if n < 0 {
				cur.sections[section] = nil
			} else {
				cur.sections[section] = []Entry{}
			}
		case "ENTRY":
			cur.sections[section] = append(cur.sections[section],
				Entry{Module: unhex(t, f[1]), Flag: f[2], Options: map[string]string{}})
		case "OPT":
			entries := cur.sections[section]
			entries[len(entries)-1].Options[unhex(t, f[1])] = unhex(t, f[2])
		default:
			t.Fatalf("unexpected JaasDump line %q", sc.Text())
		}
	}
	return results
}
