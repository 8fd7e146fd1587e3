package zkcli_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
)

// TestQuotaEnforcedInMulti runs what zkCli cannot script, multi under
// zookeeper.enforceQuota, through go-zookeeper against the oracle and the
// candidate, and requires the same transcript from both.
func TestQuotaEnforcedInMulti(t *testing.T) {
	candidate := testutil.Candidate(t)
	cfg := config(enforced)
	var oracle, cand []string
	var wg sync.WaitGroup
	oracleAddr := testutil.Oracle().Start(t, cfg)
	candAddr := candidate.Start(t, cfg)
	wg.Go(func() { oracle = quotaMultiScript(t, oracleAddr) })
	wg.Go(func() { cand = quotaMultiScript(t, candAddr) })
	wg.Wait()
	require.False(t, t.Failed())

	for _, line := range []string{
		"multi create /qm/a, create /qm/b: <nil> [<nil> <nil>]",
		"multi create /qm/c: unknown error: -125 [unknown error: -125]",
		"stats: count=3,bytes=0 <nil>",
		// Each op is checked against the quota before the multi, so two
		// creates that each fit pass the limit together.
		"multi create /qm/c, create /qm/d: <nil> [<nil> <nil>]",
		"stats: count=5,bytes=0 <nil>",
		"multi delete /qm/d, create /qm/e: unknown error: -125 [<nil> unknown error: -125]",
		"multi set /qm/f, create /qm/f2: unknown error: -125 [<nil> unknown error: -125]",
		"create /qm/e: unknown error: -5",
		"multi check /qm, create /qm/e: unknown error: -5 []",
	} {
		assert.Contains(t, oracle, line, "oracle transcript")
	}
	assert.Equal(t, strings.Join(oracle, "\n"), strings.Join(cand, "\n"), "candidate (%s) differs from the oracle (%s)", candidate, testutil.Oracle())
}

// quotaMultiScript sets a quota by writing its nodes as zkCli's setquota
// does, then records the outcome of creates, sets and multis under it.
func quotaMultiScript(t *testing.T, addr string) []string {
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false))
	if !assert.NoError(t, err) {
		return nil
	}
	defer c.Close()
	acl := zk.WorldACL(zk.PermAll)
	var out []string
	logf := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	create := func(path, data string) {
		_, err := c.Create(path, []byte(data), 0, acl)
		logf("create %s: %v", path, err)
	}
	set := func(path, data string) {
		_, err := c.Set(path, []byte(data), -1)
		logf("set %s: %v", path, err)
	}
	stats := func() {
		d, _, err := c.Get("/zookeeper/quota/qm/zookeeper_stats")
		logf("stats: %s %v", d, err)
	}
	multi := func(ops ...any) {
		var names []string
		for _, op := range ops {
			switch r := op.(type) {
			case *zk.CreateRequest:
				names = append(names, "create "+r.Path)
			case *zk.DeleteRequest:
				names = append(names, "delete "+r.Path)
			case *zk.SetDataRequest:
				names = append(names, "set "+r.Path)
			case *zk.CheckVersionRequest:
				names = append(names, "check "+r.Path)
			}
		}
		res, err := c.Multi(ops...)
		var errs []string
		for _, r := range res {
			errs = append(errs, fmt.Sprint(r.Error))
		}
		logf("multi %s: %v %v", strings.Join(names, ", "), err, errs)
	}
	mk := func(path, data string) *zk.CreateRequest {
		return &zk.CreateRequest{Path: path, Data: []byte(data), Acl: acl}
	}

	create("/qm", "")
	create("/zookeeper/quota/qm", "")
	create("/zookeeper/quota/qm/zookeeper_limits", "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3")
	create("/zookeeper/quota/qm/zookeeper_stats", "count=0,bytes=0")
	stats()
	multi(mk("/qm/a", ""), mk("/qm/b", ""))
	multi(mk("/qm/c", ""))
	multi(&zk.CheckVersionRequest{Path: "/qm", Version: -1}, mk("/qm/c", ""))
	stats()
	set("/zookeeper/quota/qm/zookeeper_limits", "countHardLimit=4")
	multi(mk("/qm/c", ""), mk("/qm/d", ""))
	stats()
	multi(&zk.DeleteRequest{Path: "/qm/d", Version: -1}, mk("/qm/e", ""))

	// Bytes: a set's old size inside a multi is the multi's own.
	set("/zookeeper/quota/qm/zookeeper_limits", "byteHardLimit=5")
	multi(&zk.SetDataRequest{Path: "/qm/a", Data: []byte("abcde"), Version: -1}, &zk.SetDataRequest{Path: "/qm/a", Data: []byte("abcdef"), Version: -1})
	stats()
	multi(&zk.SetDataRequest{Path: "/qm/b", Data: []byte("x"), Version: -1})
	set("/qm/a", "abcd")
	set("/qm/a", "abcdef")
	multi(mk("/qm/f", "x"), &zk.SetDataRequest{Path: "/qm/a", Data: nil, Version: -1})
	// A set that shrinks earlier in the multi does not make room.
	multi(&zk.SetDataRequest{Path: "/qm/f", Data: nil, Version: -1}, mk("/qm/f2", "abcde"))
	stats()

	// Unreadable limits: StatsTrack throws, the request fails with
	// MARSHALLINGERROR, a multi as a whole.
	set("/zookeeper/quota/qm/zookeeper_limits", "countHardLimit=lots")
	create("/qm/e", "")
	set("/qm/a", "")
	multi(&zk.CheckVersionRequest{Path: "/qm", Version: -1}, mk("/qm/e", ""))
	create("/qm/e2", "")

	// delquota: writes pass again.
	_, err = c.Sync("/")
	logf("sync: %v", err)
	for _, p := range []string{"/zookeeper/quota/qm/zookeeper_limits", "/zookeeper/quota/qm/zookeeper_stats", "/zookeeper/quota/qm"} {
		logf("delete %s: %v", p, c.Delete(p, -1))
	}
	multi(mk("/qm/g", "0123456789"), mk("/qm/h", ""))
	kids, _, err := c.Children("/qm")
	slices.Sort(kids)
	logf("children: %v %v", kids, err)
	return out
}
