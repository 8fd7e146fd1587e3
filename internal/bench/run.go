package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/proto"
)

// populateBucket is how many znodes populate puts under one parent, so that
// no parent's children list outgrows a frame.
const populateBucket = 1000

// Config describes one benchmark run. Zero fields take the defaults shown.
type Config struct {
	// Server is the host:port of the ZooKeeper-protocol server, or a
	// comma-separated list of the members of an ensemble: connection i then
	// goes to member i modulo their number.
	Server string
	// Label names the server in reports ("zookeeper", "warren"); default Server.
	Label string
	// Workload is what to run (default set).
	Workload Workload
	// Client is the client library that drives the server (default sdk).
	Client Client
	// Conns is the number of sessions, one TCP connection each (default 4).
	Conns int
	// InFlight is the number of outstanding requests per connection
	// (default 16): with the raw client, what one goroutine keeps in
	// flight; with sdk and go-zookeeper, the number of goroutines making
	// synchronous calls on the connection's shared session.
	InFlight int
	// ValueSize is the size of every value written (default 100).
	ValueSize int
	// Duration is the measured window of timed workloads (default 10 s).
	Duration time.Duration
	// Warmup precedes the measured window (default 2 s; 0 is allowed with NoWarmup).
	Warmup time.Duration
	// NoWarmup makes a zero Warmup mean no warm-up rather than the default.
	NoWarmup bool
	// Keys is the number of znodes set, get and mixed work on (default 1000).
	Keys int
	// ReadRatio is the share of getData in the mixed workload (default 0.9).
	ReadRatio float64
	// Count is the number of znodes populate creates (default 1,000,000).
	Count int
	// ServerPID, if non-zero, is the server's process id on this machine:
	// its CPU time and memory are then reported.
	ServerPID int
	// ServerPIDs are more server processes (an ensemble's members): the
	// reported CPU time and memory are the sums over ServerPID and these.
	ServerPIDs []int
	// Root is the parent of every run's znodes (default /warren-bench).
	Root string
	// Keep leaves the run's znodes in place instead of deleting them.
	Keep bool
	// SessionTimeout is asked of the server (default 10 s).
	SessionTimeout time.Duration
	// Seed seeds the key choice of set, get and mixed (default 1).
	Seed uint64
	// Logger receives progress messages (default: none).
	Logger *zap.Logger
}

