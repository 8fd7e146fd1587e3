package serve

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/internal/vfs"
)

// TestServerCrashStates runs a real server (sockets, group commit,
// background snapshots, segment rolls) on a recorded in-memory file
// system, then recovers, exactly as start-up does, from every crash state
// the POSIX model allows for that record: dropped unsynced writes, kept
// prefixes, later writes kept without earlier ones, torn sectors, lost
// directory entries, half-written snapshots. Every state must recover,
// hold every write acknowledged before the crash point, and be exactly the
// state after some prefix of the transactions (its digest equals the one a
// replay of the full log computes at that zxid): no zxid gap, nothing
// half-applied.
func TestServerCrashStates(t *testing.T) {
	rec := vfs.NewRecorder(vfs.NewMemFS())
	inDir := func(c *config.Config) {
		c.DataDir, c.DataLogDir = "/data", "/data"
		c.SnapCount = 8
		c.PreAllocSize = 2 // KB: segments roll every few batches
	}
	type ack struct {
		path string
		data string
		at   int // rec.Len() when the client had the reply
	}
	var (
		mu   sync.Mutex
		acks []ack
	)
	ts := startServerWithLogger(t, zap.NewNop(), func(c *config.Config) { inDir(c) }, withFS(rec))
	c, _ := dial(t, ts.addr, 5*time.Second)
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				p := fmt.Sprintf("/w%d-%02d", w, i)
				data := fmt.Sprintf("v%d", i)
				if _, err := c.Create(p, []byte(data), 0, zk.WorldACL(zk.PermAll)); err != nil {
					t.Errorf("create %s: %v", p, err)
					return
				}
				mu.Lock()
				acks = append(acks, ack{p, data, rec.Len()})
				mu.Unlock()
				if i%4 == 0 {
					if _, err := c.Set(p, []byte(data+"-set"), 0); err != nil {
						t.Errorf("set %s: %v", p, err)
						return
					}
					mu.Lock()
					acks = append(acks, ack{p, data + "-set", rec.Len()})
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	// The snapshot trigger is randomised and a snapshot in progress defers
	// the next, so on a loaded machine the writers may finish before three
	// snapshots exist: write on until they do (a bounded number of times).
	snapshotsSoFar := func() int {
		ents, _ := rec.Unwrap().ReadDir("/data/snapshot")
		n := 0
		for _, e := range ents {
			if !strings.HasSuffix(e, ".tmp") {
				n++
			}
		}
		return n
	}
	for i := 0; i < 400 && snapshotsSoFar() < 4; i++ {
		p := fmt.Sprintf("/extra-%03d", i)
		_, err := c.Create(p, []byte("x"), 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
		acks = append(acks, ack{p, "x", rec.Len()})
		if i%20 == 19 {
			time.Sleep(20 * time.Millisecond) // let a snapshot in progress finish
		}
	}
	c.Close()
	ts.stop(t)

	// The digest after every zxid, from a replay of the complete record.
	final, err := openStorage(cfgWith(inDir), rec.Unwrap(), zap.NewNop())
	require.NoError(t, err)
	digests := map[int64]uint64{}
	r := replica.New(replica.Config{}, discardSink{}, 0)
	it, err := final.log.ReadAll()
	require.NoError(t, err)
	digests[0] = r.Tree().Digest()
	for it.Next() {
		h, txn, err := it.Record().Txn()
		require.NoError(t, err)
		require.NoError(t, r.Replay(h, txn, 0))
		digests[h.Zxid] = r.Tree().Digest()
	}
	require.NoError(t, it.Err())
	it.Close()
	final.close()
	snaps, _ := rec.Unwrap().ReadDir("/data/snapshot")
	require.GreaterOrEqual(t, len(snaps), 3, "the workload takes snapshots")

	limit := 1500
	if testing.Short() {
		limit = 300
	}
	states, err := rec.Enumerate(vfs.EnumOptions{Limit: limit, Seed: 1})
	require.NoError(t, err)
	fromSnap := 0
	for _, s := range states {
		st, err := openStorage(cfgWith(inDir), s.FS, zap.NewNop())
		require.NoError(t, err, "point %d (%s)", s.Point, s.Desc)
		r := replica.New(replica.Config{}, discardSink{}, 0)
		rep, err := st.recover(r, 0)
		require.NoError(t, err, "point %d (%s)", s.Point, s.Desc)
		if rep.Snapshot != "" {
			fromSnap++
		}
		want, ok := digests[r.LastApplied()]
		require.True(t, ok, "point %d: recovered zxid 0x%x was never logged", s.Point, r.LastApplied())
		require.Equal(t, want, r.Tree().Digest(), "point %d (%s): state is not the prefix at 0x%x", s.Point, s.Desc, r.LastApplied())
		for _, a := range acks {
			if a.at > s.Point {
				continue
			}
			data, _, ok := r.Tree().Get(a.path)
			if !ok {
				ops := rec.Ops()
				for i := max(0, s.Point-40); i < s.Point; i++ {
					t.Logf("op %d: %v", i, ops[i])
				}
				t.Logf("recovered %+v zxid 0x%x ack at %d", rep, r.LastApplied(), a.at)
				names, err := s.FS.ReadDir("/data/txnlog")
				t.Logf("txnlog %v %v report %+v", names, err, st.log.Recovery())
				names, err = s.FS.ReadDir("/data/snapshot")
				t.Logf("snap %v %v", names, err)
			}
			require.True(t, ok, "point %d (%s): acknowledged %s lost", s.Point, s.Desc, a.path)
			if string(data) != a.data {
				// A later acknowledged set may have replaced it.
				require.Equal(t, a.data+"-set", string(data), "point %d: %s", s.Point, a.path)
			}
		}
		st.close()
	}
	require.Greater(t, fromSnap, 10, "many states recover through a snapshot")
	t.Logf("%d crash states over %d operations; %d recovered through a snapshot", len(states), rec.Len(), fromSnap)
}

func cfgWith(mutate func(*config.Config)) *config.Config {
	c := config.Default()
	mutate(c)
	return c
}
