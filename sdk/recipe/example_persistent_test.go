package recipe_test

import (
	"context"
	"log"
	"time"

	"github.com/warrenhq/warren/sdk"
	"github.com/warrenhq/warren/sdk/recipe"
)

// Register a service instance under /services/api: an ephemeral
// sequential node that stays present while the process lives, through
// connection losses, deletions by operators and session expiries (with a
// new session from connect), and goes when the process closes it.
func ExamplePersistentNode() {
	ctx := context.Background()
	connect := func(ctx context.Context) (*sdk.Conn, error) {
		return sdk.Connect(ctx, "zk1:2181,zk2:2181,zk3:2181", sdk.WithSessionTimeout(10*time.Second))
	}
	c, err := connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	n := recipe.NewPersistentNode(c, "/services/api/instance-", []byte(`{"addr":"10.0.0.7:8080"}`),
		sdk.ModeEphemeralSequential, recipe.WithPersistentSession(connect))
	if err := n.Start(); err != nil {
		log.Fatal(err)
	}
	defer n.Close(ctx)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := n.WaitForInitialCreate(wctx); err != nil {
		log.Fatal(err)
	}
	log.Printf("registered as %s", n.ActualPath())
	go func() {
		for ev := range n.Events() {
			log.Printf("registration %v %s %v", ev.Type, ev.Path, ev.Err)
		}
	}()
	// Later: publish a new state; recreations carry it too.
	if err := n.SetData(ctx, []byte(`{"addr":"10.0.0.7:8080","draining":true}`)); err != nil {
		log.Print(err)
	}
}
