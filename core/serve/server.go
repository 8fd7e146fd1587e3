// Package serve runs a Warren server process: it binds the client port and
// the admin HTTP endpoint, reads and writes client connections, and drives
// the deterministic core/replica machine with real time from one loop
// goroutine. Everything stateful about ZooKeeper semantics lives in replica;
// this package owns sockets, goroutines, clocks, limits and logging.
//
// Goroutines: one accept loop; per connection a reader (frames -> inbox)
// and a writer (outbound queue -> socket); one processing loop that owns the
// replica. Locks: Server.mu (clients, per-IP counts) and client.mu (outbound
// queue) are never held together, and neither is held across I/O.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/internal/vfs"
)

// Server is one Warren server process.
type Server struct {
	cfg *config.Config
	log *zap.Logger

	ln      net.Listener
	admin   *http.Server
	adminLn net.Listener

	mu      sync.Mutex
	clients map[replica.ConnID]*client
	perIP   map[string]int
	nextID  uint64

	inbox   inbox
	rep     *replica.Replica
	started time.Time

	stats serverStats
	done  chan struct{}

	store    *storage     // the write-ahead log and session secret
	gc       *groupCommit // nil: proposals are durable at once (no write-ahead log)
	fatalErr chan error   // a persistence failure that stops the server
	snaps    *snapshotter // background snapshots (nil without storage)
	ens      *member      // nil for a standalone server

	// fs is what the transaction log is written through; nil means
	// vfs.OS. Tests set it before Listen to inject disk faults.
	fs vfs.FS
	// diskFull is set while writes fail for lack of disk space (loop
	// goroutine only), so the episode is logged once.
	diskFull bool
}

type serverStats struct {
	received      atomic.Int64
	sent          atomic.Int64
	minLatency    atomic.Int64
	maxLatency    atomic.Int64
	totalLatency  atomic.Int64
	latencyCount  atomic.Int64
	rejected      atomic.Int64
	authFailed    atomic.Int64
	largeRejected atomic.Int64
	lastRespSize  atomic.Int64
	minRespSize   atomic.Int64
	maxRespSize   atomic.Int64
}

// New validates cfg and prepares a server; Run binds and serves.
func New(cfg *config.Config, log *zap.Logger) (*Server, error) {
	if cfg == nil {
		return nil, errors.New("serve: nil config")
	}
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{
		cfg:      cfg,
		log:      log,
		clients:  make(map[replica.ConnID]*client),
		perIP:    make(map[string]int),
		done:     make(chan struct{}),
		fatalErr: make(chan error, 1),
	}
	s.inbox.init()
	s.stats.minLatency.Store(-1)
	s.stats.minRespSize.Store(-1)
	return s, nil
}

func (s *Server) replicaConfig(secret []byte) (replica.Config, error) {
	c := s.cfg
	saslCfg, err := loadSASL(c)
	if err != nil {
		return replica.Config{}, err
	}
	return replica.Config{
		SASL:                     saslCfg,
		TickMs:                   int64(c.TickTime),
		MinSessionTimeoutMs:      int32(c.MinSessionTimeout),
		MaxSessionTimeoutMs:      int32(c.MaxSessionTimeout),
		ServerID:                 c.ServerID, // 0 standalone; session ids carry it in their top byte
		Secret:                   secret,
		ExtendedTypes:            c.ExtendedTypesEnabled,
		SkipACL:                  c.SkipACL,
		EnforceQuota:             c.EnforceQuota,
		ReadOnlyMode:             c.ReadOnlyMode,
		SuperDigest:              c.SuperDigest,
		ReconfigEnabled:          c.ReconfigEnabled,
		Reconfig:                 reconfigure(c.StandaloneEnabled),
		ContainerCheckIntervalMs: int64(c.ContainerCheckIntervalMs),
		ContainerMaxPerMinute:    c.ContainerMaxPerMinute,
		ContainerMaxNeverUsedMs:  int64(c.ContainerMaxNeverUsedIntervalMs),
	}, nil
}

// SetPersister makes the server persist every transaction through p (a
// write-ahead log) before applying and acknowledging it. Call before Run.
func (s *Server) SetPersister(p Persister) {
	s.gc = &groupCommit{p: p, done: func(zxid int64, err error) {
		s.inbox.put(event{kind: evPersisted, zxid: zxid, err: err})
	}}
}

