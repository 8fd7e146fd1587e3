package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/sdk"
)

// javaDate formats a millisecond timestamp as java.util.Date.toString does
// ("Tue Nov 24 23:21:42 UTC 2026"), in the local time zone.
func javaDate(ms int64) string {
	return time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006")
}

// formatStat renders a Stat as zkCli's StatPrinter does.
func formatStat(st sdk.Stat) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cZxid = 0x%x\n", uint64(st.Czxid))
	fmt.Fprintf(&b, "ctime = %s\n", javaDate(st.Ctime))
	fmt.Fprintf(&b, "mZxid = 0x%x\n", uint64(st.Mzxid))
	fmt.Fprintf(&b, "mtime = %s\n", javaDate(st.Mtime))
	fmt.Fprintf(&b, "pZxid = 0x%x\n", uint64(st.Pzxid))
	fmt.Fprintf(&b, "cversion = %d\n", st.Cversion)
	fmt.Fprintf(&b, "dataVersion = %d\n", st.Version)
	fmt.Fprintf(&b, "aclVersion = %d\n", st.Aversion)
	fmt.Fprintf(&b, "ephemeralOwner = 0x%x\n", uint64(st.EphemeralOwner))
	fmt.Fprintf(&b, "dataLength = %d\n", st.DataLength)
	fmt.Fprintf(&b, "numChildren = %d\n", st.NumChildren)
	return b.String()
}

// javaList renders a list as java.util.List.toString does: "[a, b]".
func javaList(items []string) string {
	return "[" + strings.Join(items, ", ") + "]"
}

// permString renders permission bits as ZKUtil.getPermString: "cdrwa".
func permString(perms int32) string {
	var b strings.Builder
	for _, p := range []struct {
		bit int32
		c   byte
	}{{sdk.PermCreate, 'c'}, {sdk.PermDelete, 'd'}, {sdk.PermRead, 'r'}, {sdk.PermWrite, 'w'}, {sdk.PermAdmin, 'a'}} {
		if perms&p.bit != 0 {
			b.WriteByte(p.c)
		}
	}
	return b.String()
}

// csvString escapes a string as jute's CsvOutputArchive does, with its
// leading quote.
func csvString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case 0:
			b.WriteString("%00")
		case '\n':
			b.WriteString("%0A")
		case '\r':
			b.WriteString("%0D")
		case ',':
			b.WriteString("%2C")
		case '}':
			b.WriteString("%7D")
		case '%':
			b.WriteString("%25")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// formatACL renders one ACL entry as getAcl prints it: the Id record in
// jute's CSV form, then ": " and the permissions.
func formatACL(a sdk.ACL) string {
	return csvString(a.ID.Scheme) + "," + csvString(a.ID.ID) + "\n: " + permString(a.Perms)
}

// parsePerms parses "cdrwa"-style permissions as AclParser does; unknown
// letters are reported and skipped.
func parsePerms(s string, warn func(string)) int32 {
	var perms int32
	for _, c := range s {
		switch c {
		case 'r':
			perms |= sdk.PermRead
		case 'w':
			perms |= sdk.PermWrite
		case 'c':
			perms |= sdk.PermCreate
		case 'd':
			perms |= sdk.PermDelete
		case 'a':
			perms |= sdk.PermAdmin
		default:
			warn("Unknown perm type: " + string(c))
		}
	}
	return perms
}

// parseACL parses "scheme:id:perm,..." as zkCli's AclParser does: the id
// is everything between the first and the last colon; malformed entries
// are reported and skipped (the result may be empty).
func parseACL(s string, warn func(string)) []sdk.ACL {
	acls := []sdk.ACL{}
	for _, a := range strings.Split(s, ",") {
		first := strings.IndexByte(a, ':')
		last := strings.LastIndexByte(a, ':')
		if first < 0 || first == last {
			warn(a + " does not have the form scheme:id:perm")
			continue
		}
		acls = append(acls, sdk.ACL{
			ID:    sdk.ID{Scheme: a[:first], ID: a[first+1 : last]},
			Perms: parsePerms(a[last+1:], warn),
		})
	}
	return acls
}

