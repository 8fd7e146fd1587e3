package bench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/warrenhq/warren/internal/testutil"
)

// BenchmarkClients runs each workload once per client against a Warren
// server (BENCH_SERVER if set, else one started for the benchmark) and
// reports the run's throughput and client CPU per op. Its purpose is a CPU
// profile of the clients (the server runs in another process):
//
//	go test -run '^$' -bench 'Clients/sdk/set' -benchtime 1x -cpuprofile cpu.out ./internal/bench/
//	go tool pprof -top internal/bench/bench.test cpu.out
func BenchmarkClients(b *testing.B) {
	addr := os.Getenv("BENCH_SERVER")
	if addr == "" {
		addr = testutil.TargetWarren.Start(b, testutil.ServerConfig{})
	}
	duration := 3 * time.Second
	if d, err := time.ParseDuration(os.Getenv("BENCH_DURATION")); err == nil {
		duration = d
	}
	for _, cl := range Clients {
		for _, wl := range []Workload{WorkloadCreate, WorkloadSet, WorkloadGet, WorkloadMixed} {
			b.Run(string(cl)+"/"+string(wl), func(b *testing.B) {
				for range b.N {
					res, err := Run(context.Background(), Config{
						Server: addr, Client: cl, Workload: wl, Duration: duration, Warmup: 500 * time.Millisecond,
						Root: "/bench-clients-" + string(cl),
					})
					if err != nil {
						b.Fatal(err)
					}
					if res.Errors > 0 {
						b.Fatalf("%d errors, first %s", res.Errors, res.FirstError)
					}
					b.ReportMetric(res.OpsPerSec, "ops/s")
					b.ReportMetric(res.ClientCPUUsPerOp, "client-µs/op")
					b.ReportMetric(res.Latency.P99Us, "p99-µs")
				}
			})
		}
	}
}
