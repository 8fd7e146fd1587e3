// Package zkwire owns the ZooKeeper client protocol as it appears on a byte
// stream: length-prefixed framing, the session handshake (ConnectRequest /
// ConnectResponse with the optional readOnly byte), four-letter-word
// detection on a fresh connection, and decoding a request frame into its
// header and record. It works on byte slices and a *bufio.Reader only; it
// starts no goroutines and does no logging.
//
// A server reads a connection like this: Peek the first 4 bytes and, if
// FourLetterWord recognises them, answer the command and close; otherwise
// ReadFrame the ConnectRequest and ParseConnectRequest it, answer with
// AppendConnectResponse, then loop on ReadFrame + DecodeRequest, writing
// replies with AppendFrame.
//
// Behaviour on malformed input follows Apache ZooKeeper 3.8.0 (observed on
// the real server; see the error types for what a server should send).
package zkwire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/warrenhq/warren/core/jute"
	"github.com/warrenhq/warren/core/proto"
)

// DefaultMaxFrame is ZooKeeper's default jute.maxbuffer: the largest frame
// payload a server accepts and a Java client reads.
const DefaultMaxFrame = jute.DefaultMaxBuffer

// growChunk is the first allocation step when a frame does not fit the
// caller's buffer; see ReadFrame.
const growChunk = 64 << 10

// FrameSizeError reports a length prefix that is negative or larger than the
// frame limit. ZooKeeper closes the connection without a reply.
type FrameSizeError struct {
	Len int32
	Max int
}

func (e *FrameSizeError) Error() string {
	return fmt.Sprintf("zkwire: frame length %d out of range [0, %d]", e.Len, e.Max)
}

// ErrHTTP reports a connection whose first bytes are an HTTP request line
// ("GET ", "POST", "PUT ", "HEAD"): an HTTP client on the client port.
var ErrHTTP = errors.New("zkwire: HTTP request on the ZooKeeper client port")

// ErrTLS reports a connection that starts with a TLS handshake record: a TLS
// client on a plaintext port.
var ErrTLS = errors.New("zkwire: TLS handshake on a plaintext ZooKeeper port")

// checkPrefix validates a length prefix against maxLen.
func checkPrefix(lb [4]byte, maxLen int) (int, error) {
	switch string(lb[:]) {
	case "GET ", "POST", "PUT ", "HEAD":
		return 0, ErrHTTP
	}
	if lb[0] == 0x16 && lb[1] == 0x03 && lb[2] <= 0x04 {
		return 0, ErrTLS
	}
	n := int32(binary.BigEndian.Uint32(lb[:]))
	if n < 0 || int(n) > maxLen {
		return 0, &FrameSizeError{Len: n, Max: maxLen}
	}
	return int(n), nil
}

// ReadFrame reads one frame (a big-endian int32 length and that many bytes)
// from r and returns its payload, without the length prefix.
//
// The payload is read into buf when it fits (the result is then buf[:n], so
// it is only valid until buf is reused); otherwise a new buffer is allocated
// and grown as bytes arrive, so a peer announcing a large frame and sending
// little cannot make the reader allocate much more than it sent.
//
// Errors: io.EOF if r ends cleanly before a frame starts;
// io.ErrUnexpectedEOF (wrapped) if it ends inside a frame; ErrHTTP or ErrTLS
// when the prefix looks like another protocol (checked before the length,
// whatever maxLen is); *FrameSizeError for a length < 0 or > maxLen;
// otherwise the reader's error, wrapped. ZooKeeper closes the connection on
// all of them. ReadFrame does not recognise four-letter words: Peek the
// first 4 bytes of a connection with FourLetterWord before calling it.
func ReadFrame(r *bufio.Reader, buf []byte, maxLen int) ([]byte, error) {
	var lb [4]byte
	if k, err := io.ReadFull(r, lb[:]); err != nil {
		if k == 0 && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("zkwire: frame length: %w", unexpected(err))
	}
	n, err := checkPrefix(lb, maxLen)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []byte{}, nil
	}
	if n <= cap(buf) {
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("zkwire: frame body: %w", unexpected(err))
		}
		return buf, nil
	}
	buf = nil
	for len(buf) < n {
		step := min(n-len(buf), max(len(buf), growChunk))
		buf = slices.Grow(buf, step)
		k, err := io.ReadFull(r, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+k]
		if err != nil {
			return nil, fmt.Errorf("zkwire: frame body: %w", unexpected(err))
		}
	}
	return buf, nil
}

// unexpected maps io.EOF inside a frame to io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendRecords appends one frame holding the given records (nil entries are
// skipped) and patches its length prefix.
func appendRecords(dst []byte, recs ...proto.Record) []byte {
	start := len(dst)
	e := jute.NewEncoder(append(dst, 0, 0, 0, 0))
	for _, r := range recs {
		if r != nil {
			r.Encode(e)
		}
	}
	out := e.Bytes()
	binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-4))
	return out
}

// AppendFrame appends a reply frame (length prefix, header, then body if
// body is non-nil) to dst and returns the extended slice. Per §2.1 a server
// passes a nil body when hdr.Err is non-zero, except for multi replies. The
// frame is not checked against a size limit; a server should watch for
// replies larger than the clients' jute.maxbuffer.
func AppendFrame(dst []byte, hdr *proto.ReplyHeader, body proto.Record) []byte {
	return appendRecords(dst, hdr, body)
}

// AppendRequest appends a request frame (length prefix, header, then body if
// non-nil) to dst, as a client sends it.
func AppendRequest(dst []byte, hdr *proto.RequestHeader, body proto.Record) []byte {
	return appendRecords(dst, hdr, body)
}
