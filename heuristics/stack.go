package heuristics

import (
	"fmt"
	"strings"

	"github.com/rstwhy/rstwhy/track"
)

// Stack is the TCP stack a side's own SYN (or SYN-ACK) names by the
// order of its options, p0f's "olayout", where its TTL agrees: each
// stack writes its options in an order of its own.
type Stack uint8

const (
	StackUnknown Stack = iota
	// StackLinux: MSS, SACK-permitted, timestamps, NOP, window scale
	// (tcp_options_write), or without timestamps MSS, NOP, NOP,
	// SACK-permitted, NOP, window scale; initial TTL 64.
	StackLinux
	// StackBSD: MSS, NOP, window scale first, then timestamps
	// (FreeBSD's tcp_addoptions, and macOS and iOS after it); initial
	// TTL 64. Windows starts the same way but sends no timestamps by
	// default and starts at TTL 128.
	StackBSD
)

var optionNames = map[byte]string{1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 8: "TS", 30: "mptcp", 34: "tfo"}

// layoutKinds returns the option kinds of a layout in order.
func layoutKinds(l uint64) []byte {
	var out []byte
	for ; l != 0; l >>= 8 {
		out = append(out, byte(l))
	}
	return out
}

// layoutString names a layout as tcpdump does: "mss,sackOK,TS,nop,wscale".
func layoutString(l uint64) string {
	var b strings.Builder
	for i, k := range layoutKinds(l) {
		if i > 0 {
			b.WriteByte(',')
		}
		if n, ok := optionNames[k]; ok {
			b.WriteString(n)
		} else {
			fmt.Fprintf(&b, "opt%d", k)
		}
	}
	return b.String()
}

func hasPrefix(k []byte, p ...byte) bool {
	if len(k) < len(p) {
		return false
	}
	for i := range p {
		if k[i] != p[i] {
			return false
		}
	}
	return true
}

// stackOf names the stack of side s from its SYN's options and its
// TTLs; StackUnknown without a SYN or where they disagree.
func stackOf(s *track.Side) Stack {
	if s.SYNFrame == 0 || s.Layout == 0 || s.MaxTTL == 0 || initialTTL(s.MaxTTL) != 64 {
		return StackUnknown
	}
	k := layoutKinds(s.Layout)
	switch {
	case hasPrefix(k, 2, 4, 8, 1, 3), hasPrefix(k, 2, 1, 1, 4, 1, 3):
		return StackLinux
	case hasPrefix(k, 2, 1, 3) && bytesHas(k, 8):
		return StackBSD
	}
	return StackUnknown
}

func bytesHas(k []byte, b byte) bool {
	for _, x := range k {
		if x == b {
			return true
		}
	}
	return false
}

// bsdEvidence says why side s looks like a BSD stack and what that
// means for a RST at close.
func (v *View) bsdEvidence(s *track.Side, who Role) string {
	syn := "SYN"
	if s.SYNFrame != 0 && s.SYNFrame == v.C.SYNACKFrame {
		syn = "SYN-ACK"
	}
	return fmt.Sprintf("frame %d: the %s's %s has the options in BSD's order (%s) and an initial TTL of 64: FreeBSD, macOS or iOS, which discard unread data on close and send FIN (FreeBSD's tcp_disconnect), so a RST at close there is an abortive close (SO_LINGER {on, 0}), not data left unread, and no Linux kernel reason applies",
		s.SYNFrame, who, syn, layoutString(s.Layout))
}
