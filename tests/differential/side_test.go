package differential_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// identity is who a session slot authenticates as.
type identity struct {
	name, user, password string
}

// The session slots: each keeps its identity across session restarts.
const (
	slotAlice = iota
	slotBob
	slotAnon
	slotSuper
)

var identities = []identity{
	slotAlice: {name: "alice", user: "alice", password: "pw"},
	slotBob:   {name: "bob", user: "bob", password: "pw"},
	slotAnon:  {name: "anon"},
	slotSuper: {name: "super", user: "super", password: superPassword},
}

// sessionTimeout is long enough that no session expires during a run.
const sessionTimeout = 30 * time.Second

// side is one server with one session per slot.
type side struct {
	name   string
	addr   string
	slots  []*session
	owners map[int64]int // session id -> logical session number
}

func newSide(name, addr string) *side {
	return &side{name: name, addr: addr, slots: make([]*session, len(identities)), owners: map[int64]int{}}
}

// session is one go-zookeeper connection and the watch events it received.
type session struct {
	conn    *zk.Conn
	logical int

	mu     sync.Mutex
	events []string
	closed bool
}

// record is the connection's event callback; go-zookeeper calls it from its
// receive loop, in the order the server sent the events.
func (ss *session) record(ev zk.Event) {
	if ev.Type == zk.EventSession || ev.Type == zk.EventNotWatching {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ss.closed {
		ss.events = append(ss.events, ev.Type.String()+" "+ev.Path)
	}
}

// result is what an operation returned, rendered for comparison, plus the
// names it created (for the generator's model).
type result struct {
	text    string
	created []string
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// open connects the slot's session, waits for it, records its session id
// under the logical number, and authenticates it.
func (s *side) open(slot, logical int) result {
	ss := &session{logical: logical}
	conn, _, err := zk.Connect([]string{s.addr}, sessionTimeout, zk.WithLogger(nopLogger{}), zk.WithEventCallback(ss.record))
	if err != nil {
		return result{text: "connect: " + err.Error()}
	}
	ss.conn = conn
	s.slots[slot] = ss
	if _, err := conn.Sync("/"); err != nil { // returns once the session exists
		return result{text: "first sync: " + err.Error()}
	}
	s.owners[conn.SessionID()] = logical
	if id := identities[slot]; id.user != "" {
		if err := conn.AddAuth("digest", []byte(id.user+":"+id.password)); err != nil {
			return result{text: "addauth: " + err.Error()}
		}
	}
	return result{}
}

// close ends the slot's session and waits for the server to confirm.
func (s *side) close(slot int) {
	ss := s.slots[slot]
	ss.mu.Lock()
	ss.closed = true
	ss.mu.Unlock()
	ss.conn.Close()
	s.slots[slot] = nil
}

// closeWait bounds how long a close may take to remove the session's
// ephemerals.
const closeWait = 20 * time.Second

// closeAndWait closes the slot's session, then waits (asking through
// another session) until none of the given ephemerals is still owned by it,
// and reports which of them still exist under another owner.
func (s *side) closeAndWait(slot int, ephemerals []string) result {
	id := s.slots[slot].conn.SessionID()
	s.close(slot)
	via := s.slots[slotSuper]
	if slot == slotSuper {
		via = s.slots[slotAnon]
	}
	var survivors []string
	for _, p := range ephemerals {
		deadline := time.Now().Add(closeWait)
		for {
			ok, st, err := via.conn.Exists(p)
			if err != nil {
				return result{text: fmt.Sprintf("exists %s after close: %s", p, errText(err))}
			}
			if !ok || st.EphemeralOwner != id {
				if ok {
					survivors = append(survivors, p)
				}
				break
			}
			if time.Now().After(deadline) {
				return result{text: fmt.Sprintf("%s still owned by the closed session after %v", p, closeWait)}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return result{text: fmt.Sprintf("ephemerals gone: %d, recreated by others: %v", len(ephemerals)-len(survivors), survivors)}
}

// drainEvents syncs every session, then takes the events each received
// since the last drain, per slot; sorted within a slot when unordered.
func (s *side) drainEvents(unordered bool) result {
	var b strings.Builder
	for slot, ss := range s.slots {
		if _, err := ss.conn.Sync("/"); err != nil {
			fmt.Fprintf(&b, "    %s: sync failed: %v\n", identities[slot].name, err)
			continue
		}
		ss.mu.Lock()
		events := ss.events
		ss.events = nil
		ss.mu.Unlock()
		if unordered {
			slices.Sort(events)
		}
		fmt.Fprintf(&b, "    %s (session %d): [%s]\n", identities[slot].name, ss.logical, strings.Join(events, ", "))
	}
	return result{text: b.String()}
}

// apply runs o on this server and renders what it returned.
func (s *side) apply(o op) result {
	c := s.slots[o.slot].conn
	switch o.kind {
	case opCreate:
		var p string
		var err error
		switch o.flags {
		case zk.FlagContainer:
			p, err = c.CreateContainer(o.path, o.data, o.flags, o.acl)
		case zk.FlagTTL, zk.FlagPersistentSequentialWithTTL:
			p, err = c.CreateTTL(o.path, o.data, o.flags, o.acl, o.ttl)
		default:
			p, err = c.Create(o.path, o.data, o.flags, o.acl)
		}
		if err != nil {
			return result{text: errText(err)}
		}
		return result{text: p, created: []string{p}}
	case opDelete:
		return result{text: errText(c.Delete(o.path, o.version))}
	case opSet:
		st, err := c.Set(o.path, o.data, o.version)
		return result{text: s.withStat("", st, err)}
	case opExists:
		var ok bool
		var st *zk.Stat
		var err error
		if o.watch {
			ok, st, _, err = c.ExistsW(o.path)
		} else {
			ok, st, err = c.Exists(o.path)
		}
		if err == nil && !ok {
			return result{text: "absent"}
		}
		return result{text: s.withStat("", st, err)}
	case opGet:
		var data []byte
		var st *zk.Stat
		var err error
		if o.watch {
			data, st, _, err = c.GetW(o.path)
		} else {
			data, st, err = c.Get(o.path)
		}
		return result{text: s.withStat(fmt.Sprintf("%q ", data), st, err)}
	case opChildren:
		var kids []string
		var st *zk.Stat
		var err error
		if o.watch {
			kids, st, _, err = c.ChildrenW(o.path)
		} else {
			kids, st, err = c.Children(o.path)
		}
		slices.Sort(kids) // ZooKeeper returns children in no particular order
		return result{text: s.withStat(fmt.Sprintf("%v ", kids), st, err)}
	case opGetACL:
		acl, st, err := c.GetACL(o.path)
		return result{text: s.withStat(aclText(acl)+" ", st, err)}
	case opSetACL:
		st, err := c.SetACL(o.path, o.acl, o.version)
		return result{text: s.withStat("", st, err)}
	case opSync:
		p, err := c.Sync(o.path)
		if err != nil {
			return result{text: errText(err)}
		}
		return result{text: p}
	case opAuth:
		return result{text: errText(c.AddAuth("digest", o.data))}
	case opMulti:
		return s.multi(c, o)
	default:
		return result{text: fmt.Sprintf("unknown op kind %d", o.kind)}
	}
}

func (s *side) multi(c *zk.Conn, o op) result {
	res, err := c.Multi(o.multi...)
	var b strings.Builder
	b.WriteString(errText(err))
	var created []string
	for i, r := range res {
		fmt.Fprintf(&b, " [%d:", i)
		if r.Error != nil {
			b.WriteString(" " + errText(r.Error))
		}
		if r.String != "" {
			b.WriteString(" " + r.String)
			if _, isCreate := o.multi[i].(*zk.CreateRequest); isCreate && r.Error == nil && err == nil {
				created = append(created, r.String)
			}
		}
		if r.Stat != nil {
			b.WriteString(" " + s.statText(r.Stat))
		}
		b.WriteString("]")
	}
	return result{text: b.String(), created: created}
}

// withStat renders prefix and the Stat, or the error.
func (s *side) withStat(prefix string, st *zk.Stat, err error) string {
	if err != nil {
		return errText(err)
	}
	return prefix + s.statText(st)
}

// statText renders the Stat fields two servers must agree on: versions,
// sizes, the owning session (as its logical number), and how the zxids
// relate (m=c: never modified; p=c: children never changed) instead of
// their values.
func (s *side) statText(st *zk.Stat) string {
	if st == nil {
		return "{nil stat}"
	}
	return fmt.Sprintf("{v%d cv%d av%d len%d kids%d owner=%s m=c:%t p=c:%t}",
		st.Version, st.Cversion, st.Aversion, st.DataLength, st.NumChildren, s.ownerText(st.EphemeralOwner),
		st.Mzxid == st.Czxid, st.Pzxid == st.Czxid)
}

func (s *side) ownerText(owner int64) string {
	if owner == 0 {
		return "-"
	}
	if logical, ok := s.owners[owner]; ok {
		return fmt.Sprintf("s%d", logical)
	}
	return fmt.Sprintf("%#x", uint64(owner))
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return "err(" + err.Error() + ")"
}

func aclText(acl []zk.ACL) string {
	parts := make([]string, len(acl))
	for i, a := range acl {
		parts[i] = fmt.Sprintf("%s:%s:%d", a.Scheme, a.ID, a.Perms)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// dump walks the tree from / as the super user (skipping /zookeeper) and
// renders every node's data, Stat, ACL and children.
func (s *side) dump() result {
	c := s.slots[slotSuper].conn
	var b strings.Builder
	queue := []string{"/"}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		data, st, err := c.Get(p)
		if err != nil {
			fmt.Fprintf(&b, "%s get: %s\n", p, errText(err))
			continue
		}
		acl, _, err := c.GetACL(p)
		if err != nil {
			fmt.Fprintf(&b, "%s getACL: %s\n", p, errText(err))
			continue
		}
		kids, _, err := c.Children(p)
		if err != nil {
			fmt.Fprintf(&b, "%s children: %s\n", p, errText(err))
			continue
		}
		slices.Sort(kids)
		fmt.Fprintf(&b, "%s %q %s %s %v\n", p, data, s.statText(st), aclText(acl), kids)
		for _, k := range kids {
			child := strings.TrimSuffix(p, "/") + "/" + k
			if child != "/zookeeper" {
				queue = append(queue, child)
			}
		}
	}
	return result{text: b.String()}
}
