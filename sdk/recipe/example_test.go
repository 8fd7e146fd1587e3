package recipe_test

import (
	"context"
	"log"
	"time"

	"github.com/warrenhq/warren/sdk"
	"github.com/warrenhq/warren/sdk/recipe"
)

// Take a lock shared with Java processes that use Curator's
// InterProcessMutex on the same path, pass its fencing token to the guarded
// storage, and stop working when the lock may be lost.
func ExampleMutex() {
	ctx := context.Background()
	c, err := sdk.Connect(ctx, "zk1:2181,zk2:2181,zk3:2181", sdk.WithSessionTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	m := recipe.NewMutex(c, "/locks/reports")
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := m.Acquire(actx); err != nil {
		log.Fatal(err)
	}
	defer m.Release(ctx)
	fence, _ := m.Fence()
	for job := 0; job < 10; job++ {
		if state, _ := m.State(); state != recipe.HoldHeld {
			log.Printf("lock %v: stopping", state)
			return
		}
		// The storage rejects writes carrying a token smaller than the
		// largest it has seen.
		log.Printf("job %d with fencing token %d", job, fence.Czxid)
	}
}

// Elect a leader among processes (Go or Java LeaderLatch on the same path)
// and follow the leadership as it comes and goes.
func ExampleLeaderLatch() {
	ctx := context.Background()
	c, err := sdk.Connect(ctx, "127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	l := recipe.NewLeaderLatch(c, "/election/scheduler", "scheduler-1")
	changes := l.Changes()
	if err := l.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer l.Close(ctx)
	for leading := range changes { // closed when the session ends
		if leading {
			log.Print("leading: start scheduling")
		} else {
			log.Print("not leading (or connection suspended): stop scheduling")
		}
	}
}

// Run a function while leading, on Curator LeaderSelector's layout; its
// context is cancelled if leadership may be lost.
func ExampleLeaderSelector() {
	ctx := context.Background()
	c, err := sdk.Connect(ctx, "127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	s := recipe.NewLeaderSelector(c, "/election/compactor", "compactor-1")
	for ctx.Err() == nil { // requeue after every term
		err := s.Lead(ctx, func(lctx context.Context) error {
			log.Print("leading")
			<-lctx.Done() // work until leadership may be lost
			return nil
		})
		if err != nil {
			log.Print(err)
			return
		}
	}
}
