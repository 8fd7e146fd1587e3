package sasl

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cnonceOf extracts the cnonce the Java client used in a captured response.
func cnonceOf(t *testing.T, response string) string {
	t.Helper()
	d, err := parseDirectives([]byte(response))
	require.NoError(t, err)
	return d[dirCnonce]
}

// TestClientReproducesJavaClient: given the captured challenge and the Java
// client's cnonce, Client sends byte for byte what the Java client sent, and
// accepts the captured rspauth.
func TestClientReproducesJavaClient(t *testing.T) {
	passwords := map[string][2]string{ // exchange name -> user, password the Java client used
		"bob":                       {"bob", "bobsecret"},
		"latin-1 user and password": {"josé", "pässwörd"},
		"wrong password":            {"bob", "wrong"},
	}
	for _, tc := range javaExchanges {
		t.Run(tc.name, func(t *testing.T) {
			up := passwords[tc.name]
			c := NewClient(up[0], up[1], cnonceOf(t, tc.response))
			resp, err := c.Respond([]byte(tc.challenge))
			require.NoError(t, err)
			assert.Equal(t, tc.response, string(resp))
			if tc.rspauth != "" {
				require.NoError(t, c.Verify([]byte(tc.rspauth)))
			}
		})
	}
}

// TestClientMatchesRefClient checks the response and rspauth against the
// independent RFC 2831 computation of digest_test.go.
func TestClientMatchesRefClient(t *testing.T) {
	ref := bob()
	c := NewClient("bob", "bobsecret", ref.cnonce)
	resp, err := c.Respond([]byte(`realm="zk-sasl-md5",nonce="` + testNonce + `",charset=utf-8,algorithm=md5-sess`))
	require.NoError(t, err)
	assert.Equal(t, token(ref, "bob", nil), string(resp))
	require.NoError(t, c.Verify([]byte("rspauth="+ref.value(""))))
}

// TestClientAgainstServer runs whole exchanges against Server.
func TestClientAgainstServer(t *testing.T) {
	for _, tc := range []struct {
		user, password string
		wantErr        error
	}{
		{"bob", "bobsecret", nil},
		{"snow☃", "frosty", nil},
		{"quote\"d", "q", nil},
		{"svc/host@EXAMPLE.COM", "svcsecret", nil},
		{"empty", "", nil},
		{"bob", "wrong", ErrBadResponse},
		{"nobody", "x", ErrUnknownUser},
	} {
		t.Run(tc.user+"/"+tc.password, func(t *testing.T) {
			s := NewServer(testUsers, fixedNonce("srv-nonce"))
			c := NewClient(tc.user, tc.password, "cli-nonce")
			challenge, done, _, err := s.Step([]byte{})
			require.NoError(t, err)
			require.False(t, done)
			resp, err := c.Respond(challenge)
			require.NoError(t, err)
			final, done, user, err := s.Step(resp)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.True(t, done)
			assert.Equal(t, tc.user, user)
			require.NoError(t, c.Verify(final))
		})
	}
}

func TestClientRejects(t *testing.T) {
	good := `realm="zk-sasl-md5",nonce="abc",charset=utf-8,algorithm=md5-sess`
	for _, tc := range []struct {
		name, challenge string
		wantErr         error
	}{
		{"empty challenge (server without SASL)", "", ErrNoChallenge},
		{"no nonce", `realm="zk-sasl-md5",charset=utf-8,algorithm=md5-sess`, ErrBadChallenge},
		{"two nonces", good + `,nonce="x"`, ErrBadChallenge},
		{"no algorithm", `realm="zk-sasl-md5",nonce="abc",charset=utf-8`, ErrBadChallenge},
		{"md5 algorithm", `realm="zk-sasl-md5",nonce="abc",algorithm=md5`, ErrBadChallenge},
		{"only auth-conf", good + `,qop="auth-conf"`, ErrBadChallenge},
		{"other charset", `realm="r",nonce="abc",charset=latin1,algorithm=md5-sess`, ErrBadChallenge},
		{"unterminated quote", `realm="zk-sasl-md5,nonce=abc`, ErrBadChallenge},
		{"key without value", `realm`, ErrBadChallenge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewClient("bob", "pw", "cn").Respond([]byte(tc.challenge))
			require.ErrorIs(t, err, tc.wantErr)
		})
	}

	t.Run("qop list with auth", func(t *testing.T) {
		resp, err := NewClient("bob", "pw", "cn").Respond([]byte(good + `,qop="auth-int,auth"`))
		require.NoError(t, err)
		assert.Contains(t, string(resp), ",qop=auth,")
	})
	t.Run("no charset: none sent", func(t *testing.T) {
		resp, err := NewClient("bob", "pw", "cn").Respond([]byte(`realm="zk-sasl-md5",nonce="abc",algorithm=md5-sess`))
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(resp), `username="bob",`), string(resp))
	})
	t.Run("wrong rspauth", func(t *testing.T) {
		c := NewClient("bob", "pw", "cn")
		_, err := c.Respond([]byte(good))
		require.NoError(t, err)
		require.ErrorIs(t, c.Verify([]byte("rspauth=00000000000000000000000000000000")), ErrBadRspauth)
		require.ErrorIs(t, c.Verify([]byte("")), ErrBadRspauth)
	})
	t.Run("out of order", func(t *testing.T) {
		c := NewClient("bob", "pw", "cn")
		require.ErrorIs(t, c.Verify([]byte("rspauth=x")), ErrState)
		_, err := c.Respond([]byte(good))
		require.NoError(t, err)
		_, err = c.Respond([]byte(good))
		require.ErrorIs(t, err, ErrState)
	})
}
