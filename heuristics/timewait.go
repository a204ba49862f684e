package heuristics

import "fmt"

// timewaitRule: a RST from a closed socket's TIME_WAIT remnant.
//
// Wire: both sides had sent FIN, the resetter's FIN was acknowledged and
// the resetter had acknowledged the peer's FIN (only then is it in
// TIME_WAIT, RFC 9293 §3.10.7.4: FIN_WAIT2 enters it on the peer's FIN);
// a later segment of the peer drew a RST answering it. A resetter that
// never acknowledged the peer's FIN was still in FIN_WAIT2, and data it
// had not acknowledged drew a TCP_ABORT_ON_DATA reset: dataAfterCloseRule. Data sent after the resetter's FIN but before the peer's
// own FIN is data_after_close, whatever the kernel's substate.
// Linux: tcp_timewait_state_process returns TCP_TW_RST for a segment it
// cannot accept: reason TCP_TIMEWAIT_SOCKET.
var timewaitRule = Rule{Cause: TimewaitRST, Kernel: "TCP_TIMEWAIT_SOCKET", Match: func(v *View, explain bool) Finding {
	lp := v.LastPeer
	if a := v.answered(); a != nil {
		lp = a
	}
	if v.M.FINFrame == 0 || v.M.FINAckedFrame == 0 || v.P.FINFrame == 0 || v.P.FINAckedFrame == 0 || lp == nil ||
		lp.Frame <= v.M.FINAckedFrame || lp.Frame <= v.P.FINFrame {
		return Finding{}
	}
	f := Finding{Confidence: 0.8}
	if v.answered() == nil && !v.replyShape() {
		f.Confidence = 0.6
	}
	if !explain {
		return f
	}
	f.Evidence = []string{
		fmt.Sprintf("frame %d: the %s closed (FIN); frame %d: the %s acknowledged it; frame %d: the %s closed too, and the %s acknowledged that FIN (frame %d)",
			v.M.FINFrame, v.Me, v.M.FINAckedFrame, v.Peer, v.P.FINFrame, v.Peer, v.Me, v.P.FINAckedFrame),
		fmt.Sprintf("frame %d: a later segment of the %s (%s, %s) reached the closed socket's TIME_WAIT remnant", lp.Frame, v.Peer, lp.Flags, byteCount(int64(lp.Len))),
		fmt.Sprintf("frame %d: the remnant answered with RST", v.RST.Frame),
	}
	return f
}}
