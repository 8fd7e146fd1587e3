// Command warren is the Warren binary: a ZooKeeper-compatible coordination
// server and the tools around it, as subcommands (server, status, version, bench, snapshot).
//
// Exit codes: 0 success; 1 failure (including `warren status` finding no
// server, as zkServer.sh status does); 2 invalid configuration or usage
// (ZooKeeperServerMain also exits 2 on an invalid config).
package main

import (
	"context"
	"os"
)

func main() {
	a := &app{
		stdout: os.Stdout,
		stderr: os.Stderr,
		env:    os.Getenv,
		serve:  runServe,
	}
	os.Exit(a.run(context.Background(), os.Args[1:]))
}
