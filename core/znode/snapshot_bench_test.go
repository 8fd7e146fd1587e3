package znode

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkSnapshot1M builds a tree of a million 100-byte znodes, then
// reports the longest single Next step (how long a snapshot can hold up
// writes), the time to produce the whole stream and the time to load it.
func BenchmarkSnapshot1M(b *testing.B) {
	tr := NewTree()
	data := bytes.Repeat([]byte("x"), 100)
	z := int64(0)
	for i := 0; i < 1000; i++ {
		z++
		tr.Apply(Header{Zxid: z, Time: z}, &CreateTxn{Path: fmt.Sprintf("/d%03d", i), Data: data, ParentCversion: -1})
		for j := 0; j < 999; j++ {
			z++
			tr.Apply(Header{Zxid: z, Time: z}, &CreateTxn{Path: fmt.Sprintf("/d%03d/n%03d", i, j), Data: data, ParentCversion: -1})
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := tr.BeginSnapshot()
		if err != nil {
			b.Fatal(err)
		}
		out := make([]byte, 0, 130<<20)
		var worst time.Duration
		var steps []time.Duration
		chunk := make([]byte, 0, 1<<20)
		start := time.Now()
		for done := false; !done; {
			t0 := time.Now()
			chunk, done = s.Next(chunk[:0], 4096)
			d := time.Since(t0)
			steps = append(steps, d)
			if d > worst {
				worst = d
			}
			out = append(out, chunk...)
		}
		slices.Sort(steps)
		b.ReportMetric(float64(steps[len(steps)*99/100].Microseconds()), "p99-step-µs")
		produce := time.Since(start)
		start = time.Now()
		got, _, err := LoadSnapshot(bufio.NewReaderSize(bytes.NewReader(out), 1<<20))
		if err != nil {
			b.Fatal(err)
		}
		load := time.Since(start)
		if got.NodeCount() != tr.NodeCount() {
			b.Fatal("node count")
		}
		b.ReportMetric(float64(worst.Microseconds()), "worst-step-µs")
		b.ReportMetric(float64(produce.Milliseconds()), "produce-ms")
		b.ReportMetric(float64(load.Milliseconds()), "load-ms")
		b.ReportMetric(float64(len(out))/1e6, "MB")
	}
}
