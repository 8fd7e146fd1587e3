package sdk_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/warrenhq/warren/sdk"
)

// Connect to an ensemble under a chroot, create a node and read it back.
func ExampleConnect() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sdk.Connect(ctx, "zk1:2181,zk2:2181,[::1]:2181/myapp", sdk.WithSessionTimeout(15*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.Create(ctx, "/config", []byte("v1"), sdk.CreateOptions{}); err != nil && !errors.Is(err, sdk.ErrNodeExists) {
		log.Fatal(err)
	}
	data, stat, err := c.Get(ctx, "/config")
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%s at version %d", data, stat.Version)
}

// Follow every change under a subtree with a persistent-recursive watch,
// and the connection state alongside it.
func ExampleConn_AddWatch() {
	ctx := context.Background()
	c, err := sdk.Connect(ctx, "127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	states := c.States()
	w, err := c.AddWatch(ctx, "/services", true)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return
			}
			log.Printf("%v %s", ev.Type, ev.Path)
		case s := <-states:
			log.Printf("connection %v", s)
			if s == sdk.StateExpired {
				return
			}
		}
	}
}
