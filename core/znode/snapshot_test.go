package znode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

// snapshotAll produces a whole snapshot stream without interleaved writes.
func snapshotAll(t *testing.T, tr *Tree) []byte {
	t.Helper()
	s, err := tr.BeginSnapshot()
	require.NoError(t, err)
	var out []byte
	for done := false; !done; {
		out, done = s.Next(out, 7)
	}
	return out
}

func load(t *testing.T, b []byte) (*Tree, SnapshotInfo) {
	t.Helper()
	tr, info, err := LoadSnapshot(bufio.NewReader(bytes.NewReader(b)))
	require.NoError(t, err)
	return tr, info
}

func TestSnapshotOfNewTree(t *testing.T) {
	tr := NewTree()
	got, info := load(t, snapshotAll(t, tr))
	require.Equal(t, tr.NodeCount(), info.Nodes)
	require.Equal(t, tr.Digest(), got.Digest())
	m := newModel()
	compareState(t, got, m, 0)
}

// TestSnapshotWhileApplying is the central property: a snapshot produced a
// little at a time while random transactions keep being applied loads into
// exactly the tree as it was when the snapshot began, and that tree, given
// the transactions applied since, catches up to the live tree (which is
// what recovery does with the log after a snapshot).
func TestSnapshotWhileApplying(t *testing.T) {
	ops := 4000
	if testing.Short() || raceEnabled {
		ops = 2000
	}
	for _, seed := range []int64{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			m := newModel()
			tr := NewTree()
			g := &gen{r: r, m: m, names: []string{"a", "b", "c", "d", "e", "f"}}
			type logged struct {
				h   Header
				txn Txn
			}
			var (
				snap     *Snapshot
				stream   []byte
				atStart  *model
				timeThen int64
				since    []logged
				taken    int
			)
			for i := 0; i < ops; i++ {
				if snap == nil && r.Intn(300) == 0 {
					var err error
					snap, err = tr.BeginSnapshot()
					require.NoError(t, err)
					_, err = tr.BeginSnapshot()
					require.ErrorIs(t, err, ErrSnapshotActive)
					atStart, timeThen, stream, since = m.clone(), g.time, nil, nil
				}
				h, txn := g.next()
				want := m.apply(h, txn)
				got := tr.Apply(h, txn)
				require.Equal(t, want, got, "op %d", i)
				if snap == nil {
					continue
				}
				since = append(since, logged{h, txn})
				var done bool
				stream, done = snap.Next(stream, 1+r.Intn(4))
				if !done {
					continue
				}
				loaded, info := load(t, stream)
				require.Equal(t, snap.Zxid(), info.Zxid)
				compareState(t, loaded, atStart, timeThen)
				for _, l := range since {
					loaded.Apply(l.h, l.txn)
				}
				compareState(t, loaded, m, g.time)
				require.Equal(t, tr.Digest(), loaded.Digest())
				snap = nil
				taken++
			}
			require.Greater(t, taken, 2, "several snapshots completed")
		})
	}
}

