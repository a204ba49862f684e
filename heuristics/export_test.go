package heuristics

import "github.com/rstwhy/rstwhy/track"

// ForgerySigns runs the middlebox rule's signs that read the sender's own
// counters and clock and its ACKs (ackBurst, tsClock, ipidOff) on r and
// returns each one's confidence and evidence, keyed by the sign's name.
func ForgerySigns(r *track.Reset) map[string]SignFinding {
	v := newView(r)
	out := map[string]SignFinding{}
	for name, sign := range map[string]func(bool, *[]string) float64{"ack_burst": v.ackBurst, "ts_clock": v.tsClock, "ipid_off": v.ipidOff} {
		var ev []string
		if c := sign(true, &ev); c > 0 {
			out[name] = SignFinding{c, ev}
		}
	}
	return out
}

// SignFinding is one sign's answer.
type SignFinding struct {
	Confidence float64
	Evidence   []string
}
