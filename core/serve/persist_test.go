package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/replica"
)

// slowLog is a Persister with a fixed fsync cost that records its batches.
type slowLog struct {
	mu      sync.Mutex
	delay   time.Duration
	batches [][]int64
	failAt  int // fail the Nth Persist call (1-based); 0 never
	calls   int
}

func (l *slowLog) Persist(props []replica.Proposal) error {
	time.Sleep(l.delay)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.failAt > 0 && l.calls >= l.failAt {
		return errors.New("fsync: input/output error")
	}
	zx := make([]int64, len(props))
	for i, p := range props {
		zx[i] = p.Header.Zxid
	}
	l.batches = append(l.batches, zx)
	return nil
}

func TestGroupCommitSharesSlowSyncs(t *testing.T) {
	log := &slowLog{delay: 3 * time.Millisecond}
	ts := startServer(t, nil)
	ts.srv.SetPersister(log)
	acl := zk.WorldACL(zk.PermAll)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		c, _ := dial(t, ts.addr, 5*time.Second)
		wg.Add(1)
		go func(i int, c *zk.Conn) {
			defer wg.Done()
			for j := 0; j < 40; j++ {
				if _, err := c.Create(fmt.Sprintf("/g-%d-%d", i, j), nil, 0, acl); err != nil {
					errs <- err
					return
				}
			}
		}(i, c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	var all []int64
	maxBatch := 0
	for _, b := range log.batches {
		all = append(all, b...)
		maxBatch = max(maxBatch, len(b))
	}
	for i := 1; i < len(all); i++ {
		require.Equal(t, all[i-1]+1, all[i], "batches arrive in zxid order without gaps")
	}
	assert.GreaterOrEqual(t, len(all), 8*40)
	assert.Greater(t, maxBatch, 1, "writes arriving during a sync share the next one")
	assert.Less(t, len(log.batches), len(all), "fewer syncs than transactions")
}

func TestPersistFailureStopsTheServer(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.ClientPort = 0
	cfg.Admin.EnableServer = false
	cfg.TickTime = 100
	cfg.MinSessionTimeout = 200
	srv, err := New(cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	// The first persist (the session's creation) succeeds, the next fails.
	srv.SetPersister(&slowLog{failAt: 2})
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	c, _ := dial(t, srv.ClientAddr().String(), 5*time.Second)
	_, err = c.Create("/lost", nil, 0, zk.WorldACL(zk.PermAll))
	assert.Error(t, err, "a write whose persistence failed is never acknowledged")
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "input/output error")
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept running after a persistence failure")
	}
}
