package testutil

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago: it
// binds port 0, reads the port the kernel chose and closes the listener.
// Another process can still take the port before the caller binds it; the
// server starters below retry with a fresh port when that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("listen on 127.0.0.1:0: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("close probe listener: %w", err)
	}
	return port, nil
}

// fourLetterTimeout bounds one four-letter-word exchange.
const fourLetterTimeout = 5 * time.Second

// FourLetter sends a four-letter word (ruok, srvr, mntr, ...) to addr over a
// fresh TCP connection and returns everything the server writes before it
// closes the connection.
func FourLetter(addr, word string) (string, error) {
	if len(word) != 4 {
		return "", fmt.Errorf("four-letter word %q: must be 4 bytes", word)
	}
	conn, err := net.DialTimeout("tcp", addr, fourLetterTimeout)
	if err != nil {
		return "", fmt.Errorf("%s to %s: %w", word, addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(fourLetterTimeout)); err != nil {
		return "", fmt.Errorf("%s to %s: set deadline: %w", word, addr, err)
	}
	if _, err := io.WriteString(conn, word); err != nil {
		return "", fmt.Errorf("%s to %s: write: %w", word, addr, err)
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		return string(out), fmt.Errorf("%s to %s: read: %w", word, addr, err)
	}
	return string(out), nil
}

// serving reports whether the server at addr serves clients: it answers
// ruok (with imok, or by saying ruok is not in its whitelist) and then
// grants a session to a real handshake, which it closes again. ZooKeeper
// answers ruok as soon as the port is open, before it serves sessions.
func serving(addr string) bool {
	out, err := FourLetter(addr, "ruok")
	if err != nil || (out != "imok" && !strings.Contains(out, "not in the whitelist")) {
		return false
	}
	return handshake(addr) == nil
}

// handshake opens a session with a minimal ConnectRequest and closes it with
// closeSession, both encoded by hand so that the probe shares no code with
// the servers under test.
func handshake(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, fourLetterTimeout)
	if err != nil {
		return fmt.Errorf("handshake with %s: %w", addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(fourLetterTimeout)); err != nil {
		return fmt.Errorf("handshake with %s: %w", addr, err)
	}
	// ConnectRequest: protocolVersion int, lastZxidSeen long, timeOut int,
	// sessionId long, passwd buffer (16 zero bytes), readOnly bool.
	req := binary.BigEndian.AppendUint32(nil, 0)
	req = binary.BigEndian.AppendUint64(req, 0)
	req = binary.BigEndian.AppendUint32(req, 30000)
	req = binary.BigEndian.AppendUint64(req, 0)
	req = binary.BigEndian.AppendUint32(req, 16)
	req = append(req, make([]byte, 16)...)
	req = append(req, 0)
	if err := writeFrame(conn, req); err != nil {
		return fmt.Errorf("handshake with %s: %w", addr, err)
	}
	resp, err := readFrame(conn)
	if err != nil {
		return fmt.Errorf("handshake with %s: %w", addr, err)
	}
	// ConnectResponse: protocolVersion int, timeOut int, sessionId long, ...
	if len(resp) < 16 || binary.BigEndian.Uint64(resp[8:16]) == 0 {
		return fmt.Errorf("handshake with %s: no session granted", addr)
	}
	// RequestHeader{xid 1, type closeSession (-11)}.
	closeReq := binary.BigEndian.AppendUint32(nil, 1)
	closeReq = binary.BigEndian.AppendUint32(closeReq, uint32(0xFFFFFFF5))
	if err := writeFrame(conn, closeReq); err != nil {
		return fmt.Errorf("close probe session on %s: %w", addr, err)
	}
	if _, err := readFrame(conn); err != nil {
		return fmt.Errorf("close probe session on %s: %w", addr, err)
	}
	return nil
}

func writeFrame(w io.Writer, body []byte) error {
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	_, err := w.Write(append(frame, body...))
	if err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

func readFrame(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, fmt.Errorf("read frame length: %w", err)
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("read frame body: %w", err)
	}
	return body, nil
}
