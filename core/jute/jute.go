// Package jute implements the primitive encoding of Apache ZooKeeper's jute
// serialization (BinaryOutputArchive / BinaryInputArchive): big-endian ints
// and longs, one-byte booleans, length-prefixed buffers, strings and vectors
// with -1 as the null marker.
//
// Decoding is bounded: every embedded length is checked against a limit and
// against the bytes actually present, so a hostile frame can never make the
// decoder allocate more than the frame it was given. Errors are sticky: after
// the first failure every further read returns a zero value and Err reports
// the first cause.
package jute

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// DefaultMaxBuffer is ZooKeeper's default jute.maxbuffer (0xfffff bytes).
const DefaultMaxBuffer = 0xfffff

// ErrShort is reported when a record needs more bytes than the input holds.
var ErrShort = errors.New("jute: record truncated")

// LengthError reports an embedded length that is negative (other than the -1
// null marker) or larger than the decoder's limit ("Unreasonable length" in
// ZooKeeper).
type LengthError struct {
	Len   int32
	Limit int
}

func (e *LengthError) Error() string {
	return fmt.Sprintf("jute: unreasonable length %d (limit %d)", e.Len, e.Limit)
}

// Encoder appends jute-encoded values to a byte slice. The zero value is
// ready to use.
type Encoder struct {
	B []byte
}

// NewEncoder returns an encoder that appends to buf (which may be nil).
func NewEncoder(buf []byte) *Encoder { return &Encoder{B: buf} }

// Bytes returns everything encoded so far.
func (e *Encoder) Bytes() []byte { return e.B }

// Len is the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.B) }

// Reset empties the encoder, keeping its storage.
func (e *Encoder) Reset() { e.B = e.B[:0] }

// Byte writes one raw byte.
func (e *Encoder) Byte(v byte) { e.B = append(e.B, v) }

// Bool writes 1 for true and 0 for false.
func (e *Encoder) Bool(v bool) {
	if v {
		e.B = append(e.B, 1)
	} else {
		e.B = append(e.B, 0)
	}
}

// Int writes a big-endian 32-bit integer.
func (e *Encoder) Int(v int32) { e.B = binary.BigEndian.AppendUint32(e.B, uint32(v)) }

// Long writes a big-endian 64-bit integer.
func (e *Encoder) Long(v int64) { e.B = binary.BigEndian.AppendUint64(e.B, uint64(v)) }

// Buffer writes a length-prefixed byte slice; nil is written as length -1.
func (e *Encoder) Buffer(v []byte) {
	if v == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(v)))
	e.B = append(e.B, v...)
}

// String writes a length-prefixed UTF-8 string (never null).
func (e *Encoder) String(v string) {
	e.Int(int32(len(v)))
	e.B = append(e.B, v...)
}

// NullString writes the null string marker (length -1).
func (e *Encoder) NullString() { e.Int(-1) }

// Strings writes a vector of strings; nil is written as the null vector (-1).
func (e *Encoder) Strings(v []string) {
	if v == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(v)))
	for _, s := range v {
		e.String(s)
	}
}

// Decoder reads jute-encoded values from a byte slice.
type Decoder struct {
	b     []byte
	off   int
	limit int
	err   error
}

// NewDecoder reads from b; limit bounds every embedded length (use the
// server's jute.maxbuffer; values <= 0 mean DefaultMaxBuffer).
func NewDecoder(b []byte, limit int) *Decoder {
	if limit <= 0 {
		limit = DefaultMaxBuffer
	}
	return &Decoder{b: b, limit: limit}
}

// Err returns the first decoding error, or nil.
func (d *Decoder) Err() error { return d.err }

// Fail records err as the decoder's error unless one is already recorded.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Remaining is the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Offset is the number of bytes consumed.
func (d *Decoder) Offset() int { return d.off }

// Rest returns the unread bytes without consuming them.
func (d *Decoder) Rest() []byte { return d.b[d.off:] }

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b)-d.off {
		d.err = ErrShort
		d.off = len(d.b)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

// Byte reads one raw byte.
func (d *Decoder) Byte() byte {
	p := d.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

// Bool reads one byte; any non-zero value is true (as Java reads it).
func (d *Decoder) Bool() bool { return d.Byte() != 0 }

// Int reads a big-endian 32-bit integer.
func (d *Decoder) Int() int32 {
	p := d.take(4)
	if p == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(p))
}

// Long reads a big-endian 64-bit integer.
func (d *Decoder) Long() int64 {
	p := d.take(8)
	if p == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(p))
}

// length reads a length prefix; it returns -1 for null and -2 on error.
func (d *Decoder) length() int {
	n := d.Int()
	if d.err != nil {
		return -2
	}
	if n == -1 {
		return -1
	}
	if n < 0 || int(n) > d.limit {
		d.Fail(&LengthError{Len: n, Limit: d.limit})
		return -2
	}
	if int(n) > len(d.b)-d.off {
		d.Fail(ErrShort)
		return -2
	}
	return int(n)
}

// Buffer reads a length-prefixed byte slice; the null marker gives nil. The
// result aliases the decoder's input; copy it if the input is reused.
func (d *Decoder) Buffer() []byte {
	n := d.length()
	if n < 0 {
		return nil
	}
	return d.take(n)
}

// String reads a length-prefixed string; the null marker gives "".
func (d *Decoder) String() string {
	n := d.length()
	if n < 0 {
		return ""
	}
	return string(d.take(n))
}

// VectorLen reads a vector's element count: -1 for a null vector, and an
// error if the count could not possibly fit in the remaining input given
// that every element takes at least minElem bytes.
func (d *Decoder) VectorLen(minElem int) int {
	n := d.Int()
	if d.err != nil {
		return -1
	}
	if n == -1 {
		return -1
	}
	if minElem < 1 {
		minElem = 1
	}
	if n < 0 || int(n) > d.limit || int(n) > (len(d.b)-d.off)/minElem {
		d.Fail(&LengthError{Len: n, Limit: d.limit})
		return -1
	}
	return int(n)
}

// Strings reads a vector of strings; the null vector gives nil.
func (d *Decoder) Strings() []string {
	n := d.VectorLen(4)
	if n < 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.String())
	}
	return out
}
