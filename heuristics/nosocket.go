package heuristics

import (
	"fmt"
	"time"

	"github.com/rstwhy/rstwhy/decode"
)

// halfOpen: the peer still holds a connection the resetter lost.
//
// Wire: the resetter's new SYN on the same ports is answered not with a
// SYN-ACK but with a bare ACK of older sequence numbers (a challenge ACK,
// RFC 5961 §4); the resetter rejects it with a RST whose seq is that ACK,
// and typically retries the SYN.
// Linux: tcp_rcv_synsent_state_process rejects the ACK: reason
// TCP_INVALID_ACK_SEQUENCE. The cause is that the resetter's host lost
// the old connection (crash, restart, an abort whose RST was dropped).
func halfOpen(v *View, explain bool) Finding {
	lp := v.LastPeer
	if lp == nil || lp.Flags&(decode.SYN|decode.ACK) != decode.ACK || v.M.SYNFrame == 0 ||
		v.C.SYNACKFrame != 0 || v.M.Packets != 1 || !v.replyShape() {
		return Finding{}
	}
	f := Finding{Confidence: 0.85, Kernel: "TCP_INVALID_ACK_SEQUENCE"}
	if !explain {
		return f
	}
	f.Evidence = []string{
		fmt.Sprintf("frame %d: the %s's SYN (seq %d)", v.M.SYNFrame, v.Me, v.M.ISN),
		fmt.Sprintf("frame %d: the %s answered with a bare ACK of %d, not a SYN-ACK: it still held an older connection on these ports that the %s no longer had (a half-open connection)",
			lp.Frame, v.Peer, lp.Ack, v.Me),
		fmt.Sprintf("frame %d: the %s rejected it with a RST at that sequence number", v.RST.Frame, v.Me),
	}
	return f
}

// noSocketRule: a RST from a host that no longer knows the connection.
//
// Wire: the RST answers the peer's last segment the way a host without a
// socket does: seq = that segment's ACK and no ACK flag (RFC 9293 §3.5.2),
// from a side that sent nothing on the connection before, or whose own
// traffic stopped long ago (crash, restart, lost NAT or load-balancer
// state, a process gone after close).
// Linux: tcp_v4_rcv finds no socket; tcp_v4_send_reset, reason NO_SOCKET.
var noSocketRule = Rule{Cause: NoSocket, Kernel: "NO_SOCKET", Match: func(v *View, explain bool) Finding {
	if f := halfOpen(v, explain); f.Confidence > 0 {
		return f
	}
	lp := v.LastPeer
	if lp == nil || lp.Flags&decode.SYN != 0 && lp.Flags&decode.ACK == 0 || !v.replyShape() {
		return Finding{}
	}
	var ev []string
	if explain {
		ev = append(ev, fmt.Sprintf("frame %d: RST with seq %d = the ack of the %s's segment at frame %d, and no ACK flag: the reply of a host with no socket for it",
			v.RST.Frame, v.RST.Seq, v.Peer, lp.Frame))
	}
	switch {
	case v.M.Packets == 0 && !v.C.Handshake():
		if explain {
			ev = append(ev, fmt.Sprintf("the %s sent nothing on this connection before in the capture", v.Me))
		}
		return Finding{Confidence: 0.8, Evidence: ev}
	case v.M.Packets == 0:
		if explain {
			ev = append(ev, fmt.Sprintf("the %s never answered the handshake it is now resetting", v.Me))
		}
		return Finding{Confidence: 0.75, Evidence: ev}
	}
	gap := time.Duration(v.RST.TS - v.M.LastTS)
	if gap < time.Second {
		// A host does not crash and come back, nor a NAT forget, between
		// two packets a round trip apart: the socket was closed by its
		// application (or the process ended) in between, and a segment
		// it could not take found none left, or an orphan answered it.
		// On Linux a closed socket outlives close() as an orphan
		// (FIN_WAIT1, FIN_WAIT2, TIME_WAIT) for tcp_fin_timeout and
		// answers data with TCP_ABORT_ON_DATA or TCP_TIMEWAIT_SOCKET:
		// from a side whose FIN was lost on the way that is
		// data_after_close with no FIN on the wire, while a socket the
		// kernel ended without a FIN (TCP_USER_TIMEOUT, tcp_retries2)
		// or whose RST was lost leaves NO_SOCKET. Both are named, but
		// where the side's last segments were retransmissions nobody
		// acknowledged: a socket closed by its application would have
		// sent its FIN behind that data, and the kernel giving up on
		// it (tcp_write_timeout) ends it without FIN or RST.
		if explain {
			s := fmt.Sprintf("the %s's previous packet was frame %d, only %s before: its socket went away in between (closed or its process gone), not a lost connection",
				v.Me, v.M.LastFrame, since(v.M.LastTS, v.RST.TS))
			if v.M.RetransRun > 0 {
				s += fmt.Sprintf("; it had retransmitted data %d times unacknowledged, with no FIN: the kernel gave up on the connection (TCP_USER_TIMEOUT or tcp_retries2), which ends it without a FIN or RST", v.M.RetransRun)
			} else {
				s += "; closed by its application with its FIN (and any retransmission of it) lost on the way, what is left of it would answer the same (data_after_close, TCP_ABORT_ON_DATA): the wire cannot tell"
			}
			ev = append(ev, s)
		}
		return Finding{Confidence: 0.5, Evidence: ev}
	}
	if explain {
		ev = append(ev, fmt.Sprintf("the %s's previous packet was frame %d, %s before: it had the connection then and has lost it since (restart, crash, lost NAT or load-balancer state)",
			v.Me, v.M.LastFrame, since(v.M.LastTS, v.RST.TS)))
	}
	if gap > 5*time.Second {
		return Finding{Confidence: 0.7, Evidence: ev}
	}
	return Finding{Confidence: 0.6, Evidence: ev}
}}
