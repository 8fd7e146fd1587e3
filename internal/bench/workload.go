package bench

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
)

// Workload names a load pattern.
type Workload string

// The workloads. Create, Set, Get and Mixed run for a duration; Populate
// creates a fixed number of znodes.
const (
	WorkloadCreate   Workload = "create"
	WorkloadSet      Workload = "set"
	WorkloadGet      Workload = "get"
	WorkloadMixed    Workload = "mixed"
	WorkloadPopulate Workload = "populate"
	// WorkloadFailover is Failover's: it is run by the command, not by Run.
	WorkloadFailover Workload = "failover"
)

// Workloads lists every workload, in the order reports show them.
var Workloads = []Workload{WorkloadCreate, WorkloadSet, WorkloadGet, WorkloadMixed, WorkloadPopulate}

// maxOp bounds the opcodes a Recorder keeps histograms for.
const maxOp = 32

// Recorder collects the replies of one connection during one Do: counts by
// outcome and a latency histogram per opcode for requests sent inside the
// measurement window [from, to). It is written by the connection's reader
// goroutine and must be read only after Do returns.
type Recorder struct {
	from, to   time.Duration
	tolerated  []proto.Code
	getBodyLen int

	// Hists holds a latency histogram (nanoseconds) per opcode; nil for
	// opcodes that were never measured.
	Hists [maxOp]*Histogram
	// Ops counts successful (or tolerated) replies to measured requests.
	Ops uint64
	// Total counts every reply.
	Total uint64
	// Errors counts replies with an error code that is not tolerated, and
	// getData replies whose data has the wrong length.
	Errors uint64
	// FirstError describes the first such reply.
	FirstError string
}

// NewRecorder returns a recorder measuring requests sent in [from, to) and
// accepting the listed error codes as success. getBodyLen, if >= 0, is the
// expected size of a getData reply body, checked on every such reply.
func NewRecorder(from, to time.Duration, getBodyLen int, tolerated ...proto.Code) *Recorder {
	return &Recorder{from: from, to: to, tolerated: tolerated, getBodyLen: getBodyLen}
}

func (r *Recorder) observe(op proto.OpCode, code proto.Code, latency, start time.Duration, bodyLen int) {
	r.Total++
	ok := code == proto.OK || slices.Contains(r.tolerated, code)
	if !ok {
		r.fail(op, code.Error())
	} else if code == proto.OK && op == proto.OpGetData && r.getBodyLen >= 0 && bodyLen != r.getBodyLen {
		ok = false
		r.fail(op, "getData reply of "+strconv.Itoa(bodyLen)+" bytes, want "+strconv.Itoa(r.getBodyLen))
	}
	if start < r.from || start >= r.to || op < 0 || op >= maxOp {
		return
	}
	h := r.Hists[op]
	if h == nil {
		h = NewHistogram()
		r.Hists[op] = h
	}
	h.Record(int64(latency))
	if ok {
		r.Ops++
	}
}

func (r *Recorder) fail(op proto.OpCode, what string) {
	r.Errors++
	if r.FirstError == "" {
		r.FirstError = op.String() + ": " + what
	}
}

// getBodyLen is the size of a getData reply body for a value of n bytes.
func getBodyLen(n int) int { return 4 + n + proto.StatSize }

// listGen issues one request per index taken from a counter shared by every
// connection, until the counter reaches n: the pipelined way to create or
// delete a known set of paths.
type listGen struct {
	next  *atomic.Int64
	n     int64
	op    proto.OpCode
	path  func(i int64) string
	value []byte
}

func (g *listGen) Next(e *jute.Encoder, _ time.Duration) (proto.OpCode, bool) {
	i := g.next.Add(1) - 1
	if i >= g.n {
		return 0, false
	}
	p := g.path(i)
	switch g.op {
	case proto.OpCreate:
		r := proto.CreateRequest{Path: p, Data: g.value, ACL: proto.OpenACLUnsafe}
		r.Encode(e)
	case proto.OpDelete:
		r := proto.DeleteRequest{Path: p, Version: -1}
		r.Encode(e)
	case proto.OpSetData:
		r := proto.SetDataRequest{Path: p, Data: g.value, Version: -1}
		r.Encode(e)
	case proto.OpSync:
		r := proto.SyncRequest{Path: p}
		r.Encode(e)
	default:
		r := proto.GetDataRequest{Path: p}
		r.Encode(e)
	}
	return g.op, true
}

// createGen creates prefix0, prefix1, ... until the deadline.
type createGen struct {
	prefix   string
	value    []byte
	deadline time.Duration
	sent     int64
}

func (g *createGen) Next(e *jute.Encoder, now time.Duration) (proto.OpCode, bool) {
	if now >= g.deadline {
		return 0, false
	}
	r := proto.CreateRequest{Path: g.prefix + strconv.FormatInt(g.sent, 10), Data: g.value, ACL: proto.OpenACLUnsafe}
	r.Encode(e)
	g.sent++
	return proto.OpCreate, true
}

// keyGen reads or writes uniformly chosen keys until the deadline; each
// request is a getData with probability readRatio, else a setData.
type keyGen struct {
	keys      []string
	value     []byte
	readRatio float64
	rng       *rand.Rand
	deadline  time.Duration
}

func (g *keyGen) Next(e *jute.Encoder, now time.Duration) (proto.OpCode, bool) {
	if now >= g.deadline {
		return 0, false
	}
	k := g.keys[g.rng.IntN(len(g.keys))]
	if g.readRatio >= 1 || (g.readRatio > 0 && g.rng.Float64() < g.readRatio) {
		r := proto.GetDataRequest{Path: k}
		r.Encode(e)
		return proto.OpGetData, true
	}
	r := proto.SetDataRequest{Path: k, Data: g.value, Version: -1}
	r.Encode(e)
	return proto.OpSetData, true
}
