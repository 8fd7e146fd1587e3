package sdk

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConnectString(t *testing.T) {
	cases := []struct {
		in     string
		hosts  []string
		chroot string
		bad    bool
	}{
		{in: "127.0.0.1:2182", hosts: []string{"127.0.0.1:2182"}},
		{in: "a,b:3000", hosts: []string{"a:2181", "b:3000"}},
		{in: "[::1]:2000,[fe80::1]/app/x", hosts: []string{"[::1]:2000", "[fe80::1]:2181"}, chroot: "/app/x"},
		{in: "h:1/", hosts: []string{"h:1"}},
		{in: "h/a/", bad: true},
		{in: "h/a//b", bad: true},
		{in: "h/a/../b", bad: true},
		{in: "::1", bad: true},
		{in: "[::1", bad: true},
		{in: "h:0", bad: true},
		{in: "h:x", bad: true},
		{in: "/chroot", bad: true},
		{in: "", bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			cs, err := ParseConnectString(tc.in)
			if tc.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.hosts, cs.Hosts)
			assert.Equal(t, tc.chroot, cs.Chroot)
		})
	}
}

func TestHostListRoundRobin(t *testing.T) {
	h := newHostList([]string{"a:1", "b:1", "c:1"}, true)
	seen := map[string]int{}
	var order []string
	for i := 0; i < 6; i++ {
		e, _ := h.pick()
		seen[e]++
		order = append(order, e)
	}
	assert.Equal(t, map[string]int{"a:1": 2, "b:1": 2, "c:1": 2}, seen)
	assert.Equal(t, order[:3], order[3:], "round-robin after one shuffle")
}

func TestResolveEveryTime(t *testing.T) {
	var calls atomic.Int32
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		calls.Add(1)
		return nil, &net.OpError{Op: "dial", Err: net.UnknownNetworkError("test")}
	}}
	addrs, err := resolve(context.Background(), r, "127.0.0.1:5")
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:5"}, addrs)
	assert.Zero(t, calls.Load(), "literal IPs are not looked up")
	_, err = resolve(context.Background(), r, "warren.invalid:5")
	require.Error(t, err)
	_, err = resolve(context.Background(), r, "warren.invalid:5")
	require.Error(t, err)
	assert.GreaterOrEqual(t, calls.Load(), int32(2), "each attempt asks the resolver again")
}

func TestChrootMapping(t *testing.T) {
	assert.Equal(t, "/app", addChroot("/", "/app"))
	assert.Equal(t, "/app/x", addChroot("/x", "/app"))
	assert.Equal(t, "/x", addChroot("/x", ""))
	assert.Equal(t, "/", stripChroot("/app", "/app"))
	assert.Equal(t, "/x/y", stripChroot("/app/x/y", "/app"))
	assert.Equal(t, "/apple", stripChroot("/apple", "/app"))
}

// TestValidatePath: the client refuses what ZooKeeper's PathUtils refuses,
// before sending anything.
func TestValidatePath(t *testing.T) {
	cases := []struct {
		path string
		seq  bool
		ok   bool
	}{
		{"/", false, true},
		{"/a", false, true},
		{"/a/b-c/d.e", false, true},
		{"/a/.hidden/..x", false, true},
		{"/a/", true, true},
		{"/", true, true},
		{"", false, false},
		{"a", false, false},
		{"/a/", false, false},
		{"//a", false, false},
		{"/a//b", false, false},
		{"/a/./b", false, false},
		{"/a/../b", false, false},
		{"/..", false, false},
		{"/a\x00b", false, false},
		{"/a\x01", false, false},
		{"/a\u0085", false, false},
		{"/a\ue000", false, false},
		{"/a\ufff0", false, false},
		{"/a\x1f", false, false},
		{"/a\x7f", false, false},
		{"/a\U0001F600", false, false}, // a surrogate pair in Java
		{"/a\xff", false, false},       // not UTF-8
		{"/a/\u00e9t\u00e9", false, true},
	}
	for _, tc := range cases {
		err := validatePath(tc.path, tc.seq)
		if tc.ok {
			assert.NoError(t, err, "%q seq=%v", tc.path, tc.seq)
		} else {
			assert.ErrorIs(t, err, ErrInvalidPath, "%q seq=%v", tc.path, tc.seq)
		}
	}
}
