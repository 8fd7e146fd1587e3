package sasl

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Directive names of a digest-response that the server reads (compared
// ignoring case). Others, including RFC 2831's "nc" (the JDK looks for
// "nonce-count" instead), cipher and auth-param, are accepted and ignored.
const (
	dirUsername   = "username"
	dirRealm      = "realm"
	dirNonce      = "nonce"
	dirCnonce     = "cnonce"
	dirNonceCount = "nonce-count"
	dirQop        = "qop"
	dirDigestURI  = "digest-uri"
	dirResponse   = "response"
	dirMaxbuf     = "maxbuf"
	dirCharset    = "charset"
	dirCipher     = "cipher"
	dirAuthzid    = "authzid"
	dirAuthParam  = "auth-param"
)

// knownDirectives may each appear at most once in a digest-response.
var knownDirectives = []string{
	dirUsername, dirRealm, dirNonce, dirCnonce, dirNonceCount, dirQop, dirDigestURI,
	dirResponse, dirMaxbuf, dirCharset, dirCipher, dirAuthzid, dirAuthParam,
}

// isLWS reports linear white space as the JDK checks it, byte by byte.
func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipLWS(b []byte, i int) int {
	for i < len(b) && isLWS(b[i]) {
		i++
	}
	return i
}

// parseDirectives splits a digest-response into its known directives, keyed
// by lower-case name, with quoted-string escapes resolved. It follows the
// JDK's parser: elements are separated by ',' and/or white space, empty
// elements are skipped, a value is a quoted-string or runs to the next
// white space or ','; a known directive given twice is an error. Values must
// be UTF-8 (the negotiated charset).
func parseDirectives(b []byte) (map[string]string, error) {
	out := map[string]string{}
	add := func(key string, val []byte) error {
		lk := strings.ToLower(key)
		for _, k := range knownDirectives {
			if lk != k {
				continue
			}
			if _, dup := out[k]; dup {
				return fmt.Errorf("%w: more than one %s directive", ErrMalformed, k)
			}
			if !utf8.Valid(val) {
				return fmt.Errorf("%w: %s is not valid UTF-8", ErrMalformed, k)
			}
			out[k] = string(val)
		}
		return nil
	}

	var key, val []byte
	gettingKey, quoted, wantSep := true, false, false
	i := skipLWS(b, 0)
	for i < len(b) {
		c := b[i]
		switch {
		case gettingKey:
			switch {
			case c == ',':
				if len(key) != 0 {
					return nil, fmt.Errorf("%w: directive key %q contains ','", ErrMalformed, key)
				}
				i = skipLWS(b, i+1)
			case c == '=':
				if len(key) == 0 {
					return nil, fmt.Errorf("%w: empty directive key", ErrMalformed)
				}
				gettingKey = false
				i = skipLWS(b, i+1)
				if i >= len(b) {
					return nil, fmt.Errorf("%w: directive %q has no value", ErrMalformed, key)
				}
				if b[i] == '"' {
					quoted = true
					i++
				}
			case isLWS(c):
				i = skipLWS(b, i+1)
				if i >= len(b) || b[i] != '=' {
					return nil, fmt.Errorf("%w: '=' expected after key %q", ErrMalformed, key)
				}
			default:
				key = append(key, c)
				i++
			}
		case quoted:
			switch c {
			case '\\':
				i++
				if i >= len(b) {
					return nil, fmt.Errorf("%w: unterminated quoted value of %q", ErrMalformed, key)
				}
				val = append(val, b[i])
				i++
			case '"':
				i++
				quoted, wantSep = false, true
			default:
				val = append(val, c)
				i++
			}
		case isLWS(c) || c == ',':
			if err := add(string(key), val); err != nil {
				return nil, err
			}
			key, val = key[:0], val[:0]
			gettingKey, wantSep = true, false
			i = skipLWS(b, i+1)
		case wantSep:
			return nil, fmt.Errorf("%w: expected ',' after the quoted value of %q", ErrMalformed, key)
		default:
			val = append(val, c)
			i++
		}
	}
	if quoted {
		return nil, fmt.Errorf("%w: unterminated quoted value of %q", ErrMalformed, key)
	}
	if len(key) > 0 {
		if err := add(string(key), val); err != nil {
			return nil, err
		}
	}
	return out, nil
}
