package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"time"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/znode"
)

// BuildVersion is Warren's version, set by the binary at start.
var BuildVersion = "dev"

// zkVersionLine is what srvr/stat/mntr/envi report as the ZooKeeper
// version: tools parse "3.8.0-" from it (kazoo's server_version, exporters).
func zkVersionLine() string {
	return "3.8.0-warren-" + BuildVersion + ", built on " + buildDate
}

var buildDate = time.Now().UTC().Format("2006-01-02 15:04 MST")

// command is one four-letter word / admin command.
type command struct {
	word  string   // four-letter word ("" when admin-only)
	names []string // admin names: primary first, then aliases
	run   func(s *Server, r *replica.Replica) any
	text  func(v any) string
}

var commands []*command

func init() {
	commands = []*command{
		{word: "ruok", names: []string{"ruok"}, run: func(*Server, *replica.Replica) any { return map[string]any{} }, text: func(any) string { return "imok" }},
		{word: "srvr", names: []string{"server_stats", "srvr"}, run: (*Server).serverStats, text: textServerStats},
		{word: "stat", names: []string{"stats", "stat"}, run: (*Server).statsWithClients, text: textStats},
		{word: "conf", names: []string{"configuration", "conf", "config"}, run: (*Server).confCmd, text: textConf},
		{word: "cons", names: []string{"connections", "cons"}, run: (*Server).consCmd, text: textCons},
		{word: "envi", names: []string{"environment", "env", "envi"}, run: (*Server).enviCmd, text: textEnvi},
		{word: "mntr", names: []string{"monitor", "mntr"}, run: (*Server).mntrCmd, text: textMntr},
		{word: "wchs", names: []string{"watch_summary", "wchs"}, run: (*Server).wchsCmd, text: textWchs},
		{word: "wchc", names: []string{"watches", "wchc"}, run: (*Server).wchcCmd, text: textWchc},
		{word: "wchp", names: []string{"watches_by_path", "wchp"}, run: (*Server).wchpCmd, text: textWchp},
		{word: "dump", names: []string{"dump"}, run: (*Server).dumpCmd, text: textDump},
		{word: "isro", names: []string{"is_read_only", "isro"}, run: isroCmd, text: textIsro},
		{word: "crst", names: []string{"connection_stat_reset", "crst"}, run: (*Server).crstCmd, text: func(any) string { return "Connection stats reset.\n" }},
		{word: "srst", names: []string{"stat_reset", "srst"}, run: (*Server).srstCmd, text: func(any) string { return "Server stats reset.\n" }},
		{word: "dirs", names: []string{"dirs"}, run: (*Server).dirsCmd, text: textDirs},
		{word: "hash", names: []string{"hash"}, run: (*Server).hashCmd, text: textHash},
		{word: "gtmk", names: []string{"get_trace_mask", "gtmk"}, run: func(*Server, *replica.Replica) any { return map[string]any{"tracemask": 0} }, text: func(any) string { return "0\n" }},
	}
}

func findByWord(w string) *command {
	for _, c := range commands {
		if c.word == w {
			return c
		}
	}
	return nil
}

func findByName(n string) *command {
	for _, c := range commands {
		for _, name := range c.names {
			if name == n {
				return c
			}
		}
	}
	return nil
}

// runCommand evaluates a command on the loop goroutine.
func (s *Server) runCommand(ctx context.Context, c *command) (any, bool) {
	var v any
	ok := s.call(ctx, func(r *replica.Replica) { v = c.run(s, r) })
	return v, ok
}

