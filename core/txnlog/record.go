package txnlog

import (
	"fmt"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/znode"
)

// Record is one log entry: a zxid and its payload, which is a transaction
// encoded by znode.EncodeTxn (NewRecord builds one, Txn decodes it). The log
// itself treats the payload as opaque bytes, so a leader can stream records
// to a follower without decoding them.
type Record struct {
	Zxid    int64
	Payload []byte
}

// NewRecord encodes a transaction into a record carrying h.Zxid.
func NewRecord(h *znode.Header, t znode.Txn) Record {
	var e jute.Encoder
	znode.EncodeTxn(&e, h, t)
	return Record{Zxid: h.Zxid, Payload: e.Bytes()}
}

// Txn decodes the record's transaction and checks that its header carries
// the record's zxid.
func (r Record) Txn() (znode.Header, znode.Txn, error) {
	d := jute.NewDecoder(r.Payload, len(r.Payload))
	h, t, err := znode.DecodeTxn(d)
	if err != nil {
		return h, nil, fmt.Errorf("txnlog: record %#x: %w", r.Zxid, err)
	}
	if d.Remaining() != 0 {
		return h, nil, fmt.Errorf("txnlog: record %#x: %d trailing bytes after the transaction", r.Zxid, d.Remaining())
	}
	if h.Zxid != r.Zxid {
		return h, nil, fmt.Errorf("txnlog: record %#x carries a transaction with zxid %#x", r.Zxid, h.Zxid)
	}
	return h, t, nil
}
