package heuristics

import (
	"fmt"

	"github.com/rstwhy/rstwhy/decode"
)

// middleboxRule: a reset the claimed sender did not send.
//
// Wire: after the "RST" the claimed sender goes on sending on the
// connection as if nothing happened (a real endpoint that resets has no
// connection left), or the RST's IP TTL does not fit the sender's other
// packets (another device, at another distance, built it).
// A TTL is compared as a distance: a host's kernel starts every packet
// at one initial TTL (64 Linux/BSD/macOS, 128 Windows, 255 network gear),
// so its packets arrive with one hop count. A RST at another hop count
// came from another device; one at the same hop count but another initial
// TTL is more likely the host's own stack answering by another path (a
// TCP stack that sends RSTs from a raw socket) than a device at the same
// distance. Packets whose TTLs jump around (a scanner's hand-crafted
// ones) are no baseline, and a baseline of one or two packets is thin.
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
	for _, sign := range []func(bool, *[]string) float64{v.staleSeq, v.burst} {
		if c := sign(explain, &ev); c > 0 {
			conf = max(conf, c)
			if later != 0 {
				conf = 0.95 // two independent signs
			}
		}
	}
	kin := v.RST.IPIDKin != 0 || v.R.After.KinFrame != 0
	if kin {
		// Two hosts do not share one IP ID counter: the RST claiming
		// this sender and another host's RST just before it (or, on
		// this connection, just after it: both ends reset at once)
		// came from one IP stack, a device resetting on behalf of both.
		if explain {
			if k := v.RST.IPIDKin; k != 0 {
				ev = append(ev, fmt.Sprintf("frame %d: the RST's IP ID %d comes right after that of the RST at frame %d, which claims another host's address, with the same TTL %d: two hosts do not share one IP ID counter, so one device sent both",
					v.RST.Frame, v.RST.IPID, k, v.RST.TTL))
			} else {
				ev = append(ev, fmt.Sprintf("frame %d: the RST's IP ID %d comes right before that of the RST at frame %d, which resets the other end in the other host's name, with the same TTL %d: two hosts do not share one IP ID counter, so one device reset both ends",
					v.RST.Frame, v.RST.IPID, v.R.After.KinFrame, v.RST.TTL))
			}
		}
		conf = max(conf, 0.7)
	}
	// Copies of forwarded packets are dropped before the range is kept,
	// so even one hop of difference counts: a host's stack sends its RSTs
	// with the TTL of the rest of its packets.
	lo, hi, where := v.M.MinTTL, v.M.MaxTTL, "on this connection"
	thin := v.M.Packets-int64(v.C.Resets) < 3 // its own packets, RSTs left out
	if hi == 0 {
		lo, hi, where, thin = v.RST.SrcTTLMin, v.RST.SrcTTLMax, "on its other connections", false
	}
	if c, s := ttlMismatch(v.RST.TTL, lo, hi, thin); c > 0 {
		if explain {
			ev = append(ev, fmt.Sprintf("frame %d: the RST's TTL %d does not fit the %s's packets %s (TTL %s): %s",
				v.RST.Frame, v.RST.TTL, v.Me, where, ttlRange(lo, hi), s))
		}
		conf = max(conf, c)
		switch {
		case later != 0:
			conf = 0.95 // two independent signs
		case kin && c >= 0.8:
			// Another device, by TTL and by IP ID; the two are less
			// independent (the baseline is other connections' packets).
			conf = 0.9
		}
	} else if explain && s != "" && hi != 0 && (v.RST.TTL < lo || v.RST.TTL > hi) {
		ev = append(ev, fmt.Sprintf("the RST's TTL %d differs from the %s's packets %s (TTL %s), but %s", v.RST.TTL, v.Me, where, ttlRange(lo, hi), s))
	}
	if explain && conf > 0 && v.LastAny != nil && v.RST.TS-v.LastAny.TS >= idleGap {
		// Not a sign by itself (an application's timer waits as long),
		// but what an idle timeout looks like once the RST is another's.
		ev = append(ev, fmt.Sprintf("it came %s after the connection's last packet (frame %d): a load balancer, NAT or firewall that times out idle connections resets them so, often both ends at once",
			since(v.LastAny.TS, v.RST.TS), v.LastAny.Frame))
	}
	return Finding{Confidence: conf, Evidence: ev}
}}

