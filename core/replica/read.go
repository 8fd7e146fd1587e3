package replica

import (
	"sort"
	"strings"

	"github.com/warrenhq/warren/core/acl"
	"github.com/warrenhq/warren/core/proto"
)

func sortConnIDs(ids []ConnID) {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
}

func (r *Replica) canRead(acls []proto.ACL, ids []proto.Id, perm int32) bool {
	return r.cfg.SkipACL || acl.Check(acls, perm, ids)
}

// read executes a queued read-type request against the applied tree and
// returns the reply code and body.
func (r *Replica) read(cn *conn, it *item) (proto.Code, proto.Record) {
	switch req := it.req.(type) {
	case nil:
		switch it.hdr.Type {
		case proto.OpPing:
			return proto.OK, nil
		case proto.OpWhoAmI:
			return proto.OK, r.whoAmI(cn)
		}
		return proto.ErrMarshallingError, nil
	case *proto.ExistsRequest:
		if strings.IndexByte(req.Path, 0) >= 0 {
			return proto.ErrBadArguments, nil
		}
		m, ok := r.tree.Meta(req.Path)
		if !ok {
			if req.Watch {
				r.watches.AddExist(req.Path, cn.id)
			}
			return proto.ErrNoNode, nil
		}
		// ZooKeeper 3.8 checks no ACL on exists: a Stat is visible to all.
		if req.Watch {
			r.watches.AddData(req.Path, cn.id)
		}
		return proto.OK, &proto.ExistsResponse{Stat: m.Stat}
	case *proto.GetDataRequest:
		return r.getData(cn, req)
	case *proto.GetChildrenRequest:
		code, children, _ := r.getChildren(cn, req.Path, req.Watch)
		if code != proto.OK {
			return code, nil
		}
		return proto.OK, &proto.GetChildrenResponse{Children: children}
	case *proto.GetChildren2Request:
		code, children, st := r.getChildren(cn, req.Path, req.Watch)
		if code != proto.OK {
			return code, nil
		}
		return proto.OK, &proto.GetChildren2Response{Children: children, Stat: st}
	case *proto.GetACLRequest:
		m, ok := r.tree.Meta(req.Path)
		if !ok {
			return proto.ErrNoNode, nil
		}
		canAdmin := r.canRead(m.ACL, cn.ids, proto.PermAdmin)
		if !canAdmin && !r.canRead(m.ACL, cn.ids, proto.PermRead) {
			return proto.ErrNoAuth, nil
		}
		return proto.OK, &proto.GetACLResponse{ACL: acl.MaskForGetACL(m.ACL, canAdmin), Stat: m.Stat}
	case *proto.SyncRequest:
		// Standalone: every write prepared before this sync is applied by
		// the time the sync reaches the head of the session's queue.
		return proto.OK, &proto.SyncResponse{Path: req.Path}
	case *proto.GetEphemeralsRequest:
		var out []string
		for _, p := range r.tree.Ephemerals(cn.session) {
			if req.PrefixPath == "" || req.PrefixPath == "/" || strings.HasPrefix(p, req.PrefixPath) {
				out = append(out, p)
			}
		}
		if out == nil {
			out = []string{}
		}
		return proto.OK, &proto.GetEphemeralsResponse{Ephemerals: out}
	case *proto.GetAllChildrenNumberRequest:
		m, ok := r.tree.Meta(req.Path)
		if !ok {
			return proto.ErrNoNode, nil
		}
		if !r.canRead(m.ACL, cn.ids, proto.PermRead) {
			return proto.ErrNoAuth, nil
		}
		n, _ := r.tree.CountDescendants(req.Path)
		return proto.OK, &proto.GetAllChildrenNumberResponse{TotalNumber: int32(n)}
	case *proto.CheckWatchesRequest:
		if !r.watches.Contains(req.Path, req.Type, cn.id) {
			return proto.ErrNoWatcher, nil
		}
		return proto.OK, nil
	case *proto.RemoveWatchesRequest:
		if !r.watches.Remove(req.Path, req.Type, cn.id) {
			return proto.ErrNoWatcher, nil
		}
		return proto.OK, nil
	case *proto.AddWatchRequest:
		switch req.Mode {
		case proto.AddWatchPersistent:
			r.watches.AddPersistent(req.Path, cn.id, false)
		case proto.AddWatchPersistentRecursive:
			r.watches.AddPersistent(req.Path, cn.id, true)
		default:
			return proto.ErrBadArguments, nil
		}
		return proto.OK, &proto.ErrorResponse{Err: proto.OK}
	case *proto.SetWatches:
		r.setWatches(cn, req.RelativeZxid, req.DataWatches, req.ExistWatches, req.ChildWatches, nil, nil)
		return proto.OK, nil
	case *proto.SetWatches2:
		r.setWatches(cn, req.RelativeZxid, req.DataWatches, req.ExistWatches, req.ChildWatches, req.PersistentWatches, req.PersistentRecursiveWatches)
		return proto.OK, nil
	case *proto.MultiRequest:
		return proto.OK, r.multiRead(cn, req)
	}
	return proto.ErrMarshallingError, nil
}

