package cli

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/warrenhq/warren/sdk"
)

// ZooKeeper's quota layout (org.apache.zookeeper.Quotas): a path P has a
// quota when /zookeeper/quota/P/zookeeper_limits exists; the server keeps
// P's usage in /zookeeper/quota/P/zookeeper_stats.
const (
	quotaRoot      = "/zookeeper/quota"
	quotaLimitNode = "zookeeper_limits"
	quotaStatNode  = "zookeeper_stats"
)

// The StatsTrack keys.
const (
	statCount          = "count"
	statBytes          = "bytes"
	statCountHardLimit = "countHardLimit"
	statByteHardLimit  = "byteHardLimit"
)

// quotaGroup is the option group of setquota and delquota (one of them);
// quotaRequired is how commons-cli names it when setquota lacks it.
const (
	quotaGroup    = "nbNB"
	quotaRequired = "[-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]"
)

func quotaPath(p string) string { return quotaRoot + p }
func limitPath(p string) string { return quotaRoot + p + "/" + quotaLimitNode }
func statPath(p string) string  { return quotaRoot + p + "/" + quotaStatNode }

// statsTrack is ZooKeeper's StatsTrack: named counters in the text form
// "count=4,bytes=5=;byteHardLimit=10;countHardLimit=10"; a missing key
// reads as -1.
type statsTrack map[string]int64

var pairsSeparator = regexp.MustCompile(`[,;]+`)

// javaSplit is String.split: the pieces between matches of sep, trailing
// empty pieces removed.
func javaSplit(s string, sep *regexp.Regexp) []string {
	parts := sep.Split(s, -1)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

var (
	slashSep = regexp.MustCompile(`/`)
	equalSep = regexp.MustCompile(`=`)
)

// parseStatsTrack parses StatsTrack's text form ("key=value" pairs
// separated by ',' or ';'; an empty value is -1).
func parseStatsTrack(data string) (statsTrack, error) {
	t := statsTrack{}
	if data == "" {
		return t, nil
	}
	for _, pair := range javaSplit(data, pairsSeparator) {
		kv := javaSplit(pair, equalSep)
		if len(kv) < 2 {
			return nil, errors.New("invalid quota data: " + strconv.Quote(data))
		}
		if kv[1] == "" {
			t[kv[0]] = -1
			continue
		}
		v, err := strconv.ParseInt(kv[1], 10, 64)
		if err != nil {
			return nil, errors.New("invalid quota data: " + strconv.Quote(data))
		}
		t[kv[0]] = v
	}
	return t, nil
}

func (t statsTrack) get(k string) int64 {
	if v, ok := t[k]; ok {
		return v
	}
	return -1
}

// String is StatsTrack.toString: count and bytes first (as ZooKeeper 3.4
// parsed them), then an '=' and the other keys in order, ';'-separated.
func (t statsTrack) String() string {
	var b strings.Builder
	b.WriteString("count=" + strconv.FormatInt(t.get(statCount), 10))
	b.WriteString(",bytes=" + strconv.FormatInt(t.get(statBytes), 10))
	var keys []string
	for k := range t {
		if k != statCount && k != statBytes {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		b.WriteByte('=')
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString(";" + k + "=" + strconv.FormatInt(t[k], 10))
		}
	}
	return b.String()
}

// clientPath validates a path the command computed, as the Java client
// does before it sends a request.
func clientPath(p string) error {
	if err := validatePath(p, false); err != nil {
		return usageErr(err.Error())
	}
	return nil
}

// failed is a failure zkCli reports with its own message.
func failed(msg string) error { return &cliError{code: ExitFailed, msg: msg} }

// readStats reads and parses a quota node.
func (s *Shell) readStats(ctx context.Context, p string) (statsTrack, error) {
	if err := clientPath(p); err != nil {
		return nil, err
	}
	data, _, err := s.conn.Get(ctx, p)
	if err != nil {
		return nil, err
	}
	t, err := parseStatsTrack(string(data))
	if err != nil {
		return nil, failed(err.Error())
	}
	return t, nil
}

// quotaErr maps an error of the quota commands: NoNode prints zkCli's
// "quota for P does not exist." (and fails), the others as usual.
func quotaErr(err error, path string) error {
	if errors.Is(err, sdk.ErrNoNode) {
		return failed("quota for " + path + " does not exist.")
	}
	var ce *cliError
	if errors.As(err, &ce) {
		return err
	}
	return zkErr(err, "")
}

func (s *Shell) cmdListQuota(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "")
	if err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("listquota"))
	}
	path := f.args[1]
	s.eprintln("absolute path is " + limitPath(path))
	limits, err := s.readStats(ctx, limitPath(path))
	if err != nil {
		return quotaErr(err, path)
	}
	stats, err := s.readStats(ctx, statPath(path))
	if err != nil {
		return quotaErr(err, path)
	}
	s.println("Output quota for " + path + " " + limits.String())
	s.println("Output stat for " + path + " " + stats.String())
	return nil
}

