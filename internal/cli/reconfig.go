package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"

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
const wrongFormat = " does not have the form server_config or server_config;client_config where server_config is host:port:port or host:port:port:type and client_config is port or host:port"

// readDynamicConfig reads a dynamic configuration file (java.util.
// Properties: server.N=..., version=...) and renders it as the client's
// QuorumPeerConfig.parseDynamicConfig and QuorumMaj.toString do: one
// normalized "server.N=host:port:port:role[;host:port]" line per server
// in id order, then "version=<hex>". Errors read as the Java exceptions'
// messages.
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
	props, err := loadProperties(f)
	if err != nil {
		return "", err
	}
	type server struct {
		id       int64
		text     string
		observer bool
	}
	var servers []server
	var extra []string
	version := int64(0)
	for _, kv := range props {
		key := strings.TrimSpace(kv[0])
		switch {
		case strings.HasPrefix(key, "group") || strings.HasPrefix(key, "weight"):
			extra = append(extra, key+"="+kv[1])
		case strings.HasPrefix(key, "server."):
			id, err := strconv.ParseInt(key[len("server."):], 10, 64)
			if err != nil {
				return "", fmt.Errorf("For input string: %q", key[len("server."):])
			}
			text, observer, err := normalizeServer(kv[1])
			if err != nil {
				return "", err
			}
			servers = append(servers, server{id: id, text: text, observer: observer})
		case key == "version":
			v, err := strconv.ParseInt(kv[1], 16, 64)
			if err != nil {
				return "", fmt.Errorf("For input string: %q", kv[1])
			}
			version = v
		default:
			return "", errors.New("Unrecognised parameter: " + key)
		}
	}
	sort.SliceStable(servers, func(i, j int) bool { return servers[i].id < servers[j].id })
	var voters, observers int
	var b strings.Builder
	for _, sv := range servers {
		if sv.observer {
			observers++
		} else {
			voters++
		}
		b.WriteString("server." + strconv.FormatInt(sv.id, 10) + "=" + sv.text + "\n")
	}
	switch {
	case voters == 0 && observers > 0:
		return "", errors.New("Observers w/o participants is an invalid configuration")
	case voters == 1 && observers > 0:
		return "", errors.New("Observers w/o quorum is an invalid configuration")
	}
	sort.Strings(extra)
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	b.WriteString("version=" + strconv.FormatInt(version, 16))
	return b.String(), nil
}

// normalizeServer parses a server spec as QuorumServer does and renders
// it as QuorumServer.toString: "host:port:port:role" for each address
// ('|'-separated), then ";host:port" for the client address.
func normalizeServer(spec string) (string, bool, error) {
	parts := strings.Split(spec, ";")
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 2 {
		return "", false, errors.New(spec + wrongFormat)
	}
	client := ""
	if len(parts) == 2 {
		cp := hostAndPort(parts[1])
		if len(cp) > 2 {
			return "", false, errors.New(spec + wrongFormat)
		}
		host := "0.0.0.0"
		if len(cp) == 2 {
			host = cp[0]
		}
		port, err := strconv.Atoi(cp[len(cp)-1])
		if err != nil {
			return "", false, errors.New("Address unresolved: " + host + ":" + cp[len(cp)-1])
		}
		client = ";" + delimitedHost(host) + ":" + strconv.Itoa(port)
	}
	observer := false
	var addrs []string
	for _, a := range strings.Split(parts[0], "|") {
		sp := hostAndPort(a)
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
		if len(sp) == 4 {
			switch strings.ToLower(strings.TrimSpace(sp[3])) {
			case "observer":
				observer = true
			case "participant":
			default:
				return "", false, errors.New("Unrecognised peertype: " + sp[3])
			}
		}
		addrs = append(addrs, delimitedHost(sp[0])+":"+strconv.Itoa(port)+":"+strconv.Itoa(eport))
	}
	sort.Strings(addrs)
	role := ":participant"
	if observer {
		role = ":observer"
	}
	return strings.Join(addrs, "|") + role + client, observer, nil
}

// hostAndPort is ConfigUtils.getHostAndPort: "host:a:b" split at ':',
// with a bracketed IPv6 host ("[::1]:a:b") kept whole.
func hostAndPort(s string) []string {
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i > 0 {
			rest := s[i+1:]
			parts := []string{s[1:i]}
			if rest != "" {
				parts = append(parts, strings.Split(strings.TrimPrefix(rest, ":"), ":")...)
			}
			return parts
		}
	}
	return strings.Split(s, ":")
}

// delimitedHost brackets an IPv6 host, as QuorumServer prints it.
func delimitedHost(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// loadProperties reads java.util.Properties' line format: "key=value",
// "key:value" or "key value", '#' and '!' comments, backslash line
// continuations; later keys replace earlier ones.
func loadProperties(f *os.File) ([][2]string, error) {
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var out [][2]string
	index := map[string]int{}
	pending := ""
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t\f")
		if pending == "" && (line == "" || line[0] == '#' || line[0] == '!') {
			continue
		}
		if strings.HasSuffix(line, "\\") && !strings.HasSuffix(line, "\\\\") {
			pending += line[:len(line)-1]
			continue
		}
		line = pending + line
		pending = ""
		key, value := line, ""
		if i := strings.IndexAny(line, "=: \t\f"); i >= 0 {
			key = line[:i]
			rest := strings.TrimLeft(line[i:], " \t\f")
			if line[i] == ' ' || line[i] == '\t' || line[i] == '\f' {
				if rest != "" && (rest[0] == '=' || rest[0] == ':') {
					rest = strings.TrimLeft(rest[1:], " \t\f")
				}
			} else {
				rest = strings.TrimLeft(line[i+1:], " \t\f")
			}
			value = rest
		}
		if j, ok := index[key]; ok {
			out[j][1] = value
			continue
		}
		index[key] = len(out)
		out = append(out, [2]string{key, value})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
