package znode

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

// The cases follow ZooKeeper's PathUtilsTest and the rules of
// PathUtils.validatePath.
func TestValidatePath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/a", true},
		{"/a/b", true},
		{"/this is / a valid/path", true},
		{"/name/with.period.", true},
		{"/a/.b", true},
		{"/a/b.", true},
		{"/a/..b", true},
		{"/a/b..", true},
		{"/...", true},
		{"/a/.../b", true},
		{"/.a", true},
		{"/zookeeper/quota", true},
		{"/\u00A0\u00FF\u0100", true}, // just above the C1 range
		{"/\u4e2d\u6587", true},       // CJK
		{"/\uF900\uFFEF", true},       // just outside the forbidden ranges
		{"/tab\u007E", true},          // '~' is the last allowed ASCII
		{"/node-0000000001", true},    // a sequential name
		{"/-2147483648", true},        // a wrapped sequential suffix
		{"", false},                   // empty
		{"a", false},                  // relative
		{"a/b", false},                // relative
		{"//", false},                 // trailing slash
		{"/a/", false},                // trailing slash
		{"//a", false},                // empty segment
		{"/a//b", false},              // empty segment
		{"/.", false},                 // dot segment
		{"/..", false},                // dot-dot segment
		{"/a/.", false},               // dot segment at the end
		{"/a/..", false},              // dot-dot segment at the end
		{"/a/./b", false},             // dot segment inside
		{"/a/../b", false},            // dot-dot segment inside
		{"/./a", false},               // dot segment first
		{"/a\x00b", false},            // NUL
		{"/a\x01", false},             // U+0001
		{"/a\x1f", false},             // U+001F
		{"/a\x7f", false},             // U+007F
		{"/a\u0080", false},           // C1 control
		{"/a\u009f", false},           // C1 control
		{"/a\ud7ff", true},            // last before the surrogate range
		{"/a\ue000", false},           // private use (inside U+D800-U+F8FF)
		{"/a\uf8ff", false},           // end of that range
		{"/a\ufff0", false},           // specials
		{"/a\ufffd", false},           // replacement character
		{"/a\uffff", false},           // noncharacter
		{"/emoji\U0001F600", false},   // supplementary: a surrogate pair in UTF-16
		{"/a\xff", false},             // invalid UTF-8
		{"/a\xed\xa0\x80", false},     // encoded surrogate (invalid UTF-8)
		{"/a/\xc3", false},            // truncated UTF-8 sequence
		{"/a b/c\td", false},          // tab
		{"/line\nbreak", false},       // newline
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			err := ValidatePath(tt.path)
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, proto.ErrBadArguments)
		})
	}
}

func TestParentAndBase(t *testing.T) {
	tests := []struct{ path, parent, base string }{
		{"/", "", ""},
		{"/a", "/", "a"},
		{"/a/b", "/a", "b"},
		{"/a/b/c", "/a/b", "c"},
		{"/zookeeper/config", "/zookeeper", "config"},
		{"noslash", "", "noslash"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			assert.Equal(t, tt.parent, Parent(tt.path))
			assert.Equal(t, tt.base, Base(tt.path))
		})
	}
}