// fourLetter answers a four-letter word on a fresh connection and closes.
func (c *client) fourLetter(word string, br *bufio.Reader) {
	s := c.srv
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if word == "stmk" {
		// stmk carries an 8-byte trace mask; consume it.
		_, _ = br.Discard(8)
	}
	if !s.cfg.FourLetterWordAllowed(word) {
		_, _ = c.nc.Write([]byte(word + " is not executed because it is not in the whitelist.\n"))
		return
	}
	cmd := findByWord(word)
	if cmd == nil {
		if word == "stmk" {
			_, _ = c.nc.Write([]byte("0\n"))
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var v any
	serving := true
	ok := s.call(ctx, func(r *replica.Replica) {
		if serving = !needsServing[word] || r.Serving() || r.IsReadOnly(time.Now().UnixMilli()); serving {
			v = cmd.run(s, r)
		}
	})
	if !ok {
		return
	}
	if !serving {
		_, _ = c.nc.Write([]byte(notServing + "\n"))
		return
	}
	_, _ = c.nc.Write([]byte(cmd.text(v)))
}

// notServing is what ZooKeeper's four-letter words about the data, the
// clients and the statistics answer while the member is not serving (it is
// electing a leader or synchronising with it).
const notServing = "This ZooKeeper instance is not currently serving requests"

// needsServing lists those words (ruok, envi, isro, gtmk and stmk answer
// regardless, as in ZooKeeper).
var needsServing = map[string]bool{
	"srvr": true, "stat": true, "conf": true, "cons": true, "mntr": true, "wchs": true, "wchc": true,
	"wchp": true, "dump": true, "crst": true, "srst": true, "dirs": true, "hash": true,
}

func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	base := strings.TrimRight(s.cfg.Admin.CommandURL, "/")
	if base == "" {
		base = "/commands"
	}
	list := func(w http.ResponseWriter, req *http.Request) {
		var links []string
		for _, c := range commands {
			links = append(links, c.names[0])
		}
		links = append(links, snapshotCommand)
		writeJSON(w, http.StatusOK, map[string]any{"commands": links, "error": nil})
	}
	mux.HandleFunc(base, list)
	mux.HandleFunc(base+"/", func(w http.ResponseWriter, req *http.Request) {
		name := strings.TrimPrefix(req.URL.Path, base+"/")
		if name == "" {
			list(w, req)
			return
		}
		if name == snapshotCommand {
			s.serveSnapshot(w, req)
			return
		}
		cmd := findByName(name)
		if cmd == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"command": name, "error": "Command not found: " + name})
			return
		}
		v, ok := s.runCommand(req.Context(), cmd)
		if !ok {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"command": cmd.names[0], "error": "server is shutting down"})
			return
		}
		// Objects are flattened into the reply, as ZooKeeper's AdminServer
		// does; lists go under "result".
		out := map[string]any{}
		if b, err := json.Marshal(v); err == nil && json.Unmarshal(b, &out) != nil {
			out = map[string]any{"result": v}
		}
		out["command"] = cmd.names[0]
		out["error"] = nil
		writeJSON(w, http.StatusOK, out)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ---- the commands ----

type serverStatsView struct {
	Version     string  `json:"version"`
	MinLatency  int64   `json:"min_latency"`
	AvgLatency  float64 `json:"avg_latency"`
	MaxLatency  int64   `json:"max_latency"`
	Received    int64   `json:"packets_received"`
	Sent        int64   `json:"packets_sent"`
	Connections int     `json:"num_alive_client_connections"`
	Outstanding int     `json:"outstanding_requests"`
	Zxid        int64   `json:"last_processed_zxid"`
	Mode        string  `json:"server_state"`
	NodeCount   int     `json:"node_count"`
	Uptime      int64   `json:"uptime"`
}

func (s *Server) serverStats(r *replica.Replica) any {
	st := &s.stats
	v := serverStatsView{
		Version:     zkVersionLine(),
		MinLatency:  max(st.minLatency.Load(), 0),
		MaxLatency:  st.maxLatency.Load(),
		Received:    st.received.Load(),
		Sent:        st.sent.Load(),
		Connections: s.numClients(),
		Outstanding: r.Outstanding(),
		Zxid:        r.LastApplied(),
		Mode:        s.mode(),
		NodeCount:   r.Tree().NodeCount() + 1, // ZooKeeper's DataTree holds the root twice ("" and "/")
		Uptime:      time.Since(s.started).Milliseconds(),
	}
	if n := st.latencyCount.Load(); n > 0 {
		v.AvgLatency = float64(st.totalLatency.Load()) / float64(n)
	}
	return v
}

func (s *Server) numClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

func fmtAvg(f float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", f), "0"), ".")
}

func textServerStatsBody(v serverStatsView) string {
	avg := fmtAvg(v.AvgLatency)
	if !strings.Contains(avg, ".") {
		avg += ".0"
	}
	return fmt.Sprintf("Latency min/avg/max: %d/%s/%d\nReceived: %d\nSent: %d\nConnections: %d\nOutstanding: %d\nZxid: 0x%x\nMode: %s\nNode count: %d\n",
		v.MinLatency, avg, v.MaxLatency, v.Received, v.Sent, v.Connections, v.Outstanding, v.Zxid, v.Mode, v.NodeCount)
}

func textServerStats(x any) string {
	v := x.(serverStatsView)
	return "Zookeeper version: " + v.Version + "\n" + textServerStatsBody(v)
}

