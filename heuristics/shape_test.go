package heuristics

import (
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/decode"
)

const psh = decode.PSH | decode.ACK

// An early answer, a half-close, then close() with the request body
// unread (Go net/http, Python http.server, HAProxy): tcp_close finds data
// unread in FIN_WAIT1/2 and sends an active reset, RST+ACK at snd_nxt =
// FIN + 1, acknowledging the body it throws away (TCP_ABORT_ON_CLOSE).
func TestFINThenActiveResetIsUnreadData(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 300)                    // headers: Content-Length too large
	c.after(time.Millisecond).send(srv, psh, 120)                    // 413
	c.after(10*time.Microsecond).send(srv, decode.FIN|decode.ACK, 0) // CloseWrite
	c.after(200*time.Microsecond).send(cli, decode.ACK, 1400)        // the body goes on
	c.after(10*time.Microsecond).send(cli, decode.ACK, 1400)
	rst := c.after(30 * time.Microsecond).active(srv)
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, UnreadDataClose, 0.7, 1)
	if v.KernelReason != "TCP_ABORT_ON_CLOSE" {
		t.Errorf("kernel %q, want TCP_ABORT_ON_CLOSE", v.KernelReason)
	}
}

// The same close, but the RST answers the body the way a socket that is
// closed answers data (tcp_v4_send_reset: no ACK flag, seq = the
// segment's ack): data after close, TCP_ABORT_ON_DATA.
func TestFINThenReplyResetIsDataAfterClose(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 300)
	c.after(time.Millisecond).send(srv, psh, 120)
	c.after(10*time.Microsecond).send(srv, decode.FIN|decode.ACK, 0)
	body := c.after(200*time.Microsecond).send(cli, decode.ACK, 1400)
	rst := c.after(30*time.Microsecond).reply(srv, body)
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, DataAfterClose, 0.7, 1)
	if v.KernelReason != "TCP_ABORT_ON_DATA" {
		t.Errorf("kernel %q, want TCP_ABORT_ON_DATA", v.KernelReason)
	}
}

// FIN, then RST+ACK at FIN + 1 with nothing of the peer's pending: an
// abortive close after a half-close, not data after close.
func TestFINThenActiveResetNothingPending(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 300)
	c.after(time.Millisecond).send(srv, psh, 120)
	c.after(10*time.Microsecond).send(srv, decode.FIN|decode.ACK, 0)
	c.after(200*time.Microsecond).send(cli, decode.ACK, 0)
	rst := c.after(30 * time.Microsecond).active(srv)
	wantVerdict(t, c.verdict(rst.Frame), LingerAbort, 0.3, 0.5)
}

// A resetter in FIN_WAIT2 never acknowledged the peer's FIN: it was not
// in TIME_WAIT (RFC 9293 §3.10.7.4), and the peer's retransmitted data it
// had never acknowledged drew a data-after-close reset.
func TestFinWait2RetransmissionIsDataAfterClose(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 100)
	c.after(time.Millisecond).send(srv, psh, 100)
	c.after(time.Millisecond).send(srv, decode.FIN|decode.ACK, 0)
	c.after(100*time.Microsecond).send(cli, decode.ACK, 0) // the FIN acknowledged: FIN_WAIT2
	seq := c.nxt[0]
	c.after(5*time.Millisecond).send(cli, decode.PSH|decode.FIN|decode.ACK, 50) // lost on the way
	re := c.after(200*time.Millisecond).raw(cli, decode.PSH|decode.FIN|decode.ACK, seq, c.nxt[1], 50)
	rst := c.after(100*time.Microsecond).reply(srv, re)
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, DataAfterClose, 0.7, 1)
	if !evidenceHas(v, "retransmitted") {
		t.Errorf("evidence does not name the retransmission: %q", v.Evidence)
	}
}

// The same with the peer's FIN acknowledged by the resetter: a true
// TIME_WAIT.
func TestTimewaitNeedsPeerFINAcked(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 100)
	c.after(time.Millisecond).send(srv, psh, 100)
	c.after(time.Millisecond).send(srv, decode.FIN|decode.ACK, 0)
	c.after(100*time.Microsecond).send(cli, decode.FIN|decode.ACK, 0)
	c.after(100*time.Microsecond).send(srv, decode.ACK, 0)
	late := c.after(500*time.Millisecond).raw(cli, decode.ACK, c.nxt[0], c.nxt[1], 0)
	late.Seq -= 10 // an old segment the TIME_WAIT socket cannot accept
	late.Len = 10
	rst := c.after(100*time.Microsecond).reply(srv, late)
	wantVerdict(t, c.verdict(rst.Frame), TimewaitRST, 0.6, 1)
}

