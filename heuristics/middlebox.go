package heuristics

import "fmt"

// middleboxRule: a reset the claimed sender did not send.
//
// Wire: after the "RST" the claimed sender goes on sending on the
// connection as if nothing happened (a real endpoint that resets has no
// connection left), or the RST's IP TTL does not fit the sender's other
// packets (another device, at another distance, built it).
// Linux: none; a firewall (iptables REJECT --reject-with tcp-reset), an
// IPS or a censor forged it. No tcp_send_reset event exists for it.
var middleboxRule = Rule{Cause: MiddleboxReset, Kernel: "", Match: func(v *View, explain bool) Finding {
	var ev []string
	conf := 0.0
	later := v.R.After.SenderLaterFrame
	if later != 0 {
		if explain {
			ev = append(ev, fmt.Sprintf("frame %d: the %s went on sending after the RST at frame %d, as if it had not reset", later, v.Me, v.RST.Frame))
		}
		conf = 0.9
	}
	// Copies of forwarded packets are dropped before the range is kept,
	// so even one hop of difference counts: a host's stack sends its RSTs
	// with the TTL of the rest of its packets.
	lo, hi, where := v.M.MinTTL, v.M.MaxTTL, "on this connection"
	if hi == 0 {
		lo, hi, where = v.RST.SrcTTLMin, v.RST.SrcTTLMax, "on its other connections"
	}
	if hi != 0 && (v.RST.TTL < lo || v.RST.TTL > hi) {
		if explain {
			ev = append(ev, fmt.Sprintf("frame %d: the RST's TTL %d does not fit the %s's packets %s (TTL %s): a device at another distance sent it",
				v.RST.Frame, v.RST.TTL, v.Me, where, ttlRange(lo, hi)))
		}
		conf = max(conf, 0.8)
		if later != 0 {
			conf = 0.95 // two independent signs
		}
	}
	return Finding{Confidence: conf, Evidence: ev}
}}

func ttlRange(lo, hi uint8) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}