// idleGap is the silence before a middlebox's RST that the evidence
// names as a possible idle timeout.
const idleGap = 1e9 // 1 s in nanoseconds

// ttlMismatch judges a RST's TTL against the TTL range [lo, hi] of its
// claimed sender's other packets: a confidence that another device sent
// it (0 when the TTL says nothing) and the reason, for the evidence.
func ttlMismatch(ttl, lo, hi uint8, thin bool) (float64, string) {
	if hi == 0 || ttl >= lo && ttl <= hi {
		return 0, ""
	}
	if initialTTL(lo) != initialTTL(hi) || hi-lo > 3 {
		return 0, "the sender's own TTLs jump around (hand-crafted packets?), so they are no baseline"
	}
	init, base := initialTTL(ttl), initialTTL(hi)
	hops, baseLo, baseHi := init-int(ttl), base-int(hi), base-int(lo)
	if init != base && hops >= baseLo && hops <= baseHi {
		return 0.45, fmt.Sprintf("it started at another initial TTL (%d against %d) but comes from the same distance (%d hops): maybe the host's own stack sending its RSTs another way, maybe a device beside it",
			init, base, hops)
	}
	s := fmt.Sprintf("it comes from %d hops away, they from %s, so a device at another distance sent it", hops, hopRange(baseLo, baseHi))
	if thin {
		return 0.6, s + " (a thin baseline: the sender sent fewer than three other packets)"
	}
	return 0.8, s
}

func hopRange(lo, hi int) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

func ttlRange(lo, hi uint8) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// staleSeq: a RST+ACK whose sequence number lies inside data the claimed
// sender had already sent and the receiver had acknowledged. A stack's
// own RST+ACK is an active reset at its next sequence number (Linux
// tcp_send_active_reset, tcp_acceptable_seq: snd_nxt, or snd_una plus
// the window when that is less), never below what the peer has already
// acknowledged; an injector that took the number from an older packet
// and lost the race to the sender's data sends one (Weaver, Sommer and
// Paxson, NDSS 2009). The receiver ignores it (RFC 5961 3.2).
func (v *View) staleSeq(explain bool, ev *[]string) float64 {
	if v.RST.Flags&decode.ACK == 0 || !v.P.HasAck || !v.M.HasSeq {
		return 0
	}
	behind := int32(v.P.AckHi - v.RST.Seq)
	if behind <= 0 {
		return 0
	}
	if explain {
		*ev = append(*ev, fmt.Sprintf("frame %d: the RST+ACK's sequence number lies %d bytes inside data the %s had already sent and the %s had acknowledged: a stack aborts at its next sequence number, beyond all it sent; an injector that read the number from an older packet and lost the race to the %s's data sends this (and the %s ignores it, RFC 5961)",
			v.RST.Frame, behind, v.Me, v.Peer, v.Me, v.Peer))
	}
	return 0.85
}

// burstGap is how close the RSTs of an injector's burst come.
const burstGap = 10e6 // 10 ms in nanoseconds

// burst: RSTs in the sender's name back to back at different sequence
// numbers with no segment of the peer between them, the second past all
// the sender had sent. One stack sends one RST when it aborts and
// afterwards only answers what arrives, each answer after the segment it
// answers and at that segment's ACK, never past what it sent; an
// injector guessing the receiver's window sends several, stepping
// through it (three at base, base+1460 and base+4380 is a known
// signature).
func (v *View) burst(explain bool, ev *[]string) float64 {
	a := &v.R.After
	n := a.NextRSTFrame
	if n == 0 || a.NextRSTSeq == v.RST.Seq || a.NextRSTTS-v.RST.TS > burstGap || (a.FirstFrame[1] != 0 && a.FirstFrame[1] < n) ||
		!v.M.HasSeq || int32(a.NextRSTSeq-v.M.NextSeq) <= 0 {
		return 0
	}
	if explain {
		*ev = append(*ev, fmt.Sprintf("frames %d and %d: RSTs in the %s's name %s apart at sequence numbers %d bytes apart, the second past all the %s had sent, with nothing from the %s between for it to answer: one stack sends one RST when it aborts; an injector guessing the window sends a burst",
			v.RST.Frame, n, v.Me, since(v.RST.TS, a.NextRSTTS), int32(a.NextRSTSeq-v.RST.Seq), v.Me, v.Peer))
	}
	return 0.8
}
