package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/serve"
	"github.com/warrenhq/warren/internal/vfs"
)

// `warren snapshot`: inspect, save and restore snapshots, so that a backup
// and a restore are one command each. ZooKeeper needs zkSnapShotToolkit and
// zkTxnLogToolkit to look inside its files and gained a streaming admin
// `snapshot` command only in 3.9; restoring there means copying files into
// version-2 by hand.

// dataDirOptions name the data directories an offline command works on: a
// zoo.cfg, overridden by --data-dir and --data-log-dir.
type dataDirOptions struct {
	configPath string
	dataDir    string
	dataLogDir string
}

func (o *dataDirOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.configPath, "config", "c", "", "zoo.cfg naming dataDir and dataLogDir (default: the embedded defaults, ./data)")
	f.StringVar(&o.dataDir, "data-dir", "", "dataDir, overriding the configuration; also dataLogDir unless --data-log-dir is given")
	f.StringVar(&o.dataLogDir, "data-log-dir", "", "dataLogDir, overriding the configuration")
	_ = cmd.MarkFlagFilename("config", "cfg", "conf", "properties")
	_ = cmd.MarkFlagDirname("data-dir")
	_ = cmd.MarkFlagDirname("data-log-dir")
}

// given reports whether any flag names the data directories.
func (o *dataDirOptions) given() bool {
	return o.configPath != "" || o.dataDir != "" || o.dataLogDir != ""
}

// resolve loads the configuration and applies the overrides; dir, when not
// empty, is a dataDir given as an argument and conflicts with --data-dir.
// One rule for both: the dataDir named on the command line is also the
// dataLogDir unless --data-log-dir says otherwise.
func (o *dataDirOptions) resolve(cmdName, dir string, env func(string) string) (*config.Config, error) {
	if dir != "" && o.dataDir != "" {
		return nil, &exitError{code: exitConfig, msg: cmdName + ": give the data directory as an argument or as --data-dir, not both"}
	}
	if dir == "" {
		dir = o.dataDir
	}
	cfg, _, err := loadConfig(o.configPath, env)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		cfg.DataDir, cfg.DataLogDir = dir, dir
	}
	if o.dataLogDir != "" {
		cfg.DataLogDir = o.dataLogDir
	}
	return cfg, nil
}

func (a *app) snapshotCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Inspect, save (back up) and restore snapshots",
		Long: "Inspect, save and restore snapshots of a server's data tree and sessions.\n\n" +
			"  warren snapshot save backup.snap --server 127.0.0.1:2180   # back up a running server\n" +
			"  warren snapshot inspect backup.snap                        # verify a backup\n" +
			"  warren snapshot restore backup.snap --data-dir /new/data   # restore into an empty dataDir\n\n" +
			"Exit codes: 0 success, 1 failure (unreachable server, damaged file, directory\n" +
			"not empty), 2 invalid usage or configuration.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.snapshotInspectCommand(), a.snapshotSaveCommand(), a.snapshotRestoreCommand())
	return cmd
}

// ---- inspect ----

func (a *app) snapshotInspectCommand() *cobra.Command {
	var (
		dirs   dataDirOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "inspect [SNAPSHOT-FILE | DATA-DIR]",
		Short: "Verify a snapshot file or rebuild a data directory's state, read-only",
		Long: "Given a snapshot file, verify it completely (every block checksum, the trailer,\n" +
			"the tree's structure and its digest) and summarise it. Given a data directory\n" +
			"(or none: the one of --config, --data-dir, or ./data), rebuild its state exactly\n" +
			"as the server does at start, from the newest valid snapshot plus the transaction\n" +
			"log, without writing anything. The digest equals what a running server's `hash`\n" +
			"command reports at the same zxid. Damage exits 1 with the file and offset.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			return a.runSnapshotInspect(path, dirs, asJSON)
		},
	}
	dirs.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}

