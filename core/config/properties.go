package config

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxFileSize bounds how much of a configuration file is read. Real zoo.cfg
// files are a few kilobytes; anything this large is not a configuration.
const maxFileSize = 16 << 20

// Property is one key/value pair read from a .properties file, before
// ZooKeeper's trimming. Line is the line on which its logical line starts.
type Property struct {
	Key   string
	Value string
	Line  int
}

// naturalLine is one line of the file without its terminator.
type naturalLine struct {
	text string
	no   int
}

// ReadProperties reads r the way java.util.Properties.load does:
//
//   - lines end with \n, \r or \r\n;
//   - leading blanks (space, tab, form feed) are skipped;
//   - a line whose first non-blank character is '#' or '!' is a comment,
//     even if it ends with a backslash;
//   - a line ending in an odd number of backslashes continues on the next
//     line, whose leading blanks are skipped; a backslash at the very end of
//     the input is dropped;
//   - the key ends at the first unescaped '=', ':' or blank; blanks and then
//     at most one '=' or ':' and more blanks separate it from the value;
//   - in keys and values \t \n \r \f and \uXXXX are escapes and a backslash
//     before any other character stands for that character.
//
// Unlike Properties.load(InputStream), which decodes ISO-8859-1, the bytes
// are kept as they are (UTF-8), so a non-ASCII path survives instead of being
// mangled; \uXXXX escapes are encoded as UTF-8. Later duplicates are returned
// too: the caller decides (later wins, as in a Hashtable).
func ReadProperties(r io.Reader) ([]Property, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	lines := splitNaturalLines(string(data))
	var props []Property
	for i := 0; i < len(lines); {
		s := trimBlanksLeft(lines[i].text)
		start := lines[i].no
		if s == "" || s[0] == '#' || s[0] == '!' {
			i++
			continue
		}
		var logical strings.Builder
		for {
			i++
			if !endsWithOddBackslashes(s) {
				logical.WriteString(s)
				break
			}
			logical.WriteString(s[:len(s)-1])
			if i >= len(lines) {
				break
			}
			s = trimBlanksLeft(lines[i].text)
		}
		p, err := splitProperty(logical.String())
		if err != nil {
			return nil, &Error{Line: start, Reason: err.Error()}
		}
		p.Line = start
		props = append(props, p)
	}
	return props, nil
}

// splitNaturalLines splits s at \n, \r and \r\n, numbering lines from 1.
func splitNaturalLines(s string) []naturalLine {
	var out []naturalLine
	no := 1
	for len(s) > 0 {
		j := strings.IndexAny(s, "\r\n")
		if j < 0 {
			out = append(out, naturalLine{text: s, no: no})
			break
		}
		out = append(out, naturalLine{text: s[:j], no: no})
		no++
		if s[j] == '\r' && j+1 < len(s) && s[j+1] == '\n' {
			j++
		}
		s = s[j+1:]
	}
	return out
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

func trimBlanksLeft(s string) string {
	i := 0
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return s[i:]
}

func endsWithOddBackslashes(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitProperty separates one logical line into its unescaped key and value.
func splitProperty(line string) (Property, error) {
	keyLen, valueStart := len(line), len(line)
	hasSep, escaped := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if !escaped && (c == '=' || c == ':') {
			keyLen, valueStart, hasSep = i, i+1, true
			break
		}
		if !escaped && isBlank(c) {
			keyLen, valueStart = i, i+1
			break
		}
		escaped = c == '\\' && !escaped
	}
	for valueStart < len(line) {
		c := line[valueStart]
		if !isBlank(c) {
			if hasSep || (c != '=' && c != ':') {
				break
			}
			hasSep = true
		}
		valueStart++
	}
	key, err := unescape(line[:keyLen])
	if err != nil {
		return Property{}, err
	}
	value, err := unescape(line[valueStart:])
	if err != nil {
		return Property{}, err
	}
	return Property{Key: key, Value: value}, nil
}

// unescape applies Properties' escapes (loadConvert).
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		i++
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i >= len(s) {
			break
		}
		c = s[i]
		i++
		switch c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			u, ok := hex4(s[i:])
			if !ok {
				return "", fmt.Errorf(`malformed \uxxxx encoding`)
			}
			i += 4
			r := rune(u)
			if utf16.IsSurrogate(r) {
				// A surrogate pair written as two escapes is one character.
				if strings.HasPrefix(s[i:], `\u`) {
					if lo, ok := hex4(s[i+2:]); ok {
						if pair := utf16.DecodeRune(r, rune(lo)); pair != utf8.RuneError {
							r = pair
							i += 6
						}
					}
				}
				if utf16.IsSurrogate(r) {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
		default:
			// Any other escaped character, multi-byte ones included, stands
			// for itself: copy the rest of its UTF-8 sequence too.
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func hex4(s string) (uint16, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var v uint16
	for i := 0; i < 4; i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, true
}

// javaTrim removes leading and trailing characters <= U+0020, as
// java.lang.String.trim does; QuorumPeerConfig trims every key and value.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}
