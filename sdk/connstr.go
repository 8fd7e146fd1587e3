package sdk

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"

	"github.com/warrenhq/warren/core/znode"
)

// DefaultPort is the port assumed when a connect string host has none.
const DefaultPort = 2181

// ConnectString is a parsed connect string.
type ConnectString struct {
	// Hosts are "host:port" entries (IPv6 hosts in brackets), in the order
	// given.
	Hosts []string
	// Chroot is the path every call is relative to; "" for none.
	Chroot string
}

// ParseConnectString parses "host[:port][,host[:port]...][/chroot]". IPv6
// addresses must be bracketed ("[::1]:2181"); a missing port means 2181. The
// chroot must be a valid absolute path; "/" alone means no chroot.
func ParseConnectString(s string) (ConnectString, error) {
	var cs ConnectString
	hostPart := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		hostPart, cs.Chroot = s[:i], s[i:]
		if cs.Chroot == "/" {
			cs.Chroot = ""
		} else if err := validatePath(cs.Chroot, false); err != nil {
			return ConnectString{}, fmt.Errorf("sdk: connect string %q: chroot: %w", s, err)
		}
	}
	for _, h := range strings.Split(hostPart, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		addr, err := parseHost(h)
		if err != nil {
			return ConnectString{}, fmt.Errorf("sdk: connect string %q: %w", s, err)
		}
		cs.Hosts = append(cs.Hosts, addr)
	}
	if len(cs.Hosts) == 0 {
		return ConnectString{}, fmt.Errorf("sdk: connect string %q: no hosts", s)
	}
	return cs, nil
}

// parseHost normalises one host entry to "host:port".
func parseHost(h string) (string, error) {
	host, port := h, ""
	switch {
	case strings.HasPrefix(h, "["):
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", fmt.Errorf("host %q: missing ']'", h)
		}
		host, port = h[1:end], h[end+1:]
		if port != "" {
			if port[0] != ':' {
				return "", fmt.Errorf("host %q: junk after ']'", h)
			}
			port = port[1:]
		}
		if net.ParseIP(host) == nil {
			return "", fmt.Errorf("host %q: bad IPv6 address", h)
		}
	case strings.Count(h, ":") > 1:
		return "", fmt.Errorf("host %q: IPv6 addresses must be bracketed", h)
	case strings.Contains(h, ":"):
		i := strings.IndexByte(h, ':')
		host, port = h[:i], h[i+1:]
	}
	if host == "" {
		return "", fmt.Errorf("host %q: empty host", h)
	}
	p := DefaultPort
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			return "", fmt.Errorf("host %q: bad port", h)
		}
		p = n
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// hostList hands out hosts round-robin after one initial shuffle. It is
// used by the manager goroutine only.
type hostList struct {
	hosts []string
	next  int
}

func newHostList(hosts []string, shuffle bool) *hostList {
	h := &hostList{hosts: append([]string(nil), hosts...)}
	if shuffle {
		rand.Shuffle(len(h.hosts), func(i, j int) { h.hosts[i], h.hosts[j] = h.hosts[j], h.hosts[i] })
	}
	return h
}

// pick returns the next host entry and whether it completes a round.
func (h *hostList) pick() (string, bool) {
	s := h.hosts[h.next]
	h.next = (h.next + 1) % len(h.hosts)
	return s, h.next == 0
}

// resolve turns a "host:port" entry into dialable addresses, resolving the
// hostname again (never cached by the client).
func resolve(ctx context.Context, r *net.Resolver, entry string) ([]string, error) {
	host, port, err := net.SplitHostPort(entry)
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	if net.ParseIP(host) != nil {
		return []string{entry}, nil
	}
	ips, err := r.LookupHost(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("sdk: resolve %s: %w", host, err)
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = net.JoinHostPort(ip, port)
	}
	return out, nil
}

// validatePath applies ZooKeeper's PathUtils.validatePath, the same rules
// the server applies (core/znode), judged as Java does on UTF-16 code units;
// a sequential create may end with '/'.
func validatePath(p string, sequential bool) error {
	check := p
	if sequential {
		// As ZooKeeper's client: a sequential node's name gets its
		// counter appended, so "/a/" is a valid prefix.
		check += "1"
	}
	if err := znode.ValidatePath(check); err != nil {
		return fmt.Errorf("%w %q: %v", ErrInvalidPath, p, err)
	}
	return nil
}
