package track

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/decode"
)

// floodPacket makes the i-th packet of a flood: every packet a new
// four-tuple, as a SYN flood from spoofed sources or a RST storm sends.
func floodPacket(p *decode.Packet, i int, flags decode.Flags, rng *rand.Rand) {
	*p = decode.Packet{Frame: int64(i + 1), TS: int64(i) * int64(time.Microsecond), WScale: -1, TTL: 64, Flags: flags}
	p.Src[10], p.Src[11] = 0xff, 0xff
	binary.BigEndian.PutUint32(p.Src[12:], uint32(i))
	p.Dst = [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 1}
	p.SrcPort, p.DstPort = uint16(1024+i%60000), 80
	p.Seq, p.Ack = rng.Uint32(), rng.Uint32()
}

// heapAfterGC reports the live heap.
func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestFloodMemoryBudget feeds a SYN flood of three million distinct flows
// and an RST storm of a million, and checks that the flow table's cap
// holds the live heap and the connections' slabs within the budget the
// README states: about 1.5 KB a connection, so DefaultMaxConns
// connections stay under 256 MiB.
func TestFloodMemoryBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("floods millions of flows")
	}
	const budget = 256 << 20
	for _, tc := range []struct {
		name  string
		n     int
		flags decode.Flags
	}{
		{"syn flood", 3_000_000, decode.SYN},
		{"rst storm", 1_000_000, decode.RST | decode.ACK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := heapAfterGC()
			resets := 0
			tr := &Tracker{MaxConns: DefaultMaxConns, Emit: func(*Reset) { resets++ }}
			rng := rand.New(rand.NewPCG(1, 2))
			var p decode.Packet
			var peak uint64
			for i := range tc.n {
				floodPacket(&p, i, tc.flags, rng)
				tr.Add(&p)
				if i%(tc.n/10) == tc.n/10-1 {
					// The connections' slabs are outside the heap.
					peak = max(peak, heapAfterGC()-base+uint64(tr.slabs.n*connSize))
				}
			}
			tr.Flush()
			st := tr.Stats()
			t.Logf("%s: %d flows, peak live heap and slabs %d MiB, table %d, evicted at cap %d, judged early %d",
				tc.name, tc.n, peak>>20, tr.Len(), st.EvictedCap, st.Early)
			if peak > budget {
				t.Errorf("peak live heap and slabs %d MiB, budget %d MiB", peak>>20, budget>>20)
			}
			if tr.Len() > DefaultMaxConns {
				t.Errorf("table holds %d connections, cap %d", tr.Len(), DefaultMaxConns)
			}
			if st.EvictedCap == 0 {
				t.Error("the cap was never reached: the test floods too little")
			}
			if tc.flags&decode.RST != 0 && resets != tc.n {
				t.Errorf("%d resets emitted, want %d", resets, tc.n)
			}
		})
	}
}

// BenchmarkFlood is the per-packet cost of a table at its cap: it must
// not grow with the number of flows seen (eviction is O(1)).
func BenchmarkFlood(b *testing.B) {
	tr := &Tracker{MaxConns: 1 << 16}
	rng := rand.New(rand.NewPCG(1, 2))
	var p decode.Packet
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		floodPacket(&p, i, decode.SYN, rng)
		tr.Add(&p)
		i++
	}
}
