package recipe

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProtectedNames(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		id := NewProtectedID()
		assert.Regexp(t, uuidRE, id)
		assert.False(t, seen[id])
		seen[id] = true
	}
	const id = "53345f98-9423-4e0c-a7b5-9f819e3ec2e1"
	name := ProtectedName(id, "lock-0000000007")
	assert.Equal(t, "_c_53345f98-9423-4e0c-a7b5-9f819e3ec2e1-lock-0000000007", name)
	for _, tc := range []struct {
		name, id, stripped string
		ok                 bool
	}{
		{name, id, "lock-0000000007", true},
		{"_c_53345F98-9423-4E0C-A7B5-9F819E3EC2E1-x", "53345F98-9423-4E0C-A7B5-9F819E3EC2E1", "x", true},
		{"_c_" + id + "-", "", "_c_" + id + "-", false}, // nothing after the prefix
		{"_c_" + id + "_x", "", "_c_" + id + "_x", false},
		{"_c_53345f98-9423-4e0c-a7b5-9f819e3ec2eZ-x", "", "_c_53345f98-9423-4e0c-a7b5-9f819e3ec2eZ-x", false},
		{"_c_53345f98+9423-4e0c-a7b5-9f819e3ec2e1-x", "", "_c_53345f98+9423-4e0c-a7b5-9f819e3ec2e1-x", false},
		{"lock-0000000001", "", "lock-0000000001", false},
		{"", "", "", false},
	} {
		got, ok := ProtectedID(tc.name)
		assert.Equal(t, tc.ok, ok, tc.name)
		assert.Equal(t, tc.id, got, tc.name)
		assert.Equal(t, tc.ok, IsProtected(tc.name), tc.name)
		assert.Equal(t, tc.stripped, StripProtected(tc.name), tc.name)
	}
}

// TestCuratorOrder checks the order of contenders as Curator's
// getSortedChildren computes it: by what follows the lock name, so nodes of
// different clients (different UUIDs) queue by sequence number.
func TestCuratorOrder(t *testing.T) {
	a := ProtectedName("ffffffff-9423-4e0c-a7b5-9f819e3ec2e1", "lock-0000000001")
	b := ProtectedName("00000000-9423-4e0c-a7b5-9f819e3ec2e1", "lock-0000000002")
	c := "lock-0000000000" // an unprotected node (an old client)
	assert.Equal(t, []string{c, a, b}, rcpSortNodes([]string{b, a, c}, rcpStandardSortKey(MutexLockName)))

	r1 := ProtectedName("ffffffff-9423-4e0c-a7b5-9f819e3ec2e1", "__READ__0000000003")
	w := ProtectedName("00000000-9423-4e0c-a7b5-9f819e3ec2e1", "__WRIT__0000000004")
	r2 := ProtectedName("11111111-9423-4e0c-a7b5-9f819e3ec2e1", "__READ__0000000005")
	sorted := rcpSortNodes([]string{r2, w, r1}, rcpRWSortKey)
	assert.Equal(t, []string{r1, w, r2}, sorted)

	ok, watch, err := rcpMaxLeases(1)(sorted, w)
	assert.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, r1, watch, "a writer watches the node just before its own")
	ok, watch, err = rcpMaxLeases(2)(sorted, r2)
	assert.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, r1, watch, "with two leases the third watches two places back")
	_, _, err = rcpMaxLeases(1)(sorted, "gone")
	assert.ErrorIs(t, err, errNodeVanished)

	assert.Equal(t, int64(7), rcpSeq("_c_x-lock-0000000007"))
	assert.Equal(t, int64(-1), rcpSeq("lock"))
}
