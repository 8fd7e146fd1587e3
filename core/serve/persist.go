package serve

import (
	"sync"

	"github.com/warrenhq/warren/core/replica"
)

// Persister makes proposals durable. Persist is called from one goroutine
// at a time, with proposals in zxid order, and returns once all of them are
// durable (for a write-ahead log: appended and fsynced). A
// *txnlog.DiskFullError means the batch was dropped whole and the log stays
// usable: its proposals and every later one are abandoned and the server
// goes on serving. Any other error is final: the server stops rather than
// acknowledge a write it may have lost.
type Persister interface {
	Persist(props []replica.Proposal) error
}

// groupCommit feeds a Persister from the loop goroutine. While one batch is
// being persisted, newly prepared proposals accumulate; when it completes,
// everything that accumulated goes out as the next batch, so a slow fsync
// is shared by every write that arrived during it (group commit) and the
// loop never waits on the disk.
type groupCommit struct {
	p        Persister
	inflight bool
	first    int64 // the first zxid of the batch in flight
	pending  []replica.Proposal
	done     func(zxid int64, err error) // posts the completion back to the loop
	running  sync.WaitGroup              // the batch being persisted, for shutdown
}

// wait blocks until no batch is being persisted (at shutdown, before the
// log closes).
func (g *groupCommit) wait() { g.running.Wait() }

// add queues proposals and starts a batch if none is in flight.
func (g *groupCommit) add(props []replica.Proposal) {
	g.pending = append(g.pending, props...)
	g.kick()
}

// completed is called on the loop goroutine when a batch finished.
func (g *groupCommit) completed() {
	g.inflight = false
	g.kick()
}

// failed is called on the loop goroutine when the batch in flight could
// not be persisted but the persister stays usable (disk full). The queued
// proposals came after it and are abandoned with it, so they are dropped;
// failed returns the first zxid of the failed batch. The next add starts a
// new batch, which tries the disk again.
func (g *groupCommit) failed() int64 {
	g.inflight = false
	g.pending = nil
	return g.first
}

func (g *groupCommit) kick() {
	if g.inflight || len(g.pending) == 0 {
		return
	}
	batch := g.pending
	g.pending = nil
	g.inflight = true
	g.first = batch[0].Header.Zxid
	last := batch[len(batch)-1].Header.Zxid
	g.running.Add(1)
	go func() {
		defer g.running.Done()
		err := g.p.Persist(batch)
		g.done(last, err)
	}()
}
