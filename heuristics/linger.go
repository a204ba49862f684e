package heuristics

import (
	"fmt"
	"time"

	"github.com/rstwhy/rstwhy/decode"
)

// finWait2Abort: a closer that does not wait in FIN_WAIT2.
//
// Wire: FIN from the resetter, the peer's bare ACK of it, and at once a
// RST answering that ACK, with no data from the peer after the FIN.
// Linux: with TCP_LINGER2 < 0 the orphaned socket skips FIN_WAIT2: the
// ACK of its FIN makes tcp_rcv_state_process abort (tcp_done), counted
// as TCPABORTONDATA, so the tracepoint names TCP_ABORT_ON_DATA although
// no data came.
func finWait2Abort(v *View, explain bool) Finding {
	lp := v.LastPeer
	if v.M.FINFrame == 0 || v.M.FINAckedFrame == 0 || lp == nil || lp.Frame != v.M.FINAckedFrame ||
		lp.Len != 0 || lp.Flags&decode.FIN != 0 || v.P.LastDataFrame > v.M.FINFrame || !v.replyShape() {
		return Finding{}
	}
	f := Finding{Confidence: 0.8, Kernel: "TCP_ABORT_ON_DATA"}
	if !explain {
		return f
	}
	f.Evidence = []string{
		fmt.Sprintf("frame %d: the %s closed (FIN); frame %d: the %s acknowledged it, sending no data", v.M.FINFrame, v.Me, lp.Frame, v.Peer),
		fmt.Sprintf("frame %d: the %s answered that ACK with a RST instead of waiting for the %s's FIN: an abortive close that skips FIN_WAIT2 (TCP_LINGER2 < 0)",
			v.RST.Frame, v.Me, v.Peer),
	}
	return f
}

