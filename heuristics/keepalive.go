package heuristics

import "fmt"

// keepaliveRule: RST after unanswered keepalive probes.
//
// Wire: a run of probes from the resetter (seq = snd_una - 1, zero or one
// byte, RFC 1122 4.2.3.6) spaced by the keepalive interval, nothing from
// the peer since, then RST+ACK from the prober.
// Linux: tcp_keepalive_timer after tcp_keepalive_probes unanswered probes:
// tcp_send_active_reset, reason TCP_KEEPALIVE_TIMEOUT.
var keepaliveRule = Rule{Cause: KeepaliveTimeout, Kernel: "TCP_KEEPALIVE_TIMEOUT", Match: func(v *View, explain bool) Finding {
	n := v.M.KeepaliveRun
	if n == 0 {
		return Finding{}
	}
	f := Finding{Confidence: 0.6}
	if n >= 2 {
		f.Confidence = 0.9
	}
	if !explain {
		return f
	}
	ev := []string{fmt.Sprintf("from frame %d: the %s sent %d keepalive probes (seq = snd_una-1, no data) that the %s never answered",
		v.M.KeepaliveFrame, v.Me, n, v.Peer)}
	if a := v.M.KeepaliveAnswers; a > 0 {
		ev = append(ev, fmt.Sprintf("the %s's %d answers seen here never reached the %s: it went on probing at the interval, as it does only when unanswered",
			v.Peer, a, v.Me))
	}
	f.Evidence = append(ev, fmt.Sprintf("frame %d: the %s gave up and reset, %s after its last probe", v.RST.Frame, v.Me, since(v.M.LastTS, v.RST.TS)))
	return f
}}
