package config

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// ParseServerLine reads one "server.N=spec" line, as zoo.cfg, a reconfig
// request and /zookeeper/config write them.
func ParseServerLine(line string) (Server, error) {
	key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
	if !ok {
		return Server{}, fmt.Errorf("%q is not a server.N=... entry", line)
	}
	id, err := parseServerID(strings.TrimSpace(key))
	if err != nil || !strings.HasPrefix(strings.TrimSpace(key), "server.") {
		return Server{}, fmt.Errorf("%q does not start with server.N", line)
	}
	s, err := parseServer(id, strings.TrimSpace(value))
	if err != nil {
		return Server{}, fmt.Errorf("%s %w", strings.TrimSpace(key), err)
	}
	return s, nil
}

// RenderMembers writes the member lines of /zookeeper/config as ZooKeeper
// does (server.N=host:quorumPort:electionPort:role[;clientHost:clientPort],
// one per line, by id; no version line), except that a wildcard client host
// becomes the member's host, so that clients can use the address.
func RenderMembers(servers []Server) []byte {
	sorted := append([]Server(nil), servers...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	var b strings.Builder
	for _, sv := range sorted {
		fmt.Fprintf(&b, "server.%d=%s:%d:%d:%s", sv.ID, bracketHost(sv.Host), sv.QuorumPort, sv.ElectionPort, sv.Role)
		if host, port, err := net.SplitHostPort(sv.ClientAddr); err == nil {
			if host == WildcardAddress || host == "" || host == "::" {
				host = sv.Host
			}
			b.WriteString(";" + net.JoinHostPort(host, port))
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func bracketHost(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// Reconfigure computes the member lines after a reconfig request, as
// ZooKeeper's leader does: current is /zookeeper/config's data; either
// newMembers (server.N=... entries separated by commas or newlines)
// replaces the list, or leaving (comma-separated ids) are removed and
// joining (comma-separated entries) added or replaced. As in ZooKeeper
// 3.8, a leaving id that is not a member changes nothing, a joining server
// must give its client address and must not reuse another member's
// address, and the result must keep a participant, two with
// standaloneEnabled (ZooKeeper's default).
func Reconfigure(current []byte, joining, leaving, newMembers string, standaloneEnabled bool) ([]byte, error) {
	members := map[int64]Server{}
	if strings.TrimSpace(newMembers) != "" {
		for _, e := range splitMembers(newMembers) {
			s, err := ParseServerLine(e)
			if err != nil {
				return nil, err
			}
			members[s.ID] = s
		}
	} else {
		for _, line := range strings.Split(string(current), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "server.") {
				continue
			}
			s, err := ParseServerLine(line)
			if err != nil {
				return nil, fmt.Errorf("current configuration: %w", err)
			}
			members[s.ID] = s
		}
		for _, e := range splitList(leaving) {
			id, err := strconv.ParseInt(e, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("leaving server %q is not a server id", e)
			}
			delete(members, id) // an id that is not a member changes nothing (as in ZooKeeper)
		}
		for _, e := range splitList(joining) {
			s, err := ParseServerLine(e)
			if err != nil {
				return nil, err
			}
			if s.ClientAddr == "" {
				return nil, fmt.Errorf("server.%d has no client address: a joining server is given as "+
					"server.N=host:quorumPort:electionPort[:role];[clientHost:]clientPort", s.ID)
			}
			for _, o := range members {
				if o.ID == s.ID {
					continue
				}
				if err := addressConflict(s, o); err != nil {
					return nil, err
				}
			}
			members[s.ID] = s
		}
	}
	var out []Server
	participants := 0
	for _, s := range members {
		if len(s.Alternates) > 0 {
			return nil, fmt.Errorf("server.%d lists several addresses; Warren takes one per member", s.ID)
		}
		if s.Role == RoleParticipant {
			participants++
		}
		out = append(out, s)
	}
	if participants == 0 {
		return nil, fmt.Errorf("the new configuration has no participant")
	}
	// With standaloneEnabled a single voter would run standalone, which a
	// running ensemble cannot turn into: ZooKeeper asks for two.
	if standaloneEnabled && participants < 2 {
		return nil, fmt.Errorf("the new configuration has %d participant; with standaloneEnabled=true it needs at least 2", participants)
	}
	return RenderMembers(out), nil
}

// addressConflict refuses a joining server that would use an address
// (quorum, election or client) another member uses, as ZooKeeper's
// QuorumServer.checkAddressDuplicate does. Wildcard and loopback
// addresses are not compared: members on one host share them.
func addressConflict(s, other Server) error {
	addrs := func(sv Server) []string {
		out := []string{net.JoinHostPort(sv.Host, strconv.Itoa(sv.QuorumPort)), net.JoinHostPort(sv.Host, strconv.Itoa(sv.ElectionPort))}
		if sv.ClientAddr != "" {
			out = append(out, sv.ClientAddr)
		}
		var kept []string
		for _, a := range out {
			host, _, err := net.SplitHostPort(a)
			if err != nil || host == "" || host == "localhost" {
				continue
			}
			if ip := net.ParseIP(host); ip != nil && (ip.IsUnspecified() || ip.IsLoopback()) {
				continue
			}
			kept = append(kept, a)
		}
		return kept
	}
	theirs := addrs(other)
	for _, a := range addrs(s) {
		for _, b := range theirs {
			if a == b {
				return fmt.Errorf("%s of server.%d conflicts with %s of server.%d", a, s.ID, b, other.ID)
			}
		}
	}
	return nil
}

// splitMembers splits a new member list as ZooKeeper's leader reads it
// (commas become newlines, then java.util.Properties lines): entries
// separated by commas or newlines; blanks, '#'/'!' comments and the
// "version=" entry (zkCli's reconfig -file sends the file's parsed
// configuration, which ends with one) are dropped.
func splitMembers(s string) []string {
	var out []string
	for _, e := range splitList(strings.ReplaceAll(s, "\n", ",")) {
		if e[0] == '#' || e[0] == '!' {
			continue
		}
		if key, _, ok := strings.Cut(e, "="); ok && strings.TrimSpace(key) == "version" {
			continue
		}
		out = append(out, e)
	}
	return out
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
