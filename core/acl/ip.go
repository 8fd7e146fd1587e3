package acl

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/warrenhq/warren/core/proto"
)

// IPID returns the ip id of a client connection from its remote address,
// given as "host:port", "[host]:port" or a bare address. The id is the
// address as Java's InetAddress.getHostAddress prints it, which is what
// ZooKeeper stores: dotted decimal for IPv4 (an IPv4-mapped IPv6 address
// counts as IPv4), eight uncompressed lowercase hex groups for IPv6
// ("0:0:0:0:0:0:0:1"), with a "%zone" suffix when there is one. An address
// that does not parse is used as it is.
func IPID(addr string) proto.Id {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(addr)
		if err2 != nil {
			return proto.Id{Scheme: SchemeIP, ID: addr}
		}
		ip = ap.Addr()
	}
	return proto.Id{Scheme: SchemeIP, ID: javaHostAddress(ip)}
}

func javaHostAddress(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	b := ip.As16()
	var sb strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16))
	}
	if z := ip.Zone(); z != "" {
		sb.WriteByte('%')
		sb.WriteString(z)
	}
	return sb.String()
}

// ipBytes parses an address the way IPAuthenticationProvider.addr2Bytes
// does: text with a ':' is IPv6 (16 bytes), else text with a '.' is IPv4
// (4 bytes), else nothing. It returns nil for text it rejects.
func ipBytes(s string) []byte {
	switch {
	case strings.Contains(s, ":"):
		return ipv6Bytes(s)
	case strings.Contains(s, "."):
		return ipv4Bytes(s)
	}
	return nil
}

// ipv4Bytes accepts exactly four dot-separated decimal parts in 0..255,
// each parsed by Integer.parseInt (so "+1", "01" and "-0" are accepted).
func ipv4Bytes(s string) []byte {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return nil
	}
	b := make([]byte, 4)
	for i, p := range parts {
		v, ok := javaParseInt(p, 10)
		if !ok || v < 0 || v > 255 {
			return nil
		}
		b[i] = byte(v)
	}
	return b
}

// ipv6Bytes accepts eight ':'-separated groups, or fewer with one "::"
// standing for at least one zero group. Each group has one to four
// characters parsed by Integer.parseInt(group, 16) and contributes the low
// 16 bits of the result (so a signed group such as "-1" reads 0xffff, as in
// ZooKeeper). Embedded IPv4 and zone suffixes are rejected.
func ipv6Bytes(s string) []byte {
	const groups = 8
	halves := strings.Split(s, "::")
	var head, tail []string
	switch len(halves) {
	case 1:
		head = strings.Split(halves[0], ":")
		if len(head) != groups {
			return nil
		}
	case 2:
		if halves[0] != "" {
			head = strings.Split(halves[0], ":")
		}
		if halves[1] != "" {
			tail = strings.Split(halves[1], ":")
		}
		if len(head)+len(tail) >= groups {
			return nil
		}
	default:
		return nil
	}
	b := make([]byte, 16)
	if !putGroups(b[:2*len(head)], head) || !putGroups(b[16-2*len(tail):], tail) {
		return nil
	}
	return b
}

func putGroups(dst []byte, groups []string) bool {
	for i, g := range groups {
		if g == "" || len(g) > 4 {
			return false
		}
		v, ok := javaParseInt(g, 16)
		if !ok {
			return false
		}
		dst[2*i] = byte(v >> 8)
		dst[2*i+1] = byte(v)
	}
	return true
}

// javaParseInt is Integer.parseInt(s, radix) for ASCII digits: an optional
// sign, at least one digit, and a result that fits in 32 bits.
func javaParseInt(s string, radix int) (int32, bool) {
	if s == "" {
		return 0, false
	}
	digits := s
	if s[0] == '+' || s[0] == '-' {
		digits = s[1:]
		if digits == "" {
			return 0, false
		}
	}
	for i := 0; i < len(digits); i++ {
		if digitValue(digits[i]) >= radix {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, radix, 32)
	if err != nil {
		return 0, false
	}
	return int32(v), true
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// ipPrefix parses an ip ACL expression "address[/bits]" into the address
// bytes and the prefix length (the full length when absent).
func ipPrefix(expr string) ([]byte, int, bool) {
	addr, bitsText, hasBits := strings.Cut(expr, "/")
	b := ipBytes(addr)
	if b == nil {
		return nil, 0, false
	}
	bits := len(b) * 8
	if hasBits {
		v, ok := javaParseInt(bitsText, 10)
		if !ok || v < 0 || int(v) > len(b)*8 {
			return nil, 0, false
		}
		bits = int(v)
	}
	return b, bits, true
}

// ipValid is IPAuthenticationProvider.isValid.
func ipValid(expr string) bool {
	_, _, ok := ipPrefix(expr)
	return ok
}

// ipMatches is IPAuthenticationProvider.matches: the session's address id
// matches expr when both parse, are of the same family, and agree on the
// first bits of expr's prefix length.
func ipMatches(id, expr string) bool {
	acl, bits, ok := ipPrefix(expr)
	if !ok {
		return false
	}
	remote := ipBytes(id)
	if remote == nil || len(remote) != len(acl) {
		return false
	}
	maskBits(acl, bits)
	maskBits(remote, bits)
	return string(acl) == string(remote)
}

// maskBits clears every bit of b after the first bits.
func maskBits(b []byte, bits int) {
	for i := bits / 8; i < len(b); i++ {
		if i == bits/8 {
			b[i] &^= byte(0xff >> (bits % 8))
		} else {
			b[i] = 0
		}
	}
}
