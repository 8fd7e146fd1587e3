package zab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
)

// The peer protocol is Warren's own (mixing with Java servers is not a
// goal). Every message travels in one frame; all integers are big-endian:
//
//	offset size field
//	     0    2 magic "WZ"
//	     2    1 version (WireVersion)
//	     3    1 kind (Kind)
//	     4    8 from: sender's server id (int64)
//	    12    8 to: receiver's server id (int64)
//	    20    4 payload length (uint32)
//	    24    4 crc32c (Castagnoli) of bytes 0..23 followed by the payload
//	    28    n payload
//
// The payload is the body's fields in declaration order, in jute's
// primitive encoding: int32 and int64 big-endian, bool as one byte 0 or 1
// (other values are rejected), PeerState as one byte, byte slices as an
// int32 length and the bytes, strings as an int32 length and the bytes,
// vectors as an int32 count and the elements (SessionTouch: int64 session,
// int32 timeout; proto.Id: two strings, scheme then id). A nil byte slice
// or vector is written with the length -1 and an empty one with 0, so
// decoding gives back exactly what was encoded: nil stays nil and empty
// stays empty. Strings are never null (-1 is rejected). Every body is
// encoded canonically, so a frame that decodes re-encodes to the same
// bytes; a payload with bytes left after its last field is rejected.
//
// A reader checks, in this order: magic, version (before the checksum, so a
// peer speaking another version gets a clear error even if that version
// checks its frames differently), payload length against its limit (before
// reading or allocating the payload), checksum, kind, then the body.
//
// The first frame on a connection is a Hello naming the sender and the port
// (election or quorum) it believes it dialled.
const (
	// WireVersion is the frame format version this package writes and reads.
	WireVersion = 1

	// MaxFrameSize is the largest payload AppendFrame writes and the
	// default (and ceiling) for the limit of ReadFrame and DecodeFrame.
	// Snapshots are sent in Snap parts well below it.
	MaxFrameSize = 64 << 20

	// FrameHeaderSize is the size of the fixed frame header before the
	// payload.
	FrameHeaderSize = 28

	frameMagic0 = 'W'
	frameMagic1 = 'Z'
)

// KindHello is the kind of the Hello handshake frame.
const KindHello Kind = 64

// Hello is the first frame on every connection between members, in either
// direction: the sender's id, the wire version it speaks, the version of
// its member list, and whether the connection is to the election port
// (true) or the quorum port (false), so a member can drop a connection that
// reached the wrong listener.
type Hello struct {
	ID              int64
	ProtocolVersion int32
	ConfigVersion   int64
	Election        bool
}

// Kind implements Body.
func (Hello) Kind() Kind { return KindHello }

// ErrShortFrame is returned by DecodeFrame when its input holds only part
// of a frame: the caller should read more bytes and try again.
var ErrShortFrame = errors.New("zab: frame incomplete")

// FrameError reports a frame that can never be decoded: bad magic, a version
// this server does not speak, a length over the limit, a checksum mismatch,
// an unknown kind, or a malformed body. The connection it arrived on is out
// of step or corrupt; a transport logs the reason and drops it.
type FrameError struct {
	Reason string
}

func (e *FrameError) Error() string { return "zab: bad frame: " + e.Reason }

func frameErrorf(format string, args ...any) *FrameError {
	return &FrameError{Reason: fmt.Sprintf(format, args...)}
}

var frameCRCTable = crc32.MakeTable(crc32.Castagnoli)

// growChunkFrame is the first allocation step when ReadFrame reads a large
// payload; see ReadFrame.
const growChunkFrame = 64 << 10

// AppendFrame appends m as one frame to dst and returns the extended slice.
// It fails, leaving dst as it was, when m.Body is nil or not one of this
// package's message types (pointers to them included), or when the payload
// would exceed MaxFrameSize.
func AppendFrame(dst []byte, m Message) ([]byte, error) {
	return appendFrameMax(dst, m, MaxFrameSize)
}

