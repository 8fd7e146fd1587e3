package txnlog_test

import (
	"fmt"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/txnlog"
	"github.com/warrenhq/warren/core/znode"
	"github.com/warrenhq/warren/internal/vfs"
)

// A group commit, a restart, and the reads recovery and ZAB DIFF do.
func Example() {
	disk := vfs.NewMemFS()
	opts := txnlog.Options{PreallocSize: 1 << 20} // the 64 MiB default suits a real disk
	l, err := txnlog.Open(disk, "data/version-2", opts)
	if err != nil {
		panic(err)
	}
	var batch []txnlog.Record
	for c := int64(1); c <= 3; c++ {
		h := znode.Header{Session: 1, Zxid: txnlog.MakeZxid(1, c), Type: proto.OpCreate}
		batch = append(batch, txnlog.NewRecord(&h, &znode.CreateTxn{Path: fmt.Sprintf("/n%d", c)}))
	}
	if err := l.Append(batch); err != nil {
		panic(err)
	}
	if err := l.Sync(); err != nil { // one fsync for the three records
		panic(err)
	}
	fmt.Printf("durable up to %#x\n", l.LastSynced())
	l.Close()

	l, err = txnlog.Open(disk, "data/version-2", opts)
	if err != nil {
		panic(err)
	}
	defer l.Close()
	it, err := l.ReadAfter(txnlog.MakeZxid(1, 1)) // e.g. a snapshot taken at (1, 1)
	if err != nil {
		panic(err)
	}
	defer it.Close()
	for it.Next() {
		_, txn, err := it.Record().Txn()
		if err != nil {
			panic(err)
		}
		fmt.Printf("%#x %s\n", it.Record().Zxid, txn.(*znode.CreateTxn).Path)
	}
	if err := it.Err(); err != nil {
		panic(err)
	}
	// Output:
	// durable up to 0x100000003
	// 0x100000002 /n2
	// 0x100000003 /n3
}
