package track

import (
	"github.com/rstwhy/rstwhy/decode"

	"bytes"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// TestSlabsKeepResetsAlive: connections live outside the heap, so what
// they point to on it must be held from the heap too. Each of thousands
// of connections (several slabs, the huge ones included) is reset, its
// reset judged and emitted, and the collector runs with the freed memory
// reused; a second RST on each must still find the first as its cause.
func TestSlabsKeepResetsAlive(t *testing.T) {
	const n = 3000 // past smallSlabs: small slabs and a huge one
	firsts := map[uint16]int64{}
	var followups []*Reset
	tr := &Tracker{Quiet: time.Second, Linger: time.Minute}
	tr.Emit = func(r *Reset) {
		if r.First == nil {
			firsts[r.Packet.DstPort] = r.Packet.Frame
		} else {
			followups = append(followups, r)
		}
	}
	frame := int64(0)
	round := func(at time.Duration) {
		for i := range n {
			port := uint16(1024 + i)
			frame++
			tr.Add(seg(frame, at, port, true, decode.ACK|decode.PSH, 1, 1))
			frame++
			tr.Add(seg(frame, at, port, false, decode.RST|decode.ACK, 1, 1))
		}
	}
	round(0)
	tr.Advance(int64(2 * time.Second)) // quiet: every first reset is emitted
	if len(firsts) != n {
		t.Fatalf("%d first resets emitted, want %d", len(firsts), n)
	}
	for range 3 {
		runtime.GC()
		junk := make([][]byte, 0, 20000)
		for range cap(junk) {
			junk = append(junk, bytes.Repeat([]byte{0xa5}, int(unsafe.Sizeof(Reset{}))))
		}
		runtime.KeepAlive(junk)
	}
	round(3 * time.Second)
	tr.Flush()
	if len(followups) != n {
		t.Fatalf("%d follow-up resets, want %d", len(followups), n)
	}
	for _, r := range followups {
		port := r.Packet.DstPort
		if r.First.Packet.DstPort != port || r.First.Packet.Frame != firsts[port] {
			t.Fatalf("frame %d: its first reset reads as frame %d to port %d, want frame %d to port %d",
				r.Packet.Frame, r.First.Packet.Frame, r.First.Packet.DstPort, firsts[port], port)
		}
	}
	if tr.slabs.n < n {
		t.Errorf("slabs hold %d connections for %d", tr.slabs.n, n)
	}
}

// TestTrackerDiscard: a closed tracker holds nothing and, used again,
// starts afresh.
func TestTrackerDiscard(t *testing.T) {
	tr := &Tracker{}
	for i := range 2000 {
		tr.Add(seg(int64(i+1), 0, uint16(1024+i), true, decode.SYN, 1, 0))
	}
	tr.Close()
	if tr.Len() != 0 || tr.slabs.mem != nil || len(tr.free) != 0 {
		t.Fatalf("after Close: %d connections, slabs %v, %d free", tr.Len(), tr.slabs.mem != nil, len(tr.free))
	}
	tr.Add(seg(3000, time.Second, 1024, true, decode.SYN, 1, 0))
	if tr.Len() != 1 {
		t.Fatalf("a closed tracker used again holds %d connections, want 1", tr.Len())
	}
	tr.Close()
}

// TestConnLines: a connection is a whole number of 64-byte cache lines, so
// that in a slab (which starts on a page) each starts on a line and a
// lookup's key check reads one. Adding or removing a field changes the
// size: adjust conn's padding.
func TestConnLines(t *testing.T) {
	if connSize%64 != 0 {
		t.Errorf("conn is %d bytes, %d past a whole number of cache lines: adjust its padding", connSize, connSize%64)
	}
	if off := unsafe.Offsetof(conn{}.hash) + 8; off > 64 {
		t.Errorf("conn's key and hash end at byte %d, past its first cache line", off)
	}
}
