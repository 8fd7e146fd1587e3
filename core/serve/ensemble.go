package serve

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/peer"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/zab"
)

// member runs this server as an ensemble member: the replica drives a
// zab.Node; two transports carry election and quorum traffic; a
// persistence goroutine carries out the node's persistence requests in
// order (consecutive log appends share one fsync) and reports completion
// to the loop. Every call into the node happens on the loop goroutine,
// through the replica.
type member struct {
	s        *Server
	id       int64
	node     *zab.Node
	disk     *zabDisk
	quorum   *peer.Transport
	election *peer.Transport

	persistQ persistQueue

	// snapFor lists learners waiting for a snapshot stream (the tree takes
	// one snapshot at a time: a background snapshot finishes first).
	snapFor []int64

	// role, for four-letter words and status (read from any goroutine).
	role atomic.Value // zab.Role
}

// persistQueue hands persistence requests to the persistence goroutine.
type persistQueue struct {
	mu   sync.Mutex
	reqs []zab.PersistRequest
	wake chan struct{}
}

func (q *persistQueue) add(reqs []zab.PersistRequest) {
	if len(reqs) == 0 {
		return
	}
	q.mu.Lock()
	q.reqs = append(q.reqs, reqs...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *persistQueue) take() []zab.PersistRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	r := q.reqs
	q.reqs = nil
	return r
}

func peerHost(h string) string {
	if h == "" || h == config.WildcardAddress {
		return "127.0.0.1"
	}
	return h
}

// newMember builds the member after recovery: it loads the epochs, checks
// them against the log, and binds the quorum and election ports.
func newMember(s *Server, st *storage, rc replica.Config) (*member, error) {
	c := s.cfg
	self, _ := c.Self()
	epochs := NewEpochStore(st.fs, st.snapDir)
	ep, err := epochs.Load()
	if err != nil {
		return nil, err
	}
	if err := epochs.CheckLog(ep, st.log.LastZxid()); err != nil {
		return nil, err
	}
	var voters, observers []int64
	quorumPeers := map[int64]string{}
	electionPeers := map[int64]string{}
	for _, sv := range c.Servers {
		if sv.Role == config.RoleObserver {
			observers = append(observers, sv.ID)
		} else {
			voters = append(voters, sv.ID)
		}
		if sv.ID != c.ServerID {
			quorumPeers[sv.ID] = net.JoinHostPort(peerHost(sv.Host), strconv.Itoa(sv.QuorumPort))
			electionPeers[sv.ID] = net.JoinHostPort(peerHost(sv.Host), strconv.Itoa(sv.ElectionPort))
		}
	}
	m := &member{s: s, id: c.ServerID}
	m.persistQ.wake = make(chan struct{}, 1)
	m.disk = &zabDisk{st: st, epochs: epochs, replicaConfig: rc, zl: s.log,
		secretPath: filepath.Join(c.DataDir, secretFileName)}
	m.node = zab.NewNode(zab.Config{
		ID:         c.ServerID,
		Voters:     voters,
		Observers:  observers,
		TickMs:     int64(c.TickTime),
		InitLimit:  int64(c.InitLimit),
		SyncLimit:  int64(c.SyncLimit),
		Storage:    NewLogStorage(st.log, s.log),
		Secret:     st.secret,
		ConfigData: membership(c),
		// A member that missed a reconfiguration adopts it from a peer.
		ParseMembership: replica.ParseMembership,
	}, zab.DurableState{
		AcceptedEpoch: ep.Accepted,
		CurrentEpoch:  ep.Current,
		LastZxid:      st.log.LastZxid(),
		Applied:       s.rep.LastApplied(),
		LogStart:      st.logStart(),
	})
	m.role.Store(zab.Role{State: zab.Looking})
	s.rep.Join(m.node, func(r *replica.Replica, zxid int64) error {
		s.log.Info("reloading the state from disk", zap.String("upto", fmt.Sprintf("0x%x", zxid)))
		return m.disk.reload(r, zxid)
	})
	s.rep.SetConfig(membership(c))
	deliver := func(msg zab.Message) { s.inbox.put(event{kind: evZab, msg: msg}) }
	m.quorum, err = peer.New(peer.Config{
		Self: c.ServerID, Peers: quorumPeers, Logger: s.log.Named("quorum"), AcceptUnknown: true,
		Listen: net.JoinHostPort(listenHost(c, self.Host), strconv.Itoa(self.QuorumPort)),
	}, deliver, func(ev peer.Event) { s.inbox.put(event{kind: evPeer, peerEv: ev}) })
	if err != nil {
		return nil, fmt.Errorf("quorum port: %w", err)
	}
	m.election, err = peer.New(peer.Config{
		Self: c.ServerID, Peers: electionPeers, Election: true, Logger: s.log.Named("election"), AcceptUnknown: true,
		Listen: net.JoinHostPort(listenHost(c, self.Host), strconv.Itoa(self.ElectionPort)),
	}, deliver, func(ev peer.Event) {
		if ev.Connected {
			s.inbox.put(event{kind: evPeer, peerEv: ev, election: true})
		}
	})
	if err != nil {
		m.quorum.Close()
		return nil, fmt.Errorf("election port: %w", err)
	}
	return m, nil
}

