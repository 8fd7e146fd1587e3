package recipe

import (
	"strings"

	"github.com/warrenhq/warren/sdk"
)

// Node names of Curator's InterProcessReadWriteLock.
const (
	ReadLockName  = "__READ__"
	WriteLockName = "__WRIT__"
)

// RWLock is a distributed readers-writer lock with the layout of Apache
// Curator's InterProcessReadWriteLock: readers create
// <path>/_c_<uuid>-__READ__<seq> and writers <path>/_c_<uuid>-__WRIT__<seq>,
// all ordered by sequence number. A reader holds the lock when no writer
// node precedes its own; a writer when its node is the first. So readers
// share the lock, a writer excludes readers and writers, and waiting
// writers are not starved by later readers.
//
// The RWLock value is the owner, as the thread is in Curator: its write
// lock holder may also take its read lock (and keeps it after releasing the
// write lock: a downgrade); a read holder must not take the write lock (it
// would wait for itself). Use one RWLock value per contender.
//
// Failure behaviour is the Mutex's: see HoldState, Mutex.State, Mutex.Lost
// and Mutex.Fence (a read lock's fence does not order readers among
// themselves).
type RWLock struct {
	read, write *Mutex
}

// NewRWLock returns a readers-writer lock on base; opts apply to both
// locks (WithNodeData).
func NewRWLock(c *sdk.Conn, base string, opts ...MutexOption) *RWLock {
	l := &RWLock{}
	sortKey := rcpRWSortKey
	l.write = rcpNewMutex(c, base, WriteLockName, sortKey, rcpMaxLeases(1))
	l.read = rcpNewMutex(c, base, ReadLockName, sortKey, func(sorted []string, our string) (bool, string, error) {
		if l.write.isOwned() {
			return true, "", nil
		}
		firstWrite := -1
		for i, n := range sorted {
			if strings.Contains(n, WriteLockName) {
				if firstWrite < 0 {
					firstWrite = i
				}
				continue
			}
			if strings.HasPrefix(n, our) {
				if firstWrite < 0 {
					return true, "", nil
				}
				return false, sorted[firstWrite], nil
			}
		}
		return false, "", errNodeVanished
	})
	for _, o := range opts {
		o(l.read)
		o(l.write)
	}
	return l
}

// ReadLock returns the read (shared) lock.
func (l *RWLock) ReadLock() *Mutex { return l.read }

// WriteLock returns the write (exclusive) lock.
func (l *RWLock) WriteLock() *Mutex { return l.write }

// rcpRWSortKey is Curator's SortingLockInternalsDriver: the sequence
// number after either lock name.
func rcpRWSortKey(s string) string {
	s = rcpStandardSortKey(ReadLockName)(s)
	return rcpStandardSortKey(WriteLockName)(s)
}
