package zkwire

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/proto"
)

var writeCorpus = flag.Bool("write-corpus", false,
	"regenerate the testdata/fuzz seed corpora from testdata/captured (go test -run TestWriteSeedCorpus -write-corpus)")

// Fuzz properties, for every target: never panic; never return a buffer or
// record much larger than the input; whatever decodes re-encodes to bytes
// that decode to the same value, no longer than the input (every field
// re-encodes to its own size; only non-canonical values such as a boolean 2,
// a null string or a multi header's ignored fields change, never the size).

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Add([]byte{0x16, 3, 1, 0, 0xa5})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0x0f, 0xff, 0xff, 1, 2, 3})
	f.Fuzz(checkReadFrame)
}

func checkReadFrame(t *testing.T, data []byte) {
	r := bufio.NewReader(bytes.NewReader(data))
	buf := make([]byte, 0, 32)
	var consumed []byte
	// A megabyte of zeros is 262144 empty frames; a few hundred frames say
	// as much and keep each run fast.
	for range 256 {
		frame, err := ReadFrame(r, buf, DefaultMaxFrame)
		if err != nil {
			var se *FrameSizeError
			ok := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
				errors.Is(err, ErrHTTP) || errors.Is(err, ErrTLS) || errors.As(err, &se)
			require.True(t, ok, "unexpected error %v", err)
			break
		}
		// Plain checks rather than testify: this runs once per frame.
		if len(frame) > len(data) || cap(frame) > max(cap(buf), 2*len(data)+growChunk) {
			t.Fatalf("frame of len %d cap %d from %d input bytes", len(frame), cap(frame), len(data))
		}
		consumed = binary.BigEndian.AppendUint32(consumed, uint32(len(frame)))
		consumed = append(consumed, frame...)
	}
	require.True(t, bytes.HasPrefix(data, consumed), "frames do not reassemble into the input")
}

func FuzzParseConnectRequest(f *testing.F) {
	f.Add(connectPayload(16))
	f.Add(connectPayload(-1, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseConnectRequest(data)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedConnect)
			return
		}
		require.LessOrEqual(t, len(req.Passwd), len(data))
		enc := AppendConnectRequest(nil, req)[4:]
		require.LessOrEqual(t, len(enc), len(data))
		// Every field is canonical except a readOnly byte other than 0 or 1.
		if !req.HasReadOnly || data[len(enc)-1] <= 1 {
			require.Equal(t, data[:len(enc)], enc)
		}
		again, err := ParseConnectRequest(enc)
		require.NoError(t, err)
		require.Equal(t, req, again)
	})
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 50})
	f.Fuzz(func(t *testing.T, data []byte) {
		hdr, rec, err := DecodeRequest(data, DefaultMaxFrame)
		if err != nil {
			var ue *UnknownOpError
			var be *BodyError
			ok := errors.Is(err, ErrShortHeader) || errors.As(err, &ue) || errors.As(err, &be)
			require.True(t, ok, "unexpected error %v", err)
			require.Nil(t, rec)
			return
		}
		enc := AppendRequest(nil, &hdr, rec)[4:]
		require.LessOrEqual(t, len(enc), len(data))
		hdr2, rec2, err := DecodeRequest(enc, DefaultMaxFrame)
		require.NoError(t, err)
		require.Equal(t, hdr, hdr2)
		require.Equal(t, rec, rec2)
		require.Equal(t, enc, AppendRequest(nil, &hdr2, rec2)[4:])
	})
}

func FuzzMultiResponse(f *testing.F) {
	f.Add(proto.Encode(&proto.MultiResponse{}))
	f.Add(proto.Encode(&proto.MultiResponse{Results: []proto.MultiResult{
		{Type: proto.OpCreate, Path: "/a"}, {Type: proto.OpCreate2, Path: "/b"}, {Type: proto.OpSetData},
		{Type: proto.OpGetData, Data: []byte("x")}, {Type: proto.OpGetChildren, Children: []string{"c"}},
		{Type: proto.OpCheck}, {Type: proto.OpDelete}, {Type: proto.OpError, Err: proto.ErrNoNode},
	}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m proto.MultiResponse
		if err := proto.Decode(data, DefaultMaxFrame, &m); err != nil {
			return
		}
		require.LessOrEqual(t, len(m.Results), len(data)/9)
		enc := proto.Encode(&m)
		require.LessOrEqual(t, len(enc), len(data))
		var again proto.MultiResponse
		require.NoError(t, proto.Decode(enc, DefaultMaxFrame, &again))
		require.Equal(t, m, again)
		require.Equal(t, enc, proto.Encode(&again))
	})
}

// TestWriteSeedCorpus regenerates testdata/fuzz/<Target>/ from the captured
// frames. It only runs with -write-corpus; the committed files are what
// `go test` replays.
func TestWriteSeedCorpus(t *testing.T) {
	if !*writeCorpus {
		t.Skip("run with -write-corpus to regenerate the seed corpora")
	}
	seeds := map[string]map[string][]byte{
		"FuzzReadFrame": {}, "FuzzParseConnectRequest": {}, "FuzzDecodeRequest": {}, "FuzzMultiResponse": {},
	}
	streams := map[string][]byte{}
	connects := map[string]bool{}
	pendingMulti := map[string]int32{}
	for _, fr := range loadCaptured(t) {
		dir := "s2c"
		if fr.c2s {
			dir = "c2s"
		}
		conn := fmt.Sprintf("%s-conn%d", fr.file, fr.conn)
		streams[conn+"-"+dir] = append(streams[conn+"-"+dir], fr.raw...)
		name := fmt.Sprintf("%s-line%d", fr.file, fr.line)
		payload := fr.raw[4:]
		switch {
		case fr.c2s && !connects[conn]:
			connects[conn] = true
			seeds["FuzzParseConnectRequest"][name] = payload
		case fr.c2s:
			seeds["FuzzDecodeRequest"][name] = payload
			hdr, _, err := DecodeRequest(payload, DefaultMaxFrame)
			require.NoError(t, err)
			if hdr.Type == proto.OpMulti || hdr.Type == proto.OpMultiRead {
				pendingMulti[conn] = hdr.Xid
			}
		default:
			if xid, ok := pendingMulti[conn]; ok && len(payload) > proto.ReplyHeaderSize &&
				int32(binary.BigEndian.Uint32(payload)) == xid {
				seeds["FuzzMultiResponse"][name] = payload[proto.ReplyHeaderSize:]
				delete(pendingMulti, conn)
			}
		}
	}
	for name, s := range streams {
		seeds["FuzzReadFrame"][name] = s
	}
	for target, files := range seeds {
		require.NotEmpty(t, files, target)
		dir := filepath.Join("testdata", "fuzz", target)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for name, data := range files {
			sum := sha256.Sum256(data)
			file := filepath.Join(dir, "seed-"+name+"-"+hex.EncodeToString(sum[:4]))
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
			require.NoError(t, os.WriteFile(file, []byte(content), 0o644))
		}
	}
}

// TestSeedCorporaPresent guards the committed corpora: each target has seeds
// derived from the captured frames.
func TestSeedCorporaPresent(t *testing.T) {
	for _, target := range []string{"FuzzReadFrame", "FuzzParseConnectRequest", "FuzzDecodeRequest", "FuzzMultiResponse"} {
		files, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "seed-*"))
		require.NoError(t, err)
		assert.NotEmpty(t, files, "%s has no committed seeds", target)
	}
}