// fatal stops the server on an error it must not survive (a failed fsync).
func (s *Server) fatal(err error) {
	s.log.Error("stopping: transactions can no longer be made durable", zap.Error(err))
	select {
	case s.fatalErr <- err:
	default:
	}
}

// ClientAddr is the bound client address (valid once Run has bound it).
func (s *Server) ClientAddr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// AdminAddr is the bound admin HTTP address, or nil when disabled.
func (s *Server) AdminAddr() net.Addr {
	if s.adminLn == nil {
		return nil
	}
	return s.adminLn.Addr()
}

// Listen binds the client port and the admin endpoint. Run calls it if it
// has not been called.
func (s *Server) Listen() error {
	if s.ln != nil {
		return nil
	}
	fsys := s.fs
	if fsys == nil {
		fsys = vfs.OS
	}
	st, err := openStorage(s.cfg, fsys, s.log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	rc, err := s.replicaConfig(st.secret)
	if err != nil {
		st.close()
		return err
	}
	s.started = time.Now()
	s.rep = replica.New(rc, (*sink)(s), s.started.UnixMilli())
	began := time.Now()
	rep, err := st.recover(s.rep, s.started.UnixMilli())
	if err != nil {
		st.close()
		return fmt.Errorf("serve: %w", err)
	}
	s.log.Info("recovered", zap.String("snapshot", rep.Snapshot), zap.Int("logRecords", rep.Replayed),
		zap.String("zxid", fmt.Sprintf("0x%x", s.rep.LastApplied())), zap.Int("nodes", s.rep.Tree().NodeCount()),
		zap.Int("sessions", s.rep.Sessions().Len()), zap.Duration("took", time.Since(began)))
	s.store = st
	s.snaps = newSnapshotter(s, st)
	if s.cfg.Distributed() {
		m, err := newMember(s, st, rc)
		if err != nil {
			st.close()
			return fmt.Errorf("serve: %w", err)
		}
		s.ens = m
	} else {
		s.SetPersister(st)
	}
	addr := net.JoinHostPort(s.cfg.ClientPortAddress, strconv.Itoa(s.cfg.ClientPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: client port %s: %w", addr, err)
	}
	s.ln = ln
	if s.cfg.Admin.EnableServer {
		aaddr := net.JoinHostPort(s.cfg.Admin.ServerAddress, strconv.Itoa(s.cfg.Admin.ServerPort))
		aln, err := net.Listen("tcp", aaddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("serve: admin server %s: %w", aaddr, err)
		}
		s.adminLn = aln
	}
	return nil
}

// Run serves until ctx is cancelled, then shuts down.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	mode := "standalone"
	if s.ens != nil {
		mode = "ensemble"
	}
	s.log.Info("serving",
		zap.String("clientAddr", s.ln.Addr().String()),
		zap.String("mode", mode),
		zap.Int64("myid", s.cfg.ServerID),
		zap.Int("tickTime", s.cfg.TickTime),
		zap.Int("maxClientCnxns", s.cfg.MaxClientCnxns), zap.Int("maxCnxns", s.cfg.MaxCnxns))
	var wg sync.WaitGroup
	loopCtx, stopLoop := context.WithCancel(context.Background())
	wg.Add(1)
	go func() { defer wg.Done(); s.loop(loopCtx) }()
	if s.adminLn != nil {
		s.admin = &http.Server{Handler: s.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
		s.log.Info("admin server", zap.String("addr", s.adminLn.Addr().String()), zap.String("commandURL", s.cfg.Admin.CommandURL))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.admin.Serve(s.adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("admin server stopped", zap.Error(err))
			}
		}()
	}
	if s.store != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.purger(loopCtx, s.store) }()
	}
	if s.ens != nil {
		if err := s.ens.start(loopCtx, &wg); err != nil {
			stopLoop()
			s.ln.Close()
			wg.Wait()
			s.store.close()
			return fmt.Errorf("serve: %w", err)
		}
	}
	acceptErr := make(chan error, 1)
	go func() { acceptErr <- s.acceptLoop() }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-acceptErr:
	case err = <-s.fatalErr:
		err = fmt.Errorf("serve: %w", err)
	}
	s.log.Info("shutting down")
	s.ln.Close()
	if s.admin != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.admin.Shutdown(sctx)
		cancel()
	}
	s.mu.Lock()
	for _, c := range s.clients {
		c.nc.Close()
	}
	s.mu.Unlock()
	if s.ens != nil {
		s.ens.close()
	}
	stopLoop()
	wg.Wait()
	if s.snaps != nil {
		s.snaps.abort() // the loop is stopped: its state is ours now
	}
	if s.gc != nil {
		s.gc.wait()
	}
	if s.store != nil {
		if cerr := s.store.close(); cerr != nil {
			s.log.Error("closing the transaction log", zap.Error(cerr))
		}
	}
	close(s.done)
	if err != nil && ctx.Err() == nil {
		return err
	}
	select {
	case ferr := <-s.fatalErr:
		return fmt.Errorf("serve: %w", ferr)
	default:
	}
	return nil
}

