package correlate_test

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/correlate"
)

// floodReset is the i-th reset of a flood: every one from a host of its
// own, a microsecond apart, so that no group ever closes by time and the
// cap does all the work.
func floodReset(i int) correlate.Reset {
	a := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
	res := netip.AddrPortFrom(netip.AddrFrom4(a), 80)
	return correlate.Reset{Frame: int64(i + 1), TS: t0 + int64(i)*int64(time.Microsecond), Resetter: res,
		Peer: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 1}), uint16(i)), Server: res, Cause: "linger_abort"}
}

func TestFloodBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a million resets")
	}
	const n = 1_000_000
	const maxOpen = 10_000
	var emitted, resets int64
	c := &correlate.Correlator{MaxOpen: maxOpen, Emit: func(g correlate.Group) { emitted++; resets += g.Count }}
	check := func(i int) {
		open, frames, queue := c.Sizes()
		if open > maxOpen || frames > maxOpen || queue > 4*maxOpen {
			t.Fatalf("after %d resets: %d groups open, %d frames, a queue of %d; cap %d", i, open, frames, queue, maxOpen)
		}
	}
	i := 0
	for ; i < n/2; i++ {
		c.Add(floodReset(i))
		check(i)
	}

	// Warmed up: Add in a steady state allocates (nearly) nothing, whatever
	// the number of resets before.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for ; i < n; i++ {
		c.Add(floodReset(i))
	}
	runtime.ReadMemStats(&after)
	check(i)
	if perAdd := float64(after.Mallocs-before.Mallocs) / (n / 2); perAdd > 0.01 {
		t.Errorf("%.3f allocations per Add in a steady flood, want at most 0.01", perAdd)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// The live heap follows the cap, not the resets seen: the maps settle
	// at a size of their own as deleted slots are reused (measured: 8.4 MB
	// after a million resets, 11.1 MB from four million to eight), well
	// under 2 KB a group.
	if after.HeapAlloc > before.HeapAlloc*3/2 || after.HeapAlloc > 2048*maxOpen+1<<20 {
		t.Errorf("live heap %d bytes after %d resets, %d after %d: it grows with the resets", after.HeapAlloc, n, before.HeapAlloc, n/2)
	}

	c.Flush()
	s := c.Stats()
	if resets != n || emitted != s.Groups || s.Evicted < n-maxOpen || s.Open != 0 {
		t.Errorf("emitted %d groups of %d resets; Stats %+v", emitted, resets, s)
	}
}

func BenchmarkAdd(b *testing.B) {
	// A mix: storms, a repeat, a scan, singletons, follow-ups.
	var cpt capture
	for i := range 1000 {
		ts := time.Duration(i) * 37 * time.Millisecond
		switch i % 10 {
		case 0, 1, 2:
			cpt.add(serverReset(ts, server, client(i), "unread_data_close"))
		case 3:
			cpt.add(refusal(ts, "10.0.0.1", uint16(i), scanner))
		case 4:
			cpt.add(followup(ts, cpt.rs[i-4], int64(i-3)))
		default:
			r := floodReset(i)
			r.TS = t0 + int64(ts)
			cpt.add(r)
		}
	}
	b.ReportAllocs()
	c := &correlate.Correlator{Emit: func(correlate.Group) {}}
	var shift int64
	for b.Loop() {
		for _, r := range cpt.rs {
			r.TS += shift
			c.Add(r)
		}
		shift += int64(time.Hour)
	}
}
