package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/warrenhq/warren/core/config"
)

// statusOptions are the flags of `warren status`.
type statusOptions struct {
	configPath string
	server     string
	timeout    time.Duration
}

// statusTarget is where `warren status` looks, and what it prints about it.
type statusTarget struct {
	Host string // as printed and dialled
	Port int
}

func (a *app) statusCommand() *cobra.Command {
	opts := statusOptions{timeout: 5 * time.Second}
	cmd := &cobra.Command{
		Use:   "status [--config zoo.cfg | --server host:port]",
		Short: "Print a server's mode, as zkServer.sh status does",
		Long: "Connect to a server's client port, send the srvr four-letter word and print its\n" +
			"mode, as zkServer.sh status does. Exits 1 when no server answers. Works against\n" +
			"Apache ZooKeeper too. Without flags it asks 127.0.0.1:2181.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runStatus(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.configPath, "config", "c", "", "zoo.cfg naming the client port and address")
	f.StringVar(&opts.server, "server", "", "host:port of the server to ask")
	f.DurationVar(&opts.timeout, "timeout", opts.timeout, "connect and read timeout")
	cmd.MarkFlagsMutuallyExclusive("config", "server")
	_ = cmd.MarkFlagFilename("config", "cfg", "conf", "properties")
	return cmd
}

func (a *app) runStatus(ctx context.Context, opts statusOptions) error {
	target, err := resolveStatusTarget(opts, a.env)
	if err != nil {
		return err
	}
	if opts.configPath != "" {
		fmt.Fprintf(a.stderr, "Using config: %s\n", opts.configPath)
	}
	fmt.Fprintf(a.stdout, "Client port found: %d. Client address: %s. Client SSL: false.\n", target.Port, target.Host)
	mode, err := queryMode(ctx, net.JoinHostPort(target.Host, strconv.Itoa(target.Port)), opts.timeout)
	if err != nil {
		fmt.Fprintln(a.stdout, "Error contacting service. It is probably not running.")
		return &exitError{code: exitFail}
	}
	fmt.Fprintln(a.stdout, mode)
	return nil
}

// resolveStatusTarget picks the address to ask: --server, else the client
// port and address of --config (zkServer.sh's "localhost" when the address
// is unset or a wildcard), else Warren's embedded default.
func resolveStatusTarget(opts statusOptions, env func(string) string) (statusTarget, error) {
	switch {
	case opts.server != "":
		host, port, err := splitServer(opts.server)
		if err != nil {
			return statusTarget{}, &exitError{code: exitConfig, msg: "warren status: --server", err: err}
		}
		return statusTarget{Host: host, Port: port}, nil
	case opts.configPath != "":
		cfg, _, err := loadConfig(opts.configPath, env)
		if err != nil {
			return statusTarget{}, err
		}
		host := cfg.ClientPortAddress
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = "localhost"
		}
		return statusTarget{Host: host, Port: cfg.ClientPort}, nil
	default:
		d := config.Default()
		return statusTarget{Host: d.ClientPortAddress, Port: d.ClientPort}, nil
	}
}

// splitServer reads "host:port", "[v6]:port" or a bare host (port 2181).
func splitServer(s string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return strings.Trim(s, "[]"), config.DefaultClientPort, nil
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

// queryMode sends srvr to addr and returns its "Mode: ..." line with runs of
// blanks collapsed, as `echo $STAT` does in zkServer.sh.
func queryMode(ctx context.Context, addr string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", addr, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err := io.WriteString(conn, "srvr"); err != nil {
		return "", fmt.Errorf("send srvr: %w", err)
	}
	reply, err := io.ReadAll(io.LimitReader(conn, 1<<20))
	if err != nil && len(reply) == 0 {
		return "", fmt.Errorf("read srvr reply: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(reply))
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "Mode") {
			return strings.Join(strings.Fields(line), " "), nil
		}
	}
	return "", fmt.Errorf("no Mode line in the srvr reply from %s", addr)
}
