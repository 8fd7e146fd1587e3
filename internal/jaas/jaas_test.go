package jaas

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testProps are the JVM properties the tests expand "${...}" with.
var testProps = map[string]string{"warren.test.dir": "/var/lib/zk", "warren.test.empty": ""}

func propLookup(k string) (string, bool) {
	v, ok := testProps[k]
	return v, ok
}

// parseCase is a file that parses. want maps each section to its entries
// (Line included); the Java differential test checks the same cases
// against the JDK's parser.
type parseCase struct {
	name string
	src  string
	want map[string][]Entry
}

var parseCases = []parseCase{
	{
		name: "zookeeper server and client sections",
		src: `Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret"
       user_bob="bobsecret";
};
Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="bobsecret"; };
`,
		want: map[string][]Entry{
			"Server": {{Module: DigestLoginModule, Flag: FlagRequired, Line: 2,
				Options: map[string]string{"user_super": "adminsecret", "user_bob": "bobsecret"}}},
			"Client": {{Module: DigestLoginModule, Flag: FlagRequired, Line: 6,
				Options: map[string]string{"username": "bob", "password": "bobsecret"}}},
		},
	},
	{
		name: "comments, flags in any case, several entries, unquoted values",
		src: `// a line comment
/* a block
   comment */ KafkaServer {
   com.example.A REQUIRED debug=true;   // trailing comment
   com.example.B Sufficient;
   com.example.C optional a = b c=d;
   com.example.D requisite x=y.z-1 w=$HOME_dir;
};
Empty { };
`,
		want: map[string][]Entry{
			"KafkaServer": {
				{Module: "com.example.A", Flag: FlagRequired, Line: 4, Options: map[string]string{"debug": "true"}},
				{Module: "com.example.B", Flag: FlagSufficient, Line: 5, Options: map[string]string{}},
				{Module: "com.example.C", Flag: FlagOptional, Line: 6, Options: map[string]string{"a": "b", "c": "d"}},
				{Module: "com.example.D", Flag: FlagRequisite, Line: 7, Options: map[string]string{"x": "y.z-1", "w": "$HOME_dir"}},
			},
			"Empty": {},
		},
	},
	{
		name: "quoted names and values with escapes",
		src: `"My Section" {
  "com.example.Mod" "required"
  "user_svc/host@EXAMPLE.COM"="s3cret"
  q="say \"hi\" \\ back"
  e="\t\n\101\0612\477\x"
  slash="/etc/zookeeper/keytab"
  comment="// not a comment /* nor this */"
  u="pässwörd ☃";
};`,
		want: map[string][]Entry{
			"My Section": {{Module: "com.example.Mod", Flag: FlagRequired, Line: 2, Options: map[string]string{
				"user_svc/host@EXAMPLE.COM": "s3cret",
				"q":                         `say "hi" \ back`,
				"e":                         "\t\nA12'7x",
				"slash":                     "/etc/zookeeper/keytab",
				"comment":                   "// not a comment /* nor this */",
				"u":                         "pässwörd ☃",
			}}},
		},
	},
	{
		name: "non-ASCII words, repeated option keeps the last value, CRLF line ends",
		src:  "Sérver {\r\n m required\r\n user_josé=pässwörd\r\n k=\"1\" k=\"2\";\r\n};\r\n",
		want: map[string][]Entry{
			"Sérver": {{Module: "m", Flag: FlagRequired, Line: 2, Options: map[string]string{"user_josé": "pässwörd", "k": "2"}}},
		},
	},
	{
		name: "property expansion",
		src: `S { m required
  dir="${warren.test.dir}${/}data"
  twice="${warren.test.dir}:${warren.test.dir}"
  literal="${{warren.test.unset}} and ${{x}}"
  open="${warren.test.dir"
  empty="";
};`,
		want: map[string][]Entry{
			"S": {{Module: "m", Flag: FlagRequired, Line: 1, Options: map[string]string{
				"dir":     "/var/lib/zk/data",
				"twice":   "/var/lib/zk:/var/lib/zk",
				"literal": "${{warren.test.unset}} and ${{x}}",
				"open":    "${warren.test.dir",
				"empty":   "",
			}}},
		},
	},
	{
		name: "empty file",
		src:  "  // nothing\n",
		want: map[string][]Entry{},
	},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseWithProperties(strings.NewReader(tc.src), "test.jaas", propLookup)
			require.NoError(t, err)
			got := map[string][]Entry{}
			for _, name := range cfg.Sections() {
				require.True(t, cfg.HasSection(name))
				got[name] = cfg.Section(name)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// errorCase is a file Parse rejects. javaAccepts marks the files the JDK
// parses anyway (Parse is deliberately stricter there).
type errorCase struct {
	name        string
	src         string
	wantErr     string // substring, including the "file:line:" prefix
	javaAccepts bool
}

var errorCases = []errorCase{
	{name: "missing semicolon after section", src: "S { m required; }", wantErr: "test.jaas:1: expected ';' after '}'"},
	{name: "missing brace", src: "S\n m required;\n};", wantErr: "test.jaas:2: expected '{' after section name"},
	{name: "invalid flag", src: "S {\n m mandatory;\n};", wantErr: `test.jaas:2: invalid control flag "mandatory"`},
	{name: "missing flag", src: "S {\n m;\n};", wantErr: "test.jaas:2: expected a control flag, found ';'"},
	{name: "missing value", src: "S {\n m required k=;\n};", wantErr: `test.jaas:2: expected a value for option "k", found ';'`},
	{name: "missing equals", src: "S {\n m required k v;\n};", wantErr: `test.jaas:2: expected '=' after option "k", found "v"`},
	{name: "numeric value", src: "S {\n m required\n port=2181;\n};", wantErr: "test.jaas:3: a value starting with '2' must be quoted"},
	{name: "value starting with a dash", src: "S { m required k=-x; };", wantErr: "test.jaas:1: a value starting with '-' must be quoted"},
	{name: "section twice", src: "S { m required; };\nS { m required; };", wantErr: `test.jaas:2: section "S" defined twice`},
	{name: "unterminated entry", src: "S {\n m required k=v", wantErr: "test.jaas:2: expected an option key or ';', found end of file"},
	{name: "stray character", src: "S { m required k=v, w=x; };", wantErr: "test.jaas:1: unexpected character ','"},
	{name: "single quotes", src: "S { m required k='v'; };", wantErr: "test.jaas:1: single-quoted strings are not allowed"},
	// The JDK reads this as keyTab="/etc/other": the '/' starts a comment.
	{name: "unquoted path", src: "S {\n m required keyTab=/etc/zk.keytab\n \"/etc/other\";\n};", wantErr: "test.jaas:2: unexpected '/'", javaAccepts: true},
	{name: "unquoted path the JDK rejects", src: "S {\n m required keyTab=/etc/zk.keytab\n principal=\"zk\";\n};", wantErr: "test.jaas:2: unexpected '/'"},
	{name: "unterminated string", src: "S {\n m required k=\"abc\n;\n};", wantErr: "test.jaas:2: unterminated string", javaAccepts: true},
	{name: "unterminated comment", src: "S { m required; };\n/* open", wantErr: "test.jaas:2: unterminated /* comment", javaAccepts: true},
	{name: "unset property", src: "S {\n m required k=\"${warren.test.unset}\";\n};", wantErr: `test.jaas:2: option "k": unable to expand property "warren.test.unset"`},
	{name: "property expands to empty", src: "S { m required k=\"${warren.test.empty}\"; };", wantErr: `test.jaas:1: option "k": value "${warren.test.empty}" expanded to an empty value`},
	{name: "invalid UTF-8", src: "S { m required k=\"\xff\"; };", wantErr: "test.jaas:1: invalid UTF-8", javaAccepts: true},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseWithProperties(strings.NewReader(tc.src), "test.jaas", propLookup)
			require.Error(t, err)
			assert.Nil(t, cfg)
			assert.ErrorIs(t, err, ErrSyntax)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestParseWithoutPropertiesRejectsReferences(t *testing.T) {
	_, err := Parse(strings.NewReader(`S { m required k="${user.home}"; };`), "x.jaas")
	require.ErrorIs(t, err, ErrSyntax)
	assert.Contains(t, err.Error(), `x.jaas:1: option "k": unable to expand property "user.home"`)

	cfg, err := Parse(strings.NewReader(`S { m required k="${/}tmp"; };`), "x.jaas")
	require.NoError(t, err)
	assert.Equal(t, "/tmp", cfg.Section("S")[0].Options["k"])
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := Parse(io.MultiReader(strings.NewReader("S {"), iotest.ErrReader(boom)), "x.jaas")
	require.ErrorIs(t, err, boom)
	assert.NotErrorIs(t, err, ErrSyntax)
}

func TestSectionReturnsACopy(t *testing.T) {
	cfg, err := Parse(strings.NewReader(`S { m required k=v; };`), "x.jaas")
	require.NoError(t, err)
	s := cfg.Section("S")
	s[0].Options["k"] = "changed"
	s[0].Module = "changed"
	assert.Equal(t, "v", cfg.Section("S")[0].Options["k"])
	assert.Equal(t, "m", cfg.Section("S")[0].Module)
	assert.Nil(t, cfg.Section("s"), "section names are case-sensitive")
	assert.False(t, cfg.HasSection("s"))
}

func TestDigestUsers(t *testing.T) {
	const kafka = `
Server {
   org.apache.zookeeper.server.auth.DigestLoginModule required
   user_super="adminsecret"
   user_kafka="kafkasecret"
   debug="true";
};
QuorumServer {
   org.apache.zookeeper.server.auth.DigestLoginModule required
   user_quorum="q1";
   com.sun.security.auth.module.Krb5LoginModule optional user_ignored="x";
   org.apache.zookeeper.server.auth.DigestLoginModule required
   user_quorum="q2" user_other="";
};
Kerberos { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true; };
Nothing { };
`
	cfg, err := Parse(strings.NewReader(kafka), "kafka_server_jaas.conf")
	require.NoError(t, err)

	tests := []struct {
		section string
		want    map[string]string
		wantErr error
	}{
		{section: "", want: map[string]string{"super": "adminsecret", "kafka": "kafkasecret"}},
		{section: "Server", want: map[string]string{"super": "adminsecret", "kafka": "kafkasecret"}},
		{section: "QuorumServer", want: map[string]string{"quorum": "q2", "other": ""}},
		{section: "Kerberos", wantErr: ErrNoDigestModule},
		{section: "Nothing", wantErr: ErrNoSection},
		{section: "Client", wantErr: ErrNoSection},
		{section: "server", wantErr: ErrNoSection},
	}
	for _, tc := range tests {
		t.Run(tc.section, func(t *testing.T) {
			users, err := DigestUsers(cfg, tc.section)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Contains(t, err.Error(), "kafka_server_jaas.conf")
				assert.Nil(t, users)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, users)
		})
	}
}
