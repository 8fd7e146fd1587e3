package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/acl"
	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/snapfile"
	"github.com/warrenhq/warren/core/txnlog"
	"github.com/warrenhq/warren/internal/vfs"
)

// snapDirName is where snapshots live under dataDir.
const snapDirName = "snapshot"

// Background snapshots.
//
// As in ZooKeeper, a snapshot starts once the number of transactions since
// the last one passes snapCount/2 plus a random share of snapCount/2 (or
// the log bytes pass half of snapSizeLimitInKb plus a random share), so the
// servers of an ensemble do not all snapshot at once. The loop goroutine
// produces the image a chunk at a time (replica.Snapshot.Next walks at most
// snapChunkIDs nodes, well under a millisecond) and a writer goroutine
// writes the chunks to a temporary file, fsyncs and renames it (core/
// snapfile). The loop only produces a chunk when the writer has room for
// it, so a slow disk slows the snapshot, never the writes.
const (
	// snapSyncEvery spreads a snapshot's write-back over its writing (see
	// snapfile.Writer.Sync).
	snapSyncEvery   = 8 << 20
	snapChunkIDs    = 4096
	snapChunksAhead = 2
)

// snapResult is the outcome of one snapshot.
type snapResult struct {
	info snapfile.Info
	meta snapfile.Meta
	err  error
}

// snapJob hands one snapshot's chunks to the writer. The loop sets
// complete before closing chunks once the stream is whole; a job closed
// without it was aborted, and the writer discards its temporary file.
type snapJob struct {
	chunks   chan []byte
	complete bool
}

// snapWaiter is an admin request for a snapshot holding at least zxid.
type snapWaiter struct {
	zxid int64
	ch   chan snapResult
}

// snapshotter drives background snapshots; its fields belong to the loop
// goroutine except where noted.
type snapshotter struct {
	s       *Server
	fs      vfs.FS
	dir     string
	log     *txnlog.Log
	zl      *zap.Logger
	count   int   // snapCount
	sizeLim int64 // snapSizeLimitInKb in bytes, 0 for none

	rollAt     int   // transactions since the last snapshot that start the next
	sizeAt     int64 // log bytes since the last snapshot that start the next
	since      int   // transactions applied since the last snapshot began
	bytesStart int64 // log bytes written when the last snapshot began

	cur     *replica.Snapshot
	job     *snapJob
	busy    bool        // a snapshot is being produced or written
	purging bool        // autopurge runs: no snapshot starts (Purge removes temporary files)
	credits int         // chunks the loop may produce before the writer asks
	free    chan []byte // spent chunk buffers, for reuse
	waiters []snapWaiter
	// lastAdmin is when the admin snapshot command last ran (rate limit).
	lastAdmin time.Time
	last      snapResult // the last completed snapshot
	running   sync.WaitGroup

	// Counters for mntr (read on the loop goroutine).
	taken     int64
	failed    int64
	lastMs    int64
	lastBytes int64
}

func newSnapshotter(s *Server, st *storage) *snapshotter {
	c := s.cfg
	sn := &snapshotter{
		s:       s,
		fs:      st.fs,
		dir:     st.snapDir,
		log:     st.log,
		zl:      s.log,
		count:   max(c.SnapCount, 2),
		sizeLim: int64(c.SnapSizeLimitKB) * 1024,
		free:    make(chan []byte, snapChunksAhead+1),
	}
	if st.snap != nil {
		sn.last = snapResult{info: *st.snap, meta: st.snapMeta}
	}
	sn.reroll()
	sn.bytesStart = sn.log.Stats().Bytes
	return sn
}

// reroll picks the randomised thresholds for the next snapshot.
func (sn *snapshotter) reroll() {
	sn.rollAt = sn.count/2 + rand.IntN(max(sn.count/2, 1))
	sn.sizeAt = 0
	if sn.sizeLim > 0 {
		sn.sizeAt = sn.sizeLim/2 + rand.Int64N(max(sn.sizeLim/2, 1))
	}
}

// applied counts n transactions applied; the loop calls it after Persisted.
func (sn *snapshotter) applied(n int) { sn.since += n }

// due reports whether the thresholds were passed.
func (sn *snapshotter) due() bool {
	if sn.since > sn.rollAt {
		return true
	}
	return sn.sizeAt > 0 && sn.log.Stats().Bytes-sn.bytesStart > sn.sizeAt
}

