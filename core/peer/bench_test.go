package peer

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/core/zab"
)

// BenchmarkSend measures one link's throughput for small (Ack) and
// proposal-sized frames, from Send to deliver.
func BenchmarkSend(b *testing.B) {
	for _, bc := range []struct {
		name string
		body zab.Body
	}{
		{"ack", zab.Ack{Zxid: 1}},
		{"proposal-1KiB", zab.Proposal{Zxid: 1, Txn: make([]byte, 1024)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			addrs := freeAddrs(b, 1)
			var got atomic.Int64
			var up atomic.Bool
			deliver := func(zab.Message) { got.Add(1) }
			events := func(ev Event) { up.Store(ev.Connected) }
			one, err := New(Config{Self: 1, Listen: addrs[0], Peers: map[int64]string{2: ""}}, deliver, events)
			require.NoError(b, err)
			require.NoError(b, one.Start())
			defer func() { require.NoError(b, one.Close()) }()
			two, err := New(Config{Self: 2, Peers: map[int64]string{1: addrs[0]}, MinBackoff: time.Millisecond},
				func(zab.Message) {}, nil)
			require.NoError(b, err)
			require.NoError(b, two.Start())
			defer func() { require.NoError(b, two.Close()) }()
			for !up.Load() {
				time.Sleep(time.Millisecond)
			}
			m := zab.Message{From: 2, To: 1, Body: bc.body}
			b.ResetTimer()
			for i := range b.N {
				if err := two.Send(m); err != nil {
					b.Fatal(err)
				}
				if i%1000 == 999 {
					for frames, _ := two.Backlog(1); frames > 5000; frames, _ = two.Backlog(1) {
						time.Sleep(50 * time.Microsecond)
					}
				}
			}
			for got.Load() < int64(b.N) {
				time.Sleep(50 * time.Microsecond)
			}
		})
	}
}
