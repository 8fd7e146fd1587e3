package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
)

// runGoZK drives one go-zookeeper session through the operations whose
// frames the golden tests need. Run it through the proxy with -drop set so
// that the session reconnects (go-zookeeper then resends auth and its watches
// with ordinary xids).
func runGoZK(target string) error {
	c, events, err := zk.Connect([]string{target}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	if err := waitState(events, zk.StateHasSession); err != nil {
		return err
	}
	acl := zk.WorldACL(zk.PermAll)
	var seq string
	steps := []struct {
		name string
		f    func() error
	}{
		{"auth", func() error { return c.AddAuth("digest", []byte("user:secret")) }},
		{"create", func() error { _, err := c.Create("/gozk", []byte("hello"), 0, acl); return err }},
		{"create-empty", func() error { _, err := c.Create("/gozk/empty", []byte{}, 0, acl); return err }},
		{"create-nil", func() error { _, err := c.Create("/gozk/nil", nil, 0, acl); return err }},
		{"create-eph-seq", func() error {
			var err error
			seq, err = c.Create("/gozk/seq-", []byte("e"), zk.FlagEphemeral|zk.FlagSequence, acl)
			return err
		}},
		{"create-exists", func() error { _, err := c.Create("/gozk", nil, 0, acl); return expectErr(err) }},
		{"create-container", func() error { _, err := c.CreateContainer("/gozk/cont", nil, zk.FlagContainer, acl); return err }},
		{"create-ttl", func() error {
			_, err := c.CreateTTL("/gozk/ttl", []byte("t"), zk.FlagTTL, acl, time.Hour)
			return err
		}},
		{"get", func() error { _, _, err := c.Get("/gozk"); return err }},
		{"get-nil", func() error { _, _, err := c.Get("/gozk/nil"); return err }},
		{"get-missing", func() error { _, _, err := c.Get("/nope"); return expectErr(err) }},
		{"set", func() error { _, err := c.Set("/gozk", []byte("world"), 0); return err }},
		{"set-badversion", func() error { _, err := c.Set("/gozk", []byte("x"), 42); return expectErr(err) }},
		{"exists", func() error { _, _, err := c.Exists("/gozk"); return err }},
		{"exists-missing", func() error { _, _, err := c.Exists("/nope"); return err }},
		{"children2", func() error { _, _, err := c.Children("/gozk"); return err }},
		{"getacl", func() error { _, _, err := c.GetACL("/gozk"); return err }},
		{"setacl", func() error {
			_, err := c.SetACL("/gozk/empty", zk.DigestACL(zk.PermAll, "user", "secret"), -1)
			return err
		}},
		{"sync", func() error { _, err := c.Sync("/gozk"); return err }},
		{"multi-ok", func() error {
			_, err := c.Multi(
				&zk.CreateRequest{Path: "/gozk/m1", Data: []byte("1"), Acl: acl},
				&zk.SetDataRequest{Path: "/gozk/m1", Data: []byte("2"), Version: -1},
				&zk.CheckVersionRequest{Path: "/gozk/m1", Version: 1},
				&zk.DeleteRequest{Path: "/gozk/m1", Version: -1},
			)
			return err
		}},
		{"multi-fail", func() error {
			_, err := c.Multi(
				&zk.CreateRequest{Path: "/gozk/m2", Data: nil, Acl: acl},
				&zk.DeleteRequest{Path: "/gozk/missing", Version: -1},
				&zk.SetDataRequest{Path: "/gozk", Data: []byte("z"), Version: -1},
			)
			if err == nil {
				return errors.New("multi-fail succeeded")
			}
			return nil
		}},
		{"watches", func() error {
			if _, _, _, err := c.GetW("/gozk"); err != nil {
				return err
			}
			if _, _, _, err := c.ChildrenW("/gozk"); err != nil {
				return err
			}
			_, _, _, err := c.ExistsW("/gozk/later")
			return err
		}},
		// The proxy cuts the connection here; go-zookeeper reconnects and
		// replays auth and setWatches.
		{"wait-reconnect", func() error { return waitReconnect(events) }},
		{"trigger", func() error { _, err := c.Set("/gozk", []byte("again"), -1); return err }},
		{"trigger-create", func() error { _, err := c.Create("/gozk/later", nil, 0, acl); return err }},
		{"cleanup", func() error {
			for _, p := range []string{seq, "/gozk/later", "/gozk/empty", "/gozk/nil", "/gozk/cont", "/gozk/ttl", "/gozk"} {
				if err := c.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
					return fmt.Errorf("delete %s: %w", p, err)
				}
			}
			return nil
		}},
	}
	for _, s := range steps {
		if err := s.f(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// expectErr turns an expected failure into success.
func expectErr(err error) error {
	if err == nil {
		return errors.New("expected an error")
	}
	return nil
}

func waitState(events <-chan zk.Event, want zk.State) error {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == want {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("timed out waiting for %s", want)
		}
	}
}

func waitReconnect(events <-chan zk.Event) error {
	if err := waitState(events, zk.StateDisconnected); err != nil {
		return err
	}
	return waitState(events, zk.StateHasSession)
}
