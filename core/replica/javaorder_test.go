package replica

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/warrenhq/warren/core/proto"
)

func TestJavaStringHash(t *testing.T) {
	// Values of "...".hashCode() in Java.
	assert.Equal(t, int32(0), javaStringHash(""))
	assert.Equal(t, int32(97), javaStringHash("a"))
	assert.Equal(t, int32(99162322), javaStringHash("hello"))
	assert.Equal(t, int32(-1331913276), javaStringHash("digest"))
}

func digestID(user, pw string) proto.Id {
	return proto.Id{Scheme: "digest", ID: user + ":" + pw}
}

func TestZkOrderMatchesZooKeeper(t *testing.T) {
	// Orders observed on Apache ZooKeeper 3.8.0 (tests/differential): the
	// ACL an "auth" entry expands to after these addauth calls.
	ip := proto.Id{Scheme: "ip", ID: "127.0.0.1"}
	bob := digestID("bob", "ikIaKsbtGweaHnb/jKn7OHqbunM=")
	super := digestID("super", "lK75jTNcA+U9vtVEw5vB51mj/w4=")
	alice := digestID("alice", "V55/p2T0OpjQ+low3NVAH4aLvm0=")
	mallory := digestID("mallory", "vfdstjl3f0Gwu9/Xz5pcpl+2YH4=")
	digests := func(ids []proto.Id) []proto.Id {
		var out []proto.Id
		for _, id := range ids {
			if id.Scheme == "digest" {
				out = append(out, id)
			}
		}
		return out
	}
	assert.Equal(t, []proto.Id{bob, super}, digests(zkOrder([]proto.Id{ip, super, bob})))
	assert.Equal(t, []proto.Id{bob, super}, digests(zkOrder([]proto.Id{ip, bob, super})))
	assert.Equal(t, []proto.Id{bob, alice}, digests(zkOrder([]proto.Id{ip, alice, bob})))
	assert.Equal(t, []proto.Id{bob, mallory, alice}, digests(zkOrder([]proto.Id{ip, alice, mallory, bob})))
}