func (a *app) runSnapshotInspect(path string, dirs dataDirOptions, asJSON bool) error {
	const name = "warren snapshot inspect"
	if path != "" {
		fi, err := os.Stat(path)
		if err != nil {
			return &exitError{code: exitFail, msg: name, err: err}
		}
		if !fi.IsDir() {
			if dirs.given() {
				return &exitError{code: exitConfig, msg: name + ": a snapshot file is inspected on its own; --config, --data-dir and --data-log-dir apply to a data directory"}
			}
			return a.inspectFile(name, path, asJSON)
		}
	}
	cfg, err := dirs.resolve(name, path, a.env)
	if err != nil {
		return err
	}
	if err := checkDataDir(cfg); err != nil {
		return &exitError{code: exitFail, msg: name, err: err}
	}
	st, err := serve.InspectDataDir(cfg, nil)
	if err != nil {
		return &exitError{code: exitFail, msg: fmt.Sprintf("%s: the state in %s cannot be rebuilt", name, describeDirs(cfg)), err: err}
	}
	if asJSON {
		return writeStateJSON(a.stdout, st)
	}
	fmt.Fprintf(a.stdout, "Data directory:  %s\n", describeDirs(cfg))
	writeStateSummary(a.stdout, st)
	if st.Snapshot != "" {
		fmt.Fprintf(a.stdout, "From snapshot:   %s (zxid 0x%x; %s in the directory)\n", st.Snapshot, st.SnapshotZxid, plural(st.Snapshots, "snapshot file"))
	} else {
		fmt.Fprintf(a.stdout, "From snapshot:   none (the log starts at the first transaction)\n")
	}
	if st.LogLastZxid != 0 {
		fmt.Fprintf(a.stdout, "Transaction log: zxid 0x%x to 0x%x, %s replayed after the snapshot\n", st.LogFirstZxid, st.LogLastZxid, plural(st.LogReplayed, "record"))
	} else {
		fmt.Fprintf(a.stdout, "Transaction log: empty\n")
	}
	for _, d := range st.Damaged {
		fmt.Fprintf(a.stdout, "Damaged:         %s (failed verification, passed over for an older snapshot)\n", d)
	}
	return nil
}

// inspectFile verifies one snapshot file.
func (a *app) inspectFile(name, path string, asJSON bool) error {
	if base := filepath.Base(path); strings.HasPrefix(base, "log.") {
		return &exitError{code: exitFail, msg: fmt.Sprintf("%s: %s is a transaction log segment, which only means something after its snapshot: "+
			"inspect the data directory instead (warren snapshot inspect DATA-DIR [--data-log-dir DIR]), which replays the log", name, path)}
	}
	st, err := serve.InspectSnapshot(path)
	if err != nil {
		// The error names the file and offset; say which file failed even
		// when it does not.
		msg := name
		if !strings.Contains(err.Error(), path) {
			msg += ": " + path
		}
		return &exitError{code: exitFail, msg: msg, err: err}
	}
	if asJSON {
		return writeStateJSON(a.stdout, st)
	}
	fmt.Fprintf(a.stdout, "Snapshot file:   %s\n", path)
	writeStateSummary(a.stdout, st)
	fmt.Fprintf(a.stdout, "Verified:        every block checksum, the trailer, the tree's structure and its digest\n")
	return nil
}

// checkDataDir refuses directories that hold no Warren state, so that
// pointing inspect at the wrong directory is not reported as an empty tree.
func checkDataDir(cfg *config.Config) error {
	snapDir := filepath.Join(cfg.DataDir, "snapshot")
	logDir := filepath.Join(cfg.DataLogDir, "txnlog")
	for _, d := range []string{snapDir, logDir} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return nil
		}
	}
	err := fmt.Errorf("no Warren data in %s: neither %s nor %s exists", describeDirs(cfg), snapDir, logDir)
	if base := filepath.Base(filepath.Clean(cfg.DataDir)); base == "snapshot" || base == "txnlog" {
		err = fmt.Errorf("%w (give the data directory, %s, not its %s subdirectory)", err, filepath.Dir(filepath.Clean(cfg.DataDir)), base)
	}
	return err
}

// describeDirs names dataDir, and dataLogDir when it differs.
func describeDirs(cfg *config.Config) string {
	if filepath.Clean(cfg.DataLogDir) == filepath.Clean(cfg.DataDir) {
		return cfg.DataDir
	}
	return cfg.DataDir + " (dataLogDir " + cfg.DataLogDir + ")"
}

// writeStateSummary prints the lines every summary shares. The digest is
// also given in decimal, as the `hash` command prints it.
func writeStateSummary(w io.Writer, st serve.State) {
	fmt.Fprintf(w, "Zxid:            0x%x\n", st.Zxid)
	fmt.Fprintf(w, "Nodes:           %d\n", st.Nodes)
	fmt.Fprintf(w, "Sessions:        %d\n", st.Sessions)
	fmt.Fprintf(w, "Digest:          0x%016x (%d as the hash command prints it)\n", st.Digest, st.Digest)
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

func writeStateJSON(w io.Writer, st serve.State) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		return &exitError{code: exitFail, msg: "writing JSON", err: err}
	}
	return nil
}

