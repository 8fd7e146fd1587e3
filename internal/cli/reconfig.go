package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/proto"
)

// reconfigArgs is a parsed reconfig command line.
type reconfigArgs struct {
	stat                        bool
	version                     int64
	file, members, add, remove  string
	hasFile, hasMembers, hasAdd bool
	hasRemove, hasVersion       bool
	versionText                 string
}

// reconfigLong are reconfig's multi-letter options (commons-cli short
// options with long names: "-members").
var reconfigLong = map[string]bool{"file": true, "members": true, "add": true, "remove": true}

// isReconfigOption reports whether commons-cli's DefaultParser takes w
// for one of reconfig's options rather than a value.
func isReconfigOption(w string) bool {
	if len(w) < 2 || w[0] != '-' {
		return false
	}
	if _, err := strconv.ParseFloat(w, 64); err == nil {
		return false // a negative number is a value
	}
	n := w[1:]
	return reconfigLong[n] || n[0] == 's' || n[0] == 'v'
}

// parseReconfig parses reconfig's command line as ReconfigCommand.parse
// does with commons-cli's DefaultParser; the first of repeated options
// wins.
func parseReconfig(words []string) (reconfigArgs, error) {
	var a reconfigArgs
	missing := func(o string) error {
		return usageErr("org.apache.commons.cli.MissingArgumentException: Missing argument for option: " + o)
	}
	value := func(i int) (string, bool) {
		if i < len(words) && !isReconfigOption(words[i]) {
			return words[i], true
		}
		return "", false
	}
	for i := 1; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			break
		}
		if len(w) < 2 || w[0] != '-' {
			continue // arguments are ignored
		}
		n := w[1:]
		if reconfigLong[n] {
			v, ok := value(i + 1)
			if !ok {
				return a, missing(n)
			}
			i++
			switch n {
			case "file":
				if !a.hasFile {
					a.file, a.hasFile = v, true
				}
			case "members":
				if !a.hasMembers {
					a.members, a.hasMembers = v, true
				}
			case "add":
				if !a.hasAdd {
					a.add, a.hasAdd = v, true
				}
			case "remove":
				if !a.hasRemove {
					a.remove, a.hasRemove = v, true
				}
			}
			continue
		}
		for j := 0; j < len(n); j++ {
			switch n[j] {
			case 's':
				a.stat = true
			case 'v':
				v := n[j+1:]
				if v == "" {
					var ok bool
					if v, ok = value(i + 1); !ok {
						return a, missing("v")
					}
					i++
				}
				if !a.hasVersion {
					a.versionText, a.hasVersion = v, true
				}
				j = len(n)
			default:
				return a, usageErr("org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: " + w)
			}
		}
	}
	if !a.hasFile && !a.hasMembers && !a.hasAdd && !a.hasRemove {
		return a, usageErr(usageLine("reconfig"))
	}
	a.version = -1
	if a.hasVersion {
		v, err := strconv.ParseInt(a.versionText, 16, 64)
		if err != nil {
			return a, usageErr("-v must be followed by a long (configuration version)")
		}
		a.version = v
	}
	if (a.hasFile || a.hasMembers) && (a.hasAdd || a.hasRemove) {
		return a, usageErr("Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)")
	}
	if a.hasFile && a.hasMembers {
		return a, usageErr("Can't use -file and -members together (conflicting non-incremental modes)")
	}
	a.add, a.remove, a.members = strings.ToLower(a.add), strings.ToLower(a.remove), strings.ToLower(a.members)
	if a.hasFile {
		members, err := readDynamicConfig(a.file)
		if err != nil {
			return a, usageErr("Error processing " + a.file + err.Error())
		}
		a.members, a.hasMembers = members, true
	}
	return a, nil
}

func (s *Shell) cmdReconfig(ctx context.Context, words []string) error {
	a, err := parseReconfig(words)
	if err != nil {
		return err
	}
	data, st, err := s.conn.Reconfig(ctx, a.add, a.remove, a.members, a.version)
	if err != nil {
		var code proto.Code
		if errors.As(err, &code) {
			// The Java client raises these without a path ("").
			exit := zkErr(err, "").(*cliError).code
			return &cliError{code: exit, msg: wrapperMessageRaw(code, "")}
		}
		return zkErr(err, "")
	}
	out := "Committed new configuration:\n" + string(data) + "\n"
	if a.stat {
		out += formatStat(st)
	}
	s.print(out)
	return nil
}

// wrongFormat is QuorumServer's message for a malformed server spec.
const wrongFormat = " does not have the form server_config or server_config;client_config where server_config is the pipe separated list of host:port:port or host:port:port:type and client_config is port or host:port"

