package sdk

import (
	"context"
	"errors"
	"fmt"

	"github.com/warrenhq/warren/core/proto"
)

// WatcherType selects watches for RemoveWatches and CheckWatches; the values
// are ZooKeeper's Watcher.WatcherType.
type WatcherType int32

// Watcher types.
const (
	// WatcherChildren: one-shot child watches (ChildrenW).
	WatcherChildren WatcherType = WatcherType(proto.WatcherChildren)
	// WatcherData: one-shot data and exists watches (GetW, ExistsW,
	// GetConfigW).
	WatcherData WatcherType = WatcherType(proto.WatcherData)
	// WatcherAny: every watch, persistent ones included.
	WatcherAny WatcherType = WatcherType(proto.WatcherAny)
	// WatcherPersistent: persistent watches (AddWatch, not recursive).
	WatcherPersistent WatcherType = WatcherType(proto.WatcherPersistent)
	// WatcherPersistentRecursive: persistent-recursive watches (AddWatch,
	// recursive).
	WatcherPersistentRecursive WatcherType = WatcherType(proto.WatcherPersistentRecursive)
)

var watcherTypeNames = map[WatcherType]string{
	WatcherChildren: "children", WatcherData: "data", WatcherAny: "any",
	WatcherPersistent: "persistent", WatcherPersistentRecursive: "persistent-recursive",
}

func (t WatcherType) String() string {
	if n, ok := watcherTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("watcherType(%d)", int32(t))
}

// removeKinds are the client tables RemoveWatches empties for t
// (ZKWatchManager.removeWatcher).
func (t WatcherType) removeKinds() []watchKind {
	switch t {
	case WatcherChildren:
		return []watchKind{kindChild}
	case WatcherData:
		return []watchKind{kindData, kindExist}
	case WatcherAny:
		return []watchKind{kindChild, kindData, kindExist, kindPersistent, kindRecursive}
	case WatcherPersistent:
		return []watchKind{kindPersistent}
	case WatcherPersistentRecursive:
		return []watchKind{kindRecursive}
	}
	return nil
}

// checkKinds are the client tables that count as "a watch of type t" (the
// Java client's ZKWatchManager.containsWatcher: a persistent watch counts
// as a data and as a child watch).
func (t WatcherType) checkKinds() []watchKind {
	switch t {
	case WatcherChildren:
		return []watchKind{kindChild, kindPersistent, kindRecursive}
	case WatcherData:
		return []watchKind{kindData, kindExist, kindPersistent, kindRecursive}
	}
	return t.removeKinds()
}

// serverType is the type sent to the server. ZooKeeper 3.8 servers refuse
// types 4 and 5, so persistent watches are removed or checked with Any.
func (t WatcherType) serverType() int32 {
	if t == WatcherPersistent || t == WatcherPersistentRecursive {
		return proto.WatcherAny
	}
	return int32(t)
}

var allKinds = []watchKind{kindData, kindExist, kindChild, kindPersistent, kindRecursive}

// kindsExcept returns the kinds of allKinds not in drop.
func kindsExcept(drop []watchKind) []watchKind {
	var out []watchKind
	for _, k := range allKinds {
		keep := true
		for _, d := range drop {
			keep = keep && k != d
		}
		if keep {
			out = append(out, k)
		}
	}
	return out
}

func (c *Conn) watchArgs(op proto.OpCode, path string, typ WatcherType) error {
	if err := validatePath(path, false); err != nil {
		return err
	}
	if typ.removeKinds() == nil {
		return fmt.Errorf("sdk: %s %s: watcher type %d: %w", op, path, int32(typ), ErrBadArguments)
	}
	return nil
}

