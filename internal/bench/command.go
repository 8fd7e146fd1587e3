package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Command returns the `bench` command: run one workload against one
// ZooKeeper-protocol server and print the result, as text or JSON.
func Command() *cobra.Command {
	var (
		cfg      Config
		workload string
		client   string
		asJSON   bool
		quiet    bool
		wait     WaitConfig
		pids     string
		fo       FailoverConfig
		killPID  int
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Drive a ZooKeeper-protocol server with a pipelined load and report throughput and latency",
		Long: `bench opens --conns sessions to --server, keeps --inflight requests outstanding on each,
and runs one workload, through the client chosen by --client:

  sdk           Warren's Go client (package sdk), the default: --inflight goroutines per
                session make synchronous calls on one shared sdk.Conn, which pipelines them
                on its connection
  go-zookeeper  github.com/go-zookeeper/zk, driven the same way (--inflight goroutines
                calling one shared zk.Conn per session)
  raw           the bench's own protocol-level client: one goroutine per connection
                encodes requests straight into its write buffer and keeps --inflight of
                them outstanding; the lightest load generator, used for the server
                comparisons in docs/benchmarks.md

The sdk client sends create2 for a create (the SDK's only create), go-zookeeper and raw send
create. The failover workload and --wait-get always run on the raw client.

--server may list several members of an ensemble, comma-separated: the connections then
go to them round robin (connection i to member i mod n), and after set, get and mixed
create their keys each connection syncs, so that it reads every key.

  create    create new znodes (unique paths, --value-size bytes) for --duration
  set       setData on --keys pre-created znodes, chosen uniformly
  get       getData on --keys pre-created znodes
  mixed     getData with probability --read-ratio, else setData
  populate  create --count znodes of --value-size bytes as fast as possible
  failover  one session writes (setData of --failover-path, one in flight, back to back)
            to the first member of --server; after --steady it SIGKILLs --kill-pid (the
            leader; --server lists the followers) and reports the write gap: the time
            from the kill to the first successful write sent after the leader was gone.
            On a lost connection, or a write unanswered for --op-timeout, the client
            reconnects to the next member of --server at once (then every
            --retry-interval), resuming its session with its id, password and the last
            zxid it saw, as a ZooKeeper client does (without its 1 s pause after a full
            cycle of the list); a session refused as expired is replaced by a new one
            and the result says so. A write whose outcome is unknown is sent again. It
            reports the reconnects, whether the session was resumed, the longest stall
            between successful writes and the timeline of events after the kill, then
            writes on for --after and stops (it fails after --failover-timeout).

Timed workloads run --warmup first and measure the following --duration. It reports ops/s,
latency percentiles, its own CPU time (getrusage of the bench process over the measured
window: "client CPU µs/op") and, with --server-pid, the server's CPU time per
operation and its resident memory. Every znode lives under --root and is deleted afterwards
(unless --keep).

With --wait-get PATH it runs no workload: every --poll it starts a fresh session that reads
PATH once (attempts overlap), until a read succeeds (with --value-size bytes of data, if
that flag is given) or --wait-timeout passes, and reports when the reply came: the
recovery-time measurement of a server restarting on a populated data directory.`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Workload = Workload(workload)
			cfg.Client = Client(client)
			rawOnly := cfg.Workload == WorkloadFailover || wait.Path != ""
			if rawOnly && cmd.Flags().Changed("client") && cfg.Client != ClientRaw {
				return fmt.Errorf("bench: --workload failover and --wait-get run on the raw client only, not --client %s", client)
			}
			if cfg.ValueSize < 1 {
				return fmt.Errorf("bench: --value-size %d must be at least 1", cfg.ValueSize)
			}
			cfg.NoWarmup = cmd.Flags().Changed("warmup") && cfg.Warmup == 0
			cfg.Logger = zap.NewNop()
			if !quiet {
				cfg.Logger = newLogger(cmd.ErrOrStderr())
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if pids != "" {
				for _, p := range strings.Split(pids, ",") {
					pid, err := strconv.Atoi(strings.TrimSpace(p))
					if err != nil || pid < 0 {
						return fmt.Errorf("bench: --server-pid %q: want process ids, comma-separated", pids)
					}
					if pid != 0 { // 0: none, as before the flag took a list
						cfg.ServerPIDs = append(cfg.ServerPIDs, pid)
					}
				}
			}
			if cfg.Workload == WorkloadFailover {
				if killPID <= 0 {
					return fmt.Errorf("bench: --workload failover needs --kill-pid (the leader's process id)")
				}
				fo.Servers = strings.Split(cfg.Server, ",")
				fo.Label = cfg.Label
				fo.ValueSize = cfg.ValueSize
				fo.SessionTimeout = cfg.SessionTimeout
				fo.Logger = cfg.Logger
				fo.Kill, fo.Dead = KillPID(killPID)
				res, err := Failover(ctx, fo)
				if err != nil {
					return err
				}
				return writeFailover(cmd.OutOrStdout(), res, asJSON)
			}
			if wait.Path != "" {
				wait.Server = cfg.Server
				if cmd.Flags().Changed("value-size") {
					wait.ValueSize = cfg.ValueSize
				}
				res, err := WaitForGet(ctx, wait)
				if err != nil {
					return err
				}
				return writeWait(cmd.OutOrStdout(), res, asJSON)
			}
			res, err := Run(ctx, cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, res)
			}
			return WriteText(out, res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Server, "server", "127.0.0.1:2181", "host:port of the ZooKeeper-protocol server, or a comma-separated list of ensemble members")
	f.StringVar(&cfg.Label, "label", "", "name of the server in the report (default: --server)")
	f.StringVar(&workload, "workload", string(WorkloadSet), "create, set, get, mixed, populate or failover")
	f.StringVar(&client, "client", string(ClientSDK), "client library: sdk, go-zookeeper or raw (failover and --wait-get: raw only)")
	f.IntVar(&cfg.Conns, "conns", 4, "number of connections (sessions)")
	f.IntVar(&cfg.InFlight, "inflight", 16, "outstanding requests per connection (sdk, go-zookeeper: goroutines calling each session)")
	f.IntVar(&cfg.ValueSize, "value-size", 100, "bytes per value written (at least 1)")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time of create, set, get and mixed")
	f.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured time before --duration")
	f.IntVar(&cfg.Keys, "keys", 1000, "znodes that set, get and mixed work on")
	f.Float64Var(&cfg.ReadRatio, "read-ratio", 0.9, "share of getData in mixed")
	f.IntVar(&cfg.Count, "count", 1_000_000, "znodes that populate creates")
	f.StringVar(&pids, "server-pid", "", "server process id(s) on this machine, comma-separated: report their CPU time per op and memory (summed); 0: none")
	f.StringVar(&cfg.Root, "root", "/warren-bench", "parent znode of the benchmark's znodes")
	f.BoolVar(&cfg.Keep, "keep", false, "leave the znodes in place (populate: to measure the server's memory afterwards)")
	f.DurationVar(&cfg.SessionTimeout, "session-timeout", 10*time.Second, "session timeout asked of the server")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the key choice")
	f.StringVar(&wait.Path, "wait-get", "", "instead of a workload, poll until a getData of this znode succeeds")
	f.DurationVar(&wait.Poll, "poll", 10*time.Millisecond, "--wait-get: time between connection attempts")
	f.DurationVar(&wait.Timeout, "wait-timeout", 120*time.Second, "--wait-get: give up after this long")
	f.IntVar(&killPID, "kill-pid", 0, "failover: process id of the leader, SIGKILLed after --steady")
	f.StringVar(&fo.Path, "failover-path", "/warren-bench-failover", "failover: the znode written")
	f.DurationVar(&fo.Steady, "steady", time.Second, "failover: time writing before the kill")
	f.DurationVar(&fo.After, "after", 500*time.Millisecond, "failover: time writing after writes resumed")
	f.DurationVar(&fo.Timeout, "failover-timeout", 60*time.Second, "failover: give up when writes have not resumed this long after the kill")
	f.DurationVar(&fo.RetryInterval, "retry-interval", 5*time.Millisecond, "failover: pause between connection attempts after the first")
	f.DurationVar(&fo.ConnectTimeout, "connect-timeout", 0, "failover: bound on one connect + handshake (default: session timeout / number of servers)")
	f.DurationVar(&fo.OpTimeout, "op-timeout", 0, "failover: a write unanswered this long counts as a lost connection (default: 2/3 of the session timeout)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.BoolVar(&quiet, "quiet", false, "no progress messages on stderr")
	return cmd
}

// newLogger returns a console logger for progress messages.
func newLogger(w io.Writer) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = ""
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), zapcore.InfoLevel)
	return zap.New(core)
}