func appendFrameMax(dst []byte, m Message, maxPayload int) ([]byte, error) {
	start := len(dst)
	if m.Body == nil {
		return dst, errors.New("zab: cannot encode a message without a body")
	}
	var hdr [FrameHeaderSize]byte
	e := jute.NewEncoder(append(dst, hdr[:]...))
	if !encodeBody(e, m.Body) {
		return dst, fmt.Errorf("zab: cannot encode a message body of type %T", m.Body)
	}
	out := e.Bytes()
	n := len(out) - start - FrameHeaderSize
	if n > maxPayload {
		return out[:start], fmt.Errorf("zab: %s payload of %d bytes exceeds the %d byte frame limit",
			kindName(m.Body.Kind()), n, maxPayload)
	}
	h := out[start : start+FrameHeaderSize]
	h[0], h[1], h[2], h[3] = frameMagic0, frameMagic1, WireVersion, byte(m.Body.Kind())
	binary.BigEndian.PutUint64(h[4:], uint64(m.From))
	binary.BigEndian.PutUint64(h[12:], uint64(m.To))
	binary.BigEndian.PutUint32(h[20:], uint32(n))
	crc := crc32.Update(crc32.Checksum(h[:24], frameCRCTable), frameCRCTable, out[start+FrameHeaderSize:])
	binary.BigEndian.PutUint32(h[24:], crc)
	return out, nil
}

// effectiveLimit maps a caller's payload limit to the one applied.
func effectiveLimit(limit int) int {
	if limit <= 0 || limit > MaxFrameSize {
		return MaxFrameSize
	}
	return limit
}

// checkHeaderPrefix validates as much of a header as h holds (magic and
// version), so garbage is rejected without waiting for a whole header.
func checkHeaderPrefix(h []byte) error {
	if len(h) > 0 && h[0] != frameMagic0 || len(h) > 1 && h[1] != frameMagic1 {
		return frameErrorf("bad magic %q, want %q", h[:min(len(h), 2)], "WZ")
	}
	if len(h) > 2 && h[2] != WireVersion {
		return frameErrorf("peer speaks wire version %d, this server speaks version %d", h[2], WireVersion)
	}
	return nil
}

// payloadLen validates a whole header and returns its payload length.
func payloadLen(h []byte, limit int) (int, error) {
	if err := checkHeaderPrefix(h); err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(h[20:])
	if uint64(n) > uint64(limit) {
		return 0, frameErrorf("payload length %d exceeds the limit of %d bytes", n, limit)
	}
	return int(n), nil
}

// finishFrame checks the CRC and decodes the body of a frame whose header
// is h and payload p. With alias set the decoded byte slices share p's
// storage; otherwise they are copies.
func finishFrame(h, p []byte, alias bool) (Message, error) {
	want := binary.BigEndian.Uint32(h[24:])
	if got := crc32.Update(crc32.Checksum(h[:24], frameCRCTable), frameCRCTable, p); got != want {
		return Message{}, frameErrorf("checksum mismatch (frame says %#08x, computed %#08x)", want, got)
	}
	kind := Kind(h[3])
	r := &wireReader{b: p, alias: alias}
	body, ok := decodeBody(r, kind)
	if !ok {
		return Message{}, frameErrorf("unknown message kind %d", kind)
	}
	if r.err != nil {
		return Message{}, frameErrorf("%s payload: %s", kindName(kind), r.err)
	}
	if k := len(r.b) - r.off; k > 0 {
		return Message{}, frameErrorf("%s payload: %d trailing bytes", kindName(kind), k)
	}
	return Message{
		From: int64(binary.BigEndian.Uint64(h[4:])),
		To:   int64(binary.BigEndian.Uint64(h[12:])),
		Body: body,
	}, nil
}

