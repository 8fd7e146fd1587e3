// Package bench owns Warren's load generator, `warren bench`: the workloads
// (create, set, get, mixed, populate), the clients that drive them, a
// log-linear latency histogram per opcode (Histogram), the measurement of
// client and server CPU and server memory from getrusage and /proc, and the
// cobra command that exposes it all.
//
// Three clients run the same workloads (Config.Client, --client): Warren's
// Go SDK (package sdk, the default) and github.com/go-zookeeper/zk, each
// with InFlight goroutines making synchronous calls on every shared session
// (both clients pipeline concurrent calls on one connection), and Conn, a
// minimal pipelined ZooKeeper-protocol client that keeps InFlight requests
// in flight from one goroutine per connection ("raw": the lightest load
// generator, and the one the failover workload and WaitForGet use).
//
// Every client drives any server that speaks the ZooKeeper client protocol,
// so Warren and Apache ZooKeeper are measured alike; scripts/bench.sh runs
// both side by side (raw client), compares the sdk and go-zookeeper clients
// on both, and writes docs/benchmarks.md.
package bench
