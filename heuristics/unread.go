package heuristics

import (
	"fmt"
	"time"

	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// unreadRule: the resetter closed its socket with received data unread.
//
// Wire: RST+ACK from the resetter at its snd_nxt (an active reset:
// tcp_send_active_reset always sets ACK and takes snd_nxt), and one of
// these traces of data left in its receive buffer:
//   - its advertised window shrank as the peer's data arrived (the
//     application was not reading), down to zero at worst;
//   - the server resets with the client's request unanswered;
//   - the RST acknowledges data the resetter had not acknowledged yet
//     (it arrived just before close);
//   - the peer sent several messages and the resetter answered with one
//     reply and reset at once (read one, reply "ERROR", close);
//   - the resetter had half-closed (FIN) and its RST+ACK comes at FIN + 1
//     with peer data it never acknowledged or answered: an early answer
//     (a 413, a reject) written and shut down, then close() with the
//     request body unread, as Go's net/http, Python's http.server and
//     HAProxy do. The reply path (data after close, TIME_WAIT) never
//     sets ACK on a reset answering a segment with ACK (RFC 9293
//     §3.10.7.1), so the flags tell the two apart.
//
// Linux: tcp_close() finds data in the receive queue (data_was_unread) and
// sends RST instead of FIN: tcp_send_active_reset, reason
// TCP_ABORT_ON_CLOSE (RFC 2525 §2.17, RFC 1122 4.2.2.13). A listener
// closed with the connection still in its accept queue leaves the request
// unread too, with reason TCP_STATE; the wire cannot tell them apart.
var unreadRule = Rule{Cause: UnreadDataClose, Kernel: "TCP_ABORT_ON_CLOSE", Match: func(v *View, explain bool) Finding {
	if !v.activeShape() {
		return Finding{}
	}
	if v.M.FINFrame != 0 {
		return unreadAfterFIN(v, explain)
	}
	var ev []string
	conf := 0.0
	shrunk := v.windowShrank()
	if shrunk {
		if explain {
			ev = append(ev, fmt.Sprintf("the %s's advertised window fell from %s to %s as the %s's data arrived: its application was not reading",
				v.Me, byteCount(int64(v.M.MaxWindow)), byteCount(int64(v.M.Window)), v.Peer))
		}
		conf = 0.85
	}
	if v.P.Unanswered > 0 {
		if explain {
			s := fmt.Sprintf("the %s sent %s from frame %d on that the %s never answered", v.Peer, byteCount(v.P.Unanswered), v.P.UnansweredFrame, v.Me)
			if v.M.LastDataFrame != 0 {
				s += fmt.Sprintf(" (its last data was frame %d)", v.M.LastDataFrame)
			} else {
				s += " (it never sent data; a listener closed with the connection in its accept queue looks the same)"
			}
			ev = append(ev, s)
		}
		if v.Me == Server {
			// Unanswered is not unread: an application that read the
			// request and chose to abort (SO_LINGER {on, 0}) sends the
			// same RST. Only a window that shrank, or a RST that
			// acknowledges what was never acknowledged, shows data left
			// in the buffer; without them the wire cannot decide. A
			// RST on a timer's second is rather a server that gave up
			// waiting for more (lingerRule): a shade less.
			if v.timedOut() || v.partingMessage() {
				conf = max(conf, 0.45)
			} else {
				conf = max(conf, 0.5)
			}
		}
	}
	if v.P.Unanswered > 0 && v.newlyAckedData() > 0 {
		if explain {
			ev = append(ev, fmt.Sprintf("the RST acknowledges %s the %s had not acknowledged before: received just before close, then thrown away",
				byteCount(v.newlyAckedData()), v.Me))
		}
		switch {
		case v.partingMessage():
			// A message after which the peer closes gets no reply by
			// design: read and aborted looks the same as left unread.
			if explain {
				ev = append(ev, fmt.Sprintf("the %s's last message (from frame %d) came with its own FIN (frame %d): a parting message (an LDAP unbind, an SMB logoff, a TLS close_notify, a WebSocket close) that gets no reply by design, so the %s's application may have read it and closed abortively (linger_abort) as well as left it unread",
					v.Peer, v.P.UnansweredFrame, v.P.FINFrame, v.Me))
			}
			conf = max(conf, 0.5)
		case v.Me == Client:
			// Clients that always close abortively (many Windows
			// programs) look the same once they have read the response.
			if explain {
				ev = append(ev, "a client that closes abortively after reading the whole response would look the same")
			}
			conf = max(conf, 0.6)
		default:
			conf = max(conf, 0.7)
		}
	}
	if conf == 0 && v.oneReplyToMany() {
		if explain {
			ev = append(ev, fmt.Sprintf("the %s sent %d messages; the %s answered them with a single reply (frame %d) and reset %s after it: read one, replied, closed with the rest unread",
				v.Peer, v.M.AnsweredMsgs, v.Me, v.M.LastDataFrame, since(v.M.LastDataTS, v.RST.TS)))
		}
		// A reply proves one message read, not all: the wire cannot
		// tell this from reading everything and aborting.
		conf = 0.5
	}
	if conf == 0 {
		return Finding{}
	}
	if !explain {
		return Finding{Confidence: conf}
	}
	if conf <= 0.5 && !shrunk {
		s := fmt.Sprintf("the %s's window did not shrink", v.Me)
		if v.newlyAckedData() == 0 {
			s += " and the RST acknowledges nothing new"
		}
		ev = append(ev, s+fmt.Sprintf(": whether the %s's application read the data before closing, the wire cannot show; read, then an abortive close (SO_LINGER {on, 0}, linger_abort) looks the same", v.Me))
	}
	ev = append(ev, fmt.Sprintf("frame %d: RST+ACK from the %s with no FIN before it, %s after the previous packet: close() with data unread",
		v.RST.Frame, v.Me, since(v.LastAny.TS, v.RST.TS)))
	if u := v.signals().ResetterUnacked; u > 0 {
		ev = append(ev, fmt.Sprintf("the %s's last %s were not yet acknowledged: the %s may never read them", v.Me, byteCount(u), v.Peer))
	}
	return Finding{Confidence: conf, Evidence: ev}
}}

// unreadAfterFIN: FIN, then RST+ACK at FIN + 1 with peer data pending.
// In FIN_WAIT1/2 only close() sends an active reset: tcp_close finds data
// unread (TCP_ABORT_ON_CLOSE), or SO_LINGER {on, 0} (TCP_STATE); peer data
// the resetter never acknowledged, or data after its FIN it never
// answered, is what it left unread.
//
// The kernel acknowledges data as it arrives, read or not, so data that
// was acknowledged and answered may still sit unread: a window that
// shrank as the peer's data arrived (to zero at worst, as Go's net/http
// and Python's http.server leave a 1 MiB upload) shows it, as it does
// without a FIN.
func unreadAfterFIN(v *View, explain bool) Finding {
	newlyAcked := v.newlyAckedData() > 0
	afterFIN := v.P.LastDataFrame > v.M.FINFrame && v.P.Unanswered > 0
	shrunk := v.windowShrank()
	if !newlyAcked && !afterFIN && !shrunk {
		return Finding{}
	}
	f := Finding{Confidence: 0.8}
	if !explain {
		return f
	}
	f.Evidence = append(f.Evidence, fmt.Sprintf("frame %d: the %s half-closed (FIN)", v.M.FINFrame, v.Me))
	if shrunk {
		f.Evidence = append(f.Evidence, fmt.Sprintf("the %s's advertised window fell from %s to %s as the %s's data arrived: its application was not reading",
			v.Me, byteCount(int64(v.M.MaxWindow)), byteCount(int64(v.M.Window)), v.Peer))
	}
	if afterFIN {
		f.Evidence = append(f.Evidence, fmt.Sprintf("the %s went on sending: %s from frame %d on that the %s never answered",
			v.Peer, byteCount(v.P.Unanswered), v.P.UnansweredFrame, v.Me))
	}
	if newlyAcked {
		f.Evidence = append(f.Evidence, fmt.Sprintf("the RST acknowledges %s the %s had not acknowledged before: received, then thrown away",
			byteCount(v.newlyAckedData()), v.Me))
	}
	f.Evidence = append(f.Evidence, fmt.Sprintf(
		"frame %d: RST+ACK at the %s's next sequence number after its FIN (seq %d), %s after the previous packet: an active reset from close() with the %s's data unread, not a reply to it (a reply would carry no ACK flag)",
		v.RST.Frame, v.Me, v.RST.Seq, since(v.LastAny.TS, v.RST.TS), v.Peer))
	return f
}

// newlyAckedData is how many bytes of the peer's data the RST
// acknowledges that the resetter had not acknowledged before: what
// arrived just before the close. The peer's FIN counts one in sequence
// space but is no data.
func (v *View) newlyAckedData() int64 {
	if !v.M.HasAck || v.RST.Flags&decode.ACK == 0 {
		return 0
	}
	n := track.SeqDiff(v.M.AckHi, v.RST.Ack)
	if n > 0 && v.P.FINFrame != 0 && v.RST.Ack == v.P.FINSeq+1 {
		n--
	}
	return max(n, 0)
}

// finAcked: the resetter had received the peer's FIN: it acknowledged
// it before the RST, or the RST does.
func (v *View) finAcked() bool {
	return v.P.FINFrame != 0 && (v.P.FINAckedFrame != 0 ||
		v.RST.Flags&decode.ACK != 0 && v.RST.Ack == v.P.FINSeq+1)
}

// partingMessage: the peer's unanswered data ended with its FIN, in the
// same segment or the next one it sent: it said goodbye and closed.
func (v *View) partingMessage() bool {
	return v.P.Unanswered > 0 && v.P.FINFrame != 0 && v.P.FINFrame >= v.P.LastDataFrame &&
		(v.P.LastFrame == v.P.FINFrame || v.P.LastDataFrame == v.P.FINFrame)
}

// windowShrank: the resetter's advertised window fell by a quarter or
// more as the peer's data arrived: data sat in its receive buffer.
func (v *View) windowShrank() bool {
	return v.M.Scaled && v.M.MaxWindow > 0 && v.P.Bytes > 0 && v.M.Window <= v.M.MaxWindow*3/4
}

// oneReplyToMany: the peer sent several messages, the resetter answered
// them with a single reply and reset within a few milliseconds of it, with
// nothing arriving since: the shape of a server that reads one message,
// writes an error and closes with the others still in its buffer.
func (v *View) oneReplyToMany() bool {
	return v.P.Unanswered == 0 && v.M.AnsweredMsgs >= 2 && v.M.UnansweredMsgs == 1 &&
		time.Duration(v.RST.TS-v.M.LastDataTS) < 10*time.Millisecond
}
