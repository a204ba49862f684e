package heuristics

import (
	"fmt"
	"time"

	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
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
// An injector that copies TTL and IP ID may still miss what only the
// sender knows: the ACK it would send (ackBurst), its timestamp clock
// (tsClock), the next ID of its counter (ipidOff).
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
	for _, sign := range []func(bool, *[]string) float64{v.staleSeq, v.burst, v.ackBurst, v.tsClock, v.ipidOff} {
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
	if c, s := ttlMismatch(v.RST.TTL, lo, hi, thin, string(v.Me)); c > 0 {
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
// it (0 when the TTL says nothing) and the reason, for the evidence; who
// names the sender in it.
func ttlMismatch(ttl, lo, hi uint8, thin bool, who string) (float64, string) {
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
	s := fmt.Sprintf("the RST's TTL puts its sender %d hop%s from the capture point; the %s's packets are %s hop%s away, so a device at another distance sent it",
		hops, plural(hops), who, hopRange(baseLo, baseHi), plural(baseHi))
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

// ackBurst: RST+ACKs in the sender's name back to back (within burstGap)
// whose ACK numbers differ, with nothing from the peer between, one of
// them acknowledging where no segment of the peer ended. A stack's RST+ACK
// acknowledges what it received (rcv_nxt), or answers one segment at its
// end (seq + length, Linux tcp_v4_send_reset): its repeated RSTs carry
// one ACK, or ACKs the peer's segments explain. An injector guessing the
// receiver's window steps through the ACK numbers as through the
// sequence numbers (Weaver, Sommer and Paxson, NDSS 2009).
func (v *View) ackBurst(explain bool, ev *[]string) float64 {
	if v.RST.Flags&decode.ACK == 0 {
		return 0
	}
	for i := range v.R.Later {
		n := &v.R.Later[i]
		if int(n.Dir) != v.R.Sender {
			return 0 // the peer spoke: the next RST may answer it
		}
		if n.Flags&decode.RST == 0 || n.Flags&decode.ACK == 0 || n.Ack == v.RST.Ack {
			continue // a copy, or the same ACK again
		}
		if n.TS-v.RST.TS > burstGap {
			return 0
		}
		odd, oddFrame := n.Ack, n.Frame
		if v.peerEnded(odd) {
			if v.peerEnded(v.RST.Ack) {
				return 0
			}
			odd, oddFrame = v.RST.Ack, v.RST.Frame
		}
		// A capture that missed packets of this connection may have
		// missed the peer's segment the second RST answered: then the
		// burst is a stack's too, and the wire cannot tell.
		conf := 0.8
		gap := v.P.UnseenFrame != 0 || v.M.UnseenFrame != 0
		if gap {
			conf = 0.5
		}
		if explain {
			where := "where none of the " + string(v.Peer) + "'s segments ended"
			if v.P.HasSeq {
				if past := int32(odd - v.P.NextSeq); past > 0 {
					where = fmt.Sprintf("%d bytes past all the %s had sent", past, v.Peer)
				}
			}
			s := fmt.Sprintf("frames %d and %d: RST+ACKs in the %s's name %s apart acknowledging different numbers (%d bytes apart), with nothing from the %s between; frame %d acknowledges %s: a stack acknowledges what it received, or answers one segment at its end, and cannot move its ACK without a new segment; an injector guessing the window sends a burst",
				v.RST.Frame, n.Frame, v.Me, since(v.RST.TS, n.TS), int32(n.Ack-v.RST.Ack), v.Peer, oddFrame, where)
			if gap {
				s += "; but the capture missed packets of this connection (a segment acknowledged data it never showed), perhaps the one the second RST answered: held to 0.5"
			}
			*ev = append(*ev, s)
		}
		return conf
	}
	return 0
}

// peerEnded reports whether ack is where one of the peer's segments
// before the RST ended (or began: a bare ACK answered), or all it sent.
func (v *View) peerEnded(ack uint32) bool {
	if v.P.HasSeq && ack == v.P.NextSeq {
		return true
	}
	for i := range v.Recent {
		s := &v.Recent[i]
		if int(s.Dir) == v.R.Sender {
			continue
		}
		end := s.Seq + s.Len
		if s.Flags&(decode.SYN|decode.FIN) != 0 {
			end++
		}
		if ack == end || ack == s.Seq {
			return true
		}
	}
	return false
}

// tsClock: the RST carries a TSval that the claimed sender's timestamp
// clock cannot have shown. A stack stamps every segment of a connection,
// its RSTs included (Linux tcp_send_active_reset, through
// tcp_established_options), from one clock that never runs backward (RFC
// 7323 5.4) and ticks at one rate (1 ms on Linux): learned from the
// sender's own packets on this connection, a RST behind the clock's
// latest value, or far ahead of where the clock had got to at the RST's
// capture time, was written by another device. Absence of the option says
// nothing: Linux's RSTs without a socket (tcp_v4_send_reset: no socket,
// TIME_WAIT, data after close) carry none, on connections whose every
// other segment did.
func (v *View) tsClock(explain bool, ev *[]string) float64 {
	m := v.M
	if !v.RST.HasTS || m.TSPackets < 2 || m.TSBack || !m.TSOnLast {
		return 0
	}
	lastVal, lastFrame, lastTS := m.TSLastVal, m.LastFrame, m.LastTS
	d := int32(v.RST.TSVal - lastVal)
	clock := fmt.Sprintf("its packets at frames %d and %d", m.TSFirstFrame, lastFrame)
	if m.TSPackets > 2 {
		clock = fmt.Sprintf("its %d packets at frames %d to %d", m.TSPackets, m.TSFirstFrame, lastFrame)
	}
	conf := 0.8
	thin := ""
	if m.TSPackets < 3 {
		conf, thin = 0.6, " (a thin baseline: two packets)"
	}
	// The clock's rate, from the sender's own packets over at least
	// 100 ms: within RFC 7323's 1 tick/ms to 1 tick/s, or Linux's
	// microsecond option. 0 when there is too little to tell.
	rate := 0.0
	if span, ticks := float64(lastTS-m.TSFirstTS)/1e9, float64(lastVal-m.TSFirstVal); span >= 0.1 && ticks > 0 {
		if r := ticks / span; r >= 0.5 && r <= 2e6 {
			rate = r
		}
	}
	if d < 0 {
		// Behind, by more than a paced sender's clock runs ahead: Linux
		// stamps a paced segment (fq, BBR's internal pacing) with its
		// departure time, which may lie milliseconds ahead of the
		// moment its RST is stamped (tcp_skb_timestamp_ts against
		// tcp_send_active_reset's clock now). A tenth of a second of the
		// clock (100 ticks at Linux's 1 kHz where the rate is not known)
		// is far past that.
		margin := 100.0
		if rate > 0 {
			margin = max(2, rate/10)
		}
		if float64(-d) <= margin {
			return 0
		}
		if explain {
			*ev = append(*ev, fmt.Sprintf("frame %d: the RST's TSval %d is %d ticks behind the %s's timestamp clock, which had shown %d at frame %d (the TSvals of %s never ran backward)%s: a stack stamps its RSTs from the connection's one clock, which never runs backward (RFC 7323), so another device wrote it%s",
				v.RST.Frame, v.RST.TSVal, -int64(d), v.Me, lastVal, lastFrame, clock, thin, v.hops()))
		}
		return conf
	}
	if rate == 0 {
		return 0
	}
	dt := max(float64(v.RST.TS-lastTS)/1e9, 0)
	want := rate * dt
	// Slack for a rate measured over a short span and for queues between
	// the sender and the capture point: twice the expected advance and
	// ten seconds of the clock ahead; half the advance and a second of it
	// behind.
	var off string
	switch got := float64(d); {
	case got > 2*want+10*rate:
		off = fmt.Sprintf("%.0f ticks ahead of", got-want)
	case got < want/2-rate:
		off = fmt.Sprintf("%.0f ticks behind", want-got)
	default:
		return 0
	}
	if explain {
		*ev = append(*ev, fmt.Sprintf("frame %d: the RST's TSval %d is %s the %s's timestamp clock, which ran %s ticks/s over %s (TSval %d at frame %d), and should show about %.0f, %s later%s: a stack stamps its RSTs from the connection's one clock, so another device wrote it%s",
			v.RST.Frame, v.RST.TSVal, off, v.Me, rateString(rate), clock, lastVal, lastFrame, float64(lastVal)+want, since(lastTS, v.RST.TS), thin, v.hops()))
	}
	return conf
}

func rateString(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.2g", r)
}

// ipidOff: the RST's IP ID does not fit the counter the claimed sender's
// IP IDs ran as on this connection, at the same TTL. A stack's own reset
// on a connection comes from the connection's counter (Linux inet_id,
// tcp_send_active_reset) or its host's, the next ID; IDs behind the
// counter, or the same, come from another counter. Linux sends its RSTs
// without a socket with IP ID 0 (and DF), and its SYN-ACKs: those say
// nothing. Only IDs behind count: a host's global counter (Windows) may
// run far ahead, between two packets of one connection, on the host's
// other traffic. Only RST+ACKs count: a bare RST answers a segment that
// found no socket, and stacks take its ID from elsewhere (in the public
// corpus, bare RSTs right after a RST+ACK that had the counter's next ID
// carry IDs thousands away, DF set, same TTL: zeek_ssh_ssh, zeek_tls_*,
// pcpp_one_tcp_stream_fin_rst_close_packet).
func (v *View) ipidOff(explain bool, ev *[]string) float64 {
	m := v.M
	if v.RST.IPv6 || v.RST.IPID == 0 || v.RST.Flags&decode.ACK == 0 || m.IPIDRun < 3 || m.LastIPID != m.CounterIPID || m.MaxTTL == 0 || v.RST.TTL < m.MinTTL || v.RST.TTL > m.MaxTTL {
		return 0
	}
	// A counter wraps after 65536 packets: only a RST soon after the
	// run's last packet is judged.
	if v.RST.TS-m.LastTS > int64(time.Second) {
		return 0
	}
	back := -int32(int16(v.RST.IPID - m.CounterIPID))
	if back < 0 {
		return 0 // ahead: maybe the next ID
	}
	if explain {
		how := fmt.Sprintf("%d behind", back)
		if back == 0 {
			how = "the same as"
		}
		*ev = append(*ev, fmt.Sprintf("frame %d: the RST's IP ID %d is %s the last of the %s's IP IDs, which ran as a counter on this connection (its %d packets to frame %d, each 1 to %d past the one before, to %d); a stack takes its RST's ID from that counter, the next one, so another device sent it with the same TTL %d%s",
			v.RST.Frame, v.RST.IPID, how, v.Me, int(m.IPIDRun)+1, m.LastFrame, track.IPIDStep, m.CounterIPID, v.RST.TTL, v.hops()))
	}
	return 0.6
}

// hops says how far the RST's TTL puts its sender from the capture point
// and how far the claimed sender's packets are.
func (v *View) hops() string {
	lo, hi := v.M.MinTTL, v.M.MaxTTL
	if hi == 0 {
		lo, hi = v.RST.SrcTTLMin, v.RST.SrcTTLMax
	}
	init := initialTTL(v.RST.TTL)
	h := init - int(v.RST.TTL)
	s := fmt.Sprintf(": the RST's TTL puts its sender %d hop%s from the capture point", h, plural(h))
	if hi == 0 || initialTTL(lo) != initialTTL(hi) {
		return s
	}
	base := initialTTL(hi)
	bl, bh := base-int(hi), base-int(lo)
	if base == init && bl <= h && h <= bh {
		return fmt.Sprintf("%s, as the %s's packets: a device there copies the TTL, or sits as far away", s, v.Me)
	}
	return fmt.Sprintf("%s; the %s's packets are %s hop%s away", s, v.Me, hopRange(bl, bh), plural(bh))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
