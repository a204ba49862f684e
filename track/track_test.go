package track

import (
	"github.com/rstwhy/rstwhy/decode"

	"testing"
	"time"
)

// seg is a hand-built segment of a connection between 10.0.0.1:port and
// 10.0.0.2:80, for the tracker's bookkeeping only.
func seg(frame int64, ts time.Duration, port uint16, fromClient bool, flags decode.Flags, seq, ack uint32) *decode.Packet {
	p := &decode.Packet{Frame: frame, TS: int64(ts), SrcPort: port, DstPort: 80, Flags: flags, Seq: seq, Ack: ack, TTL: 64, Window: 1000, WScale: -1}
	p.Src = [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 1}
	p.Dst = [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 2}
	if !fromClient {
		p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
	}
	return p
}

// The two tests below share one timeline. Idle is 16 s, so a connection
// moves in its list at most once a second. A opens at 0 and B at 10 ms;
// A's packet at 900 ms does not move it, so A stays at the front, and B,
// silent from 10 ms, waits behind it past its own idle time (16.01 s)
// until A's (16.9 s).
func lazyTimeline() *Tracker {
	tr := &Tracker{Idle: 16 * time.Second}
	tr.Add(seg(1, 0, 1000, true, decode.ACK, 1, 1))
	tr.Add(seg(2, 10*time.Millisecond, 2000, true, decode.ACK, 1, 1))
	tr.Add(seg(3, 900*time.Millisecond, 1000, true, decode.ACK, 1, 1))
	return tr
}

// TestLazyExpiryIsExact: moving connections in the activity list only
// now and then must not let a connection outlive its idle time where it
// shows: B's packet at 16.5 s opens a new connection although expire has
// not reached the old one yet.
func TestLazyExpiryIsExact(t *testing.T) {
	tr := lazyTimeline()
	tr.Add(seg(4, 16*time.Second+500*time.Millisecond, 2000, true, decode.ACK, 1, 1))
	if got := tr.Stats().Conns; got != 3 {
		t.Errorf("a packet after the idle time joined the old connection: %d connections opened, want 3", got)
	}
	if got := tr.Stats().EvictedIdle; got != 1 {
		t.Errorf("evicted idle %d, want 1", got)
	}
}

// TestLazyExpiryBound: a connection behind the front of its list leaves
// the table within a sixteenth of the idle time after it expired.
func TestLazyExpiryBound(t *testing.T) {
	tr := lazyTimeline()
	tr.Advance(int64(16*time.Second + 500*time.Millisecond))
	if got := tr.Len(); got != 2 {
		t.Fatalf("at 16.5 s: %d connections, want 2 (B waits behind A)", got)
	}
	tr.Advance(int64(16*time.Second + 900*time.Millisecond))
	if got := tr.Len(); got != 0 {
		t.Fatalf("at 16.9 s: %d connections, want 0", got)
	}
}

// TestRingLast holds Conn.last, which remembers where each side's latest
// summary is, to a scan of the ring, through sequences that wrap it many
// times and leave one side out of it for long runs.
func TestRingLast(t *testing.T) {
	var c Conn
	scan := func(dir uint8) (Summary, bool) {
		r := c.Recent()
		for i := len(r) - 1; i >= 0; i-- {
			if r[i].Dir == dir {
				return r[i], true
			}
		}
		return Summary{}, false
	}
	dirs := "0001110000000000000001011111111111111110101000000000000001"
	for i := range 500 {
		d := uint8(dirs[i%len(dirs)] - '0')
		if i%97 > 60 {
			d = 1 // long runs of one side, longer than the ring
		}
		c.push(Summary{Frame: int64(i + 1), Dir: d})
		for dir := range uint8(2) {
			want, ok := scan(dir)
			got, gotOK := c.last(dir)
			if ok != gotOK || ok && got.Frame != want.Frame {
				t.Fatalf("after frame %d: last(%d) = %v %v, want frame %d %v", i+1, dir, got, gotOK, want.Frame, ok)
			}
		}
	}
}

