package jute

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrimitivesGolden(t *testing.T) {
	e := NewEncoder(nil)
	e.Int(-2)
	e.Long(0x0102030405060708)
	e.Bool(true)
	e.Bool(false)
	e.Buffer(nil)
	e.Buffer([]byte{})
	e.Buffer([]byte("hi"))
	e.String("/a")
	e.NullString()
	e.Strings(nil)
	e.Strings([]string{"x"})
	want := []byte{
		0xff, 0xff, 0xff, 0xfe,
		1, 2, 3, 4, 5, 6, 7, 8,
		1, 0,
		0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 0,
		0, 0, 0, 2, 'h', 'i',
		0, 0, 0, 2, '/', 'a',
		0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 1, 0, 0, 0, 1, 'x',
	}
	require.Equal(t, want, e.Bytes())

	d := NewDecoder(want, 0)
	assert.Equal(t, int32(-2), d.Int())
	assert.Equal(t, int64(0x0102030405060708), d.Long())
	assert.True(t, d.Bool())
	assert.False(t, d.Bool())
	assert.Nil(t, d.Buffer(), "null buffer")
	b := d.Buffer()
	assert.NotNil(t, b, "empty buffer stays non-nil")
	assert.Empty(t, b)
	assert.Equal(t, []byte("hi"), d.Buffer())
	assert.Equal(t, "/a", d.String())
	assert.Equal(t, "", d.String(), "null string reads as empty")
	assert.Nil(t, d.Strings())
	assert.Equal(t, []string{"x"}, d.Strings())
	require.NoError(t, d.Err())
	assert.Zero(t, d.Remaining())
}

func TestBoundedDecoding(t *testing.T) {
	// A buffer claiming more bytes than the limit.
	d := NewDecoder([]byte{0, 0, 0x10, 0, 1, 2}, 1024)
	assert.Nil(t, d.Buffer())
	var le *LengthError
	require.True(t, errors.As(d.Err(), &le))
	assert.Equal(t, int32(4096), le.Len)

	// Negative lengths other than -1.
	d = NewDecoder([]byte{0xff, 0xff, 0xff, 0xfe}, 0)
	assert.Equal(t, "", d.String())
	require.True(t, errors.As(d.Err(), &le))

	// A length within the limit but past the end of the input.
	d = NewDecoder([]byte{0, 0, 0, 9, 'a'}, 0)
	d.Buffer()
	assert.ErrorIs(t, d.Err(), ErrShort)

	// A vector count that cannot fit in what remains.
	d = NewDecoder([]byte{0, 0, 0x10, 0, 0, 0, 0, 0}, 1<<20)
	assert.Nil(t, d.Strings())
	require.True(t, errors.As(d.Err(), &le))

	// Errors are sticky.
	d = NewDecoder([]byte{1}, 0)
	assert.Zero(t, d.Int())
	assert.ErrorIs(t, d.Err(), ErrShort)
	assert.Zero(t, d.Long())
	assert.ErrorIs(t, d.Err(), ErrShort)
}

// FuzzDecoder checks that no input makes the primitive decoder panic or
// return more than it was given.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, 'h', 'i', 0, 0, 0, 1, 0, 0, 0, 1, 'x'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(b, 1<<16)
		for d.Err() == nil && d.Remaining() > 0 {
			switch d.Byte() % 4 {
			case 0:
				if buf := d.Buffer(); len(buf) > len(b) {
					t.Fatalf("buffer of %d from %d input bytes", len(buf), len(b))
				}
			case 1:
				_ = d.String()
			case 2:
				if s := d.Strings(); len(s) > len(b) {
					t.Fatalf("%d strings from %d input bytes", len(s), len(b))
				}
			case 3:
				d.Long()
			}
		}
		if d.Offset() > len(b) {
			t.Fatalf("offset %d past input %d", d.Offset(), len(b))
		}
	})
}
