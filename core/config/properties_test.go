package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The expectations below were checked against java.util.Properties.load
// (OpenJDK 17) on the same bytes.
func TestReadPropertiesMatchesJava(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Property
	}{
		{"equals", "a=b\n", []Property{{"a", "b", 1}}},
		{"colon", "c:d\n", []Property{{"c", "d", 1}}},
		{"blank separator", "e f\n", []Property{{"e", "f", 1}}},
		{"leading blanks, trailing kept", "  g = h  \n", []Property{{"g", "h  ", 1}}},
		{"tabs around colon", "i\t:\tj\n", []Property{{"i", "j", 1}}},
		{"comments", "#x=y\n!z=w\n  # indented\nk=v\n", []Property{{"k", "v", 4}}},
		{"continuation skips leading blanks", "k=l\\\n   m\n", []Property{{"k", "lm", 1}}},
		{"comment does not continue", "#comment \\\nn=o\n", []Property{{"n", "o", 2}}},
		{"escaped separator in key", "p\\=q=r\n", []Property{{"p=q", "r", 1}}},
		{"escaped blank in key", "s\\ t=u\n", []Property{{"s t", "u", 1}}},
		{"unicode escapes", "\\u0041=\\u00e9\n", []Property{{"A", "é", 1}}},
		{"char escapes", "v=\\t\\q\\\\\n", []Property{{"v", "\tq\\", 1}}},
		{"second separator is value", "w==x\n", []Property{{"w", "=x", 1}}},
		{"colon after equals", "y=:z\n", []Property{{"y", ":z", 1}}},
		{"key alone", "lonely\n", []Property{{"lonely", "", 1}}},
		{"one separator after blanks", "aa =: bb\n", []Property{{"aa", ": bb", 1}}},
		{"continuation line may start with #", "bb=1\\\n\\\n#cc=2\n", []Property{{"bb", "1#cc=2", 1}}},
		{"even backslashes do not continue", "dd\\\\=3\\\\\nx=y\n", []Property{{"dd\\", "3\\", 1}, {"x", "y", 2}}},
		{"trailing backslash at EOF dropped", "ee=last\\", []Property{{"ee", "last", 1}}},
		{"empty continuation ends the line", "x=1\\\n\n y=2\n", []Property{{"x", "1", 1}, {"y", "2", 3}}},
		{"CR and CRLF", "y=2\rz=3\r\nq=a\\\r\n   b\n", []Property{{"y", "2", 1}, {"z", "3", 2}, {"q", "ab", 3}}},
		{"surrogate pair", "w=\\uD83D\\uDE00\n", []Property{{"w", "😀", 1}}},
		{"backslash-only line continues", "\\\n  k2=v2\n", []Property{{"k2", "v2", 1}}},
		{"duplicates kept in order", "a=1\na=2\n", []Property{{"a", "1", 1}, {"a", "2", 2}}},
		{"utf-8 kept", "dataDir=/var/lib/zöö\n", []Property{{"dataDir", "/var/lib/zöö", 1}}},
		{"empty input", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadProperties(strings.NewReader(tt.in))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadPropertiesMalformedUnicode(t *testing.T) {
	for _, in := range []string{"a=b\nc=\\u00zz\n", "a=b\nc=\\u12"} {
		_, err := ReadProperties(strings.NewReader(in))
		var ce *Error
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, 2, ce.Line)
		assert.Contains(t, ce.Reason, `malformed \uxxxx`)
	}
}

func TestJavaTrim(t *testing.T) {
	assert.Equal(t, "a b", javaTrim(" \t\x01a b\x00\r\n"))
	assert.Equal(t, "", javaTrim("  "))
}
