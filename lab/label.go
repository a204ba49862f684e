package main

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rstwhy/rstwhy/internal/truth"
)

// causeOf maps the kernel's reason for the first RST of a connection to the
// cause rstwhy must report; a scenario's causes map overrides it. The
// mapping is the project's decision, written down here, never read back
// from rstwhy.
func causeOf(s *scenario, v variant, reason *string, fr truth.Frame) string {
	if reason == nil {
		return "middlebox_reset" // no kernel stack sent it: REJECT or a forger
	}
	for _, tag := range v.tokens() {
		if c, ok := s.tagCauses[tag][*reason]; ok {
			return c
		}
	}
	if c, ok := s.causes[*reason]; ok {
		return c
	}
	switch *reason {
	case "TCP_ABORT_ON_CLOSE":
		return "unread_data_close"
	case "TCP_STATE", "TCP_ABORT_ON_LINGER":
		return "linger_abort"
	case "TCP_DISCONNECT_WITH_DATA":
		return "linger_abort"
	case "NO_SOCKET":
		// A RST answering a SYN acks it and, having nothing to
		// acknowledge, carries seq 0 (RFC 9293 §3.10.7.1).
		if fr.Flags == "R." && fr.Seq == 0 {
			return "connection_refused"
		}
		return "no_socket"
	case "TCP_ABORT_ON_DATA":
		return "data_after_close"
	case "TCP_TIMEWAIT_SOCKET":
		return "timewait_rst"
	case "TCP_KEEPALIVE_TIMEOUT":
		return "keepalive_timeout"
	case "TCP_INVALID_ACK_SEQUENCE", "TCP_FLAGS", "INVALID_SYN", "TCP_RFC7323_PAWS",
		"TCP_TOO_OLD_ACK", "TCP_ACK_UNSENT_DATA", "TCP_OLD_ACK":
		return "invalid_segment"
	}
	return "unknown"
}

// label reads the RST frames of the capture and pairs each with the
// tcp_send_reset event of the same (src, dst) in order. A frame that is
// one of the RSTs the scenario's injector logged (forged) has no event:
// it is the middlebox's, takes no event from the kernel's own resets, and
// is a follow-up only when the injector sent it in a burst after another.
func label(j job, t topo, capture string, evs []*event, forged []forged) (*truth.File, error) {
	frames, err := truth.Resets(capture)
	if err != nil {
		return nil, err
	}
	format := "pcap"
	if j.v.ng() {
		format = "pcapng"
	}
	f := &truth.File{
		Scenario:       j.s.name,
		Variant:        string(j.v),
		Description:    j.s.desc,
		Capture:        truth.Capture{File: filepath.Base(capture), Point: j.v.point(), Format: format},
		Client:         t.client(),
		Server:         t.server(),
		Resets:         []truth.Reset{},
		UnmatchedTrace: []truth.TraceEvent{},
		// Every scenario runs one clean exchange first (agent.clean).
		CleanConnections: 1 + j.s.moreClean,
	}
	type connKey [2]netip.AddrPort
	first := map[connKey]truth.Reset{}
	byFrame := map[int64]int{} // frame → index in f.Resets
	for i, fr := range frames {
		sa, err1 := netip.ParseAddr(fr.Src)
		da, err2 := netip.ParseAddr(fr.Dst)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("%s: frame %d: %w", capture, fr.Frame, err)
		}
		src, dst := netip.AddrPortFrom(sa, fr.Sport), netip.AddrPortFrom(da, fr.Dport)
		r := truth.Reset{
			Frame: fr.Frame, Time: fr.Time.Format("2006-01-02T15:04:05.000000000Z07:00"),
			Src: fr.Src, Sport: fr.Sport, Dst: fr.Dst, Dport: fr.Dport, Seq: fr.Seq, Ack: fr.Ack, Flags: fr.Flags,
		}
		if c, ok := copyOf(frames[:i], fr); ok {
			orig := f.Resets[byFrame[c.Frame]]
			r.Resetter, r.KernelReason, r.KernelState, r.Cause, r.Followup = orig.Resetter, orig.KernelReason, orig.KernelState, orig.Cause, orig.Followup
			r.CopyOf = c.Frame
			r.Note = "the same RST seen on the router's other interface (TTL one lower)"
			byFrame[fr.Frame] = len(f.Resets)
			f.Resets = append(f.Resets, r)
			continue
		}
		key := connKey{src, dst}
		if dst.Addr().Less(src.Addr()) || (dst.Addr() == src.Addr() && dst.Port() < src.Port()) {
			key = connKey{dst, src}
		}
		if fg := matchForged(forged, src, dst, fr); fg != nil {
			r.Resetter = truth.Middlebox
			r.Cause, r.Note = causeOf(j.s, j.v, nil, fr), fg.note
			if p, ok := first[key]; ok && fg.burst {
				r.Followup, r.Cause = true, p.Cause
				r.Note += "; one burst with the connection's first RST (frame " + strconv.FormatInt(p.Frame, 10) + ")"
			}
			byFrame[fr.Frame] = len(f.Resets)
			f.Resets = append(f.Resets, r)
			if _, ok := first[key]; !ok && !fg.ignored {
				first[key] = r
			}
			continue
		}
		ev := pick(evs, src, dst, fr.Flags)
		switch {
		case ev == nil:
			r.Resetter = truth.Middlebox
		case src.Addr().String() == t.client():
			r.Resetter = truth.Client
		default:
			r.Resetter = truth.Server
		}
		if ev != nil {
			reason, state := ev.reason, ev.state
			r.KernelReason, r.KernelState = &reason, &state
		}
		if p, ok := first[key]; ok {
			r.Followup = true
			r.Cause = p.Cause
			r.Note = "a consequence of the connection's first RST (frame " + strconv.FormatInt(p.Frame, 10) + ")"
		} else {
			r.Cause = causeOf(j.s, j.v, r.KernelReason, fr)
			if r.KernelReason != nil {
				r.Note = j.s.notes[*r.KernelReason]
			} else {
				r.Note = j.s.notes[""]
			}
		}
		byFrame[fr.Frame] = len(f.Resets)
		f.Resets = append(f.Resets, r)
		if _, ok := first[key]; !ok {
			first[key] = r
		}
	}
	for _, e := range evs {
		if !e.used {
			f.UnmatchedTrace = append(f.UnmatchedTrace, truth.TraceEvent{Src: e.src.String(), Dst: e.dst.String(), State: e.state, Reason: e.reason})
		}
	}
	return f, nil
}

