// Package jaas owns reading JAAS login configuration files, the file a Java
// process names with -Djava.security.auth.login.config and that ZooKeeper
// reads its SASL users from. It parses the syntax of the JDK's default
// Configuration (sun.security.provider.ConfigFile):
//
//	Server {
//	    org.apache.zookeeper.server.auth.DigestLoginModule required
//	    user_super="adminsecret"
//	    user_bob="bobsecret";
//	};
//
// A file is a list of sections "Name { entries };". An entry is a login
// module class, a control flag (required, requisite, sufficient or optional,
// any case) and options "key=value", ended by ';'. Names, keys and values
// are words or double-quoted strings; "//" and "/* */" are comments.
//
// Where the JDK is lenient in a way that silently changes a file's meaning,
// Parse reports an error instead: a lone '/' (which the JDK takes as the
// start of a comment, so an unquoted path like keyTab=/etc/x swallows the
// rest of the line), a string or comment left open, and a single-quoted
// string. Like the JDK, it rejects a word that starts with a digit, '.' or
// '-' (quote such values) and a section named twice; a repeated option key
// keeps its last value.
package jaas

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"unicode/utf8"
)

// Control flags of an Entry, as Parse stores them (lower case).
const (
	FlagRequired   = "required"
	FlagRequisite  = "requisite"
	FlagSufficient = "sufficient"
	FlagOptional   = "optional"
)

// ErrSyntax is wrapped by every error Parse returns for a malformed file.
var ErrSyntax = errors.New("jaas: syntax error")

// Entry is one login module line of a section.
type Entry struct {
	// Module is the login module's class name as written.
	Module string
	// Flag is the control flag, lower-cased (one of the Flag constants).
	Flag string
	// Options maps option keys to their values (property references
	// expanded, see ParseWithProperties).
	Options map[string]string
	// Line is the line of the file the entry starts on (1-based).
	Line int
}

// Config is a parsed JAAS file.
type Config struct {
	// Name is the file name given to Parse, used in error messages.
	Name     string
	sections map[string][]Entry
	order    []string
}

// Section returns the entries of the section called name (case-sensitive,
// as in the JDK), in file order, or nil if there is none. The result is a
// copy: changing it does not change c.
func (c *Config) Section(name string) []Entry {
	entries, ok := c.sections[name]
	if !ok {
		return nil
	}
	out := make([]Entry, len(entries))
	for i, e := range entries {
		e.Options = maps.Clone(e.Options)
		out[i] = e
	}
	return out
}

// HasSection reports whether the file defines a section called name, even
// an empty one.
func (c *Config) HasSection(name string) bool {
	_, ok := c.sections[name]
	return ok
}

// Sections returns the section names in file order.
func (c *Config) Sections() []string { return append([]string(nil), c.order...) }

// Parse reads a JAAS login configuration from r. name labels error messages
// ("name:line: message"). Option values are taken literally except that, as
// in the JDK, "${prop}" references are expanded; Parse knows no properties,
// so a value referring to one is an error (see ParseWithProperties).
func Parse(r io.Reader, name string) (*Config, error) {
	return ParseWithProperties(r, name, nil)
}

// ParseWithProperties is Parse with the JVM system properties that "${prop}"
// references in option values expand to, as the JDK does unless
// policy.expandProperties is false. props returns a property's value and
// whether it is set; nil means no property is set. "${/}" expands to "/",
// "${{...}}" is kept as written, and a "${" without a closing "}" is
// literal text. A reference to an unset property, or a non-empty value that
// expands to "", is an error.
func ParseWithProperties(r io.Reader, name string, props func(key string) (string, bool)) (*Config, error) {
	data, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("jaas: reading %s: %w", name, err)
	}
	p := &parser{lex: lexer{src: data, line: 1, name: name}, props: props}
	cfg := &Config{Name: name, sections: map[string][]Entry{}}
	if err := p.file(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// tokKind classifies a token.
type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokString // a double-quoted string, unescaped
	tokPunct  // one of { } ; =
)

type token struct {
	kind tokKind
	text string // word, string contents, or the punctuation character
	line int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of file"
	case tokWord:
		return fmt.Sprintf("%q", t.text)
	case tokString:
		return fmt.Sprintf("string %q", t.text)
	default:
		return fmt.Sprintf("'%s'", t.text)
	}
}

// lexer splits a file into tokens following java.io.StreamTokenizer as the
// JDK configures it for login configuration files.
type lexer struct {
	src  []byte
	pos  int
	line int
	name string
}

func (l *lexer) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%w: %s:%d: %s", ErrSyntax, l.name, line, fmt.Sprintf(format, args...))
}