// writeWait prints a WaitForGet result, as JSON or for a human.
func writeWait(w io.Writer, res *WaitResult, asJSON bool) error {
	if asJSON {
		return writeJSON(w, res)
	}
	p := &errWriter{w: w}
	p.printf("getData %s answered by %s after %.3f s (%d attempts)\n", res.Path, res.Server, res.Seconds, res.Attempts)
	return p.err
}

// writeFailover prints a Failover result, as JSON or for a human.
func writeFailover(w io.Writer, res *FailoverResult, asJSON bool) error {
	if asJSON {
		return writeJSON(w, res)
	}
	return WriteFailoverText(w, res)
}

// WriteFailoverText writes a Failover result for a human.
func WriteFailoverText(w io.Writer, res *FailoverResult) error {
	p := &errWriter{w: w}
	p.printf("failover against %s (%s): one session, setData back to back\n", res.Label, strings.Join(res.Servers, ","))
	p.printf("before     %d writes, p50 %s  p99 %s  max %s\n", res.SteadyWrites,
		ms(res.SteadyLatency.P50Us), ms(res.SteadyLatency.P99Us), ms(res.SteadyLatency.MaxUs))
	p.printf("write gap  %.1f ms from the SIGKILL to the first successful write (leader gone after %.3f ms)\n", res.GapMs, res.DeadMs)
	p.printf("stall      %.1f ms, the longest time between two successful writes\n", res.OutageMs)
	session := "kept (no reconnect)"
	switch {
	case res.NewSession:
		session = "EXPIRED: a new session was opened"
	case res.SessionResumed:
		session = "resumed"
	}
	p.printf("client     %d connections lost, %d connect attempts, %d reconnects, %d writes retried; session 0x%x %s; resumed on %s\n",
		res.ConnectionsLost, res.ConnectAttempts, res.Reconnects, res.RetriedWrites, res.SessionID, session, res.ResumedOn)
	p.printf("after      %d writes\n", res.WritesAfter)
	for _, e := range res.Events {
		p.printf("  %+9.3f ms  %s\n", e.Ms, e.What)
	}
	return p.err
}

