package cli

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/chzyer/readline"
)

// completeTimeout bounds the getChildren a path completion makes: Tab must
// not hang on a lost connection.
const completeTimeout = 2 * time.Second

// Completer returns the shell's Tab completion, as zkCli's: the first word
// completes to a command name, a word that starts with "/" to the children
// of the node it names so far (read from the server, so it follows the
// session's chroot and ACLs).
func (s *Shell) Completer() readline.AutoCompleter { return completer{s} }

type completer struct{ s *Shell }

// Do implements readline.AutoCompleter: it returns the candidates' rest
// after the word under the cursor and that word's length in runes.
func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	text := string(line[:pos])
	start := strings.LastIndexAny(text, " \t") + 1
	word := text[start:]
	if strings.TrimSpace(text[:start]) == "" {
		var out [][]rune
		for name := range commands {
			if strings.HasPrefix(name, word) {
				out = append(out, []rune(name[len(word):]+" "))
			}
		}
		slices.SortFunc(out, func(a, b []rune) int { return strings.Compare(string(a), string(b)) })
		return out, len([]rune(word))
	}
	// readline calls Do on its own goroutine, maybe while a command runs.
	conn := c.s.live.Load()
	if !strings.HasPrefix(word, "/") || conn == nil {
		return nil, 0
	}
	slash := strings.LastIndexByte(word, '/')
	dir, prefix := word[:slash], word[slash+1:]
	if dir == "" {
		dir = "/"
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(completeTimeout, c.s.cfg.Timeout))
	defer cancel()
	children, _, err := conn.Children(ctx, dir)
	if err != nil {
		return nil, 0
	}
	slices.Sort(children)
	var out [][]rune
	for _, child := range children {
		if strings.HasPrefix(child, prefix) {
			out = append(out, []rune(child[len(prefix):]))
		}
	}
	return out, len([]rune(prefix))
}
