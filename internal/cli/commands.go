package cli

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warrenhq/warren/core/proto"
	"github.com/warrenhq/warren/sdk"
)

// maxTTL is EphemeralType.TTL's largest TTL (40 bits of milliseconds).
const maxTTL = 1<<40 - 1

// deprecated rewrites the old "cmd path watch" form as zkCli does: the
// third word becomes -w, with a warning.
func (s *Shell) deprecated(words []string, f flags, spec, warning string) (flags, error) {
	if len(f.args) <= 2 {
		return f, nil
	}
	w := slices.Clone(words)
	w[2] = "-w"
	s.eprintln(warning)
	return parseFlags(w, spec)
}

// pathArg validates a command's path argument.
func pathArg(p string, sequential bool) error {
	if err := validatePath(p, sequential); err != nil {
		return usageErr(err.Error())
	}
	return nil
}

// watchPersistent prints the events of a persistent watch until it is
// removed or the session ends.
func (s *Shell) watchPersistent(w *sdk.Watcher) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for ev := range w.Events() {
			if ev.Type != sdk.EventSession {
				s.printEvent("SyncConnected", ev.Type, ev.Path)
			}
		}
	}()
}

func (s *Shell) cmdClose(ctx context.Context, words []string) error {
	s.endSession()
	return nil
}

func (s *Shell) cmdLs(ctx context.Context, words []string) error {
	const spec = "swR"
	f, err := parseFlags(words, spec)
	if err != nil {
		return err
	}
	if f, err = s.deprecated(words, f, spec, "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead."); err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("ls"))
	}
	path, watch := f.args[1], f.has('w')
	if err := pathArg(path, false); err != nil {
		return err
	}
	if f.has('R') {
		return s.visitTree(ctx, path, watch, func(p string) error {
			s.println(p)
			return nil
		})
	}
	var children []string
	var st sdk.Stat
	if watch {
		var ch <-chan sdk.Event
		children, st, ch, err = s.conn.ChildrenW(ctx, path)
		if err == nil {
			s.watchOnce(path, ch)
		}
	} else {
		children, st, err = s.conn.Children(ctx, path)
	}
	if err != nil {
		return zkErr(err, path)
	}
	slices.Sort(children)
	out := javaList(children) + "\n"
	if f.has('s') {
		out += formatStat(st)
	}
	s.print(out)
	return nil
}

// visitTree is ZKUtil.visitSubTreeDFS: visit path, then each level's
// children in sorted order before descending into them; with watch, a data
// watch on path and a child watch on every node.
func (s *Shell) visitTree(ctx context.Context, path string, watch bool, visit func(string) error) error {
	if watch {
		_, _, ch, err := s.conn.GetW(ctx, path)
		if err != nil {
			return zkErr(err, path)
		}
		s.watchOnce(path, ch)
	} else if _, _, err := s.conn.Get(ctx, path); err != nil {
		return zkErr(err, path)
	}
	if err := visit(path); err != nil {
		return err
	}
	return s.visitChildren(ctx, path, watch, visit)
}

func (s *Shell) visitChildren(ctx context.Context, path string, watch bool, visit func(string) error) error {
	var children []string
	var err error
	if watch {
		var ch <-chan sdk.Event
		children, _, ch, err = s.conn.ChildrenW(ctx, path)
		if err == nil {
			s.watchOnce(path, ch)
		}
	} else {
		children, _, err = s.conn.Children(ctx, path)
	}
	if err != nil {
		return zkErr(err, path)
	}
	slices.Sort(children)
	prefix := path
	if prefix == "/" {
		prefix = ""
	}
	for _, c := range children {
		if err := visit(prefix + "/" + c); err != nil {
			return err
		}
	}
	for _, c := range children {
		if err := s.visitChildren(ctx, prefix+"/"+c, watch, visit); err != nil {
			return err
		}
	}
	return nil
}

func (s *Shell) cmdGet(ctx context.Context, words []string) error {
	const spec = "sw"
	f, err := parseFlags(words, spec)
	if err != nil {
		return err
	}
	if f, err = s.deprecated(words, f, spec, "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead."); err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("get"))
	}
	path := f.args[1]
	if err := pathArg(path, false); err != nil {
		return err
	}
	var data []byte
	var st sdk.Stat
	if f.has('w') {
		var ch <-chan sdk.Event
		data, st, ch, err = s.conn.GetW(ctx, path)
		if err == nil {
			s.watchOnce(path, ch)
		}
	} else {
		data, st, err = s.conn.Get(ctx, path)
	}
	if err != nil {
		return zkErr(err, path)
	}
	out := "null\n"
	if data != nil {
		out = string(data) + "\n"
	}
	if f.has('s') {
		out += formatStat(st)
	}
	s.print(out)
	return nil
}