// step runs on the loop goroutine after every batch of events: it starts a
// snapshot when one is due or requested and produces chunks while the
// writer has room.
func (sn *snapshotter) step(r *replica.Replica) {
	if sn.cur == nil {
		if sn.busy || sn.purging || !sn.due() && !sn.wanted(r) {
			return
		}
		if err := sn.start(r); err != nil {
			sn.zl.Error("cannot start a snapshot", zap.Error(err))
			return
		}
	}
	for sn.credits > 0 && sn.cur != nil {
		var buf []byte
		select {
		case buf = <-sn.free:
			buf = buf[:0]
		default:
		}
		buf, done := sn.cur.Next(buf, snapChunkIDs)
		sn.credits--
		sn.job.chunks <- buf
		if done {
			sn.job.complete = true
			close(sn.job.chunks)
			sn.cur, sn.job = nil, nil
		}
	}
}

// wanted reports whether an admin request waits for a snapshot the last
// one does not satisfy.
func (sn *snapshotter) wanted(r *replica.Replica) bool {
	for _, w := range sn.waiters {
		if sn.last.err != nil || sn.last.info.Path == "" || sn.last.info.Zxid < w.zxid {
			return true
		}
	}
	return false
}

func (sn *snapshotter) start(r *replica.Replica) error {
	snap, err := r.BeginSnapshot()
	if err != nil {
		return err
	}
	meta := snapfile.Meta{
		Zxid:     snap.Zxid(),
		Digest:   snap.Digest(),
		Nodes:    int64(snap.NodeCount()),
		Sessions: int64(snap.SessionCount()),
		Created:  time.Now().UnixMilli(),
	}
	sn.cur, sn.busy = snap, true
	sn.since = 0
	sn.bytesStart = sn.log.Stats().Bytes
	sn.reroll()
	sn.job = &snapJob{chunks: make(chan []byte, snapChunksAhead)}
	sn.credits = snapChunksAhead
	sn.zl.Info("snapshot started", zap.String("zxid", fmt.Sprintf("0x%x", meta.Zxid)),
		zap.Int64("nodes", meta.Nodes), zap.Int64("sessions", meta.Sessions))
	sn.running.Add(1)
	go sn.write(meta, sn.job)
	return nil
}

// write runs on its own goroutine: it writes the chunks of one snapshot
// and reports the result to the loop.
func (sn *snapshotter) write(meta snapfile.Meta, job *snapJob) {
	defer sn.running.Done()
	began := time.Now()
	// Start a new log segment, so that purging can free everything the
	// snapshot covers (ZooKeeper rolls its log at each snapshot too).
	err := sn.log.Roll()
	var w *snapfile.Writer
	if err == nil {
		w, err = snapfile.Create(sn.fs, sn.dir, meta)
	}
	synced := int64(0)
	for buf := range job.chunks {
		if err == nil {
			_, err = w.Write(buf)
		}
		if err == nil && w.Size()-synced >= snapSyncEvery {
			synced = w.Size()
			err = w.Sync()
			// Pace the write (warren.snapshot.writeRateMBps): a snapshot
			// written flat out competes with the log's fsyncs for the disk,
			// and a closed-loop client then sees it as write latency.
			if rate := sn.s.cfg.SnapshotWriteRateMBps; rate > 0 {
				due := time.Duration(float64(w.Size()) / float64(rate<<20) * float64(time.Second))
				if el := time.Since(began); el < due {
					time.Sleep(due - el)
				}
			}
		}
		select {
		case sn.free <- buf:
		default:
		}
		sn.s.inbox.put(event{kind: evCall, call: func(*replica.Replica) { sn.credits++ }})
	}
	var res snapResult
	res.meta = meta
	if err == nil && !job.complete {
		err = errors.New("snapshot abandoned at shutdown")
	}
	switch {
	case err != nil && w != nil:
		_ = w.Abort()
	case err == nil:
		res.info, err = w.Commit()
	}
	res.err = err
	took := time.Since(began)
	sn.s.inbox.put(event{kind: evCall, call: func(*replica.Replica) { sn.finished(res, took) }})
}

// abort abandons the snapshot in progress (at shutdown) and waits for the
// writer, which removes its temporary file.
func (sn *snapshotter) abort() {
	if sn.cur != nil {
		sn.cur.Abort()
		close(sn.job.chunks)
		sn.cur, sn.job = nil, nil
	}
	sn.running.Wait()
	for _, w := range sn.waiters {
		w.ch <- snapResult{err: errors.New("server is shutting down")}
	}
	sn.waiters = nil
}

