package txnlog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// On-disk format (all integers big-endian).
//
// A segment file is named log.<first zxid as 16 lower-case hex digits> and
// starts with a 32-byte header:
//
//	magic "WTXL" | version uint32 | first zxid int64 | 12 reserved zero bytes | crc32c uint32
//
// where the CRC covers the 28 bytes before it. Records follow back to back:
//
//	length uint32 | crc32c uint32 | zxid int64 | durable int64 | payload
//
// length counts the bytes after the CRC (16 + len(payload)), so it is never
// zero for a record and a zero length marks the end of the written data
// (the rest of a preallocated file is zeros). The CRC (Castagnoli) covers
// zxid, durable and payload. durable is the highest zxid the log had
// fsynced when the record was encoded: it lets recovery tell a crash (a
// damaged record that was never acknowledged, perhaps with later unsynced
// records that happened to reach the disk) from corruption (a damaged record
// that a later record proves was already durable).
const (
	segMagic      = "WTXL"
	segVersion    = 1
	segHeaderSize = 32
	recHeaderSize = 24 // length, crc, zxid, durable
	recFixed      = 16 // zxid + durable: the part of length that is not payload
	segPrefix     = "log."
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SegmentName is the file name of the segment whose first record is zxid.
func SegmentName(zxid int64) string { return fmt.Sprintf("%s%016x", segPrefix, uint64(zxid)) }

// parseSegmentName returns the first zxid of a segment file name, or false
// for a name that is not exactly log.<16 lower-case hex digits>.
func parseSegmentName(name string) (int64, bool) {
	hex, ok := strings.CutPrefix(name, segPrefix)
	if !ok || len(hex) != 16 || strings.ToLower(hex) != hex {
		return 0, false
	}
	v, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return 0, false
	}
	return int64(v), true
}

func encodeSegHeader(first int64) []byte {
	b := make([]byte, segHeaderSize)
	copy(b, segMagic)
	binary.BigEndian.PutUint32(b[4:], segVersion)
	binary.BigEndian.PutUint64(b[8:], uint64(first))
	binary.BigEndian.PutUint32(b[28:], crc32.Checksum(b[:28], castagnoli))
	return b
}

// checkSegHeader validates a header against the zxid in the file name and
// returns a reason when it is bad.
func checkSegHeader(b []byte, first int64) string {
	if len(b) < segHeaderSize {
		return "segment header is incomplete"
	}
	if crc32.Checksum(b[:28], castagnoli) != binary.BigEndian.Uint32(b[28:]) {
		return "segment header checksum mismatch"
	}
	if string(b[:4]) != segMagic {
		return "bad segment magic"
	}
	if v := binary.BigEndian.Uint32(b[4:]); v != segVersion {
		return fmt.Sprintf("unsupported segment format version %d", v)
	}
	for _, c := range b[16:28] {
		if c != 0 {
			return "segment header reserved bytes are not zero"
		}
	}
	if z := int64(binary.BigEndian.Uint64(b[8:])); z != first {
		return fmt.Sprintf("segment header says first zxid %#x, file name says %#x", z, first)
	}
	return ""
}

// appendRecord encodes one record onto buf.
func appendRecord(buf []byte, zxid, durable int64, payload []byte) []byte {
	start := len(buf)
	buf = binary.BigEndian.AppendUint32(buf, uint32(recFixed+len(payload)))
	buf = binary.BigEndian.AppendUint32(buf, 0)
	buf = binary.BigEndian.AppendUint64(buf, uint64(zxid))
	buf = binary.BigEndian.AppendUint64(buf, uint64(durable))
	buf = append(buf, payload...)
	binary.BigEndian.PutUint32(buf[start+4:], crc32.Checksum(buf[start+8:], castagnoli))
	return buf
}

// recHead is a record's fixed header as read from disk.
type recHead struct {
	length  uint32
	crc     uint32
	zxid    int64
	durable int64
}

func parseRecHead(b []byte) recHead {
	return recHead{
		length:  binary.BigEndian.Uint32(b),
		crc:     binary.BigEndian.Uint32(b[4:]),
		zxid:    int64(binary.BigEndian.Uint64(b[8:])),
		durable: int64(binary.BigEndian.Uint64(b[16:])),
	}
}

// size is the record's total size on disk.
func (h recHead) size() int64 { return 8 + int64(h.length) }

// verify checks the CRC of a whole encoded record (header included).
func verifyRecord(rec []byte) bool {
	return crc32.Checksum(rec[8:], castagnoli) == binary.BigEndian.Uint32(rec[4:])
}
