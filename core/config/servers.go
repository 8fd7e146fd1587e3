package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// serverFormat is the syntax ZooKeeper 3.8 documents for server.N values.
const serverFormat = "host:port:port[:participant|observer][|host:port:port...][;[host:]port]"

// parseServerID reads N from "server.N".
func parseServerID(key string) (int64, error) {
	s := strings.TrimPrefix(key, "server.")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		return 0, keyError("has an id that is not a non-negative number (server.N)")
	}
	return id, nil
}

// parseServer reads a server.N value the way ZooKeeper 3.8's
// QuorumPeer.QuorumServer does: the part before ';' is one or more
// '|'-separated "host:quorumPort:electionPort[:role]" addresses (IPv6 hosts in
// brackets), all with the same role; the optional part after ';' is the
// client address, "port" or "host:port".
func parseServer(id int64, v string) (Server, error) {
	bad := fmt.Errorf("is not a valid server entry (%s)", serverFormat)
	parts := strings.Split(v, ";")
	if len(parts) > 2 {
		return Server{}, bad
	}
	s := Server{ID: id, Role: RoleParticipant}
	for i, addr := range strings.Split(parts[0], "|") {
		fields, err := splitLeadingHost(strings.TrimSpace(addr))
		if err != nil {
			return Server{}, err
		}
		if len(fields) < 3 || len(fields) > 4 {
			return Server{}, bad
		}
		pa, err := peerAddress(fields)
		if err != nil {
			return Server{}, err
		}
		role := RoleParticipant
		if len(fields) == 4 {
			switch strings.ToLower(fields[3]) {
			case "participant":
			case "observer":
				role = RoleObserver
			default:
				return Server{}, fmt.Errorf("has an unknown role %q (participant or observer)", fields[3])
			}
		}
		if i == 0 {
			s.Host, s.QuorumPort, s.ElectionPort, s.Role = pa.Host, pa.QuorumPort, pa.ElectionPort, role
			continue
		}
		if role != s.Role {
			return Server{}, errors.New("gives its addresses different roles")
		}
		s.Alternates = append(s.Alternates, pa)
	}
	if len(parts) == 2 {
		fields, err := splitLeadingHost(strings.TrimSpace(parts[1]))
		if err != nil {
			return Server{}, err
		}
		host := WildcardAddress
		switch len(fields) {
		case 1:
		case 2:
			host = fields[0]
			if err := checkHost(host); err != nil {
				return Server{}, fmt.Errorf("has a client host that %s", err.Error())
			}
		default:
			return Server{}, bad
		}
		port, err := parsePort(fields[len(fields)-1])
		if err != nil {
			return Server{}, fmt.Errorf("has a client port that %s", err.Error())
		}
		s.ClientAddr = net.JoinHostPort(host, strconv.Itoa(port))
	}
	return s, nil
}

func peerAddress(fields []string) (PeerAddress, error) {
	if err := checkHost(fields[0]); err != nil {
		return PeerAddress{}, fmt.Errorf("has a host that %s", err.Error())
	}
	qp, err := parsePort(fields[1])
	if err != nil {
		return PeerAddress{}, fmt.Errorf("has a quorum port that %s", err.Error())
	}
	ep, err := parsePort(fields[2])
	if err != nil {
		return PeerAddress{}, fmt.Errorf("has an election port that %s", err.Error())
	}
	if qp == ep {
		return PeerAddress{}, errors.New("uses the same port for quorum and election")
	}
	return PeerAddress{Host: fields[0], QuorumPort: qp, ElectionPort: ep}, nil
}

// splitLeadingHost splits "host:a:b" at ':', keeping a leading bracketed
// IPv6 literal ("[::1]:a:b") whole and without its brackets.
func splitLeadingHost(s string) ([]string, error) {
	if !strings.HasPrefix(s, "[") {
		return strings.Split(s, ":"), nil
	}
	i := strings.Index(s, "]:")
	if i < 0 {
		return nil, errors.New("starts with '[' but has no matching ']:'")
	}
	return append([]string{s[1:i]}, strings.Split(s[i+2:], ":")...), nil
}
