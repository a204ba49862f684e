package heuristics

import (
	"strings"
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// TestSince: durations in evidence always carry their unit.
func TestSince(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{250 * time.Microsecond, "250 µs"},
		{12500 * time.Microsecond, "12.5 ms"},
		{time.Second, "1 s"},
		{1500 * time.Millisecond, "1.50 s"},
		{60 * time.Second, "60 s"},
	} {
		if got := since(0, int64(tt.d)); got != tt.want {
			t.Errorf("since(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestTimedOut: a RST a whole number of seconds after the peer's last
// packet, nothing between, is a timer's; anything else is not.
func TestTimedOut(t *testing.T) {
	for _, tt := range []struct {
		gap, other time.Duration // RST after the peer's last packet; another packet after it
		want       bool
	}{
		{time.Second + 265*time.Microsecond, 0, true},
		{5*time.Second - 3*time.Millisecond, 0, true},
		{1500 * time.Millisecond, 0, false},
		{300 * time.Millisecond, 0, false},
		{time.Second, 400 * time.Millisecond, false}, // the resetter spoke in between
	} {
		peer := &track.Summary{Frame: 1, TS: 0}
		last := peer
		if tt.other > 0 {
			last = &track.Summary{Frame: 2, TS: int64(tt.other)}
		}
		v := &View{LastPeer: peer, LastAny: last, RST: &decode.Packet{TS: int64(tt.gap)}}
		if got := v.timedOut(); got != tt.want {
			t.Errorf("gap %v, other packet at %v: timedOut %v, want %v", tt.gap, tt.other, got, tt.want)
		}
	}
}

// TestWithPayload: a RST that carries data is no common stack's: its
// verdict keeps its cause, loses its kernel reason and promises no more
// than even odds; a bare RST's verdict is left alone.
func TestWithPayload(t *testing.T) {
	for _, n := range []int{0, 31} {
		v := &View{RST: &decode.Packet{Frame: 8, Len: n}}
		out := &Verdict{Cause: UnreadDataClose, Confidence: 0.8, KernelReason: "TCP_ABORT_ON_CLOSE"}
		v.withPayload(out, true)
		if n == 0 && (out.Confidence != 0.8 || out.KernelReason == "" || len(out.Evidence) != 0) {
			t.Errorf("bare RST: %+v, want it unchanged", out)
		}
		if n > 0 && (out.Cause != UnreadDataClose || out.Confidence != 0.5 || out.KernelReason != "" || len(out.Evidence) != 1) {
			t.Errorf("RST with %d bytes: %+v, want the cause kept at 0.5, no kernel reason, one sentence", n, out)
		}
	}
}

// TestWithPayloadCommonStack: a RST with payload in the name of a sender
// whose own packets came from a common host stack (TTL 63: an initial 64)
// was written by something else: middlebox_reset at even odds, the
// packets' cause named beside it. Network gear (an initial 255) keeps the
// packets' cause.
func TestWithPayloadCommonStack(t *testing.T) {
	for _, tt := range []struct {
		ttl  uint8
		want Cause
	}{{63, MiddleboxReset}, {127, MiddleboxReset}, {250, LingerAbort}} {
		c := &track.Conn{}
		c.Resets = 1
		c.Sides[1] = track.Side{Packets: 5, MinTTL: tt.ttl, MaxTTL: tt.ttl}
		v := &View{RST: &decode.Packet{Frame: 8, Len: 8, TTL: tt.ttl, Payload: []byte{0x33, 0xAA, 0, 17, 0, 0, 0, 0}},
			C: c, M: &c.Sides[1], Me: Server}
		out := &Verdict{Cause: LingerAbort, Confidence: 0.5, KernelReason: "TCP_STATE", Evidence: []string{"packets"}}
		v.withPayload(out, true)
		if out.Cause != tt.want || out.Confidence != 0.5 || out.KernelReason != "" {
			t.Errorf("sender TTL %d: %+v, want %s at 0.5 without a kernel reason", tt.ttl, out, tt.want)
		}
		if tt.want == MiddleboxReset && (len(out.Evidence) != 2 || !strings.Contains(out.Evidence[0], "linger_abort") ||
			!strings.Contains(out.Evidence[0], "middlebox interference")) {
			t.Errorf("sender TTL %d: evidence %q, want the payload sentence first, decoded, naming linger_abort", tt.ttl, out.Evidence)
		}
	}
}