// finished runs on the loop goroutine when the writer is done.
func (sn *snapshotter) finished(res snapResult, took time.Duration) {
	sn.busy = false
	if res.err != nil {
		// The log still holds everything, so a failed snapshot loses
		// nothing; the next one is tried after the usual interval.
		sn.failed++
		sn.zl.Error("snapshot failed; the transaction log still holds every transaction",
			zap.String("zxid", fmt.Sprintf("0x%x", res.meta.Zxid)), zap.Error(res.err))
	} else {
		sn.taken++
		sn.last = res
		sn.lastMs = took.Milliseconds()
		sn.lastBytes = res.info.Size
		sn.zl.Info("snapshot written", zap.String("file", res.info.Path),
			zap.String("zxid", fmt.Sprintf("0x%x", res.meta.Zxid)), zap.Int64("nodes", res.meta.Nodes),
			zap.Int64("bytes", res.info.Size), zap.Duration("took", took))
	}
	keep := sn.waiters[:0]
	for _, w := range sn.waiters {
		switch {
		case res.err != nil:
			w.ch <- res
		case res.meta.Zxid >= w.zxid:
			w.ch <- res
		default:
			keep = append(keep, w)
		}
	}
	sn.waiters = keep
}

// request asks for a snapshot holding every transaction applied so far
// (admin `snapshot`); it runs on the loop goroutine and answers on ch.
func (sn *snapshotter) request(r *replica.Replica, ch chan snapResult) {
	want := r.LastApplied()
	if sn.last.err == nil && sn.last.info.Path != "" && sn.last.meta.Zxid >= want {
		if _, err := sn.fs.Stat(sn.last.info.Path); err == nil {
			ch <- sn.last
			return
		}
	}
	sn.waiters = append(sn.waiters, snapWaiter{zxid: want, ch: ch})
}

// purger removes old snapshots and the log segments only they needed,
// keeping autopurge.snapRetainCount snapshots, at start and then every
// autopurge.purgeInterval hours (ZooKeeper's DatadirCleanupManager).
func (s *Server) purger(ctx context.Context, st *storage) {
	c := s.cfg
	if c.AutopurgePurgeInterval <= 0 {
		return
	}
	every := time.Duration(c.AutopurgePurgeInterval) * time.Hour
	s.log.Info("autopurge enabled", zap.Int("snapRetainCount", c.AutopurgeSnapRetainCount),
		zap.Duration("interval", every))
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Purging removes a snapshot's temporary file, so it never runs
		// while one is being written; none starts meanwhile.
		var claimed bool
		if s.call(ctx, func(*replica.Replica) {
			if sn := s.snaps; sn != nil && !sn.busy {
				sn.purging, claimed = true, true
			}
		}) && claimed {
			if err := st.purge(max(c.AutopurgeSnapRetainCount, 3)); err != nil {
				s.log.Error("autopurge failed", zap.Error(err))
			}
			start := st.logStart()
			s.call(ctx, func(r *replica.Replica) {
				s.snaps.purging = false
				if n := r.Node(); n != nil {
					// A leader must not ask this member to truncate below
					// what its storage can still rebuild.
					n.SetLogStart(start)
				}
			})
			t.Reset(every)
		} else {
			t.Reset(time.Second) // a snapshot is being written: try again soon
		}
	}
}

// purge keeps the newest retain snapshots and removes the log segments
// that hold only transactions older than the oldest one kept.
func (st *storage) purge(retain int) error {
	removed, err := snapfile.Purge(st.fs, st.snapDir, retain)
	if err != nil {
		return err
	}
	infos, err := snapfile.List(st.fs, st.snapDir)
	if err != nil {
		return err
	}
	if len(infos) < retain {
		// Too few snapshots to drop any log: keep it whole, as
		// ZooKeeper's PurgeTxnLog does.
		if len(removed) > 0 {
			st.zl.Info("purged snapshots", zap.Strings("removed", removed))
		}
		return nil
	}
	oldest := infos[len(infos)-1].Zxid
	logs, err := st.log.PurgeBefore(oldest)
	if len(removed) > 0 || len(logs) > 0 {
		st.zl.Info("purged old snapshots and transaction logs", zap.Strings("snapshots", removed),
			zap.Strings("logs", logs), zap.String("oldestKept", filepath.Base(infos[len(infos)-1].Path)))
	}
	return err
}

// snapshotCommand is the admin command that streams a fresh snapshot
// (ZooKeeper 3.9's `snapshot`): `warren snapshot save` uses it.
const snapshotCommand = "snapshot"

