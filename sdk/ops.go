package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/internal/fifo"
)

// Stat, ACL and ID are the protocol's records.
type (
	// Stat is a node's metadata.
	Stat = proto.Stat
	// ACL is one access-control entry.
	ACL = proto.ACL
	// ID is an authentication identity (scheme, id).
	ID = proto.Id
	// ClientInfo is one identity reported by WhoAmI.
	ClientInfo = proto.ClientInfo
)

// Permission bits for ACL.Perms.
const (
	PermRead   = proto.PermRead
	PermWrite  = proto.PermWrite
	PermCreate = proto.PermCreate
	PermDelete = proto.PermDelete
	PermAdmin  = proto.PermAdmin
	PermAll    = proto.PermAll
)

// OpenACL grants every permission to everyone (world:anyone).
var OpenACL = []ACL{{Perms: PermAll, ID: ID{Scheme: "world", ID: "anyone"}}}

// CreatorAllACL grants every permission to the session's authenticated ids.
var CreatorAllACL = []ACL{{Perms: PermAll, ID: ID{Scheme: "auth", ID: ""}}}

// CreateMode selects the kind of node Create makes.
type CreateMode int32

// Create modes (ZooKeeper's CreateMode flags).
const (
	ModePersistent                  CreateMode = CreateMode(proto.ModePersistent)
	ModeEphemeral                   CreateMode = CreateMode(proto.ModeEphemeral)
	ModePersistentSequential        CreateMode = CreateMode(proto.ModePersistentSequential)
	ModeEphemeralSequential         CreateMode = CreateMode(proto.ModeEphemeralSequential)
	ModeContainer                   CreateMode = CreateMode(proto.ModeContainer)
	ModePersistentWithTTL           CreateMode = CreateMode(proto.ModePersistentWithTTL)
	ModePersistentSequentialWithTTL CreateMode = CreateMode(proto.ModePersistentSequentialWithTTL)
)

func (m CreateMode) sequential() bool {
	return m == ModePersistentSequential || m == ModeEphemeralSequential || m == ModePersistentSequentialWithTTL
}

func (m CreateMode) ttl() bool {
	return m == ModePersistentWithTTL || m == ModePersistentSequentialWithTTL
}

// CreateOptions are Create's optional settings.
type CreateOptions struct {
	// Mode is the node kind; the zero value is ModePersistent.
	Mode CreateMode
	// ACL is the node's ACL; nil means OpenACL.
	ACL []ACL
	// TTL is required by (and only allowed with) the TTL modes.
	TTL time.Duration
	// Parents makes Create create the node's missing ancestors first
	// (Curator's creatingParentsIfNeeded and
	// creatingParentContainersIfNeeded); the zero value creates none, and
	// a missing parent fails the create with ErrNoNode. Not allowed in a
	// Multi (CreateOp).
	Parents ParentMode
	// ParentACL is the ACL of the ancestors Parents creates; nil means
	// OpenACL (Curator's default ACL provider), not ACL.
	ParentACL []ACL
}

// createRequest builds the request and opcode for a create.
func (c *Conn) createRequest(path string, data []byte, o CreateOptions) (proto.OpCode, proto.Record, error) {
	if err := validatePath(path, o.Mode.sequential()); err != nil {
		return 0, nil, err
	}
	acl := o.ACL
	if acl == nil {
		acl = OpenACL
	}
	sp := addChroot(path, c.chroot)
	switch {
	case o.Mode.ttl():
		if o.TTL <= 0 {
			return 0, nil, fmt.Errorf("sdk: create %s: TTL mode needs a TTL: %w", path, ErrBadArguments)
		}
		return proto.OpCreateTTL, &proto.CreateTTLRequest{Path: sp, Data: data, ACL: acl, Flags: int32(o.Mode), TTL: o.TTL.Milliseconds()}, nil
	case o.TTL != 0:
		return 0, nil, fmt.Errorf("sdk: create %s: TTL given for mode %d: %w", path, o.Mode, ErrBadArguments)
	case o.Mode == ModeContainer:
		return proto.OpCreateContainer, &proto.CreateRequest{Path: sp, Data: data, ACL: acl, Flags: int32(o.Mode)}, nil
	}
	return proto.OpCreate2, &proto.CreateRequest{Path: sp, Data: data, ACL: acl, Flags: int32(o.Mode)}, nil
}