// copyOf finds an earlier frame that is the same RST seen again: a router
// captured with -i any sees a forwarded packet on the way in and on the way
// out, one hop (TTL) apart, microseconds later.
func copyOf(earlier []truth.Frame, fr truth.Frame) (truth.Frame, bool) {
	for i := len(earlier) - 1; i >= 0; i-- {
		e := earlier[i]
		if e.Src == fr.Src && e.Dst == fr.Dst && e.Sport == fr.Sport && e.Dport == fr.Dport &&
			e.Seq == fr.Seq && e.Ack == fr.Ack && e.Flags == fr.Flags &&
			e.TTL == fr.TTL+1 && fr.Time.Sub(e.Time) < 10*time.Millisecond {
			return e, true
		}
	}
	return truth.Frame{}, false
}

// active are the reasons of tcp_send_active_reset: a socket aborting on its
// own always sends RST+ACK. The other reasons answer a segment and send a
// bare RST when that segment carried an ACK (RFC 9293 §3.10.7.1).
var active = map[string]bool{
	"TCP_ABORT_ON_CLOSE": true, "TCP_STATE": true, "TCP_ABORT_ON_LINGER": true, "TCP_ABORT_ON_MEMORY": true,
	"TCP_KEEPALIVE_TIMEOUT": true, "TCP_DISCONNECT_WITH_DATA": true,
}

// pick takes the oldest unused event of the same direction whose kind fits
// the flags. The trace is merged from per-CPU buffers, so two resets sent
// within microseconds on two CPUs may be listed in the other order than on
// the wire; the flags tell an abort from a reply.
func pick(evs []*event, src, dst netip.AddrPort, flags string) *event {
	// An RST+ACK goes to an abort first: a reply RST+ACK answers a
	// segment without ACK, which within a connection is rare.
	passes := []func(*event) bool{func(e *event) bool { return active[e.reason] }, func(*event) bool { return true }}
	if flags != "R." {
		passes = []func(*event) bool{func(e *event) bool { return !active[e.reason] }}
	}
	for _, fits := range passes {
		for _, e := range evs {
			if !e.used && e.from(src, dst) && fits(e) {
				e.used = true
				return e
			}
		}
	}
	return nil
}

// from reports whether e is a reset from src to dst. A listener's reset
// (TCP_FLAGS in TCP_LISTEN: a segment of a connection that is gone reaches
// the listener of its port) is traced with the listener's address and
// dest 0.0.0.0:0 (or [::]:0), so it matches any dst; a wildcard listener
// matches by port.
func (e *event) from(src, dst netip.AddrPort) bool {
	if e.src == src && e.dst == dst {
		return true
	}
	if e.dst.IsValid() && !e.dst.Addr().IsUnspecified() {
		return false
	}
	return e.src == src || (e.src.Addr().IsUnspecified() && e.src.Port() == src.Port())
}
