package serve

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/replica"
	"github.com/warrenhq/warren/core/txnlog"
	"github.com/warrenhq/warren/internal/vfs"
)

// Layout under dataDir / dataLogDir. Warren's formats are its own, so it
// does not reuse ZooKeeper's version-2 directory.
const (
	txnlogDirName  = "txnlog"
	secretFileName = "session.secret"
	secretLen      = 32
)

// storage is the durable state of a standalone server: the write-ahead log
// every transaction goes through before it is applied and acknowledged, and
// the key session passwords derive from (so sessions survive a restart).
type storage struct {
	log    *txnlog.Log
	secret []byte
	zl     *zap.Logger
}

// openStorage opens the storage under c's directories; the transaction log
// goes through fsys (vfs.OS in a real run, a fault-injecting FS in tests).
func openStorage(c *config.Config, fsys vfs.FS, zl *zap.Logger) (*storage, error) {
	for _, dir := range []string{c.DataDir, c.DataLogDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
	secret, err := loadSecret(filepath.Join(c.DataDir, secretFileName))
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(c.DataLogDir, txnlogDirName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("transaction log directory: %w", err)
	}
	l, err := txnlog.Open(fsys, dir, txnlog.Options{
		NoForceSync:  !c.ForceSync,
		PreallocSize: c.PreAllocSize * 1024,
		Logger:       zl,
	})
	if err != nil {
		return nil, fmt.Errorf("transaction log %s: %w", dir, err)
	}
	rep := l.Recovery()
	if t := rep.Truncated; t != nil {
		zl.Warn("cut a torn tail off the transaction log (a write interrupted by a crash, never acknowledged)",
			zap.Any("tornTail", t))
	}
	zl.Info("transaction log opened", zap.String("dir", dir), zap.Int("records", rep.Records),
		zap.Int("segments", rep.Segments), zap.String("lastZxid", fmt.Sprintf("0x%x", rep.LastZxid)),
		zap.Bool("forceSync", c.ForceSync))
	return &storage{log: l, secret: secret, zl: zl}, nil
}

// recover replays the whole log into a fresh replica.
func (st *storage) recover(r *replica.Replica, nowMs int64) error {
	it, err := st.log.ReadAll()
	if err != nil {
		return fmt.Errorf("transaction log: %w", err)
	}
	defer it.Close()
	n := 0
	for it.Next() {
		h, txn, err := it.Record().Txn()
		if err != nil {
			return fmt.Errorf("transaction log: record 0x%x: %w", it.Record().Zxid, err)
		}
		if err := r.Replay(h, txn, nowMs); err != nil {
			return err
		}
		n++
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("transaction log: %w", err)
	}
	if n > 0 {
		st.zl.Info("recovered from the transaction log", zap.Int("transactions", n),
			zap.String("zxid", fmt.Sprintf("0x%x", r.LastApplied())), zap.Int("nodes", r.Tree().NodeCount()),
			zap.Int("sessions", r.Sessions().Len()))
	}
	return nil
}

// Persist appends a group-commit batch and makes it durable with one fsync.
func (st *storage) Persist(props []replica.Proposal) error {
	recs := make([]txnlog.Record, len(props))
	for i := range props {
		recs[i] = txnlog.NewRecord(&props[i].Header, props[i].Txn)
	}
	if err := st.log.Append(recs); err != nil {
		return err
	}
	return st.log.Sync()
}

func (st *storage) close() error { return st.log.Close() }

// loadSecret reads the session-password key, creating it on first start
// (written to a temporary file, fsynced, renamed, directory fsynced).
func loadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != secretLen {
			return nil, fmt.Errorf("%s: %d bytes, want %d: restore it from a backup, or remove it (sessions then expire)", path, len(b), secretLen)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	b = make([]byte, secretLen)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("session secret: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("session secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	if err := vfs.OS.SyncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	return b, nil
}
