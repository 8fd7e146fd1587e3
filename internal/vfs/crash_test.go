package vfs

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCrashDurability checks, for each workload, what survives a crash that
// keeps only durable state and one that keeps everything.
func TestCrashDurability(t *testing.T) {
	cases := []struct {
		name     string
		run      func(t *testing.T, m *MemFS)
		durable  map[string]string // after Crash(CrashOptions{})
		keepsAll map[string]string // after a crash keeping every unsynced op
	}{
		{
			name:     "unsynced new file vanishes",
			run:      func(t *testing.T, m *MemFS) { writeFile(t, m, "f", "data", false) },
			durable:  map[string]string{},
			keepsAll: map[string]string{"f": "data"},
		},
		{
			name:     "fsynced file whose directory was never synced vanishes",
			run:      func(t *testing.T, m *MemFS) { writeFile(t, m, "f", "data", true) },
			durable:  map[string]string{},
			keepsAll: map[string]string{"f": "data"},
		},
		{
			name: "synced directory entry, unsynced data: empty file",
			run: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "f", "data", false)
				require.NoError(t, m.SyncDir("/"))
			},
			durable:  map[string]string{"f": ""},
			keepsAll: map[string]string{"f": "data"},
		},
		{
			name: "fsync then syncdir: durable",
			run: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "f", "data", true)
				require.NoError(t, m.SyncDir("."))
			},
			durable:  map[string]string{"f": "data"},
			keepsAll: map[string]string{"f": "data"},
		},
		{
			name: "writes after the last sync are lost",
			run: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "f", "v1", true)
				require.NoError(t, m.SyncDir("/"))
				appendFile(t, m, "f", "+v2", false)
			},
			durable:  map[string]string{"f": "v1"},
			keepsAll: map[string]string{"f": "v1+v2"},
		},
		{
			name: "unsynced truncate is undone",
			run: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "f", "abcdef", true)
				require.NoError(t, m.SyncDir("/"))
				f, err := m.OpenFile("f", os.O_RDWR, 0)
				require.NoError(t, err)
				require.NoError(t, f.Truncate(2))
				require.NoError(t, f.Close())
			},
			durable:  map[string]string{"f": "abcdef"},
			keepsAll: map[string]string{"f": "ab"},
		},
		{
			name: "sync through another handle covers every handle's writes",
			run: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "f", "", true)
				require.NoError(t, m.SyncDir("/"))
				w, err := m.OpenFile("f", os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = w.Write([]byte("written"))
				require.NoError(t, err)
				r, err := m.Open("f")
				require.NoError(t, err)
				require.NoError(t, r.Sync())
			},
			durable:  map[string]string{"f": "written"},
			keepsAll: map[string]string{"f": "written"},
		},
		{
			name: "rename without syncdir is undone",
			run: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "a", "x", true)
				require.NoError(t, m.SyncDir("/"))
				require.NoError(t, m.Rename("a", "b"))
			},
			durable:  map[string]string{"a": "x"},
			keepsAll: map[string]string{"b": "x"},
		},
		{
			name: "atomic replace without syncdir keeps the old content",
			run: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "cur", "old", true)
				require.NoError(t, m.SyncDir("/"))
				writeFile(t, m, "cur.tmp", "new", true)
				require.NoError(t, m.Rename("cur.tmp", "cur"))
			},
			durable:  map[string]string{"cur": "old"},
			keepsAll: map[string]string{"cur": "new"},
		},
		{
			name: "atomic replace with syncdir: new content",
			run: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "cur", "old", true)
				require.NoError(t, m.SyncDir("/"))
				writeFile(t, m, "cur.tmp", "new", true)
				require.NoError(t, m.Rename("cur.tmp", "cur"))
				require.NoError(t, m.SyncDir("/"))
			},
			durable:  map[string]string{"cur": "new"},
			keepsAll: map[string]string{"cur": "new"},
		},
		{
			name: "replace without fsyncing the new file: entry durable, data not",
			run: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "cur", "old", true)
				require.NoError(t, m.SyncDir("/"))
				writeFile(t, m, "cur.tmp", "new", false)
				require.NoError(t, m.Rename("cur.tmp", "cur"))
				require.NoError(t, m.SyncDir("/"))
			},
			durable:  map[string]string{"cur": ""},
			keepsAll: map[string]string{"cur": "new"},
		},
		{
			name: "unsynced remove is undone",
			run: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "f", "x", true)
				require.NoError(t, m.SyncDir("/"))
				require.NoError(t, m.Remove("f"))
			},
			durable:  map[string]string{"f": "x"},
			keepsAll: map[string]string{},
		},
		{
			name: "new directory needs its parent synced",
			run: func(t *testing.T, m *MemFS) {
				require.NoError(t, m.MkdirAll("d/e", 0o755))
				writeFile(t, m, "d/e/f", "x", true)
				require.NoError(t, m.SyncDir("d/e"))
				require.NoError(t, m.SyncDir("d"))
			},
			durable:  map[string]string{},
			keepsAll: map[string]string{"d/": "", "d/e/": "", "d/e/f": "x"},
		},
		{
			name: "new directory synced all the way up",
			run: func(t *testing.T, m *MemFS) {
				require.NoError(t, m.MkdirAll("d/e", 0o755))
				writeFile(t, m, "d/e/f", "x", true)
				for _, d := range []string{"d/e", "d", "/"} {
					require.NoError(t, m.SyncDir(d))
				}
			},
			durable:  map[string]string{"d/": "", "d/e/": "", "d/e/f": "x"},
			keepsAll: map[string]string{"d/": "", "d/e/": "", "d/e/f": "x"},
		},
		{
			name: "syncing a directory descriptor syncs its entries",
			run: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "f", "x", true)
				d, err := m.Open("/")
				require.NoError(t, err)
				require.NoError(t, d.Sync())
				require.NoError(t, d.Close())
			},
			durable:  map[string]string{"f": "x"},
			keepsAll: map[string]string{"f": "x"},
		},
		{
			name: "rename across directories, only the target synced: both names",
			run: func(t *testing.T, m *MemFS) {
				require.NoError(t, m.MkdirAll("a", 0o755))
				require.NoError(t, m.MkdirAll("b", 0o755))
				require.NoError(t, m.SyncDir("/"))
				writeFile(t, m, "a/f", "x", true)
				require.NoError(t, m.SyncDir("a"))
				require.NoError(t, m.Rename("a/f", "b/f"))
				require.NoError(t, m.SyncDir("b"))
			},
			durable:  map[string]string{"a/": "", "b/": "", "a/f": "x", "b/f": "x"},
			keepsAll: map[string]string{"a/": "", "b/": "", "b/f": "x"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range []struct {
				opts CrashOptions
				want map[string]string
			}{
				{CrashOptions{}, c.durable},
				{CrashOptions{Writes: KeepAll, DirOps: KeepAll}, c.keepsAll},
			} {
				m := NewMemFS()
				c.run(t, m)
				before := tree(t, m, "/")
				assert.Equal(t, c.keepsAll, before, "reads before the crash see everything")
				got := tree(t, m.Crash(v.opts), "/")
				assert.Equal(t, v.want, got, "after crash with %+v", v.opts)
			}
		})
	}
}