// Captured on the client's side: the client's data leaves before the
// server's FIN arrives, but reaches the server after it (it crossed the
// FIN on the wire: its ack does not cover the FIN). The server's bare RST
// 6 µs after its FIN answers that data (seq = its ack): data after close,
// never a connection lost in 6 µs.
func TestCrossingDataIsDataAfterClose(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 100)
	c.after(time.Millisecond).send(srv, psh, 100)
	data := c.after(time.Millisecond).send(cli, psh, 60)
	fin := c.after(5*time.Microsecond).raw(srv, decode.FIN|decode.ACK, c.nxt[1], data.Seq, 0) // crossed: acks nothing of it
	c.nxt[1]++
	rst := c.after(6*time.Microsecond).reply(srv, data)
	_ = fin
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, DataAfterClose, 0.7, 1)
	if evidenceHas(v, "lost it since") {
		t.Errorf("a gap of microseconds called a lost connection: %q", v.Evidence)
	}
}

// Resets from both sides 5 µs apart, each at its own next sequence
// number: a RST is never answered (RFC 9293 §3.10.7), so the second is an
// abort of its own, judged on its own, not a follow-up of the first.
func TestBothSidesResetAreIndependent(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 100)
	c.after(time.Millisecond).send(srv, psh, 100)
	c.after(time.Millisecond).send(cli, decode.ACK, 0)
	first := c.after(time.Second).active(cli)
	second := c.after(5 * time.Microsecond).active(srv)
	if v := c.verdict(first.Frame); v.Followup {
		t.Errorf("the first RST is a follow-up: %+v", v)
	}
	v := c.verdict(second.Frame)
	if v.Followup || v.Cause == Unknown {
		t.Errorf("the second RST: followup %v, cause %s; want judged on its own\n\t%q", v.Followup, v.Cause, v.Evidence)
	}
	for _, r := range c.resets() {
		if r.Packet.Frame == second.Frame && r.First != nil {
			t.Errorf("the tracker made frame %d a consequence of frame %d", second.Frame, r.First.Packet.Frame)
		}
	}
}

// A segment the first resetter sent after its RST draws the other side's
// RST: that one is a follow-up.
func TestFollowupNeedsASegmentAfterTheFirstRST(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 100)
	c.after(time.Millisecond).send(srv, psh, 100)
	first := c.after(time.Millisecond).active(cli)
	late := c.after(time.Millisecond).send(cli, psh, 10) // from the same client, after its RST
	second := c.after(50*time.Microsecond).reply(srv, late)
	_ = first
	if v := c.verdict(second.Frame); !v.Followup {
		t.Errorf("frame %d answers frame %d, sent after the first RST: want a follow-up, got %s", second.Frame, late.Frame, v.Cause)
	}
}

// A server resets with the client's request unanswered, its window never
// moved and the RST acknowledging nothing new: read-then-abort and
// close-with-data-unread send the same packets, so the verdict names both
// and promises no more than even odds.
func TestUnansweredIsNotProvenUnread(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 200)
	c.after(40*time.Millisecond).send(srv, decode.ACK, 0)
	rst := c.after(time.Millisecond).active(srv)
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, UnreadDataClose, 0.3, 0.5)
	if !evidenceHas(v, "linger_abort") {
		t.Errorf("evidence does not name the other possibility: %q", v.Evidence)
	}
}

// The server replied after the client's data and reset: replying is not
// reading, so linger_abort, but at no more than even odds, naming both.
func TestReplyIsNotReading(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 200)
	c.after(time.Millisecond).send(srv, psh, 20) // "ERROR"
	rst := c.after(50 * time.Microsecond).active(srv)
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, LingerAbort, 0.3, 0.5)
	if !evidenceHas(v, "unread_data_close") {
		t.Errorf("evidence does not name the other possibility: %q", v.Evidence)
	}
}

// A capture whose clock steps back an hour between the last packet and
// the RST: the evidence must say so, never print a negative gap.
func TestBackwardsClockPrintsNoNegativeGap(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 200)
	c.after(time.Millisecond).send(srv, psh, 20)
	c.after(time.Millisecond).send(cli, psh, 200)
	rst := c.after(-time.Hour).active(srv)
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, v.Cause, 0, 1) // any cause: the check is on the sentences
	if !evidenceHas(v, "backwards") {
		t.Errorf("evidence does not say the clock went back: %q", v.Evidence)
	}
}

