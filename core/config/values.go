package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Value parsers. Each returns an error whose text follows the quoted value in
// an Error message: `clientPort: "abc" is not a valid port`.

var (
	errInt  = errors.New("is not a valid integer")
	errPort = errors.New("is not a valid port (1-65535)")
)

// parseInt reads a decimal int32 as Integer.parseInt does (optional sign,
// ASCII digits), which is how QuorumPeerConfig reads its own keys.
func parseInt(v string) (int, error) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, errInt
	}
	return int(n), nil
}

// parseDecode reads a number as Integer.decode/Long.decode do, which is how
// Integer.getInteger and Long.getLong read system properties: an optional
// sign, then "0x", "0X" or "#" for hexadecimal, a leading "0" for octal, or
// decimal. bits is 32 or 64.
func parseDecode(v string, bits int) (int64, error) {
	s, neg := v, false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		base, s = 16, s[2:]
	case strings.HasPrefix(s, "#"):
		base, s = 16, s[1:]
	case strings.HasPrefix(s, "0") && len(s) > 1:
		base, s = 8, s[1:]
	}
	if s == "" || s[0] == '-' || s[0] == '+' {
		return 0, errInt
	}
	u, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, errInt
	}
	limit := uint64(math.MaxInt32)
	if bits == 64 {
		limit = math.MaxInt64
	}
	if neg {
		limit++
	}
	if u > limit {
		return 0, errInt
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// parseSysInt reads an int32 system property (Integer.getInteger).
func parseSysInt(v string) (int, error) {
	n, err := parseDecode(v, 32)
	return int(n), err
}

func parsePort(v string) (int, error) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 1 || n > 65535 {
		return 0, errPort
	}
	return int(n), nil
}

// parseBool reads "true" or "false" in any case. QuorumPeerConfig rejects
// anything else for its own keys; for system properties Java's
// Boolean.parseBoolean would quietly read any other word as false, which
// hides typos such as "yes", so Warren rejects those too.
func parseBool(v string) (bool, error) {
	switch {
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, errors.New("is not a valid boolean (true or false)")
}

// parseYesNo reads ZooKeeper's yes/no switches (skipACL, forceSync), which
// ZooKeeper compares case-sensitively with "yes" or "no"; any other word,
// "true" included, would silently mean the default there, so Warren rejects it.
func parseYesNo(v string) (bool, error) {
	switch v {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, errors.New(`is not "yes" or "no" (ZooKeeper reads only these)`)
}

func atLeast(n, min int) error {
	if n < min {
		return errors.New("must be at least " + strconv.Itoa(min))
	}
	return nil
}
