package heuristics

import (
	"fmt"

	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// invalidRule: a RST answering a segment the resetter could not accept.
//
// Wire: the peer's last segment acknowledges something the resetter never
// sent (its ACK lies outside ISN+1..snd_nxt), typically a SYN-ACK to a
// SYN_SENT socket with another ISN (a reused port, a half-open
// connection); the RST takes its seq from that ACK (RFC 9293 §3.10.7.3).
// Linux: tcp_rcv_synsent_state_process / tcp_check_req reject it: reason
// TCP_INVALID_ACK_SEQUENCE (TCP_FLAGS for an odd flag combination).
var invalidRule = Rule{Cause: InvalidSegment, Kernel: "TCP_INVALID_ACK_SEQUENCE", Match: func(v *View, explain bool) Finding {
	lp := v.LastPeer
	if lp == nil || lp.Flags&decode.ACK == 0 || !v.replyShape() || v.M.SYNFrame == 0 || !v.M.HasSeq {
		return Finding{}
	}
	lo, hi := v.M.ISN+1, v.M.NextSeq
	if track.SeqDiff(lo, lp.Ack) >= 0 && track.SeqDiff(lp.Ack, hi) >= 0 {
		return Finding{}
	}
	f := Finding{Confidence: 0.75}
	if !explain {
		return f
	}
	f.Evidence = []string{
		fmt.Sprintf("frame %d: the %s's %s acknowledges %d, outside what the %s had sent (%d..%d)", lp.Frame, v.Peer, lp.Flags, lp.Ack, v.Me, lo, hi),
		fmt.Sprintf("frame %d: the %s rejected it with a RST whose seq is that ACK", v.RST.Frame, v.Me),
	}
	return f
}}