// newline advances past a line break at l.pos ("\n", "\r" or "\r\n").
func (l *lexer) newline() {
	if l.src[l.pos] == '\r' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '\n' {
		l.pos++
	}
	l.pos++
	l.line++
}

// wordStart reports whether r may begin a word: letters, '$', '_', '*' and
// every character from U+00A0 up (StreamTokenizer's default word
// characters plus the ones the JDK's parser adds).
func wordStart(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '$' || r == '_' || r == '*' || r >= 0xA0
}

// wordPart reports whether r may continue a word: a word start, a digit,
// '.' or '-'.
func wordPart(r rune) bool {
	return wordStart(r) || r >= '0' && r <= '9' || r == '.' || r == '-'
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n' || c == '\r':
			l.newline()
		case c <= ' ':
			l.pos++
		case c == '/':
			if err := l.comment(); err != nil {
				return token{}, err
			}
		default:
			return l.token()
		}
	}
	return token{kind: tokEOF, line: l.line}, nil
}

// comment skips a comment starting at l.pos, which holds '/'.
func (l *lexer) comment() error {
	start := l.line
	if l.pos+1 < len(l.src) && l.src[l.pos+1] == '/' {
		for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
			l.pos++
		}
		return nil
	}
	if l.pos+1 < len(l.src) && l.src[l.pos+1] == '*' {
		l.pos += 2
		for l.pos < len(l.src) {
			switch {
			case l.src[l.pos] == '*' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '/':
				l.pos += 2
				return nil
			case l.src[l.pos] == '\n' || l.src[l.pos] == '\r':
				l.newline()
			default:
				l.pos++
			}
		}
		return l.errorf(start, "unterminated /* comment")
	}
	return l.errorf(l.line, "unexpected '/' (the JDK reads it as the start of a comment; quote values that contain '/')")
}

func (l *lexer) token() (token, error) {
	line := l.line
	c := l.src[l.pos]
	switch c {
	case '{', '}', ';', '=':
		l.pos++
		return token{kind: tokPunct, text: string(c), line: line}, nil
	case '"':
		s, err := l.quoted()
		return token{kind: tokString, text: s, line: line}, err
	case '\'':
		return token{}, l.errorf(line, "single-quoted strings are not allowed; use double quotes")
	}
	r, size := utf8.DecodeRune(l.src[l.pos:])
	if r == utf8.RuneError && size <= 1 {
		return token{}, l.errorf(line, "invalid UTF-8")
	}
	if !wordStart(r) {
		if r >= '0' && r <= '9' || r == '.' || r == '-' {
			return token{}, l.errorf(line, "a value starting with %q must be quoted", r)
		}
		return token{}, l.errorf(line, "unexpected character %q", r)
	}
	start := l.pos
	for l.pos < len(l.src) {
		r, size = utf8.DecodeRune(l.src[l.pos:])
		if r == utf8.RuneError && size <= 1 {
			return token{}, l.errorf(line, "invalid UTF-8")
		}
		if !wordPart(r) {
			break
		}
		l.pos += size
	}
	return token{kind: tokWord, text: string(l.src[start:l.pos]), line: line}, nil
}

// quoted reads a double-quoted string starting at l.pos and returns its
// contents with StreamTokenizer's escapes resolved: \a \b \f \n \r \t \v,
// up to three octal digits (\0 to \377), and '\' before any other character
// stands for that character. The string must close on the line it opens.
func (l *lexer) quoted() (string, error) {
	line := l.line
	l.pos++ // opening quote
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '"':
			l.pos++
			return b.String(), nil
		case '\n', '\r':
			return "", l.errorf(line, "unterminated string")
		case '\\':
			l.pos++
			if l.pos >= len(l.src) {
				return "", l.errorf(line, "unterminated string")
			}
			if err := l.escape(&b, line); err != nil {
				return "", err
			}
		default:
			r, size := utf8.DecodeRune(l.src[l.pos:])
			if r == utf8.RuneError && size <= 1 {
				return "", l.errorf(line, "invalid UTF-8")
			}
			b.WriteRune(r)
			l.pos += size
		}
	}
	return "", l.errorf(line, "unterminated string")
}

// simpleEscapes are StreamTokenizer's one-letter escapes.
var simpleEscapes = map[byte]rune{'a': 7, 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}

