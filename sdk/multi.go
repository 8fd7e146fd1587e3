package sdk

import (
	"context"
	"fmt"

	"github.com/warrenhq/warren/core/proto"
)

// Op is one operation of a Multi; build it with CreateOp, DeleteOp, SetOp
// or CheckOp.
type Op struct {
	typ  proto.OpCode
	path string
	req  proto.Record
	err  error
}

// CreateOp creates a node in a Multi (as Create does).
func (c *Conn) CreateOp(path string, data []byte, o CreateOptions) Op {
	typ, req, err := c.createRequest(path, data, o)
	if err == nil && o.Parents != ParentsNone {
		err = fmt.Errorf("sdk: create %s: Parents cannot be used in a multi: %w", path, ErrBadArguments)
	}
	return Op{typ: typ, path: path, req: req, err: err}
}

// DeleteOp deletes a node in a Multi.
func (c *Conn) DeleteOp(path string, version int32) Op {
	return Op{typ: proto.OpDelete, path: path, req: &proto.DeleteRequest{Path: addChroot(path, c.chroot), Version: version}, err: validatePath(path, false)}
}

// SetOp sets a node's data in a Multi.
func (c *Conn) SetOp(path string, data []byte, version int32) Op {
	return Op{typ: proto.OpSetData, path: path, req: &proto.SetDataRequest{Path: addChroot(path, c.chroot), Data: data, Version: version}, err: validatePath(path, false)}
}

// CheckOp checks a node's version in a Multi.
func (c *Conn) CheckOp(path string, version int32) Op {
	return Op{typ: proto.OpCheck, path: path, req: &proto.CheckVersionRequest{Path: addChroot(path, c.chroot), Version: version}, err: validatePath(path, false)}
}

// OpResult is the result of one operation of a Multi.
type OpResult struct {
	// Type is the operation's opcode as the server reports it.
	Type proto.OpCode
	// Path is the created path (creates only), chroot-relative.
	Path string
	// Stat is set for create2-style creates and sets.
	Stat Stat
	// Err is nil on success. In a failed Multi every result has Type
	// OpError: the failing operation carries its code, the operations
	// after it ErrRuntimeInconsistency, and those before it a nil Err
	// (they were rolled back).
	Err error
}

// Multi runs ops atomically. The results have one entry per operation. If
// the transaction failed, the error is the first failed operation's
// *Error (errors.Is works) and the results say which one failed.
func (c *Conn) Multi(ctx context.Context, ops ...Op) ([]OpResult, error) {
	req := &proto.MultiRequest{Ops: make([]proto.MultiOp, len(ops))}
	for i, o := range ops {
		if o.err != nil {
			return nil, fmt.Errorf("sdk: multi op %d: %w", i, o.err)
		}
		req.Ops[i] = proto.MultiOp{Type: o.typ, Req: o.req}
	}
	var resp proto.MultiResponse
	if err := c.do(ctx, proto.OpMulti, "", req, &resp, nil); err != nil {
		return nil, err
	}
	out := make([]OpResult, len(resp.Results))
	var first error
	for i, r := range resp.Results {
		res := OpResult{Type: r.Type, Stat: r.Stat}
		if r.Path != "" {
			res.Path = stripChroot(r.Path, c.chroot)
		}
		if r.Type == proto.OpError && r.Err != proto.OK {
			path := ""
			if i < len(ops) {
				path = ops[i].path
			}
			res.Err = codeErr(proto.OpMulti, path, r.Err)
			if first == nil && r.Err != proto.ErrRuntimeInconsistency {
				first = res.Err
			}
		}
		out[i] = res
	}
	if first == nil {
		for _, r := range out {
			if r.Err != nil {
				first = r.Err
				break
			}
		}
	}
	return out, first
}

// GetOp reads a node's data and Stat in a MultiRead.
func (c *Conn) GetOp(path string) Op {
	return Op{typ: proto.OpGetData, path: path, req: &proto.GetDataRequest{Path: addChroot(path, c.chroot)}, err: validatePath(path, false)}
}

// ChildrenOp lists a node's children in a MultiRead.
func (c *Conn) ChildrenOp(path string) Op {
	return Op{typ: proto.OpGetChildren, path: path, req: &proto.GetChildrenRequest{Path: addChroot(path, c.chroot)}, err: validatePath(path, false)}
}

// ReadResult is the result of one operation of a MultiRead.
type ReadResult struct {
	// Data and Stat are set for a GetOp.
	Data []byte
	Stat Stat
	// Children is set for a ChildrenOp (names, not paths).
	Children []string
	// Err is the operation's own failure (an *Error, errors.Is works), nil
	// on success.
	Err error
}

// MultiRead runs GetOp and ChildrenOp reads in one request (ZooKeeper
// 3.6+'s multiRead): the server answers them together, from the same
// state, but each succeeds or fails on its own, so the results carry their
// own errors and the returned error is only for the request as a whole.
// Other operations are refused before anything is sent, as the Java
// client refuses to mix reads and writes.
func (c *Conn) MultiRead(ctx context.Context, ops ...Op) ([]ReadResult, error) {
	req := &proto.MultiRequest{Ops: make([]proto.MultiOp, len(ops))}
	for i, o := range ops {
		if o.err != nil {
			return nil, fmt.Errorf("sdk: multiRead op %d: %w", i, o.err)
		}
		if o.typ != proto.OpGetData && o.typ != proto.OpGetChildren {
			return nil, fmt.Errorf("sdk: multiRead op %d: %v is not a read: %w", i, o.typ, ErrBadArguments)
		}
		req.Ops[i] = proto.MultiOp{Type: o.typ, Req: o.req}
	}
	var resp proto.MultiResponse
	if err := c.do(ctx, proto.OpMultiRead, "", req, &resp, nil); err != nil {
		return nil, err
	}
	if len(resp.Results) != len(ops) {
		return nil, fmt.Errorf("%w: multiRead of %d ops answered with %d results", errProtocol, len(ops), len(resp.Results))
	}
	out := make([]ReadResult, len(resp.Results))
	for i, r := range resp.Results {
		switch {
		case r.Type == proto.OpError:
			out[i].Err = codeErr(proto.OpMultiRead, ops[i].path, r.Err)
		case r.Type != ops[i].typ:
			return nil, fmt.Errorf("%w: multiRead op %d (%v) answered with a %v result", errProtocol, i, ops[i].typ, r.Type)
		default:
			out[i] = ReadResult{Data: r.Data, Stat: r.Stat, Children: r.Children}
		}
	}
	return out, nil
}
