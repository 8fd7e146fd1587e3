package crash_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// Per writer: plain keys, multi groups (three nodes written by one multi)
// and ephemeral keys, all under /w/<writer>.
const (
	plainKeys     = 16
	groupKeys     = 2
	ephemeralKeys = 2
	// sessionTimeout is far longer than any restart, so no session
	// expires: sessions (and their ephemerals) must survive every crash.
	sessionTimeout = 15 * time.Second
)

var groupSuffixes = []string{"a", "b", "c"}

// slot is one key a writer cycles through: create, set, set, delete
// (ephemerals: create, set, delete). The cycle advances whatever the reply
// was, so every decision depends on the seed alone.
type slot struct {
	key       *keyModel
	group     bool
	ephemeral bool
	step      int
}

func (s *slot) next() opKind {
	cycle := []opKind{opCreate, opSet, opSet, opDelete}
	if s.ephemeral {
		cycle = []opKind{opCreate, opSet, opDelete}
	}
	k := cycle[s.step%len(cycle)]
	s.step++
	return k
}

// gate lets the writers run while it is open; closed, they park before
// their next operation.
type gate struct {
	mu     sync.Mutex
	cond   *sync.Cond
	open   bool
	quit   bool
	parked int
}

func newGate() *gate {
	g := &gate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// enter waits until the gate is open; false means the run is over.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for !g.open && !g.quit {
		g.parked++
		g.cond.Wait()
		g.parked--
	}
	return !g.quit
}

func (g *gate) set(open bool) {
	g.mu.Lock()
	g.open = open
	g.mu.Unlock()
	g.cond.Broadcast()
}

func (g *gate) stop() {
	g.mu.Lock()
	g.quit = true
	g.mu.Unlock()
	g.cond.Broadcast()
}

// waitParked waits up to d for n writers to park; writers whose request
// is queued in go-zookeeper until the next connection stay out, and the
// model counts their operations as in flight.
func (g *gate) waitParked(n int, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		g.mu.Lock()
		p := g.parked
		g.mu.Unlock()
		if p >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// fixedHost is a go-zookeeper HostProvider for one address that retries
// every 10 ms (the default provider waits a second after each round),
// so writers reconnect as soon as the proxy opens.
type fixedHost struct {
	addr  string
	mu    sync.Mutex
	calls int
}

func (h *fixedHost) Init([]string) error { return nil }
func (h *fixedHost) Len() int            { return 1 }
func (h *fixedHost) Connected()          {}
func (h *fixedHost) Next() (string, bool) {
	h.mu.Lock()
	h.calls++
	first := h.calls == 1
	h.mu.Unlock()
	if !first {
		time.Sleep(10 * time.Millisecond)
	}
	return h.addr, false
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// failures collects the errors found by the writers.
type failures struct {
	mu   sync.Mutex
	errs []error
}

func (f *failures) add(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, err)
}

func (f *failures) get() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.errs...)
}

// writer issues numbered writes on its own keys, one at a time, and
// records every reply in the model.
type writer struct {
	id    int
	root  string
	conn  *zk.Conn
	rng   *rand.Rand
	slots []*slot
	m     *model
	g     *gate
	fails *failures
	seq   int64

	oddMu  sync.Mutex
	oddErr map[string]int // errors counted as unknown outcomes, by text
}

func newWriter(id int, seed uint64, proxyAddr string, m *model, g *gate, fails *failures) (*writer, error) {
	w := &writer{
		id: id, root: fmt.Sprintf("/w/%d", id), rng: rand.New(rand.NewPCG(seed, uint64(id)+1)),
		m: m, g: g, fails: fails, oddErr: map[string]int{},
	}
	for i := 0; i < plainKeys; i++ {
		p := path.Join(w.root, fmt.Sprintf("k%02d", i))
		w.slots = append(w.slots, &slot{key: newKey(p, p)})
	}
	for i := 0; i < groupKeys; i++ {
		base := path.Join(w.root, fmt.Sprintf("g%d", i))
		var paths []string
		for _, s := range groupSuffixes {
			paths = append(paths, base+s)
		}
		w.slots = append(w.slots, &slot{key: newKey(base+"{a,b,c}", paths...), group: true})
	}
	for i := 0; i < ephemeralKeys; i++ {
		p := path.Join(w.root, fmt.Sprintf("e%d", i))
		w.slots = append(w.slots, &slot{key: newKey(p, p), ephemeral: true})
	}
	for _, s := range w.slots {
		m.add(s.key)
	}
	conn, events, err := zk.Connect([]string{proxyAddr}, sessionTimeout,
		zk.WithHostProvider(&fixedHost{addr: proxyAddr}), zk.WithLogger(nopLogger{}))
	if err != nil {
		return nil, fmt.Errorf("writer %d: connect: %w", id, err)
	}
	w.conn = conn
	for deadline := time.Now().Add(serverReadyTimeout); conn.State() != zk.StateHasSession; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			conn.Close()
			return nil, fmt.Errorf("writer %d: no session within %v", id, serverReadyTimeout)
		}
	}
	go func() {
		for ev := range events {
			if ev.State == zk.StateExpired {
				fails.add(fmt.Errorf("writer %d: session expired: a session must survive a restart far shorter than its timeout", id))
			}
		}
	}()
	return w, nil
}

