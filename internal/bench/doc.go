// Package bench owns Warren's load generator, `warren bench`: a minimal
// pipelined ZooKeeper-protocol client (Conn) that keeps many requests in
// flight per connection and records each one's latency in a log-linear
// histogram (Histogram), the workloads that drive it (create, set, get,
// mixed, populate), the measurement of client and server CPU and server
// memory from /proc, and the cobra command that exposes it all.
//
// The same client drives any server that speaks the ZooKeeper client
// protocol, so Warren and Apache ZooKeeper are measured alike; scripts/bench.sh
// runs both side by side and writes docs/benchmarks.md.
package bench
