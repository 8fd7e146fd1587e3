package sdk

import (
	"errors"
	"fmt"

	"github.com/warrenhq/warren/core/proto"
)

// Error is the error a call returns when the server (or the connection)
// fails it: the operation, the path (chroot-relative, empty when the
// operation has none) and the ZooKeeper code. It unwraps to the code, so
// errors.Is(err, ErrNoNode) works.
type Error struct {
	Op   string
	Path string
	Code proto.Code
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: %v", e.Op, e.Code)
	}
	return fmt.Sprintf("%s %s: %v", e.Op, e.Path, e.Code)
}

// Unwrap returns the ZooKeeper code.
func (e *Error) Unwrap() error { return e.Code }

// Sentinels for the ZooKeeper error codes, for use with errors.Is. They are
// the proto.Code values themselves.
var (
	ErrSystemError             error = proto.ErrSystemError
	ErrRuntimeInconsistency    error = proto.ErrRuntimeInconsistency
	ErrDataInconsistency       error = proto.ErrDataInconsistency
	ErrConnectionLoss          error = proto.ErrConnectionLoss
	ErrMarshallingError        error = proto.ErrMarshallingError
	ErrUnimplemented           error = proto.ErrUnimplemented
	ErrOperationTimeout        error = proto.ErrOperationTimeout
	ErrBadArguments            error = proto.ErrBadArguments
	ErrUnknownSession          error = proto.ErrUnknownSession
	ErrAPIError                error = proto.ErrAPIError
	ErrNoNode                  error = proto.ErrNoNode
	ErrNoAuth                  error = proto.ErrNoAuth
	ErrBadVersion              error = proto.ErrBadVersion
	ErrNoChildrenForEphemerals error = proto.ErrNoChildrenForEphemerals
	ErrNodeExists              error = proto.ErrNodeExists
	ErrNotEmpty                error = proto.ErrNotEmpty
	ErrSessionExpired          error = proto.ErrSessionExpired
	ErrInvalidACL              error = proto.ErrInvalidACL
	ErrAuthFailed              error = proto.ErrAuthFailed
	ErrSessionMoved            error = proto.ErrSessionMoved
	ErrNotReadOnly             error = proto.ErrNotReadOnly
	ErrNoWatcher               error = proto.ErrNoWatcher
	ErrRequestTimeout          error = proto.ErrRequestTimeout
	ErrQuotaExceeded           error = proto.ErrQuotaExceeded
	ErrThrottledOp             error = proto.ErrThrottledOp
	ErrNewConfigNoQuorum       error = proto.ErrNewConfigNoQuorum
	ErrReconfigInProgress      error = proto.ErrReconfigInProgress
	ErrReconfigDisabled        error = proto.ErrReconfigDisabled
)

// ErrClosed is returned by calls on a Conn after Close.
var ErrClosed = errors.New("sdk: connection closed")

// ErrInvalidPath reports a path the client refuses to send (ZooKeeper's
// PathUtils rules); it also matches ErrBadArguments.
var ErrInvalidPath = fmt.Errorf("sdk: invalid path: %w", proto.ErrBadArguments)

// codeErr builds the error of a failed call.
func codeErr(op proto.OpCode, path string, code proto.Code) error {
	return &Error{Op: op.String(), Path: path, Code: code}
}
