package replica

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

// TestSnapshotPlusLogRecovers takes a snapshot while the replica keeps
// serving writes, then recovers a fresh replica from the snapshot and the
// transactions logged after its zxid: same tree, sessions and zxid, and the
// recovered sessions expire on their own.
func TestSnapshotPlusLogRecovers(t *testing.T) {
	lh := newLogHarness(t)
	h, commit, connect := lh.harness, lh.commit, lh.connect
	s1 := connect(1)
	connect(2)
	for i := 0; i < 50; i++ {
		h.do(1, int32(i+1), proto.OpCreate, &proto.CreateRequest{Path: "/n", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentSequential, Data: []byte{byte(i)}})
	}
	h.do(1, 100, proto.OpCreate, &proto.CreateRequest{Path: "/e", ACL: proto.OpenACLUnsafe, Flags: proto.ModeEphemeral})
	commit()

	snap, err := h.r.BeginSnapshot()
	require.NoError(t, err)
	at := snap.Zxid()
	require.Equal(t, h.r.LastApplied(), at)
	require.Equal(t, 2, snap.SessionCount())
	var stream []byte
	stream, _ = snap.Next(stream, 3)
	// Writes continue during the snapshot.
	h.do(2, 1, proto.OpDelete, &proto.DeleteRequest{Path: "/n0000000003", Version: -1})
	h.do(2, 2, proto.OpSetData, &proto.SetDataRequest{Path: "/n0000000010", Data: []byte("new"), Version: -1})
	h.do(2, 3, proto.OpCloseSession, nil)
	commit()
	for done := false; !done; {
		stream, done = snap.Next(stream, 5)
	}
	s3 := connect(3)
	commit()

	fresh := newHarness(t, Config{})
	info, err := fresh.r.LoadSnapshot(bufio.NewReader(bytes.NewReader(stream)), fresh.now)
	require.NoError(t, err)
	assert.Equal(t, at, info.Zxid)
	assert.Equal(t, 2, info.Sessions)
	for _, p := range lh.log {
		if p.Header.Zxid > at {
			require.NoError(t, fresh.r.Replay(p.Header, p.Txn, fresh.now))
		}
	}
	assert.Equal(t, h.r.Tree().Digest(), fresh.r.Tree().Digest())
	assert.Equal(t, h.r.LastApplied(), fresh.r.LastApplied())
	assert.Equal(t, 2, fresh.r.Sessions().Len(), "s1 and s3; s2 closed after the snapshot")
	_, ok := fresh.r.Sessions().Get(s3)
	assert.True(t, ok)
	assert.Equal(t, []string{"/e"}, fresh.r.Tree().Ephemerals(s1))

	// A second load into a used replica is refused.
	_, err = fresh.r.LoadSnapshot(bufio.NewReader(bytes.NewReader(stream)), fresh.now)
	assert.Error(t, err)

	// Writes continue the zxids, and the recovered session expires.
	resp := fresh.connect(9, &proto.ConnectRequest{TimeOut: 6000, Passwd: make([]byte, 16)})
	require.NotNil(t, resp)
	assert.Equal(t, h.r.LastApplied()+1, fresh.r.LastApplied())
	for i := 0; i < 5; i++ {
		fresh.now += 2000
		fresh.do(9, -2, proto.OpPing, nil)
		fresh.r.Tick(fresh.now)
		fresh.commit()
	}
	assert.Empty(t, fresh.r.Tree().Ephemerals(s1))
}

func TestLoadSnapshotRefusesGarbage(t *testing.T) {
	h := newHarness(t, Config{})
	for _, b := range [][]byte{nil, []byte("WREPL1\n"), []byte("nonsense stream"), append([]byte("WREPL1\n"), 0, 0xff, 0xff, 0xff, 0xff, 0x0f)} {
		_, err := h.r.LoadSnapshot(bufio.NewReader(bytes.NewReader(b)), h.now)
		assert.Error(t, err, "%q", b)
	}
}
