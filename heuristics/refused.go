package heuristics

import (
	"fmt"

	"github.com/rstwhy/rstwhy/decode"
)

// refusedRule: a RST answering a SYN.
//
// Wire: the client's SYN (no ACK) is the last thing the server received and
// the server sent nothing before; RST+ACK with seq 0 and ack = SYN seq + 1
// (RFC 9293 §3.10.7.1: the reply to a segment without ACK), and the
// server sends nothing on the connection after it (a RST followed by the
// same server's SYN-ACK was ignored, not a refusal).
// Linux: no listener on the port; tcp_v4_rcv finds no socket and
// tcp_v4_send_reset answers with reason NO_SOCKET.
var refusedRule = Rule{Cause: ConnectionRefused, Kernel: "NO_SOCKET", Match: func(v *View, explain bool) Finding {
	lp := v.LastPeer
	if lp == nil || lp.Flags&(decode.SYN|decode.ACK) != decode.SYN || v.M.Packets > 0 {
		return Finding{}
	}
	if v.R.After.SenderLaterFrame != 0 {
		// The same server answered the SYN after its "refusal" and the
		// connection went on: a host whose stack refused would have no
		// socket to answer from, and a client that took the RST would
		// have dropped its SYN_SENT socket (RFC 9293 §3.10.7.3). The RST
		// was forged or invalid and ignored: middleboxRule or
		// invalidRule, never a refusal.
		return Finding{}
	}
	var ev []string
	if explain {
		ev = append(ev, fmt.Sprintf("frame %d: the %s's SYN to port %d", lp.Frame, v.Peer, v.RST.SrcPort))
	}
	conf := 0.9
	if v.RST.Flags&decode.ACK != 0 && v.RST.Ack == lp.Seq+1 {
		conf = 0.95
		if explain {
			ev = append(ev, fmt.Sprintf("frame %d: RST+ACK acknowledging exactly that SYN (ack %d), %s later: nothing listens on the port",
				v.RST.Frame, v.RST.Ack, since(lp.TS, v.RST.TS)))
		}
	} else {
		// A SYN_SENT socket drops a RST that does not acknowledge its SYN
		// exactly (RFC 9293 §3.10.7.3, RFC 5961 §3): no refusal took effect.
		conf = 0.5
		if explain {
			ev = append(ev, fmt.Sprintf("frame %d: RST %s later, though its ack %d does not acknowledge the SYN (want %d), so the client would ignore it",
				v.RST.Frame, since(lp.TS, v.RST.TS), v.RST.Ack, lp.Seq+1))
		}
	}
	if lo, hi := v.RST.SrcTTLMin, v.RST.SrcTTLMax; hi != 0 && ttlOff(v.RST.TTL, lo, hi) {
		// The host's own stack would answer with its usual TTL: this
		// refusal more likely came from a firewall in the path.
		conf = 0.5
		if explain {
			ev = append(ev, fmt.Sprintf("but its TTL %d differs from the %s's other packets (TTL %d-%d)", v.RST.TTL, v.Me, lo, hi))
		}
	}
	if n := v.P.Packets; n > 1 && explain {
		ev = append(ev, fmt.Sprintf("the %s had sent the SYN %d times", v.Peer, n))
	}
	return Finding{Confidence: conf, Evidence: ev}
}}

// ttlOff: a TTL another device's, by ttlMismatch's measure (another
// distance, against a baseline that holds still).
func ttlOff(ttl, lo, hi uint8) bool {
	c, _ := ttlMismatch(ttl, lo, hi, false, "")
	return c >= 0.6
}
