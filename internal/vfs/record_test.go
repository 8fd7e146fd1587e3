package vfs

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecorderOps checks what is recorded, with absolute write offsets.
func TestRecorderOps(t *testing.T) {
	r := NewRecorder(NewMemFS())
	require.NoError(t, r.MkdirAll("d", 0o755))
	f, err := r.Create("d/f")
	require.NoError(t, err)
	_, err = f.Write([]byte("abc"))
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("Z"), 10)
	require.NoError(t, err)
	_, err = f.Write([]byte("de")) // at 3: WriteAt does not move the offset
	require.NoError(t, err)
	require.NoError(t, f.Truncate(4))
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	a, err := r.OpenFile("d/f", os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = a.Write([]byte("xy")) // at the end: 4
	require.NoError(t, err)
	require.NoError(t, r.SyncDir("d"))
	require.NoError(t, r.Rename("d/f", "d/g"))
	require.NoError(t, r.Remove("d/g"))
	_, err = r.Open("d/missing")
	require.Error(t, err, "failures are not recorded")

	var got []string
	for _, op := range r.Ops() {
		got = append(got, op.String())
	}
	assert.Equal(t, []string{
		"mkdirall d",
		fmt.Sprintf("open d/f flag=%#x as #1", os.O_RDWR|os.O_CREATE|os.O_TRUNC),
		"write #1 d/f [0,3)",
		"write #1 d/f [10,11)",
		"write #1 d/f [3,5)",
		"truncate #1 d/f 4",
		"sync #1 d/f",
		fmt.Sprintf("open d/f flag=%#x as #2", os.O_WRONLY|os.O_APPEND),
		"write #2 d/f [4,6)",
		"syncdir d",
		"rename d/f d/g",
		"remove d/g",
	}, got)
	assert.Equal(t, len(got), r.Len())
	assert.Equal(t, []byte("xy"), r.Ops()[8].Data)
}

// stateSummary is a crash state as a comparable string: its point and its
// tree.
func stateSummary(t *testing.T, s CrashState) string {
	files := tree(t, s.FS, "/")
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "@%d", s.Point)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, files[k])
	}
	return b.String()
}

// TestEnumerateSmallWorkload checks the exact states of a small workload:
// create, write, fsync, fsync(dir). The file's unsynced write offers five
// choices (none, torn in the middle, zero-filled, whole); the directory's
// unsynced create two.
func TestEnumerateSmallWorkload(t *testing.T) {
	r := NewRecorder(NewMemFS())
	f, err := r.Create("f")
	require.NoError(t, err)
	_, err = f.Write([]byte("aaaa"))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, r.SyncDir("."))
	require.Equal(t, 4, r.Len(), "open, write, sync, syncdir")

	states, err := r.CrashStates(100)
	require.NoError(t, err)
	var got []string
	for _, s := range states {
		got = append(got, stateSummary(t, s))
	}
	slices.Sort(got)
	assert.Equal(t, []string{
		`@2 f=""`,                 // created, entry kept, write dropped
		`@2 f="\x00\x00\x00\x00"`, // size reached the disk, data did not
		`@2 f="aa"`,               // torn mid-sector
		`@3`,                      // entry not durable (until the syncdir)
		`@4 f="aaaa"`,             // durable
	}, got)
}

// TestEnumerateAtomicReplace shows the enumeration telling a correct
// replace protocol (write tmp, fsync, rename, fsync dir) from one missing
// the directory fsync: after the last step, only the correct one is sure
// to hold the new content.
func TestEnumerateAtomicReplace(t *testing.T) {
	for _, c := range []struct {
		name       string
		syncDir    bool
		wantOldEnd bool
	}{{"with syncdir", true, false}, {"without syncdir", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			m := NewMemFS()
			writeFile(t, m, "cur", "old", true)
			require.NoError(t, m.SyncDir("/"))
			r := NewRecorder(m)
			writeFile(t, r, "cur.tmp", "new", true)
			require.NoError(t, r.Rename("cur.tmp", "cur"))
			if c.syncDir {
				require.NoError(t, r.SyncDir("/"))
			}
			states, err := r.CrashStates(1000)
			require.NoError(t, err)
			oldAtEnd := false
			for _, s := range states {
				files := tree(t, s.FS, "/")
				cur, ok := files["cur"]
				require.True(t, ok, "cur never vanishes: %s", s.Desc)
				assert.Contains(t, []string{"old", "new"}, cur, "the tmp file was fsynced before the rename: %s", s.Desc)
				if s.Point == r.Len() && cur != "new" {
					oldAtEnd = true
				}
			}
			assert.Equal(t, c.wantOldEnd, oldAtEnd)
		})
	}
}