// listenHost is where the quorum and election ports bind: the member's
// own host, or every interface with quorumListenOnAllIPs.
func listenHost(c *config.Config, h string) string {
	if h == config.WildcardAddress || c.QuorumListenOnAllIPs {
		return ""
	}
	return h
}

// start binds the member's ports and starts its election.
func (m *member) start(ctx context.Context, wg *sync.WaitGroup) error {
	if err := m.quorum.Start(); err != nil {
		return fmt.Errorf("quorum port: %w", err)
	}
	// The election port may still be held for a moment (a restart right
	// after a crash): try electionPortBindRetry times, a second apart, as
	// ZooKeeper does (0: until it binds).
	retries := m.s.cfg.ElectionPortBindRetry
	for attempt := 1; ; attempt++ {
		err := m.election.Start()
		if err == nil {
			break
		}
		if retries > 0 && attempt >= retries {
			return fmt.Errorf("election port (after %d attempts): %w", attempt, err)
		}
		m.s.log.Warn("cannot bind the election port yet; retrying", zap.Int("attempt", attempt), zap.Error(err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	wg.Add(1)
	go func() { defer wg.Done(); m.persistLoop(ctx) }()
	m.s.inbox.put(event{kind: evCall, call: func(*replica.Replica) { m.node.Start(time.Now().UnixMilli()) }})
	return nil
}

func (m *member) close() {
	m.quorum.Close()
	m.election.Close()
}

// persistLoop carries out persistence requests in order; a run of log
// appends is written and then made durable with one fsync.
func (m *member) persistLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.persistQ.wake:
		}
		reqs := m.persistQ.take()
		for i := 0; i < len(reqs); {
			j := i
			var err error
			if reqs[i].Kind == zab.PersistAppend {
				for j < len(reqs) && reqs[j].Kind == zab.PersistAppend && err == nil {
					err = m.disk.appendEntries(reqs[j].Entries)
					j++
				}
				if err == nil {
					err = m.disk.st.log.Sync()
				}
			} else {
				err = m.disk.Do(reqs[i])
				j = i + 1
			}
			if err != nil {
				m.s.fatal(fmt.Errorf("%v: %w", reqs[i].Kind, err))
				return
			}
			id := reqs[j-1].ID
			m.s.inbox.put(event{kind: evZabPersisted, persistID: id})
			i = j
		}
	}
}

// flush runs after every batch of loop events: it lets the replica act on
// the node's decisions and carries out the rest.
func (m *member) flush(r *replica.Replica) {
	for {
		out, err := r.Flush(time.Now().UnixMilli())
		if err != nil {
			m.s.fatal(err)
			return
		}
		m.persistQ.add(out.Persist)
		for _, msg := range out.Send {
			t := m.quorum
			if msg.Body.Kind() == zab.KindNotification {
				t = m.election
			}
			_ = t.Send(msg) // a message to an unreachable member is dropped, as on a broken link
		}
		for _, id := range out.Disconnect {
			m.quorum.Disconnect(id)
		}
		for _, e := range out.Errors {
			m.s.log.Warn("ensemble", zap.Error(e))
		}
		for _, s := range out.Synced {
			fields := []zap.Field{zap.Int64("learner", s.Learner), zap.Stringer("method", s.Method),
				zap.String("learnerZxid", fmt.Sprintf("0x%x", s.LearnerZxid)), zap.String("leaderZxid", fmt.Sprintf("0x%x", s.LeaderZxid))}
			if s.Method == zab.SyncTruncDiff {
				fields = append(fields, zap.String("truncZxid", fmt.Sprintf("0x%x", s.TruncZxid)))
			}
			if s.Method != zab.SyncSnap {
				fields = append(fields, zap.Int("txns", s.Txns))
			}
			m.s.log.Info("synchronising a learner", fields...)
		}
		if out.Membership != nil {
			m.applyMembership(*out.Membership)
		}
		if out.Role != nil {
			m.role.Store(*out.Role)
			m.s.log.Info("role", zap.String("state", out.Role.State.String()), zap.Int64("leader", out.Role.Leader),
				zap.Int64("epoch", out.Role.Epoch), zap.Bool("serving", out.Role.Serving))
		}
		m.snapFor = append(m.snapFor, out.Snapshots...)
		if !m.streamSnapshots(r) {
			return
		}
	}
}

