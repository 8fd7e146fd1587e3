package crash_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// step is one reply recorded in a key's model.
type step struct {
	op  op
	out outcome
}

func present(data string) state { return state{present: true, data: data} }

// TestModelRecordAndCheck pins down what the check accepts: exactly the
// states the recorded replies allow, nothing vaguer.
func TestModelRecordAndCheck(t *testing.T) {
	create := func(d string) op { return op{kind: opCreate, data: d} }
	set := func(d string) op { return op{kind: opSet, data: d} }
	del := op{kind: opDelete}
	tests := []struct {
		name       string
		steps      []step
		pending    *op
		impossible bool // the last reply contradicts the earlier ones
		allowed    []state
		rejected   []state
	}{
		{name: "acked create is the only state",
			steps:   []step{{create("1"), okAcked}},
			allowed: []state{present("1")}, rejected: []state{absent, present("2")}},
		{name: "acked set replaces the data",
			steps:   []step{{create("1"), okAcked}, {set("2"), okAcked}},
			allowed: []state{present("2")}, rejected: []state{present("1"), absent}},
		{name: "acked delete means absent",
			steps:   []step{{create("1"), okAcked}, {del, okAcked}},
			allowed: []state{absent}, rejected: []state{present("1")}},
		{name: "unknown set after acked create: old or new data",
			steps:   []step{{create("1"), okAcked}, {set("2"), okUnknown}},
			allowed: []state{present("1"), present("2")}, rejected: []state{absent}},
		{name: "unknown delete after acked create: present or absent",
			steps:   []step{{create("1"), okAcked}, {del, okUnknown}},
			allowed: []state{present("1"), absent}, rejected: []state{present("x")}},
		{name: "unknown create on a present key changes nothing",
			steps:   []step{{create("1"), okAcked}, {create("2"), okUnknown}},
			allowed: []state{present("1")}, rejected: []state{present("2"), absent}},
		{name: "NONODE after an unknown create resolves it",
			steps:   []step{{create("1"), okUnknown}, {set("2"), okNoNode}},
			allowed: []state{absent}, rejected: []state{present("1"), present("2")}},
		{name: "NODEEXISTS after an unknown create resolves it",
			steps:   []step{{create("1"), okUnknown}, {create("2"), okNodeExists}},
			allowed: []state{present("1")}, rejected: []state{absent, present("2")}},
		{name: "unknowns stack",
			steps:   []step{{create("1"), okAcked}, {set("2"), okUnknown}, {del, okUnknown}, {create("3"), okUnknown}},
			allowed: []state{present("1"), present("2"), absent, present("3")}, rejected: []state{present("4")}},
		{name: "an in-flight operation may have applied",
			steps:   []step{{create("1"), okAcked}},
			pending: &op{kind: opSet, data: "2"},
			allowed: []state{present("1"), present("2")}, rejected: []state{absent}},
		{name: "set keeps an ephemeral's owner",
			steps:   []step{{op{kind: opCreate, data: "1", owner: 7}, okAcked}, {set("2"), okAcked}},
			allowed: []state{{present: true, data: "2", owner: 7}}, rejected: []state{present("2"), {present: true, data: "2", owner: 8}}},
		{name: "NONODE for a key whose create was acknowledged is impossible",
			steps:      []step{{create("1"), okAcked}, {set("2"), okNoNode}},
			impossible: true},
		{name: "acked set on a key that must be absent is impossible",
			steps:      []step{{create("1"), okAcked}, {del, okAcked}, {set("2"), okAcked}},
			impossible: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fresh := func() *keyModel {
				k := newKey("/k", "/k")
				for i, s := range tc.steps {
					err := k.record(s.op, s.out)
					if tc.impossible && i == len(tc.steps)-1 {
						require.Error(t, err)
						assert.Contains(t, err.Error(), "impossible")
						return nil
					}
					require.NoError(t, err, "step %d", i)
				}
				k.pending = tc.pending
				return k
			}
			if fresh() == nil {
				return
			}
			for _, s := range tc.allowed {
				k := fresh()
				require.NoError(t, k.check(s), "%s must be accepted", s)
				assert.Equal(t, setOf(s), k.possible, "a passing check leaves the observed state alone")
			}
			for _, s := range tc.rejected {
				assert.Error(t, fresh().check(s), "%s must be rejected", s)
			}
		})
	}
}