type statsView struct {
	serverStatsView
	Clients []connView `json:"connections"`
}

func (s *Server) statsWithClients(r *replica.Replica) any {
	return statsView{serverStatsView: s.serverStats(r).(serverStatsView), Clients: s.connViews(r)}
}

func textStats(x any) string {
	v := x.(statsView)
	var b strings.Builder
	b.WriteString("Zookeeper version: " + v.Version + "\nClients:\n")
	for _, c := range v.Clients {
		b.WriteString(c.short())
	}
	b.WriteString("\n")
	b.WriteString(textServerStatsBody(v.serverStatsView))
	return b.String()
}

type connView struct {
	Remote      string `json:"remote_socket_address"`
	Queued      int    `json:"outstanding_requests"`
	Received    int64  `json:"packets_received"`
	Sent        int64  `json:"packets_sent"`
	SessionID   string `json:"session_id"`
	LastOp      string `json:"last_operation"`
	Established string `json:"established"`
	Timeout     int32  `json:"session_timeout"`
	LastCxid    string `json:"last_cxid"`
	LastZxid    string `json:"last_zxid"`
	LastResp    int64  `json:"last_response_time"`
	LastLatency int64  `json:"last_latency"`
	MinLatency  int64  `json:"min_latency"`
	AvgLatency  int64  `json:"avg_latency"`
	MaxLatency  int64  `json:"max_latency"`
	session     int64
}

func (c connView) short() string {
	return fmt.Sprintf(" /%s[1](queued=%d,recved=%d,sent=%d)\n", c.Remote, c.Queued, c.Received, c.Sent)
}

func (c connView) long() string {
	if c.session == 0 {
		return c.short()
	}
	return fmt.Sprintf(" /%s[1](queued=%d,recved=%d,sent=%d,sid=%s,lop=%s,est=%s,to=%d,lcxid=%s,lzxid=%s,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d)\n",
		c.Remote, c.Queued, c.Received, c.Sent, c.SessionID, c.LastOp, c.Established, c.Timeout, c.LastCxid, c.LastZxid,
		c.LastResp, c.LastLatency, c.MinLatency, c.AvgLatency, c.MaxLatency)
}

var lopNames = map[int32]string{
	1: "CREA", 2: "DELE", 3: "EXIS", 4: "GETD", 5: "SETD", 6: "GETA", 7: "SETA", 8: "GETC", 9: "SYNC", 11: "PING",
	12: "GETC", 13: "CHEC", 14: "MULT", 15: "CREA", 17: "CHKW", 18: "REMW", 19: "CREA", 21: "CREA", 22: "MLTR",
	100: "AUTH", 101: "SETW", 103: "GETE", 104: "GETACN", 105: "SETW", 106: "ADDW", 107: "WHOAMI", -11: "CLOS",
}

func (s *Server) connViews(r *replica.Replica) []connView {
	s.mu.Lock()
	cs := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	sort.Slice(cs, func(i, j int) bool { return cs[i].id < cs[j].id })
	out := make([]connView, 0, len(cs))
	for _, c := range cs {
		lop := lopNames[c.lastOp.Load()]
		if lop == "" {
			lop = "NA"
		}
		v := connView{
			Remote:      c.nc.RemoteAddr().String(),
			Received:    c.received.Load(),
			Sent:        c.sent.Load(),
			session:     c.session.Load(),
			SessionID:   fmt.Sprintf("0x%x", uint64(c.session.Load())),
			LastOp:      lop,
			Established: c.established.Format("2006-01-02T15:04:05.000Z07:00"),
			Timeout:     c.timeout.Load(),
			LastCxid:    fmt.Sprintf("0x%x", uint32(c.lastCxid.Load())),
			LastZxid:    fmt.Sprintf("0x%x", uint64(c.lastZxid.Load())),
			LastResp:    c.lastResp.Load(),
			LastLatency: c.lastLatency.Load(),
			MinLatency:  max(c.minLatency.Load(), 0),
			MaxLatency:  c.maxLatency.Load(),
		}
		if n := c.numLatency.Load(); n > 0 {
			v.AvgLatency = c.sumLatency.Load() / n
		}
		c.mu.Lock()
		v.Queued = len(c.recvTimes)
		c.mu.Unlock()
		out = append(out, v)
	}
	return out
}

func (s *Server) consCmd(r *replica.Replica) any { return s.connViews(r) }