// escape resolves the escape whose character is at l.pos.
func (l *lexer) escape(b *strings.Builder, line int) error {
	c := l.src[l.pos]
	if r, ok := simpleEscapes[c]; ok {
		b.WriteRune(r)
		l.pos++
		return nil
	}
	if c >= '0' && c <= '7' {
		// StreamTokenizer: up to two more octal digits, the third only
		// when the first is at most '3' (so the value stays below 256).
		v := rune(c - '0')
		limit := 2
		if c > '3' {
			limit = 1
		}
		l.pos++
		for i := 0; i < limit && l.pos < len(l.src) && l.src[l.pos] >= '0' && l.src[l.pos] <= '7'; i++ {
			v = v*8 + rune(l.src[l.pos]-'0')
			l.pos++
		}
		b.WriteRune(v)
		return nil
	}
	if c == '\n' || c == '\r' {
		return l.errorf(line, "unterminated string")
	}
	r, size := utf8.DecodeRune(l.src[l.pos:])
	if r == utf8.RuneError && size <= 1 {
		return l.errorf(line, "invalid UTF-8")
	}
	b.WriteRune(r)
	l.pos += size
	return nil
}

type parser struct {
	lex   lexer
	tok   token
	props func(string) (string, bool)
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tokPunct && p.tok.text == s }

// expect consumes the punctuation s.
func (p *parser) expect(s, what string) error {
	if !p.isPunct(s) {
		return p.lex.errorf(p.tok.line, "expected '%s' %s, found %s", s, what, p.tok)
	}
	return p.advance()
}

// text consumes a word or quoted string and returns it.
func (p *parser) text(what string) (string, error) {
	if p.tok.kind != tokWord && p.tok.kind != tokString {
		return "", p.lex.errorf(p.tok.line, "expected %s, found %s", what, p.tok)
	}
	s := p.tok.text
	return s, p.advance()
}

func (p *parser) file(cfg *Config) error {
	if err := p.advance(); err != nil {
		return err
	}
	for p.tok.kind != tokEOF {
		line := p.tok.line
		name, err := p.text("a section name")
		if err != nil {
			return err
		}
		if err := p.expect("{", "after section name "+fmt.Sprintf("%q", name)); err != nil {
			return err
		}
		entries := []Entry{}
		for !p.isPunct("}") {
			e, err := p.entry()
			if err != nil {
				return err
			}
			entries = append(entries, e)
		}
		if err := p.advance(); err != nil { // '}'
			return err
		}
		if err := p.expect(";", "after '}' of section "+fmt.Sprintf("%q", name)); err != nil {
			return err
		}
		if _, dup := cfg.sections[name]; dup {
			return p.lex.errorf(line, "section %q defined twice", name)
		}
		cfg.sections[name] = entries
		cfg.order = append(cfg.order, name)
	}
	return nil
}

func (p *parser) entry() (Entry, error) {
	e := Entry{Line: p.tok.line, Options: map[string]string{}}
	var err error
	if e.Module, err = p.text("a login module class name"); err != nil {
		return Entry{}, err
	}
	flagLine := p.tok.line
	flag, err := p.text("a control flag")
	if err != nil {
		return Entry{}, err
	}
	switch f := strings.ToLower(flag); f {
	case FlagRequired, FlagRequisite, FlagSufficient, FlagOptional:
		e.Flag = f
	default:
		return Entry{}, p.lex.errorf(flagLine, "invalid control flag %q (want required, requisite, sufficient or optional)", flag)
	}
	for !p.isPunct(";") {
		key, err := p.text("an option key or ';'")
		if err != nil {
			return Entry{}, err
		}
		if err := p.expect("=", "after option "+fmt.Sprintf("%q", key)); err != nil {
			return Entry{}, err
		}
		valLine := p.tok.line
		val, err := p.text(fmt.Sprintf("a value for option %q", key))
		if err != nil {
			return Entry{}, err
		}
		if val, err = expand(val, p.props); err != nil {
			return Entry{}, p.lex.errorf(valLine, "option %q: %v", key, err)
		}
		e.Options[key] = val
	}
	return e, p.advance() // ';'
}

// expand resolves "${prop}" references the way the JDK's PropertyExpander
// does.
func expand(v string, props func(string) (string, bool)) (string, error) {
	if !strings.Contains(v, "${") {
		return v, nil
	}
	var b strings.Builder
	rest := v
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i:]
		if strings.HasPrefix(rest, "${{") {
			end := strings.Index(rest[3:], "}}")
			if end < 0 || 3+end+2 == len(rest) {
				b.WriteString(rest)
				break
			}
			b.WriteString(rest[:3+end+2])
			rest = rest[3+end+2:]
			continue
		}
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			b.WriteString(rest)
			break
		}
		key := rest[2:end]
		switch val, ok := lookup(props, key); {
		case key == "/":
			b.WriteByte('/')
		case ok:
			b.WriteString(val)
		default:
			return "", fmt.Errorf("unable to expand property %q (not set)", key)
		}
		rest = rest[end+1:]
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("value %q expanded to an empty value", v)
	}
	return b.String(), nil
}

func lookup(props func(string) (string, bool), key string) (string, bool) {
	if props == nil {
		return "", false
	}
	return props(key)
}
