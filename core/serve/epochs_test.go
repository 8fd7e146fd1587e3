package serve

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/txnlog"
	"github.com/warrenhq/warren/internal/vfs"
)

const epochDir = "/data"

// epochFS returns a MemFS with a durable, empty epochDir.
func epochFS(t *testing.T) *vfs.MemFS {
	t.Helper()
	m := vfs.NewMemFS()
	require.NoError(t, vfs.EnsureDir(m, epochDir))
	return m
}

// putFile writes a file durably (file and directory fsynced).
func putFile(t *testing.T, fsys vfs.FS, name, content string) {
	t.Helper()
	f, err := fsys.Create(name)
	require.NoError(t, err)
	_, err = f.Write([]byte(content))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	require.NoError(t, fsys.SyncDir(filepath.Dir(name)))
}

func TestEpochStoreLoad(t *testing.T) {
	const noFile = "\x00"
	tests := []struct {
		name              string
		accepted, current string // file contents, or noFile
		want              Epochs
		err               string // substring of the error
	}{
		{name: "fresh member", accepted: noFile, current: noFile, want: Epochs{}},
		{name: "both", accepted: "7", current: "6", want: Epochs{Accepted: 7, Current: 6}},
		{name: "blanks around", accepted: " 7\n", current: "7\r\n", want: Epochs{Accepted: 7, Current: 7}},
		{name: "only accepted", accepted: "3", current: noFile, want: Epochs{Accepted: 3}},
		{name: "garbage", accepted: "seven", current: noFile,
			err: `/data/acceptedEpoch: holds "seven", which is not an epoch (a non-negative decimal number)`},
		{name: "empty file", accepted: "1", current: "",
			err: `/data/currentEpoch: holds "", which is not an epoch`},
		{name: "negative", accepted: "-1", current: noFile, err: `/data/acceptedEpoch: holds "-1"`},
		{name: "torn hex", accepted: "0x7", current: noFile, err: `/data/acceptedEpoch: holds "0x7"`},
		{name: "accepted below current", accepted: "4", current: "5",
			err: "/data/acceptedEpoch (4) is below /data/currentEpoch (5)"},
		{name: "current without accepted", accepted: noFile, current: "2",
			err: "/data/acceptedEpoch (0) is below /data/currentEpoch (2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := epochFS(t)
			if tt.accepted != noFile {
				putFile(t, m, "/data/acceptedEpoch", tt.accepted)
			}
			if tt.current != noFile {
				putFile(t, m, "/data/currentEpoch", tt.current)
			}
			got, err := NewEpochStore(m, epochDir).Load()
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEpochStoreRoundTrip(t *testing.T) {
	m := epochFS(t)
	s := NewEpochStore(m, epochDir)
	steps := []struct {
		set   func() error
		want  Epochs
		files map[string]string
	}{
		{func() error { return s.SetAccepted(1) }, Epochs{Accepted: 1}, map[string]string{"acceptedEpoch": "1"}},
		{func() error { return s.SetCurrent(1) }, Epochs{Accepted: 1, Current: 1}, map[string]string{"currentEpoch": "1"}},
		{func() error { return s.SetAccepted(4294967295) }, Epochs{Accepted: 4294967295, Current: 1},
			map[string]string{"acceptedEpoch": "4294967295"}},
	}
	for i, st := range steps {
		require.NoError(t, st.set(), "step %d", i)
		got, err := s.Load()
		require.NoError(t, err)
		assert.Equal(t, st.want, got, "step %d", i)
		for name, want := range st.files {
			b, err := vfs.ReadFile(m, filepath.Join(epochDir, name))
			require.NoError(t, err)
			assert.Equal(t, want, string(b), "ZooKeeper's format: the decimal number alone")
		}
	}
	names, err := m.ReadDir(epochDir)
	require.NoError(t, err)
	assert.Equal(t, []string{"acceptedEpoch", "currentEpoch"}, names, "no temporary file left behind")
	assert.ErrorContains(t, s.SetCurrent(-1), "negative epoch")

	// Durable: a crash that keeps nothing unsynced still has the values.
	got, err := NewEpochStore(m.Crash(vfs.CrashOptions{}), epochDir).Load()
	require.NoError(t, err)
	assert.Equal(t, Epochs{Accepted: 4294967295, Current: 1}, got)
}

// TestEpochStoreCrashStates records a run of epoch changes and checks every
// crash state the POSIX model allows: each file reads back either the value
// acknowledged last before the crash or the one being written, never a torn
// or empty file, and the two files stay consistent.
func TestEpochStoreCrashStates(t *testing.T) {
	m := epochFS(t)
	base := NewEpochStore(m, epochDir)
	require.NoError(t, base.SetAccepted(1))
	require.NoError(t, base.SetCurrent(1))

	rec := vfs.NewRecorder(m)
	s := NewEpochStore(rec, epochDir)
	type write struct {
		accepted   bool
		value      int64
		start, end int // rec.Len() before and after the call
	}
	// Discovery then NEWLEADER of epoch 2, then of epoch 3 (a value with
	// more digits than the one it replaces, and one with fewer after).
	plan := []struct {
		accepted bool
		value    int64
	}{{true, 2}, {false, 2}, {true, 1000}, {false, 1000}}
	var writes []write
	for _, p := range plan {
		w := write{accepted: p.accepted, value: p.value, start: rec.Len()}
		if p.accepted {
			require.NoError(t, s.SetAccepted(p.value))
		} else {
			require.NoError(t, s.SetCurrent(p.value))
		}
		w.end = rec.Len()
		writes = append(writes, w)
	}

	// allowed returns the values a file may hold after a crash at point:
	// the last acknowledged one, and the one in flight.
	allowed := func(accepted bool, point int) []int64 {
		out := []int64{1}
		for _, w := range writes {
			if w.accepted != accepted || w.start >= point {
				continue
			}
			if w.end <= point {
				out = []int64{w.value} // acknowledged: the old value is gone
			} else {
				out = append(out, w.value)
			}
		}
		return out
	}

	states, err := rec.Enumerate(vfs.EnumOptions{Limit: 2000, Seed: 1})
	require.NoError(t, err)
	require.NotEmpty(t, states)
	seen := map[Epochs]bool{}
	for _, st := range states {
		got, err := NewEpochStore(st.FS, epochDir).Load()
		require.NoError(t, err, "point %d (%s)", st.Point, st.Desc)
		assert.Contains(t, allowed(true, st.Point), got.Accepted, "acceptedEpoch at point %d (%s)", st.Point, st.Desc)
		assert.Contains(t, allowed(false, st.Point), got.Current, "currentEpoch at point %d (%s)", st.Point, st.Desc)
		seen[got] = true
	}
	// The enumeration reached old, intermediate and final values.
	for _, e := range []Epochs{{1, 1}, {2, 1}, {2, 2}, {1000, 2}, {1000, 1000}} {
		assert.True(t, seen[e], "no crash state with %+v among %d states", e, len(states))
	}
}

func TestEpochStoreFailedFsync(t *testing.T) {
	tests := []struct {
		name string
		arm  func(*vfs.FaultFS)
		// after: the value Load reads right after the failure; durable: the
		// values a crash right after it may leave.
		after   int64
		durable []int64
		err     string
	}{
		{name: "file fsync fails", arm: func(f *vfs.FaultFS) { f.FailSync(1) },
			after: 5, durable: []int64{5}, err: "write /data/acceptedEpoch: fsync: "},
		{name: "directory fsync fails", arm: func(f *vfs.FaultFS) { f.FailSyncDir(1) },
			after: 6, durable: []int64{5, 6}, err: "write /data/acceptedEpoch: fsync /data: "},
	}
	// failAt6 stores 5, arms the fault and fails to store 6.
	failAt6 := func(t *testing.T, arm func(*vfs.FaultFS), wantErr string) (*vfs.MemFS, *vfs.FaultFS, *EpochStore) {
		m := epochFS(t)
		ffs := vfs.NewFaultFS(m)
		s := NewEpochStore(ffs, epochDir)
		require.NoError(t, s.SetAccepted(5))
		arm(ffs)
		err := s.SetAccepted(6)
		require.Error(t, err)
		assert.ErrorIs(t, err, syscall.EIO)
		assert.Contains(t, err.Error(), wantErr)
		return m, ffs, s
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ffs, s := failAt6(t, tt.arm, tt.err)
			got, err := s.Load()
			require.NoError(t, err)
			assert.Equal(t, tt.after, got.Accepted)
			names, err := m.ReadDir(epochDir)
			require.NoError(t, err)
			assert.Equal(t, []string{"acceptedEpoch"}, names, "the temporary file is removed")

			// The store works again once the disk does.
			ffs.Reset()
			require.NoError(t, s.SetAccepted(7))
			got, err = s.Load()
			require.NoError(t, err)
			assert.Equal(t, int64(7), got.Accepted)

			// What a crash right after the failure leaves.
			for _, keep := range []vfs.KeepMode{vfs.KeepNone, vfs.KeepAll} {
				m, _, _ := failAt6(t, tt.arm, tt.err)
				c := m.Crash(vfs.CrashOptions{Writes: keep, DirOps: keep})
				got, err := NewEpochStore(c, epochDir).Load()
				require.NoError(t, err)
				assert.Contains(t, tt.durable, got.Accepted, "crash keeping %v", keep)
			}
		})
	}
}

func TestEpochStoreCheckLog(t *testing.T) {
	s := NewEpochStore(vfs.NewMemFS(), epochDir)
	tests := []struct {
		name    string
		e       Epochs
		last    int64
		wantErr string
	}{
		{"empty log", Epochs{}, 0, ""},
		{"log of the current epoch", Epochs{Accepted: 3, Current: 3}, txnlog.MakeZxid(3, 9), ""},
		{"log of an older epoch", Epochs{Accepted: 4, Current: 3}, txnlog.MakeZxid(2, 1), ""},
		// A learner's synchronisation with the leader of epoch 3 made its
		// snapshot durable and crashed before recording currentEpoch 3
		// (core/sim seed 1732); it accepted epoch 4 since.
		{"sync cut short before currentEpoch", Epochs{Accepted: 4, Current: 2}, txnlog.MakeZxid(3, 1), ""},
		{"sync cut short, nothing accepted since", Epochs{Accepted: 3, Current: 2}, txnlog.MakeZxid(3, 7), ""},
		{"log ahead of both epochs", Epochs{Accepted: 2, Current: 2}, txnlog.MakeZxid(3, 1),
			"/data/currentEpoch (2) and /data/acceptedEpoch (2) are older than the log, whose last transaction 0x300000001 is of epoch 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CheckLog(tt.e, tt.last)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), tt.wantErr), err.Error())
		})
	}
}