// readDynamicConfig reads a dynamic configuration file (java.util.
// Properties: server.N=..., version=...) and renders it as the client's
// QuorumPeerConfig.parseDynamicConfig and QuorumMaj.toString do: one
// normalized "server.N=host:port:port:role[;host:port]" line per server
// in the order of its HashMap (id order for small ids), then
// "version=<hex>". Errors read as the Java exceptions' messages.
func readDynamicConfig(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			why := pe.Err.Error()
			switch {
			case errors.Is(err, fs.ErrNotExist):
				why = "No such file or directory"
			case errors.Is(err, fs.ErrPermission):
				why = "Permission denied"
			}
			return "", fmt.Errorf("%s (%s)", path, why)
		}
		return "", err
	}
	defer f.Close()
	loaded, err := loadProperties(f)
	if err != nil {
		return "", err
	}
	props := javaOrder(loaded)
	hierarchical := false
	for _, kv := range props {
		key := strings.TrimSpace(kv[0])
		switch {
		case strings.HasPrefix(key, "group") || strings.HasPrefix(key, "weight"):
			hierarchical = true
		case !strings.HasPrefix(key, "server.") && key != "version":
			return "", errors.New("Unrecognised parameter: " + key)
		}
	}
	type server struct {
		text     string
		observer bool
	}
	servers := map[int64]server{}
	var ids []int64
	version := int64(0)
	// A hierarchical quorum's groups (sid -> gid) and weights, with
	// their insertion orders.
	groupOf, weight := map[int64]int64{}, map[int64]int64{}
	var grouped, weighted []int64
	parseID := func(s string) (int64, error) {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("For input string: %q", s)
		}
		return id, nil
	}
	for _, kv := range props {
		key, value := kv[0], kv[1]
		suffix := key[strings.IndexByte(key, '.')+1:]
		switch {
		case key == "version":
			v, err := strconv.ParseInt(value, 16, 64)
			if err != nil {
				return "", fmt.Errorf("For input string: %q", value)
			}
			version = v
		case strings.HasPrefix(key, "server."):
			id, err := parseID(suffix)
			if err != nil {
				return "", err
			}
			text, observer, err := normalizeServer(id, value)
			if err != nil {
				return "", err
			}
			if _, ok := servers[id]; !ok {
				ids = append(ids, id)
			}
			servers[id] = server{text: text, observer: observer}
		case strings.HasPrefix(key, "group"):
			gid, err := parseID(suffix)
			if err != nil {
				return "", err
			}
			for _, m := range strings.Split(value, ":") {
				sid, err := parseID(m)
				if err != nil {
					return "", err
				}
				if _, ok := groupOf[sid]; !ok {
					grouped = append(grouped, sid)
				}
				groupOf[sid] = gid
			}
		case strings.HasPrefix(key, "weight"):
			sid, err := parseID(suffix)
			if err != nil {
				return "", err
			}
			w, err := parseID(value)
			if err != nil {
				return "", err
			}
			if _, ok := weight[sid]; !ok {
				weighted = append(weighted, sid)
			}
			weight[sid] = w
		}
	}
	var voters, observers int
	var b strings.Builder
	for _, id := range longMapOrder(ids) {
		sv := servers[id]
		if sv.observer {
			observers++
		} else {
			voters++
			if hierarchical {
				if _, ok := groupOf[id]; !ok {
					return "", fmt.Errorf("Server %dis not in a group", id)
				}
				if _, ok := weight[id]; !ok {
					weight[id] = 1
					weighted = append(weighted, id)
				}
			}
		}
		b.WriteString("server." + strconv.FormatInt(id, 10) + "=" + sv.text + "\n")
	}
	if hierarchical {
		// QuorumHierarchical.toString: each group's members joined by
		// ':' in the group map's order, then the weights.
		members := map[int64]string{}
		var gids []int64
		for _, sid := range longMapOrder(grouped) {
			gid := groupOf[sid]
			if m, ok := members[gid]; ok {
				members[gid] = m + ":" + strconv.FormatInt(sid, 10)
				continue
			}
			gids = append(gids, gid)
			members[gid] = strconv.FormatInt(sid, 10)
		}
		for _, gid := range longMapOrder(gids) {
			b.WriteString("group." + strconv.FormatInt(gid, 10) + "=" + members[gid] + "\n")
		}
		for _, sid := range longMapOrder(weighted) {
			b.WriteString("weight." + strconv.FormatInt(sid, 10) + "=" + strconv.FormatInt(weight[sid], 10) + "\n")
		}
	}
	switch {
	case voters == 0 && observers > 0:
		return "", errors.New("Observers w/o participants is an invalid configuration")
	case voters == 1 && observers > 0:
		return "", errors.New("Observers w/o quorum is an invalid configuration")
	}
	b.WriteString("version=" + strconv.FormatInt(version, 16))
	return b.String(), nil
}

