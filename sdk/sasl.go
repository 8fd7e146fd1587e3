package sdk

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"net"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/core/sasl"
	"github.com/warrenhq/warren/core/zkwire"
)

// saslCreds are the credentials of WithSASLDigest.
type saslCreds struct {
	user, password string
}

// WithSASLDigest authenticates the session with SASL DIGEST-MD5 as user, as
// ZooKeeper's Java client does with a JAAS Client section
// (DigestLoginModule username/password): on every connection, right after
// the handshake and before credentials of AddAuth, watches and queued
// calls, the Conn runs the exchange (sasl requests, opcode 102); the
// session then holds the id sasl:<user>. The server's response-auth is
// verified, so a server that does not know the password is refused too.
//
// A failed exchange (wrong password, unknown user, a server without SASL
// configured) ends the Conn with StateAuthFailed and an error matching
// ErrAuthFailed, as ZooKeeper's Java client stops on AuthFailed: Connect
// returns it when it happens on the first connection, later calls return
// it otherwise. The server-side session is left to expire.
func WithSASLDigest(user, password string) Option {
	return func(c *config) { c.sasl = &saslCreds{user: user, password: password} }
}

// saslError is a failed SASL exchange: it ends the Conn. It matches
// ErrAuthFailed and the cause.
type saslError struct {
	user string
	err  error
}

func (e *saslError) Error() string {
	return fmt.Sprintf("sdk: SASL DIGEST-MD5 authentication as %q failed: %v", e.user, e.err)
}

func (e *saslError) Unwrap() []error { return []error{ErrAuthFailed, e.err} }

// saslExchange runs the DIGEST-MD5 exchange on a fresh connection, before
// any other request, synchronously (nc's deadline bounds it). A *saslError
// is a definitive failure; any other error is a transport or protocol
// failure of this connection only.
func (c *Conn) saslExchange(nc net.Conn, br *bufio.Reader, creds *saslCreds) error {
	var rnd [sasl.NonceLen]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("sdk: sasl nonce: %w", err)
	}
	cl := sasl.NewClient(creds.user, creds.password, sasl.EncodeNonce(rnd[:]))
	fail := func(err error) error { return &saslError{user: creds.user, err: err} }

	// DIGEST-MD5 has no initial response: an empty token asks for the
	// challenge.
	challenge, err := c.saslRoundTrip(nc, br, []byte{})
	if err != nil {
		return err
	}
	if challenge == nil {
		return fail(sasl.ErrNoChallenge)
	}
	resp, err := cl.Respond(challenge)
	if err != nil {
		return fail(err)
	}
	final, err := c.saslRoundTrip(nc, br, resp)
	if err != nil {
		return err
	}
	if err := cl.Verify(final); err != nil {
		return fail(err)
	}
	return nil
}

// saslRoundTrip sends one sasl request (an ordinary xid, as the Java
// client) and reads its reply. A reply with an error code (AUTHFAILED) is
// a *saslError; the server closes the connection after it.
func (c *Conn) saslRoundTrip(nc net.Conn, br *bufio.Reader, token []byte) ([]byte, error) {
	c.mu.Lock()
	c.xid++
	if c.xid <= 0 {
		c.xid = 1
	}
	xid := c.xid
	user := c.cfg.sasl.user
	c.mu.Unlock()
	req := zkwire.AppendRequest(nil, &proto.RequestHeader{Xid: xid, Type: proto.OpSASL}, &proto.GetSASLRequest{Token: token})
	if _, err := nc.Write(req); err != nil {
		return nil, fmt.Errorf("sdk: sasl: %w", err)
	}
	frame, err := zkwire.ReadFrame(br, nil, c.cfg.maxFrame)
	if err != nil {
		return nil, fmt.Errorf("sdk: sasl: %w", err)
	}
	var resp proto.SetSASLResponse
	hdr, err := decodeReply(frame, c.cfg.maxFrame, &resp)
	if err != nil {
		return nil, err
	}
	if hdr.Xid != xid {
		return nil, fmt.Errorf("%w: sasl reply xid %d, expected %d", errProtocol, hdr.Xid, xid)
	}
	if hdr.Err != proto.OK {
		return nil, &saslError{user: user, err: hdr.Err}
	}
	return resp.Token, nil
}
