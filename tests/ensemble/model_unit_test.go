package ensemble_test

import (
	"math"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
)

// TestZnodeModel checks the model on small histories, so that a chaos
// verdict means something: acknowledged writes must be seen, unknown ones
// may go either way, and stale synced reads are caught.
func TestZnodeModel(t *testing.T) {
	const inf = math.MaxInt64
	op := func(client int, call, ret int64, in znodeInput, out znodeOutput) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
	}
	create := func(data string) znodeInput { return znodeInput{Kind: opCreate, Path: "/a", Data: data} }
	set := func(data string, v int32) znodeInput {
		return znodeInput{Kind: opSet, Path: "/a", Data: data, Version: v}
	}
	del := func(v int32) znodeInput { return znodeInput{Kind: opDelete, Path: "/a", Version: v} }
	read := znodeInput{Kind: opRead, Path: "/a"}
	ok := znodeOutput{Res: resOK}
	unknown := znodeOutput{Res: resUnknown}
	got := func(data string, v int32) znodeOutput { return znodeOutput{Res: resOK, Data: data, Version: v} }
	tests := []struct {
		name    string
		history []porcupine.Operation
		want    bool
	}{
		{"acked create then read", []porcupine.Operation{
			op(0, 0, 1, create("x"), ok), op(1, 2, 3, read, got("x", 0)),
		}, true},
		{"acked create lost", []porcupine.Operation{
			op(0, 0, 1, create("x"), ok), op(1, 2, 3, read, znodeOutput{Res: resNoNode}),
		}, false},
		{"unknown create not applied", []porcupine.Operation{
			op(0, 0, inf, create("x"), unknown), op(1, 2, 3, read, znodeOutput{Res: resNoNode}),
		}, true},
		{"unknown create applied", []porcupine.Operation{
			op(0, 0, inf, create("x"), unknown), op(1, 2, 3, read, got("x", 0)),
		}, true},
		{"unknown create seen, then unseen", []porcupine.Operation{
			op(0, 0, inf, create("x"), unknown), op(1, 2, 3, read, got("x", 0)), op(1, 4, 5, read, znodeOutput{Res: resNoNode}),
		}, false},
		{"versioned sets", []porcupine.Operation{
			op(0, 0, 1, create("x"), ok), op(0, 2, 3, set("y", 0), got("", 1)), op(1, 2, 3, set("z", 0), znodeOutput{Res: resBadVersion}),
			op(1, 4, 5, read, got("y", 1)),
		}, true},
		{"two versioned sets both acked", []porcupine.Operation{
			op(0, 0, 1, create("x"), ok), op(0, 2, 3, set("y", 0), got("", 1)), op(1, 2, 3, set("z", 0), got("", 1)),
		}, false},
		{"set reports the wrong version", []porcupine.Operation{
			op(0, 0, 1, create("x"), ok), op(0, 2, 3, set("y", -1), got("", 2)),
		}, false},
		{"stale read after acked set", []porcupine.Operation{
			op(0, 0, 1, create("x"), ok), op(0, 2, 3, set("y", -1), got("", 1)), op(1, 4, 5, read, got("x", 0)),
		}, false},
		{"segment starts from an init", []porcupine.Operation{
			op(0, 0, 1, znodeInput{Kind: opInit, Path: "/a", Data: "i", Version: 3}, ok),
			op(1, 2, 3, set("y", 3), got("", 4)), op(1, 4, 5, read, got("y", 4)),
		}, true},
		{"init absent, read present", []porcupine.Operation{
			op(0, 0, 1, znodeInput{Kind: opInit, Path: "/a", Version: -1}, ok), op(1, 2, 3, read, got("x", 0)),
		}, false},
		{"delete then NONODE", []porcupine.Operation{
			op(0, 0, 1, create("x"), ok), op(0, 2, 3, del(0), ok), op(0, 4, 5, set("y", -1), znodeOutput{Res: resNoNode}),
			op(1, 6, 7, create("w"), ok), op(1, 8, 9, read, got("w", 0)),
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, porcupine.CheckOperations(znodeModel, tc.history))
		})
	}
}
