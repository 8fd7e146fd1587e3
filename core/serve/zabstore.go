package serve

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/txnlog"
	"github.com/warrenhq/warren/core/zab"
)

// LogStorage is zab.Storage over a member's write-ahead log: what a leader
// reads to synchronise a learner with a DIFF, and what a member reads to
// bring its state up to its log. It sees only synced records, so everything
// it hands out is durable.
type LogStorage struct {
	log *txnlog.Log
	zl  *zap.Logger
}

var _ zab.Storage = (*LogStorage)(nil)

// NewLogStorage returns the zab.Storage of l. Read errors other than "the
// log does not hold these records" (I/O errors, corruption) are logged to
// zl (nil: not logged) and reported to zab as missing records, which makes
// a leader fall back to a snapshot.
func NewLogStorage(l *txnlog.Log, zl *zap.Logger) *LogStorage {
	if zl == nil {
		zl = zap.NewNop()
	}
	return &LogStorage{log: l, zl: zl}
}

// Entries returns the synced records with zxid in (after, upto], in order,
// each Txn being the record's payload as written (znode.EncodeTxn's bytes,
// passed through without decoding). It returns false when the log cannot
// supply exactly that range:
//
//   - after is neither a record of the log, nor its last synced zxid, nor
//     the direct predecessor of its first record (txnlog.IsNext: 0 before a
//     log that starts at counter 1 of an epoch, or the zxid of the snapshot
//     a purged log continues); the records after it were purged or never
//     logged;
//   - upto > after and the records stop before upto, or upto is not itself
//     a logged zxid (for instance an epoch's counter-0 zxid, which no
//     transaction carries).
//
// upto <= after gives no entries and true when after is valid, as the
// simulator's in-memory log does.
func (s *LogStorage) Entries(after, upto int64) ([]zab.Entry, bool) {
	it, err := s.log.ReadAfter(after)
	if err != nil {
		s.readError(after, upto, err)
		return nil, false
	}
	defer it.Close()
	var out []zab.Entry
	for it.Next() {
		r := it.Record()
		if r.Zxid > upto {
			break
		}
		out = append(out, zab.Entry{Zxid: r.Zxid, Txn: r.Payload})
		if r.Zxid == upto {
			break
		}
	}
	if err := it.Err(); err != nil {
		s.readError(after, upto, err)
		return nil, false
	}
	if upto > after && (len(out) == 0 || out[len(out)-1].Zxid != upto) {
		return nil, false
	}
	return out, true
}

// readError logs an error that is not a plain "not in the log" answer.
func (s *LogStorage) readError(after, upto int64, err error) {
	if errors.Is(err, txnlog.ErrPurged) || errors.Is(err, txnlog.ErrNotFound) {
		return
	}
	s.zl.Warn("cannot read the transaction log for ZAB synchronisation",
		zap.String("after", fmt.Sprintf("0x%x", after)), zap.String("upto", fmt.Sprintf("0x%x", upto)), zap.Error(err))
}