// adminIDs are the ids an admin request authenticates as: its address
// (ip scheme) and the digest users of its Authorization headers
// ("digest user:password", ZooKeeper 3.9's form).
func adminIDs(req *http.Request, superDigest string) []proto.Id {
	var ids []proto.Id
	if host, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		ids = append(ids, acl.IPID(host))
	}
	for _, h := range req.Header.Values("Authorization") {
		scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
		if !ok || scheme != "digest" {
			continue
		}
		if got, code := acl.Authenticate(acl.SchemeDigest, []byte(strings.TrimSpace(cred)), superDigest); code == proto.OK {
			ids = append(ids, got...)
		}
	}
	return ids
}

// serveSnapshot answers the admin `snapshot` command with a snapshot file
// that holds at least every transaction applied when the request arrived:
// the newest one if it already does, else one taken for the request.
func (s *Server) serveSnapshot(w http.ResponseWriter, req *http.Request) {
	if s.snaps == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"command": snapshotCommand, "error": "this server keeps no snapshots"})
		return
	}
	fail := func(code int, msg string) {
		writeJSON(w, code, map[string]any{"command": snapshotCommand, "error": msg})
	}
	if !s.cfg.Admin.SnapshotEnabled {
		fail(http.StatusServiceUnavailable, "the snapshot command is disabled (admin.snapshot.enabled=false)")
		return
	}
	ids := adminIDs(req, s.cfg.SuperDigest)
	ch := make(chan snapResult, 1)
	var denied, limited bool
	if !s.call(req.Context(), func(r *replica.Replica) {
		// As in ZooKeeper 3.9: the caller needs ALL on "/", and one
		// snapshot per admin.rateLimiterIntervalInMS.
		m, _ := r.Tree().Meta("/")
		if !s.cfg.SkipACL && !acl.Check(m.ACL, proto.PermAll, ids) {
			denied = true
			return
		}
		now := time.Now()
		if iv := time.Duration(s.cfg.Admin.RateLimiterIntervalMs) * time.Millisecond; iv > 0 && !s.snaps.lastAdmin.IsZero() && now.Sub(s.snaps.lastAdmin) < iv {
			limited = true
			return
		}
		s.snaps.lastAdmin = now
		s.snaps.request(r, ch)
	}) {
		fail(http.StatusServiceUnavailable, "server is shutting down")
		return
	}
	switch {
	case denied:
		fail(http.StatusForbidden, "the snapshot command needs ALL permission on / (send 'Authorization: digest user:password')")
		return
	case limited:
		fail(http.StatusTooManyRequests, fmt.Sprintf("at most one snapshot per %d ms (admin.rateLimiterIntervalInMS)", s.cfg.Admin.RateLimiterIntervalMs))
		return
	}
	var res snapResult
	select {
	case res = <-ch:
	case <-req.Context().Done():
		return
	}
	if res.err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"command": snapshotCommand, "error": "snapshot failed: " + res.err.Error()})
		return
	}
	f, err := s.snaps.fs.Open(res.info.Path)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"command": snapshotCommand, "error": err.Error()})
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", "attachment; filename=\""+filepath.Base(res.info.Path)+"\"")
	h.Set("Content-Length", strconv.FormatInt(res.info.Size, 10))
	h.Set("last_zxid", fmt.Sprintf("0x%x", res.meta.Zxid)) // ZooKeeper's header
	h.Set("X-Warren-Snapshot-Zxid", fmt.Sprintf("0x%x", res.meta.Zxid))
	h.Set("X-Warren-Snapshot-Digest", fmt.Sprintf("0x%016x", res.meta.Digest))
	h.Set("X-Warren-Snapshot-Nodes", strconv.FormatInt(res.meta.Nodes, 10))
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, io.NewSectionReader(f, 0, res.info.Size)); err != nil {
		s.log.Warn("admin snapshot: sending the file failed", zap.String("file", res.info.Path), zap.Error(err))
	}
}

// logStart is the lowest zxid the storage can rebuild the state at: the
// oldest snapshot that the log continues from (what an ensemble member
// tells its leader, so that it is never asked to truncate below it).
func (st *storage) logStart() int64 {
	infos, err := snapfile.List(st.fs, st.snapDir)
	if err != nil || len(infos) == 0 {
		return st.log.LastZxid()
	}
	first := st.log.FirstZxid()
	if first == 0 {
		return infos[0].Zxid // no log after the newest snapshot: only it
	}
	for i := len(infos) - 1; i >= 0; i-- { // oldest first
		z := infos[i].Zxid
		if z >= first || txnlog.IsNext(z, first) {
			return z
		}
	}
	return infos[0].Zxid
}
