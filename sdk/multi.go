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
