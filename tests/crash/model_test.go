package crash_test

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// The model: what the writers know about every key they write.
//
// Each key belongs to one writer, which issues one operation at a time, so
// the operations on a key are totally ordered. The model keeps, per key,
// the set of states the key may be in given every reply received so far:
//
//   - an acknowledged success leaves exactly the states the operation
//     produces from the states it could have applied to;
//   - an acknowledged failure (NODEEXISTS, NONODE) leaves the states in
//     which the operation fails: it tells what the key held;
//   - an unknown outcome (the connection died with the server) adds the
//     states the operation would produce to the states already possible:
//     it may or may not have been made durable before the kill.
//
// A check compares the restarted server with the model: each key's
// observed state must be one of its possible states (or one its in-flight
// operation, whose reply is still to come, may produce), every node under
// /w must belong to a key, and the three nodes of a multi group must agree
// (a multi applies entirely or not at all). Once checked, a key's set is
// the observed state: the kill decided the fate of every unknown operation
// issued before it.

// state is a key's content: absent, or present with data (and, for an
// ephemeral key, its owner session).
type state struct {
	present bool
	data    string
	owner   int64
}

var absent = state{}

func (s state) String() string {
	switch {
	case !s.present:
		return "absent"
	case s.owner != 0:
		return fmt.Sprintf("%q(owner 0x%x)", s.data, s.owner)
	default:
		return fmt.Sprintf("%q", s.data)
	}
}

// opKind is what an operation does to its key.
type opKind int

const (
	opCreate opKind = iota
	opSet
	opDelete
)

func (k opKind) String() string {
	return [...]string{"create", "setData", "delete"}[k]
}

// outcome is what the writer learnt from the reply.
type outcome int

const (
	okAcked      outcome = iota // success acknowledged
	okNodeExists                // acknowledged failure: NODEEXISTS
	okNoNode                    // acknowledged failure: NONODE
	okUnknown                   // no reply: may or may not be applied
)

func (o outcome) String() string {
	return [...]string{"acked", "NODEEXISTS", "NONODE", "unknown"}[o]
}

// op is one operation on one key (for a group key, one multi on its three
// nodes).
type op struct {
	kind  opKind
	data  string
	owner int64 // session that creates an ephemeral, 0 for persistent
}

func (o op) String() string {
	if o.kind == opDelete {
		return o.kind.String()
	}
	return fmt.Sprintf("%s %q", o.kind, o.data)
}

// apply returns the state o leaves when applied to s, and whether it
// succeeds on s at all.
func (o op) apply(s state) (state, bool) {
	switch o.kind {
	case opCreate:
		if s.present {
			return s, false
		}
		return state{present: true, data: o.data, owner: o.owner}, true
	case opSet:
		if !s.present {
			return s, false
		}
		return state{present: true, data: o.data, owner: s.owner}, true
	default:
		if !s.present {
			return s, false
		}
		return absent, true
	}
}

// stateSet is a set of possible states.
type stateSet map[state]struct{}

func setOf(states ...state) stateSet {
	s := stateSet{}
	for _, st := range states {
		s[st] = struct{}{}
	}
	return s
}

func (s stateSet) String() string {
	var parts []string
	for st := range s {
		parts = append(parts, st.String())
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ", ") + "}"
}

// historyLen is how many recent operations a key keeps for failure reports.
const historyLen = 12

// keyModel is the model of one key.
type keyModel struct {
	name     string   // for reports
	paths    []string // one node, or the three of a multi group
	possible stateSet
	pending  *op // issued, reply not yet recorded
	history  []string
}

func newKey(name string, paths ...string) *keyModel {
	return &keyModel{name: name, paths: paths, possible: setOf(absent)}
}

// record folds a reply into the possible states. It returns an error when
// the reply contradicts every state the key could be in: the server
// acknowledged something impossible, such as NONODE for a key whose create
// was acknowledged.
func (k *keyModel) record(o op, out outcome) error {
	k.history = append(k.history, fmt.Sprintf("%s -> %s", o, out))
	if len(k.history) > historyLen {
		k.history = k.history[len(k.history)-historyLen:]
	}
	before := k.possible
	next := stateSet{}
	switch out {
	case okAcked:
		for s := range before {
			if r, ok := o.apply(s); ok {
				next[r] = struct{}{}
			}
		}
	case okNodeExists:
		for s := range before {
			if s.present {
				next[s] = struct{}{}
			}
		}
	case okNoNode:
		for s := range before {
			if !s.present {
				next[s] = struct{}{}
			}
		}
	case okUnknown:
		for s := range before {
			next[s] = struct{}{}
			if r, ok := o.apply(s); ok {
				next[r] = struct{}{}
			}
		}
	}
	if len(next) == 0 {
		return fmt.Errorf("%s: reply %s to %s is impossible from any state the key may be in %s; recent operations:\n  %s",
			k.name, out, o, before, strings.Join(k.history, "\n  "))
	}
	k.possible = next
	return nil
}

// allowed returns the states a check may observe: the possible ones, plus
// what an in-flight operation may have done.
func (k *keyModel) allowed() stateSet {
	a := stateSet{}
	for s := range k.possible {
		a[s] = struct{}{}
		if k.pending != nil {
			if r, ok := k.pending.apply(s); ok {
				a[r] = struct{}{}
			}
		}
	}
	return a
}

// check compares an observed state with the model and, when it is
// allowed, makes it the only possible state.
func (k *keyModel) check(observed state) error {
	a := k.allowed()
	if _, ok := a[observed]; !ok {
		pending := "none"
		if k.pending != nil {
			pending = k.pending.String()
		}
		return fmt.Errorf("%s: the server holds %s, but only %s are possible (in flight: %s); recent operations:\n  %s",
			k.name, observed, a, pending, strings.Join(k.history, "\n  "))
	}
	k.possible = setOf(observed)
	return nil
}

// model holds every key; one mutex guards it all (the writers' cost is a
// map lookup per operation).
type model struct {
	mu     sync.Mutex
	keys   map[string]*keyModel // by path, each path of a group too
	byName []*keyModel

	// Counters.
	acked, ackedFailed, unknown int64
	ackedSinceCheck             int64
	verified                    int64 // acknowledged writes covered by a passing check
}

func newModel() *model { return &model{keys: map[string]*keyModel{}} }

func (m *model) add(k *keyModel) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range k.paths {
		m.keys[p] = k
	}
	m.byName = append(m.byName, k)
}

// begin marks o in flight on k.
func (m *model) begin(k *keyModel, o op) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k.pending = &o
}

// finish records the reply to k's in-flight operation.
func (m *model) finish(k *keyModel, o op, out outcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k.pending = nil
	switch out {
	case okAcked:
		m.acked++
		m.ackedSinceCheck++
	case okUnknown:
		m.unknown++
	default:
		m.ackedFailed++
	}
	return k.record(o, out)
}