// streamSnapshots sends the learners waiting for one a snapshot of the
// applied state, produced at once on the loop goroutine (the image of a
// million znodes takes about 80 ms). It reports whether it sent anything.
func (m *member) streamSnapshots(r *replica.Replica) bool {
	if len(m.snapFor) == 0 {
		return false
	}
	if sn := m.s.snaps; sn != nil && sn.cur != nil {
		return false // the background snapshot's image is being produced; retried after the next batch
	}
	ids := m.snapFor
	m.snapFor = nil
	snap, err := r.BeginSnapshot()
	if err != nil {
		m.s.log.Error("cannot snapshot for a learner", zap.Error(err))
		return false
	}
	var parts [][]byte
	buf := make([]byte, 0, snapPartBytes)
	for {
		var done bool
		buf, done = snap.Next(buf, snapChunkIDs)
		if len(buf) >= snapPartBytes || done {
			parts = append(parts, buf)
			buf = make([]byte, 0, snapPartBytes)
		}
		if done {
			break
		}
	}
	zxid := snap.Zxid()
	for _, id := range ids {
		m.node.SnapStarted(id, zxid)
		for i, p := range parts {
			if !m.node.SnapChunk(id, zxid, p, i == len(parts)-1) {
				break
			}
		}
		m.s.log.Info("sent a snapshot to a learner", zap.Int64("learner", id), zap.String("zxid", fmt.Sprintf("0x%x", zxid)),
			zap.Int("parts", len(parts)))
	}
	return true
}

// snapPartBytes is the size of the parts a learner's snapshot is sent in.
const snapPartBytes = 1 << 20

// handlePeer reports a transport event to the node.
func (m *member) handlePeer(r *replica.Replica, ev peer.Event, election bool) {
	switch {
	case ev.Connected:
		r.PeerConnected(ev.Peer)
	case !election:
		r.PeerDisconnected(ev.Peer)
	}
}

// currentRole is the member's role for four-letter words.
func (m *member) currentRole() zab.Role { return m.role.Load().(zab.Role) }

// modeName is ZooKeeper's name for a role in srvr and mntr.
func modeName(st zab.PeerState) string {
	switch st {
	case zab.Leading:
		return "leader"
	case zab.Following:
		return "follower"
	case zab.Observing:
		return "observer"
	}
	return "looking"
}

// peerState is mntr's zk_peer_state: the role and the ZAB phase, as
// ZooKeeper words them.
func peerState(r zab.Role) string {
	switch {
	case r.State == zab.Looking:
		return "looking - election"
	case r.Serving:
		return strings.ToLower(r.State.String()) + " - broadcast"
	}
	return strings.ToLower(r.State.String()) + " - synchronization"
}

// membership renders /zookeeper/config for the static configuration:
// the member lines, then version=0 (every member writes the same bytes).
func membership(c *config.Config) []byte {
	return append(config.RenderMembers(c.Servers), "version=0"...)
}

// reconfigure returns the replica's ReconfigFunc: core/config parses the
// server specs of a reconfig request and applies ZooKeeper's rules to the
// new member list.
func reconfigure(standaloneEnabled bool) replica.ReconfigFunc {
	return func(current []byte, req *proto.ReconfigRequest) ([]byte, proto.Code) {
		lines, err := config.Reconfigure(current, req.JoiningServers, req.LeavingServers, req.NewMembers, standaloneEnabled)
		if err != nil {
			return nil, proto.ErrBadArguments
		}
		return lines, proto.OK
	}
}

// applyMembership points the transports at the member list a
// reconfiguration put in force (its /zookeeper/config data holds the
// addresses).
func (m *member) applyMembership(ms zab.Membership) {
	data := ms.Data
	quorumPeers := map[int64]string{}
	electionPeers := map[int64]string{}
	self := false
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "server.") {
			continue
		}
		sv, err := config.ParseServerLine(line)
		if err != nil {
			m.s.log.Error("unreadable member in /zookeeper/config", zap.String("line", line), zap.Error(err))
			continue
		}
		if sv.ID == m.id {
			self = true
			continue
		}
		quorumPeers[sv.ID] = net.JoinHostPort(peerHost(sv.Host), strconv.Itoa(sv.QuorumPort))
		electionPeers[sv.ID] = net.JoinHostPort(peerHost(sv.Host), strconv.Itoa(sv.ElectionPort))
	}
	if err := m.quorum.SetPeers(quorumPeers, ms.Zxid); err != nil {
		m.s.log.Error("cannot apply the new member list to the quorum port", zap.Error(err))
	}
	if err := m.election.SetPeers(electionPeers, ms.Zxid); err != nil {
		m.s.log.Error("cannot apply the new member list to the election port", zap.Error(err))
	}
	m.s.log.Info("member list changed", zap.String("version", fmt.Sprintf("0x%x", ms.Zxid)),
		zap.Int64s("voters", ms.Voters), zap.Int64s("observers", ms.Observers))
	if !self {
		m.s.log.Warn("this server was removed from the ensemble by a reconfiguration; stop it, or add it back")
	}
}
