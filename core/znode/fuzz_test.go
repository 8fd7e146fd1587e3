package znode

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz/FuzzDecodeTxn from seedTxns")

func encodeTxn(h Header, txn Txn) []byte {
	e := jute.NewEncoder(nil)
	EncodeTxn(e, &h, txn)
	return e.Bytes()
}

// seedTxns returns named encodings: valid txns of every kind and garbage.
func seedTxns() map[string][]byte {
	h := func(typ proto.OpCode) Header {
		return Header{Session: session1, Cxid: 7, Zxid: 0x100000002, Time: 1700000000000, Type: typ}
	}
	acls := []proto.ACL{{Perms: proto.PermRead, ID: proto.WorldAnyone}, digestACL[0]}
	seeds := map[string][]byte{
		"create":           encodeTxn(h(proto.OpCreate), &CreateTxn{Path: "/a/b", Data: []byte("data"), ACL: proto.OpenACLUnsafe, ParentCversion: 3}),
		"create-ephemeral": encodeTxn(h(proto.OpCreate2), &CreateTxn{Path: "/lock/n-0000000001", Data: []byte{}, ACL: acls, Owner: session1, ParentCversion: 2}),
		"create-container": encodeTxn(h(proto.OpCreateContainer), &CreateTxn{Path: "/c", ACL: proto.OpenACLUnsafe, Owner: proto.ContainerOwner, ParentCversion: 1}),
		"create-ttl":       encodeTxn(h(proto.OpCreateTTL), &CreateTxn{Path: "/t", Data: nil, ACL: nil, Owner: proto.TTLOwnerMask | 60000, ParentCversion: -1}),
		"delete":           encodeTxn(h(proto.OpDelete), &DeleteTxn{Path: "/a/b"}),
		"delete-container": encodeTxn(h(proto.OpDeleteContainer), &DeleteTxn{Path: "/c"}),
		"setdata":          encodeTxn(h(proto.OpSetData), &SetDataTxn{Path: "/a", Data: []byte("v2"), Version: 2}),
		"setdata-null":     encodeTxn(h(proto.OpSetData), &SetDataTxn{Path: "/a", Data: nil, Version: 3}),
		"setacl":           encodeTxn(h(proto.OpSetACL), &SetACLTxn{Path: "/a", ACL: acls, Version: 1}),
		"setacl-empty":     encodeTxn(h(proto.OpSetACL), &SetACLTxn{Path: "/a", ACL: []proto.ACL{}, Version: 4}),
		"check":            encodeTxn(h(proto.OpCheck), &CheckTxn{Path: "/a", Version: 5}),
		"error":            encodeTxn(h(proto.OpError), &ErrorTxn{Err: proto.ErrNodeExists}),
		"create-session":   encodeTxn(h(proto.OpCreateSession), &CreateSessionTxn{Timeout: 30000}),
		"close-session":    encodeTxn(h(proto.OpCloseSession), &CloseSessionTxn{}),
		"multi": encodeTxn(h(proto.OpMulti), &MultiTxn{Ops: []SubTxn{
			{Type: proto.OpCreate, Txn: &CreateTxn{Path: "/m", Data: []byte("x"), ACL: proto.OpenACLUnsafe, ParentCversion: 9}},
			{Type: proto.OpSetData, Txn: &SetDataTxn{Path: "/m", Data: []byte("y"), Version: 1}},
			{Type: proto.OpCheck, Txn: &CheckTxn{Path: "/m", Version: 1}},
			{Type: proto.OpSetACL, Txn: &SetACLTxn{Path: "/m", ACL: acls, Version: 1}},
			{Type: proto.OpDelete, Txn: &DeleteTxn{Path: "/m"}},
		}}),
		"multi-failed": encodeTxn(h(proto.OpMulti), &MultiTxn{Ops: []SubTxn{
			{Type: proto.OpError, Txn: &ErrorTxn{Err: proto.OK}},
			{Type: proto.OpError, Txn: &ErrorTxn{Err: proto.ErrBadVersion}},
			{Type: proto.OpError, Txn: &ErrorTxn{Err: proto.ErrRuntimeInconsistency}},
		}}),
		"multi-empty": encodeTxn(h(proto.OpMulti), &MultiTxn{Ops: []SubTxn{}}),
		// Garbage.
		"empty":          {},
		"short-header":   {0, 0, 0, 1, 2, 3},
		"unknown-kind":   append(encodeTxn(h(proto.OpCheck), &CheckTxn{Path: "/a"})[:32], 0, 0, 0, 99),
		"huge-path":      append(encodeTxn(h(proto.OpDelete), &DeleteTxn{})[:36], 0x7f, 0xff, 0xff, 0xff),
		"negative-len":   append(encodeTxn(h(proto.OpDelete), &DeleteTxn{})[:36], 0xff, 0xff, 0xff, 0xfe),
		"truncated":      encodeTxn(h(proto.OpCreate), &CreateTxn{Path: "/a/b", Data: []byte("data")})[:45],
		"nested-multi":   append(encodeTxn(h(proto.OpMulti), &MultiTxn{})[:36], 0, 0, 0, 1, 0, 0, 0, 14, 0, 0, 0, 7, 0, 0, 0, 0),
		"multi-huge-len": append(encodeTxn(h(proto.OpMulti), &MultiTxn{})[:36], 0x7f, 0, 0, 0, 0, 0, 0, 1),
		"null-path":      append(encodeTxn(h(proto.OpDelete), &DeleteTxn{})[:36], 0xff, 0xff, 0xff, 0xff),
	}
	return seeds
}