// TestCrashedFileSystemIsDurable checks that a crashed MemFS has nothing
// unsynced left: crashing it again changes nothing.
func TestCrashedFileSystemIsDurable(t *testing.T) {
	m := NewMemFS()
	require.NoError(t, m.MkdirAll("d", 0o755))
	writeFile(t, m, "d/f", "abc", false)
	c := m.Crash(CrashOptions{Writes: KeepAll, DirOps: KeepAll})
	want := tree(t, c, "/")
	assert.Equal(t, map[string]string{"d/": "", "d/f": "abc"}, want)
	assert.Equal(t, want, tree(t, c.Crash(CrashOptions{}), "/"))
}

// TestCrashKillsTheOldFileSystem checks that the crashed process's file
// system and handles stop working.
func TestCrashKillsTheOldFileSystem(t *testing.T) {
	m := NewMemFS()
	f, err := m.Create("f")
	require.NoError(t, err)
	m.Crash(CrashOptions{})
	_, err = f.Write([]byte("x"))
	assert.ErrorIs(t, err, ErrCrashed)
	assert.ErrorIs(t, f.Sync(), ErrCrashed)
	_, err = f.Read(make([]byte, 1))
	assert.ErrorIs(t, err, ErrCrashed)
	_, err = m.Create("g")
	assert.ErrorIs(t, err, ErrCrashed)
	_, err = m.Stat("f")
	assert.ErrorIs(t, err, ErrCrashed)
	assert.ErrorIs(t, m.SyncDir("/"), ErrCrashed)
	assert.ErrorIs(t, m.Rename("f", "g"), ErrCrashed)
	assert.ErrorIs(t, m.Remove("f"), ErrCrashed)
	assert.ErrorIs(t, m.MkdirAll("d", 0o755), ErrCrashed)
	_, err = m.ReadDir("/")
	assert.ErrorIs(t, err, ErrCrashed)
}