// DecodeFrame decodes the frame at the start of b and returns the message
// and the number of bytes it took. limit caps the payload length (<= 0 or
// more than MaxFrameSize means MaxFrameSize). It returns ErrShortFrame when
// b holds a valid beginning of a frame but not all of it, and a
// *FrameError for a frame that can never decode. The message does not
// share storage with b.
func DecodeFrame(b []byte, limit int) (Message, int, error) {
	limit = effectiveLimit(limit)
	if len(b) < FrameHeaderSize {
		if err := checkHeaderPrefix(b); err != nil {
			return Message{}, 0, err
		}
		return Message{}, 0, ErrShortFrame
	}
	n, err := payloadLen(b, limit)
	if err != nil {
		return Message{}, 0, err
	}
	if len(b)-FrameHeaderSize < n {
		return Message{}, 0, ErrShortFrame
	}
	m, err := finishFrame(b[:FrameHeaderSize], b[FrameHeaderSize:FrameHeaderSize+n], false)
	if err != nil {
		return Message{}, 0, err
	}
	return m, FrameHeaderSize + n, nil
}

// ReadFrame reads exactly one frame from r and decodes it. limit caps the
// payload length as in DecodeFrame; a longer frame is rejected from its
// header, before any of the payload is read. The payload buffer is grown as
// bytes arrive, so a peer announcing a large frame and sending little
// cannot make the reader allocate much more than it sent.
//
// Errors: io.EOF if r ends before the first byte of a frame; a wrapped
// io.ErrUnexpectedEOF if it ends inside one; *FrameError for a frame that
// can never decode; otherwise r's error, wrapped.
func ReadFrame(r io.Reader, limit int) (Message, error) {
	limit = effectiveLimit(limit)
	var h [FrameHeaderSize]byte
	if k, err := io.ReadFull(r, h[:]); err != nil {
		if k == 0 && errors.Is(err, io.EOF) {
			return Message{}, io.EOF
		}
		if ferr := checkHeaderPrefix(h[:k]); ferr != nil {
			return Message{}, ferr
		}
		return Message{}, fmt.Errorf("zab: frame header: %w", unexpectedEOF(err))
	}
	n, err := payloadLen(h[:], limit)
	if err != nil {
		return Message{}, err
	}
	var p []byte
	for len(p) < n {
		step := min(n-len(p), max(len(p), growChunkFrame))
		p = slices.Grow(p, step)
		k, err := io.ReadFull(r, p[len(p):len(p)+step])
		p = p[:len(p)+k]
		if err != nil {
			return Message{}, fmt.Errorf("zab: %s frame payload: %w", kindName(Kind(h[3])), unexpectedEOF(err))
		}
	}
	return finishFrame(h[:], p, true)
}

// unexpectedEOF maps io.EOF inside a frame to io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// kindName names a kind for error messages.
func kindName(k Kind) string {
	switch k {
	case KindNotification:
		return "NOTIFICATION"
	case KindRequest:
		return "REQUEST"
	case KindProposal:
		return "PROPOSAL"
	case KindAck:
		return "ACK"
	case KindCommit:
		return "COMMIT"
	case KindPing:
		return "PING"
	case KindRevalidate:
		return "REVALIDATE"
	case KindSync:
		return "SYNC"
	case KindInform:
		return "INFORM"
	case KindNewLeader:
		return "NEWLEADER"
	case KindFollowerInfo:
		return "FOLLOWERINFO"
	case KindUpToDate:
		return "UPTODATE"
	case KindDiff:
		return "DIFF"
	case KindTrunc:
		return "TRUNC"
	case KindSnap:
		return "SNAP"
	case KindLeaderInfo:
		return "LEADERINFO"
	case KindAckEpoch:
		return "ACKEPOCH"
	case KindRevalidateReply:
		return "REVALIDATEREPLY"
	case KindSyncRequest:
		return "SYNCREQUEST"
	case KindHello:
		return "HELLO"
	}
	return fmt.Sprintf("kind %d", k)
}

