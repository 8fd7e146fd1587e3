package sasl

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// Client-side errors. Every one means the exchange failed and is over.
var (
	// ErrNoChallenge: the server answered the initial (empty) token with an
	// empty challenge, which is what a server without SASL configured does.
	ErrNoChallenge = errors.New("sasl: server sent no DIGEST-MD5 challenge (SASL not configured on the server?)")
	// ErrBadChallenge: the server's challenge violates RFC 2831 or asks for
	// something this client does not do (a qop other than auth, another
	// algorithm).
	ErrBadChallenge = errors.New("sasl: malformed or unsupported DIGEST-MD5 challenge")
	// ErrBadRspauth: the server's final token is not the rspauth the
	// password implies: the server does not know the password.
	ErrBadRspauth = errors.New("sasl: DIGEST-MD5 server response-auth does not match")
)

// ClientMaxbuf is the maxbuf the JDK's DIGEST-MD5 client announces.
const ClientMaxbuf = "65536"

// Client is the client side of one DIGEST-MD5 exchange with a ZooKeeper
// server, producing the tokens ZooKeeper's Java client (the JDK's
// DigestMD5Client) sends: the initial token is empty (the mechanism has no
// initial response), Respond answers the challenge, Verify checks the
// server's rspauth. It is pure: the client nonce is given by the caller.
type Client struct {
	user, password string
	cnonce         string
	keys           digestKeys
	responded      bool
}

// NewClient starts an exchange as user with password. cnonce must be fresh
// and unpredictable, e.g. EncodeNonce of NonceLen bytes from crypto/rand
// (the JDK's client nonce has the same form as its server nonce).
func NewClient(user, password, cnonce string) *Client {
	return &Client{user: user, password: password, cnonce: cnonce}
}

// Respond computes the digest-response to the server's challenge, with the
// directives, in the order and form the Java client uses: charset (when the
// server offered utf-8), username, realm (the server's first realm), nonce,
// nc=00000001, cnonce, digest-uri "zookeeper/zk-sasl-md5", maxbuf=65536,
// response, qop=auth and authzid (the user name).
func (c *Client) Respond(challenge []byte) ([]byte, error) {
	if c.responded {
		return nil, ErrState
	}
	c.responded = true
	if len(challenge) == 0 {
		return nil, ErrNoChallenge
	}
	d, err := parseChallenge(challenge)
	if err != nil {
		return nil, err
	}
	nonce := d["nonce"]
	if len(nonce) != 1 || nonce[0] == "" {
		return nil, fmt.Errorf("%w: want exactly one nonce", ErrBadChallenge)
	}
	if alg := d["algorithm"]; len(alg) != 1 || !strings.EqualFold(alg[0], "md5-sess") {
		return nil, fmt.Errorf("%w: algorithm %q, want md5-sess", ErrBadChallenge, alg)
	}
	if qops, ok := d["qop"]; ok {
		offered := false
		for _, q := range qops {
			for _, v := range strings.Split(q, ",") {
				if strings.TrimSpace(v) == "auth" {
					offered = true
				}
			}
		}
		if !offered {
			return nil, fmt.Errorf("%w: qop auth not offered (%q)", ErrBadChallenge, qops)
		}
	}
	utf8 := false
	if cs, ok := d["charset"]; ok {
		if len(cs) != 1 || !strings.EqualFold(cs[0], "utf-8") {
			return nil, fmt.Errorf("%w: charset %q", ErrBadChallenge, cs)
		}
		utf8 = true
	}
	realm := ""
	if r := d["realm"]; len(r) > 0 {
		realm = r[0]
	}
	authzid := c.user
	c.keys = digestKeys{username: c.user, realm: realm, password: c.password, nonce: nonce[0], cnonce: c.cnonce,
		authzid: &authzid, qop: "auth", digestURI: DigestURI}

	var b bytes.Buffer
	if utf8 {
		b.WriteString("charset=utf-8,")
	}
	b.WriteString(`username="`)
	writeQuoted(&b, c.user)
	b.WriteString(`",realm="`)
	writeQuoted(&b, realm)
	b.WriteString(`",nonce="`)
	writeQuoted(&b, nonce[0])
	b.WriteString(`",nc=` + nonceCount + `,cnonce="`)
	writeQuoted(&b, c.cnonce)
	b.WriteString(`",digest-uri="` + DigestURI + `",maxbuf=` + ClientMaxbuf + `,response=`)
	b.Write(responseValue(c.keys, "AUTHENTICATE"))
	b.WriteString(`,qop=auth,authzid="`)
	writeQuoted(&b, authzid)
	b.WriteString(`"`)
	return b.Bytes(), nil
}

// Verify checks the server's final token, "rspauth=<32 hex>", against the
// value the password implies. Only after it returns nil is the server known
// to hold the password.
func (c *Client) Verify(final []byte) error {
	if !c.responded || c.keys.nonce == "" {
		return ErrState
	}
	d, err := parseChallenge(final)
	if err != nil {
		return err
	}
	got := d["rspauth"]
	if len(got) != 1 {
		return fmt.Errorf("%w: no rspauth in %q", ErrBadRspauth, final)
	}
	want := responseValue(c.keys, "")
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(got[0])), want) != 1 {
		return ErrBadRspauth
	}
	return nil
}

// parseChallenge splits a digest-challenge (or the final rspauth token)
// into its directives, keyed by lower-case name, values unquoted, every
// occurrence kept in order (a challenge may repeat realm).
func parseChallenge(b []byte) (map[string][]string, error) {
	out := map[string][]string{}
	i := 0
	for {
		for i < len(b) && (isLWS(b[i]) || b[i] == ',') {
			i++
		}
		if i >= len(b) {
			return out, nil
		}
		start := i
		for i < len(b) && b[i] != '=' && b[i] != ',' && !isLWS(b[i]) {
			i++
		}
		key := strings.ToLower(string(b[start:i]))
		i = skipLWS(b, i)
		if i >= len(b) || b[i] != '=' || key == "" {
			return nil, fmt.Errorf("%w: directive %q without a value", ErrBadChallenge, key)
		}
		i = skipLWS(b, i+1)
		var val []byte
		if i < len(b) && b[i] == '"' {
			i++
			closed := false
			for i < len(b) {
				ch := b[i]
				i++
				if ch == '\\' && i < len(b) {
					val = append(val, b[i])
					i++
					continue
				}
				if ch == '"' {
					closed = true
					break
				}
				val = append(val, ch)
			}
			if !closed {
				return nil, fmt.Errorf("%w: unterminated quoted value of %q", ErrBadChallenge, key)
			}
		} else {
			for i < len(b) && b[i] != ',' && !isLWS(b[i]) {
				val = append(val, b[i])
				i++
			}
		}
		out[key] = append(out[key], string(val))
		i = skipLWS(b, i)
		if i < len(b) && b[i] != ',' {
			return nil, fmt.Errorf("%w: ',' expected after %q", ErrBadChallenge, key)
		}
	}
}