// tornSetup writes a synced header, syncs the directory, then writes 1500
// unsynced bytes ("0123456789" repeated) at offset 100.
func tornSetup(t *testing.T) (*MemFS, []byte) {
	m := NewMemFS()
	writeFile(t, m, "log", strings.Repeat("H", 100), true)
	require.NoError(t, m.SyncDir("/"))
	body := []byte(strings.Repeat("0123456789", 150))
	appendFile(t, m, "log", string(body), false)
	return m, body
}

// TestCrashTear checks each way of tearing the last kept write.
func TestCrashTear(t *testing.T) {
	header := strings.Repeat("H", 100)
	for _, c := range []struct {
		tear  TearMode
		check func(t *testing.T, got string, body []byte)
	}{
		{TearNone, func(t *testing.T, got string, body []byte) {
			assert.Equal(t, header+string(body), got)
		}},
		{TearSector, func(t *testing.T, got string, body []byte) {
			assert.Contains(t, []int{512, 1024, 1536}, len(got), "cut at an absolute sector boundary inside the write")
			assert.Equal(t, header+string(body[:len(got)-100]), got)
		}},
		{TearMidSector, func(t *testing.T, got string, body []byte) {
			require.Greater(t, len(got), 100)
			require.Less(t, len(got), 1600)
			assert.NotZero(t, len(got)%SectorSize, "not on a boundary")
			assert.Equal(t, header+string(body[:len(got)-100]), got)
		}},
		{TearZeroTail, func(t *testing.T, got string, body []byte) {
			require.Len(t, got, 1600, "the size survives")
			cut := strings.IndexByte(got, 0)
			require.Positive(t, cut)
			assert.Zero(t, cut%SectorSize, "zeroed from a sector boundary")
			assert.Equal(t, header+string(body[:cut-100]), got[:cut])
			assert.Equal(t, strings.Repeat("\x00", 1600-cut), got[cut:])
		}},
	} {
		t.Run(c.tear.String(), func(t *testing.T) {
			seen := map[int]bool{}
			for seed := range int64(20) {
				m, body := tornSetup(t)
				got := tree(t, m.Crash(CrashOptions{Seed: seed, Writes: KeepAll, Tear: c.tear}), "/")["log"]
				c.check(t, got, body)
				seen[len(got)] = true
			}
			if c.tear == TearSector || c.tear == TearMidSector {
				assert.Greater(t, len(seen), 1, "the seed moves the cut")
			}
		})
	}
}

// TestCrashTearSmallWrite checks that a write inside one sector cannot be
// torn at a sector boundary: it is lost whole.
func TestCrashTearSmallWrite(t *testing.T) {
	m := NewMemFS()
	writeFile(t, m, "f", "ab", true)
	require.NoError(t, m.SyncDir("/"))
	appendFile(t, m, "f", "cdef", false)
	got := tree(t, m.Crash(CrashOptions{Writes: KeepAll, Tear: TearSector}), "/")
	assert.Equal(t, map[string]string{"f": "ab"}, got)
}

// TestCrashKeepRandom checks that random prefixes are prefixes, that the
// seed decides them, and that different seeds explore different prefixes.
func TestCrashKeepRandom(t *testing.T) {
	build := func() *MemFS {
		m := NewMemFS()
		writeFile(t, m, "f", "", true)
		require.NoError(t, m.SyncDir("/"))
		f, err := m.OpenFile("f", os.O_WRONLY, 0)
		require.NoError(t, err)
		for _, s := range []string{"a", "b", "c", "d", "e"} {
			_, err := f.Write([]byte(s))
			require.NoError(t, err)
		}
		return m
	}
	seen := map[string]bool{}
	for seed := range int64(40) {
		a := build().Crash(CrashOptions{Seed: seed, Writes: KeepRandom})
		b := build().Crash(CrashOptions{Seed: seed, Writes: KeepRandom})
		assert.Equal(t, a.Fingerprint(), b.Fingerprint(), "deterministic for seed %d", seed)
		got := tree(t, a, "/")["f"]
		assert.True(t, strings.HasPrefix("abcde", got), "%q is a prefix", got)
		seen[got] = true
	}
	assert.Len(t, seen, 6, "all six prefixes appear over 40 seeds")
}