func (s *Server) acceptLoop() error {
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if backoff == 0 {
					backoff = 5 * time.Millisecond
				} else if backoff *= 2; backoff > time.Second {
					backoff = time.Second
				}
				s.log.Warn("accept failed; retrying", zap.Error(err), zap.Duration("backoff", backoff))
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("serve: accept: %w", err)
		}
		backoff = 0
		ip := remoteIP(nc.RemoteAddr())
		s.mu.Lock()
		// The total first, then the address's share, as ZooKeeper's
		// connection factory checks them.
		if max := s.cfg.MaxCnxns; max > 0 && len(s.clients) >= max {
			s.mu.Unlock()
			s.stats.rejected.Add(1)
			s.log.Warn("too many connections", zap.String("ip", ip), zap.Int("maxCnxns", max))
			nc.Close()
			continue
		}
		if max := s.cfg.MaxClientCnxns; max > 0 && s.perIP[ip] >= max {
			s.mu.Unlock()
			s.stats.rejected.Add(1)
			s.log.Warn("too many connections from one address", zap.String("ip", ip), zap.Int("max", max))
			nc.Close()
			continue
		}
		s.perIP[ip]++
		s.nextID++
		c := newClient(s, replica.ConnID(s.nextID), nc, ip)
		s.clients[c.id] = c
		s.mu.Unlock()
		go c.serve()
	}
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

func (s *Server) removeClient(c *client) {
	s.mu.Lock()
	if _, ok := s.clients[c.id]; ok {
		delete(s.clients, c.id)
		if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
			delete(s.perIP, c.ip)
		}
	}
	s.mu.Unlock()
}

func (s *Server) client(id replica.ConnID) *client {
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	return c
}

func (s *Server) recordLatency(ms int64) {
	st := &s.stats
	st.totalLatency.Add(ms)
	st.latencyCount.Add(1)
	for {
		cur := st.minLatency.Load()
		if (cur >= 0 && cur <= ms) || st.minLatency.CompareAndSwap(cur, ms) {
			break
		}
	}
	for {
		cur := st.maxLatency.Load()
		if cur >= ms || st.maxLatency.CompareAndSwap(cur, ms) {
			break
		}
	}
}

func (s *Server) recordResponseSize(n int64) {
	st := &s.stats
	st.lastRespSize.Store(n)
	for {
		cur := st.minRespSize.Load()
		if (cur >= 0 && cur <= n) || st.minRespSize.CompareAndSwap(cur, n) {
			break
		}
	}
	for {
		cur := st.maxRespSize.Load()
		if cur >= n || st.maxRespSize.CompareAndSwap(cur, n) {
			break
		}
	}
}

// sink adapts Server to replica.Sink; it runs on the loop goroutine.
type sink Server

func (k *sink) Connected(id replica.ConnID, resp *proto.ConnectResponse) {
	if c := (*Server)(k).client(id); c != nil {
		c.push(outMsg{connect: resp})
	}
}

func (k *sink) Send(id replica.ConnID, hdr proto.ReplyHeader, body proto.Record) {
	if c := (*Server)(k).client(id); c != nil {
		c.push(outMsg{hdr: hdr, body: body})
	}
}

func (k *sink) Close(id replica.ConnID) {
	if c := (*Server)(k).client(id); c != nil {
		c.push(outMsg{close: true})
	}
}