// Create creates a node and returns its path (with the sequential suffix,
// chroot-relative) and Stat. With o.Parents it first creates the missing
// ancestors (see ParentMode).
func (c *Conn) Create(ctx context.Context, path string, data []byte, o CreateOptions) (string, Stat, error) {
	op, req, err := c.createRequest(path, data, o)
	if err != nil {
		return "", Stat{}, err
	}
	for attempt := 1; ; attempt++ {
		var resp proto.Create2Response
		err := c.do(ctx, op, path, req, &resp, nil)
		if err == nil {
			return stripChroot(resp.Path, c.chroot), resp.Stat, nil
		}
		// NoNode from a create means a missing parent. A container parent
		// may be reaped between its creation and the node's (empty
		// containers go): go round a few times. Under "/" it means a
		// missing chroot, which is not ours to create.
		if o.Parents == ParentsNone || !errors.Is(err, ErrNoNode) || attempt > maxParentRounds || parent(path) == "/" {
			return "", Stat{}, err
		}
		if err := c.createParents(ctx, path, o); err != nil {
			return "", Stat{}, err
		}
	}
}

// Delete deletes a node if its version matches (-1 matches any).
func (c *Conn) Delete(ctx context.Context, path string, version int32) error {
	if err := validatePath(path, false); err != nil {
		return err
	}
	return c.do(ctx, proto.OpDelete, path, &proto.DeleteRequest{Path: addChroot(path, c.chroot), Version: version}, nil, nil)
}

// Exists reports whether a node exists, with its Stat.
func (c *Conn) Exists(ctx context.Context, path string) (Stat, bool, error) {
	st, ok, _, err := c.exists(ctx, path, false)
	return st, ok, err
}

// ExistsW is Exists plus a one-shot watch: NodeCreated if the node is
// missing, NodeDataChanged or NodeDeleted if it exists.
func (c *Conn) ExistsW(ctx context.Context, path string) (Stat, bool, <-chan Event, error) {
	return c.exists(ctx, path, true)
}

func (c *Conn) exists(ctx context.Context, path string, watch bool) (Stat, bool, <-chan Event, error) {
	if err := validatePath(path, false); err != nil {
		return Stat{}, false, nil, err
	}
	var resp proto.ExistsResponse
	var ch chan Event
	var hook func(proto.Code)
	if watch {
		ch = make(chan Event, 1)
		hook = func(code proto.Code) {
			switch code {
			case proto.OK:
				c.watches.add(watchKey{path, kindData}, &watcher{once: ch})
			case proto.ErrNoNode:
				c.watches.add(watchKey{path, kindExist}, &watcher{once: ch})
			}
		}
	}
	err := c.do(ctx, proto.OpExists, path, &proto.ExistsRequest{Path: addChroot(path, c.chroot), Watch: watch}, &resp, hook)
	if errors.Is(err, ErrNoNode) {
		return Stat{}, false, ch, nil
	}
	if err != nil {
		return Stat{}, false, nil, err
	}
	return resp.Stat, true, ch, nil
}

// Get returns a node's data and Stat.
func (c *Conn) Get(ctx context.Context, path string) ([]byte, Stat, error) {
	d, st, _, err := c.get(ctx, path, false)
	return d, st, err
}

// GetW is Get plus a one-shot data watch (NodeDataChanged or NodeDeleted).
func (c *Conn) GetW(ctx context.Context, path string) ([]byte, Stat, <-chan Event, error) {
	return c.get(ctx, path, true)
}

func (c *Conn) get(ctx context.Context, path string, watch bool) ([]byte, Stat, <-chan Event, error) {
	if err := validatePath(path, false); err != nil {
		return nil, Stat{}, nil, err
	}
	var resp proto.GetDataResponse
	ch, hook := c.oneShot(path, kindData, watch)
	if err := c.do(ctx, proto.OpGetData, path, &proto.GetDataRequest{Path: addChroot(path, c.chroot), Watch: watch}, &resp, hook); err != nil {
		return nil, Stat{}, nil, err
	}
	return resp.Data, resp.Stat, ch, nil
}