// encodeBody appends b's payload; it reports false for a type it does not
// know.
func encodeBody(e *jute.Encoder, b Body) bool {
	switch v := b.(type) {
	case Notification:
		e.Byte(byte(v.State))
		e.Long(v.Vote.Leader)
		e.Long(v.Vote.Zxid)
		e.Long(v.Vote.PeerEpoch)
		e.Long(v.ElectionEpoch)
		e.Long(v.ConfigVersion)
		e.Buffer(v.Config)
	case FollowerInfo:
		e.Long(v.AcceptedEpoch)
		e.Long(v.LastZxid)
		e.Bool(v.Observer)
		e.Long(v.ConfigVersion)
	case LeaderInfo:
		e.Long(v.NewEpoch)
	case AckEpoch:
		e.Long(v.CurrentEpoch)
		e.Long(v.LastZxid)
		e.Long(v.LogStart)
	case Diff:
		e.Long(v.LeaderZxid)
	case Trunc:
		e.Long(v.Zxid)
	case Snap:
		e.Long(v.Zxid)
		e.Buffer(v.Data)
		e.Bool(v.Last)
	case Proposal:
		e.Long(v.Zxid)
		e.Buffer(v.Txn)
	case Ack:
		e.Long(v.Zxid)
	case Commit:
		e.Long(v.Zxid)
	case Inform:
		e.Long(v.Zxid)
		e.Buffer(v.Txn)
	case NewLeader:
		e.Long(v.Zxid)
		e.Buffer(v.Config)
		e.Buffer(v.Secret)
	case UpToDate:
	case Ping:
		e.Long(v.Round)
		if v.Touched == nil {
			e.Int(-1)
			break
		}
		e.Int(int32(len(v.Touched)))
		for _, t := range v.Touched {
			e.Long(t.Session)
			e.Int(t.Timeout)
		}
	case Request:
		e.Long(v.Session)
		e.Int(v.Cxid)
		e.Int(int32(v.Type))
		e.Buffer(v.Body)
		if v.Auth == nil {
			e.Int(-1)
			break
		}
		e.Int(int32(len(v.Auth)))
		for i := range v.Auth {
			v.Auth[i].Encode(e)
		}
	case Revalidate:
		e.Long(v.Session)
		e.Int(v.Timeout)
	case RevalidateReply:
		e.Long(v.Session)
		e.Bool(v.Valid)
		e.Int(v.Timeout)
	case SyncRequest:
		e.Long(v.Session)
		e.Int(v.Cxid)
		e.String(v.Path)
	case Sync:
		e.Long(v.Session)
		e.Int(v.Cxid)
		e.String(v.Path)
		e.Long(v.Zxid)
	case Hello:
		e.Long(v.ID)
		e.Int(v.ProtocolVersion)
		e.Long(v.ConfigVersion)
		e.Bool(v.Election)
	default:
		return false
	}
	return true
}