// run issues operations while the gate lets it; it returns when the run is
// over or the model found an impossible reply.
func (w *writer) run(wg *sync.WaitGroup) {
	defer wg.Done()
	for w.g.enter() {
		s := w.slots[w.rng.IntN(len(w.slots))]
		w.seq++
		o := op{kind: s.next(), data: fmt.Sprintf("w%d#%d", w.id, w.seq)}
		if s.ephemeral && o.kind == opCreate {
			o.owner = w.conn.SessionID()
		}
		w.m.begin(s.key, o)
		out := w.do(s, o)
		if err := w.m.finish(s.key, o, out); err != nil {
			w.fails.add(fmt.Errorf("writer %d: %w", w.id, err))
			return
		}
	}
}

func (w *writer) do(s *slot, o op) outcome {
	acl := zk.WorldACL(zk.PermAll)
	if s.group {
		var ops []any
		for _, p := range s.key.paths {
			switch o.kind {
			case opCreate:
				ops = append(ops, &zk.CreateRequest{Path: p, Data: []byte(o.data), Acl: acl})
			case opSet:
				ops = append(ops, &zk.SetDataRequest{Path: p, Data: []byte(o.data), Version: -1})
			default:
				ops = append(ops, &zk.DeleteRequest{Path: p, Version: -1})
			}
		}
		res, err := w.conn.Multi(ops...)
		return w.classifyMulti(res, err)
	}
	p := s.key.paths[0]
	var err error
	switch o.kind {
	case opCreate:
		flags := int32(0)
		if s.ephemeral {
			flags = zk.FlagEphemeral
		}
		_, err = w.conn.Create(p, []byte(o.data), flags, acl)
	case opSet:
		_, err = w.conn.Set(p, []byte(o.data), -1)
	default:
		err = w.conn.Delete(p, -1)
	}
	return w.classify(err)
}

// classify maps a reply to an outcome. Only NODEEXISTS and NONODE count as
// acknowledged failures; anything else but success (connection lost,
// closing, ...) is unknown, which the model treats as "maybe applied".
func (w *writer) classify(err error) outcome {
	switch {
	case err == nil:
		return okAcked
	case errors.Is(err, zk.ErrNodeExists):
		return okNodeExists
	case errors.Is(err, zk.ErrNoNode):
		return okNoNode
	}
	if !errors.Is(err, zk.ErrConnectionClosed) {
		w.oddMu.Lock()
		w.oddErr[err.Error()]++
		w.oddMu.Unlock()
	}
	return okUnknown
}

func (w *writer) classifyMulti(res []zk.MultiResponse, err error) outcome {
	if err != nil && !errors.Is(err, zk.ErrNodeExists) && !errors.Is(err, zk.ErrNoNode) {
		// A multi that failed on the server reports the failing
		// operation's code in its results.
		for _, r := range res {
			if errors.Is(r.Error, zk.ErrNodeExists) || errors.Is(r.Error, zk.ErrNoNode) {
				return w.classify(r.Error)
			}
		}
		return w.classify(err)
	}
	if err != nil {
		return w.classify(err)
	}
	for _, r := range res {
		if r.Error != nil {
			return w.classify(r.Error)
		}
	}
	return okAcked
}

// oddErrors lists the errors other than a closed connection that were
// counted as unknown outcomes.
func (w *writer) oddErrors() []string {
	w.oddMu.Lock()
	defer w.oddMu.Unlock()
	var out []string
	for e, n := range w.oddErr {
		out = append(out, fmt.Sprintf("%s x%d", e, n))
	}
	sort.Strings(out)
	return out
}