// oneShot prepares a one-shot watch registered when the reply succeeds.
func (c *Conn) oneShot(path string, kind watchKind, watch bool) (chan Event, func(proto.Code)) {
	if !watch {
		return nil, nil
	}
	ch := make(chan Event, 1)
	return ch, func(code proto.Code) {
		if code == proto.OK {
			c.watches.add(watchKey{path, kind}, &watcher{once: ch})
		}
	}
}

// Set sets a node's data if its version matches (-1 matches any).
func (c *Conn) Set(ctx context.Context, path string, data []byte, version int32) (Stat, error) {
	if err := validatePath(path, false); err != nil {
		return Stat{}, err
	}
	var resp proto.SetDataResponse
	if err := c.do(ctx, proto.OpSetData, path, &proto.SetDataRequest{Path: addChroot(path, c.chroot), Data: data, Version: version}, &resp, nil); err != nil {
		return Stat{}, err
	}
	return resp.Stat, nil
}

// Children returns a node's children (unsorted, as the server sends them)
// and its Stat.
func (c *Conn) Children(ctx context.Context, path string) ([]string, Stat, error) {
	ch, st, _, err := c.children(ctx, path, false)
	return ch, st, err
}

// ChildrenW is Children plus a one-shot child watch (NodeChildrenChanged
// or NodeDeleted).
func (c *Conn) ChildrenW(ctx context.Context, path string) ([]string, Stat, <-chan Event, error) {
	return c.children(ctx, path, true)
}

func (c *Conn) children(ctx context.Context, path string, watch bool) ([]string, Stat, <-chan Event, error) {
	if err := validatePath(path, false); err != nil {
		return nil, Stat{}, nil, err
	}
	var resp proto.GetChildren2Response
	ch, hook := c.oneShot(path, kindChild, watch)
	if err := c.do(ctx, proto.OpGetChildren2, path, &proto.GetChildren2Request{Path: addChroot(path, c.chroot), Watch: watch}, &resp, hook); err != nil {
		return nil, Stat{}, nil, err
	}
	return resp.Children, resp.Stat, ch, nil
}

// GetACL returns a node's ACL and Stat.
func (c *Conn) GetACL(ctx context.Context, path string) ([]ACL, Stat, error) {
	if err := validatePath(path, false); err != nil {
		return nil, Stat{}, err
	}
	var resp proto.GetACLResponse
	if err := c.do(ctx, proto.OpGetACL, path, &proto.GetACLRequest{Path: addChroot(path, c.chroot)}, &resp, nil); err != nil {
		return nil, Stat{}, err
	}
	return resp.ACL, resp.Stat, nil
}

// SetACL sets a node's ACL if its ACL version matches (-1 matches any).
func (c *Conn) SetACL(ctx context.Context, path string, acl []ACL, version int32) (Stat, error) {
	if err := validatePath(path, false); err != nil {
		return Stat{}, err
	}
	var resp proto.SetACLResponse
	if err := c.do(ctx, proto.OpSetACL, path, &proto.SetACLRequest{Path: addChroot(path, c.chroot), ACL: acl, Version: version}, &resp, nil); err != nil {
		return Stat{}, err
	}
	return resp.Stat, nil
}

// Sync waits until the server this Conn is connected to has applied every
// write committed before the call.
func (c *Conn) Sync(ctx context.Context, path string) error {
	if err := validatePath(path, false); err != nil {
		return err
	}
	var resp proto.SyncResponse
	return c.do(ctx, proto.OpSync, path, &proto.SyncRequest{Path: addChroot(path, c.chroot)}, &resp, nil)
}

// GetEphemerals returns the session's ephemeral nodes whose path starts
// with prefix (chroot-relative paths).
func (c *Conn) GetEphemerals(ctx context.Context, prefix string) ([]string, error) {
	var resp proto.GetEphemeralsResponse
	if err := c.do(ctx, proto.OpGetEphemerals, prefix, &proto.GetEphemeralsRequest{PrefixPath: addChroot(prefix, c.chroot)}, &resp, nil); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(resp.Ephemerals))
	for _, p := range resp.Ephemerals {
		out = append(out, stripChroot(p, c.chroot))
	}
	return out, nil
}