// decodeBody decodes a payload of the given kind; it reports false for an
// unknown kind. Field errors are left in r.err.
func decodeBody(r *wireReader, k Kind) (Body, bool) {
	switch k {
	case KindNotification:
		var v Notification
		st := r.byte()
		if st > byte(Observing) {
			r.fail(fmt.Errorf("unknown peer state %d", st))
		}
		v.State = PeerState(st)
		v.Vote.Leader = r.long()
		v.Vote.Zxid = r.long()
		v.Vote.PeerEpoch = r.long()
		v.ElectionEpoch = r.long()
		v.ConfigVersion = r.long()
		v.Config = r.buffer()
		return v, true
	case KindFollowerInfo:
		return FollowerInfo{AcceptedEpoch: r.long(), LastZxid: r.long(), Observer: r.bool(), ConfigVersion: r.long()}, true
	case KindLeaderInfo:
		return LeaderInfo{NewEpoch: r.long()}, true
	case KindAckEpoch:
		return AckEpoch{CurrentEpoch: r.long(), LastZxid: r.long(), LogStart: r.long()}, true
	case KindDiff:
		return Diff{LeaderZxid: r.long()}, true
	case KindTrunc:
		return Trunc{Zxid: r.long()}, true
	case KindSnap:
		return Snap{Zxid: r.long(), Data: r.buffer(), Last: r.bool()}, true
	case KindProposal:
		return Proposal{Zxid: r.long(), Txn: r.buffer()}, true
	case KindAck:
		return Ack{Zxid: r.long()}, true
	case KindCommit:
		return Commit{Zxid: r.long()}, true
	case KindInform:
		return Inform{Zxid: r.long(), Txn: r.buffer()}, true
	case KindNewLeader:
		return NewLeader{Zxid: r.long(), Config: r.buffer(), Secret: r.buffer()}, true
	case KindUpToDate:
		return UpToDate{}, true
	case KindPing:
		v := Ping{Round: r.long()}
		if n := r.vectorLen(12); n >= 0 {
			v.Touched = make([]SessionTouch, n)
			for i := range v.Touched {
				v.Touched[i] = SessionTouch{Session: r.long(), Timeout: r.int()}
			}
		}
		return v, true
	case KindRequest:
		v := Request{Session: r.long(), Cxid: r.int(), Type: proto.OpCode(r.int()), Body: r.buffer()}
		if n := r.vectorLen(8); n >= 0 {
			v.Auth = make([]proto.Id, n)
			for i := range v.Auth {
				v.Auth[i] = proto.Id{Scheme: r.string(), ID: r.string()}
			}
		}
		return v, true
	case KindRevalidate:
		return Revalidate{Session: r.long(), Timeout: r.int()}, true
	case KindRevalidateReply:
		return RevalidateReply{Session: r.long(), Valid: r.bool(), Timeout: r.int()}, true
	case KindSyncRequest:
		return SyncRequest{Session: r.long(), Cxid: r.int(), Path: r.string()}, true
	case KindSync:
		return Sync{Session: r.long(), Cxid: r.int(), Path: r.string(), Zxid: r.long()}, true
	case KindHello:
		return Hello{ID: r.long(), ProtocolVersion: r.int(), ConfigVersion: r.long(), Election: r.bool()}, true
	}
	return nil, false
}

// errPayloadShort is the body error for a payload that ends inside a field.
var errPayloadShort = errors.New("truncated")

// wireReader decodes a payload strictly: booleans must be 0 or 1, strings
// must not be null, and every length is checked against the bytes present
// before anything is sliced or allocated. Errors are sticky: after the
// first, reads return zero values.
type wireReader struct {
	b     []byte
	off   int
	alias bool // byte slices share b's storage instead of being copied
	err   error
}

func (r *wireReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *wireReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b)-r.off {
		r.fail(errPayloadShort)
		return nil
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

func (r *wireReader) byte() byte {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *wireReader) bool() bool {
	switch c := r.byte(); c {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail(fmt.Errorf("boolean byte %d is neither 0 nor 1", c))
		return false
	}
}

func (r *wireReader) int() int32 {
	if p := r.take(4); p != nil {
		return int32(binary.BigEndian.Uint32(p))
	}
	return 0
}

func (r *wireReader) long() int64 {
	if p := r.take(8); p != nil {
		return int64(binary.BigEndian.Uint64(p))
	}
	return 0
}

// length reads a length prefix and checks it against the remaining bytes,
// each element taking at least minElem bytes. It returns -1 for the null
// marker when nullable, and -2 on error.
func (r *wireReader) length(minElem int, nullable bool) int {
	n := r.int()
	if r.err != nil {
		return -2
	}
	if n == -1 && nullable {
		return -1
	}
	if n < 0 || int(n) > (len(r.b)-r.off)/minElem {
		r.fail(fmt.Errorf("length %d out of range (%d bytes left)", n, len(r.b)-r.off))
		return -2
	}
	return int(n)
}

// buffer reads a byte slice; the null marker gives nil.
func (r *wireReader) buffer() []byte {
	n := r.length(1, true)
	if n < 0 {
		return nil
	}
	p := r.take(n)
	if r.alias {
		return p
	}
	return append([]byte{}, p...)
}

// string reads a non-null string.
func (r *wireReader) string() string {
	n := r.length(1, false)
	if n < 0 {
		return ""
	}
	return string(r.take(n))
}

// vectorLen reads a vector's element count (-1 for null or on error), each
// element taking at least minElem bytes.
func (r *wireReader) vectorLen(minElem int) int {
	n := r.length(minElem, true)
	if n < 0 {
		return -1
	}
	return n
}