// validatePath applies ZooKeeper's PathUtils.validatePath and returns its
// message for a bad path ("Path must start with / character").
func validatePath(p string, sequential bool) error {
	if sequential {
		p += "1"
	}
	if p == "" {
		return errors.New("Path length must be > 0")
	}
	if p[0] != '/' {
		return errors.New("Path must start with / character")
	}
	if len(p) == 1 {
		return nil
	}
	if p[len(p)-1] == '/' {
		return errors.New("Path must not end with / character")
	}
	chars := []rune(p)
	reason := ""
	last := '/'
	for i := 1; i < len(chars); last, i = chars[i], i+1 {
		c := chars[i]
		switch {
		case c == 0:
			reason = fmt.Sprintf("null character not allowed @%d", i)
		case c == '/' && last == '/':
			reason = fmt.Sprintf("empty node name specified @%d", i)
		case c == '.' && last == '.':
			if chars[i-2] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				reason = fmt.Sprintf("relative paths not allowed @%d", i)
			}
		case c == '.':
			if chars[i-1] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				reason = fmt.Sprintf("relative paths not allowed @%d", i)
			}
		case c > 0 && c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0 && c <= 0xffff:
			reason = fmt.Sprintf("invalid character @%d", i)
		}
		if reason != "" {
			break
		}
	}
	if reason != "" {
		return fmt.Errorf("Invalid path string \"%s\" caused by %s", p, reason)
	}
	return nil
}

// codeMessages are KeeperException.getCodeMessage's texts.
var codeMessages = map[proto.Code]string{
	proto.OK:                          "ok",
	proto.ErrSystemError:              "SystemError",
	proto.ErrRuntimeInconsistency:     "RuntimeInconsistency",
	proto.ErrDataInconsistency:        "DataInconsistency",
	proto.ErrConnectionLoss:           "ConnectionLoss",
	proto.ErrMarshallingError:         "MarshallingError",
	proto.ErrNewConfigNoQuorum:        "NewConfigNoQuorum",
	proto.ErrReconfigInProgress:       "ReconfigInProgress",
	proto.ErrUnimplemented:            "Unimplemented",
	proto.ErrOperationTimeout:         "OperationTimeout",
	proto.ErrBadArguments:             "BadArguments",
	proto.ErrAPIError:                 "APIError",
	proto.ErrNoNode:                   "NoNode",
	proto.ErrNoAuth:                   "NoAuth",
	proto.ErrBadVersion:               "BadVersion",
	proto.ErrNoChildrenForEphemerals:  "NoChildrenForEphemerals",
	proto.ErrNodeExists:               "NodeExists",
	proto.ErrInvalidACL:               "InvalidACL",
	proto.ErrAuthFailed:               "AuthFailed",
	proto.ErrNotEmpty:                 "Directory not empty",
	proto.ErrSessionExpired:           "Session expired",
	proto.ErrInvalidCallback:          "Invalid callback",
	proto.ErrSessionMoved:             "Session moved",
	proto.ErrNotReadOnly:              "Not a read-only call",
	proto.ErrEphemeralOnLocalSession:  "Ephemeral node on local session",
	proto.ErrNoWatcher:                "No such watcher",
	proto.ErrReconfigDisabled:         "Reconfig is disabled",
	proto.ErrSessionClosedRequireSASL: "Session closed because client failed to authenticate",
	proto.ErrQuotaExceeded:            "Quota has exceeded",
	proto.ErrThrottledOp:              "Op throttled due to high load",
}

// keeperMessage is KeeperException.getMessage: "KeeperErrorCode = NoNode
// for /x" (without " for" when there is no path).
func keeperMessage(code proto.Code, path string) string {
	m, ok := codeMessages[code]
	if !ok {
		m = fmt.Sprintf("Unknown error %d", int32(code))
	}
	if path == "" {
		return "KeeperErrorCode = " + m
	}
	return "KeeperErrorCode = " + m + " for " + path
}

// wrapperMessage is zkCli's CliWrapperException message for a server error.
func wrapperMessage(code proto.Code, path string) string {
	p := path
	if p == "" {
		p = "null"
	}
	return wrapperMessageRaw(code, p)
}