func textCons(x any) string {
	var b strings.Builder
	for _, c := range x.([]connView) {
		b.WriteString(c.long())
	}
	b.WriteString("\n")
	return b.String()
}

type kv struct {
	K string
	V any
}

// kvList is an ordered key/value list: text for the four-letter words, a
// JSON object for the admin endpoint (mntr's "zk_" prefix dropped there, as
// ZooKeeper's AdminServer does).
type kvList []kv

func (l kvList) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(strings.TrimPrefix(e.K, "zk_"))
		v, err := json.Marshal(e.V)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func (s *Server) confCmd(r *replica.Replica) any {
	var out kvList
	for _, line := range s.cfg.ConfLines() {
		k, v, _ := strings.Cut(line, "=")
		out = append(out, kv{k, v})
	}
	if s.ens != nil {
		// What ZooKeeper's quorum servers add: limits, ports, role and
		// the member list in force.
		self, _ := s.cfg.Self()
		peerType := 0
		if self.Role == config.RoleObserver {
			peerType = 1
		}
		data, _, _ := r.Tree().Get(znode.ConfigPath)
		out = append(out,
			kv{"initLimit", s.cfg.InitLimit},
			kv{"syncLimit", s.cfg.SyncLimit},
			kv{"electionAlg", 3},
			kv{"electionPort", self.ElectionPort},
			kv{"quorumPort", self.QuorumPort},
			kv{"peerType", peerType},
			kv{"membership", string(data)})
	}
	return out
}

func textConf(x any) string {
	var b strings.Builder
	for _, e := range x.(kvList) {
		if e.K == "membership" {
			fmt.Fprintf(&b, "membership: \n%v\n", e.V)
			continue
		}
		fmt.Fprintf(&b, "%s=%v\n", e.K, e.V)
	}
	return b.String()
}

func (s *Server) enviCmd(*replica.Replica) any {
	host, _ := os.Hostname()
	wd, _ := os.Getwd()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return kvList{
		{"zookeeper.version", zkVersionLine()},
		{"host.name", host},
		{"java.version", "n/a (Warren " + BuildVersion + ", " + runtime.Version() + ")"},
		{"java.vendor", "n/a"},
		{"java.home", "n/a"},
		{"java.class.path", "n/a"},
		{"java.library.path", "n/a"},
		{"java.io.tmpdir", os.TempDir()},
		{"java.compiler", "<NA>"},
		{"os.name", strings.ToUpper(runtime.GOOS[:1]) + runtime.GOOS[1:]},
		{"os.arch", runtime.GOARCH},
		{"os.version", osVersion()},
		{"user.name", os.Getenv("USER")},
		{"user.home", os.Getenv("HOME")},
		{"user.dir", wd},
		{"os.memory.free", fmt.Sprintf("%dMB", (ms.HeapIdle)>>20)},
		{"os.memory.max", fmt.Sprintf("%dMB", ms.Sys>>20)},
		{"os.memory.total", fmt.Sprintf("%dMB", ms.HeapSys>>20)},
	}
}

func osVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func textEnvi(x any) string {
	var b strings.Builder
	b.WriteString("Environment:\n")
	for _, e := range x.(kvList) {
		fmt.Fprintf(&b, "%s=%v\n", e.K, e.V)
	}
	return b.String()
}