// normalizeServer parses a server spec as QuorumServer does (one address;
// ZooKeeper's multi-address feature is off by default) and renders it as
// QuorumServer.toString: "host:port:port:role", then ";host:port" for the
// client address.
func normalizeServer(id int64, spec string) (string, bool, error) {
	parts := strings.Split(spec, ";")
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 2 {
		return "", false, errors.New(spec + wrongFormat)
	}
	client := ""
	if len(parts) == 2 {
		cp, err := hostAndPort(parts[1])
		if err != nil {
			return "", false, err
		}
		if len(cp) > 2 {
			return "", false, errors.New(spec + wrongFormat)
		}
		host := "0.0.0.0"
		if len(cp) == 2 {
			host = cp[0]
		}
		port, err := strconv.Atoi(cp[len(cp)-1])
		if err != nil {
			return "", false, errors.New("Address unresolved: null:" + cp[len(cp)-1])
		}
		client = ";" + javaHost(host) + ":" + strconv.Itoa(port)
	}
	if strings.Contains(parts[0], "|") {
		return "", false, fmt.Errorf("Multiple address feature is disabled, but multiple addresses were specified for sid %d", id)
	}
	sp, err := hostAndPort(parts[0])
	if err != nil {
		return "", false, err
	}
	if len(sp) < 3 || len(sp) > 4 {
		return "", false, errors.New(spec + wrongFormat)
	}
	port, err := strconv.Atoi(sp[1])
	if err != nil {
		return "", false, errors.New("Address unresolved: " + sp[0] + ":" + sp[1])
	}
	eport, err := strconv.Atoi(sp[2])
	if err != nil {
		return "", false, errors.New("Address unresolved: " + sp[0] + ":" + sp[2])
	}
	observer := false
	if len(sp) == 4 {
		switch strings.ToLower(strings.TrimSpace(sp[3])) {
		case "observer":
			observer = true
		case "participant":
		default:
			return "", false, errors.New("Unrecognised peertype: " + sp[3])
		}
	}
	role := ":participant"
	if observer {
		role = ":observer"
	}
	return javaHost(sp[0]) + ":" + strconv.Itoa(port) + ":" + strconv.Itoa(eport) + role + client, observer, nil
}

// hostAndPort is ConfigUtils.getHostAndPort: s split at ':' (trailing
// empty parts dropped), with a bracketed IPv6 host ("[::1]:a:b") kept
// whole.
func hostAndPort(s string) ([]string, error) {
	if !strings.HasPrefix(s, "[") {
		parts := strings.Split(s, ":")
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		return parts, nil
	}
	i := strings.IndexByte(s, ']')
	switch {
	case i < 0:
		return nil, errors.New(s + " starts with '[' but has no matching ']:'")
	case i+2 == len(s):
		return nil, errors.New(s + " doesn't have a port after colon")
	case i+2 < len(s):
		rest := strings.Split(s[i+2:], ":")
		for len(rest) > 1 && rest[len(rest)-1] == "" {
			rest = rest[:len(rest)-1]
		}
		return append([]string{s[1:i]}, rest...), nil
	}
	return []string{strings.NewReplacer("[", "", "]", "").Replace(s)}, nil
}

// javaHost is how InetSocketAddress.getHostString shows a host given as
// text, bracketed when it is IPv6 (QuorumServer.delimitedHostString): a
// name as given, an IP literal in Java's canonical form (IPv6 with all
// eight groups, no zero compression).
func javaHost(h string) string {
	ip := net.ParseIP(h)
	if ip == nil {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	groups := make([]string, 8)
	for i := range groups {
		groups[i] = strconv.FormatUint(uint64(ip[2*i])<<8|uint64(ip[2*i+1]), 16)
	}
	return "[" + strings.Join(groups, ":") + "]"
}

// loadProperties reads java.util.Properties' format (core/config's reader,
// the one zoo.cfg goes through); a repeated key keeps its first place and
// takes the later value, as in Properties' Hashtable.
func loadProperties(r io.Reader) ([][2]string, error) {
	props, err := config.ReadProperties(r)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	index := map[string]int{}
	for _, p := range props {
		if j, ok := index[p.Key]; ok {
			out[j][1] = p.Value
			continue
		}
		index[p.Key] = len(out)
		out = append(out, [2]string{p.Key, p.Value})
	}
	return out, nil
}

// javaOrder returns properties in the order java.util.Properties iterates
// them.
func javaOrder(props [][2]string) [][2]string {
	keys := make([]string, len(props))
	byKey := make(map[string]string, len(props))
	for i, kv := range props {
		keys[i] = kv[0]
		byKey[kv[0]] = kv[1]
	}
	out := make([][2]string, 0, len(props))
	for _, k := range propertiesOrder(keys) {
		out = append(out, [2]string{k, byKey[k]})
	}
	return out
}