func (s *Shell) cmdStat(ctx context.Context, words []string) error {
	const spec = "w"
	f, err := parseFlags(words, spec)
	if err != nil {
		return err
	}
	if f, err = s.deprecated(words, f, spec, "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead."); err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("stat"))
	}
	path := f.args[1]
	if err := pathArg(path, false); err != nil {
		return err
	}
	var st sdk.Stat
	var ok bool
	if f.has('w') {
		var ch <-chan sdk.Event
		st, ok, ch, err = s.conn.ExistsW(ctx, path)
		if err == nil {
			s.watchOnce(path, ch)
		}
	} else {
		st, ok, err = s.conn.Exists(ctx, path)
	}
	if err != nil {
		return zkErr(err, path)
	}
	if !ok {
		return &cliError{code: ExitFailed, msg: wrapperMessage(proto.ErrNoNode, path)}
	}
	s.print(formatStat(st))
	return nil
}

// intOpt parses an int option value ("-v 3").
func intOpt(f flags, o byte, def int64, bits int) (int64, error) {
	v, ok := f.set[o]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, bits)
	if err != nil {
		kind := "an int"
		if bits == 64 {
			kind = "a long"
		}
		return 0, usageErr("-" + string(o) + " argument must be " + kind + " value")
	}
	return n, nil
}

func (s *Shell) cmdSet(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "sv:")
	if err != nil {
		return err
	}
	if len(f.args) < 3 {
		return usageErr(usageLine("set"))
	}
	path, data := f.args[1], []byte(f.args[2])
	version, err := intOpt(f, 'v', -1, 32)
	if err != nil {
		return err
	}
	if err := pathArg(path, false); err != nil {
		return err
	}
	st, err := s.conn.Set(ctx, path, data, int32(version))
	if err != nil {
		return zkErr(err, path)
	}
	if f.has('s') {
		s.print(formatStat(st))
	}
	return nil
}

func (s *Shell) cmdCreate(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "esct:")
	if err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("create"))
	}
	hasE, hasS, hasC, hasT := f.has('e'), f.has('s'), f.has('c'), f.has('t')
	if hasC && (hasE || hasS) {
		return usageErr("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.")
	}
	ttl, err := intOpt(f, 't', 0, 64)
	if err != nil {
		return err
	}
	if hasT && hasE {
		return usageErr("TTLs cannot be used with Ephemeral znodes")
	}
	if hasT && hasC {
		return usageErr("TTLs cannot be used with Container znodes")
	}
	var mode sdk.CreateMode
	switch {
	case hasE && hasS:
		mode = sdk.ModeEphemeralSequential
	case hasE:
		mode = sdk.ModeEphemeral
	case hasS && hasT:
		mode = sdk.ModePersistentSequentialWithTTL
	case hasS:
		mode = sdk.ModePersistentSequential
	case hasC:
		mode = sdk.ModeContainer
	case hasT:
		mode = sdk.ModePersistentWithTTL
	default:
		mode = sdk.ModePersistent
	}
	if hasT && (ttl <= 0 || ttl > maxTTL) {
		return usageErr("ttl must be positive and cannot be larger than: " + strconv.FormatInt(maxTTL, 10))
	}
	path := f.args[1]
	var data []byte
	if len(f.args) > 2 {
		data = []byte(f.args[2])
	}
	acl := sdk.OpenACL
	if len(f.args) > 3 {
		acl = parseACL(f.args[3], func(m string) { s.eprintln(m) })
	}
	if err := pathArg(path, hasS); err != nil {
		return err
	}
	if len(acl) == 0 {
		s.eprintln(keeperMessage(proto.ErrInvalidACL, ""))
		return &cliError{code: ExitFailed, msg: wrapperMessage(proto.ErrInvalidACL, "")}
	}
	opts := sdk.CreateOptions{Mode: mode, ACL: acl}
	if hasT {
		opts.TTL = time.Duration(ttl) * time.Millisecond
	}
	created, _, err := s.conn.Create(ctx, path, data, opts)
	if err != nil {
		if errors.Is(err, sdk.ErrInvalidACL) {
			s.eprintln(keeperMessage(proto.ErrInvalidACL, path))
		}
		return zkErr(err, path)
	}
	s.eprintln("Created " + created)
	return nil
}

