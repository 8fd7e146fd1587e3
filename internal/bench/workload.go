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

func (g *listGen) Next(e *jute.Encoder, now time.Duration) (proto.OpCode, bool) {
	return encodeNext(g, e, now)
}

func (g *listGen) nextReq(time.Duration) (request, bool) {
	i := g.next.Add(1) - 1
	if i >= g.n {
		return request{}, false
	}
	req := request{op: g.op, path: g.path(i)}
	if g.op == proto.OpCreate || g.op == proto.OpSetData {
		req.data = g.value
	}
	return req, true
}

// createGen creates prefix0, prefix1, ... until the deadline.
type createGen struct {
	prefix   string
	value    []byte
	deadline time.Duration
	sent     int64
}

func (g *createGen) Next(e *jute.Encoder, now time.Duration) (proto.OpCode, bool) {
	return encodeNext(g, e, now)
}

func (g *createGen) nextReq(now time.Duration) (request, bool) {
	if now >= g.deadline {
		return request{}, false
	}
	req := request{op: proto.OpCreate, path: g.prefix + strconv.FormatInt(g.sent, 10), data: g.value}
	g.sent++
	return req, true
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
	return encodeNext(g, e, now)
}

func (g *keyGen) nextReq(now time.Duration) (request, bool) {
	if now >= g.deadline {
		return request{}, false
	}
	k := g.keys[g.rng.IntN(len(g.keys))]
	if g.readRatio >= 1 || (g.readRatio > 0 && g.rng.Float64() < g.readRatio) {
		return request{op: proto.OpGetData, path: k}, true
	}
	return request{op: proto.OpSetData, path: k, data: g.value}, true
}

// request is one operation a workload issues, whatever the client: create
// (persistent, open ACL), delete (any version), setData (any version),
// getData (no watch) or sync of path.
type request struct {
	op   proto.OpCode
	path string
	data []byte
}

// encode writes the request's body (without header) for the raw client.
func (r request) encode(e *jute.Encoder) {
	switch r.op {
	case proto.OpCreate:
		b := proto.CreateRequest{Path: r.path, Data: r.data, ACL: proto.OpenACLUnsafe}
		b.Encode(e)
	case proto.OpDelete:
		b := proto.DeleteRequest{Path: r.path, Version: -1}
		b.Encode(e)
	case proto.OpSetData:
		b := proto.SetDataRequest{Path: r.path, Data: r.data, Version: -1}
		b.Encode(e)
	case proto.OpSync:
		b := proto.SyncRequest{Path: r.path}
		b.Encode(e)
	default:
		b := proto.GetDataRequest{Path: r.path}
		b.Encode(e)
	}
}

// reqGen produces the requests of one lane (a raw connection, or one
// goroutine calling a shared sdk or go-zookeeper session). It is called
// from that lane only, so it needs no locking of its own.
type reqGen interface {
	// nextReq returns the next request, or ok=false when there is nothing more
	// to send; now is the time since the run's base.
	nextReq(now time.Duration) (req request, ok bool)
}

// encodeNext is Generator.Next for a reqGen: the raw client's encoding.
func encodeNext(g reqGen, e *jute.Encoder, now time.Duration) (proto.OpCode, bool) {
	req, ok := g.nextReq(now)
	if !ok {
		return 0, false
	}
	req.encode(e)
	return req.op, true
}

// rawGen adapts any reqGen to the raw client's Generator.
type rawGen struct{ reqGen }

func (g rawGen) Next(e *jute.Encoder, now time.Duration) (proto.OpCode, bool) {
	return encodeNext(g.reqGen, e, now)
}
