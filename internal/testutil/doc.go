// Package testutil owns the black-box test harness around real server
// processes: it starts Apache ZooKeeper 3.8 (the Debian package that
// scripts/test-deps.sh installs) as an oracle, builds and starts Warren from
// this module with the same zoo.cfg settings, drives either through zkCli.sh
// with deterministic, cleaned transcripts, and speaks the four-letter words
// over raw TCP.
//
// Every process it starts lives in a t.TempDir(), listens on 127.0.0.1 on a
// free port, logs to a file in that directory (never to the terminal), and is
// stopped and reaped by t.Cleanup. Missing ZooKeeper or Java is a test
// failure that names scripts/test-deps.sh, not a skip: CI must install them.
//
// The compatibility suites compare an oracle (always ZooKeeper) with a
// candidate chosen by Candidate: see target.go for how to switch the
// candidate from a second ZooKeeper to Warren.
package testutil
