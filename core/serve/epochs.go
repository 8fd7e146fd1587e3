package serve

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/warrenhq/warren/core/txnlog"
	"github.com/warrenhq/warren/internal/vfs"
)

// Names, under dataDir, of the files that hold an ensemble member's ZAB
// epochs (ZooKeeper's names; ZooKeeper keeps them in dataDir/version-2,
// Warren directly in dataDir next to its snapshot/ directory). Each holds
// one decimal number.
const (
	// AcceptedEpochFile holds acceptedEpoch: the last epoch the member
	// promised to a prospective leader in discovery (LEADERINFO).
	AcceptedEpochFile = "acceptedEpoch"
	// CurrentEpochFile holds currentEpoch: the last epoch whose NEWLEADER
	// the member accepted (after its synchronised history was durable).
	CurrentEpochFile = "currentEpoch"
)

// Epochs are a member's two persisted ZAB epochs. A fresh member has both
// at 0. Current never exceeds Accepted: a member accepts an epoch before it
// follows a leader of it.
type Epochs struct {
	Accepted int64
	Current  int64
}

// EpochStore reads and writes the epoch files under a directory (dataDir).
// Each write replaces its file atomically: the new value goes to a temporary
// file that is fsynced, renamed over the old one, and the directory is
// fsynced, so a crash at any moment leaves the old value or the new one,
// never a torn or empty file. A write that returns nil is durable. The
// store is safe for concurrent use, though ZAB writes the epochs from one
// place, in order.
type EpochStore struct {
	fs  vfs.FS
	dir string
	mu  sync.Mutex // one writer at a time per temporary file
}

// NewEpochStore returns the store of the epoch files under dir, reached
// through fsys. It touches nothing; dir must exist before a Set.
func NewEpochStore(fsys vfs.FS, dir string) *EpochStore {
	return &EpochStore{fs: fsys, dir: dir}
}

// Load reads both epochs. A missing file counts as 0 (a member that never
// took part in an election); a file that is present but does not hold a
// non-negative decimal number is an error naming it, and so is an
// acceptedEpoch below the currentEpoch (ZooKeeper refuses to start then
// too).
func (s *EpochStore) Load() (Epochs, error) {
	var e Epochs
	var err error
	if e.Accepted, err = s.read(AcceptedEpochFile); err != nil {
		return Epochs{}, err
	}
	if e.Current, err = s.read(CurrentEpochFile); err != nil {
		return Epochs{}, err
	}
	if e.Accepted < e.Current {
		return Epochs{}, fmt.Errorf("%s (%d) is below %s (%d): the epoch files do not come from one history; "+
			"restore this member's data directory from a backup, or empty it so that it resynchronises from the ensemble",
			s.path(AcceptedEpochFile), e.Accepted, s.path(CurrentEpochFile), e.Current)
	}
	return e, nil
}

// CheckLog checks loaded epochs against the last zxid of the member's log
// as ZooKeeper does at start: a logged transaction of an epoch later than
// both epochs means the epoch files are older than the log (copied from
// elsewhere, or lost), and the member cannot tell what it promised. A log
// ahead of currentEpoch but not of acceptedEpoch is a synchronisation cut
// short: a learner makes the leader's snapshot or transactions durable
// before it records currentEpoch (ZOOKEEPER-3911, 4643), so a crash between
// the two leaves exactly that; the member starts, and votes with its older
// currentEpoch, which no quorum of the established epoch prefers.
func (s *EpochStore) CheckLog(e Epochs, lastZxid int64) error {
	if ep := txnlog.Epoch(lastZxid); ep > e.Current && ep > e.Accepted {
		return fmt.Errorf("%s (%d) and %s (%d) are older than the log, whose last transaction 0x%x is of epoch %d: "+
			"restore this member's data directory from a backup, or empty it so that it resynchronises from the ensemble",
			s.path(CurrentEpochFile), e.Current, s.path(AcceptedEpochFile), e.Accepted, lastZxid, ep)
	}
	return nil
}

// SetAccepted durably records acceptedEpoch = epoch.
func (s *EpochStore) SetAccepted(epoch int64) error {
	return s.write(AcceptedEpochFile, epoch)
}

// SetCurrent durably records currentEpoch = epoch.
func (s *EpochStore) SetCurrent(epoch int64) error {
	return s.write(CurrentEpochFile, epoch)
}

func (s *EpochStore) path(name string) string { return filepath.Join(s.dir, name) }

// read returns the epoch in the file, 0 when it does not exist.
func (s *EpochStore) read(name string) (int64, error) {
	p := s.path(name)
	b, err := readFile(s.fs, p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p, err)
	}
	v, err := parseEpoch(b)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: restore it from a backup, or empty this member's data directory so that it resynchronises from the ensemble", p, err)
	}
	return v, nil
}

// parseEpoch reads a decimal epoch; surrounding blanks are allowed.
func parseEpoch(b []byte) (int64, error) {
	s := strings.TrimSpace(string(b))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("holds %q, which is not an epoch (a non-negative decimal number)", s)
	}
	return v, nil
}

// write replaces the file's content with epoch: temporary file, fsync,
// rename, directory fsync. On any failure the old file is untouched (or,
// when only the directory fsync failed, replaced but perhaps not durably),
// and the error is returned.
func (s *EpochStore) write(name string, epoch int64) error {
	if epoch < 0 {
		return fmt.Errorf("%s: negative epoch %d", s.path(name), epoch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return vfs.WriteFileAtomic(s.fs, s.path(name), []byte(strconv.FormatInt(epoch, 10)), 0o644)
}
