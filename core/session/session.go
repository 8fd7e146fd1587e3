// Package session owns the session table of a server: id allocation,
// passwords, timeout negotiation and expiry. It is pure: time is handed in
// as milliseconds, and expiry is computed on the ticks the caller delivers,
// in buckets of one tick as ZooKeeper's SessionTrackerImpl does, so a
// simulator can replay it exactly.
package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"sort"
)

// PasswordLen is the length of every session password (the C client
// assumes exactly 16 bytes).
const PasswordLen = 16

// Session is one client session.
type Session struct {
	ID      int64
	Timeout int32 // negotiated, milliseconds
	// expireAt is the bucket (a multiple of the tick) after which the
	// session expires unless touched.
	expireAt int64
	// Closing is set once a close has been decided (expiry or a client's
	// closeSession); the session stays in the table until its close txn
	// is applied, but can no longer be resumed or touched.
	Closing bool
}

// Table is the set of live sessions.
type Table struct {
	tick     int64
	secret   []byte
	nextID   int64
	sessions map[int64]*Session
	buckets  map[int64]map[int64]struct{} // expireAt -> session ids
}

// New returns a table that buckets expiry by tickMs, derives passwords from
// secret, and allocates ids as ZooKeeper does from serverID and the start
// time: ((startMs << 24) >>> 8) | (serverID << 56).
func New(tickMs int64, serverID int64, startMs int64, secret []byte) *Table {
	if tickMs <= 0 {
		tickMs = 1
	}
	id := int64(uint64(startMs<<24)>>8) | serverID<<56
	return &Table{
		tick:     tickMs,
		secret:   append([]byte(nil), secret...),
		nextID:   id,
		sessions: make(map[int64]*Session),
		buckets:  make(map[int64]map[int64]struct{}),
	}
}

// SetSecret replaces the password key (an ensemble member adopting the
// ensemble's key).
func (t *Table) SetSecret(secret []byte) { t.secret = append([]byte(nil), secret...) }

// NextID allocates a fresh session id. It never returns 0 or the container
// marker (Long.MIN_VALUE), and skips ids already in the table.
func (t *Table) NextID() int64 {
	for {
		id := t.nextID
		t.nextID++
		if id == 0 || id == -0x8000000000000000 {
			continue
		}
		if _, used := t.sessions[id]; used {
			continue
		}
		return id
	}
}

// Password returns the password of a session id: HMAC-SHA256 of the id
// under the table's secret, truncated to 16 bytes. Any server sharing the
// secret can check it, which is what lets a session move between servers.
func (t *Table) Password(id int64) []byte {
	m := hmac.New(sha256.New, t.secret)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	m.Write(b[:])
	return m.Sum(nil)[:PasswordLen]
}

// CheckPassword reports whether passwd is the password of id.
func (t *Table) CheckPassword(id int64, passwd []byte) bool {
	return hmac.Equal(t.Password(id), passwd)
}

// Negotiate clamps a requested timeout into [min, max] (milliseconds).
func Negotiate(requested, min, max int32) int32 {
	if requested < min {
		return min
	}
	if requested > max {
		return max
	}
	return requested
}

// Add registers a session (on applying its createSession txn) and starts
// its expiry clock at nowMs. Adding an existing id updates its timeout.
func (t *Table) Add(id int64, timeout int32, nowMs int64) *Session {
	s, ok := t.sessions[id]
	if !ok {
		s = &Session{ID: id}
		t.sessions[id] = s
	}
	s.Timeout = timeout
	t.schedule(s, nowMs)
	return s
}

// Get returns a live session.
func (t *Table) Get(id int64) (*Session, bool) {
	s, ok := t.sessions[id]
	return s, ok
}

// Len is the number of sessions in the table.
func (t *Table) Len() int { return len(t.sessions) }

