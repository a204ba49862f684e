package heuristics

import "fmt"

// retransRule: RST after the resetter's own retransmissions went
// unanswered.
//
// Wire: the resetter retransmitted data several times with no new ACK from
// the peer, and nothing else came from the peer meanwhile; then the
// resetter reset.
// Linux itself closes silently when tcp_retries2 or TCP_USER_TIMEOUT runs
// out; the RST comes from the application giving up first (a write
// deadline, then close with SO_LINGER {on, 0}: reason TCP_STATE).
var retransRule = Rule{Cause: RetransmissionTimeout, Kernel: "TCP_STATE", Match: func(v *View, explain bool) Finding {
	n := v.M.RetransRun
	if n < 2 || v.LastPeer != nil && v.LastPeer.Frame > v.M.RetransRunFrame {
		return Finding{}
	}
	f := Finding{Confidence: 0.7}
	if n >= 3 {
		f.Confidence = 0.8
	}
	if !explain {
		return f
	}
	ev := []string{fmt.Sprintf("from frame %d: the %s retransmitted %d times over %s with no acknowledgement from the %s",
		v.M.RetransRunFrame, v.Me, n, since(tsOf(v, v.M.RetransRunFrame), v.RST.TS), v.Peer)}
	f.Evidence = append(ev, fmt.Sprintf("frame %d: the %s gave up and reset", v.RST.Frame, v.Me))
	return f
}}

// tsOf finds the time of a frame among the recent packets, or the time of
// the oldest one kept.
func tsOf(v *View, frame int64) int64 {
	for _, s := range v.Recent {
		if s.Frame == frame {
			return s.TS
		}
	}
	if len(v.Recent) > 0 {
		return v.Recent[0].TS
	}
	return v.RST.TS
}
