package heuristics

import (
	"fmt"

	"github.com/rstwhy/rstwhy/track"
)

// dataAfterCloseRule: data arrived after the resetter had closed.
//
// Wire: a FIN from the resetter, no FIN from the peer that the resetter
// acknowledged, then data from the peer the resetter never acknowledged,
// and a reply-shaped RST answering it: no ACK flag, seq = the ack of the
// data segment (RFC 9293 §3.10.7.1). The segment answered is found by
// that seq, not by capture order: captured on the peer's side, data that
// crossed the FIN on the wire comes before it, yet reached the resetter
// after it (its ack does not cover the FIN).
// Linux: which code path answers depends on a host setting the wire does
// not show. Data that arrives with (or before) the peer's ACK of the FIN
// meets the full socket in FIN_WAIT1/2: tcp_rcv_state_process (data past
// rcv_nxt with RCV_SHUTDOWN set) calls tcp_reset and tcp_v4_do_rcv sends
// the reply, reason TCP_ABORT_ON_DATA (RFC 1122 4.2.2.13: a host that
// closed MUST reset on new data). Data after a separate ACK of the FIN
// meets, with the default tcp_fin_timeout (60 s, not above
// TCP_TIMEWAIT_LEN), the timewait socket that replaced the orphan in
// FIN_WAIT2: tcp_timewait_state_process returns TCP_TW_RST, reason
// TCP_TIMEWAIT_SOCKET; with a longer TCP_LINGER2 the full socket stays
// and it is TCP_ABORT_ON_DATA again.
// Not this rule: FIN, then RST+ACK at snd_nxt (FIN + 1) is
// tcp_send_active_reset from close() (unreadRule, lingerRule): the reply
// path never sets ACK on a reset answering a segment that carried ACK.
var dataAfterCloseRule = Rule{Cause: DataAfterClose, Kernel: "TCP_ABORT_ON_DATA", Match: func(v *View, explain bool) Finding {
	if v.M.FINFrame == 0 {
		return queuedFIN(v, explain)
	}
	if v.activeShape() || v.P.FINFrame != 0 && v.P.FINAckedFrame != 0 {
		return Finding{}
	}
	a := v.answered()
	crossed := a != nil && a.Len > 0 && v.M.HasAck && track.SeqDiff(v.M.AckHi, a.Seq+a.Len) > 0
	late := v.P.LastDataFrame > v.M.FINFrame && (v.P.FINFrame == 0 || v.P.FINFrame >= v.P.LastDataFrame)
	if !crossed && !late {
		return Finding{}
	}
	dataFrame := v.P.LastDataFrame
	if crossed {
		dataFrame = a.Frame
	}
	f := Finding{Confidence: 0.85}
	// partial: the resetter had acknowledged the start of the segment it
	// answers, so the segment reached it before the close, not after: it
	// took some of it, and what came past that met the closed socket (the
	// rest, or a copy of it the capture does not show). The cause stands;
	// which bytes met it and why the rest was not taken, the wire does
	// not say.
	partial := crossed && track.SeqDiff(a.Seq, v.M.AckHi) > 0
	if partial {
		f.Confidence = 0.7
	}
	fa := v.M.FINAckedFrame
	ackedFirst := fa != 0 && fa < dataFrame
	if ackedFirst {
		f.Kernel = "TCP_TIMEWAIT_SOCKET"
	}
	if !explain {
		return f
	}
	f.Evidence = []string{fmt.Sprintf("frame %d: the %s closed its side (FIN)", v.M.FINFrame, v.Me)}
	switch {
	case partial:
		f.Evidence = append(f.Evidence, fmt.Sprintf(
			"frame %d: the %s's data (%s): the %s had acknowledged its first %s (ack %d) and no more, so it reached the %s before the close, and the rest was never taken",
			a.Frame, v.Peer, byteCount(int64(a.Len)), v.Me, byteCount(track.SeqDiff(a.Seq, v.M.AckHi)), v.M.AckHi, v.Me))
	case crossed && a.Frame < v.M.FINFrame:
		f.Evidence = append(f.Evidence, fmt.Sprintf(
			"frame %d: the %s's data (%s, ack %d, not covering the FIN) crossed the FIN on the wire: it reached the %s after it, and the %s never acknowledged it",
			a.Frame, v.Peer, byteCount(int64(a.Len)), a.Ack, v.Me, v.Me))
	case a != nil && a.Kind == track.KindRetrans:
		f.Evidence = append(f.Evidence, fmt.Sprintf("frame %d: the %s retransmitted data (%s) the %s had never acknowledged",
			a.Frame, v.Peer, byteCount(int64(a.Len)), v.Me))
	default:
		f.Evidence = append(f.Evidence, fmt.Sprintf("frame %d: the %s still sent data after it", dataFrame, v.Peer))
	}
	if a != nil {
		f.Evidence = append(f.Evidence, fmt.Sprintf("frame %d: the %s, which would read no more, reset, %s after that segment; its seq %d is the ack of frame %d: it answers it",
			v.RST.Frame, v.Me, since(a.TS, v.RST.TS), v.RST.Seq, a.Frame))
	} else {
		f.Evidence = append(f.Evidence, fmt.Sprintf("frame %d: the %s, which would read no more, reset", v.RST.Frame, v.Me))
	}
	if ackedFirst {
		f.Evidence = append(f.Evidence, fmt.Sprintf(
			"the %s had acknowledged the FIN on its own (frame %d): with default settings the closed socket was already a TIME_WAIT remnant",
			v.Peer, fa))
	}
	return f
}}

// queuedFIN: the resetter's FIN never reached the wire. Its data was
// stalled behind the peer's zero window when its application closed, so
// the FIN waited in the send queue behind it (FIN_WAIT1 with data queued:
// the socket outlives the close until the data and the FIN are
// acknowledged), and the peer's next segment met a closed socket: a bare
// RST whose seq is that segment's ack (TCP_ABORT_ON_DATA). A socket gone
// altogether answers the same way (no_socket), but a socket with data
// still queued does not go away on close, so this reading comes first,
// without the certainty of a FIN seen.
func queuedFIN(v *View, explain bool) Finding {
	a := v.answered()
	// The resetter's probes into the zero window say it had data queued.
	if a == nil || !v.P.Stall.Active() || v.P.Stall.Probes == 0 {
		return Finding{}
	}
	f := Finding{Confidence: 0.6}
	if !explain {
		return f
	}
	f.Evidence = []string{
		fmt.Sprintf("the %s's window was zero from frame %d on, and the %s probed it %d times: it had data queued, and a FIN written after that data waits behind it, unseen on the wire",
			v.Peer, v.P.Stall.StartFrame, v.Me, v.P.Stall.Probes),
		fmt.Sprintf("frame %d: a bare RST (no ACK flag) whose seq is the ack of the %s's segment at frame %d: the reply of a socket its application had closed, to data that came after the close (TCP_ABORT_ON_DATA); a socket gone altogether (no_socket) would answer alike, but one with data still queued outlives close()",
			v.RST.Frame, v.Peer, a.Frame),
	}
	return f
}