// wrapperMessageRaw is wrapperMessage with the exception's path as is
// ("" for the Java client's reconfig errors).
func wrapperMessageRaw(code proto.Code, p string) string {
	switch code {
	case proto.ErrNoNode:
		return "Node does not exist: " + p
	case proto.ErrNoChildrenForEphemerals:
		return "Ephemerals cannot have children: " + p
	case proto.ErrNodeExists:
		return "Node already exists: " + p
	case proto.ErrNotEmpty:
		return "Node not empty: " + p
	case proto.ErrNotReadOnly:
		return "Not a read-only call: " + p
	case proto.ErrInvalidACL:
		return "Acl is not valid : " + p
	case proto.ErrNoAuth:
		return "Insufficient permission : " + p
	case proto.ErrBadArguments:
		return "Arguments are not valid : " + p
	case proto.ErrBadVersion:
		return "version No is not valid : " + p
	case proto.ErrReconfigInProgress:
		return "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
	case proto.ErrNewConfigNoQuorum:
		return "No quorum of new config is connected and up-to-date with the leader of last committed config - try invoking reconfiguration after new servers are connected and synced"
	case proto.ErrQuotaExceeded:
		return "Quota has exceeded : " + p
	}
	if p == "null" {
		p = ""
	}
	return keeperMessage(code, p)
}

// eventTypeNames are Watcher.Event.EventType's names.
var eventTypeNames = map[proto.EventType]string{
	proto.EventNone: "None", proto.EventNodeCreated: "NodeCreated", proto.EventNodeDeleted: "NodeDeleted",
	proto.EventNodeDataChanged: "NodeDataChanged", proto.EventNodeChildrenChanged: "NodeChildrenChanged",
	5: "DataWatchRemoved", 6: "ChildWatchRemoved", 7: "PersistentWatchRemoved",
}

func eventTypeName(t proto.EventType) string {
	if n, ok := eventTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("Unknown(%d)", int(t))
}

// keeperState maps an sdk connection state to Watcher.Event.KeeperState's
// name, as a WatchedEvent prints it.
func keeperState(s sdk.State) string {
	switch s {
	case sdk.StateConnected, sdk.StateReconnected:
		return "SyncConnected"
	case sdk.StateSuspended:
		return "Disconnected"
	case sdk.StateExpired:
		return "Expired"
	case sdk.StateAuthFailed:
		return "AuthFailed"
	case sdk.StateClosed:
		return "Closed"
	}
	return "Unknown"
}

// promptState maps an sdk connection state to ZooKeeper.States' name, as
// the prompt shows it.
func promptState(s sdk.State) string {
	switch s {
	case sdk.StateConnected, sdk.StateReconnected:
		return "CONNECTED"
	case sdk.StateSuspended:
		return "CONNECTING"
	case sdk.StateAuthFailed:
		return "AUTH_FAILED"
	}
	return "CLOSED"
}

// watchedEvent renders an event as WatchedEvent.toString does.
func watchedEvent(state string, typ proto.EventType, path string) string {
	if path == "" {
		path = "null"
	}
	return "WatchedEvent state:" + state + " type:" + eventTypeName(typ) + " path:" + path
}

// configClientString is ConfigUtils.getClientConfigStr: the config's
// version, a space, and the client addresses of its servers,
// comma-separated (empty for a server without one), in the order of the
// java.util.Properties it reads them into.
func configClientString(data string) string {
	props, err := loadProperties(strings.NewReader(data))
	if err != nil {
		return ""
	}
	version := ""
	var servers []string
	for _, kv := range javaOrder(props) {
		k, v := strings.TrimSpace(kv[0]), strings.TrimSpace(kv[1])
		if k == "version" {
			version = v
		}
		if !strings.HasPrefix(k, "server.") {
			continue
		}
		norm, _, err := normalizeServer(-1, v)
		if err != nil {
			continue // zkCli skips a malformed entry
		}
		// The client address (none: an empty entry), its host unbracketed
		// (InetSocketAddress.getHostString).
		_, client, _ := strings.Cut(norm, ";")
		if strings.HasPrefix(client, "[") {
			client = strings.Replace(strings.TrimPrefix(client, "["), "]", "", 1)
		}
		servers = append(servers, client)
	}
	return version + " " + strings.Join(servers, ",")
}