// WriteText writes res for a human.
func WriteText(w io.Writer, res *Result) error {
	p := &errWriter{w: w}
	p.printf("%s against %s (%s): %s client, %d conns x %d in flight, %d-byte values\n",
		res.Workload, res.Label, res.Server, res.Client, res.Conns, res.InFlight, res.ValueSize)
	if res.Workload == WorkloadPopulate {
		p.printf("created    %d znodes in %.2f s: %.0f ops/s, client CPU %.2f µs/op, %d errors\n",
			res.Ops, res.Seconds, res.OpsPerSec, res.ClientCPUUsPerOp, res.Errors)
	} else {
		p.printf("measured   %.2f s after %.2f s warm-up: %d ops, %.0f ops/s, client CPU %.2f µs/op, %d errors\n",
			res.Seconds, res.WarmupSeconds, res.Ops, res.OpsPerSec, res.ClientCPUUsPerOp, res.Errors)
	}
	if res.FirstError != "" {
		p.printf("first err  %s\n", res.FirstError)
	}
	lat := func(name string, l Latency) {
		p.printf("%-10s p50 %s  p99 %s  p99.9 %s  max %s  mean %s\n", name,
			ms(l.P50Us), ms(l.P99Us), ms(l.P999Us), ms(l.MaxUs), ms(l.MeanUs))
	}
	lat("latency", res.Latency)
	for _, op := range []string{"create", "delete", "getData", "setData"} {
		if l, ok := res.ByOp[op]; ok {
			lat("  "+op, l)
		}
	}
	p.printf("client CPU %.2f s (%.0f%% of a core), %.2f µs per op\n",
		res.ClientCPUSeconds, res.ClientCPUPercent, res.ClientCPUUsPerOp)
	if s := res.ServerProc; s != nil {
		p.printf("server CPU %.2f s (%.0f%% of a core), %.1f ms per 1k ops; RSS %.1f MiB (peak %.1f MiB)\n",
			s.CPUSeconds, s.CPUPercent, s.CPUMsPer1kOps, mib(s.RSSBytes), mib(s.PeakRSSBytes))
	}
	if c := res.Cleanup; c != nil {
		p.printf("cleanup    deleted %d znodes in %.2f s\n", c.Deleted, c.Seconds)
	} else {
		p.printf("kept       %s\n", res.Run)
	}
	return p.err
}

func ms(us float64) string { return fmt.Sprintf("%.3f ms", us/1e3) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (p *errWriter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("bench: write result: %w", err)
	}
	return nil
}