// RemoveWatches removes every watch of type typ the client holds on path
// (ZooKeeper's removeAllWatches). Each removed one-shot watch receives
// EventDataWatchRemoved or EventChildWatchRemoved and its channel closes;
// each removed Watcher receives EventPersistentWatchRemoved and its stream
// closes.
//
// When the client holds no such watch it fails with ErrNoWatcher without
// asking the server (the Java client asks, then reports NOWATCHER from its
// own table whatever the server said). Otherwise it sends removeWatches
// and removes the watches when the server agrees; with local, they are
// removed whatever the server answers, and also when the server cannot be
// reached (the Conn is disconnected, the connection is lost, or ctx ends
// first), and the call then returns nil.
//
// ZooKeeper 3.8 servers know types 1–3 only, so the persistent types are
// sent as WatcherAny, and only when no other watch of the client remains
// on path; likewise WatcherData and WatcherChildren are not sent while a
// persistent watch remains on path (a 3.8 server would remove its
// registration with them, ZOOKEEPER-4471). In those cases the server keeps
// its registration and the client drops the events no watch wants.
func (c *Conn) RemoveWatches(ctx context.Context, path string, typ WatcherType, local bool) error {
	if err := c.watchArgs(proto.OpRemoveWatches, path, typ); err != nil {
		return err
	}
	kinds := typ.removeKinds()
	c.mu.Lock()
	if c.finalErr != nil {
		err := c.finalErr
		c.mu.Unlock()
		return fmt.Errorf("%s %s: %w", proto.OpRemoveWatches, path, err)
	}
	if !c.watches.has(path, kinds) {
		c.mu.Unlock()
		return codeErr(proto.OpRemoveWatches, path, proto.ErrNoWatcher)
	}
	rest := kindsExcept(kinds)
	send := true
	switch typ {
	case WatcherData, WatcherChildren:
		send = !c.watches.has(path, []watchKind{kindPersistent, kindRecursive})
	case WatcherPersistent, WatcherPersistentRecursive:
		send = !c.watches.has(path, rest)
	}
	if !send || (local && c.cur == nil) {
		c.watches.removeKinds(path, kinds)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()

	removed := -1 // set by the reply hook under c.mu; -1: no reply handled
	req := &proto.RemoveWatchesRequest{Path: addChroot(path, c.chroot), Type: typ.serverType()}
	err := c.do(ctx, proto.OpRemoveWatches, path, req, nil, func(code proto.Code) {
		if code == proto.OK || local {
			removed = c.watches.removeKinds(path, kinds)
		} else {
			removed = 0
		}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrSessionExpired) {
		return err // the session's end already ended every watch
	}
	if removed < 0 {
		// No reply: a transport failure or ctx. The call may still be
		// answered; its hook then finds nothing left to remove.
		if local {
			c.watches.removeKinds(path, kinds)
			return nil
		}
		return err
	}
	var ze *Error
	if removed == 0 && (err == nil || (local && errors.As(err, &ze))) {
		// The watches went (fired) before the reply: ZKWatchManager
		// reports NOWATCHER from its own table.
		return codeErr(proto.OpRemoveWatches, path, proto.ErrNoWatcher)
	}
	if local && errors.As(err, &ze) {
		return nil
	}
	return err
}

// CheckWatches asks the server whether it holds a watch of type typ on
// path for this session (checkWatches, opcode 17): nil if it does,
// ErrNoWatcher if not. As in the Java client, it first checks the client's
// own table, where a persistent watch counts as a data and a child watch,
// and fails with ErrNoWatcher without asking the server when that has
// none. The persistent types are checked on the server as WatcherAny
// (ZooKeeper 3.8 servers know types 1–3 only).
func (c *Conn) CheckWatches(ctx context.Context, path string, typ WatcherType) error {
	if err := c.watchArgs(proto.OpCheckWatches, path, typ); err != nil {
		return err
	}
	c.mu.Lock()
	has := c.watches.has(path, typ.checkKinds())
	c.mu.Unlock()
	if !has {
		return codeErr(proto.OpCheckWatches, path, proto.ErrNoWatcher)
	}
	return c.do(ctx, proto.OpCheckWatches, path, &proto.CheckWatchesRequest{Path: addChroot(path, c.chroot), Type: typ.serverType()}, nil, nil)
}