// TestUnackedFINKeepsConnection: a connection whose FINs are both in but
// one is unacknowledged is still live: its FIN's retransmission seconds
// later, and the RST it draws, belong to it, handshake and all.
func TestUnackedFINKeepsConnection(t *testing.T) {
	var got []*Reset
	tr := &Tracker{Emit: func(r *Reset) { got = append(got, r) }}
	tr.Add(seg(1, 0, 1000, true, decode.SYN, 100, 0))
	tr.Add(seg(2, 0, 1000, false, decode.SYN|decode.ACK, 500, 101))
	tr.Add(seg(3, 0, 1000, true, decode.ACK, 101, 501))
	tr.Add(seg(4, time.Millisecond, 1000, false, decode.FIN|decode.ACK, 501, 101)) // server closes
	tr.Add(seg(5, time.Millisecond, 1000, true, decode.FIN|decode.ACK, 101, 502))  // client acks it, closes too
	// The server's ACK of the client's FIN is lost: the client retransmits.
	tr.Add(seg(6, 3*time.Second, 1000, true, decode.FIN|decode.ACK, 101, 502))
	tr.Add(seg(7, 3*time.Second, 1000, false, decode.RST, 502, 0))
	tr.Flush()
	if n := tr.Stats().Conns; n != 1 {
		t.Errorf("%d connections, want 1: the retransmitted FIN began a new one", n)
	}
	if len(got) != 1 || !got[0].Conn.Handshake() {
		t.Fatalf("resets %d; want one, on a connection whose handshake was seen", len(got))
	}
	// Both FINs acknowledged: the connection ends, and leaves after Linger.
	tr2 := &Tracker{}
	tr2.Add(seg(1, 0, 1000, true, decode.SYN, 100, 0))
	tr2.Add(seg(2, 0, 1000, false, decode.SYN|decode.ACK, 500, 101))
	tr2.Add(seg(3, 0, 1000, true, decode.FIN|decode.ACK, 101, 501))
	tr2.Add(seg(4, 0, 1000, false, decode.FIN|decode.ACK, 501, 102))
	tr2.Add(seg(5, 0, 1000, true, decode.ACK, 102, 502))
	tr2.Advance(int64(3 * time.Second))
	if tr2.Len() != 0 {
		t.Errorf("a connection with both FINs acknowledged is still held after the linger time")
	}
}

// TestForgottenNoted: a connection let go of after its idle time, whose
// four-tuple then carries on, starts again without a handshake and says
// which packets were forgotten and why; one evicted at the cap says so.
func TestForgottenNoted(t *testing.T) {
	tr := &Tracker{Idle: time.Minute}
	tr.Add(seg(1, 0, 1000, true, decode.SYN, 100, 0))
	tr.Add(seg(2, 0, 1000, false, decode.SYN|decode.ACK, 500, 101))
	tr.Add(seg(3, time.Second, 1000, true, decode.ACK|decode.PSH, 101, 501))
	tr.Add(seg(4, 2*time.Minute, 1000, true, decode.ACK|decode.PSH, 102, 501))
	var got *Reset
	tr.Emit = func(r *Reset) { got = r }
	tr.Add(seg(5, 2*time.Minute, 1000, false, decode.RST, 501, 0))
	tr.Flush()
	if got == nil {
		t.Fatal("no reset")
	}
	if f := got.Conn.Forgotten; f.Frame != 3 || f.Why != ForgotIdle {
		t.Errorf("Forgotten = %+v, want frame 3, idle", f)
	}

	cap := &Tracker{MaxConns: 1}
	cap.Add(seg(1, 0, 1000, true, decode.ACK, 1, 1))
	cap.Add(seg(2, 0, 2000, true, decode.ACK, 1, 1)) // evicts port 1000
	var again *Reset
	cap.Emit = func(r *Reset) { again = r }
	cap.Add(seg(3, 0, 1000, false, decode.RST, 1, 0))
	cap.Flush()
	if again == nil || again.Conn.Forgotten.Why != ForgotCap || again.Conn.Forgotten.Frame != 1 {
		t.Errorf("after eviction at the cap: %+v", again)
	}
}

// TestRecycleReuses: with Recycle, a reset that nothing refers to any
// more (emitted, its connection gone) is the next one's; without, every
// reset is a new object, for receivers that keep them.
func TestRecycleReuses(t *testing.T) {
	for _, recycle := range []bool{false, true} {
		seen := map[*Reset]bool{}
		frames := 0
		tr := &Tracker{Recycle: recycle}
		tr.Emit = func(r *Reset) {
			seen[r] = true
			if r.Packet.Frame != int64(frames*4+4) {
				t.Fatalf("recycle %v: reset of frame %d, want %d", recycle, r.Packet.Frame, frames*4+4)
			}
			frames++
		}
		for i := range 100 {
			at := time.Duration(i) * 10 * time.Second
			port, f := uint16(1000+i), int64(i*4)
			tr.Add(seg(f+1, at, port, true, decode.SYN, 100, 0))
			tr.Add(seg(f+2, at+time.Millisecond, port, false, decode.SYN|decode.ACK, 500, 101))
			tr.Add(seg(f+3, at+2*time.Millisecond, port, true, decode.ACK, 101, 501))
			tr.Add(seg(f+4, at+3*time.Millisecond, port, true, decode.RST|decode.ACK, 101, 501))
		}
		tr.Flush()
		if frames != 100 {
			t.Fatalf("recycle %v: %d resets emitted, want 100", recycle, frames)
		}
		if recycle && len(seen) > 3 {
			t.Errorf("recycling: %d distinct resets for 100, each gone before the next: want at most 3", len(seen))
		}
		if !recycle && len(seen) != 100 {
			t.Errorf("not recycling: %d distinct resets, want 100", len(seen))
		}
	}
}

