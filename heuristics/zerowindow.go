package heuristics

import (
	"fmt"
	"time"

	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// zeroWindowRule: the connection was stalled on a zero window when reset.
//
// Wire: one side advertised a zero window and had not opened it again
// before the RST; the other side's probes (Linux: seq = snd_una, no data)
// went on meanwhile.
// Linux: the stalled sender gives up (close with data still queued:
// TCP_DISCONNECT_WITH_DATA on newer kernels, TCP_STATE for SO_LINGER
// {on, 0}), or the reader that stopped reading closes with its buffer full
// (TCP_ABORT_ON_CLOSE).
var zeroWindowRule = Rule{Cause: ZeroWindowAbort, Kernel: "TCP_STATE", Match: func(v *View, explain bool) Finding {
	var st track.Stall
	var who Role
	var kernel string
	switch {
	case v.M.Stall.Active() && v.RST.TS-v.M.Stall.StartTS < int64(time.Second):
		// A buffer that filled just before close is unread data, not a
		// stalled connection: unreadRule says so.
		return Finding{}
	case v.M.Stall.Active() && v.M.FINFrame != 0:
		// The stalled reader answered and half-closed before it reset:
		// an early answer (a 413, a 503) with the request body unread,
		// FIN then RST+ACK, which unreadRule reads, however long the
		// window had been shut.
		return Finding{}
	case v.M.Stall.Active():
		st, who, kernel = v.M.Stall, v.Me, "TCP_ABORT_ON_CLOSE"
	case v.P.Stall.Active() && v.RST.Flags&decode.ACK == 0:
		// A stalled sender that gives up closes, and close() resets with
		// ACK at its next sequence number (tcp_send_active_reset). A bare
		// RST is a reply to the peer's segment: the sender had closed
		// before (its FIN queued behind the unsent data, never on the
		// wire) and the peer's next segment met a closed socket
		// (TCP_ABORT_ON_DATA), which afterCloseRule reads.
		return Finding{}
	case v.P.Stall.Active():
		st, who = v.P.Stall, v.Peer
	default:
		return Finding{}
	}
	f := Finding{Confidence: 0.85, Kernel: kernel}
	if !explain {
		return f
	}
	ev := []string{fmt.Sprintf("the %s advertised a zero window from frame %d on (%d advertisements over %s) and had not opened it at the RST",
		who, st.StartFrame, st.Adverts, since(st.StartTS, v.RST.TS))}
	if st.Probes > 0 {
		ev = append(ev, fmt.Sprintf("%d zero-window probes went unanswered by a window update", st.Probes))
	}
	if who == v.Me {
		ev = append(ev, fmt.Sprintf("frame %d: the %s, whose receive buffer was full, reset: it closed with data unread", v.RST.Frame, v.Me))
	} else {
		ev = append(ev, fmt.Sprintf("frame %d: the %s, blocked with data to send, gave up and reset", v.RST.Frame, v.Me))
	}
	f.Evidence = ev
	return f
}}