func (s *Shell) cmdDelete(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "v:")
	if err != nil {
		return err
	}
	if len(f.args) > 2 {
		s.eprintln("'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.")
		f.set['v'] = f.args[2]
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("delete"))
	}
	path := f.args[1]
	version, err := intOpt(f, 'v', -1, 32)
	if err != nil {
		return err
	}
	if err := pathArg(path, false); err != nil {
		return err
	}
	return zkErr(s.conn.Delete(ctx, path, int32(version)), path)
}

func (s *Shell) cmdDeleteAll(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "b:")
	if err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("deleteall"))
	}
	batch, err := intOpt(f, 'b', 1000, 32)
	if err != nil {
		return err
	}
	if batch <= 0 {
		batch = 1000
	}
	path := f.args[1]
	if err := pathArg(path, false); err != nil {
		return err
	}
	// ZKUtil.listSubTreeBFS, then deletes from the deepest nodes up, in
	// multis of the batch size.
	tree := []string{path}
	for i := 0; i < len(tree); i++ {
		children, _, err := s.conn.Children(ctx, tree[i])
		if err != nil {
			if i > 0 && errors.Is(err, sdk.ErrNoNode) {
				continue
			}
			return zkErr(err, tree[i])
		}
		prefix := tree[i]
		if prefix == "/" {
			prefix = ""
		}
		for _, c := range children {
			tree = append(tree, prefix+"/"+c)
		}
	}
	failed := false
	for end := len(tree); end > 0; end -= int(batch) {
		start := max(end-int(batch), 0)
		var ops []sdk.Op
		for i := end - 1; i >= start; i-- {
			ops = append(ops, s.conn.DeleteOp(tree[i], -1))
		}
		if _, err := s.conn.Multi(ctx, ops...); err != nil {
			var code proto.Code
			if !errors.As(err, &code) || code == proto.ErrConnectionLoss || code == proto.ErrSessionExpired {
				return zkErr(err, path)
			}
			failed = true
		}
	}
	if failed {
		s.println("Failed to delete some node(s) in the subtree!")
		return &cliError{code: ExitFailed}
	}
	return nil
}

func (s *Shell) cmdGetACL(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "s")
	if err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("getAcl"))
	}
	path := f.args[1]
	if err := pathArg(path, false); err != nil {
		return err
	}
	acl, st, err := s.conn.GetACL(ctx, path)
	if err != nil {
		return zkErr(err, path)
	}
	var b strings.Builder
	for _, a := range acl {
		b.WriteString(formatACL(a) + "\n")
	}
	if f.has('s') {
		b.WriteString(formatStat(st))
	}
	s.print(b.String())
	return nil
}

func (s *Shell) cmdSetACL(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "sv:R")
	if err != nil {
		return err
	}
	if len(f.args) < 3 {
		return usageErr(usageLine("setAcl"))
	}
	path := f.args[1]
	acl := parseACL(f.args[2], func(m string) { s.eprintln(m) })
	version, err := intOpt(f, 'v', -1, 32)
	if err != nil {
		return err
	}
	if err := pathArg(path, false); err != nil {
		return err
	}
	if f.has('R') {
		failed := false
		err := s.visitTree(ctx, path, false, func(p string) error {
			if len(acl) == 0 {
				s.eprintln(keeperMessage(proto.ErrInvalidACL, ""))
				failed = true
				return nil
			}
			if _, err := s.conn.SetACL(ctx, p, acl, int32(version)); err != nil {
				var code proto.Code
				if !errors.As(err, &code) {
					return zkErr(err, p)
				}
				s.eprintln(keeperMessage(code, p))
				failed = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		if failed {
			return &cliError{code: ExitFailed}
		}
		return nil
	}
	if len(acl) == 0 {
		return &cliError{code: ExitFailed, msg: wrapperMessage(proto.ErrInvalidACL, "")}
	}
	st, err := s.conn.SetACL(ctx, path, acl, int32(version))
	if err != nil {
		return zkErr(err, path)
	}
	if f.has('s') {
		s.print(formatStat(st))
	}
	return nil
}

func (s *Shell) cmdSync(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "")
	if err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("sync"))
	}
	path := f.args[1]
	if err := pathArg(path, false); err != nil {
		return err
	}
	if err := s.conn.Sync(ctx, path); err != nil {
		var code proto.Code
		if !errors.As(err, &code) {
			return zkErr(err, path)
		}
		s.println("Sync has failed. rc=" + strconv.Itoa(int(code)))
		return &cliError{code: zkErr(err, path).(*cliError).code}
	}
	s.println("Sync is OK")
	return nil
}