// TestForgedRSTs: a RST its receiver ignores (RFC 5961: not at the
// receiver's next sequence number) is no first RST for later ones to
// follow; back-to-back RSTs of one sender give the first the second's
// frame, time and sequence number.
func TestForgedRSTs(t *testing.T) {
	handshake := func(tr *Tracker) {
		tr.Add(seg(1, 0, 1000, true, decode.SYN, 100, 0))
		tr.Add(seg(2, 0, 1000, false, decode.SYN|decode.ACK, 500, 101))
		tr.Add(seg(3, 0, 1000, true, decode.ACK, 101, 501))
		p := seg(4, time.Millisecond, 1000, false, decode.PSH|decode.ACK, 501, 101)
		p.Len = 10
		tr.Add(p)
		tr.Add(seg(5, time.Millisecond, 1000, true, decode.ACK, 101, 511))
	}
	for _, tt := range []struct {
		name      string
		seq       uint32 // of the server's first RST; its next is at 2000
		followup  bool
		nextFrame int64
	}{
		{"exact", 511, true, 7},
		{"in the window, inexact: a challenge ACK", 1511, false, 7},
		{"behind what the client acknowledged", 505, false, 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []*Reset
			tr := &Tracker{Emit: func(r *Reset) { got = append(got, r) }}
			handshake(tr)
			tr.Add(seg(6, 2*time.Millisecond, 1000, false, decode.RST|decode.ACK, tt.seq, 101))
			tr.Add(seg(7, 2*time.Millisecond+100*time.Microsecond, 1000, false, decode.RST, 2000, 0))
			tr.Flush()
			if len(got) != 2 {
				t.Fatalf("%d resets, want 2", len(got))
			}
			if f := got[1].First != nil; f != tt.followup {
				t.Errorf("second RST has a first: %v, want %v", f, tt.followup)
			}
			a := got[0].After
			if a.NextRSTFrame != tt.nextFrame || a.NextRSTSeq != 2000 || a.NextRSTTS != int64(2*time.Millisecond+100*time.Microsecond) {
				t.Errorf("first RST's next: frame %d seq %d at %d, want frame 7 seq 2000", a.NextRSTFrame, a.NextRSTSeq, a.NextRSTTS)
			}
		})
	}
}

// TestResetKeepsTrailer: a RST's trailer is copied (the decoder's slice
// aliases a buffer the reader reuses) into the reset's own array, which a
// recycled reset reuses, and a later RST without one has none.
func TestResetKeepsTrailer(t *testing.T) {
	var got [][]byte
	tr := &Tracker{Recycle: true}
	tr.Emit = func(r *Reset) { got = append(got, append([]byte(nil), r.Packet.Trailer...)) }
	buf := []byte("trailer of the first RST")
	for i := range 3 {
		at := time.Duration(i) * 10 * time.Second
		port, f := uint16(1000+i), int64(i*4)
		tr.Add(seg(f+1, at, port, true, decode.SYN, 100, 0))
		tr.Add(seg(f+2, at+time.Millisecond, port, false, decode.SYN|decode.ACK, 500, 101))
		tr.Add(seg(f+3, at+2*time.Millisecond, port, true, decode.ACK, 101, 501))
		rst := seg(f+4, at+3*time.Millisecond, port, false, decode.RST|decode.ACK, 501, 101)
		if i != 1 {
			rst.Trailer = buf
		}
		tr.Add(rst)
		copy(buf, "overwritten by the reader")
	}
	tr.Flush()
	want := []string{"trailer of the first RST", "", "overwritten by the reader"[:len(buf)]}
	if len(got) != len(want) {
		t.Fatalf("%d resets, want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("reset %d: trailer %q, want %q", i, got[i], want[i])
		}
	}
}

// TestRecycleBurstsReuseSnapshots: resets come back to the pool however
// many a burst held, so a second burst as large as the first takes no new
// snapshot slot outside the heap.
func TestRecycleBurstsReuseSnapshots(t *testing.T) {
	tr := &Tracker{Recycle: true, Emit: func(*Reset) {}}
	frame := int64(0)
	burst := func(at time.Duration) {
		for i := range 20000 {
			frame++
			tr.Add(seg(frame, at, uint16(1000+i), true, decode.RST|decode.ACK, 101, 501))
		}
		tr.Advance(int64(at + time.Minute))
	}
	burst(0)
	after1 := tr.snaps.n
	burst(2 * time.Minute)
	if tr.snaps.n != after1 || after1 < 20000 {
		t.Errorf("snapshot slots: %d after the first burst of 20000, %d after the second; want the second to take none", after1, tr.snaps.n)
	}
}