func (c Config) normalize() (Config, error) {
	if c.Server == "" {
		c.Server = "127.0.0.1:2181"
	}
	for _, a := range strings.Split(c.Server, ",") {
		if a == "" {
			return c, fmt.Errorf("bench: empty address in server list %q", c.Server)
		}
	}
	if c.ServerPID != 0 {
		c.ServerPIDs = append([]int{c.ServerPID}, c.ServerPIDs...)
		c.ServerPID = 0
	}
	for _, pid := range c.ServerPIDs {
		if pid <= 0 {
			return c, fmt.Errorf("bench: server pid %d must be positive", pid)
		}
	}
	if c.Label == "" {
		c.Label = c.Server
	}
	if c.Workload == "" {
		c.Workload = WorkloadSet
	}
	if c.Client == "" {
		c.Client = ClientSDK
	}
	if !slices.Contains(Clients, c.Client) {
		return c, fmt.Errorf("bench: unknown client %q (want one of %s)", c.Client, clientNames())
	}
	if c.Conns == 0 {
		c.Conns = 4
	}
	if c.InFlight == 0 {
		c.InFlight = 16
	}
	if c.ValueSize == 0 {
		c.ValueSize = 100
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup == 0 && !c.NoWarmup {
		c.Warmup = 2 * time.Second
	}
	if c.Keys == 0 {
		c.Keys = 1000
	}
	if c.Count == 0 {
		c.Count = 1_000_000
	}
	if c.Root == "" {
		c.Root = "/warren-bench"
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	switch c.Workload {
	case WorkloadMixed:
	case WorkloadGet:
		c.ReadRatio = 1
	case WorkloadSet, WorkloadCreate, WorkloadPopulate:
		c.ReadRatio = 0
	default:
		return c, fmt.Errorf("bench: unknown workload %q (want one of %s)", c.Workload, workloadNames())
	}
	switch {
	case c.Conns < 1 || c.Conns > 10_000:
		return c, fmt.Errorf("bench: conns %d out of range [1, 10000]", c.Conns)
	case c.InFlight < 1 || c.InFlight > 100_000:
		return c, fmt.Errorf("bench: inflight %d out of range [1, 100000]", c.InFlight)
	case c.ValueSize < 1 || c.ValueSize > 1<<20-1024:
		return c, fmt.Errorf("bench: value size %d out of range [1, %d]", c.ValueSize, 1<<20-1024)
	case c.Duration < 0 || c.Warmup < 0:
		return c, fmt.Errorf("bench: negative duration or warmup")
	case c.Keys < 1:
		return c, fmt.Errorf("bench: keys %d must be positive", c.Keys)
	case c.Count < 1:
		return c, fmt.Errorf("bench: count %d must be positive", c.Count)
	case c.ReadRatio < 0 || c.ReadRatio > 1:
		return c, fmt.Errorf("bench: read ratio %v out of range [0, 1]", c.ReadRatio)
	case !strings.HasPrefix(c.Root, "/") || c.Root == "/" || strings.HasSuffix(c.Root, "/"):
		return c, fmt.Errorf("bench: root %q must be an absolute znode path other than /", c.Root)
	}
	return c, nil
}

func workloadNames() string {
	s := make([]string, len(Workloads))
	for i, w := range Workloads {
		s[i] = string(w)
	}
	return strings.Join(s, ", ")
}

// Latency summarises a latency histogram, in microseconds.
type Latency struct {
	Count  uint64  `json:"count"`
	MinUs  float64 `json:"min_us"`
	MeanUs float64 `json:"mean_us"`
	P50Us  float64 `json:"p50_us"`
	P90Us  float64 `json:"p90_us"`
	P99Us  float64 `json:"p99_us"`
	P999Us float64 `json:"p999_us"`
	MaxUs  float64 `json:"max_us"`
}

func summarize(h *Histogram) Latency {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return Latency{
		Count: h.Count(), MinUs: us(h.Min()), MeanUs: h.Mean() / 1e3,
		P50Us: us(h.Percentile(50)), P90Us: us(h.Percentile(90)), P99Us: us(h.Percentile(99)),
		P999Us: us(h.Percentile(99.9)), MaxUs: us(h.Max()),
	}
}

// ServerStats is what /proc told about the server over the measured window.
type ServerStats struct {
	// PID is the (first) server process; PIDs lists them all when there
	// are several, and the figures are then their sums.
	PID           int     `json:"pid"`
	PIDs          []int   `json:"pids,omitempty"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPercent    float64 `json:"cpu_percent"` // of one core
	CPUMsPer1kOps float64 `json:"cpu_ms_per_1k_ops"`
	RSSBytes      int64   `json:"rss_bytes"`
	PeakRSSBytes  int64   `json:"peak_rss_bytes"`
}

// Result is the outcome of one run.
type Result struct {
	Label     string   `json:"label"`
	Server    string   `json:"server"`
	Workload  Workload `json:"workload"`
	Client    Client   `json:"client"`
	Conns     int      `json:"conns"`
	InFlight  int      `json:"inflight"`
	ValueSize int      `json:"value_size"`
	Keys      int      `json:"keys,omitempty"`
	ReadRatio float64  `json:"read_ratio,omitempty"`
	Count     int      `json:"count,omitempty"`

	WarmupSeconds float64 `json:"warmup_seconds"`
	// Seconds is the measured window: the requested duration, or for
	// populate the time it took.
	Seconds    float64 `json:"seconds"`
	Ops        uint64  `json:"ops"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	Errors     uint64  `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	// Latency covers every measured request; ByOp splits it per opcode
	// when a workload mixes several.
	Latency Latency            `json:"latency"`
	ByOp    map[string]Latency `json:"by_op,omitempty"`

	// The bench process's own CPU time (user + system, every thread, from
	// getrusage) over the measured window: the client's cost.
	ClientCPUSeconds    float64 `json:"client_cpu_seconds"`
	ClientCPUPercent    float64 `json:"client_cpu_percent"` // of one core
	ClientCPUMsPer1kOps float64 `json:"client_cpu_ms_per_1k_ops"`
	ClientCPUUsPerOp    float64 `json:"client_cpu_us_per_op"` // the same figure, per op

	ServerProc *ServerStats `json:"server_process,omitempty"`

	// Run is the znode under which this run worked.
	Run string `json:"run"`
	// Last is the znode populate issued last (the highest index).
	Last string `json:"last,omitempty"`
	// Cleanup reports deleting the run's znodes (absent with Keep).
	Cleanup *Cleanup `json:"cleanup,omitempty"`
}

// Cleanup reports the deletion of a run's znodes.
type Cleanup struct {
	Deleted uint64  `json:"deleted"`
	Seconds float64 `json:"seconds"`
}

// runner holds one run's state.
type runner struct {
	cfg   Config
	log   *zap.Logger
	base  time.Time
	drv   driver
	run   string
	value []byte
	// spread is true when the connections go to several servers.
	spread bool
}

// Run executes one benchmark run against cfg.Server and returns its
// result. Replies with error codes are counted in Result.Errors, not
// returned as errors; Run fails only when it cannot talk to the server or
// cannot set up or clean up its znodes.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, log: cfg.Logger, base: time.Now()}
	r.value = make([]byte, cfg.ValueSize)
	for i := range r.value {
		r.value[i] = 'a' + byte(i%26)
	}
	r.drv, err = dialDriver(ctx, cfg, r.base)
	if err != nil {
		return nil, err
	}
	defer r.closeAll()
	r.spread = strings.Contains(cfg.Server, ",")
	r.run = cfg.Root + "/run-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := r.list(ctx, proto.OpCreate, 1, func(int64) string { return cfg.Root }, nil, proto.ErrNodeExists); err != nil {
		return nil, fmt.Errorf("bench: create %s: %w", cfg.Root, err)
	}
	if _, err := r.list(ctx, proto.OpCreate, 1, func(int64) string { return r.run }, nil); err != nil {
		return nil, fmt.Errorf("bench: create %s: %w", r.run, err)
	}
	res := &Result{
		Label: cfg.Label, Server: cfg.Server, Workload: cfg.Workload, Client: cfg.Client, Conns: cfg.Conns,
		InFlight: cfg.InFlight, ValueSize: cfg.ValueSize, Run: r.run,
	}
	var cleanup func(context.Context) (uint64, error)
	if cfg.Workload == WorkloadPopulate {
		res.Count = cfg.Count
		cleanup, err = r.populate(ctx, res)
	} else {
		res.WarmupSeconds = cfg.Warmup.Seconds()
		cleanup, err = r.timed(ctx, res)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Keep {
		return res, nil
	}
	start := time.Now()
	cctx := context.WithoutCancel(ctx)
	n, err := cleanup(cctx)
	if err == nil {
		_, err = r.list(cctx, proto.OpDelete, 1, func(int64) string { return r.run }, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: clean up %s: %w", r.run, err)
	}
	// Another run may still be using the root.
	if _, err := r.list(cctx, proto.OpDelete, 1, func(int64) string { return cfg.Root }, nil, proto.ErrNotEmpty, proto.ErrNoNode); err != nil {
		return nil, fmt.Errorf("bench: delete %s: %w", cfg.Root, err)
	}
	res.Cleanup = &Cleanup{Deleted: n + 1, Seconds: time.Since(start).Seconds()}
	r.log.Info("cleaned up", zap.String("run", r.run), zap.Uint64("deleted", n+1))
	return res, nil
}

func (r *runner) closeAll() {
	if err := r.drv.close(); err != nil {
		r.log.Warn("close", zap.Error(err))
	}
}

// list issues op on path(0..n-1) spread over every lane, pipelined, and
// fails if any reply has an error code other than tolerated. It returns
// the number of successful replies.
func (r *runner) list(ctx context.Context, op proto.OpCode, n int64, path func(int64) string, value []byte, tolerated ...proto.Code) (uint64, error) {
	var next atomic.Int64
	lanes := int(min(n, int64(r.drv.lanes())))
	recs := make([]*Recorder, lanes)
	gens := make([]reqGen, lanes)
	for i := range lanes {
		recs[i] = NewRecorder(0, 1<<62, -1, tolerated...)
		gens[i] = &listGen{next: &next, n: n, op: op, path: path, value: value}
	}
	if err := r.drv.run(ctx, gens, recs); err != nil {
		return 0, err
	}
	var ok uint64
	for _, rec := range recs {
		if rec.Errors > 0 {
			return 0, fmt.Errorf("%d of %d %s requests failed, first %s", rec.Errors, n, op, rec.FirstError)
		}
		ok += rec.Ops
	}
	return ok, nil
}

// syncAll makes every session's server catch up with the leader (a sync
// on each), when the connections go to several members of an ensemble:
// then every connection reads the keys any of them created.
func (r *runner) syncAll(ctx context.Context) error {
	if !r.spread {
		return nil
	}
	if err := r.drv.syncAll(ctx, r.run); err != nil {
		return fmt.Errorf("bench: sync: %w", err)
	}
	return nil
}

// window samples the client's and the server's CPU at the start and end of
// a measured window.
type window struct {
	wall      time.Time
	client    time.Duration
	server    procSample
	serverErr error
}

func (r *runner) sample() window {
	w := window{wall: time.Now(), client: selfCPU()}
	for _, pid := range r.cfg.ServerPIDs {
		s, err := readProc(pid)
		if err != nil {
			w.serverErr = errors.Join(w.serverErr, err)
			continue
		}
		w.server.cpu += s.cpu
		w.server.rss += s.rss
		w.server.peakRSS += s.peakRSS
	}
	return w
}

// account fills res's CPU and memory figures from two samples.
func (r *runner) account(res *Result, a, b window) error {
	wall := b.wall.Sub(a.wall).Seconds()
	perK := func(cpu float64) float64 {
		if res.Ops == 0 {
			return 0
		}
		return cpu * 1e3 / float64(res.Ops) * 1e3
	}
	cl := (b.client - a.client).Seconds()
	res.ClientCPUSeconds, res.ClientCPUPercent, res.ClientCPUMsPer1kOps = cl, 100*cl/wall, perK(cl)
	res.ClientCPUUsPerOp = res.ClientCPUMsPer1kOps
	if len(r.cfg.ServerPIDs) == 0 {
		return nil
	}
	if err := errors.Join(a.serverErr, b.serverErr); err != nil {
		return err
	}
	sv := (b.server.cpu - a.server.cpu).Seconds()
	res.ServerProc = &ServerStats{
		PID: r.cfg.ServerPIDs[0], CPUSeconds: sv, CPUPercent: 100 * sv / wall, CPUMsPer1kOps: perK(sv),
		RSSBytes: b.server.rss, PeakRSSBytes: b.server.peakRSS,
	}
	if len(r.cfg.ServerPIDs) > 1 {
		res.ServerProc.PIDs = r.cfg.ServerPIDs
	}
	return nil
}

// merge folds the recorders' counts and histograms into res.
func merge(res *Result, recs []*Recorder) {
	all := NewHistogram()
	byOp := map[proto.OpCode]*Histogram{}
	for _, rec := range recs {
		res.Ops += rec.Ops
		res.Errors += rec.Errors
		if res.FirstError == "" {
			res.FirstError = rec.FirstError
		}
		for op, h := range rec.Hists {
			if h == nil {
				continue
			}
			all.Merge(h)
			if byOp[proto.OpCode(op)] == nil {
				byOp[proto.OpCode(op)] = NewHistogram()
			}
			byOp[proto.OpCode(op)].Merge(h)
		}
	}
	res.Latency = summarize(all)
	if len(byOp) > 1 {
		ops := make([]proto.OpCode, 0, len(byOp))
		for op := range byOp {
			ops = append(ops, op)
		}
		sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
		res.ByOp = make(map[string]Latency, len(ops))
		for _, op := range ops {
			res.ByOp[op.String()] = summarize(byOp[op])
		}
	}
}

// timed runs create, set, get or mixed for Warmup + Duration.
func (r *runner) timed(ctx context.Context, res *Result) (func(context.Context) (uint64, error), error) {
	cfg := r.cfg
	var keys []string
	if cfg.Workload != WorkloadCreate {
		res.Keys, res.ReadRatio = cfg.Keys, cfg.ReadRatio
		keys = make([]string, cfg.Keys)
		for i := range keys {
			keys[i] = r.run + "/k" + strconv.Itoa(i)
		}
		r.log.Info("creating keys", zap.Int("keys", len(keys)))
		if _, err := r.list(ctx, proto.OpCreate, int64(len(keys)), func(i int64) string { return keys[i] }, r.value); err != nil {
			return nil, fmt.Errorf("bench: create keys: %w", err)
		}
		if err := r.syncAll(ctx); err != nil {
			return nil, err
		}
	}
	start := time.Since(r.base)
	from := start + cfg.Warmup
	to := from + cfg.Duration
	lanes := r.drv.lanes()
	gens := make([]reqGen, lanes)
	recs := make([]*Recorder, lanes)
	creates := make([]*createGen, lanes)
	for i := range lanes {
		recs[i] = NewRecorder(from, to, getBodyLen(cfg.ValueSize))
		if cfg.Workload == WorkloadCreate {
			creates[i] = &createGen{prefix: r.run + "/c" + strconv.Itoa(i) + "-", value: r.value, deadline: to}
			gens[i] = creates[i]
		} else {
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
			gens[i] = &keyGen{keys: keys, value: r.value, readRatio: cfg.ReadRatio, rng: rng, deadline: to}
		}
	}
	r.log.Info("running", zap.String("workload", string(cfg.Workload)), zap.Duration("warmup", cfg.Warmup), zap.Duration("duration", cfg.Duration))
	samples := make(chan window, 2)
	sctx, stop := context.WithCancel(ctx)
	go func() {
		for _, at := range []time.Duration{from, to} {
			t := time.NewTimer(time.Until(r.base.Add(at)))
			select {
			case <-t.C:
				samples <- r.sample()
			case <-sctx.Done():
				t.Stop()
				close(samples)
				return
			}
		}
		close(samples)
	}()
	err := r.drv.run(ctx, gens, recs)
	if err != nil {
		stop()
	}
	var ws []window
	for w := range samples {
		ws = append(ws, w)
	}
	stop()
	if err != nil {
		return nil, err
	}
	if len(ws) != 2 {
		return nil, fmt.Errorf("bench: the run ended before its measured window did")
	}
	merge(res, recs)
	res.Seconds = ws[1].wall.Sub(ws[0].wall).Seconds()
	res.OpsPerSec = float64(res.Ops) / res.Seconds
	if err := r.account(res, ws[0], ws[1]); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (uint64, error) {
		if cfg.Workload != WorkloadCreate {
			return r.list(ctx, proto.OpDelete, int64(len(keys)), func(i int64) string { return keys[i] }, nil)
		}
		// Delete c<conn>-<seq> for every create sent; the ones that
		// failed are tolerated as missing.
		ends := make([]int64, len(creates))
		var total int64
		for i, g := range creates {
			total += g.sent
			ends[i] = total
		}
		path := func(k int64) string {
			i := sort.Search(len(ends), func(i int) bool { return ends[i] > k })
			return creates[i].prefix + strconv.FormatInt(k-(ends[i]-creates[i].sent), 10)
		}
		return r.list(ctx, proto.OpDelete, total, path, nil, proto.ErrNoNode)
	}, nil
}

// populate creates Count znodes of ValueSize bytes, Count/1000 parents of
// 1000 children each, as fast as the server takes them.
func (r *runner) populate(ctx context.Context, res *Result) (func(context.Context) (uint64, error), error) {
	cfg := r.cfg
	nb := int64((cfg.Count + populateBucket - 1) / populateBucket)
	bucket := func(b int64) string { return r.run + "/b" + strconv.FormatInt(b, 10) }
	node := func(i int64) string {
		return bucket(i/populateBucket) + "/n" + strconv.FormatInt(i%populateBucket, 10)
	}
	if _, err := r.list(ctx, proto.OpCreate, nb, bucket, nil); err != nil {
		return nil, fmt.Errorf("bench: create parents: %w", err)
	}
	res.Last = node(int64(cfg.Count) - 1)
	r.log.Info("populating", zap.Int("count", cfg.Count), zap.Int("valueSize", cfg.ValueSize))
	var next atomic.Int64
	lanes := r.drv.lanes()
	gens := make([]reqGen, lanes)
	recs := make([]*Recorder, lanes)
	for i := range lanes {
		recs[i] = NewRecorder(0, 1<<62, -1)
		gens[i] = &listGen{next: &next, n: int64(cfg.Count), op: proto.OpCreate, path: node, value: r.value}
	}
	a := r.sample()
	if err := r.drv.run(ctx, gens, recs); err != nil {
		return nil, err
	}
	b := r.sample()
	merge(res, recs)
	res.Seconds = b.wall.Sub(a.wall).Seconds()
	res.OpsPerSec = float64(res.Ops) / res.Seconds
	if err := r.account(res, a, b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (uint64, error) {
		n, err := r.list(ctx, proto.OpDelete, int64(cfg.Count), node, nil, proto.ErrNoNode)
		if err != nil {
			return 0, err
		}
		m, err := r.list(ctx, proto.OpDelete, nb, bucket, nil)
		return n + m, err
	}, nil
}
