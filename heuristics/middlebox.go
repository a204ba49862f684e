package heuristics

import (
	"fmt"

	"github.com/rstwhy/rstwhy/analyzer"
)

// middleboxRule: a reset the claimed sender did not send.
//
// Wire: after the "RST" the claimed sender goes on sending on the
// connection as if nothing happened (a real endpoint that resets has no
// connection left), or the RST's IP TTL does not fit the sender's other
// packets (another device, at another distance, built it).
// Linux: none; a firewall (iptables REJECT --reject-with tcp-reset), an
// IPS or a censor forged it. No tcp_send_reset event exists for it.
var middleboxRule = Rule{Cause: MiddleboxReset, Kernel: "", Match: func(v *View) Finding {
	var ev []string
	conf := 0.0
	if f := v.R.After.SenderLaterFrame; f != 0 {
		ev = append(ev, fmt.Sprintf("frame %d: the %s went on sending after the RST at frame %d, as if it had not reset", f, v.Me, v.RST.Frame))
		conf = 0.9
	}
	if v.M.MaxTTL != 0 && (int(v.RST.TTL)+1 < int(v.M.MinTTL) || int(v.RST.TTL) > int(v.M.MaxTTL)+1) {
		ev = append(ev, fmt.Sprintf("frame %d: the RST's TTL %d does not fit the %s's other packets (TTL %s): another device, at another distance, sent it",
			v.RST.Frame, v.RST.TTL, v.Me, ttlRange(v.M)))
		conf = max(conf, 0.8)
		if len(ev) == 2 {
			conf = 0.95
		}
	}
	return Finding{Confidence: conf, Evidence: ev}
}}

func ttlRange(s *analyzer.Side) string {
	if s.MinTTL == s.MaxTTL {
		return fmt.Sprint(s.MinTTL)
	}
	return fmt.Sprintf("%d-%d", s.MinTTL, s.MaxTTL)
}
