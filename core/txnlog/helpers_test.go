package txnlog

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/znode"
	"github.com/warrenhq/warren/internal/vfs"
)

// rec builds a real transaction record (a setData of a path derived from
// the zxid) so that every test exercises the payload the server writes.
func rec(zxid int64) Record {
	h := znode.Header{Session: 0x1234, Cxid: int32(zxid), Zxid: zxid, Time: 1700000000000 + zxid, Type: proto.OpSetData}
	return NewRecord(&h, &znode.SetDataTxn{Path: fmt.Sprintf("/n/%d", zxid), Data: []byte(fmt.Sprintf("value-%d", zxid)), Version: 1})
}

// zxids returns n continuous zxids in epoch e starting at counter c.
func zxids(e, c int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = MakeZxid(e, c+int64(i))
	}
	return out
}

func recs(zs []int64) []Record {
	out := make([]Record, len(zs))
	for i, z := range zs {
		out[i] = rec(z)
	}
	return out
}

// smallOpts keeps files small so that tests roll segments.
func smallOpts() Options {
	return Options{SegmentSize: 4 << 10, PreallocSize: 1 << 10}
}

func openLog(t testing.TB, fsys vfs.FS, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(fsys, dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

// appendSync appends and syncs each batch.
func appendSync(t testing.TB, l *Log, batches ...[]int64) {
	t.Helper()
	for _, b := range batches {
		require.NoError(t, l.Append(recs(b)))
		require.NoError(t, l.Sync())
	}
}

// readAll returns every synced record's zxid and checks each payload.
func readAll(t testing.TB, l *Log) []int64 {
	t.Helper()
	it, err := l.ReadAll()
	require.NoError(t, err)
	defer it.Close()
	var out []int64
	for it.Next() {
		r := it.Record()
		h, txn, err := r.Txn()
		require.NoError(t, err)
		require.Equal(t, r.Zxid, h.Zxid)
		require.Equal(t, fmt.Sprintf("/n/%d", r.Zxid), txn.(*znode.SetDataTxn).Path)
		out = append(out, r.Zxid)
	}
	require.NoError(t, it.Err())
	return out
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := vfs.OS.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, n := range names {
		if _, ok := parseSegmentName(n); ok {
			out = append(out, n)
		}
	}
	return out
}

// copyDir copies the segment files of src into a fresh directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, n := range segFiles(t, src) {
		b, err := os.ReadFile(filepath.Join(src, n))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, n), b, 0o644))
	}
	return dst
}

// faultFS wraps a file system and injects errors into its files.
type faultFS struct {
	vfs.FS
	mu       sync.Mutex
	syncErr  error // returned by File.Sync
	noSpace  bool  // WriteAt fails with ENOSPC after writing half
	writeErr error // WriteAt fails with this after writing half
	syncs    int
	dirSyncs int
}

func (f *faultFS) wrap(file vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFS) Create(name string) (vfs.File, error) { return f.wrap(f.FS.Create(name)) }
func (f *faultFS) Open(name string) (vfs.File, error)   { return f.wrap(f.FS.Open(name)) }
func (f *faultFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	return f.wrap(f.FS.OpenFile(name, flag, perm))
}

func (f *faultFS) SyncDir(dir string) error {
	f.mu.Lock()
	f.dirSyncs++
	f.mu.Unlock()
	return f.FS.SyncDir(dir)
}

func (f *faultFS) set(fn func(*faultFS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

type faultFile struct {
	vfs.File
	fs *faultFS
}

func (f *faultFile) Sync() error {
	f.fs.mu.Lock()
	err := f.fs.syncErr
	f.fs.syncs++
	f.fs.mu.Unlock()
	if err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) WriteAt(b []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	full, werr := f.fs.noSpace, f.fs.writeErr
	f.fs.mu.Unlock()
	if werr != nil {
		n, _ := f.File.WriteAt(b[:len(b)/2], off)
		return n, werr
	}
	if full {
		n, _ := f.File.WriteAt(b[:len(b)/2], off)
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.WriteAt(b, off)
}
