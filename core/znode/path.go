package znode

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/warrenhq/warren/core/proto"
)

// ValidatePath reports whether path is a legal znode path, with the rules of
// ZooKeeper's PathUtils.validatePath: it starts with '/', does not end with
// '/' (unless it is the root), has no empty segment, no segment equal to "."
// or "..", no NUL and no character in U+0001-U+001F, U+007F-U+009F,
// U+D800-U+F8FF or U+FFF0-U+FFFF. Java checks UTF-16 code units, so every
// character outside the Basic Multilingual Plane (a surrogate pair there) is
// rejected too, and so is invalid UTF-8 (Java decodes it to U+FFFD).
//
// The error wraps proto.ErrBadArguments, the code ZooKeeper answers with.
func ValidatePath(path string) error {
	if path == "" {
		return pathError(path, "path length must be > 0")
	}
	if path[0] != '/' {
		return pathError(path, "path must start with / character")
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return pathError(path, "path must not end with / character")
	}
	// '/' and '.' are ASCII, so they never occur inside a multi-byte UTF-8
	// sequence and the segment checks can work on bytes.
	start := 1
	for i := 1; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		switch seg := path[start:i]; seg {
		case "":
			return pathError(path, fmt.Sprintf("empty node name specified @%d", i))
		case ".", "..":
			return pathError(path, fmt.Sprintf("relative paths not allowed @%d", i-1))
		}
		start = i + 1
	}
	for i, r := range path {
		switch {
		case r == 0:
			return pathError(path, fmt.Sprintf("null character not allowed @%d", i))
		case r == utf8.RuneError, forbiddenRune(r):
			return pathError(path, fmt.Sprintf("invalid character @%d", i))
		}
	}
	return nil
}

// forbiddenRune reports a character PathUtils rejects, judged by its UTF-16
// code units.
func forbiddenRune(r rune) bool {
	return r > 0 && r <= 0x1f ||
		r >= 0x7f && r <= 0x9f ||
		r >= 0xd800 && r <= 0xf8ff ||
		r >= 0xfff0 // U+FFF0-U+FFFF and every supplementary character (a surrogate pair in UTF-16)
}

func pathError(path, reason string) error {
	return fmt.Errorf("%w: invalid path %q: %s", proto.ErrBadArguments, path, reason)
}

// Parent returns the path of the parent of path: "/" for a child of the root
// and "" for the root itself or a string without '/'. It does not validate.
func Parent(path string) string {
	i := strings.LastIndexByte(path, '/')
	switch {
	case i < 0 || path == "/":
		return ""
	case i == 0:
		return "/"
	}
	return path[:i]
}

// Base returns the last segment of path (the child name): "" for the root.
// The result shares path's memory. It does not validate.
func Base(path string) string {
	return path[strings.LastIndexByte(path, '/')+1:]
}
