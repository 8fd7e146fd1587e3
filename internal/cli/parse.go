package cli

import (
	"regexp"
	"strings"
)

var (
	// argsPattern splits a command line as ZooKeeperMain does: words, or
	// "double" / 'single' quoted strings.
	argsPattern = regexp.MustCompile(`\s*([^"'\s]\S*|"[^"]*"|'[^']*')\s*`)
	// quoted matches a word in matching quotes, which are stripped.
	quoted = regexp.MustCompile(`^(['"])(.*)(['"])$`)
)

// splitLine breaks a command line into its words.
func splitLine(line string) []string {
	var words []string
	for _, m := range argsPattern.FindAllStringSubmatch(line, -1) {
		w := m[1]
		if q := quoted.FindStringSubmatch(w); q != nil && q[1] == q[3] {
			w = q[2]
		}
		words = append(words, w)
	}
	return words
}

// flags is the outcome of parsing a command's words.
type flags struct {
	set  map[byte]string // option letter -> value ("" for a switch)
	args []string        // the command name and its non-option words
}

func (f flags) has(o byte) bool { _, ok := f.set[o]; return ok }

// parseFlags parses words (the command name first) the way commons-cli
// parses zkCli's options: single-letter options, possibly bundled ("-sw"),
// anywhere on the line; spec lists the letters, a letter followed by ':'
// takes a value ("-v 3" or "-v3"). "--" ends the options.
func parseFlags(words []string, spec string) (flags, error) {
	return parseFlagsGroup(words, spec, "", "")
}

// parseFlagsGroup is parseFlags with an OptionGroup: at most one of the
// letters in group may be given; when required is not empty one of them
// must be, and required is the group as commons-cli prints it.
func parseFlagsGroup(words []string, spec, group, required string) (flags, error) {
	withArg := map[byte]bool{}
	for i := 0; i < len(spec); i++ {
		if i+1 < len(spec) && spec[i+1] == ':' {
			withArg[spec[i]] = true
			i++
			continue
		}
		withArg[spec[i]] = false
	}
	f := flags{set: map[byte]string{}, args: []string{words[0]}}
	for i := 1; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			f.args = append(f.args, words[i+1:]...)
			break
		}
		if len(w) < 2 || w[0] != '-' {
			f.args = append(f.args, w)
			continue
		}
		for j := 1; j < len(w); j++ {
			c := w[j]
			takes, ok := withArg[c]
			if !ok {
				opt := w
				if j > 1 {
					opt = "-" + string(c)
				}
				return f, &cliError{code: ExitUsage, msg: "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: " + opt}
			}
			if strings.IndexByte(group, c) >= 0 {
				for _, g := range []byte(group) {
					if _, ok := f.set[g]; ok && g != c {
						return f, &cliError{code: ExitUsage, msg: "org.apache.commons.cli.AlreadySelectedException: The option '" +
							string(c) + "' was specified but an option from this group has already been selected: '" + string(g) + "'"}
					}
				}
			}
			if !takes {
				f.set[c] = ""
				continue
			}
			if j+1 < len(w) {
				f.set[c] = w[j+1:]
			} else if i+1 < len(words) {
				i++
				f.set[c] = words[i]
			} else {
				return f, &cliError{code: ExitUsage, msg: "org.apache.commons.cli.MissingArgumentException: Missing argument for option: " + string(c)}
			}
			break
		}
	}
	if required != "" && strings.IndexAny(string(mapKeys(f.set)), group) < 0 {
		return f, &cliError{code: ExitUsage, msg: "org.apache.commons.cli.MissingOptionException: Missing required option: " + required}
	}
	return f, nil
}

func mapKeys(m map[byte]string) []byte {
	var ks []byte
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// joinWords reassembles words for history and messages.
func joinWords(words []string) string { return strings.Join(words, " ") }