func corpusDir() string { return filepath.Join("testdata", "fuzz", "FuzzDecodeTxn") }

// TestDecodeTxnCorpus keeps the committed seed corpus in step with
// seedTxns (run with -update-corpus to rewrite it) and checks that every
// valid seed decodes.
func TestDecodeTxnCorpus(t *testing.T) {
	seeds := seedTxns()
	names := make([]string, 0, len(seeds))
	for name := range seeds {
		names = append(names, name)
	}
	sort.Strings(names)
	if *updateCorpus {
		require.NoError(t, os.MkdirAll(corpusDir(), 0o755))
		for _, name := range names {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seeds[name])
			require.NoError(t, os.WriteFile(filepath.Join(corpusDir(), name), []byte(content), 0o644))
		}
	}
	for _, name := range names {
		content, err := os.ReadFile(filepath.Join(corpusDir(), name))
		require.NoError(t, err, "seed %s is missing: run go test -run TestDecodeTxnCorpus -update-corpus", name)
		require.Equal(t, fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seeds[name]), string(content), name)
	}
	valid := 0
	for _, name := range names {
		if _, _, err := DecodeTxn(jute.NewDecoder(seeds[name], 0)); err == nil {
			valid++
		}
	}
	require.Equal(t, 17+1, valid, "every txn seed decodes (plus null-path, which decodes as an empty path)")
}

// FuzzDecodeTxn checks that DecodeTxn never panics and that whatever it
// accepts re-encodes to the bytes it consumed. The one non-canonical form is
// a null (-1) string or multi op vector, which decodes as "" or no ops and
// re-encodes with length 0; the check allows exactly that: every differing
// byte is 0xFF in the input and 0x00 in the output, and the re-encoding is
// a fixed point.
func FuzzDecodeTxn(f *testing.F) {
	for _, seed := range seedTxns() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := jute.NewDecoder(data, 0)
		h, txn, err := DecodeTxn(d)
		if err != nil {
			return
		}
		in := data[:d.Offset()]
		out := encodeTxn(h, txn)
		require.Len(t, out, len(in))
		for i := range in {
			if in[i] != out[i] {
				require.True(t, in[i] == 0xff && out[i] == 0, "byte %d: %#x re-encoded as %#x", i, in[i], out[i])
			}
		}
		h2, txn2, err := DecodeTxn(jute.NewDecoder(out, 0))
		require.NoError(t, err)
		require.True(t, bytes.Equal(out, encodeTxn(h2, txn2)), "re-encoding is canonical")
		// Whatever decodes can be applied without panicking.
		NewTree().Apply(h, txn)
	})
}