func (s *Shell) cmdSetQuota(ctx context.Context, words []string) error {
	f, err := parseFlagsGroup(words, "n:b:N:B:", quotaGroup, quotaRequired)
	if err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("setquota"))
	}
	path := f.args[1]
	if strings.HasPrefix(path, quotaRoot) {
		return usageErr("cannot set a quota under the path: " + quotaRoot)
	}
	quota := statsTrack{statCount: -1, statBytes: -1, statCountHardLimit: -1, statByteHardLimit: -1}
	for _, o := range []struct {
		opt  byte
		key  string
		bits int
	}{{'n', statCount, 32}, {'b', statBytes, 64}, {'N', statCountHardLimit, 32}, {'B', statByteHardLimit, 64}} {
		v, ok := f.set[o.opt]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, o.bits)
		if err != nil {
			return usageErr("NumberFormatException happens when parsing the option value")
		}
		if o.bits == 32 && n <= 0 {
			return usageErr("the num quota must be greater than zero")
		}
		if o.bits == 64 && n < 0 {
			return usageErr("the bytes quota must be greater than or equal to zero")
		}
		quota[o.key] = n
	}
	return s.createQuota(ctx, path, quota)
}

// exists is Exists on a path the command computed.
func (s *Shell) exists(ctx context.Context, p string) (bool, error) {
	if err := clientPath(p); err != nil {
		return false, err
	}
	_, ok, err := s.conn.Exists(ctx, p)
	if err != nil {
		return false, zkErr(err, p)
	}
	return ok, nil
}

// createIfMissing creates an empty persistent node; one that exists is
// fine.
func (s *Shell) createIfMissing(ctx context.Context, p string) error {
	if err := clientPath(p); err != nil {
		return err
	}
	_, _, err := s.conn.Create(ctx, p, nil, sdk.CreateOptions{ACL: sdk.OpenACL})
	if err != nil && !errors.Is(err, sdk.ErrNodeExists) {
		return zkErr(err, p)
	}
	return nil
}

// createQuota is SetQuotaCommand.createQuota: the path must exist and no
// ancestor or descendant may have a quota; then the quota's nodes are
// created (or its limits updated) and a limit below the current usage is
// warned about.
func (s *Shell) createQuota(ctx context.Context, path string, quota statsTrack) error {
	ok, err := s.exists(ctx, path)
	if err != nil {
		return err
	}
	if !ok {
		return failed(path + " does not exist.")
	}
	if err := s.checkChildQuota(ctx, path); err != nil {
		return err
	}
	if err := s.checkParentQuota(ctx, path); err != nil {
		return err
	}
	ok, err = s.exists(ctx, quotaRoot)
	if err != nil {
		return err
	}
	if !ok {
		// zkCli creates both in one try: an existing /zookeeper skips
		// /zookeeper/quota.
		if _, _, err := s.conn.Create(ctx, "/zookeeper", nil, sdk.CreateOptions{ACL: sdk.OpenACL}); err == nil {
			if err := s.createIfMissing(ctx, quotaRoot); err != nil {
				return err
			}
		} else if !errors.Is(err, sdk.ErrNodeExists) {
			return zkErr(err, "/zookeeper")
		}
	}
	qp := quotaRoot
	splits := javaSplit(path, slashSep)
	for i := 1; i < len(splits); i++ {
		qp += "/" + splits[i]
		ok, err := s.exists(ctx, qp)
		if err != nil {
			return err
		}
		if !ok {
			if err := s.createIfMissing(ctx, qp); err != nil {
				return err
			}
		}
	}
	statP, limitP := qp+"/"+quotaStatNode, qp+"/"+quotaLimitNode
	ok, err = s.exists(ctx, limitP)
	if err != nil {
		return err
	}
	limits := quota
	if !ok {
		if err := clientPath(limitP); err != nil {
			return err
		}
		if _, _, err := s.conn.Create(ctx, limitP, []byte(quota.String()), sdk.CreateOptions{ACL: sdk.OpenACL}); err != nil {
			return zkErr(err, limitP)
		}
		zero := statsTrack{statCount: 0, statBytes: 0}
		if _, _, err := s.conn.Create(ctx, statP, []byte(zero.String()), sdk.CreateOptions{ACL: sdk.OpenACL}); err != nil {
			return zkErr(err, statP)
		}
		if limits, err = s.readStats(ctx, limitP); err != nil {
			return quotaReadErr(err, limitP)
		}
	} else {
		if limits, err = s.readStats(ctx, limitP); err != nil {
			return quotaReadErr(err, limitP)
		}
		for _, k := range []string{statCount, statBytes, statCountHardLimit, statByteHardLimit} {
			if v := quota.get(k); v > -1 {
				limits[k] = v
			}
		}
	}
	stats, err := s.readStats(ctx, statP)
	if err != nil {
		return quotaReadErr(err, statP)
	}
	s.warnQuota(limits, stats)
	if ok {
		if _, err := s.conn.Set(ctx, limitP, []byte(limits.String()), -1); err != nil {
			return zkErr(err, limitP)
		}
	}
	return nil
}