// logWorkload appends n 16-byte records (a sequence number and a
// checksum-like copy) to a log, fsyncing each before "acknowledging" it,
// and returns the recorder length at each acknowledgement. When ackEarly
// is set, the record is acknowledged before its fsync: a durability bug.
func logWorkload(t *testing.T, fsys *Recorder, n int, ackEarly bool) []int {
	require.NoError(t, fsys.MkdirAll("data", 0o755))
	f, err := fsys.Create("data/log")
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, fsys.SyncDir("data"))
	require.NoError(t, fsys.SyncDir("/"))
	var acks []int
	for i := 1; i <= n; i++ {
		var rec [16]byte
		binary.BigEndian.PutUint64(rec[:8], uint64(i))
		binary.BigEndian.PutUint64(rec[8:], ^uint64(i))
		_, err := f.Write(rec[:])
		require.NoError(t, err)
		if ackEarly {
			acks = append(acks, fsys.Len())
		}
		require.NoError(t, f.Sync())
		if !ackEarly {
			acks = append(acks, fsys.Len())
		}
	}
	require.NoError(t, f.Close())
	return acks
}

// recoverLog reads the valid records of a log, stopping at the first torn
// or invalid one, and returns how many there are.
func recoverLog(data []byte) int {
	n := 0
	for len(data) >= 16 {
		seq := binary.BigEndian.Uint64(data[:8])
		if seq != uint64(n+1) || binary.BigEndian.Uint64(data[8:16]) != ^seq {
			break
		}
		n++
		data = data[16:]
	}
	return n
}

// TestEnumerateFindsEarlyAcknowledgement runs the acknowledged-write check
// a storage layer's crash test makes, on a correct and on a buggy
// workload.
func TestEnumerateFindsEarlyAcknowledgement(t *testing.T) {
	for _, c := range []struct {
		name     string
		ackEarly bool
	}{{"ack after fsync", false}, {"ack before fsync", true}} {
		t.Run(c.name, func(t *testing.T) {
			r := NewRecorder(NewMemFS())
			acks := logWorkload(t, r, 5, c.ackEarly)
			states, err := r.CrashStates(500)
			require.NoError(t, err)
			require.NotEmpty(t, states)
			lost := 0
			torn := 0
			for _, s := range states {
				data, err := ReadFile(s.FS, "data/log")
				if err != nil {
					require.ErrorIs(t, err, os.ErrNotExist, s.Desc)
				}
				got := recoverLog(data)
				if len(data) != got*16 {
					torn++
				}
				for i, at := range acks {
					if s.Point >= at && got < i+1 {
						lost++
					}
				}
			}
			assert.Positive(t, torn, "torn tails are among the states")
			if c.ackEarly {
				assert.Positive(t, lost, "the enumeration finds an acknowledged record lost")
			} else {
				assert.Zero(t, lost)
			}
		})
	}
}

// TestEnumerateLimitAndDeterminism checks that the limit holds, that the
// result is the same every time, and that a small limit still spreads over
// crash points.
func TestEnumerateLimitAndDeterminism(t *testing.T) {
	run := func(limit int, seed int64) []string {
		r := NewRecorder(NewMemFS())
		logWorkload(t, r, 4, false)
		states, err := r.Enumerate(EnumOptions{Limit: limit, Seed: seed})
		require.NoError(t, err)
		out := make([]string, len(states))
		for i, s := range states {
			fp := s.FS.Fingerprint()
			out[i] = fmt.Sprintf("%d %x %s", s.Point, fp[:8], s.Desc)
		}
		return out
	}
	all := run(10000, 1)
	assert.Equal(t, all, run(10000, 1))
	few := run(5, 1)
	assert.Len(t, few, 5)
	points := map[string]bool{}
	for _, s := range few {
		points[strings.Fields(s)[0]] = true
	}
	assert.Greater(t, len(points), 2, "round robin over points: %v", few)
	distinct := map[string]bool{}
	for _, s := range all {
		distinct[strings.Fields(s)[1]] = true
	}
	assert.Len(t, distinct, len(all), "states are distinct")
}