// TestCrashKeepRandomDirOps checks that unsynced entry changes survive as a
// prefix in the order they were made.
func TestCrashKeepRandomDirOps(t *testing.T) {
	seen := map[string]bool{}
	for seed := range int64(40) {
		m := NewMemFS()
		for _, n := range []string{"a", "b", "c"} {
			writeFile(t, m, n, n, true)
		}
		got := tree(t, m.Crash(CrashOptions{Seed: seed, DirOps: KeepRandom}), "/")
		var names []string
		for _, n := range []string{"a", "b", "c"} {
			if _, ok := got[n]; ok {
				names = append(names, n)
			}
		}
		joined := strings.Join(names, "")
		assert.True(t, strings.HasPrefix("abc", joined), "%q is a prefix", joined)
		seen[joined] = true
	}
	assert.Len(t, seen, 4)
}

// TestFingerprint checks that the fingerprint sees names, content and
// directories, and nothing else.
func TestFingerprint(t *testing.T) {
	mk := func(files map[string]string, dirs ...string) [32]byte {
		m := NewMemFS()
		for _, d := range dirs {
			require.NoError(t, m.MkdirAll(d, 0o755))
		}
		for n, c := range files {
			writeFile(t, m, n, c, false)
		}
		return m.Fingerprint()
	}
	base := mk(map[string]string{"a": "x", "b": "y"})
	assert.Equal(t, base, mk(map[string]string{"b": "y", "a": "x"}))
	assert.NotEqual(t, base, mk(map[string]string{"a": "x", "b": "z"}))
	assert.NotEqual(t, base, mk(map[string]string{"a": "x", "c": "y"}))
	assert.NotEqual(t, base, mk(map[string]string{"a": "x", "b": "y"}, "d"))
	assert.NotEqual(t, mk(map[string]string{"a": ""}), mk(nil, "a"))
}

// TestMemFSString checks the listing used in failure messages.
func TestMemFSString(t *testing.T) {
	m := NewMemFS()
	require.NoError(t, m.MkdirAll("d", 0o755))
	writeFile(t, m, "d/f", "abc", false)
	assert.Equal(t, "/d/\n/d/f 3\n", m.String())
}

// TestMemFSConcurrent exercises the locking under -race.
func TestMemFSConcurrent(t *testing.T) {
	m := NewMemFS()
	done := make(chan struct{})
	for i := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			name := string(rune('a' + i))
			f, err := m.Create(name)
			if !assert.NoError(t, err) {
				return
			}
			for range 100 {
				_, err := f.Write([]byte("0123456789"))
				assert.NoError(t, err)
				assert.NoError(t, f.Sync())
				assert.NoError(t, m.SyncDir("/"))
			}
			assert.NoError(t, f.Close())
		}()
	}
	for range 4 {
		<-done
	}
	got := tree(t, m.Crash(CrashOptions{}), "/")
	require.Len(t, got, 4)
	for _, c := range got {
		assert.Len(t, c, 1000)
	}
}

// TestReadFile checks the helper on a file and a directory.
func TestReadFile(t *testing.T) {
	m := NewMemFS()
	writeFile(t, m, "f", "content", false)
	data, err := ReadFile(m, "f")
	require.NoError(t, err)
	assert.Equal(t, "content", string(data))
	require.NoError(t, m.MkdirAll("d", 0o755))
	_, err = ReadFile(m, "d")
	assert.Error(t, err)
	_, err = ReadFile(m, "missing")
	assert.Error(t, err)
	var buf bytes.Buffer
	f, err := m.Open("f")
	require.NoError(t, err)
	_, err = io.Copy(&buf, f)
	require.NoError(t, err)
	assert.Equal(t, "content", buf.String())
}