func (r *Replica) getData(cn *conn, req *proto.GetDataRequest) (proto.Code, proto.Record) {
	data, m, ok := r.tree.Get(req.Path)
	if !ok {
		return proto.ErrNoNode, nil
	}
	if !r.canRead(m.ACL, cn.ids, proto.PermRead) {
		return proto.ErrNoAuth, nil
	}
	if req.Watch {
		r.watches.AddData(req.Path, cn.id)
	}
	return proto.OK, &proto.GetDataResponse{Data: data, Stat: m.Stat}
}

func (r *Replica) getChildren(cn *conn, path string, watchIt bool) (proto.Code, []string, proto.Stat) {
	children, m, ok := r.tree.Children(path)
	if !ok {
		return proto.ErrNoNode, nil, proto.Stat{}
	}
	if !r.canRead(m.ACL, cn.ids, proto.PermRead) {
		return proto.ErrNoAuth, nil, proto.Stat{}
	}
	if watchIt {
		r.watches.AddChild(path, cn.id)
	}
	if children == nil {
		children = []string{}
	}
	return proto.OK, children, m.Stat
}

func (r *Replica) multiRead(cn *conn, req *proto.MultiRequest) *proto.MultiResponse {
	resp := &proto.MultiResponse{Results: make([]proto.MultiResult, len(req.Ops))}
	for i, op := range req.Ops {
		res := &resp.Results[i]
		switch sub := op.Req.(type) {
		case *proto.GetDataRequest:
			code, body := r.getData(cn, sub)
			if code != proto.OK {
				*res = proto.MultiResult{Type: proto.OpError, Err: code}
				continue
			}
			g := body.(*proto.GetDataResponse)
			*res = proto.MultiResult{Type: proto.OpGetData, Data: g.Data, Stat: g.Stat}
		case *proto.GetChildrenRequest:
			code, children, _ := r.getChildren(cn, sub.Path, sub.Watch)
			if code != proto.OK {
				*res = proto.MultiResult{Type: proto.OpError, Err: code}
				continue
			}
			*res = proto.MultiResult{Type: proto.OpGetChildren, Children: children}
		default:
			*res = proto.MultiResult{Type: proto.OpError, Err: proto.ErrBadArguments}
		}
	}
	return resp
}

func (r *Replica) setWatches(cn *conn, rel int64, data, exist, child, persistent, recursive []string) {
	lookup := func(path string) (proto.Stat, bool) {
		m, ok := r.tree.Meta(path)
		return m.Stat, ok
	}
	for _, ev := range r.watches.SetWatches(cn.id, rel, data, exist, child, persistent, recursive, lookup) {
		ev := ev
		// Catch-up events are filtered by READ like live ones (a deleted
		// node has no ACL left to check).
		if ev.Type != proto.EventNodeDeleted {
			if m, ok := r.tree.Meta(ev.Path); ok && !r.canRead(m.ACL, cn.ids, proto.PermRead) {
				continue
			}
		}
		r.sink.Send(cn.id, proto.ReplyHeader{Xid: proto.XidNotification, Zxid: -1, Err: proto.OK}, &ev)
		r.stats.Notifications++
	}
}

func (r *Replica) whoAmI(cn *conn) *proto.WhoAmIResponse {
	resp := &proto.WhoAmIResponse{ClientInfo: make([]proto.ClientInfo, 0, len(cn.ids))}
	for _, id := range cn.ids {
		user := id.ID
		if id.Scheme == "digest" {
			if i := strings.IndexByte(user, ':'); i >= 0 {
				user = user[:i]
			}
		}
		resp.ClientInfo = append(resp.ClientInfo, proto.ClientInfo{AuthScheme: id.Scheme, User: user})
	}
	return resp
}