// GetAllChildrenNumber returns the number of descendants of a node.
func (c *Conn) GetAllChildrenNumber(ctx context.Context, path string) (int, error) {
	if err := validatePath(path, false); err != nil {
		return 0, err
	}
	var resp proto.GetAllChildrenNumberResponse
	if err := c.do(ctx, proto.OpGetAllChildrenNumber, path, &proto.GetAllChildrenNumberRequest{Path: addChroot(path, c.chroot)}, &resp, nil); err != nil {
		return 0, err
	}
	return int(resp.TotalNumber), nil
}

// WhoAmI returns the identities the server associates with the session.
func (c *Conn) WhoAmI(ctx context.Context) ([]ClientInfo, error) {
	var resp proto.WhoAmIResponse
	if err := c.do(ctx, proto.OpWhoAmI, "", nil, &resp, nil); err != nil {
		return nil, err
	}
	return resp.ClientInfo, nil
}

// AddAuth adds credentials to the session (e.g. scheme "digest", auth
// "user:password"). They are re-sent on every reconnection. A rejected
// credential fails with ErrAuthFailed (the server then closes the
// connection) and is forgotten.
func (c *Conn) AddAuth(ctx context.Context, scheme string, auth []byte) error {
	pkt := proto.AuthPacket{Scheme: scheme, Auth: append([]byte(nil), auth...)}
	c.mu.Lock()
	c.auths = append(c.auths, pkt)
	idx := len(c.auths) - 1
	c.mu.Unlock()
	err := c.do(ctx, proto.OpAuth, "", &pkt, nil, nil)
	if errors.Is(err, ErrAuthFailed) {
		c.mu.Lock()
		if idx < len(c.auths) {
			c.auths = append(c.auths[:idx:idx], c.auths[idx+1:]...)
		}
		c.mu.Unlock()
	}
	return err
}

// Watcher is a persistent or persistent-recursive watch.
type Watcher struct {
	c   *Conn
	key watchKey
	w   *watcher
}

// Events returns the watch's event stream: every event in server order,
// never dropped. It is closed after Close, or after an EventSession event
// when the session ends.
func (w *Watcher) Events() <-chan Event { return w.w.q.Out() }

// Close removes the watch and closes the stream (dropping the events not
// yet read). A Watcher that RemoveWatches removed, or that the session's
// end closed, is already gone: Close then only drops its stream. When it was the client's
// last watch of any kind on that path, the server's registration is removed
// too (removeWatches with type Any, which every 3.6+ server accepts);
// otherwise the server keeps sending the path's events and the client
// drops those no local watch wants.
func (w *Watcher) Close(ctx context.Context) error {
	c := w.c
	c.mu.Lock()
	gone := w.w.gone
	w.w.gone = true
	c.watches.remove(w.key, w.w)
	othersOnPath := c.watches.hasPath(w.key.path)
	c.mu.Unlock()
	w.w.q.Abandon()
	if gone || othersOnPath {
		return nil
	}
	err := c.do(ctx, proto.OpRemoveWatches, w.key.path, &proto.RemoveWatchesRequest{Path: addChroot(w.key.path, c.chroot), Type: proto.WatcherAny}, nil, nil)
	if errors.Is(err, ErrNoWatcher) || errors.Is(err, ErrClosed) || errors.Is(err, ErrSessionExpired) {
		return nil
	}
	return err
}

// AddWatch sets a persistent watch on path (NodeCreated, NodeDeleted,
// NodeDataChanged of path and NodeChildrenChanged of its children list),
// or, when recursive, a persistent-recursive watch (NodeCreated,
// NodeDeleted, NodeDataChanged of path and every descendant). The node
// need not exist.
func (c *Conn) AddWatch(ctx context.Context, path string, recursive bool) (*Watcher, error) {
	if err := validatePath(path, false); err != nil {
		return nil, err
	}
	mode, kind := proto.AddWatchPersistent, kindPersistent
	if recursive {
		mode, kind = proto.AddWatchPersistentRecursive, kindRecursive
	}
	w := &Watcher{c: c, key: watchKey{path, kind}, w: &watcher{q: fifo.New[Event]()}}
	var resp proto.ErrorResponse
	err := c.do(ctx, proto.OpAddWatch, path, &proto.AddWatchRequest{Path: addChroot(path, c.chroot), Mode: mode}, &resp, func(code proto.Code) {
		if code == proto.OK {
			c.watches.add(w.key, w.w)
		}
	})
	if err != nil {
		w.w.q.Abandon()
		return nil, err
	}
	return w, nil
}