// A "refusal" followed by the same server's SYN-ACK, with the client
// going on with the same ISN: the RST was ignored, so it was never a
// refusal (a refusing stack has no socket to answer from).
func TestIgnoredRefusalIsNotConnectionRefused(t *testing.T) {
	c := newConvo(t)
	syn := c.send(cli, decode.SYN, 0)
	c.ttl[1] = 50
	rst := c.after(300*time.Microsecond).raw(srv, decode.RST|decode.ACK, 0, syn.Seq+1, 0)
	c.ttl[1] = 52
	c.after(time.Millisecond).send(srv, decode.SYN|decode.ACK, 0)
	c.after(100*time.Microsecond).send(cli, decode.ACK, 0)
	c.after(100*time.Microsecond).send(cli, psh, 100)
	v := c.verdict(rst.Frame)
	if v.Cause == ConnectionRefused {
		t.Errorf("an ignored RST called a refusal\n\t%q", v.Evidence)
	}
	wantVerdict(t, v, MiddleboxReset, 0.5, 1)
}

// A Windows server (initial TTL 128) acknowledges the client's FIN and
// resets instead of sending its own: an abortive close, and no Linux
// sk_rst_reason, since Linux did not send it.
func TestWindowsServerGetsNoLinuxReason(t *testing.T) {
	c := newConvo(t)
	c.ttl[1] = 128 - 3
	c.handshake()
	c.after(time.Millisecond).send(cli, psh, 200)
	c.after(time.Millisecond).send(srv, psh, 2000)
	c.after(time.Millisecond).send(cli, decode.FIN|decode.ACK, 0)
	c.after(100*time.Microsecond).send(srv, decode.ACK, 0)
	rst := c.after(50 * time.Microsecond).active(srv)
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, LingerAbort, 0.3, 1)
	if v.KernelReason != "" {
		t.Errorf("kernel reason %q for a Windows sender", v.KernelReason)
	}
	if !evidenceHas(v, "Windows") {
		t.Errorf("evidence does not name the inferred system: %q", v.Evidence)
	}
}

// TTL as a distance: a RST one hop nearer than the server's packets is a
// device's; one whose sender's own TTLs jump around (a scanner's crafted
// packets) has no baseline to differ from; one from the same distance
// under another initial TTL is at best weak evidence.
func TestTTLBaseline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		srvTTLs  []uint8
		rstTTL   uint8
		min, max float64
		why      string
	}{
		{"nearer", []uint8{61, 61, 61}, 62, 0.8, 1, "three hops against two: another device"},
		{"thin", []uint8{61}, 62, 0.5, 0.65, "one packet is a thin baseline"},
		{"jumping", []uint8{41, 200, 61}, 62, 0, 0, "crafted TTLs are no baseline"},
		{"same distance", []uint8{61, 61, 61}, 125, 0.3, 0.5, "3 hops from 64 and from 128"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConvo(t)
			c.send(cli, decode.SYN, 0)
			c.ttl[1] = tc.srvTTLs[0]
			c.after(100*time.Microsecond).send(srv, decode.SYN|decode.ACK, 0)
			c.after(100*time.Microsecond).send(cli, decode.ACK, 0)
			c.after(time.Millisecond).send(cli, psh, 100)
			for _, ttl := range tc.srvTTLs[1:] {
				c.ttl[1] = ttl
				c.after(time.Millisecond).send(srv, psh, 100)
			}
			c.ttl[1] = tc.rstTTL
			rst := c.after(time.Millisecond).active(srv)
			var got float64
			for _, r := range c.resets() {
				if r.Packet.Frame == rst.Frame {
					got = middleboxRule.Match(newView(r), false).Confidence
				}
			}
			if got < tc.min || got > tc.max {
				t.Errorf("middlebox confidence %.2f, want [%.2f, %.2f]: %s", got, tc.min, tc.max, tc.why)
			}
		})
	}
}

// FIN+RST+URG from the server, its TTL continuous with its other packets:
// a crafted packet, invalid at low confidence, not a forgery and not a
// stack's cause.
func TestCraftedFlagsAreInvalid(t *testing.T) {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 100)
	c.after(time.Millisecond).send(srv, psh, 100)
	rst := c.after(time.Millisecond).active(srv)
	c.pkts[len(c.pkts)-1].Flags |= decode.FIN | decode.URG
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, InvalidSegment, 0.1, 0.5)
	if v.KernelReason != "" {
		t.Errorf("kernel reason %q for a crafted packet", v.KernelReason)
	}
}