func (s *Server) mntrCmd(r *replica.Replica) any {
	v := s.serverStats(r).(serverStatsView)
	ws := r.Watches().Stats()
	st := &s.stats
	open, maxFD := fdCounts()
	kvs := kvList{
		{"zk_version", v.Version},
		{"zk_server_state", v.Mode},
		{"zk_ephemerals_count", r.Tree().EphemeralCount()},
		{"zk_num_alive_connections", v.Connections},
		{"zk_avg_latency", fmtAvg(v.AvgLatency)},
		{"zk_outstanding_requests", v.Outstanding},
		{"zk_znode_count", v.NodeCount},
		{"zk_global_sessions", r.Sessions().Len()},
		{"zk_local_sessions", 0},
		{"zk_packets_sent", v.Sent},
		{"zk_packets_received", v.Received},
		{"zk_watch_count", ws.Total},
		{"zk_auth_failed_count", st.authFailed.Load()},
		{"zk_min_latency", v.MinLatency},
		{"zk_max_latency", v.MaxLatency},
		{"zk_approximate_data_size", r.Tree().ApproxDataSize()},
		{"zk_open_file_descriptor_count", open},
		{"zk_max_file_descriptor_count", maxFD},
		{"zk_uptime", v.Uptime},
		{"zk_last_client_response_size", st.lastRespSize.Load()},
		{"zk_max_client_response_size", st.maxRespSize.Load()},
		{"zk_min_client_response_size", st.minRespSize.Load()},
		{"zk_connection_rejected", st.rejected.Load()},
		{"zk_large_requests_rejected", st.largeRejected.Load()},
		{"zk_last_processed_zxid", v.Zxid},
		{"zk_digest", fmt.Sprintf("%d", r.Tree().Digest())},
		{"warren_heap_live_bytes", heapLiveBytes()},
	}
	if s.ens != nil {
		role := s.ens.currentRole()
		kvs = append(kvs, kv{"zk_peer_state", peerState(role)})
		if ls, ok := r.Node().LeaderStats(); ok {
			kvs = append(kvs,
				kv{"zk_learners", ls.Learners},
				kv{"zk_synced_followers", ls.SyncedFollowers},
				kv{"zk_synced_non_voting_followers", ls.SyncedNonVoting},
				kv{"zk_synced_observers", ls.SyncedObservers},
				kv{"zk_pending_syncs", ls.PendingSyncs})
		}
	}
	if sn := s.snaps; sn != nil {
		kvs = append(kvs,
			kv{"warren_snapshots_taken", sn.taken},
			kv{"warren_snapshots_failed", sn.failed},
			kv{"warren_last_snapshot_zxid", fmt.Sprintf("0x%x", sn.last.meta.Zxid)},
			kv{"warren_last_snapshot_ms", sn.lastMs},
			kv{"warren_last_snapshot_bytes", sn.lastBytes},
			kv{"warren_snapshot_in_progress", boolInt(sn.busy)},
			kv{"warren_txns_since_snapshot", sn.since})
	}
	return kvs
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// heapLiveBytes is the Go heap marked live by the last garbage collection:
// the figure to compare with a JVM's heap in use after a full GC.
func heapLiveBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

func fdCounts() (open int, max int64) {
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		open = len(ents)
	}
	if b, err := os.ReadFile("/proc/self/limits"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "Max open files") {
				f := strings.Fields(line)
				if len(f) >= 4 {
					fmt.Sscan(f[3], &max)
				}
			}
		}
	}
	return open, max
}

func textMntr(x any) string {
	var b strings.Builder
	for _, e := range x.(kvList) {
		fmt.Fprintf(&b, "%s\t%v\n", e.K, e.V)
	}
	return b.String()
}

type wchsView struct {
	Connections int `json:"num_connections"`
	Paths       int `json:"num_paths"`
	Total       int `json:"num_total_watches"`
}

func (s *Server) wchsCmd(r *replica.Replica) any {
	st := r.Watches().Stats()
	return wchsView{Connections: st.Watchers, Paths: st.Paths, Total: st.Total}
}

func textWchs(x any) string {
	v := x.(wchsView)
	return fmt.Sprintf("%d connections watching %d paths\nTotal watches:%d\n", v.Connections, v.Paths, v.Total)
}

type watchesView struct {
	Keys  []string
	Items map[string][]string
}

func (s *Server) wchcCmd(r *replica.Replica) any {
	v := watchesView{Items: map[string][]string{}}
	for _, w := range r.Watches().ByWatcher() {
		key := fmt.Sprintf("0x%x", uint64(r.SessionOf(w.W)))
		v.Keys = append(v.Keys, key)
		v.Items[key] = w.Paths
	}
	return v
}

func (s *Server) wchpCmd(r *replica.Replica) any {
	v := watchesView{Items: map[string][]string{}}
	for _, p := range r.Watches().ByPath() {
		v.Keys = append(v.Keys, p.Path)
		for _, w := range p.Watchers {
			v.Items[p.Path] = append(v.Items[p.Path], fmt.Sprintf("0x%x", uint64(r.SessionOf(w))))
		}
	}
	return v
}

func textWatches(v watchesView) string {
	var b strings.Builder
	for _, k := range v.Keys {
		b.WriteString(k + "\n")
		for _, x := range v.Items[k] {
			b.WriteString("\t" + x + "\n")
		}
	}
	return b.String()
}

func textWchc(x any) string { return textWatches(x.(watchesView)) }
func textWchp(x any) string { return textWatches(x.(watchesView)) }

type dumpView struct {
	Buckets    []bucketView `json:"session_buckets"`
	Ephemerals []ephView    `json:"ephemerals"`
}