// TestEnumerateRenameStates checks the dir-entry states of an unsynced
// rename: never neither name, and the intermediate state has both.
func TestEnumerateRenameStates(t *testing.T) {
	m := NewMemFS()
	writeFile(t, m, "a", "x", true)
	require.NoError(t, m.SyncDir("/"))
	r := NewRecorder(m)
	require.NoError(t, r.Rename("a", "b"))
	states, err := r.CrashStates(100)
	require.NoError(t, err)
	var got []string
	for _, s := range states {
		got = append(got, stateSummary(t, s))
	}
	slices.Sort(got)
	assert.Equal(t, []string{`@1 a="x"`, `@1 a="x" b="x"`, `@1 b="x"`}, got)
	assert.Equal(t, 1, r.Len())
}

// TestEnumerateFailedSync checks that a sync failure recorded under the
// recorder is replayed with its fsyncgate meaning.
func TestEnumerateFailedSync(t *testing.T) {
	m := NewMemFS()
	writeFile(t, m, "f", "", true)
	require.NoError(t, m.SyncDir("/"))
	ff := NewFaultFS(m)
	r := NewRecorder(ff)
	f, err := r.OpenFile("f", os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("lost"))
	require.NoError(t, err)
	ff.FailSync(1)
	require.Error(t, f.Sync())
	_, err = f.Write([]byte("kept"))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	kinds := []OpKind{}
	for _, op := range r.Ops() {
		kinds = append(kinds, op.Kind)
	}
	assert.Equal(t, []OpKind{OpOpen, OpWrite, OpSyncFailed, OpWrite, OpSync}, kinds)
	states, err := r.CrashStates(100)
	require.NoError(t, err)
	var final []string
	for _, s := range states {
		if s.Point == r.Len() {
			final = append(final, stateSummary(t, s))
		}
	}
	assert.Equal(t, []string{`@5 f="\x00\x00\x00\x00kept"`}, final, "the failed sync's data never becomes durable")
}

// TestRecorderOverOS records a workload on the real file system and checks
// that the enumerated final state matches what the OS holds.
func TestRecorderOverOS(t *testing.T) {
	dir := t.TempDir()
	r := NewRecorder(OS)
	sub := filepath.Join(dir, "data")
	require.NoError(t, r.MkdirAll(sub, 0o755))
	writeFile(t, r, filepath.Join(sub, "snap.tmp"), "snapshot", true)
	require.NoError(t, r.Rename(filepath.Join(sub, "snap.tmp"), filepath.Join(sub, "snap")))
	require.NoError(t, r.SyncDir(sub))
	require.NoError(t, r.SyncDir(dir))
	assert.Equal(t, OpMkdirAll, r.Ops()[0].Kind, "the temp dir existed before: not an operation")
	states, err := r.CrashStates(1000)
	require.NoError(t, err)
	want := tree(t, OS, dir)
	assert.Equal(t, map[string]string{"data/": "", "data/snap": "snapshot"}, want)
	var final []map[string]string
	for _, s := range states {
		if s.Point == r.Len() {
			final = append(final, tree(t, s.FS, dir))
		}
	}
	assert.Equal(t, []map[string]string{want}, final)
	for _, s := range states {
		if data, ok := tree(t, s.FS, dir)["data/snap"]; ok {
			assert.Equal(t, "snapshot", data, "the rename came after the fsync: %s", s.Desc)
		}
	}
}