func (s *Shell) cmdAddAuth(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "")
	if err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("addauth"))
	}
	var auth []byte
	if len(f.args) > 2 {
		auth = []byte(f.args[2])
	}
	return zkErr(s.conn.AddAuth(ctx, f.args[1], auth), "")
}

func (s *Shell) cmdWhoAmI(ctx context.Context, words []string) error {
	ids, err := s.conn.WhoAmI(ctx)
	if err != nil {
		return zkErr(err, "")
	}
	var b strings.Builder
	b.WriteString("Auth scheme: User\n")
	for _, id := range ids {
		b.WriteString(id.AuthScheme + ": " + id.User + "\n")
	}
	s.print(b.String())
	return nil
}

func (s *Shell) cmdGetEphemerals(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "")
	if err != nil {
		return err
	}
	path := "/"
	if len(f.args) > 1 {
		path = f.args[1]
	}
	if err := pathArg(path, false); err != nil {
		return err
	}
	eph, err := s.conn.GetEphemerals(ctx, path)
	if err != nil {
		return zkErr(err, path)
	}
	s.println(javaList(eph))
	return nil
}

func (s *Shell) cmdGetAllChildrenNumber(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "")
	if err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("getAllChildrenNumber"))
	}
	path := f.args[1]
	if err := pathArg(path, false); err != nil {
		return err
	}
	n, err := s.conn.GetAllChildrenNumber(ctx, path)
	if err != nil {
		return zkErr(err, path)
	}
	s.println(strconv.Itoa(n))
	return nil
}

func (s *Shell) cmdAddWatch(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "m:")
	if err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("addWatch"))
	}
	recursive := true
	if m, ok := f.set['m']; ok {
		switch strings.ToUpper(m) {
		case "PERSISTENT":
			recursive = false
		case "PERSISTENT_RECURSIVE":
		default:
			return usageErr(usageLine("addWatch"))
		}
	}
	path := f.args[1]
	if err := pathArg(path, false); err != nil {
		return err
	}
	w, err := s.conn.AddWatch(ctx, path, recursive)
	if err != nil {
		return zkErr(err, path)
	}
	s.watchPersistent(w)
	return nil
}

func (s *Shell) cmdRemoveWatches(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "cdal")
	if err != nil {
		return err
	}
	if len(f.args) < 2 {
		return usageErr(usageLine("removewatches"))
	}
	path := f.args[1]
	if err := pathArg(path, false); err != nil {
		return err
	}
	typ := sdk.WatcherAny
	switch {
	case f.has('c'):
		typ = sdk.WatcherChildren
	case f.has('d'):
		typ = sdk.WatcherData
	}
	// The removed watches receive their removal events, which their
	// goroutines print (DataWatchRemoved, ChildWatchRemoved,
	// PersistentWatchRemoved), as zkCli's default watcher does.
	return zkErr(s.conn.RemoveWatches(ctx, path, typ, f.has('l')), path)
}

// configPath is where ZooKeeper exposes the dynamic configuration.
const configPath = "/zookeeper/config"

func (s *Shell) cmdConfig(ctx context.Context, words []string) error {
	f, err := parseFlags(words, "cws")
	if err != nil {
		return err
	}
	var data []byte
	var st sdk.Stat
	if f.has('w') {
		var ch <-chan sdk.Event
		data, st, ch, err = s.conn.GetConfigW(ctx)
		if err == nil {
			s.watchOnce(configPath, ch)
		}
	} else {
		data, st, err = s.conn.GetConfig(ctx)
	}
	if err != nil {
		return zkErr(err, configPath)
	}
	out := string(data)
	if f.has('c') {
		out = configClientString(out)
	}
	out += "\n"
	if f.has('s') {
		out += formatStat(st)
	}
	s.print(out)
	return nil
}
