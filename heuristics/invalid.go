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
	if v.crafted() {
		return craftedRST(v, explain)
	}
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

// crafted: the RST carries flags no TCP stack sets on a reset. Linux's
// tcp_send_active_reset and tcp_v4_send_reset set RST and at most ACK
// (RFC 9293 §3.10.7.1: <SEQ=..><CTL=RST> or <CTL=RST,ACK>); SYN, FIN or
// URG beside RST is a scanner's or a fuzzer's packet.
func (v *View) crafted() bool { return v.RST.Flags&(decode.SYN|decode.FIN|decode.URG) != 0 }

// craftedRST: a RST with flags no stack sends is invalid, not evidence of
// a cause; and a forgery only where its TTL says another device sent it
// (middleboxRule), never for its flags alone. Low confidence: the wire
// shows what the packet is, not why someone sent it.
func craftedRST(v *View, explain bool) Finding {
	f := Finding{Confidence: 0.35, Kernel: "-"}
	if !explain {
		return f
	}
	f.Evidence = []string{fmt.Sprintf("frame %d: flags %s: no TCP stack sets SYN, FIN or URG on a reset; a hand-crafted packet (scanner, fuzzer, test tool)", v.RST.Frame, v.RST.Flags)}
	if lo, hi := v.M.MinTTL, v.M.MaxTTL; hi != 0 && v.RST.TTL >= lo && v.RST.TTL <= hi {
		f.Evidence = append(f.Evidence, fmt.Sprintf("its TTL %d fits the %s's other packets (TTL %s): sent from the %s's host, not forged in the path", v.RST.TTL, v.Me, ttlRange(lo, hi), v.Me))
	}
	if v.RST.Len > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("it carries %s of payload", byteCount(int64(v.RST.Len))))
	}
	return f
}