func TestSnapshotKeepsQuotasAndKinds(t *testing.T) {
	tr := NewTree()
	z := int64(0)
	apply := func(txn Txn) {
		z++
		r := tr.Apply(Header{Zxid: z, Time: z * 10, Session: 7}, txn)
		require.Equal(t, proto.OK, r.Err, "%+v", txn)
	}
	apply(mkCreate("/q", []byte("12345"), 0, -1))
	apply(mkCreate("/zookeeper/quota/q", nil, 0, -1))
	apply(mkCreate("/zookeeper/quota/q/zookeeper_limits", []byte("count=10,bytes=100"), 0, -1))
	apply(mkCreate("/zookeeper/quota/q/zookeeper_stats", []byte("count=0,bytes=0"), 0, -1))
	apply(mkCreate("/q/e", []byte("x"), 7, -1))
	apply(mkCreate("/c", nil, proto.ContainerOwner, -1))
	apply(mkCreate("/ttl", nil, proto.TTLOwnerMask|5000, -1))
	apply(&SetACLTxn{Path: "/q", ACL: proto.ReadACLUnsafe, Version: 1})

	s, err := tr.BeginSnapshot()
	require.NoError(t, err)
	var stream []byte
	stream, _ = s.Next(stream, 2)
	// Changes after the start must not leak into the image.
	apply(&SetDataTxn{Path: "/q", Data: []byte("changed"), Version: 1})
	apply(mkCreate("/q/new", []byte("abc"), 0, -1))
	apply(&DeleteTxn{Path: "/q/e"})
	for done := false; !done; {
		stream, done = s.Next(stream, 3)
	}
	got, _ := load(t, stream)
	d, _, ok := got.Get("/q")
	require.True(t, ok)
	require.Equal(t, "12345", string(d))
	_, ok = got.Meta("/q/new")
	require.False(t, ok)
	require.Equal(t, []string{"/q/e"}, got.Ephemerals(7))
	stats, _, _ := got.Get("/zookeeper/quota/q/zookeeper_stats")
	require.Equal(t, "count=2,bytes=6", string(stats))
	require.Equal(t, []string{"/c", "/ttl"}, got.ExpiredContainers(1<<40, 1))
	meta, _ := got.Meta("/q")
	require.Equal(t, proto.ReadACLUnsafe, meta.ACL)

	// Quota bookkeeping keeps working on the loaded tree.
	z2 := z
	r := got.Apply(Header{Zxid: z2 + 1, Time: 1}, mkCreate("/q/more", []byte("1234"), 0, -1))
	require.Equal(t, proto.OK, r.Err)
	stats, _, _ = got.Get("/zookeeper/quota/q/zookeeper_stats")
	require.Equal(t, "count=3,bytes=10", string(stats))
}

func TestSnapshotAbortStopsTracking(t *testing.T) {
	tr := NewTree()
	s, err := tr.BeginSnapshot()
	require.NoError(t, err)
	s.Abort()
	tr.Apply(Header{Zxid: 1}, mkCreate("/a", nil, 0, -1))
	_, err = tr.BeginSnapshot()
	require.NoError(t, err)
}

// TestLoadSnapshotRefusesDamage flips and cuts a valid stream: every
// damaged stream is refused with an error (the digest check catches what
// the structure checks do not), never loaded as a different tree.
func TestLoadSnapshotRefusesDamage(t *testing.T) {
	tr := NewTree()
	for i, p := range []string{"/a", "/a/b", "/a/b/c", "/d", "/e"} {
		tr.Apply(Header{Zxid: int64(i + 1), Time: 5}, mkCreate(p, []byte(p), 0, -1))
	}
	good := snapshotAll(t, tr)
	for cut := 0; cut < len(good); cut++ {
		_, _, err := LoadSnapshot(bufio.NewReader(bytes.NewReader(good[:cut])))
		require.Error(t, err, "cut at %d", cut)
	}
	for i := range good {
		for _, bit := range []byte{1, 0x10, 0x80} {
			bad := bytes.Clone(good)
			bad[i] ^= bit
			got, _, err := LoadSnapshot(bufio.NewReader(bytes.NewReader(bad)))
			if err == nil {
				// A flip the format cannot see (e.g. in an unused ACL
				// entry) must still load the same tree.
				require.Equal(t, tr.Digest(), got.Digest(), "flip at %d", i)
				continue
			}
			var se *SnapshotError
			require.True(t, errors.As(err, &se), "flip at %d: %v", i, err)
		}
	}
}

func FuzzLoadSnapshot(f *testing.F) {
	tr := NewTree()
	tr.Apply(Header{Zxid: 1}, mkCreate("/a", []byte("x"), 0, -1))
	tr.Apply(Header{Zxid: 2}, mkCreate("/a/b", nil, 9, -1))
	s, _ := tr.BeginSnapshot()
	var b []byte
	for done := false; !done; {
		b, done = s.Next(b, 100)
	}
	f.Add(b)
	f.Add([]byte(snapMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _, err := LoadSnapshot(bufio.NewReader(bytes.NewReader(b)))
		if err == nil {
			require.Equal(t, got.recomputeDigest(), got.Digest())
		}
	})
}