// Touch restarts a session's expiry clock; it reports false for unknown or
// closing sessions.
func (t *Table) Touch(id int64, nowMs int64) bool {
	s, ok := t.sessions[id]
	if !ok || s.Closing {
		return false
	}
	t.schedule(s, nowMs)
	return true
}

// SetTimeout changes the negotiated timeout of a resumed session.
func (t *Table) SetTimeout(id int64, timeout int32, nowMs int64) {
	if s, ok := t.sessions[id]; ok && !s.Closing {
		s.Timeout = timeout
		t.schedule(s, nowMs)
	}
}

// MarkClosing stops a session from being resumed, touched or expired
// again; its close transaction is on its way.
func (t *Table) MarkClosing(id int64) {
	s, ok := t.sessions[id]
	if !ok {
		return
	}
	s.Closing = true
	t.unschedule(s)
}

// Reopen undoes MarkClosing: the close that was decided will not happen
// here (an ensemble leader stepped down before committing it; the next
// leader decides). The session is tracked again from nowMs.
func (t *Table) Reopen(id int64, nowMs int64) {
	s, ok := t.sessions[id]
	if !ok || !s.Closing {
		return
	}
	s.Closing = false
	t.schedule(s, nowMs)
}

// Remove drops a session (on applying its closeSession txn).
func (t *Table) Remove(id int64) {
	s, ok := t.sessions[id]
	if !ok {
		return
	}
	t.unschedule(s)
	delete(t.sessions, id)
}

// Expired returns, in ascending id order, the sessions whose expiry bucket
// is at or before nowMs and marks them closing.
func (t *Table) Expired(nowMs int64) []int64 {
	var due []int64
	for at := range t.buckets {
		if at <= nowMs {
			due = append(due, at)
		}
	}
	if len(due) == 0 {
		return nil
	}
	var ids []int64
	for _, at := range due {
		for id := range t.buckets[at] {
			ids = append(ids, id)
		}
		delete(t.buckets, at)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if s, ok := t.sessions[id]; ok {
			s.Closing = true
			s.expireAt = 0
		}
	}
	return ids
}

// List returns all sessions sorted by id.
func (t *Table) List() []Session {
	out := make([]Session, 0, len(t.sessions))
	for _, s := range t.sessions {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ExpiryBuckets returns the expiry schedule (bucket time -> sorted ids),
// sorted by time, for the dump four-letter word.
func (t *Table) ExpiryBuckets() []Bucket {
	out := make([]Bucket, 0, len(t.buckets))
	for at, set := range t.buckets {
		b := Bucket{At: at}
		for id := range set {
			b.IDs = append(b.IDs, id)
		}
		sort.Slice(b.IDs, func(i, j int) bool { return b.IDs[i] < b.IDs[j] })
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// Bucket is a set of sessions expiring at the same time.
type Bucket struct {
	At  int64
	IDs []int64
}

// ExpiresAt returns the time after which a session expires (0 if unknown
// or closing).
func (t *Table) ExpiresAt(id int64) int64 {
	if s, ok := t.sessions[id]; ok {
		return s.expireAt
	}
	return 0
}

// schedule puts s in the bucket that rounds now+timeout up to the next
// tick, as ZooKeeper's roundToNextInterval does.
func (t *Table) schedule(s *Session, nowMs int64) {
	at := (nowMs+int64(s.Timeout))/t.tick*t.tick + t.tick
	if at == s.expireAt {
		return
	}
	t.unschedule(s)
	set := t.buckets[at]
	if set == nil {
		set = make(map[int64]struct{})
		t.buckets[at] = set
	}
	set[s.ID] = struct{}{}
	s.expireAt = at
}

func (t *Table) unschedule(s *Session) {
	if s.expireAt == 0 {
		return
	}
	if set := t.buckets[s.expireAt]; set != nil {
		delete(set, s.ID)
		if len(set) == 0 {
			delete(t.buckets, s.expireAt)
		}
	}
	s.expireAt = 0
}
