package ensemble_test

import (
	"fmt"
	"sort"

	"github.com/anishathalye/porcupine"
)

// The linearizability model porcupine checks the chaos histories against:
// one znode per partition, written by create, setData (with or without a
// version) and delete (the same), and read by getData issued right after a
// sync on the same session (a sync is a quorum round in Warren, so the
// read that follows it reflects every write completed before the sync
// began; that is the read's invocation time). Plain reads are not
// recorded: ZooKeeper promises them only sequential consistency.
//
// A write whose reply never came (the connection died) has an unknown
// outcome: it is recorded with a return time after everything else, so
// porcupine may place it anywhere after its invocation, including after
// the final reads, which means it never took effect.

// opKind is what an operation does.
type opKind int

const (
	opCreate opKind = iota
	opSet
	opDelete
	opRead
	// opInit starts a history segment from a known state: absent when
	// Version is negative, else Data at Version.
	opInit
)

func (k opKind) String() string { return [...]string{"create", "set", "delete", "read", "init"}[k] }

// result is the reply code of an operation.
type result int

const (
	resOK result = iota
	resNoNode
	resNodeExists
	resBadVersion
	resUnknown
)

func (r result) String() string {
	return [...]string{"ok", "NONODE", "NODEEXISTS", "BADVERSION", "unknown"}[r]
}

// znodeInput is an operation on one path. Version is the expected version
// of a set or delete (-1: any).
type znodeInput struct {
	Kind    opKind
	Path    string
	Data    string
	Version int32
}

// znodeOutput is a reply. For an acknowledged set it holds the node's new
// version; for a read the node's data and version (or NONODE).
type znodeOutput struct {
	Res     result
	Data    string
	Version int32
}

// znodeState is one node: absent, or present with data and version.
type znodeState struct {
	Exists  bool
	Data    string
	Version int32
}

func (s znodeState) String() string {
	if !s.Exists {
		return "absent"
	}
	return fmt.Sprintf("%q v%d", s.Data, s.Version)
}

// applies reports whether a write succeeds on s, and the state it leaves.
func (in znodeInput) applies(s znodeState) (bool, znodeState) {
	versionOK := in.Version == -1 || in.Version == s.Version
	switch in.Kind {
	case opCreate:
		return !s.Exists, znodeState{Exists: true, Data: in.Data}
	case opSet:
		return s.Exists && versionOK, znodeState{Exists: true, Data: in.Data, Version: s.Version + 1}
	case opDelete:
		return s.Exists && versionOK, znodeState{}
	}
	return false, s
}

// failure is the code a write that does not apply to s gets.
func (in znodeInput) failure(s znodeState) result {
	switch {
	case in.Kind == opCreate:
		return resNodeExists
	case !s.Exists:
		return resNoNode
	default:
		return resBadVersion
	}
}

func znodeStep(state, input, output any) (bool, any) {
	s, in, out := state.(znodeState), input.(znodeInput), output.(znodeOutput)
	if in.Kind == opInit {
		if in.Version < 0 {
			return true, znodeState{}
		}
		return true, znodeState{Exists: true, Data: in.Data, Version: in.Version}
	}
	if in.Kind == opRead {
		if !s.Exists {
			return out.Res == resNoNode, s
		}
		return out.Res == resOK && out.Data == s.Data && out.Version == s.Version, s
	}
	ok, next := in.applies(s)
	switch {
	case out.Res == resUnknown:
		if ok {
			return true, next
		}
		return true, s
	case out.Res == resOK:
		if in.Kind == opSet && out.Version != next.Version {
			return false, s
		}
		return ok, next
	default:
		return !ok && out.Res == in.failure(s), s
	}
}

// znodeModel is the porcupine model, partitioned by path.
var znodeModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byPath := map[string][]porcupine.Operation{}
		for _, op := range history {
			p := op.Input.(znodeInput).Path
			byPath[p] = append(byPath[p], op)
		}
		paths := make([]string, 0, len(byPath))
		for p := range byPath {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		out := make([][]porcupine.Operation, 0, len(paths))
		for _, p := range paths {
			out = append(out, byPath[p])
		}
		return out
	},
	Init: func() any { return znodeState{} },
	Step: znodeStep,
	DescribeOperation: func(input, output any) string {
		in, out := input.(znodeInput), output.(znodeOutput)
		switch in.Kind {
		case opRead:
			if out.Res == resOK {
				return fmt.Sprintf("read %s -> %q v%d", in.Path, out.Data, out.Version)
			}
			return fmt.Sprintf("read %s -> %s", in.Path, out.Res)
		case opSet:
			if out.Res == resOK {
				return fmt.Sprintf("set %s %q (v%d) -> v%d", in.Path, in.Data, in.Version, out.Version)
			}
			return fmt.Sprintf("set %s %q (v%d) -> %s", in.Path, in.Data, in.Version, out.Res)
		case opDelete:
			return fmt.Sprintf("delete %s (v%d) -> %s", in.Path, in.Version, out.Res)
		}
		return fmt.Sprintf("%s %s %q -> %s", in.Kind, in.Path, in.Data, out.Res)
	},
	DescribeState: func(state any) string { return state.(znodeState).String() },
}
