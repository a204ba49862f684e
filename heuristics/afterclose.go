package heuristics

import "fmt"

// dataAfterCloseRule: data arrived after the resetter had closed.
//
// Wire: a FIN from the resetter, no FIN from the peer, then new data from
// the peer, then a RST answering it.
// Linux: which code path answers depends on a host setting the wire does
// not show. Data that arrives with (or before) the peer's ACK of the FIN
// meets the full socket in FIN_WAIT1/2: tcp_rcv_state_process resets,
// reason TCP_ABORT_ON_DATA (RFC 1122 4.2.2.13: a host that closed MUST
// reset on new data). Data after a separate ACK of the FIN meets, with
// the default tcp_fin_timeout (60 s, not above TCP_TIMEWAIT_LEN), the
// timewait socket that replaced the orphan in FIN_WAIT2:
// tcp_timewait_state_process returns TCP_TW_RST, reason
// TCP_TIMEWAIT_SOCKET; with a longer TCP_LINGER2 the full socket stays
// and it is TCP_ABORT_ON_DATA again.
var dataAfterCloseRule = Rule{Cause: DataAfterClose, Kernel: "TCP_ABORT_ON_DATA", Match: func(v *View, explain bool) Finding {
	if v.M.FINFrame == 0 || v.P.FINFrame != 0 && v.P.FINFrame < v.P.LastDataFrame || v.P.LastDataFrame <= v.M.FINFrame {
		return Finding{}
	}
	f := Finding{Confidence: 0.85}
	a := v.M.FINAckedFrame
	ackedFirst := a != 0 && a < v.P.LastDataFrame
	if ackedFirst {
		f.Kernel = "TCP_TIMEWAIT_SOCKET"
	}
	if !explain {
		return f
	}
	f.Evidence = []string{
		fmt.Sprintf("frame %d: the %s closed its side (FIN)", v.M.FINFrame, v.Me),
		fmt.Sprintf("frame %d: the %s still sent data after it", v.P.LastDataFrame, v.Peer),
		fmt.Sprintf("frame %d: the %s, which would read no more, reset", v.RST.Frame, v.Me),
	}
	if ackedFirst {
		f.Evidence = append(f.Evidence, fmt.Sprintf(
			"the %s had acknowledged the FIN on its own (frame %d): with default settings the closed socket was already a TIME_WAIT remnant",
			v.Peer, a))
	}
	return f
}}
