package sim

import (
	"fmt"
	"slices"

	"github.com/anishathalye/porcupine"
)

// OpKind is a client operation in the checked history.
type OpKind uint8

// The operations clients issue on the fixed keys.
const (
	OpCreate OpKind = iota + 1
	OpSet
	OpDelete
	OpRead // a getData right after a sync on the same session
)

func (k OpKind) String() string {
	switch k {
	case OpCreate:
		return "create"
	case OpSet:
		return "set"
	case OpDelete:
		return "delete"
	case OpRead:
		return "sync+get"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Input is an operation as the client invoked it.
type Input struct {
	Kind    OpKind
	Key     string
	Data    string
	Version int32 // set and delete: expected version, -1 for any
}

// Result codes in Output.
const (
	ResOK         = "ok"
	ResNoNode     = "nonode"
	ResNodeExists = "exists"
	ResBadVersion = "badversion"
)

// Output is what the client saw. Unknown marks a write whose outcome the
// client never learned (its connection closed, or an error that does not
// say whether it applied); its Return is math.MaxInt64.
type Output struct {
	Unknown bool
	Code    string
	Data    string
	Version int32 // set: the new version; read: the node's version
}

// keyState is the model's state of one key: immutable, comparable.
type keyState struct {
	exists  bool
	data    string
	version int32
}

// apply is the reference semantics of one operation on one key.
func apply(s keyState, in Input) (keyState, Output) {
	switch in.Kind {
	case OpCreate:
		if s.exists {
			return s, Output{Code: ResNodeExists}
		}
		return keyState{exists: true, data: in.Data}, Output{Code: ResOK}
	case OpSet:
		if !s.exists {
			return s, Output{Code: ResNoNode}
		}
		if in.Version != -1 && in.Version != s.version {
			return s, Output{Code: ResBadVersion}
		}
		return keyState{exists: true, data: in.Data, version: s.version + 1}, Output{Code: ResOK, Version: s.version + 1}
	case OpDelete:
		if !s.exists {
			return s, Output{Code: ResNoNode}
		}
		if in.Version != -1 && in.Version != s.version {
			return s, Output{Code: ResBadVersion}
		}
		return keyState{}, Output{Code: ResOK}
	case OpRead:
		if !s.exists {
			return s, Output{Code: ResNoNode}
		}
		return s, Output{Code: ResOK, Data: s.data, Version: s.version}
	}
	return s, Output{Code: "invalid"}
}

// Model is the porcupine model of the history: one register-like znode per
// key (create, set and delete with version checks, sync+get), partitioned
// by key. An unknown write may or may not have taken effect.
func Model() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[string][]porcupine.Operation{}
			var keys []string
			for _, op := range h {
				k := op.Input.(Input).Key
				if _, ok := byKey[k]; !ok {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			slices.Sort(keys)
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, byKey[k])
			}
			return out
		},
		Init: func() []interface{} { return []interface{}{keyState{}} },
		Step: func(state, input, output interface{}) []interface{} {
			s, in, o := state.(keyState), input.(Input), output.(Output)
			next, want := apply(s, in)
			if o.Unknown {
				if next == s {
					return []interface{}{s}
				}
				return []interface{}{s, next}
			}
			if o == want {
				return []interface{}{next}
			}
			return nil
		},
		Equal: func(a, b interface{}) bool { return a.(keyState) == b.(keyState) },
		DescribeOperation: func(input, output interface{}) string {
			in, o := input.(Input), output.(Output)
			res := o.Code
			if o.Unknown {
				res = "?"
			} else if in.Kind == OpRead && o.Code == ResOK || in.Kind == OpSet && o.Code == ResOK {
				res = fmt.Sprintf("%s %q v%d", o.Code, o.Data, o.Version)
			}
			return fmt.Sprintf("%s(%s %q v%d) -> %s", in.Kind, in.Key, in.Data, in.Version, res)
		},
		DescribeState: func(state interface{}) string {
			s := state.(keyState)
			if !s.exists {
				return "absent"
			}
			return fmt.Sprintf("%q v%d", s.data, s.version)
		},
	}
	return nm.ToModel()
}
