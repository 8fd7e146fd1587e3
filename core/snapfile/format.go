// Package snapfile owns the container file of a Warren snapshot: how a
// snapshot of the server's state reaches the disk atomically, how it is
// framed and checksummed, how it is read back with every byte verified, and
// how old snapshots are listed and purged. What the payload means (the tree
// and session records) is another package's business: here it is an opaque
// byte stream, together with a Meta header (zxid, tree digest, counts).
//
// A snapshot is written to a temporary file (snapshot.<zxid>.tmp), fsynced,
// renamed to snapshot.<zxid> and its directory fsynced, so a crash leaves
// either no snapshot under the final name or a complete one. A Reader hands
// out payload bytes only after their block checksum has verified, and
// reports io.EOF only after the trailer (block count, payload length and a
// checksum of the whole payload) has verified, so a truncated or damaged
// file is never mistaken for a complete one: damage is a *CorruptionError
// naming the file and offset, and a file-system error (EIO, ENOSPC) is
// returned wrapped as it is. All file access goes through internal/vfs.
package snapfile

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"
	"strings"
)

// On-disk format (all integers big-endian).
//
// A snapshot file starts with a 64-byte header:
//
//	magic "WSNP" | version uint32 | zxid int64 | digest uint64 | nodes int64 |
//	sessions int64 | created int64 | 12 reserved zero bytes | crc32c uint32
//
// where the CRC (Castagnoli) covers the 60 bytes before it. Blocks follow
// back to back:
//
//	length uint32 | crc32c uint32 | payload (length bytes)
//
// with 1 <= length <= MaxBlockSize and the CRC covering the length field and
// the payload. A 40-byte trailer ends the file; its first field is the
// marker 0xFFFFFFFF where a block has its length:
//
//	marker uint32 | crc32c uint32 | blocks uint64 | payload length uint64 |
//	payload crc32c uint32 | zxid int64 | magic "WSNE"
//
// where the trailer's CRC covers the 32 bytes after it, the payload CRC is
// the CRC of the whole payload (all blocks' payloads in order), and zxid
// repeats the header's. Nothing may follow the trailer.
const (
	headerMagic   = "WSNP"
	trailerMagic  = "WSNE"
	formatVersion = 1
	headerSize    = 64
	headerCRCAt   = 60
	blockHeadSize = 8
	trailerSize   = 40
	trailerMarker = math.MaxUint32

	namePrefix = "snapshot."
	tmpSuffix  = ".tmp"
)

// MaxBlockSize is the largest payload of one block. Writers cut the payload
// into blocks of this size; readers reject a larger length as corruption
// before allocating anything for it.
const MaxBlockSize = 256 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FileName is the name of the snapshot of the state at zxid:
// "snapshot.<16 lower-case hex digits of zxid>".
func FileName(zxid int64) string { return fmt.Sprintf("%s%016x", namePrefix, uint64(zxid)) }

// tmpName is the name a snapshot is written under until it is committed.
func tmpName(zxid int64) string { return FileName(zxid) + tmpSuffix }

