// Package cli is `warren cli`, an interactive ZooKeeper shell in the spirit
// of Apache ZooKeeper's zkCli.sh, built on Warren's Go client (package sdk).
//
// The shell speaks zkCli 3.8's command language: the same commands, flags,
// output formats ("cZxid = 0x...", "[a, b]", "'world,'anyone" / ": cdrwa"),
// error messages ("Node does not exist: /x") and watch event lines
// ("WATCHER::" / "WatchedEvent state:SyncConnected type:NodeDataChanged
// path:/x"), so that scripts written for zkCli.sh run unchanged and its
// transcripts can be compared line by line.
//
// It runs in three modes:
//
//   - interactive: commands are read with line editing, history
//     (~/.warren_cli_history) and Tab completion of command names and
//     znode paths when stdin is a terminal, and line by line
//     without a prompt otherwise (so scripts can pipe commands in);
//   - one-shot: `warren cli --server h:p get -s /x` runs one command and
//     exits with a status that tells success from failure (see the Exit*
//     constants);
//   - watch: `warren cli watch /path` streams the events of a
//     persistent-recursive watch, one line per event, until interrupted.
//
// Where zkCli.sh crashes (a non-numeric version, "redo x") the shell prints
// a usage message instead.
package cli
