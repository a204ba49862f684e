package track

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/decode"
)

// threadCPU is the CPU time the calling thread has used: work done, not
// wall time, so a busy machine does not change it much.
func threadCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// workRatio runs f(n) and f(8n), each the best of three on a thread of
// its own, and returns how much more CPU time the larger took. Work that
// grows linearly gives about 8, quadratic work 64. A larger table costs
// more a packet in cache misses (measured up to 2.3 times as much at 8n,
// on a loaded machine): the tests fail past maxWorkRatio, which linear
// work stays under and quadratic work does not reach down to.
const (
	workScale    = 8
	maxWorkRatio = 24
)

func workRatio(tb testing.TB, n int, f func(n int)) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best := func(n int) time.Duration {
		b := time.Duration(1 << 62)
		for range 3 {
			runtime.GC()
			t0 := threadCPU(tb)
			f(n)
			b = min(b, threadCPU(tb)-t0)
		}
		return max(b, time.Microsecond)
	}
	small, large := best(n), best(workScale*n)
	tb.Logf("n=%d: %v; %dn: %v", n, small, workScale, large)
	return float64(large) / float64(small)
}

// TestManyResetsOneConnLinear: a handshake and N RSTs on one four-tuple
// (a storm on one connection, equal timestamps) cost time in proportion
// to N. Every packet used to walk every reset still gathering its
// aftermath: 40k RSTs took 21 s.
func TestManyResetsOneConnLinear(t *testing.T) {
	run := func(n int) {
		emitted := 0
		tr := &Tracker{Emit: func(*Reset) { emitted++ }}
		tr.Add(seg(1, 0, 1000, true, decode.SYN, 100, 0))
		tr.Add(seg(2, 0, 1000, false, decode.SYN|decode.ACK, 500, 101))
		tr.Add(seg(3, 0, 1000, true, decode.ACK, 101, 501))
		for i := range n {
			tr.Add(seg(int64(4+i), time.Millisecond, 1000, i%2 == 0, decode.RST|decode.ACK, 101, 501))
		}
		tr.Flush()
		if emitted != n {
			t.Fatalf("%d resets emitted, want %d", emitted, n)
		}
		tr.Close()
	}
	if r := workRatio(t, 10000, run); r > maxWorkRatio {
		t.Errorf("%dx the resets on one connection took %.1fx the work, want about %d", workScale, r, workScale)
	}
}

// TestManyResetsDistinctFlowsLinear: N RSTs on N distinct flows (a RST
// storm) cost time in proportion to N.
func TestManyResetsDistinctFlowsLinear(t *testing.T) {
	run := func(n int) {
		emitted := 0
		tr := &Tracker{MaxConns: DefaultMaxConns, Emit: func(*Reset) { emitted++ }}
		for i := range n {
			p := seg(int64(1+i), time.Duration(i)*time.Microsecond, uint16(1024+i%60000), true, decode.RST|decode.ACK, 1, 1)
			p.Src[13] = byte(i >> 16)
			tr.Add(p)
		}
		tr.Flush()
		if emitted != n {
			t.Fatalf("%d resets emitted, want %d", emitted, n)
		}
		tr.Close()
	}
	if r := workRatio(t, 10000, run); r > maxWorkRatio {
		t.Errorf("%dx the resets on distinct flows took %.1fx the work, want about %d", workScale, r, workScale)
	}
}

// TestAftermathManyResets: with many resets open on one connection,
// each still gets exactly the packets that came after it.
func TestAftermathManyResets(t *testing.T) {
	var got []*Reset
	tr := &Tracker{Emit: func(r *Reset) { got = append(got, r) }}
	tr.Add(seg(1, 0, 1000, true, decode.SYN, 100, 0))
	tr.Add(seg(2, 0, 1000, false, decode.SYN|decode.ACK, 500, 101))
	tr.Add(seg(3, 0, 1000, true, decode.ACK, 101, 501))
	// Frames 4..13: client RST, server data, alternately.
	for i := range 10 {
		if i%2 == 0 {
			tr.Add(seg(int64(4+i), time.Millisecond, 1000, true, decode.RST, 101, 0))
		} else {
			tr.Add(seg(int64(4+i), time.Millisecond, 1000, false, decode.ACK|decode.PSH, uint32(501+i), 101))
		}
	}
	tr.Flush()
	if len(got) != 5 {
		t.Fatalf("%d resets, want 5", len(got))
	}
	for k, r := range got {
		// Reset k is frame 4+2k; after it come 4-k client RSTs and 5-k
		// server data packets, the first of them at frame 5+2k.
		a := r.After
		if a.Packets[0] != int64(4-k) || a.RSTs[0] != int64(4-k) || a.Packets[1] != int64(5-k) {
			t.Errorf("reset %d (frame %d): after it %d+%d packets, %d RSTs; want %d+%d, %d",
				k, r.Packet.Frame, a.Packets[0], a.Packets[1], a.RSTs[0], 4-k, 5-k, 4-k)
		}
		if a.FirstFrame[1] != int64(5+2*k) {
			t.Errorf("reset %d: peer's first packet after it %d, want %d", k, a.FirstFrame[1], 5+2*k)
		}
		if k < 4 && a.FirstFrame[0] != int64(6+2*k) {
			t.Errorf("reset %d: its sender's first packet after it %d, want %d", k, a.FirstFrame[0], 6+2*k)
		}
		if a.SenderLaterFrame != 0 {
			t.Errorf("reset %d: sender later frame %d, want 0 (it sent only RSTs)", k, a.SenderLaterFrame)
		}
	}
}

// countObserver counts what an Observer is told.
type countObserver struct {
	segments map[ConnID]int
	dropped  int
}

func (o *countObserver) Segment(id ConnID, dir int, p *decode.Packet, c *Conn) {
	if c.LastFrame != p.Frame {
		panic("observer called before the segment was applied")
	}
	o.segments[id]++
}

func (o *countObserver) Dropped(id ConnID, c *Conn) {
	if o.segments[id] == 0 || c.Packets == 0 {
		panic("dropped a connection never seen")
	}
	delete(o.segments, id)
	o.dropped++
}

// TestObserver: an observer sees every segment of every connection by its
// ID, after the tracker applied it, and every connection that leaves.
func TestObserver(t *testing.T) {
	o := &countObserver{segments: map[ConnID]int{}}
	tr := &Tracker{Observer: o, Linger: time.Second}
	tr.Add(seg(1, 0, 1000, true, decode.SYN, 100, 0))
	tr.Add(seg(2, 0, 2000, true, decode.SYN, 100, 0))
	tr.Add(seg(3, 0, 1000, false, decode.SYN|decode.ACK, 500, 101))
	tr.Add(seg(4, 0, 1000, true, decode.RST, 101, 0))
	if len(o.segments) != 2 {
		t.Fatalf("%d connections seen, want 2", len(o.segments))
	}
	var counts []int
	for _, n := range o.segments {
		counts = append(counts, n)
	}
	if counts[0]+counts[1] != 4 || (counts[0] != 3 && counts[1] != 3) {
		t.Errorf("segments by connection %v, want 3 and 1", counts)
	}
	tr.Advance(int64(2 * time.Second)) // the reset connection lingers 1 s
	if o.dropped != 1 || len(o.segments) != 1 {
		t.Errorf("after the linger: %d dropped, %d left; want 1, 1", o.dropped, len(o.segments))
	}
}