// lingerRule: an abortive close with nothing left unread.
//
// Wire: RST+ACK continuing the resetter's sequence (seq = snd_nxt), no FIN
// from it before, and no peer data it had not answered.
// Linux: close() on a socket with SO_LINGER {on, 0} calls tcp_disconnect,
// which sends tcp_send_active_reset with reason TCP_STATE; so do `ss -K`
// and a listener closed with connections still in its accept queue.
// Other systems: Windows programs close abortively far more often; a
// Windows server acknowledges the client's FIN and resets instead of
// sending its own FIN (initial TTL 128). FreeBSD and macOS discard unread
// data on close and send FIN, so a RST from them at close time is
// SO_LINGER {on, 0}. Explain gives a Linux kernel reason only to a RST
// whose TTL fits Linux's initial 64.
var lingerRule = Rule{Cause: LingerAbort, Kernel: "TCP_STATE", Match: func(v *View, explain bool) Finding {
	if f := finWait2Abort(v, explain); f.Confidence > 0 {
		return f
	}
	if !v.activeShape() {
		return Finding{}
	}
	if v.M.FINFrame != 0 {
		// After its own FIN only close() sends an active reset: with
		// SO_LINGER {on, 0} (tcp_disconnect), or with data unread, which
		// unreadRule claims where the wire shows it.
		f := Finding{Confidence: 0.45}
		if explain {
			f.Evidence = []string{
				fmt.Sprintf("frame %d: the %s half-closed (FIN); frame %d: RST+ACK at its next sequence number after it: an active reset from close()",
					v.M.FINFrame, v.Me, v.RST.Frame),
				fmt.Sprintf("no data of the %s is seen unread: an abortive close (SO_LINGER {on, 0}); data read by neither, which the wire does not show, would look the same", v.Peer),
			}
		}
		return f
	}
	var ev []string
	if explain {
		ev = append(ev, fmt.Sprintf("frame %d: RST+ACK from the %s at its next sequence number, with no FIN before it: an abortive close (SO_LINGER {on, 0})",
			v.RST.Frame, v.Me))
	}
	conf := 0.6
	switch {
	case v.partingMessage() && v.finAcked() && time.Duration(v.RST.TS-v.P.FINTS) < 20*time.Millisecond:
		// The peer said goodbye (a last message, then its FIN), the
		// resetter had the FIN and reset within milliseconds: an
		// application woken by the end of its input (read returning 0)
		// has read what came before it. One closing on a timer of its
		// own comes at any later time, and may leave the message unread
		// (the lab's parting and partingunread differ in just this). Linux resets such a close only with
		// SO_LINGER {on, 0}; Windows programs do it as a habit. A
		// message left unread stays possible.
		if explain {
			ev = append(ev, fmt.Sprintf("the %s's last message (from frame %d) came with its own FIN (frame %d), a parting message that gets no reply by design (an LDAP unbind, a PostgreSQL Terminate, an SMB logoff, a TLS close_notify); the %s had the FIN and reset %s after it: an application woken by the end of its input had read the message before it, and aborted; left unread (unread_data_close) stays possible",
				v.Peer, v.P.UnansweredFrame, v.P.FINFrame, v.Me, since(v.P.FINTS, v.RST.TS)))
		}
		conf = 0.55
	case v.P.Unanswered > 0 && v.Me == Client:
		if explain {
			ev = append(ev, fmt.Sprintf("it had received the server's %s (from frame %d) with no sign of leaving them unread", byteCount(v.P.Unanswered), v.P.UnansweredFrame))
		}
		conf = 0.5
	case v.P.Unanswered > 0 && v.timedOut() && !v.windowShrank():
		// A timer that fired: a server giving up on a slow or idle
		// client has read what came and waits for the rest, so its
		// receive queue is empty and only SO_LINGER {on, 0} makes close
		// send a RST (nginx reset_timedout_connection: TCP_STATE). A
		// server that stopped reading and closed on a timer leaves the
		// data unread instead: no more than even.
		if explain {
			ev = append(ev, fmt.Sprintf("the RST came %s after the %s's last packet (frame %d), a whole number of seconds: a timeout that fired, as a server gives up on a slow or idle client; having read what came it resets only by an abortive close, and one that stopped reading would leave the %s unread (unread_data_close)",
				since(v.LastPeer.TS, v.RST.TS), v.Peer, v.LastPeer.Frame, byteCount(v.P.Unanswered)))
		}
		conf = 0.5
	case v.P.Unanswered > 0, v.oneReplyToMany():
		return Finding{Confidence: 0.3, Evidence: ev}
	case v.M.LastDataFrame != 0 && v.M.LastDataFrame >= v.P.LastDataFrame:
		// Replying is not reading: a banner or an error written after
		// the peer's data proves nothing about the rest of its data.
		// Only a window that never shrank backs the reading up, and it
		// moves only for data larger than the buffer's slack: both
		// causes stay possible, so this is no more than even.
		if explain {
			s := fmt.Sprintf("the %s's last data (frame %d) came after all of the %s's", v.Me, v.M.LastDataFrame, v.Peer)
			if !v.windowShrank() {
				s += " and its window did not shrink"
			}
			ev = append(ev, s+"; but a reply is not proof that all was read: a close with data unread (unread_data_close) would look the same")
		}
		conf = 0.5
	case v.P.Bytes == 0:
		if explain {
			ev = append(ev, fmt.Sprintf("the %s had sent no data to leave unread", v.Peer))
		}
		conf = 0.65
	}
	if explain && v.P.FINAckedFrame != 0 && initialTTL(v.RST.TTL) == 128 {
		// Windows programs close abortively far more often than Linux
		// ones: a server acknowledges the client's FIN and resets
		// instead of sending its own.
		ev = append(ev, fmt.Sprintf("the %s acknowledged the %s's FIN (frame %d) and reset instead of sending its own FIN: the abortive close Windows programs commonly make (TTL %d: initial 128, Windows)",
			v.Me, v.Peer, v.P.FINAckedFrame, v.RST.TTL))
	}
	if v.LastAny != nil && explain {
		ev = append(ev, fmt.Sprintf("%s after the previous packet (frame %d)", since(v.LastAny.TS, v.RST.TS), v.LastAny.Frame))
	}
	return Finding{Confidence: conf, Evidence: ev}
}}

// timedOut: the RST came a whole number of seconds (one at least, give or
// take 10 ms of timer and capture jitter) after the peer's last packet,
// with nothing from either side in between: the shape of a timeout
// (client_body_timeout, a read deadline) rather than of an application
// acting on what it received.
func (v *View) timedOut() bool {
	if v.LastPeer == nil || v.LastAny == nil || v.LastAny.TS > v.LastPeer.TS+int64(10*time.Millisecond) {
		return false
	}
	d := time.Duration(v.RST.TS - v.LastPeer.TS)
	if d < time.Second-10*time.Millisecond {
		return false
	}
	off := d % time.Second
	return off <= 10*time.Millisecond || off >= time.Second-10*time.Millisecond
}