// ParseName returns the zxid of a committed snapshot's file name, or false
// for any name that FileName does not produce for a non-negative zxid
// (temporary files included).
func ParseName(name string) (zxid int64, ok bool) {
	hex, ok := strings.CutPrefix(name, namePrefix)
	if !ok || len(hex) != 16 || strings.ToLower(hex) != hex {
		return 0, false
	}
	v, err := strconv.ParseUint(hex, 16, 64)
	if err != nil || v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// parseTmpName returns the zxid of a temporary snapshot file's name.
func parseTmpName(name string) (int64, bool) {
	base, ok := strings.CutSuffix(name, tmpSuffix)
	if !ok {
		return 0, false
	}
	return ParseName(base)
}

// Meta is what a snapshot's header says about the state inside it.
type Meta struct {
	Zxid     int64  // last transaction applied to the state
	Digest   uint64 // the tree's digest at Zxid (opaque to this package)
	Nodes    int64  // znode count
	Sessions int64  // session count
	Created  int64  // unix ms when the snapshot began (informational)
}

// check returns why m cannot describe a snapshot, or "".
func (m Meta) check() string {
	switch {
	case m.Zxid < 0:
		return fmt.Sprintf("negative zxid %d", m.Zxid)
	case m.Nodes < 0:
		return fmt.Sprintf("negative node count %d", m.Nodes)
	case m.Sessions < 0:
		return fmt.Sprintf("negative session count %d", m.Sessions)
	}
	return ""
}

func encodeHeader(m Meta) []byte {
	b := make([]byte, headerSize)
	copy(b, headerMagic)
	binary.BigEndian.PutUint32(b[4:], formatVersion)
	binary.BigEndian.PutUint64(b[8:], uint64(m.Zxid))
	binary.BigEndian.PutUint64(b[16:], m.Digest)
	binary.BigEndian.PutUint64(b[24:], uint64(m.Nodes))
	binary.BigEndian.PutUint64(b[32:], uint64(m.Sessions))
	binary.BigEndian.PutUint64(b[40:], uint64(m.Created))
	binary.BigEndian.PutUint32(b[headerCRCAt:], crc32.Checksum(b[:headerCRCAt], castagnoli))
	return b
}

// decodeHeader validates a full header and returns its Meta, or a reason
// when it is bad.
func decodeHeader(b []byte) (Meta, string) {
	if crc32.Checksum(b[:headerCRCAt], castagnoli) != binary.BigEndian.Uint32(b[headerCRCAt:]) {
		if string(b[:4]) != headerMagic {
			return Meta{}, fmt.Sprintf("not a snapshot file (magic %q, want %q)", b[:4], headerMagic)
		}
		return Meta{}, "header checksum mismatch"
	}
	if string(b[:4]) != headerMagic {
		return Meta{}, fmt.Sprintf("bad magic %q", b[:4])
	}
	if v := binary.BigEndian.Uint32(b[4:]); v != formatVersion {
		return Meta{}, fmt.Sprintf("unsupported snapshot format version %d (this build reads %d)", v, formatVersion)
	}
	for _, c := range b[48:headerCRCAt] {
		if c != 0 {
			return Meta{}, "header reserved bytes are not zero"
		}
	}
	m := Meta{
		Zxid:     int64(binary.BigEndian.Uint64(b[8:])),
		Digest:   binary.BigEndian.Uint64(b[16:]),
		Nodes:    int64(binary.BigEndian.Uint64(b[24:])),
		Sessions: int64(binary.BigEndian.Uint64(b[32:])),
		Created:  int64(binary.BigEndian.Uint64(b[40:])),
	}
	if r := m.check(); r != "" {
		return Meta{}, "header has a " + r
	}
	return m, ""
}

// blockCRC is the checksum of a block: its length field, then its payload.
func blockCRC(head []byte, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(head[:4], castagnoli), castagnoli, payload)
}

// trailer is what the last frame of a file says about the payload.
type trailer struct {
	blocks uint64
	length uint64
	crc    uint32
	zxid   int64
}

func encodeTrailer(t trailer) []byte {
	b := make([]byte, trailerSize)
	binary.BigEndian.PutUint32(b, trailerMarker)
	binary.BigEndian.PutUint64(b[8:], t.blocks)
	binary.BigEndian.PutUint64(b[16:], t.length)
	binary.BigEndian.PutUint32(b[24:], t.crc)
	binary.BigEndian.PutUint64(b[28:], uint64(t.zxid))
	copy(b[36:], trailerMagic)
	binary.BigEndian.PutUint32(b[4:], crc32.Checksum(b[8:], castagnoli))
	return b
}

// decodeTrailer checks a full trailer's own checksum and magic.
func decodeTrailer(b []byte) (trailer, string) {
	if crc32.Checksum(b[8:trailerSize], castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return trailer{}, "trailer checksum mismatch"
	}
	if string(b[36:40]) != trailerMagic {
		return trailer{}, fmt.Sprintf("bad trailer magic %q", b[36:40])
	}
	return trailer{
		blocks: binary.BigEndian.Uint64(b[8:]),
		length: binary.BigEndian.Uint64(b[16:]),
		crc:    binary.BigEndian.Uint32(b[24:]),
		zxid:   int64(binary.BigEndian.Uint64(b[28:])),
	}, ""
}