// TestRecorderConcurrent records from several goroutines under -race and
// replays the record.
func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder(NewMemFS())
	done := make(chan struct{})
	for i := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			f, err := r.Create(fmt.Sprintf("f%d", i))
			if !assert.NoError(t, err) {
				return
			}
			for range 20 {
				_, err := f.Write([]byte("0123456789"))
				assert.NoError(t, err)
				assert.NoError(t, f.Sync())
			}
			assert.NoError(t, r.SyncDir("/"))
			assert.NoError(t, f.Close())
		}()
	}
	for range 4 {
		<-done
	}
	states, err := r.CrashStates(200)
	require.NoError(t, err)
	var last []string
	for _, s := range states {
		if s.Point == r.Len() {
			last = append(last, stateSummary(t, s))
		}
	}
	want := fmt.Sprintf("@%d", r.Len())
	for i := range 4 {
		want += fmt.Sprintf(" f%d=%q", i, strings.Repeat("0123456789", 20))
	}
	assert.Equal(t, []string{want}, last)
}

// TestEnumerateReorderedWrites checks the exact states of two unsynced
// appends, including the one where the second reached the disk and the
// first did not.
func TestEnumerateReorderedWrites(t *testing.T) {
	m := NewMemFS()
	writeFile(t, m, "f", "", true)
	require.NoError(t, m.SyncDir("/"))
	r := NewRecorder(m)
	f, err := r.OpenFile("f", os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	for _, s := range []string{"aaaa", "bbbb"} {
		_, err := f.Write([]byte(s))
		require.NoError(t, err)
	}
	states, err := r.CrashStates(100)
	require.NoError(t, err)
	var got []string
	for _, s := range states {
		got = append(got, stateSummary(t, s))
	}
	slices.Sort(got)
	assert.Equal(t, []string{
		`@3 f=""`,
		`@3 f="\x00\x00\x00\x00"`,     // first write: size without data
		`@3 f="\x00\x00\x00\x00bbbb"`, // second write without the first
		`@3 f="aa"`,                   // first write torn
		`@3 f="aaaa"`,                 // first write
		`@3 f="aaaa\x00\x00\x00\x00"`, // second write: size without data
		`@3 f="aaaabb"`,               // second write torn
		`@3 f="aaaabbbb"`,             // both
	}, got)
	for _, s := range states {
		if strings.HasPrefix(tree(t, s.FS, "/")["f"], "\x00\x00\x00\x00bbbb") {
			assert.Contains(t, s.Desc, "keeps 2/2 ops but not op 1")
		}
	}
}

// TestCrashKeepSubset checks that random subsets keep each write whole or
// not at all, and sometimes keep a later write without an earlier one.
func TestCrashKeepSubset(t *testing.T) {
	reordered := false
	for seed := range int64(40) {
		m := NewMemFS()
		writeFile(t, m, "f", "", true)
		require.NoError(t, m.SyncDir("/"))
		f, err := m.OpenFile("f", os.O_WRONLY, 0)
		require.NoError(t, err)
		for _, s := range []string{"aa", "bb", "cc"} {
			_, err := f.Write([]byte(s))
			require.NoError(t, err)
		}
		got := tree(t, m.Crash(CrashOptions{Seed: seed, Writes: KeepSubset}), "/")["f"]
		require.Zero(t, len(got)%2, "whole writes: %q", got)
		for i := 0; i < len(got); i += 2 {
			assert.Contains(t, []string{"\x00\x00", string([]byte{"abc"[i/2], "abc"[i/2]})}, got[i:i+2])
		}
		if strings.Contains(got, "\x00") {
			reordered = true
		}
	}
	assert.True(t, reordered, "some seed keeps a later write without an earlier one")
}

// TestEnumeratePreallocatedLogWithSnapshot runs a storage-shaped workload:
// a preallocated log written in place with group commit (three records per
// fsync), and a snapshot written to a temp file, fsynced, renamed and made
// durable with SyncDir. In every crash state, every acknowledged group is
// in the log, and the snapshot under its final name is complete.
func TestEnumeratePreallocatedLogWithSnapshot(t *testing.T) {
	r := NewRecorder(NewMemFS())
	require.NoError(t, r.MkdirAll("data", 0o755))
	require.NoError(t, r.SyncDir("/"))
	f, err := r.Create("data/log.1")
	require.NoError(t, err)
	require.NoError(t, f.Truncate(16<<10))
	require.NoError(t, f.Sync())
	require.NoError(t, r.SyncDir("data"))
	ready := r.Len()
	snap := []byte(strings.Repeat("snapshot", 2500))
	type ack struct {
		at  int   // recorder length when acknowledged
		end int64 // log bytes that must be present
	}
	var acks []ack
	var log []byte
	for i := range 20 {
		for j := range 3 {
			rec := []byte(strings.Repeat(string(rune('A'+(i*3+j)%26)), 60+i))
			_, err := f.WriteAt(rec, int64(len(log)))
			require.NoError(t, err)
			log = append(log, rec...)
		}
		require.NoError(t, f.Sync())
		acks = append(acks, ack{r.Len(), int64(len(log))})
		if i == 10 {
			writeFile(t, r, "data/snap.tmp", string(snap), true)
			require.NoError(t, r.Rename("data/snap.tmp", "data/snap.1"))
			require.NoError(t, r.SyncDir("data"))
		}
	}
	states, err := r.CrashStates(5000)
	require.NoError(t, err)
	// Per group at least: 3 kept prefixes, 3 mid-sector tears, 3 subsets
	// with a hole (zero-filling a preallocated region changes nothing).
	assert.GreaterOrEqual(t, len(states), 20*9, "torn, reordered and dropped group writes at every point")
	for _, s := range states {
		files := tree(t, s.FS, "/")
		logData, ok := files["data/log.1"]
		if !ok {
			require.Less(t, s.Point, ready, "log missing after it was made durable: %s", s.Desc)
			continue
		}
		if s.Point < ready {
			continue
		}
		require.Len(t, logData, 16<<10, "preallocated size is durable: %s", s.Desc)
		for _, a := range acks {
			if s.Point >= a.at {
				require.Equal(t, string(log[:a.end]), logData[:a.end], "acknowledged records: %s", s.Desc)
			}
		}
		if got, ok := files["data/snap.1"]; ok {
			require.Equal(t, string(snap), got, "a renamed snapshot is complete: %s", s.Desc)
		}
	}
}

// TestRecorderOverOSPreexisting checks that files that existed on the OS
// before the workload are in the crash states with their old content.
func TestRecorderOverOSPreexisting(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	writeFile(t, OS, p("cur"), "old", true)
	writeFile(t, OS, p("log"), "head", true)
	writeFile(t, OS, p("gone"), "x", true)
	require.NoError(t, OS.SyncDir(dir))

	r := NewRecorder(OS)
	writeFile(t, r, p("cur.tmp"), "new", true)
	require.NoError(t, r.Rename(p("cur.tmp"), p("cur")))
	appendFile(t, r, p("log"), "+tail", false)
	require.NoError(t, r.Remove(p("gone")))

	states, err := r.CrashStates(1000)
	require.NoError(t, err)
	var durableOnly map[string]string
	for _, s := range states {
		files := tree(t, s.FS, dir)
		assert.Contains(t, []string{"old", "new"}, files["cur"], s.Desc)
		assert.True(t, strings.HasPrefix(files["log"], "head"), "%q: %s", files["log"], s.Desc)
		if strings.HasSuffix(s.Desc, "durable state only") && s.Point == r.Len() {
			durableOnly = files
		}
	}
	assert.Equal(t, map[string]string{"cur": "old", "log": "head", "gone": "x"}, durableOnly)
}

// TestFaultAboveRecorder checks the other stacking: a FaultFS failing a
// sync above the recorder records the failure and passes it to the MemFS.
func TestFaultAboveRecorder(t *testing.T) {
	m := NewMemFS()
	writeFile(t, m, "f", "", true)
	require.NoError(t, m.SyncDir("/"))
	r := NewRecorder(m)
	ff := NewFaultFS(r)
	f, err := ff.OpenFile("f", os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("data"))
	require.NoError(t, err)
	ff.FailSync(1)
	require.ErrorIs(t, f.Sync(), syscall.EIO)
	require.NoError(t, f.Sync())
	var kinds []OpKind
	for _, op := range r.Ops() {
		kinds = append(kinds, op.Kind)
	}
	assert.Equal(t, []OpKind{OpOpen, OpWrite, OpSyncFailed, OpSync}, kinds)
	assert.Equal(t, map[string]string{"f": ""}, tree(t, m.Crash(CrashOptions{Writes: KeepAll}), "/"),
		"the data of the failed sync is gone, even when every unsynced write is kept")
}