// ---- save ----

// saveOptions are the flags of `warren snapshot save`.
type saveOptions struct {
	configPath string
	server     string
	commandURL string
	auth       string // "user:password" for the Authorization header
	timeout    time.Duration
}

func (a *app) snapshotSaveCommand() *cobra.Command {
	opts := saveOptions{timeout: 30 * time.Minute}
	cmd := &cobra.Command{
		Use:   "save FILE [--server host:adminPort | --config zoo.cfg]",
		Short: "Back up a running server: fetch a consistent snapshot over the admin endpoint",
		Long: "Ask a running server for a snapshot holding every transaction it has applied\n" +
			"(the admin `snapshot` command), write it to FILE.tmp, fsync it, verify it\n" +
			"completely and against what the server announced, then rename it to FILE: FILE\n" +
			"is either a whole, verified snapshot or untouched. FILE - writes the verified\n" +
			"snapshot to standard output and the summary to standard error.\n\n" +
			"The server is --server (host:port of its admin endpoint), else the admin.*\n" +
			"keys of --config, else Warren's default 127.0.0.1:2180.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return a.runSnapshotSave(ctx, args[0], opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.configPath, "config", "c", "", "zoo.cfg naming the admin endpoint (admin.serverAddress, admin.serverPort, admin.commandURL)")
	f.StringVar(&opts.server, "server", "", "host:port of the server's admin endpoint (port 2180 if omitted)")
	f.StringVar(&opts.commandURL, "command-url", "", "admin.commandURL of the server (default from --config, else /commands)")
	f.DurationVar(&opts.timeout, "timeout", opts.timeout, "give up if the snapshot has not arrived in full by then")
	f.StringVar(&opts.auth, "auth", "", "user:password of a digest user with ALL on / (sent as 'Authorization: digest user:password'; default $WARREN_ADMIN_AUTH)")
	cmd.MarkFlagsMutuallyExclusive("config", "server")
	_ = cmd.MarkFlagFilename("config", "cfg", "conf", "properties")
	return cmd
}

// snapshotURL is the admin URL `save` fetches.
func snapshotURL(opts saveOptions, env func(string) string) (string, error) {
	const name = "warren snapshot save"
	d := config.Default()
	host, port, commandURL := d.Admin.ServerAddress, d.Admin.ServerPort, d.Admin.CommandURL
	switch {
	case opts.server != "":
		h, p, err := splitHostPortDefault(opts.server, config.DefaultAdminPort)
		if err != nil {
			return "", &exitError{code: exitConfig, msg: name + ": --server", err: err}
		}
		host, port = h, p
	case opts.configPath != "":
		cfg, _, err := loadConfig(opts.configPath, env)
		if err != nil {
			return "", err
		}
		if !cfg.Admin.EnableServer {
			return "", &exitError{code: exitConfig, msg: fmt.Sprintf("%s: the admin server is disabled in %s (admin.enableServer=false): enable it, or pass --server host:adminPort", name, opts.configPath)}
		}
		if cfg.Admin.ServerPort == 0 {
			return "", &exitError{code: exitConfig, msg: fmt.Sprintf("%s: %s sets no fixed admin.serverPort: pass --server host:adminPort", name, opts.configPath)}
		}
		host, port, commandURL = cfg.Admin.ServerAddress, cfg.Admin.ServerPort, cfg.Admin.CommandURL
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
	}
	if opts.commandURL != "" {
		commandURL = opts.commandURL
	}
	if !strings.HasPrefix(commandURL, "/") {
		return "", &exitError{code: exitConfig, msg: fmt.Sprintf("%s: --command-url %q must start with /", name, commandURL)}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + strings.TrimRight(commandURL, "/") + "/snapshot", nil
}

// splitHostPortDefault reads "host:port", "[v6]:port" or a bare host.
func splitHostPortDefault(s string, defPort int) (string, int, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return strings.Trim(s, "[]"), defPort, nil
		}
		return "", 0, fmt.Errorf("%q: %w", s, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("%q: %q is not a valid port", s, portStr)
	}
	if host == "" {
		host = "localhost"
	}
	return host, port, nil
}

func (a *app) runSnapshotSave(ctx context.Context, file string, opts saveOptions) error {
	const name = "warren snapshot save"
	url, err := snapshotURL(opts, a.env)
	if err != nil {
		return err
	}
	toStdout := file == "-"
	var tmp string
	var f *os.File
	if toStdout {
		f, err = os.CreateTemp("", "warren-snapshot-*.tmp")
	} else {
		tmp = file + ".tmp"
		f, err = os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	}
	if err != nil {
		return &exitError{code: exitFail, msg: name, err: err}
	}
	tmp = f.Name()
	keep := false
	defer func() {
		if f != nil {
			_ = f.Close()
		}
		if !keep {
			_ = os.Remove(tmp)
		}
	}()

	auth := opts.auth
	if auth == "" && a.env != nil {
		auth = a.env("WARREN_ADMIN_AUTH")
	}
	ann, size, err := fetchSnapshot(ctx, url, auth, opts.timeout, f)
	if err != nil {
		return &exitError{code: exitFail, msg: name, err: err}
	}
	if err := f.Sync(); err != nil {
		return &exitError{code: exitFail, msg: name + ": fsync " + tmp, err: err}
	}
	err = f.Close()
	f = nil
	if err != nil {
		return &exitError{code: exitFail, msg: name, err: err}
	}
	st, err := serve.InspectSnapshot(tmp)
	if err != nil {
		return &exitError{code: exitFail, msg: fmt.Sprintf("%s: the snapshot received from %s does not verify, nothing was saved", name, url), err: err}
	}
	if err := ann.check(st); err != nil {
		return &exitError{code: exitFail, msg: fmt.Sprintf("%s: the snapshot received from %s is not the one the server announced, nothing was saved", name, url), err: err}
	}

	out := a.stdout
	if toStdout {
		if err := copyFileTo(a.stdout, tmp); err != nil {
			return &exitError{code: exitFail, msg: name + ": writing to standard output", err: err}
		}
		out = a.stderr
	} else {
		if err := os.Rename(tmp, file); err != nil {
			return &exitError{code: exitFail, msg: name, err: err}
		}
		keep = true
		if err := vfs.OS.SyncDir(filepath.Dir(file)); err != nil {
			return &exitError{code: exitFail, msg: name + ": fsync the directory of " + file, err: err}
		}
	}
	dest := file
	if toStdout {
		dest = "standard output"
	}
	fmt.Fprintf(out, "Saved a snapshot from %s to %s (%d bytes)\n", url, dest, size)
	writeStateSummary(out, st)
	fmt.Fprintf(out, "Verified:        every block checksum, the trailer, the tree's structure and its digest\n")
	return nil
}

// announced is what the server said about the snapshot it sent.
type announced struct {
	zxid, nodes *int64
	digest      *uint64
}

// check compares the verified snapshot with the announcement.
func (an announced) check(st serve.State) error {
	var bad []string
	if an.zxid != nil && *an.zxid != st.Zxid {
		bad = append(bad, fmt.Sprintf("zxid 0x%x, announced 0x%x", st.Zxid, *an.zxid))
	}
	if an.nodes != nil && *an.nodes != int64(st.Nodes) {
		bad = append(bad, fmt.Sprintf("%d nodes, announced %d", st.Nodes, *an.nodes))
	}
	if an.digest != nil && *an.digest != st.Digest {
		bad = append(bad, fmt.Sprintf("digest 0x%016x, announced 0x%016x", st.Digest, *an.digest))
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// fetchSnapshot streams the admin snapshot at url into w and returns what
// the server announced in its headers and the bytes received.
func fetchSnapshot(ctx context.Context, url, auth string, timeout time.Duration, w io.Writer) (announced, int64, error) {
	var ann announced
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ann, 0, fmt.Errorf("request %s: %w", url, err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "digest "+auth)
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
	}}
	resp, err := client.Do(req)
	if err != nil {
		return ann, 0, fmt.Errorf("cannot reach the admin server at %s (is the server running, with admin.enableServer=true? --server names its admin host:port): %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ann, 0, adminError(url, resp)
	}
	if ann, err = parseAnnouncement(resp.Header); err != nil {
		return ann, 0, fmt.Errorf("%s: %w", url, err)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return ann, n, fmt.Errorf("receiving the snapshot from %s after %d bytes: %w", url, n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return ann, n, fmt.Errorf("the snapshot from %s ended after %d of %d bytes", url, n, resp.ContentLength)
	}
	return ann, n, nil
}

// adminError turns a non-200 reply into an error carrying the server's
// JSON "error" (or the start of the body when it is not JSON).
func adminError(url string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var reply struct {
		Error string `json:"error"`
	}
	detail := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &reply) == nil && reply.Error != "" {
		detail = reply.Error
	} else if len(detail) > 200 {
		detail = detail[:200] + "…"
	}
	msg := fmt.Sprintf("the admin server at %s answered %s", url, resp.Status)
	if detail != "" {
		msg += ": " + detail
	}
	if resp.StatusCode == http.StatusNotFound {
		msg += " (is it a Warren server, and is --command-url its admin.commandURL?)"
	}
	return errors.New(msg)
}

// parseAnnouncement reads the X-Warren-Snapshot-* headers; absent ones are
// not checked.
func parseAnnouncement(h http.Header) (announced, error) {
	var an announced
	parse := func(key string, base int, set func(uint64)) error {
		v := h.Get(key)
		if v == "" {
			return nil
		}
		s := v
		if base == 16 {
			s = strings.TrimPrefix(strings.TrimPrefix(v, "0x"), "0X")
		}
		n, err := strconv.ParseUint(s, base, 64)
		if err != nil {
			return fmt.Errorf("bad %s header %q: %w", key, v, err)
		}
		set(n)
		return nil
	}
	err := errors.Join(
		parse("X-Warren-Snapshot-Zxid", 16, func(n uint64) { z := int64(n); an.zxid = &z }),
		parse("X-Warren-Snapshot-Digest", 16, func(n uint64) { an.digest = &n }),
		parse("X-Warren-Snapshot-Nodes", 10, func(n uint64) { c := int64(n); an.nodes = &c }),
	)
	return an, err
}

func copyFileTo(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// ---- restore ----

func (a *app) snapshotRestoreCommand() *cobra.Command {
	var dirs dataDirOptions
	cmd := &cobra.Command{
		Use:   "restore FILE [--config zoo.cfg | --data-dir DIR [--data-log-dir DIR]]",
		Short: "Install a snapshot as the state of an empty data directory",
		Long: "Install the snapshot FILE (from `warren snapshot save`, or copied from a\n" +
			"dataDir/snapshot directory; - reads standard input) as the state of the data\n" +
			"directories of --config or --data-dir, which must hold no snapshot and no\n" +
			"transaction yet: restore never overwrites state. The snapshot is verified\n" +
			"completely before it is installed. Then start the server on that directory.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runSnapshotRestore(cmd.InOrStdin(), args[0], dirs)
		},
	}
	dirs.register(cmd)
	return cmd
}

func (a *app) runSnapshotRestore(stdin io.Reader, file string, dirs dataDirOptions) error {
	const name = "warren snapshot restore"
	cfg, err := dirs.resolve(name, "", a.env)
	if err != nil {
		return err
	}
	src := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return &exitError{code: exitFail, msg: name, err: err}
		}
		defer f.Close()
		src = f
	}
	st, err := serve.RestoreSnapshot(cfg, src, nil)
	if errors.Is(err, serve.ErrNotEmpty) {
		return &exitError{code: exitFail, msg: fmt.Sprintf("%s: refusing to restore into %s, nothing was restored: %v\n"+
			"Restore into an empty data directory: give --data-dir (or dataDir in a zoo.cfg) a new path, then start the server on it.",
			name, describeDirs(cfg), err)}
	}
	if err != nil {
		return &exitError{code: exitFail, msg: fmt.Sprintf("%s: restoring %s into %s", name, file, describeDirs(cfg)), err: err}
	}
	fmt.Fprintf(a.stdout, "Restored %s into %s\n", file, describeDirs(cfg))
	writeStateSummary(a.stdout, st)
	fmt.Fprintf(a.stdout, "Installed as:    %s\n", st.Snapshot)
	fmt.Fprintf(a.stdout, "Start the server on this data directory; it continues from zxid 0x%x.\n", st.Zxid)
	if st.Sessions > 0 {
		fmt.Fprintf(a.stdout, "Note: session passwords derive from the data directory's session.secret, which is\n"+
			"new unless you copied the original server's into %s before restoring. With a new\n"+
			"one, clients cannot resume the %s in the snapshot: they expire after their\n"+
			"timeout once the server runs, and their ephemeral nodes go with them.\n", cfg.DataDir, plural(st.Sessions, "session"))
	}
	return nil
}