func quotaReadErr(err error, p string) error {
	var ce *cliError
	if errors.As(err, &ce) {
		return err
	}
	return zkErr(err, p)
}

// warnQuota is SetQuotaCommand.checkQuota: a limit below the usage.
func (s *Shell) warnQuota(limits, stats statsTrack) {
	below := func(limit, used int64) bool { return limit > -1 && limit < used }
	count, bytes := stats.get(statCount), stats.get(statBytes)
	if below(limits.get(statCount), count) || below(limits.get(statCountHardLimit), count) {
		s.println("[Warning]: the count quota you create is less than the existing count:" + strconv.FormatInt(count, 10))
	}
	if below(limits.get(statBytes), bytes) || below(limits.get(statByteHardLimit), bytes) {
		s.println("[Warning]: the bytes quota you create is less than the existing bytes:" + strconv.FormatInt(bytes, 10))
	}
}

// checkChildQuota fails when a descendant of path has a quota: it visits
// the quota tree under path as ZKUtil.visitSubTreeDFS does.
func (s *Shell) checkChildQuota(ctx context.Context, path string) error {
	root := quotaPath(path)
	if err := clientPath(root); err != nil {
		return err
	}
	if _, _, err := s.conn.Get(ctx, root); err != nil {
		if errors.Is(err, sdk.ErrNoNode) {
			return nil
		}
		return zkErr(err, root)
	}
	check := func(qp string) error {
		if qp == root {
			return nil
		}
		children, _, err := s.conn.Children(ctx, qp)
		if err != nil {
			return nil // removed during the check
		}
		if slices.Contains(children, quotaLimitNode) {
			return failed(path + " has a child " + strings.TrimPrefix(qp, quotaRoot) + " which has a quota")
		}
		return nil
	}
	return s.visitChildren(ctx, root, false, check)
}

// checkParentQuota fails when an ancestor of path has a quota; it stops
// at the first level of the quota tree that is missing or empty.
func (s *Shell) checkParentQuota(ctx context.Context, path string) error {
	splits := javaSplit(path, slashSep)
	qp := quotaRoot
	for i := 1; i < len(splits)-1; i++ {
		qp += "/" + splits[i]
		children, _, err := s.conn.Children(ctx, qp)
		if errors.Is(err, sdk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return zkErr(err, qp)
		}
		if len(children) == 0 {
			return nil
		}
		if slices.Contains(children, quotaLimitNode) {
			return failed(path + " has a parent " + strings.TrimPrefix(qp, quotaRoot) + " which has a quota")
		}
	}
	return nil
}

func (s *Shell) cmdDelQuota(ctx context.Context, words []string) error {
	f, err := parseFlagsGroup(words, "nbNB", quotaGroup, "")
	if err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("delquota"))
	}
	path := f.args[1]
	limitP := limitPath(path)
	ok, err := s.exists(ctx, limitP)
	if err != nil {
		return err
	}
	if !ok {
		s.println("Quota does not exist for " + path)
		return nil
	}
	limits, err := s.readStats(ctx, limitP)
	if err != nil {
		return quotaErr(err, path)
	}
	if len(f.set) == 0 {
		// The whole quota: the quota node's children, then the empty
		// levels above it.
		parent := quotaPath(path)
		children, _, err := s.conn.Children(ctx, parent)
		if err != nil {
			return quotaErr(err, path)
		}
		for _, c := range children {
			if err := s.conn.Delete(ctx, parent+"/"+c, -1); err != nil {
				return quotaErr(err, path)
			}
		}
		for p := parent; p != quotaRoot; p = p[:strings.LastIndexByte(p, '/')] {
			children, _, err := s.conn.Children(ctx, p)
			if err != nil {
				return quotaErr(err, path)
			}
			if len(children) > 0 {
				break
			}
			if err := s.conn.Delete(ctx, p, -1); err != nil {
				return quotaErr(err, path)
			}
		}
		return nil
	}
	for o, k := range map[byte]string{'n': statCount, 'b': statBytes, 'N': statCountHardLimit, 'B': statByteHardLimit} {
		if f.has(o) {
			limits[k] = -1
		}
	}
	if _, err := s.conn.Set(ctx, limitP, []byte(limits.String()), -1); err != nil {
		return quotaErr(err, path)
	}
	return nil
}