type bucketView struct {
	At       int64    `json:"expire_at"`
	Sessions []string `json:"sessions"`
}

type ephView struct {
	Session string   `json:"session_id"`
	Paths   []string `json:"paths"`
}

func (s *Server) dumpCmd(r *replica.Replica) any {
	var v dumpView
	for _, b := range r.Sessions().ExpiryBuckets() {
		bv := bucketView{At: b.At}
		for _, id := range b.IDs {
			bv.Sessions = append(bv.Sessions, fmt.Sprintf("0x%x", uint64(id)))
		}
		v.Buckets = append(v.Buckets, bv)
	}
	for _, id := range r.Tree().EphemeralSessions() {
		v.Ephemerals = append(v.Ephemerals, ephView{Session: fmt.Sprintf("0x%x", uint64(id)), Paths: r.Tree().Ephemerals(id)})
	}
	return v
}

func textDump(x any) string {
	v := x.(dumpView)
	var b strings.Builder
	n := 0
	for _, bk := range v.Buckets {
		n += len(bk.Sessions)
	}
	fmt.Fprintf(&b, "SessionTracker dump:\nSession Sets (%d)/(%d):\n", len(v.Buckets), n)
	for _, bk := range v.Buckets {
		fmt.Fprintf(&b, "%d expire at %s:\n", len(bk.Sessions), time.UnixMilli(bk.At).UTC().Format(time.UnixDate))
		for _, id := range bk.Sessions {
			fmt.Fprintf(&b, "\t%s\n", id)
		}
	}
	fmt.Fprintf(&b, "ephemeral nodes dump:\nSessions with Ephemerals (%d):\n", len(v.Ephemerals))
	for _, e := range v.Ephemerals {
		fmt.Fprintf(&b, "%s:\n", e.Session)
		for _, p := range e.Paths {
			fmt.Fprintf(&b, "\t%s\n", p)
		}
	}
	return b.String()
}

func (s *Server) crstCmd(*replica.Replica) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		c.received.Store(0)
		c.sent.Store(0)
		c.minLatency.Store(-1)
		c.maxLatency.Store(0)
		c.sumLatency.Store(0)
		c.numLatency.Store(0)
	}
	return map[string]any{}
}

func (s *Server) srstCmd(*replica.Replica) any {
	st := &s.stats
	st.received.Store(0)
	st.sent.Store(0)
	st.minLatency.Store(-1)
	st.maxLatency.Store(0)
	st.totalLatency.Store(0)
	st.latencyCount.Store(0)
	return map[string]any{}
}

type dirsView struct {
	DataDirSize int64 `json:"datadir_size"`
	LogDirSize  int64 `json:"logdir_size"`
}

func (s *Server) dirsCmd(*replica.Replica) any {
	return dirsView{DataDirSize: dirSize(s.cfg.DataDir), LogDirSize: dirSize(s.cfg.DataLogDir)}
}

func dirSize(dir string) int64 {
	var n int64
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil && !info.IsDir() {
			n += info.Size()
		}
	}
	return n
}

func textDirs(x any) string {
	v := x.(dirsView)
	return fmt.Sprintf("datadir_size: %d\nlogdir_size: %d\n", v.DataDirSize, v.LogDirSize)
}

type hashView struct {
	Zxid   string `json:"zxid"`
	Digest uint64 `json:"digest"`
}

func (s *Server) hashCmd(r *replica.Replica) any {
	return []hashView{{Zxid: fmt.Sprintf("%x", r.LastApplied()), Digest: r.Tree().Digest()}}
}

func textHash(x any) string {
	var b strings.Builder
	for _, h := range x.([]hashView) {
		fmt.Fprintf(&b, "%s: %d\n", h.Zxid, h.Digest)
	}
	return b.String()
}

// mode is the server's state as srvr and mntr report it: standalone, or a
// member's leader, follower, observer (looking while it elects).
func (s *Server) mode() string {
	if s.ens == nil {
		return "standalone"
	}
	if s.rep.IsReadOnly(time.Now().UnixMilli()) {
		return "read-only"
	}
	return modeName(s.ens.currentRole().State)
}

// isroCmd reports whether the server serves read-only clients only (a
// member cut off from its quorum with readonlymode.enabled).
func isroCmd(_ *Server, r *replica.Replica) any {
	return map[string]any{"read_only": r.IsReadOnly(time.Now().UnixMilli())}
}

func textIsro(x any) string {
	if x.(map[string]any)["read_only"].(bool) {
		return "ro"
	}
	return "rw"
}
